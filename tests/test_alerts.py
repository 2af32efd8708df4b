"""Failure rules, alert messages, the silence check and the topic policy, against recorded-shape events.

Whether an event matches a rule and what input its transformer makes are decided by
moto's EventBridge code (emulator/check_events.py); what the alert then says, and
whether the silence check alerts at all, by moto's Step Functions interpreter running
the rendered state machine (emulator/run_machine.py). Both run in the emulator's
environment, so the oracle is an implementation of EventBridge and of the States
Language, not this project's code. The one moto gap patched there, matching inside
arrays of objects, is documented in emulator/wm_emulator/events.py.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import json
import subprocess

import pytest
from conftest import ENVS, EVENTS, ROOT, a_model, environment, models
from conftest import ecs_event as event

from generators import build
from generators.model import alert_input, silence_input
from wm.config import names

FIXTURES = EVENTS
EMU_PYTHON = ROOT / ".venv-emulator" / "bin" / "python"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/weekly-models-dev"
ALERTS = {"exit-1": True, "failed-to-start-cannot-pull": True, "spot-interruption": True,
          "exit-0": False, "user-stopped": False}
# What Chatbot accepts as a custom notification (Chatbot administrator guide, "Custom notifications").
CHATBOT_REQUIRED = {"version": "1.0", "source": "custom"}


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


REFS = {"ClusterArn": CLUSTER, "AlertTopicArn": "arn:aws:sns:us-east-1:123456789012:weekly-models-dev-alerts",
        "AlertMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:weekly-models-dev-alert",
        "AlertRulesRoleArn": "arn:aws:iam::123456789012:role/weekly-models-dev-alert-rules"}


def model_stack(m) -> str:
    return f"{m.env}/models/{m.name}"


def rule(stack: str, logical: str, refs: dict = REFS) -> tuple[dict, dict | None]:
    env = stack.split("/")[0]
    props = resolve(build(environment(env).stacks[stack]).to_dict()["Resources"][logical]["Properties"], refs)
    return props["EventPattern"], props["Targets"][0].get("InputTransformer")


def check(pattern, transformer, events) -> list[dict]:
    job = {"pattern": pattern, "transformer": transformer, "events": events}
    result = subprocess.run([str(EMU_PYTHON), str(ROOT / "emulator" / "check_events.py")], input=json.dumps(job),
                            capture_output=True, text=True, check=True, timeout=60)
    return json.loads(result.stdout)


def machine(env: str, logical: str) -> str:
    return build(environment(env).stacks[f"{env}/alerts"]).to_dict()["Resources"][logical]["Properties"][
        "DefinitionString"]


@functools.cache
def _machines() -> subprocess.Popen:
    """One emulator-environment process for the module, answering a job per line."""
    process = subprocess.Popen([str(EMU_PYTHON), str(ROOT / "emulator" / "run_machine.py"), "--serve"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    atexit.register(process.kill)
    return process


def run_machine(definition: str, machine_input: dict, **setup) -> dict:
    process = _machines()
    process.stdin.write(json.dumps({"definition": definition, "input": machine_input, **setup}) + "\n")
    process.stdin.flush()
    answer = process.stdout.readline()
    assert answer, "emulator/run_machine.py stopped (its error is above)"
    return json.loads(answer)


def alert_for(stack: str, e: dict, refs: dict = REFS) -> dict:
    """The one notification a stopped task's event becomes: rule, transformer, then the alert machine."""
    env = stack.split("/")[0]
    pattern, transformer = rule(stack, "FailureRule", refs)
    (r,) = check(pattern, transformer, [e])
    assert r["matches"], "the failure rule did not match"
    out = run_machine(machine(env, "AlertMachine"), r["message"])
    assert out["status"] == "SUCCEEDED", out
    (message,) = out["messages"]
    return json.loads(message)


@pytest.fixture(scope="module")
def failure_rule():
    return rule(model_stack(a_model("dev")), "FailureRule")


def test_fixtures_are_the_five_kinds_of_stop():
    assert sorted(p.stem for p in FIXTURES.glob("*.json")) == sorted(ALERTS)


