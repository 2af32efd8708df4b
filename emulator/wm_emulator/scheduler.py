"""AWS::Scheduler::Schedule and ScheduleGroup for moto's CloudFormation, on moto's own scheduler backend.

- AWS::Scheduler::Schedule: created, updated and deleted through moto's own
  EventBridge Scheduler backend, so `aws scheduler get-schedule` (or boto3) on the
  emulator returns the schedule exactly as the template declared it, and `Ref` /
  `Fn::GetAtt Arn` resolve to its real name and ARN.

Nothing here answers success without doing the work: every call goes to the backend
that serves the Scheduler API. (moto's model registry names a model's service by the
second part of its module name, hence this module's name.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.scheduler.exceptions import ScheduleNotFound
from moto.scheduler.models import scheduler_backends


def _epoch(value: str | None) -> int | None:
    """CloudFormation gives ISO 8601 dates; moto's backend keeps the API's epoch seconds."""
    if value is None:
        return None
    return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


# The Scheduler API spells a few nested keys in camelCase where CloudFormation uses
# PascalCase; moto's backend stores and returns the API's spelling.
_API_KEYS = {
    "AwsvpcConfiguration": "awsvpcConfiguration",
    "CapacityProvider": "capacityProvider", "Weight": "weight", "Base": "base",
    "Expression": "expression", "Type": "type", "Field": "field",
}
_CAMEL_PARENTS = ("NetworkConfiguration", "CapacityProviderStrategy", "PlacementConstraints", "PlacementStrategy")


def _api_target(value: Any, parent: str = "") -> Any:
    if isinstance(value, list):
        return [_api_target(v, parent) for v in value]
    if not isinstance(value, dict):
        return value
    rename = parent in _CAMEL_PARENTS
    return {(_API_KEYS.get(k, k) if rename else k): _api_target(v, k if not rename else parent)
            for k, v in value.items()}


def _args(props: dict[str, Any]) -> dict[str, Any]:
    return dict(
        description=props.get("Description"),
        end_date=_epoch(props.get("EndDate")),
        flexible_time_window=props["FlexibleTimeWindow"],
        group_name=props.get("GroupName"),
        kms_key_arn=props.get("KmsKeyArn"),
        schedule_expression=props["ScheduleExpression"],
        schedule_expression_timezone=props.get("ScheduleExpressionTimezone"),
        start_date=_epoch(props.get("StartDate")),
        state=props.get("State"),
        target=_api_target(props["Target"]),
    )


class SchedulerSchedule(CloudFormationModel):
    """AWS::Scheduler::Schedule backed by moto's scheduler backend."""

    def __init__(self, schedule, account_id: str, region: str):
        self.schedule = schedule
        self.account_id = account_id
        self.region = region

    @property
    def physical_resource_id(self) -> str:
        return self.schedule.name  # what Ref returns for this type

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::Schedule"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.schedule.arn
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        backend = scheduler_backends[account_id][region_name]
        schedule = backend.create_schedule(name=resource_name, action_after_completion=None,
                                           **_args(cloudformation_json["Properties"]))
        return cls(schedule, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        props = cloudformation_json["Properties"]
        backend = scheduler_backends[account_id][region_name]
        old = original_resource.schedule
        if old.name == new_resource_name and old.group_name == (props.get("GroupName") or "default"):
            args = _args(props)
            args["group_name"] = old.group_name
            return cls(backend.update_schedule(name=old.name, **args), account_id, region_name)
        original_resource.delete(account_id, region_name)  # a new name replaces the schedule
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        group = cloudformation_json.get("Properties", {}).get("GroupName")
        try:
            scheduler_backends[account_id][region_name].delete_schedule(group, resource_name)
        except ScheduleNotFound:
            pass  # already gone: deleting is idempotent, as in CloudFormation

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(
            self.schedule.name, {"Properties": {"GroupName": self.schedule.group_name}}, account_id, region_name)

    def is_created(self) -> bool:
        return True


class SchedulerScheduleGroup(CloudFormationModel):
    """AWS::Scheduler::ScheduleGroup backed by moto's scheduler backend."""

    def __init__(self, group):
        self.group = group

    @property
    def physical_resource_id(self) -> str:
        return self.group.name  # what Ref returns for this type

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::ScheduleGroup"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.group.arn
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        tags = cloudformation_json.get("Properties", {}).get("Tags", [])
        return cls(scheduler_backends[account_id][region_name].create_schedule_group(resource_name, tags))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        if original_resource.group.name == new_resource_name:
            return original_resource  # only tags could differ; the group itself stays
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        scheduler_backends[account_id][region_name].delete_schedule_group(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.group.name, {}, account_id, region_name)

    def is_created(self) -> bool:
        return True
