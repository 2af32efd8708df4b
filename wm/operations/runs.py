"""The state of the models' runs: `make status`, `make run`, `make logs`.

Everything here reads what is deployed (the schedules, ECS, the run history log group
written by the alerts stack), so it tells what the account does, not what the
configuration says. `aws` is a function from a service name to a boto3 client.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import zoneinfo
from collections.abc import Callable

from botocore.exceptions import ClientError

from wm.config import names as naming
from wm.config.model import Model
from wm.config.schedules import describe, next_runs, season


class RunError(Exception):
    """An expected problem (never deployed, never ran): its message is for the user."""


def _schedule(aws, model: Model) -> dict:
    try:
        return aws("scheduler").get_schedule(Name=naming.schedule_name(model.env, model.name),
                                             GroupName=naming.schedule_group(model.env))
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            raise RunError(f"{model.name} has no schedule in {model.env}: deploy first (make deploy ENV=...)") from None
        raise


def _aware(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def history_events(aws, env: str, **filters) -> list[dict]:
    """The run history's log events (FilterLogEvents `filters`: a pattern, a start time), every page;
    empty when there is no run history."""
    logs = aws("logs")
    events, kwargs = [], {"logGroupName": naming.run_history_log_group(env), **filters}
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            events += page.get("events", [])
            if not page.get("nextToken") or page["nextToken"] == kwargs.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            return []
        raise
    return events


def _history(aws, env: str) -> list[dict]:
    """Every task state change in the run history, oldest first (empty when there is none)."""
    events = [json.loads(e["message"]) for e in history_events(aws, env)]
    return sorted(events, key=lambda e: e.get("detail", {}).get("updatedAt") or e.get("time") or "")


def last_run(history: list[dict], model: Model) -> dict | None:
    """The latest STOPPED state change of this model's tasks, or None."""
    stopped = [e["detail"] for e in history if e.get("detail", {}).get("group") == f"family:{model.family}"
               and e["detail"].get("lastStatus") == "STOPPED"]
    return max(stopped, key=lambda d: d.get("stoppedAt") or "", default=None)


def _dry_run(aws, task_definition_arn: str) -> str:
    try:
        td = aws("ecs").describe_task_definition(taskDefinition=task_definition_arn)["taskDefinition"]
    except ClientError:
        return "?"
    names = {e["name"] for c in td["containerDefinitions"] for e in c.get("environment", [])}
    return "dry run" if "DRY_RUN" in names else "real run"


def outcome(detail: dict) -> str:
    """'exit 0', 'exit 1', or the stop code and reason when the container never finished."""
    code = (detail.get("containers") or [{}])[0].get("exitCode")
    if detail.get("stopCode") == "EssentialContainerExited" and code is not None:
        return f"exit {code}"
    reason = detail.get("stoppedReason", "")
    return f"{detail.get('stopCode', 'stopped')}: {reason[:60]}" if reason else detail.get("stopCode", "stopped")


def _running(aws, model: Model, cluster: str) -> list[dict]:
    ecs = aws("ecs")
    arns = ecs.list_tasks(cluster=cluster, family=model.family, desiredStatus="RUNNING").get("taskArns", [])
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def _when(value, tz: zoneinfo.ZoneInfo) -> str:
    return _aware(value).astimezone(tz).strftime("%a %Y-%m-%d %H:%M") if value else "?"


