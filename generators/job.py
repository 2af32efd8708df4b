"""job: one fan-out job (jobs/<name>.yaml): its AWS Batch job definition and its own role.

Creates
- JobRole `weekly-models-<env>-<job>-job-role`: what the job's code may do: read, write and
  list only under `<job>/` in the environment's results bucket, plus the job's own
  `task_permissions`.
- JobDefinition `weekly-models-<env>-<job>-job`: its platform (Fargate, or EC2 with GPUs when
  `gpus` is set; it is submitted to its platform's queue of its capacity), the job's image,
  command, vCPUs and memory, plain variables (with RESULTS_URI = s3://<bucket>/<job>/ and, for parameter sets,
  JOB_PARAMETER_SETS), secrets by Parameter Store name, awslogs in the jobs' log group, a
  timeout per attempt, and a retry strategy: a reclaimed Spot task or a lost host is tried
  again up to `attempts` times, the job's own exit (any code) is not.

- FailureRule `weekly-models-<env>-<job>-job-failed`: a submission that failed (a single job
  out of retries, or an array job with a failed child; children's own events are left out, so a
  thousand failed children make one alert) starts the alert state machine, which words it on
  the alert topic; FailureRuleFailedAlarm `...-job-failed-undelivered` tells the topic when the
  rule could not start it.

With a `schedule:` (otherwise only `make submit` submits it):
- Schedule `weekly-models-<env>-<job>-job`: EventBridge Scheduler, in the environment's schedule
  group, exactly as a model's (expression, time zone, flexible window, season, retries, ENABLED
  per environment), calling Batch's SubmitJob (a universal target) for a submission named
  `scheduled-<job>` of the job's own size; what it could not submit goes to DeadLetterQueue
  `...-job-dlq`, and FailedStartsAlarm `...-job-failed-starts` tells the alert topic.
- SchedulerRole `weekly-models-<env>-<job>-job-scheduler`: may submit this job's definition to its
  queue and report to its dead-letter queue, nothing else; only Scheduler's schedule group may use it.
- SilenceCheckSchedule `...-job-silence-check`: fires with Schedule and starts the environment's
  silence check, which alerts when no `scheduled-<job>` submission entered its queue (PENDING or
  RUNNABLE in the run history: alerts stack, JobHistoryRule and JobHistoryMetric) in time.

Takes: JobExecutionRoleArn, JobLogGroupName, ResultsBucketName (batch), AlertMachineArn,
AlertTopicArn, SilenceCheckArn (alerts), AlertRulesRoleArn, SchedulerRoleArn (iam),
ScheduleGroupName (cluster). Every job stack takes the same parameters (one jobs/config.yaml);
SilenceCheckArn, SchedulerRoleArn and ScheduleGroupName are used only with a schedule.
Outputs: JobDefinitionArn (and ScheduleName with a schedule).
"""

from __future__ import annotations

import json

from awacs import batch as abatch
from awacs import s3
from awacs import sqs as asqs
from awacs.aws import Action as AwacsAction
from awacs.aws import Allow, Condition, PolicyDocument, Statement, StringLike
from troposphere import GetAtt, Output, Parameter, Ref, Region, Sub, batch, events, iam, scheduler

from generators.iam import assume_role
from generators.model import (
    dead_letter_queue,
    retry_policy,
    schedule_window,
    season_dates,
    silence_check_input,
    silence_check_schedule,
    undelivered_alarm,
)
from wm.config import names as naming
from wm.config.model import Stack
from wm.render import alarm_on_any, arn, env_tags, new_template, why

# Batch matches these against a failed attempt, in order (Batch user guide, "Automated job retries"):
# infrastructure taking the task away (an EC2 host, Fargate Spot's "Your Spot Task was interrupted.")
# retries; then any exit code, the job's own exit, ends it. Anything else (no exit code: it never
# ran) retries.
RETRY_ON = ("Host EC2*", "Your Spot Task was interrupted*")


