"""deployer: how GitHub Actions deploys this project, without stored keys (deployed once by an admin).

Creates
- GitHubOidcProvider: trust in GitHub's OIDC tokens (unless the account already has one:
  `deployer.existing_oidc_provider_arn`).
- PlanRole `weekly-models-github-plan`: assumable only by pull-request workflows of the
  lab's repository (token audience sts.amazonaws.com, subject repo:<repo>:pull_request);
  may read this project's stacks and make, read and delete their change sets.
- DeployRole `weekly-models-github-deploy`: assumable only by jobs of the lab's repository
  that run in its GitHub environment `deployer.github_environment` (subject
  repo:<repo>:environment:<name>: a job that declares an environment presents that
  subject, never its branch); may also create, update and delete this project's stacks
  (what `sceptre launch` calls, which the reviewed-plan hook allows only for the
  reviewed plan) and set termination protection and stack policies. Which branches may use that environment is set in the
  repository's settings (Environments -> prod -> Deployment branches: main).
- CloudFormationServiceRole `weekly-models-cloudformation`: what CloudFormation itself
  uses to change the resources (Sceptre passes it: cloudformation_service_role in
  config/prod/config.yaml), so the two GitHub
  roles can do little more than manage this project's stacks.
All policies name their actions; resources are this project's (`weekly-models-*`) except
for the calls AWS does not scope to a resource (Describe*, RegisterTaskDefinition, ...).

Takes: nothing from other stacks.
Outputs: PlanRoleArn, DeployRoleArn, CloudFormationServiceRoleArn.
"""

from __future__ import annotations

from awacs import aws as a
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals, StringEqualsIfExists
from awacs.sts import AssumeRoleWithWebIdentity
from troposphere import GetAtt, Output, Sub, iam

from generators.iam import assume_role
from wm.config import names as naming
from wm.render import arn, checkov_skip, new_template, why

GITHUB = "token.actions.githubusercontent.com"
P = naming.PROJECT


def _actions(*names: str) -> list:
    return [a.Action(*n.split(":", 1)) for n in names]


STACKS = [arn("cloudformation", f"stack/{P}-*/*")]
READ_STACKS = ("cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:GetTemplate",
               "cloudformation:ListStackResources", "cloudformation:ListChangeSets",
               "cloudformation:DescribeChangeSet", "cloudformation:CreateChangeSet",
               "cloudformation:DeleteChangeSet", "cloudformation:GetStackPolicy")


