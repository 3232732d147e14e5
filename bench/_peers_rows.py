"""Table 2 of ``peers.py``: every peer writes exactly kopflow's rows.

The database is a kopflow one (``Kopflow.init`` and the same registered cooperatives, on the
``peers`` definition). Per transition: the compare-and-set UPDATE of ``coop`` (stage,
stage_since, previous_stage, version, updated_at, updated_by), an INSERT into ``transition``,
an INSERT into ``audit_event`` with kopflow's canonical body chained by SHA-256, and per
transaction the UPDATE of ``chain_head``. Each library decides the move with its own
machinery; the sqlite3 peers then write through the tight floor's
``_floor.write_transitions`` (one transaction per call), SQLAlchemy Core with its own
constructs and SQLModel with ORM models of those tables, both encoding the body from a dict.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import _floor
from _peers_lib import (
    EDGES,
    EVENTS,
    STATES,
    Decider,
    Obj,
    chunks,
    connect,
    dumps,
    lifecycle,
    sha256,
    sqlalchemy_engine,
)

ACTION = "coop.transition"


def _load_sqlite3(conn: Any) -> list[Obj]:
    return [Obj(*r) for r in conn.execute("SELECT id, stage, version FROM coop ORDER BY id")]


def _stamps() -> tuple[str, str]:
    """(the audit body's ``at``, the text stored in DATETIME columns), as the floor writes."""
    now = datetime.now(UTC)
    return _floor._iso(now), now.strftime(_floor._STAMP)


def _body(plan: dict[str, Any], seq: int, at: str, coop: str, event: str, source: str,
          dest: str, version: int, prev: str) -> str:  # fmt: skip
    """kopflow's canonical audit body of a transition, encoded from a dict."""
    return dumps({
        "v": plan["canon"], "seq": seq, "at": at, "actor": plan["actor"], "role": plan["role"],
        "action": ACTION, "coop": coop, "prev": prev,
        "details": {"event": event, "from": source, "to": dest, "coop_version": version,
                    "plugins": plan["plugins"]},
    })  # fmt: skip


def run_sqlite3(path: str, decider: Decider, batch: int, plan: dict[str, Any]) -> int:
    conn = connect(path)
    write, actor, role = _floor.write_transitions, plan["actor"], plan["role"]
    canon, plugins_json = plan["canon"], plan["plugins_json"]

    def tight(moves: Sequence[tuple[str, int, str, str, str]]) -> int:
        return write(conn, moves, actor=actor, role=role, canon=canon, plugins_json=plugins_json)

    objs = decider.bind(_load_sqlite3(conn))
    events = lifecycle(decider, tight, objs, batch)
    conn.close()
    return events


def run_core(path: str, decider: Decider, batch: int, plan: dict[str, Any]) -> int:
    """SQLAlchemy Core: kopflow's four tables as Table constructs, executemany by
    ``conn.execute(stmt, list_of_dicts)``."""
    from sqlalchemy import (
        Column,
        Integer,
        MetaData,
        String,
        Table,
        Text,
        bindparam,
        insert,
        select,
        update,
    )

    meta = MetaData()
    coop = Table("coop", meta, Column("id", String, primary_key=True), Column("stage", String),
                 Column("stage_since", String), Column("previous_stage", String),
                 Column("version", Integer), Column("updated_at", String),
                 Column("updated_by", String))  # fmt: skip
    transition = Table("transition", meta, Column("id", Integer, primary_key=True),
                       *(Column(c, String) for c in ("coop_id", "event", "source", "dest",
                                                     "reason", "actor", "at")),
                       Column("audit_seq", Integer))  # fmt: skip
    audit = Table("audit_event", meta, Column("seq", Integer, primary_key=True),
                  *(Column(c, String) for c in ("at", "actor", "role", "action", "coop_id")),
                  Column("body", Text), Column("prev_hash", String), Column("hash", String))  # fmt: skip
    head = Table("chain_head", meta, Column("id", Integer, primary_key=True),
                 Column("seq", Integer), Column("hash", String))  # fmt: skip
    advance = (
        update(coop)
        .where(coop.c.id == bindparam("b_id"), coop.c.version == bindparam("b_seen"))
        .values(stage=bindparam("b_stage"), stage_since=bindparam("b_at"),
                previous_stage=None, version=bindparam("b_version"),
                updated_at=bindparam("b_at"), updated_by=bindparam("b_actor"))
    )  # fmt: skip
    moved, appended = insert(transition), insert(audit)
    read_head = select(head.c.seq, head.c.hash).where(head.c.id == 1)
    set_head = update(head).where(head.c.id == 1)
    actor, role = plan["actor"], plan["role"]
    engine = sqlalchemy_engine(path)

    def write(moves: Sequence[tuple[str, int, str, str, str]]) -> int:
        with engine.begin() as conn:
            seq, prev = conn.execute(read_head).one()
            at, stamp = _stamps()
            updates, rows, events = [], [], []
            for coop_id, seen, event, source, dest in moves:
                seq += 1
                body = _body(plan, seq, at, coop_id, event, source, dest, seen + 1, prev)
                digest = sha256(body.encode()).hexdigest()
                updates.append({"b_id": coop_id, "b_seen": seen, "b_stage": dest, "b_at": stamp,
                                "b_version": seen + 1, "b_actor": actor})  # fmt: skip
                rows.append({"coop_id": coop_id, "event": event, "source": source, "dest": dest,
                             "reason": None, "actor": actor, "at": stamp, "audit_seq": seq})  # fmt: skip
                events.append({"seq": seq, "at": at, "actor": actor, "role": role,
                               "action": ACTION, "coop_id": coop_id, "body": body,
                               "prev_hash": prev, "hash": digest})  # fmt: skip
                prev = digest
            if conn.execute(advance, updates).rowcount != len(updates):
                raise RuntimeError("compare-and-set lost")
            conn.execute(moved, rows)
            conn.execute(appended, events)
            conn.execute(set_head.values(seq=seq, hash=prev))
        return len(events)

    with engine.connect() as conn:
        query = select(coop.c.id, coop.c.stage, coop.c.version).order_by(coop.c.id)
        objs = decider.bind([Obj(*row) for row in conn.execute(query)])
    events = lifecycle(decider, write, objs, batch)
    engine.dispose()
    return events


def run_orm(path: str, decider: Decider, batch: int, plan: dict[str, Any]) -> int:
    """SQLModel: ORM models of kopflow's tables (the columns this job touches), a Session per
    batch that loads the batch's cooperatives and the chain head, changes them, adds the
    transition and audit rows as model instances, and commits."""
    from sqlmodel import Field, Session, SQLModel, col, select

    class Coop(SQLModel, table=True):
        __tablename__ = "coop"
        id: str = Field(primary_key=True)
        stage: str
        stage_since: str
        previous_stage: str | None
        version: int
        updated_at: str
        updated_by: str

    class Transition(SQLModel, table=True):
        __tablename__ = "transition"
        id: int | None = Field(default=None, primary_key=True)
        coop_id: str
        event: str
        source: str
        dest: str
        reason: str | None
        actor: str
        at: str
        audit_seq: int

    class AuditEvent(SQLModel, table=True):
        __tablename__ = "audit_event"
        seq: int = Field(primary_key=True)
        at: str
        actor: str
        role: str
        action: str
        coop_id: str | None
        body: str
        prev_hash: str
        hash: str

    class ChainHead(SQLModel, table=True):
        __tablename__ = "chain_head"
        id: int = Field(primary_key=True)
        seq: int
        hash: str

    actor, role, events = plan["actor"], plan["role"], 0
    engine = sqlalchemy_engine(path)
    with Session(engine) as session:
        ids = list(session.exec(select(Coop.id).order_by(Coop.id)))
    for event in EVENTS:
        for chunk in chunks(ids, batch):
            with Session(engine) as session:
                chain = session.get(ChainHead, 1)
                assert chain is not None
                seq, prev = chain.seq, chain.hash
                coops = session.exec(
                    select(Coop).where(col(Coop.id).in_(chunk)).order_by(Coop.id)
                ).all()
                at, stamp = _stamps()
                for c in coops:
                    seen = c.version
                    source, dest = EDGES[event]  # the ORM peer decides with a plain dict
                    if c.stage != source:
                        raise RuntimeError(f"{c.id} is in {c.stage}, cannot fire {event}")
                    seq += 1
                    body = _body(plan, seq, at, c.id, event, source, dest, seen + 1, prev)
                    digest = sha256(body.encode()).hexdigest()
                    c.stage, c.stage_since, c.previous_stage = dest, stamp, None
                    c.version, c.updated_at, c.updated_by = seen + 1, stamp, actor
                    session.add(Transition(coop_id=c.id, event=event, source=source, dest=dest,
                                           reason=None, actor=actor, at=stamp, audit_seq=seq))  # fmt: skip
                    session.add(AuditEvent(seq=seq, at=at, actor=actor, role=role, action=ACTION,
                                           coop_id=c.id, body=body, prev_hash=prev, hash=digest))  # fmt: skip
                    prev = digest
                chain.seq, chain.hash = seq, prev
                session.commit()
                events += len(coops)
    engine.dispose()
    return events


RUNNERS = {"sqlite3": run_sqlite3, "core": run_core, "orm": run_orm}


def verify(path: str, n: int, plan: dict[str, Any]) -> str | None:
    """None when every cooperative is in s5 after exactly e1..e5 with kopflow's rows and the
    chain recomputes; else the first problem. Standard library only, after the clock."""
    conn = connect(path)
    done = conn.execute(
        "SELECT count(*) FROM coop WHERE stage = ? AND version = 6 AND previous_stage IS NULL",
        (STATES[-1],),
    ).fetchone()[0]
    if done != n:
        return f"{done} of {n} cooperatives in {STATES[-1]} at version 6"
    moves = conn.execute(
        "SELECT event, source, dest, count(*), count(DISTINCT coop_id) FROM transition "
        "GROUP BY event, source, dest ORDER BY event"
    ).fetchall()
    if moves != [(e, a, b, n, n) for e, (a, b) in EDGES.items()]:
        return f"transition rows are not one e1..e5 per cooperative: {moves}"
    count, problem = _floor.verify_chain(conn)
    if problem:
        return f"audit chain: {problem}"
    # The transition rows point at their audit events (a set: transition.audit_seq has no
    # index, and a join on it is quadratic).
    linked = {seq for (seq,) in conn.execute("SELECT audit_seq FROM transition")}
    checked = 0
    for seq, coop, body in conn.execute(
        "SELECT seq, coop_id, body FROM audit_event WHERE action = ?", (ACTION,)
    ):
        details = json.loads(body)["details"]
        source, dest = EDGES[details["event"]]
        want = {"event": details["event"], "from": source, "to": dest,
                "coop_version": int(details["event"][1:]) + 1, "plugins": plan["plugins"]}  # fmt: skip
        if details != want or seq not in linked:
            return f"audit body of {coop} is not kopflow's: {body}"
        checked += 1
    if checked != n * len(EVENTS):
        return f"{checked} transition events in the chain, expected {n * len(EVENTS)}"
    conn.close()
    return None


_SAME = {
    "coop": "SELECT id, stage, previous_stage, version, updated_by FROM coop ORDER BY id",
    "transition": "SELECT coop_id, event, source, dest, reason, actor, audit_seq "
    "FROM transition ORDER BY audit_seq",
}


def compare(peer_db: str, kopflow_db: str) -> str | None:
    """The peer's rows against kopflow's own run of the same job: every row of ``coop`` and
    ``transition`` and every audit event equal but for its timestamp and hashes."""
    a, b = connect(peer_db), connect(kopflow_db)
    for table, query in _SAME.items():
        if a.execute(query).fetchall() != b.execute(query).fetchall():
            return f"{table} differs from kopflow's"
    query = "SELECT seq, actor, role, action, coop_id, body FROM audit_event ORDER BY seq"
    for row_a, row_b in zip(a.execute(query), b.execute(query), strict=True):
        body_a, body_b = json.loads(row_a[5]), json.loads(row_b[5])
        for body in (body_a, body_b):
            body.pop("at"), body.pop("prev")
        if row_a[:5] != row_b[:5] or body_a != body_b:
            return f"audit event {row_a[0]} differs from kopflow's"
    return None
