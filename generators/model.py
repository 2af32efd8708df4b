"""model: one forecasting model: its logs, its container, its schedule.

Creates
- LogGroup `/ecs/<family>`: the container's output, kept `log_retention_days`.
- DeadLetterQueue `<family>-dlq`: where Scheduler reports a run it could not start.
- TaskDefinition `<family>`: Fargate, Linux/X86_64, the model's image, cpu and memory,
  plain environment variables, secrets by Parameter Store name, awslogs non-blocking.
- TaskRole: only when the model declares `task_permissions`.
- Schedule `<family>`: EventBridge Scheduler, in the environment's schedule group, cron
  in an IANA time zone, flexible window, optional season dates, retry policy, ENABLED or
  DISABLED per environment, FARGATE or FARGATE_SPOT, public IP (there is no NAT gateway).
- FailureRule `<family>-failed`: a run of this model that stopped without finishing
  (failed to start, exited non-zero, Spot interruption) becomes a readable message on
  the environment's alert topic.
- FailedStartsAlarm `<family>-failed-starts`: a message sent to the dead-letter queue.
- SilenceCheckSchedule `<family>-silence-check`: fires with Schedule and starts the
  environment's silence check for this model (alerts stack).
- FailureRuleFailedAlarm `<family>-failed-undelivered`: the failure rule could not start
  the alert state machine.

Takes: ClusterArn and ScheduleGroupName (cluster), ExecutionRoleArn and
SchedulerRoleArn (iam), SubnetIds and SecurityGroupId (network), AlertTopicArn (alerts).
Outputs: TaskDefinitionArn, LogGroupName, DeadLetterQueueArn, ScheduleName.
"""

from __future__ import annotations

import datetime as dt
import json

from awacs.aws import Action as AwacsAction
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import GetAtt, Output, Parameter, Ref, Region, Sub, cloudwatch, ecs, events, iam, logs, scheduler, sqs

from generators.iam import assume_role
from wm.config import names as naming
from wm.config.model import Model, Stack
from wm.render import alarm_on_any, arn, checkov_skip, env_tags, new_template, stateful, why

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS maximum: two weeks to notice a failed start


