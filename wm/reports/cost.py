"""`make cost`: what each model and each environment costs, from the same specs that deploy them.

Prices live in prices/<region>.json with the date they were taken; every figure here
is arithmetic on them and on the model's cpu, memory, capacity, expected duration and
schedule. Runs per month are the schedule's runs in the year from `project.docs_as_of`
(season dates included), divided by 12.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from wm.config.checks import INSTANCE_FAMILIES
from wm.config.model import Environment, Job, Model
from wm.config.schedules import count_runs, season

GB_PER_MB = 1 / 1024
# State transitions of one silence check that finds its run (alerts.silence_definition: wait, count,
# decide, succeed); a check that alerts, and a failure alert, take a few more but are rare.
TRANSITIONS_PER_CHECK = 4


@dataclass(frozen=True)
class ModelCost:
    name: str
    capacity: str
    minutes: float        # per run: the model's expected_duration_minutes, or DURATION=
    per_run: float
    runs_per_month: float
    per_month: float
    enabled: bool


def load_prices(root: Path, region: str) -> dict:
    return json.loads((root / "prices" / f"{region}.json").read_text())


def run_cost(prices: dict, cpu: int, memory: int, capacity: str, minutes: float) -> float:
    """Fargate compute for one run, plus its public IPv4 address for as long as it runs."""
    rate = prices["fargate_spot" if capacity == "FARGATE_SPOT" else "fargate"]
    hours = minutes / 60
    return hours * (cpu / 1024 * rate["vcpu_hour"] + memory / 1024 * rate["gb_hour"] + prices["public_ipv4_hour"])


def ec2_child_cost(prices: dict, job: Job, family: str, spot: bool, minutes: float) -> float:
    """One child of an EC2 job: its share of the family's largest instance (the most of its vCPUs,
    memory and GPUs over that instance's), at on-demand prices or less the typical Spot discount
    (prices/<region>.json: ec2), plus that share of the instance's public IPv4 address."""
    size, vcpus, memory_gib, gpus = INSTANCE_FAMILIES[family]
    share = max(job.vcpus / vcpus, job.memory / (memory_gib * 1024), job.gpus / gpus if gpus else 0.0)
    rate = prices["ec2"]["on_demand_hour"][size] * ((1 - prices["ec2"]["spot_discount"]) if spot else 1)
    return minutes / 60 * share * (rate + prices["public_ipv4_hour"])


def child_cost(prices: dict, job: Job, family: str, spot: bool, minutes: float) -> float:
    """One child of a job for `minutes`, on its platform: Fargate (Spot or on-demand) or EC2."""
    if job.platform == "EC2":
        return ec2_child_cost(prices, job, family, spot, minutes)
    return run_cost(prices, int(job.vcpus * 1024), job.memory, "FARGATE_SPOT" if spot else "FARGATE", minutes)


def runs_per_month(model: Model | Job, as_of: dt.date) -> float:
    """The schedule's runs in the year from `as_of`, divided by 12 (season dates respected)."""
    s = model.schedule
    start = dt.datetime.combine(as_of, dt.time(), dt.UTC)
    end = start + dt.timedelta(days=365)
    lo, hi = season(s.start_date, s.end_date, s.timezone)
    lower = max(start - dt.timedelta(seconds=1), lo) if lo else start - dt.timedelta(seconds=1)
    upper = min(hi, end) if hi else end
    return count_runs(s.expression, s.timezone, lower, upper) / 12 if upper > lower else 0.0


def model_cost(prices: dict, model: Model, as_of: dt.date, minutes: float | None = None) -> ModelCost:
    minutes = minutes or model.expected_duration_minutes
    per_run = run_cost(prices, model.cpu, model.memory, model.capacity, minutes)
    n = runs_per_month(model, as_of)
    return ModelCost(model.name, model.capacity, minutes, per_run, n, per_run * n, model.state == "ENABLED")


