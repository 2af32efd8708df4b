"""AWS::CloudWatch::Alarm for moto's CloudFormation, on moto's own CloudWatch backend.

moto's CloudFormation skips alarms (the stack still says CREATE_COMPLETE). This puts
them into the backend that serves DescribeAlarms, so a deployed alarm, its metric,
dimensions, threshold and actions can be read back. The emulator never evaluates
metrics, so an alarm here never fires by itself.
"""

from __future__ import annotations

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel


class CloudWatchAlarm(CloudFormationModel):
    def __init__(self, alarm):
        self.alarm = alarm

    @property
    def physical_resource_id(self) -> str:
        return self.alarm.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.alarm.alarm_arn
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        return cls(cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=resource_name, namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"], evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p.get("Period", 60)), threshold=float(p.get("Threshold", 0)),
            statistic=p.get("Statistic"), description=p.get("AlarmDescription", ""),
            dimensions=p.get("Dimensions", []), alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions"), insufficient_data_actions=p.get("InsufficientDataActions"),
            treat_missing_data=p.get("TreatMissingData"), tags=p.get("Tags")))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        original_resource.delete(account_id, region_name)  # PutMetricAlarm replaces it whole, as AWS does
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.alarm.name, {}, account_id, region_name)

    def is_created(self) -> bool:
        return True
