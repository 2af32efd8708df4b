"""AWS Batch without containers: jobs advance through their states on the clock, nothing runs.

moto's Batch runs each job in Docker, which the emulator does not have (a job would fail at
once). Here a submitted job, and each child of an array job, moves SUBMITTED -> PENDING ->
RUNNABLE -> STARTING -> RUNNING -> SUCCEEDED, one state every WM_EMULATOR_BATCH_SECONDS
(default 2), through moto's own state manager; an array job itself is PENDING while its children
run, then SUCCEEDED when every child is, FAILED when every child has stopped and one failed. A container override setting
WM_EMULATOR_EXIT_CODE makes its children stop with that code (FAILED unless 0), so a failure
can be rehearsed. CancelJob and TerminateJob stop the job and its children with the reason
given, as Batch does (CancelJob only before RUNNING). The job definition's retry strategy is
not evaluated: a failed child is not retried here.

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


def _seconds() -> float:
    return float(os.environ.get("WM_EMULATOR_BATCH_SECONDS", "2"))


def _exit_code(job) -> int | None:
    for e in (job.container_overrides or {}).get("environment", []):
        if e.get("name") == "WM_EMULATOR_EXIT_CODE":
            return int(e["value"])
    return None


def _tick(job) -> None:
    """A RUNNING job stops after one more step; an array job follows its children."""
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
    if status == "RUNNING":
        if job.latest_attempt is None:
            job.job_started_at = datetime.now()
            job._start_attempt()
        if datetime.now() > job.job_started_at + timedelta(seconds=_seconds()):
            code = _exit_code(job)
            job.exit_code = 0 if code is None else code
            if job.latest_attempt is not None:
                job.latest_attempt["container"]["exitCode"] = job.exit_code
            job._mark_stopped(success=job.exit_code == 0)
            if job.exit_code:
                job.job_stopped_reason = "Essential container in task exited"


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
