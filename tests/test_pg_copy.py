"""PostgreSQL bulk batches append step records, transitions and enrolments with ``COPY`` where
the login may (issue #15), writing exactly the rows ``INSERT`` writes; a login bound by the
row-level security of ``kopflow db grant`` (where the server refuses ``COPY FROM``) inserts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

import pytest
from db_helpers import drop_roles, login_url, pg_schema, tag
from engine_helpers import seeds

import kopflow.pipeline.change
import kopflow.store.rows
from kopflow.audit.chain import verify_database
from kopflow.engine import Kopflow
from kopflow.flow.samples import sample_evidence
from kopflow.store import db

TABLES = {
    "step_record": "coop_id, step, version, status, evidence, reason, actor, audit_seq",
    "transition": "coop_id, event, source, dest, reason, actor, audit_seq",
    "enrollment": "coop_id, partner, actor, audit_seq",
    "unique_value": "scope, value, coop_id, step, audit_seq, released_seq",
}


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables written by COPY, one entry per statement; COPY from the first row on."""
    seen: list[str] = []
    real = kopflow.store.rows.copy_many

    def spy(conn: Any, table: Any, keys: Any, rows: Any) -> None:
        seen.append(table)
        real(conn, table, keys, rows)

    monkeypatch.setattr(kopflow.store.rows, "copy_many", spy)
    monkeypatch.setattr(kopflow.pipeline.change, "COPY_AT_LEAST", 1)
    return seen


def _lifecycle(engine: Kopflow, coops: list[str], given: dict[Any, Any]) -> None:
    """Every required step and forward move up to the partners' steps, in bulk, with the
    evidence ``given`` holds (sample identifiers differ from call to call: made once)."""
    wf = engine.workflow
    for stage in wf.main_stages()[:-1]:
        keys: list[tuple[str, Any]] = []
        if stage.id == wf.onboarding_stage:
            assert not engine.enroll_bulk(coops, ["bri", "pos"]).refused
            for code in ("bri", "pos"):
                keys += [(f"{code}.{s.id}", s) for s in engine.plugins.partner(code).steps]
        keys += [(s.id, s) for s in stage.steps]
        rows = [
            (coop, key, given.setdefault((coop, key), sample_evidence(spec, i)))
            for i, coop in enumerate(coops)
            for key, spec in keys
            if spec.required
        ]
        assert not engine.complete_steps_bulk(rows).refused
        assert not engine.advance_bulk(stage=stage.id).refused


def _rows(url: str) -> dict[str, list[Any]]:
    from sqlalchemy import text

    with db.read_connection(url) as conn:
        found = {
            name: sorted(tuple(r) for r in conn.execute(text(f"SELECT {cols} FROM {name}")))
            for name, cols in TABLES.items()
        }
        found["events"] = [
            (r[0], r[1], r[2])
            for r in conn.execute(text("SELECT seq, action, body FROM audit_event ORDER BY seq"))
        ]
        assert verify_database(conn).ok
    return found


def _without_times(events: list[Any]) -> list[Any]:
    import json

    out = []
    for seq, action, body in events:
        data = json.loads(body)
        out.append((seq, action, {k: v for k, v in data.items() if k not in ("at", "prev")}))
    return out


@contextmanager
def _schema() -> Iterator[str]:
    yield from pg_schema()


def test_copy_writes_the_rows_insert_writes(pg_url: str, copies: list[str]) -> None:
    runs = {}
    given: dict[Any, Any] = {}
    for how, url in (("copy", pg_url), ("insert", None)):
        with _schema() if url is None else _nothing(url) as target:
            engine = Kopflow(target)
            engine.init()
            engine.register(seeds(3), source="test")
            if how == "insert":
                kopflow.pipeline.change.COPY_AT_LEAST = 10**9
            before = len(copies)
            _lifecycle(engine, ["KDMP-900001", "KDMP-900002", "KDMP-900003"], given)
            used = set(copies[before:])
            runs[how] = _rows(target)
            db.dispose_engines()
        if how == "copy":
            assert used == set(TABLES), f"COPY was used for {used}"
        else:
            assert not used
    for name in TABLES:
        assert runs["copy"][name] == runs["insert"][name], name
        assert runs["copy"][name], name
    assert _without_times(runs["copy"]["events"]) == _without_times(runs["insert"]["events"])


