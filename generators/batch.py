"""batch: where an environment's fan-out jobs run (AWS Batch on Fargate), scaled to zero when idle.

Creates
- SpotComputeEnvironment `weekly-models-<env>-fargate-spot` and OnDemandComputeEnvironment
  `weekly-models-<env>-fargate`: managed Fargate capacity, up to `batch_max_vcpus` each, in the
  network stack's public subnets with its egress-only security group. Fargate bills only what
  runs, so with no job there is no cost. Batch's own service-linked role manages them.
- SpotQueue `weekly-models-<env>-spot` (Fargate Spot first, on-demand Fargate behind it) and
  OnDemandQueue `weekly-models-<env>-on-demand` (on-demand only).
- JobExecutionRole `weekly-models-<env>-job-execution`: what ECS uses to start a child: write
  to the jobs' log group, read the jobs' own SecureStrings (`/weekly-models/<env>/jobs/*`, never
  the models' tokens; kms:Decrypt only with a customer-managed key).
- JobLogGroup `/weekly-models/<env>/jobs`: every child's output, kept `log_retention_days`.
- ResultsBucket `weekly-models-<env>-results-<account>`: encrypted (S3-managed keys), public
  access blocked, TLS only, objects expire after `results_retention_days`; retained with the
  stack in prod (elsewhere it must be empty before its stack can go: CloudFormation does not
  empty buckets). Each
  job's own role may write only under `<job>/` (job stacks).

Takes: SubnetIds and SecurityGroupId (network).
Outputs: SpotQueueArn, OnDemandQueueArn, JobExecutionRoleArn, JobLogGroupName, ResultsBucketName.
"""

from __future__ import annotations

from awacs import kms, logs, s3, ssm
from awacs.aws import Allow, Bool, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Output, Parameter, Ref, Sub, Tags, batch, iam
from troposphere import logs as tlogs
from troposphere import s3 as ts3

from generators.iam import assume_role
from wm.config import names as naming
from wm.config.model import Stack
from wm.render import arn, checkov_skip, env_tags, new_template, stateful, why


