"""A scheduled job and the jobs' run history on the emulator: `make deploy` of a copy whose example job
carries a schedule creates the job's schedule and silence check; Batch's events (sent by the test,
as the emulator's Batch sends none) reach the run history through the alerts stack's rule; the
silence check counts the scheduled submission there; `make jobs` shows the next submission and a
submission Batch has forgotten. The emulator's schedules never fire, so each is started as
Scheduler would start it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import environment
from test_emulator import receive, start_silence_check
from test_readme import said, shell, working_copy

from wm.config import names

pytestmark = pytest.mark.emulator

JOB = environment("dev").jobs[0]
SCHEDULE = "cron(0 6 ? * MON *)"
REGION, ACCOUNT = "us-east-1", "123456789012"


@pytest.fixture(scope="module")
def copy(emulator, tmp_path_factory):
    """The repository with a schedule on the example job, deployed to the module's emulator."""
    root = working_copy(tmp_path_factory.mktemp("scheduled") / "repo")
    path = root / "jobs" / f"{JOB.name}.yaml"
    path.write_text(path.read_text() + f"    schedule:\n      expression: {SCHEDULE}\n"
                    "      timezone: America/New_York\n")
    home = tmp_path_factory.mktemp("home")
    result = shell("make deploy", root, home, port=emulator, timeout=900)
    assert result.returncode == 0, said(result)[-4000:]
    return root, home


