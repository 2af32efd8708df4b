"""Sceptre's own rendering (what `sceptre launch` deploys) equals `make render` output.

The builders are fed two ways: by Sceptre, whose template handlers (templates/*.py, through
wm/sceptre.py) resolve one stack from its merged sceptre_user_data (resolve.from_user_data),
and by wm/config/resolve.py's `load`, which reads the same files itself. This proves the two
give byte-identical templates (generators.render) for every stack, offline.
"""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import ENVS, ROOT, a_model
from sceptre.context import SceptreContext
from sceptre.exceptions import SceptreException
from sceptre.plan.plan import SceptrePlan

from generators import render
from wm.config import resolve


def sceptre_templates(project, env: str) -> dict[str, str]:
    plan = SceptrePlan(SceptreContext(project_path=str(project), command_path=env))
    return {stack.name: text for stack, text in plan.generate().items()}


def make_render(root, env: str) -> dict[str, str]:
    """Stack path -> template, as `make render` writes it now (Sceptre renders as of now too)."""
    return {path: render(stack) for path, stack in resolve.load(root, env, graph=False).stacks.items()}


@pytest.mark.parametrize("env", (*ENVS, "account"))
def test_sceptre_renders_exactly_what_make_render_writes(env):
    got = sceptre_templates(ROOT, env)
    assert got, "Sceptre rendered nothing"
    assert got == make_render(ROOT, env)


@pytest.mark.parametrize("fixture", ["minimal", "maximal"])
def test_sceptre_renders_the_fixtures_exactly_as_well(fixture, tmp_path):
    """The fixtures reach the optional settings (Slack, e-mails, task roles, an existing VPC...)."""
    # Followed links: a fixture's stack files link to the repository's by relative paths.
    shutil.copytree(ROOT / "tests" / "fixtures" / fixture, tmp_path, dirs_exist_ok=True)
    shutil.copytree(ROOT / "templates", tmp_path / "templates")  # a fixture has none of its own
    assert sceptre_templates(tmp_path, "dev") == make_render(tmp_path, "dev")


def test_sceptre_reports_a_config_problem_with_file_and_field(tmp_path):
    """A bad value reached through plain `sceptre` is a Sceptre error naming file and field."""
    shutil.copytree(ROOT / "config", tmp_path / "config", symlinks=True)
    shutil.copytree(ROOT / "models", tmp_path / "models")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    name = a_model("dev").name
    model = tmp_path / "models" / f"{name}.yaml"
    # A memory size Fargate does not offer with cpu 1024 (the model's own sizes taken out first).
    text = re.sub(r"^    (cpu|memory):.*\n", "", model.read_text(), flags=re.M)
    assert "\n  model:\n" in text
    model.write_text(text.replace("\n  model:\n", "\n  model:\n    cpu: 1024\n    memory: 3000\n", 1))
    with pytest.raises(SceptreException) as err:
        sceptre_templates(tmp_path, f"dev/models/{name}.yaml")
    text = str(err.value)
    assert f"models/{name}.yaml: sceptre_user_data.model.memory" in text
    assert "2048, 3072, 4096" in text
