"""Season dates as EventBridge Scheduler can take them, on any day of the year.

Scheduler refuses a StartDate more than five minutes in the past, on create and on every
update (CloudFormation resends StartDate), and an expired EndDate leaves a schedule ENABLED
and silent. So a template sends StartDate only while the season has not begun, and an
ended season is deployed DISABLED; the plan and `make validate` say which, and
`make status` says it in words. Each case renders at a given moment (`now`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from conftest import a_model, stack_for

from generators import build, render
from wm.config.schedules import START_DATE_MARGIN
from wm.operations.runs import next_run_words

UTC = dt.UTC
SEASON = {"start_date": "2026-10-01", "end_date": "2027-06-30"}
START = dt.datetime(2026, 10, 1, 4, 0, tzinfo=UTC)   # local midnight, New York in summer time
END = dt.datetime(2027, 7, 1, 4, 0, tzinfo=UTC)      # the end of June 30


def stack(now, state="ENABLED", schedule=SEASON):
    data = {"project": {}, "environment": {"schedule_state": state},
            "model": {"image": a_model().image, "schedule": schedule}}
    return stack_for("prod/models/flu-ar2", data, now=now)


def model(now, **kw):
    return stack(now, **kw).model


def schedules(now, **kw) -> list[dict]:
    resources = build(stack(now, **kw)).to_dict()["Resources"]
    return [resources["Schedule"]["Properties"], resources["SilenceCheckSchedule"]["Properties"]]


@pytest.mark.parametrize("now,start,end,state", [
    (START - dt.timedelta(days=30), "2026-10-01T04:00:00Z", "2027-07-01T04:00:00Z", "ENABLED"),  # before
    (START - START_DATE_MARGIN / 2, None, "2027-07-01T04:00:00Z", "ENABLED"),  # too close to send
    (START + dt.timedelta(days=1), None, "2027-07-01T04:00:00Z", "ENABLED"),   # in the season
    (END + dt.timedelta(days=1), None, None, "DISABLED"),                      # after
])
def test_what_the_schedules_carry_on_each_day(now, start, end, state):
    for props in schedules(now):
        assert (props.get("StartDate"), props.get("EndDate"), props["State"]) == (start, end, state)


def test_a_start_date_sent_is_always_in_the_future_by_the_margin():
    for days in range(-400, 400, 7):
        now = START + dt.timedelta(days=days, hours=days % 24)
        for props in schedules(now):
            if "StartDate" in props:
                sent = dt.datetime.fromisoformat(props["StartDate"].replace("Z", "+00:00"))
                assert sent - now > START_DATE_MARGIN, now


def test_the_notes_say_what_happened():
    assert model(START - dt.timedelta(days=30)).season.note is None
    began = model(START + dt.timedelta(days=1)).season.note
    assert "began on 2026-10-01" in began and "StartDate is no longer sent" in began
    ended = model(END + dt.timedelta(days=1)).season.note
    assert "ended on 2027-06-30" in ended and "DISABLED" in ended


def test_a_disabled_environment_stays_disabled_whatever_the_season():
    for now in (START - dt.timedelta(days=1), START + dt.timedelta(days=1), END + dt.timedelta(days=1)):
        assert {p["State"] for p in schedules(now, state="DISABLED")} == {"DISABLED"}


def test_the_same_moment_renders_the_same_bytes():
    now = START + dt.timedelta(days=3)
    assert render(stack(now)) == render(stack(now))


def test_no_season_renders_no_dates_and_no_note():
    m = model(START, schedule={})
    assert m.season.note is None
    assert all("StartDate" not in p and "EndDate" not in p for p in schedules(START, schedule={}))


NY = zoneinfo.ZoneInfo("America/New_York")


def deployed(props: dict) -> dict:
    """A schedule as GetSchedule returns it, from rendered properties."""
    out = {"State": props["State"], "ScheduleExpression": props["ScheduleExpression"],
           "ScheduleExpressionTimezone": props["ScheduleExpressionTimezone"]}
    for key in ("StartDate", "EndDate"):
        if key in props:
            out[key] = dt.datetime.fromisoformat(props[key].replace("Z", "+00:00"))
    return out


def test_status_says_the_season_has_not_begun():
    now = START - dt.timedelta(days=30)
    words = next_run_words(deployed(schedules(now)[0]), model(now), now, NY)
    assert words == "Wed 2026-10-07 14:00 (the season starts 2026-10-01)"


def test_status_says_the_season_is_over_even_before_a_redeploy():
    before, after = END - dt.timedelta(days=3), END + dt.timedelta(days=3)
    still_enabled = deployed(schedules(before)[0])  # deployed during the season, never since
    words = next_run_words(still_enabled, model(after), after, NY)
    assert words.startswith("none: the season ended 2027-06-30")


def test_status_tells_a_hand_disabled_schedule_from_a_configured_one():
    now = START + dt.timedelta(days=3)
    by_hand = {**deployed(schedules(now)[0]), "State": "DISABLED"}
    assert "DISABLED in AWS though the configuration enables it" in next_run_words(by_hand, model(now), now, NY)
    configured = deployed(schedules(now, state="DISABLED")[0])
    assert next_run_words(configured, model(now, state="DISABLED"), now, NY).startswith("none: DISABLED by configuration")
