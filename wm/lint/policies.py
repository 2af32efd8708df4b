"""parliament over every IAM policy of every rendered template, with concrete ARNs.

Identity policies (roles' inline policies, managed policies) and resource policies
(trust policies, the SNS topic policy, the Logs resource policy) are resolved to real
ARNs first (wm/lint/concrete.py), so parliament checks action names, ARN formats
against each action's resource types, and condition keys as AWS would see them.
A finding is suppressed only in SUPPRESSED, keyed by (issue, what it is about), with why.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .concrete import Environment

# (parliament issue, the action or key it is about) -> why it is not a problem here.
SUPPRESSED = {
    ("UNKNOWN_ACTION", "logs:PutBearerTokenAuthentication"):
        "declared by the AWS::Logs::LogGroup handlers (registry schema), newer than parliament's data",
    ("UNKNOWN_ACTION", "logs:PutLogGroupDeletionProtection"):
        "declared by the AWS::Logs::LogGroup handlers (registry schema), newer than parliament's data",
    ("UNKNOWN_ACTION", "ec2:DescribeVpcEncryptionControls"):
        "declared by the AWS::EC2::VPC read handler (registry schema), newer than parliament's data",
    ("UNKNOWN_FEDERATION_SOURCE", "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"):
        "GitHub's OIDC provider in this account (deployer stack); parliament knows only AWS's own identity providers",
    **{("UNKNOWN_CONDITION_FOR_ACTION", f"token.actions.githubusercontent.com:{claim}"):
       f"the OIDC provider's own {claim} key (IAM user guide, available keys for OIDC federation: "
       "<provider>:aud and <provider>:sub), which parliament does not list" for claim in ("aud", "sub")},
}


@dataclass(frozen=True)
class PolicyFinding:
    where: str
    issue: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.issue}: {self.detail}"


def documents(env: Environment):
    """(where, policy document) for every policy in every resource of an environment."""
    for r in env.resources():
        props = r.properties
        found = []
        if "AssumeRolePolicyDocument" in props:
            # A trust policy is the role's resource policy: its resource is the role itself.
            trust = props["AssumeRolePolicyDocument"]
            found.append(("trust policy", {**trust, "Statement": [{**st, "Resource": r.arn}
                                                                   for st in trust["Statement"]]}))
        for p in props.get("Policies", []):
            found.append((f"policy {p.get('PolicyName')}", p["PolicyDocument"]))
        if "PolicyDocument" in props:
            doc = props["PolicyDocument"]
            found.append(("policy", json.loads(doc) if isinstance(doc, str) else doc))
        for label, doc in found:
            yield f"{r.stack}:{r.logical} {label}", doc


def _about(finding) -> str:
    detail = finding.detail
    if finding.issue == "UNKNOWN_ACTION" and isinstance(finding.location, dict):
        return str(finding.location.get("string", detail))
    if finding.issue == "UNKNOWN_CONDITION_FOR_ACTION" and isinstance(detail, str):
        m = re.match(r"Unknown condition (\S+)", detail)
        return m.group(1) if m else detail
    if isinstance(detail, dict):
        return str(detail.get("action") or detail.get("unknown_action") or detail.get("key") or "")
    if isinstance(detail, list):
        return ",".join(map(str, detail))
    return str(detail)


def check(envs: list[Environment]) -> list[PolicyFinding]:
    from parliament import analyze_policy_string

    out = []
    for env in envs:
        for where, doc in documents(env):
            policy = analyze_policy_string(json.dumps(doc), include_community_auditors=False)
            for f in policy.findings:
                about = _about(f)
                if (f.issue, about) in SUPPRESSED:
                    continue
                out.append(PolicyFinding(where, f.issue, f"{about} ({f.title})" if about else f.title))
    return out
