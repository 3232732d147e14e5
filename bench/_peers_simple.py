"""Table 1 of ``peers.py``: the peers' own simple schema.

``objects(id, state, version)`` and ``audit(seq, obj, event, src, dst, body, prev, hash)``:
what a team gluing a state-machine library to sqlite3 would write. Per transition every peer
makes the same writes: a compare-and-set UPDATE of the object's state and version, and an
INSERT of an audit row whose body is canonical JSON holding the previous row's hash, hashed
with SHA-256. kopflow cannot write this schema: its row in this table writes its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from _peers_lib import (
    BATCH,
    EDGES,
    EVENTS,
    GENESIS,
    STATES,
    Decider,
    Obj,
    chunks,
    connect,
    dumps,
    lifecycle,
    object_ids,
    sha256,
    sqlalchemy_engine,
)

SCHEMA = (
    "CREATE TABLE objects (id TEXT PRIMARY KEY, state TEXT NOT NULL, version INTEGER NOT NULL)",
    "CREATE TABLE audit (seq INTEGER PRIMARY KEY, obj TEXT NOT NULL, event TEXT NOT NULL, "
    "src TEXT NOT NULL, dst TEXT NOT NULL, body TEXT NOT NULL, prev TEXT NOT NULL, "
    "hash TEXT NOT NULL)",
)
_UPDATE = "UPDATE objects SET state = ?, version = ? WHERE id = ? AND version = ?"
_INSERT = "INSERT INTO audit (seq, obj, event, src, dst, body, prev, hash) VALUES (?,?,?,?,?,?,?,?)"


def create(path: str, n: int) -> None:
    """The database every simple peer starts from: the schema and ``n`` objects in s0."""
    conn = connect(path)
    for statement in SCHEMA:
        conn.execute(statement)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO objects (id, state, version) VALUES (?, ?, 1)",
        [(i, STATES[0]) for i in object_ids(n)],
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def audit_rows(
    moves: Sequence[tuple[str, int, str, str, str]], seq: int, prev: str
) -> tuple[list[tuple[Any, ...]], int, str]:
    """The chained audit rows of ``moves``: the same work for every simple peer."""
    rows = []
    for obj, _seen, event, src, dst in moves:
        seq += 1
        body = dumps({"seq": seq, "obj": obj, "event": event, "src": src, "dst": dst,
                      "prev": prev})  # fmt: skip
        digest = sha256(body.encode()).hexdigest()
        rows.append((seq, obj, event, src, dst, body, prev, digest))
        prev = digest
    return rows, seq, prev


class Sqlite3Writer:
    """One transaction per call: executemany of the UPDATEs, then of the audit INSERTs."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.seq, self.prev = conn, 0, GENESIS

    def write(self, moves: Sequence[tuple[str, int, str, str, str]]) -> int:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        cur.executemany(_UPDATE, [(dst, seen + 1, obj, seen) for obj, seen, _e, _s, dst in moves])
        if cur.rowcount != len(moves):
            raise RuntimeError("compare-and-set lost")
        rows, self.seq, self.prev = audit_rows(moves, self.seq, self.prev)
        cur.executemany(_INSERT, rows)
        cur.execute("COMMIT")
        return len(rows)


def _load_sqlite3(conn: Any) -> list[Obj]:
    return [Obj(*row) for row in conn.execute("SELECT id, state, version FROM objects ORDER BY id")]


def run_sqlite3(path: str, decider: Decider, batch: int) -> int:
    conn = connect(path)
    objs = decider.bind(_load_sqlite3(conn))
    events = lifecycle(decider, Sqlite3Writer(conn).write, objs, batch)
    conn.close()
    return events


