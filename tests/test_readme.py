"""The README stays true: every command it shows is run by a test, and what it names exists.

- Every command of a ```sh block, and every inline `make ...`, `aws ...` or `.venv/bin/...`
  command of its text, is run by a test:
  - the runbooks ("Add a model", "Bump an image", "Deploy to prod") by tests/test_runbooks.py,
    which follows them to the letter on copies of the repository;
  - a command that acts on the local emulator, or needs no AWS at all, here, in README order,
    on a copy of the repository and a fresh emulator (the README's port 5055 replaced by a
    free one); the output a ```text block shows after it must be in what it printed;
  - a command that needs the lab's AWS account (ENV=dev or ENV=prod) here too, with no
    credentials at all: it must stop with the README's refusal before anything changes;
  - the rest only through COVERED_ELSEWHERE, which names the test that runs it.
- The map of the repository names every top-level entry git tracks, every stack builder of
  generators/ and every package and module of wm/, and every path it names exists.
- Every `make <target>` the README or docs/*.md mention is a real target, and every
  relative link of the README and the hand-written docs resolves.

The helpers for reading the README and for working on a copy of the repository are shared
with tests/test_runbooks.py.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, free_port, git, models, repo_copy

README = ROOT / "README.md"
HAND_WRITTEN_DOCS = ("docs/architecture.md", "docs/deploying.md", "docs/checks.md", "docs/emulator.md")
RUNBOOK_SECTIONS = ("Add a model", "Bump an image", "Deploy to prod")  # tests/test_runbooks.py follows these
README_PORT = "5055"  # the port the README's commands use: the Makefile's default EMULATOR_PORT
# make targets that talk to AWS: with ENV=dev or ENV=prod they need the lab's account.
AWS_TARGETS = {"deploy", "deploy-deployer", "plan", "drift", "destroy", "secret", "status", "run", "logs", "smoke",
               "migrate", "submit", "jobs", "cancel", "results"}
TEARDOWN = ("make destroy", "make emulator-stop")  # run after every other local command
# Commands the README shows that another test runs (command -> (test file, text it runs them with)).
COVERED_ELSEWHERE = {"make smoke": ("tests/test_smoke.py", 'make("smoke"'),
                     # The rehearsal's report exits non-zero by design (its planted differences).
                     "make emulator-handbuilt": ("tests/test_cutover_emulator.py", 'make("emulator-handbuilt"'),
                     "make migrate": ("tests/test_cutover_emulator.py", "migrate(rehearsal)"),
                     # A submission's ID is known only once it is submitted.
                     "make jobs ID=<id>": ("tests/test_jobs_emulator.py", 'make("jobs", f"ID={sub}"'),
                     "make cancel ID=<id>": ("tests/test_jobs_emulator.py", 'make("cancel", f"ID={sub}"'),
                     "make results ID=<id>": ("tests/test_jobs_emulator.py", 'make("results", f"ID={sub}"')}
# Output blocks with no command before them in their section, and the test that checks them.
CHECKED_ELSEWHERE = {"weekly-models dev: a run of flu-ar2 did not finish (dry run)":
                     "test_the_alert_shown_is_what_the_alert_machine_says"}
SECRET_VALUE = "xoxb-not-a-real-token"  # what the inline `make secret` reads from stdin
VENVS = (".venv", ".venv-emulator", ".venv-checkov")


# --- reading the README -----------------------------------------------------------------------

@dataclass
class Block:
    section: str   # the nearest heading above it (## or ###)
    lang: str      # sh, yaml, diff, text, ...
    body: str      # without the indentation of the list item it sits in
    before: str    # the prose between the previous block (or the heading) and this one


def blocks(text: str | None = None) -> list[Block]:
    text = README.read_text() if text is None else text
    out, section, before, lines = [], "", [], iter(text.splitlines())
    for line in lines:
        opening = re.match(r"^(\s*)```(\S*)", line)
        if not opening:
            heading = re.match(r"^#{2,3} (.+)$", line)
            if heading:
                section, before = heading[1].strip(), []
            else:
                before.append(line)
            continue
        indent, body = opening[1], []
        for inner in lines:
            if inner.strip() == "```":
                break
            body.append(inner[len(indent):] if inner.startswith(indent) else inner.lstrip())
        else:
            raise AssertionError(f"README: a ``` block under {section!r} is never closed")
        out.append(Block(section, opening[2], "\n".join(body), "\n".join(before)))
        before = []
    return out


def prose(text: str) -> str:
    """The text without its fenced blocks."""
    return re.sub(r"^([ \t]*)```.*?^\1```[ \t]*$", "", text, flags=re.M | re.S)


def section_text(title: str, text: str | None = None) -> str:
    """The text under the heading `title`, up to the next heading of the same or a higher level."""
    text = README.read_text() if text is None else text
    m = re.search(rf"^(#{{2,3}}) {re.escape(title)}[ \t]*$", text, re.M)
    assert m, f"README has no heading {title!r}"
    rest = text[m.end():]
    end = re.search(rf"^#{{1,{len(m[1])}}} ", rest, re.M)
    return rest[:end.start()] if end else rest


def commands(body: str) -> list[str]:
    """The commands of a sh block: continuation lines joined, comment lines and trailing comments dropped."""
    out, pending = [], ""
    for line in body.splitlines():
        line = pending + line.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        line = re.sub(r"\s+#[^'\"]*$", "", line).strip()
        if line and not line.startswith("#"):
            out.append(" ".join(line.split()))
    assert not pending, f"a sh block ends in a continuation line:\n{body}"
    return out


def shown_commands() -> list[tuple[str, str]]:
    """(section, command) of every ```sh block of the README, in order."""
    found = [(b.section, c) for b in blocks() if b.lang == "sh" for c in commands(b.body)]
    assert found, "found no ```sh block in README.md: has its structure changed?"
    return found


