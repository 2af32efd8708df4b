# NOTE FROM THE LEAD ENGINEER (read, then delete this comment block): Sceptre renders each stack from
# its own sceptre_user_data only (wm/config/resolve.py from_user_data): the batch and iam stacks get
# project + environment, NOT the jobs. So the batch template cannot decide "EC2 resources or not" from
# stack.env.jobs: render the EC2 capacity from an environment setting instead (e.g.
# environment.batch_ec2_instance_family, null = no EC2 capacity), and refuse at validation an EC2 job
# in an environment without it. Check with `sceptre generate` / the emulator deploy, not only wm render.
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
  the alert topic.

Takes: JobExecutionRoleArn, JobLogGroupName, ResultsBucketName (batch), AlertMachineArn
(alerts), AlertRulesRoleArn (iam).
Outputs: JobDefinitionArn.
"""

from __future__ import annotations

import json

from awacs import s3
from awacs.aws import Action as AwacsAction
from awacs.aws import Allow, Condition, PolicyDocument, Statement, StringLike
from troposphere import GetAtt, Output, Parameter, Ref, Region, Sub, batch, events, iam

from generators.iam import assume_role
from wm.config import names as naming
from wm.config.model import Stack
from wm.render import arn, env_tags, new_template, why

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
    t.add_resource(events.Rule(
        "FailureRule", Name=naming.job_failure_rule(env, job.name), State="ENABLED",
        Description=f"weekly-models {env}: a submission of {job.name} that failed",
        EventPattern=failure_pattern(job),
        Targets=[events.Target(Id="alert", Arn=Ref(alert), RoleArn=Ref(rules_role),
                               InputTransformer=events.InputTransformer(InputTemplate=Sub(alert_input(job))))],
        Metadata=why(f"Tells the lab when a submission of {job.name} failed.")))
    t.add_output(Output("JobDefinitionArn", Value=Ref(definition), Description=f"{job.name}'s job definition"))
    return t
