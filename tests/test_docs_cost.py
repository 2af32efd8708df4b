"""The inventory, the diagrams and make cost: generated from the code, deterministic, and right.

Names, counts and values come from the configuration (conftest: environment, models, a_model), so
these hold whatever today's fleet is.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import os
import re
import subprocess
import sys
import zoneinfo
from dataclasses import replace

import pytest
from conftest import ENVS, ROOT, a_model, environment, models

from generators import build
from wm import cli
from wm.config import resolve
from wm.config.schedules import describe, next_runs, season
from wm.reports import cost, refresh
from wm.reports import inventory as docs

PRICES = cost.load_prices(ROOT, "us-east-1")
FIX = "run make refresh, review git diff, and commit"


def envs():
    return [environment(env) for env in ENVS]


def test_docs_are_up_to_date():
    for name, text in docs.generated(ROOT, envs()).items():
        path = ROOT / "docs" / name
        assert path.exists() and path.read_text() == text, f"docs/{name} is out of date: {FIX}"


def test_docs_are_the_same_bytes_in_any_process():
    code = ("import hashlib,sys; from pathlib import Path; from wm.reports import inventory as docs; "
            "from wm.config import resolve; root = Path(sys.argv[1]); "
            "files = docs.generated(root, [resolve.load(root, e, now=resolve.docs_moment(root)) for e in ('dev', 'prod')]); "
            "print(hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(digests) == 1


def _section(text: str, env: str) -> str:
    return text.split(f"## {env}\n", 1)[1].split("\n## ", 1)[0]


def test_inventory_mentions_every_resource_of_every_template():
    text = (ROOT / "docs" / "infrastructure.md").read_text()
    for e in envs():
        section = _section(text, e.name)
        for path, stack in e.stacks.items():
            block = section.split(f"### {path} ", 1)[1].split("\n### ", 1)[0]
            for logical, r in build(stack).to_dict()["Resources"].items():
                assert f"| {logical} | {r['Type']} | " in block, f"{path}:{logical}"


def _cells(row: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)[1:-1]]


RUN = re.compile(r"(\w{3}) (\d{4}-\d\d-\d\d \d\d:\d\d) (\S+) \((\d\d:\d\d) UTC\)")


@pytest.mark.parametrize("env", ENVS)
def test_inventory_has_a_row_per_model_with_its_settings_and_no_secret_values(env):
    e = environment(env)
    section = _section((ROOT / "docs" / "infrastructure.md").read_text(), env).split(f"### Models of {env}", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Model ")]
    assert [_cells(r)[0] for r in rows] == [m.name for m in e.models]
    for m, row in zip(e.models, rows, strict=True):
        _, image, size, schedule, next_three, _, capacity, variables, secrets, permissions = _cells(row)
        assert image == f"`{m.image}`" and size == f"{m.cpu} / {m.memory} MiB" and capacity == m.capacity
        assert schedule == f"{describe(m.schedule.expression, m.schedule.timezone)} ({m.state})"
        assert variables == ", ".join(f"{k}={v}" for k, v in m.variables)
        assert ("DRY_RUN=" in variables) == m.dry_run
        assert secrets == ", ".join(m.secrets)
        assert not any(f"{s}=" in row for s in m.secrets)  # names only, never a value
        if not m.task_permissions:
            assert permissions.startswith("its code: none (no task role)")
        # The runs as written: the local time, its zone's abbreviation and the UTC time agree (tz database).
        tz = zoneinfo.ZoneInfo(m.schedule.timezone)
        written = RUN.findall(next_three)
        lo, hi = season(m.schedule.start_date, m.schedule.end_date, m.schedule.timezone)
        start = dt.datetime.combine(e.docs_as_of, dt.time(), dt.UTC)
        expected = next_runs(m.schedule.expression, m.schedule.timezone, start, 3, start=lo, end=hi)
        assert len(written) == len(expected), next_three
        for (day, local, abbreviation, at_utc), run in zip(written, expected, strict=True):
            when = dt.datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
            assert when == run and when.date() >= e.docs_as_of
            assert day == when.strftime("%a") and abbreviation == when.tzname()
            assert at_utc == when.astimezone(dt.UTC).strftime("%H:%M")


def test_diagrams_name_every_stack_and_model_and_are_drawn_from_todays_source():
    files = docs.generated(ROOT, envs())
    marks = refresh.diagrams({f"docs/{k}": v for k, v in files.items()})
    for e in envs():
        dot = files[f"architecture-{e.name}.dot"]
        committed = (ROOT / "docs" / f"architecture-{e.name}.svg").read_text()
        assert marks[f"docs/architecture-{e.name}.svg"] in committed, f"docs/architecture-{e.name}.svg: {FIX}"
        drawn = html.unescape(refresh.draw(dot, marks[f"docs/architecture-{e.name}.svg"]))
        for svg in (drawn, html.unescape(committed)):
            assert svg.startswith("<?xml") and "Parameter Store" in svg and "AlertTopicArn" in svg
            for path in e.stacks:
                assert f">{path}<" in svg, path
            for m in e.models:
                assert f"{e.name}/models/{m.name}" in svg


# --- cost: prices/us-east-1.json's figures (the AWS price list on its date), by hand -----------------------

@pytest.mark.parametrize("capacity,expected", [
    ("FARGATE", 0.5 * (1 * 0.04048 + 3 * 0.004445 + 0.005)),       # 0.0294075
    ("FARGATE_SPOT", 0.5 * (1 * 0.012144 + 3 * 0.0013335 + 0.005)),  # 0.01057225
])
def test_cost_of_one_30_minute_run(capacity, expected):
    assert cost.run_cost(PRICES, 1024, 3072, capacity, 30) == pytest.approx(expected)


def test_cost_of_a_bigger_longer_run():
    # 2 vCPU, 8 GiB, 90 minutes on demand: 1.5 h x (2 x 0.04048 + 8 x 0.004445 + 0.005)
    assert cost.run_cost(PRICES, 2048, 8192, "FARGATE", 90) == pytest.approx(1.5 * 0.12152)


def _by_hand(m, minutes: float) -> float:
    rate = PRICES["fargate_spot" if m.capacity == "FARGATE_SPOT" else "fargate"]
    return minutes / 60 * (m.cpu / 1024 * rate["vcpu_hour"] + m.memory / 1024 * rate["gb_hour"]
                           + PRICES["public_ipv4_hour"])


def test_runs_per_month_follow_the_schedule_and_the_season():
    weekly = a_model("prod").schedule.model_copy(update={
        "expression": "cron(0 14 ? * WED *)", "timezone": "America/New_York", "start_date": None, "end_date": None})
    model = replace(a_model("prod"), schedule=weekly)
    as_of = dt.date(2026, 11, 21)
    assert cost.runs_per_month(model, as_of) == pytest.approx(52 / 12)  # Wednesdays in the year from as_of
    in_season = replace(model, schedule=weekly.model_copy(
        update={"start_date": dt.date(2026, 10, 1), "end_date": dt.date(2027, 6, 30)}))
    # Wednesdays from 2026-11-25 to 2027-06-30: 1 + 5 + 4 + 4 + 5 + 4 + 4 + 5
    assert cost.runs_per_month(in_season, as_of) == pytest.approx(32 / 12)


@functools.cache
def as_deployed_today(env: str):
    """The environment as `wm cost` reads it: states as of now (a season may have ended), runs from docs_as_of."""
    return resolve.load(ROOT, env, graph=False)


def _rows(out: str) -> dict[str, list[str]]:
    """model name -> its row's words, from the cost table."""
    names = {m.name for env in ENVS for m in models(env)}
    return {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1] and line.split()[0] in names}


