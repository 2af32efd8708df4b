"""batch: where an environment's fan-out jobs run (AWS Batch on Fargate, and EC2 for EC2 jobs), scaled to zero when idle.

Creates
- SpotComputeEnvironment `weekly-models-<env>-fargate-spot` and OnDemandComputeEnvironment
  `weekly-models-<env>-fargate`: managed Fargate capacity, up to `batch_max_vcpus` each, in the
  network stack's public subnets with its egress-only security group. Fargate bills only what
  runs, so with no job there is no cost. Batch's own service-linked role manages them.
- SpotQueue `weekly-models-<env>-spot` (Fargate Spot first, on-demand Fargate behind it) and
  OnDemandQueue `weekly-models-<env>-on-demand` (on-demand only).
- Only when a job of the environment has `platform: EC2`, for children larger than Fargate
  allows or with GPUs: Ec2SpotComputeEnvironment `weekly-models-<env>-ec2-spot` (EC2 Spot,
  SPOT_PRICE_CAPACITY_OPTIMIZED, so no Spot Fleet role) and Ec2OnDemandComputeEnvironment
  `weekly-models-<env>-ec2` (BEST_FIT_PROGRESSIVE), each of `batch_instance_family` (any size),
  0 to `batch_max_vcpus` vCPUs, in the same subnets and security group; Ec2LaunchTemplate
  `weekly-models-<env>-batch-ec2` (IMDSv2 only, encrypted root volume), Amazon Linux 2023 (its
  NVIDIA image on a GPU family); InstanceRole and InstanceProfile `weekly-models-<env>-batch-instance`:
  what the ECS agent on a Batch instance calls, on this environment's Batch clusters only (a job's
  code can reach it too: see _ec2_capacity); and
  Ec2SpotQueue `weekly-models-<env>-ec2-spot` (EC2 Spot, on-demand EC2 behind it) and
  Ec2OnDemandQueue `weekly-models-<env>-ec2-on-demand`.
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
Outputs: SpotQueueArn, OnDemandQueueArn, JobExecutionRoleArn, JobLogGroupName, ResultsBucketName;
with an EC2 job also Ec2SpotQueueArn, Ec2OnDemandQueueArn, InstanceRoleArn.
"""

from __future__ import annotations

from awacs import ecs, kms, logs, s3, ssm
from awacs.aws import Allow, Bool, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Output, Parameter, Ref, Sub, Tags, batch, ec2, iam
from troposphere import logs as tlogs
from troposphere import s3 as ts3

from generators.iam import assume_role
from wm.config import names as naming
from wm.config.checks import INSTANCE_FAMILIES
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

    if any(j.platform == "EC2" for j in stack.env.jobs):
        _ec2_capacity(t, env, settings, subnets, group, tags)

    t.add_output(Output("SpotQueueArn", Value=Ref(spot_queue), Description="Queue of capacity SPOT jobs"))
    t.add_output(Output("OnDemandQueueArn", Value=Ref(ondemand_queue), Description="Queue of capacity ON_DEMAND jobs"))
    t.add_output(Output("JobExecutionRoleArn", Value=GetAtt(execution, "Arn"), Description="Starts the children"))
    t.add_output(Output("JobLogGroupName", Value=Ref(log_group), Description="The children's logs"))
    t.add_output(Output("ResultsBucketName", Value=Ref(bucket), Description="Where jobs write their outputs"))
    return t


