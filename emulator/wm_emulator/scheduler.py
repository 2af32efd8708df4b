"""AWS::Scheduler::Schedule and ScheduleGroup for moto's CloudFormation, on moto's own scheduler backend.

moto's CloudFormation does not model either type. These create, update and delete
them through the backend that serves the EventBridge Scheduler API, so `get-schedule`
and `list-tags-for-resource` on the emulator return what the template declared, and
`Ref` / `Fn::GetAtt Arn` resolve to the real name and ARN.

Updates apply in place, as CloudFormation's handlers do (UpdateSchedule; TagResource
and UntagResource for a group's Tags). A new Name, or a schedule's new GroupName,
replaces the resource. (moto's model registry names a model's service by the second
part of its module name, hence this module's name.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.scheduler.exceptions import ScheduleGroupNotFound, ScheduleNotFound, ValidationException
from moto.scheduler.models import scheduler_backends

from .base import Extension, tag_changes


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


def _refuse_past_start(props: dict[str, Any]) -> None:
    """EventBridge Scheduler refuses a StartDate more than 5 minutes in the past for a recurring
    schedule, on create and on update; moto checks it on create only, and only for cron()."""
    start = _epoch(props.get("StartDate"))
    if start is not None and not props["ScheduleExpression"].startswith("at(") and \
            start < dt.datetime.now(dt.UTC).timestamp() - 300:
        raise ValidationException(message="The StartDate you specify cannot be earlier than 5 minutes ago.")


def _args(props: dict[str, Any]) -> dict[str, Any]:
    return dict(
        description=props.get("Description"),
        end_date=_epoch(props.get("EndDate")),
        flexible_time_window=props["FlexibleTimeWindow"],
        group_name=props.get("GroupName") or "default",
        kms_key_arn=props.get("KmsKeyArn"),
        schedule_expression=props["ScheduleExpression"],
        schedule_expression_timezone=props.get("ScheduleExpressionTimezone"),
        start_date=_epoch(props.get("StartDate")),
        state=props.get("State") or "ENABLED",  # the API's default, on update too
        target=_api_target(props["Target"]),
    )


class SchedulerSchedule(Extension, CloudFormationModel):
    """AWS::Scheduler::Schedule backed by moto's scheduler backend.

    Not modelled: ActionAfterCompletion (an API field, but not a property in CloudFormation's
    schema of this type, as bundled with cfn-lint).
    """

    TYPE = "AWS::Scheduler::Schedule"
    NAME_PROPERTY = "Name"
    PROPERTIES = frozenset({"Name", "GroupName", "Description", "ScheduleExpression", "ScheduleExpressionTimezone",
                            "StartDate", "EndDate", "FlexibleTimeWindow", "State", "KmsKeyArn", "Target"})
    REF = "schedule.name"
    ATTRIBUTES = {"Arn": "schedule.arn"}

    def __init__(self, schedule):
        self.schedule = schedule

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cls.properties(cloudformation_json)
        _refuse_past_start(props)
        backend = scheduler_backends[account_id][region_name]
        name = cls.given_name(props, resource_name)
        return cls(backend.create_schedule(name=name, action_after_completion=None, **_args(props)))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        props = cls.properties(cloudformation_json)
        _refuse_past_start(props)
        args = _args(props)
        old = original_resource.schedule
        new_resource_name = cls.kept_name(props, old.name)
        if (old.name, old.group_name) == (new_resource_name, args["group_name"]):
            backend = scheduler_backends[account_id][region_name]
            return cls(backend.update_schedule(name=old.name, **args))
        original_resource.delete(account_id, region_name)  # a new name or group replaces the schedule
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        group = cloudformation_json.get("Properties", {}).get("GroupName")
        try:
            scheduler_backends[account_id][region_name].delete_schedule(group, resource_name)
        except (ScheduleNotFound, ScheduleGroupNotFound):
            pass  # already gone, or with its group: deleting is idempotent, as in CloudFormation

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(
            self.schedule.name, {"Properties": {"GroupName": self.schedule.group_name}}, account_id, region_name)


class SchedulerScheduleGroup(Extension, CloudFormationModel):
    """AWS::Scheduler::ScheduleGroup backed by moto's scheduler backend; Tags through its tagging."""

    TYPE = "AWS::Scheduler::ScheduleGroup"
    NAME_PROPERTY = "Name"
    PROPERTIES = frozenset({"Name", "Tags"})
    REF = "group.name"
    ATTRIBUTES = {"Arn": "group.arn"}

    def __init__(self, group, tags: list[dict[str, str]] | None):
        self.group, self.tags = group, tags

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cls.properties(cloudformation_json)
        tags = props.get("Tags") or []
        backend = scheduler_backends[account_id][region_name]
        return cls(backend.create_schedule_group(cls.given_name(props, resource_name), tags), tags)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        props = cls.properties(cloudformation_json)
        tags = props.get("Tags") or []
        if original_resource.group.name != cls.kept_name(props, original_resource.group.name):
            original_resource.delete(account_id, region_name)  # a new name replaces the group
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        backend = scheduler_backends[account_id][region_name]
        put, remove = tag_changes(original_resource.tags, tags)
        if remove:
            backend.untag_resource(original_resource.group.arn, remove)
        if put:
            backend.tag_resource(original_resource.group.arn, [{"Key": k, "Value": v} for k, v in put.items()])
        return cls(original_resource.group, tags)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        scheduler_backends[account_id][region_name].delete_schedule_group(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.group.name, {}, account_id, region_name)
