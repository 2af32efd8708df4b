"""The project's cfn-lint rules (wm/lint/cfn_rules) against their fixtures (tests/fixtures/lint).

cfn-lint runs with the options `make lint` gives it through `wm cfn-lint` (wm/lint/cfn.py: the
project's rules appended, informational checks included), in a subprocess, once over every
fixture; each fixture is then checked on its own:
good*.yaml gives no finding at all, bad*.yaml gives findings of its folder's rule and no other.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "wm" / "lint" / "cfn_rules"
FIXTURES = ROOT / "tests" / "fixtures" / "lint"
# The clock the E9103 (StartDate) fixtures are written against.
LINT_NOW = "2026-06-01T12:00:00Z"
FIXTURE_FILES = sorted(FIXTURES.glob("*/*.yaml"))
EXPECTED = re.compile(r"^# expected-matches: (\d+)$", re.MULTILINE)


def _cfn_lint() -> Path:
    for candidate in (Path(sys.executable).parent / "cfn-lint", ROOT / ".venv" / "bin" / "cfn-lint"):
        if candidate.exists():
            return candidate
    raise AssertionError("cfn-lint not found next to this Python or in .venv/bin: run make install")


def _rule_files() -> dict[str, Path]:
    """Rule id -> file, for the files cfn-lint loads from the folder (its pattern: [A-Za-z1-9]*.py)."""
    found = {}
    for path in sorted(RULES_DIR.glob("[A-Za-z1-9]*.py")):
        m = re.search(r'^\s+id = "([EWI]\d{4})"', path.read_text(), re.MULTILINE)
        assert m, f"{path.name} declares no rule id"
        assert m.group(1) not in found, f"{m.group(1)} declared twice"
        found[m.group(1)] = path
    return found


RULE_IDS = set(_rule_files())


def run_cfn_lint(files: list[Path], now: str = LINT_NOW) -> list[dict]:
    """cfn-lint's JSON findings for `files`, with the project's rules and the given clock."""
    env = dict(os.environ, WM_LINT_NOW=now)
    proc = subprocess.run(
        [str(_cfn_lint()), "--append-rules", "wm/lint/cfn_rules", "--include-checks", "I",
         "--format", "json", "--", *(str(f.relative_to(ROOT)) for f in files)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    # The exit code is a bitmask of the levels found (2 error, 4 warning, 8 informational).
    assert proc.returncode & 1 == 0, f"cfn-lint failed ({proc.returncode}): {proc.stderr}"
    try:
        return json.loads(proc.stdout or "[]")
    except ValueError as err:
        raise AssertionError(f"cfn-lint printed no JSON: {proc.stdout[:500]} {proc.stderr[:500]}") from err


@pytest.fixture(scope="module")
def findings() -> dict[str, list[dict]]:
    """Fixture path (relative to the repository) -> its findings, from one cfn-lint run."""
    by_file: dict[str, list[dict]] = {str(f.relative_to(ROOT)): [] for f in FIXTURE_FILES}
    for match in run_cfn_lint(FIXTURE_FILES):
        by_file.setdefault(match["Filename"], []).append(match)
    return by_file


def _summary(matches: list[dict]) -> str:
    return "\n".join(f"{m['Rule']['Id']} {'/'.join(map(str, m['Location']['Path'] or []))}: {m['Message']}"
                     for m in matches)


def test_the_rules_load_and_every_rule_has_good_and_bad_fixtures():
    assert RULE_IDS, "no rule files in wm/lint/cfn_rules"
    listed = subprocess.run([str(_cfn_lint()), "--append-rules", "wm/lint/cfn_rules", "--list-rules"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout
    for rule_id in sorted(RULE_IDS):
        assert re.search(rf"^{rule_id}: ", listed, re.MULTILINE), f"cfn-lint did not load {rule_id}"
        folder = FIXTURES / rule_id
        assert sorted(folder.glob("good*.yaml")), f"{rule_id} has no good*.yaml in {folder}"
        assert sorted(folder.glob("bad*.yaml")), f"{rule_id} has no bad*.yaml in {folder}"
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert folders <= RULE_IDS, f"fixture folders without a rule: {sorted(folders - RULE_IDS)}"


def test_make_lint_runs_the_project_rules(monkeypatch):
    lint = re.search(r"^lint:.*?(?=^\S)", (ROOT / "Makefile").read_text(), re.MULTILINE | re.DOTALL)
    assert lint and re.search(r"\$\(WM\) cfn-lint build\b", lint.group(0)), "make lint no longer runs wm cfn-lint"
    # What `wm cfn-lint` runs finds every project rule's bad fixture (in this process: no fork).
    from wm.lint import cfn

    monkeypatch.setenv("WM_LINT_NOW", LINT_NOW)
    bad = [sorted((FIXTURES / rule_id).glob("bad*.yaml"))[0] for rule_id in sorted(RULE_IDS)]
    found, _, _ = cfn.lint(bad, workers=1)
    assert {m.group(1) for line in found if (m := re.search(r": ([EWI]\d{4}) ", line))} == RULE_IDS, found


CORE = ROOT / "tests" / "fixtures" / "cfn-lint" / "breaks-cfn-lint-rules.yaml"


def test_the_project_runner_finds_what_the_cfn_lint_command_finds(monkeypatch):
    """With wm/lint/cfn_fast.py's speed-ups installed, over a template breaking many of cfn-lint's
    own rules (a per-resource-type one among them), every project rule's fixtures and one stack of
    each kind, the runner's findings are the command's, line, column and message alike."""
    from conftest import environment, rendered

    from wm.lint import cfn

    monkeypatch.setenv("WM_LINT_NOW", LINT_NOW)
    build = ROOT / "build" / "test-runner-equals-command"
    build.mkdir(parents=True, exist_ok=True)
    first_of_kind: dict[str, str] = {}
    for path, stack in environment("dev").stacks.items():
        first_of_kind.setdefault(stack.kind, path)
    stacks = [build / f"{kind}.yaml" for kind in sorted(first_of_kind)]
    for file in stacks:
        file.write_text(rendered("dev")[first_of_kind[file.stem]])
    files = [CORE, *FIXTURE_FILES, *stacks]
    ours, _, _ = cfn.lint(files, workers=1)
    theirs = sorted(f"{ROOT / m['Filename']}:{m['Location']['Start']['LineNumber']}:"
                    f"{m['Location']['Start']['ColumnNumber']}: {m['Rule']['Id']} {m['Message']}"
                    for m in run_cfn_lint(files))
    assert len({line.split(": ")[1].split()[0] for line in theirs if line.startswith(str(CORE))}) >= 15
    assert any(" E3050 " in line for line in theirs if line.startswith(str(CORE)))  # a per-resource rule
    assert ours == theirs


def test_validator_classes_are_built_once_per_distinct_set_of_handlers():
    from cfnlint.jsonschema.validators import CfnTemplateValidator

    from wm.lint import cfn_fast

    cfn_fast.share_validator_classes()
    validator = CfnTemplateValidator({})
    same = validator.extend(validators={"maxLength": _handler})
    assert validator.extend(validators={"maxLength": _handler}) is same  # without sharing: a new class each call
    assert validator.extend(validators={"maxLength": _other_handler}) is not same
    assert validator.extend(validators={"maxLength": _handler}, function_filter=_filter(False)) is not same


def test_the_copies_of_cfn_lints_code_are_of_the_installed_cfn_lint():
    """cfn_fast.run_rules and cfn_lint_keywords copy cfn-lint's code; after an upgrade that changed
    it a copy is no longer installed (cfn-lint's own, slower, runs) and this test says what to do."""
    from wm.lint import cfn, cfn_fast

    cfn._setup("us-east-1")
    found = cfn_fast.copies(cfn._state["rules"])
    assert {name for name, *_ in found} == set(cfn_fast.COPIED)
    for name, owner, attribute, copy in found:
        theirs = cfn_fast.ORIGINAL.get(name, getattr(owner, attribute))
        assert cfn_fast.source_hash(theirs) == cfn_fast.COPIED[name], (
            f"cfn-lint's {name} changed: copy it again into wm/lint/cfn_fast.py, keeping the marked "
            f"changes, and set COPIED[{name!r}] to {cfn_fast.source_hash(theirs)!r}")
        assert getattr(owner, attribute) is copy, name


@pytest.mark.parametrize("name", ["Rules.run", "CfnLint.cfnLint"])
def test_each_copy_yields_what_cfn_lints_own_yields(name, monkeypatch):
    """The same matches in the same order and the same rules recorded as used, template by template,
    with cfn-lint's own code and with the copy that replaces it."""
    from wm.lint import cfn, cfn_fast

    monkeypatch.setenv("WM_LINT_NOW", LINT_NOW)
    cfn._setup("us-east-1")
    rules = cfn._state["rules"]
    (owner, attribute, copy), = [rest for n, *rest in cfn_fast.copies(rules) if n == name]
    for file in [CORE, *FIXTURE_FILES]:
        seen = []
        for code in (cfn_fast.ORIGINAL[name], copy):
            monkeypatch.setattr(owner, attribute, code)
            rules._used_rules.clear()
            _, found = cfn._lint(str(file))
            seen.append((found, sorted(rules.used_rules)))
        assert seen[0][0] or file != CORE, "cfn-lint found nothing in the template made to break its rules"
        assert seen[0] == seen[1], file


def test_each_template_indexes_e1101s_child_rules_again(monkeypatch):
    """run_rules drops E1101's keyword index once the rules are configured for a template: an index
    left from before (here one that finds nothing) is not used."""
    from wm.lint import cfn, cfn_fast

    monkeypatch.setenv("WM_LINT_NOW", LINT_NOW)
    cfn._setup("us-east-1")
    e1101 = cfn._state["rules"].data["E1101"]
    _, found = cfn._lint(str(CORE))
    vars(e1101)[cfn_fast.INDEX] = (tuple(e1101.child_rules.values()), {})
    assert cfn._lint(str(CORE))[1] == found


def test_the_keyword_index_keeps_each_rules_order_and_refuses_what_cannot_be_a_key():
    from wm.lint import cfn_fast

    a, b, c = (_keyword_rule(i, kw) for i, kw in (("E1", ["x", "y"]), ("E2", ["x", "x"]), ("", ["x"])))
    assert cfn_fast._keyword_index((a, None, b, c)) == {"x": [a, b, b], "y": [a]}
    assert cfn_fast._keyword_index((a, _keyword_rule("E3", [["not", "a", "key"]]))) is None


def _keyword_rule(rule_id: str, keywords: list):
    from cfnlint.rules import CloudFormationLintRule

    rule = CloudFormationLintRule()
    rule.id, rule.keywords = rule_id, keywords
    return rule


class _OwnResourceMatch:
    def matchall_resource_properties(self, filename, cfn, resource_properties, property_type, path):
        return []


@pytest.mark.parametrize(("make", "looks"), [
    (lambda r: None, False),  # cfn-lint's own method, no types: it would return at once for every resource
    (lambda r: r.resource_property_types.append("AWS::CodeBuild::Project"), True),
    (lambda r: setattr(r, "resource_property_types", None), True),  # cfn-lint's own reports the error
    (lambda r: setattr(r, "matchall_resource_properties", _OwnResourceMatch().matchall_resource_properties), True),
], ids=["no-types", "types", "types-not-a-list", "own-method"])
def test_run_rules_passes_over_only_the_rules_that_would_do_nothing_per_resource(make, looks):
    from cfnlint.rules import CloudFormationLintRule

    from wm.lint import cfn_fast

    rule = CloudFormationLintRule()
    make(rule)
    assert cfn_fast._looks_at_resources(rule) is looks


def test_a_template_linted_again_resolves_no_fragment_and_reads_no_fields(monkeypatch):
    """cfn_fast keeps what depends only on cfn-lint's schemas and classes: linting a template again
    resolves no schema fragment and asks dataclasses for no class's fields."""
    from wm.lint import cfn, cfn_fast

    cfn._setup("us-east-1")
    calls: list[str] = []
    for name in ("resolve_fragment", "fields"):
        monkeypatch.setitem(cfn_fast.ORIGINAL, name, _counting(cfn_fast.ORIGINAL[name], calls, name))
    cfn_fast._FRAGMENTS.clear()
    cfn_fast._FIELDS.clear()
    cfn._lint(str(CORE))
    assert set(calls) == {"resolve_fragment", "fields"}  # what cfn-lint calls, kept the first time
    calls.clear()
    cfn._lint(str(CORE))
    assert calls == []


def _counting(function, calls: list, kind: str):
    def counted(*args, **kwargs):
        calls.append(kind)
        return function(*args, **kwargs)

    return counted


def _handler(validator, value, instance, schema):
    yield from ()


def _other_handler(validator, value, instance, schema):
    yield from ()


def _filter(add_cfn_lint_keyword: bool):
    from cfnlint.jsonschema._filter import FunctionFilter

    return FunctionFilter(add_cfn_lint_keyword=add_cfn_lint_keyword)


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture(fixture: Path, findings):
    rule_id = fixture.parent.name
    matches = findings[str(fixture.relative_to(ROOT))]
    kind = fixture.name.split("_", 1)[0].removesuffix(".yaml")
    assert kind in ("good", "bad"), f"{fixture.name}: a fixture's name starts with good or bad"
    if kind == "good":
        assert matches == [], f"{fixture.name} should give no finding:\n{_summary(matches)}"
        return
    ids = {m["Rule"]["Id"] for m in matches}
    assert ids == {rule_id}, f"{fixture.name} should give {rule_id} only:\n{_summary(matches)}"
    expected = EXPECTED.search(fixture.read_text())
    if expected:
        assert len(matches) == int(expected.group(1)), _summary(matches)
    for m in matches:
        path = m["Location"]["Path"]
        # Each finding points at a property of a resource, not at the template or the resource.
        assert path[0] == "Resources" and path[2] == "Properties" and len(path) >= 4, m
        assert m["Level"] == "Error", m


def test_start_date_rule_follows_the_clock_override():
    bad = FIXTURES / "E9103" / "bad_start_date_passed.yaml"
    # A month earlier, both StartDates are still ahead.
    assert run_cfn_lint([bad], now="2026-05-01T00:00:00Z") == []
    broken = run_cfn_lint([bad], now="next tuesday")
    assert {m["Rule"]["Id"] for m in broken} == {"E0002"}
    assert all("WM_LINT_NOW" in m["Message"] for m in broken)


def test_the_lint_cache_reuses_only_what_cannot_have_changed(tmp_path, monkeypatch):
    """A template linted before is not linted again; its findings are; a clock-dependent one always is."""
    from wm.lint import cfn

    monkeypatch.setenv("WM_LINT_NOW", LINT_NOW)
    cache = tmp_path / "cache.json"
    bad = sorted((FIXTURES / "E9102").glob("bad*.yaml"))[0]
    clocked = sorted((FIXTURES / "E9103").glob("bad*.yaml"))[0]
    copy = tmp_path / "same-bytes.yaml"
    copy.write_bytes(bad.read_bytes())
    first, distinct, linted = cfn.lint([bad, copy, clocked], workers=1, cache=cache)
    assert (distinct, linted) == (2, 2)
    again, _, linted_again = cfn.lint([bad, copy, clocked], workers=1, cache=cache)
    assert again == first and linted_again == 1  # only the one with a StartDate
    assert any(line.startswith(f"{copy}:") and " E9102 " in line for line in again)  # every path reported
    (tmp_path / "rules").mkdir()
    monkeypatch.setattr(cfn, "RULES", tmp_path / "rules")  # other rules: nothing cached is valid
    assert cfn._load(cache, cfn.fingerprint("us-east-1")) == {}
