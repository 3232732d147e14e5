"""Bulk output for a reader (issue #12): refusals grouped by reason, a few names per reason,
the whole list with --verbose and in --json, and an exit code for a partial refusal."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.cli.clihelp import run
from tests.db_helpers import db_state

BULELENG = "Kabupaten Buleleng"


@pytest.fixture
def buleleng(kopflow: Any) -> Any:
    """148 cooperatives of Buleleng in formation, three of them with socialisation done."""
    from kopflow import regions

    kopflow.register(regions.seeds_from_areaid(kabupaten=BULELENG), source="test")
    coops = [r["id"] for r in kopflow.list_coops(kabupaten=BULELENG, limit=3)]
    kopflow.complete_steps_bulk([(c, "socialisation", {"date": "2025-06-01"}) for c in coops])
    return kopflow


def test_a_dry_run_of_a_whole_kabupaten_fits_on_a_screen(runner: CliRunner, buleleng: Any) -> None:
    url = buleleng.url
    before = db_state(url)
    result = run(runner, url, "--lang", "en", "advance", "--where-stage", "formation", "--dry-run")
    assert result.exit_code == 3 and result.stderr == ""  # every cooperative refused
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "Dry run: nothing was written. A real run would give:",
        "Cooperatives: 0 moved on, 148 refused.",
        "Refused, by reason:",
    ]
    assert lines[3].startswith(
        "  145 × cannot Complete formation (complete_formation) from stage Formation (formation);"
    )
    assert lines[4].count("KDMP-") == 5 and lines[4].endswith(" and 140 more")
    assert (
        lines[5].startswith("  3 × ")
        and "missing steps of Formation (formation): Special village deliberation (Musdesus)"
        in lines[5]
    )
    assert lines[6].count("KDMP-") == 3
    assert lines[7] == "Every refused cooperative: add --verbose, or --json."
    assert len(lines) == 8  # 148 refusals in eight lines, not 149
    assert db_state(url) == before

    real = run(runner, url, "--lang", "en", "advance", "--where-stage", "formation")
    assert real.exit_code == 3 and real.stdout.splitlines()[0].startswith("Cooperatives: 0")
    every = run(
        runner, url, "--lang", "en", "advance", "--where-stage", "formation", "--verbose"
    ).stdout.splitlines()
    named = [line.strip() for line in every if line.startswith("      ")]
    assert len(named) == len(set(named)) == 148
    data = json.loads(
        run(runner, url, "advance", "--where-stage", "formation", "--dry-run", "--json").stdout
    )
    assert (data["done"], data["refused"], len(data["refusals"])) == (0, 148, 148)
    assert [r["count"] for r in data["reasons"]] == [145, 3]
    assert sorted(c for r in data["reasons"] for c in r["coops"]) == sorted(named)


def test_the_summary_in_indonesian(runner: CliRunner, buleleng: Any) -> None:
    result = run(runner, buleleng.url, "--lang", "id", "advance", "--where-stage", "formation")
    lines = result.stdout.splitlines()
    assert lines[0] == "Koperasi: 0 pindah tahap, 148 ditolak."
    assert lines[1] == "Ditolak, menurut alasan:"
    assert lines[3].endswith(" dan 140 lainnya")
    assert lines[-1] == "Semua koperasi yang ditolak: tambahkan --verbose, atau --json."


def test_a_partial_refusal_has_its_own_exit_code(runner: CliRunner, buleleng: Any) -> None:
    """Some moved, some refused: 8, neither 0 (all done) nor 3 (all refused)."""
    coops = [r["id"] for r in buleleng.list_coops(kabupaten=BULELENG, limit=2)]
    stage = buleleng.workflow.stage("formation")
    rows = [(c, s.id, _evidence(s)) for c in coops for s in stage.steps if s.required]
    rows = [r for r in rows if r[1] != "socialisation"]
    assert not buleleng.complete_steps_bulk(rows).refused
    result = run(runner, buleleng.url, "--lang", "en", "advance", "--where-stage", "formation")
    assert result.exit_code == 8
    assert result.stdout.startswith("Cooperatives: 2 moved on, 146 refused.")
    legal = run(runner, buleleng.url, "advance", "--where-stage", "legal", "--dry-run")
    assert legal.exit_code == 3  # the two have nothing of legal done: all refused


def _evidence(step: Any) -> dict[str, Any]:
    from kopflow.flow.samples import sample_evidence

    # Seed 100 dates the steps 2025-07-10, after the socialisation of 2025-06-01: the
    # definition refuses a Musdesus dated before it (issue #12, point 9).
    return dict(sample_evidence(step, 100))


def test_refusals_for_one_reason_share_one_string(buleleng: Any) -> None:
    """Hundreds of thousands of refusals hold a handful of reasons, not one copy each."""
    result = buleleng.advance_bulk(stage="formation", kabupaten=BULELENG, dry_run=True)
    reasons = {id(o.why.reason) for o in result.refused if o.why is not None}
    assert len(result.refused) == 148 and len(reasons) == 2
    assert all(o.why is not None and o.coop_id not in o.why.reason for o in result.refused)


def test_the_roots_verbose_lists_every_cooperative_too(runner: CliRunner, buleleng: Any) -> None:
    args = ("advance", "--where-stage", "formation", "--dry-run")
    every = run(runner, buleleng.url, "--lang", "en", "-v", *args).stdout.splitlines()
    assert len([line for line in every if line.startswith("      KDMP-")]) == 148


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
def test_on_an_80_column_terminal_the_summary_wraps_at_words(buleleng: Any, tmp_path: Path) -> None:
    """In a pseudo-terminal 80 columns wide, no line of the summary is wider."""
    kopflow = Path(sys.executable).parent / "kopflow"
    command = (
        f"stty cols 80; {shlex.quote(str(kopflow))} --lang id --db {shlex.quote(buleleng.url)} "
        "advance --where-stage formation --dry-run"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    env.update(KOPFLOW_LOG=str(tmp_path / "kopflow.log"), TERM="dumb")
    env.pop("COLUMNS", None)
    done = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.replace("\r", "").splitlines()
    assert done.returncode == 3, done.stdout
    assert "Ditolak, menurut alasan:" in lines
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith("        ") for line in lines)  # a reason went on a second line