def fixed_monthly(prices: dict, e: Environment, costs: list[ModelCost], as_of: dt.date) -> dict[str, float]:
    """The environment's monthly costs that are not compute, item by item."""
    models = e.models
    run_hours = sum(c.runs_per_month * c.minutes / 60 for c in costs if c.enabled)
    log_gb = sum(c.runs_per_month * m.log_megabytes_per_run * GB_PER_MB for c, m in zip(costs, models, strict=True) if c.enabled)
    retention = e.settings.log_retention_days
    ci = prices["container_insights"]
    metrics = ci["metrics_per_cluster"] + ci["metrics_per_task_family"] * len(models)
    # Two for Scheduler, two for the alert state machines, two per model (failed starts, undelivered alerts),
    # one per job (undelivered alerts) and one more per scheduled job (failed submissions).
    scheduled = [j for j in e.jobs if j.schedule]
    alarms = 4 + 2 * len(models) + len(e.jobs) + len(scheduled)
    # One silence check per scheduled run or submission.
    checks = sum(c.runs_per_month for c in costs if c.enabled) + sum(
        runs_per_month(j, as_of) for j in scheduled if j.state == "ENABLED")
    # The run metric is a custom metric per model, billed for the hours it receives data: a run's hours.
    metric_hours = sum(c.runs_per_month * (c.minutes / 60 + 1) for c in costs if c.enabled)
    return {
        "log ingestion": log_gb * prices["logs"]["ingest_gb"],
        f"log storage ({retention} days kept)": log_gb * retention / 30.4 * prices["logs"]["storage_gb_month"],
        "Parameter Store (standard SecureStrings are free)": len({s for m in models for s in m.secrets})
        * prices["parameter_store"]["standard_parameter_month"],
        "SQS dead-letter queues (idle; first million requests free)": 0.0,
        f"CloudWatch alarms ({alarms})": alarms * prices["cloudwatch"]["alarm_month"],
        f"Container Insights ({metrics} metrics while tasks run)": metrics * prices["cloudwatch"]["metric_month"]
        * min(run_hours / prices["hours_per_month"], 1.0),
        f"run metric ({len(models)} custom metrics, billed for hours with data)":
            metric_hours / prices["hours_per_month"] * prices["cloudwatch"]["metric_month"],
        f"Step Functions ({checks:.0f} silence checks)":
            checks * TRANSITIONS_PER_CHECK / 1000 * prices["step_functions"]["standard_per_1000_transitions"],
    }


def comparisons(prices: dict, image_gb_per_run: float, runs: float) -> dict[str, float]:
    """What the older designs' fixed parts would add to the same workload each month."""
    return {
        "NAT gateway in front of private subnets (hourly + image pulls through it)":
            prices["nat_gateway"]["hour"] * prices["hours_per_month"]
            + runs * image_gb_per_run * prices["nat_gateway"]["gb_processed"],
        "always-attached 100 GB gp3 EBS volume": 100 * prices["ebs_gp3_gb_month"],
    }


