"""The one schedule grammar, proved on generated expressions: whatever validates can be described and has
next runs, and those runs are exactly the ones an independent reading of the fields gives, across DST.

Each generated field carries its meaning (the set of values, or L / LW / nW / dayL / day#n), so the
expected runs come from the generator, not from wm.config.schedules. The reading follows EventBridge
Scheduler's user guide ("Cron expressions", "Daylight saving time") and Quartz, whose cron it follows:
1 is Sunday; nW is the weekday nearest day n within the month; a local time the clocks skip is skipped,
one they repeat runs once.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import zoneinfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wm.config import schedules
from wm.config.schedules import ScheduleError, describe, next_runs

UTC = dt.UTC
TODAY = dt.date.today()
Y = TODAY.year + 1  # next year's DST changes: in the future of the checks whenever the suite runs
ZONES = ("America/New_York", "Europe/London", "Australia/Sydney")
MONTHS = tuple(calendar.month_abbr[i].upper() for i in range(1, 13))
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # cron 1-7
PROVE = settings(max_examples=180, derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# --- the oracle: what a parsed field means, computed without the module -------------------------------

def weekday(day: dt.date) -> int:
    return day.isoweekday() % 7 + 1  # SUN=1 .. SAT=7


def nearest_weekday(day: dt.date) -> dt.date:
    """Quartz's W: Saturday -> Friday and Sunday -> Monday, unless that leaves the month."""
    last = calendar.monthrange(day.year, day.month)[1]
    if day.weekday() == 5:
        return day - dt.timedelta(days=1) if day.day > 1 else day + dt.timedelta(days=2)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1) if day.day < last else day - dt.timedelta(days=2)
    return day


def day_matches(meaning: dict, day: dt.date) -> bool:
    if day.year not in meaning["years"] or day.month not in meaning["months"]:
        return False
    last = calendar.monthrange(day.year, day.month)[1]
    kind, *args = meaning["dom"] if meaning["dom"][0] != "?" else meaning["dow"]
    if kind == "days":
        return day.day in args[0]
    if kind == "L":
        return day.day == last
    if kind == "LW":  # the month's last Monday-Friday
        return day.day == max(d for d in range(last - 2, last + 1) if dt.date(day.year, day.month, d).weekday() < 5)
    if kind == "W":  # day n, or the month's last day when it is shorter (the module's reading; Quartz is silent)
        return day == nearest_weekday(day.replace(day=min(args[0], last)))
    if kind == "weekdays":
        return weekday(day) in args[0]
    if kind == "lastof":
        return weekday(day) == args[0] and day.day + 7 > last
    if kind == "nth":
        return weekday(day) == args[0] and (day.day - 1) // 7 + 1 == args[1]
    raise AssertionError(kind)


def window_years() -> range:
    """The years a schedule is judged on: from last year, 28 years on (the calendar repeats in 28)."""
    return range(TODAY.year - 1, TODAY.year - 1 + 28)


def fires(meaning: dict) -> bool:
    """Whether any day of an allowed year from this year on matches (AWS keeps a schedule until 2199)."""
    for year in range(TODAY.year, 2200):
        if year not in meaning["years"]:
            continue
        for month in sorted(meaning["months"]):
            for d in range(1, calendar.monthrange(year, month)[1] + 1):
                if day_matches(meaning, dt.date(year, month, d)):
                    return True
    return False


def exists(local: dt.datetime) -> bool:
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def expected_runs(meaning: dict, zone: str, after: dt.datetime, until: dt.date) -> list[dt.datetime]:
    """Every start after `after` up to the end of local day `until`: skipped local times left out, a
    repeated one once (its first occurrence, fold=0)."""
    tz = zoneinfo.ZoneInfo(zone)
    day, out = after.astimezone(tz).date(), []
    while day <= until:
        if day_matches(meaning, day):
            for h in sorted(meaning["hours"]):
                for m in sorted(meaning["minutes"]):
                    local = dt.datetime(day.year, day.month, day.day, h, m, tzinfo=tz)
                    if exists(local) and local.astimezone(UTC) > after.astimezone(UTC):
                        out.append(local)
        day += dt.timedelta(days=1)
    return sorted(out, key=lambda t: t.astimezone(UTC))