@pytest.fixture(scope="module")
def inbox(copy, aws):
    sqs = aws("sqs")
    queue = sqs.create_queue(QueueName="job-history-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("sns").subscribe(TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{names.alert_topic('dev')}", Protocol="sqs",
                         Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return queue


def send(aws, **detail) -> None:
    """Batch's "Batch Job State Change" event of a submission to dev's Spot queue."""
    prefix = names.env_prefix("dev")
    detail = {"jobQueue": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{prefix}-spot",
              "jobDefinition": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{JOB.definition}:1", **detail}
    answer = aws("events").put_events(Entries=[{"Source": "aws.batch", "DetailType": "Batch Job State Change",
                                                "Detail": json.dumps(detail)}])
    assert answer["FailedEntryCount"] == 0


def history(aws) -> list[dict]:
    events = aws("logs").filter_log_events(logGroupName=names.run_history_log_group("dev"))["events"]
    return [json.loads(e["message"]) for e in events]


def silence_check(aws, due: dt.datetime) -> dict:
    return start_silence_check(aws, names.job_silence_check_schedule("dev", JOB.name), due)


def test_deploy_creates_the_jobs_schedule_calling_submit_job(copy, aws):
    s = aws("scheduler").get_schedule(Name=names.job_schedule("dev", JOB.name), GroupName=names.schedule_group("dev"))
    assert s["ScheduleExpression"] == SCHEDULE and s["State"] == environment("dev").settings.schedule_state
    assert s["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:batch:submitJob"
    request = json.loads(s["Target"]["Input"])
    assert request["JobName"] == JOB.scheduled_name and request["JobQueue"] == JOB.queue
    assert request["JobDefinition"].startswith(f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{JOB.definition}:")
    assert request["ArrayProperties"] == {"Size": JOB.array_size}
    # What the schedule would submit, Batch accepts (the emulator's Batch, from the same request).
    batch = aws("batch")
    answer = batch.submit_job(jobName=request["JobName"], jobQueue=request["JobQueue"],
                              jobDefinition=request["JobDefinition"],
                              arrayProperties={"size": request["ArrayProperties"]["Size"]})
    assert answer["jobName"] == JOB.scheduled_name
    role = s["Target"]["RoleArn"].rsplit("/", 1)[-1]
    assert role == names.job_scheduler_role_name("dev", JOB.name)


def test_a_due_submission_never_made_alerts_in_words(copy, aws, inbox):
    sqs = aws("sqs")
    receive(sqs, inbox, 10, seconds=2)
    due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)  # before any scheduled submission of this module
    send(aws, jobName=f"{JOB.name}-20261201-100000", jobId="manual-1", status="RUNNABLE")  # make submit's
    assert silence_check(aws, due)["status"] == "SUCCEEDED"
    (alert,) = receive(sqs, inbox, 1)
    assert alert["content"]["title"] == f"weekly-models dev: {JOB.name} did not run when it was due"
    assert alert["content"]["nextSteps"] == [f"make jobs ENV=dev JOB={JOB.name}"]
    # dev's schedules are DISABLED as configured, so on AWS its check never fires; started by hand it says so.
    assert "is DISABLED, as the configuration says" in alert["content"]["description"]


def test_submissions_reach_the_run_history_and_their_children_do_not(copy, aws):
    manual = f"{JOB.name}-20261201-110000"  # make submit's: the silence check's metric leaves it out
    send(aws, jobName=manual, jobId="hist-1", status="PENDING", arrayProperties={"size": 2})
    send(aws, jobName=manual, jobId="hist-1:0", status="SUCCEEDED", arrayProperties={"index": 0})
    recorded = [e["detail"]["jobId"] for e in history(aws) if e.get("source") == "aws.batch"]
    assert "hist-1" in recorded and "hist-1:0" not in recorded


def counted(aws, group: str, since: dt.datetime) -> float:
    """What the run-history metric (alerts stack, JobHistoryMetric) counted for `group` since `since`."""
    answer = aws("cloudwatch").get_metric_statistics(
        Namespace=names.run_metric_namespace("dev"), MetricName="TaskStateChanges",
        Dimensions=[{"Name": "Group", "Value": group}], StartTime=since,
        EndTime=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1), Period=300, Statistics=["Sum"])
    return sum(p["Sum"] for p in answer["Datapoints"])


def test_the_metric_counts_a_scheduled_submission_entering_its_queue_only(copy, aws):
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    before = counted(aws, JOB.scheduled_name, since)
    send(aws, jobName=JOB.scheduled_name, jobId="old-1", status="SUCCEEDED", arrayProperties={"size": 2})
    send(aws, jobName=JOB.scheduled_name, jobId="old-2", status="RUNNING")
    assert counted(aws, JOB.scheduled_name, since) == before  # an older submission's later states
    send(aws, jobName=f"{JOB.name}-20261201-120000", jobId="manual-2", status="RUNNABLE")
    assert counted(aws, f"{JOB.name}-20261201-120000", since) == 0  # make submit's
    send(aws, jobName=JOB.scheduled_name, jobId="new-1", status="PENDING", arrayProperties={"size": 2})
    assert counted(aws, JOB.scheduled_name, since) == before + 1


def test_the_silence_check_counts_the_scheduled_submission(copy, aws, inbox):
    sqs = aws("sqs")
    receive(sqs, inbox, 10, seconds=2)  # whatever is left over
    due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    send(aws, jobName=JOB.scheduled_name, jobId="due-1", status="RUNNABLE")
    assert silence_check(aws, due)["status"] == "SUCCEEDED"
    assert receive(sqs, inbox, 1, seconds=3) == []  # it was submitted: nothing to say


def test_make_jobs_shows_the_next_submission_and_what_only_the_run_history_remembers(copy, aws, emulator):
    root, home = copy
    send(aws, jobName=f"{JOB.name}-20261101-090000", jobId="forgotten-1", status="SUCCEEDED",
         createdAt=1761987600000, startedAt=1761987660000, stoppedAt=1761988200000,
         arrayProperties={"size": 3, "statusSummary": {"SUCCEEDED": 3}})
    result = shell(f"make jobs JOB={JOB.name}", root, home, port=emulator)
    assert result.returncode == 0, said(result)
    out = result.stdout
    assert f"{JOB.name} is submitted " in out and f"as {JOB.scheduled_name}; next" in out, out
    assert "none: DISABLED by configuration (make submit starts it by hand)" in out, out
    (row,) = [line for line in out.splitlines() if line.startswith("forgotten-1")]
    assert "SUCCEEDED" in row and "3/3" in row and "(run history: Batch has forgotten it)" in row, row
