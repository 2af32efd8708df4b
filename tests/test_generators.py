"""Generator behaviour the real models do not exercise: existing VPC, Spot, season dates,
task roles. Each builds from a stack resolved from its sceptre_user_data, as Sceptre's entry points do."""

from __future__ import annotations

import datetime as dt

from conftest import a_model, stack_for

from generators import build, render
from wm.config.yaml import read_template

MODEL = {"image": a_model().image, "variables": {"MODEL_NAME": "UMass-AR2"}}  # any pinned image of the fleet


def template(stack: str, environment=None, model=None, now=None) -> dict:
    data = {"project": {}, "environment": environment or {}}
    if model is not None:
        data["model"] = model
    return read_template(render(stack_for(stack, data, now=now)))


def test_existing_vpc_creates_only_the_security_group():
    t = template("prod/network", {"network": {"existing_vpc_id": "vpc-0abc12345",
                                              "existing_subnet_ids": ["subnet-0aaa1111", "subnet-0bbb2222"]}})
    assert [r["Type"] for r in t["Resources"].values()] == ["AWS::EC2::SecurityGroup"]
    assert t["Resources"]["TaskSecurityGroup"]["Properties"]["VpcId"] == "vpc-0abc12345"
    stack = stack_for("prod/network", {"project": {}, "environment": {"network": {
        "existing_vpc_id": "vpc-0abc12345", "existing_subnet_ids": ["subnet-0aaa1111", "subnet-0bbb2222"]}}})
    outputs = build(stack).to_dict()["Outputs"]
    assert outputs["SubnetIds"]["Value"] == {"Fn::Join": [",", ["subnet-0aaa1111", "subnet-0bbb2222"]]}
    assert outputs["VpcId"]["Value"] == "vpc-0abc12345"


def test_new_vpc_has_two_public_subnets_in_two_zones_and_no_nat():
    t = template("dev/network")
    subnets = [r for r in t["Resources"].values() if r["Type"] == "AWS::EC2::Subnet"]
    assert len(subnets) == 2
    assert {s["Properties"]["CidrBlock"] for s in subnets} == {"10.20.0.0/24", "10.20.1.0/24"}
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)
    assert not [r for r in t["Resources"].values() if r["Type"] == "AWS::EC2::NatGateway"]


def test_configured_cluster_name_is_used():
    t = template("dev/cluster", {"cluster_name": "lab-cluster"})
    assert t["Resources"]["Cluster"]["Properties"]["ClusterName"] == "lab-cluster"


def test_spot_uses_a_capacity_provider_strategy_instead_of_a_launch_type():
    t = template("dev/models/flu-ar2", model={**MODEL, "capacity": "FARGATE_SPOT"})
    ecs = t["Resources"]["Schedule"]["Properties"]["Target"]["EcsParameters"]
    assert "LaunchType" not in ecs
    assert ecs["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]


def test_season_dates_are_local_midnights_in_utc():
    before_the_season = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    t = template("dev/models/flu-ar2", model={**MODEL, "schedule": {
        "start_date": "2026-10-01", "end_date": "2027-01-31", "flexible_window_minutes": None}},
        now=before_the_season)
    p = t["Resources"]["Schedule"]["Properties"]
    assert p["StartDate"] == "2026-10-01T04:00:00Z"  # EDT, UTC-4
    assert p["EndDate"] == "2027-02-01T05:00:00Z"    # end of Jan 31 EST, UTC-5
    assert p["FlexibleTimeWindow"] == {"Mode": "OFF"}


def test_override_changes_one_model_in_one_environment():
    env = {"model_overrides": {"flu-ar2": {"memory": 4096, "schedule_state": "ENABLED",
                                           "variables": {"MAIN_PY_ARGS": "--short_run"}}}}
    t = template("dev/models/flu-ar2", env, MODEL)
    td = t["Resources"]["TaskDefinition"]["Properties"]
    assert td["Memory"] == "4096"
    assert {"Name": "MAIN_PY_ARGS", "Value": "--short_run"} in td["ContainerDefinitions"][0]["Environment"]
    assert t["Resources"]["Schedule"]["Properties"]["State"] == "ENABLED"


def test_task_role_only_when_asked_for_and_where_passrole_reaches_it():
    plain = template("dev/models/flu-ar2", model=MODEL)
    assert "TaskRole" not in plain["Resources"]
    assert "TaskRoleArn" not in plain["Resources"]["TaskDefinition"]["Properties"]
    asked = template("dev/models/flu-ar2", model={**MODEL, "task_permissions": [
        {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::lab-data/*"]}]})
    role = asked["Resources"]["TaskRole"]["Properties"]
    assert role["Path"] == "/weekly-models/dev/tasks/"  # the path the scheduler's PassRole names
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["s3:GetObject"] and statement["Resource"] == ["arn:aws:s3:::lab-data/*"]
    assert asked["Resources"]["TaskDefinition"]["Properties"]["TaskRoleArn"] == "!GetAtt TaskRole.Arn"


def test_kms_decrypt_only_with_a_customer_managed_key():
    def statements(t):
        return t["Resources"]["TaskExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]

    assert "DecryptSecrets" not in {s["Sid"] for s in statements(template("dev/iam"))}
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    (decrypt,) = [s for s in statements(template("dev/iam", {"secrets_kms_key_arn": key}))
                  if s["Sid"] == "DecryptSecrets"]
    assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Resource"] == [key]
    assert "kms:ViaService" in decrypt["Condition"]["StringEquals"]


def test_slack_delivery_is_off_by_default_and_powerless_when_on():
    assert "SlackChannel" not in template("prod/alerts")["Resources"]
    r = template("prod/alerts", {"alerts": {"slack": {"workspace_id": "T0123ABCD", "channel_id": "C02UELXDPQQ"}}})
    r = r["Resources"]
    assert r["SlackChannel"]["Properties"]["GuardrailPolicies"] == ["!Ref ChatbotGuardrail"]
    assert "Policies" not in r["ChatbotRole"]["Properties"] and "ManagedPolicyArns" not in r["ChatbotRole"]["Properties"]
    (st,) = r["ChatbotGuardrail"]["Properties"]["PolicyDocument"]["Statement"]
    assert st["Action"] == ["cloudwatch:DescribeAlarms"] and "alarm:weekly-models-prod-*" in str(st["Resource"])


def test_email_subscriptions_have_stable_ids():
    one = template("dev/alerts", {"alerts": {"emails": ["a@lab.org"]}})["Resources"]
    two = template("dev/alerts", {"alerts": {"emails": ["b@lab.org", "a@lab.org"]}})["Resources"]
    ids = lambda r: {k for k, v in r.items() if v["Type"] == "AWS::SNS::Subscription"}  # noqa: E731
    assert ids(one) < ids(two) and len(ids(two)) == 2