@contextmanager
def _nothing(url: str) -> Iterator[str]:
    yield url


def test_a_login_bound_by_row_security_inserts(pg_url: str, copies: list[str]) -> None:
    """``kopflow db grant``'s logins are bound by the tables' row-level security, under which
    the server refuses COPY FROM: they insert, checked by the policies row by row."""
    from kopflow.regions import seeds_from_areaid

    officer = "officer_" + tag()
    owner = Kopflow(pg_url)
    owner.init()
    found = list(islice(seeds_from_areaid(kabupaten="Kabupaten Buleleng"), 2))
    owner.register(found, source="test")
    owner.add_actor(officer, role="officer", region="Kabupaten Buleleng", partner=None)
    try:
        owner.grant()
        url = login_url(pg_url, officer)
        with db.read_connection(url) as conn:
            assert kopflow.store.rows.copyable(conn, list(TABLES)) == frozenset()
        with db.read_connection(pg_url) as conn:  # the owner, a superuser here, may
            assert kopflow.store.rows.copyable(conn, list(TABLES)) == set(TABLES)
        engine = Kopflow(url)
        stage = engine.workflow.stage("formation")
        rows = [
            (s.coop_id, step.id, sample_evidence(step, i))
            for i, s in enumerate(found)
            for step in stage.steps
            if step.required
        ]
        result = engine.complete_steps_bulk(rows)
        assert not result.refused and len(result.done) == len(rows)
        assert not copies, "COPY was tried for a login bound by row-level security"
        assert not engine.advance_bulk(stage="formation").refused
        db.dispose_engines()
    finally:
        drop_roles(pg_url, [officer])


def test_an_identifier_held_behind_kopflows_back_refuses_the_copied_batch(
    pg_url: str, copies: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The primary key of held identifiers is the database's own guarantee: a value another
    cooperative holds, unseen by kopflow's check (a writer that bypassed the chain lock),
    refuses the whole batch through COPY as through INSERT, and nothing of it is written."""
    from sqlalchemy import text

    from kopflow.errors import ConflictError
    from kopflow.pipeline.change import Change

    engine = Kopflow(pg_url)
    engine.init()
    engine.register(seeds(3), source="test")
    coops = ["KDMP-900001", "KDMP-900002", "KDMP-900003"]
    stage = engine.workflow.stage("formation")
    rows = [
        (coop, step.id, sample_evidence(step, i))
        for i, coop in enumerate(coops)
        for step in stage.steps
        if step.required
    ]
    taken = next(
        ev["decree_number"] for coop, key, ev in rows if coop == coops[1] and key == "sk_ahu"
    )
    with db.write_transaction(pg_url) as conn:
        conn.execute(
            text(
                "INSERT INTO unique_value (scope, value, coop_id, step, audit_seq) "
                "VALUES ('sk_ahu.decree_number', :value, 'KDMP-900001', 'sk_ahu', 1)"
            ),
            {"value": taken},
        )
    with db.read_connection(pg_url) as conn:
        head = conn.execute(text("SELECT seq FROM chain_head")).scalar_one()
    monkeypatch.setattr(Change, "owner", lambda self, key, value: None)  # the check blinded
    with pytest.raises(ConflictError, match="another cooperative meanwhile"):
        engine.complete_steps_bulk(rows)
    assert "unique_value" in copies
    with db.read_connection(pg_url) as conn:
        assert conn.execute(text("SELECT count(*) FROM step_record")).scalar_one() == 0
        assert conn.execute(text("SELECT seq FROM chain_head")).scalar_one() == head
        assert conn.execute(text("SELECT count(*) FROM unique_value")).scalar_one() == 1
    db.dispose_engines()
