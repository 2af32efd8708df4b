"""Schedule expressions in words and their next run times, across daylight-saving changes."""

from __future__ import annotations

import datetime as dt

import pytest

from wm.config.schedules import describe, next_runs

UTC = dt.timezone.utc
WEEKLY = "cron(0 14 ? * WED *)"


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("after,expected", [
    (utc(2027, 1, 1), ["2027-01-06T19:00", "2027-01-13T19:00", "2027-01-20T19:00"]),  # EST, UTC-5
    (utc(2027, 7, 1), ["2027-07-07T18:00", "2027-07-14T18:00", "2027-07-21T18:00"]),  # EDT, UTC-4
    (utc(2027, 3, 5), ["2027-03-10T19:00", "2027-03-17T18:00", "2027-03-24T18:00"]),  # clocks change 14 March
    (utc(2026, 11, 25, 19, 0), ["2026-12-02T19:00", "2026-12-09T19:00", "2026-12-16T19:00"]),  # 14:00 itself is not after
])
def test_wednesday_14_new_york_in_utc(after, expected):
    runs = next_runs(WEEKLY, "America/New_York", after, 3)
    assert [r.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") for r in runs] == expected
    assert all(r.strftime("%A %H:%M") == "Wednesday 14:00" for r in runs)


def test_season_window_limits_the_runs():
    start, end = utc(2027, 6, 1), utc(2027, 6, 20)
    runs = next_runs(WEEKLY, "America/New_York", utc(2027, 1, 1), 5, start=start, end=end)
    assert [r.day for r in runs] == [2, 9, 16]
    assert next_runs(WEEKLY, "America/New_York", utc(2027, 7, 1), 3, end=end) == []


@pytest.mark.parametrize("expression,tz,words", [
    (WEEKLY, "America/New_York", "every Wednesday at 14:00 America/New_York"),
    ("cron(30 9 ? * MON,WED *)", "UTC", "every Monday and Wednesday at 09:30 UTC"),
    ("cron(0 6 ? * 2-6 *)", "Europe/Berlin", "every Monday, Tuesday, Wednesday, Thursday and Friday at 06:00 Europe/Berlin"),
    ("cron(15 8 * * ? *)", "UTC", "every day at 08:15 UTC"),
    ("cron(0 12 1 * ? *)", "UTC", "on day 1 of every month at 12:00 UTC"),
    ("rate(7 days)", "UTC", "every 7 days (counted from when the schedule was created)"),
    ("at(2026-12-02T14:00:00)", "America/New_York", "once, on 2026-12-02 at 14:00 America/New_York"),
    ("cron(0/15 * ? * MON *)", "UTC", "cron(0/15 * ? * MON *) in UTC"),
])
def test_in_words(expression, tz, words):
    assert describe(expression, tz) == words


def test_special_cron_days():
    assert [r.day for r in next_runs("cron(0 9 L * ? *)", "UTC", utc(2027, 2, 1), 3)] == [28, 31, 30]
    assert [r.date().isoformat() for r in next_runs("cron(0 9 ? * 2#1 *)", "UTC", utc(2027, 2, 2), 2)] == \
        ["2027-03-01", "2027-04-05"]  # first Monday of the month
    assert [r.minute for r in next_runs("cron(0/20 10 ? * * *)", "UTC", utc(2027, 1, 1), 3)] == [0, 20, 40]


def test_rate_and_at():
    assert next_runs("rate(7 days)", "UTC", utc(2027, 1, 1)) == []
    (once,) = next_runs("at(2027-01-05T14:00:00)", "America/New_York", utc(2027, 1, 1))
    assert once.astimezone(UTC) == utc(2027, 1, 5, 19)
    assert next_runs("at(2027-01-05T14:00:00)", "America/New_York", utc(2027, 2, 1)) == []