def test_failure_rule_alerts_on_failures_only(failure_rule):
    pattern, _ = failure_rule
    results = check(pattern, None, [event(name) for name in ALERTS])
    assert {name: r["matches"] for name, r in zip(ALERTS, results, strict=True)} == ALERTS


def other_family(m) -> str:
    """A task family of the same environment that is not the model's (another model's)."""
    return f"family:{names.family(m.env, m.name + '-other')}"


def test_failure_rule_ignores_other_models_clusters_and_running_tasks(failure_rule):
    pattern, _ = failure_rule
    others = [event("exit-1", group=other_family(a_model("dev"))),
              event("exit-1", clusterArn=CLUSTER.replace("weekly-models-dev", "weekly-models-prod")),
              event("exit-1", lastStatus="RUNNING", desiredStatus="RUNNING")]
    assert [r["matches"] for r in check(pattern, None, others)] == [False, False, False]


def test_the_rule_hands_the_whole_event_to_the_alert_machine_as_json(failure_rule):
    pattern, transformer = failure_rule
    m = a_model("dev")
    e = event("exit-1", stoppedReason='said "no" \\ twice')
    (r,) = check(pattern, transformer, [e])
    assert r["message"]["event"] == {**e, "ingestion-time": e["time"]}  # nothing re-quoted, nothing lost
    assert r["message"]["model"] == m.name and r["message"]["next"] == f"make logs MODEL={m.name} ENV=dev"


def test_the_transformer_puts_no_event_value_inside_a_json_string(failure_rule):
    """EventBridge does not escape the values it inserts (user guide, "Transforming target input")."""
    _, transformer = failure_rule
    template = transformer["InputTemplate"]
    assert set(transformer.get("InputPathsMap", {})) == set()
    assert template.count("<") == 1 and template.endswith('"event": <aws.events.event.json>}')


def is_chatbot_notification(m: dict) -> bool:
    return {k: m.get(k) for k in CHATBOT_REQUIRED} == CHATBOT_REQUIRED and \
        isinstance(m.get("content", {}).get("description"), str) and m["content"]["description"]


def test_alert_for_a_container_that_exited_1():
    model = a_model("dev")
    assert model.dry_run  # dev runs every model dry, and its alerts say so
    m = alert_for(model_stack(model), event("exit-1"))
    assert is_chatbot_notification(m)
    assert m["content"]["title"] == f"weekly-models dev: a run of {model.name} did not finish (dry run)"
    d = m["content"]["description"]
    assert d.startswith("Its container exited with code 1.")
    assert "task/weekly-models-dev/3f5e1c2a9b8d4e7f8a6b5c4d3e2f1a0b" in d
    # The console link names the log group /ecs/<family>, its slashes escaped as the console wants.
    assert ("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
            f"#logsV2:log-groups/log-group/$252Fecs$252F{model.family}") in d
    assert m["content"]["nextSteps"] == [f"make logs MODEL={model.name} ENV=dev"]


def test_alert_for_an_image_that_cannot_be_pulled():
    e = event("failed-to-start-cannot-pull")
    d = alert_for(model_stack(a_model("dev")), e)["content"]["description"]
    assert d.startswith("It never started: CannotPullContainerError: pull image manifest has been retried")
    assert e["detail"]["stoppedReason"] in d  # with the image reference that could not be pulled


def test_alert_for_a_spot_interruption():
    d = alert_for(model_stack(a_model("dev")), event("spot-interruption"))["content"]["description"]
    assert d.startswith("Fargate Spot took its capacity back while it ran: Your Spot Task was interrupted.")


@pytest.mark.parametrize("reason", ['a "quoted" reason', "a back\\slash", "a {brace} and a 'quote'", "line\nbreak"])
def test_any_stop_reason_still_makes_valid_json(reason):
    m = alert_for(model_stack(a_model("dev")), event("failed-to-start-cannot-pull", stoppedReason=reason))
    assert is_chatbot_notification(m) and reason in m["content"]["description"]


def test_an_event_without_the_usual_fields_still_alerts():
    e = event("exit-1")
    for key in ("stoppedReason", "taskArn"):
        del e["detail"][key]
    m = alert_for(model_stack(a_model("dev")), e)
    assert is_chatbot_notification(m) and "(no task ARN)" in m["content"]["description"]


