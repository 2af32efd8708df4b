"""Broken files and environments through the real command line: a clear message, exit 2, no traceback.

Each case runs `python -m wm.cli validate dev` in a subprocess, on a copy of the
repository's configuration and of the generators package (so its ROOT is the copy).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, a_model

MODEL_FILE = f"models/{a_model().name}.yaml"  # any model of the configuration


@pytest.fixture
def copy(tmp_path) -> Path:
    for package in ("generators", "wm"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "models", tmp_path / "models")
    shutil.copytree(ROOT / "config", tmp_path / "config", symlinks=True)
    return tmp_path


def wm(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-m", "wm.cli", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)


def yaml_syntax_error(root):
    (root / MODEL_FILE).write_text("sceptre_user_data:\n  model: [unclosed\n")


def not_utf8(root):
    (root / MODEL_FILE).write_bytes(b"# caf\xe9\nsceptre_user_data: {}\n")


def a_list(root):
    (root / MODEL_FILE).write_text("- image: example/model:1.0\n")


def a_directory(root):
    (root / "models" / "zz.yaml").mkdir()


def extra_stack(root):
    (root / "config" / "dev" / "extra.yaml").write_text("template:\n  path: extra.py\n")


def no_env_config(root):
    (root / "config" / "dev" / "config.yaml").unlink()


def models_link_missing(root):
    (root / "config" / "dev" / "models").unlink()


def no_models(root):
    for f in (root / "models").glob("*.yaml"):
        if f.name != "config.yaml":
            f.unlink()


def no_region(root):
    path = root / "config" / "config.yaml"
    path.write_text(path.read_text().replace("region: us-east-1\n", ""))


@pytest.mark.parametrize("break_it,file,words", [
    (yaml_syntax_error, MODEL_FILE, "not valid YAML"),
    (not_utf8, MODEL_FILE, "not UTF-8"),
    (a_list, MODEL_FILE, "must be a mapping"),
    (a_directory, "models/zz.yaml", "a folder in models/ is never loaded"),
    (extra_stack, "config/dev/extra.yaml", "no stack kind 'extra'"),
    (no_env_config, "config/dev/config.yaml", "file not found"),
    (models_link_missing, "config/dev/models", "must be the link ../../models"),
    (no_models, "models/", "no model is declared"),
    (no_region, "config/config.yaml", "region: is required"),
], ids=lambda v: getattr(v, "__name__", None))
def test_broken_input_is_a_message_not_a_traceback(copy, break_it, file, words):
    break_it(copy)
    for command in ("validate", "render"):
        result = wm(copy, command, "dev")
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert f"{file}: " in result.stderr and words in result.stderr, result.stderr
    assert not (copy / "build").exists()


def test_real_account_commands_refuse_an_emulator_endpoint(copy):
    env = {**os.environ, "PYTHONPATH": str(copy), "AWS_ENDPOINT_URL": "http://127.0.0.1:5055",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    result = subprocess.run([sys.executable, "-m", "wm.cli", "aws-check", "prod"], cwd=copy, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 4
    assert "AWS_ENDPOINT_URL is set" in result.stderr and "unset AWS_ENDPOINT_URL" in result.stderr


def python_passes(code: str) -> None:
    """Run `code` in a new Python at the repository's root; it exits 0 or the test fails with its output."""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wm_command_tunes_the_collector_before_importing_anything_heavy():
    """pyproject.toml's `wm` starts in wm/__main__.py: the collector's threshold is raised before
    pydantic and troposphere build their objects, and what the command built is frozen when it is
    done, so that shutdown does not walk it all again (bench/bench.py times `make render` this way)."""
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["wm"] == "wm.__main__:main"
    code = ("import gc, sys\n"
            "import wm.__main__ as entry\n"
            "assert not {'wm.cli', 'pydantic', 'troposphere'} & set(sys.modules), sorted(sys.modules)\n"
            "seen = []\n"
            "class Spy:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'pydantic': seen.append(gc.get_threshold())\n"
            "sys.meta_path.insert(0, Spy())\n"
            "sys.argv = ['wm', 'validate', 'dev']\n"
            "assert gc.get_freeze_count() == 0\n"
            "rc = entry.main()\n"
            "assert seen == [entry.GC_THRESHOLDS], seen\n"
            "assert gc.get_freeze_count() > 1000, gc.get_freeze_count()\n"
            "sys.exit(rc)\n")
    python_passes(code)


def test_the_wm_command_freezes_its_objects_when_it_fails_too():
    """A command that ends in an error (here argparse's, a SystemExit) still skips the walk."""
    code = ("import gc, sys\n"
            "import wm.__main__ as entry\n"
            "sys.argv = ['wm', 'no-such-command']\n"
            "try:\n"
            "    entry.main()\n"
            "except SystemExit as exit:\n"
            "    assert exit.code == 2, exit.code\n"
            "    assert gc.get_freeze_count() > 1000, gc.get_freeze_count()\n"
            "    sys.exit(0)\n"
            "sys.exit('no SystemExit')\n")
    python_passes(code)


def test_render_writes_nothing_unless_every_environment_named_is_valid(copy):
    config = copy / "config" / "prod" / "config.yaml"
    config.write_text(config.read_text().replace("sceptre_user_data:\n  environment:\n",
                                                 "sceptre_user_data:\n  environment:\n    colour: blue\n", 1))
    result = wm(copy, "render", "dev", "prod", "--out", str(copy / "out"))
    assert result.returncode == 2 and "colour" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (copy / "out").exists()  # dev is valid, but was not written either
    assert wm(copy, "render", "dev", "--out", str(copy / "out")).returncode == 0 and (copy / "out" / "dev").is_dir()
