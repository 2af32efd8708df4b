"""deployer: how GitHub Actions deploys this project, without stored keys (deployed once by an admin).

Creates
- GitHubOidcProvider: trust in GitHub's OIDC tokens (unless the account already has one:
  `deployer.existing_oidc_provider_arn`).
- PlanRole `weekly-models-github-plan`: assumable only by pull-request workflows of the
  lab's repository (token audience sts.amazonaws.com, subject repo:<repo>:pull_request);
  may read this project's stacks and make, read and delete their change sets.
- DeployRole `weekly-models-github-deploy`: assumable only by workflows on the lab's
  repository and branch (subject repo:<repo>:ref:refs/heads/<branch>); may also execute
  those change sets and set termination protection and stack policies.
- CloudFormationServiceRole `weekly-models-cloudformation`: what CloudFormation itself
  uses to change the resources (wm passes it with each change set), so the two GitHub
  roles can do little more than manage this project's stacks.
All policies name their actions; resources are this project's (`weekly-models-*`) except
for the calls AWS does not scope to a resource (Describe*, RegisterTaskDefinition, ...).

Takes: nothing from other stacks.
Outputs: PlanRoleArn, DeployRoleArn, CloudFormationServiceRoleArn.
"""

from __future__ import annotations

from awacs import aws as a
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRoleWithWebIdentity
from troposphere import GetAtt, Output, iam

from . import naming
from .common import arn, checkov_skip, new_template, why
from .iam import assume_role

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


def build(spec):
    d = spec.deployer
    t = new_template("weekly-models: GitHub OIDC deploy roles and CloudFormation's service role (account-wide)")
    if d.existing_oidc_provider_arn:
        provider = d.existing_oidc_provider_arn
    else:
        oidc = t.add_resource(iam.OIDCProvider(
            "GitHubOidcProvider", Url=f"https://{GITHUB}", ClientIdList=["sts.amazonaws.com"],
            Metadata=why("Lets GitHub Actions prove which repository and branch a workflow runs for.")))
        provider = GetAtt(oidc, "Arn")

    service = t.add_resource(iam.Role(
        "CloudFormationServiceRole", RoleName=f"{P}-cloudformation",
        AssumeRolePolicyDocument=assume_role("cloudformation.amazonaws.com", arn("cloudformation", f"stack/{P}-*/*")),
        Policies=[iam.Policy(PolicyName="create-weekly-models-resources", PolicyDocument=PolicyDocument(
            Version="2012-10-17", Statement=_service_statements()))],
        Metadata=why("CloudFormation changes the project's resources with this role, not with the caller's.")
        | checkov_skip(("CKV_AWS_111", "Every write is scoped to weekly-models-* resources except "
                        "ecs:RegisterTaskDefinition/DeregisterTaskDefinition and logs:PutResourcePolicy/"
                        "DeleteResourcePolicy, which AWS does not scope to a resource."))))
    pass_service = Statement(Sid="HandCloudFormationItsRole", Effect=Allow, Action=_actions("iam:PassRole"),
                             Resource=[GetAtt(service, "Arn")],
                             Condition=Condition(StringEquals({"iam:PassedToService": "cloudformation.amazonaws.com"})))
    read = Statement(Sid="PlanStacks", Effect=Allow, Action=_actions(*READ_STACKS), Resource=STACKS)
    plan_role = _github_role(
        t, "PlanRole", f"{P}-github-plan", provider, d.github_repository, "pull_request", [read, pass_service],
        "Pull requests of the lab's repository make a plan (change sets) of prod; they cannot execute it.")
    deploy_role = _github_role(
        t, "DeployRole", f"{P}-github-deploy", provider, d.github_repository, f"ref:refs/heads/{d.branch}",
        [read, pass_service,
         Statement(Sid="DeployReviewedPlans", Effect=Allow, Resource=STACKS, Action=_actions(
             "cloudformation:ExecuteChangeSet", "cloudformation:UpdateTerminationProtection",
             "cloudformation:SetStackPolicy", "cloudformation:DetectStackDrift",
             "cloudformation:DescribeStackResourceDrifts")),
         Statement(Sid="ReadDriftDetection", Effect=Allow, Resource=["*"],
                   Action=_actions("cloudformation:DescribeStackDriftDetectionStatus"))],
        f"Pushes to {d.branch} of the lab's repository deploy the plan made from that commit.")

    t.add_output(Output("PlanRoleArn", Value=GetAtt(plan_role, "Arn"), Description="For pull-request workflows"))
    t.add_output(Output("DeployRoleArn", Value=GetAtt(deploy_role, "Arn"), Description=f"For {d.branch}"))
    t.add_output(Output("CloudFormationServiceRoleArn", Value=GetAtt(service, "Arn"),
                        Description="Passed by wm with every change set"))
    return t