def _money(out: str, label: str) -> float:
    return float(re.search(rf"{re.escape(label)}\s*:?\s+(-?\d+\.\d\d)", out).group(1))


@pytest.mark.parametrize("env", ENVS)
def test_cost_report_rows_totals_and_comparisons(env, capsys, templates):
    e = as_deployed_today(env)
    assert cli.main(["cost", env]) == 0
    out = capsys.readouterr().out
    assert f"prices taken {PRICES['taken']}" in out
    rows = _rows(out)
    assert list(rows) == [m.name for m in e.models]
    for m in e.models:
        c = cost.model_cost(PRICES, m, e.docs_as_of)
        assert rows[m.name][1] == m.capacity
        assert float(rows[m.name][2]) == pytest.approx(_by_hand(m, m.expected_duration_minutes), abs=5e-5)
        assert rows[m.name][3:5] == [f"{c.runs_per_month:.2f}", f"{c.per_month:.2f}"]
        assert f"{m.expected_duration_minutes:g} min each" in " ".join(rows[m.name])
        assert ("DISABLED here" in " ".join(rows[m.name])) == (m.state != "ENABLED")
    # The total is the enabled rows plus the fixed lines, as printed (to rounding).
    fixed = out.split("fixed monthly costs of the environment:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    fixed_sum = sum(float(line.split()[-1]) for line in fixed)
    compute = sum(cost.model_cost(PRICES, m, e.docs_as_of).per_month for m in e.models if m.state == "ENABLED")
    total, runs_part, fixed_part = (float(x) for x in re.search(
        r"total per month: (\d+\.\d\d) \(model runs (\d+\.\d\d), fixed (\d+\.\d\d)\)", out).groups())
    assert runs_part == pytest.approx(compute, abs=0.005) and fixed_part == pytest.approx(fixed_sum, abs=0.005 * len(fixed))
    assert total == pytest.approx(runs_part + fixed_part, abs=0.011)
    alarms = sum(1 for path, t in templates.items() if path.startswith(f"{env}/")
                 for r in t["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm")
    assert f"CloudWatch alarms ({alarms})" in out
    assert f"log storage ({e.settings.log_retention_days} days kept)" in out
    # NAT gateway: every hour of the month, plus 1 GB of image pulled through it per run.
    runs = sum(c.runs_per_month for c in (cost.model_cost(PRICES, m, e.docs_as_of) for m in e.models)
               if c.enabled) or sum(cost.runs_per_month(m, e.docs_as_of) for m in e.models)
    nat = PRICES["nat_gateway"]["hour"] * PRICES["hours_per_month"] + runs * 1.0 * PRICES["nat_gateway"]["gb_processed"]
    assert _money(out, "NAT gateway in front of private subnets (hourly + image pulls through it)") == \
        pytest.approx(nat, abs=0.005)
    assert _money(out, "always-attached 100 GB gp3 EBS volume") == pytest.approx(100 * PRICES["ebs_gp3_gb_month"])


@pytest.mark.parametrize("env", ENVS)
def test_cost_of_one_model_shows_its_row_and_its_own_total(env, capsys):
    e = as_deployed_today(env)
    for m in e.models:
        assert cli.main(["cost", env, "--model", m.name]) == 0
        out = capsys.readouterr().out
        c = cost.model_cost(PRICES, m, e.docs_as_of)
        assert list(_rows(out)) == [m.name]
        assert f"total per month for {m.name}: {c.per_month:.2f}" in out
        assert ("if it were ENABLED" in out) == (not c.enabled)
        assert "total per month:" not in out and "fixed monthly costs" not in out  # not the environment's


@pytest.mark.parametrize("minutes", [45, 90, 7.5])
def test_a_duration_prices_every_run_at_that_length(minutes, capsys):
    e = as_deployed_today("prod")
    assert cli.main(["cost", "prod", "--duration", str(minutes)]) == 0
    out = capsys.readouterr().out
    assert f"every run priced at {minutes:g} minutes" in out
    rows = _rows(out)
    assert list(rows) == [m.name for m in e.models]
    for m in e.models:
        row = " ".join(rows[m.name])
        assert f" {minutes:g} min each" in row
        assert float(rows[m.name][2]) == pytest.approx(_by_hand(m, minutes), abs=5e-5)
        priced = cost.model_cost(PRICES, m, e.docs_as_of, minutes=minutes)
        assert priced.per_run == pytest.approx(cost.model_cost(PRICES, m, e.docs_as_of, minutes=2 * minutes).per_run / 2)
    m = a_model("prod")
    assert cli.main(["cost", "prod", "--model", m.name, "--duration", str(minutes)]) == 0
    one = capsys.readouterr().out
    per_month = cost.model_cost(PRICES, m, e.docs_as_of, minutes=minutes).per_month
    assert f"{minutes:g} min each" in one and f"total per month for {m.name}: {per_month:.2f}" in one


def _not_a_model() -> str:
    return a_model("prod").name + "-not-configured"


@pytest.mark.parametrize("argv,message", [
    (["cost", "staging"], "ENV='staging' is not an environment"),
    (["cost", "prod", "--model", _not_a_model()], f"MODEL={_not_a_model()} is not a model of prod"),
    (["cost", "prod", "--duration", "abc"], "DURATION=abc is not a number of minutes"),
    (["cost", "prod", "--duration", "0"], "DURATION=0 is not a number of minutes"),
    (["cost", "prod", "--duration", "-5"], "DURATION=-5 is not a number of minutes"),
    (["cost", "prod", "--duration", "1441"], "DURATION=1441 is not a number of minutes between 0 and 1440"),
])
def test_cost_bad_input(capsys, argv, message):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
