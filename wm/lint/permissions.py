"""Does CloudFormation's service role allow every call the resource handlers will make?

CloudFormation changes prod's resources with the deployer stack's service role
(`weekly-models-cloudformation`), and each resource type's handler calls the
permissions its registry schema declares, reads and lists included: a role missing one
fails the stack on AWS, while the emulator never checks. This check derives, for every
resource of every rendered template:

- the permissions its handlers declare (registry schemas bundled with cfn-lint),
- the resources each permission acts on: the resource's own ARN, the resources its
  properties name (a role it passes, a VPC it sits in), or `*` for actions AWS does not
  scope (Service Authorization Reference, as bundled with parliament),
- the request context IAM would see (iam:PassedToService, iam:AWSServiceName),

and evaluates each request against the service role's policy. A permission that acts
on a kind of resource this resource does not name (a KMS key, a VPN gateway, an S3
definition) is not called for it and is not required. The few permissions a handler
declares that are deliberately not granted are listed in NOT_GRANTED, each with why.
It also reports grants no handler needs, and the role's policy size against IAM's quota.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import reference
from .concrete import ACCOUNT, PARTITION, Environment, Resource
from .policy import Request, allowed

# The role iam:PassRole hands over, per resource type, and the service it goes to.
PASSED_TO = {
    "AWS::ECS::TaskDefinition": "ecs-tasks.amazonaws.com",
    "AWS::Scheduler::Schedule": "scheduler.amazonaws.com",
    "AWS::StepFunctions::StateMachine": "states.amazonaws.com",
    "AWS::Events::Rule": "events.amazonaws.com",
    "AWS::Chatbot::SlackChannelConfiguration": "chatbot.amazonaws.com",
    "AWS::SNS::Topic": "sns.amazonaws.com",
    "AWS::SNS::Subscription": "sns.amazonaws.com",
    # The execution and job roles a job definition names are assumed by ECS tasks (AWS Batch user
    # guide, "IAM roles for tasks": Batch passes them on to ECS). Not verified on AWS yet.
    "AWS::Batch::JobDefinition": "ecs-tasks.amazonaws.com",
    # An EC2 compute environment's instance role goes, in its instance profile, to the EC2 instances
    # Batch launches (AWS Batch user guide, "Amazon ECS instance role"); the profile hands it to EC2.
    # Not verified on AWS yet.
    "AWS::Batch::ComputeEnvironment": "ec2.amazonaws.com",
    "AWS::IAM::InstanceProfile": "ec2.amazonaws.com",
}

# iam:CreateServiceLinkedRole: the role a handler creates in an account that has none yet
# ("When you create a cluster ... Amazon ECS creates the service-linked role for you",
# ECS developer guide, "Using service-linked roles").
SERVICE_LINKED_ROLES = {
    "AWS::ECS::Cluster": ("ecs.amazonaws.com", "role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"),
    # "AWS Batch creates the service-linked role for you when you create a compute environment"
    # without a service role (AWS Batch user guide, "Using service-linked roles").
    "AWS::Batch::ComputeEnvironment": ("batch.amazonaws.com",
                                       "role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"),
    "AWS::Chatbot::SlackChannelConfiguration": (
        "management.chatbot.amazonaws.com",
        "role/aws-service-role/management.chatbot.amazonaws.com/AWSServiceRoleForAWSChatbot"),
}

# Declared by a handler, deliberately not granted. Each is called only for a property no
# template here may set, so not granting it is a second guard on top of the tests.
NOT_GRANTED = {
    ("AWS::EC2::SecurityGroup", "ec2:AuthorizeSecurityGroupIngress"):
        "only for inbound rules, which no template may have (tests: no inbound rule anywhere); "
        "without it an inbound rule fails to deploy",
    ("AWS::IAM::Role", "iam:AttachRolePolicy"):
        "only for ManagedPolicyArns, which no template may set (tests: no managed policies); "
        "without it the role cannot attach any managed policy, AdministratorAccess included",
    ("AWS::IAM::Role", "iam:DetachRolePolicy"): "only to detach managed policies, which none of these roles has",
    ("AWS::ECS::Cluster", "ecs:PutAccountSetting"):
        "changes an account-wide ECS setting; no template sets one, and a stack must not change the account",
    ("AWS::ECS::Cluster", "ecs:PutAccountSettingDefault"): "as ecs:PutAccountSetting",
    ("AWS::Logs::LogGroup", "s3:REST.PUT.OBJECT"): "not an IAM action (an S3 API operation name in the schema)",
    ("AWS::Logs::LogGroup", "logs:CreateLogDelivery"): "only for vended log delivery, which no log group here uses",
    ("AWS::EC2::VPC", "ec2:CreateVpcEncryptionControl"): "only for VpcEncryptionControl, which no VPC here sets",
    # The S3 bucket's schema lists some API operation names that are not IAM actions; IAM authorizes
    # each with the Put action beside it, which is granted (Service Authorization Reference, S3).
    **{("AWS::S3::Bucket", f"s3:{op}"): f"an S3 API operation, not an IAM action: s3:{action} authorizes it"
       for op, action in (("PutBucketReplication", "PutReplicationConfiguration"),
                          ("DeleteBucketReplication", "PutReplicationConfiguration"),
                          ("DeleteBucketCors", "PutBucketCORS"), ("DeleteBucketEncryption", "PutEncryptionConfiguration"),
                          ("DeleteBucketLifecycle", "PutLifecycleConfiguration"),
                          ("DeleteBucketAnalyticsConfiguration", "PutAnalyticsConfiguration"),
                          ("DeleteBucketMetricsConfiguration", "PutMetricsConfiguration"),
                          ("PutObjectLockConfiguration", "PutBucketObjectLockConfiguration"))},
    **{("AWS::S3::Bucket", f"s3:{a}"): "only for the bucket's ABAC or metadata tables, which no bucket here sets"
       for a in ("PutBucketAbac", "GetBucketAbac", "UpdateBucketMetadataAnnotationTableConfiguration",
                 "UpdateBucketMetadataInventoryTableConfiguration", "UpdateBucketMetadataJournalTableConfiguration")},
    ("AWS::S3::Bucket", "s3tables:PutTableEncryption"): "only for metadata tables, which no bucket here sets",
    # "a permission-only action ... evaluated whenever a CreateComputeEnvironment or UpdateComputeEnvironment
    # request includes capacityTags", which apply to ECS Managed Instances compute environments only, "not
    # to Fargate, Amazon EC2, or Amazon EKS" ones (AWS Batch user guide, "Control access to capacity tags
    # with batch:SetCapacityTags"); parliament's Service Authorization Reference does not list it yet.
    ("AWS::Batch::ComputeEnvironment", "Batch:SetCapacityTags"):
        "only for ComputeResources.CapacityTags of an ECS Managed Instances compute environment; these are "
        "Fargate and EC2 ones and none sets it (tests/test_jobs.py)",
}

# Declared by a handler for a kind of resource that only the property named here would bring in
# (a KMS key, an S3 definition, a role for delivery logging); while the resource does not set
# that property, the handler does not call it. Any other permission for a kind of resource the
# resource does not name is a finding, so a new property or type cannot slip past unchecked.
# "Targets.RoleArn" means the RoleArn of any element of Targets.
NOT_CALLED = {
    ("AWS::EC2::VPCGatewayAttachment", "ec2:AttachVpnGateway"): "VpnGatewayId",
    ("AWS::EC2::VPCGatewayAttachment", "ec2:DetachVpnGateway"): "VpnGatewayId",
    **{("AWS::IAM::ManagedPolicy", f"iam:{verb}{kind}Policy"): f"{kind}s"
       for verb in ("Attach", "Detach") for kind in ("Group", "User", "Role")},
    ("AWS::Chatbot::SlackChannelConfiguration", "chatbot:AssociateToConfiguration"): "CustomizationResourceArns",
    ("AWS::Chatbot::SlackChannelConfiguration", "chatbot:DisassociateFromConfiguration"): "CustomizationResourceArns",
    ("AWS::ECS::Cluster", "kms:DescribeKey"): "Configuration",
    ("AWS::Events::Rule", "iam:PassRole"): "Targets.RoleArn",
    ("AWS::Logs::LogGroup", "firehose:TagDeliveryStream"): "DataProtectionPolicy",
    ("AWS::SNS::Topic", "iam:GetRole"): "DeliveryStatusLogging",
    ("AWS::SNS::Topic", "iam:PassRole"): "DeliveryStatusLogging",
    ("AWS::SNS::Subscription", "iam:GetRole"): "SubscriptionRoleArn",
    ("AWS::SNS::Subscription", "iam:PassRole"): "SubscriptionRoleArn",
    **{("AWS::StepFunctions::StateMachine", f"kms:{a}"): "EncryptionConfiguration"
       for a in ("Decrypt", "DescribeKey", "GenerateDataKey")},
    **{("AWS::StepFunctions::StateMachine", f"s3:{a}"): "DefinitionS3Location"
       for a in ("GetObject", "GetObjectVersion")},
    ("AWS::S3::Bucket", "iam:PassRole"): "ReplicationConfiguration",
    **{("AWS::S3::Bucket", f"s3tables:{a}"): "MetadataTableConfiguration"
       for a in ("CreateNamespace", "CreateTable", "CreateTableBucket", "GetTable", "GetTableMetadataLocation",
                 "PutTableBucketPolicy", "PutTablePolicy", "UpdateTableMetadataLocation")},
    **{("AWS::Batch::ComputeEnvironment", f"Eks:{a}"): "EksConfiguration"
       for a in ("AssociateAccessPolicy", "CreateAccessEntry", "DeleteAccessEntry", "DescribeAccessEntry",
                 "DescribeCluster", "ListAssociatedAccessPolicies")},
    # It passes the service role, or an EC2 compute environment's instance role (in its profile).
    ("AWS::Batch::ComputeEnvironment", "Iam:PassRole"): ("ServiceRole", "ComputeResources.InstanceRole"),
}


def _has(properties, path: str | tuple[str, ...]) -> bool:
    """Whether `path` (dotted; a list on the way means any of its elements; a tuple: any of them) is set."""
    if isinstance(path, tuple):
        return any(_has(properties, p) for p in path)
    head, _, rest = path.partition(".")
    if isinstance(properties, list):
        return any(_has(p, path) for p in properties)
    if not isinstance(properties, dict) or head not in properties:
        return False
    return not rest or _has(properties[head], rest)


# Resources a resource's handlers act on that its properties name only by name, not ARN.
RELATED = {
    "AWS::Logs::MetricFilter": lambda p, region: [f"arn:{PARTITION}:logs:{region}:{ACCOUNT}:log-group:{p['LogGroupName']}"],
    # Deleting a group deletes its schedules; all of them are named with the group's prefix (wm/config/names.py).
    "AWS::Scheduler::ScheduleGroup": lambda p, region: [
        f"arn:{PARTITION}:scheduler:{region}:{ACCOUNT}:schedule/{p['Name']}/{p['Name']}-any-schedule"],
    # Creating a bucket may set an object's ACL or remove a test object (its schema); any object of it.
    "AWS::S3::Bucket": lambda p, region: [f"arn:{PARTITION}:s3:::{p['BucketName']}/any-object"],
    # A bucket policy names its bucket by name.
    "AWS::S3::BucketPolicy": lambda p, region: [f"arn:{PARTITION}:s3:::{p['Bucket']}"],
    # The instance profile of an EC2 compute environment has its role's name (generators/batch.py):
    # the role passed is that one.
    "AWS::Batch::ComputeEnvironment": lambda p, region: [
        p["ComputeResources"]["InstanceRole"].replace(":instance-profile/", ":role/", 1)]
        if "InstanceRole" in p.get("ComputeResources", {}) else [],
    # An instance profile names its roles by name; the roles here have the root path.
    "AWS::IAM::InstanceProfile": lambda p, region: [f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"
                                                    for name in p.get("Roles", [])],
    # RegisterJobDefinition authorizes the name without a revision.
    "AWS::Batch::JobDefinition": lambda p, region: [
        f"arn:{PARTITION}:batch:{region}:{ACCOUNT}:job-definition/{p['JobDefinitionName']}"],
}

# Actions newer than parliament's copy of the Service Authorization Reference: the resource
# types they are assumed to take (like their siblings), until parliament's data has them.
ASSUMED = {
    "logs:PutBearerTokenAuthentication": ("log-group",),
    "logs:PutLogGroupDeletionProtection": ("log-group",),
    "ec2:DescribeVpcEncryptionControls": (),  # like every ec2:Describe*: unscoped
}

# The CloudWatch Logs actions that authorize the log-group ARN without its trailing ":*";
# every other Logs action authorizes "log-group:<name>:*" (CloudWatch Logs API reference,
# LogGroup, field arn).
LOGS_BARE_ARN = {"logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource"}

# IAM quota: "Role policy size cannot exceed 10,240 characters" (all inline policies of one
# role together, whitespace not counted; IAM user guide, IAM and AWS STS quotas).
ROLE_POLICY_LIMIT = 10_240

_SERVICES = {"StepFunctions": "states"}
_EC2_ID = re.compile(r"(vpc|subnet|sg|igw|rtb)-[0-9a-f]{8,17}")
_EC2_TYPES = {"vpc": "vpc", "subnet": "subnet", "sg": "security-group", "igw": "internet-gateway",
              "rtb": "route-table"}
_POLICY_PROPS = ("AssumeRolePolicyDocument", "Policies", "PolicyDocument")


@dataclass(frozen=True)
class Finding:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    requests: int = 0
    used_actions: set[str] = field(default_factory=set)


def own_service(resource_type: str) -> str:
    part = resource_type.split("::")[1]
    return _SERVICES.get(part, part.lower())


def named_resources(properties, region: str) -> list[str]:
    """ARNs (and EC2 IDs as ARNs) that a resource's resolved properties name, policies left out."""
    out: list[str] = []

    def walk(node, key=""):
        if key in _POLICY_PROPS:
            return
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str):
            if node.startswith("arn:") and "*" not in node:
                out.append(node)
            elif _EC2_ID.fullmatch(node):
                kind = _EC2_TYPES[node.split("-", 1)[0]]
                out.append(f"arn:{PARTITION}:ec2:{region}:{ACCOUNT}:{kind}/{node}")

    walk(properties)
    return list(dict.fromkeys(out))


