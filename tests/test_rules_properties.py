"""Property-based tests of wm.config.checks: each check accepts exactly what its grammar allows and says what
is wrong otherwise. The AWS tables (Fargate sizes, log retention, zones, token formats) are checked against
literal copies in test_oracle_aws_tables.py; the schedule grammar in depth in test_grammar_schedules.py."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wm.config import checks

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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


def _cron_field(low, high, names=(), star_steps=True):
    single = _single(low, high, names)
    steps = st.integers(1, high - low + 1).map(str)
    step_base = st.one_of(*([st.just("*")] if star_steps else []), _numbers(low, high), _range(low, high))
    stepped = st.tuples(step_base, steps).map("/".join)
    listed = st.lists(single, min_size=2, max_size=4).map(",".join)
    return st.one_of(st.just("*"), single, stepped, listed)


MINUTES = _cron_field(0, 59)
HOURS = _cron_field(0, 23)
# Days every month has and years from this one on: a generated cron always fires (one that never
# does is refused; test_grammar_schedules.py covers those and L, W, #).
DAY_OF_MONTH = _cron_field(1, 28)
MONTH = _cron_field(1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))
DAY_OF_WEEK = _cron_field(1, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))
YEAR = _cron_field(dt.date.today().year, 2199, star_steps=False)  # */k starts at 1970


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
    assert checks.schedule_expression(expr) is None


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
        problem = checks.schedule_expression(f"cron({' '.join(f)})")
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
    problem = checks.schedule_expression(f"cron({' '.join(fields)})")
    assert problem and f"has {count} fields, cron needs 6" in problem


UNITS = ("minute", "hour", "day")


@FAST
@given(st.integers(1, 100_000), st.sampled_from(UNITS))
def test_every_rate_with_the_right_unit_form_is_accepted(n, unit):
    right = unit if n == 1 else unit + "s"
    wrong = unit + "s" if n == 1 else unit
    assert checks.schedule_expression(f"rate({n} {right})") is None
    problem = checks.schedule_expression(f"rate({n} {wrong})")
    assert problem and "singular unit for 1 and the plural otherwise" in problem


@FAST
@given(st.sampled_from(UNITS), st.booleans())
def test_rate_zero_is_refused(unit, plural):
    problem = checks.schedule_expression(f"rate(0 {unit}{'s' if plural else ''})")
    assert problem and "positive whole number" in problem


@FAST
@given(st.datetimes())
def test_every_at_datetime_is_accepted(when):
    if when.year >= 1000:
        assert checks.schedule_expression(f"at({when:%Y-%m-%dT%H:%M:%S})") is None


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
    assert (checks.schedule_expression(expr) is None) == exists


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
    result = checks.schedule_expression(text)
    assert result is None or (isinstance(result, str) and result)


def test_unicode_digits_are_refused_not_crashed():
    for expr in ("cron(\u00b2 14 ? * WED *)", "cron(0 14 ? * WED */\u00b2)",
                 "rate(\u0663 days)", "at(\u0662026-12-02T14:00:00)"):
        assert checks.schedule_expression(expr)


# --- timezone --------------------------------------------------------------------------------------

ZONES = sorted(zoneinfo.available_timezones())  # the IANA database Scheduler takes names from


@FAST
@given(st.sampled_from(ZONES))
def test_every_available_timezone_is_accepted(name):
    assert checks.timezone(name) is None


@FAST
@given(st.one_of(st.text(), st.sampled_from(ZONES).map(lambda z: z + "x"),
                 st.sampled_from(ZONES).map(str.swapcase)).filter(lambda s: s not in set(ZONES)))
def test_anything_else_is_not_a_timezone(name):
    problem = checks.timezone(name)
    assert problem and "America/New_York" in problem


# --- env_var_name / looks_secret ---------------------------------------------------------------------

# Names of credentials as people write them (the lab's own and common ones), and harmless words that
# contain a secret word's letters; literal, so the module's own word lists are not their own oracle.
SECRET_PARTS = ["TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "CREDENTIALS", "CREDENTIAL",
                "APIKEY", "PRIVATE", "KEY", "KEYS", "PAT", "PWD", "PASS", "SLACKTOKEN", "DBPASSWORD",
                "CLIENTSECRET"]
SAFE_WORDS = ["MODEL", "NAME", "CHANNEL", "ID", "REPO", "URL", "UPSTREAM", "GIT", "USER", "EMAIL",
              "DRY", "RUN", "HUB", "SLACK", "API", "GH", "DB", "HOST", "PORT", "REGION", "KEYBOARD",
              "MONKEY", "PASSAGE", "PATH", "PATTERN", "COMPASS", "V2", "X"]
SECRET_IN = re.compile("TOKEN|SECRET|PASSW|CREDENTIAL|APIKEY|PRIVATE")  # as a substring: never harmless
SECRET_AS_WORD = {"KEY", "KEYS", "PAT", "PWD", "PASS"}                   # only as a whole '_' word


def _safe(word: str) -> bool:
    return word not in SECRET_AS_WORD and not SECRET_IN.search(word)


words = st.one_of(st.sampled_from(SAFE_WORDS),
                  st.from_regex(r"[A-Z][A-Z0-9]{0,8}", fullmatch=True).filter(_safe))
secret_words = st.one_of(st.sampled_from(SECRET_PARTS),
                         st.builds(lambda a, s, b: a + s + b, st.sampled_from(["", "DB", "SLACK"]),
                                   st.sampled_from(["TOKEN", "SECRET", "PASSWORD", "CREDENTIALS", "PRIVATE"]),
                                   st.sampled_from(["", "S", "2"])))
case = st.sampled_from([str.upper, str.lower, str.capitalize])


@pytest.mark.parametrize("name", ["GH_TOKEN", "SLACK_API_TOKEN", "GIT_CREDENTIALS", "AWS_SECRET_ACCESS_KEY",
                                  "DB_PASSWORD", "API_KEY", "GITHUB_PAT", "PRIVATE_KEY", "db_pass", "SlackToken"])
def test_the_usual_credential_names_are_flagged(name):
    assert checks.looks_secret(name)


@pytest.mark.parametrize("name", ["MODEL_NAME", "CHANNEL_ID", "REPO_URL", "GIT_USER_EMAIL", "DRY_RUN", "MONKEY",
                                  "PASSAGE_COUNT", "KEYBOARD_LAYOUT", "PATH", "PATTERN"])
def test_ordinary_names_are_not_flagged(name):
    assert not checks.looks_secret(name)


@FAST
@given(st.lists(words, max_size=4), secret_words, st.lists(words, max_size=4), case)
def test_a_name_with_a_secret_word_is_flagged(before, secret, after, how):
    name = how("_".join([*before, secret, *after]))
    assert checks.env_var_name(name) is None
    assert checks.looks_secret(name)


@FAST
@given(st.lists(words, min_size=1, max_size=5), case)
def test_a_name_of_safe_words_is_not_flagged(parts, how):
    name = how("_".join(parts))
    assert checks.env_var_name(name) is None
    assert not checks.looks_secret(name)


@FAST
@given(st.text(max_size=40))
def test_env_var_name_accepts_exactly_posix_like_names(name):
    ok = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) is not None
    problem = checks.env_var_name(name)
    assert (problem is None) == ok
    if problem:
        assert "use letters, digits and '_'" in problem


def test_a_name_with_a_trailing_newline_is_refused():
    assert checks.env_var_name("ABC\n")


# --- secret_name ------------------------------------------------------------------------------------

SECRET_RE = r"[A-Z][A-Z0-9_]{0,127}"


@FAST
@given(st.from_regex(rf"\A{SECRET_RE}\Z"))
def test_secret_name_accepts_the_pattern(name):
    assert checks.secret_name(name) is None


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
    problem = checks.secret_name(name)
    assert problem and "upper-case letters, digits and '_', starting with a letter" in problem


# --- image ----------------------------------------------------------------------------------------------

# A path component: lower-case letters and digits joined by ".", "_", "__" or runs of "-".
_alnum = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
component = st.builds(lambda first, rest: first + "".join(sep + a for sep, a in rest), _alnum,
                      st.lists(st.tuples(st.sampled_from([".", "_", "__", "-", "--", "---"]), _alnum), max_size=3))
registry = st.sampled_from(["ghcr.io/", "public.ecr.aws/", "localhost:5000/", "localhost/", "[::1]:5000/",
                            "123456789012.dkr.ecr.us-east-1.amazonaws.com/"])


def _repo(domain: str, parts: list[str]) -> str:
    # Without a registry, a first part with "." names a registry in Docker's grammar: keep it out.
    if not domain and "." in parts[0]:
        parts = [parts[0].replace(".", "-"), *parts[1:]]
    return domain + "/".join(parts)


repos = st.builds(_repo, st.one_of(st.just(""), registry), st.lists(component, min_size=1, max_size=3))
_TAG_FIRST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
tags = st.builds(str.__add__, st.sampled_from(_TAG_FIRST), st.text(_TAG_FIRST + ".-", max_size=40)).filter(
    lambda t: t != "latest")


@FAST
@given(repos, tags, st.booleans())
def test_image_with_a_tag_is_accepted(repo, tag, allow_latest):
    assert checks.image(f"{repo}:{tag}", allow_latest=allow_latest) is None


@FAST
@given(repos, st.booleans())
def test_image_without_a_tag_is_refused(repo, allow_latest):
    problem = checks.image(repo, allow_latest=allow_latest)
    assert problem and "has no tag" in problem
    assert f"e.g. {repo}:1.2" in problem


@FAST
@given(repos)
def test_latest_only_where_allowed(repo):
    problem = checks.image(f"{repo}:latest", allow_latest=False)
    assert problem and "tagged latest" in problem
    assert checks.image(f"{repo}:latest", allow_latest=True) is None


# Docker's reference grammar (distribution/reference): what the new check adds to "has a tag".

@FAST
@given(repos, tags)
def test_an_upper_case_repository_is_refused_with_the_lower_case_to_write(repo, tag):
    upper = repo.rsplit("/", 1)
    upper[-1] = upper[-1].upper()
    ref = "/".join(upper) + f":{tag}"
    if ref.lower() == f"{repo}:{tag}".lower() and "/".join(upper) != repo:
        problem = checks.image(ref, allow_latest=False)
        assert problem and "lower-case" in problem and f"write {repo}:{tag}" in problem


@FAST
@given(repos, tags, st.sampled_from([" ", "\t", "\n"]), st.data())
def test_white_space_anywhere_is_refused(repo, tag, space, data):
    ref = f"{repo}:{tag}"
    at = data.draw(st.integers(0, len(ref)))
    problem = checks.image(ref[:at] + space + ref[at:], allow_latest=True)
    assert problem and "white space" in problem


@FAST
@given(repos, st.text("0123456789abcdef", min_size=64, max_size=64), st.one_of(st.just(""), tags.map(":".__add__)))
def test_a_digest_pins_the_image_with_or_without_a_tag(repo, digest, tag):
    assert checks.image(f"{repo}{tag}@sha256:{digest}", allow_latest=False) is None


@pytest.mark.parametrize("tag,ok", [("a" * 128, True), ("a" * 129, False), ("_1", True), (".1", False),
                                    ("-1", False), ("v1.2_rc-3", True), ("1:2", False), ("1/2", False)])
def test_tag_length_and_first_character(tag, ok):
    assert (checks.image(f"reichlab/flu_ar2:{tag}", allow_latest=False) is None) == ok
