"""The reviewed-plan guard: in prod, Sceptre changes a stack only as the last reviewed plan says.

config/prod/config.yaml runs `!wm_reviewed_plan` (wm/sceptre.py) before every launch,
create, update and change-set execution, whoever starts it: `make deploy ENV=prod` or
`sceptre launch prod` typed by hand. It refuses, before any change, unless

- build/plan-prod.json exists (written by `make plan ENV=prod`),
- the work tree is clean and at the commit the plan was made from,
- the environment has exactly the stacks the plan has, and every template Sceptre would
  send is byte for byte the one planned (its SHA-256),
- each stack's parameters, as Sceptre resolves them now, are the ones planned (a stack
  planned from its template, whose inputs did not exist yet, is pinned by its template).

The whole environment is checked on the first call of a process, so a launch is refused
before its first stack, not half-way; each stack is then checked again on its own call.
"""

from __future__ import annotations

import threading
from pathlib import Path

from wm import project
from wm.config.problems import ConfigError
from wm.deploy import plan as planning
from wm.deploy import stacks

_checked: dict[tuple[str, str], str | None] = {}  # (root, env) -> the refusal, or None when it passed
_lock = threading.Lock()


class Refused(Exception):
    """Raised (as a Sceptre error) when a launch would not execute exactly the reviewed plan."""


def plan_file(root: Path, env: str) -> Path:
    return root / "build" / f"plan-{env}.json"


def _refusal(root: Path, env: str, why: str) -> str:
    return (f"refused: in {env}, Sceptre executes only the last reviewed plan ({plan_file(root, env).relative_to(root)}), "
            f"and {why}. Nothing was changed. Make a plan (make plan ENV={env}), review build/plan-{env}.md, "
            f"then deploy it (make deploy ENV={env}).")


def load_plan(root: Path, env: str) -> dict:
    path = plan_file(root, env)
    if not path.exists():
        raise Refused(_refusal(root, env, "there is no plan"))
    return planning.load(path)


def check_environment(root: Path, env: str, rendered: dict[str, str] | None = None) -> dict:
    """The saved plan, if the repository and every template still match it; else Refused.
    `rendered` (stack path -> template) is what would be deployed; by default rendered now."""
    saved = load_plan(root, env)
    if saved.get("env") != env:
        raise Refused(_refusal(root, env, f"the plan file is for {saved.get('env')!r}"))
    commit = project.commit(root)
    if commit.endswith("-dirty"):
        raise Refused(_refusal(root, env, "the work tree has uncommitted changes (commit or stash them)"))
    if saved["commit"] != commit:
        raise Refused(_refusal(root, env, f"the plan was made at {saved['commit'][:12]}, the work tree is at "
                               f"{commit[:12]}"))
    if rendered is None:
        rendered = _render(root, env)
    planned = {p.path: p for p in saved["stacks"]}
    if set(planned) != set(rendered):
        added, gone = sorted(set(rendered) - set(planned)), sorted(set(planned) - set(rendered))
        words = "; ".join(filter(None, [added and f"not planned: {', '.join(added)}",
                                        gone and f"planned but no longer configured: {', '.join(gone)}"]))
        raise Refused(_refusal(root, env, f"the stacks differ from the plan's ({words})"))
    changed = sorted(path for path, body in rendered.items() if planning.sha(body) != planned[path].template_sha)
    if changed:
        raise Refused(_refusal(root, env, f"the template of {', '.join(changed)} differs from the one planned "
                               "(a season date that has begun since changes it too)"))
    return saved


def _render(root: Path, env: str) -> dict[str, str]:
    from generators import render
    from wm.config import resolve

    try:
        e = resolve.load(root, env, graph=False)
    except ConfigError as err:
        raise Refused(_refusal(root, env, f"the configuration has problems:\n{err}")) from None
    return {path: render(s) for path, s in e.stacks.items()}


def check_stack(stack, root: Path, env: str) -> None:
    """Refuse unless `stack` (a Sceptre stack) is about to execute exactly its part of the plan."""
    key = (str(root), env)
    with _lock:  # Sceptre runs a batch's stacks in threads: check the environment once
        if key not in _checked:
            try:
                check_environment(root, env)
                _checked[key] = None
            except Refused as err:
                _checked[key] = str(err)
    if _checked[key]:
        raise Refused(_checked[key])
    saved = planning.load(plan_file(root, env))
    p = next((p for p in saved["stacks"] if p.path == stack.name), None)
    if p is None:
        raise Refused(_refusal(root, env, f"{stack.name} is not in the plan"))
    if planning.sha(stack.template.body) != p.template_sha:
        raise Refused(_refusal(root, env, f"the template Sceptre renders for {stack.name} differs from the one planned"))
    if p.kind != "from template":
        now = stacks.parameters(stack)
        if now != p.parameters:
            differ = sorted(k for k in set(now) | set(p.parameters) if now.get(k) != p.parameters.get(k))
            raise Refused(_refusal(root, env, f"the inputs of {stack.name} changed since the plan was made "
                                   f"({', '.join(differ)})"))


def forget() -> None:
    """Drop the cached whole-environment checks (tests; a long-lived process after a new plan)."""
    with _lock:
        _checked.clear()