def _github_role(t, logical, name, provider, repository, subject, statements, what):
    trust = PolicyDocument(Version="2012-10-17", Statement=[Statement(
        Effect=Allow, Principal=Principal("Federated", provider), Action=[AssumeRoleWithWebIdentity],
        Condition=Condition(StringEquals({f"{GITHUB}:aud": "sts.amazonaws.com",
                                          f"{GITHUB}:sub": f"repo:{repository}:{subject}"})))])
    return t.add_resource(iam.Role(
        logical, RoleName=name, AssumeRolePolicyDocument=trust, MaxSessionDuration=3600,
        Policies=[iam.Policy(PolicyName="manage-weekly-models-stacks",
                             PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
        Metadata=why(what)))


def build(stack):
    d = stack.env.deployer
    t = new_template("weekly-models: GitHub OIDC deploy roles and CloudFormation's service role (account-wide)")
    if d.existing_oidc_provider_arn:
        provider = d.existing_oidc_provider_arn
    else:
        oidc = t.add_resource(iam.OIDCProvider(
            "GitHubOidcProvider", Url=f"https://{GITHUB}", ClientIdList=["sts.amazonaws.com"],
            Metadata=why("Lets GitHub Actions prove which repository, event and environment a job runs for.")))
        provider = GetAtt(oidc, "Arn")

    service = t.add_resource(iam.Role(
        "CloudFormationServiceRole", RoleName=f"{P}-cloudformation",
        # CloudFormation documents only the principal for a service role's trust (user guide,
        # "CloudFormation service role"); a source condition it does not set would lock it out.
        AssumeRolePolicyDocument=assume_role("cloudformation.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="create-weekly-models-resources", PolicyDocument=PolicyDocument(
            Version="2012-10-17", Statement=_service_statements()))],
        Metadata=why("CloudFormation changes the project's resources with this role, not with the caller's.")
        | checkov_skip(("CKV_AWS_111", "Every write is scoped to weekly-models-* resources except the few "
                        "the Service Authorization Reference lists without a resource type (Logs resource and "
                        "index policies, SNS subscriptions, Chatbot channels, deregistering a task definition); "
                        "make lint checks each grant against the handlers' declared permissions."))))
    pass_service = Statement(Sid="HandCloudFormationItsRole", Effect=Allow, Action=_actions("iam:PassRole"),
                             Resource=[GetAtt(service, "Arn")],
                             Condition=Condition(StringEquals({"iam:PassedToService": "cloudformation.amazonaws.com"})))
    read = Statement(Sid="PlanStacks", Effect=Allow, Action=_actions(*READ_STACKS), Resource=STACKS)
    plan_role = _github_role(
        t, "PlanRole", f"{P}-github-plan", provider, d.github_repository, "pull_request", [read, pass_service],
        "Pull requests of the lab's repository make a plan (change sets) of prod; they cannot execute it.")
    # "The subject claim includes the environment name when the job references an environment"
    # (GitHub Actions OIDC reference, filtering for a specific environment).
    deploy_role = _github_role(
        t, "DeployRole", f"{P}-github-deploy", provider, d.github_repository, f"environment:{d.github_environment}",
        [read, pass_service,
         # `sceptre launch` creates and updates stacks itself (the reviewed-plan hook pins what it sends), and
         # deletes a stack a plan's change set left in REVIEW_IN_PROGRESS before creating it.
         Statement(Sid="DeployReviewedPlans", Effect=Allow, Resource=STACKS, Action=_actions(
             "cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack",
             "cloudformation:UpdateTerminationProtection", "cloudformation:SetStackPolicy",
             "cloudformation:DetectStackDrift", "cloudformation:DescribeStackResourceDrifts")),
         Statement(Sid="ReadDriftDetection", Effect=Allow, Resource=["*"],
                   Action=_actions("cloudformation:DescribeStackDriftDetectionStatus"))],
        f"Jobs in the {d.github_environment} environment of the lab's repository deploy the plan made from "
        "their commit.")

    t.add_output(Output("PlanRoleArn", Value=GetAtt(plan_role, "Arn"), Description="For pull-request workflows"))
    t.add_output(Output("DeployRoleArn", Value=GetAtt(deploy_role, "Arn"),
                        Description=f"For jobs in the {d.github_environment} environment"))
    t.add_output(Output("CloudFormationServiceRoleArn", Value=GetAtt(service, "Arn"),
                        Description="Sceptre's cloudformation_service_role for prod"))
    return t


# What the S3 bucket handler calls on the results buckets (its registry schema), all named.
S3_BUCKET_ACTIONS = (
    "CreateBucket", "DeleteBucket", "ListBucket", "GetBucketAcl", "PutBucketAcl", "GetBucketTagging", "PutBucketTagging",
    "GetBucketVersioning", "PutBucketVersioning", "GetEncryptionConfiguration", "PutEncryptionConfiguration",
    "GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock", "GetBucketOwnershipControls",
    "PutBucketOwnershipControls", "GetLifecycleConfiguration", "PutLifecycleConfiguration", "GetBucketPolicy",
    "PutBucketPolicy", "DeleteBucketPolicy", "GetBucketCORS", "PutBucketCORS", "GetBucketLogging", "PutBucketLogging",
    "GetBucketNotification", "PutBucketNotification", "GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite",
    "GetAccelerateConfiguration", "PutAccelerateConfiguration", "GetAnalyticsConfiguration",
    "PutAnalyticsConfiguration", "GetIntelligentTieringConfiguration", "PutIntelligentTieringConfiguration",
    "GetInventoryConfiguration", "PutInventoryConfiguration", "GetMetricsConfiguration", "PutMetricsConfiguration",
    "GetReplicationConfiguration", "PutReplicationConfiguration", "GetBucketObjectLockConfiguration",
    "PutBucketObjectLockConfiguration", "GetBucketMetadataTableConfiguration", "CreateBucketMetadataTableConfiguration",
    "DeleteBucketMetadataTableConfiguration")


