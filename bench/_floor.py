"""The floor: the writes kopflow makes, done with nothing but the DB-API driver.

No kopflow import here but its connection settings. Everything kopflow decides (which steps, which evidence once validated,
the plugin fingerprint, the actor) comes from the plan file that ``_work.plan`` writes, so what
is measured is the cost of the writes themselves: the same UPDATEs of ``coop`` (compare-and-set
on ``version``), the same INSERTs of ``step_record``, ``transition``, ``enrollment``, the same
audit events (canonical JSON bodies, SHA-256 chained) and the same chain-head UPDATE, in the
same transactions (one per batch of cooperatives), in the same order. ``run.py --check``
compares the resulting databases row by row.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
# json.dumps's own string encoder (C), for the pieces spliced into canonical bodies: for a str
# it returns exactly what the canonical encoder writes (ensure_ascii=False).
_enc = json.encoder.encode_basestring
# json.dumps with these options, built once (what a careful plain implementation does).
_dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode
_AUDIT_COLUMNS = "seq, at, actor, role, action, coop_id, body, prev_hash, hash"


_STAMP = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's text of a naive UTC DateTime on SQLite
_ADVANCE_SQL = (
    "UPDATE coop SET stage = ?, stage_since = ?, previous_stage = ?, version = ?, "
    "updated_at = ?, updated_by = ? WHERE id = ? AND version = ?"
)
_TRANSITION_SQL = (
    "INSERT INTO transition (coop_id, event, source, dest, reason, actor, at, audit_seq) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_AUDIT_SQL = f"INSERT INTO audit_event ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_HEAD_SQL = "UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1"


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def connect_sqlite(path: str) -> sqlite3.Connection:
    """A connection set up as kopflow sets up its own (``kopflow.store.db.SQLITE_PRAGMAS``)."""
    from kopflow.store.db import SQLITE_PRAGMAS  # settings, not work: the same terms for both

    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


class Floor:
    """Lifecycle phases written directly (SQLite through ``sqlite3``, PostgreSQL through psycopg).

    Args:
        conn: an ``sqlite3`` connection from :func:`connect_sqlite` or a psycopg connection.
        plan: the plan dictionary (see ``_work.plan``).
    """

    def __init__(self, conn: Any, plan: dict[str, Any]) -> None:
        self.conn = conn
        self.pg = not isinstance(conn, sqlite3.Connection)
        self.plan = plan
        self.actor, self.role = plan["actor"], plan["role"]
        self.plugins = plan["plugins"]
        self.canon = plan["canon"]
        self.batch = plan["batch"]
        # Validated evidence per step and seed, with the canonical JSON stored in step_record.
        self.evidence = {
            key: [(clean, _dumps(clean)) for clean in per_seed]
            for key, per_seed in plan["clean"].items()
        }
        self.seeds = len(next(iter(plan["clean"].values())))
        # Identifiers one cooperative holds alone (issue #12): (field, prefix, width) per step.
        self.unique: dict[str, list[list[Any]]] = plan.get("unique", {})

    # --- plumbing -----------------------------------------------------------------------

    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.pg else sql

    def _begin(self) -> tuple[Any, int, str, datetime]:
        cur = self.conn.cursor()
        if self.pg:  # psycopg opens the transaction itself; the head row lock serializes writers
            cur.execute("SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE")
        else:
            cur.execute("BEGIN IMMEDIATE")
            cur.execute("SELECT seq, hash FROM chain_head WHERE id = 1")
        seq, head = cur.fetchone()
        return cur, seq, head, datetime.now(UTC)

    def _stamp(self, now: datetime) -> Any:
        # What SQLAlchemy stores for DateTime(timezone=True): a datetime on PostgreSQL, on
        # SQLite the text form of its naive part.
        return now if self.pg else now.strftime("%Y-%m-%d %H:%M:%S.%f")

    def _rows(self, cur: Any, ids: Sequence[str], columns: str) -> dict[str, tuple[Any, ...]]:
        marks = ", ".join("?" * len(ids))
        cur.execute(self._q(f"SELECT id, {columns} FROM coop WHERE id IN ({marks})"), list(ids))
        return {row[0]: row[1:] for row in cur.fetchall()}

    def _event(
        self, rows: list[tuple[Any, ...]], seq: int, prev: str, at: str, action: str,
        coop: str, details: dict[str, Any],
    ) -> str:  # fmt: skip
        body = _dumps(
            {
                "v": self.canon, "seq": seq, "at": at, "actor": self.actor, "role": self.role,
                "action": action, "coop": coop, "details": details, "prev": prev,
            }
        )  # fmt: skip
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        rows.append((seq, at, self.actor, self.role, action, coop, body, prev, digest))
        return digest

    def _update(self, cur: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        cur.executemany(self._q(sql), rows)
        if not self.pg and cur.rowcount != len(rows):
            raise RuntimeError("compare-and-set lost: a cooperative changed under the floor")

    def _finish(self, cur: Any, audit: list[tuple[Any, ...]], seq: int, head: str) -> None:
        marks = ", ".join("?" * 9)
        cur.executemany(
            self._q(f"INSERT INTO audit_event ({_AUDIT_COLUMNS}) VALUES ({marks})"), audit
        )
        cur.execute(self._q("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1"), (seq, head))
        if self.pg:
            self.conn.commit()
        else:
            cur.execute("COMMIT")

    def ids_in(self, stage: str) -> list[str]:
        cur = self.conn.cursor()
        cur.execute(self._q("SELECT id FROM coop WHERE stage = ? ORDER BY id"), (stage,))
        ids = [row[0] for row in cur.fetchall()]
        if self.pg:
            self.conn.commit()
        return ids

    # --- the phases of the lifecycle ----------------------------------------------------

    def steps(self, keys: Sequence[str], ids: Sequence[str], seed_of: dict[str, int]) -> int:
        """Complete ``keys`` for every cooperative of ``ids`` (all of one coop's in one update)."""
        events = 0
        actor = self.actor
        for chunk in chunks(ids, self.batch):
            cur, seq, prev, now = self._begin()
            at, stamp = _iso(now), self._stamp(now)
            versions = self._rows(cur, chunk, "version")
            updates: list[tuple[Any, ...]] = []
            records: list[tuple[Any, ...]] = []
            audit: list[tuple[Any, ...]] = []
            held: list[tuple[Any, ...]] = []
            for coop in chunk:
                seen = version = versions[coop][0]
                seed = seed_of[coop]
                for key in keys:
                    clean, stored = self.evidence[key][seed]
                    version += 1
                    seq += 1
                    if self.unique.get(key):  # its own values, held in unique_value
                        own = {f: own_value(p, w, coop) for f, p, w in self.unique[key]}
                        clean = {**clean, **own}
                        stored = _dumps(clean)
                        held.extend((f"{key}.{f}", v, coop, key, seq) for f, v in own.items())
                    details = {
                        "step": key, "version": 1, "evidence": clean,
                        "coop_version": version, "plugins": self.plugins,
                    }  # fmt: skip
                    prev = self._event(audit, seq, prev, at, "step.completed", coop, details)
                    records.append((coop, key, 1, "done", stored, None, actor, stamp, seq))
                updates.append((version, stamp, actor, coop, seen))
            self._update(
                cur,
                "UPDATE coop SET version = ?, updated_at = ?, updated_by = ? "
                "WHERE id = ? AND version = ?",
                updates,
            )
            cur.executemany(
                self._q(
                    "INSERT INTO step_record (coop_id, step, version, status, evidence, reason, "
                    "actor, at, audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                records,
            )
            if held:
                cur.executemany(
                    self._q(
                        "INSERT INTO unique_value (scope, value, coop_id, step, audit_seq) "
                        "VALUES (?, ?, ?, ?, ?)"
                    ),
                    held,
                )
            self._finish(cur, audit, seq, prev)
            events += len(audit)
        return events

    def advance(self, stage: str, event: str, dest: str, limit: int | None = None) -> int:
        """Fire ``event`` for every cooperative in ``stage`` (the first ``limit`` by id)."""
        ids = self.ids_in(stage)[:limit]
        events = 0
        actor = self.actor
        for chunk in chunks(ids, self.batch):
            cur, seq, prev, now = self._begin()
            at, stamp = _iso(now), self._stamp(now)
            current = self._rows(cur, chunk, "version, stage")
            updates: list[tuple[Any, ...]] = []
            moves: list[tuple[Any, ...]] = []
            audit: list[tuple[Any, ...]] = []
            for coop in chunk:
                seen, where = current[coop]
                if where != stage:
                    continue
                seq += 1
                details = {
                    "event": event, "from": stage, "to": dest,
                    "coop_version": seen + 1, "plugins": self.plugins,
                }  # fmt: skip
                prev = self._event(audit, seq, prev, at, "coop.transition", coop, details)
                updates.append((dest, stamp, None, seen + 1, stamp, actor, coop, seen))
                moves.append((coop, event, stage, dest, None, actor, stamp, seq))
            self._update(
                cur,
                "UPDATE coop SET stage = ?, stage_since = ?, previous_stage = ?, version = ?, "
                "updated_at = ?, updated_by = ? WHERE id = ? AND version = ?",
                updates,
            )
            cur.executemany(
                self._q(
                    "INSERT INTO transition (coop_id, event, source, dest, reason, actor, at, "
                    "audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                moves,
            )
            self._finish(cur, audit, seq, prev)
            events += len(audit)
        return events

    def enroll(self, ids: Sequence[str], partners: Sequence[str]) -> int:
        """Enroll every cooperative of ``ids`` with ``partners`` (one event per cooperative)."""
        events = 0
        actor = self.actor
        for chunk in chunks(ids, self.batch):
            cur, seq, prev, now = self._begin()
            at, stamp = _iso(now), self._stamp(now)
            versions = self._rows(cur, chunk, "version")
            updates: list[tuple[Any, ...]] = []
            rows: list[tuple[Any, ...]] = []
            audit: list[tuple[Any, ...]] = []
            for coop in chunk:
                seen = versions[coop][0]
                seq += 1
                details = {
                    "partners": list(partners),
                    "coop_version": seen + 1,
                    "plugins": self.plugins,
                }
                prev = self._event(audit, seq, prev, at, "partner.enrolled", coop, details)
                updates.append((seen + 1, stamp, actor, coop, seen))
                rows.extend((coop, code, actor, stamp, seq) for code in partners)
            self._update(
                cur,
                "UPDATE coop SET version = ?, updated_at = ?, updated_by = ? "
                "WHERE id = ? AND version = ?",
                updates,
            )
            cur.executemany(
                self._q(
                    "INSERT INTO enrollment (coop_id, partner, actor, at, audit_seq) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                rows,
            )
            self._finish(cur, audit, seq, prev)
            events += len(audit)
        return events

    # --- partnership (issue #16): attendance at a forum and new leads ---------------------

    def attend(self, ids: Sequence[str], forum: str) -> int:
        """Record every cooperative of ``ids`` as attending ``forum`` (one event each), as
        ``Kopflow.forum_attend`` does: the chunk's rows and the attendance already recorded
        are read first; each attendee is represented by its ketua."""
        events = 0
        for chunk in chunks(ids, self.batch):
            cur, seq, prev, now = self._begin()
            at, stamp = _iso(now), self._stamp(now)
            self._rows(cur, chunk, "kabupaten, stage")
            marks = ", ".join("?" * len(chunk))
            cur.execute(
                self._q(
                    f"SELECT coop_id FROM forum_attendance WHERE coop_id IN ({marks}) "
                    "AND forum_id = ?"
                ),
                [*chunk, forum],
            )
            seen = {row[0] for row in cur.fetchall()}
            rows: list[tuple[Any, ...]] = []
            audit: list[tuple[Any, ...]] = []
            for coop in chunk:
                if coop in seen:
                    continue
                seq += 1
                rep = f"Ketua {coop}"
                details = {"forum": forum, "rep_name": rep, "rep_role": "ketua"}
                prev = self._event(audit, seq, prev, at, "forum.attended", coop, details)
                rows.append((forum, coop, rep, "ketua", self.actor, stamp, seq))
            cur.executemany(
                self._q(
                    "INSERT INTO forum_attendance (forum_id, coop_id, rep_name, rep_role, "
                    "actor, at, audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                rows,
            )
            self._finish(cur, audit, seq, prev)
            events += len(audit)
        return events

    def leads(
        self, ids: Sequence[str], partner: str, commodity: str, quantity: int, forum: str,
    ) -> int:  # fmt: skip
        """A new lead (interest) per cooperative of ``ids``, checked against the partner's
        cap as ``Kopflow.lead_add_bulk`` does: rows, open leads and the cap read per chunk."""
        events = 0
        for chunk in chunks(ids, self.batch):
            cur, seq, prev, now = self._begin()
            at, stamp = _iso(now), self._stamp(now)
            coops = self._rows(cur, chunk, "kabupaten, stage")
            marks = ", ".join("?" * len(chunk))
            cur.execute(
                self._q(
                    "SELECT l.coop_id, l.partner, l.commodity, r.status FROM lead l "
                    "JOIN lead_record r ON r.lead_id = l.id AND r.version = "
                    "(SELECT MAX(version) FROM lead_record WHERE lead_id = l.id) "
                    f"WHERE l.coop_id IN ({marks})"
                ),
                list(chunk),
            )
            held = {(r[0], r[1], r[2]) for r in cur.fetchall() if r[3] in ("interest", "intent")}
            kabupaten = coops[chunk[0]][0]
            cur.execute(
                self._q(
                    "SELECT cap, unit FROM partner_cap WHERE partner = ? AND commodity = ? "
                    "AND kabupaten IN (?, '') ORDER BY kabupaten DESC, id DESC"
                ),
                (partner, commodity, kabupaten),
            )
            cap, unit = cur.fetchone()
            if quantity > cap:
                raise RuntimeError("over the cap")
            leads: list[tuple[Any, ...]] = []
            records: list[tuple[Any, ...]] = []
            audit: list[tuple[Any, ...]] = []
            for coop in chunk:
                if (coop, partner, commodity) in held:
                    continue
                seq += 1
                details = {"partner": partner, "commodity": commodity, "quantity": quantity,
                           "unit": unit, "forum": forum}  # fmt: skip
                prev = self._event(audit, seq, prev, at, "lead.added", coop, details)
                lead = f"L-{seq}"
                leads.append(
                    (lead, coop, partner, commodity, quantity, forum, self.actor, stamp, seq)
                )
                records.append((lead, 1, "interest", _dumps({"lead": lead, **details}), None,
                                self.actor, stamp, seq))  # fmt: skip
            cur.executemany(
                self._q(
                    "INSERT INTO lead (id, coop_id, partner, commodity, quantity, forum_id, "
                    "actor, at, audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                leads,
            )
            cur.executemany(
                self._q(
                    "INSERT INTO lead_record (lead_id, version, status, details, on_date, "
                    "actor, at, audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                records,
            )
            self._finish(cur, audit, seq, prev)
            events += len(audit)
        return events

    def run_phase(self, phase: dict[str, Any], ids: Sequence[str], seed_of: dict[str, int],
                  limit: int | None = None) -> int:  # fmt: skip
        """One phase of ``plan["phases"]``; ``limit`` caps the cooperatives it touches."""
        kind = phase["kind"]
        if kind == "steps":
            return self.steps(phase["steps"], list(ids)[:limit], seed_of)
        if kind == "enroll":
            return self.enroll(list(ids)[:limit], phase["partners"])
        return self.advance(phase["stage"], phase["event"], phase["dest"], limit)


def own_value(prefix: str, width: int, coop: str) -> str:
    """A cooperative's own identifier: ``prefix`` and the digits of its id, ``width`` long."""
    return prefix + "".join(c for c in coop if c.isdigit()).zfill(width)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- national import ---------------------------------------------------------------------


def areaid_villages() -> Iterator[tuple[int, str, str, str, str, str | None]]:
    """(village id, village, kecamatan, kabupaten, provinsi, postal code) of every village."""
    import areaid

    for name in areaid.buka_nama()["himpunan"]:
        for province in areaid.buka_data(name.lower()):
            for kab in province["kabupaten"]:
                for kec in kab["kecamatan"]:
                    for village in kec["kelurahan"]:
                        pos = village.get("pos")
                        yield (
                            village["id"], village["kelu"], kec["kec"], kab["kab_kota"],
                            province["provinsi"], str(pos) if pos else None,
                        )  # fmt: skip


def import_villages(conn: sqlite3.Connection, plan: dict[str, Any], source: str,
                    kabupaten: str | None = None) -> int:  # fmt: skip
    """Register one cooperative per village: coop, coop_village and audit rows, executemany."""
    floor = Floor(conn, plan)
    actor, wf, version, initial = plan["actor"], plan["workflow"], plan["version"], plan["initial"]
    villages = [v for v in areaid_villages() if kabupaten is None or v[3] == kabupaten]
    for chunk in chunks(villages, plan["register_batch"]):
        cur, seq, prev, now = floor._begin()
        at, stamp = _iso(now), floor._stamp(now)
        coops: list[tuple[Any, ...]] = []
        places: list[tuple[Any, ...]] = []
        audit: list[tuple[Any, ...]] = []
        for vid, name, kec, kab, prov, postal in chunk:
            coop = f"KDMP-{int(vid):06d}"
            coops.append((coop, f"KDKMP {name}", name, kec, kab, prov, wf, version, initial,
                          stamp, None, 1, stamp, actor))  # fmt: skip
            places.append((str(vid), coop, name, kec, postal))
            seq += 1
            details = {
                "source": source, "kabupaten": kab, "provinsi": prov,
                "villages": [[str(vid), name, kec]], "workflow": wf, "workflow_version": version,
            }  # fmt: skip
            prev = floor._event(audit, seq, prev, at, "coop.registered", coop, details)
        cur.executemany(
            "INSERT INTO coop (id, name, village, kecamatan, kabupaten, provinsi, workflow, "
            "workflow_version, stage, stage_since, previous_stage, version, updated_at, "
            "updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            coops,
        )
        cur.executemany(
            "INSERT INTO coop_village (region_id, coop_id, name, kecamatan, postal_code) "
            "VALUES (?, ?, ?, ?, ?)",
            places,
        )
        floor._finish(cur, audit, seq, prev)
    return len(villages)


# --- audit verification -------------------------------------------------------------------


def verify_chain(conn: sqlite3.Connection) -> tuple[int, str | None]:
    """Recompute the chain with json + hashlib; the checks kopflow's verify makes, in order.

    Returns:
        (events that hold, first problem or None).
    """
    sha256, loads = hashlib.sha256, json.loads
    prev, expected = GENESIS, 1
    rows = conn.execute(f"SELECT {_AUDIT_COLUMNS} FROM audit_event ORDER BY seq")
    for seq, at, actor, role, action, coop, body, prev_hash, digest in rows:
        if seq != expected:
            return expected - 1, f"event {expected} missing or out of order"
        if sha256(body.encode("utf-8")).hexdigest() != digest:
            return seq - 1, f"event {seq} was changed"
        if prev_hash != prev:
            return seq - 1, f"event {seq} does not follow its predecessor"
        data = loads(body)
        if data.get("prev") != prev or data.get("seq") != seq:
            return seq - 1, f"event {seq} is out of place"
        if (
            data.get("at") != at or data.get("actor") != actor or data.get("role") != role
            or data.get("action") != action or data.get("coop") != coop
        ):  # fmt: skip
            return seq - 1, f"event {seq}: columns differ from the hashed body"
        prev = digest
        expected += 1
    head = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
    if tuple(head) != (expected - 1, prev):
        return expected - 1, "the head row does not name the last event"
    return expected - 1, None


# --- the tight floor (issue #15): canonical bodies spliced from pre-encoded pieces ---------


def transition_rows(
    moves: Sequence[tuple[str, int, str, str, str]], *, actor: str, role: str, canon: str,
    plugins_json: str, seq: int, prev: str, at: str, stamp: Any,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], int, str]:  # fmt: skip
    """The rows kopflow writes to advance each cooperative of ``moves`` along the main line.

    ``moves`` holds (coop id, version read, event, source stage, destination stage). Each
    audit body is spliced, in canonical (sorted-key) order, from pieces encoded once per
    batch, and is byte for byte what ``kopflow.audit.canonical`` makes of the event's dict
    (``run.py --check`` compares them). ``previous_stage`` is cleared, as kopflow does for a
    main-line stage (only a side stage remembers where to resume).

    Returns:
        (coop updates, transition rows, audit rows, last seq, last hash), the updates in
        :data:`_ADVANCE_SQL`'s parameter order.
    """
    sha256, enc = hashlib.sha256, _enc
    pre = f'{{"action":"coop.transition","actor":{enc(actor)},"at":{enc(at)},"coop":'
    role_seq = f'","role":{enc(role)},"seq":'
    tail = f',"v":{enc(canon)}}}'
    mids: dict[tuple[str, str, str], str] = {}
    updates: list[tuple[Any, ...]] = []
    moved: list[tuple[Any, ...]] = []
    audit: list[tuple[Any, ...]] = []
    for coop, seen, event, source, dest in moves:
        mid = mids.get((event, source, dest))
        if mid is None:
            mid = mids[event, source, dest] = (
                f',"event":{enc(event)},"from":{enc(source)},"plugins":{plugins_json},'
                f'"to":{enc(dest)}}},"prev":"'
            )
        seq += 1
        version = seen + 1
        body = (
            f'{pre}{enc(coop)},"details":{{"coop_version":{version}{mid}{prev}{role_seq}{seq}{tail}'
        )
        digest = sha256(body.encode()).hexdigest()
        audit.append((seq, at, actor, role, "coop.transition", coop, body, prev, digest))
        updates.append((dest, stamp, None, version, stamp, actor, coop, seen))
        moved.append((coop, event, source, dest, None, actor, stamp, seq))
        prev = digest
    return updates, moved, audit, seq, prev


def write_transitions(
    conn: sqlite3.Connection, moves: Sequence[tuple[str, int, str, str, str]], *, actor: str,
    role: str, canon: str, plugins_json: str,
) -> int:  # fmt: skip
    """Advance ``moves`` in one transaction, writing exactly the rows kopflow's advance writes.

    ``moves`` holds (coop id, version read, event, source stage, destination stage); the
    ``coop`` UPDATE is compare-and-set on that version, so the versions may be read before
    (outside) this transaction: a cooperative changed meanwhile raises ``RuntimeError`` and
    nothing is written. ``conn`` must be in autocommit mode (``isolation_level=None``, as
    :func:`connect_sqlite` makes it); ``plugins_json`` is the canonical JSON of the plugin
    fingerprint (``_dumps(plan["plugins"])``), ``canon`` the body format version.

    Returns:
        The number of audit events written (one per move).
    """
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    try:
        seq, prev = cur.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        now = datetime.now(UTC)
        updates, moved, audit, seq, prev = transition_rows(
            moves, actor=actor, role=role, canon=canon, plugins_json=plugins_json, seq=seq,
            prev=prev, at=_iso(now), stamp=now.strftime(_STAMP),
        )  # fmt: skip
        cur.executemany(_ADVANCE_SQL, updates)
        if cur.rowcount != len(updates):
            raise RuntimeError("compare-and-set lost: a cooperative changed under the floor")
        cur.executemany(_TRANSITION_SQL, moved)
        cur.executemany(_AUDIT_SQL, audit)
        cur.execute(_HEAD_SQL, (seq, prev))
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    return len(audit)


_COLUMNS = {
    "step_record": "coop_id, step, version, status, evidence, reason, actor, at, audit_seq",
    "transition": "coop_id, event, source, dest, reason, actor, at, audit_seq",
    "enrollment": "coop_id, partner, actor, at, audit_seq",
    "unique_value": "scope, value, coop_id, step, audit_seq",
    "audit_event": _AUDIT_COLUMNS,
}
_INSERT = {
    table: f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(cols.split(', ')))})"
    for table, cols in _COLUMNS.items()
}
_COPY = {table: f"COPY {table} ({cols}) FROM STDIN" for table, cols in _COLUMNS.items()}
_VERSION_SQL = (
    "UPDATE coop SET version = ?, updated_at = ?, updated_by = ? WHERE id = ? AND version = ?"
)


class TightFloor(Floor):
    """The fastest honest raw code for the same lifecycle (issue #15).

    The same transactions, reads and rows as :class:`Floor`, with two differences that any
    careful hand-written program would make: audit bodies are spliced from pieces encoded once
    (per step and seed the evidence, once the plugin fingerprint, per batch the timestamp)
    instead of encoding a nested dict per event, and on PostgreSQL the append-only tables
    (``step_record``, ``transition``, ``enrollment``, ``audit_event``, ``unique_value``) are
    written with ``COPY``. The ``coop`` compare-and-set UPDATEs stay ``executemany`` (on
    psycopg a pipeline), since they must report a lost race per row.
    """

    def __init__(self, conn: Any, plan: dict[str, Any]) -> None:
        super().__init__(conn, plan)
        enc = _enc
        self.plugins_json = plugins_json = _dumps(self.plugins)
        self._role_seq = f'","role":{enc(self.role)},"seq":'
        self._tail = f',"v":{enc(self.canon)}}}'
        # Per step and seed: (evidence as step_record stores it, the body after coop_version).
        self.after = {
            key: [(stored, _step_after(key, stored, plugins_json)) for _clean, stored in per_seed]
            for key, per_seed in self.evidence.items()
        }

    def _insert(self, cur: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if not self.pg:
            cur.executemany(_INSERT[table], rows)
            return
        with cur.copy(_COPY[table]) as copy:
            write = copy.write_row
            for row in rows:
                write(row)

    def _finish(self, cur: Any, audit: list[tuple[Any, ...]], seq: int, head: str) -> None:
        self._insert(cur, "audit_event", audit)
        if self.pg:
            cur.execute("UPDATE chain_head SET seq = %s, hash = %s WHERE id = 1", (seq, head))
            self.conn.commit()
        else:
            cur.execute(_HEAD_SQL, (seq, head))
            cur.execute("COMMIT")

    def steps(self, keys: Sequence[str], ids: Sequence[str], seed_of: dict[str, int]) -> int:
        events = 0
        actor, role, role_seq, tail = self.actor, self.role, self._role_seq, self._tail
        sha256, enc, after_of, unique = hashlib.sha256, _enc, self.after, self.unique
        for chunk in chunks(ids, self.batch):
            cur, seq, prev, now = self._begin()
            at, stamp = _iso(now), self._stamp(now)
            pre = f'{{"action":"step.completed","actor":{enc(actor)},"at":{enc(at)},"coop":'
            versions = self._rows(cur, chunk, "version")
            updates: list[tuple[Any, ...]] = []
            records: list[tuple[Any, ...]] = []
            audit: list[tuple[Any, ...]] = []
            held: list[tuple[Any, ...]] = []
            for coop in chunk:
                seen = version = versions[coop][0]
                seed = seed_of[coop]
                head = f'{pre}{enc(coop)},"details":{{"coop_version":'
                for key in keys:
                    version += 1
                    seq += 1
                    if unique.get(key):  # its own values, so its own evidence JSON
                        clean = self.evidence[key][seed][0]
                        own = {f: own_value(p, w, coop) for f, p, w in unique[key]}
                        stored = _dumps({**clean, **own})
                        after = _step_after(key, stored, self.plugins_json)
                        held.extend((f"{key}.{f}", v, coop, key, seq) for f, v in own.items())
                    else:
                        stored, after = after_of[key][seed]
                    body = f"{head}{version}{after}{prev}{role_seq}{seq}{tail}"
                    digest = sha256(body.encode()).hexdigest()
                    audit.append((seq, at, actor, role, "step.completed", coop, body, prev, digest))
                    records.append((coop, key, 1, "done", stored, None, actor, stamp, seq))
                    prev = digest
                updates.append((version, stamp, actor, coop, seen))
            self._update(cur, _VERSION_SQL, updates)
            self._insert(cur, "step_record", records)
            self._insert(cur, "unique_value", held)
            self._finish(cur, audit, seq, prev)
            events += len(audit)
        return events

    def advance(self, stage: str, event: str, dest: str, limit: int | None = None) -> int:
        ids = self.ids_in(stage)[:limit]
        events = 0
        for chunk in chunks(ids, self.batch):
            if not self.pg:
                # The versions read before the transaction: write_transitions' UPDATE is
                # compare-and-set on them, as kopflow's is on the version it read.
                current = self._rows(self.conn.cursor(), chunk, "version, stage")
                moves = [(c, current[c][0], event, stage, dest) for c in chunk
                         if current[c][1] == stage]  # fmt: skip
                events += write_transitions(
                    self.conn, moves, actor=self.actor, role=self.role, canon=self.canon,
                    plugins_json=self.plugins_json,
                )  # fmt: skip
                continue
            cur, seq, prev, now = self._begin()
            current = self._rows(cur, chunk, "version, stage")
            moves = [(c, current[c][0], event, stage, dest) for c in chunk
                     if current[c][1] == stage]  # fmt: skip
            updates, moved, audit, seq, prev = transition_rows(
                moves, actor=self.actor, role=self.role, canon=self.canon,
                plugins_json=self.plugins_json, seq=seq, prev=prev, at=_iso(now), stamp=now,
            )  # fmt: skip
            self._update(cur, _ADVANCE_SQL, updates)
            self._insert(cur, "transition", moved)
            self._finish(cur, audit, seq, prev)
            events += len(audit)
        return events

    def enroll(self, ids: Sequence[str], partners: Sequence[str]) -> int:
        events = 0
        actor, role, role_seq, tail = self.actor, self.role, self._role_seq, self._tail
        sha256, enc = hashlib.sha256, _enc
        after = f',"partners":{_dumps(list(partners))},"plugins":{self.plugins_json}}},"prev":"'
        for chunk in chunks(ids, self.batch):
            cur, seq, prev, now = self._begin()
            at, stamp = _iso(now), self._stamp(now)
            pre = f'{{"action":"partner.enrolled","actor":{enc(actor)},"at":{enc(at)},"coop":'
            versions = self._rows(cur, chunk, "version")
            updates: list[tuple[Any, ...]] = []
            rows: list[tuple[Any, ...]] = []
            audit: list[tuple[Any, ...]] = []
            for coop in chunk:
                seen = versions[coop][0]
                seq += 1
                body = (f'{pre}{enc(coop)},"details":{{"coop_version":{seen + 1}{after}{prev}'
                        f"{role_seq}{seq}{tail}")  # fmt: skip
                digest = sha256(body.encode()).hexdigest()
                audit.append((seq, at, actor, role, "partner.enrolled", coop, body, prev, digest))
                updates.append((seen + 1, stamp, actor, coop, seen))
                rows.extend((coop, code, actor, stamp, seq) for code in partners)
                prev = digest
            self._update(cur, _VERSION_SQL, updates)
            self._insert(cur, "enrollment", rows)
            self._finish(cur, audit, seq, prev)
            events += len(audit)
        return events


def _step_after(key: str, stored: str, plugins_json: str) -> str:
    """A step event's body from its ``details`` after ``coop_version`` up to the prev hash."""
    return (
        f',"evidence":{stored},"plugins":{plugins_json},"step":{_enc(key)},"version":1}},"prev":"'
    )


def verify_bare(conn: sqlite3.Connection, batch: int = 5_000) -> tuple[int, str | None]:
    """The bare hashlib loop (issue #15): no JSON parsing, rows fetched ``batch`` at a time.

    Per event, as ``kopflow.audit.chain.verify_events`` checks it: the sequence number is the
    next one, the ``prev_hash`` column names the previous event's hash, the body's tail holds
    that same link, its role and its sequence number (one ``endswith``), and SHA-256 of the
    stored body bytes is the stored hash; at the end the head row names the last event.
    kopflow also compares the body's head (action, actor, at, coop) with the columns; this
    loop does not, so it is a little less work than kopflow's, never more.

    Returns:
        (events that hold, first problem or None).
    """
    sha256, enc = hashlib.sha256, _enc
    tail = ',"v":' + enc("kopflow-audit-v1") + "}"
    roles: dict[str, str] = {}
    prev, expected = GENESIS, 1
    cur = conn.execute("SELECT seq, role, body, prev_hash, hash FROM audit_event ORDER BY seq")
    while rows := cur.fetchmany(batch):
        for seq, role, body, prev_hash, digest in rows:
            part = roles.get(role)
            if part is None:
                part = roles[role] = '","role":' + enc(role) + ',"seq":'
            if seq != expected:
                return expected - 1, f"event {expected} missing or out of order"
            if prev_hash != prev or not body.endswith(f',"prev":"{prev}{part}{seq}{tail}'):
                return seq - 1, f"event {seq} does not follow its predecessor"
            if sha256(body.encode()).hexdigest() != digest:
                return seq - 1, f"event {seq} was changed"
            prev = digest
            expected += 1
    head = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
    if tuple(head) != (expected - 1, prev):
        return expected - 1, "the head row does not name the last event"
    return expected - 1, None
