"""Every rendered template must equal its reviewed snapshot in tests/snapshots/.

A deliberate change: run `make snapshots`, review `git diff tests/snapshots`, commit both.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ENVS, ROOT, rendered

ALL = (*ENVS, "account")  # and the once-per-account deployer stack

SNAPSHOTS = ROOT / "tests" / "snapshots"
FIX = "the rendered template changed: review it, then accept it with `make snapshots`"


@pytest.mark.parametrize("env", ALL)
def test_every_stack_has_a_snapshot_and_no_snapshot_is_stale(env):
    have = {str(p.relative_to(SNAPSHOTS).with_suffix("")) for p in (SNAPSHOTS / env).rglob("*.yaml")}
    assert have == set(rendered(env)), FIX


@pytest.mark.parametrize("path", [p for env in ALL for p in rendered(env)])
def test_template_matches_snapshot(path):
    env = path.split("/")[0]
    expected = (SNAPSHOTS / f"{path}.yaml").read_text()
    assert rendered(env)[path] == expected, f"{path}: {FIX}"


@pytest.mark.parametrize("env", ENVS)
def test_rendering_twice_gives_the_same_bytes(env, tmp_path):
    """Two separate processes with different hash seeds write byte-identical files."""
    trees = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        subprocess.run([sys.executable, "-m", "wm.cli", "render", env, "--out", str(out)],
                       check=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True)
        trees.append({str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.yaml"))})
    assert trees[0] == trees[1]
    assert len(trees[0]) == len(rendered(env))
