"""Failure rules, alert messages and the topic policy, checked against recorded-shape ECS events.

Whether an event matches a rule and what message its input transformer makes are
decided by moto's EventBridge code (emulator/check_events.py, run in the emulator's
environment), not by this project's code. The one moto gap patched there, matching
inside arrays of objects, is documented in emulator/wm_emulator/events.py.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import ROOT
from generators import build, loader

FIXTURES = ROOT / "tests" / "fixtures" / "ecs-events"
EMU_PYTHON = ROOT / ".venv-emulator" / "bin" / "python"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/weekly-models-dev"
ALERTS = {"exit-1": True, "failed-to-start-cannot-pull": True, "spot-interruption": True,
          "exit-0": False, "user-stopped": False}


def event(name: str, **detail) -> dict:
    e = json.loads((FIXTURES / f"{name}.json").read_text())
    e["detail"].update(detail)
    return e


def resolve(value, refs: dict):
    """Fill in Refs and ${AWS::Region} as CloudFormation would for this deploy."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return refs[value["Ref"]]
        if set(value) == {"Fn::Sub"}:
            return value["Fn::Sub"].replace("${AWS::Region}", "us-east-1")
        return {k: resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    return value


def rule(stack: str, logical: str) -> tuple[dict, dict | None]:
    env = stack.split("/")[0]
    spec = loader.load(ROOT, env).stacks[stack]
    props = build(spec).to_dict()["Resources"][logical]["Properties"]
    refs = {"ClusterArn": CLUSTER, "AlertTopicArn": "arn:aws:sns:us-east-1:123456789012:weekly-models-dev-alerts"}
    props = resolve(props, refs)
    return props["EventPattern"], props["Targets"][0].get("InputTransformer")


def check(pattern, transformer, events) -> list[dict]:
    job = {"pattern": pattern, "transformer": transformer, "events": events}
    result = subprocess.run([str(EMU_PYTHON), str(ROOT / "emulator" / "check_events.py")], input=json.dumps(job),
                            capture_output=True, text=True, check=True, timeout=60)
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def failure_rule():
    return rule("dev/models/flu-ar2", "FailureRule")


def test_fixtures_are_the_five_kinds_of_stop():
    assert sorted(p.stem for p in FIXTURES.glob("*.json")) == sorted(ALERTS)


def test_failure_rule_alerts_on_failures_only(failure_rule):
    pattern, _ = failure_rule
    results = check(pattern, None, [event(name) for name in ALERTS])
    assert {name: r["matches"] for name, r in zip(ALERTS, results)} == ALERTS


def test_failure_rule_ignores_other_models_clusters_and_running_tasks(failure_rule):
    pattern, _ = failure_rule
    others = [event("exit-1", group="family:weekly-models-dev-covid-gbqr-model"),
              event("exit-1", clusterArn=CLUSTER.replace("weekly-models-dev", "weekly-models-prod")),
              event("exit-1", lastStatus="RUNNING", desiredStatus="RUNNING")]
    assert [r["matches"] for r in check(pattern, None, others)] == [False, False, False]


def test_alert_message_for_a_container_that_exited_1(failure_rule):
    pattern, transformer = failure_rule
    (r,) = check(pattern, transformer, [event("exit-1")])
    m = r["message"]
    assert m["alert"] == "weekly-models dev: a run of flu-ar2 did not finish (dry run)"
    assert (m["model"], m["environment"], m["exitCode"], m["stopCode"]) == \
        ("flu-ar2", "dev", "1", "EssentialContainerExited")
    assert (m["startedAt"], m["stoppedAt"]) == ("2026-11-25T19:02:35.902Z", "2026-11-25T19:42:09.876Z")
    assert m["task"].endswith("task/weekly-models-dev/3f5e1c2a9b8d4e7f8a6b5c4d3e2f1a0b")
    assert m["logs"] == ("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
                         "#logsV2:log-groups/log-group/$252Fecs$252Fweekly-models-dev-flu-ar2-model")
    assert m["logStream"].startswith("ecs/weekly-models-dev-flu-ar2-model-container/")
    assert m["next"] == "make logs MODEL=flu-ar2 ENV=dev"


def test_alert_message_for_an_image_that_cannot_be_pulled(failure_rule):
    pattern, transformer = failure_rule
    (r,) = check(pattern, transformer, [event("failed-to-start-cannot-pull")])
    m = r["message"]
    assert m["stopCode"] == "TaskFailedToStart"
    assert m["reason"].startswith("CannotPullContainerError: pull image manifest has been retried")
    assert "reichlab/flu_ar2:1.9" in m["reason"]


def test_alert_message_for_a_spot_interruption(failure_rule):
    pattern, transformer = failure_rule
    (r,) = check(pattern, transformer, [event("spot-interruption")])
    assert (r["message"]["stopCode"], r["message"]["reason"]) == ("SpotInterruption", "Your Spot Task was interrupted.")


def test_prod_alerts_say_real_run():
    pattern, transformer = rule("prod/models/flu-ar2", "FailureRule")
    dev_family, prod_family = event("exit-1"), event("exit-1", group="family:weekly-models-prod-flu-ar2-model")
    no, yes = check(pattern, transformer, [dev_family, prod_family])
    assert no["matches"] is False  # prod's rule ignores dev's tasks
    assert yes["message"]["alert"] == "weekly-models prod: a run of flu-ar2 did not finish"


def test_run_history_rule_records_every_state_change_of_the_cluster_only():
    pattern, _ = rule("dev/alerts", "RunHistoryRule")
    mine = [event(name) for name in ALERTS] + [event("exit-0", lastStatus="RUNNING")]
    theirs = [event("exit-1", clusterArn="arn:aws:ecs:us-east-1:123456789012:cluster/other")]
    assert [r["matches"] for r in check(pattern, None, mine + theirs)] == [True] * len(mine) + [False]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_topic_policy_lets_only_this_environments_rules_and_alarms_publish(templates, env):
    policy = templates[f"{env}/alerts"]["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]
    principals = []
    for st in policy["Statement"]:
        assert st["Effect"] == "Allow" and st["Action"] == ["sns:Publish"] and st["Resource"] == ["!Ref AlertTopic"]
        assert st["Condition"]["StringEquals"] == {"aws:SourceAccount": "!Ref AWS::AccountId"}
        source = st["Condition"]["ArnLike"]["aws:SourceArn"]
        assert f"weekly-models-{env}-*" in source and "${AWS::AccountId}" in source
        principals += st["Principal"]["Service"]
    assert sorted(principals) == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]


def test_every_model_has_a_failure_rule_and_a_failed_starts_alarm(templates):
    for path, t in templates.items():
        if "/models/" in path:
            r = t["Resources"]
            assert r["FailureRule"]["Properties"]["Targets"][0]["Arn"] == "!Ref AlertTopicArn"
            alarm = r["FailedStartsAlarm"]["Properties"]
            assert alarm["AlarmActions"] == ["!Ref AlertTopicArn"] and alarm["MetricName"] == \
                "ApproximateNumberOfMessagesVisible"