def status(aws, models: list[Model], cluster: str, lab_tz: str, now: dt.datetime | None = None) -> list[dict]:
    """One row per model: schedule, state, next run, last run, logs."""
    now = now or dt.datetime.now(dt.UTC)
    tz = zoneinfo.ZoneInfo(lab_tz)
    history = _history(aws, models[0].env) if models else []
    rows = []
    for model in models:
        try:
            s = _schedule(aws, model)
        except RunError:
            rows.append({"model": model.name, "schedule": "not deployed", "state": "-", "next": "-",
                         "last": "-", "result": "-", "logs": naming.log_group(model.env, model.name)})
            continue
        state = s["State"]
        nxt = next_run_words(s, model, now, tz)
        running = _running(aws, model, cluster)
        last = last_run(history, model)
        if running:
            started = running[0].get("startedAt") or running[0].get("createdAt")
            last_text = f"in ECS now, since {_when(started, tz)}" if started else "in ECS now"
            result = running[0].get("lastStatus", "RUNNING")
        elif last:
            start, stop = _aware(last.get("startedAt")), _aware(last.get("stoppedAt"))
            took = f", {int((stop - start).total_seconds() // 60)} min" if start and stop else ""
            last_text = f"{_when(last.get('startedAt') or last.get('createdAt'), tz)}{took}"
            result = f"{outcome(last)} ({_dry_run(aws, last['taskDefinitionArn'])})"
        else:
            last_text, result = "never (none recorded)", "-"
        rows.append({"model": model.name,
                     "schedule": describe(s["ScheduleExpression"], s.get("ScheduleExpressionTimezone", "UTC")),
                     "state": state, "next": nxt, "last": last_text, "result": result,
                     "logs": naming.log_group(model.env, model.name)})
    return rows


def next_run_words(s: dict, model: Model, now: dt.datetime, tz: zoneinfo.ZoneInfo, by_hand: str = "make run") -> str:
    """When the deployed schedule `s` starts the model (or a job) next, in words a person acts on."""
    first, last = season(model.schedule.start_date, model.schedule.end_date, model.schedule.timezone)
    end = _aware(s.get("EndDate")) or last
    if end is not None and end <= now:
        return f"none: the season ended {model.schedule.end_date}, so the schedule will not fire (set a new season)"
    if s["State"] != "ENABLED":
        if model.state == "ENABLED":
            return "none: DISABLED in AWS though the configuration enables it (make deploy puts it back)"
        return f"none: DISABLED by configuration ({by_hand} starts it by hand)"
    runs = next_runs(s["ScheduleExpression"], s.get("ScheduleExpressionTimezone", "UTC"), now, 1,
                     start=_aware(s.get("StartDate")) or first, end=end)
    if not runs:
        return "unknown: rate() schedules count from their creation" if s["ScheduleExpression"].startswith("rate(") \
            else "none: no time of the expression falls in the season"
    begins = first is not None and first > now
    return _when(runs[0], tz) + (f" (the season starts {model.schedule.start_date})" if begins else "")


