"""The GitHub Actions workflow and the deployer stack it relies on."""

from __future__ import annotations

import re
import subprocess

import yaml
from conftest import ROOT, stack_for

from generators import build

WORKFLOW = ROOT / ".github" / "workflows" / "weekly-models.yml"
ACTIONLINT = ROOT / ".venv" / "bin" / "actionlint"


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_actionlint_finds_nothing():
    result = subprocess.run([str(ACTIONLINT), str(WORKFLOW)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def test_every_command_the_workflow_runs_is_a_real_make_target():
    commands = [step["run"] for job in workflow()["jobs"].values() for step in job["steps"] if "run" in step]
    makes = [m for c in commands for m in re.findall(r"\bmake ([a-z-]+)((?: [A-Z]+=\S+)*)", c)]
    assert {t for t, _ in makes} == {"test", "plan", "deploy"}
    for target, args in makes:
        assert target in make_targets(), target
        for arg in args.split():
            name, value = arg.split("=")
            assert (name, value) in {("ENV", "prod"), ("CONFIRM", "yes")}, arg


def test_aws_only_through_oidc_roles_never_stored_keys():
    text = WORKFLOW.read_text()
    assert "aws-access-key-id" not in text and "secrets." not in text
    jobs = workflow()["jobs"]
    assert "permissions" not in jobs["test"]  # the tests never see AWS
    for name in ("plan", "deploy"):
        assert jobs[name]["permissions"] == {"contents": "read", "id-token": "write"}
        (creds,) = [s for s in jobs[name]["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws")]
        assert creds["with"]["role-to-assume"].startswith("${{ vars.WEEKLY_MODELS_")
    assert jobs["deploy"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"


def deployer(**deployer_spec) -> dict:
    stack = stack_for("account/deployer", {"deployer": {"github_repository": "reichlab/weekly-models", **deployer_spec}})
    return build(stack).to_dict()["Resources"]


def statements(role: dict) -> list[dict]:
    return [st for p in role["Properties"]["Policies"] for st in p["PolicyDocument"]["Statement"]]


# The repository variable each job's configure-aws-credentials step reads -> the deployer role it holds
# (docs/deploying.md, "Continuous delivery from GitHub").
ROLE_OF_VARIABLE = {"WEEKLY_MODELS_PLAN_ROLE_ARN": "PlanRole", "WEEKLY_MODELS_DEPLOY_ROLE_ARN": "DeployRole"}


def github_subject(repository: str, job: dict, on: dict) -> str:
    """The `sub` claim GitHub puts in a job's OIDC token, by GitHub's own rules (Actions OIDC reference,
    "Example subject claims"): a job that declares an environment presents the environment, whatever
    its branch; otherwise a pull-request run presents pull_request and a push its ref."""
    if "environment" in job:
        env = job["environment"]
        return f"repo:{repository}:environment:{env['name'] if isinstance(env, dict) else env}"
    condition = job.get("if", "")
    if "github.event_name == 'pull_request'" in condition:
        return f"repo:{repository}:pull_request"
    m = re.search(r"github\.ref == '(refs/heads/[^']+)'", condition)
    if m and "push" in on:
        return f"repo:{repository}:ref:{m.group(1)}"
    raise AssertionError(f"cannot tell which events run the job (if: {condition!r}); make its if: say so")


def trusted_subjects(role: dict) -> list[str]:
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    subject = trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
    return subject if isinstance(subject, list) else [subject]


def test_each_job_that_assumes_a_role_presents_the_subject_the_role_trusts():
    repository = "reichlab/weekly-models"
    roles, wf = deployer(), workflow()
    on = wf.get("on") or wf.get(True)  # YAML 1.1 reads the key `on` as True
    checked = set()
    for name, job in wf["jobs"].items():
        for step in job["steps"]:
            if not step.get("uses", "").startswith("aws-actions/configure-aws-credentials"):
                continue
            variable = re.fullmatch(r"\$\{\{ vars\.(\w+) \}\}", step["with"]["role-to-assume"]).group(1)
            role = ROLE_OF_VARIABLE[variable]
            assert github_subject(repository, job, on) in trusted_subjects(roles[role]), (name, role)
            checked.add(role)
    assert checked == set(ROLE_OF_VARIABLE.values())


def test_a_branch_subject_would_not_deploy_from_the_prod_environment():
    """What went wrong before: the deploy role trusted refs/heads/main, the deploy job runs in prod."""
    job = workflow()["jobs"]["deploy"]
    subject = github_subject("reichlab/weekly-models", job, {"push": {}})
    assert subject == "repo:reichlab/weekly-models:environment:prod"
    assert "repo:reichlab/weekly-models:ref:refs/heads/main" not in trusted_subjects(deployer()["DeployRole"])


def test_the_deploy_environment_is_a_setting():
    subjects = trusted_subjects(deployer(github_environment="production")["DeployRole"])
    assert subjects == ["repo:reichlab/weekly-models:environment:production"]


def test_pull_requests_can_plan_but_not_deploy():
    actions = lambda r: {a for st in statements(deployer()[r]) for a in st["Action"]}  # noqa: E731
    changes = {"cloudformation:ExecuteChangeSet", "cloudformation:CreateStack", "cloudformation:UpdateStack",
               "cloudformation:DeleteStack"}
    assert "cloudformation:CreateChangeSet" in actions("PlanRole")
    assert not actions("PlanRole") & changes
    # The deploy job runs sceptre launch, which creates and updates stacks itself (no change set to execute).
    assert {"cloudformation:CreateStack", "cloudformation:UpdateStack"} <= actions("DeployRole")
    assert "cloudformation:ExecuteChangeSet" not in actions("DeployRole")
    assert not [a for a in actions("DeployRole") if a.startswith(("iam:Create", "ec2:", "ecs:"))]


def test_deployer_policies_name_their_actions_and_scope_their_resources():
    resources = deployer()
    for logical in ("PlanRole", "DeployRole", "CloudFormationServiceRole"):
        for st in statements(resources[logical]):
            assert all("*" not in a for a in st["Action"]), (logical, st["Action"])
            if "*" in st["Resource"]:
                assert st["Sid"] in ("CallsAwsDoesNotScopeToAResource", "ReadDriftDetection"), (logical, st["Sid"])
            if "iam:PassRole" in st["Action"] and st["Sid"] == "PutInstanceRolesInTheirProfiles":
                # AddRoleToInstanceProfile is authorized as PassRole and may name no service: only the
                # Batch instance roles, and only to EC2 when a service is named.
                assert st["Condition"] == {"StringEqualsIfExists": {"iam:PassedToService": "ec2.amazonaws.com"}}
                assert [r["Fn::Sub"].rsplit(":", 1)[-1] for r in st["Resource"]] == ["role/weekly-models-*-batch-instance"], st
            elif "iam:PassRole" in st["Action"]:
                assert "iam:PassedToService" in st["Condition"]["StringEquals"], (logical, st)
            if "iam:PassRole" in st["Action"] and logical != "CloudFormationServiceRole":
                assert st["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}


def test_an_existing_oidc_provider_is_reused():
    assert "GitHubOidcProvider" in deployer()
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    resources = deployer(existing_oidc_provider_arn=arn)
    assert "GitHubOidcProvider" not in resources
    (trust,) = resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Federated": arn}