def test_prod_alerts_say_real_run():
    model = a_model("prod")
    prod_cluster = CLUSTER.replace("weekly-models-dev", "weekly-models-prod")
    refs = {**REFS, "ClusterArn": prod_cluster}
    pattern, transformer = rule(model_stack(model), "FailureRule", refs)
    dev_task = event("exit-1", model, group=f"family:{names.family('dev', model.name)}", clusterArn=prod_cluster)
    (no,) = check(pattern, transformer, [dev_task])
    assert no["matches"] is False  # prod's rule ignores dev's tasks of the same model
    m = alert_for(model_stack(model), event("exit-1", model, clusterArn=prod_cluster), refs)
    assert m["content"]["title"] == f"weekly-models prod: a run of {model.name} did not finish"


# --- the silence check -------------------------------------------------------------------------------

def silence_case(configured: str = "ENABLED", **setup) -> tuple[dict, dict]:
    """The silence check of the model under test, due half an hour ago, as its check schedule would
    start it in an environment whose configuration enables (or disables) the model's schedule."""
    model = a_model("dev")
    given = json.loads(silence_input(model))
    assert given["expectedAt"] == "<aws.scheduler.scheduled-time>"  # Scheduler fills it in when it fires
    assert given["configuredState"] == model.state
    due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    given |= {"expectedAt": due.strftime("%Y-%m-%dT%H:%M:%SZ"), "waitSeconds": 1,  # not the real hours
              "configuredState": configured}
    return given, run_machine(machine("dev", "SilenceCheckMachine"), given, **setup)


def test_a_due_run_that_was_recorded_sends_nothing():
    recorded = {"Namespace": "weekly-models/dev", "MetricName": "TaskStateChanges", "minutes_ago": 10,
                "Dimensions": [{"Name": "Group", "Value": f"family:{a_model('dev').family}"}]}
    _, out = silence_case(metrics=[recorded])
    assert out["status"] == "SUCCEEDED" and out["messages"] == []


def test_a_run_recorded_before_it_was_due_does_not_count():
    earlier = {"Namespace": "weekly-models/dev", "MetricName": "TaskStateChanges", "minutes_ago": 90,
               "Dimensions": [{"Name": "Group", "Value": f"family:{a_model('dev').family}"}]}
    _, out = silence_case(metrics=[earlier])
    assert len(out["messages"]) == 1


def test_another_models_run_does_not_count():
    other = {"Namespace": "weekly-models/dev", "MetricName": "TaskStateChanges", "minutes_ago": 10,
             "Dimensions": [{"Name": "Group", "Value": other_family(a_model("dev"))}]}
    _, out = silence_case(metrics=[other])
    assert len(out["messages"]) == 1


@pytest.mark.parametrize("configured,state,words", [
    ("ENABLED", "DISABLED", "is DISABLED although the configuration enables it: was it disabled by hand?"),
    ("ENABLED", "ENABLED", "is ENABLED, so either EventBridge Scheduler could not start it"),
    ("ENABLED", None, "could not be read"),
    ("DISABLED", "DISABLED", "is DISABLED, as the configuration says"),  # only when started by hand
])
def test_a_due_run_that_never_started_alerts_in_words(configured, state, words):
    model = a_model("dev")
    # The model's schedule as Scheduler holds it: named after the task family, in the environment's group.
    deployed = {"Name": model.family, "GroupName": "weekly-models-dev", "State": state}
    given, out = silence_case(configured, **({"schedules": [deployed]} if state else {}))
    (message,) = out["messages"]
    m = json.loads(message)
    assert is_chatbot_notification(m)
    assert m["content"]["title"] == f"weekly-models dev: {model.name} did not run when it was due"
    assert m["content"]["description"].startswith(f"{model.name} was due at {given['expectedAt']} (UTC)")
    assert words in m["content"]["description"]
    assert m["content"]["nextSteps"] == ["make status ENV=dev"]