def transitions(zone: str, year: int) -> list[dt.datetime]:
    """The UTC instants in `year` at which the zone's offset changes (from the tz database)."""
    tz, out = zoneinfo.ZoneInfo(zone), []
    t = dt.datetime(year, 1, 1, tzinfo=UTC)
    while t.year == year:
        nxt = t + dt.timedelta(hours=1)
        if t.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            out.append(nxt)
        t = nxt
    return out


TRANSITIONS = {zone: transitions(zone, Y) for zone in ZONES}


# --- the generator: text and meaning together ------------------------------------------------------------

def _show(v: int, low: int, names, draw) -> str:
    if names and draw(st.booleans()):
        return draw(st.sampled_from([str.upper, str.lower, str.capitalize]))(names[v - low])
    return str(v)


@st.composite
def field(draw, low, high, names=(), pick=None, items=True):
    """(text, values) for a numeric field of range low-high: *, n, a-b, */k, n/k, a-b/k, lists of those.
    `pick` narrows the numbers written (years near Y); * and open steps still span the field."""
    lo, hi = pick or (low, high)
    value = st.integers(lo, hi)

    @st.composite
    def item(draw, allow_star):
        kind = draw(st.sampled_from(["one", "range", "step"] + (["star"] if allow_star else [])))
        if kind == "star":
            return "*", set(range(low, high + 1))
        if kind == "one":
            v = draw(value)
            return _show(v, low, names, draw), {v}
        a, b = sorted((draw(value), draw(value)))
        if kind == "range":
            return f"{_show(a, low, names, draw)}-{_show(b, low, names, draw)}", set(range(a, b + 1))
        k = draw(st.integers(1, high - low + 1))
        base = draw(st.sampled_from(["*", "n", "a-b"]))
        if base == "*":
            return f"*/{k}", set(range(low, high + 1, k))
        if base == "n":
            return f"{_show(a, low, names, draw)}/{k}", set(range(a, high + 1, k))
        return f"{_show(a, low, names, draw)}-{_show(b, low, names, draw)}/{k}", set(range(a, b + 1, k))

    if items and draw(st.integers(0, 3)) == 0:
        parts = draw(st.lists(item(False), min_size=2, max_size=4))
        return ",".join(t for t, _ in parts), set().union(*(v for _, v in parts))
    return draw(item(True))


@st.composite
def day_of_month(draw):
    kind = draw(st.sampled_from(["days", "days", "L", "LW", "W"]))
    if kind == "days":
        text, values = draw(field(1, 31))
        return text, ("days", values)
    if kind == "W":
        n = draw(st.integers(1, 31))
        return f"{n}W", ("W", n)
    return kind, (kind,)


@st.composite
def day_of_week(draw):
    # Bare L has its own test: test_bare_L_in_day_of_week_is_every_saturday.
    kind = draw(st.sampled_from(["weekdays", "weekdays", "lastof", "nth"]))
    if kind == "weekdays":
        text, values = draw(field(1, 7, DAYS))
        return text, ("weekdays", values)
    d = draw(st.integers(1, 7))
    if kind == "lastof":
        return f"{_show(d, 1, DAYS, draw)}L", ("lastof", d)
    n = draw(st.integers(1, 5))
    return f"{_show(d, 1, DAYS, draw)}#{n}", ("nth", d, n)


