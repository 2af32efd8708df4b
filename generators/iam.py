"""iam: the roles every model of an environment shares, with least privilege.

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
  tasks it starts (only while starting them) so they carry the stack's tags, and
  states:StartExecution on the environment's silence-check state machine (the silence
  check schedules start it).
- AlertRulesRole: what the models' failure rules (EventBridge) use to start the
  environment's alert state machine, and nothing else.
Every resource is scoped by the environment's name prefix (see wm/config/names.py),
so a model added later needs no change here. No `*` action, no AWS managed policy.

Takes: ClusterArn (cluster stack).
Outputs: ExecutionRoleArn, SchedulerRoleArn, AlertRulesRoleArn.

Trust policies carry the confused-deputy conditions only where the service documents them
(ECS task roles, EventBridge Scheduler, Step Functions); elsewhere a condition the service
does not set would make the role unusable, so it trusts the service principal alone.
"""

from __future__ import annotations

from awacs import ecs as aecs
from awacs import iam as aiam
from awacs import kms, logs, sqs, ssm, states
from awacs.aws import Allow, ArnEquals, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import AccountId, GetAtt, Output, Parameter, Ref, Sub, iam

from wm.config import names as naming
from wm.config.model import Stack
from wm.render import arn, env_tags, new_template, why


def assume_role(service: str, source_arn=None) -> PolicyDocument:
    """Trust `service`; with `source_arn`, only on behalf of this account and those resources
    (confused-deputy protection: only where the service's documentation says it sets both keys)."""
    statement = dict(Effect=Allow, Principal=Principal("Service", [service]), Action=[AssumeRole])
    if source_arn is not None:
        statement["Condition"] = Condition([StringEquals({"aws:SourceAccount": AccountId}),
                                            ArnLike({"aws:SourceArn": source_arn})])
    return PolicyDocument(Version="2012-10-17", Statement=[Statement(**statement)])


def build(stack: Stack):
    env, settings = stack.env.name, stack.env.settings
    prefix = naming.env_prefix(env)
    t = new_template(f"weekly-models {env}: task execution, scheduler and failure-rule roles")
    cluster = t.add_parameter(Parameter(
        "ClusterArn", Type="String", Description="ARN of this environment's ECS cluster (cluster stack)"))

    statements = [
        Statement(Sid="WriteModelLogs", Effect=Allow,
                  Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[arn("logs", f"log-group:/ecs/{prefix}-*:*")]),
        Statement(Sid="ReadEnvironmentSecrets", Effect=Allow, Action=[ssm.GetParameters],
                  Resource=[arn("ssm", f"parameter{naming.secrets_prefix(env)}/*")]),
    ]
    if settings.secrets_kms_key_arn:
        statements.append(Statement(
            Sid="DecryptSecrets", Effect=Allow, Action=[kms.Decrypt],
            Resource=[settings.secrets_kms_key_arn],
            Condition=Condition(StringEquals({"kms:ViaService": Sub("ssm.${AWS::Region}.amazonaws.com")}))))
    execution = t.add_resource(iam.Role(
        "TaskExecutionRole",
        RoleName=naming.execution_role_name(env),
        Description=f"ECS starts weekly-models {env} containers with this role",
        # The task execution role's documented trust names only the principal (ECS developer guide,
        # "Amazon ECS task execution IAM role"); the source conditions are documented for task roles.
        AssumeRolePolicyDocument=assume_role("ecs-tasks.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="start-model-containers",
                             PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
        Tags=env_tags(env),
        Metadata=why("Lets ECS write the containers' logs and hand them their secrets; nothing else.")))

    scheduler = t.add_resource(iam.Role(
        "SchedulerRole",
        RoleName=naming.scheduler_role_name(env),
        Description=f"EventBridge Scheduler starts weekly-models {env} tasks with this role",
        # "The value of aws:SourceArn must be your EventBridge Scheduler schedule group ARN"
        # (EventBridge Scheduler user guide, cross-service confused deputy prevention).
        AssumeRolePolicyDocument=assume_role(
            "scheduler.amazonaws.com", arn("scheduler", f"schedule-group/{naming.schedule_group(env)}")),
        Policies=[iam.Policy(PolicyName="run-model-tasks", PolicyDocument=PolicyDocument(
            Version="2012-10-17",
            Statement=[
                Statement(Sid="RunModelTasks", Effect=Allow, Action=[aecs.RunTask],
                          Resource=[arn("ecs", f"task-definition/{prefix}-*:*")],
                          Condition=Condition(ArnEquals({"ecs:cluster": Ref(cluster)}))),
                Statement(Sid="TagModelTasks", Effect=Allow, Action=[aecs.TagResource],
                          Resource=[arn("ecs", f"task/{stack.env.cluster_name}/*")],
                          Condition=Condition(StringEquals({"ecs:CreateAction": "RunTask"}))),
                Statement(Sid="PassModelRoles", Effect=Allow, Action=[aiam.PassRole],
                          Resource=[GetAtt(execution, "Arn"),
                                    arn("iam", f"role{naming.task_role_path(env)}*", region=False)],
                          Condition=Condition(StringEquals({"iam:PassedToService": "ecs-tasks.amazonaws.com"}))),
                Statement(Sid="ReportFailedStarts", Effect=Allow, Action=[sqs.SendMessage],
                          Resource=[arn("sqs", f"{prefix}-*-dlq")]),
                Statement(Sid="StartSilenceChecks", Effect=Allow, Action=[states.StartExecution],
                          Resource=[arn("states", f"stateMachine:{naming.silence_check_machine(env)}")]),
            ]))],
        Tags=env_tags(env),
        Metadata=why("Lets the schedules start this environment's model tasks and report failed starts.")))

    rules = t.add_resource(iam.Role(
        "AlertRulesRole",
        RoleName=naming.alert_rules_role_name(env),
        Description=f"The weekly-models {env} failure rules start the alert state machine with this role",
        # EventBridge's documented trust for target roles names only the principal (EventBridge
        # user guide, "Using identity-based policies"); the permissions below are the fence.
        AssumeRolePolicyDocument=assume_role("events.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="start-alert-machine", PolicyDocument=PolicyDocument(
            Version="2012-10-17", Statement=[Statement(
                Sid="WordFailureAlerts", Effect=Allow, Action=[states.StartExecution],
                Resource=[arn("states", f"stateMachine:{naming.alert_machine(env)}")])]))],
        Tags=env_tags(env),
        Metadata=why("Lets the models' failure rules hand a failed run to the alert state machine; nothing else.")))

    t.add_output(Output("ExecutionRoleArn", Value=GetAtt(execution, "Arn"), Description="Task execution role"))
    t.add_output(Output("SchedulerRoleArn", Value=GetAtt(scheduler, "Arn"), Description="Scheduler role"))
    t.add_output(Output("AlertRulesRoleArn", Value=GetAtt(rules, "Arn"), Description="Failure rules' role"))
    return t