def build(stack: Stack):
    env, settings = stack.env.name, stack.env.settings
    t = new_template(f"weekly-models {env}: AWS Batch compute (Fargate, scaled to zero), job queues, results bucket")
    subnets = t.add_parameter(Parameter("SubnetIds", Type="CommaDelimitedList",
                                        Description="Public subnets (network stack)"))
    group = t.add_parameter(Parameter("SecurityGroupId", Type="String",
                                      Description="The egress-only security group (network stack)"))
    tags = {"Project": naming.PROJECT, "Environment": env}

    log_group = t.add_resource(tlogs.LogGroup(
        "JobLogGroup", LogGroupName=naming.job_log_group(env), RetentionInDays=settings.log_retention_days,
        **({"KmsKeyId": settings.logs_kms_key_arn} if settings.logs_kms_key_arn else {}),
        Tags=env_tags(env), Metadata=why("Every child's output, one stream per child and attempt.")
        | ({} if settings.logs_kms_key_arn else checkov_skip((
            "CKV_AWS_158", "Encrypted at rest by CloudWatch Logs' own keys; the logs hold no secrets. Set "
            "environment.logs_kms_key_arn to use a customer-managed key."))),
        **stateful(settings.deletion_policy)))

    statements = [
        Statement(Sid="WriteJobLogs", Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[arn("logs", f"log-group:{naming.job_log_group(env)}:*")]),
        # The jobs' own secrets only (/weekly-models/<env>/jobs/...), never the models' tokens.
        Statement(Sid="ReadJobSecrets", Effect=Allow, Action=[ssm.GetParameters],
                  Resource=[arn("ssm", f"parameter{naming.job_secret_parameter(env, '*')}")]),
    ]
    if settings.secrets_kms_key_arn:
        statements.append(Statement(
            Sid="DecryptSecrets", Effect=Allow, Action=[kms.Decrypt], Resource=[settings.secrets_kms_key_arn],
            Condition=Condition(StringEquals({"kms:ViaService": Sub("ssm.${AWS::Region}.amazonaws.com")}))))
    execution = t.add_resource(iam.Role(
        "JobExecutionRole", RoleName=naming.batch_execution_role_name(env),
        Description=f"ECS starts weekly-models {env} job children with this role",
        # As the models' execution role: the documented trust names only the principal
        # (ECS developer guide, "Amazon ECS task execution IAM role").
        AssumeRolePolicyDocument=assume_role("ecs-tasks.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="start-job-containers",
                             PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
        Tags=env_tags(env), Metadata=why("Lets ECS write the children's logs and hand them their secrets.")))

    bucket = t.add_resource(ts3.Bucket(
        "ResultsBucket", BucketName=Sub(f"{naming.env_prefix(env)}-results-${{AWS::AccountId}}"),
        # S3-managed keys: the logs key's policy admits CloudWatch Logs, not the jobs' roles.
        BucketEncryption=ts3.BucketEncryption(ServerSideEncryptionConfiguration=[
            ts3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=ts3.ServerSideEncryptionByDefault(
                SSEAlgorithm="AES256"))]),
        PublicAccessBlockConfiguration=ts3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=ts3.OwnershipControls(Rules=[ts3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        VersioningConfiguration=ts3.VersioningConfiguration(Status="Enabled"),
        LifecycleConfiguration=ts3.LifecycleConfiguration(Rules=[ts3.LifecycleRule(
            Id="expire-results", Status="Enabled", ExpirationInDays=settings.results_retention_days,
            NoncurrentVersionExpiration=ts3.NoncurrentVersionExpiration(NoncurrentDays=1),
            AbortIncompleteMultipartUpload=ts3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]),
        Tags=Tags(**tags),
        Metadata=why("The jobs' outputs, each job under its own prefix; they expire after "
                     f"{settings.results_retention_days} days.")
        | checkov_skip(("CKV_AWS_18", "Access logging would need a second bucket per environment; the jobs' "
                        "roles are the only writers and CloudTrail records the API calls.")),
        **stateful(settings.deletion_policy)))
    t.add_resource(ts3.BucketPolicy(
        "ResultsBucketPolicy", Bucket=Ref(bucket),
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Sid="TlsOnly", Effect=Deny, Principal=Principal("*"), Action=[s3.Action("*")],
            Resource=[GetAtt(bucket, "Arn"), Sub("${ResultsBucket.Arn}/*")],
            Condition=Condition(Bool({"aws:SecureTransport": "false"})))]),
        Metadata=why("Refuses every request to the results bucket that is not over TLS.")))

    def compute(logical: str, kind: str, name: str, what: str):
        return t.add_resource(batch.ComputeEnvironment(
            logical, ComputeEnvironmentName=naming.compute_environment(env, name), Type="MANAGED", State="ENABLED",
            ComputeResources=batch.ComputeResources(Type=kind, MaxvCpus=settings.batch_max_vcpus,
                                                    Subnets=Ref(subnets), SecurityGroupIds=[Ref(group)]),
            Tags=tags, Metadata=why(what)))

    spot = compute("SpotComputeEnvironment", "FARGATE_SPOT", "fargate-spot",
                   "Spare Fargate capacity, about 70% cheaper; a reclaimed child is retried.")
    ondemand = compute("OnDemandComputeEnvironment", "FARGATE", "fargate",
                       "On-demand Fargate: behind Spot in the Spot queue, alone in the on-demand queue.")
    spot_queue = t.add_resource(batch.JobQueue(
        "SpotQueue", JobQueueName=naming.job_queue(env, "SPOT"), Priority=1, State="ENABLED",
        ComputeEnvironmentOrder=[batch.ComputeEnvironmentOrder(ComputeEnvironment=Ref(spot), Order=1),
                                 batch.ComputeEnvironmentOrder(ComputeEnvironment=Ref(ondemand), Order=2)],
        Tags=tags, Metadata=why("Jobs with capacity SPOT: Fargate Spot first, on-demand behind it.")))
    ondemand_queue = t.add_resource(batch.JobQueue(
        "OnDemandQueue", JobQueueName=naming.job_queue(env, "ON_DEMAND"), Priority=1, State="ENABLED",
        ComputeEnvironmentOrder=[batch.ComputeEnvironmentOrder(ComputeEnvironment=Ref(ondemand), Order=1)],
        Tags=tags, Metadata=why("Jobs with capacity ON_DEMAND.")))

    t.add_output(Output("SpotQueueArn", Value=Ref(spot_queue), Description="Queue of capacity SPOT jobs"))
    t.add_output(Output("OnDemandQueueArn", Value=Ref(ondemand_queue), Description="Queue of capacity ON_DEMAND jobs"))
    t.add_output(Output("JobExecutionRoleArn", Value=GetAtt(execution, "Arn"), Description="Starts the children"))
    t.add_output(Output("JobLogGroupName", Value=Ref(log_group), Description="The children's logs"))
    t.add_output(Output("ResultsBucketName", Value=Ref(bucket), Description="Where jobs write their outputs"))
    return t