@st.composite
def crons(draw):
    minutes, mins = draw(field(0, 59))
    hours, hrs = draw(field(0, 23))
    # The hours around the changes, often: that is where DST bites.
    if draw(st.booleans()):
        hrs = set(draw(st.lists(st.integers(0, 4), min_size=1, max_size=3)))
        hours = ",".join(map(str, sorted(hrs)))
    months, mons = draw(field(1, 12, MONTHS))
    years, yrs = draw(st.one_of(st.just(("*", set(range(1970, 2200)))),
                                field(1970, 2199, pick=(Y - 1, Y + 4))))
    dense = draw(st.booleans())  # every day of every month: runs fall on the DST change days themselves
    if dense:
        months, mons = "*", set(range(1, 13))
    if draw(st.booleans()):
        dom, dom_meaning = ("*", ("days", set(range(1, 32)))) if dense else draw(day_of_month())
        dow, dow_meaning = "?", ("?",)
    else:
        dom, dom_meaning = "?", ("?",)
        dow, dow_meaning = ("*", ("weekdays", set(range(1, 8)))) if dense else draw(day_of_week())
    text = f"cron({minutes} {hours} {dom} {months} {dow} {years})"
    return text, {"minutes": mins, "hours": hrs, "months": mons, "years": yrs, "dom": dom_meaning,
                  "dow": dow_meaning}


@st.composite
def afters(draw):
    """A zone and a moment near one of its DST changes next year (minutes to days either side)."""
    zone = draw(st.sampled_from(ZONES))
    change = draw(st.sampled_from(TRANSITIONS[zone]))
    minutes = draw(st.one_of(st.integers(-180, 60), st.integers(-4 * 1440, 4 * 1440)))
    after = change + dt.timedelta(minutes=minutes, seconds=draw(st.sampled_from([0, 0, 1, 59])))
    # A moment in the repeated hour finds a run before it: test_no_run_before_a_moment_in_the_repeated_hour.
    assume(after.astimezone(zoneinfo.ZoneInfo(zone)).fold == 0)
    return zone, after


# --- the property ----------------------------------------------------------------------------------------------

@PROVE
@given(crons(), afters())
def test_what_validates_is_described_and_runs_exactly_when_its_fields_say(cron, when):
    text, meaning = cron
    zone, after = when
    problem = schedules.check(text)
    assert (problem is None) == fires(meaning), (text, problem)
    if problem is not None:
        assert "never fires" in problem
        return
    words = describe(text, zone)
    assert words and zone in words
    if len(meaning["hours"]) * len(meaning["minutes"]) <= 4:  # few times: each is written out
        assert all(f"{h:02d}:{m:02d}" in words for h in meaning["hours"] for m in meaning["minutes"]), words

    runs = next_runs(text, zone, after, count=3)
    instants = [r.astimezone(UTC) for r in runs]
    assert instants == sorted(instants) and len(set(instants)) == len(instants)
    for r in runs:
        assert r.tzinfo is not None and r.utcoffset() is not None and r.tzinfo.key == zone
        assert r.astimezone(UTC) > after
        assert r.second == 0 and r.minute in meaning["minutes"] and r.hour in meaning["hours"]
        assert day_matches(meaning, r.date()) and exists(r)
    # Nothing skipped, nothing extra: up to the last run given, or (fewer than 3) to the last year allowed.
    last_year = min(max(meaning["years"]), window_years()[-1])
    until = runs[-1].date() if len(runs) == 3 else dt.date(last_year, 12, 31)
    assert instants == [e.astimezone(UTC) for e in expected_runs(meaning, zone, after, until)[:3]], text


@st.composite
def refused(draw):
    """A valid expression broken one way the grammar documents as refused."""
    text, _ = draw(crons())
    f = text[5:-1].split()
    how = draw(st.sampled_from(["wrap-minutes", "wrap-days", "wrap-months", "L-list", "W-list", "#-list",
                                "both", "neither", "fields", "nth6", "range", "feb30", "step0"]))
    day = 2 if f[2] != "?" else 4
    if how == "wrap-minutes":
        f[0] = "50-10"
    elif how == "wrap-days":
        f[2], f[4] = "?", "FRI-MON"
    elif how == "wrap-months":
        f[3] = "NOV-FEB"
    elif how == "L-list":
        f[2], f[4] = "L,15", "?"
    elif how == "W-list":
        f[2], f[4] = "1W,15", "?"
    elif how == "#-list":
        f[2], f[4] = "?", "2#1,3"
    elif how == "both":
        f[2], f[4] = "1", "MON"
    elif how == "neither":
        f[2] = f[4] = "?"
    elif how == "fields":
        f = f[:draw(st.integers(0, 5))]
    elif how == "nth6":
        f[2], f[4] = "?", "MON#6"
    elif how == "range":
        f[day] = "32" if day == 2 else "8"
    elif how == "feb30":
        f[2], f[3], f[4] = "30", "FEB", "?"
    elif how == "step0":
        f[1] = "*/0"
    return f"cron({' '.join(f)})", how


