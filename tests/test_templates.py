"""What must never regress in any rendered template, whatever the snapshots say."""

from __future__ import annotations

import json

import pytest
from conftest import ENVS, environment, models

from wm.config import checks
from wm.lint import reference

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


def model_of(path: str):
    """The model a rendered model stack ('<env>/models/<name>') deploys."""
    return environment(path.split("/")[0]).stacks[path].model


def fleet_size() -> int:
    return sum(len(models(env)) for env in ENVS)


def test_every_environment_and_stack_kind_is_rendered(templates):
    for env in ENVS:
        kinds = {p.split("/")[1] for p in templates if p.startswith(env + "/")}
        assert kinds == {"network", "iam", "cluster", "alerts", "models"} | ({"batch", "jobs"} if environment(env).jobs
                                                                           else set())


def test_no_inbound_rule_anywhere(templates):
    for path, logical, r in resources(templates):
        assert r["Type"] != "AWS::EC2::SecurityGroupIngress", f"{path}:{logical}"
        assert "SecurityGroupIngress" not in r.get("Properties", {}), f"{path}:{logical}"


def test_security_group_allows_only_https_out(templates):
    groups = list(resources(templates, "AWS::EC2::SecurityGroup"))
    assert groups
    for path, _, r in groups:
        egress = r["Properties"]["SecurityGroupEgress"]
        assert [(e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in egress] == [("tcp", 443, 443)], path


def test_no_nat_gateway_and_tasks_get_a_public_ip(templates):
    assert not list(resources(templates, "AWS::EC2::NatGateway"))
    for path, _, r in resources(templates, "AWS::Scheduler::Schedule"):
        if "EcsParameters" not in r["Properties"]["Target"]:
            continue  # the silence check starts a state machine, not a task
        net = r["Properties"]["Target"]["EcsParameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert net["AssignPublicIp"] == "ENABLED", path


def test_no_iam_star_action_and_no_bare_star_resource(templates):
    """`*` as a resource only for actions the Service Authorization Reference lists with no resource type."""
    statements = list(policy_statements(templates))
    assert statements
    for path, logical, st in statements:
        for action in as_list(st["Action"]):
            # A Deny of every action (the results bucket's TLS-only policy) grants nothing.
            assert "*" not in action or st.get("Effect") == "Deny", f"{path}:{logical}: action {action}"
        if "*" in as_list(st.get("Resource", [])):
            scoped = [a for a in as_list(st["Action"]) if not reference.action(a).unscoped]
            assert not scoped, f"{path}:{logical}: {scoped} can be scoped to a resource, yet get '*'"


def test_no_aws_managed_policies(templates):
    for path, logical, r in resources(templates):
        assert "ManagedPolicyArns" not in r.get("Properties", {}), f"{path}:{logical}"
        assert ":iam::aws:policy/" not in json.dumps(r), f"{path}:{logical}"


def test_pass_role_is_conditioned_and_scoped(templates):
    passes = [(p, lg, st) for p, lg, st in policy_statements(templates) if "iam:PassRole" in as_list(st["Action"])]
    assert len(passes) == len(ENVS)  # one scheduler role per environment
    for path, _, st in passes:
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
    assert len(containers) == fleet_size()  # one per model and environment
    for path, c in containers:
        log = c["LogConfiguration"]
        assert log["LogDriver"] == "awslogs", path
        assert log["Options"]["mode"] == "non-blocking" and log["Options"]["awslogs-group"] == "!Ref LogGroup"


def test_task_definitions_are_fargate_linux_x86(templates):
    for path, _, r in resources(templates, "AWS::ECS::TaskDefinition"):
        p = r["Properties"]
        assert p["RequiresCompatibilities"] == ["FARGATE"] and p["NetworkMode"] == "awsvpc"
        assert p["RuntimePlatform"] == {"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"}
        assert checks.fargate_size(int(p["Cpu"]), int(p["Memory"])) is None, path


def test_prod_has_no_dry_run_and_dev_has_it(templates):
    for path, _, r in resources(templates, "AWS::ECS::TaskDefinition"):
        names = {e["Name"] for c in r["Properties"]["ContainerDefinitions"] for e in c.get("Environment", [])}
        assert ("DRY_RUN" in names) == path.startswith("dev/"), path


def test_secrets_only_as_secrets_entries_from_the_environments_parameter_store(templates):
    for path, _, r in resources(templates, "AWS::ECS::TaskDefinition"):
        env = path.split("/")[0]
        for c in r["Properties"]["ContainerDefinitions"]:
            plain = {e["Name"] for e in c.get("Environment", [])}
            assert not [n for n in plain if checks.looks_secret(n)], path
            secrets = {s["Name"]: s["ValueFrom"] for s in c["Secrets"]}
            assert secrets and set(secrets) == set(model_of(path).secrets), path
            for name, ref in secrets.items():
                assert str(ref).endswith(f":parameter/weekly-models/{env}/{name}"), ref


def test_the_stateful_resources_are_there_to_check(templates):
    kinds = [r["Type"] for _, _, r in resources(templates) if r["Type"] in STATEFUL]
    assert kinds.count("AWS::SQS::Queue") == fleet_size()  # a dead-letter queue per model
    batches = sum(1 for env in ENVS if "batch" in environment(env).stack_kinds)
    # and a run history per environment, and the jobs' log group where there is a batch stack
    assert kinds.count("AWS::Logs::LogGroup") == fleet_size() + len(ENVS) + batches


@pytest.mark.parametrize("kind", sorted(STATEFUL))
def test_every_stateful_resource_has_explicit_deletion_policies(templates, kind):
    for path, logical, r in resources(templates, kind):
        env = path.split("/")[0]
        expected = "Delete" if env == "dev" else "Retain"
        assert r.get("DeletionPolicy") == expected, f"{path}:{logical}"
        assert r.get("UpdateReplacePolicy") == expected, f"{path}:{logical}"


def test_log_retention_and_queue_encryption_are_explicit(templates):
    for path, _, r in resources(templates, "AWS::Logs::LogGroup"):
        assert checks.log_retention(r["Properties"]["RetentionInDays"]) is None, path
    for path, _, r in resources(templates, "AWS::SQS::Queue"):
        assert r["Properties"]["SqsManagedSseEnabled"] is True, path


def test_schedules_enabled_in_prod_disabled_in_dev(templates):
    assert environment("prod").settings.schedule_state == "ENABLED"
    assert environment("dev").settings.schedule_state == "DISABLED"
    for path, logical, r in resources(templates, "AWS::Scheduler::Schedule"):
        m = model_of(path)
        # prod runs what its configuration and the model's season say; dev never runs on a schedule
        assert r["Properties"]["State"] == (m.state if path.startswith("prod/") else "DISABLED"), path
        assert r["Properties"]["ScheduleExpressionTimezone"] == m.schedule.timezone, path
        if logical == "Schedule":
            assert r["Properties"]["Target"]["DeadLetterConfig"]["Arn"] == "!GetAtt DeadLetterQueue.Arn"


def test_every_resource_says_why_it_exists(templates):
    for path, logical, r in resources(templates):
        assert r.get("Metadata", {}).get("WeeklyModels", {}).get("Why"), f"{path}:{logical}"


def test_checkov_suppressions_carry_a_reason(templates):
    for path, logical, r in resources(templates):
        for skip in r.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 20, f"{path}:{logical}: {skip}"


# Confused-deputy conditions in trust policies only where the service documents that it sets
# aws:SourceArn and aws:SourceAccount; elsewhere an unset key would deny every AssumeRole.
TRUST_CONDITIONS = {
    "scheduler.amazonaws.com": True,   # Scheduler user guide, cross-service confused deputy prevention
    "states.amazonaws.com": True,      # Step Functions developer guide, creating an IAM role for a state machine
    "ecs-tasks.amazonaws.com": None,   # task roles yes (ECS task IAM role page), execution role no (its page)
    "events.amazonaws.com": False,     # EventBridge's target-role trust names only the principal
    "chatbot.amazonaws.com": False,    # Chatbot documents no source keys for its channel role
}


def test_trust_policies_carry_source_conditions_only_where_documented(templates):
    seen = set()
    for path, logical, r in resources(templates, "AWS::IAM::Role"):
        (st,) = r["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        (service,) = st["Principal"]["Service"]
        seen.add(service)
        expected = TRUST_CONDITIONS[service]
        if expected is None:  # ecs-tasks: the task role has them, the execution role does not
            expected = logical in ("TaskRole", "JobRole")
        assert ("Condition" in st) == expected, f"{path}:{logical}"
        if expected:
            assert set(st["Condition"]) == {"StringEquals", "ArnLike"}, f"{path}:{logical}"
    assert seen <= set(TRUST_CONDITIONS)


def test_no_parameter_is_checked_with_the_callers_credentials(templates):
    """AWS-specific parameter types (AWS::EC2::Subnet::Id, ...) are validated against the account with the
    caller's credentials; the GitHub plan role has no ec2:Describe*, so the templates use plain types."""
    for path, t in templates.items():
        for name, p in t.get("Parameters", {}).items():
            assert "AWS::" not in p["Type"], f"{path}: parameter {name} is {p['Type']}"


def test_run_history_policy_conditions_only_put_log_events(templates):
    """EventBridge creates the log stream without the rule in the request context."""
    for env in ENVS:
        doc = json.loads(templates[f"{env}/alerts"]["Resources"]["RunHistoryLogPolicy"]["Properties"][
            "PolicyDocument"].removeprefix("!Sub "))
        by_action = {a: st for st in doc["Statement"] for a in as_list(st["Action"])}
        assert "Condition" not in by_action["logs:CreateLogStream"]
        assert "aws:SourceArn" in by_action["logs:PutLogEvents"]["Condition"]["ArnLike"]


def test_every_model_schedule_has_a_silence_check(templates):
    for path, t in templates.items():
        if "/models/" in path:
            kinds = [r["Properties"]["Target"]["Arn"] for r in t["Resources"].values()
                     if r["Type"] == "AWS::Scheduler::Schedule"]
            assert sorted(kinds) == ["!Ref ClusterArn", "!Ref SilenceCheckArn"], path
