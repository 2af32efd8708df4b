"""weekly-models stack builders: one troposphere module per stack kind, each a pure
`build(stack) -> Template` of a resolved `Stack` (wm/config/model.py).

`render(stack)` is that template as the deterministic YAML both `make render` and
Sceptre's template handlers (templates/*.py) write, so both give the same bytes.
"""

from __future__ import annotations

from wm.config.model import Stack
from wm.render import to_yaml

from . import alerts, batch, cluster, deployer, iam, job, model, network

BUILDERS = {"network": network.build, "iam": iam.build, "cluster": cluster.build, "alerts": alerts.build,
            "batch": batch.build, "model": model.build, "job": job.build, "deployer": deployer.build}


def build(stack: Stack):
    return BUILDERS[stack.kind](stack)


def render(stack: Stack) -> str:
    return to_yaml(build(stack))


__all__ = ["BUILDERS", "build", "render"]
