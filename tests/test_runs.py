"""The pure parts of make status / run: outcomes, last runs and the idempotency token."""

from __future__ import annotations

import datetime as dt
import json

from conftest import ROOT

from wm.config import files as loader
from wm.operations import runs

FIXTURES = ROOT / "tests" / "fixtures" / "ecs-events"


def detail(name: str, **changes) -> dict:
    d = json.loads((FIXTURES / f"{name}.json").read_text())["detail"]
    d.update(changes)
    return d


def test_outcome_says_exit_code_or_why_it_never_finished():
    assert runs.outcome(detail("exit-1")) == "exit 1"
    assert runs.outcome(detail("exit-0")) == "exit 0"
    assert runs.outcome(detail("failed-to-start-cannot-pull")).startswith("TaskFailedToStart: CannotPullContainerError")
    assert runs.outcome(detail("spot-interruption")) == "SpotInterruption: Your Spot Task was interrupted."


def test_last_run_is_the_newest_stop_of_that_model_only():
    model = loader.load(ROOT, "dev").stacks["dev/models/flu-ar2"]
    history = [{"detail": detail("exit-1", stoppedAt="2026-11-18T19:40:00Z")},
               {"detail": detail("exit-0", stoppedAt="2026-11-25T19:40:00Z")},
               {"detail": detail("exit-1", stoppedAt="2026-12-02T19:40:00Z",
                                 group="family:weekly-models-dev-covid-gbqr-model")},
               {"detail": detail("exit-1", lastStatus="RUNNING", stoppedAt=None)}]
    assert runs.outcome(runs.last_run(history, model)) == "exit 0"
    assert runs.last_run([], model) is None


def test_idempotency_token_is_per_model_revision_and_minute():
    t = dt.datetime(2026, 11, 25, 19, 2, 5, tzinfo=dt.timezone.utc)
    same = runs.idempotency_token("f", "arn:td:1", t.replace(second=59))
    assert runs.idempotency_token("f", "arn:td:1", t) == same
    assert runs.idempotency_token("f", "arn:td:1", t + dt.timedelta(minutes=1)) != same
    assert runs.idempotency_token("f", "arn:td:2", t) != same
    assert runs.idempotency_token("g", "arn:td:1", t) != same
    assert len(same) == 32
