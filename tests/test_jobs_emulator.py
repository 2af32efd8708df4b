"""Fan-out jobs on the emulator: make deploy creates the batch and job stacks, make submit, make jobs
(the submission advancing, children counted), make cancel, a failing child, retries as the job
definition's retry strategy decides them, make results. The emulator runs nothing
(emulator/wm_emulator/batch.py): children move through their states on the clock, and the tests
say so rather than wait for outputs that no container writes."""

from __future__ import annotations

import json
import re
import time

import pytest
from conftest import environment, make

from wm.config import names

pytestmark = pytest.mark.emulator

JOB = environment("dev").jobs[0]


@pytest.fixture(scope="module")
def deployed(emulator):
    result = make("deploy", port=emulator, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return emulator


def submit(port, *extra) -> str:
    result = make("submit", f"JOB={JOB.name}", *extra, port=port)
    assert result.returncode == 0, result.stdout + result.stderr
    (sub,) = re.findall(r"^submitted \S+: (\S+) ", result.stdout, re.M)
    return sub


def row(port, sub: str) -> str:
    result = make("jobs", port=port)
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith(sub)]
    return line


def test_deploy_creates_the_batch_stack_and_every_jobs_definition(deployed, aws):
    queues = {q["jobQueueName"] for q in aws("batch").describe_job_queues()["jobQueues"]}
    assert {names.job_queue("dev", "SPOT"), names.job_queue("dev", "ON_DEMAND")} <= queues
    definitions = {d["jobDefinitionName"] for d in aws("batch").describe_job_definitions(status="ACTIVE")["jobDefinitions"]}
    assert {j.definition for j in environment("dev").jobs} <= definitions


