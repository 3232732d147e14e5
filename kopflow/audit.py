"""The hash-chained audit log: append events inside the caller's transaction, and verify a chain.

Each event's ``body`` is the canonical JSON (``kopflow._canonical``) of its fields, including the
previous event's hash; its hash is SHA-256 of exactly those stored bytes. The format is
documented for auditors in ``docs/audit.md``; this module must stay its single implementation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kopflow._canonical import CANON_VERSION, canonical_bytes
from kopflow.i18n import _

if TYPE_CHECKING:
    from sqlalchemy import Connection

GENESIS_HASH = "0" * 64


def utc_iso(moment: datetime) -> str:
    """The one timestamp format of audit events: ISO-8601 UTC with microseconds and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ChainWriter:
    """Appends events to the chain within one open write transaction.

    Creating it takes the chain-head lock (PostgreSQL ``FOR UPDATE``; on SQLite the
    ``BEGIN IMMEDIATE`` of the transaction already holds the database lock), so writers in
    several processes queue instead of forking the chain. Events are kept in memory and
    written by :meth:`flush` with one ``executemany``, in the same transaction as the changes
    they record.
    """

    def __init__(self, conn: Connection) -> None:
        from sqlalchemy import text

        self._conn = conn
        lock = "" if conn.dialect.name == "sqlite" else " FOR UPDATE"
        row = conn.execute(text(f"SELECT seq, hash FROM chain_head WHERE id = 1{lock}")).one()
        self.seq: int = row[0]
        self.hash: str = row[1]
        self._rows: list[dict[str, Any]] = []
        self._flushed_to = self.seq

    def append(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        coop_id: str | None,
        details: Mapping[str, Any],
        at: datetime,
    ) -> int:
        """Add one event after the current head and return its sequence number."""
        seq = self.seq + 1
        at_text = utc_iso(at)
        body = canonical_bytes(
            {
                "v": CANON_VERSION,
                "seq": seq,
                "at": at_text,
                "actor": actor,
                "role": role,
                "action": action,
                "coop": coop_id,
                "details": details,
                "prev": self.hash,
            }
        )
        digest = hashlib.sha256(body).hexdigest()
        self._rows.append(
            {
                "seq": seq,
                "at": at_text,
                "actor": actor,
                "role": role,
                "action": action,
                "coop_id": coop_id,
                "body": body.decode("utf-8"),
                "prev_hash": self.hash,
                "hash": digest,
            }
        )
        self.seq, self.hash = seq, digest
        return seq

    def mark(self) -> tuple[int, str, int]:
        """A point to return to when the change being built is refused."""
        return self.seq, self.hash, len(self._rows)

    def rollback_to(self, mark: tuple[int, str, int]) -> None:
        """Forget the events appended since ``mark`` (they were never written)."""
        self.seq, self.hash, count = mark
        del self._rows[count:]

    def flush(self) -> None:
        """Write pending events and move the head, inside the caller's transaction."""
        if not self._rows:
            return
        from sqlalchemy import insert, update

        from kopflow.models import AuditEvent, ChainHead

        self._conn.execute(insert(AuditEvent.__table__), self._rows)  # type: ignore[arg-type]
        self._conn.execute(
            update(ChainHead.__table__)  # type: ignore[arg-type]
            .where(ChainHead.__table__.c.id == 1)
            .values(seq=self.seq, hash=self.hash)
        )
        self._rows.clear()
        self._flushed_to = self.seq


def init_chain(conn: Connection, log_id: str) -> None:
    """Create the chain-head row of an empty log (``kopflow init``)."""
    from sqlalchemy import insert, select

    from kopflow.models import ChainHead

    table = ChainHead.__table__
    if conn.execute(select(table.c.id)).first() is None:
        conn.execute(insert(table).values(id=1, seq=0, hash=GENESIS_HASH, log_id=log_id))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ChainHeadInfo:
    """The newest event of a chain as the head row names it."""

    log_id: str
    seq: int
    hash: str


