"""AWS::CloudWatch::Alarm for moto's CloudFormation, on moto's own CloudWatch backend.

moto's CloudFormation skips alarms (the stack still says CREATE_COMPLETE). This puts
them into the backend that serves DescribeAlarms, so a deployed alarm, its metric (or
metric math), dimensions, threshold and actions can be read back, after an update too.
An update is a new PutMetricAlarm that keeps the alarm's state, as in CloudWatch, with
Tags set and removed through TagResource/UntagResource (PutMetricAlarm ignores tags on
an existing alarm); a new AlarmName replaces the alarm. The emulator never evaluates
metrics, so an alarm here never fires by itself.
"""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends
from moto.core.common_models import CloudFormationModel

from .base import Extension, tag_changes

_STATE = ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp", "history")


def _bool(value: Any) -> bool | None:
    return value if value is None or isinstance(value, bool) else str(value).lower() == "true"


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _queries(metrics: list[dict[str, Any]] | None) -> list[MetricDataQuery] | None:
    """CloudFormation's Metrics -> moto's MetricDataQuery objects, as moto's PutMetricAlarm builds them."""
    if not metrics:
        return None
    out = []
    for m in metrics:
        stat = m.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat["Metric"]
            metric_stat = MetricStat(
                metric=Metric(metric_name=metric["MetricName"], namespace=metric.get("Namespace"),
                              dimensions=[Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])]),
                period=stat.get("Period"), stat=stat.get("Stat"), unit=stat.get("Unit"))
        out.append(MetricDataQuery(query_id=m.get("Id"), label=m.get("Label"), period=m.get("Period"),
                                   return_data=_bool(m.get("ReturnData")), expression=m.get("Expression"),
                                   metric_stat=metric_stat))
    return out


class CloudWatchAlarm(Extension, CloudFormationModel):
    """AWS::CloudWatch::Alarm backed by moto's CloudWatch backend.

    Not modelled: ActionConfiguration, EvaluationCriteria, EvaluationInterval,
    EvaluationWindow, WarmUpConfiguration (moto's PutMetricAlarm has none of them).
    """

    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    PROPERTIES = frozenset({"AlarmName", "AlarmDescription", "Namespace", "MetricName", "Metrics", "Dimensions",
                            "ComparisonOperator", "EvaluationPeriods", "DatapointsToAlarm", "Period", "Threshold",
                            "ThresholdMetricId", "Statistic", "ExtendedStatistic", "Unit", "TreatMissingData",
                            "EvaluateLowSampleCountPercentile", "ActionsEnabled", "AlarmActions", "OKActions",
                            "InsufficientDataActions", "Tags"})
    REF = "alarm.name"
    ATTRIBUTES = {"Arn": "alarm.alarm_arn"}

    def __init__(self, alarm, tags: list[dict[str, str]] | None):
        self.alarm, self.tags = alarm, tags

    @staticmethod
    def _put(name: str, p: dict[str, Any], account_id: str, region_name: str, tags):
        return cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name, namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
            metric_data_queries=_queries(p.get("Metrics")),
            comparison_operator=p["ComparisonOperator"], evaluation_periods=int(p["EvaluationPeriods"]),
            datapoints_to_alarm=_int(p.get("DatapointsToAlarm")),
            period=_int(p.get("Period")), threshold=None if p.get("Threshold") is None else float(p["Threshold"]),
            threshold_metric_id=p.get("ThresholdMetricId"),
            statistic=p.get("Statistic"), extended_statistic=p.get("ExtendedStatistic"), unit=p.get("Unit"),
            description=p.get("AlarmDescription"), dimensions=p.get("Dimensions", []),
            actions_enabled=_bool(p.get("ActionsEnabled")), alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions"), insufficient_data_actions=p.get("InsufficientDataActions"),
            treat_missing_data=p.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"), tags=tags)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cls.properties(cloudformation_json)
        alarm = cls._put(cls.given_name(p, resource_name), p, account_id, region_name, p.get("Tags"))
        return cls(alarm, p.get("Tags"))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        p = cls.properties(cloudformation_json)
        old = original_resource.alarm
        if old.name != cls.kept_name(p, old.name):  # a new name replaces the alarm
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        alarm = cls._put(old.name, p, account_id, region_name, tags=None)
        for field in _STATE:  # PutMetricAlarm on an existing alarm leaves its state alone
            setattr(alarm, field, getattr(old, field))
        backend = cloudwatch_backends[account_id][region_name]
        put, remove = tag_changes(original_resource.tags, p.get("Tags"))
        if remove:
            backend.untag_resource(alarm.alarm_arn, remove)
        if put:
            backend.tag_resource(alarm.alarm_arn, put)
        return cls(alarm, p.get("Tags"))

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    def delete(self, account_id: str, region_name: str) -> None:
        backend = cloudwatch_backends[account_id][region_name]
        if self.tags:  # moto's DeleteAlarms keeps the tags: an alarm made again by that name would get them back
            backend.untag_resource(self.alarm.alarm_arn, [t["Key"] for t in self.tags])
        self.delete_from_cloudformation_json(self.alarm.name, {}, account_id, region_name)
