"""The benchmark still runs (no timing is asserted: make bench measures, tests do not)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, environment, models

sys.path.insert(0, str(ROOT / "bench"))
import bench


def test_bench_renders_synthetic_models(tmp_path):
    # Two synthetic models on top of today's fleet, whatever its size.
    size = len(models("dev")) + 2
    shared = len(environment("dev").stacks) - len(models("dev"))
    root = bench.make_root(tmp_path, size)
    best, times, files = bench.bench_render(root, tmp_path / "out", size)
    assert len(files) == size + shared and len(times) == bench.REPEATS and best == min(times)
    assert {f.stem for f in files if f.parent.name == "models"} >= {m.name for m in models("dev")}


def test_make_render_is_timed_with_the_bytecode_cache_python_keeps_by_default(tmp_path, monkeypatch):
    # Some sandboxes and CI images set PYTHONDONTWRITEBYTECODE; a person's Python caches bytecode.
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    cmd, env = bench.render_command(tmp_path / "out", tmp_path / "pycache")
    assert cmd[-5:] == ["render", "dev", "prod", "--out", str(tmp_path / "out")]
    assert "PYTHONDONTWRITEBYTECODE" not in env and env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "pycache")


def test_the_import_floor_imports_the_renders_libraries_in_order_and_nothing_of_the_project(tmp_path):
    names = bench.render_imports(tmp_path / "out", tmp_path / "pycache")
    assert {"pydantic", "troposphere", "awacs", "yaml"} <= set(names)
    assert not [n for n in names if n.split(".")[0] in ("wm", "generators")]
    assert names.index("troposphere") < names.index("troposphere.ecs")  # a package before its modules
    cmd, env = bench.import_floor_command(names, tmp_path / "pycache")
    check = "\nimport sys\nprint(sorted(n for n in sys.modules if n.split('.')[0] in ('wm', 'generators')))"
    proc = subprocess.run([*cmd[:-1], cmd[-1] + check], env=env, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
