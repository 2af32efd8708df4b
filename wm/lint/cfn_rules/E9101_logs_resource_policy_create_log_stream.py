"""E9101: a Logs resource policy must not put source conditions on CreateLogStream.

EventBridge delivers events to a CloudWatch Logs target through the log group's resource policy
(AWS::Logs::ResourcePolicy). Its delivery creates the log stream without the aws:SourceArn /
aws:SourceAccount context, so a statement that allows logs:CreateLogStream to
events.amazonaws.com or delivery.logs.amazonaws.com only under such a condition is refused on
AWS and nothing is delivered. The condition may stay on logs:PutLogEvents.

Sources:
- EventBridge user guide, "Using resource-based policies for Amazon EventBridge", CloudWatch Logs
  permissions: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-cloudwatchlogs-permissions
- aws-samples/serverless-patterns PR #618 split AWS's own sample into two statements: "The
  conditional ARN for the Rule only applies to logs:PutLogEvents".

The local emulator (moto) evaluates no resource policy, so only this rule catches it offline.
"""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from wm.lint import cfn_support as S

DELIVERY_PRINCIPALS = ("events.amazonaws.com", "delivery.logs.amazonaws.com")
SOURCE_KEYS = ("aws:sourcearn", "aws:sourceaccount")


def _source_conditions(condition) -> list[str]:
    """'Operator aws:Key' for each condition that needs aws:SourceArn/aws:SourceAccount present.

    Operators ending in IfExists, ForAllValues:..., and Null "true" all pass when the key is
    absent, so they do not block EventBridge's CreateLogStream call.
    """
    found = []
    if not isinstance(condition, dict):
        return found
    for operator, clauses in condition.items():
        if not isinstance(operator, str) or not isinstance(clauses, dict):
            continue
        if operator.endswith("IfExists") or operator.startswith("ForAllValues:"):
            continue
        for key, value in clauses.items():
            if not isinstance(key, str) or key.lower() not in SOURCE_KEYS:
                continue
            if operator == "Null" and str(value).lower() == "true":
                continue
            found.append(f"{operator} {key}")
    return found


class LogsResourcePolicyCreateLogStream(CloudFormationLintRule):
    """Logs resource policy: no source conditions on CreateLogStream."""

    id = "E9101"
    shortdesc = "Logs resource policy: no source conditions on CreateLogStream"
    description = (
        "In an AWS::Logs::ResourcePolicy, a statement that allows logs:CreateLogStream to "
        "events.amazonaws.com or delivery.logs.amazonaws.com must not carry an aws:SourceArn or "
        "aws:SourceAccount condition: EventBridge creates the log stream without that context. "
        "Keep the condition on logs:PutLogEvents only."
    )
    source_url = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-cloudwatchlogs-permissions"
    tags = ["resources", "logs", "eventbridge", "weekly-models"]

    def match(self, cfn):
        matches = []
        for name, resource in cfn.get_resources(["AWS::Logs::ResourcePolicy"]).items():
            properties = resource.get("Properties")
            if not isinstance(properties, dict) or "PolicyDocument" not in properties:
                continue
            doc = S.document(properties["PolicyDocument"])
            for index, statement in S.statements(doc):
                message = self._problem(statement, index)
                if message:
                    matches.append(RuleMatch(["Resources", name, "Properties", "PolicyDocument"], message))
        return matches

    @staticmethod
    def _problem(statement: dict, index) -> str | None:
        if not S.allows(statement):
            return None
        actions = S.strings(statement.get("Action"))
        if not any(S.action_matches(a, "logs:CreateLogStream") for a in actions):
            return None
        principal = statement.get("Principal")
        services = S.strings(principal.get("Service")) if isinstance(principal, dict) else []
        delivery = [s for s in services if s.lower() in DELIVERY_PRINCIPALS]
        if not delivery:
            return None
        conditions = _source_conditions(statement.get("Condition"))
        if not conditions:
            return None
        return (
            f"{S.statement_label(statement, index)} allows logs:CreateLogStream to {', '.join(delivery)} "
            f"only under {', '.join(conditions)}; EventBridge creates the log stream without that "
            "context, so AWS refuses the delivery (the emulator does not check). Allow "
            "logs:CreateLogStream in a statement of its own without aws:SourceArn/aws:SourceAccount "
            "conditions, and keep the condition on logs:PutLogEvents."
        )
