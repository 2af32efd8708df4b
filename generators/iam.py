"""iam: the two roles every model of an environment shares, with least privilege.

Creates
- TaskExecutionRole: what ECS itself uses to start a model's container: write to this
  environment's model log groups, read this environment's SecureStrings
  (/weekly-models/<env>/*), and kms:Decrypt only when a customer-managed key is set.
  Images come from Docker Hub, so it has no ECR permissions.
- SchedulerRole: what EventBridge Scheduler uses: ecs:RunTask on this environment's
  task definition families only on this environment's cluster, iam:PassRole on
  exactly the execution role and the per-model task roles (path
  /weekly-models/<env>/tasks/) only towards ecs-tasks.amazonaws.com, and
  sqs:SendMessage to this environment's dead-letter queues, and ecs:TagResource on the
  tasks it starts (only while starting them) so they carry the stack's tags.
Every resource is scoped by the environment's name prefix (see generators/naming.py),
so a model added later needs no change here. No `*` action, no AWS managed policy.

Takes: ClusterArn (cluster stack).
Outputs: ExecutionRoleArn, SchedulerRoleArn.
"""

from __future__ import annotations

from awacs import ecs as aecs
from awacs import iam as aiam
from awacs import kms, logs, sqs, ssm
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement
from awacs.aws import ArnEquals, ArnLike, StringEquals
from awacs.sts import AssumeRole
from troposphere import AccountId, GetAtt, Output, Parameter, Ref, Sub, iam

from . import naming
from .common import arn, env_tags, new_template, why
from .spec import EnvStack


def assume_role(service: str, source_arn) -> PolicyDocument:
    """Trust `service`, only on behalf of this account (confused-deputy protection)."""
    return PolicyDocument(Version="2012-10-17", Statement=[Statement(
        Effect=Allow, Principal=Principal("Service", [service]), Action=[AssumeRole],
        Condition=Condition([StringEquals({"aws:SourceAccount": AccountId}),
                             ArnLike({"aws:SourceArn": source_arn})]))])


def build(spec: EnvStack):
    env = spec.env
    prefix = naming.env_prefix(env)
    t = new_template(f"weekly-models {env}: task execution role and scheduler role")
    cluster = t.add_parameter(Parameter(
        "ClusterArn", Type="String", Description="ARN of this environment's ECS cluster (cluster stack)"))

    statements = [
        Statement(Sid="WriteModelLogs", Effect=Allow,
                  Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[arn("logs", f"log-group:/ecs/{prefix}-*:*")]),
        Statement(Sid="ReadEnvironmentSecrets", Effect=Allow, Action=[ssm.GetParameters],
                  Resource=[arn("ssm", f"parameter{naming.secrets_prefix(env)}/*")]),
    ]
    if spec.environment.secrets_kms_key_arn:
        statements.append(Statement(
            Sid="DecryptSecrets", Effect=Allow, Action=[kms.Decrypt],
            Resource=[spec.environment.secrets_kms_key_arn],
            Condition=Condition(StringEquals({"kms:ViaService": Sub("ssm.${AWS::Region}.amazonaws.com")}))))
    execution = t.add_resource(iam.Role(
        "TaskExecutionRole",
        RoleName=naming.execution_role_name(env),
        Description=f"ECS starts weekly-models {env} containers with this role",
        AssumeRolePolicyDocument=assume_role("ecs-tasks.amazonaws.com", arn("ecs", "*")),
        Policies=[iam.Policy(PolicyName="start-model-containers",
                             PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
        Tags=env_tags(env),
        Metadata=why("Lets ECS write the containers' logs and hand them their secrets; nothing else.")))

    scheduler = t.add_resource(iam.Role(
        "SchedulerRole",
        RoleName=naming.scheduler_role_name(env),
        Description=f"EventBridge Scheduler starts weekly-models {env} tasks with this role",
        AssumeRolePolicyDocument=assume_role(
            "scheduler.amazonaws.com", arn("scheduler", f"schedule-group/{naming.schedule_group(env)}")),
        Policies=[iam.Policy(PolicyName="run-model-tasks", PolicyDocument=PolicyDocument(
            Version="2012-10-17",
            Statement=[
                Statement(Sid="RunModelTasks", Effect=Allow, Action=[aecs.RunTask],
                          Resource=[arn("ecs", f"task-definition/{prefix}-*:*")],
                          Condition=Condition(ArnEquals({"ecs:cluster": Ref(cluster)}))),
                Statement(Sid="TagModelTasks", Effect=Allow, Action=[aecs.TagResource],
                          Resource=[arn("ecs", f"task/{spec.cluster_name}/*")],
                          Condition=Condition(StringEquals({"ecs:CreateAction": "RunTask"}))),
                Statement(Sid="PassModelRoles", Effect=Allow, Action=[aiam.PassRole],
                          Resource=[GetAtt(execution, "Arn"),
                                    arn("iam", f"role{naming.task_role_path(env)}*", region=False)],
                          Condition=Condition(StringEquals({"iam:PassedToService": "ecs-tasks.amazonaws.com"}))),
                Statement(Sid="ReportFailedStarts", Effect=Allow, Action=[sqs.SendMessage],
                          Resource=[arn("sqs", f"{prefix}-*-dlq")]),
            ]))],
        Tags=env_tags(env),
        Metadata=why("Lets the schedules start this environment's model tasks and report failed starts.")))

    t.add_output(Output("ExecutionRoleArn", Value=GetAtt(execution, "Arn"), Description="Task execution role"))
    t.add_output(Output("SchedulerRoleArn", Value=GetAtt(scheduler, "Arn"), Description="Scheduler role"))
    return t
