"""What must never regress in any rendered template, whatever the snapshots say."""

from __future__ import annotations

import json

import pytest

from conftest import ENVS
from generators import rules

STATEFUL = {"AWS::Logs::LogGroup", "AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::SSM::Parameter",
            "AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::EFS::FileSystem"}


def resources(templates, kind=None):
    for path, t in templates.items():
        for logical, r in t.get("Resources", {}).items():
            if kind is None or r["Type"] == kind:
                yield path, logical, r


def policy_statements(templates):
    """Every statement of every IAM policy (inline, assume-role, standalone) in every template."""
    for path, logical, r in resources(templates):
        props = r.get("Properties", {})
        docs = [props.get("AssumeRolePolicyDocument"), props.get("PolicyDocument")]
        docs += [p["PolicyDocument"] for p in props.get("Policies", [])]
        for doc in filter(None, docs):
            if isinstance(doc, str):  # a resource policy given as JSON text (AWS::Logs::ResourcePolicy)
                doc = json.loads(doc.removeprefix("!Sub "))
            for st in doc["Statement"]:
                yield path, logical, st


def as_list(v):
    return v if isinstance(v, list) else [v]


def test_every_environment_and_stack_kind_is_rendered(templates):
    for env in ENVS:
        kinds = {p.split("/")[1] for p in templates if p.startswith(env + "/")}
        assert kinds == {"network", "iam", "cluster", "alerts", "models"}


def test_no_inbound_rule_anywhere(templates):
    for path, logical, r in resources(templates):
        assert r["Type"] != "AWS::EC2::SecurityGroupIngress", f"{path}:{logical}"
        assert "SecurityGroupIngress" not in r.get("Properties", {}), f"{path}:{logical}"


