"""EventBridge Scheduler expressions: one grammar for checking them, describing them and their next runs.

`parse("cron(0 14 ? * WED *)")` gives a `Cron` (or a `Rate`, or an `At`) or raises
`ScheduleError` saying what is wrong and what would be right; `describe()` puts a parsed
schedule in words and `next_runs()` gives its next start times as aware datetimes in
the schedule's zone. Nothing else reads an expression, so what validates can always be
described and have its next runs computed (a property test proves it).

The grammar is EventBridge Scheduler's (Scheduler user guide, "Schedule types": cron
expressions, rate expressions, one-time schedules):

    cron(minutes hours day-of-month month day-of-week year)
    minutes 0-59, hours 0-23, day-of-month 1-31, month 1-12 or JAN-DEC,
    day-of-week 1-7 or SUN-SAT (1 is Sunday), year 1970-2199;
    in every field , - * /; in day-of-month also ? L W; in day-of-week also ? L #;
    exactly one of day-of-month and day-of-week is ?.

Refused although AWS might accept them, because they are easily misread: a range that
wraps around (FRI-MON, 50-10: write FRI-SAT,SUN-MON or 50-59,0-10), and L, W or # inside a
list. A schedule that can never fire (the 30th of February) is refused too.

Daylight saving time follows Scheduler's rules ("Daylight saving time" in the same guide):
a local time the clocks skip in spring is skipped, a local time they repeat in autumn runs
once.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]  # cron 1-7
MONTH_NAMES = [calendar.month_name[i] for i in range(1, 13)]
_MONTHS = {calendar.month_abbr[i].upper(): i for i in range(1, 13)}
_DAYS = {d[:3].upper(): i + 1 for i, d in enumerate(DAY_NAMES)}
YEARS = (1970, 2199)
HINT = ("use cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 14 ? * WED *), "
        "or rate(7 days), or at(2026-12-02T14:00:00)")
LOOKAHEAD_YEARS = 28  # the calendar repeats its weekdays and leap years within 28 years


class ScheduleError(ValueError):
    """What is wrong with an expression and what would be right."""


# --- the parsed forms ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Rate:
    value: int
    unit: str  # minute(s), hour(s), day(s)


@dataclass(frozen=True)
class At:
    when: dt.datetime  # naive: a local time in the schedule's zone


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None       # day-of-month numbers; None when the field is ?
    last_day: bool                    # L: the last day of the month
    last_weekday: bool                # LW: the last weekday of the month
    nearest_weekday: int | None       # nW: the weekday nearest to day n
    months: frozenset[int]
    weekdays: frozenset[int] | None   # day-of-week numbers 1-7; None when the field is ?
    last_of_weekday: int | None       # nL: the last such weekday of the month (L alone: Saturday)
    nth_weekday: tuple[int, int] | None  # (weekday, n) for n#k
    years: frozenset[int]
    text: tuple[str, ...]             # the six fields as written

    def day_matches(self, day: dt.date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        if self.weekdays is None and self.last_of_weekday is None and self.nth_weekday is None:
            if self.last_day:
                return day.day == last
            if self.last_weekday:
                return day == _nearest_weekday(day.replace(day=last))
            if self.nearest_weekday is not None:
                return day == _nearest_weekday(day.replace(day=min(self.nearest_weekday, last)))
            return day.day in self.days
        weekday = day.isoweekday() % 7 + 1  # SUN=1 .. SAT=7
        if self.last_of_weekday is not None:
            return weekday == self.last_of_weekday and day.day + 7 > last
        if self.nth_weekday is not None:
            wanted, n = self.nth_weekday
            return weekday == wanted and (day.day - 1) // 7 + 1 == n
        return weekday in self.weekdays


def _nearest_weekday(day: dt.date) -> dt.date:
    """The weekday nearest `day` within its month (Quartz's W rule, which Scheduler follows)."""
    if day.weekday() == 5:  # Saturday -> Friday, unless that leaves the month
        before = day - dt.timedelta(days=1)
        return before if before.month == day.month else day + dt.timedelta(days=2)
    if day.weekday() == 6:  # Sunday -> Monday, unless that leaves the month
        after = day + dt.timedelta(days=1)
        return after if after.month == day.month else day - dt.timedelta(days=2)
    return day


# --- parsing --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict


_FIELDS = (_Field("minutes", 0, 59, {}), _Field("hours", 0, 23, {}), _Field("day-of-month", 1, 31, {}),
           _Field("month", 1, 12, _MONTHS), _Field("day-of-week", 1, 7, _DAYS), _Field("year", *YEARS, {}))


def _value(f: _Field, token: str, whole: str) -> int:
    if token.upper() in f.names:
        return f.names[token.upper()]
    if not (token.isascii() and token.isdigit()):
        words = f" or {', '.join(list(f.names)[:3])}, ..." if f.names else ""
        raise ScheduleError(f"{f.name} field {whole!r}: {token!r} is not a number in {f.low}-{f.high}{words}")
    n = int(token)
    if not f.low <= n <= f.high:
        raise ScheduleError(f"{f.name} field {whole!r}: {token!r} is not in {f.low}-{f.high}")
    return n


def _values(f: _Field, text: str) -> frozenset[int]:
    """A plain numeric field: *, a, a-b, */n, a/n, a-b/n, and lists of those."""
    out: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"{f.name} field {text!r}: an empty item in a list")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not (step_text.isascii() and step_text.isdigit() and int(step_text) > 0):
                raise ScheduleError(f"{f.name} field {text!r}: step {step_text!r} must be a positive number")
            step = int(step_text)
            if step > f.high - f.low + 1:
                raise ScheduleError(f"{f.name} field {text!r}: step {step} is larger than the field's range "
                                    f"{f.low}-{f.high}")
        if base == "*":
            lo, hi = f.low, f.high
        elif "-" in base:
            a, _, b = base.partition("-")
            lo, hi = _value(f, a, text), _value(f, b, text)
            if lo > hi:
                high, low = (_name(f, f.high), _name(f, f.low)) if a.upper() in f.names else (f.high, f.low)
                raise ScheduleError(f"{f.name} field {text!r}: the range {base} runs backwards; a range that "
                                    f"wraps around is easily misread: write it as two, e.g. "
                                    f"{a}-{high},{low}-{b}")
        else:
            lo = _value(f, base, text)
            hi = f.high if slash else lo
        out.update(range(lo, hi + 1, step))
    return frozenset(out)


