"""EventBridge Scheduler expressions in words, and their next run times.

`describe("cron(0 14 ? * WED *)", "America/New_York")` ->
"every Wednesday at 14:00 America/New_York"; `next_runs(...)` gives the next start
times as aware datetimes in the schedule's zone, daylight-saving changes included (a
14:00 New York schedule is 19:00 UTC in January and 18:00 UTC in July). Expressions
are assumed valid (rules.schedule_expression checks them first).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]  # cron 1-7
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d[:3].upper(): i + 1 for i, d in enumerate(DAY_NAMES)}
MAX_YEARS = 8  # how far ahead next_runs looks before giving up (a schedule that never fires)


def _value(token: str, names: dict[str, int]) -> int:
    return names[token.upper()] if token.upper() in names else int(token)


def _expand(text: str, low: int, high: int, names: dict[str, int] = {}) -> set[int]:  # noqa: B006 - read only
    """The values of one numeric cron field: *, a, a-b, */n, a/n, a-b/n, lists of those."""
    out: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            lo, hi = low, high
        elif "-" in base:
            lo, hi = (_value(v, names) for v in base.split("-", 1))
        else:
            lo = _value(base, names)
            hi = high if step else lo
        out.update(range(lo, hi + 1, int(step) if step else 1))
    return out


class Cron:
    def __init__(self, body: str):
        minutes, hours, dom, month, dow, year = body.split()
        self.minutes = sorted(_expand(minutes, 0, 59))
        self.hours = sorted(_expand(hours, 0, 23))
        self.months = _expand(month, 1, 12, _MONTHS)
        self.years = _expand(year, 1970, 2199)
        self.dom, self.dow = dom, dow

    def day_matches(self, day: dt.date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.dom != "?":
            return self._dom_matches(day)
        return self._dow_matches(day)

    def _dom_matches(self, day: dt.date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        for part in self.dom.split(","):
            if part == "L" and day.day == last:
                return True
            if part == "LW" and day == _nearest_weekday(day.replace(day=last), day.month):
                return True
            if part.endswith("W") and part[:-1].isdigit():
                target = day.replace(day=min(int(part[:-1]), last))
                if day == _nearest_weekday(target, day.month):
                    return True
            elif part not in ("L", "LW") and day.day in _expand(part, 1, 31):
                return True
        return False

    def _dow_matches(self, day: dt.date) -> bool:
        cron_day = (day.isoweekday() % 7) + 1  # SUN=1 .. SAT=7
        last = calendar.monthrange(day.year, day.month)[1]
        for part in self.dow.split(","):
            if "#" in part:
                d, n = part.split("#")
                if cron_day == _value(d, _DAYS) and (day.day - 1) // 7 + 1 == int(n):
                    return True
            elif part == "L":
                if cron_day == 7:
                    return True
            elif part.endswith("L"):
                if cron_day == _value(part[:-1], _DAYS) and day.day + 7 > last:
                    return True
            elif cron_day in _expand(part, 1, 7, _DAYS):
                return True
        return False


def _nearest_weekday(day: dt.date, month: int) -> dt.date:
    if day.weekday() == 5:  # Saturday -> Friday, unless that leaves the month
        return day - dt.timedelta(days=1) if (day - dt.timedelta(days=1)).month == month else day + dt.timedelta(days=2)
    if day.weekday() == 6:  # Sunday -> Monday, unless that leaves the month
        return day + dt.timedelta(days=1) if (day + dt.timedelta(days=1)).month == month else day - dt.timedelta(days=2)
    return day


def season(start_date: dt.date | None, end_date: dt.date | None,
           timezone: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The season as aware bounds: local midnight at the start of `start_date` and the end of `end_date`."""
    tz = zoneinfo.ZoneInfo(timezone)
    start = dt.datetime.combine(start_date, dt.time(), tz) if start_date else None
    end = dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time(), tz) if end_date else None
    return start, end


# EventBridge Scheduler refuses a StartDate more than 5 minutes in the past, on create and on
# update ("The StartDate you specify cannot be earlier than 5 minutes ago"), and CloudFormation
# resends StartDate with every update. A start closer than this margin is not sent: it leaves
# time between rendering (make plan) and the deploy that executes it.
START_DATE_MARGIN = dt.timedelta(hours=1)


