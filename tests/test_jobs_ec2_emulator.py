"""EC2 capacity for jobs on the emulator: the maximal fixture (an EC2 job with GPUs beside a
Fargate job) deploys its network, batch and EC2 job stacks through CloudFormation, the EC2
compute environments, queues, launch template and instance profile exist as rendered, and a
submission to the EC2 queue advances to SUCCEEDED. `make deploy` deploys dev, whose example
job stays on Fargate, so the stacks are created here through boto3, in Sceptre's order, with
the outputs Sceptre would hand on. The emulator runs nothing (emulator/wm_emulator/batch.py):
no instance starts, the children advance on the clock."""

from __future__ import annotations

import time

import pytest
from conftest import ROOT

from generators import render
from wm.config import names, resolve

pytestmark = pytest.mark.emulator

FIXTURE = ROOT / "tests" / "fixtures" / "maximal"
ENV = resolve.load(FIXTURE, "dev", now=resolve.docs_moment(FIXTURE), graph=False)
(JOB,) = [j for j in ENV.jobs if j.platform == "EC2"]
# The job stack's alert inputs come from the alerts and iam stacks, which this test does not deploy:
# stand-ins of the right shape (nothing is sent to them here).
STAND_INS = {"AlertMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:weekly-models-dev-alert",
             "AlertRulesRoleArn": "arn:aws:iam::123456789012:role/weekly-models-dev-alert-rules",
             # A job stack's schedule inputs (used only by a job with a schedule; this one has none).
             "ScheduleGroupName": names.schedule_group("dev"),
             "SchedulerRoleArn": "arn:aws:iam::123456789012:role/weekly-models-dev-scheduler",
             "SilenceCheckArn": "arn:aws:states:us-east-1:123456789012:stateMachine:weekly-models-dev-silence-check",
             "AlertTopicArn": "arn:aws:sns:us-east-1:123456789012:weekly-models-dev-alerts"}


def create(aws, path: str, parameters: dict[str, str]) -> dict[str, str]:
    """Create one stack of the fixture from its rendered template; its outputs."""
    cfn, name = aws("cloudformation"), names.stack_name(path)
    cfn.create_stack(StackName=name, TemplateBody=render(ENV.stacks[path]),
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    (stack,) = cfn.describe_stacks(StackName=name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@pytest.fixture(scope="module")
def deployed(aws):
    network = create(aws, "dev/network", {})
    batch = create(aws, "dev/batch", {"SubnetIds": network["SubnetIds"], "SecurityGroupId": network["SecurityGroupId"]})
    create(aws, f"dev/jobs/{JOB.name}", {**STAND_INS, **{k: batch[k] for k in (
        "JobExecutionRoleArn", "JobLogGroupName", "ResultsBucketName")}})
    return batch


def test_the_ec2_compute_environments_are_spot_then_on_demand_of_the_family_scaled_to_zero(deployed, aws):
    wanted = {names.compute_environment("dev", "ec2-spot"): ("SPOT", "SPOT_PRICE_CAPACITY_OPTIMIZED"),
              names.compute_environment("dev", "ec2"): ("EC2", "BEST_FIT_PROGRESSIVE")}
    found = {c["computeEnvironmentName"]: c for c in aws("batch").describe_compute_environments()["computeEnvironments"]}
    profile = aws("iam").get_instance_profile(InstanceProfileName=names.batch_instance_role_name("dev"))["InstanceProfile"]
    for name, (kind, strategy) in wanted.items():
        resources = found[name]["computeResources"]
        assert (resources["type"], resources["allocationStrategy"]) == (kind, strategy)
        assert resources["minvCpus"] == 0 and resources["maxvCpus"] == ENV.settings.batch_max_vcpus
        assert resources["instanceTypes"] == [ENV.settings.batch_instance_family]
        assert resources["instanceRole"] == profile["Arn"]
    assert [r["RoleName"] for r in profile["Roles"]] == [names.batch_instance_role_name("dev")]
    # Scaled to zero: no instance runs before a job asks for one.
    assert aws("ec2").describe_instances()["Reservations"] == []


def test_the_launch_template_requires_imdsv2_and_encrypts_the_root_volume(deployed, aws):
    ec2 = aws("ec2")
    (template,) = ec2.describe_launch_templates(LaunchTemplateNames=[names.batch_launch_template("dev")])["LaunchTemplates"]
    (version,) = ec2.describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"])["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert all(m["Ebs"]["Encrypted"] for m in data["BlockDeviceMappings"])


def test_the_ec2_queues_put_spot_first_and_an_ec2_job_advances_on_its_queue(deployed, aws):
    batch = aws("batch")
    queues = {q["jobQueueName"]: [o["computeEnvironment"].rsplit("/", 1)[-1] for o in
                                   sorted(q["computeEnvironmentOrder"], key=lambda o: o["order"])]
              for q in batch.describe_job_queues()["jobQueues"]}
    assert queues[names.job_queue("dev", "SPOT", "EC2")] == [names.compute_environment("dev", "ec2-spot"),
                                                             names.compute_environment("dev", "ec2")]
    assert queues[names.job_queue("dev", "ON_DEMAND", "EC2")] == [names.compute_environment("dev", "ec2")]
    assert deployed["Ec2SpotQueueArn"].endswith(names.job_queue("dev", "SPOT", "EC2"))
    # moto's CloudFormation model of a job definition keeps no platformCapabilities (docs/jobs.md, "On the
    # emulator"); tests/test_jobs.py checks the rendered EC2 definition.
    assert batch.describe_job_definitions(jobDefinitionName=JOB.definition, status="ACTIVE")["jobDefinitions"]
    answer = batch.submit_job(jobName=f"{JOB.name}-test", jobQueue=JOB.queue, jobDefinition=JOB.definition,
                              arrayProperties={"size": JOB.array_size})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        (job,) = batch.describe_jobs(jobs=[answer["jobId"]])["jobs"]
        if job["status"] in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(1)
    assert job["status"] == "SUCCEEDED" and job["jobQueue"].endswith(JOB.queue), job
