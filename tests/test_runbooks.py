"""The README's runbooks, followed to the letter on copies of the repository.

"Add a model" and "Bump an image" are read from README.md (a ```yaml block is a file to
create, a ```diff block an edit of the file the step names, each ```sh line a command, a
```text block what the commands before it must print), and so is "Deploy to prod", which
both end with. The README's structure is the contract: if the extraction finds nothing,
or an unexpected kind of block, the test fails and says so.

Each runbook is followed twice:

1. On a copy of the repository as it is (tests/test_readme.py: working_copy, which links the
   shared virtual environments in; every command runs the copy's own code), every command
   run as a lab member types it, with EMULATOR_PORT set to a free port. `make test` is run
   as written, with its pytest narrowed through PYTEST_ADDOPTS to the fast part of the
   suite: `-m "not emulator"`, without tests/test_runbooks.py and tests/test_readme.py. The
   whole `make test` takes about four minutes per copy, and its emulator tests exercise
   deploy paths this file exercises itself (make deploy, and the prod deploy below); the
   README tests would run this file again inside itself. Its lint and `wm refresh --check`
   run unchanged. Then the outcome is checked: the new model validates and has its snapshots,
   nothing generated is stale, the commit holds exactly what the runbook says. The prod
   steps need the lab's account: run with no credentials, they must stop with the
   documented refusal before anything changes.
2. On a copy whose placeholders are filled in (conftest.repo_copy(fill_placeholders=True),
   regenerated and committed first, as the lab will have done before deploying to AWS), with
   prod already deployed on a fresh emulator as it is today, the runbook again, then the
   prod steps against that emulator: what `make plan ENV=prod` and `make deploy ENV=prod`
   run after their credentials check (read from `make -n`, so it is the Makefile's own
   recipe), with CONFIRM=yes as the README says for a run without a terminal. The plan must
   hold exactly the runbook's change, and the deploy must put it in place. `make test` is
   skipped there: step 1 ran it, and tests that check today's placeholders would fail on
   the filled copy.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from conftest import ROOT, free_port, git, models
from test_readme import (
    RUNBOOK_SECTIONS,
    blocks,
    commands,
    make_target,
    missing_lines,
    model_names,
    needs_aws,
    refusal_quoted,
    said,
    shell,
    shows,
    work_tree_state,
    working_copy,
)

pytestmark = pytest.mark.emulator  # the prod steps, and "Add a model"'s make deploy, run on the emulator

ADD, BUMP, DEPLOY = RUNBOOK_SECTIONS
NARROWED_SUITE = '-m "not emulator" --ignore=tests/test_runbooks.py --ignore=tests/test_readme.py'


# --- the runbooks, as the README writes them --------------------------------------------------

@dataclass
class Step:
    kind: str                # file (create it), diff (edit it), sh (run each command), output (expect it)
    text: str
    path: str = ""           # the file a file or diff step is about
    commands: list[str] = field(default_factory=list)


def runbook_steps(section: str) -> list[Step]:
    steps = []
    for block in blocks():
        if block.section != section:
            continue
        if block.lang in ("yaml", "diff"):
            named = re.findall(r"`([\w./-]+\.ya?ml)`", block.before)
            assert named, f"README {section!r}: no file named (in backquotes) before its ```{block.lang} block"
            steps.append(Step("file" if block.lang == "yaml" else "diff", block.body, path=named[-1]))
        elif block.lang == "sh":
            steps.append(Step("sh", block.body, commands=commands(block.body)))
        elif block.lang == "text":
            steps.append(Step("output", block.body))
        else:
            raise AssertionError(f"README {section!r}: a ```{block.lang} block; runbooks use yaml, diff, sh and text")
    assert any(s.kind == "sh" for s in steps), f"README: found no commands under '### {section}'"
    return steps


def runbook_commands() -> set[str]:
    """Every command of the runbooks this file follows (tests/test_readme.py checks it covers them all)."""
    return {c for section in RUNBOOK_SECTIONS for s in runbook_steps(section) for c in s.commands}


def test_the_runbooks_have_the_steps_a_lab_member_follows():
    add, bump, deploy = (runbook_steps(s) for s in RUNBOOK_SECTIONS)
    assert add[0].kind == "file" and re.fullmatch(r"models/[a-z][a-z0-9-]*\.yaml", add[0].path)
    assert bump[0].kind == "diff" and (ROOT / bump[0].path).is_file()
    for steps in (add, bump):
        run = [c for s in steps for c in s.commands]
        for command in ("make refresh", "make test", "make validate ENV=prod"):
            assert command in run, f"a runbook lacks {command!r}: {run}"
        assert any(c.startswith("git commit") for c in run) and any(c.startswith("git push") for c in run)
    deploying = [c for s in deploy for c in s.commands]
    assert "make plan ENV=prod" in deploying and "make deploy ENV=prod" in deploying


# --- following them ---------------------------------------------------------------------------

def apply_diff(path: Path, diff: str) -> None:
    """A ```diff block of the README: its - and context lines, replaced by its + and context lines."""
    lines = diff.splitlines()
    old = "\n".join(line[1:] for line in lines if line[:1] in ("-", " "))
    new = "\n".join(line[1:] for line in lines if line[:1] in ("+", " "))
    text = path.read_text()
    assert text.count(old) == 1, f"the README's diff does not apply to {path.name} (is the README stale?):\n{old}"
    path.write_text(text.replace(old, new))


def after_credentials_check(root: Path, home: Path, command: str) -> list[str]:
    """What `make` runs for `command` once `wm aws-check` has passed (from make -n: the Makefile's own recipe)."""
    printed = shell(command.replace("make ", "make -n --no-print-directory ", 1), root, home)
    assert printed.returncode == 0, said(printed)
    lines = printed.stdout.splitlines()
    (check,) = [i for i, line in enumerate(lines) if "wm aws-check" in line]
    rest = ([lines[check].split("&&", 1)[1].strip()] if "&&" in lines[check] else []) + lines[check + 1:]
    assert rest and all(r.startswith(".venv/bin/wm ") for r in rest), printed.stdout
    return rest


@dataclass
class Followed:
    root: Path
    port: int
    results: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)  # command -> result
    plans: list[dict] = field(default_factory=list)  # build/plan-prod.json of each prod plan made
    pushed: list[str] = field(default_factory=list)  # branches the runbook pushed


class Follower:
    """Runs a runbook's steps in a copy, as written; `prod` says how the steps that need AWS are run."""

    def __init__(self, root: Path, home: Path, port: int, prod: str, skip: tuple[str, ...] = ()):
        assert prod in ("refused", "emulator")
        self.home, self.prod, self.skip = home, prod, skip
        self.done = Followed(root, port)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.done.port}"

    def run(self, command: str) -> subprocess.CompletedProcess:
        root = self.done.root
        if needs_aws(command):
            before = work_tree_state(root)
            result = shell(command, root, self.home, stdin="", timeout=120)
            assert result.returncode != 0 and shows(result.stderr, refusal_quoted()), said(result)
            assert work_tree_state(root) == before, f"{command} changed something before it refused"
            if self.prod == "refused":
                return result
            target, _ = make_target(command)
            for line in after_credentials_check(root, self.home, command + (" CONFIRM=yes" if target == "deploy" else "")):
                result = shell(line, root, self.home, endpoint=self.endpoint, timeout=900)
                assert result.returncode == 0, f"{line} (for {command}):\n{said(result)[-4000:]}"
                if target == "plan":
                    self.done.plans.append(json.loads((root / "build" / "plan-prod.json").read_text()))
            return result
        extra = {"PYTEST_ADDOPTS": NARROWED_SUITE} if command == "make test" else None
        result = shell(command, root, self.home, port=self.done.port, extra_env=extra, timeout=1500)
        assert result.returncode == 0, f"{command}: exit {result.returncode}\n{said(result)[-6000:]}"
        if command.startswith("git push"):
            self.done.pushed.append(command.split()[-1])
        return result

    def follow(self, section: str) -> Followed:
        last: list[subprocess.CompletedProcess] = []
        for step in runbook_steps(section):
            if step.kind == "file":
                path = self.done.root / step.path
                assert not path.exists(), f"the runbook's example {step.path} exists already"
                path.write_text(step.text + "\n")
            elif step.kind == "diff":
                apply_diff(self.done.root / step.path, step.text)
            elif step.kind == "sh":
                last = []
                for command in step.commands:
                    if command in self.skip:
                        continue
                    last.append(self.run(command))
                    self.done.results[command] = last[-1]
            else:
                output = "\n".join(said(r) for r in last)
                assert last and not missing_lines(output, step.text), \
                    f"{section}: not printed: {missing_lines(output, step.text)}\n{output[-3000:]}"
        return self.done

    def merge(self) -> None:
        """What GitHub does when the pull request is merged: the pushed branch becomes origin's main."""
        for branch in self.done.pushed:
            git(self.done.root, "push", "-q", "origin", f"{branch}:main")


def with_origin(root: Path, tmp: Path) -> Path:
    """The copy, with a bare repository as its origin (GitHub's place), main pushed to it."""
    origin = tmp / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "-q", "-u", "origin", "main")
    return root


def prod_as_today(root: Path, home: Path, port: int) -> None:
    """Prod deployed from the copy's main, on the emulator: the starting point of a change."""
    for command in ("make plan ENV=prod", "make deploy ENV=prod CONFIRM=yes"):
        for line in after_credentials_check(root, home, command):
            result = shell(line, root, home, endpoint=f"http://127.0.0.1:{port}", timeout=900)
            assert result.returncode == 0, f"{line}:\n{said(result)[-4000:]}"


def filled_copy(tmp: Path, home: Path) -> Path:
    """A copy with the placeholders set, regenerated and committed, as before a first deploy to AWS."""
    root = working_copy(tmp / "repo", fill_placeholders=True)
    result = shell(".venv/bin/wm refresh", root, home)
    assert result.returncode == 0, said(result)
    git(root, "commit", "-qam", "the lab's values, set")
    return with_origin(root, tmp)


def client(port: int, service: str):
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def runbook(tmp_path_factory):
    """runbook(section, filled) -> the Followed record, made once per (section, filled)."""
    made, stops = {}, []

    def follow(section: str, filled: bool) -> Followed:
        if (section, filled) not in made:
            tmp = tmp_path_factory.mktemp(f"{'filled' if filled else 'as-is'}-{section.split()[0].lower()}")
            home, port = tmp / "home", free_port()
            if filled:
                root = filled_copy(tmp, home)
                assert shell("make emulator-start", root, home, port=port).returncode == 0
                stops.append((root, home, port))
                prod_as_today(root, home, port)
                follower = Follower(root, home, port, prod="emulator", skip=("make test",))
            else:
                root = with_origin(working_copy(tmp / "repo"), tmp)
                stops.append((root, home, port))  # started by the runbook's make deploy, if it has one
                follower = Follower(root, home, port, prod="refused")
            follower.follow(section)
            follower.merge()
            follower.follow(DEPLOY)
            made[section, filled] = follower.done
        return made[section, filled]

    yield follow
    for root, home, port in stops:
        shell("make emulator-stop", root, home, port=port)


def example_model() -> str:
    return Path(runbook_steps(ADD)[0].path).stem


def bumped() -> tuple[str, str, str]:
    """The model the bump runbook edits, and its image before and after."""
    step = runbook_steps(BUMP)[0]
    old, new = (re.search(rf"^\{sign}\s*image:\s*(\S+)", step.text, re.M)[1] for sign in "-+")
    return Path(step.path).stem, old, new


# --- add a model ------------------------------------------------------------------------------

def test_add_a_model_validates_and_writes_its_snapshots(runbook):
    done, name = runbook(ADD, False), example_model()
    fleet = model_names(done.root)
    assert name in fleet and len(fleet) == len(models("dev")) + 1
    for env, command in (("dev", "make validate"), ("prod", "make validate ENV=prod")):
        # `wm validate` names the models it found: the fleet with the new one.
        # (then "; <n> jobs: ..." when jobs/ declares some)
        assert re.search(rf"\({len(fleet)} models: {re.escape(', '.join(sorted(fleet)))}[);]", done.results[command].stdout), \
            done.results[command].stdout
        assert (done.root / "tests" / "snapshots" / env / "models" / f"{name}.yaml").is_file()
    assert f"{name} " in (done.root / "docs" / "infrastructure.md").read_text()
    check = shell(".venv/bin/wm refresh --check", done.root, done.root.parent / "home")
    assert check.returncode == 0, said(check)


def test_add_a_model_leaves_make_test_green(runbook):
    done = runbook(ADD, False)
    result = done.results["make test"]
    assert result.returncode == 0 and re.search(r"\d+ passed", result.stdout), said(result)[-3000:]
    assert "lint: ruff, cfn-lint, checkov" in result.stdout


def test_add_a_model_commits_the_model_and_what_was_generated_from_it(runbook):
    done, name = runbook(ADD, False), example_model()
    assert git(done.root, "status", "--porcelain") == ""
    changed = git(done.root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert {f"models/{name}.yaml", f"tests/snapshots/dev/models/{name}.yaml",
            f"tests/snapshots/prod/models/{name}.yaml"} <= set(changed), changed
    assert all(c.startswith(("models/", "tests/snapshots/", "docs/")) for c in changed), changed
    assert git(done.root, "rev-parse", "HEAD") == git(done.root, "rev-parse", "origin/main")  # merged, pulled


def test_add_a_model_deploys_on_the_emulator(runbook):
    done, name = runbook(ADD, False), example_model()
    stack = client(done.port, "cloudformation").describe_stacks(StackName=f"weekly-models-dev-models-{name}")
    assert stack["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_add_a_model_prod_steps_stop_without_an_account(runbook):
    done = runbook(ADD, False)
    for command in ("make plan ENV=prod", "make deploy ENV=prod"):
        assert shows(done.results[command].stderr, refusal_quoted())
    assert not (done.root / "build" / "plan-prod.json").exists()


def test_add_a_model_plans_and_deploys_only_the_new_model_in_prod(runbook):
    done, name = runbook(ADD, True), example_model()
    (plan,) = done.plans
    changes = [(s["path"], c["action"]) for s in plan["stacks"] for c in s["changes"]]
    assert changes and set(changes) == {(f"prod/models/{name}", "Add")}, changes
    cfn = client(done.port, "cloudformation")
    stack = cfn.describe_stacks(StackName=f"weekly-models-prod-models-{name}")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE" and stack["EnableTerminationProtection"] is True
    image = re.search(r"image:\s*(\S+)", runbook_steps(ADD)[0].text)[1]
    family = f"weekly-models-prod-{name}-model"
    task = client(done.port, "ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert task["containerDefinitions"][0]["image"] == image


# --- bump an image ----------------------------------------------------------------------------

def test_bump_changes_the_image_line_and_nothing_else(runbook):
    done, (name, old, new) = runbook(BUMP, False), bumped()
    diff = git(done.root, "diff", "-U0", "HEAD~1", "HEAD", "--", f"models/{name}.yaml")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert [line.split()[-1] for line in changed] == [old, new], diff


def test_bump_changes_exactly_the_task_definition_image_in_the_dev_and_prod_snapshots(runbook):
    done, (name, old, new) = runbook(BUMP, False), bumped()
    numstat = git(done.root, "diff", "--numstat", "HEAD~1", "HEAD", "--", "tests/snapshots")
    assert sorted(numstat.splitlines()) == [f"1\t1\ttests/snapshots/{env}/models/{name}.yaml" for env in ("dev", "prod")]
    diff = git(done.root, "diff", "-U0", "HEAD~1", "HEAD", "--", "tests/snapshots")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert [" ".join(line.split()) for line in changed] == [f"- Image: {old}", f"+ Image: {new}"] * 2, diff
    check = shell(".venv/bin/wm refresh --check", done.root, done.root.parent / "home")
    assert check.returncode == 0, said(check)


def test_bump_leaves_make_test_green(runbook):
    result = runbook(BUMP, False).results["make test"]
    assert result.returncode == 0 and re.search(r"\d+ passed", result.stdout), said(result)[-3000:]


def test_bump_plans_exactly_the_task_definition_and_deploys_it_in_prod(runbook):
    done, (name, _, new) = runbook(BUMP, True), bumped()
    (plan,) = done.plans
    changes = [(s["path"], c["logical_id"], c["action"]) for s in plan["stacks"] for c in s["changes"]]
    assert changes == [(f"prod/models/{name}", "TaskDefinition", "Modify")], changes
    family = f"weekly-models-prod-{name}-model"
    task = client(done.port, "ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert task["containerDefinitions"][0]["image"] == new and task["revision"] == 2
    schedule = client(done.port, "scheduler").get_schedule(Name=family, GroupName="weekly-models-prod")
    assert schedule["Target"]["EcsParameters"]["TaskDefinitionArn"] == task["taskDefinitionArn"]
    assert not (done.root / "build" / "plan-prod.json").exists()  # executed, so it cannot run twice
