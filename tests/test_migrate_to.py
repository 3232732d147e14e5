"""``kopflow db migrate-to`` (issue #4): a district's SQLite database moves into an empty national
one, the audit chain byte for byte, and verifies there with the same head hash.

The target is ``db_url``: the PostgreSQL case is the acceptance test; the SQLite one shows the
copy does not depend on the target's dialect.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from db_helpers import db_state, drop_roles, login_url, tag

from kopflow.cli import cli

BULELENG = "Kabupaten Buleleng"


ADMIN = "dinas_" + tag()  # the district's admin; on PostgreSQL a login made by db grant
MOVE = ["--actor", ADMIN, "--db"]


@pytest.fixture
def district(tmp_path: Path, db_url: str, request: pytest.FixtureRequest) -> str:
    """Buleleng's own SQLite file: imported, some cooperatives moved on, one suspended, one
    step undone, partners enrolled, an officer added."""
    from kopflow.engine import Kopflow
    from kopflow.flow.samples import sample_evidence
    from kopflow.regions import seeds_from_areaid

    if "://" in db_url:
        request.addfinalizer(lambda: drop_roles(db_url, [ADMIN, "dinas_buleleng"]))
    path = str(tmp_path / "buleleng.db")
    engine = Kopflow(path, actor=ADMIN)
    engine.init()
    engine.register(seeds_from_areaid(kabupaten=BULELENG), source="areaid:" + BULELENG)
    engine.add_actor("dinas_buleleng", role="officer", region=BULELENG, partner=None)
    wf = engine.workflow
    with engine.reading() as conn:
        from sqlalchemy import text

        coops = list(conn.execute(text("SELECT id FROM coop ORDER BY id LIMIT 6")).scalars())
    formation = wf.stage(wf.initial)
    rows = [
        (coop, step.id, sample_evidence(step, n))
        for n, coop in enumerate(coops)
        for step in formation.steps
        if step.required
    ]
    engine.complete_steps_bulk(rows)
    engine.advance_bulk(stage=wf.initial, kabupaten=BULELENG)
    # Partners enroll from the onboarding stage on (issue #13): the first is driven there.
    for stage in ("legal", "consolidation"):
        for step in wf.stage(stage).steps:
            if step.required:
                engine.complete_step(coops[0], step.id, sample_evidence(step, 0))
        engine.advance(coops[0])
    engine.enroll(coops[0], ["bri", "pos"])
    engine.advance(coops[1], "suspend", reason="pengurus mengundurkan diri")
    legal = wf.stage("legal").steps[0]
    engine.complete_step(coops[2], legal.id, sample_evidence(legal, 7))
    engine.undo_step(coops[2], legal.id, reason="salah input")
    return path


def table_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    """All rows of a table in key order, times as UTC instants (SQLite stores them naive)."""
    from sqlalchemy import select

    from kopflow.store import db
    from kopflow.store.tables import metadata

    t = metadata.tables[table]
    with db.read_connection(db.resolve_url(url)) as conn:
        rows = conn.execute(select(t).order_by(*t.primary_key.columns)).all()
    return [
        tuple(
            v.replace(tzinfo=v.tzinfo or UTC).astimezone(UTC) if hasattr(v, "astimezone") else v
            for v in row
        )
        for row in rows
    ]


def head(url: str) -> tuple[int, str, str]:
    from kopflow.audit.chain import read_head, verify_database
    from kopflow.store import db

    with db.read_connection(db.resolve_url(url)) as conn:
        result = verify_database(conn)
        assert result.ok, result.problem
        h = read_head(conn)
    return h.seq, h.hash, h.log_id


def test_district_moves_with_the_same_head(district: str, db_url: str, runner: Any) -> None:
    """Issue #4 acceptance: the moved chain verifies on the target with the source's head."""
    from kopflow.engine import Kopflow
    from kopflow.flow.samples import sample_evidence
    from kopflow.store.tables import metadata

    source_head = head(district)
    result = runner.invoke(cli, [*MOVE, district, "db", "migrate-to", db_url, "--json"])
    assert result.exit_code == 0, result.output + result.stderr
    report = json.loads(result.stdout)
    assert (report["head_seq"], report["head_hash"], report["log_id"]) == source_head
    assert head(db_url) == source_head  # verified again, independently, after the commit
    for table in metadata.tables:
        assert table_rows(db_url, table) == table_rows(district, table), table
    assert report["counts"]["coop"] == 148

    # The national database carries on from there, the district's admin logging in (on
    # PostgreSQL once the owner ran db grant); new ids do not collide with copied ones.
    if "://" in db_url:
        Kopflow(db_url).grant()
        national = Kopflow(login_url(db_url, ADMIN))
    else:
        national = Kopflow(db_url, actor=ADMIN)
    with national.reading() as conn:
        from sqlalchemy import text

        coop = conn.execute(text("SELECT id FROM coop WHERE stage = 'legal' ORDER BY id")).first()
    step = national.workflow.stage("legal").steps[0]
    national.complete_step(coop[0], step.id, sample_evidence(step, 3))
    national.advance(coop[0], "suspend", reason="uji")
    extra = 2 if "://" not in db_url else 3  # + the db.grant event
    assert head(db_url)[0] == source_head[0] + extra


def test_text_output_names_the_head(district: str, db_url: str, runner: Any) -> None:
    result = runner.invoke(cli, [*MOVE, district, "db", "migrate-to", db_url])
    assert result.exit_code == 0, result.output + result.stderr
    seq, digest, _log = head(district)
    assert result.stdout.splitlines()[-1].endswith(f": {seq} events, head {digest}")


def test_target_with_a_chain_is_refused(district: str, db_url: str, runner: Any) -> None:
    """A target that was initialised already holds its own chain: nothing is copied."""
    from kopflow.engine import Kopflow

    Kopflow(db_url).init()
    before = db_state(db_url)
    result = runner.invoke(cli, [*MOVE, district, "db", "migrate-to", db_url])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the target already holds 1 audit events")
    assert result.stderr.count("\n") == 1
    assert db_state(db_url) == before
    head(db_url)  # and its own chain still verifies


def test_broken_source_chain_is_not_moved(district: str, db_url: str, runner: Any) -> None:
    """A source whose chain does not verify stays where it is; the target stays empty."""
    from sqlalchemy import inspect

    from kopflow.store import db

    with sqlite3.connect(district) as conn:
        conn.execute("DROP TRIGGER audit_event_no_update")
        conn.execute(
            "UPDATE audit_event SET body = replace(body, 'Buleleng', 'Kediri') WHERE seq = 5"
        )
    result = runner.invoke(cli, [*MOVE, district, "db", "migrate-to", db_url])
    assert result.exit_code == 7
    assert "does not verify at event 5" in result.stderr
    if "://" not in db_url:  # a new SQLite target is not even created (issue #14)
        assert not os.path.exists(db_url)
        return
    with db.read_connection(db.resolve_url(db_url)) as conn:
        assert "audit_event" not in inspect(conn).get_table_names()


def test_only_an_admin_moves_a_database(district: str, db_url: str, runner: Any) -> None:
    result = runner.invoke(
        cli, ["--db", district, "--actor", "dinas_buleleng", "db", "migrate-to", db_url]
    )
    assert result.exit_code == 5
    assert "may not move the database" in result.stderr


def test_target_must_not_be_the_source(district: str, runner: Any) -> None:
    result = runner.invoke(cli, [*MOVE, district, "db", "migrate-to", district])
    assert result.exit_code == 2
    assert "the target is the source" in result.stderr
