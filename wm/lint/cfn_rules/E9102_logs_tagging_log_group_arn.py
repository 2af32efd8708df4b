"""E9102: the CloudWatch Logs tagging actions need the log-group ARN without the trailing ':*'.

Most CloudWatch Logs actions authorize against the log-group ARN that ends in ':*'
(arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*), but logs:TagResource, logs:UntagResource and
logs:ListTagsForResource authorize against the ARN without it. CloudWatch Logs API reference,
LogGroup, field arn (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html):
"The permissions for those three actions require the ARN version that doesn't include a
trailing :*". CloudFormation's AWS::Logs::LogGroup handlers call logs:TagResource on create and
update and logs:ListTagsForResource on read (registry schema, handlers.*.permissions, bundled with
cfn-lint), so such a policy fails the deploy on AWS; the local emulator (moto) evaluates no IAM.

The rule reads every IAM policy of a template: AWS::IAM::Role, ::User and ::Group Policies[],
and the PolicyDocument of AWS::IAM::Policy, ::ManagedPolicy, ::RolePolicy, ::UserPolicy and
::GroupPolicy. A statement that allows one of the three actions (named explicitly; wildcards
such as logs:* are not taken as intent to tag) is an error when all its log-group resources end
in ':*', or when one of them ending in ':*' has no form without it in the same statement
(log-group:/ecs/x-*:* beside log-group:/weekly-models/* still leaves the /ecs groups
untaggable). Log-group resources are strings or Fn::Sub strings containing ':log-group:', parts of
an Fn::Join, and Fn::GetAtt <AWS::Logs::LogGroup>.Arn, whose value ends in ':*'. A name pattern
such as log-group:/ecs/x-* (no ':*'), log-group:* itself, and a statement that also names '*'
or arn:...:logs:REGION:ACCOUNT:* match the ARN without ':*' and are fine.
"""

from __future__ import annotations

import re

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from wm.lint import cfn_support as S

TAG_ACTIONS = ("logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource")
INLINE_POLICIES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
POLICY_DOCUMENTS = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy",
                    "AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy")
LOG_GROUP = ":log-group:"


def _texts(value, cfn) -> list[str]:
    """Readable text of one Resource entry (several for Fn::If); unresolved parts stay ${...}."""
    out = []
    for alt in S.alternatives(value):
        if isinstance(alt, str):
            out.append(alt)
            continue
        fn = S.intrinsic(alt)
        if not fn:
            continue
        key, arg = fn
        if key == "Fn::Sub":
            text = S.substituted(alt, keep=True)
            if text is not None:
                out.append(text)
        elif key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            parts = arg[1] if isinstance(arg[1], list) else None
            if parts is None:
                continue
            pieces = []
            for part in parts:
                texts = _texts(part, cfn)
                if len(texts) == 1 and not texts[0].startswith("!GetAtt "):
                    pieces.append(texts[0])
                elif S.ref_target(part):
                    pieces.append("${" + S.ref_target(part) + "}")
                else:
                    pieces.append("${...}")
            out.append(arg[0].join(pieces))
        elif key == "Fn::GetAtt":
            target = S.getatt(alt)
            if target and target[1] == "Arn" and S.resource_type(cfn, target[0]) == "AWS::Logs::LogGroup":
                out.append(f"!GetAtt {target[0]}.Arn (arn:...:log-group:<name>:*)")
    return out


def _ends_with_colon_star(text: str) -> bool:
    """Does the log-group name part end in ':*'? ('log-group:*' itself covers every ARN form.)"""
    if text.startswith("!GetAtt "):
        return True
    name = text.split(LOG_GROUP, 1)[1]
    return name.endswith(":*")


def _glob(pattern: str, text: str) -> bool:
    """IAM's wildcard match ('*' any run, '?' one character); ${...} stays literal on both sides."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text) is not None


def _covers_every_log_group(text: str) -> bool:
    """'*', or a Logs ARN whose resource part is a wildcard (arn:aws:logs:REGION:ACCOUNT:*)."""
    return text == "*" or (":logs:" in text and LOG_GROUP not in text and text.endswith(":*"))


class LogsTaggingLogGroupArn(CloudFormationLintRule):
    """Logs tagging actions need the log-group ARN without :*."""

    id = "E9102"
    shortdesc = "Logs tagging actions need the log-group ARN without :*"
    description = (
        "An IAM statement that allows logs:TagResource, logs:UntagResource or "
        "logs:ListTagsForResource must name the log-group ARN without the trailing ':*': "
        "CloudWatch Logs authorizes those three actions against that form only."
    )
    source_url = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html"
    tags = ["resources", "iam", "logs", "weekly-models"]

    def match(self, cfn):
        matches = []
        for name, resource in cfn.get_resources(list(INLINE_POLICIES + POLICY_DOCUMENTS)).items():
            properties = resource.get("Properties")
            if not isinstance(properties, dict):
                continue
            base = ["Resources", name, "Properties"]
            if resource.get("Type") in INLINE_POLICIES:
                policies = properties.get("Policies")
                if not isinstance(policies, list):
                    continue
                for i, policy in enumerate(policies):
                    if isinstance(policy, dict) and "PolicyDocument" in policy:
                        matches.extend(self._check(cfn, policy["PolicyDocument"], base + ["Policies", i, "PolicyDocument"]))
            elif "PolicyDocument" in properties:
                matches.extend(self._check(cfn, properties["PolicyDocument"], base + ["PolicyDocument"]))
        return matches

    def _check(self, cfn, value, path):
        doc = S.document(value)
        structured = isinstance(value, dict) and S.intrinsic(value) is None
        matches = []
        for index, statement in S.statements(doc):
            if not S.allows(statement):
                continue
            actions = {a.lower() for a in S.strings(statement.get("Action"))}
            tagging = [a for a in TAG_ACTIONS if a.lower() in actions]
            if not tagging:
                continue
            resources = [t for entry in S.as_list(statement.get("Resource")) for t in _texts(entry, cfn)]
            if any(_covers_every_log_group(t) for t in resources):
                continue
            log_groups = [t for t in resources if LOG_GROUP in t or t.startswith("!GetAtt ")]
            bare = [t for t in log_groups if not _ends_with_colon_star(t)]
            uncovered = [t for t in log_groups if _ends_with_colon_star(t) and not (
                bare and (t.startswith("!GetAtt ") or any(_glob(b, t[:-2]) for b in bare)))]
            if not uncovered:
                continue
            log_groups = uncovered
            if structured and index is not None:
                where = path + ["Statement", index, "Resource"]
            elif structured:
                where = path + ["Statement", "Resource"]
            else:
                where = path
            example = log_groups[0]
            if example.startswith("!GetAtt "):
                group = example.split()[1].split(".")[0]
                fix = ("the log group's ARN without ':*' (!Sub arn:${AWS::Partition}:logs:${AWS::Region}:"
                       f"${{AWS::AccountId}}:log-group:${{{group}}})")
            else:
                fix = f"the ARN without ':*' ({example[:-2]})"
            matches.append(RuleMatch(where, (
                f"{S.statement_label(statement, index)} allows {', '.join(tagging)} on log groups only as "
                f"ARNs ending in ':*' ({', '.join(log_groups)}); CloudWatch Logs authorizes these tagging "
                f"actions against the log-group ARN without the trailing ':*', so AWS refuses them (the "
                f"emulator does not check). Add {fix} to Resource."
            )))
        return matches
