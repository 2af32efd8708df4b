"""make docs, make diagram and make cost: generated from the code, deterministic, and right."""

from __future__ import annotations

import datetime as dt
import html
import os
import subprocess
import sys

import pytest
from conftest import ENVS, ROOT

from generators import build
from wm import cli
from wm.config import files as loader
from wm.reports import cost
from wm.reports import inventory as docs

PRICES = cost.load_prices(ROOT, "us-east-1")


def envs():
    return [loader.load(ROOT, env) for env in ENVS]


def test_docs_are_up_to_date():
    for name, text in docs.generated(ROOT, envs()).items():
        path = ROOT / "docs" / name
        assert path.exists() and path.read_text() == text, f"docs/{name} is out of date: run make docs"


def test_docs_are_the_same_bytes_in_any_process():
    code = "import hashlib,sys; from pathlib import Path; from wm.reports import inventory as docs; from wm.config import files as loader; " \
           "files = docs.generated(Path(sys.argv[1]), [loader.load(Path(sys.argv[1]), e) for e in ('dev', 'prod')]); " \
           "print(hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest())"
    digests = {subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(digests) == 1


def test_inventory_mentions_every_resource_of_every_template():
    text = (ROOT / "docs" / "infrastructure.md").read_text()
    for e in envs():
        section = text.split(f"## {e.name}\n", 1)[1].split("\n## ", 1)[0]
        for path, spec in e.stacks.items():
            stack = section.split(f"### {path} ", 1)[1].split("\n### ", 1)[0]
            for logical, r in build(spec).to_dict()["Resources"].items():
                assert f"| {logical} | {r['Type']} | " in stack, f"{path}:{logical}"


def test_inventory_per_model_table_has_words_runs_and_no_secret_values():
    text = (ROOT / "docs" / "infrastructure.md").read_text()
    prod = text.split("### Models of prod", 1)[1]
    (row,) = [line for line in prod.splitlines() if line.startswith("| flu-ar2 |")]
    assert "every Wednesday at 14:00 America/New_York (ENABLED)" in row
    assert "Wed 2026-11-25 14:00 EST (19:00 UTC); Wed 2026-12-02 14:00 EST (19:00 UTC)" in row
    assert "`reichlab/flu_ar2:1.2`" in row and "1024 / 3072 MiB" in row and "MODEL_NAME=UMass-AR2" in row
    assert "GH_TOKEN, GIT_CREDENTIALS, SLACK_API_TOKEN" in row and "DRY_RUN" not in row
    assert "its code: none (no task role)" in row


def test_diagram_is_generated_and_names_every_stack_and_model(tmp_path):
    result = subprocess.run(["make", "--no-print-directory", "diagram", f"DIAGRAM_OUT={tmp_path}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for e in envs():
        svg = html.unescape((tmp_path / f"architecture-{e.name}.svg").read_text())
        png = tmp_path / f"architecture-{e.name}.png"
        assert svg.startswith("<?xml") and png.stat().st_size > 10_000
        for path in e.stacks:
            assert f">{path}<" in svg, path
        for m in e.models:
            assert f"{e.name}/models/{m.name}" in svg
        assert "Parameter Store" in svg and "AlertTopicArn" in svg


@pytest.mark.parametrize("capacity,expected", [
    ("FARGATE", 0.5 * (1 * 0.04048 + 3 * 0.004445 + 0.005)),       # 0.0294075
    ("FARGATE_SPOT", 0.5 * (1 * 0.012144 + 3 * 0.0013335 + 0.005)),  # 0.01057225
])
def test_cost_of_one_30_minute_run(capacity, expected):
    assert cost.run_cost(PRICES, 1024, 3072, capacity, 30) == pytest.approx(expected)


def test_cost_of_a_bigger_longer_run():
    # 2 vCPU, 8 GiB, 90 minutes on demand: 1.5 h x (2 x 0.04048 + 8 x 0.004445 + 0.005)
    assert cost.run_cost(PRICES, 2048, 8192, "FARGATE", 90) == pytest.approx(1.5 * 0.12152)


def test_runs_per_month_follow_the_schedule_and_the_season():
    model = loader.load(ROOT, "prod").stacks["prod/models/flu-ar2"]
    as_of = dt.date(2026, 11, 21)
    assert cost.runs_per_month(model, as_of) == pytest.approx(52 / 12)
    from dataclasses import replace
    season = replace(model, schedule=model.schedule.model_copy(
        update={"start_date": dt.date(2026, 10, 1), "end_date": dt.date(2027, 6, 30)}))
    # Wednesdays from 2026-11-25 to 2027-06-30: 1 + 5 + 4 + 4 + 5 + 4 + 4 + 5
    assert cost.runs_per_month(season, as_of) == pytest.approx(32 / 12)


def test_cost_report_totals_and_comparisons(capsys, templates):
    assert cli.main(["cost", "prod"]) == 0
    out = capsys.readouterr().out
    assert "prices taken 2026-11-21" in out
    (row,) = [line for line in out.splitlines() if line.startswith("flu-ar2 ")]
    assert row.split()[2:5] == ["0.0294", "4.33", "0.13"]
    alarms = sum(1 for path, t in templates.items() if path.startswith("prod/")
                 for r in t["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm")
    assert f"CloudWatch alarms ({alarms})" in out and "NAT gateway" in out and "100 GB gp3 EBS" in out
    assert "33.83" in out  # 730 h x 0.045 + 52/12 runs x 1 GB x 0.045


@pytest.mark.parametrize("argv,message", [
    (["cost", "staging"], "ENV='staging' is not an environment"),
    (["cost", "prod", "--model", "flu-ar3"], "MODEL=flu-ar3 is not a model of prod"),
    (["cost", "prod", "--duration", "abc"], "DURATION=abc is not a number of minutes"),
    (["cost", "prod", "--duration", "0"], "DURATION=0 is not a number of minutes"),
    (["cost", "prod", "--duration", "-5"], "DURATION=-5 is not a number of minutes"),
])
def test_cost_bad_input(capsys, argv, message):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
