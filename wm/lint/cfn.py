"""`wm cfn-lint <folder>`: cfn-lint over every rendered template, in parallel, each template once.

The same checks as `cfn-lint --include-checks I --append-rules wm/lint/cfn_rules` with
`--non-zero-exit-code informational`: every rule, informational ones included, and the
project's own rules (wm/lint/cfn_rules/). The rules and schemas load once; the templates
are then split between worker processes forked from that state (one per CPU), and a
template whose bytes equal another's (a fixture's shared stack, say) is linted only once.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
from pathlib import Path

RULES = Path(__file__).resolve().parent / "cfn_rules"
SKIP = ("plan-", "checkov")  # build/ also holds plans and reports that are not templates

_state: dict = {}


def templates(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.yaml") if not p.name.startswith(SKIP) and "policies" not in p.parts)


def _setup(region: str) -> None:
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner.cli import Runner

    config = ConfigMixIn(include_checks=["I"], append_rules=[str(RULES)], regions=[region])
    _state["config"], _state["rules"] = config, Runner(config).rules


def _lint(files: list[str]) -> list[str]:
    from cfnlint.runner.template.runner import run_template_by_file_path

    out = []
    for file in files:
        for m in run_template_by_file_path(file, _state["config"], _state["rules"], False):
            out.append(f"{m.filename}:{m.linenumber}:{m.columnnumber}: {m.rule.id} {m.message}")
    return out


def lint(files: list[Path], region: str = "us-east-1", workers: int | None = None) -> tuple[list[str], int]:
    """Every finding (file:line:column: rule message) and how many distinct templates were linted."""
    unique: dict[str, str] = {}
    for f in files:
        unique.setdefault(hashlib.sha256(f.read_bytes()).hexdigest(), str(f))
    todo = sorted(unique.values())
    _setup(region)
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    if workers == 1:
        return _lint(todo), len(todo)
    gc.freeze()  # the loaded rules and schemas stay shared with the workers, not copied by the collector
    with multiprocessing.get_context("fork").Pool(workers) as pool:  # the workers inherit the loaded rules
        found = [line for part in pool.imap_unordered(_lint, [[f] for f in todo], chunksize=4) for line in part]
    gc.unfreeze()
    return sorted(found), len(todo)
