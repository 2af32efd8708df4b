"""Sceptre's own rendering (what `sceptre launch` deploys) equals `make render` output.

The generators are fed two ways: by Sceptre from its merged sceptre_user_data, and by
generators/loader.py from the same files. This proves the two agree, offline.
"""

from __future__ import annotations

import pytest
from conftest import ENVS, ROOT, rendered
from sceptre.context import SceptreContext
from sceptre.exceptions import InvalidConfigFileError
from sceptre.plan.plan import SceptrePlan


def sceptre_templates(project: str, env: str) -> dict[str, str]:
    plan = SceptrePlan(SceptreContext(project_path=project, command_path=env))
    return {stack.name: text for stack, text in plan.generate().items()}


@pytest.mark.parametrize("env", (*ENVS, "account"))
def test_sceptre_renders_exactly_what_make_render_writes(env):
    assert sceptre_templates(str(ROOT), env) == rendered(env)


def test_sceptre_reports_a_config_problem_with_file_and_field(tmp_path):
    """A bad value reached through plain `sceptre` is a Sceptre error naming file and field."""
    import shutil

    shutil.copytree(ROOT / "config", tmp_path / "config", symlinks=True)
    shutil.copytree(ROOT / "models", tmp_path / "models")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    model = tmp_path / "models" / "flu-ar2.yaml"
    model.write_text(model.read_text().replace("image: reichlab/flu_ar2:1.2", "image: reichlab/flu_ar2:1.2\n    memory: 3000"))
    with pytest.raises(InvalidConfigFileError) as err:
        sceptre_templates(str(tmp_path), "dev/models/flu-ar2.yaml")
    text = str(err.value)
    assert "models/flu-ar2.yaml: sceptre_user_data.model.memory" in text
    assert "2048, 3072, 4096" in text