def _service_statements() -> list:
    """What creating, changing and deleting this project's stacks needs, and no more."""
    own = f"{P}-*"
    return [
        Statement(Sid="Roles", Effect=Allow, Resource=[arn("iam", f"role/{own}", region=False),
                                                       arn("iam", f"role/{P}/*", region=False),
                                                       arn("iam", f"policy/{own}", region=False)],
                  Action=_actions("iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole",
                                  "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                                  "iam:GetRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PassRole",
                                  "iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy",
                                  "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:ListPolicyVersions")),
        Statement(Sid="Network", Effect=Allow, Resource=[arn("ec2", "*")],
                  Action=_actions("ec2:CreateVpc", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute", "ec2:CreateSubnet",
                                  "ec2:DeleteSubnet", "ec2:ModifySubnetAttribute", "ec2:CreateInternetGateway",
                                  "ec2:DeleteInternetGateway", "ec2:AttachInternetGateway",
                                  "ec2:DetachInternetGateway", "ec2:CreateRouteTable", "ec2:DeleteRouteTable",
                                  "ec2:CreateRoute", "ec2:DeleteRoute", "ec2:AssociateRouteTable",
                                  "ec2:DisassociateRouteTable", "ec2:CreateSecurityGroup",
                                  "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupEgress",
                                  "ec2:RevokeSecurityGroupEgress", "ec2:CreateTags", "ec2:DeleteTags")),
        Statement(Sid="CallsAwsDoesNotScopeToAResource", Effect=Allow, Resource=["*"],
                  Action=_actions("ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeInternetGateways",
                                  "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups",
                                  "ec2:DescribeAvailabilityZones", "ec2:DescribeAccountAttributes",
                                  "ecs:DescribeClusters", "ecs:DescribeTaskDefinition",
                                  "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition",
                                  "logs:DescribeLogGroups", "cloudwatch:DescribeAlarms",
                                  "sns:ListTopics", "chatbot:DescribeSlackChannelConfigurations",
                                  "logs:PutResourcePolicy", "logs:DeleteResourcePolicy",
                                  "logs:DescribeResourcePolicies")),
        Statement(Sid="Containers", Effect=Allow, Resource=[arn("ecs", f"cluster/{own}"),
                                                            arn("ecs", f"task-definition/{own}:*")],
                  Action=_actions("ecs:CreateCluster", "ecs:DeleteCluster", "ecs:UpdateCluster", "ecs:UpdateClusterSettings",
                                  "ecs:PutClusterCapacityProviders", "ecs:TagResource", "ecs:UntagResource")),
        Statement(Sid="Logs", Effect=Allow, Resource=[arn("logs", f"log-group:/ecs/{own}:*"),
                                                      arn("logs", f"log-group:/{P}/*")],
                  Action=_actions("logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy",
                                  "logs:DeleteRetentionPolicy", "logs:TagResource", "logs:UntagResource",
                                  "logs:AssociateKmsKey", "logs:DisassociateKmsKey")),
        Statement(Sid="QueuesTopicsRulesAlarms", Effect=Allow,
                  Resource=[arn("sqs", own), arn("sns", own), arn("events", f"rule/{own}"),
                            arn("cloudwatch", f"alarm:{own}"), arn("scheduler", f"schedule/{own}/*"),
                            arn("scheduler", f"schedule-group/{own}"),
                            arn("chatbot", f"chat-configuration/slack-channel/{own}", region=False)],
                  Action=_actions("sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes",
                                  "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue",
                                  "sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes",
                                  "sns:SetTopicAttributes", "sns:Subscribe", "sns:Unsubscribe",
                                  "sns:TagResource", "sns:UntagResource",
                                  "events:PutRule", "events:DeleteRule", "events:DescribeRule",
                                  "events:PutTargets", "events:RemoveTargets", "events:TagResource",
                                  "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource",
                                  "scheduler:CreateSchedule", "scheduler:UpdateSchedule",
                                  "scheduler:DeleteSchedule", "scheduler:GetSchedule",
                                  "scheduler:CreateScheduleGroup", "scheduler:DeleteScheduleGroup",
                                  "scheduler:GetScheduleGroup", "scheduler:TagResource",
                                  "chatbot:CreateSlackChannelConfiguration",
                                  "chatbot:UpdateSlackChannelConfiguration",
                                  "chatbot:DeleteSlackChannelConfiguration")),
    ]

