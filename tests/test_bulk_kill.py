"""A bulk ``kopflow advance`` killed with SIGKILL halfway leaves every cooperative fully moved
or untouched, the audit chain whole, and a second run finishes the rest (issue #2).

A real ``kopflow`` process works on a few thousand ready cooperatives in small batches
(``KOPFLOW_BATCH``); the test kills it once about a third have moved, without any timing
assumption: it watches the transition count and kills when the count says "halfway".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kopflow.audit.chain import verify_database
from kopflow.engine import Kopflow
from kopflow.flow.samples import sample_evidence
from kopflow.regions import CoopSeed
from kopflow.store import db

STEPS = 5  # required steps of formation, each one version of the cooperative


def query(url: str, sql: str) -> list[Any]:
    from sqlalchemy import text

    with db.read_connection(db.resolve_url(url)) as conn:
        return list(conn.execute(text(sql)).all())


def ready_district(url: str, coops: int) -> None:
    """``coops`` cooperatives in formation with every required step done."""
    engine = Kopflow(url)
    engine.init()
    engine.register(
        [
            CoopSeed(
                f"KDMP-{500000 + i}",
                "Kabupaten Uji",
                "Provinsi Uji",
                [(f"k{i}", f"Desa {i}", f"Kec {i % 5}", None)],
            )
            for i in range(coops)
        ],
        source="test",
    )
    steps = [s for s in engine.workflow.stage("formation").steps if s.required]
    assert len(steps) == STEPS
    rows = [
        (f"KDMP-{500000 + i}", step.id, sample_evidence(step, 1))
        for step in steps
        for i in range(coops)
    ]
    result = engine.complete_steps_bulk(rows)
    assert not result.refused
    db.dispose_engines()  # nothing of this process stays connected


def advance_process(url: str, folder: Path, batch: int | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    env.update(KOPFLOW_LANG="en", KOPFLOW_LOG=str(folder / "kopflow.log"))
    if batch:
        env["KOPFLOW_BATCH"] = str(batch)
    script = str(Path(sys.executable).parent / "kopflow")
    return subprocess.Popen(
        [script, "--db", url, "advance", "--where-stage", "formation", "--json"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def check_each_whole_or_untouched(url: str, count: int) -> int:
    """Every cooperative agrees with its history; returns how many have moved."""
    coops = {
        c: (stage, version)
        for c, stage, version in query(url, "SELECT id, stage, version FROM coop")
    }
    moves: dict[str, list[Any]] = {}
    for coop, event, source, dest, seq in query(
        url, "SELECT coop_id, event, source, dest, audit_seq FROM transition"
    ):
        moves.setdefault(coop, []).append((event, source, dest, seq))
    events = {
        seq: (coop, action, json.loads(body)["details"])
        for seq, coop, action, body in query(
            url,
            "SELECT seq, coop_id, action, body FROM audit_event WHERE action = 'coop.transition'",
        )
    }
    assert len(coops) == count
    assert len(events) == sum(len(m) for m in moves.values())  # no event without its row
    moved = 0
    for coop, (stage, version) in coops.items():
        if stage == "formation":  # untouched
            assert version == 1 + STEPS and coop not in moves, coop
            continue
        assert stage == "legal", coop
        ((event, source, dest, seq),) = moves[coop]
        assert (event, source, dest) == ("complete_formation", "formation", "legal")
        e_coop, action, details = events[seq]
        assert (e_coop, action) == (coop, "coop.transition")
        assert (details["from"], details["to"], details["coop_version"]) == (
            "formation",
            "legal",
            version,
        )
        assert version == 2 + STEPS
        moved += 1
    with db.read_connection(db.resolve_url(url)) as conn:
        chain = verify_database(conn)
    assert chain.ok, chain.problem
    return moved


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "coops"),
    # Fewer on PostgreSQL, whose many small transactions are slower: the same check, half time.
    [("sqlite", 2000), ("postgresql", 1000)],
    ids=["sqlite", "postgresql"],
)
def test_sigkill_halfway_leaves_each_cooperative_whole(
    request: pytest.FixtureRequest, backend: str, coops: int, tmp_path: Path
) -> None:
    url = str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    ready_district(url, coops)
    kill_at = coops // 3

    process = advance_process(url, tmp_path, batch=5)
    try:
        seen = 0
        while process.poll() is None and seen < kill_at:
            seen = query(url, "SELECT count(*) FROM transition")[0][0]
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it was killed"
    db.dispose_engines()

    moved = check_each_whole_or_untouched(url, coops)
    assert kill_at <= moved < coops  # killed halfway, with whole batches committed

    again = advance_process(url, tmp_path, batch=None)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    summary = json.loads(out)
    assert (summary["done"], summary["refused"]) == (coops - moved, 0)
    assert check_each_whole_or_untouched(url, coops) == coops
