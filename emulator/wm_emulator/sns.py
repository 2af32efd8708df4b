"""AWS::SNS::TopicPolicy and AWS::SNS::Subscription for moto's CloudFormation, on moto's SNS backend.

moto's CloudFormation skips both (the stack still says CREATE_COMPLETE).

- TopicPolicy: the document is set as each topic's Policy attribute (GetTopicAttributes
  returns it). As CloudFormation's own handler does, a topic dropped from Topics on
  update, and every topic when the policy is deleted, gets SNS's default policy back.
- Subscription: a real Subscribe, so a subscribed SQS queue really receives what the
  topic publishes; its delivery options (RawMessageDelivery, FilterPolicy, ...) are
  subscription attributes, set with SetSubscriptionAttributes on create and on update.
  A new TopicArn, Endpoint or Protocol replaces the subscription.

The emulator does not enforce topic policies.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.sns.exceptions import TopicNotFound
from moto.sns.models import sns_backends
from moto.utilities.arns import parse_arn

from .base import Extension, changed


def _backend(topic_arn: str):
    arn = parse_arn(topic_arn)
    return sns_backends[arn.account][arn.region]


def _default_policy(topic_arn: str) -> str:
    topic = _backend(topic_arn).get_topic(topic_arn)
    arn = parse_arn(topic_arn)
    return json.dumps(topic._create_default_topic_policy(arn.region, arn.account, topic.name))


class SnsTopicPolicy(Extension, CloudFormationModel):
    TYPE = "AWS::SNS::TopicPolicy"
    PROPERTIES = frozenset({"PolicyDocument", "Topics"})
    REF = "id"

    def __init__(self, topics: list[str], document: str):
        self.topics, self.document = topics, document

    @property
    def id(self) -> str:
        return ",".join(self.topics)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cls.properties(cloudformation_json)
        document = p["PolicyDocument"]
        document = document if isinstance(document, str) else json.dumps(document)
        for topic in p["Topics"]:
            _backend(topic).set_topic_attribute(topic, "policy", document)
        return cls(list(p["Topics"]), document)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        _reset([t for t in original_resource.topics if t not in new.topics])
        return new

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        _reset(cloudformation_json.get("Properties", {}).get("Topics", []))

    def delete(self, account_id: str, region_name: str) -> None:
        _reset(self.topics)


def _reset(topics: list[str]) -> None:
    """Give topics SNS's default policy back (SNS requires one), as CloudFormation's handler does."""
    for topic in topics:
        try:
            _backend(topic).set_topic_attribute(topic, "policy", _default_policy(topic))
        except TopicNotFound:
            pass  # deleted with its own stack already


def _attribute(value: Any) -> str:
    """A subscription attribute as the API takes it: booleans lower-case, policies as JSON text."""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value)


# Subscription attributes and the value that stands for "not set".
_ATTRIBUTES = {"RawMessageDelivery": "false", "FilterPolicy": "", "FilterPolicyScope": "MessageAttributes",
               "DeliveryPolicy": "", "RedrivePolicy": "", "SubscriptionRoleArn": ""}
_IDENTITY = ("TopicArn", "Endpoint", "Protocol")  # a change to one of these replaces the subscription


class SnsSubscription(Extension, CloudFormationModel):
    """AWS::SNS::Subscription backed by moto's SNS backend.

    Not modelled: Region (the subscription is made in the topic's own region) and
    ReplayPolicy (moto has no message archive to replay).
    """

    TYPE = "AWS::SNS::Subscription"
    PROPERTIES = frozenset({*_IDENTITY, *_ATTRIBUTES})
    REF = "subscription.arn"
    ATTRIBUTES = {"Arn": "subscription.arn"}

    def __init__(self, subscription, props: dict[str, Any]):
        self.subscription, self.props = subscription, props

    def _set(self, names) -> None:
        # FilterPolicyScope first: moto validates a FilterPolicy against the scope already set.
        backend = _backend(self.subscription.topic.arn)
        for name in sorted(names, key=lambda n: n != "FilterPolicyScope"):
            value = self.props.get(name)
            backend.set_subscription_attributes(self.subscription.arn, name,
                                                _ATTRIBUTES[name] if value is None else _attribute(value))

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cls.properties(cloudformation_json)
        new = cls(_backend(p["TopicArn"]).subscribe(p["TopicArn"], p["Endpoint"], p["Protocol"]), p)
        new._set(set(p) & set(_ATTRIBUTES))
        return new

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        p = cls.properties(cloudformation_json)
        diff = changed(original_resource.props, p)
        if diff & set(_IDENTITY):  # CloudFormation creates the new subscription, then deletes the old one
            new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
            original_resource.delete(account_id, region_name)
            return new
        updated = cls(original_resource.subscription, p)
        updated._set(diff & set(_ATTRIBUTES))
        return updated

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        _backend(cloudformation_json["Properties"]["TopicArn"]).unsubscribe(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(self.subscription.topic.arn).unsubscribe(self.subscription.arn)