def _request_arn(action: str, arn: str, kind: str) -> str:
    if kind == "log-group" and action not in LOGS_BARE_ARN:
        return arn + ":*"
    return arn


def requests_for(r: Resource, region: str) -> tuple[list[tuple[str, Request]], list[Finding]]:
    """(handler, request) for every call the resource's handlers make, and what cannot be told."""
    where = f"{r.stack}:{r.logical} ({r.type})"
    out: list[tuple[str, Request]] = []
    problems: list[Finding] = []
    try:
        declared = reference.handler_permissions(r.type)
    except KeyError as err:
        return [], [Finding(where, str(err))]
    named = [(a, reference.resource_type_of(a)) for a in named_resources(r.properties, region)]
    named += [(a, reference.resource_type_of(a)) for a in RELATED.get(r.type, lambda p, g: [])(r.properties, region)]
    candidates = ([(r.arn, reference.resource_type_of(r.arn))] if r.arn else []) + named
    for handler, permissions in declared.items():
        for permission in permissions:
            if (r.type, permission) in NOT_GRANTED:
                continue
            # IAM action names are case-insensitive, and some schemas write them so (Batch: "Iam:PassRole").
            if permission.lower() == "iam:createservicelinkedrole":
                if r.type not in SERVICE_LINKED_ROLES:
                    problems.append(Finding(where, f"{handler} declares iam:CreateServiceLinkedRole: say which "
                                                   "role in wm/lint/permissions.py SERVICE_LINKED_ROLES"))
                    continue
                service, role = SERVICE_LINKED_ROLES[r.type]
                out.append((handler, Request(permission, f"arn:{PARTITION}:iam::{ACCOUNT}:{role}",
                                             {"iam:AWSServiceName": service})))
                continue
            info = reference.action(permission)
            if info is None and permission in ASSUMED:
                info = reference.Action(permission, ASSUMED[permission], frozenset(ASSUMED[permission]))
            if info is None:
                problems.append(Finding(where, f"{handler} declares {permission}, which the Service Authorization "
                                               "Reference (parliament's copy) does not know: add it to ASSUMED or "
                                               "NOT_GRANTED in wm/lint/permissions.py, with why"))
                continue
            context = {}
            guard = NOT_CALLED.get((r.type, permission))
            if permission.lower() == "iam:passrole" and guard is not None and not _has(r.properties, guard):
                continue  # it passes a role only for a property this resource does not set
            if permission.lower() == "iam:passrole":
                if r.type not in PASSED_TO:
                    problems.append(Finding(where, "passes a role: say to which service in PASSED_TO"))
                    continue
                context = {"iam:PassedToService": PASSED_TO[r.type]}
            if info.unscoped:
                out.append((handler, Request(permission, "*", context)))
                continue
            typed = [(arn, kind) for arn, kind in candidates if kind in info.resource_types]
            if info.required - {kind for _, kind in typed}:
                # It acts on a kind of resource this one does not name, so it is not called for
                # it; which property would bring that resource in is said, not assumed.
                guard = NOT_CALLED.get((r.type, permission))
                if guard is None or _has(r.properties, guard):
                    problems.append(Finding(where, f"{handler} declares {permission}, which acts on a "
                                                   f"{', '.join(sorted(info.required))} this resource does not "
                                                   "name: say what it acts on (RELATED) or which property would "
                                                   "make it called (NOT_CALLED) in wm/lint/permissions.py"))
                continue
            if not typed:
                out.append((handler, Request(permission, "*", context)))
                continue
            out += [(handler, Request(permission, _request_arn(permission, arn, kind), context))
                    for arn, kind in typed]
    return out, problems


