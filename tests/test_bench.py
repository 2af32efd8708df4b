"""The benchmark still runs (no timing is asserted: make bench measures, tests do not)."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import bench  # noqa: E402


def test_bench_renders_synthetic_models(tmp_path):
    root = bench.make_root(tmp_path, 7)
    best, times, files = bench.bench_render(root, tmp_path / "out", 7)
    assert len(files) == 7 + 4 and len(times) == bench.REPEATS and best == min(times)