def test_submit_prints_the_id_and_the_most_it_can_cost(deployed):
    result = make("submit", f"JOB={JOB.name}", "SIZE=3", port=deployed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^submitted \S+: [0-9a-f-]{36} \(3 children", result.stdout, re.M)
    assert re.search(r"^at most \$\d+\.\d\d: ", result.stdout, re.M)
    assert "the emulator runs nothing" in result.stdout


def test_a_submission_advances_to_succeeded_with_every_child_counted(deployed):
    sub = submit(deployed, "SIZE=3")
    seen, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline:
        status = row(deployed, sub).split()[1]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "SUCCEEDED":
            break
        time.sleep(1)
    # An array job is PENDING while its children move through their states (AWS Batch user guide).
    assert seen[-1] == "SUCCEEDED" and "PENDING" in seen, seen
    assert "3/3" in row(deployed, sub) and "[####################]" in row(deployed, sub)


def test_cancel_stops_a_submission_and_its_children(deployed, aws):
    sub = submit(deployed, "SIZE=2")
    result = make("cancel", f"ID={sub}", port=deployed)
    assert result.returncode == 0 and f"cancelled {sub}" in result.stdout, result.stdout + result.stderr
    children = aws("batch").describe_jobs(jobs=[f"{sub}:0", f"{sub}:1"])["jobs"]
    assert {c["status"] for c in children} == {"FAILED"}
    assert {c["statusReason"] for c in children} == {"cancelled with make cancel"}
    again = make("cancel", f"ID={sub}", port=deployed)
    assert again.returncode == 0 and "already stopped" in again.stdout


def test_failed_children_are_listed_with_their_exit_code_and_log(deployed, aws):
    answer = aws("batch").submit_job(
        jobName=f"{JOB.name}-failing", jobQueue=names.job_queue("dev", JOB.capacity), jobDefinition=JOB.definition,
        arrayProperties={"size": 2},
        containerOverrides={"environment": [{"name": "WM_EMULATOR_EXIT_CODE", "value": "3"}]})
    sub, deadline = answer["jobId"], time.monotonic() + 60
    while time.monotonic() < deadline and row(deployed, sub).split()[1] != "FAILED":
        time.sleep(1)
    assert row(deployed, sub).split()[1] == "FAILED"
    listed = make("jobs", port=deployed)
    assert f"failures of {sub}: make jobs ID={sub} ENV=local" in listed.stdout
    detail = make("jobs", f"ID={sub}", port=deployed)
    assert detail.returncode == 0, detail.stderr
    assert f"{sub}:0: exit 3: Essential container in task exited" in detail.stdout
    assert f"{sub}:1: exit 3" in detail.stdout


SPOT_INTERRUPTED = "Your Spot Task was interrupted."  # Fargate Spot's stopped reason (ECS developer guide)


def rehearse(aws, suffix: str, size: int, **variables) -> tuple[str, list[dict]]:
    """A submission whose children follow the emulator's overrides; once it stops: its ID and its children,
    as DescribeJobs gives them, each with the states it was seen in (every poll, well within a state's 2 s)."""
    batch = aws("batch")
    sub = batch.submit_job(
        jobName=f"{JOB.name}-{suffix}", jobQueue=names.job_queue("dev", JOB.capacity), jobDefinition=JOB.definition,
        arrayProperties={"size": size},
        containerOverrides={"environment": [{"name": k, "value": str(v)} for k, v in variables.items()]})["jobId"]
    ids, seen = [f"{sub}:{i}" for i in range(size)], {}
    deadline = time.monotonic() + 60 + 30 * JOB.attempts
    while time.monotonic() < deadline:
        children = batch.describe_jobs(jobs=ids)["jobs"]
        for c in children:
            states = seen.setdefault(c["jobId"], [])
            if not states or states[-1] != c["status"]:
                states.append(c["status"])
        if batch.describe_jobs(jobs=[sub])["jobs"][0]["status"] in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(0.5)
    children = sorted(batch.describe_jobs(jobs=ids)["jobs"], key=lambda c: c["jobId"])
    return sub, [{**c, "seen": seen.get(c["jobId"], [])} for c in children]


def test_a_child_reclaimed_once_is_tried_again_and_succeeds(deployed, aws):
    assert JOB.attempts > 1, f"{JOB.name} has attempts: {JOB.attempts}, so nothing would be retried"
    sub, children = rehearse(aws, "reclaimed-once", 2, WM_EMULATOR_INTERRUPTED_ATTEMPTS=1)
    assert aws("batch").describe_jobs(jobs=[sub])["jobs"][0]["status"] == "SUCCEEDED"
    for c in children:
        assert c["status"] == "SUCCEEDED" and len(c["attempts"]) == 2, c
        first, second = c["attempts"]
        assert first["statusReason"] == SPOT_INTERRUPTED and "exitCode" not in first["container"], first
        assert second["container"]["exitCode"] == 0, second
        assert first["startedAt"] <= first["stoppedAt"] <= second["startedAt"] <= second["stoppedAt"], c["attempts"]
        # Back to RUNNABLE after the reclaimed attempt, then through its states again on the clock.
        after = c["seen"][c["seen"].index("RUNNING") + 1:]
        assert after == ["RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"], c["seen"]


def test_a_child_that_exits_non_zero_is_not_retried(deployed, aws):
    assert JOB.attempts > 1, f"{JOB.name} has attempts: {JOB.attempts}, so a retry could not show"
    sub, children = rehearse(aws, "exits-4", 2, WM_EMULATOR_EXIT_CODE=4)
    assert aws("batch").describe_jobs(jobs=[sub])["jobs"][0]["status"] == "FAILED"
    for c in children:
        assert c["status"] == "FAILED" and len(c["attempts"]) == 1, c
        assert c["attempts"][0]["container"]["exitCode"] == 4 and c["statusReason"] == "Essential container in task exited"
    detail = make("jobs", f"ID={sub}", port=deployed)
    assert f"{sub}:0: exit 4: Essential container in task exited (1 attempt)" in detail.stdout, detail.stdout


def test_a_child_reclaimed_every_time_fails_after_the_jobs_attempts(deployed, aws):
    sub, children = rehearse(aws, "reclaimed-always", 2, WM_EMULATOR_INTERRUPTED_ATTEMPTS=JOB.attempts + 1)
    assert aws("batch").describe_jobs(jobs=[sub])["jobs"][0]["status"] == "FAILED"
    for c in children:
        assert c["status"] == "FAILED" and len(c["attempts"]) == JOB.attempts, c
        assert {a["statusReason"] for a in c["attempts"]} == {SPOT_INTERRUPTED} and c["statusReason"] == SPOT_INTERRUPTED
        assert not any("exitCode" in a["container"] for a in c["attempts"]), c["attempts"]
    detail = make("jobs", f"ID={sub}", port=deployed)
    tried = f"{JOB.attempts} attempt{'s' if JOB.attempts != 1 else ''}"
    assert f"{sub}:1: no exit code: {SPOT_INTERRUPTED} ({tried})" in detail.stdout, detail.stdout


def test_results_lists_what_is_under_the_submissions_prefix(deployed, aws, tmp_path):
    sub = submit(deployed)
    bucket = f"{names.env_prefix('dev')}-results-{aws('sts').get_caller_identity()['Account']}"
    key = f"{names.slug(JOB.name)}/{sub}/0.txt"  # as a child of the example writes it on AWS
    aws("s3").put_object(Bucket=bucket, Key=key, Body=b"0 3.14\n")
    listed = make("results", f"ID={sub}", f"GET={tmp_path}", port=deployed)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert key in listed.stdout and (tmp_path / key).read_text() == "0 3.14\n"
    assert "1 output under" in listed.stdout


def test_a_failed_submission_alerts_in_words_and_a_failed_child_alone_does_not(deployed, aws):
    """The event Batch sends (AWS Batch user guide, "Job state change events"), through the emulator's
    EventBridge (the job stack's rule), the alert state machine, SNS and a subscribed queue."""
    from test_emulator import receive

    sqs, sns = aws("sqs"), aws("sns")
    queue = sqs.create_queue(QueueName="job-alert-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = f"arn:aws:sns:us-east-1:123456789012:{names.alert_topic('dev')}"
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    definition = f"arn:aws:batch:us-east-1:123456789012:job-definition/{JOB.definition}:1"

    def send(detail: dict) -> None:
        answer = aws("events").put_events(Entries=[{"Source": "aws.batch", "DetailType": "Batch Job State Change",
                                                   "Detail": json.dumps({"jobDefinition": definition, **detail})}])
        assert answer["FailedEntryCount"] == 0

    send({"jobName": "x", "jobId": "child-1:0", "status": "FAILED", "arrayProperties": {"index": 0}})
    send({"jobName": "x", "jobId": "sub-1", "status": "FAILED", "statusReason": 'Array job: a "child" failed',
          "arrayProperties": {"size": 3}})
    (message,) = receive(sqs, queue, 1)
    assert message["version"] == "1.0" and message["source"] == "custom"
    assert message["content"]["title"] == f"weekly-models dev: a submission of {JOB.name} failed"
    assert message["content"]["description"].startswith('Submission sub-1 failed: Array job: a "child" failed.')
    assert message["content"]["nextSteps"] == [f"make jobs ENV=dev JOB={JOB.name}"]