def report(prices: dict, e: Environment, as_of: dt.date, only: str | None = None,
           minutes: float | None = None) -> str:
    """The cost table. `only` shows that model and its own total; `minutes` prices every run at that length."""
    costs = [model_cost(prices, m, as_of, minutes) for m in e.models]
    lines = [f"weekly-models {e.name}: monthly cost estimate, {prices['currency']}, {prices['region']} prices "
             f"taken {prices['taken']} (prices/{prices['region']}.json); runs counted from {as_of}"]
    if minutes:
        lines.append(f"every run priced at {minutes:g} minutes (DURATION=), not each model's expected_duration_minutes")
    lines += ["", f"{'model':22} {'capacity':13} {'per run':>9} {'runs/month':>11} {'per month':>10}  schedule"]
    for c in costs:
        if only and c.name != only:
            continue
        note = "" if c.enabled else "  (DISABLED here: runs on demand, not counted in the total)"
        lines.append(f"{c.name:22} {c.capacity:13} {c.per_run:9.4f} {c.runs_per_month:11.2f} "
                     f"{c.per_month:10.2f}  {c.minutes:g} min each{note}")
    if only:
        (c,) = [c for c in costs if c.name == only]
        state = "" if c.enabled else " if it were ENABLED (it is DISABLED here)"
        lines += ["", f"total per month for {only}: {c.per_month:.2f}{state}; the environment's fixed costs, shared "
                  f"by every model, are in make cost ENV={e.name} without MODEL="]
        return "\n".join(lines)
    fixed = fixed_monthly(prices, e, costs, as_of)
    lines += ["", "fixed monthly costs of the environment:"]
    lines += [f"  {name:58} {value:8.2f}" for name, value in fixed.items()]
    compute = sum(c.per_month for c in costs if c.enabled)
    total = compute + sum(fixed.values())
    lines += ["", f"total per month: {total:.2f} (model runs {compute:.2f}, fixed {sum(fixed.values()):.2f})", ""]
    runs = sum(c.runs_per_month for c in costs if c.enabled) or sum(c.runs_per_month for c in costs)
    extra = comparisons(prices, 1.0, runs)
    lines.append("the same workload on the older designs would add, per month:")
    lines += [f"  {name:70} {value:8.2f}" for name, value in extra.items()]
    lines += job_lines(prices, e, as_of)
    return "\n".join(lines)


def job_lines(prices: dict, e: Environment, as_of: dt.date) -> list[str]:
    """Per job, one submission at its limit: every child running every attempt to its timeout; and for
    a scheduled job, a month of its submissions. The compute environments scale to zero, so a job
    that is not submitted costs nothing."""
    if not e.jobs:
        return []
    lines = ["", "fan-out jobs (make submit), one submission at its limit: every child, every attempt, to its timeout:",
             f"  {'job':22} {'children':>8} {'vCPU-hours':>10} {'GB-hours':>9} {'Spot':>8} {'on-demand':>10}"]
    family = e.settings.batch_instance_family
    for j in e.jobs:
        hours = j.array_size * j.attempts * j.timeout_minutes / 60
        tries = j.array_size * j.attempts
        spot = tries * child_cost(prices, j, family, True, j.timeout_minutes)
        ondemand = tries * child_cost(prices, j, family, False, j.timeout_minutes)
        lines.append(f"  {j.name:22} {j.array_size:8} {hours * j.vcpus:10.2f} {hours * j.memory / 1024:9.2f} "
                     f"{spot:8.2f} {ondemand:10.2f}" + (f"  (EC2, {family})" if j.platform == "EC2" else ""))
    lines.append("  (each with its public IPv4 address; a child that finishes sooner costs less; with nothing submitted "
                 "the batch stack costs nothing)")
    if any(j.platform == "EC2" for j in e.jobs):
        size = INSTANCE_FAMILIES[family][0]
        lines.append(f"  (EC2 jobs: their share of a {size} at ${prices['ec2']['on_demand_hour'][size]:g}/hour on "
                     f"demand; Spot at a typical {prices['ec2']['spot_discount']:.0%} discount, not a Spot price)")
    scheduled = [j for j in e.jobs if j.schedule]
    if scheduled:
        lines += ["", "scheduled jobs, a month of submissions at that limit (schedule counted from "
                  f"{as_of}, season respected, whatever the state):",
                  f"  {'job':22} {'state':8} {'per month':>9} {'vCPU-hours':>10} {'GB-hours':>9} {'Spot':>8} "
                  f"{'on-demand':>10}"]
        for j in scheduled:
            n = runs_per_month(j, as_of)
            tries = j.array_size * j.attempts * n
            hours = tries * j.timeout_minutes / 60
            spot = tries * child_cost(prices, j, family, True, j.timeout_minutes)
            ondemand = tries * child_cost(prices, j, family, False, j.timeout_minutes)
            lines.append(f"  {j.name:22} {j.state:8} {n:9.1f} {hours * j.vcpus:10.2f} {hours * j.memory / 1024:9.2f} "
                         f"{spot:8.2f} {ondemand:10.2f}")
    return lines
