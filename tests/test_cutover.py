"""The cut-over's logic without the emulator: .env parsing, what is secret, what cannot be read, disagreeing
old files, the schedule comparison and which inbound rule may go. The whole sequence on the emulator is
tests/test_cutover_emulator.py."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError
from conftest import a_model, environment

from wm.cutover import handbuilt, report, steps
from wm.cutover.handbuilt import EnvFile, OldModel, OldSetup, SecurityGroup

ENV = environment("dev")
NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize("text, variables, problems", [
    ("A=1\nB=two words\n", {"A": "1", "B": "two words"}, []),
    ("# a comment\n\n  # indented comment\nA=1\n", {"A": "1"}, []),
    ("URL=https://x/?a=b=c\n", {"URL": "https://x/?a=b=c"}, []),           # only the first '=' splits
    ('Q="quoted"\n', {"Q": '"quoted"'}, []),                                 # no quote handling in ECS
    ("EMPTY=\n", {"EMPTY": ""}, []),
    ("JUSTANAME\n", {}, ["line 1 is not VARIABLE=VALUE"]),
    ("=value\n", {}, ["line 1 is not VARIABLE=VALUE"]),
    ("A=1\nA=2\n", {"A": "2"}, ["A is set twice (line 2)"]),
])
def test_env_files_are_read_as_ecs_reads_them(text, variables, problems):
    assert handbuilt.parse_env_file(text) == (variables, problems)


@pytest.mark.parametrize("name, secret", [("SLACK_API_TOKEN", True), ("GIT_CREDENTIALS", True), ("GH_TOKEN", True),
                                          ("DB_PASSWORD", True), ("MY_API_KEY", True), ("CHANNEL_ID", False),
                                          ("MODEL_NAME", False), ("MAIN_PY_ARGS", False)])
def test_names_that_hold_a_secret_are_never_shown(name, secret):
    assert handbuilt.looks_secret(name) is secret


class Denied:
    """An account where every read but "who am I" is refused, as for a role without the permissions."""

    def __call__(self, service):
        return self

    def get_caller_identity(self):
        return {"Account": "111122223333"}

    def __getattr__(self, operation):
        def refuse(**kwargs):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": f"not allowed: {operation}"}},
                              operation)
        return refuse


def test_what_cannot_be_read_is_reported_and_fails_the_report_never_skipped():
    setup = handbuilt.scan(Denied(), ENV)
    whats = [u.what for u in setup.unreadable]
    for expected in ("ECS cluster weekly-models", "ECS task definition families", "EventBridge Scheduler schedules",
                     "EC2 security groups", f"IAM role {handbuilt.EXECUTION_ROLE}"):
        assert expected in whats
    for m in ENV.models:  # every model's own reads too
        assert f"task definitions of {handbuilt.family(m.name)}" in whats
    r = report.compare(Denied(), ENV, setup, NOW, "AWS", "dev")
    text = report.markdown(r)
    assert r.fails and f"(exit {report.EXIT_DIFFERENCES})" in text
    assert all(f"could not read {u.what} (AccessDeniedException" in text for u in setup.unreadable)


class Store:
    """Parameter Store with nothing in it, recording what is put."""

    def __init__(self):
        self.put = []

    def __call__(self, service):
        return self

    def get_parameter(self, **kwargs):
        raise ClientError({"Error": {"Code": "ParameterNotFound", "Message": ""}}, "GetParameter")

    def put_parameter(self, **kwargs):
        self.put.append(kwargs["Name"])


def old_model(model, files: dict[str, dict | None]) -> OldModel:
    o = OldModel(family=handbuilt.family(model.name), model=model.name, found=True)
    o.env_files = [EnvFile(f"arn:aws:s3:::weekly-models/{key}", f"s3://weekly-models/{key}", variables)
                   for key, variables in files.items()]
    return o


def test_secrets_refuses_a_token_the_old_files_disagree_on_and_names_the_files():
    one, two = ENV.models[0], ENV.models[1]
    name = sorted(one.secrets)[0]
    setup = OldSetup("111122223333", ENV.region, models=[
        old_model(one, {"one.env": {name: "token-a"}}), old_model(two, {"two.env": {name: "token-b"}})])
    store = Store()
    lines, complete = steps.secrets(store, ENV, setup, overwrite=False, word="dev")
    assert not complete and not any(p.endswith(f"/{name}") for p in store.put)
    (line,) = [x for x in lines if x.startswith(f"{name}:")]
    assert "NOT copied: the old files hold 2 different values" in line
    assert "s3://weekly-models/one.env" in line and "s3://weekly-models/two.env" in line
    assert "token-a" not in "\n".join(lines) and "token-b" not in "\n".join(lines)


def test_secrets_says_which_secret_no_old_file_holds():
    model = a_model("dev")
    setup = OldSetup("111122223333", ENV.region, models=[old_model(model, {"m.env": {"OTHER": "x"}})])
    lines, complete = steps.secrets(Store(), ENV, setup, overwrite=False, word="dev")
    assert not complete
    assert all(any(x.startswith(f"{s}: in no old .env file") for x in lines) for s in model.secrets)


def schedule_lines(old_expr: str, old_tz: str, model=None):
    model = model or a_model("dev")
    o = OldModel(family=handbuilt.family(model.name), model=model.name, found=True,
                 schedule={"ScheduleExpression": old_expr, "ScheduleExpressionTimezone": old_tz, "State": "ENABLED",
                           "FlexibleTimeWindow": {"Mode": "OFF"}})
    return report._schedule(o, report.declared(ENV, model), ENV, NOW)


def test_a_schedule_written_in_utc_is_seen_to_part_from_local_time_at_the_clock_change():
    model = a_model("dev")
    new = report.declared(ENV, model)["Schedule"]
    assert new["ScheduleExpressionTimezone"] != "UTC", "this test needs a model scheduled in local time"
    same, runs, _ = schedule_lines(new["ScheduleExpression"], new["ScheduleExpressionTimezone"])
    assert next(x for x in same if x.what == "run times").verdict == report.SAME
    assert runs[0] == runs[1] and len(runs[0]) == 3
    # The same wall-clock hour, written in UTC as it is in winter: it parts in spring.
    first = report.next_runs(new["ScheduleExpression"], new["ScheduleExpressionTimezone"], NOW, 1)[0]
    hour = first.astimezone(dt.UTC).hour
    utc = new["ScheduleExpression"].replace(f"cron({first.minute} {first.hour} ", f"cron({first.minute} {hour} ", 1)
    lines, runs, _ = schedule_lines(utc, "UTC")
    (times,) = [x for x in lines if x.what == "run times"]
    assert times.verdict == report.DIFFERS and times.changes_behaviour
    parted = dt.date.fromisoformat(times.old.split()[1])
    assert dt.date(2027, 3, 1) <= parted <= dt.date(2027, 3, 31), times  # the US clock change, March 2027


def test_an_expression_the_grammar_cannot_read_is_said_not_hidden():
    _, runs, notes = schedule_lines("cron(nonsense)", "UTC")
    assert runs == ([], []) and notes and notes[0].startswith("run times not compared")


@pytest.mark.parametrize("rule, others, tasks, blocked_by", [
    ({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}, [], ["schedule default/x (Fargate tasks)"], []),
    ({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}, ["network interface eni-1 (an EC2 instance)"], [],
     ["network interface eni-1 (an EC2 instance)"]),
    ({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}, [], ["schedule default/x (Fargate tasks)"],
     ["schedule default/x (Fargate tasks)"]),
    ({"IpProtocol": "-1"}, [], ["schedule default/x (Fargate tasks)"], ["schedule default/x (Fargate tasks)"]),
])
def test_an_open_ssh_rule_may_go_where_only_fargate_tasks_use_the_group(rule, others, tasks, blocked_by):
    sg = SecurityGroup("sg-1", "g", [rule], [], used_by_others=others, used_by_tasks=tasks)
    assert sg.blocking(rule) == blocked_by


def test_only_a_run_that_exited_0_counts_as_successful():
    fam = "weekly-models-dev-x-model"
    ok = {"group": f"family:{fam}", "lastStatus": "STOPPED", "stopCode": "EssentialContainerExited",
          "containers": [{"exitCode": 0}], "stoppedAt": "2026-11-25T19:40:00Z"}
    failed = {**ok, "containers": [{"exitCode": 1}], "stoppedAt": "2026-11-26T19:40:00Z"}
    never = {**ok, "stopCode": "TaskFailedToStart", "containers": [{}]}
    history = [{"detail": d} for d in (ok, failed, never)]
    assert steps.successful_run(history, fam) == ok
    assert steps.successful_run([{"detail": failed}, {"detail": never}], fam) is None
    assert steps.successful_run(history, "another-family") is None