@dataclass(frozen=True)
class SeasonWindow:
    """What a schedule's season means at one moment: the dates to send, and whether it is over."""
    start: dt.datetime | None  # StartDate to send (still in the future), or None
    end: dt.datetime | None    # EndDate to send, or None
    over: bool                 # the season has ended: nothing runs until the config sets a new one
    note: str | None           # what a person should know about it, for the plan and make validate

    def state(self, configured: str) -> str:
        """An ended season disables the schedule: an expired EndDate would leave it ENABLED and silent."""
        return "DISABLED" if self.over else configured


def season_window(start_date: dt.date | None, end_date: dt.date | None, timezone: str,
                  now: dt.datetime) -> SeasonWindow:
    """The season of a schedule as it can be deployed at `now` (aware)."""
    start, end = season(start_date, end_date, timezone)
    if end is not None and end <= now:
        return SeasonWindow(None, None, True,
                            f"the season ended on {end_date}: the schedule is deployed DISABLED until "
                            "start_date and end_date are set for the next season")
    if start is not None and start - now <= START_DATE_MARGIN:
        return SeasonWindow(None, end, False,
                            f"the season began on {start_date}: its StartDate is no longer sent (EventBridge "
                            "Scheduler refuses a StartDate in the past, on every update)")
    return SeasonWindow(start, end, False, None)


def _parts(expression: str) -> tuple[str, str]:
    m = re.fullmatch(r"(cron|rate|at)\((.*)\)", expression.strip())
    if not m:
        raise ValueError(f"not a schedule expression: {expression!r}")
    return m.group(1), m.group(2)


def next_runs(expression: str, timezone: str, after: dt.datetime, count: int = 3,
              start: dt.datetime | None = None, end: dt.datetime | None = None) -> list[dt.datetime]:
    """The next `count` start times strictly after `after` (aware), within [start, end].

    rate() schedules count from when they were created, which only AWS knows: none are given.
    """
    kind, body = _parts(expression)
    tz = zoneinfo.ZoneInfo(timezone)
    lower = max(after, start) if start else after
    out: list[dt.datetime] = []
    if kind == "rate":
        return out
    if kind == "at":
        when = dt.datetime.fromisoformat(body).replace(tzinfo=tz)
        return [when] if when > lower and (end is None or when <= end) else []
    for when in _cron_times(Cron(body), tz, lower.astimezone(tz)):
        if end is not None and when > end:
            break
        out.append(when)
        if len(out) == count:
            break
    return out


def _cron_times(cron: Cron, tz: zoneinfo.ZoneInfo, after: dt.datetime) -> Iterator[dt.datetime]:
    day = after.date()
    for _ in range(366 * MAX_YEARS):
        if cron.day_matches(day):
            for hour in cron.hours:
                for minute in cron.minutes:
                    when = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                    if when > after:
                        yield when
        day += dt.timedelta(days=1)


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def describe(expression: str, timezone: str) -> str:
    """The schedule in words, e.g. 'every Wednesday at 14:00 America/New_York'."""
    kind, body = _parts(expression)
    if kind == "rate":
        return f"every {body} (counted from when the schedule was created)"
    if kind == "at":
        when = dt.datetime.fromisoformat(body)
        return f"once, on {when:%Y-%m-%d} at {when:%H:%M} {timezone}"
    minutes, hours, dom, month, dow, year = body.split()
    simple = re.fullmatch(r"\d+", minutes) and re.fullmatch(r"\d+", hours) and month == "*" and year == "*"
    if simple:
        at = f"at {int(hours):02d}:{int(minutes):02d} {timezone}"
        if dom == "?" and dow == "*":
            return f"every day {at}"
        if dom == "?" and re.fullmatch(r"[A-Za-z0-9,-]+", dow):
            days = sorted(_expand(dow, 1, 7, _DAYS))
            return f"every {_join([DAY_NAMES[d - 1] for d in days])} {at}"
        if dow == "?" and dom == "*":
            return f"every day {at}"
        if dow == "?" and re.fullmatch(r"\d+", dom):
            return f"on day {int(dom)} of every month {at}"
    return f"{expression} in {timezone}"