def _statements(role: Resource) -> list[dict]:
    return [st for p in role.properties.get("Policies", []) for st in p["PolicyDocument"]["Statement"]]


def policy_size(role: Resource) -> int:
    import json

    text = "".join(json.dumps(p["PolicyDocument"], separators=(",", ":")) for p in role.properties.get("Policies", []))
    return len(re.sub(r"\s", "", text))


def check(service_role: Resource, environments: list[Environment], region: str) -> Report:
    report = Report()
    statements = _statements(service_role)
    for env in environments:
        for r in env.resources():
            requests, problems = requests_for(r, region)
            report.findings += problems
            for handler, request in requests:
                report.requests += 1
                if allowed(statements, request):
                    report.used_actions.add(request.action.lower())
                    continue
                context = "".join(f", {k}={v}" for k, v in request.context.items())
                report.findings.append(Finding(
                    f"{r.stack}:{r.logical} ({r.type})",
                    f"its {handler} handler calls {request.action} on {request.resource}{context}; "
                    "CloudFormation's service role (generators/deployer.py) does not allow it"))
    granted = {a for st in statements if st.get("Effect") == "Allow"
               for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
    for action in sorted(granted):
        if action.lower() not in report.used_actions:
            report.findings.append(Finding(
                "account/deployer:CloudFormationServiceRole",
                f"grants {action}, which no handler of any rendered resource needs: remove it"))
    size = policy_size(service_role)
    if size > ROLE_POLICY_LIMIT:
        report.findings.append(Finding("account/deployer:CloudFormationServiceRole",
                                       f"its inline policies are {size} characters; IAM allows {ROLE_POLICY_LIMIT}"))
    return report
