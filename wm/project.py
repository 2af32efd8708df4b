"""Where the repository is, and which commit it is at.

The repository is `WM_ROOT` when set, else the current folder when it holds
config/config.yaml (so a copy of the repository works with any installed `wm`), else
the checkout this package was installed from.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def root() -> Path:
    if os.environ.get("WM_ROOT"):
        return Path(os.environ["WM_ROOT"]).resolve()
    here = Path.cwd()
    if (here / "config" / "config.yaml").is_file():
        return here.resolve()
    return PACKAGE_ROOT


def _git(where: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True).stdout.strip()
    except OSError:  # no git on this machine
        return ""


def commit(where: Path) -> str:
    """HEAD's commit, with -dirty when the work tree has uncommitted changes."""
    head = _git(where, "rev-parse", "HEAD") or "no-commit"
    return head + ("-dirty" if _git(where, "status", "--porcelain") else "")


def repository(where: Path) -> str:
    return _git(where, "remote", "get-url", "origin") or "not recorded"


def export_commit(where: Path) -> None:
    """Set WM_COMMIT and WM_REPOSITORY, which config/config.yaml tags every stack with, unless make did."""
    os.environ.setdefault("WM_COMMIT", commit(where))
    os.environ.setdefault("WM_REPOSITORY", repository(where))
