"""Pure checks of single values, shared by the specs and the property tests.

Each check returns None when the value is fine, or a sentence saying what is
wrong and what would be right.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo

from wm.config import schedules

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

# EC2 instance families a job with `platform: EC2` may run on, and the largest size of each:
# (size, vCPUs, memory GiB, GPUs). "You can specify instance families to launch any instance type
# within those families (for example, c5 or p3)" (AWS Batch API reference, ComputeResource,
# instanceTypes), so a child fits when it fits this size. From the Amazon EC2 Instance Types guide, "Specifications" (compute optimized,
# general purpose, memory optimized, accelerated computing); the largest size of each is larger
# than or as large as every other size in vCPUs, memory and GPUs.
INSTANCE_FAMILIES: dict[str, tuple[str, int, int, int]] = {
    "c5": ("c5.24xlarge", 96, 192, 0),
    "c6i": ("c6i.32xlarge", 128, 256, 0),
    "m5": ("m5.24xlarge", 96, 384, 0),
    "m6i": ("m6i.32xlarge", 128, 512, 0),
    "r5": ("r5.24xlarge", 96, 768, 0),
    "g4dn": ("g4dn.metal", 96, 384, 8),
    "g5": ("g5.48xlarge", 192, 768, 8),
    "p3": ("p3.16xlarge", 64, 488, 8),
}
# What a job may ask of an instance's memory: the ECS agent registers less than is installed
# (kernel and platform overhead: an m4.large's 8192 MiB registers as 7985) and the Batch AMI
# reserves 32 MiB more for the agent; AWS recommends a 5% buffer (AWS Batch user guide,
# "Compute resource memory management" and "Reserve system memory").
EC2_MEMORY_SHARE = 0.95


def ec2_memory_limit(family: str) -> int:
    """MiB of memory one child may ask for on the largest instance of `family`."""
    return int(INSTANCE_FAMILIES[family][2] * 1024 * EC2_MEMORY_SHARE)


def instance_family(family: str) -> str | None:
    if family not in INSTANCE_FAMILIES:
        return (f"{family!r} is not an instance family this project knows; use one of "
                f"{', '.join(INSTANCE_FAMILIES)} (wm/config/checks.py INSTANCE_FAMILIES)")
    return None


# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545,
                      731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

# A name holding one of these anywhere looks like a secret (SLACKTOKEN, DBPASSWORD) ...
SECRET_SUBSTRINGS = ("TOKEN", "SECRET", "PASSW", "CREDENTIAL", "APIKEY", "PRIVATE")
# ... and so does one with one of these as a whole '_'-separated word (API_KEY, DB_PASS),
# which as substrings would catch harmless names (MONKEY, PASSAGE).
SECRET_WORDS = {"KEY", "KEYS", "PAT", "PWD", "PASS"}
# Values that are credentials whatever their name: Slack tokens (bot, user, app, refresh,
# workspace, configuration; and app-level xapp-), GitHub tokens (ghp_ gho_ ghu_ ghs_ ghr_,
# github_pat_), AWS access key IDs (AKIA long-term, ASIA temporary), and URLs with a password.
SECRET_VALUE = re.compile(r"\bxox[abprse]-|\bxapp-|\bgh[pousr]_[A-Za-z0-9]{20,}|github_pat_"
                          r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|://[^/\s:@]+:[^/\s@]+@")

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
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
    if not ENV_NAME.fullmatch(name) or len(name) > 255:
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


# Docker's image reference grammar (distribution/reference, the grammar `docker pull` parses):
# [domain[:port]/]path-component[/path-component...][:tag][@digest], where a path component is
# lower-case letters and digits separated by ".", "_", "__" or runs of "-", a tag is at most
# 128 of [A-Za-z0-9_.-] not starting with "." or "-", and a digest is algorithm:hex.
_ALNUM = r"[a-z0-9]+"
_COMPONENT = rf"{_ALNUM}(?:(?:[._]|__|-+){_ALNUM})*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE = re.compile(rf"(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)(?::(?P<tag>{_TAG}))?"
                   rf"(?:@(?P<digest>{_DIGEST}))?")
NAME_MAX = 255


def _split_domain(ref: str) -> tuple[str, str]:
    """Docker's rule: the first part names a registry only if it has a '.' or ':' or is localhost."""
    first, slash, rest = ref.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first + "/", rest
    return "", ref


