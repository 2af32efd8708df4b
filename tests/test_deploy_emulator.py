"""The one deploy path (Sceptre), plans and the prod guard, against a fresh emulator.

One emulator and one git copy of the repository for the module, used in order: plan dev
on nothing (all Add), deploy it (tags carry the commit), plan again (no change), a
committed memory change (exactly its task definition as Modify, Markdown = table); then
prod: `sceptre launch prod` by hand with no plan, with a plan from another commit and
from a dirty tree (each refused before any change), with the reviewed plan (every stack
created, protected, the plan consumed by make deploy), and what protection means.
"""

from __future__ import annotations

import json

import boto3
import pytest
from conftest import environment, free_port, git, make, repo_copy, tool

from generators import build

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def endpoint():
    port = free_port()
    result = make("emulator-start", port=port)
    assert result.returncode == 0, result.stderr
    yield f"http://127.0.0.1:{port}"
    make("emulator-stop", port=port)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return repo_copy(tmp_path_factory.mktemp("repo"), fill_placeholders=True)


def client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def saved(repo, env: str) -> dict:
    return json.loads((repo / "build" / f"plan-{env}.json").read_text())


def live(endpoint: str, env: str) -> dict[str, dict]:
    stacks = client(endpoint, "cloudformation").describe_stacks()["Stacks"]
    return {s["StackName"]: s for s in stacks if s["StackName"].startswith(f"weekly-models-{env}-")
            and s["StackStatus"] != "REVIEW_IN_PROGRESS"}


def model_memory(repo, name: str, memory: int) -> None:
    path = repo / "models" / f"{name}.yaml"
    text = path.read_text().split("    memory:")[0].rstrip("\n")
    path.write_text(f"{text}\n    memory: {memory}\n")


def test_plan_on_nothing_adds_every_resource(endpoint, repo):
    result = tool("wm", "plan", "local", cwd=repo, endpoint=endpoint)
    assert result.returncode == 0, result.stderr
    e = environment("dev")
    total = sum(len(build(s).to_dict()["Resources"]) for s in e.stacks.values())
    changes = [c for s in saved(repo, "local")["stacks"] for c in s["changes"]]
    assert len(changes) == total and {c["action"] for c in changes} == {"Add"}
    assert f"plan for local: {total} resource changes in {len(e.stacks)} of {len(e.stacks)} stacks" in result.stdout
    assert (repo / "build" / "plan-local.md").read_text().count("| Add |") == total
    assert "make deploy ENV=local deploys it (sceptre launch dev)" in result.stdout  # no hidden command to run


def test_deploy_is_sceptre_launch_and_tags_carry_the_commit(endpoint, repo):
    result = tool("wm", "deploy", "local", cwd=repo, endpoint=endpoint)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    e = environment("dev")
    stacks = live(endpoint, "dev")
    assert set(stacks) == {s.name for s in e.stacks.values()}
    assert {s["StackStatus"] for s in stacks.values()} == {"CREATE_COMPLETE"}
    model = e.stacks[f"dev/models/{e.models[0].name}"].name
    tags = {t["Key"]: t["Value"] for t in stacks[model]["Tags"]}
    assert tags["Commit"] == git(repo, "rev-parse", "HEAD") and tags["Environment"] == "dev"
    assert "every resource of every template was created by the emulator" in result.stdout


def test_plan_after_deploy_shows_no_change_and_change_sets_never_pile_up(endpoint, repo):
    n = len(environment("dev").stacks)
    for _ in range(2):
        result = tool("wm", "plan", "local", cwd=repo, endpoint=endpoint)
        assert result.returncode == 0, result.stderr
    assert f"plan for local: 0 resource changes in 0 of {n} stacks" in result.stdout
    assert result.stdout.count(": no change") == n
    cfn = client(endpoint, "cloudformation")
    for name in live(endpoint, "dev"):
        assert len(cfn.list_change_sets(StackName=name)["Summaries"]) <= 1


def test_a_memory_change_plans_exactly_that_task_definition(endpoint, repo):
    name = environment("dev").models[0].name
    model_memory(repo, name, 4096)
    git(repo, "commit", "-qam", "more memory")
    result = tool("wm", "plan", "local", cwd=repo, endpoint=endpoint)
    assert result.returncode == 0, result.stderr
    changes = [(s["path"], c["logical_id"], c["action"]) for s in saved(repo, "local")["stacks"] for c in s["changes"]]
    assert changes == [(f"dev/models/{name}", "TaskDefinition", "Modify")]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith(f"dev/models/{name} ")]
    row = line.split(maxsplit=5)
    assert row == [f"dev/models/{name}", "TaskDefinition", "AWS::ECS::TaskDefinition", "Modify", "-",
                   "ContainerDefinitions, Memory"]
    md = (repo / "build" / "plan-local.md").read_text()
    (md_row,) = [line for line in md.splitlines() if line.startswith(f"| dev/models/{name} |")]
    assert [c.strip() for c in md_row.strip("|").split("|")] == row