def instance_statements(env: str) -> list[Statement]:
    """What the ECS agent on a Batch instance calls (ECS developer guide, "Amazon ECS container instance
    IAM role": the AmazonEC2ContainerServiceforEC2Role actions), on this environment's EC2 compute
    environments' clusters only. Batch names each one's cluster `<compute environment>_Batch_<id>`
    (its ecsClusterArn). Left out: ecr:* (jobs pull public images; a private ECR image would be the
    execution role's to pull), ec2:DescribeTags and ecs:CreateCluster (Batch makes the cluster)."""
    names = [naming.compute_environment(env, kind) for kind in ("ec2-spot", "ec2")]
    clusters = [arn("ecs", f"cluster/{name}_Batch_*") for name in names]
    instances = [arn("ecs", f"container-instance/{name}_Batch_*/*") for name in names]
    return [
        Statement(Sid="JoinTheBatchClusters", Effect=Allow, Resource=clusters, Action=[
            ecs.RegisterContainerInstance, ecs.DeregisterContainerInstance, ecs.SubmitContainerStateChange,
            ecs.SubmitTaskStateChange, ecs.SubmitAttachmentStateChanges]),
        Statement(Sid="RunTheirTasks", Effect=Allow, Resource=instances, Action=[
            ecs.Poll, ecs.StartTelemetrySession, ecs.UpdateContainerInstancesState]),
        Statement(Sid="TagItselfOnRegistration", Effect=Allow, Resource=instances, Action=[ecs.TagResource],
                  Condition=Condition(StringEquals({"ecs:CreateAction": "RegisterContainerInstance"}))),
        # The Service Authorization Reference lists no resource type for ecs:DiscoverPollEndpoint: only "*".
        Statement(Sid="FindTheEcsEndpoint", Effect=Allow, Resource=["*"], Action=[ecs.DiscoverPollEndpoint]),
        Statement(Sid="WriteJobLogs", Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[arn("logs", f"log-group:{naming.job_log_group(env)}:*")]),
    ]