def test_the_silence_check_fires_with_the_models_schedule_and_waits_out_its_window(templates):
    for path, t in templates.items():
        if "/models/" not in path:
            continue
        r = t["Resources"]
        model, check_ = r["Schedule"]["Properties"], r["SilenceCheckSchedule"]["Properties"]
        for key in ("ScheduleExpression", "ScheduleExpressionTimezone", "State", "StartDate", "EndDate"):
            assert model.get(key) == check_.get(key), (path, key)
        given = json.loads(check_["Target"]["Input"])
        window = model["FlexibleTimeWindow"].get("MaximumWindowInMinutes", 0)
        retries = model["Target"]["RetryPolicy"]["MaximumEventAgeInSeconds"]
        # The window, as long as Scheduler keeps retrying a failed start, then half an hour.
        assert given["waitSeconds"] == window * 60 + retries + 1800, path
        assert given["configuredState"] == model["State"], path
        assert check_["Target"]["Arn"] == "!Ref SilenceCheckArn"


def test_run_history_rule_records_every_state_change_of_the_cluster_only():
    pattern, _ = rule("dev/alerts", "RunHistoryRule")
    mine = [event(name) for name in ALERTS] + [event("exit-0", lastStatus="RUNNING")]
    theirs = [event("exit-1", clusterArn="arn:aws:ecs:us-east-1:123456789012:cluster/other")]
    assert [r["matches"] for r in check(pattern, None, mine + theirs)] == [True] * len(mine) + [False]


@pytest.mark.parametrize("env", ENVS)
def test_topic_policy_lets_only_this_environments_alarms_publish(templates, env):
    policy = templates[f"{env}/alerts"]["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]
    (st,) = policy["Statement"]
    assert st["Effect"] == "Allow" and st["Action"] == ["sns:Publish"] and st["Resource"] == ["!Ref AlertTopic"]
    assert st["Condition"]["StringEquals"] == {"aws:SourceAccount": "!Ref AWS::AccountId"}
    source = st["Condition"]["ArnLike"]["aws:SourceArn"]
    assert f"alarm:weekly-models-{env}-*" in source and "${AWS::AccountId}" in source
    assert st["Principal"]["Service"] == ["cloudwatch.amazonaws.com"]


def test_the_alert_path_itself_is_watched(templates):
    for env in ENVS:
        resources = templates[f"{env}/alerts"]["Resources"]
        for machine_ in ("AlertMachine", "SilenceCheckMachine"):
            alarm = resources[f"{machine_}FailedAlarm"]["Properties"]
            assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/States", "ExecutionsFailed")
            assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": f"!Ref {machine_}"}]
            assert alarm["AlarmActions"] == ["!Ref AlertTopic"]
    for path, t in templates.items():
        if "/models/" in path:
            alarm = t["Resources"]["FailureRuleFailedAlarm"]["Properties"]
            assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "FailedInvocations")
            assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": "!Ref FailureRule"}]


def test_every_model_has_a_failure_rule_and_a_failed_starts_alarm_that_alerts_again(templates):
    stacks = [path for path in templates if "/models/" in path]
    assert len(stacks) == sum(len(models(env)) for env in ENVS)
    for path in stacks:
        r = templates[path]["Resources"]
        target = r["FailureRule"]["Properties"]["Targets"][0]
        assert (target["Arn"], target["RoleArn"]) == ("!Ref AlertMachineArn", "!Ref AlertRulesRoleArn")
        alarm = r["FailedStartsAlarm"]["Properties"]
        assert alarm["AlarmActions"] == ["!Ref AlertTopicArn"]
        # Messages sent per period, not messages waiting: back to OK after each period.
        assert (alarm["MetricName"], alarm["Statistic"]) == ("NumberOfMessagesSent", "Sum")


def test_the_alert_machines_publish_only_json_they_escaped_themselves(templates):
    for env in ENVS:
        for logical in ("AlertMachine", "SilenceCheckMachine"):
            states = json.loads(machine(env, logical))["States"]
            (publish,) = [s for s in states.values() if s.get("Resource", "").endswith(":states:::sns:publish")]
            assert publish["Parameters"]["Message.$"] == "States.JsonToString($.message)"


def test_every_input_the_models_give_the_machines_is_json(templates):
    for env in ENVS:
        for m in models(env):
            json.loads(silence_input(m))
            json.loads(alert_input(m).replace("<aws.events.event.json>", "{}"))
