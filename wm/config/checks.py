"""Pure checks of single values, shared by the specs and the property tests.

Each check returns None when the value is fine, or a sentence saying what is
wrong and what would be right.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo

# Fargate task sizes for Linux/X86_64: cpu units -> valid memory MiB.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545,
                      731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

# A name holding one of these anywhere looks like a secret (SLACKTOKEN, DBPASSWORD) ...
SECRET_SUBSTRINGS = ("TOKEN", "SECRET", "PASSW", "CREDENTIAL", "APIKEY", "PRIVATE")
# ... and so does one with one of these as a whole '_'-separated word (API_KEY, DB_PASS),
# which as substrings would catch harmless names (MONKEY, PASSAGE).
SECRET_WORDS = {"KEY", "KEYS", "PAT", "PWD", "PASS"}
# Values that are credentials whatever their name: Slack and GitHub tokens, AWS access
# key IDs, and URLs with a password in them.
SECRET_VALUE = re.compile(r"xox[abposr]-|\bgh[pousr]_[A-Za-z0-9]{20,}|github_pat_|\bAKIA[0-9A-Z]{16}\b"
                          r"|://[^/\s:@]+:[^/\s@]+@")

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PLACEHOLDER = re.compile(r"PLACEHOLDER\(([^)]*)\)")


def fargate_size(cpu: int, memory: int) -> str | None:
    if cpu not in FARGATE_SIZES:
        return f"cpu {cpu} is not a Fargate size; use one of {', '.join(map(str, FARGATE_SIZES))}"
    valid = FARGATE_SIZES[cpu]
    if memory not in valid:
        return (f"memory {memory} is not offered by Fargate with cpu {cpu}; "
                f"use one of {', '.join(map(str, valid))}")
    return None


def log_retention(days: int) -> str | None:
    if days not in LOG_RETENTION_DAYS:
        return (f"{days} is not a CloudWatch Logs retention period; use one of "
                f"{', '.join(map(str, LOG_RETENTION_DAYS))}")
    return None


def env_var_name(name: str) -> str | None:
    if not ENV_NAME.match(name) or len(name) > 255:
        return (f"{name!r} is not a valid environment variable name; use letters, digits "
                "and '_', not starting with a digit")
    return None


def looks_secret(name: str) -> bool:
    upper = name.upper()
    return any(s in upper for s in SECRET_SUBSTRINGS) or any(p in SECRET_WORDS for p in upper.split("_"))


def secret_value(value: str) -> str | None:
    if SECRET_VALUE.search(value):
        return ("this value looks like a credential (a token, an access key or a URL with a password); "
                "never put it in configuration: store it with make secret and list its name in secrets")
    return None


def secret_name(name: str) -> str | None:
    """Secrets become both an environment variable and the last part of a Parameter Store name."""
    if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,127}", name):
        return (f"{name!r} is not an allowed secret name; use 1-128 upper-case letters, digits "
                "and '_', starting with a letter (e.g. SLACK_API_TOKEN)")
    return None


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def timezone(name: str) -> str | None:
    if name not in _timezones():
        return f"{name!r} is not an IANA time zone; use a name like America/New_York or UTC"
    return None


def image(ref: str, allow_latest: bool) -> str | None:
    """A Docker image reference must carry a tag (or digest); `latest` only where allowed."""
    if "@" in ref:
        return None
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last or not last.split(":", 1)[1]:
        return f"image {ref!r} has no tag; pin a version, e.g. {ref.rstrip(':')}:1.2"
    if last.split(":", 1)[1] == "latest" and not allow_latest:
        return f"image {ref!r} is tagged latest, which is not allowed here; pin a version tag"
    return None


# --- EventBridge Scheduler expressions ------------------------------------------------

_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
_DAYS = "SUN MON TUE WED THU FRI SAT".split()
# (name, low, high, names, extra tokens allowed on their own)
_CRON_FIELDS = (
    ("minutes", 0, 59, (), ()),
    ("hours", 0, 23, (), ()),
    ("day-of-month", 1, 31, (), ("?", "L", "LW")),
    ("month", 1, 12, _MONTHS, ()),
    ("day-of-week", 1, 7, _DAYS, ("?", "L")),
    ("year", 1970, 2199, (), ()),
)


def _number(tok: str) -> bool:
    """Only ASCII digits: str.isdigit() is also true of '²', which int() refuses."""
    return tok.isascii() and tok.isdigit()


def _cron_value(tok: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if tok.upper() in names:
        return True
    return _number(tok) and low <= int(tok) <= high


def _cron_field(text: str, spec) -> str | None:
    name, low, high, names, extras = spec
    for part in text.split(","):
        if part in extras or part == "*":
            continue
        if name == "day-of-month" and re.fullmatch(r"[0-9]{1,2}W", part) and 1 <= int(part[:-1]) <= 31:
            continue
        if name == "day-of-week" and (re.fullmatch(r"[1-7]#[1-5]", part)
                                      or re.fullmatch(r"[1-7]L", part)):
            continue
        base, _, step = part.partition("/")
        if step and not (_number(step) and int(step) > 0):
            return f"{name} field {text!r}: step {step!r} must be a positive number"
        lo, dash, hi = base.partition("-")
        ok = (base == "*" and step) or (
            _cron_value(lo, low, high, names) and (not dash or _cron_value(hi, low, high, names)))
        if not ok:
            return f"{name} field {text!r}: {part!r} is not in {low}-{high}"
    return None


def schedule_expression(expr: str) -> str | None:
    """Check cron(...), rate(...) and at(...) as EventBridge Scheduler accepts them."""
    hint = ("use cron(minutes hours day-of-month month day-of-week year), e.g. "
            "cron(0 14 ? * WED *), or rate(7 days), or at(2026-12-02T14:00:00)")
    m = re.fullmatch(r"(cron|rate|at)\((.*)\)", expr.strip())
    if not m:
        return f"{expr!r} is not a schedule expression; {hint}"
    kind, body = m.groups()
    if kind == "rate":
        r = re.fullmatch(r"([0-9]+) (minute|minutes|hour|hours|day|days)", body)
        if not r or int(r.group(1)) < 1:
            return f"{expr!r}: rate needs a positive whole number and a unit, e.g. rate(7 days)"
        if (int(r.group(1)) == 1) != (not r.group(2).endswith("s")):
            return f"{expr!r}: use the singular unit for 1 and the plural otherwise, e.g. rate(1 day)"
        return None
    if kind == "at":
        try:
            ok = re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}", body) \
                and dt.datetime.strptime(body, "%Y-%m-%dT%H:%M:%S")
        except ValueError:  # a date or time that does not exist, e.g. month 13
            ok = False
        if not ok:
            return f"{expr!r}: at needs yyyy-mm-ddThh:mm:ss, e.g. at(2026-12-02T14:00:00)"
        return None
    fields = body.split()
    if len(fields) != 6:
        return f"{expr!r} has {len(fields)} fields, cron needs 6; {hint}"
    for text, spec in zip(fields, _CRON_FIELDS):
        problem = _cron_field(text, spec)
        if problem:
            return f"{expr!r}: {problem}"
    if (fields[2] == "?") == (fields[4] == "?"):
        return (f"{expr!r}: exactly one of day-of-month and day-of-week must be '?', "
                "e.g. cron(0 14 ? * WED *)")
    return None
