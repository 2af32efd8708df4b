"""Every property the emulator's extension types model is applied on update, and read back.

For each extension type (emulator/wm_emulator/) and each property in its PROPERTIES: a
small stack is created with CloudFormation on a fresh emulator, that one property is
changed with UpdateStack, and the service's own API (not CloudFormation) must return the
new value. The table below must name exactly the properties each type models, so a
property added to PROPERTIES without a row here fails. An unmodelled property is
refused, not dropped, on create and on update; an updated alarm keeps its state; a
deleted topic policy leaves SNS's default; GetAtt reads each type's attributes. Last, an
image bump of the real dev configuration moves the schedule to the new task definition
revision.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import ROOT, a_model, bump_image, make, repo_copy, tool

pytestmark = pytest.mark.emulator

ACCOUNT, REGION = "123456789012", "us-east-1"
MISSING = object()  # the property is absent from the template


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


@pytest.fixture(scope="module")
def modelled() -> dict[str, set[str]]:
    """Each extension type's PROPERTIES, read in the emulator's own environment (moto lives there)."""
    code = ("import json, sys; sys.path.insert(0, 'emulator'); import wm_emulator; "
            "print(json.dumps({c.TYPE: sorted(c.PROPERTIES) for c in wm_emulator.EXTENDED_TYPES}))")
    result = subprocess.run([str(ROOT / ".venv-emulator" / "bin" / "python"), "-c", code], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return {t: set(p) for t, p in json.loads(result.stdout).items()}


# --- the stacks: each type's resource "R" with what it needs around it ------------------------

def queue(name: str) -> dict:
    return {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}}


def topic(name: str) -> dict:
    return {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}}


def role(name: str, service: str) -> dict:
    return {"Type": "AWS::IAM::Role", "Properties": {"RoleName": name, "AssumeRolePolicyDocument": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}}}


def get_att(logical: str, attribute: str = "Arn") -> dict:
    return {"Fn::GetAtt": [logical, attribute]}


def schedule_stack(n: str) -> tuple[dict, dict]:
    deps = {"Queue": queue(f"{n}-q"), "Queue2": queue(f"{n}-q2"), "Role": role(f"{n}-role", "scheduler.amazonaws.com"),
            "Group1": {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {"Name": f"{n}-g1"}},
            "Group2": {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {"Name": f"{n}-g2"}}}
    return deps, {"Name": n, "GroupName": {"Ref": "Group1"}, "ScheduleExpression": "rate(1 hour)",
                  "FlexibleTimeWindow": {"Mode": "OFF"},
                  "Target": {"Arn": get_att("Queue"), "RoleArn": get_att("Role")}}


def schedule_group_stack(n: str) -> tuple[dict, dict]:
    return {}, {"Name": f"{n}-g"}


def cluster_stack(n: str) -> tuple[dict, dict]:
    return {}, {"ClusterName": n, "CapacityProviders": ["FARGATE", "FARGATE_SPOT"]}


def task_definition_stack(n: str) -> tuple[dict, dict]:
    return {}, {"Family": n, "RequiresCompatibilities": ["EC2"],
                "ContainerDefinitions": [{"Name": "main", "Image": "busybox:1.36", "Memory": 128}]}


def alarm_stack(n: str) -> tuple[dict, dict]:
    return {"Topic": topic(f"{n}-t"), "Topic2": topic(f"{n}-t2")}, {
        "AlarmName": n, "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 3, "Threshold": 1,
        "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "Statistic": "Sum",
        "Period": 60}


def topic_policy_stack(n: str) -> tuple[dict, dict]:
    return {"Topic": topic(f"{n}-t"), "Topic2": topic(f"{n}-t2")}, {
        "Topics": [{"Ref": "Topic"}], "PolicyDocument": policy("a", {"Ref": "Topic"})}


def bucket_policy_stack(n: str) -> tuple[dict, dict]:
    buckets = {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": f"{n}-b"}},
               "Bucket2": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": f"{n}-b2"}}}
    return buckets, {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": s3_policy("a")}


def s3_policy(sid: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Allow", "Principal": {
        "AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*"}]}


def policy(sid: str, resource: Any) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Allow", "Action": "sns:Publish",
                                                   "Principal": {"Service": "events.amazonaws.com"},
                                                   "Resource": resource}]}


def subscription_stack(n: str) -> tuple[dict, dict]:
    return {"Topic": topic(f"{n}-t"), "Topic2": topic(f"{n}-t2"), "Queue": queue(f"{n}-q"),
            "Queue2": queue(f"{n}-q2")}, {"TopicArn": {"Ref": "Topic"}, "Protocol": "sqs",
                                          "Endpoint": get_att("Queue")}


def machine_definition(comment: str) -> str:
    return json.dumps({"Comment": comment, "StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


def state_machine_stack(n: str) -> tuple[dict, dict]:
    return {"Role": role(f"{n}-role", "states.amazonaws.com"), "Role2": role(f"{n}-role2", "states.amazonaws.com")}, {
        "StateMachineName": n, "RoleArn": get_att("Role"), "DefinitionString": machine_definition("first")}


def metric_filter_stack(n: str) -> tuple[dict, dict]:
    groups = {"Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"/{n}/a"}},
              "Group2": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"/{n}/b"}}}
    return groups, {"FilterName": n, "LogGroupName": {"Ref": "Group"}, "FilterPattern": '{ $.source = "aws.ecs" }',
                    "MetricTransformations": [{"MetricName": "M", "MetricNamespace": "N", "MetricValue": "1"}]}


STACKS = {
    "AWS::StepFunctions::StateMachine": state_machine_stack,
    "AWS::Logs::MetricFilter": metric_filter_stack,
    "AWS::Scheduler::Schedule": schedule_stack,
    "AWS::Scheduler::ScheduleGroup": schedule_group_stack,
    "AWS::ECS::Cluster": cluster_stack,
    "AWS::ECS::TaskDefinition": task_definition_stack,
    "AWS::CloudWatch::Alarm": alarm_stack,
    "AWS::SNS::TopicPolicy": topic_policy_stack,
    "AWS::S3::BucketPolicy": bucket_policy_stack,
    "AWS::SNS::Subscription": subscription_stack,
}


# --- reading back through each service's own API ---------------------------------------------

@dataclass
class Seen:
    """What a row's read function gets: the clients, the test's base name, R's Ref."""

    aws: Callable
    n: str
    ref: str