def failure_pattern(job) -> dict:
    """A FAILED submission of this job: Batch's "Batch Job State Change" event (AWS Batch user guide,
    "Job state change events"), children (which carry arrayProperties.index) left out."""
    return {"source": ["aws.batch"], "detail-type": ["Batch Job State Change"],
            "detail": {"status": ["FAILED"], "jobDefinition": [{"wildcard": f"*:job-definition/{job.definition}:*"}],
                       "arrayProperties": {"index": [{"exists": False}]}}}


def alert_input(job) -> str:
    """What the failure rule hands the alert state machine (as models' do, generators/model.py):
    the job's fixed facts, and the event inserted as a bare JSON value, never inside a string."""
    group = naming.job_log_group(job.env).replace("/", "$252F")
    facts = json.dumps({
        "title": f"weekly-models {job.env}: a submission of {job.name} failed",
        "model": job.name, "environment": job.env,
        "logs": ("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
                 f"#logsV2:log-groups/log-group/{group}"),
        "next": f"make jobs ENV={job.env} JOB={job.name}",
    }, sort_keys=True)
    return facts[:-1] + ', "event": <aws.events.event.json>}'


def build(stack: Stack):
    job, env = stack.job, stack.env.name
    t = new_template(f"weekly-models {env}: job {job.name} (AWS Batch job definition and role)")
    execution = t.add_parameter(Parameter("JobExecutionRoleArn", Type="String", Description="batch stack"))
    log_group = t.add_parameter(Parameter("JobLogGroupName", Type="String", Description="batch stack"))
    t.add_parameter(Parameter("ResultsBucketName", Type="String", Description="batch stack"))
    prefix = naming.slug(job.name)

    statements = [
        Statement(Sid="OwnResults", Effect=Allow, Action=[s3.GetObject, s3.PutObject],
                  Resource=[Sub(f"arn:${{AWS::Partition}}:s3:::${{ResultsBucketName}}/{prefix}/*")]),
        Statement(Sid="ListOwnResults", Effect=Allow, Action=[s3.ListBucket],
                  Resource=[Sub("arn:${AWS::Partition}:s3:::${ResultsBucketName}")],
                  Condition=Condition(StringLike({"s3:prefix": [f"{prefix}/*"]}))),
        *[Statement(Effect=Allow, Action=[AwacsAction(*a.split(":", 1)) for a in p.actions], Resource=list(p.resources))
          for p in job.task_permissions],
    ]
    role = t.add_resource(iam.Role(
        "JobRole", RoleName=naming.job_role_name(env, job.name), Path=naming.job_role_path(env),
        # "aws:SourceArn ... arn:aws:ecs:region:account:*" for task roles (ECS developer guide, task IAM role).
        AssumeRolePolicyDocument=assume_role("ecs-tasks.amazonaws.com", arn("ecs", "*")),
        Policies=[iam.Policy(PolicyName="job-permissions",
                             PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
        Tags=env_tags(env),
        Metadata=why(f"What {job.name}'s own code may do: its results prefix, and its task_permissions.")))

    variables = [*job.variables, ("RESULTS_URI", Sub(f"s3://${{ResultsBucketName}}/{prefix}/"))]
    if job.parameter_sets:
        variables.append(("JOB_PARAMETER_SETS", json.dumps([dict(p) for p in job.parameter_sets], sort_keys=True,
                                                           separators=(",", ":"))))
    fargate = job.platform == "FARGATE"
    container = batch.ContainerProperties(
        Image=job.image,
        ResourceRequirements=[batch.ResourceRequirement(Type="VCPU", Value=f"{job.vcpus:g}"),
                              batch.ResourceRequirement(Type="MEMORY", Value=str(job.memory)),
                              *([batch.ResourceRequirement(Type="GPU", Value=str(job.gpus))] if job.gpus else [])],
        ExecutionRoleArn=Ref(execution), JobRoleArn=GetAtt(role, "Arn"),
        Environment=[batch.Environment(Name=k, Value=v) for k, v in sorted(variables, key=lambda kv: kv[0])],
        Secrets=[batch.Secret(Name=s, ValueFrom=arn("ssm", f"parameter{naming.job_secret_parameter(env, s)}"))
                 for s in job.secrets],
        LogConfiguration=batch.LogConfiguration(LogDriver="awslogs", Options={
            "awslogs-group": Ref(log_group), "awslogs-region": Region, "awslogs-stream-prefix": prefix}),
        # Fargate only: jobs on EC2 "must not specify" a network configuration (Batch API reference,
        # NetworkConfiguration); their instance has the public IP (generators/network.py). Public subnets
        # and no NAT gateway: a Fargate task needs a public IP to pull its image.
        **({"NetworkConfiguration": batch.NetworkConfiguration(AssignPublicIp="ENABLED"),
            "FargatePlatformConfiguration": batch.FargatePlatformConfiguration(PlatformVersion="LATEST"),
            "RuntimePlatform": batch.RuntimePlatform(OperatingSystemFamily="LINUX", CpuArchitecture="X86_64")}
           if fargate else {}),
        **({"Command": list(job.command)} if job.command else {}))
    definition = t.add_resource(batch.JobDefinition(
        "JobDefinition", JobDefinitionName=job.definition, Type="container", PlatformCapabilities=[job.platform],
        ContainerProperties=container, PropagateTags=True,
        Timeout=batch.Timeout(AttemptDurationSeconds=job.timeout_minutes * 60),
        RetryStrategy=batch.RetryStrategy(Attempts=job.attempts, EvaluateOnExit=[
            *[batch.EvaluateOnExit(OnStatusReason=r, Action="RETRY") for r in RETRY_ON],
            batch.EvaluateOnExit(OnExitCode="*", Action="EXIT")]),
        Tags={"Project": naming.PROJECT, "Environment": env},
        Metadata=why(f"What one child of {job.name} is: image, size, variables, secrets, retries, timeout.")))
    alert = t.add_parameter(Parameter("AlertMachineArn", Type="String", Description="alerts stack"))
    rules_role = t.add_parameter(Parameter("AlertRulesRoleArn", Type="String", Description="iam stack"))
    rule = t.add_resource(events.Rule(
        "FailureRule", Name=naming.job_failure_rule(env, job.name), State="ENABLED",
        Description=f"weekly-models {env}: a submission of {job.name} that failed",
        EventPattern=failure_pattern(job),
        Targets=[events.Target(Id="alert", Arn=Ref(alert), RoleArn=Ref(rules_role),
                               InputTransformer=events.InputTransformer(InputTemplate=Sub(alert_input(job))))],
        Metadata=why(f"Tells the lab when a submission of {job.name} failed.")))
    topic = t.add_parameter(Parameter("AlertTopicArn", Type="String", Description="Alert topic (alerts stack)"))
    t.add_resource(undelivered_alarm(naming.job_failure_rule(env, job.name), rule, topic, env, job.name,
                                     "a failed submission"))
    t.add_output(Output("JobDefinitionArn", Value=Ref(definition), Description=f"{job.name}'s job definition"))
    schedule_parameters = [t.add_parameter(Parameter(name, Type="String", Description=what)) for name, what in (
        ("ScheduleGroupName", "Scheduler schedule group (cluster stack)"),
        ("SchedulerRoleArn", "Role the silence check schedule starts the silence check with (iam stack)"),
        ("SilenceCheckArn", "State machine that checks a due submission was made (alerts stack)"))]
    schedule_parameters.append(topic)
    if job.schedule is None:
        # cfn-lint W2001 (parameter not used): one jobs/config.yaml feeds every job stack, and only a
        # job with a schedule uses these three.
        t.set_metadata({"cfn-lint": {"config": {"ignore_checks": ["W2001"]}}})
        return t
    _schedule(t, stack, definition, *schedule_parameters)
    return t


def _schedule(t, stack: Stack, definition, p_group, p_silence_role, p_silence, p_topic) -> None:
    job, env, settings = stack.job, stack.env.name, stack.env.settings
    s = job.schedule
    dlq = t.add_resource(dead_letter_queue(
        naming.job_dead_letter_queue(env, job.name), env, settings,
        f"Holds the schedule's events for submissions of {job.name} that Scheduler could not make."))
    role = t.add_resource(iam.Role(
        "SchedulerRole", RoleName=naming.job_scheduler_role_name(env, job.name), Path=naming.job_role_path(env),
        # "The value of aws:SourceArn must be your EventBridge Scheduler schedule group ARN"
        # (EventBridge Scheduler user guide, cross-service confused deputy prevention).
        AssumeRolePolicyDocument=assume_role(
            "scheduler.amazonaws.com",
            Sub("arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule-group/${ScheduleGroupName}")),
        Policies=[iam.Policy(PolicyName="submit-job", PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[
            # SubmitJob is authorized on the job it creates, the job definition (by name or revision) and
            # the queue (Service Authorization Reference, AWS Batch: SubmitJob, resource types job,
            # job-definition, job-queue); a new job's ID is not known, hence job/*.
            Statement(Sid="SubmitThisJob", Effect=Allow, Action=[abatch.SubmitJob],
                      Resource=[arn("batch", "job/*"), arn("batch", f"job-definition/{job.definition}"),
                                arn("batch", f"job-definition/{job.definition}:*"),
                                arn("batch", f"job-queue/{job.queue}")]),
            Statement(Sid="ReportFailedSubmissions", Effect=Allow, Action=[asqs.SendMessage],
                      Resource=[GetAtt(dlq, "Arn")])]))],
        Tags=env_tags(env),
        Metadata=why(f"Lets {job.name}'s schedule submit it, and nothing else.")))
    size = {"ArrayProperties": {"Size": job.array_size}} if job.array_size > 1 else {}
    request = json.dumps({"JobName": job.scheduled_name, "JobQueue": job.queue,
                          "JobDefinition": "${JobDefinition}", **size}, sort_keys=True)
    schedule = t.add_resource(scheduler.Schedule(
        "Schedule", Name=naming.job_schedule(env, job.name), GroupName=Ref(p_group),
        Description=f"Submits {job.name} ({env})",
        ScheduleExpression=s.expression, ScheduleExpressionTimezone=s.timezone,
        FlexibleTimeWindow=schedule_window(s), State=job.state, **season_dates(job.season),
        Target=scheduler.Target(
            # A universal target: Input is SubmitJob's request (EventBridge Scheduler user guide,
            # "Using universal targets"; AWS Batch API reference, SubmitJob).
            Arn=Sub("arn:${AWS::Partition}:scheduler:::aws-sdk:batch:submitJob"), RoleArn=GetAtt(role, "Arn"),
            Input=Sub(request), RetryPolicy=retry_policy(s),
            DeadLetterConfig=scheduler.DeadLetterConfig(Arn=GetAtt(dlq, "Arn"))),
        Metadata=why(f"Submits {job.name} at {s.expression} {s.timezone} ({job.state}).")))
    t.add_resource(silence_check_schedule(
        naming.job_silence_check_schedule(env, job.name), Ref(p_group), s, job.state, season_dates(job.season),
        Ref(p_silence), Ref(p_silence_role),
        silence_check_input(job, job.scheduled_name, naming.job_schedule(env, job.name),
                            f"make jobs ENV={env} JOB={job.name}"),
        f"Checks that {job.name} ({env}) was submitted when due",
        f"Tells the lab when {job.name} was due and no submission of it was recorded."))
    t.add_resource(alarm_on_any(
        "FailedStartsAlarm", name=naming.job_failed_starts_alarm(env, job.name),
        description=f"weekly-models {env}: Scheduler could not submit {job.name}; the reason is in the "
                    f"message in {naming.job_dead_letter_queue(env, job.name)}",
        # Messages sent, not waiting: every failed submission alerts (as a model's, generators/model.py).
        namespace="AWS/SQS", metric="NumberOfMessagesSent", dimension=("QueueName", GetAtt(dlq, "QueueName")),
        topic=p_topic, env=env,
        what=f"Tells the lab each time Scheduler could not submit {job.name} (its dead-letter queue)."))
    t.add_output(Output("ScheduleName", Value=Ref(schedule), Description="EventBridge Scheduler schedule"))
