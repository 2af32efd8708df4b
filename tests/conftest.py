"""Shared fixtures: the repository root, rendered templates of both environments, and a fresh
local emulator per test module (started and stopped through the same make targets a person uses)."""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from generators import render
from wm.config import resolve
from wm.config.model import Environment
from wm.config.yaml import read_template

ROOT = Path(__file__).resolve().parents[1]
ENVS = ("dev", "prod")


@functools.cache
def environment(env: str, root: Path = ROOT) -> Environment:
    """The repository's environment resolved as of project.docs_as_of, as the snapshots are (cached)."""
    return resolve.load(root, env, now=resolve.docs_moment(root))


@functools.cache
def rendered(env: str) -> dict[str, str]:
    """Stack path -> template text, rendered as the snapshots are (cached)."""
    return {path: render(stack) for path, stack in environment(env).stacks.items()}


@pytest.fixture(scope="session")
def templates() -> dict[str, dict]:
    """'<env>/<stack path>' -> parsed template, for both environments."""
    return {path: read_template(text) for env in ENVS for path, text in rendered(env).items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make(*args, port, stdin=None, timeout=300):
    """`make <args> EMULATOR_PORT=<port>` with no AWS settings of the caller's leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(["make", "--no-print-directory", *args, f"EMULATOR_PORT={port}"], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def emulator():
    """A fresh emulator for the test module; its port."""
    port = free_port()
    result = make("emulator-start", port=port)
    assert result.returncode == 0, result.stdout + result.stderr
    yield port
    make("emulator-stop", port=port)


@pytest.fixture(scope="module")
def aws(emulator):
    """service name -> a boto3 client on the module's emulator."""
    import boto3

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return lambda service: session.client(service, endpoint_url=f"http://127.0.0.1:{emulator}")


# --- the configuration, as tests should read it: names and counts from the files, never literals ---

def models(env: str = "dev") -> list:
    """The environment's models (wm.config.model.Model), sorted by name."""
    return list(environment(env).models)


def a_model(env: str = "dev"):
    """A model of the environment to test with: the first by name, whatever today's fleet is."""
    return models(env)[0]


def stack_for(path: str, user_data: dict, now=None):
    """The resolved Stack of one Sceptre stack path (e.g. prod/models/x) from its sceptre_user_data,
    as Sceptre's template handler resolves it."""
    from wm.config.resolve import from_user_data

    env, _, rest = path.partition("/")
    kind = "model" if rest.startswith("models/") else ("deployer" if env == "account" else rest)
    # As config/config.yaml gives every stack: the project a shared stack reads jobs/ from.
    return from_user_data(kind, {"project_path": str(ROOT), **user_data, "stack": path}, now=now)


# --- a copy of the repository, for tests that change files or need a clean git commit ---

PLACEHOLDER_VALUES = {"GIT_USER_EMAIL": "machine@example.org", "repo_url": "https://github.com/reichlab/covid19-forecast-hub",
                      "CHANNEL_ID": "C0123456789", "github_repository": "reichlab/weekly-models"}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.email=test@example.org", "-c", "user.name=test", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def repo_copy(target: Path, fill_placeholders: bool = False) -> Path:
    """Every file git would commit (tracked or new, not ignored), copied with its symlinks, as one
    commit of a fresh repository; the virtual environments stay in ROOT and are shared."""
    import re
    import shutil

    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the work tree
        dst = target / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, dst)
    if fill_placeholders:
        for path in [*target.glob("config/**/*.yaml"), *target.glob("models/*.yaml")]:
            text = path.read_text()
            for key, value in PLACEHOLDER_VALUES.items():
                text = re.sub(rf"({key}: )PLACEHOLDER\([^)]*\)", rf"\g<1>{value}", text)
            path.write_text(text)
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "commit", "-qm", "copy of the work tree")
    return target


def tool(name: str, *args: str, cwd: Path, endpoint: str | None = None, stdin: str | None = None, timeout=600):
    """A tool of the repository's .venv (wm, sceptre, ...) run in `cwd`, aimed at `endpoint` when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WM_"))}
    if endpoint:
        env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_DEFAULT_REGION="us-east-1")
    return subprocess.run([str(ROOT / ".venv" / "bin" / name), *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def bump_image(root: Path, model: str) -> str:
    """The README's "Bump an image" edit: the `image:` line of models/<model>.yaml, its tag one on
    (1.2 -> 1.3, 7 -> 8); the new image. Fails loudly when the file has no such line."""
    import re

    path = root / "models" / f"{model}.yaml"
    text = path.read_text()
    lines = [m for m in re.finditer(r"^(\s+image: )(\S+):(\S+)$", text, re.M)]
    assert len(lines) == 1, f"{path} should have exactly one `image: <repository>:<tag>` line:\n{text}"
    prefix, repository, tag = lines[0].groups()
    numbers = re.fullmatch(r"(.*?)(\d+)", tag)
    assert numbers, f"the tag {tag!r} of {path} does not end in a number to bump"
    image = f"{repository}:{numbers[1]}{int(numbers[2]) + 1}"
    path.write_text(text[:lines[0].start()] + prefix + image + text[lines[0].end():])
    return image


# --- recorded ECS task state change events, moved onto the model under test ---

EVENTS = ROOT / "tests" / "fixtures" / "ecs-events"


def _recorded(name: str) -> str:
    return (EVENTS / f"{name}.json").read_text()


# The task family the events were recorded from; ecs_event() moves them onto the model under test.
RECORDED_FAMILY = json.loads(_recorded("exit-1"))["detail"]["group"].removeprefix("family:")


def ecs_event(name: str, model=None, **detail) -> dict:
    """A recorded event (tests/fixtures/ecs-events/<name>.json) as a task of `model` (default: the dev
    model under test) would send it, with `detail` fields changed."""
    model = model or a_model("dev")
    text = _recorded(name)
    assert RECORDED_FAMILY in text, f"{name}.json was not recorded from {RECORDED_FAMILY}"
    e = json.loads(text.replace(RECORDED_FAMILY, model.family))
    for container in e["detail"].get("containers", []):
        container["image"] = model.image  # the model's own image, not the one recorded
    e["detail"].update(detail)
    return e


def log_event(message: str) -> dict:
    """A log event stamped now. CloudWatch Logs drops events more than 14 days old (CloudWatch Logs
    API Reference, PutLogEvents: "Events older than 14 days or preceding the log group's retention
    period are rejected"), and so does the emulator: a fixed timestamp turns a test red two weeks
    after it was written."""
    return {"timestamp": int(time.time() * 1000), "message": message}
