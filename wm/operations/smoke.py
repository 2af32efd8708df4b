"""`make smoke`: the acceptance run, once per account and after any change to IAM or alerts.

It proves on the real account what the emulator cannot: that the deployed roles,
policies and alerts work together. In order:

1. deploy the environment (the same `make deploy` a person runs);
2. check the container's secrets exist in Parameter Store;
3. start one model now, as its schedule would (dev: a dry run);
4. wait for the run history to record it starting and stopping, with exit code 0;
5. subscribe a temporary SQS queue to the alert topic;
6. start a one-off revision of the model whose image tag does not exist, and wait for
   the failure alert on that queue (a Chatbot custom notification);
7. run the silence check for the model as if it had been due before step 3: it must find
   the run and stay quiet;
8. run it as if the model had been due just now: it must alert on the queue;
9. check every model's silence-check schedule matches its schedule and the machine exists;
10. submit the environment's first job (two children, or one per parameter set), wait for it
    to succeed and find what its children wrote under its results prefix;
11. find that submission's state changes in the run history;
12. remove exactly what the smoke run added (queue, subscription, one-off revision, the
    submission's results).

On the emulator every step it can model runs; the others are listed as SKIP with the
reason, never as PASS. Only dev and the emulator: in prod the run would be real.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from wm.config import names as naming
from wm.operations.runs import RunError, run

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


class Skip(Exception):
    """The step cannot be shown here; the message says why."""


class Failed(Exception):
    """The step ran and what it checks is not so; the message says what was seen."""


@dataclass
class Step:
    name: str
    result: str
    seconds: float
    detail: str


@dataclass
class Smoke:
    aws: Callable[[str], object]
    env: str                      # dev (the configuration), on AWS or on the emulator
    models: list                  # Model of the environment
    model: object                 # the one smoke runs
    emulator: bool
    environment: object = None    # the Environment, for its jobs
    job: object = None            # the Job smoke submits (None: the environment has none)
    wait_minutes: float = 90.0
    say: Callable[[str], None] = print
    steps: list[Step] = field(default_factory=list)
    cleanups: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    facts: dict = field(default_factory=dict)

    # --- running steps ----------------------------------------------------------------------------

    def step(self, name: str, action: Callable[[], str], *, needs: tuple[str, ...] = ()) -> None:
        missing = [n for n in needs if not any(s.name == n and s.result == PASS for s in self.steps)]
        t0 = time.monotonic()
        if missing:
            result, detail = SKIP, f"needs: {', '.join(missing)}"
        else:
            try:
                result, detail = PASS, action()
            except Skip as err:
                result, detail = SKIP, str(err)
            except (Failed, RunError) as err:
                result, detail = FAIL, str(err)
            except Exception as err:
                result, detail = FAIL, f"{type(err).__name__}: {err}"
        self.steps.append(Step(name, result, time.monotonic() - t0, detail))
        self.say(f"{result} {name}: {detail}")

    def on_emulator_skip(self, why: str) -> None:
        if self.emulator:
            raise Skip(f"the emulator {why}")

    def wait(self, what: str, check: Callable[[], object], minutes: float, every: float = 10.0):
        deadline = time.monotonic() + minutes * 60
        while True:
            found = check()
            if found:
                return found
            if time.monotonic() > deadline:
                raise Failed(f"no {what} after {minutes:g} minutes")
            time.sleep(every if not self.emulator else 0.2)

    # --- the steps ----------------------------------------------------------------------------------

    def deploy(self, command: list[str]) -> str:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise Failed(f"{' '.join(command)} exited {result.returncode}: {' / '.join(tail)}")
        return f"{' '.join(command)}: every stack deployed"

    def secrets(self) -> str:
        self.on_emulator_skip("starts no container, so no secret is read")
        names = sorted({naming.secret_parameter(self.env, s) for m in self.models for s in m.secrets})
        found = self.aws("ssm").get_parameters(Names=names, WithDecryption=False)
        missing = sorted(set(names) - {p["Name"] for p in found["Parameters"]})
        if missing:
            raise Failed("not in Parameter Store: " + ", ".join(missing) + "; store each with "
                         f"make secret ENV={self.env} NAME=<name>")
        return f"{len(names)} SecureStrings present (values not read)"

    def start_run(self) -> str:
        if not self.model.dry_run:
            raise Failed(f"{self.model.name} has no DRY_RUN in {self.env}: smoke runs only dry runs")
        task, _ = run(self.aws, self.model)
        self.facts["task"] = task
        return f"{task} (dry run)"

    def history(self) -> str:
        self.on_emulator_skip("runs no container and emits no ECS task state change")
        task, logs = self.facts["task"], self.aws("logs")
        group = naming.run_history_log_group(self.env)
        start = int(self.started.timestamp() * 1000) - 60_000

        def stopped():
            # Every page: FilterLogEvents may answer an empty page with a token while more events exist.
            pages = logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, startTime=start, filterPattern=f'{{ $.detail.taskArn = "{task}" }}')
            details = [json.loads(e["message"])["detail"] for page in pages for e in page.get("events", [])]
            return next((d for d in details if d.get("lastStatus") == "STOPPED"), None)

        detail = self.wait("STOPPED state change of the task in the run history", stopped, self.wait_minutes, 30)
        code = (detail.get("containers") or [{}])[0].get("exitCode")
        if code != 0:
            raise Failed(f"the dry run stopped with {detail.get('stopCode')} (exit code {code}): "
                         f"make logs MODEL={self.model.name} ENV={self.env}")
        return f"started {detail.get('startedAt')}, stopped {detail.get('stoppedAt')}, exit 0"

    def subscribe(self) -> str:
        sqs, sns = self.aws("sqs"), self.aws("sns")
        topic = next(t["TopicArn"] for t in _all(sns.list_topics, "Topics")
                     if t["TopicArn"].endswith(f":{naming.alert_topic(self.env)}"))
        name = f"{naming.env_prefix(self.env)}-smoke-{self.started:%Y%m%d%H%M%S}"
        url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "3600",
                                                           "SqsManagedSseEnabled": "true"})["QueueUrl"]
        self.cleanups.append((f"queue {name}", lambda: sqs.delete_queue(QueueUrl=url)))
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
        subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                                     Attributes={"RawMessageDelivery": "true"},
                                     ReturnSubscriptionArn=True)["SubscriptionArn"]
        self.cleanups.append(("its subscription", lambda: sns.unsubscribe(SubscriptionArn=subscription)))
        self.facts["queue"] = url
        return f"queue {name} subscribed to {topic}"

    def messages(self, title_has: str) -> list[dict]:
        got = self.aws("sqs").receive_message(QueueUrl=self.facts["queue"], MaxNumberOfMessages=10,
                                              WaitTimeSeconds=0 if self.emulator else 10).get("Messages", [])
        out = []
        for m in got:
            body = json.loads(m["Body"])
            self.aws("sqs").delete_message(QueueUrl=self.facts["queue"], ReceiptHandle=m["ReceiptHandle"])
            if title_has in body.get("content", {}).get("title", ""):
                out.append(body)
        return out

    def failure_alert(self) -> str:
        ecs = self.aws("ecs")
        current = ecs.describe_task_definition(taskDefinition=self.model.family, include=["TAGS"])
        td, tags = current["taskDefinition"], current.get("tags", [])
        missing = f"{self.model.image.rsplit(':', 1)[0]}:smoke-missing-{self.started:%Y%m%d%H%M%S}"
        keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
                "requiresCompatibilities", "cpu", "memory", "runtimePlatform")
        request = {k: td[k] for k in keep if td.get(k)}
        request["containerDefinitions"] = [{**c, "image": missing} for c in td["containerDefinitions"]]
        one_off = ecs.register_task_definition(**request, **({"tags": tags} if tags else {}))
        arn = one_off["taskDefinition"]["taskDefinitionArn"]
        self.cleanups.append((f"one-off revision {arn.rsplit('/', 1)[1]}", lambda: _drop_revision(ecs, arn)))
        task, _ = run(self.aws, self.model, task_definition=arn)
        self.on_emulator_skip(f"started {missing} ({task.rsplit('/', 1)[1]}) but pulls no image and emits no "
                              "task state change, so nothing fails to start and no alert can arrive")
        t0 = time.monotonic()
        (alert,) = self.wait("failure alert on the queue", lambda: self.messages("did not finish"), 15)[:1]
        if not alert["content"]["description"].startswith("It never started"):
            raise Failed(f"the alert says: {alert['content']['description'][:200]}")
        return f"{missing} could not start; the alert arrived in {time.monotonic() - t0:.0f} s"

    def silence(self, expected_at: dt.datetime, should_alert: bool, wait_seconds: int = 0) -> str:
        if not should_alert:
            self.on_emulator_skip("records no task state change, so there is no run for the check to find")
        sfn = self.aws("stepfunctions")
        machine = next(m["stateMachineArn"] for m in _all(sfn.list_state_machines, "stateMachines")
                       if m["name"] == naming.silence_check_machine(self.env))
        check = self.aws("scheduler").get_schedule(Name=naming.silence_check_schedule(self.env, self.model.name),
                                                   GroupName=naming.schedule_group(self.env))
        given = json.loads(check["Target"]["Input"])
        given |= {"expectedAt": expected_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "waitSeconds": wait_seconds}
        execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(given),
                                        name=f"smoke-{'missed' if should_alert else 'ran'}-{self.started:%Y%m%d%H%M%S}")
        done = self.wait("end of the silence check", lambda: _finished(sfn, execution["executionArn"]), 10, 5)
        if done["status"] != "SUCCEEDED":
            raise Failed(f"the check ended {done['status']}: {done.get('error')} {done.get('cause', '')[:200]}")
        alerts = self.messages("did not run when it was due")
        if should_alert:
            if not alerts:
                alerts = self.wait("silence alert on the queue", lambda: self.messages("did not run when it was due"), 5)
            return f"alerted: {alerts[0]['content']['description'][:120]}..."
        if alerts:
            raise Failed(f"it alerted although the run was recorded: {alerts[0]['content']['description'][:160]}")
        return "found the run and sent nothing"

    def silence_checks_deployed(self) -> str:
        scheduler, sfn = self.aws("scheduler"), self.aws("stepfunctions")
        machines = {m["name"]: m["stateMachineArn"] for m in _all(sfn.list_state_machines, "stateMachines")}
        arn = machines.get(naming.silence_check_machine(self.env))
        if arn is None:
            raise Failed(f"no state machine {naming.silence_check_machine(self.env)}")
        group = naming.schedule_group(self.env)
        for m in self.models:
            model = scheduler.get_schedule(Name=naming.schedule_name(self.env, m.name), GroupName=group)
            check = scheduler.get_schedule(Name=naming.silence_check_schedule(self.env, m.name), GroupName=group)
            for key in ("ScheduleExpression", "ScheduleExpressionTimezone", "State", "StartDate", "EndDate"):
                if model.get(key) != check.get(key):
                    raise Failed(f"{m.name}: the silence check's {key} is {check.get(key)!r}, "
                                 f"the schedule's {model.get(key)!r}")
            if check["Target"]["Arn"] != arn:
                raise Failed(f"{m.name}: the silence check starts {check['Target']['Arn']}, not {arn}")
        states = sorted({scheduler.get_schedule(Name=naming.schedule_name(self.env, m.name), GroupName=group)["State"]
                         for m in self.models})
        return f"{len(self.models)} silence checks match their schedules ({', '.join(states)}) and start {arn}"

    def submit_job(self) -> str:
        from wm.operations import jobs

        if self.job is None:
            raise Skip("the environment declares no job in jobs/")
        job, batch = self.job, self.aws("batch")
        size = None if job.parameter_sets else min(2, job.array_size)
        sub = jobs.submit(self.aws, self.environment, job, size, dt.datetime.now(dt.UTC))
        self.facts["submission"] = sub["id"]
        self.cleanups.append((f"submission {sub['id']} (stopped if still running)",
                              lambda: batch.terminate_job(jobId=sub["id"], reason="make smoke cleaned up")))
        d = self.wait(f"end of submission {sub['id']}", lambda: next(
            (d for d in batch.describe_jobs(jobs=[sub["id"]])["jobs"] if d["status"] in jobs.DONE), None),
            self.wait_minutes, 30)
        if d["status"] != "SUCCEEDED":
            raise Failed(f"submission {sub['id']} of {job.name} {d['status']}: {d.get('statusReason', '')}; "
                         f"make jobs ENV={self.env} ID={sub['id']}")
        self.on_emulator_skip(f"moved submission {sub['id']} of {job.name} to SUCCEEDED on the clock but runs no "
                              "container, so no child wrote a result")
        account = self.aws("sts").get_caller_identity()["Account"]
        keys = jobs.results(self.aws, self.environment, job, sub["id"], account, None)
        if not keys:
            raise Failed(f"submission {sub['id']} succeeded but wrote nothing under its prefix: its children must "
                         "write under RESULTS_URI, in a folder named after AWS_BATCH_JOB_ID (docs/jobs.md)")
        s3, bucket = self.aws("s3"), jobs.results_bucket(self.environment, account)
        self.cleanups.append((f"{len(keys)} results of {sub['id']}", lambda: [s3.delete_object(Bucket=bucket, Key=k)
                                                                            for k in keys]))
        return f"{sub['id']} ({sub['size']} children) succeeded and wrote {len(keys)} objects"

    def job_history(self) -> str:
        self.on_emulator_skip("sends no Batch job state change")
        sub, logs = self.facts["submission"], self.aws("logs")
        start = int(self.started.timestamp() * 1000) - 60_000

        def recorded():
            pages = logs.get_paginator("filter_log_events").paginate(
                logGroupName=naming.run_history_log_group(self.env), startTime=start,
                filterPattern=f'{{ $.detail.jobId = "{sub}" }}')
            states = {json.loads(e["message"])["detail"].get("status") for page in pages for e in page.get("events", [])}
            return states if "SUCCEEDED" in states else None

        states = self.wait(f"SUCCEEDED of {sub} in the run history", recorded, 15, 30)
        return f"{sub}: {', '.join(sorted(states))} recorded"

    def clean_up(self) -> str:
        done, failed = [], []
        for what, action in reversed(self.cleanups):
            try:
                action()
                done.append(what)
            except Exception as err:
                failed.append(f"{what} ({err})")
        self.cleanups.clear()
        if failed:
            raise Failed("could not remove: " + "; ".join(failed))
        return "removed " + (", ".join(done) if done else "nothing (nothing was added)")

    # --- the whole run --------------------------------------------------------------------------------

    def run_all(self, deploy_command: list[str]) -> list[Step]:
        deployed, started = "deploy the environment", "start one model (dry run)"
        self.step(deployed, lambda: self.deploy(deploy_command))
        self.step("the container's secrets exist", self.secrets, needs=(deployed,))
        self.step(started, self.start_run, needs=(deployed,))
        self.step("run history shows it start and stop", self.history, needs=(started,))
        subscribed = "temporary queue subscribed to the alert topic"
        self.step(subscribed, self.subscribe, needs=(deployed,))
        self.step("a run that cannot start alerts", self.failure_alert, needs=(subscribed,))
        self.step("silence check finds a recorded run", lambda: self.silence(self.started - dt.timedelta(minutes=1),
                                                                            False), needs=(subscribed, started))
        # Due at the next whole minute (CloudWatch rounds a query's start down to the minute, and the
        # one-off run's events of this minute must not count), checked after it.
        due = dt.datetime.now(dt.UTC)
        if not self.emulator:  # on the emulator nothing ran, so there is nothing to keep out
            due = (due + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
        wait = int((due - dt.datetime.now(dt.UTC)).total_seconds()) + (2 if self.emulator else 60)
        self.step("silence check alerts on a missed run", lambda: self.silence(due, True, wait), needs=(subscribed,))
        self.step("silence checks deployed with every model", self.silence_checks_deployed, needs=(deployed,))
        submitted = "a job's children succeed and write results"
        self.step(submitted, self.submit_job, needs=(deployed,))
        self.step("run history records the job's submission", self.job_history, needs=(submitted,))
        return self.steps

    def run_all_and_clean_up(self, deploy_command: list[str]) -> list[Step]:
        """Every step, and the clean-up even when a step or Ctrl-C stopped them."""
        try:
            self.run_all(deploy_command)
        finally:
            self.step("remove what smoke added", self.clean_up)
        return self.steps


def _all(call, key: str) -> list:
    out, kwargs = [], {}
    while True:
        page = call(**kwargs)
        out += page.get(key, [])
        token = page.get("NextToken") or page.get("nextToken")
        if not token:
            return out
        kwargs = {"NextToken": token} if "NextToken" in page else {"nextToken": token}


def _finished(sfn, execution: str):
    d = sfn.describe_execution(executionArn=execution)
    return d if d["status"] != "RUNNING" else None


def _drop_revision(ecs, arn: str) -> None:
    ecs.deregister_task_definition(taskDefinition=arn)
    if hasattr(ecs, "delete_task_definitions"):
        try:
            ecs.delete_task_definitions(taskDefinitions=[arn])
        except Exception:  # deregistered is enough; deleting only tidies the list
            pass


def table(steps: list[Step], where: str) -> str:
    width = max(len(s.name) for s in steps)
    lines = [f"make smoke on {where}:", f"  {'step'.ljust(width)}  result  seconds  detail"]
    lines += [f"  {s.name.ljust(width)}  {s.result:6}  {s.seconds:7.1f}  {s.detail}" for s in steps]
    counts = {r: sum(1 for s in steps if s.result == r) for r in (PASS, FAIL, SKIP)}
    lines.append(f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped"
                 + (" (skipped: not shown here, see the reason; never counted as passed)" if counts[SKIP] else ""))
    return "\n".join(lines)