def read_head(conn: Connection) -> ChainHeadInfo:
    """The head row, without scanning history."""
    from sqlalchemy import text

    row = conn.execute(text("SELECT log_id, seq, hash FROM chain_head WHERE id = 1")).one()
    return ChainHeadInfo(row[0], row[1], row[2])


@dataclass
class VerifyResult:
    """What ``verify_events`` found: how far the chain holds, and the first problem if any."""

    count: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    problem_seq: int | None = None
    problem: str | None = None
    # Filled when a checkpoint was given: the hash found at the checkpoint's sequence number.
    hash_at: dict[int, str] | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


# A row as verify reads it: seq, at, actor, role, action, coop_id, body, prev_hash, hash.
Row = tuple[int, str, str, str, str, "str | None", str, str, str]


def verify_events(rows: Iterable[Row], *, watch: Iterable[int] = ()) -> VerifyResult:
    """Recompute a chain from its rows in sequence order and stop at the first problem.

    Args:
        rows: events ordered by ``seq``, starting at 1.
        watch: sequence numbers whose hashes to report (to compare with checkpoints).

    Returns:
        A :class:`VerifyResult`; ``problem_seq`` names the first broken, missing or reordered
        event.
    """
    result = VerifyResult(hash_at={})
    watched = set(watch)
    expected_seq = 1
    prev = GENESIS_HASH
    sha256 = hashlib.sha256
    loads = json.loads
    for seq, at, actor, role, action, coop_id, body, prev_hash, digest in rows:
        problem = None
        if seq != expected_seq:
            problem = (
                _(
                    "event {missing} is missing (next stored event is {seq})",
                    missing=expected_seq,
                    seq=seq,
                )
                if seq > expected_seq
                else _(
                    "event {seq} is out of order (expected {expected})",
                    seq=seq,
                    expected=expected_seq,
                )
            )
            result.problem_seq = expected_seq if seq > expected_seq else seq
        elif sha256(body.encode("utf-8")).hexdigest() != digest:
            problem = _("event {seq} was changed: its hash does not match its content", seq=seq)
        elif prev_hash != prev:
            problem = _(
                "event {seq} does not follow event {before}: previous hash differs",
                seq=seq,
                before=seq - 1,
            )
        else:
            data = loads(body)
            if data.get("prev") != prev or data.get("seq") != seq:
                problem = _(
                    "event {seq} is out of place: its content names another position", seq=seq
                )
            elif (
                data.get("at") != at
                or data.get("actor") != actor
                or data.get("role") != role
                or data.get("action") != action
                or data.get("coop") != coop_id
            ):
                problem = _(
                    "event {seq} was changed: its columns differ from its hashed content", seq=seq
                )
        if problem is not None:
            result.problem = problem
            if result.problem_seq is None:
                result.problem_seq = seq
            return result
        if seq in watched:
            result.hash_at[seq] = digest  # type: ignore[index]
        prev = digest
        expected_seq += 1
        result.count += 1
    result.head_seq = expected_seq - 1
    result.head_hash = prev
    return result


def iter_rows(conn: Connection, batch: int = 20_000) -> Iterator[Row]:
    """Stream every event in sequence order with bounded memory."""
    from sqlalchemy import text

    result = conn.execution_options(stream_results=True, yield_per=batch).execute(
        text(
            "SELECT seq, at, actor, role, action, coop_id, body, prev_hash, hash "
            "FROM audit_event ORDER BY seq"
        )
    )
    for part in result.partitions(batch):
        yield from part  # type: ignore[misc]


def verify_database(conn: Connection, *, watch: Iterable[int] = ()) -> VerifyResult:
    """Verify the stored chain and that the head row names its last event (a cut tail)."""
    result = verify_events(iter_rows(conn), watch=watch)
    if result.ok:
        head = read_head(conn)
        if (head.seq, head.hash) != (result.head_seq, result.head_hash):
            result.problem_seq = result.head_seq + 1
            result.problem = _(
                "the chain ends at event {last} but its head names event {head}: "
                "events were removed from the end or added without the head",
                last=result.head_seq,
                head=head.seq,
            )
    return result
