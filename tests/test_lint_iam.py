"""`make lint`'s IAM checks: the service role against the handlers' declared permissions, and parliament.

Each check is shown to pass on the repository and to fail on the mistake it exists for:
a permission removed, the Logs tagging ARN written with ":*", a grant no handler needs,
a policy over IAM's size quota, a misspelt action, the run-history policy's old condition.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess

import pytest
import yaml
from conftest import ROOT, environment

from generators import build
from wm.config.yaml import read_template
from wm.lint import iam, permissions, policies
from wm.lint.concrete import Environment, Unresolvable
from wm.lint.policy import Request, allowed


@pytest.fixture(scope="module")
def environments() -> list[Environment]:
    return [iam.environment(root, env) for root, env in iam.SOURCES]


@pytest.fixture(scope="module")
def role():
    return iam.service_role()


def check(role, environments):
    return permissions.check(role, environments, "us-east-1")


def without(role, action: str, resource_contains: str | None = None):
    """The service role with `action` taken out (of the statements naming `resource_contains`)."""
    changed = copy.deepcopy(role)
    for policy in changed.properties["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            if resource_contains is None or any(resource_contains in r for r in st["Resource"]):
                st["Action"] = [a for a in st["Action"] if a != action]
    return changed


def test_the_repository_passes_every_iam_check():
    lines = []
    assert iam.main(out=lines.append) == 0, "\n".join(lines)
    assert len(lines) == 1 and lines[0].endswith(": 0 findings")


def test_the_check_covers_every_resource_type_the_generators_make(environments):
    kinds = {r.type for e in environments for r in e.resources()}
    # The maximal fixture brings the optional ones: Slack, email subscriptions, a task role.
    assert {"AWS::Chatbot::SlackChannelConfiguration", "AWS::SNS::Subscription", "AWS::IAM::ManagedPolicy",
            "AWS::StepFunctions::StateMachine", "AWS::Logs::MetricFilter"} <= kinds
    assert sum(1 for e in environments for r in e.resources() if r.logical == "TaskRole") >= 1
    # And an EC2 job's capacity: its compute environments, launch template and instance profile.
    assert {"AWS::EC2::LaunchTemplate", "AWS::IAM::InstanceProfile"} <= kinds
    assert any(r.type == "AWS::Batch::ComputeEnvironment" and r.properties["ComputeResources"]["Type"] == "SPOT"
               for e in environments for r in e.resources())


@pytest.mark.parametrize("action,where", [
    ("logs:TagResource", None), ("events:ListTargetsByRule", None), ("iam:ListRolePolicies", None),
    ("iam:ListAttachedRolePolicies", None), ("sqs:GetQueueUrl", None), ("sqs:ListQueueTags", None),
    ("ec2:DescribeVpcAttribute", None), ("cloudwatch:ListTagsForResource", None),
    ("iam:CreateServiceLinkedRole", None), ("iam:PassRole", None), ("states:CreateStateMachine", None),
    ("iam:AddRoleToInstanceProfile", None), ("ec2:CreateLaunchTemplate", None), ("ec2:DescribeLaunchTemplates", None),
])
def test_a_permission_taken_out_of_the_service_role_fails_the_check(role, environments, action, where):
    findings = [str(f) for f in check(without(role, action, where), environments).findings]
    assert any(f"calls {action} on" in f for f in findings), action


def test_the_logs_tagging_arn_with_a_trailing_star_fails(role, environments):
    """The mistake that would have failed every prod model stack: log-group:/ecs/weekly-models-*:*."""
    changed = copy.deepcopy(role)
    for policy in changed.properties["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            if st.get("Sid") == "LogGroups":
                st["Resource"] = [r + ":*" for r in st["Resource"]]
    findings = [str(f) for f in check(changed, environments).findings]
    assert any("calls logs:TagResource on arn:aws:logs:us-east-1:123456789012:log-group:/ecs/" in f
               for f in findings)
    assert not any("calls logs:CreateLogGroup" in f for f in findings)  # the ":*" form is right for the rest


def test_pass_role_only_towards_the_services_that_use_the_roles(role, environments):
    changed = copy.deepcopy(role)
    for policy in changed.properties["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            if st.get("Sid") == "PassRolesToTheirServices":
                st["Condition"]["StringEquals"]["iam:PassedToService"] = ["ecs-tasks.amazonaws.com"]
    findings = [str(f) for f in check(changed, environments).findings]
    assert any("iam:PassRole" in f and "iam:PassedToService=scheduler.amazonaws.com" in f for f in findings)


def test_an_ec2_compute_environment_passes_its_instance_role_to_ec2_only(role, environments):
    """The compute environment's instance profile carries the role of its name; passing that role to
    EC2 is what creating the compute environment asks of the service role, and only the statement for
    the Batch instance roles allows it (no other role of the project may go to EC2)."""
    changed = copy.deepcopy(role)
    for policy in changed.properties["Policies"]:
        statements = policy["PolicyDocument"]["Statement"]
        for st in statements:
            if st.get("Sid") == "PassRolesToTheirServices":
                assert "ec2.amazonaws.com" not in st["Condition"]["StringEquals"]["iam:PassedToService"]
        policy["PolicyDocument"]["Statement"] = [st for st in statements
                                                 if st.get("Sid") != "PutInstanceRolesInTheirProfiles"]
    findings = [str(f) for f in check(changed, environments).findings]
    assert any("(AWS::Batch::ComputeEnvironment)" in f and "Iam:PassRole on arn:aws:iam::123456789012:role/"
               "weekly-models-dev-batch-instance, iam:PassedToService=ec2.amazonaws.com" in f for f in findings), findings
    assert any("(AWS::IAM::InstanceProfile)" in f and "iam:PassRole" in f for f in findings)


def test_a_grant_no_handler_needs_fails(role, environments):
    changed = copy.deepcopy(role)
    changed.properties["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"].append("iam:CreateUser")
    findings = [str(f) for f in check(changed, environments).findings]
    assert findings == ["account/deployer:CloudFormationServiceRole: grants iam:CreateUser, which no handler "
                        "of any rendered resource needs: remove it"]


def test_a_role_policy_over_the_iam_size_quota_fails(role, environments):
    changed = copy.deepcopy(role)
    changed.properties["Policies"].append({"PolicyName": "padding", "PolicyDocument": {"Statement": [
        {"Effect": "Allow", "Action": ["sqs:GetQueueUrl"], "Resource": ["x" * permissions.ROLE_POLICY_LIMIT]}]}})
    assert any("IAM allows 10240" in str(f) for f in check(changed, environments).findings)


def test_a_resource_type_the_checks_do_not_know_is_an_error_not_a_pass():
    env = Environment({"dev/x": {"Resources": {"Thing": {"Type": "AWS::Lambda::Function", "Properties": {}}}}},
                      {}, "us-east-1", lambda p: p.replace("/", "-"))
    with pytest.raises(Unresolvable, match=re.escape("AWS::Lambda::Function is not known to wm/lint/concrete.py")):
        env.resources()


def test_parliament_finds_a_misspelt_action(environments):
    env = copy.copy(environments[0])
    resources = env.resources()
    task_execution = next(r for r in resources if r.logical == "TaskExecutionRole")
    task_execution.properties["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"].append("logs:PutLogEvent")
    env.resources = lambda: resources
    assert any(f.issue == "UNKNOWN_ACTION" and "logs:PutLogEvent " in f"{f.detail} " for f in policies.check([env]))


# --- the evaluator, against the IAM user guide's rules ---------------------------------------------------

@pytest.mark.parametrize("statement,request_,expected", [
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"},
     Request("s3:getobject", "arn:aws:s3:::bucket/a/b"), True),                      # actions ignore case
    ({"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::bucket/*"},
     Request("s3:GetObject", "arn:aws:s3:::Bucket/a"), False),                        # resources do not
    ({"Effect": "Allow", "Action": "logs:TagResource", "Resource": "arn:aws:logs:r:1:log-group:/ecs/x:*"},
     Request("logs:TagResource", "arn:aws:logs:r:1:log-group:/ecs/x"), False),        # ":*" is literal
    ({"Effect": "Allow", "Action": "logs:TagResource", "Resource": "arn:aws:logs:r:1:log-group:/ecs/*"},
     Request("logs:CreateLogGroup", "arn:aws:logs:r:1:log-group:/ecs/x:*"), False),   # other action
    ({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
      "Condition": {"StringEquals": {"iam:PassedToService": ["a.amazonaws.com", "b.amazonaws.com"]}}},
     Request("iam:PassRole", "arn:aws:iam::1:role/x", {"iam:PassedToService": "b.amazonaws.com"}), True),
    ({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
      "Condition": {"StringEquals": {"iam:PassedToService": "a.amazonaws.com"}}},
     Request("iam:PassRole", "arn:aws:iam::1:role/x"), False),                        # key absent: no
    ({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
      "Condition": {"StringEqualsIfExists": {"iam:PassedToService": "a.amazonaws.com"}}},
     Request("iam:PassRole", "arn:aws:iam::1:role/x"), True),                         # ...IfExists: yes
    ({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
      "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}},
     Request("sqs:SendMessage", "arn:aws:sqs:r:1:q", {"aws:MultiFactorAuthAge": "1"}), False),  # unknown: closed
])
def test_policy_evaluation(statement, request_, expected):
    assert allowed([statement], request_) is expected


def test_an_explicit_deny_wins():
    statements = [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                  {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]
    assert not allowed(statements, Request("iam:CreateUser", "arn:aws:iam::1:user/x"))
    assert allowed(statements, Request("sqs:GetQueueUrl", "arn:aws:sqs:r:1:q"))


# --- the run-history policy: the project cfn-lint rule on the real template -----------------------------

def test_the_old_run_history_condition_fails_make_lint(tmp_path):
    template = build(environment("dev").stacks["dev/alerts"]).to_dict()
    props = template["Resources"]["RunHistoryLogPolicy"]["Properties"]
    doc = json.loads(props["PolicyDocument"]["Fn::Sub"])
    create, put = doc["Statement"]
    doc["Statement"] = [{**put, "Action": create["Action"] + put["Action"]}]  # one statement, both conditioned
    props["PolicyDocument"] = {"Fn::Sub": json.dumps(doc)}
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(template))
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), "--append-rules",
                             str(ROOT / "wm" / "lint" / "cfn_rules"), "--format", "parseable", "--", str(path)],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "E9101" in result.stdout, result.stdout + result.stderr
    assert "RunHistoryLogPolicy" in read_template(path.read_text())["Resources"]  # what was linted is a template
