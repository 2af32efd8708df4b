"""The pure parts of make status / run / logs: outcomes, last runs, the run history's pages, task ARNs and the
idempotency token; and `make logs TASK=<bare id>` on the emulator."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from botocore.exceptions import ClientError
from conftest import a_model, ecs_event, environment, log_event, make, models

from wm.config import names
from wm.operations import runs


def detail(name: str, model=None, **changes) -> dict:
    """A recorded event's detail, as a task of `model` (default: the dev model under test) sends it."""
    return ecs_event(name, model, **changes)["detail"]


def test_outcome_says_exit_code_or_why_it_never_finished():
    assert runs.outcome(detail("exit-1")) == "exit 1"
    assert runs.outcome(detail("exit-0")) == "exit 0"
    assert runs.outcome(detail("failed-to-start-cannot-pull")).startswith("TaskFailedToStart: CannotPullContainerError")
    assert runs.outcome(detail("spot-interruption")) == "SpotInterruption: Your Spot Task was interrupted."


def test_last_run_is_the_newest_stop_of_that_model_only():
    model = a_model("dev")
    other = f"family:{model.family}-other"  # another family whose name starts like this one's
    history = [{"detail": detail("exit-1", stoppedAt="2026-11-18T19:40:00Z")},
               {"detail": detail("exit-0", stoppedAt="2026-11-25T19:40:00Z")},
               {"detail": detail("exit-1", stoppedAt="2026-12-02T19:40:00Z", group=other)},
               {"detail": detail("exit-1", lastStatus="RUNNING", stoppedAt=None)}]
    assert runs.outcome(runs.last_run(history, model)) == "exit 0"
    assert runs.last_run([], model) is None


def test_idempotency_token_is_per_model_revision_and_minute():
    t = dt.datetime(2026, 11, 25, 19, 2, 5, tzinfo=dt.UTC)
    same = runs.idempotency_token("f", "arn:td:1", t.replace(second=59))
    assert runs.idempotency_token("f", "arn:td:1", t) == same
    assert runs.idempotency_token("f", "arn:td:1", t + dt.timedelta(minutes=1)) != same
    assert runs.idempotency_token("f", "arn:td:2", t) != same
    assert runs.idempotency_token("g", "arn:td:1", t) != same
    assert len(same) == 32


# --- the run history, page by page -------------------------------------------------------------------------

class PagedLogs:
    """filter_log_events as CloudWatch Logs answers it: pages joined by nextToken, the last without one."""

    def __init__(self, pages: list[list[dict]], missing: bool = False, repeat_token: bool = False):
        self.pages, self.missing, self.repeat_token, self.calls = pages, missing, repeat_token, []

    def filter_log_events(self, **kwargs):
        self.calls.append(kwargs)
        if self.missing:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no group"}},
                              "FilterLogEvents")
        i = int(kwargs.get("nextToken", "page-0").removeprefix("page-"))
        page = {"events": [{"message": json.dumps(e)} for e in self.pages[i]]}
        if i + 1 < len(self.pages):
            page["nextToken"] = f"page-{i + 1}"
        elif self.repeat_token and "nextToken" in kwargs:  # hands back the token it was given: no loop forever
            page["nextToken"] = kwargs["nextToken"]
        return page


def stop(model, stopped_at: str, name: str = "exit-0") -> dict:
    return {"detail": detail(name, model, stoppedAt=stopped_at, updatedAt=stopped_at)}


def test_history_reads_every_page_in_order_of_time():
    first, second = models("dev")[0], models("dev")[-1]
    pages = [[stop(first, "2026-11-25T19:40:00Z"), stop(second, "2026-12-02T19:40:00Z")],
             [stop(first, "2026-11-18T19:40:00Z", "exit-1"), stop(first, "2026-12-09T19:40:00Z", "exit-1")]]
    logs = PagedLogs(pages)
    history = runs._history(lambda service: logs, "dev")
    assert [c.get("nextToken") for c in logs.calls] == [None, "page-1"]
    assert all(c["logGroupName"] == names.run_history_log_group("dev") for c in logs.calls)
    assert [e["detail"]["stoppedAt"] for e in history] == sorted(e["detail"]["stoppedAt"] for p in pages for e in p)
    # The newest stop of the model is on the second page.
    assert runs.last_run(history, first)["stoppedAt"] == "2026-12-09T19:40:00Z"


def test_history_stops_on_a_repeated_token_and_is_empty_without_a_log_group():
    logs = PagedLogs([[stop(a_model("dev"), "2026-11-25T19:40:00Z")], []], repeat_token=True)
    assert len(runs._history(lambda service: logs, "dev")) == 1 and len(logs.calls) == 2
    assert runs._history(lambda service: PagedLogs([], missing=True), "dev") == []


def test_the_latest_task_of_a_model_gone_from_ecs_comes_from_the_last_page():
    model = a_model("dev")
    newest = stop(model, "2026-12-09T19:40:00Z")
    newest["detail"]["taskArn"] = newest["detail"]["taskArn"].rsplit("/", 1)[0] + "/0123456789abcdef"
    logs = PagedLogs([[stop(model, "2026-11-25T19:40:00Z")], [newest]])

    class NoTasks:
        def list_tasks(self, **kwargs):
            return {"taskArns": []}

    aws = {"logs": logs, "ecs": NoTasks()}.__getitem__
    task = runs.latest_task(aws, model, environment("dev").cluster_name, lambda: runs._history(aws, "dev"))
    assert task == newest["detail"]["taskArn"]


# --- task ARNs ------------------------------------------------------------------------------------------------

def test_a_bare_task_id_becomes_the_tasks_arn():
    e = environment("dev")
    # ECS Developer Guide, "Amazon Resource Name (ARN) format": arn:aws:ecs:region:account:task/cluster/task-id
    assert runs.task_arn("0123456789abcdef0123456789abcdef", e.cluster_name, e.region, "123456789012") == \
        f"arn:aws:ecs:{e.region}:123456789012:task/{e.cluster_name}/0123456789abcdef0123456789abcdef"


def test_a_task_arn_passes_through():
    arn = f"arn:aws:ecs:us-west-2:210987654321:task/another-cluster/{'f' * 32}"
    assert runs.task_arn(arn, environment("dev").cluster_name, "us-east-1", "123456789012") == arn


@pytest.mark.emulator
def test_logs_of_a_task_given_by_its_bare_id(aws, emulator):
    """`make logs TASK=<id>`, the ID as the console shows it: its ARN is made, its log stream read."""
    model, e = a_model("dev"), environment("dev")
    task_id = "5e1c2a9b8d4e7f8a6b5c4d3e2f1a0b3f"
    group = names.log_group("dev", model.name)
    stream = f"ecs/{names.container_name('dev', model.name)}/{task_id}"
    logs = aws("logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[log_event(f"fitting {model.name}")])
    result = make("logs", f"MODEL={model.name}", f"TASK={task_id}", port=emulator, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    account = aws("sts").get_caller_identity()["Account"]
    assert f"task arn:aws:ecs:{e.region}:{account}:task/{e.cluster_name}/{task_id}" in result.stdout
    assert f"fitting {model.name}" in result.stdout and "Traceback" not in result.stderr
