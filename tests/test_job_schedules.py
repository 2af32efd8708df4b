"""Scheduled fan-out jobs and the jobs' run history: a job with `schedule:` is submitted by EventBridge
Scheduler exactly as a model is started (same grammar, time zone, season, state), its silence check
alerts when no scheduled submission was recorded, and every submission's state changes reach the
run history. Rules are matched by moto's EventBridge and machines run by moto's Step Functions
interpreter (see tests/test_alerts.py), not by this project's code."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import pytest
import test_jobs
from conftest import ROOT
from test_alerts import check, machine, run_machine
from test_jobs import GOOD, validate, write

from generators import build
from generators.model import silence_check_input, silence_wait_seconds
from wm.config import names, resolve
from wm.config.yaml import read_template
from wm.reports.cost import runs_per_month

root = test_jobs.root  # a fixture: a copy of config/, models/ and jobs/ with jobs/sweep.yaml
SCHEDULE = {"expression": "cron(0 6 ? * MON *)", "timezone": "America/New_York"}
ACCOUNT, REGION = "123456789012", "us-east-1"


def scheduled(root, capsys, env: str = "dev", **schedule) -> tuple[dict, object]:
    """jobs/sweep.yaml with a schedule, rendered: its template and its resolved job."""
    write(root, {**GOOD, "schedule": {**SCHEDULE, **schedule}})
    code, said = validate(root, capsys)
    assert code == 0, said
    e = resolve.load(root, env, graph=False)
    (job,) = [j for j in e.jobs if j.name == "sweep"]
    return build(e.stacks[f"{env}/jobs/sweep"]).to_dict(), job


def statements(role: dict) -> list[dict]:
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_a_scheduled_job_is_submitted_by_scheduler_with_its_own_size_queue_and_name(root, capsys):
    t, job = scheduled(root, capsys)
    r = t["Resources"]
    props = r["Schedule"]["Properties"]
    assert props["ScheduleExpression"] == SCHEDULE["expression"]
    assert props["ScheduleExpressionTimezone"] == SCHEDULE["timezone"]
    assert props["Name"] == names.job_schedule("dev", "sweep")
    assert props["GroupName"] == {"Ref": "ScheduleGroupName"}
    target = props["Target"]
    # A universal target whose Input is SubmitJob's request (EventBridge Scheduler user guide).
    assert target["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:scheduler:::aws-sdk:batch:submitJob"}
    request = json.loads(target["Input"]["Fn::Sub"])
    assert request == {"JobName": job.scheduled_name, "JobQueue": names.job_queue("dev", job.capacity),
                       "JobDefinition": "${JobDefinition}", "ArrayProperties": {"Size": GOOD["array_size"]}}
    assert target["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    assert r["FailedStartsAlarm"]["Properties"]["AlarmActions"] == [{"Ref": "AlertTopicArn"}]
    assert t["Outputs"]["ScheduleName"]["Value"] == {"Ref": "Schedule"}


def test_the_schedules_input_is_a_submit_job_request_batch_accepts(root, capsys):
    """Scheduler passes Input to SubmitJob as its request, in the API's member names with a capital first
    letter (EventBridge Scheduler user guide, "Using universal targets"); checked against botocore's
    model of SubmitJob, which is AWS's."""
    import botocore.session

    t, _ = scheduled(root, capsys)
    request = json.loads(t["Resources"]["Schedule"]["Properties"]["Target"]["Input"]["Fn::Sub"])
    shape = botocore.session.get_session().get_service_model("batch").operation_model("SubmitJob").input_shape
    members = {m[:1].upper() + m[1:]: m for m in shape.members}
    assert set(request) <= set(members), set(request) - set(members)
    assert {k[:1].upper() + k[1:] for k in shape.required_members} <= set(request)
    size = shape.members["arrayProperties"]
    assert {k[:1].lower() + k[1:] for k in request["ArrayProperties"]} <= set(size.members)


def test_a_job_file_named_like_a_scheduled_submission_is_refused(root, capsys):
    write(root, GOOD, name=names.scheduled_submission("sweep"))
    code, said = validate(root, capsys)
    assert code == 2 and f"jobs/{names.scheduled_submission('sweep')}.yaml: (file name): " in said, said
    assert "names the submissions a schedule makes" in said, said