def _ec2_capacity(t, env: str, settings, subnets, group, tags: dict) -> None:
    """EC2 Spot and on-demand EC2 of the environment's instance family, their launch template,
    instance role and profile, and the two EC2 queues (only for an environment with an EC2 job)."""
    family = settings.batch_instance_family
    role = t.add_resource(iam.Role(
        "InstanceRole", RoleName=naming.batch_instance_role_name(env),
        Description=f"The ECS agent on weekly-models {env} Batch EC2 instances",
        # EC2 documents no source condition for an instance role's trust (EC2 user guide, "IAM roles for Amazon EC2").
        AssumeRolePolicyDocument=assume_role("ec2.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="ecs-agent", PolicyDocument=PolicyDocument(
            Version="2012-10-17", Statement=instance_statements(env)))],
        Tags=env_tags(env),
        Metadata=why("Lets the ECS agent on a Batch EC2 instance join its cluster, run the children and log.")))
    profile = t.add_resource(iam.InstanceProfile(
        # The profile has its role's name, so the lint can tell which role a compute environment passes.
        "InstanceProfile", InstanceProfileName=naming.batch_instance_role_name(env), Roles=[Ref(role)],
        Metadata=why("Hands the instance role to the Batch EC2 instances.")))
    template = t.add_resource(ec2.LaunchTemplate(
        "Ec2LaunchTemplate", LaunchTemplateName=naming.batch_launch_template(env),
        LaunchTemplateData=ec2.LaunchTemplateData(
            # IMDSv2 only (EC2 user guide, "Configure the Instance Metadata Service options"). The hop
            # limit of 1 keeps the token from bridged containers only: Batch runs an EC2 job in host
            # network mode (AWS Batch user guide, "Networking modes for AWS Batch jobs"), so a job's
            # code can reach the instance role. That role is therefore only what the ECS agent needs,
            # on this environment's Batch clusters and the jobs' log group (instance_statements).
            MetadataOptions=ec2.MetadataOptions(HttpEndpoint="enabled", HttpTokens="required",
                                                HttpPutResponseHopLimit=1),
            # /dev/xvda is the root volume of Batch's default ECS-optimized AMIs (AWS Batch user guide,
            # "Use Amazon EC2 launch templates": its example encrypts that volume).
            BlockDeviceMappings=[ec2.LaunchTemplateBlockDeviceMapping(DeviceName="/dev/xvda", Ebs=ec2.EBSBlockDevice(
                Encrypted=True, VolumeType="gp3", DeleteOnTermination=True))]),
        TagSpecifications=[ec2.TagSpecifications(ResourceType="launch-template",
                                                     Tags=env_tags(env))],
        Metadata=why("Every Batch EC2 instance: IMDSv2 only, an encrypted root volume.")))

    # Pinned, not Batch's default (which moved from Amazon Linux 2 to 2023 in January 2026): AL2023, its
    # NVIDIA image on a family with GPUs (AWS Batch API reference, Ec2Configuration).
    image = "ECS_AL2023_NVIDIA" if INSTANCE_FAMILIES[family][3] else "ECS_AL2023"

    def compute(logical: str, kind: str, strategy: str, name: str, what: str):
        environment = batch.ComputeEnvironment(
            logical, ComputeEnvironmentName=naming.compute_environment(env, name), Type="MANAGED", State="ENABLED",
            # Updated in place: a change that needs new instances would otherwise replace the compute
            # environment, which its fixed name forbids (CloudFormation, AWS::Batch::ComputeEnvironment
            # ReplaceComputeEnvironment); running children get 30 minutes before their instances go.
            ReplaceComputeEnvironment=False,
            ComputeResources=batch.ComputeResources(
                Ec2Configuration=[batch.Ec2ConfigurationObject(ImageType=image)],
                Type=kind, AllocationStrategy=strategy, MinvCpus=0, MaxvCpus=settings.batch_max_vcpus,
                InstanceTypes=[family], InstanceRole=GetAtt(profile, "Arn"), Subnets=Ref(subnets),
                SecurityGroupIds=[Ref(group)],
                LaunchTemplate=batch.LaunchTemplateSpecification(LaunchTemplateId=Ref(template),
                                                                 Version=GetAtt(template, "LatestVersionNumber")),
                Tags={**tags, "Name": naming.compute_environment(env, name)}),
            Tags=tags, Metadata=why(what))
        # The property UpdatePolicy, not the resource attribute troposphere would make of the keyword.
        environment.properties["UpdatePolicy"] = batch.UpdatePolicy(JobExecutionTimeoutMinutes=30,
                                                                    TerminateJobsOnUpdate=False)
        return t.add_resource(environment)

    # "This role is required if the allocation strategy set to BEST_FIT or if the allocation strategy
    # isn't specified" (AWS Batch API reference, ComputeResource, spotIamFleetRole): none here.
    spot = compute("Ec2SpotComputeEnvironment", "SPOT", "SPOT_PRICE_CAPACITY_OPTIMIZED", "ec2-spot",
                   f"Spare {family} instances for EC2 jobs, scaled to zero; a reclaimed child is retried.")
    ondemand = compute("Ec2OnDemandComputeEnvironment", "EC2", "BEST_FIT_PROGRESSIVE", "ec2",
                       f"On-demand {family} instances: behind EC2 Spot, alone in the EC2 on-demand queue.")
    spot_queue = t.add_resource(batch.JobQueue(
        "Ec2SpotQueue", JobQueueName=naming.job_queue(env, "SPOT", "EC2"), Priority=1, State="ENABLED",
        ComputeEnvironmentOrder=[batch.ComputeEnvironmentOrder(ComputeEnvironment=Ref(spot), Order=1),
                                 batch.ComputeEnvironmentOrder(ComputeEnvironment=Ref(ondemand), Order=2)],
        Tags=tags, Metadata=why("EC2 jobs with capacity SPOT: EC2 Spot first, on-demand EC2 behind it.")))
    ondemand_queue = t.add_resource(batch.JobQueue(
        "Ec2OnDemandQueue", JobQueueName=naming.job_queue(env, "ON_DEMAND", "EC2"), Priority=1, State="ENABLED",
        ComputeEnvironmentOrder=[batch.ComputeEnvironmentOrder(ComputeEnvironment=Ref(ondemand), Order=1)],
        Tags=tags, Metadata=why("EC2 jobs with capacity ON_DEMAND.")))
    t.add_output(Output("Ec2SpotQueueArn", Value=Ref(spot_queue), Description="Queue of capacity SPOT EC2 jobs"))
    t.add_output(Output("Ec2OnDemandQueueArn", Value=Ref(ondemand_queue),
                        Description="Queue of capacity ON_DEMAND EC2 jobs"))
    t.add_output(Output("InstanceRoleArn", Value=GetAtt(role, "Arn"), Description="The Batch EC2 instances' role"))
