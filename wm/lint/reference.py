"""AWS's own machine-readable references, read offline.

- The CloudFormation registry schemas that cfn-lint bundles: for each resource type, the
  permissions each handler (create, read, update, delete) calls.
- The Service Authorization Reference as parliament bundles it: for each IAM action,
  the resource types it can be scoped to (a `*` suffix marks a required one), and each
  resource type's ARN format.

Both are pinned with the tools (requirements/tools.lock), so a check built on them gives
the same answer on every machine until the pins move.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

# The handlers CloudFormation calls during stack operations. `list` serves resource import
# and the IaC generator, never a create, update or delete of a stack.
STACK_HANDLERS = ("create", "read", "update", "delete")


@functools.cache
def _schemas() -> tuple[Path, dict[str, str]]:
    import cfnlint

    root = Path(cfnlint.__file__).parent / "data" / "schemas"
    return root, json.loads((root / "providers" / "us-east-1.json").read_text())


def handler_permissions(resource_type: str) -> dict[str, tuple[str, ...]]:
    """Handler -> the permissions it declares, for one CloudFormation resource type."""
    root, index = _schemas()
    if resource_type not in index:
        raise KeyError(f"{resource_type} is not in cfn-lint's registry schemas")
    schema = json.loads((root / "resources" / f"{index[resource_type]}.json").read_text())
    handlers = schema.get("handlers", {})
    return {h: tuple(handlers.get(h, {}).get("permissions", ())) for h in STACK_HANDLERS}


@dataclass(frozen=True)
class Action:
    name: str                         # e.g. logs:TagResource
    resource_types: tuple[str, ...]   # SAR resource types it can be scoped to
    required: frozenset[str]          # those of them every request names

    @property
    def unscoped(self) -> bool:
        """True when AWS authorizes the action only against `*`."""
        return not self.resource_types


@functools.cache
def _sar() -> dict[str, dict]:
    import parliament

    data = json.loads((Path(parliament.__file__).parent / "iam_definition.json").read_text())
    return {s["prefix"]: s for s in data}


def action(name: str) -> Action | None:
    """What the Service Authorization Reference says of `service:Action`; None if it does not know it."""
    service, _, privilege = name.partition(":")
    for p in _sar().get(service.lower(), {}).get("privileges", []):
        if p["privilege"].lower() == privilege.lower():
            kinds = [r["resource_type"] for r in p["resource_types"] if r["resource_type"]]
            return Action(f"{service}:{p['privilege']}", tuple(k.rstrip("*") for k in kinds),
                          frozenset(k.rstrip("*") for k in kinds if k.endswith("*")))
    return None


@functools.cache
def _formats(service: str) -> tuple[tuple[str, int, re.Pattern], ...]:
    """(resource type, how many literal characters its format has, a pattern matching its ARNs)."""
    out = []
    for r in _sar().get(service, {}).get("resources", []):
        pieces = re.split(r"\$\{[A-Za-z0-9]+\}", r["arn"])
        out.append((r["resource"], sum(map(len, pieces)), re.compile(".+".join(map(re.escape, pieces)))))
    return tuple(out)


def resource_type_of(arn: str) -> str | None:
    """The SAR resource type an ARN is of (the most specific format that matches), or None."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    matches = [(literal, kind) for kind, literal, pattern in _formats(parts[2]) if pattern.fullmatch(arn)]
    return max(matches)[1] if matches else None