def schedule(s: Seen) -> dict:
    (found,) = [x for x in s.aws("scheduler").list_schedules(NamePrefix=s.n)["Schedules"] if x["Name"] == s.n]
    return s.aws("scheduler").get_schedule(Name=s.n, GroupName=found["GroupName"])


def schedule_names(s: Seen) -> list[str]:
    return sorted(x["Name"] for x in s.aws("scheduler").list_schedules(NamePrefix=s.n)["Schedules"])


def group_tags(s: Seen) -> dict[str, str]:
    group = s.aws("scheduler").get_schedule_group(Name=s.ref)
    tags = s.aws("scheduler").list_tags_for_resource(ResourceArn=group["Arn"])["Tags"]
    return {t["Key"]: t["Value"] for t in tags}


def cluster(s: Seen) -> dict:
    return s.aws("ecs").describe_clusters(clusters=[s.n], include=["SETTINGS", "CONFIGURATIONS", "TAGS"])["clusters"][0]


def cluster_tags(s: Seen) -> dict[str, str]:
    tags = s.aws("ecs").list_tags_for_resource(resourceArn=cluster(s)["clusterArn"])["tags"]
    return {t["key"]: t["value"] for t in tags}


def task_definition(s: Seen) -> dict:
    """The revision R now names (Ref is its ARN)."""
    return s.aws("ecs").describe_task_definition(taskDefinition=s.ref, include=["TAGS"])


def alarm(s: Seen) -> dict:
    return s.aws("cloudwatch").describe_alarms(AlarmNames=[s.n])["MetricAlarms"][0]


def alarm_tags(s: Seen) -> dict[str, str]:
    tags = s.aws("cloudwatch").list_tags_for_resource(ResourceARN=alarm(s)["AlarmArn"])["Tags"]
    return {t["Key"]: t["Value"] for t in tags}


def topic_policy(s: Seen, name: str) -> dict:
    attributes = s.aws("sns").get_topic_attributes(TopicArn=arn("sns", name))["Attributes"]
    return json.loads(attributes["Policy"])


def bucket_policy_sids(s: Seen, bucket: str) -> list[str] | None:
    try:
        return [x["Sid"] for x in json.loads(s.aws("s3").get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]]
    except Exception as err:  # moto: NoSuchBucketPolicy
        if "NoSuchBucketPolicy" in str(err):
            return None
        raise


def subscription(s: Seen) -> dict[str, str]:
    return s.aws("sns").get_subscription_attributes(SubscriptionArn=s.ref)["Attributes"]


def subscriptions(s: Seen, topic_suffix: str) -> list[tuple[str, str]]:
    subs = s.aws("sns").list_subscriptions_by_topic(TopicArn=arn("sns", f"{s.n}{topic_suffix}"))["Subscriptions"]
    return sorted((x["Protocol"], x["Endpoint"]) for x in subs)


def machine(s: Seen) -> dict:
    return s.aws("stepfunctions").describe_state_machine(stateMachineArn=s.ref)


def machine_tags(s: Seen) -> dict[str, str]:
    return {t["key"]: t["value"] for t in s.aws("stepfunctions").list_tags_for_resource(resourceArn=s.ref)["tags"]}


def metric_filters(s: Seen) -> list[dict]:
    out = []
    for group in (f"/{s.n}/a", f"/{s.n}/b"):
        out += s.aws("logs").describe_metric_filters(logGroupName=group)["metricFilters"]
    return out


