"""Schedule expressions in words and their next run times, across daylight-saving changes."""

from __future__ import annotations

import datetime as dt

import pytest

from wm.config.schedules import describe, next_runs

UTC = dt.UTC
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
    ("cron(0 12 1 * ? *)", "UTC", "on day 1 of the month at 12:00 UTC"),
    ("rate(7 days)", "UTC", "every 7 days (counted from when the schedule was created)"),
    ("at(2026-12-02T14:00:00)", "America/New_York", "once, on 2026-12-02 at 14:00 America/New_York"),
    # Every valid expression has words now (no falling back to the expression itself).
    ("cron(0/15 * ? * MON *)", "UTC", "every Monday at minute 0, 15, 30 and 45 of every hour UTC"),
    ("cron(0 9 L * ? *)", "UTC", "on the last day of the month at 09:00 UTC"),
    ("cron(0 9 LW * ? *)", "UTC", "on the last weekday of the month at 09:00 UTC"),
    ("cron(0 9 15W * ? *)", "UTC", "on the weekday nearest the 15th of the month at 09:00 UTC"),
    ("cron(0 9 ? * 6L *)", "UTC", "on the last Friday of the month at 09:00 UTC"),
    ("cron(0 9 ? * 2#1 *)", "UTC", "on the 1st Monday of the month at 09:00 UTC"),
    ("cron(0 9 ? * TUE#3 *)", "UTC", "on the 3rd Tuesday of the month at 09:00 UTC"),
    ("cron(0 14 ? OCT-DEC,JAN WED 2027)", "America/New_York",
     "every Wednesday at 14:00 America/New_York, in January, October, November and December, in 2027"),
    ("cron(0 14 ? * WED 2027-2029)", "UTC", "every Wednesday at 14:00 UTC, in 2027-2029"),
])
def test_in_words(expression, tz, words):
    assert describe(expression, tz) == words


def test_special_cron_days():
    assert [r.day for r in next_runs("cron(0 9 L * ? *)", "UTC", utc(2027, 2, 1), 3)] == [28, 31, 30]
    assert [r.date().isoformat() for r in next_runs("cron(0 9 ? * 2#1 *)", "UTC", utc(2027, 2, 2), 2)] == \
        ["2027-03-01", "2027-04-05"]  # first Monday of the month
    assert [r.minute for r in next_runs("cron(0/20 10 ? * * *)", "UTC", utc(2027, 1, 1), 3)] == [0, 20, 40]
    # 15W: 2027-05-15 is a Saturday -> Friday 14th; 2027-08-15 a Sunday -> Monday 16th.
    assert [r.date().isoformat() for r in next_runs("cron(0 9 15W 5,8 ? *)", "UTC", utc(2027, 1, 1), 2)] == \
        ["2027-05-14", "2027-08-16"]
    # 1W on a Saturday stays in the month: 2027-05-01 -> Monday 3rd; LW of 2027-10 (31st a Sunday) -> Friday 29th.
    assert next_runs("cron(0 9 1W 5 ? *)", "UTC", utc(2027, 1, 1), 1)[0].day == 3
    assert next_runs("cron(0 9 LW 10 ? *)", "UTC", utc(2027, 1, 1), 1)[0].day == 29
    # 6L: the last Friday; 2027-04-30 is one.
    assert next_runs("cron(0 9 ? 4 6L *)", "UTC", utc(2027, 1, 1), 1)[0].date().isoformat() == "2027-04-30"


def test_rate_and_at():
    assert next_runs("rate(7 days)", "UTC", utc(2027, 1, 1)) == []
    (once,) = next_runs("at(2027-01-05T14:00:00)", "America/New_York", utc(2027, 1, 1))
    assert once.astimezone(UTC) == utc(2027, 1, 5, 19)
    assert next_runs("at(2027-01-05T14:00:00)", "America/New_York", utc(2027, 2, 1)) == []
