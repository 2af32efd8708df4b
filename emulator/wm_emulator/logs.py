"""AWS::Logs::MetricFilter for moto's CloudFormation, and metric filters that publish their metric.

moto's CloudFormation does not model metric filters, and its Logs backend stores those
made by PutMetricFilter without ever evaluating them, so no metric ever came of a log
event. Here a filter is created, updated and deleted through the backend that serves
PutMetricFilter and DescribeMetricFilters, and each log event that arrives in its log
group (put by a client or by an EventBridge rule) is matched against it and, when it
matches, becomes a data point in moto's CloudWatch backend, with the dimensions the
transformation takes from the event, as CloudWatch Logs does.

Only JSON patterns of equality terms joined by && are evaluated, a term possibly a
parenthesised || of terms, e.g. `{ $.source = "aws.ecs" }` or
`{ $.a = "x*" && ($.b = "y" || $.b != 1) }`; a filter with any other pattern is refused at
creation rather than kept and never matched.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.logs.models import LogStream, logs_backends

from .base import Extension

_TERM = re.compile(r'\s*\$\.([\w.\[\]]+)\s*(=|!=)\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)\s*')


def _term(text: str) -> tuple[str, str, str | float] | None:
    t = _TERM.fullmatch(text)
    if not t:
        return None
    path, op, raw = t.groups()
    return path, op, json.loads(raw) if raw.startswith('"') else float(raw)


def parse(pattern: str) -> list[list[tuple[str, str, str | float]]] | None:
    """`{ $.a = "x" && ($.b = "y" || $.b != 1) }` -> [[(path, op, value)], ...]: every clause (joined by
    &&) must hold, a clause when any of its terms (joined by ||) does; None if not of that form."""
    m = re.fullmatch(r"\s*\{(.*)\}\s*", pattern)
    if not m:
        return None
    clauses = []
    for part in m.group(1).split("&&"):
        inner = re.fullmatch(r"\s*\((.*)\)\s*", part)
        terms = [_term(t) for t in (inner.group(1).split("||") if inner else [part])]
        if None in terms:
            return None
        clauses.append(terms)
    return clauses


def _get(event: Any, path: str):
    for key in path.split("."):
        if not isinstance(event, dict) or key not in event:
            return None
        event = event[key]
    return event


def _equal(have, want) -> bool:
    if isinstance(want, str):
        if not isinstance(have, str):
            return False
        return re.fullmatch(".*".join(map(re.escape, want.split("*"))), have) is not None
    return isinstance(have, (int, float)) and not isinstance(have, bool) and float(have) == want


def matches(terms, message: str) -> bool:
    try:
        event = json.loads(message)
    except ValueError:
        return False
    return all(any(_equal(_get(event, path), value) == (op == "=") for path, op, value in clause) for clause in terms)


class LogsMetricFilter(Extension, CloudFormationModel):
    """AWS::Logs::MetricFilter on moto's Logs backend (PutMetricFilter, DeleteMetricFilter)."""

    TYPE = "AWS::Logs::MetricFilter"
    NAME_PROPERTY = "FilterName"
    PROPERTIES = frozenset({"FilterName", "FilterPattern", "LogGroupName", "MetricTransformations"})
    REF = "name"

    def __init__(self, name: str, group: str):
        self.name, self.group = name, group

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cls.properties(cloudformation_json)
        if parse(props["FilterPattern"]) is None:
            raise ValidationError(message=f"the local emulator evaluates only JSON equality filter patterns "
                                          f"such as {{ $.source = \"aws.ecs\" }}, not {props['FilterPattern']!r}")
        name = cls.given_name(props, resource_name)
        # As the API takes them: camelCase keys, dimensions as a map of name to the event's field.
        transformations = [{**{k[0].lower() + k[1:]: v for k, v in t.items() if k != "Dimensions"},
                            "dimensions": {d["Key"]: d["Value"] for d in t.get("Dimensions", [])}}
                           for t in props["MetricTransformations"]]
        logs_backends[account_id][region_name].put_metric_filter(
            name, props["FilterPattern"], props["LogGroupName"], transformations)
        return cls(name, props["LogGroupName"])

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        props = cls.properties(cloudformation_json)
        original_resource.delete(account_id, region_name)  # PutMetricFilter replaces a filter whole
        return cls.create_from_cloudformation_json(cls.kept_name(props, original_resource.name),
                                                   cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        group = cloudformation_json.get("Properties", {}).get("LogGroupName")
        logs_backends[account_id][region_name].delete_metric_filter(resource_name, group)

    def delete(self, account_id: str, region_name: str) -> None:
        logs_backends[account_id][region_name].delete_metric_filter(self.name, self.group)


_moto_put_log_events = LogStream.put_log_events


def put_log_events(self, log_events):
    token = _moto_put_log_events(self, log_events)
    backend = logs_backends[self.account_id][self.region]
    for f in backend.filters.get_matching_filters(log_group_name=self.log_group.name):
        terms = parse(f["filterPattern"])
        if terms is None:
            continue
        for e in log_events:
            if not matches(terms, e["message"]):
                continue
            event = json.loads(e["message"])
            # moto keeps data points in naive UTC (its utcnow), as its own PutMetricData does
            when = dt.datetime.fromtimestamp(e["timestamp"] / 1000, dt.UTC).replace(tzinfo=None)
            for t in f["metricTransformations"]:
                value = t["metricValue"]
                value = _get(event, value[2:]) if value.startswith("$.") else float(value)
                fields = {name: _get(event, path[2:]) for name, path in (t.get("dimensions") or {}).items()}
                if value is None or None in fields.values():
                    continue  # CloudWatch Logs publishes nothing for an event without the field
                dimensions = [{"Name": name, "Value": str(v)} for name, v in fields.items()]
                cloudwatch_backends[self.account_id][self.region].put_metric_data(t["metricNamespace"], [{
                    "MetricName": t["metricName"], "Value": float(value), "Dimensions": dimensions,
                    "Unit": t.get("unit"), "Timestamp": when}])
    return token


def install() -> None:
    LogStream.put_log_events = put_log_events
