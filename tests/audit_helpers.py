"""The audit chain the audit tests build, and the database without kopflow to tamper with it:
shared by the chain's own tests (test_audit) and the CLI's (test_audit_cli).

Tampering goes around kopflow, as an attacker holding the database would: on SQLite with the
sqlite3 module after dropping the append-only triggers, on PostgreSQL as the owner after
``ALTER TABLE audit_event DISABLE TRIGGER ALL``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

from kopflow.audit.chain import GENESIS_HASH
from kopflow.engine import Kopflow
from kopflow.regions import CoopSeed
from kopflow.store import db

COOPS = [f"KDMP-{990001 + i}" for i in range(5)]


def seeds() -> list[CoopSeed]:
    """The five cooperatives of ``COOPS``, one village each."""
    return [
        CoopSeed(c, "Kabupaten Uji", "Provinsi Uji", [(f"uji-{c}", f"Desa {c[-2:]}", "Kec", None)])
        for c in COOPS
    ]


def build_chain(engine: Kopflow) -> None:
    """Events 1 (init) to 11: five registrations (2-6), five steps completed (7-11)."""
    engine.register(seeds(), source="test")
    for number, coop in enumerate(COOPS, start=1):
        engine.complete_step(coop, "socialisation", {"date": f"2025-06-0{number}"})


# --- tampering as the database's owner --------------------------------------------------------


class Raw:
    """The database without kopflow and without the append-only triggers."""

    def __init__(self, url: str) -> None:
        self.url = db.resolve_url(url)
        self.sqlite = db.is_sqlite(self.url)

    def __enter__(self) -> Raw:
        db.dispose_engines()
        if self.sqlite:
            self.con = sqlite3.connect(self.url[len("sqlite:///") :])
            for name in ("audit_event_no_update", "audit_event_no_delete"):
                self.con.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            from sqlalchemy import create_engine

            self.engine = create_engine(self.url)
            self.conn = self.engine.connect()
            self.conn.begin()
            self.conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER ALL")
        return self

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        if self.sqlite:
            return list(self.con.execute(sql, params).fetchall())
        from sqlalchemy import text

        return [tuple(r) for r in self.conn.execute(text(sql), params)]

    def run(self, sql: str, **params: Any) -> None:
        if self.sqlite:
            self.con.execute(sql, params)
        else:
            from sqlalchemy import text

            self.conn.execute(text(sql), params)

    def event(self, seq: int) -> dict[str, Any]:
        cols = "seq, at, actor, role, action, coop_id, body, prev_hash, hash"
        (row,) = self.rows(f"SELECT {cols} FROM audit_event WHERE seq = :s", s=seq)
        return dict(zip(cols.split(", "), row, strict=True))

    def put(self, seq: int, **values: Any) -> None:
        sets = ", ".join(f"{k} = :{k}" for k in values)
        self.run(f"UPDATE audit_event SET {sets} WHERE seq = :where", where=seq, **values)

    def set_head(self, seq: int) -> None:
        digest = self.event(seq)["hash"] if seq else GENESIS_HASH
        self.run("UPDATE chain_head SET seq = :s, hash = :h", s=seq, h=digest)

    def __exit__(self, *exc: Any) -> None:
        if self.sqlite:
            self.con.commit()
            self.con.close()
        else:
            self.conn.commit()
            self.conn.close()
            self.engine.dispose()


def sha(text: str) -> str:
    """The hex SHA-256 of a body, as the chain stores it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def edit_body(raw: Raw, seq: int, old: str, new: str, *, rehash: bool) -> None:
    """Replace text in event ``seq``'s body; with ``rehash`` its stored hash follows."""
    body = raw.event(seq)["body"]
    assert old in body
    body = body.replace(old, new)
    raw.put(seq, body=body, **({"hash": sha(body)} if rehash else {}))


def edited_detail(raw: Raw) -> None:
    """Event 8's date changed in its body, its hash left as it was."""
    edit_body(raw, 8, '"date":"2025-06-02"', '"date":"2025-05-02"', rehash=False)
