"""The `wm` command (pyproject.toml's [project.scripts]; `python -m wm` runs it too).

A `wm` process is short and builds most of its objects once, at import (the configuration
schema's pydantic models, troposphere's classes) and keeps them. With CPython's default
collector thresholds (700, 10, 10) the collector walks that growing heap again and again:
a tenth of `make render`'s time (bench/bench.py). So the threshold is raised before anything
heavy is imported, as mypy does for its builds; memory still is collected, only less often.

When the command is done, its objects are frozen (gc.freeze): Python's shutdown would otherwise
run the collector over every one of them again before exiting, 30 to 40 ms of `make
render`'s 0.25 s (bench/bench.py). Every file `wm` writes is closed where it is written, and
Python still flushes stdout and stderr and runs atexit handlers: only the collector's last walks
over objects the process is about to drop are skipped.
"""

from __future__ import annotations

import gc
import sys

GC_THRESHOLDS = (200_000, 30, 30)  # a young-generation collection every 200,000 allocations, not 700


def main() -> int:
    gc.set_threshold(*GC_THRESHOLDS)
    from wm.cli import main as run

    try:
        return run()
    finally:
        gc.freeze()  # skip the collector's walk over everything at shutdown (see above)


if __name__ == "__main__":
    sys.exit(main())