def inline_commands() -> list[tuple[str, str]]:
    """(section, command) of every inline code span of the README's text that is a command."""
    out, section = [], ""
    for part in re.split(r"^(#{2,3} .+)$", prose(README.read_text()), flags=re.M):
        if re.match(r"^#{2,3} ", part):
            section = part.lstrip("#").strip()
            continue
        for span in re.findall(r"`([^`]+)`", part):
            span = " ".join(span.split())
            if re.match(r"^(make|aws) |^\.venv/bin/", span):
                out.append((section, span))
    return out


def make_target(command: str) -> tuple[str | None, dict[str, str]]:
    """The target and the VAR=value arguments of a `make ...` command (None when it is no make command)."""
    words = shlex.split(command)
    if not words or words[0] != "make":
        return None, {}
    target = next((w for w in words[1:] if "=" not in w and not w.startswith("-")), None)
    return target, dict(w.split("=", 1) for w in words[1:] if "=" in w)


def needs_aws(command: str) -> bool:
    target, args = make_target(command)
    if target is None:
        return command.startswith("aws ") or (".venv/bin/aws" in command and "AWS_ENDPOINT_URL=" not in command)
    return target == "deploy-deployer" or (target in AWS_TARGETS and args.get("ENV", "local") in ("dev", "prod"))


def expected_lines(text: str) -> list[str]:
    """The lines of a ```text block, whitespace collapsed; a line `...` stands for lines left out."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip() and line.strip() != "..."]


def shows(output: str, line: str) -> bool:
    """Whether `output` has a line holding `line` (whitespace collapsed; `...` inside it stands for anything)."""
    pattern = ".*?".join(re.escape(piece) for piece in line.split("..."))
    return any(re.search(pattern, " ".join(out.split())) for out in output.splitlines())


def missing_lines(output: str, text: str) -> list[str]:
    return [line for line in expected_lines(text) if not shows(output, line)]


# --- a copy of the repository to run commands in --------------------------------------------

def working_copy(target: Path, fill_placeholders: bool = False) -> Path:
    """conftest.repo_copy, with the shared virtual environments linked in (as after `make install`) and
    the branch called main; git ignores the links, so the work tree is clean."""
    repo_copy(target, fill_placeholders=fill_placeholders)
    for venv in VENVS:
        (target / venv).symlink_to(ROOT / venv)
    with (target / ".git" / "info" / "exclude").open("a") as f:
        f.writelines(f"/{venv}\n" for venv in VENVS)
    # make re-installs an environment when requirements/ or pyproject.toml is newer than its
    # .installed stamp; in a copy that would re-install the shared environments from the copy.
    old = 946684800  # 2000-01-01
    for path in [target / "pyproject.toml", *(target / "requirements").iterdir()]:
        os.utime(path, (old, old))
    git(target, "branch", "-M", "main")
    git(target, "config", "user.email", "lab-member@example.org")
    git(target, "config", "user.name", "A lab member")
    assert git(target, "status", "--porcelain") == ""
    return target


def clean_env(home: Path, endpoint: str | None = None) -> dict[str, str]:
    """The caller's environment without any AWS, wm, make, git or pytest settings, and with no way to
    find AWS credentials (an empty home, no instance metadata) unless `endpoint` is the emulator."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "WM_", "MAKE", "MFLAGS", "GIT_", "PYTEST_", "PYTHON"))}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(home / "no-aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws-credentials"), AWS_EC2_METADATA_DISABLED="true")
    if endpoint:
        env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_DEFAULT_REGION="us-east-1")
    return env


