"""The benchmark (issues #5, #15) runs end to end at tiny sizes, so it cannot rot.

Nothing here asserts a time (a shared machine's timings vary too much to fail a test on):
``bench/run.py --quick`` runs once for the module, and the tests check that every section
ran, that the floors wrote exactly the rows kopflow wrote (``--quick`` compares the
databases, bodies byte for byte), and that every ratio is a sane number.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out),
         "--workdir", str(tmp / "work")],
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text(encoding="utf-8")), proc.stdout, tmp / "work"


def _ratios(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every value under a key naming a ratio, anywhere in the results."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}"
            if "ratio" in key and not isinstance(value, dict | list):
                yield here, value
            else:
                yield from _ratios(value, here)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _ratios(value, f"{path}[{i}]")


def test_every_section_ran(quick: tuple[dict[str, Any], str, Path]) -> None:
    report, stdout, work = quick
    results = report["results"]
    for section in ("import", "bulk_sqlite", "verify", "cli", "pg", "partner", "checks"):
        assert section in results, f"section {section} missing from the results"
    # scripts/install puts the bench extra in the dev venv: every peer library is measured.
    for table in ("simple", "same_rows"):
        rows = results["peers"][table]["rows"]
        assert {r["name"] for r in rows if r["status"] != "ok"} == set(), table
        assert any(r["name"] == "kopflow" for r in rows), table
    assert {line["name"] for line in results["internals"]["lines"]} >= {
        "c_make_encoder", "rich-blocked", "coopview-new", "gc-paused", "direct-routes"
    }  # fmt: skip
    assert report["events_per_coop"] == 26
    for size, bulk in results["bulk_sqlite"].items():
        if size.isdigit():
            assert bulk["kopflow_events"] == bulk["floor_events"] == 26 * int(size)
            assert bulk["old_floor_events"] == bulk["floor_events"]
    assert results["verify"]["kopflow_events"] == results["verify"]["floor_events"]
    assert results["verify"]["old_floor_events"] == results["verify"]["floor_events"]
    for size, partner in results["partner"].items():
        assert partner["kopflow_events"] == partner["floor_events"] == 2 * int(size)
    assert {"status_big", "show_big", "step_big", "advance_big", "help", "sqlmodel"} <= set(
        results["cli"]["median_cpu_s"]
    )
    names = [t["name"] for t in report["targets"]]
    for start in ("bulk lifecycle SQLite", "per-event CPU cost", "national import",
                  "audit verify vs the bare hashlib", "kopflow --help", "status: CPU",
                  "show: CPU", "step: CPU", "bulk attendance"):  # fmt: skip
        assert any(n.startswith(start) for n in names), f"no target {start!r}: {names}"
    assert "targets not met" in stdout
    assert not work.exists() or not any(work.iterdir()), "the work folder was left behind"


def test_every_check_found_the_same_rows(quick: tuple[dict[str, Any], str, Path]) -> None:
    checks = quick[0]["results"]["checks"]
    expected = {"import", "bulk 40", "bulk 40 old floor", "partnership 40"}
    assert expected <= set(checks), f"comparisons missing: {set(checks)}"
    if "skipped" not in quick[0]["results"]["pg"]:
        assert {"pg 30", "pg 30 old floor"} <= set(checks)
    for what, check in checks.items():
        assert check["problems"] == [], what
        assert check["events_compared"] > 0, what


def test_every_ratio_is_positive_and_finite(quick: tuple[dict[str, Any], str, Path]) -> None:
    report = quick[0]
    found = list(_ratios(report["results"]))
    assert len(found) >= 12, f"too few ratios in the results: {found}"
    for where, value in found:
        assert isinstance(value, int | float), f"{where} is {value!r}"
        assert math.isfinite(value) and value > 0, f"{where} is {value!r}"
    for target in report["targets"]:
        assert math.isfinite(target["value"]), target
