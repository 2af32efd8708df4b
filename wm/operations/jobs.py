"""Fan-out jobs on AWS Batch: `make submit`, `make jobs`, `make cancel`, `make results`.

Everything here reads or acts on what is deployed (the job queues and definitions of the batch
and job stacks, the results bucket), so it tells what the account does. `aws` is a function
from a service name to a boto3 client.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from botocore.exceptions import ClientError

from wm.config import names
from wm.config.model import Environment, Job
from wm.reports.cost import child_cost

DONE = ("SUCCEEDED", "FAILED")
STATES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")


class JobError(Exception):
    """An expected problem (not deployed, no such submission): its message is for the user."""


PULL_MINUTES = 2  # an attempt's timeout counts from RUNNING; Fargate bills from the image pull before it


def most_cost(prices: dict, e: Environment, job: Job, size: int) -> float:
    """What one submission can cost at most: every child running every attempt to its timeout, plus
    the image pull before each, at on-demand prices of its platform (Spot is cheaper; a child that
    finishes early costs less)."""
    minutes = job.timeout_minutes + PULL_MINUTES
    # On demand: the most, since Spot falls back to on-demand behind it in the queue.
    return size * job.attempts * child_cost(prices, job, e.settings.batch_instance_family, False, minutes)


def submit(aws, e: Environment, job: Job, size: int | None, now: dt.datetime) -> dict:
    """Submit one job (an array of `size` children, default the job's own); returns its IDs."""
    size = size or job.array_size
    if job.parameter_sets and size != len(job.parameter_sets):
        raise JobError(f"{job.name} has {len(job.parameter_sets)} parameter sets, one child each: SIZE={size} "
                       "would not match them; leave SIZE out")
    request = dict(jobName=f"{job.name}-{now:%Y%m%d-%H%M%S}", jobQueue=job.queue,
                   jobDefinition=job.definition, propagateTags=True,
                   tags={"Project": names.PROJECT, "Environment": e.name, "Job": job.name})
    if size > 1:
        request["arrayProperties"] = {"size": size}
    try:
        answer = aws("batch").submit_job(**request)
    except ClientError as err:
        if err.response["Error"]["Code"] == "ClientException":
            raise JobError(f"Batch refused {job.name}: {err.response['Error']['Message']} (deployed? make deploy "
                           f"ENV=...)") from None
        raise
    return {"id": answer["jobId"], "name": answer["jobName"], "size": size}


def _describe(aws, ids: list[str]) -> list[dict]:
    out = []
    for i in range(0, len(ids), 100):  # DescribeJobs takes up to 100 IDs
        out += aws("batch").describe_jobs(jobs=ids[i:i + 100])["jobs"]
    return out


def submissions(aws, e: Environment, job: Job | None = None, now: dt.datetime | None = None) -> list[dict]:
    """Recent submissions of the environment's jobs (of one job), newest first, children left out: those
    Batch lists, then older ones from the run history."""
    now = now or dt.datetime.now(dt.UTC)
    batch, ids = aws("batch"), set()
    prefixes = [p for j in ([job] if job else e.jobs) for p in (f"{j.name}-*", j.scheduled_name)]
    # Every queue of the platforms in use (a job's capacity may have changed since it was submitted);
    # the EC2 queues exist only while a job has platform: EC2.
    platforms = sorted({j.platform for j in ([job] if job else e.jobs)} | {"FARGATE"})
    for queue in [names.job_queue(e.name, c, p) for p in platforms for c in ("SPOT", "ON_DEMAND")]:
        for prefix in prefixes:
            kwargs = {"jobQueue": queue, "filters": [{"name": "JOB_NAME", "values": [prefix]}]}
            while True:
                try:
                    page = batch.list_jobs(**kwargs)
                except ClientError as err:
                    if err.response["Error"]["Code"] == "ClientException":
                        raise JobError(f"no job queues in {e.name}: deploy first (make deploy ENV=...)") from None
                    raise
                ids |= {j["jobId"] for j in page.get("jobSummaryList", []) if ":" not in j["jobId"]}
                if not page.get("nextToken"):
                    break
                kwargs["nextToken"] = page["nextToken"]
    # JOB_NAME filters by prefix ("sim-*" would also find "sim-big-..."): keep each job's own.
    definitions = {job.definition} if job else {j.definition for j in e.jobs}
    found = [d for d in _describe(aws, sorted(ids)) if _definition(d) in definitions]
    known = {d["jobId"] for d in found}
    found += [d for d in history(aws, e, now) if _definition(d) in definitions and d["jobId"] not in known]
    return sorted(found, key=lambda d: d.get("createdAt", 0), reverse=True)


def _definition(d: dict) -> str:
    return d["jobDefinition"].rsplit("/", 1)[-1].rsplit(":", 1)[0]


HISTORY_DAYS = 90  # how far back `make jobs` reads the run history


def history(aws, e: Environment, now: dt.datetime) -> list[dict]:
    """Each submission's latest state in the run history (alerts stack, JobHistoryRule) of the last
    HISTORY_DAYS days, for those Batch no longer lists: it keeps a finished job for at least 7 days
    only (AWS Batch user guide, "Job states"). Marked `fromHistory`."""
    from wm.operations.runs import history_events

    latest: dict[str, tuple] = {}
    since = int((now - dt.timedelta(days=HISTORY_DAYS)).timestamp() * 1000)
    for event in history_events(aws, e.name, filterPattern='{ $.source = "aws.batch" }', startTime=since):
        record = json.loads(event["message"])
        detail = record.get("detail") or {}
        # Checked again: the pattern narrows what AWS returns, but an endpoint that ignores JSON patterns
        # (the emulator's moto) returns every event.
        if record.get("source") == "aws.batch" and "jobId" in detail and "jobDefinition" in detail:
            # Latest by time; within the same millisecond, the later state.
            order = STATES.index(detail["status"]) if detail.get("status") in STATES else -1
            latest[detail["jobId"]] = max(latest.get(detail["jobId"], ((0, -1), {})),
                                          ((event["timestamp"], order), detail), key=lambda x: x[0])
    return [{**d, "fromHistory": True} for _, d in latest.values()]


def counts(d: dict) -> dict[str, int]:
    """Children per state (a single job counts as one child)."""
    summary = (d.get("arrayProperties") or {}).get("statusSummary")
    if summary:
        return {s: summary.get(s, 0) for s in STATES}
    return {s: int(d["status"] == s) for s in STATES}


def bar(c: dict[str, int], width: int = 20) -> str:
    total = sum(c.values()) or 1
    done = round(width * (c["SUCCEEDED"] + c["FAILED"]) / total)
    return "[" + "#" * done + "." * (width - done) + "]"


def _elapsed(d: dict, now: dt.datetime) -> str:
    start = d.get("startedAt") or d.get("createdAt")
    if not start:
        return "-"
    end = d.get("stoppedAt") or now.timestamp() * 1000
    minutes = max(0, (end - start) / 60000)
    return f"{minutes:.0f} min" if minutes >= 1 else f"{minutes * 60:.0f} s"


def table(rows: list[dict], now: dt.datetime, word: str) -> str:
    if not rows:
        return "no submissions yet (make submit JOB=<name>)"
    lines = [f"{'SUBMISSION':36}  {'STATUS':9}  {'PROGRESS':22}  {'DONE':>9}  {'FAILED':>6}  {'ELAPSED':>8}  NAME"]
    for d in rows:
        c = counts(d)
        total = sum(c.values())
        lines.append(f"{d['jobId']:36}  {d['status']:9}  {bar(c):22}  {c['SUCCEEDED'] + c['FAILED']:>4}/{total:<4}  "
                     f"{c['FAILED']:>6}  {_elapsed(d, now):>8}  {d['jobName']}"
                     + ("  (run history: Batch has forgotten it)" if d.get("fromHistory") else ""))
    failed = [d["jobId"] for d in rows if counts(d)["FAILED"]]
    if failed:
        lines.append("")
        lines += [f"failures of {i}: make jobs ID={i} ENV={word}" for i in failed]
    return "\n".join(lines)


def schedule_lines(aws, e: Environment, jobs: list[Job], now: dt.datetime) -> list[str]:
    """One line per scheduled job: its schedule in words and, from the deployed schedule, its next submission."""
    import zoneinfo

    from wm.config.schedules import describe
    from wm.operations.runs import next_run_words

    lines, tz = [], zoneinfo.ZoneInfo(e.lab_timezone)
    for j in (j for j in jobs if j.schedule):
        try:
            deployed = aws("scheduler").get_schedule(Name=names.job_schedule(e.name, j.name),
                                                     GroupName=names.schedule_group(e.name))
            when = next_run_words(deployed, j, now, tz, by_hand="make submit")
        except ClientError as err:
            if err.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            when = "none: its schedule is not deployed (make deploy)"
        lines.append(f"{j.name} is submitted {describe(j.schedule.expression, j.schedule.timezone)} as "
                     f"{j.scheduled_name}; next ({e.lab_timezone}): {when}")
    return lines


def one(aws, e: Environment, submission: str) -> tuple[dict, list[dict]]:
    """A submission and its failed children (or itself, when it is a single failed job)."""
    found = _describe(aws, [submission])
    if not found:
        raise JobError(f"no submission {submission} in {e.name} (make jobs lists them)")
    d = found[0]
    if not d.get("arrayProperties", {}).get("size"):
        return d, [d] if d["status"] == "FAILED" else []
    batch, ids, kwargs = aws("batch"), [], {"arrayJobId": submission, "jobStatus": "FAILED"}
    while True:
        page = batch.list_jobs(**kwargs)
        ids += [j["jobId"] for j in page.get("jobSummaryList", [])]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return d, sorted(_describe(aws, ids), key=lambda c: int(c["jobId"].rsplit(":", 1)[-1]))


def failures(e: Environment, children: list[dict]) -> list[str]:
    lines = []
    for c in children:
        attempts = c.get("attempts") or []
        attempt = (attempts or [{}])[-1]  # the last attempt decided
        code = attempt.get("container", {}).get("exitCode")
        stream = attempt.get("container", {}).get("logStreamName") or c.get("container", {}).get("logStreamName")
        tried = f" ({len(attempts)} attempt{'s' if len(attempts) != 1 else ''})" if attempts else ""
        lines.append(f"{c['jobId']}: {'exit ' + str(code) if code is not None else 'no exit code'}: "
                     f"{c.get('statusReason', '')}{tried}")
        if stream:
            lines.append(f"    its log: aws logs get-log-events --log-group-name {names.job_log_group(e.name)} "
                         f"--log-stream-name {stream}")
    return lines


def cancel(aws, submission: str) -> None:
    """TerminateJob: a child not yet running is cancelled, a running one stopped; an array job takes
    its children with it (AWS Batch API reference, TerminateJob)."""
    aws("batch").terminate_job(jobId=submission, reason="cancelled with make cancel")


def results_bucket(e: Environment, account: str) -> str:
    return names.results_bucket(e.name, account)


def results(aws, e: Environment, job: Job, submission: str, account: str, get: Path | None) -> list[str]:
    """The keys under the submission's prefix (downloaded into `get` when given)."""
    bucket, prefix = results_bucket(e, account), f"{names.slug(job.name)}/{submission}"
    s3, keys = aws("s3"), []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    if get is not None:
        for key in keys:
            target = get / key
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
    return keys


def job_of(e: Environment, d: dict) -> Job:
    """The job a submission is of, from its job definition's name."""
    name = d["jobDefinition"].rsplit("/", 1)[-1].rsplit(":", 1)[0]
    for j in e.jobs:
        if j.definition == name:
            return j
    raise JobError(f"{d['jobId']} runs {name}, which is not a job of {e.name}")
