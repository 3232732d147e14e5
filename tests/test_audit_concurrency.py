"""Four processes writing at once leave one unbroken audit chain (issue #7), on SQLite and
PostgreSQL: appends queue on the chain lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL
``SELECT ... FOR UPDATE`` on the chain head) instead of forking the chain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kopflow.audit.chain import snapshot, verify_database
from kopflow.engine import Kopflow
from kopflow.regions import CoopSeed
from kopflow.store import db

WRITERS = 4
OWN = 5  # cooperatives only one writer touches
SHARED = 4  # cooperatives every writer races for

# Each writer completes, undoes and completes again the first step of its own cooperatives
# (three changes each), and tries to complete that step of every shared cooperative: one writer
# wins each, the others are refused and must leave no event behind. All start together.
WRITER = """
import json, os, sys, time
from kopflow.engine import Kopflow
from kopflow.errors import KopflowError

url, own, shared, go = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), sys.argv[4]
engine = Kopflow(url)
with engine.reading() as conn:
    engine.actor(conn)  # imports and connects before the start line
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.005)
done = refused = 0
for coop in own:
    engine.complete_step(coop, "socialisation", {"date": "2025-06-01"})
    engine.undo_step(coop, "socialisation", reason="concurrency test")
    engine.complete_step(coop, "socialisation", {"date": "2025-06-02"})
    done += 3
for coop in shared:
    try:
        engine.complete_step(coop, "socialisation", {"date": "2025-06-03"})
        done += 1
    except KopflowError:
        refused += 1
print(json.dumps({"done": done, "refused": refused}))
"""


def _seeds(ids: list[str]) -> list[CoopSeed]:
    return [
        CoopSeed(c, "Kabupaten Uji", "Provinsi Uji", [(c, f"Desa {c}", "Kec", None)]) for c in ids
    ]


@pytest.mark.slow
def test_four_processes_leave_one_unbroken_chain(kopflow: Kopflow, tmp_path: Path) -> None:
    """Issue #7: the chain's length equals the number of changes the writers made, every
    sequence number is used once, and the whole chain verifies."""
    own = [[f"KDMP-97{w}{i:03d}" for i in range(OWN)] for w in range(WRITERS)]
    shared = [f"KDMP-979{i:03d}" for i in range(SHARED)]
    kopflow.register(_seeds([c for ids in own for c in ids] + shared), source="test")
    with snapshot(kopflow.url) as conn:
        before = verify_database(conn)
    assert before.ok
    db.dispose_engines()

    env = {**os.environ, "KOPFLOW_LANG": "en"}
    go = str(tmp_path / "go")
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, kopflow.url, ",".join(own[w]), ",".join(shared), go],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(WRITERS)
    ]
    for process in writers:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready", process.stderr
    (tmp_path / "go").touch()  # every writer is connected and waiting: start them together
    reports = []
    for process in writers:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))

    made = sum(r["done"] for r in reports)
    assert made == WRITERS * OWN * 3 + SHARED
    assert sum(r["refused"] for r in reports) == (WRITERS - 1) * SHARED
    with snapshot(kopflow.url) as conn:
        after = verify_database(conn)
        from sqlalchemy import text

        seqs = list(conn.execute(text("SELECT seq FROM audit_event ORDER BY seq")).scalars())
    assert after.ok, after.problem
    assert after.head_seq == before.head_seq + made
    assert seqs == list(range(1, after.head_seq + 1))
