"""`make refresh`: everything generated from the code, written (or checked) in one go.

- the reviewed snapshots of every rendered template: the real fleet (tests/snapshots/<env>/)
  and the minimal and maximal fixtures (tests/snapshots/<fixture>/dev/), rendered as of
  `project.docs_as_of` so they change only when the code or the configuration does;
- docs/infrastructure.md and docs/architecture-<env>.dot (wm/reports/inventory.py), and the
  diagrams drawn from them, docs/architecture-<env>.svg (graphviz);
- docs/configuration.md, docs/model.schema.json and the README's table of model settings
  (wm/reports/reference.py).

`make test` runs the check: it fails when any of these differs from what `make refresh`
would write, or when a file it would no longer write is still there (a removed model's
snapshot). Each drawn diagram records the SHA-256 of the .dot it was drawn from, so the
check needs no graphviz and does not depend on its version.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from generators import render
from wm.config import resolve
from wm.reports import inventory, reference

FIXTURES = ("minimal", "maximal")  # tests/fixtures/<name>: a dev environment each
DOC_ENVS = ("dev", "prod")
SNAPSHOT_ENVS = ("dev", "prod", "account")
DIAGRAM_MARK = "<!-- weekly-models: drawn by make refresh from {dot} sha256:{sha} -->"


class RefreshError(Exception):
    """Something `make refresh` cannot do here (the message says how to fix it)."""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def expected(root: Path) -> dict[str, str]:
    """Repository-relative path -> the text `make refresh` writes there (diagrams aside)."""
    files: dict[str, str] = {}
    moment = resolve.docs_moment(root)
    documented = []
    for env in SNAPSHOT_ENVS:
        e = resolve.load(root, env, now=moment, graph=env in DOC_ENVS)
        if env in DOC_ENVS:
            documented.append(e)
        for path, stack in e.stacks.items():
            files[f"tests/snapshots/{path}.yaml"] = render(stack)
    for fixture in FIXTURES:
        where = root / "tests" / "fixtures" / fixture
        e = resolve.load(where, "dev", now=resolve.docs_moment(where), graph=False)
        for path, stack in e.stacks.items():
            files[f"tests/snapshots/{fixture}/{path}.yaml"] = render(stack)
    for name, text in inventory.generated(root, documented).items():
        files[f"docs/{name}"] = text
    files["docs/configuration.md"] = reference.configuration_md()
    files["docs/model.schema.json"] = reference.model_schema()
    readme = (root / "README.md").read_text()
    files["README.md"] = reference.with_readme_table(readme)
    return files


def diagrams(files: dict[str, str]) -> dict[str, str]:
    """docs/architecture-<env>.svg -> the mark it must carry (the sha of its .dot source)."""
    out = {}
    for env in DOC_ENVS:
        dot = f"docs/architecture-{env}.dot"
        out[f"docs/architecture-{env}.svg"] = DIAGRAM_MARK.format(dot=dot, sha=_sha(files[dot]))
    return out


def managed(root: Path) -> set[str]:
    """Files `make refresh` owns: any of them it would not write again is stale."""
    found = {str(p.relative_to(root)) for p in (root / "tests" / "snapshots").rglob("*") if p.is_file()}
    found |= {str(p.relative_to(root)) for p in (root / "docs").glob("architecture-*")}
    return found


def stale(root: Path, files: dict[str, str], marks: dict[str, str]) -> list[str]:
    out = []
    for rel, text in files.items():
        path = root / rel
        if not path.is_file() or path.read_text() != text:
            out.append(rel)
    for rel, mark in marks.items():
        path = root / rel
        if not path.is_file() or mark not in path.read_text():
            out.append(rel)
    out += sorted(managed(root) - set(files) - set(marks))
    return out


def draw(dot_source: str, mark: str) -> str:
    dot = shutil.which("dot")
    if dot is None:
        raise RefreshError("drawing the diagrams needs graphviz's dot: make refresh installs it on Debian as root; "
                           "otherwise sudo apt-get install graphviz (or brew install graphviz)")
    svg = subprocess.run([dot, "-Tsvg"], input=dot_source, capture_output=True, text=True, check=True).stdout
    head, sep, body = svg.partition("<svg")
    return f"{head}{mark}\n{sep}{body}"


def run(root: Path, check: bool, say: Callable[[str], None] = print) -> list[str]:
    """Write everything (or only compare, with `check`); the paths that were or are out of date."""
    files = expected(root)
    marks = diagrams(files)
    out_of_date = stale(root, files, marks)
    if check:
        if not out_of_date:
            say(f"refresh: {len(files) + len(marks)} generated files are up to date")
        return out_of_date
    for rel in out_of_date:
        path = root / rel
        if rel in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[rel])
        elif rel in marks:
            env = rel.removeprefix("docs/architecture-").removesuffix(".svg")
            path.write_text(draw(files[f"docs/architecture-{env}.dot"], marks[rel]))
        else:
            path.unlink()
    for folder in sorted((root / "tests" / "snapshots").rglob("*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    say(f"refresh: wrote {len(out_of_date)} of {len(files) + len(marks)} generated files"
        + (f" ({', '.join(out_of_date[:8])}{', ...' if len(out_of_date) > 8 else ''})" if out_of_date else "")
        + "; review with git diff, then commit")
    return out_of_date
