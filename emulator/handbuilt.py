"""Recreate the hand-built setup (handbuilt.yaml, from ../shared/FACTS.md) in the local emulator.

Run by `make emulator-handbuilt` with the emulator's environment (AWS_ENDPOINT_URL set): the
cluster, the shared execution role, one task definition per model reading its environment from
`s3://weekly-models/<model_dir>.env`, those files with rehearsal tokens, one schedule per model
in the `default` group, the security group open to SSH from anywhere, the `/ecs/<family>` log
groups, and another lab task that shares the cluster and the role. Idempotent: what exists is
left as it is, so a second run changes nothing (and never undoes a rehearsed step).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import boto3
import yaml
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"


def client(service: str):
    return boto3.client(service, region_name=REGION, endpoint_url=os.environ["AWS_ENDPOINT_URL"])


def family(model_dir: str) -> str:
    return f"{model_dir.replace('_', '-')}-model"


def _exists(call) -> bool:
    try:
        call()
        return True
    except ClientError as err:
        if err.response["Error"]["Code"] in ("NoSuchEntity", "ResourceNotFoundException", "ParameterNotFound"):
            return False
        raise


def seed(facts: dict, env: str, say=print) -> None:
    iam, ecs, s3, ec2 = client("iam"), client("ecs"), client("s3"), client("ec2")
    scheduler, logs, ssm = client("scheduler"), client("logs"), client("ssm")
    account = client("sts").get_caller_identity()["Account"]
    made = []

    cluster_arn = ecs.create_cluster(clusterName=facts["cluster"])["cluster"]["clusterArn"]  # idempotent in ECS
    roles = {}
    # moto has no AWS managed policies: the execution role gets what AmazonECSTaskExecutionRolePolicy
    # grants, and the .env files, inline.
    execution = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Resource": "*", "Action": ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
                                                        "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
                                                        "logs:CreateLogStream", "logs:PutLogEvents"]},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{facts['bucket']}/*"}]}
    run_task = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:RunTask", "iam:PassRole"], "Resource": "*"}]}
    for name, service, policy in ((facts["execution_role"], "ecs-tasks.amazonaws.com", execution),
                                  (facts["scheduler_role"], "scheduler.amazonaws.com", run_task)):
        if not _exists(lambda name=name: iam.get_role(RoleName=name)):
            trust = {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
            iam.put_role_policy(RoleName=name, PolicyName="made-in-the-console", PolicyDocument=json.dumps(policy))
            made.append(f"IAM role {name}")
        roles[name] = iam.get_role(RoleName=name)["Role"]["Arn"]

    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
    sg_name = facts["security_group"]["name"]
    found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [sg_name]}])["SecurityGroups"]
    if found:
        sg = found[0]["GroupId"]
    else:
        sg = ec2.create_security_group(GroupName=sg_name, Description="hand-built: SSH open", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
            "IpRanges": [{"CidrIp": facts["security_group"]["ssh_from"]}]}])
        made.append(f"security group {sg} ({sg_name}) with SSH open to {facts['security_group']['ssh_from']}")

    bucket = facts["bucket"]
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    for model_dir, m in facts["models"].items():
        fam = family(model_dir)
        key = f"{model_dir}.env"
        present = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0) > 0
        if not m.get("planted_env_file_missing") and not present:
            lines = [f"{k}={v}" for k, v in {**facts["variables"], **m["variables"], **facts["secrets"],
                                               **m.get("planted_variables", {})}.items()]
            s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(lines) + "\n").encode())
            made.append(f"s3://{bucket}/{key}")
        if not ecs.list_task_definitions(familyPrefix=fam, status="ACTIVE")["taskDefinitionArns"]:
            arn = _task_definition(ecs, fam, m["image"], facts, roles[facts["execution_role"]],
                                   [{"value": f"arn:aws:s3:::{bucket}/{key}", "type": "s3"}])
            made.append(f"task definition {arn.rsplit('/', 1)[-1]}")
        group = f"/ecs/{fam}"
        if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            logs.create_log_group(logGroupName=group)
        schedule = m.get("planted_schedule", facts["schedule"])
        if not _exists(lambda fam=fam: scheduler.get_schedule(Name=fam, GroupName="default")):
            _schedule(scheduler, fam, schedule["expression"], schedule["timezone"], cluster_arn,
                      f"arn:aws:ecs:{REGION}:{account}:task-definition/{fam}", roles[facts["scheduler_role"]], subnets, sg)
            made.append(f"schedule default/{fam} ({schedule['expression']} {schedule['timezone']})")

    other = facts["other_lab_task"]
    if not ecs.list_task_definitions(familyPrefix=other["family"], status="ACTIVE")["taskDefinitionArns"]:
        _task_definition(ecs, other["family"], other["image"], facts, roles[facts["execution_role"]], [])
        _schedule(scheduler, other["family"], other["schedule"], "UTC", cluster_arn,
                  f"arn:aws:ecs:{REGION}:{account}:task-definition/{other['family']}",
                  roles[facts["scheduler_role"]], subnets, sg)
        made.append(f"another lab task {other['family']} in the same cluster, with the same roles")

    for name, value in facts.get("planted_parameters", {}).items():
        parameter = f"/weekly-models/{env}/{name}"
        if not _exists(lambda parameter=parameter: ssm.get_parameter(Name=parameter)):
            ssm.put_parameter(Name=parameter, Value=value, Type="SecureString")
            made.append(f"Parameter Store {parameter} (a rotated token, as if stored with make secret)")
    say("the hand-built setup is in the emulator" + (": made " + "; ".join(made) if made else " already (nothing to do)"))


def _task_definition(ecs, fam: str, image: str, facts: dict, role: str, files: list[dict]) -> str:
    container = {"name": f"{fam}-container", "image": image, "essential": True, "memory": int(facts["task"]["memory"]),
                 "environmentFiles": files,
                 "logConfiguration": {"logDriver": "awslogs", "options": {
                     "awslogs-group": f"/ecs/{fam}", "awslogs-region": REGION, "awslogs-stream-prefix": "ecs",
                     "mode": "non-blocking", "max-buffer-size": "25m"}}}
    return ecs.register_task_definition(
        family=fam, cpu=facts["task"]["cpu"], memory=facts["task"]["memory"], networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"], executionRoleArn=role,
        runtimePlatform={"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
        containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]


def _schedule(scheduler, name: str, expression: str, timezone: str, cluster: str, task_definition: str, role: str,
              subnets: list[str], sg: str) -> None:
    # FACTS: "always pointing at the latest task definition revision": the family ARN, no revision.
    scheduler.create_schedule(
        Name=name, GroupName="default", ScheduleExpression=expression, ScheduleExpressionTimezone=timezone,
        FlexibleTimeWindow={"Mode": "OFF"}, State="ENABLED", Description=f"{name} (made in the console)",
        Target={"Arn": cluster, "RoleArn": role, "EcsParameters": {
            "TaskDefinitionArn": task_definition, "LaunchType": "FARGATE", "TaskCount": 1,
            "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": subnets, "SecurityGroups": [sg],
                                                             "AssignPublicIp": "ENABLED"}}}})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="dev", help="the configuration whose Parameter Store names are planted")
    args = parser.parse_args()
    if not os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://127.0.0.1"):
        print("error: this recreates the hand-built setup in the local emulator only (AWS_ENDPOINT_URL); "
              "run it as make emulator-handbuilt", file=sys.stderr)
        return 2
    seed(yaml.safe_load((HERE / "handbuilt.yaml").read_text()), args.env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
