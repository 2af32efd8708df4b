"""weekly-models generators: one troposphere module per stack kind, each `build(spec) -> Template`.

`render(stack_path, user_data)` is what Sceptre's template entry points call; the
same function renders `make render` output, so both give the same bytes.
"""

from __future__ import annotations

from wm.config.schema import ModelStack, resolve
from wm.render import render as _to_yaml

from . import alerts, cluster, deployer, iam, model, network

BUILDERS = {"network": network.build, "iam": iam.build, "cluster": cluster.build, "alerts": alerts.build,
            "model": model.build, "deployer": deployer.build}


def build(spec):
    return BUILDERS[spec.kind](spec)


def render_spec(spec) -> str:
    return _to_yaml(build(spec))


def render(user_data: dict) -> str:
    """Validate one stack's sceptre_user_data and return its template (YAML)."""
    return render_spec(resolve(user_data["stack"], user_data))


__all__ = ["BUILDERS", "ModelStack", "build", "render", "render_spec"]
