"""Shared fixtures: the repository root and rendered templates of both environments."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from generators import loader, render_spec
from generators.loader import _SceptreYaml

ROOT = Path(__file__).resolve().parents[1]
ENVS = ("dev", "prod")


@functools.cache
def rendered(env: str) -> dict[str, str]:
    """Stack path -> template text, rendered from the repository's configuration (cached)."""
    e = loader.load(ROOT, env)
    return {path: render_spec(spec) for path, spec in e.stacks.items()}


@pytest.fixture(scope="session")
def templates() -> dict[str, dict]:
    """'<env>/<stack path>' -> parsed template, for both environments."""
    out = {}
    for env in ENVS:
        for path, text in rendered(env).items():
            out[path] = yaml.load(text, Loader=_SceptreYaml)  # noqa: S506 - SafeLoader subclass
    return out
