"""AWS Batch without containers: jobs advance through their states on the clock, nothing runs.

moto's Batch runs each job in Docker, which the emulator does not have (a job would fail at
once). Here a submitted job, and each child of an array job, moves SUBMITTED -> PENDING ->
RUNNABLE -> STARTING -> RUNNING -> SUCCEEDED, one state every WM_EMULATOR_BATCH_SECONDS
(default 2), through moto's own state manager; an array job itself is PENDING while its children
run, then SUCCEEDED when every child is, FAILED when every child has stopped and one failed.

Container overrides at SubmitJob rehearse failures, child by child: WM_EMULATOR_INTERRUPTED_ATTEMPTS=n
stops its first n attempts with no exit code and Fargate Spot's reason, "Your Spot Task was
interrupted."; after those, WM_EMULATOR_EXIT_CODE (0 unless set) is each attempt's exit code.
A failed attempt goes through the job definition's retry strategy as on Batch: retried, the
job is RUNNABLE again and advances on the clock; DescribeJobs lists every attempt. Not done: a
retry strategy given at SubmitJob (moto drops it) and the attempt timeout. CancelJob and
TerminateJob stop the job and its children with the reason given, as Batch does (CancelJob only
before RUNNING); such a job is not retried.

moto also needs a ServiceRole for a compute environment, where AWS uses Batch's
service-linked role when none is given (AWS Batch user guide, "Using service-linked roles"):
that role is created in moto's IAM and named, as AWS would.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from moto.batch import models as batch_models
from moto.iam.models import iam_backends
from moto.moto_api import state_manager

SERVICE_LINKED_ROLE = "AWSServiceRoleForBatch"
_DONE = ("SUCCEEDED", "FAILED")
# The stopped reason of a task Fargate Spot takes back (ECS developer guide, "Fargate Spot termination notices").
SPOT_INTERRUPTED = "Your Spot Task was interrupted."
EXITED = "Essential container in task exited"  # ECS's stopped reason when the container stops by itself


def _seconds() -> float:
    return float(os.environ.get("WM_EMULATOR_BATCH_SECONDS", "2"))


def _override(job, name: str) -> int | None:
    for e in (job.container_overrides or {}).get("environment", []):
        if e.get("name") == name:
            return int(e["value"])
    return None


def _matches(pattern: str | None, value) -> bool:
    """A pattern that may end in `*` (then only the start must match exactly); an absent field
    matches nothing: there is no exit code or reason to compare it with."""
    if pattern is None:
        return True
    if value is None:
        return False
    value = str(value)
    return value.startswith(pattern[:-1]) if pattern.endswith("*") else value == pattern


def _retries(job, status_reason: str | None, reason: str | None, exit_code: int | None) -> bool:
    """Whether Batch tries a failed attempt again under the job definition's retry strategy."""
    strategy = job.job_definition.retry_strategy or {}
    if len(job.attempts) >= int(strategy.get("attempts") or 1):
        return False
    # First condition with every given field matching decides, none: retry (Batch API reference, EvaluateOnExit).
    for c in strategy.get("evaluateOnExit") or []:
        if (_matches(c.get("onStatusReason"), status_reason) and _matches(c.get("onReason"), reason)
                and _matches(c.get("onExitCode"), exit_code)):
            return c["action"].upper() == "RETRY"
    return True


def _tick(job) -> None:
    """A RUNNING attempt ends after one more step, retried or not; an array job follows its children."""
    if job.job_stopped:
        return
    if job._child_jobs:
        children = job._child_jobs
        for child in children:
            _tick(child)
        states = [c.status for c in children]
        if not all(s in _DONE for s in states):
            # An array job itself is only SUBMITTED, PENDING, then SUCCEEDED or FAILED (AWS Batch user
            # guide, "Array jobs"); its children carry the other states.
            job.status = "PENDING"
            return
        if all(s in _DONE for s in states):
            job.job_stopped_at = datetime.now()
            job.job_stopped = True
            job.status = "SUCCEEDED" if all(s == "SUCCEEDED" for s in states) else "FAILED"
            if job.status == "FAILED" and job.job_stopped_reason is None:
                job.job_stopped_reason = "Array job: a child failed"
        return
    status = job.status  # moto's state manager advances it on the clock
    if status != "RUNNING":
        return
    if job.latest_attempt is None:
        job.job_started_at = datetime.now()
        job._start_attempt()
    if datetime.now() <= job.job_started_at + timedelta(seconds=_seconds()):
        return
    attempt = job.latest_attempt
    if len(job.attempts) <= (_override(job, "WM_EMULATOR_INTERRUPTED_ATTEMPTS") or 0):
        code, status_reason = None, SPOT_INTERRUPTED
    else:
        code, status_reason = _override(job, "WM_EMULATOR_EXIT_CODE") or 0, EXITED
        attempt["container"]["exitCode"] = code
    attempt["statusReason"] = status_reason
    if code != 0 and _retries(job, status_reason, attempt["container"].get("reason"), code):
        # Back to RUNNABLE for the next attempt (AWS Batch user guide, "Automated job retries").
        attempt["stoppedAt"] = batch_models.datetime2int_milliseconds(datetime.now())
        job.latest_attempt = None
        job.status, job._time_progressed = "RUNNABLE", datetime.now()
        return
    job.exit_code = code
    job._mark_stopped(success=code == 0)
    if code != 0:
        job.job_stopped_reason = status_reason


def _stop(job, reason: str) -> None:
    for child in job._child_jobs or []:
        _stop(child, reason)
    if not job.job_stopped:
        job.job_stopped_reason = reason
        job._mark_stopped(success=False)


def install() -> list[str]:
    state_manager.set_transition("batch::job", {"progression": "time", "seconds": _seconds()})
    Job = batch_models.Job

    Job.start = lambda self: None  # no thread, no Docker: the clock moves the job

    describe_short, describe = Job.describe_short, Job.describe

    def ticking_short(self):
        _tick(self)
        return describe_short(self)

    def ticking(self):
        _tick(self)
        return describe(self)

    Job.describe_short, Job.describe = ticking_short, ticking

    def terminate(self, reason: str) -> None:
        _stop(self, reason)

    Job.terminate = terminate

    cancel = batch_models.BatchBackend.cancel_job

    def cancel_job(self, job_id: str, reason: str) -> None:
        job = self.get_job_by_id(job_id)
        if job is not None:
            _tick(job)
        cancel(self, job_id, reason)

    batch_models.BatchBackend.cancel_job = cancel_job

    create = batch_models.ComputeEnvironment.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json.setdefault("Properties", {})
        if not props.get("ServiceRole"):
            props["ServiceRole"] = _service_linked_role(account_id)
        return create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    batch_models.ComputeEnvironment.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    return ["AWS Batch jobs (advanced on the clock, no containers)"]


def _service_linked_role(account_id: str) -> str:
    iam = iam_backends[account_id]["global"]
    try:
        return iam.get_role(SERVICE_LINKED_ROLE).arn
    except Exception:
        trust = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
                 '"batch.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')
        return iam.create_role(SERVICE_LINKED_ROLE, trust, "/aws-service-role/batch.amazonaws.com/", None,
                               "Batch's service-linked role", [], None).arn