def _name(f: _Field, n: int) -> str:
    return next((k for k, v in f.names.items() if v == n), str(n)) if f.names else str(n)


_SPECIAL = re.compile(r"[LW#]")


def _special(f: _Field, text: str) -> bool:
    """Whether the field uses L, W or # (a day name such as WED is not a W)."""
    return "#" in text or any(token.upper() not in f.names and _SPECIAL.search(token.upper())
                              for token in re.split(r"[,/-]", text))


def _cron(body: str, expression: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleError(f"{expression!r} has {len(fields)} fields, cron needs 6; {HINT}")
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?', "
                            "e.g. cron(0 14 ? * WED *)")
    f_dom, f_dow = _FIELDS[2], _FIELDS[4]
    days, last_day, last_weekday, nearest = None, False, False, None
    weekdays, last_of, nth = None, None, None
    if dom != "?":
        if _special(f_dom, dom) and "," in dom:
            raise ScheduleError(f"day-of-month field {dom!r}: L and W stand alone in their field, not in a list")
        if dom == "L":
            last_day = True
        elif dom == "LW":
            last_weekday = True
        elif m := re.fullmatch(r"(\d{1,2})W", dom):
            nearest = _value(f_dom, m.group(1), dom)
        elif _special(f_dom, dom):
            raise ScheduleError(f"day-of-month field {dom!r}: use L (last day), LW (last weekday) or nW "
                                "(weekday nearest day n), e.g. 15W")
        else:
            days = _values(f_dom, dom)
    if dow != "?":
        if _special(f_dow, dow) and "," in dow:
            raise ScheduleError(f"day-of-week field {dow!r}: L and # stand alone in their field, not in a list")
        if dow == "L":  # by itself: the last day of the week, Saturday (EventBridge and Quartz cron)
            weekdays = frozenset({7})
        elif m := re.fullmatch(r"(\w+)L", dow):
            last_of = _value(f_dow, m.group(1), dow)
        elif m := re.fullmatch(r"(\w+)#(\w+)", dow):
            if not (m.group(2).isascii() and m.group(2).isdigit() and 1 <= int(m.group(2)) <= 5):
                raise ScheduleError(f"day-of-week field {dow!r}: the n of day#n is 1 to 5")
            nth = (_value(f_dow, m.group(1), dow), int(m.group(2)))
        elif _special(f_dow, dow):
            raise ScheduleError(f"day-of-week field {dow!r}: use dayL (last such day of the month) or day#n "
                                "(its n-th), e.g. 6L or 4#2")
        else:
            weekdays = _values(f_dow, dow)
    cron = Cron(_values(_FIELDS[0], minutes), _values(_FIELDS[1], hours), days, last_day, last_weekday, nearest,
                _values(_FIELDS[3], month), weekdays, last_of, nth, _values(_FIELDS[5], year), tuple(fields))
    this_year = dt.date.today().year
    if max(cron.years) < this_year:
        raise ScheduleError(f"{expression!r} never fires: the years it allows are all in the past; write * "
                            f"for every year, or the years it should run in, e.g. {this_year}-{this_year + 1}")
    if not any(_day_in_year(cron, y) for y in sorted(cron.years) if y >= this_year):
        raise ScheduleError(f"{expression!r} never fires: no day matches both its day and month fields "
                            f"(e.g. the 30th of February) in the years it allows")
    return cron


