"""Property-based tests of generators/rules.py, and determinism of rendering."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wm.config import checks as rules

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- fargate_size ------------------------------------------------------------------------------

VALID_PAIRS = [(c, m) for c, mems in rules.FARGATE_SIZES.items() for m in mems]
cpus = st.one_of(st.sampled_from(sorted(rules.FARGATE_SIZES)), st.integers(-1, 20000))
memories = st.one_of(st.sampled_from(sorted({m for _, m in VALID_PAIRS})), st.integers(-1, 130000))


@FAST
@given(cpu=cpus, memory=memories)
def test_fargate_size_accepts_exactly_the_table(cpu, memory):
    problem = rules.fargate_size(cpu, memory)
    assert (problem is None) == ((cpu, memory) in VALID_PAIRS)
    if cpu in rules.FARGATE_SIZES and problem:
        listed = problem.split("use one of ", 1)[1]
        assert listed == ", ".join(map(str, rules.FARGATE_SIZES[cpu]))
        assert f"memory {memory}" in problem
    elif problem:
        assert problem.startswith(f"cpu {cpu} is not a Fargate size")
        assert ", ".join(map(str, rules.FARGATE_SIZES)) in problem


@FAST
@given(pair=st.sampled_from(VALID_PAIRS))
def test_fargate_size_accepts_every_table_pair(pair):
    assert rules.fargate_size(*pair) is None


# --- schedule_expression -------------------------------------------------------------------------

def _numbers(low, high):
    return st.integers(low, high).map(str)


def _range(low, high, names=()):
    values = st.integers(low, high)

    def show(v):
        return names[v - low] if names else str(v)

    pair = st.tuples(values, values).map(sorted)
    plain = pair.map(lambda ab: f"{ab[0]}-{ab[1]}")
    if not names:
        return plain
    return st.one_of(plain, pair.map(lambda ab: f"{show(ab[0])}-{show(ab[1])}"))


def _single(low, high, names=()):
    named = [st.sampled_from(names), st.sampled_from(names).map(str.lower)] if names else []
    return st.one_of(_numbers(low, high), _range(low, high, names), *named)


def _cron_field(low, high, names=()):
    single = _single(low, high, names)
    steps = st.integers(1, high - low + 1).map(str)
    step_base = st.one_of(st.just("*"), _numbers(low, high), _range(low, high))
    stepped = st.tuples(step_base, steps).map("/".join)
    listed = st.lists(single, min_size=2, max_size=4).map(",".join)
    return st.one_of(st.just("*"), single, stepped, listed)


MINUTES = _cron_field(0, 59)
HOURS = _cron_field(0, 23)
DAY_OF_MONTH = _cron_field(1, 31)
MONTH = _cron_field(1, 12, tuple("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()))
DAY_OF_WEEK = _cron_field(1, 7, tuple("SUN MON TUE WED THU FRI SAT".split()))
YEAR = _cron_field(1970, 2199)


@st.composite
def valid_crons(draw):
    dom_is_any = draw(st.booleans())
    dom = "?" if dom_is_any else draw(DAY_OF_MONTH)
    dow = draw(DAY_OF_WEEK) if dom_is_any else "?"
    fields = [draw(MINUTES), draw(HOURS), dom, draw(MONTH), dow, draw(YEAR)]
    return f"cron({' '.join(fields)})"


@FAST
@given(valid_crons())
def test_every_generated_cron_is_accepted(expr):
    assert rules.schedule_expression(expr) is None


@FAST
@given(valid_crons())
def test_cron_with_both_or_neither_day_field_is_refused(expr):
    fields = expr[5:-1].split()
    both = fields.copy()
    if both[2] == "?":
        both[2] = "1"
    else:
        both[4] = "MON"
    neither = fields.copy()
    neither[2] = neither[4] = "?"
    for f in (both, neither):
        problem = rules.schedule_expression(f"cron({' '.join(f)})")
        assert problem and "exactly one of day-of-month and day-of-week must be '?'" in problem


@FAST
@given(valid_crons(), st.integers(0, 12).filter(lambda n: n != 6), st.data())
def test_cron_with_wrong_field_count_is_refused(expr, count, data):
    fields = expr[5:-1].split()
    if count < 6:
        fields = fields[:count]
    else:
        fields += data.draw(st.lists(st.sampled_from(["*", "0", "?", "1-5"]),
                                     min_size=count - 6, max_size=count - 6))
    problem = rules.schedule_expression(f"cron({' '.join(fields)})")
    assert problem and f"has {count} fields, cron needs 6" in problem


UNITS = ("minute", "hour", "day")


@FAST
@given(st.integers(1, 100_000), st.sampled_from(UNITS))
def test_every_rate_with_the_right_unit_form_is_accepted(n, unit):
    right = unit if n == 1 else unit + "s"
    wrong = unit + "s" if n == 1 else unit
    assert rules.schedule_expression(f"rate({n} {right})") is None
    problem = rules.schedule_expression(f"rate({n} {wrong})")
    assert problem and "singular unit for 1 and the plural otherwise" in problem


@FAST
@given(st.sampled_from(UNITS), st.booleans())
def test_rate_zero_is_refused(unit, plural):
    problem = rules.schedule_expression(f"rate(0 {unit}{'s' if plural else ''})")
    assert problem and "positive whole number" in problem


@FAST
@given(st.datetimes())
def test_every_at_datetime_is_accepted(when):
    if when.year >= 1000:
        assert rules.schedule_expression(f"at({when:%Y-%m-%dT%H:%M:%S})") is None


@FAST
@given(st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99),
       st.integers(0, 99), st.integers(0, 99))
def test_at_accepts_exactly_the_datetimes_that_exist(year, month, day, hour, minute, second):
    try:
        dt.datetime(year, month, day, hour, minute, second)
        exists = True
    except ValueError:
        exists = False
    expr = f"at({year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02})"
    assert (rules.schedule_expression(expr) is None) == exists


# Arbitrary text, and text shaped like an expression around arbitrary pieces; digit-like
# characters that str.isdigit() accepts but int() refuses ('\u00b2') are drawn on purpose.
_piece = st.one_of(st.text(max_size=12), st.text(alphabet="0123456789\u00b2\u00b9\u0663/,-*?#LW", min_size=1,
                                                 max_size=6))
any_text = st.one_of(
    st.text(),
    st.builds(lambda k, b: f"{k}({b})", st.sampled_from(["cron", "rate", "at"]), st.text()),
    st.builds(lambda fs: f"cron({' '.join(fs)})", st.lists(_piece, min_size=6, max_size=6)),
    st.builds(lambda fs: f"cron({' '.join(fs)})",
              st.lists(st.one_of(_piece, st.sampled_from(["*", "?", "1-5", "*/5", "L", "5W", "2#3"])),
                       min_size=6, max_size=6)),
    st.builds(lambda n, u: f"rate({n} {u})", _piece, _piece),
)


@FAST
@given(any_text)
def test_schedule_expression_never_raises(text):
    result = rules.schedule_expression(text)
    assert result is None or (isinstance(result, str) and result)


def test_unicode_digits_are_refused_not_crashed():
    for expr in ("cron(\u00b2 14 ? * WED *)", "cron(0 14 ? * WED */\u00b2)",
                 "rate(\u0663 days)", "at(\u0662026-12-02T14:00:00)"):
        assert rules.schedule_expression(expr)


# --- timezone --------------------------------------------------------------------------------------

ZONES = sorted(zoneinfo.available_timezones())


def test_the_zone_database_is_there():
    assert "America/New_York" in ZONES and "UTC" in ZONES


@FAST
@given(st.sampled_from(ZONES))
def test_every_available_timezone_is_accepted(name):
    assert rules.timezone(name) is None


@FAST
@given(st.one_of(st.text(), st.sampled_from(ZONES).map(lambda z: z + "x"),
                 st.sampled_from(ZONES).map(str.swapcase)).filter(lambda s: s not in set(ZONES)))
def test_anything_else_is_not_a_timezone(name):
    problem = rules.timezone(name)
    assert problem and "America/New_York" in problem


# --- env_var_name / looks_secret ---------------------------------------------------------------------

SAFE_WORDS = ["MODEL", "NAME", "CHANNEL", "ID", "REPO", "URL", "UPSTREAM", "GIT", "USER", "EMAIL",
              "DRY", "RUN", "HUB", "SLACK", "API", "GH", "DB", "HOST", "PORT", "REGION", "KEYBOARD",
              "MONKEY", "PASSAGE", "PATH", "V2", "X"]


def _safe(word: str) -> bool:
    return word not in rules.SECRET_WORDS and not any(s in word for s in rules.SECRET_SUBSTRINGS)


assert all(_safe(w) for w in SAFE_WORDS)
words = st.one_of(st.sampled_from(SAFE_WORDS),
                  st.from_regex(r"[A-Z][A-Z0-9]{0,8}", fullmatch=True).filter(_safe))
secret_words = st.one_of(st.sampled_from(sorted(rules.SECRET_WORDS)),
                         st.builds(lambda a, s, b: a + s + b, st.sampled_from(["", "DB", "SLACK"]),
                                   st.sampled_from(rules.SECRET_SUBSTRINGS), st.sampled_from(["", "S", "2"])))
case = st.sampled_from([str.upper, str.lower, str.capitalize])


@FAST
@given(st.lists(words, max_size=4), secret_words, st.lists(words, max_size=4), case)
def test_a_name_with_a_secret_word_is_flagged(before, secret, after, how):
    name = how("_".join([*before, secret, *after]))
    assert rules.env_var_name(name) is None
    assert rules.looks_secret(name)


@FAST
@given(st.lists(words, min_size=1, max_size=5), case)
def test_a_name_of_safe_words_is_not_flagged(parts, how):
    name = how("_".join(parts))
    assert rules.env_var_name(name) is None
    assert not rules.looks_secret(name)


@FAST
@given(st.text(max_size=40))
def test_env_var_name_accepts_exactly_posix_like_names(name):
    ok = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) is not None
    problem = rules.env_var_name(name)
    assert (problem is None) == ok
    if problem:
        assert "use letters, digits and '_'" in problem


# --- secret_name ------------------------------------------------------------------------------------

SECRET_RE = r"[A-Z][A-Z0-9_]{0,127}"


@FAST
@given(st.from_regex(rf"\A{SECRET_RE}\Z"))
def test_secret_name_accepts_the_pattern(name):
    assert rules.secret_name(name) is None


near_misses = st.one_of(
    st.text(max_size=140),
    st.from_regex(rf"\A{SECRET_RE}\Z").map(str.lower).filter(lambda s: s != s.upper()),
    st.from_regex(rf"\A{SECRET_RE}\Z").flatmap(
        lambda s: st.sampled_from("-. /a$:\n").map(lambda c: s + c)),
    st.from_regex(r"\A[0-9_][A-Z0-9_]{0,20}\Z"),
    st.just("A" * 129),
    st.just(""),
)


@FAST
@given(near_misses)
def test_secret_name_refuses_anything_else(name):
    if re.fullmatch(SECRET_RE, name):
        return
    problem = rules.secret_name(name)
    assert problem and "upper-case letters, digits and '_', starting with a letter" in problem


# --- image ----------------------------------------------------------------------------------------------

component = st.from_regex(r"[a-z0-9]+([._-][a-z0-9]+)*", fullmatch=True).filter(lambda s: len(s) <= 30)
registry = st.one_of(st.just(""), st.sampled_from(["ghcr.io/", "public.ecr.aws/", "localhost:5000/",
                                                  "123456789012.dkr.ecr.us-east-1.amazonaws.com/"]))
repos = st.builds(lambda r, parts: r + "/".join(parts), registry, st.lists(component, min_size=1, max_size=3))
tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}", fullmatch=True).filter(lambda t: t != "latest")


@FAST
@given(repos, tags, st.booleans())
def test_image_with_a_tag_is_accepted(repo, tag, allow_latest):
    assert rules.image(f"{repo}:{tag}", allow_latest=allow_latest) is None


@FAST
@given(repos, st.booleans())
def test_image_without_a_tag_is_refused(repo, allow_latest):
    problem = rules.image(repo, allow_latest=allow_latest)
    assert problem and "has no tag" in problem
    assert f"e.g. {repo}:1.2" in problem


@FAST
@given(repos)
def test_latest_only_where_allowed(repo):
    problem = rules.image(f"{repo}:latest", allow_latest=False)
    assert problem and "tagged latest" in problem
    assert rules.image(f"{repo}:latest", allow_latest=True) is None
