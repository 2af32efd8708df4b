"""Plans, the reviewed deploy and its guards, against a fresh emulator.

One emulator for the module, used in order: plan on nothing (all Add), apply that plan
(tags carry the commit), plan again (no change), a copy of the configuration with one
model's memory changed (exactly its task definition as Modify, Markdown = table), a
plan gone stale (refused), an unconfirmed apply (refused), protection.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from conftest import ROOT, free_port, make

from wm import cli
from wm.config import files as loader

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def endpoint():
    port = free_port()
    result = make("emulator-start", port=port)
    assert result.returncode == 0, result.stderr
    yield f"http://127.0.0.1:{port}"
    make("emulator-stop", port=port)


def wm(endpoint: str, *args: str, cwd: Path = ROOT, pythonpath: Path | None = None, stdin: str | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1")
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, "-m", "wm.cli", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def cfn(endpoint):
    return boto3.client("cloudformation", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def saved(root: Path = ROOT) -> dict:
    return json.loads((root / "build" / "plan-local.json").read_text())


def test_plan_on_nothing_adds_every_resource(endpoint):
    result = wm(endpoint, "plan", "local")
    assert result.returncode == 0, result.stderr
    total = sum(len(spec_resources) for spec_resources in _resources().values())
    plan = saved()
    changes = [c for s in plan["stacks"] for c in s["changes"]]
    assert len(changes) == total and {c["action"] for c in changes} == {"Add"}
    assert f"plan for local: {total} resource changes in 9 of 9 stacks" in result.stdout
    assert (ROOT / "build" / "plan-local.md").read_text().count("| Add |") == total


def _resources() -> dict:
    from generators import build

    return {path: build(spec).to_dict()["Resources"] for path, spec in loader.load(ROOT, "dev").stacks.items()}


def test_an_unconfirmed_apply_is_refused(endpoint, cfn):
    result = wm(endpoint, "apply", "local", stdin="")
    assert result.returncode == 9 and "CONFIRM=yes" in result.stderr
    assert cfn.describe_stacks()["Stacks"] == [] or all(
        s["StackStatus"] == "REVIEW_IN_PROGRESS" for s in cfn.describe_stacks()["Stacks"])


def test_apply_executes_the_plan_and_tags_carry_the_commit(endpoint, cfn):
    result = wm(endpoint, "apply", "local", "--yes")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    stacks = {s["StackName"]: s for s in cfn.describe_stacks()["Stacks"]}
    assert len(stacks) == 9 and {s["StackStatus"] for s in stacks.values()} == {"CREATE_COMPLETE"}
    tags = {t["Key"]: t["Value"] for t in stacks["weekly-models-dev-models-flu-ar2"]["Tags"]}
    assert tags["Commit"] == cli.git_commit() and tags["Environment"] == "dev" and tags["Project"] == "weekly-models"
    assert not (ROOT / "build" / "plan-local.json").exists()  # an executed plan cannot run twice
    again = wm(endpoint, "apply", "local", "--yes")
    assert again.returncode == 8 and "run make plan first" in again.stderr


def test_plan_after_deploy_shows_no_change_and_change_sets_never_pile_up(endpoint, cfn):
    for _ in range(2):
        result = wm(endpoint, "plan", "local")
        assert result.returncode == 0, result.stderr
    assert "plan for local: 0 resource changes in 0 of 9 stacks" in result.stdout
    assert result.stdout.count(": no change") == 9
    for s in cfn.describe_stacks()["Stacks"]:
        assert len(cfn.list_change_sets(StackName=s["StackName"])["Summaries"]) <= 1


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("copy")
    for package in ("generators", "wm"):
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("config", "models", "templates", "prices"):
        shutil.copytree(ROOT / folder, root / folder, symlinks=True)
    return root


def set_memory(root: Path, memory: int) -> None:
    path = root / "models" / "flu-ar2.yaml"
    text = path.read_text().split("    memory:")[0].rstrip("\n")
    path.write_text(f"{text}\n    memory: {memory}\n")


def test_a_memory_change_plans_exactly_that_task_definition(endpoint, copy):
    set_memory(copy, 4096)
    result = wm(endpoint, "plan", "local", cwd=copy, pythonpath=copy)
    assert result.returncode == 0, result.stderr
    changes = [(s["path"], c["logical_id"], c["action"]) for s in saved(copy)["stacks"] for c in s["changes"]]
    assert changes == [("dev/models/flu-ar2", "TaskDefinition", "Modify")]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("dev/models/flu-ar2 ")]
    row = line.split(maxsplit=5)
    assert row == ["dev/models/flu-ar2", "TaskDefinition", "AWS::ECS::TaskDefinition", "Modify", "-",
                   "ContainerDefinitions, Memory"]
    md = (copy / "build" / "plan-local.md").read_text()
    (md_row,) = [line for line in md.splitlines() if line.startswith("| dev/models/flu-ar2 |")]
    assert [c.strip() for c in md_row.strip("|").split("|")] == row


def test_a_stale_plan_is_refused_and_nothing_changes(endpoint, copy):
    set_memory(copy, 5120)  # changed after the plan above
    result = wm(endpoint, "apply", "local", "--yes", cwd=copy, pythonpath=copy)
    assert result.returncode == 8
    assert "dev/models/flu-ar2: the template changed since the plan was made: run make plan ENV=local" in result.stderr
    ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t",
                       aws_secret_access_key="t")
    td = ecs.describe_task_definition(taskDefinition="weekly-models-dev-flu-ar2-model")["taskDefinition"]
    assert (td["revision"], td["memory"]) == (1, "3072")


def test_the_reviewed_plan_applies_exactly_one_change(endpoint, copy):
    assert wm(endpoint, "plan", "local", cwd=copy, pythonpath=copy).returncode == 0
    result = wm(endpoint, "apply", "local", "--yes", cwd=copy, pythonpath=copy)
    assert result.returncode == 0, result.stderr
    assert "dev/models/flu-ar2: executing 1 changes" in result.stdout and result.stdout.count("executing") == 1
    ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t",
                       aws_secret_access_key="t")
    td = ecs.describe_task_definition(taskDefinition="weekly-models-dev-flu-ar2-model")["taskDefinition"]
    assert td["memory"] == "5120"


def test_protect_turns_on_termination_protection_and_the_stack_policy(endpoint, cfn):
    result = wm(endpoint, "protect", "local")
    assert result.returncode == 0, result.stderr
    name = "weekly-models-dev-models-flu-flusion"
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["EnableTerminationProtection"] is True
    policy = json.loads(cfn.get_stack_policy(StackName=name)["StackPolicyBody"])
    assert policy["Statement"][1]["Resource"] == ["LogicalResourceId/DeadLetterQueue", "LogicalResourceId/LogGroup"]


def test_drift_on_the_emulator_says_it_cannot(endpoint):
    result = wm(endpoint, "drift", "local")
    assert result.returncode == 0 and "has no drift detection" in result.stdout


def test_plan_with_the_emulator_down_is_a_clear_error():
    result = make("plan", port=free_port(), timeout=60)
    assert result.returncode != 0 and "is not answering" in result.stderr and "Traceback" not in result.stderr


def test_a_protected_stack_cannot_be_deleted(endpoint, cfn):
    name = "weekly-models-dev-models-flu-flusion"
    with pytest.raises(cfn.exceptions.ClientError, match="cannot be deleted while TerminationProtection is enabled"):
        cfn.delete_stack(StackName=name)
    cfn.update_termination_protection(EnableTerminationProtection=False, StackName=name)
    cfn.delete_stack(StackName=name)
