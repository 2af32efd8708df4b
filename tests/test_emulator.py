"""The dev stacks on a fresh local emulator, through the same make targets a person uses.

One emulator on a free port for the module: `make deploy`, then boto3 reads back what
was declared; a second deploy changes nothing; `make secret` stores a SecureString;
`make destroy` leaves no stack; a stopped emulator gives a clear error, not a hang.
"""

from __future__ import annotations

import os
import socket
import subprocess

import boto3
import pytest

from conftest import ROOT

pytestmark = pytest.mark.emulator

MODELS = {  # model -> (image, MODEL_NAME)
    "flu-ar2": ("reichlab/flu_ar2:1.2", "UMass-AR2"),
    "flu-flusion": ("reichlab/flu_flusion:1.2", "UMass-flusion"),
    "flu-trends-ensemble": ("reichlab/flu_trends_ensemble:1.3", "UMass-trends_ensemble"),
    "covid-ar6-pooled": ("reichlab/covid_ar6_pooled:1.5", "UMass-ar6_pooled"),
    "covid-gbqr": ("reichlab/covid_gbqr:1.5", "UMass-gbqr"),
}
STACKS = ["network", "cluster", "iam", *(f"models-{m}" for m in MODELS)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make(*args, port, stdin=None, timeout=300):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(["make", "--no-print-directory", *args, f"EMULATOR_PORT={port}"], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def emulator():
    port = free_port()
    result = make("emulator-start", port=port)
    assert result.returncode == 0, result.stdout + result.stderr
    yield port
    make("emulator-stop", port=port)


@pytest.fixture(scope="module")
def aws(emulator):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return lambda service: session.client(service, endpoint_url=f"http://127.0.0.1:{emulator}")


@pytest.fixture(scope="module")
def deployed(emulator):
    result = make("deploy", port=emulator)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_deploy_prints_outputs_endpoint_and_what_the_emulator_lacks(deployed, emulator):
    assert f"endpoint: http://127.0.0.1:{emulator}" in deployed
    assert "ClusterArn" in deployed and "TaskDefinitionArn" in deployed and "SchedulerRoleArn" in deployed
    assert "every resource of every template was created by the emulator" in deployed


def test_every_stack_is_created(deployed, aws):
    cfn = aws("cloudformation")
    for stack in STACKS:
        status = cfn.describe_stacks(StackName=f"weekly-models-dev-{stack}")["Stacks"][0]["StackStatus"]
        assert status == "CREATE_COMPLETE", stack


def test_cluster_as_declared(deployed, aws):
    cluster = aws("ecs").describe_clusters(clusters=["weekly-models-dev"], include=["SETTINGS"])["clusters"][0]
    assert cluster["status"] == "ACTIVE"
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert set(cluster["capacityProviders"]) == {"FARGATE", "FARGATE_SPOT"}


@pytest.mark.parametrize("model", MODELS)
def test_task_definition_as_declared(deployed, aws, model):
    family = f"weekly-models-dev-{model}-model"
    td = aws("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert (td["cpu"], td["memory"], td["networkMode"]) == ("1024", "3072", "awsvpc")
    assert td["executionRoleArn"].endswith(":role/weekly-models-dev-task-execution")
    (c,) = td["containerDefinitions"]
    image, model_name = MODELS[model]
    assert c["name"] == f"{family}-container" and c["image"] == image
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env["MODEL_NAME"] == model_name and env["DRY_RUN"] == "1" and env["CHANNEL_ID"] == "C02UELXDPQQ"
    assert env["GIT_USER_NAME"] == "reichlabmachine"
    assert env["REPO_UPSTREAM_URL"].startswith("https://github.com/")
    secrets = {s["name"]: s["valueFrom"] for s in c["secrets"]}
    assert sorted(secrets) == ["GH_TOKEN", "GIT_CREDENTIALS", "SLACK_API_TOKEN"]
    assert all(v.endswith(f":parameter/weekly-models/dev/{k}") for k, v in secrets.items())
    assert c["logConfiguration"]["options"]["awslogs-group"] == f"/ecs/{family}"


@pytest.mark.parametrize("model", MODELS)
def test_log_group_queue_and_schedule_as_declared(deployed, aws, model):
    family = f"weekly-models-dev-{model}-model"
    (group,) = aws("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{family}")["logGroups"]
    assert group["retentionInDays"] == 30
    url = aws("sqs").get_queue_url(QueueName=f"{family}-dlq")["QueueUrl"]
    attrs = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["MessageRetentionPeriod"] == "1209600"
    s = aws("scheduler").get_schedule(Name=family)
    assert (s["State"], s["ScheduleExpression"], s["ScheduleExpressionTimezone"]) == \
        ("DISABLED", "cron(0 14 ? * WED *)", "America/New_York")
    ecs = s["Target"]["EcsParameters"]
    assert ecs["TaskDefinitionArn"].endswith(f"task-definition/{family}:1")
    assert ecs["LaunchType"] == "FARGATE"
    assert ecs["NetworkConfiguration"]["awsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
    assert s["Target"]["RoleArn"].endswith(":role/weekly-models-dev-scheduler")
    assert s["Target"]["DeadLetterConfig"]["Arn"] == attrs["QueueArn"]


def test_roles_exist_with_their_inline_policies_only(deployed, aws):
    iam = aws("iam")
    for role in ("weekly-models-dev-task-execution", "weekly-models-dev-scheduler"):
        iam.get_role(RoleName=role)
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
        assert len(iam.list_role_policies(RoleName=role)["PolicyNames"]) == 1


def test_second_deploy_changes_nothing(deployed, emulator, aws):
    result = make("deploy", port=emulator)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    cfn = aws("cloudformation")
    for stack in STACKS:
        s = cfn.describe_stacks(StackName=f"weekly-models-dev-{stack}")["Stacks"][0]
        assert s["StackStatus"] == "CREATE_COMPLETE", stack
    for model in MODELS:
        arns = aws("ecs").list_task_definitions(familyPrefix=f"weekly-models-dev-{model}-model")["taskDefinitionArns"]
        assert [a.rsplit(":", 1)[1] for a in arns] == ["1"], arns


def test_secret_is_stored_encrypted_and_never_printed(deployed, emulator, aws):
    value = "xoxb-not-a-real-token-5f3c"
    result = make("secret", "ENV=local", "NAME=SLACK_API_TOKEN", port=emulator, stdin=value + "\n")
    assert result.returncode == 0, result.stderr
    assert value not in result.stdout + result.stderr
    p = aws("ssm").get_parameter(Name="/weekly-models/dev/SLACK_API_TOKEN", WithDecryption=True)["Parameter"]
    assert (p["Type"], p["Value"]) == ("SecureString", value)


def test_unknown_secret_name_is_refused(deployed, emulator):
    result = make("secret", "ENV=local", "NAME=SLACK_TOKEN", port=emulator, stdin="x\n")
    assert result.returncode != 0
    assert "not a secret any model of dev reads" in result.stderr and "Traceback" not in result.stderr


def test_destroy_leaves_no_stack(deployed, emulator, aws):
    result = make("destroy", port=emulator)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    live = [s["StackName"] for s in aws("cloudformation").describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"]
    assert live == []
    assert aws("scheduler").list_schedules()["Schedules"] == []


def test_a_stopped_emulator_gives_a_clear_error_not_a_hang():
    port = free_port()  # nothing listens here
    result = make("destroy", port=port, timeout=60)
    assert result.returncode != 0
    assert f"emulator at http://127.0.0.1:{port} is not answering" in result.stderr
    assert "make emulator-start" in result.stderr and "Traceback" not in result.stderr


def test_a_type_the_emulator_skips_is_reported_not_claimed(emulator, aws):
    """moto skips AWS::CloudWatch::Alarm yet says CREATE_COMPLETE; the deploy report must list it."""
    from generators.cli import missing_resources

    template = """---
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      MetricName: ApproximateNumberOfMessagesVisible
      Namespace: AWS/SQS
      Statistic: Maximum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
"""
    cfn = aws("cloudformation")
    cfn.create_stack(StackName="probe-unmodelled", TemplateBody=template)
    try:
        assert cfn.describe_stacks(StackName="probe-unmodelled")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        created = {r["LogicalResourceId"] for r in
                   cfn.list_stack_resources(StackName="probe-unmodelled")["StackResourceSummaries"]}
        assert missing_resources(template, created) == [("AWS::CloudWatch::Alarm", "Alarm")]
    finally:
        cfn.delete_stack(StackName="probe-unmodelled")


def test_deploy_to_aws_without_credentials_stops_at_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true")  # no ~/.aws, no instance role
    result = subprocess.run(["make", "--no-print-directory", "deploy", "ENV=dev"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "no AWS credentials found" in result.stderr and "`make deploy` alone" in result.stderr
    assert "Traceback" not in result.stderr