def utc(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


# --- the table: one row per modelled property ---------------------------------------------------

@dataclass
class Row:
    type: str
    prop: str
    before: Any  # the property's value in the created stack (MISSING: absent); a callable takes the base name
    after: Any  # its value in the update
    read: Callable[[Seen], Any]  # what the service's API returns for it
    expect: tuple | Callable | None = None  # (read before, read after) where it differs from (before, after)
    replaced: bool = False  # the update makes a new physical resource (Ref changes)


S, G, C, T = "AWS::Scheduler::Schedule", "AWS::Scheduler::ScheduleGroup", "AWS::ECS::Cluster", "AWS::ECS::TaskDefinition"
A, P, U = "AWS::CloudWatch::Alarm", "AWS::SNS::TopicPolicy", "AWS::SNS::Subscription"
KEY = arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")
CONTAINER = {"Name": "main", "Image": "busybox:1.36", "Memory": 128}
QUERY = {"Id": "m1", "ReturnData": False, "MetricStat": {
    "Metric": {"Namespace": "AWS/SQS", "MetricName": "NumberOfMessagesSent",
               "Dimensions": [{"Name": "QueueName", "Value": "q"}]}, "Period": 60, "Stat": "Sum"}}


def metrics(expression: str) -> list[dict]:
    return [QUERY, {"Id": "e1", "Expression": expression, "Label": "doubled", "ReturnData": True}]


def bands(s: Seen) -> dict:
    a = alarm(s)
    return {"ThresholdMetricId": a["ThresholdMetricId"], "Metrics": [m["Id"] for m in a["Metrics"]]}


SM, MF = "AWS::StepFunctions::StateMachine", "AWS::Logs::MetricFilter"

ROWS = [
    # AWS::StepFunctions::StateMachine (describe_state_machine, list_tags_for_resource)
    Row(SM, "StateMachineName", lambda n: n, lambda n: f"{n}-2", lambda s: machine(s)["name"],
        expect=lambda n: (n, f"{n}-2"), replaced=True),
    # A new type replaces the machine; with the same name its ARN (Ref) stays the same.
    Row(SM, "StateMachineType", "STANDARD", "EXPRESS", lambda s: machine(s)["type"]),
    Row(SM, "DefinitionString", machine_definition("first"), machine_definition("second"),
        lambda s: json.loads(machine(s)["definition"])["Comment"], expect=("first", "second")),
    Row(SM, "Definition", json.loads(machine_definition("first")), json.loads(machine_definition("second")),
        lambda s: json.loads(machine(s)["definition"])["Comment"], expect=("first", "second")),
    Row(SM, "DefinitionSubstitutions", {"Word": "first"}, {"Word": "second"},
        lambda s: json.loads(machine(s)["definition"])["Comment"], expect=("first", "second")),
    Row(SM, "RoleArn", get_att("Role"), get_att("Role2"), lambda s: machine(s)["roleArn"].rsplit("/", 1)[1],
        expect=lambda n: (f"{n}-role", f"{n}-role2")),
    Row(SM, "Tags", [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
        [{"Key": "a", "Value": "1b"}, {"Key": "c", "Value": "3"}], machine_tags,
        expect=({"a": "1", "b": "2"}, {"a": "1b", "c": "3"})),
    # AWS::Logs::MetricFilter (describe_metric_filters)
    Row(MF, "FilterName", lambda n: n, lambda n: f"{n}-2", lambda s: [f["filterName"] for f in metric_filters(s)],
        expect=lambda n: ([n], [f"{n}-2"]), replaced=True),
    Row(MF, "FilterPattern", '{ $.source = "aws.ecs" }', '{ $.source = "aws.batch" }',
        lambda s: [f["filterPattern"] for f in metric_filters(s)],
        expect=(['{ $.source = "aws.ecs" }'], ['{ $.source = "aws.batch" }'])),
    Row(MF, "LogGroupName", {"Ref": "Group"}, {"Ref": "Group2"}, lambda s: [f["logGroupName"] for f in metric_filters(s)],
        expect=lambda n: ([f"/{n}/a"], [f"/{n}/b"])),
    Row(MF, "MetricTransformations", [{"MetricName": "M", "MetricNamespace": "N", "MetricValue": "1"}],
        [{"MetricName": "M2", "MetricNamespace": "N", "MetricValue": "1", "Unit": "Count",
          "Dimensions": [{"Key": "Group", "Value": "$.detail.group"}]}],
        lambda s: [(t["metricName"], t.get("unit"), t.get("dimensions")) for f in metric_filters(s)
                   for t in f["metricTransformations"]],
        expect=([("M", None, {})], [("M2", "Count", {"Group": "$.detail.group"})])),
    # AWS::Scheduler::Schedule (get_schedule)
    Row(S, "Name", lambda n: n, lambda n: f"{n}-2", schedule_names,
        expect=lambda n: ([n], [f"{n}-2"]), replaced=True),
    Row(S, "GroupName", {"Ref": "Group1"}, {"Ref": "Group2"}, lambda s: schedule(s)["GroupName"],
        expect=lambda n: (f"{n}-g1", f"{n}-g2")),
    Row(S, "Description", "first", "second", lambda s: schedule(s).get("Description")),
    Row(S, "ScheduleExpression", "rate(1 hour)", "cron(0 14 ? * WED *)", lambda s: schedule(s)["ScheduleExpression"]),
    Row(S, "ScheduleExpressionTimezone", "UTC", "America/New_York",
        lambda s: schedule(s)["ScheduleExpressionTimezone"]),
    # Future dates: the Scheduler refuses a StartDate more than 5 minutes in the past.
    Row(S, "StartDate", "2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z", lambda s: schedule(s).get("StartDate"),
        expect=(utc(2031), utc(2032))),
    Row(S, "EndDate", MISSING, "2033-01-01T00:00:00Z", lambda s: schedule(s).get("EndDate"),
        expect=(None, utc(2033))),
    Row(S, "FlexibleTimeWindow", {"Mode": "OFF"}, {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        lambda s: schedule(s)["FlexibleTimeWindow"]),
    Row(S, "State", "ENABLED", "DISABLED", lambda s: schedule(s)["State"]),
    Row(S, "KmsKeyArn", MISSING, KEY, lambda s: schedule(s).get("KmsKeyArn"), expect=(None, KEY)),
    Row(S, "Target", {"Arn": get_att("Queue"), "RoleArn": get_att("Role"), "Input": "{\"run\": 1}"},
        {"Arn": get_att("Queue2"), "RoleArn": get_att("Role"), "Input": "{\"run\": 2}",
         "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}},
        lambda s: (schedule(s)["Target"]["Arn"].rsplit(":", 1)[1], schedule(s)["Target"]["Input"],
                   schedule(s)["Target"]["RetryPolicy"]),
        expect=lambda n: ((f"{n}-q", "{\"run\": 1}", {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}),
                          (f"{n}-q2", "{\"run\": 2}", {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}))),
    # AWS::Scheduler::ScheduleGroup (list_schedule_groups, list_tags_for_resource)
    Row(G, "Name", lambda n: f"{n}-g", lambda n: f"{n}-g2",
        lambda s: sorted(g["Name"] for g in s.aws("scheduler").list_schedule_groups(NamePrefix=s.n)["ScheduleGroups"]),
        expect=lambda n: ([f"{n}-g"], [f"{n}-g2"]), replaced=True),
    Row(G, "Tags", [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
        [{"Key": "a", "Value": "1b"}, {"Key": "c", "Value": "3"}], group_tags,
        expect=({"a": "1", "b": "2"}, {"a": "1b", "c": "3"})),
    # AWS::ECS::Cluster (describe_clusters, list_tags_for_resource)
    Row(C, "ClusterName", lambda n: n, lambda n: f"{n}-2",
        lambda s: {c["clusterName"]: c["status"] for c in
                   s.aws("ecs").describe_clusters(clusters=[s.n, f"{s.n}-2"])["clusters"]},
        expect=lambda n: ({n: "ACTIVE"}, {n: "INACTIVE", f"{n}-2": "ACTIVE"}), replaced=True),
    Row(C, "ClusterSettings", [{"Name": "containerInsights", "Value": "disabled"}],
        [{"Name": "containerInsights", "Value": "enabled"}], lambda s: cluster(s)["settings"],
        expect=([{"name": "containerInsights", "value": "disabled"}], [{"name": "containerInsights", "value": "enabled"}])),
    Row(C, "Configuration", {"ExecuteCommandConfiguration": {"Logging": "DEFAULT"}},
        {"ExecuteCommandConfiguration": {"Logging": "OVERRIDE", "KmsKeyId": "k",
                                         "LogConfiguration": {"CloudWatchLogGroupName": "/ecs/exec"}}},
        lambda s: cluster(s)["configuration"],
        expect=({"executeCommandConfiguration": {"logging": "DEFAULT"}},
                {"executeCommandConfiguration": {"logging": "OVERRIDE", "kmsKeyId": "k",
                                                 "logConfiguration": {"cloudWatchLogGroupName": "/ecs/exec"}}})),
    Row(C, "CapacityProviders", ["FARGATE"], ["FARGATE", "FARGATE_SPOT"], lambda s: cluster(s)["capacityProviders"]),
    Row(C, "DefaultCapacityProviderStrategy", [{"CapacityProvider": "FARGATE", "Weight": 1}],
        [{"CapacityProvider": "FARGATE_SPOT", "Weight": 2, "Base": 1}],
        lambda s: cluster(s)["defaultCapacityProviderStrategy"],
        expect=([{"capacityProvider": "FARGATE", "weight": 1}],
                [{"capacityProvider": "FARGATE_SPOT", "weight": 2, "base": 1}])),
    Row(C, "Tags", [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
        [{"Key": "a", "Value": "1b"}, {"Key": "c", "Value": "3"}], cluster_tags,
        expect=({"a": "1", "b": "2"}, {"a": "1b", "c": "3"})),
    # AWS::ECS::TaskDefinition (describe_task_definition): a new revision, the old one INACTIVE
    Row(T, "Family", lambda n: n, lambda n: f"{n}-2", lambda s: task_definition(s)["taskDefinition"]["family"],
        expect=lambda n: (n, f"{n}-2"), replaced=True),
    Row(T, "ContainerDefinitions", [CONTAINER], [{**CONTAINER, "Image": "busybox:1.37"}],
        lambda s: task_definition(s)["taskDefinition"]["containerDefinitions"][0]["image"],
        expect=("busybox:1.36", "busybox:1.37"), replaced=True),
    Row(T, "Volumes", [{"Name": "data", "Host": {"SourcePath": "/a"}}], [{"Name": "data", "Host": {"SourcePath": "/b"}}],
        lambda s: task_definition(s)["taskDefinition"]["volumes"],
        expect=([{"name": "data", "host": {"sourcePath": "/a"}}], [{"name": "data", "host": {"sourcePath": "/b"}}]),
        replaced=True),
    Row(T, "NetworkMode", "bridge", "host", lambda s: task_definition(s)["taskDefinition"]["networkMode"], replaced=True),
    Row(T, "Tags", [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
        [{"Key": "a", "Value": "1b"}, {"Key": "c", "Value": "3"}],
        lambda s: {t["key"]: t["value"] for t in task_definition(s)["tags"]},
        expect=({"a": "1", "b": "2"}, {"a": "1b", "c": "3"})),  # tags alone: the same revision
    Row(T, "PlacementConstraints", [{"Type": "memberOf", "Expression": "attribute:ecs.instance-type =~ t3.*"}],
        [{"Type": "memberOf", "Expression": "attribute:ecs.instance-type =~ m7.*"}],
        lambda s: task_definition(s)["taskDefinition"]["placementConstraints"],
        expect=([{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}],
                [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ m7.*"}]), replaced=True),
    Row(T, "RequiresCompatibilities", ["EC2"], ["EC2", "FARGATE"],
        lambda s: task_definition(s)["taskDefinition"]["requiresCompatibilities"], replaced=True),
    Row(T, "Cpu", "256", "512", lambda s: task_definition(s)["taskDefinition"]["cpu"], replaced=True),
    Row(T, "Memory", "512", "1024", lambda s: task_definition(s)["taskDefinition"]["memory"], replaced=True),
    Row(T, "TaskRoleArn", role_arn("a"), role_arn("b"),
        lambda s: task_definition(s)["taskDefinition"]["taskRoleArn"], replaced=True),
    Row(T, "ExecutionRoleArn", role_arn("a"), role_arn("b"),
        lambda s: task_definition(s)["taskDefinition"]["executionRoleArn"], replaced=True),
    Row(T, "ProxyConfiguration",
        {"Type": "APPMESH", "ContainerName": "main",
         "ProxyConfigurationProperties": [{"Name": "IgnoredUID", "Value": "1337"}]},
        {"Type": "APPMESH", "ContainerName": "main",
         "ProxyConfigurationProperties": [{"Name": "IgnoredUID", "Value": "1338"}]},
        lambda s: task_definition(s)["taskDefinition"]["proxyConfiguration"],
        expect=({"type": "APPMESH", "containerName": "main", "properties": [{"name": "IgnoredUID", "value": "1337"}]},
                {"type": "APPMESH", "containerName": "main", "properties": [{"name": "IgnoredUID", "value": "1338"}]}),
        replaced=True),
    Row(T, "InferenceAccelerators", [{"DeviceName": "d1", "DeviceType": "eia2.medium"}],
        [{"DeviceName": "d1", "DeviceType": "eia2.large"}],
        lambda s: task_definition(s)["taskDefinition"]["inferenceAccelerators"],
        expect=([{"deviceName": "d1", "deviceType": "eia2.medium"}], [{"deviceName": "d1", "deviceType": "eia2.large"}]),
        replaced=True),
    Row(T, "RuntimePlatform", {"OperatingSystemFamily": "LINUX", "CpuArchitecture": "X86_64"},
        {"OperatingSystemFamily": "LINUX", "CpuArchitecture": "ARM64"},
        lambda s: task_definition(s)["taskDefinition"]["runtimePlatform"],
        expect=({"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
                {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}), replaced=True),
    Row(T, "IpcMode", "host", "task", lambda s: task_definition(s)["taskDefinition"]["ipcMode"], replaced=True),
    Row(T, "PidMode", "host", "task", lambda s: task_definition(s)["taskDefinition"]["pidMode"], replaced=True),
    Row(T, "EphemeralStorage", {"SizeInGiB": 21}, {"SizeInGiB": 30},
        lambda s: task_definition(s)["taskDefinition"]["ephemeralStorage"],
        expect=({"sizeInGiB": 21}, {"sizeInGiB": 30}), replaced=True),
    # AWS::CloudWatch::Alarm (describe_alarms, list_tags_for_resource)
    Row(A, "AlarmName", lambda n: n, lambda n: f"{n}-2",
        lambda s: sorted(a["AlarmName"] for a in
                         s.aws("cloudwatch").describe_alarms(AlarmNamePrefix=s.n)["MetricAlarms"]),
        expect=lambda n: ([n], [f"{n}-2"]), replaced=True),
    Row(A, "AlarmDescription", "first", "second", lambda s: alarm(s).get("AlarmDescription")),
    Row(A, "Namespace", "AWS/SQS", "WeeklyModels", lambda s: alarm(s)["Namespace"]),
    Row(A, "MetricName", "ApproximateNumberOfMessagesVisible", "NumberOfMessagesSent",
        lambda s: alarm(s)["MetricName"]),
    Row(A, "Dimensions", [{"Name": "QueueName", "Value": "a"}], [{"Name": "QueueName", "Value": "b"}],
        lambda s: alarm(s)["Dimensions"]),
    Row(A, "ComparisonOperator", "GreaterThanThreshold", "LessThanThreshold", lambda s: alarm(s)["ComparisonOperator"]),
    Row(A, "EvaluationPeriods", 3, 4, lambda s: alarm(s)["EvaluationPeriods"]),
    Row(A, "DatapointsToAlarm", MISSING, 2, lambda s: alarm(s).get("DatapointsToAlarm"), expect=(None, 2)),
    Row(A, "Period", 60, 300, lambda s: alarm(s)["Period"]),
    Row(A, "Threshold", 1, 5.5, lambda s: alarm(s)["Threshold"], expect=(1.0, 5.5)),
    Row(A, "Statistic", "Sum", "Maximum", lambda s: alarm(s)["Statistic"]),
    Row(A, "ExtendedStatistic", "p90", "p99", lambda s: (alarm(s).get("Statistic"), alarm(s)["ExtendedStatistic"]),
        expect=((None, "p90"), (None, "p99"))),
    Row(A, "Unit", MISSING, "Count", lambda s: alarm(s).get("Unit"), expect=(None, "Count")),
    Row(A, "TreatMissingData", "missing", "breaching", lambda s: alarm(s)["TreatMissingData"]),
    Row(A, "EvaluateLowSampleCountPercentile", "evaluate", "ignore",
        lambda s: alarm(s)["EvaluateLowSampleCountPercentile"]),
    Row(A, "ActionsEnabled", True, False, lambda s: alarm(s)["ActionsEnabled"]),
    Row(A, "AlarmActions", [{"Ref": "Topic"}], [{"Ref": "Topic2"}], lambda s: alarm(s)["AlarmActions"],
        expect=lambda n: ([arn("sns", f"{n}-t")], [arn("sns", f"{n}-t2")])),
    Row(A, "OKActions", MISSING, [{"Ref": "Topic2"}], lambda s: alarm(s)["OKActions"],
        expect=lambda n: ([], [arn("sns", f"{n}-t2")])),
    Row(A, "InsufficientDataActions", [{"Ref": "Topic"}], [{"Ref": "Topic2"}],
        lambda s: alarm(s)["InsufficientDataActions"],
        expect=lambda n: ([arn("sns", f"{n}-t")], [arn("sns", f"{n}-t2")])),
    Row(A, "Tags", [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
        [{"Key": "a", "Value": "1b"}, {"Key": "c", "Value": "3"}], alarm_tags,
        expect=({"a": "1", "b": "2"}, {"a": "1b", "c": "3"})),
    Row(A, "Metrics", metrics("m1 * 2"), metrics("m1 * 3"),
        lambda s: [(m["Id"], m.get("Expression"), m.get("MetricStat", {}).get("Metric", {}).get("MetricName"),
                    m["ReturnData"]) for m in alarm(s)["Metrics"]],
        expect=([("m1", None, "NumberOfMessagesSent", False), ("e1", "m1 * 2", None, True)],
                [("m1", None, "NumberOfMessagesSent", False), ("e1", "m1 * 3", None, True)])),
    Row(A, "ThresholdMetricId", "ad1", "ad2", bands,
        expect=({"ThresholdMetricId": "ad1", "Metrics": ["m1", "ad1", "ad2"]},
                {"ThresholdMetricId": "ad2", "Metrics": ["m1", "ad1", "ad2"]})),
    # AWS::SNS::TopicPolicy (get_topic_attributes)
    Row(P, "PolicyDocument", policy("a", {"Ref": "Topic"}), policy("b", {"Ref": "Topic"}),
        lambda s: [x["Sid"] for x in topic_policy(s, f"{s.n}-t")["Statement"]], expect=(["a"], ["b"])),
    Row(P, "Topics", [{"Ref": "Topic"}], [{"Ref": "Topic2"}],
        lambda s: (topic_policy(s, f"{s.n}-t")["Statement"][0]["Sid"], topic_policy(s, f"{s.n}-t2")["Statement"][0]["Sid"]),
        expect=(("a", "__default_statement_ID"), ("__default_statement_ID", "a")), replaced=True),
    # AWS::S3::BucketPolicy (get_bucket_policy)
    Row("AWS::S3::BucketPolicy", "PolicyDocument", s3_policy("a"), s3_policy("b"),
        lambda s: bucket_policy_sids(s, f"{s.n}-b"), expect=(["a"], ["b"])),
    Row("AWS::S3::BucketPolicy", "Bucket", {"Ref": "Bucket"}, {"Ref": "Bucket2"},
        lambda s: (bucket_policy_sids(s, f"{s.n}-b"), bucket_policy_sids(s, f"{s.n}-b2")),
        expect=((["a"], None), (None, ["a"])), replaced=True),
    # AWS::SNS::Subscription (list_subscriptions_by_topic, get_subscription_attributes)
    Row(U, "TopicArn", {"Ref": "Topic"}, {"Ref": "Topic2"},
        lambda s: (len(subscriptions(s, "-t")), len(subscriptions(s, "-t2"))), expect=((1, 0), (0, 1)), replaced=True),
    Row(U, "Endpoint", get_att("Queue"), get_att("Queue2"), lambda s: subscriptions(s, "-t"),
        expect=lambda n: ([("sqs", arn("sqs", f"{n}-q"))], [("sqs", arn("sqs", f"{n}-q2"))]), replaced=True),
    Row(U, "Protocol", "sqs", "lambda", lambda s: subscriptions(s, "-t"),
        expect=lambda n: ([("sqs", arn("sqs", f"{n}-q"))], [("lambda", arn("sqs", f"{n}-q"))]), replaced=True),
    Row(U, "RawMessageDelivery", False, True, lambda s: subscription(s)["RawMessageDelivery"], expect=("false", "true")),
    Row(U, "FilterPolicy", MISSING, {"stopCode": ["TaskFailedToStart"]},
        lambda s: json.loads(subscription(s).get("FilterPolicy") or "null"),
        expect=(None, {"stopCode": ["TaskFailedToStart"]})),
    Row(U, "FilterPolicyScope", "MessageAttributes", "MessageBody", lambda s: subscription(s)["FilterPolicyScope"]),
    Row(U, "DeliveryPolicy", {"healthyRetryPolicy": {"numRetries": 3}}, {"healthyRetryPolicy": {"numRetries": 5}},
        lambda s: json.loads(subscription(s)["DeliveryPolicy"])),
    Row(U, "RedrivePolicy", MISSING, {"deadLetterTargetArn": get_att("Queue2")},
        lambda s: json.loads(subscription(s).get("RedrivePolicy") or "null"),
        expect=lambda n: (None, {"deadLetterTargetArn": arn("sqs", f"{n}-q2")})),
    Row(U, "SubscriptionRoleArn", role_arn("a"), role_arn("b"),
        lambda s: subscription(s)["SubscriptionRoleArn"]),
]

# What a row needs around its one property in the base stack.
EXTRA = {
    (SM, "Definition"): {"DefinitionString": MISSING},
    (SM, "DefinitionSubstitutions"): {"DefinitionString": machine_definition("${Word}")},
    (A, "ExtendedStatistic"): {"Statistic": MISSING},
    (A, "Metrics"): {"Namespace": MISSING, "MetricName": MISSING, "Statistic": MISSING, "Period": MISSING},
    (A, "ThresholdMetricId"): {
        "Namespace": MISSING, "MetricName": MISSING, "Statistic": MISSING, "Period": MISSING, "Threshold": MISSING,
        "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
        "Metrics": [{**QUERY, "ReturnData": True},
                    {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)", "ReturnData": True},
                    {"Id": "ad2", "Expression": "ANOMALY_DETECTION_BAND(m1, 3)", "ReturnData": True}]},
    (A, "EvaluateLowSampleCountPercentile"): {"Statistic": MISSING, "ExtendedStatistic": "p90"},
    (U, "FilterPolicyScope"): {"FilterPolicy": {"stopCode": ["TaskFailedToStart"]}},
}


def test_the_table_names_exactly_the_modelled_properties(modelled):
    assert set(STACKS) == set(modelled)
    for type_, props in modelled.items():
        rows = [r.prop for r in ROWS if r.type == type_]
        assert len(rows) == len(set(rows)), f"{type_}: a property has two rows"
        assert set(rows) == props, f"{type_}: rows without a property {set(rows) - props}, " \
                                   f"properties without a row {props - set(rows)}"


def _value(value: Any, n: str) -> Any:
    return value(n) if callable(value) else value


def _template(row: Row, n: str, value: Any) -> str:
    deps, props = STACKS[row.type](n)
    props = {**props, **EXTRA.get((row.type, row.prop), {}), row.prop: _value(value, n)}
    props = {k: v for k, v in props.items() if v is not MISSING}
    return json.dumps({"Resources": {**deps, "R": {"Type": row.type, "Properties": props}},
                       "Outputs": {"Ref": {"Value": {"Ref": "R"}}}})


def _stack(cfn, name: str) -> tuple[str, str]:
    s = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return s["StackStatus"], next(o["OutputValue"] for o in s["Outputs"] if o["OutputKey"] == "Ref")


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.type.split('::', 1)[1]}.{r.prop}")
def test_an_updated_property_is_applied_and_read_back(aws, row):
    n = f"upd-{row.type.rsplit('::', 1)[1].lower()}-{row.prop.lower()}"
    expect_before, expect_after = _value(row.expect, n) if row.expect else (_value(row.before, n), _value(row.after, n))
    cfn = aws("cloudformation")
    cfn.create_stack(StackName=n, TemplateBody=_template(row, n, row.before))
    try:
        status, ref = _stack(cfn, n)
        assert status == "CREATE_COMPLETE"
        assert row.read(Seen(aws, n, ref)) == expect_before
        cfn.update_stack(StackName=n, TemplateBody=_template(row, n, row.after))
        status, new_ref = _stack(cfn, n)
        assert status == "UPDATE_COMPLETE"
        assert row.read(Seen(aws, n, new_ref)) == expect_after
        assert (new_ref != ref) == row.replaced, (ref, new_ref)
        if row.type == T:  # a new revision replaces the old one, which stays INACTIVE; Tags alone keep it
            old = aws("ecs").describe_task_definition(taskDefinition=ref)["taskDefinition"]
            assert old["status"] == ("INACTIVE" if row.replaced else "ACTIVE")
            assert new_ref.endswith(":1" if row.prop in ("Family", "Tags") else ":2"), new_ref
    finally:
        cfn.delete_stack(StackName=n)


REFUSED = [  # (type, a property the emulator does not model, a value): real ones, but for the first
    (S, "ActionAfterCompletion", "DELETE"),  # a Scheduler API field, not in CloudFormation's schema
    (C, "ServiceConnectDefaults", {"Namespace": "weekly-models"}),
    (T, "EnableFaultInjection", True),
    (A, "EvaluationInterval", 60),
    (U, "ReplayPolicy", {"PointInTime": "2031-01-01T00:00:00Z"}),
]


@pytest.mark.parametrize(("type_", "prop", "value"), REFUSED, ids=[f"{t.split('::', 1)[1]}.{p}" for t, p, _ in REFUSED])
def test_an_unmodelled_property_is_refused_not_dropped(aws, modelled, type_, prop, value):
    n = f"refuse-{type_.rsplit('::', 1)[1].lower()}"
    row = Row(type_, prop, value, value, lambda s: None)
    cfn = aws("cloudformation")
    try:
        with pytest.raises(cfn.exceptions.ClientError) as refused:
            cfn.create_stack(StackName=n, TemplateBody=_template(row, n, value))
        message = refused.value.response["Error"]["Message"]
        assert message == (f"the local emulator does not model property {prop} of {type_} (it would be dropped "
                           f"silently); it models: {', '.join(sorted(modelled[type_]))}")
    finally:
        cfn.delete_stack(StackName=n)


def test_an_unmodelled_property_is_refused_on_update_too(aws):
    n = "refuse-on-update"
    row = Row(A, "Threshold", 1, 1, lambda s: None)
    cfn = aws("cloudformation")
    cfn.create_stack(StackName=n, TemplateBody=_template(row, n, 1))
    try:
        bad = json.loads(_template(row, n, 2))
        bad["Resources"]["R"]["Properties"]["EvaluationInterval"] = 60
        with pytest.raises(cfn.exceptions.ClientError, match="does not model property EvaluationInterval"):
            cfn.update_stack(StackName=n, TemplateBody=json.dumps(bad))
        assert aws("cloudwatch").describe_alarms(AlarmNames=[n])["MetricAlarms"][0]["Threshold"] == 1.0
    finally:
        cfn.delete_stack(StackName=n)


def test_an_updated_alarm_keeps_its_state(aws):
    """PutMetricAlarm on an existing alarm leaves its state alone; so does the emulator's update."""
    n = "keep-alarm-state"
    row = Row(A, "Threshold", 1, 1, lambda s: None)
    cfn = aws("cloudformation")
    cfn.create_stack(StackName=n, TemplateBody=_template(row, n, 1))
    try:
        aws("cloudwatch").set_alarm_state(AlarmName=n, StateValue="ALARM", StateReason="a test")
        cfn.update_stack(StackName=n, TemplateBody=_template(row, n, 2))
        a = aws("cloudwatch").describe_alarms(AlarmNames=[n])["MetricAlarms"][0]
        assert (a["Threshold"], a["StateValue"], a["StateReason"]) == (2.0, "ALARM", "a test")
    finally:
        cfn.delete_stack(StackName=n)


def test_a_deleted_topic_policy_gives_the_topic_the_default_policy_back(aws):
    n = "topic-policy-deleted"
    topic_arn = aws("sns").create_topic(Name=f"{n}-t")["TopicArn"]
    template = {"Resources": {"R": {"Type": P, "Properties": {"Topics": [topic_arn],
                                                              "PolicyDocument": policy("a", topic_arn)}}}}
    cfn = aws("cloudformation")
    cfn.create_stack(StackName=n, TemplateBody=json.dumps(template))
    seen = Seen(aws, n, "")
    assert topic_policy(seen, f"{n}-t")["Statement"][0]["Sid"] == "a"
    cfn.delete_stack(StackName=n)
    assert topic_policy(seen, f"{n}-t")["Statement"][0]["Sid"] == "__default_statement_ID"


def test_get_att_reads_each_types_attributes(aws):
    n = "get-att"
    deps, props = subscription_stack(n)
    schedule_deps, schedule_props = schedule_stack(n)  # its Target is the subscription's Queue
    resources = {**deps, "Role": schedule_deps["Role"], "Group1": schedule_deps["Group1"],
                 "Sub": {"Type": U, "Properties": props}, "Schedule": {"Type": S, "Properties": schedule_props},
                 "Cluster": {"Type": C, "Properties": cluster_stack(n)[1]},
                 "TaskDefinition": {"Type": T, "Properties": task_definition_stack(n)[1]},
                 "Alarm": {"Type": A, "Properties": alarm_stack(n)[1]}}
    attributes = {"Sub": "Arn", "Schedule": "Arn", "Group1": "Arn", "Cluster": "Arn",
                  "TaskDefinition": "TaskDefinitionArn", "Alarm": "Arn"}
    outputs = {logical: {"Value": get_att(logical, attribute)} for logical, attribute in attributes.items()}
    cfn = aws("cloudformation")
    cfn.create_stack(StackName=n, TemplateBody=json.dumps({"Resources": resources, "Outputs": outputs}))
    try:
        got = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=n)["Stacks"][0]["Outputs"]}
        (sub,) = aws("sns").list_subscriptions_by_topic(TopicArn=arn("sns", f"{n}-t"))["Subscriptions"]
        assert got == {
            "Sub": sub["SubscriptionArn"],
            "Schedule": aws("scheduler").get_schedule(Name=n, GroupName=f"{n}-g1")["Arn"],
            "Group1": aws("scheduler").get_schedule_group(Name=f"{n}-g1")["Arn"],
            "Cluster": aws("ecs").describe_clusters(clusters=[n])["clusters"][0]["clusterArn"],
            "TaskDefinition": aws("ecs").describe_task_definition(taskDefinition=n)["taskDefinition"]["taskDefinitionArn"],
            "Alarm": aws("cloudwatch").describe_alarms(AlarmNames=[n])["MetricAlarms"][0]["AlarmArn"],
        }
    finally:
        cfn.delete_stack(StackName=n)
    unknown = {"Resources": {"Group": schedule_deps["Group1"]},
               "Outputs": {"X": {"Value": get_att("Group", "CreationDate")}}}
    try:
        with pytest.raises(cfn.exceptions.ClientError, match="does not support attribute type CreationDate"):
            cfn.create_stack(StackName="get-att-unknown", TemplateBody=json.dumps(unknown))
    finally:
        cfn.delete_stack(StackName="get-att-unknown")


def test_an_image_bump_moves_the_schedule_to_the_new_revision(emulator, aws, tmp_path):
    """The dev configuration deployed; a copy with one model's image one tag on, launched with Sceptre."""
    deployed = make("deploy", port=emulator)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    model = a_model("dev")
    repo = repo_copy(tmp_path / "repo")
    image = bump_image(repo, model.name)
    launched = tool("sceptre", "--no-colour", "launch", "-y", f"dev/models/{model.name}.yaml", cwd=repo,
                    endpoint=f"http://127.0.0.1:{emulator}")
    assert launched.returncode == 0, launched.stdout[-3000:] + launched.stderr[-3000:]

    family = model.family
    target = aws("scheduler").get_schedule(Name=family, GroupName="weekly-models-dev")["Target"]
    revision = target["EcsParameters"]["TaskDefinitionArn"]
    assert revision.endswith(f"task-definition/{family}:2"), revision
    stack = aws("cloudformation").describe_stacks(StackName=f"weekly-models-dev-models-{model.name}")["Stacks"][0]
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["TaskDefinitionArn"] == revision
    ecs = aws("ecs")
    assert ecs.describe_task_definition(taskDefinition=revision)["taskDefinition"]["containerDefinitions"][0][
        "image"] == image
    assert ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]["status"] == "INACTIVE"