@settings(PROVE, max_examples=80)
@given(refused())
def test_what_is_refused_says_why_and_nothing_reads_it(case):
    text, how = case
    problem = schedules.check(text)
    assert problem and isinstance(problem, str), (text, how)
    for read in (schedules.parse, lambda t: describe(t, "UTC"), lambda t: next_runs(t, "UTC", dt.datetime.now(UTC))):
        with pytest.raises(ScheduleError):
            read(text)


# --- explicit cases ------------------------------------------------------------------------------------------

def _sunday(year: int, month: int, n: int) -> dt.date:
    """The n-th Sunday of the month (n=-1: the last), from the calendar alone."""
    sundays = [d for d in range(1, calendar.monthrange(year, month)[1] + 1)
               if dt.date(year, month, d).weekday() == 6]
    return dt.date(year, month, sundays[n - 1 if n > 0 else n])


# The laws, not the tz database: US clocks go forward at 02:00 on the second Sunday of March and back at
# 02:00 on the first Sunday of November; the UK's at 01:00 UTC on the last Sundays of March and October;
# New South Wales' at 02:00 on the first Sunday of October and back at 03:00 on the first Sunday of April.
SPRING = [("America/New_York", _sunday(Y, 3, 2), 2), ("Europe/London", _sunday(Y, 3, -1), 1),
          ("Australia/Sydney", _sunday(Y, 10, 1), 2)]
AUTUMN = [("America/New_York", _sunday(Y, 11, 1), 1), ("Europe/London", _sunday(Y, 10, -1), 1),
          ("Australia/Sydney", _sunday(Y, 4, 1), 2)]


@pytest.mark.parametrize("zone,day,hour", SPRING)
def test_a_time_the_clocks_skip_is_skipped(zone, day, hour):
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), zoneinfo.ZoneInfo(zone))
    runs = next_runs(f"cron(30 {hour} * * ? *)", zone, start, 3)
    assert [r.date() for r in runs] == [day - dt.timedelta(days=1), day + dt.timedelta(days=1),
                                        day + dt.timedelta(days=2)]
    # The hour after the gap still runs that day, once.
    (on_the_day,) = [r for r in next_runs(f"cron(30 {hour},{hour + 1} * * ? *)", zone, start, 6) if r.date() == day]
    assert on_the_day.hour == hour + 1


@pytest.mark.parametrize("zone,day,hour", AUTUMN)
def test_a_time_the_clocks_repeat_runs_once(zone, day, hour):
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), zoneinfo.ZoneInfo(zone))
    runs = next_runs(f"cron(0,30 {hour} * * ? *)", zone, start, 6)
    on_the_day = [r for r in runs if r.date() == day]
    assert [r.minute for r in on_the_day] == [0, 30]  # not 0, 30, 0, 30
    gaps = {b.astimezone(UTC) - a.astimezone(UTC) for a, b in itertools.pairwise(runs)}
    assert dt.timedelta(0) not in gaps


@pytest.mark.parametrize("expression,wrapped,instead,field,meant", [
    ("cron(0 9 ? * FRI-MON *)", "FRI-MON", "FRI-SAT,SUN-MON", "weekdays", {6, 7, 1, 2}),
    ("cron(50-10 * * * ? *)", "50-10", "50-59,0-10", "minutes", {*range(50, 60), *range(0, 11)}),
    ("cron(0 9 ? NOV-FEB MON *)", "NOV-FEB", "NOV-DEC,JAN-FEB", "months", {11, 12, 1, 2}),
])
def test_a_wrapping_range_is_refused_with_the_two_ranges_to_write(expression, wrapped, instead, field, meant):
    problem = schedules.check(expression)
    assert problem and "wraps around" in problem and instead in problem
    fixed = schedules.parse(expression.replace(wrapped, instead, 1))  # the hint is itself valid ...
    assert getattr(fixed, field) == meant                              # ... and means what was meant


