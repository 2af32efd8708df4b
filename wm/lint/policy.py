"""A small evaluator of identity policies, for offline checks of what a role may do.

It follows IAM's evaluation logic for one principal's identity policies (IAM user guide,
"Policy evaluation logic"): a request is allowed when some Allow statement matches its
action, resource and conditions and no Deny statement does. Actions match
case-insensitively, resources case-sensitively, both with `*` and `?` wildcards.
Condition operators it does not implement fail closed (the request counts as denied),
so a check built on it can only ever be stricter than AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class UnsupportedPolicy(Exception):
    """A policy element this evaluator does not model (NotAction, NotResource, ...)."""


def _as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six ARN parts matched on its own (IAM user guide, ARN condition operators)."""
    p, v = pattern.split(":", 5), value.split(":", 5)
    return len(p) == len(v) == 6 and all(_glob(a, b, case=True) for a, b in zip(p, v, strict=True))


_OPERATORS = {
    "StringEquals": lambda want, have: want == have,
    "StringLike": lambda want, have: _glob(want, have, case=True),
    "ArnEquals": lambda want, have: want == have,
    "ArnLike": _arn_like,
    "Bool": lambda want, have: str(want).lower() == str(have).lower(),
}


def _condition_holds(condition: dict, context: dict[str, str]) -> bool:
    for operator, keys in condition.items():
        base = operator.removesuffix("IfExists")
        if base not in _OPERATORS:
            return False  # fail closed
        for key, wanted in keys.items():
            have = context.get(key)
            if have is None:
                if operator.endswith("IfExists"):
                    continue
                return False
            if not any(_OPERATORS[base](str(w), str(have)) for w in _as_list(wanted)):
                return False
    return True


@dataclass
class Request:
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


def _matches(statement: dict, request: Request) -> bool:
    for unsupported in ("NotAction", "NotResource", "NotPrincipal"):
        if unsupported in statement:
            raise UnsupportedPolicy(f"{unsupported} is not modelled by wm/lint/policy.py")
    if not any(_glob(a, request.action, case=False) for a in _as_list(statement.get("Action", []))):
        return False
    if not any(_glob(r, request.resource, case=True) for r in _as_list(statement.get("Resource", []))):
        return False
    return _condition_holds(statement.get("Condition", {}), request.context)


def allowed(statements: list[dict], request: Request) -> bool:
    if any(s.get("Effect") == "Deny" and _matches(s, request) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and _matches(s, request) for s in statements)