def run_core(path: str, decider: Decider, batch: int) -> int:
    """SQLAlchemy Core: Table constructs, ``conn.execute(stmt, list_of_dicts)`` executemany."""
    from sqlalchemy import Column, Integer, MetaData, Table, Text, bindparam, insert, select, update

    meta = MetaData()
    objects = Table("objects", meta, Column("id", Text, primary_key=True),
                    Column("state", Text), Column("version", Integer))  # fmt: skip
    audit = Table("audit", meta, Column("seq", Integer, primary_key=True),
                  *(Column(c, Text) for c in ("obj", "event", "src", "dst", "body", "prev",
                                              "hash")))  # fmt: skip
    change = (
        update(objects)
        .where(objects.c.id == bindparam("b_id"), objects.c.version == bindparam("b_seen"))
        .values(state=bindparam("b_state"), version=bindparam("b_version"))
    )
    append = insert(audit)
    engine = sqlalchemy_engine(path)
    state = {"seq": 0, "prev": GENESIS}

    def write(moves: Sequence[tuple[str, int, str, str, str]]) -> int:
        rows, state["seq"], state["prev"] = audit_rows(moves, state["seq"], state["prev"])
        with engine.begin() as conn:
            result = conn.execute(
                change,
                [{"b_id": o, "b_seen": v, "b_state": d, "b_version": v + 1}
                 for o, v, _e, _s, d in moves],
            )  # fmt: skip
            if result.rowcount != len(moves):
                raise RuntimeError("compare-and-set lost")
            keys = ("seq", "obj", "event", "src", "dst", "body", "prev", "hash")
            conn.execute(append, [dict(zip(keys, row, strict=True)) for row in rows])
        return len(rows)

    with engine.connect() as conn:
        query = select(objects.c.id, objects.c.state, objects.c.version).order_by(objects.c.id)
        objs = decider.bind([Obj(*row) for row in conn.execute(query)])
    events = lifecycle(decider, write, objs, batch)
    engine.dispose()
    return events


def run_orm(path: str, decider: Decider, batch: int) -> int:
    """SQLModel: table models, a Session per batch that loads the batch's objects, changes
    them, adds the audit rows as model instances and commits."""
    from sqlmodel import Field, Session, SQLModel, col, select

    class Item(SQLModel, table=True):
        __tablename__ = "objects"
        id: str = Field(primary_key=True)
        state: str
        version: int

    class Audit(SQLModel, table=True):
        __tablename__ = "audit"
        seq: int = Field(primary_key=True)
        obj: str
        event: str
        src: str
        dst: str
        body: str
        prev: str
        hash: str

    engine = sqlalchemy_engine(path)
    seq, prev, events = 0, GENESIS, 0
    fire = decider.fire
    with Session(engine) as session:
        ids = list(session.exec(select(Item.id).order_by(Item.id)))
    for event in EVENTS:
        for chunk in chunks(ids, batch):
            with Session(engine) as session:
                items = session.exec(
                    select(Item).where(col(Item.id).in_(chunk)).order_by(Item.id)
                ).all()
                moves = []
                for item in items:
                    seen = item.version
                    src, dst = fire(item, event)
                    item.version = seen + 1
                    moves.append((item.id, seen, event, src, dst))
                rows, seq, prev = audit_rows(moves, seq, prev)
                session.add_all(
                    Audit(seq=r[0], obj=r[1], event=r[2], src=r[3], dst=r[4], body=r[5],
                          prev=r[6], hash=r[7])
                    for r in rows
                )  # fmt: skip
                session.commit()
                events += len(rows)
    engine.dispose()
    return events


RUNNERS = {"sqlite3": run_sqlite3, "core": run_core, "orm": run_orm}
BATCHES = {"batch": BATCH, "all": None, "one": 1}


def verify(path: str, n: int) -> str | None:
    """None when every object is in s5 after exactly e1..e5 and the audit chain recomputes;
    else the first problem. Standard library only, after the clock."""
    conn = connect(path)
    done = conn.execute(
        "SELECT count(*) FROM objects WHERE state = ? AND version = ?", (STATES[-1], 6)
    ).fetchone()[0]
    if done != n:
        return f"{done} of {n} objects in {STATES[-1]} at version 6"
    prev, expected, seen = GENESIS, 1, set()
    for seq, obj, event, src, dst, body, link, digest in conn.execute(
        "SELECT seq, obj, event, src, dst, body, prev, hash FROM audit ORDER BY seq"
    ):
        if seq != expected or link != prev or sha256(body.encode()).hexdigest() != digest:
            return f"audit row {seq}: sequence, link or hash broken"
        data = json.loads(body)
        if data != {"seq": seq, "obj": obj, "event": event, "src": src, "dst": dst, "prev": prev}:
            return f"audit row {seq}: body differs from its columns"
        if EDGES.get(event) != (src, dst) or (obj, event) in seen:
            return f"audit row {seq}: {obj} {event} {src}->{dst} is not a lifecycle move"
        seen.add((obj, event))
        prev, expected = digest, expected + 1
    if len(seen) != n * len(EVENTS):
        return f"{len(seen)} audit rows, expected {n * len(EVENTS)}"
    conn.close()
    return None