def _day_in_year(cron: Cron, year: int) -> bool:
    """Whether any day of `year` matches the day and month fields (each year checked on its own: a
    leap day may be allowed only in a year far from today)."""
    return any(cron.day_matches(dt.date(year, month, d)) for month in sorted(cron.months)
               for d in range(1, calendar.monthrange(year, month)[1] + 1))


def parse(expression: str) -> Cron | Rate | At:
    """The expression, parsed; ScheduleError says what is wrong and what would be right."""
    if not isinstance(expression, str):
        raise ScheduleError(f"{expression!r} is not a schedule expression; {HINT}")
    m = re.fullmatch(r"(cron|rate|at)\((.*)\)", expression.strip())
    if not m:
        raise ScheduleError(f"{expression!r} is not a schedule expression; {HINT}")
    kind, body = m.groups()
    if kind == "rate":
        r = re.fullmatch(r"([0-9]+) (minute|minutes|hour|hours|day|days)", body)
        if not r or int(r.group(1)) < 1:
            raise ScheduleError(f"{expression!r}: rate needs a positive whole number and a unit, e.g. rate(7 days)")
        if (int(r.group(1)) == 1) != (not r.group(2).endswith("s")):
            raise ScheduleError(f"{expression!r}: use the singular unit for 1 and the plural otherwise, "
                                "e.g. rate(1 day)")
        return Rate(int(r.group(1)), r.group(2))
    if kind == "at":
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}", body):
                raise ValueError
            return At(dt.datetime.strptime(body, "%Y-%m-%dT%H:%M:%S"))
        except ValueError:  # also a date or time that does not exist, e.g. month 13
            raise ScheduleError(f"{expression!r}: at needs yyyy-mm-ddThh:mm:ss, e.g. at(2026-12-02T14:00:00)") from None
    return _cron(body, expression)


def check(expression: str) -> str | None:
    """None when Scheduler takes the expression, else what is wrong and what would be right."""
    try:
        parse(expression)
    except ScheduleError as err:
        return str(err)
    return None


# --- next runs ----------------------------------------------------------------------------------------

def _first_day(cron: Cron, start: dt.date) -> dt.date | None:
    """The first day on or after `start` that the day fields match, within the lookahead; None if none."""
    year, month = start.year, start.month
    for _ in range(12 * LOOKAHEAD_YEARS):
        if year > YEARS[1]:
            return None
        if year in cron.years and month in cron.months:
            first = start.day if (year, month) == (start.year, start.month) else 1
            for d in range(first, calendar.monthrange(year, month)[1] + 1):
                if cron.day_matches(dt.date(year, month, d)):
                    return dt.date(year, month, d)
        month = month % 12 + 1
        year += month == 1
    return None


def _exists(when: dt.datetime) -> bool:
    """Whether a local wall-clock time happens at all (not skipped by a spring-forward change)."""
    back = when.astimezone(dt.UTC).astimezone(when.tzinfo)
    return back.replace(tzinfo=None) == when.replace(tzinfo=None)


def _cron_times(cron: Cron, tz: zoneinfo.ZoneInfo, after: dt.datetime) -> Iterator[dt.datetime]:
    day = after.date()
    while True:
        day = _first_day(cron, day)
        if day is None:
            return
        for hour in sorted(cron.hours):
            for minute in sorted(cron.minutes):
                when = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)  # fold=0: the first
                # Compared as instants: Python compares two times of one zone by wall clock, ignoring fold.
                if when.timestamp() > after.timestamp() and _exists(when):
                    yield when
        day += dt.timedelta(days=1)


