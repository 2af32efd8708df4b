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


NOT_A_VARIABLE = "line {} is not VARIABLE=VALUE (a name of letters, digits and _)"


@pytest.mark.parametrize("text, variables, problems", [
    ("A=1\nB=two words\n", {"A": "1", "B": "two words"}, []),
    ("# a comment\n\n  # indented comment\nA=1\n", {"A": "1"}, []),
    ("URL=https://x/?a=b=c\n", {"URL": "https://x/?a=b=c"}, []),           # only the first '=' splits
    ('Q="quoted"\n', {"Q": '"quoted"'}, []),                                 # no quote handling in ECS
    ("EMPTY=\n", {"EMPTY": ""}, []),
    ("JUSTANAME\n", {}, [NOT_A_VARIABLE.format(1)]),
    ("=value\n", {}, [NOT_A_VARIABLE.format(1)]),
    ("A=1\nMIIEvQIBADAN+gkqhkiG9w0/AQEFAASC==\n", {"A": "1"}, [NOT_A_VARIABLE.format(2)]),  # a pasted key: no name shown
    ("MY VAR=1\n", {}, [NOT_A_VARIABLE.format(1)]),
    ("A=1\nA=2\n", {"A": "2"}, ["A is set twice (line 2)"]),
])
def test_env_files_are_read_as_ecs_reads_them(text, variables, problems):
    assert handbuilt.parse_env_file(text) == (variables, problems)


@pytest.mark.parametrize("name, value, secret", [
    ("SLACK_API_TOKEN", "x", True), ("GIT_CREDENTIALS", "x", True), ("GH_TOKEN", "x", True),
    ("DB_PASSWORD", "x", True), ("MY_API_KEY", "x", True), ("GITHUB_PAT", "x", True),
    ("SLACK_WEBHOOK_URL", "x", True),
    # Secret by value, whatever the name:
    ("REPO_URL", "https://reichlabmachine:abc123@github.com/reichlab/hub", True),
    ("NOTE", "ghp_0123456789abcdefghij", True), ("NOTE", "github_pat_11AAAA", True), ("NOTE", "xoxb-1-2-3", True),
    ("HOOK", "https://hooks.slack.com/services/T0/B0/x", True), ("KEY_ID", "AKIAABCDEFGHIJKLMNOP", True),
    # Plain:
    ("CHANNEL_ID", "C02UELXDPQQ", False), ("MODEL_NAME", "UMass-AR2", False), ("MAIN_PY_ARGS", "--short_run", False),
    ("REPO_URL", "https://github.com/reichlab/FluSight-forecast-hub", False),
])
def test_names_and_values_that_hold_a_secret_are_never_shown(name, value, secret):
    assert handbuilt.looks_secret(name, value) is secret


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


class Anything:
    """A client factory whose clients are never called while actions are only listed."""

    def __call__(self, service):
        return self


SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
HTTPS = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


@pytest.mark.parametrize("group, acted, blocked", [
    (SecurityGroup("sg-other", "another team's", [SSH], []), False, None),        # not the old setup's: never touched
    (SecurityGroup("sg-old", "old", [HTTPS], [], used_by_old=["schedule x-model"]), False, None),  # not the SSH rule
    (SecurityGroup("sg-old", "old", [SSH], [], used_by_old=["schedule x-model"],
                   used_by_tasks=["schedule default/other (Fargate tasks)"]), True, False),
    (SecurityGroup("sg-old", "old", [SSH], [], used_by_old=["schedule x-model"],
                   used_by_others=["network interface eni-1 (an EC2 instance)"]), True, True),
])
def test_cleanup_revokes_only_the_old_groups_ssh_rule_and_only_where_nothing_else_needs_it(group, acted, blocked):
    setup = OldSetup("111122223333", ENV.region, security_groups=[group])
    actions = [a for a in steps.cleanup_actions(Anything(), ENV, setup, "dev") if "revoke" in a.what]
    assert bool(actions) is acted
    if acted:
        assert bool(actions[0].blocked) is blocked


def shared_fates(setup, actions=()) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in report._shared(setup, list(actions)))


def test_cleanup_never_removes_the_cluster_or_a_role_the_old_models_do_not_name():
    setup = OldSetup("111122223333", ENV.region, cluster={"clusterArn": "arn:aws:ecs:us-east-1:1:cluster/weekly-models"},
                     roles=[handbuilt.Role(handbuilt.EXECUTION_ROLE, exists=True)])
    assert steps.cleanup_actions(Anything(), ENV, setup, "dev") == []
    shared = shared_fates(setup)
    assert shared[f"ECS cluster {handbuilt.CLUSTER}"].startswith("kept: cleanup never removes it")
    assert shared[f"IAM role {handbuilt.EXECUTION_ROLE}"] == "not named by the hand-built models: left alone"