IMAGE_EXAMPLE = "reichlab/flu_ar2:1.2"  # the reference image()'s messages show as an example of one


def image(ref: str, allow_latest: bool) -> str | None:
    """A Docker image reference, pinned: a tag other than latest (unless allowed) or a digest."""
    example = f"e.g. {IMAGE_EXAMPLE}"
    if not isinstance(ref, str) or not ref:
        return f"an image reference is required, {example}"
    if any(c.isspace() for c in ref):
        return f"image {ref!r} has white space in it; an image reference has none, {example}"
    domain, path = _split_domain(ref)
    name = path.split("@", 1)[0]
    tag_len = len(name.rsplit("/", 1)[-1].partition(":")[2])
    repository = name[: len(name) - tag_len - 1] if tag_len or name.endswith(":") else name
    if repository != repository.lower():
        return (f"image {ref!r}: repository names are lower-case in Docker's reference grammar; "
                f"write {domain}{repository.lower()}{ref[len(domain) + len(repository):]}")
    m = IMAGE.fullmatch(ref)
    if not m or (domain and not re.fullmatch(_DOMAIN + "/", domain)):
        return (f"image {ref!r} is not an image reference (Docker's grammar: [registry/]name[:tag][@digest], "
                f"lower-case names of letters, digits and . _ - separators), {example}")
    if len(m.group("name")) > NAME_MAX:
        return f"image {ref!r}: the name is {len(m.group('name'))} characters; Docker allows {NAME_MAX}"
    if m.group("digest"):
        return None
    if not m.group("tag"):
        return f"image {ref!r} has no tag; pin a version, e.g. {ref.rstrip(':')}:1.2"
    if m.group("tag") == "latest" and not allow_latest:
        return f"image {ref!r} is tagged latest, which is not allowed here; pin a version tag"
    return None


def schedule_expression(expression: str) -> str | None:
    """Whether EventBridge Scheduler takes it (the one grammar: schedules.parse)."""
    return schedules.check(expression)


def _offsets(zone: zoneinfo.ZoneInfo, year: int = 2027) -> set[dt.timedelta]:
    """The UTC offsets the zone uses in `year`, sampled twice a month (some zones change more than twice)."""
    return {dt.datetime(year, month, day, 12, tzinfo=zone).utcoffset() for month in range(1, 13) for day in (1, 15)}


# UTC by any of its names: a deliberate choice (the data snapshot is at 17:45 UTC), never a slip.
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu",
                       "GMT", "Etc/GMT", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0", "GMT+0", "GMT-0", "GMT0",
                       "Etc/Greenwich", "Greenwich"})


def _duration(delta: dt.timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    return "an hour" if minutes == 60 else f"{minutes // 60} h {minutes % 60} min" if minutes > 60 else f"{minutes} minutes"


def timezone_warning(name: str, lab_timezone: str) -> str | None:
    """A zone AWS accepts that is likely a mistake: a fixed offset (EST, Etc/GMT+5) that the lab's
    own zone shares for part of the year, so the model would run off by the lab's daylight-saving
    shift for the rest of it. UTC is taken as meant."""
    if name == lab_timezone or name in UTC_NAMES or timezone(name) or timezone(lab_timezone):
        return None
    zone, lab = zoneinfo.ZoneInfo(name), zoneinfo.ZoneInfo(lab_timezone)
    mine, theirs = _offsets(zone), _offsets(lab)
    if len(mine) == 1 and len(theirs) > 1 and mine & theirs:
        shift = max(theirs) - min(theirs)
        return (f"{name!r} keeps the same UTC offset all year, but {lab_timezone} (the lab's zone) changes for "
                f"daylight saving time, so the schedule would run {_duration(shift)} off for part of the year; "
                f"write {lab_timezone} (or UTC if a fixed time is meant)")
    return None
