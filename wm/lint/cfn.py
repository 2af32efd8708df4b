"""`wm cfn-lint <folder>`: cfn-lint over every rendered template, in parallel, each template once.

The same checks as `cfn-lint --include-checks I --append-rules wm/lint/cfn_rules` with
`--non-zero-exit-code informational`: every rule, informational ones included, and the
project's own rules (wm/lint/cfn_rules/). The rules and schemas load once; the templates
are then split between worker processes forked from that state (one per CPU). A template
whose bytes equal another's (a fixture's shared stack, say) is linted once, and what a
template's lint found is kept in build/cfn-lint-cache.json under the template's SHA-256,
cfn-lint's version, the source of the project's rules and of cfn_fast.py, and the region: a
template linted before, with nothing else changed, is not linted again (a clean clone, as in
CI, starts empty). A template with a StartDate is always linted: E9103's verdict on it
depends on the clock.

Once the rules load, wm/lint/cfn_fast.py makes cfn-lint do less of the same work (each
validator class built once, each schema fragment resolved once, ...): a third fewer
instructions per template, the same findings. tests/test_lint_rules.py checks that the findings
equal the cfn-lint command's.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
from pathlib import Path

RULES = Path(__file__).resolve().parent / "cfn_rules"
SKIP = ("plan-", "checkov")  # build/ also holds plans and reports that are not templates

_state: dict = {}


def templates(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.yaml") if not p.name.startswith(SKIP) and "policies" not in p.parts)


def fingerprint(region: str) -> str:
    """What, besides a template, decides what cfn-lint finds in it."""
    from importlib.metadata import version

    rules = hashlib.sha256()
    for path in [*sorted(RULES.glob("*.py")), Path(__file__).with_name("cfn_fast.py")]:
        rules.update(path.name.encode() + path.read_bytes())
    return f"cfn-lint {version('cfn-lint')}, rules {rules.hexdigest()[:16]}, {region}"


def _setup(region: str) -> None:
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner.cli import Runner

    from wm.lint import cfn_fast

    config = ConfigMixIn(include_checks=["I"], append_rules=[str(RULES)], regions=[region])
    _state["config"], _state["rules"] = config, Runner(config).rules
    cfn_fast.install(_state["rules"])


def _lint(file: str) -> tuple[str, list[list]]:
    from cfnlint.runner.template.runner import run_template_by_file_path

    found = [[m.linenumber, m.columnnumber, m.rule.id, m.message]
             for m in run_template_by_file_path(file, _state["config"], _state["rules"], False)]
    return file, found


def _load(cache: Path | None, key: str) -> dict:
    if cache is None or not cache.is_file():
        return {}
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}  # unreadable: start again
    return data.get("results", {}) if data.get("fingerprint") == key else {}


def _save(cache: Path, key: str, results: dict) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
    tmp.write_text(json.dumps({"fingerprint": key, "results": results}, sort_keys=True))
    os.replace(tmp, cache)


def lint(files: list[Path], region: str = "us-east-1", workers: int | None = None,
         cache: Path | None = None) -> tuple[list[str], int, int]:
    """Every finding (file:line:column: rule message), how many distinct templates there were, and
    how many of them were linted now (the others' findings came from the cache)."""
    by_sha: dict[str, list[str]] = {}
    clocked: set[str] = set()  # what E9103 says of these depends on the time: never from the cache
    size: dict[str, int] = {}
    for f in files:
        body = f.read_bytes()
        sha = hashlib.sha256(body).hexdigest()
        by_sha.setdefault(sha, []).append(str(f))
        size[sha] = len(body)
        if b"StartDate" in body:
            clocked.add(sha)
    key = fingerprint(region)
    results = {sha: found for sha, found in _load(cache, key).items() if sha in by_sha and sha not in clocked}
    todo = {paths[0]: sha for sha, paths in sorted(by_sha.items()) if sha not in results}
    if todo:
        _setup(region)
        workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        if workers == 1:
            done = [_lint(f) for f in sorted(todo)]
        else:
            gc.freeze()  # the loaded rules and schemas stay shared with the workers, not copied by the collector
            with multiprocessing.get_context("fork").Pool(workers) as pool:  # the workers inherit the rules
                # Largest first, one at a time: the workers finish within a small template of each other.
                order = sorted(todo, key=lambda f: (-size[todo[f]], f))
                done = list(pool.imap_unordered(_lint, order, chunksize=1))
            gc.unfreeze()
        results.update({todo[file]: found for file, found in done})
    if cache is not None:
        _save(cache, key, {sha: found for sha, found in results.items() if sha not in clocked})
    findings = sorted(f"{path}:{line}:{column}: {rule} {message}" for sha, paths in by_sha.items()
                      for path in paths for line, column, rule, message in results[sha])
    return findings, len(by_sha), len(todo)
