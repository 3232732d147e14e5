"""The benchmark of issue #5 runs end to end at tiny sizes, so it cannot rot.

Nothing here asserts a time (a shared machine's timings vary too much to fail a test on):
only that every section ran, that the floor wrote exactly the rows kopflow wrote (``--quick``
compares the databases), and that the results file and the table hold every measure and
target.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_quick_runs_every_section(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out),
         "--workdir", str(tmp_path / "work")],
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    results = report["results"]
    assert {"import", "bulk_sqlite", "verify", "cli", "pg", "partner", "checks"} <= set(results)
    assert "partnership 40" in results["checks"]  # issue #16: the floor wrote the same rows
    for size, partner in results["partner"].items():
        assert partner["kopflow_events"] == partner["floor_events"] == 2 * int(size)
    assert report["events_per_coop"] == 26
    for what, check in results["checks"].items():
        assert check["problems"] == [], what
        assert check["events_compared"] > 0, what
    for size, bulk in results["bulk_sqlite"].items():
        if size.isdigit():
            assert bulk["kopflow_events"] == bulk["floor_events"] == 26 * int(size)
    assert results["verify"]["kopflow_events"] == results["verify"]["floor_events"]
    assert {"show_big", "step_big", "advance_big", "help", "sqlmodel"} <= set(
        results["cli"]["median_s"]
    )
    names = [t["name"] for t in report["targets"]]
    assert any(n.startswith("bulk advance SQLite") for n in names)
    assert any(n.startswith("national import") for n in names)
    assert any(n.startswith("audit verify") for n in names)
    assert any(n.startswith("kopflow --help") for n in names)
    assert "targets not met" in proc.stdout
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())
