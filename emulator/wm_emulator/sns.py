"""AWS::SNS::TopicPolicy and AWS::SNS::Subscription for moto's CloudFormation, on moto's SNS backend.

moto's CloudFormation skips both (the stack still says CREATE_COMPLETE). The policy
is set as the topic's Policy attribute (GetTopicAttributes returns it) and the
subscription is made with the backend's Subscribe, so a subscribed SQS queue really
receives what the topic publishes. The emulator does not enforce topic policies.
"""

from __future__ import annotations

import json

from moto.core.common_models import CloudFormationModel
from moto.sns.models import sns_backends
from moto.utilities.arns import parse_arn


def _backend(topic_arn: str):
    arn = parse_arn(topic_arn)
    return sns_backends[arn.account][arn.region]


class SnsTopicPolicy(CloudFormationModel):
    def __init__(self, topics: list[str], document: str):
        self.topics, self.document = topics, document

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.topics)

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        document = p["PolicyDocument"]
        document = document if isinstance(document, str) else json.dumps(document)
        for topic in p["Topics"]:
            _backend(topic).set_topic_attribute(topic, "policy", document)
        return cls(list(p["Topics"]), document)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        pass  # the topic keeps its last policy until it is deleted itself, as in SNS

    def is_created(self) -> bool:
        return True


class SnsSubscription(CloudFormationModel):
    def __init__(self, subscription):
        self.subscription = subscription

    @property
    def physical_resource_id(self) -> str:
        return self.subscription.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        return cls(_backend(p["TopicArn"]).subscribe(p["TopicArn"], p["Endpoint"], p["Protocol"]))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(self.subscription.topic.arn).unsubscribe(self.subscription.arn)

    def is_created(self) -> bool:
        return True