@pytest.mark.parametrize("expression,hint", [
    ("cron(0 9 L,15 * ? *)", "stand alone in their field, not in a list"),
    ("cron(0 9 ? * 6L,2 *)", "stand alone in their field, not in a list"),
    ("cron(0 9 ? * MON#6 *)", "the n of day#n is 1 to 5"),
    ("cron(0 9 W * ? *)", "e.g. 15W"),
    ("cron(0 9 1 * MON *)", "exactly one of day-of-month and day-of-week must be '?'"),
])
def test_a_misplaced_special_is_refused_with_what_to_write(expression, hint):
    problem = schedules.check(expression)
    assert problem and hint in problem


@pytest.mark.parametrize("expression", ["cron(0 9 30 2 ? *)", "cron(0 9 31 APR,JUN,SEP,NOV ? *)",
                                        f"cron(0 9 29 2 ? {next(y for y in range(Y, Y + 8) if not calendar.isleap(y))})"])
def test_a_schedule_that_never_fires_is_refused(expression):
    problem = schedules.check(expression)
    assert problem and "never fires" in problem and expression in problem


def test_the_29th_of_february_fires_in_leap_years_only():
    runs = next_runs("cron(0 9 29 2 ? *)", "UTC", dt.datetime(Y, 1, 1, tzinfo=UTC), 3)
    assert [r.year for r in runs] == [y for y in range(Y, Y + 13) if calendar.isleap(y)][:3]


# --- disagreements found by these tests, fixed in wm/config/schedules.py ------------------------------------

def test_bare_L_in_day_of_week_is_every_saturday():
    runs = next_runs("cron(0 9 ? * L *)", "UTC", dt.datetime(Y, 1, 1, tzinfo=UTC), 3)
    assert [(b - a).days for a, b in itertools.pairwise(runs)] == [7, 7]


@pytest.mark.parametrize("zone,day,hour", AUTUMN)
def test_no_run_before_a_moment_in_the_repeated_hour(zone, day, hour):
    tz = zoneinfo.ZoneInfo(zone)
    after = dt.datetime(day.year, day.month, day.day, hour, 30, tzinfo=tz, fold=1)  # the second pass
    runs = next_runs(f"cron(45 {hour} * * ? *)", zone, after, 3)
    assert all(r.astimezone(UTC) > after.astimezone(UTC) for r in runs), runs


def test_a_leap_day_in_a_far_year_is_not_refused():
    far = 2196  # a leap year, beyond 28 years from now
    near = next(y for y in range(Y, Y + 8) if not calendar.isleap(y))
    assert schedules.check(f"cron(0 9 29 2 ? {near},{far})") is None


# --- counting runs without listing them (make cost) ----------------------------------------------------------

@settings(PROVE, max_examples=60)
@given(crons(), afters())
def test_counted_runs_are_the_listed_runs(cron, when):
    text, _ = cron
    assume(schedules.check(text) is None)
    zone, after = when
    until = after + dt.timedelta(days=40)  # across the DST change near `after`
    listed = next_runs(text, zone, after, 100_000, end=until)
    assert schedules.count_runs(text, zone, after, until) == len(listed), text


@pytest.mark.parametrize("zone,lost", [("UTC", 0), ("America/New_York", 60), ("Australia/Lord_Howe", 30)])
def test_a_cron_of_every_minute_counts_a_year_less_the_skipped_minutes(zone, lost):
    start = dt.datetime(Y, 1, 1, tzinfo=UTC)
    days = 366 if calendar.isleap(Y) else 365
    end = start + dt.timedelta(days=days)
    # The spring-forward minutes never happen on the wall clock; the repeated autumn ones run once.
    assert schedules.count_runs("cron(* * * * ? *)", zone, start, end) == days * 24 * 60 - lost