def _utc(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule_window(s) -> scheduler.FlexibleTimeWindow:
    return (scheduler.FlexibleTimeWindow(Mode="FLEXIBLE", MaximumWindowInMinutes=s.flexible_window_minutes)
            if s.flexible_window_minutes else scheduler.FlexibleTimeWindow(Mode="OFF"))


def season_dates(season) -> dict:
    """StartDate (only while it is in the future, see SeasonWindow) and EndDate of a schedule."""
    dates = {}
    if season.start:
        dates["StartDate"] = _utc(season.start)
    if season.end:
        dates["EndDate"] = _utc(season.end)
    return dates


def retry_policy(s) -> scheduler.RetryPolicy:
    """Scheduler's retries of a start (or submission) it could not make."""
    return scheduler.RetryPolicy(MaximumRetryAttempts=s.retry.maximum_attempts,
                                 MaximumEventAgeInSeconds=s.retry.maximum_event_age_seconds)


def dead_letter_queue(name: str, env: str, settings, what: str) -> sqs.Queue:
    """Where Scheduler reports what it could not start or submit (a model's or a job's schedule)."""
    return sqs.Queue(
        "DeadLetterQueue", QueueName=name,
        MessageRetentionPeriod=DLQ_RETENTION_SECONDS, SqsManagedSseEnabled=True, Tags=env_tags(env),
        Metadata=why(what)
        | checkov_skip(("CKV_AWS_27", "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled); "
                        "it holds only schedule events, never secrets, so a KMS key would add cost only.")),
        **stateful(settings.deletion_policy))


def silence_check_schedule(name: str, group, s, state: str, season: dict, machine, role, given: str,
                           description: str, what: str) -> scheduler.Schedule:
    """Fires with the schedule it checks (same expression, zone, season and state), so an off-season or
    disabled one is never checked, and starts the environment's silence check with `given`."""
    return scheduler.Schedule(
        "SilenceCheckSchedule", Name=name, GroupName=group, Description=description,
        ScheduleExpression=s.expression, ScheduleExpressionTimezone=s.timezone,
        FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"), State=state, **season,
        Target=scheduler.Target(Arn=machine, RoleArn=role, Input=given, RetryPolicy=retry_policy(s)),
        Metadata=why(what))


def undelivered_alarm(rule_name: str, rule, topic, env: str, owner: str, failure: str) -> cloudwatch.Alarm:
    """`owner`'s failure rule matched `failure` (a failed run, a failed submission) but could not start
    the alert state machine."""
    return alarm_on_any(
        "FailureRuleFailedAlarm", name=f"{rule_name}-undelivered",
        description=f"weekly-models {env}: the failure rule of {owner} matched {failure} but could not start the "
                    "alert state machine, so that failure was not told",
        namespace="AWS/Events", metric="FailedInvocations", dimension=("RuleName", Ref(rule)), topic=topic, env=env,
        what=f"Tells the lab when {failure} of {owner} could not be turned into an alert.")


def failure_pattern(cluster_arn, family: str) -> dict:
    """A run of `family` on `cluster_arn` that stopped without finishing.

    Failed to start (TaskFailedToStart: image pull, missing secret, no network), was
    interrupted (SpotInterruption), or exited by itself with a code other than 0. A
    person stopping a task (UserInitiated) is not a failure.
    """
    return {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"],
            "detail": {"clusterArn": [cluster_arn], "group": [f"family:{family}"], "lastStatus": ["STOPPED"],
                       "$or": [{"stopCode": ["TaskFailedToStart", "SpotInterruption"]},
                               {"stopCode": ["EssentialContainerExited"],
                                "containers": {"exitCode": [{"anything-but": 0}]}}]}}


def _console_logs(env: str, name: str) -> str:
    group = naming.log_group(env, name).replace("/", "$252F")
    return ("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
            f"#logsV2:log-groups/log-group/{group}")


def alert_input(spec: Model) -> str:
    """What the failure rule hands the alert state machine: this model's fixed facts, and the event.

    Only `<aws.events.event.json>` is inserted by EventBridge, as a bare JSON value: EventBridge
    does not escape the values it puts into an input template (EventBridge user guide,
    "Transforming target input"), so no event value is ever placed inside a JSON string here.
    The state machine (alerts stack) turns this into a Chatbot custom notification.
    """
    env, name = spec.env, spec.name
    facts = json.dumps({
        "title": f"weekly-models {env}: a run of {name} did not finish" + (" (dry run)" if spec.dry_run else ""),
        "model": name, "environment": env, "logs": _console_logs(env, name),
        "logStreamPrefix": f"ecs/{naming.container_name(env, name)}/",
        "next": f"make logs MODEL={name} ENV={env}",
    }, sort_keys=True)
    return facts[:-1] + ', "event": <aws.events.event.json>}'


def silence_input(spec: Model) -> str:
    """What the silence check schedule hands the silence-check state machine (alerts stack)."""
    return silence_check_input(spec, f"family:{spec.family}", naming.schedule_name(spec.env, spec.name),
                               f"make status ENV={spec.env}")


def silence_check_input(spec, group: str, schedule: str, next_step: str) -> str:
    """The silence check's input for a scheduled model or job (`group`: its run-history metric's Group)."""
    env, name = spec.env, spec.name
    return json.dumps({
        "title": f"weekly-models {env}: {name} did not run when it was due",
        "model": name, "environment": env, "group": group,
        "schedule": schedule, "scheduleGroup": naming.schedule_group(env),
        # Scheduler fills this in with the time the schedule fired (its context attributes).
        "expectedAt": "<aws.scheduler.scheduled-time>",
        "waitSeconds": silence_wait_seconds(spec),
        "configuredState": spec.state,
        "next": next_step,
    }, sort_keys=True)


SILENCE_GRACE_SECONDS = 1800  # after the last moment Scheduler could still start it: late, not slow


def silence_wait_seconds(spec) -> int:
    """The flexible window, then as long as Scheduler keeps retrying a failed start, then the grace."""
    s = spec.schedule
    return (s.flexible_window_minutes or 0) * 60 + s.retry.maximum_event_age_seconds + SILENCE_GRACE_SECONDS


def build(stack: Stack):
    spec, settings = stack.model, stack.env.settings
    env, name, fam = spec.env, spec.name, spec.family
    t = new_template(f"weekly-models {env}: model {name} ({fam})")
    p_cluster = t.add_parameter(Parameter("ClusterArn", Type="String", Description="ECS cluster (cluster stack)"))
    p_exec = t.add_parameter(Parameter("ExecutionRoleArn", Type="String", Description="Task execution role (iam stack)"))
    p_sched = t.add_parameter(Parameter("SchedulerRoleArn", Type="String", Description="Scheduler role (iam stack)"))
    # Plain String types, not AWS::EC2::Subnet::Id / SecurityGroup::Id: CloudFormation checks those
    # against the account with the caller's own credentials, and the GitHub plan role has no
    # ec2:Describe*. The values are the network stack's own outputs.
    p_subnets = t.add_parameter(Parameter(
        "SubnetIds", Type="CommaDelimitedList", Description="Public subnets (network stack)"))
    p_sg = t.add_parameter(Parameter(
        "SecurityGroupId", Type="String", Description="Egress-only group (network stack)"))
    p_group = t.add_parameter(Parameter(
        "ScheduleGroupName", Type="String", Description="Scheduler schedule group (cluster stack)"))
    p_topic = t.add_parameter(Parameter("AlertTopicArn", Type="String", Description="Alert topic (alerts stack)"))
    p_alert = t.add_parameter(Parameter(
        "AlertMachineArn", Type="String", Description="State machine that words failure alerts (alerts stack)"))
    p_silence = t.add_parameter(Parameter(
        "SilenceCheckArn", Type="String", Description="State machine that checks a due run started (alerts stack)"))
    p_rules_role = t.add_parameter(Parameter(
        "AlertRulesRoleArn", Type="String", Description="Role the failure rule starts the alert machine with (iam stack)"))

    log_props = dict(LogGroupName=naming.log_group(env, name), RetentionInDays=settings.log_retention_days)
    log_meta = why(f"Output of every run of {name}, kept {settings.log_retention_days} days.")
    if settings.logs_kms_key_arn:
        log_props["KmsKeyId"] = settings.logs_kms_key_arn
    else:
        log_meta |= checkov_skip(("CKV_AWS_158", "Encrypted at rest by CloudWatch Logs' own keys; the logs hold "
                                  "no secrets. Set environment.logs_kms_key_arn to use a customer-managed key."))
    log_group = t.add_resource(logs.LogGroup(
        "LogGroup", **log_props, Tags=env_tags(env), Metadata=log_meta, **stateful(settings.deletion_policy)))

    dlq = t.add_resource(dead_letter_queue(
        naming.dead_letter_queue(env, name), env, settings,
        f"Holds the schedule's events for runs of {name} that Scheduler could not start."))

    task_role = None
    if spec.task_permissions:
        task_role = t.add_resource(iam.Role(
            "TaskRole", RoleName=naming.task_role_name(env, name), Path=naming.task_role_path(env),
            AssumeRolePolicyDocument=assume_role("ecs-tasks.amazonaws.com", arn("ecs", "*")),
            Policies=[iam.Policy(PolicyName="model-permissions", PolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[Statement(Effect=Allow, Action=[AwacsAction(*a.split(":", 1)) for a in p.actions],
                                     Resource=list(p.resources)) for p in spec.task_permissions]))],
            Tags=env_tags(env),
            Metadata=why(f"The AWS permissions {name}'s own code asked for in task_permissions.")))

    container = ecs.ContainerDefinition(
        Name=naming.container_name(env, name),
        Image=spec.image,
        Essential=True,
        # Container-level memory equal to the task's: the whole task is this container.
        Memory=spec.memory,
        Environment=[ecs.Environment(Name=k, Value=v) for k, v in spec.variables],
        Secrets=[ecs.Secret(Name=s, ValueFrom=arn("ssm", f"parameter{naming.secret_parameter(env, s)}"))
                 for s in spec.secrets],
        LogConfiguration=ecs.LogConfiguration(LogDriver="awslogs", Options={
            "awslogs-group": Ref(log_group), "awslogs-region": Region, "awslogs-stream-prefix": "ecs",
            "mode": "non-blocking", "max-buffer-size": "25m"}),
    )
    task_props = {}
    if task_role is not None:
        task_props["TaskRoleArn"] = GetAtt(task_role, "Arn")
    taskdef = t.add_resource(ecs.TaskDefinition(
        "TaskDefinition", Family=fam, Cpu=str(spec.cpu), Memory=str(spec.memory),
        NetworkMode="awsvpc", RequiresCompatibilities=["FARGATE"],
        RuntimePlatform=ecs.RuntimePlatform(OperatingSystemFamily="LINUX", CpuArchitecture="X86_64"),
        ExecutionRoleArn=Ref(p_exec), ContainerDefinitions=[container], Tags=env_tags(env), **task_props,
        Metadata=why(f"What one run of {name} is: image, size, environment, secrets, logging.")))

    s = spec.schedule
    ecs_params = dict(
        TaskDefinitionArn=Ref(taskdef), TaskCount=1, PropagateTags="TASK_DEFINITION",
        NetworkConfiguration=scheduler.NetworkConfiguration(AwsvpcConfiguration=scheduler.AwsVpcConfiguration(
            AssignPublicIp="ENABLED", Subnets=Ref(p_subnets), SecurityGroups=[Ref(p_sg)])))
    if spec.capacity == "FARGATE":
        ecs_params["LaunchType"] = "FARGATE"
    else:
        ecs_params["CapacityProviderStrategy"] = [
            scheduler.CapacityProviderStrategyItem(CapacityProvider=spec.capacity, Weight=1)]
    window, season = schedule_window(s), season_dates(spec.season)
    schedule = t.add_resource(scheduler.Schedule(
        "Schedule", Name=naming.schedule_name(env, name), GroupName=Ref(p_group),
        Description=f"Runs {name} ({env})",
        ScheduleExpression=s.expression, ScheduleExpressionTimezone=s.timezone,
        FlexibleTimeWindow=window, State=spec.state, **season,
        Target=scheduler.Target(
            Arn=Ref(p_cluster), RoleArn=Ref(p_sched),
            EcsParameters=scheduler.EcsParameters(**ecs_params), RetryPolicy=retry_policy(s),
            DeadLetterConfig=scheduler.DeadLetterConfig(Arn=GetAtt(dlq, "Arn"))),
        Metadata=why(f"Starts {name} at {s.expression} {s.timezone} ({spec.state}).")))

    # The state machine waits for the flexible window and an hour more, then alerts when no task
    # of the model was recorded since the due time.
    t.add_resource(silence_check_schedule(
        naming.silence_check_schedule(env, name), Ref(p_group), s, spec.state, season, Ref(p_silence), Ref(p_sched),
        silence_input(spec), f"Checks that {name} ({env}) started when due",
        f"Tells the lab when {name} was due and did not start (schedule disabled or deleted by hand, or "
        "Scheduler could not start it)."))

    rule = t.add_resource(events.Rule(
        "FailureRule", Name=naming.failure_rule(env, name), State="ENABLED",
        Description=f"weekly-models {env}: a run of {name} that did not finish",
        EventPattern=failure_pattern(Ref(p_cluster), fam),
        Targets=[events.Target(Id="alert", Arn=Ref(p_alert), RoleArn=Ref(p_rules_role),
                               InputTransformer=events.InputTransformer(InputTemplate=Sub(alert_input(spec))))],
        Metadata=why(f"Tells the lab when a run of {name} failed to start, exited non-zero or was interrupted.")))
    t.add_resource(alarm_on_any(
        "FailedStartsAlarm", name=naming.failed_starts_alarm(env, name),
        description=f"weekly-models {env}: Scheduler could not start {name}; the reason is in the "
                    f"message in {naming.dead_letter_queue(env, name)}",
        # Messages sent, not messages waiting: the alarm returns to OK after each period, so every
        # failed start alerts, even while an older message still sits in the queue. Scheduler
        # delivers with an ordinary SendMessage (its role needs sqs:SendMessage), which
        # NumberOfMessagesSent counts; only SQS's own redrive is not counted (SQS metrics docs).
        namespace="AWS/SQS", metric="NumberOfMessagesSent", dimension=("QueueName", GetAtt(dlq, "QueueName")),
        topic=p_topic, env=env,
        what=f"Tells the lab each time Scheduler could not start {name} at all (its dead-letter queue)."))
    t.add_resource(undelivered_alarm(naming.failure_rule(env, name), rule, p_topic, env, name, "a failed run"))

    t.add_output(Output("TaskDefinitionArn", Value=Ref(taskdef), Description="Current task definition revision"))
    t.add_output(Output("LogGroupName", Value=Ref(log_group), Description="Where the runs' output goes"))
    t.add_output(Output("DeadLetterQueueArn", Value=GetAtt(dlq, "Arn"), Description="Runs Scheduler could not start"))
    t.add_output(Output("ScheduleName", Value=Ref(schedule), Description="EventBridge Scheduler schedule"))
    return t
