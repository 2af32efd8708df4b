"""E9103: an EventBridge Scheduler schedule's StartDate must not be in the past.

EventBridge Scheduler refuses a StartDate more than 5 minutes in the past, with the
ValidationException "The StartDate you specify cannot be earlier than 5 minutes ago.", on
CreateSchedule and on UpdateSchedule. UpdateSchedule overrides the existing schedule with every
value of the request, empty ones included (EventBridge Scheduler API reference, UpdateSchedule:
https://docs.aws.amazon.com/scheduler/latest/APIReference/API_UpdateSchedule.html), and
CloudFormation sends StartDate with every update of an AWS::Scheduler::Schedule, so once the
date has passed every later deploy of the stack fails, whatever else it changes. The API reference (StartDate, CreateSchedule) also says "EventBridge
Scheduler ignores StartDate for one-time schedules". The local emulator is no guard: moto 5.2.5
checks StartDate on create only, only for expressions containing '*', and never on update.

The rule flags a recurring schedule (ScheduleExpression cron(...) or rate(...); an at(...)
schedule ignores StartDate) whose StartDate (ISO 8601, e.g. 2026-10-01T04:00:00Z; no offset
means UTC) is earlier than now plus 5 minutes: the margin leaves time between linting and the
deploy that sends the template.

"Now" is the clock, or the ISO 8601 time in the environment variable WM_LINT_NOW (tests set it
so their results do not depend on the day they run).
"""

from __future__ import annotations

import datetime as dt
import os

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from wm.lint import cfn_support as S

MARGIN = dt.timedelta(minutes=5)
NOW_VARIABLE = "WM_LINT_NOW"


def now() -> dt.datetime:
    """The clock, or WM_LINT_NOW when set (a bad value stops the rule with a clear error)."""
    override = os.environ.get(NOW_VARIABLE, "").strip()
    if not override:
        return dt.datetime.now(dt.UTC)
    parsed = S.parse_iso8601(override)
    if parsed is None:
        raise ValueError(f"{NOW_VARIABLE}={override!r} is not an ISO 8601 time (e.g. 2026-10-01T04:00:00Z)")
    return parsed


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SchedulerStartDatePast(CloudFormationLintRule):
    """Scheduler StartDate in the past."""

    id = "E9103"
    shortdesc = "Scheduler StartDate in the past"
    description = (
        "A recurring AWS::Scheduler::Schedule (cron or rate) must not have a StartDate earlier "
        "than now plus 5 minutes: EventBridge Scheduler refuses a StartDate more than 5 minutes "
        "in the past on create and on update, and CloudFormation sends StartDate with every update."
    )
    source_url = "https://docs.aws.amazon.com/scheduler/latest/APIReference/API_UpdateSchedule.html"
    tags = ["resources", "scheduler", "weekly-models"]

    def match(self, cfn):
        matches = []
        schedules = cfn.get_resources(["AWS::Scheduler::Schedule"])
        if not schedules:
            return matches
        threshold = now() + MARGIN
        for name, resource in schedules.items():
            properties = resource.get("Properties")
            if not isinstance(properties, dict) or "StartDate" not in properties:
                continue
            expressions = [e.strip() for e in S.alternatives(properties.get("ScheduleExpression"))
                           if isinstance(e, str)]
            if not any(e.startswith(("cron(", "rate(")) for e in expressions):
                continue
            for value in S.alternatives(properties["StartDate"]):
                start = S.parse_iso8601(value)
                if start is None or start >= threshold:
                    continue
                matches.append(RuleMatch(["Resources", name, "Properties", "StartDate"], (
                    f"StartDate {value} is earlier than now + 5 minutes ({_utc(threshold)}); EventBridge "
                    "Scheduler refuses it (\"The StartDate you specify cannot be earlier than 5 minutes "
                    "ago.\") on create and on every update, and CloudFormation sends StartDate with each "
                    "update of the schedule. Leave StartDate out once the start has passed, or set it "
                    "more than 5 minutes ahead."
                )))
        return matches