# --- prod: the reviewed-plan guard, whoever runs Sceptre ----------------------------------------

def test_sceptre_launch_prod_by_hand_without_a_plan_is_refused_before_any_change(endpoint, repo):
    result = tool("sceptre", "--no-colour", "launch", "-y", "prod", cwd=repo, endpoint=endpoint)
    assert result.returncode == 1
    assert "refused: in prod, Sceptre executes only the last reviewed plan" in result.stdout + result.stderr
    assert "there is no plan" in result.stdout + result.stderr
    assert live(endpoint, "prod") == {}
    one = tool("sceptre", "--no-colour", "create", "-y", "prod/network.yaml", cwd=repo, endpoint=endpoint)
    assert one.returncode == 1 and live(endpoint, "prod") == {}  # create of one stack: the same guard


def test_a_plan_from_another_commit_or_a_dirty_tree_is_refused(endpoint, repo):
    made = tool("wm", "plan", "prod", cwd=repo, endpoint=endpoint)
    assert made.returncode == 0, made.stderr
    planned_at = git(repo, "rev-parse", "HEAD")
    name = environment("prod").models[0].name
    model_memory(repo, name, 8192)
    dirty = tool("sceptre", "--no-colour", "launch", "-y", "prod", cwd=repo, endpoint=endpoint)
    assert dirty.returncode == 1 and "uncommitted changes" in dirty.stdout + dirty.stderr
    git(repo, "commit", "-qam", "even more memory, not planned")
    moved = tool("sceptre", "--no-colour", "launch", "-y", "prod", cwd=repo, endpoint=endpoint)
    assert moved.returncode == 1
    assert f"the plan was made at {planned_at[:12]}" in moved.stdout + moved.stderr
    assert live(endpoint, "prod") == {}
    git(repo, "reset", "-q", "--hard", planned_at)


def test_an_unconfirmed_prod_deploy_is_refused(endpoint, repo):
    result = tool("wm", "deploy", "prod", cwd=repo, endpoint=endpoint, stdin="")
    assert result.returncode == 9 and "CONFIRM=yes" in result.stderr
    assert live(endpoint, "prod") == {}


def test_the_reviewed_plan_deploys_and_protects_every_stack(endpoint, repo):
    e = environment("prod")
    result = tool("wm", "deploy", "prod", "--yes", cwd=repo, endpoint=endpoint)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    stacks = live(endpoint, "prod")
    assert set(stacks) == {s.name for s in e.stacks.values()}
    cfn = client(endpoint, "cloudformation")
    for name in stacks:  # each stack its own protection (Sceptre shares hook objects: issue #961)
        assert cfn.describe_stacks(StackName=name)["Stacks"][0]["EnableTerminationProtection"] is True, name
        json.loads(cfn.get_stack_policy(StackName=name)["StackPolicyBody"])
    model = e.stacks[f"prod/models/{e.models[0].name}"].name
    policy = json.loads(cfn.get_stack_policy(StackName=model)["StackPolicyBody"])
    assert policy["Statement"][1]["Resource"] == ["LogicalResourceId/DeadLetterQueue", "LogicalResourceId/LogGroup"]
    assert not (repo / "build" / "plan-prod.json").exists()  # executed: it cannot run twice
    again = tool("sceptre", "--no-colour", "launch", "-y", "prod", cwd=repo, endpoint=endpoint)
    assert again.returncode == 1 and "there is no plan" in again.stdout + again.stderr


def test_a_protected_stack_cannot_be_deleted_until_destroy_is_confirmed(endpoint, repo):
    e = environment("prod")
    name = e.stacks[f"prod/models/{e.models[0].name}"].name
    cfn = client(endpoint, "cloudformation")
    with pytest.raises(cfn.exceptions.ClientError, match="cannot be deleted while TerminationProtection is enabled"):
        cfn.delete_stack(StackName=name)
    result = tool("wm", "confirm-destroy", "prod", "--confirm", "prod", cwd=repo, endpoint=endpoint)
    assert result.returncode == 0, result.stderr
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["EnableTerminationProtection"] is False


def test_drift_on_the_emulator_says_it_cannot(endpoint, repo):
    result = tool("wm", "drift", "local", cwd=repo, endpoint=endpoint)
    assert result.returncode == 0 and "has no drift detection" in result.stdout


def test_plan_with_the_emulator_down_is_a_clear_error():
    result = make("plan", port=free_port(), timeout=60)
    assert result.returncode != 0 and "is not answering" in result.stderr and "Traceback" not in result.stderr