def _service_statements() -> list:
    """What creating, reading, changing and deleting this project's stacks calls, and no more.

    Derived from the resource handlers' declared permissions and checked by `make lint`
    (wm/lint/permissions.py): a missing permission, or one no handler needs, fails it.
    """
    from wm.lint.permissions import PASSED_TO, SERVICE_LINKED_ROLES  # the lint's tables: loaded only here

    own = f"{P}-*"

    def allow(sid: str, resources: list, *actions: str, **extra) -> Statement:
        return Statement(Sid=sid, Effect=Allow, Resource=resources, Action=_actions(*actions), **extra)

    roles = [arn("iam", f"role/{own}", region=False), arn("iam", f"role/{P}/*", region=False)]
    return [
        allow("Roles", roles, "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole",
              "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
              "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:TagRole",
              "iam:UntagRole", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"),
        allow("InstanceProfiles", [arn("iam", f"instance-profile/{own}", region=False)],
              "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile",
              "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile"),
        # Only to the services that use this project's roles (what each resource type hands its role to);
        # EC2 gets the Batch instance roles only (below).
        allow("PassRolesToTheirServices", roles, "iam:PassRole", Condition=Condition(StringEquals({
            "iam:PassedToService": sorted(set(PASSED_TO.values()) - {"ec2.amazonaws.com"})}))),
        # AddRoleToInstanceProfile is authorized as iam:PassRole too (Service Authorization Reference,
        # IAM), and AWS does not document that it names a service: the Batch instance roles only, to EC2
        # when a service is named (the compute environment passes them to ec2.amazonaws.com).
        allow("PutInstanceRolesInTheirProfiles", [arn("iam", f"role/{P}-*-batch-instance", region=False)],
              "iam:PassRole", Condition=Condition(StringEqualsIfExists({"iam:PassedToService": "ec2.amazonaws.com"}))),
        # An account's first ECS cluster (and Chatbot channel) creates the service's linked role.
        allow("ServiceLinkedRoles", [arn("iam", role, region=False) for _, role in sorted(SERVICE_LINKED_ROLES.values())],
              "iam:CreateServiceLinkedRole", Condition=Condition(StringEquals({
                  "iam:AWSServiceName": sorted(service for service, _ in SERVICE_LINKED_ROLES.values())}))),
        allow("ManagedPolicies", [arn("iam", f"policy/{own}", region=False)],
              "iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
              "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:ListPolicyVersions",
              "iam:ListEntitiesForPolicy"),
        # VPC pieces get their IDs from AWS, so they are scoped to this account and region.
        allow("Network", [arn("ec2", "*")],
              "ec2:CreateVpc", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute", "ec2:ModifyVpcTenancy",
              "ec2:DescribeVpcAttribute", "ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:ModifySubnetAttribute",
              "ec2:AssociateSubnetCidrBlock", "ec2:DisassociateSubnetCidrBlock", "ec2:CreateInternetGateway",
              "ec2:DeleteInternetGateway", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway",
              "ec2:CreateRouteTable", "ec2:DeleteRouteTable", "ec2:CreateRoute", "ec2:DeleteRoute",
              "ec2:ReplaceRoute", "ec2:AssociateRouteTable", "ec2:DisassociateRouteTable",
              "ec2:ReplaceRouteTableAssociation", "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup",
              "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
              "ec2:UpdateSecurityGroupRuleDescriptionsEgress", "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
              "ec2:CreateTags", "ec2:DeleteTags", "ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion",
              "ec2:DeleteLaunchTemplate"),
        allow("Containers", [arn("ecs", f"cluster/{own}"), arn("ecs", f"task-definition/{own}:*")],
              "ecs:CreateCluster", "ecs:DeleteCluster", "ecs:DescribeClusters", "ecs:UpdateCluster",
              "ecs:UpdateClusterSettings", "ecs:PutClusterCapacityProviders", "ecs:RegisterTaskDefinition",
              "ecs:TagResource", "ecs:UntagResource", "ecs:ListTagsForResource"),
        # No trailing ":*": the Logs tagging actions authorize the bare log-group ARN, every other
        # Logs action the form with ":*" (CloudWatch Logs API reference, LogGroup, field arn); this matches both.
        allow("LogGroups", [arn("logs", f"log-group:/ecs/{own}"), arn("logs", f"log-group:/{P}/*")],
              "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
              "logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource", "logs:AssociateKmsKey",
              "logs:DisassociateKmsKey", "logs:GetDataProtectionPolicy", "logs:PutDataProtectionPolicy",
              "logs:DeleteDataProtectionPolicy", "logs:PutLogGroupDeletionProtection",
              "logs:PutBearerTokenAuthentication", "logs:PutMetricFilter", "logs:DeleteMetricFilter",
              "logs:DescribeMetricFilters"),
        allow("Queues", [arn("sqs", own)],
              "sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes",
              "sqs:GetQueueUrl", "sqs:ListQueueTags", "sqs:TagQueue", "sqs:UntagQueue"),
        allow("Topics", [arn("sns", own)],
              "sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes",
              "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:TagResource", "sns:UntagResource",
              "sns:ListTagsForResource", "sns:GetDataProtectionPolicy", "sns:PutDataProtectionPolicy"),
        allow("Rules", [arn("events", f"rule/{own}")],
              "events:PutRule", "events:DeleteRule", "events:DescribeRule", "events:PutTargets",
              "events:RemoveTargets", "events:ListTargetsByRule", "events:TagResource", "events:UntagResource",
              "events:ListTagsForResource"),
        allow("Alarms", [arn("cloudwatch", f"alarm:{own}")],
              "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
              "cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"),
        allow("Schedules", [arn("scheduler", f"schedule/{own}/*"), arn("scheduler", f"schedule-group/{own}")],
              "scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule",
              "scheduler:GetSchedule", "scheduler:CreateScheduleGroup", "scheduler:DeleteScheduleGroup",
              "scheduler:GetScheduleGroup", "scheduler:TagResource", "scheduler:UntagResource",
              "scheduler:ListTagsForResource"),
        allow("StateMachines", [arn("states", f"stateMachine:{own}")],
              "states:CreateStateMachine", "states:UpdateStateMachine", "states:DeleteStateMachine",
              "states:DescribeStateMachine", "states:TagResource", "states:UntagResource",
              "states:ListTagsForResource"),
        allow("Batch", [arn("batch", f"compute-environment/{own}"), arn("batch", f"job-queue/{own}"),
                        arn("batch", f"job-definition/{own}"), arn("batch", f"job-definition/{own}:*")],
              "batch:CreateComputeEnvironment", "batch:UpdateComputeEnvironment", "batch:DeleteComputeEnvironment",
              "batch:CreateJobQueue", "batch:UpdateJobQueue", "batch:DeleteJobQueue", "batch:RegisterJobDefinition",
              "batch:DeregisterJobDefinition", "batch:TagResource", "batch:UntagResource"),
        # S3 ARNs name neither region nor account.
        # S3 names are global: only this account's results buckets (wm/config/names.py).
        allow("ResultsBuckets", [Sub(f"arn:${{AWS::Partition}}:s3:::{own}-results-${{AWS::AccountId}}")],
              *(f"s3:{a}" for a in S3_BUCKET_ACTIONS)),
        allow("ResultsObjects", [Sub(f"arn:${{AWS::Partition}}:s3:::{own}-results-${{AWS::AccountId}}/*")],
              "s3:DeleteObject", "s3:PutObjectAcl"),
        allow("SlackChannels", [arn("chatbot", f"chat-configuration/slack-channel/{own}", region=False)],
              "chatbot:UpdateSlackChannelConfiguration", "chatbot:DeleteSlackChannelConfiguration",
              "chatbot:ListAssociations"),
        # The Service Authorization Reference lists no resource type for these: only "*" authorizes them.
        allow("CallsAwsDoesNotScopeToAResource", ["*"],
              "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeInternetGateways", "ec2:DescribeRouteTables",
              "ec2:DescribeSecurityGroups", "ec2:DescribeNetworkAcls", "ec2:DescribeNetworkInterfaces",
              "ec2:DescribeInstances", "ec2:DescribeVpnGateways", "ec2:DescribeVpcEncryptionControls",
              "ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition",
              "logs:DescribeLogGroups", "logs:PutResourcePolicy", "logs:DeleteResourcePolicy",
              "logs:DescribeResourcePolicies", "logs:PutIndexPolicy", "logs:DeleteIndexPolicy",
              "logs:DescribeIndexPolicies", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes",
              "sns:Unsubscribe", "chatbot:CreateSlackChannelConfiguration",
              "chatbot:DescribeSlackChannelConfigurations", "chatbot:TagResource", "chatbot:UntagResource",
              "chatbot:ListTagsForResource", "batch:DescribeComputeEnvironments", "batch:DescribeJobQueues",
              "batch:DescribeJobDefinitions", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeLaunchTemplates", "s3:TagResource",
              "s3:UntagResource", "s3:ListTagsForResource"),
    ]
