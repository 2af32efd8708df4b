"""Shared fixtures: the repository root, rendered templates of both environments, and a fresh
local emulator per test module (started and stopped through the same make targets a person uses)."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from generators import render_spec
from wm.config import files as loader
from wm.config.files import _SceptreYaml

ROOT = Path(__file__).resolve().parents[1]
ENVS = ("dev", "prod")


@functools.cache
def rendered(env: str) -> dict[str, str]:
    """Stack path -> template text, rendered from the repository's configuration as of
    project.docs_as_of, as the snapshots are (cached)."""
    e = loader.load(ROOT, env, now=loader.docs_moment(ROOT))
    return {path: render_spec(spec) for path, spec in e.stacks.items()}


@pytest.fixture(scope="session")
def templates() -> dict[str, dict]:
    """'<env>/<stack path>' -> parsed template, for both environments."""
    out = {}
    for env in ENVS:
        for path, text in rendered(env).items():
            out[path] = yaml.load(text, Loader=_SceptreYaml)  # noqa: S506 - SafeLoader subclass
    return out


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
