"""wm.config.checks against tables copied by hand from the vendors' documentation, not from the module.

A failure here means the module and the published table disagree: check the page cited above the table,
then fix whichever is wrong (the module, or the table if AWS changed it).
"""

from __future__ import annotations

import itertools

import pytest

from wm.config import checks

GB = 1024

# --- Fargate task sizes -------------------------------------------------------------------------

# ECS Developer Guide, "Task CPU and memory" (Linux containers on Fargate): cpu units -> memory MiB.
FARGATE = {
    256: [512, 1024, 2048],
    512: [1024, 2048, 3072, 4096],
    1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
    2048: [4096, 5120, 6144, 7168, 8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384],
    4096: [8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384, 17408, 18432, 19456, 20480, 21504,
           22528, 23552, 24576, 25600, 26624, 27648, 28672, 29696, 30720],
    8192: [16384, 20480, 24576, 28672, 32768, 36864, 40960, 45056, 49152, 53248, 57344, 61440],
    16384: [32768, 40960, 49152, 57344, 65536, 73728, 81920, 90112, 98304, 106496, 114688, 122880],
}
PAIRS = [(cpu, memory) for cpu, memories in FARGATE.items() for memory in memories]


def test_the_literal_table_is_what_the_guide_says_in_words():
    # The guide states each row as a range and a step; the literal rows above must say the same.
    words = {256: None, 512: (1, 4, 1), 1024: (2, 8, 1), 2048: (4, 16, 1), 4096: (8, 30, 1),
             8192: (16, 60, 4), 16384: (32, 120, 8)}
    for cpu, rule in words.items():
        if rule:
            low, high, step = rule
            assert FARGATE[cpu] == [gb * GB for gb in range(low, high + 1, step)], cpu
    assert len(PAIRS) == 3 + 4 + 7 + 13 + 23 + 12 + 12


@pytest.mark.parametrize("cpu,memory", PAIRS)
def test_every_published_fargate_size_is_accepted(cpu, memory):
    assert checks.fargate_size(cpu, memory) is None


def _neighbours(cpu: int) -> set[int]:
    """Memory values next to the row's: one step outside each end, between steps, and off by 1 MiB."""
    row = FARGATE[cpu]
    step = row[1] - row[0]
    near = {row[0] - step, row[-1] + step, row[0] - 1, row[-1] + 1, row[0] + 1, 0}
    near |= {a + (b - a) // 2 for a, b in itertools.pairwise(row)}
    return {m for m in near if m not in row}


@pytest.mark.parametrize("cpu", FARGATE)
def test_memory_next_to_a_published_size_is_refused_with_the_row(cpu):
    for memory in sorted(_neighbours(cpu)):
        problem = checks.fargate_size(cpu, memory)
        assert problem, (cpu, memory)
        assert ", ".join(map(str, FARGATE[cpu])) in problem  # says what would be right


def test_exactly_the_published_pairs_are_accepted_on_a_512_mib_grid():
    # Exhaustive on the grid every published size lies on: nothing outside the table slips through.
    for cpu in [*FARGATE, 128, 384, 768, 1536, 3072, 6144, 12288, 32768]:
        for memory in range(0, 131072 + 1, 512):
            assert (checks.fargate_size(cpu, memory) is None) == ((cpu, memory) in PAIRS), (cpu, memory)


@pytest.mark.parametrize("cpu", [0, 128, 255, 257, 1000, 4095, 32768])
def test_cpu_that_fargate_does_not_offer_is_refused_with_the_choices(cpu):
    problem = checks.fargate_size(cpu, 2048)
    assert problem and all(str(c) in problem for c in FARGATE)


# --- CloudWatch Logs retention --------------------------------------------------------------------

# CloudWatch Logs API Reference, PutRetentionPolicy, retentionInDays: the only values accepted.
RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653]


@pytest.mark.parametrize("days", RETENTION_DAYS)
def test_every_published_retention_period_is_accepted(days):
    assert checks.log_retention(days) is None


def test_every_other_retention_period_is_refused_with_the_list():
    for days in range(-1, 4000):
        if days not in RETENTION_DAYS:
            problem = checks.log_retention(days)
            assert problem and "1, 3, 5, 7, 14" in problem and "3653" in problem, days


# --- credentials in values ------------------------------------------------------------------------
# Fake tokens, each built from two halves so secret scanners do not take this file for a leak.

# GitHub changelog 2021-03-31, "Authentication token format updates are generally available":
# ghp_ personal access, gho_ OAuth, ghu_ user-to-server, ghs_ server-to-server, ghr_ refresh tokens,
# then [A-Za-z0-9_]; fine-grained personal access tokens begin github_pat_ (GitHub Docs,
# "Managing your personal access tokens").
GITHUB = [prefix + "_" + "16C7e42F292c6912E7710c838347Ae178B4a" for prefix in ("ghp", "gho", "ghu", "ghs", "ghr")]
GITHUB += ["github" + "_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"]
# Slack API, "Token types": bot xoxb-, user xoxp-, configuration xoxe.xoxp-; legacy workspace app
# xoxa-, refresh xoxr-, and xoxs- tokens.
SLACK = ["xox" + kind + "-2048617834-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx" for kind in "bpars"]
SLACK += ["xoxe." + "xoxp-1-Mi0yLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIzLTEyMzQ1Njc4"]
# IAM User Guide, "IAM identifiers", unique ID prefixes: AKIA is an access key ID (20 characters,
# upper-case letters and digits); AKIAIOSFODNN7EXAMPLE is the guide's own example.
AWS_KEYS = ["AKIA" + "IOSFODNN7EXAMPLE", "AKIA" + "0123456789ABCDEF", "key=AKIA" + "Z7Y6X5W4V3U2T1S0 in text"]
# A URL carrying a user and password (RFC 3986 userinfo), as git credentials are often pasted.
URLS = ["https://reichlabmachine:" + "hunter2@github.com/reichlab/x.git"]