def on_port(command: str, port: int | None) -> str:
    """The command aimed at the test's emulator instead of the README's port."""
    if port is None:
        return command
    command = command.replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{port}")
    return f"{command} EMULATOR_PORT={port}" if command.startswith("make ") else command


def shell(command: str, cwd: Path, home: Path, port: int | None = None, endpoint: str | None = None,
          stdin: str = "", extra_env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    """`command` run by bash in the copy `cwd`, with the copy's own code first on the path (as its own
    editable install would have it), not the code the shared environments were installed from."""
    env = clean_env(home, endpoint) | {"PYTHONPATH": str(cwd)} | (extra_env or {})
    return subprocess.run(["bash", "-c", on_port(command, port)], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def said(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def work_tree_state(root: Path) -> tuple[str, list[str]]:
    """What a command could have changed: git's view of the work tree, and every file under build/."""
    built = sorted(str(p.relative_to(root)) for p in (root / "build").rglob("*")) if (root / "build").exists() else []
    return git(root, "status", "--porcelain"), built


# --- which test runs which command ---------------------------------------------------------

def every_command() -> list[tuple[str, str, str]]:
    """(section, command, how it is covered) of every command the README shows."""
    shown = shown_commands()
    targets = {make_target(c)[0] for _, c in shown} - {None}
    out = []
    for kind, found in (("sh", shown), ("inline", inline_commands())):
        for section, command in found:
            target, args = make_target(command)
            if command in COVERED_ELSEWHERE:
                how = "elsewhere"
            elif section in RUNBOOK_SECTIONS and kind == "sh":
                how = "runbook"
            elif kind == "inline" and (command in (c for _, c in shown) or (target in targets and not args
                                                                                   and command == f"make {target}")):
                how = "shown"  # the same command, or a mention of a target a block shows in full
            elif needs_aws(command):
                how = "refused"
            elif target is not None or ".venv/bin/" in command:
                how = "local"
            else:
                how = "unknown"
            out.append((section, command, how))
    return out


def local_commands() -> list[str]:
    """The commands run here on the emulator, in README order, each once, teardown last."""
    found = list(dict.fromkeys(c for _, c, how in every_command() if how == "local"))
    return [c for c in found if c not in TEARDOWN] + [c for c in TEARDOWN if c in found]


def refused_commands() -> list[str]:
    return list(dict.fromkeys(c for _, c, how in every_command() if how == "refused"))


def test_every_command_the_readme_shows_is_covered():
    found = every_command()
    unknown = [(s, c) for s, c, how in found if how == "unknown"]
    assert not unknown, f"README commands no test runs (add them to COVERED_ELSEWHERE with their test): {unknown}"
    from test_runbooks import runbook_commands

    followed = runbook_commands()
    for section, command, how in found:
        if how == "runbook":
            assert command in followed, f"{command!r} ({section}) is not among the commands test_runbooks runs"
    for command, (test, needle) in COVERED_ELSEWHERE.items():
        assert (ROOT / test).is_file() and needle in (ROOT / test).read_text(), f"{test} does not run {command!r}"
    hows = {how for _, _, how in found}
    assert {"runbook", "local", "refused"} <= hows, hows  # the extraction still finds each kind


def test_the_readme_is_short_and_in_the_lab_members_order():
    text = README.read_text()
    assert len(text.encode()) < 21_000, f"README.md is {len(text.encode())} bytes; keep it short (docs/ holds the rest)"
    headings = re.findall(r"^#{2,3} (.+)$", text, re.M)
    expected = ["Quick start", "Runbooks", "Add a model", "Bump an image", "Deploy to prod", "Store a secret",
                "Run a model now", "Read a failure", "Model settings", "Other commands", "Glossary",
                "Map of the repository"]
    assert [h for h in headings if h in expected] == expected, headings


def test_no_counts_that_go_stale():
    counted = re.findall(r"\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten)\s+(?:models?|stacks?|templates?)\b",
                         prose(README.read_text()), re.I)
    assert not counted, f"counts of things that change: {counted} (say 'one per model' instead)"


GLOSSARY_WORDS = ("CloudFormation", "template", "stack", "Sceptre", "change set", "plan", "drift", "Fargate",
                  "Fargate Spot", "schedule", "season", "dead-letter queue", "Parameter Store", "SecureString",
                  "container contract", "run history", "silence check", "emulator", "snapshot", "placeholder")


def test_the_glossary_explains_the_words_the_readme_uses():
    glossary = section_text("Glossary")
    defined = {w.lower() for term in re.findall(r"\*\*([^*]+)\*\*", glossary) for w in re.split(r",\s*", term)}
    missing = [w for w in GLOSSARY_WORDS if w.lower() not in defined]
    assert not missing, f"the glossary does not explain {missing}"
    # Every other bold word of the README points to the glossary ("Words in **bold** are in the glossary").
    used = {w.lower() for term in re.findall(r"\*\*([^*]+)\*\*", prose(README.read_text()))
            for w in re.split(r",\s*", term)} - {"bold", "dev", "prod", "required"}  # not terms
    unexplained = {w for w in used if w not in defined and w.removesuffix("s") not in defined}
    assert not unexplained, f"bold words the glossary does not explain: {unexplained}"


def test_the_settings_table_is_filled_between_its_markers():
    from wm.reports.reference import README_BEGIN, README_END, readme_table

    lines = README.read_text().splitlines()
    assert lines.count(README_BEGIN) == 1 and lines.count(README_END) == 1, "each marker once, on its own line"
    assert readme_table() in README.read_text(), "the settings table is stale: run make refresh"
    assert README_BEGIN in section_text("Model settings")


def test_the_readme_port_is_the_makefile_default():
    assert re.search(rf"^EMULATOR_PORT \?= {README_PORT}$", (ROOT / "Makefile").read_text(), re.M)
    assert f"port {README_PORT}" in section_text("Quick start")


# --- the commands, run ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    return working_copy(tmp_path_factory.mktemp("readme") / "repo")


@dataclass
class LocalRun:
    port: int
    results: dict[str, subprocess.CompletedProcess]  # command -> what it did, in the order run


# Not a README command: the local twin of `make run ENV=dev ...`, to check the output the README quotes.
RUN_ON_THE_EMULATOR = "make run MODEL=flu-ar2"


@pytest.fixture(scope="module")
def local_run(copy, tmp_path_factory):
    """Every local command of the README, in order (teardown last), on the copy and a fresh emulator."""
    port, home = free_port(), tmp_path_factory.mktemp("home")
    results = {}
    try:
        for command in local_commands():
            if command in TEARDOWN and RUN_ON_THE_EMULATOR not in results:
                results[RUN_ON_THE_EMULATOR] = shell(RUN_ON_THE_EMULATOR, copy, home, port=port)
            results[command] = shell(command, copy, home, port=port, stdin=SECRET_VALUE + "\n")
    finally:
        shell("make emulator-stop", copy, home, port=port)
    return LocalRun(port, results)


def test_the_local_commands_succeed(local_run):
    assert next(iter(local_run.results)) == "make deploy", "the quick start should begin with make deploy"
    assert RUN_ON_THE_EMULATOR in local_run.results and list(local_run.results)[-1] in TEARDOWN
    for command, result in local_run.results.items():
        assert result.returncode == 0, f"{command}: exit {result.returncode}\n{said(result)[-3000:]}"


def test_the_outputs_shown_are_what_the_commands_print(local_run):
    all_blocks = blocks()
    checked = 0
    for i, block in enumerate(all_blocks):
        if block.lang != "text" or block.section in RUNBOOK_SECTIONS:  # the runbooks: tests/test_runbooks.py
            continue
        shell_blocks = [b for b in all_blocks[:i] if b.section == block.section and b.lang == "sh"]
        if not shell_blocks:
            assert block.body.splitlines()[0] in CHECKED_ELSEWHERE, f"no command before this output:\n{block.body}"
            continue
        run = [local_run.results[c] for c in commands(shell_blocks[-1].body) if c in local_run.results]
        assert run, f"the commands before this output are not run here:\n{shell_blocks[-1].body}"
        output = "\n".join(said(r) for r in run)
        expected = block.body.replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{local_run.port}")
        assert not missing_lines(output, expected), f"not printed: {missing_lines(output, expected)}\n{output[-3000:]}"
        checked += 1
    assert checked >= 3, "the quick start's outputs were not found"


def test_the_aws_cli_example_reads_the_schedule(local_run):
    (command,) = [c for c in local_run.results if ".venv/bin/aws " in c]
    assert "--group-name weekly-models-dev" in command
    schedule = json.loads(local_run.results[command].stdout)
    assert schedule["Name"] == "weekly-models-dev-flu-ar2-model" and schedule["GroupName"] == "weekly-models-dev"


def model_names(root: Path) -> list[str]:
    """The models of a copy (its models/<name>.yaml files), by name."""
    return sorted(p.stem for p in (root / "models").glob("*.yaml") if p.name != "config.yaml")


def test_status_has_one_row_per_model(local_run, copy):
    rows = [line.split()[0] for line in local_run.results["make status"].stdout.splitlines()[1:] if line.strip()]
    assert rows[:len(model_names(copy))] == model_names(copy) and len(model_names(copy)) == len(models("dev"))


def test_the_quoted_outputs_are_what_the_emulator_says(local_run):
    text = prose(README.read_text())
    stored = re.search(r"`(stored /weekly-models/[^`]+)`", text)[1]
    secret = next(r for c, r in local_run.results.items() if c.startswith("make secret"))
    assert shows(said(secret), stored) and f"({len(SECRET_VALUE)} characters" in stored
    started = re.search(r"`(started: arn:aws:ecs:[^`]+)`", text)[1]
    assert shows(local_run.results[RUN_ON_THE_EMULATOR].stdout, started)


def test_make_cost_options_print_what_they_say(local_run, copy):
    costs = {c: r.stdout for c, r in local_run.results.items() if c.startswith("make cost")}
    assert len(costs) == 3, costs.keys()
    everything = costs["make cost ENV=prod"]
    for name in model_names(copy):
        assert re.search(rf"^{re.escape(name)}\s+FARGATE", everything, re.M), name
    one = costs["make cost ENV=prod MODEL=flu-ar2"]
    rows = [line.split()[0] for line in one.splitlines() if re.match(r"^[a-z0-9-]+\s+FARGATE", line)]
    assert rows == ["flu-ar2"] and "total per month for flu-ar2" in one
    assert "every run priced at 90 minutes" in costs["make cost ENV=prod DURATION=90"]
    assert "90 min each" in costs["make cost ENV=prod DURATION=90"]


def refusal_quoted() -> str:
    quotes = re.findall(r"`(error: no AWS credentials found[^`]*)`", " ".join(prose(README.read_text()).split()))
    assert quotes, "the README no longer quotes the refusal of a command with no credentials"
    return quotes[0]


@pytest.mark.parametrize("command", refused_commands())
def test_commands_for_the_lab_account_stop_without_credentials(command, copy, tmp_path):
    before = work_tree_state(copy)
    result = shell(command, copy, tmp_path / "home", stdin="not-a-secret\n", timeout=120)
    assert result.returncode != 0, said(result)
    assert shows(result.stderr, refusal_quoted()), said(result)
    assert "Traceback" not in said(result)
    assert work_tree_state(copy) == before  # stopped before touching anything


def test_the_alert_shown_is_what_the_alert_machine_says():
    """The README's alert: the alerts stack's state machine wording a recorded ECS event (tests/test_alerts.py)."""
    import test_alerts
    from conftest import ecs_event

    (block,) = [b for b in blocks() if b.lang == "text" and b.body.startswith(next(iter(CHECKED_ELSEWHERE)))]
    model = next(m for m in models("dev") if m.name == "flu-ar2")
    alert = test_alerts.alert_for(f"dev/models/{model.name}", ecs_event("exit-1", model=model))["content"]
    said_ = "\n".join([alert["title"], alert["description"], "Next steps: " + "; ".join(alert["nextSteps"])])
    assert not missing_lines(said_, block.body), said_


# --- the map, the targets, the links -------------------------------------------------------------

IGNORED_TOP_LEVEL = {".gitignore"}


def map_paths() -> tuple[set[str], list[str], list[str]]:
    """The map's first-column paths, every path-like span it names, and those of its (not in git) row."""
    section = section_text("Map of the repository")
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Path")]
    assert rows, "the map of the repository has no table rows"
    top = {p.split("/")[0] for p in git(ROOT, "ls-files").splitlines()}
    first, named, untracked = set(), [], []
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        spans = re.findall(r"`([^`]+)`", row)
        paths = [s for s in spans if re.fullmatch(r"[\w.\-/<>*]+", s) and ("/" in s or "." in s or s in top)]
        if cells[0].startswith("(not in git"):
            untracked += paths
            continue
        first |= set(re.findall(r"`([^`]+)`", cells[0]))
        named += paths
    return first, named, untracked


def test_the_map_names_every_top_level_entry_builder_and_package():
    first, named, _ = map_paths()
    top = {p.split("/")[0] for p in git(ROOT, "ls-files").splitlines()} - IGNORED_TOP_LEVEL
    missing = sorted(t for t in top if t not in first and f"{t}/" not in first)
    assert not missing, f"top-level entries the map does not name: {missing}"
    wanted = [f"generators/{p.name}" for p in sorted((ROOT / "generators").glob("*.py")) if p.name != "__init__.py"]
    wanted += [f"wm/{p.parent.name}/" for p in sorted((ROOT / "wm").glob("*/__init__.py"))]
    wanted += [f"wm/{p.name}" for p in sorted((ROOT / "wm").glob("*.py")) if p.name != "__init__.py"]
    assert not [w for w in wanted if w not in named], f"not in the map: {[w for w in wanted if w not in named]}"


def test_every_path_the_map_names_exists():
    _, named, untracked = map_paths()
    assert named and untracked
    for path in named:
        pattern = re.sub(r"<[^>]+>", "*", path).rstrip("/")
        assert list(ROOT.glob(pattern)) if "*" in pattern else (ROOT / pattern).exists() or \
            (ROOT / pattern).is_symlink(), f"the map names {path}, which does not exist"
    for path in untracked:
        ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", path])
        assert ignored.returncode == 0, f"the map says {path} is not in git, but git does not ignore it"


def make_targets() -> set[str]:
    listed = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
                            env=clean_env(Path("/nonexistent-home")))
    targets = set(re.findall(r"^\s+make (\S+)", listed.stdout, re.M))
    assert "deploy" in targets, listed.stdout + listed.stderr
    return targets | set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


def code_of(text: str) -> list[str]:
    """Every fenced block and inline code span of a Markdown text."""
    fenced = [m[2] for m in re.finditer(r"^([ \t]*)```[^\n]*\n(.*?)^\1```", text, re.M | re.S)]
    return fenced + re.findall(r"`([^`]+)`", prose(text))


@pytest.mark.parametrize("doc", ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))])
def test_every_make_target_mentioned_is_real(doc):
    targets = make_targets()
    mentioned = {m for code in code_of((ROOT / doc).read_text())
                 for m in re.findall(r"\bmake\s+(?:-\S+\s+|[A-Z_]+=\S*\s+)*([a-z][\w-]*)", code)}
    assert mentioned - targets == set(), f"{doc} mentions make targets that do not exist: {mentioned - targets}"


def slugs(markdown: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(markdown), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        out.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return out


@pytest.mark.parametrize("doc", ["README.md", *HAND_WRITTEN_DOCS])
def test_every_relative_link_resolves(doc):
    path = ROOT / doc
    links = re.findall(r"\]\(([^)\s]+)\)", prose(path.read_text()))
    assert links, f"{doc} has no links"
    for link in links:
        if re.match(r"^[a-z]+:", link):
            continue
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        assert file.is_file(), f"{doc} links to {link}, which does not exist"
        if anchor and file.suffix == ".md":
            assert anchor in slugs(file.read_text()), f"{doc} links to {link}: no such heading in {file.name}"