def next_runs(schedule: Cron | Rate | At | str, timezone: str, after: dt.datetime, count: int = 3,
              start: dt.datetime | None = None, end: dt.datetime | None = None) -> list[dt.datetime]:
    """The next `count` start times strictly after `after` (aware), within [start, end].

    rate() schedules count from when they were created, which only AWS knows: none are given.
    """
    if isinstance(schedule, str):
        schedule = parse(schedule)
    tz = zoneinfo.ZoneInfo(timezone)
    lower = max(after, start) if start else after
    if isinstance(schedule, Rate):
        return []
    if isinstance(schedule, At):
        when = schedule.when.replace(tzinfo=tz)
        inside = when.timestamp() > lower.timestamp() and (end is None or when.timestamp() <= end.timestamp())
        return [when] if inside else []
    out: list[dt.datetime] = []
    for when in _cron_times(schedule, tz, lower.astimezone(tz)):
        if end is not None and when.timestamp() > end.timestamp():
            break
        out.append(when)
        if len(out) == count:
            break
    return out


def count_runs(schedule: Cron | Rate | At | str, timezone: str, start: dt.datetime, end: dt.datetime) -> int:
    """How many start times fall in (start, end], without listing them: a cron that fires every
    minute still counts a year in milliseconds (whole days are days x times a day; only the first,
    the last and daylight-saving days are walked). rate() counts from creation: 0, as next_runs."""
    if isinstance(schedule, str):
        schedule = parse(schedule)
    if not isinstance(schedule, Cron):
        return len(next_runs(schedule, timezone, start, 1, end=end))
    tz = zoneinfo.ZoneInfo(timezone)
    start, end = start.astimezone(tz), end.astimezone(tz)
    per_day = len(schedule.hours) * len(schedule.minutes)
    total, day = 0, start.date()
    while day <= end.date():
        day = _first_day(schedule, day)
        if day is None or day > end.date():
            break
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
        following = midnight + dt.timedelta(days=1)
        plain = midnight.utcoffset() == following.utcoffset() and start < midnight and following <= end
        if plain:  # no clock change and wholly inside the window
            total += per_day
        else:
            after = max(start, midnight - dt.timedelta(microseconds=1))
            for when in _cron_times(schedule, tz, after):
                if when.date() != day or when.timestamp() > end.timestamp():
                    break
                total += 1
        day += dt.timedelta(days=1)
    return total


# --- in words -------------------------------------------------------------------------------------------

def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _times(cron: Cron) -> str:
    if len(cron.hours) * len(cron.minutes) <= 4:
        return "at " + _join([f"{h:02d}:{m:02d}" for h in sorted(cron.hours) for m in sorted(cron.minutes)])
    minutes = "every minute" if len(cron.minutes) == 60 else f"at minute {_join([str(m) for m in sorted(cron.minutes)])}"
    hours = "of every hour" if len(cron.hours) == 24 else f"of hour {_join([str(h) for h in sorted(cron.hours)])}"
    return f"{minutes} {hours}"


def _days(cron: Cron) -> str:
    if cron.weekdays is not None:
        return "every day" if len(cron.weekdays) == 7 else "every " + _join([DAY_NAMES[d - 1] for d in sorted(cron.weekdays)])
    if cron.last_of_weekday is not None:
        return f"on the last {DAY_NAMES[cron.last_of_weekday - 1]} of the month"
    if cron.nth_weekday is not None:
        d, n = cron.nth_weekday
        return f"on the {_ordinal(n)} {DAY_NAMES[d - 1]} of the month"
    if cron.last_day:
        return "on the last day of the month"
    if cron.last_weekday:
        return "on the last weekday of the month"
    if cron.nearest_weekday is not None:
        return f"on the weekday nearest the {_ordinal(cron.nearest_weekday)} of the month"
    return "every day" if len(cron.days) == 31 else f"on day {_join([str(d) for d in sorted(cron.days)])} of the month"


def describe(schedule: Cron | Rate | At | str, timezone: str) -> str:
    """The schedule in words, e.g. 'every Wednesday at 14:00 America/New_York'."""
    if isinstance(schedule, str):
        schedule = parse(schedule)
    if isinstance(schedule, Rate):
        return f"every {schedule.value} {schedule.unit} (counted from when the schedule was created)"
    if isinstance(schedule, At):
        return f"once, on {schedule.when:%Y-%m-%d} at {schedule.when:%H:%M} {timezone}"
    words = f"{_days(schedule)} {_times(schedule)} {timezone}"
    if len(schedule.months) < 12:
        words += ", in " + _join([MONTH_NAMES[m - 1] for m in sorted(schedule.months)])
    if len(schedule.years) < YEARS[1] - YEARS[0] + 1:
        years = sorted(schedule.years)
        words += f", in {years[0]}" if len(years) == 1 else f", in {years[0]}-{years[-1]}" \
            if years == list(range(years[0], years[-1] + 1)) else ", in " + _join([str(y) for y in years])
    return words


# --- seasons ------------------------------------------------------------------------------------------

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


NO_SEASON = SeasonWindow(None, None, False, None)


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