ORDINARY = ["https://github.com/reichlab/FluSight-forecast-hub", "UMass-AR2", "C02UELXDPQQ", "reichlabmachine",
            "1", "flusight", "gh-pages", "ghp_short", "github_page", "AKIA", "AKIAIOSFODNN7EXAMPL",  # 19 long
            "akiaiosfodnn7example", "xoxb", "xox-b", "mailto:lab@example.org", "https://example.org:8443/x",
            "s3://bucket/prefix", "the token is stored in Parameter Store", "PLACEHOLDER(a token)"]


@pytest.mark.parametrize("value", GITHUB + SLACK + AWS_KEYS + URLS)
def test_a_published_credential_format_is_flagged(value):
    problem = checks.secret_value(value)
    assert problem and "make secret" in problem  # and says where it belongs


@pytest.mark.parametrize("value", ORDINARY)
def test_an_ordinary_value_is_not_flagged(value):
    assert checks.secret_value(value) is None


def test_a_slack_app_level_token_is_flagged():
    assert checks.secret_value("xapp" + "-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef")


def test_a_slack_refresh_token_is_flagged():
    assert checks.secret_value("xoxe" + "-1-My0xLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkw")


def test_a_temporary_aws_access_key_id_is_flagged():
    assert checks.secret_value("ASIA" + "IOSFODNN7EXAMPLE")


# --- time zones -----------------------------------------------------------------------------------

# EventBridge Scheduler API Reference, CreateSchedule, ScheduleExpressionTimezone: a time zone of the
# IANA tz database (https://www.iana.org/time-zones); these are in it, odd offsets included.
IANA = ["America/New_York", "America/Chicago", "America/Los_Angeles", "America/St_Johns", "America/Sao_Paulo",
        "America/Argentina/Buenos_Aires", "Europe/London", "Europe/Berlin", "Africa/Johannesburg", "Asia/Kolkata",
        "Asia/Kathmandu", "Asia/Tokyo", "Australia/Sydney", "Australia/Lord_Howe", "Australia/Eucla",
        "Pacific/Chatham", "Pacific/Kiritimati", "UTC", "Etc/GMT+5", "Etc/GMT-14", "EST"]
NOT_IANA = ["", "Eastern", "EDT", "America/NewYork", "america/new_york", "AMERICA/NEW_YORK", "UTC+5", "GMT+5",
            "Europe/London ", "New York", "Mars/Olympus_Mons"]


@pytest.mark.parametrize("name", IANA)
def test_an_iana_zone_is_accepted(name):
    assert checks.timezone(name) is None


@pytest.mark.parametrize("name", NOT_IANA)
def test_a_name_outside_the_iana_database_is_refused_with_an_example(name):
    problem = checks.timezone(name)
    assert problem and "America/New_York" in problem


# timezone_warning's contract (checks.py): a zone that keeps one UTC offset all year (EST is UTC-5,
# MST UTC-7, HST UTC-10, Etc/GMT+5 UTC-5: the tz database's POSIX-style sign) that the lab's zone, which
# changes for DST, shares for part of the year -> a warning naming the lab's zone to write instead.
WARNS = [("EST", "America/New_York"), ("Etc/GMT+5", "America/New_York"), ("America/Panama", "America/New_York"),
         ("Etc/GMT+4", "America/New_York"), ("MST", "America/Denver"), ("HST", "America/Adak"),
         ("Etc/GMT+6", "America/Chicago"), ("Etc/GMT-10", "Australia/Sydney"), ("Etc/GMT-11", "Australia/Sydney"),
         ("Etc/GMT-11", "Australia/Lord_Howe")]  # Lord Howe: +10:30 in winter, +11 in summer
QUIET = [("America/New_York", "America/New_York"),   # the lab's own zone
         ("America/Chicago", "America/New_York"),    # changes for DST too: no hour drifts
         ("Europe/London", "America/New_York"),
         ("MST", "America/New_York"),                # fixed, but never the lab's offset
         ("HST", "America/New_York"),
         ("Etc/GMT-5", "America/New_York"),          # UTC+5, not UTC-5
         ("Etc/GMT-10", "Australia/Lord_Howe"),      # +10 is neither of Lord Howe's offsets
         ("Asia/Kolkata", "America/New_York"),
         ("EST", "UTC"), ("Etc/GMT+5", "Asia/Kolkata"),  # the lab's zone keeps one offset: nothing drifts
         ("Not/AZone", "America/New_York"), ("EST", "Not/AZone")]  # timezone() reports those instead


@pytest.mark.parametrize("zone,lab", WARNS)
def test_a_fixed_offset_the_lab_shares_for_part_of_the_year_warns(zone, lab):
    warning = checks.timezone_warning(zone, lab)
    assert warning and repr(zone) in warning and f"write {lab}" in warning


@pytest.mark.parametrize("zone,lab", QUIET)
def test_no_warning_where_nothing_runs_an_hour_off(zone, lab):
    assert checks.timezone_warning(zone, lab) is None