def test_what_is_not_found_is_said():
    setup = OldSetup("111122223333", ENV.region, roles=[handbuilt.Role(handbuilt.EXECUTION_ROLE, exists=False)])
    shared = shared_fates(setup)
    assert shared[f"ECS cluster {handbuilt.CLUSTER}"] == "not found"
    assert shared[f"IAM role {handbuilt.EXECUTION_ROLE}"] == "not found"


def test_both_schedules_enabled_is_a_difference_a_week_would_show_twice():
    prod = environment("prod")
    model = next(m for m in prod.models if m.state == "ENABLED")
    new = report.declared(prod, model)["Schedule"]
    o = OldModel(family=handbuilt.family(model.name), model=model.name, found=True,
                 schedule={"ScheduleExpression": new["ScheduleExpression"], "State": "ENABLED",
                           "ScheduleExpressionTimezone": new["ScheduleExpressionTimezone"], "FlexibleTimeWindow": {"Mode": "OFF"}})
    lines, _, _ = report._schedule(o, report.declared(prod, model), prod, NOW)
    (both,) = [x for x in lines if x.what == "both enabled"]
    assert both.changes_behaviour and "submit twice" in both.why


def test_the_accounts_default_execution_role_is_never_deleted_by_cleanup():
    setup = OldSetup("111122223333", ENV.region, roles=[
        handbuilt.Role(handbuilt.EXECUTION_ROLE, exists=True, used_by_old=["task definition x-model"])])
    (action,) = steps.cleanup_actions(Anything(), ENV, setup, "dev")
    assert action.blocked.startswith("the account's default ECS execution role")
    assert shared_fates(setup, [action])[f"delete the IAM role {handbuilt.EXECUTION_ROLE}"].startswith("kept for now")


def test_a_task_definition_without_a_platform_is_linux_x86_64_as_aws_says_not_a_difference():
    model = a_model("dev")
    o = OldModel(family=handbuilt.family(model.name), model=model.name, found=True,
                 task_definition={"cpu": "1024", "memory": "3072", "containerDefinitions": [{"name": "x"}]})
    (line,) = [x for x in report._machine(o, report.declared(ENV, model), model) if x.what == "platform"]
    assert line.verdict == report.SAME


class Stored(Store):
    """Parameter Store where every parameter exists already."""

    def get_parameter(self, **kwargs):
        return {"Parameter": {"Name": kwargs["Name"], "Value": "stored"}}


def test_secrets_run_again_after_cleanup_finds_them_stored_and_succeeds():
    model = a_model("dev")
    setup = OldSetup("111122223333", ENV.region, models=[old_model(model, {})])  # the .env files are gone
    store = Stored()
    lines, complete = steps.secrets(store, ENV, setup, overwrite=False, word="dev")
    assert complete and store.put == []
    assert all(any(x.startswith(f"{s}: ") and "is stored" in x for x in lines) for s in model.secrets)


@pytest.mark.parametrize("step", ["switch", "rollback", "cleanup"])
def test_dev_cannot_switch_or_clean_up_the_hand_built_setup_which_makes_the_real_runs(step, capsys):
    from wm import cli

    assert cli.main(["migrate", "dev", "--step", step]) == 2
    assert "only ENV=prod replaces it" in capsys.readouterr().err


class Unversioned(Anything):
    def get_bucket_versioning(self, **kwargs):
        return {}


def test_cleanup_removes_what_the_scan_finds_things_through_last_so_a_rerun_finds_the_rest():
    model = a_model("dev")
    o = old_model(model, {"m.env": {"A": "1"}})
    o.schedule = {"State": "DISABLED", "Description": "x"}
    o.revisions = [f"arn:aws:ecs:us-east-1:1:task-definition/{o.family}:1"]
    o.log_group = {"logGroupName": f"/ecs/{o.family}"}
    setup = OldSetup("111122223333", ENV.region, models=[o])
    whats = [a.what for a in steps.cleanup_actions(Unversioned(), ENV, setup, "dev")]
    order = [next(i for i, w in enumerate(whats) if w.startswith(start)) for start in
             ("delete s3://weekly-models/m.env", f"delete the log group /ecs/{o.family}",
              f"delete the old schedule default/{o.family}", f"deregister {o.family}:1")]
    assert order == sorted(order) and len(whats) == 4, whats