def test_security_group_allows_only_https_out(templates):
    groups = list(resources(templates, "AWS::EC2::SecurityGroup"))
    assert groups
    for path, logical, r in groups:
        egress = r["Properties"]["SecurityGroupEgress"]
        assert [(e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in egress] == [("tcp", 443, 443)], path


def test_no_nat_gateway_and_tasks_get_a_public_ip(templates):
    assert not list(resources(templates, "AWS::EC2::NatGateway"))
    for path, logical, r in resources(templates, "AWS::Scheduler::Schedule"):
        net = r["Properties"]["Target"]["EcsParameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert net["AssignPublicIp"] == "ENABLED", path


def test_no_iam_star_action_and_no_bare_star_resource(templates):
    statements = list(policy_statements(templates))
    assert statements
    for path, logical, st in statements:
        for action in as_list(st["Action"]):
            assert "*" not in action, f"{path}:{logical}: action {action}"
        for resource in as_list(st.get("Resource", [])):
            assert resource != "*", f"{path}:{logical}: unscoped resource"


def test_no_aws_managed_policies(templates):
    for path, logical, r in resources(templates):
        assert "ManagedPolicyArns" not in r.get("Properties", {}), f"{path}:{logical}"
        assert ":iam::aws:policy/" not in json.dumps(r), f"{path}:{logical}"


def test_pass_role_is_conditioned_and_scoped(templates):
    passes = [(p, lg, st) for p, lg, st in policy_statements(templates) if "iam:PassRole" in as_list(st["Action"])]
    assert len(passes) == len(ENVS)  # one scheduler role per environment
    for path, logical, st in passes:
        assert st["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}, path
        env = path.split("/")[0]
        for resource in as_list(st["Resource"]):
            text = str(resource)
            assert "TaskExecutionRole.Arn" in text or f"role/weekly-models/{env}/tasks/" in text, text


def test_run_task_is_limited_to_the_environment_and_its_cluster(templates):
    runs = [(p, st) for p, _, st in policy_statements(templates) if "ecs:RunTask" in as_list(st["Action"])]
    assert len(runs) == len(ENVS)
    for path, st in runs:
        env = path.split("/")[0]
        assert st["Condition"] == {"ArnEquals": {"ecs:cluster": "!Ref ClusterArn"}}, path
        assert all(f"task-definition/weekly-models-{env}-" in str(r) for r in as_list(st["Resource"])), path


def test_every_container_logs_with_awslogs_non_blocking(templates):
    containers = [(p, c) for p, _, r in resources(templates, "AWS::ECS::TaskDefinition")
                  for c in r["Properties"]["ContainerDefinitions"]]
    assert len(containers) == 10  # five models, two environments
    for path, c in containers:
        log = c["LogConfiguration"]
        assert log["LogDriver"] == "awslogs", path
        assert log["Options"]["mode"] == "non-blocking" and log["Options"]["awslogs-group"] == "!Ref LogGroup"


def test_task_definitions_are_fargate_linux_x86(templates):
    for path, _, r in resources(templates, "AWS::ECS::TaskDefinition"):
        p = r["Properties"]
        assert p["RequiresCompatibilities"] == ["FARGATE"] and p["NetworkMode"] == "awsvpc"
        assert p["RuntimePlatform"] == {"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"}
        assert rules.fargate_size(int(p["Cpu"]), int(p["Memory"])) is None, path


def test_prod_has_no_dry_run_and_dev_has_it(templates):
    for path, _, r in resources(templates, "AWS::ECS::TaskDefinition"):
        names = {e["Name"] for c in r["Properties"]["ContainerDefinitions"] for e in c.get("Environment", [])}
        assert ("DRY_RUN" in names) == path.startswith("dev/"), path


def test_secrets_only_as_secrets_entries_from_the_environments_parameter_store(templates):
    for path, _, r in resources(templates, "AWS::ECS::TaskDefinition"):
        env = path.split("/")[0]
        for c in r["Properties"]["ContainerDefinitions"]:
            plain = {e["Name"] for e in c.get("Environment", [])}
            assert not [n for n in plain if rules.looks_secret(n)], path
            secrets = {s["Name"]: s["ValueFrom"] for s in c["Secrets"]}
            assert set(secrets) == {"SLACK_API_TOKEN", "GIT_CREDENTIALS", "GH_TOKEN"}
            for name, ref in secrets.items():
                assert str(ref).endswith(f":parameter/weekly-models/{env}/{name}"), ref


def test_the_stateful_resources_are_there_to_check(templates):
    kinds = [r["Type"] for _, _, r in resources(templates) if r["Type"] in STATEFUL]
    assert kinds.count("AWS::SQS::Queue") == 10
    assert kinds.count("AWS::Logs::LogGroup") == 12  # five models and the run history, two environments


@pytest.mark.parametrize("kind", sorted(STATEFUL))
def test_every_stateful_resource_has_explicit_deletion_policies(templates, kind):
    for path, logical, r in resources(templates, kind):
        env = path.split("/")[0]
        expected = "Delete" if env == "dev" else "Retain"
        assert r.get("DeletionPolicy") == expected, f"{path}:{logical}"
        assert r.get("UpdateReplacePolicy") == expected, f"{path}:{logical}"


def test_log_retention_and_queue_encryption_are_explicit(templates):
    for path, _, r in resources(templates, "AWS::Logs::LogGroup"):
        assert rules.log_retention(r["Properties"]["RetentionInDays"]) is None, path
    for path, _, r in resources(templates, "AWS::SQS::Queue"):
        assert r["Properties"]["SqsManagedSseEnabled"] is True, path


def test_schedules_enabled_in_prod_disabled_in_dev(templates):
    for path, _, r in resources(templates, "AWS::Scheduler::Schedule"):
        assert r["Properties"]["State"] == ("ENABLED" if path.startswith("prod/") else "DISABLED"), path
        assert r["Properties"]["ScheduleExpressionTimezone"] == "America/New_York"
        assert r["Properties"]["Target"]["DeadLetterConfig"]["Arn"] == "!GetAtt DeadLetterQueue.Arn"


def test_every_resource_says_why_it_exists(templates):
    for path, logical, r in resources(templates):
        assert r.get("Metadata", {}).get("WeeklyModels", {}).get("Why"), f"{path}:{logical}"


def test_checkov_suppressions_carry_a_reason(templates):
    for path, logical, r in resources(templates):
        for skip in r.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 20, f"{path}:{logical}: {skip}"
