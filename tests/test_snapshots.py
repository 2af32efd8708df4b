"""Every rendered template must equal its reviewed snapshot in tests/snapshots/: the real fleet
(tests/snapshots/<env>/) and the minimal and maximal fixtures (tests/snapshots/<fixture>/dev/).

A deliberate change: run `make refresh`, review `git diff`, commit both.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest
from conftest import ENVS, ROOT, environment, rendered

from generators import render
from wm.reports import refresh

ALL = (*ENVS, "account")  # and the once-per-account deployer stack
SNAPSHOTS = ROOT / "tests" / "snapshots"
FIXTURES = ROOT / "tests" / "fixtures"
FIX = "the rendered template changed: review it, then accept it with `make refresh` and review `git diff`"

# Every configuration that has snapshots: snapshot folder -> (root, environment). The fixtures
# are each folder of tests/fixtures holding a config/ (each a dev environment).
SETS = {env: (ROOT, env) for env in ALL} | {
    f"{p.name}/dev": (p, "dev") for p in sorted(FIXTURES.iterdir()) if (p / "config").is_dir()}


@functools.cache
def templates_of(folder: str) -> dict[str, str]:
    """'<snapshot folder>/<stack>' -> rendered text, as of project.docs_as_of as the snapshots are."""
    root, env = SETS[folder]
    if root == ROOT:
        return rendered(env)
    prefix = folder.removesuffix(f"/{env}")
    return {f"{prefix}/{path}": render(stack) for path, stack in environment(env, root).stacks.items()}


def test_the_fixtures_are_snapshotted():
    assert {"minimal/dev", "maximal/dev"} <= set(SETS)  # a fixture lost its config/ or was renamed


def test_every_snapshot_is_what_make_refresh_writes():
    """The check `make test` runs (wm refresh --check), for the snapshots: none differs, none is missing,
    and none is left over from a stack that no longer exists."""
    files = refresh.expected(ROOT)
    written = {rel for rel in files if rel.startswith("tests/snapshots/")}
    assert written == {f"tests/snapshots/{p}.yaml" for folder in SETS for p in templates_of(folder)}
    stale = [rel for rel in refresh.stale(ROOT, files, refresh.diagrams(files)) if rel.startswith("tests/snapshots/")]
    assert not stale, f"out of date: {', '.join(stale)}: run `make refresh`, review `git diff tests/snapshots`, commit"


@pytest.mark.parametrize("folder", SETS)
def test_every_stack_has_a_snapshot_and_no_snapshot_is_stale(folder):
    have = {str(p.relative_to(SNAPSHOTS).with_suffix("")) for p in (SNAPSHOTS / folder).rglob("*.yaml")}
    assert have == set(templates_of(folder)), FIX


@pytest.mark.parametrize("path", [p for folder in SETS for p in templates_of(folder)])
def test_template_matches_snapshot(path):
    folder = next(f for f in SETS if path.startswith(f"{f}/"))
    snapshot = SNAPSHOTS / f"{path}.yaml"
    assert snapshot.is_file(), f"{path}: no snapshot; {FIX}"
    assert templates_of(folder)[path] == snapshot.read_text(), f"{path}: {FIX}"


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
    assert len(trees[0]) == len(environment(env).stacks)