def test_a_single_child_job_is_submitted_without_array_properties(root, capsys):
    write(root, {**GOOD, "array_size": 1, "schedule": SCHEDULE})
    assert validate(root, capsys)[0] == 0
    e = resolve.load(root, "dev", graph=False)
    t = build(e.stacks["dev/jobs/sweep"]).to_dict()
    assert "ArrayProperties" not in json.loads(t["Resources"]["Schedule"]["Properties"]["Target"]["Input"]["Fn::Sub"])


def test_the_schedules_role_may_submit_only_this_job_to_its_queue(root, capsys):
    t, job = scheduled(root, capsys)
    role = t["Resources"]["SchedulerRole"]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": ["scheduler.amazonaws.com"]}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::Sub": (
        "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule-group/${ScheduleGroupName}")}
    found = statements(role)
    assert {a for s in found for a in s["Action"]} == {"batch:SubmitJob", "sqs:SendMessage"}
    assert all("*" not in a for s in found for a in s["Action"])
    (submit,) = [s for s in found if s["Action"] == ["batch:SubmitJob"]]
    resources = [r["Fn::Sub"].rsplit("}:", 1)[-1] for r in submit["Resource"]]
    assert resources == ["job/*", f"job-definition/{job.definition}", f"job-definition/{job.definition}:*",
                         f"job-queue/{names.job_queue('dev', job.capacity)}"]
    (report,) = [s for s in found if s["Action"] == ["sqs:SendMessage"]]
    assert report["Resource"] == [{"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}]
    assert role["Properties"]["Path"] == names.job_role_path("dev")


def test_the_silence_check_fires_with_the_jobs_schedule_and_counts_its_scheduled_submissions(root, capsys):
    t, job = scheduled(root, capsys)
    r = t["Resources"]
    submit, check_ = r["Schedule"]["Properties"], r["SilenceCheckSchedule"]["Properties"]
    for key in ("ScheduleExpression", "ScheduleExpressionTimezone", "State", "StartDate", "EndDate", "GroupName"):
        assert submit.get(key) == check_.get(key), key
    given = json.loads(check_["Target"]["Input"])
    assert given["group"] == job.scheduled_name and given["schedule"] == names.job_schedule("dev", "sweep")
    assert given["waitSeconds"] == silence_wait_seconds(job)
    assert given["next"] == "make jobs ENV=dev JOB=sweep"
    assert check_["Target"]["Arn"] == {"Ref": "SilenceCheckArn"}
    assert check_["Target"]["RoleArn"] == {"Ref": "SchedulerRoleArn"}


def test_schedule_state_follows_the_environment_and_the_season(root, capsys):
    _, dev = scheduled(root, capsys, "dev")
    assert dev.state == resolve.load(root, "dev", graph=False).settings.schedule_state
    _, prod = scheduled(root, capsys, "prod")
    assert prod.state == resolve.load(root, "prod", graph=False).settings.schedule_state
    t, ended = scheduled(root, capsys, "prod", start_date=dt.date(2020, 1, 1), end_date=dt.date(2020, 6, 30))
    assert ended.configured_state == prod.state and ended.state == "DISABLED"
    assert t["Resources"]["Schedule"]["Properties"]["State"] == "DISABLED"
    assert "StartDate" not in t["Resources"]["Schedule"]["Properties"]  # AWS refuses a past StartDate


def test_every_job_stack_takes_the_parameters_jobs_config_passes(root, capsys):
    """One jobs/config.yaml feeds every job stack, so a job with and one without a schedule declare the
    same parameters (CloudFormation refuses a parameter the template lacks)."""
    passed = set(re.findall(r"^  (\w+): !stack_output ", (ROOT / "jobs" / "config.yaml").read_text(), re.M))
    with_schedule, _ = scheduled(root, capsys)
    write(root, GOOD)
    assert validate(root, capsys)[0] == 0
    without = build(resolve.load(root, "dev", graph=False).stacks["dev/jobs/sweep"]).to_dict()
    assert set(with_schedule["Parameters"]) == set(without["Parameters"]) == passed
    assert "Schedule" not in without["Resources"] and "SchedulerRole" not in without["Resources"]
    # Only the job without a schedule leaves three of them unused, and says so to cfn-lint.
    assert without["Metadata"] == {"cfn-lint": {"config": {"ignore_checks": ["W2001"]}}}
    assert "Metadata" not in with_schedule


BAD_SCHEDULES = [
    ({"expression": "cron(0 6 * * MON *)"}, "schedule.expression", ""),
    ({"timezone": "Mars/Olympus"}, "schedule.timezone", ""),
    ({"start_date": "2026-13-01"}, "schedule.start_date", "is not a date"),
    ({"start_date": dt.date(2027, 6, 1), "end_date": dt.date(2027, 1, 1)}, "schedule.end_date", "is before start_date"),
    ({"every": "monday"}, "schedule.every", "unknown key"),
]


@pytest.mark.parametrize("change, field, words", BAD_SCHEDULES, ids=[f for _, f, _ in BAD_SCHEDULES])
def test_a_bad_job_schedule_is_refused_with_file_and_field(root, capsys, change, field, words):
    write(root, {**GOOD, "schedule": {**SCHEDULE, **change}})
    code, said = validate(root, capsys)
    assert code == 2, said
    assert f"jobs/sweep.yaml: sceptre_user_data.job.{field}" in said and words in said, said
    assert "Traceback" not in said and not (root / "build" / "dev").exists()


def test_a_long_job_name_is_refused_only_when_its_schedule_would_need_it(root, capsys):
    longest = names.LIMITS["silence check schedule name"] - len(names.job_silence_check_schedule("dev", ""))
    name = "a" * (longest + 1)
    write(root, GOOD, name=name)
    (root / "jobs" / "sweep.yaml").unlink()
    code, said = validate(root, capsys)
    assert code == 0, said
    write(root, {**GOOD, "schedule": SCHEDULE}, name=name)
    code, said = validate(root, capsys)
    assert code == 2 and f"jobs/{name}.yaml: (file name): the silence check schedule name" in said, said


def test_a_month_of_scheduled_submissions_is_costed(root, capsys):
    from wm import cli

    _, job = scheduled(root, capsys)
    shutil.copytree(ROOT / "prices", root / "prices")
    assert cli.main(["cost", "dev"]) == 0  # the root fixture points cli.ROOT at the copy
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.split()[:2] == ["sweep", job.state]]
    e = resolve.load(root, "dev", graph=False)
    n = runs_per_month(job, e.docs_as_of)
    assert float(line.split()[2]) == round(n, 1) > 0
    hours = n * job.array_size * job.attempts * job.timeout_minutes / 60
    assert [float(x) for x in line.split()[3:5]] == [round(hours * job.vcpus, 2), round(hours * job.memory / 1024, 2)]


# --- the silence check, with a job's input ---------------------------------------------------------

def job_silence(root, capsys, **setup) -> tuple[object, dict]:
    t, job = scheduled(root, capsys)
    given = json.loads(t["Resources"]["SilenceCheckSchedule"]["Properties"]["Target"]["Input"])
    due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    given |= {"expectedAt": due.strftime("%Y-%m-%dT%H:%M:%SZ"), "waitSeconds": 1, "configuredState": "ENABLED"}
    return job, run_machine(machine("dev", "SilenceCheckMachine"), given, **setup)


def test_a_due_submission_that_was_recorded_sends_nothing(root, capsys):
    recorded = {"Namespace": names.run_metric_namespace("dev"), "MetricName": "TaskStateChanges", "minutes_ago": 10,
                "Dimensions": [{"Name": "Group", "Value": names.scheduled_submission("sweep")}]}
    _, out = job_silence(root, capsys, metrics=[recorded])
    assert out["status"] == "SUCCEEDED" and out["messages"] == []


def test_a_due_submission_that_was_not_made_alerts_with_the_jobs_next_step(root, capsys):
    other = {"Namespace": names.run_metric_namespace("dev"), "MetricName": "TaskStateChanges", "minutes_ago": 10,
             "Dimensions": [{"Name": "Group", "Value": "sweep-20261201-100000"}]}  # make submit's, not the schedule's
    deployed = {"Name": names.job_schedule("dev", "sweep"), "GroupName": names.schedule_group("dev"),
                "State": "ENABLED"}
    _, out = job_silence(root, capsys, metrics=[other], schedules=[deployed])
    (message,) = out["messages"]
    m = json.loads(message)
    assert m["content"]["title"] == "weekly-models dev: sweep did not run when it was due"
    assert "is ENABLED" in m["content"]["description"]
    assert m["content"]["nextSteps"] == ["make jobs ENV=dev JOB=sweep"]


# --- the run history ------------------------------------------------------------------------------

def batch_event(env: str = "dev", **detail) -> dict:
    """A "Batch Job State Change" event of a submission (AWS Batch user guide, "Job state change events")."""
    prefix = names.env_prefix(env)
    return {"version": "0", "id": "e1", "detail-type": "Batch Job State Change", "source": "aws.batch",
            "account": ACCOUNT, "time": "2026-12-01T10:00:00Z", "region": REGION, "resources": [],
            "detail": {"jobName": names.scheduled_submission("sweep"), "jobId": "sub-1", "status": "RUNNABLE",
                       "jobQueue": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{prefix}-spot",
                       "jobDefinition": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{prefix}-sweep-job:1",
                       **detail}}


def test_the_job_history_rule_records_submissions_of_this_environment_not_children():
    props = build(resolve.load(ROOT, "dev", graph=False).stacks["dev/alerts"]).to_dict()["Resources"]
    pattern = props["JobHistoryRule"]["Properties"]["EventPattern"]
    events = [batch_event(), batch_event(status="SUCCEEDED", arrayProperties={"size": 3}),
              batch_event(jobId="sub-1:0", arrayProperties={"index": 0}),  # a child
              batch_event("prod")]
    assert [r["matches"] for r in check(pattern, None, events)] == [True, True, False, False]
    assert props["JobHistoryRule"]["Properties"]["Targets"][0]["Arn"] == \
        props["RunHistoryRule"]["Properties"]["Targets"][0]["Arn"]
    # The log group's policy lets both rules write (aws:SourceArn on PutLogEvents).
    policy = json.loads(props["RunHistoryLogPolicy"]["Properties"]["PolicyDocument"]["Fn::Sub"])
    (writes,) = [s for s in policy["Statement"] if s["Sid"] == "RunHistoryRuleWrites"]
    sources = writes["Condition"]["ArnLike"]["aws:SourceArn"]
    assert [s.rsplit("/", 1)[-1] for s in sources] == [names.run_history_rule("dev"), names.job_history_rule("dev")]


def test_the_job_history_metric_counts_scheduled_submissions_by_name():
    """Which events it counts is checked on the emulator (tests/test_job_history_emulator.py); here, that
    it is the metric the silence machine reads."""
    t = read_template(__import__("conftest").rendered("dev")["dev/alerts"])
    metric = t["Resources"]["JobHistoryMetric"]["Properties"]
    (transform,) = metric["MetricTransformations"]
    assert transform["Dimensions"] == [{"Key": "Group", "Value": "$.detail.jobName"}]
    silence = json.loads(machine("dev", "SilenceCheckMachine"))
    assert silence["States"]["CountRuns"]["Parameters"]["MetricName"] == transform["MetricName"]
    assert silence["States"]["CountRuns"]["Parameters"]["Namespace"] == transform["MetricNamespace"]


def test_silence_check_input_is_the_models_shape():
    """Jobs and models hand the one silence machine the same keys."""
    from dataclasses import replace

    from conftest import a_model

    from generators.model import silence_input
    from wm.config.schema import ScheduleSpec

    model = json.loads(silence_input(a_model("dev")))
    job = replace(resolve.load(ROOT, "dev", graph=False).jobs[0], schedule=ScheduleSpec())
    assert set(json.loads(silence_check_input(job, "g", "s", "n"))) == set(model)