def table(rows: list[dict], lab_tz: str) -> str:
    heads = {"model": "MODEL", "schedule": "SCHEDULE", "state": "STATE", "next": f"NEXT RUN ({lab_tz})",
             "last": "LAST RUN", "result": "RESULT", "logs": "LOGS"}
    widths = {k: max(len(h), *(len(str(r[k])) for r in rows)) for k, h in heads.items()}
    lines = ["  ".join(h.ljust(widths[k]) for k, h in heads.items())]
    lines += ["  ".join(str(r[k]).ljust(widths[k]) for k in heads) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def idempotency_token(family: str, task_definition: str, now: dt.datetime) -> str:
    """The same for every press within one UTC minute: a double-press starts one task."""
    minute = now.astimezone(dt.UTC).strftime("%Y%m%d%H%M")
    return hashlib.sha256(f"{family}|{task_definition}|{minute}".encode()).hexdigest()[:32]


def run(aws, model: Model, now: dt.datetime | None = None, task_definition: str | None = None) -> tuple[str, bool]:
    """Start the model now exactly as its schedule would; returns (task ARN, started now?).

    `task_definition` runs another revision of the model's family the same way (make smoke's
    one-off image that cannot be pulled); by default the revision the schedule names."""
    s = _schedule(aws, model)
    target, params = s["Target"], s["Target"]["EcsParameters"]
    cluster = target["Arn"]
    task_definition = task_definition or params["TaskDefinitionArn"]
    token = idempotency_token(model.family, task_definition, now or dt.datetime.now(dt.UTC))
    started_by = f"wm-run-{token[:24]}"
    ecs = aws("ecs")
    same = ecs.list_tasks(cluster=cluster, startedBy=started_by).get("taskArns", [])
    if same:
        return same[0], False
    net = params["NetworkConfiguration"]["awsvpcConfiguration"]
    request = dict(
        cluster=cluster, taskDefinition=task_definition, count=1, startedBy=started_by,
        clientToken=token, propagateTags="TASK_DEFINITION",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": net["Subnets"], "securityGroups": net.get("SecurityGroups", []),
            "assignPublicIp": net.get("AssignPublicIp", "DISABLED")}})
    if params.get("CapacityProviderStrategy"):
        request["capacityProviderStrategy"] = [
            {"capacityProvider": c["capacityProvider"], "weight": c.get("weight", 1), "base": c.get("base", 0)}
            for c in params["CapacityProviderStrategy"]]
    else:
        request["launchType"] = params.get("LaunchType", "FARGATE")
    answer = ecs.run_task(**request)
    if answer.get("failures") or not answer.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason')}: {f.get('detail', '')}" for f in answer.get("failures", []))
        raise RunError(f"ECS did not start {model.name}: {reasons or 'no task returned'}")
    return answer["tasks"][0]["taskArn"], True


def task_arn(task: str, cluster: str, region: str, account: str) -> str:
    """A task's ARN from its ARN or its bare ID (the last part of the ARN, as the console shows it)."""
    if task.startswith("arn:"):
        return task
    return f"arn:aws:ecs:{region}:{account}:task/{cluster}/{task}"


def latest_task(aws, model: Model, cluster: str, history: Callable[[], list[dict]]) -> str:
    """The ARN of the model's newest task: running or recently stopped in ECS, else the run history."""
    ecs = aws("ecs")
    arns = []
    for desired in ("RUNNING", "STOPPED"):
        arns += ecs.list_tasks(cluster=cluster, family=model.family, desiredStatus=desired).get("taskArns", [])
    if arns:
        tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
        return max(tasks, key=lambda t: _aware(t.get("createdAt")) or dt.datetime.min.replace(tzinfo=dt.UTC))["taskArn"]
    last = last_run(history(), model)
    if last is None:
        raise RunError(f"{model.name} has never run in {model.env} (no task in ECS, none in the run history "
                       f"{naming.run_history_log_group(model.env)}); start one with: make run MODEL={model.name} "
                       f"ENV={model.env if model.env != 'dev' else 'local'}")
    return last["taskArn"]


def log_lines(aws, model: Model, cluster: str, task: str, follow: bool, out: Callable[[str], None],
              poll_seconds: float = 5.0) -> str:
    """Print the task's log (following while it runs); returns where the log lives."""
    task_id = task.rsplit("/", 1)[-1]
    group, stream = naming.log_group(model.env, model.name), f"ecs/{naming.container_name(model.env, model.name)}/{task_id}"
    logs, token = aws("logs"), None
    while True:
        kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        try:
            page = logs.get_log_events(**kwargs)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            page = {"events": [], "nextForwardToken": token}
        for e in page.get("events", []):
            stamp = dt.datetime.fromtimestamp(e["timestamp"] / 1000, dt.UTC).strftime("%H:%M:%S")
            out(f"{stamp} {e['message']}")
        token = page.get("nextForwardToken", token)
        if not follow:
            break
        tasks = aws("ecs").describe_tasks(cluster=cluster, tasks=[task]).get("tasks", [])
        if not tasks or tasks[0].get("lastStatus") == "STOPPED":
            follow = False  # one more read drains what came in before the stop
            continue
        time.sleep(poll_seconds)
    return f"{group} / {stream}"
