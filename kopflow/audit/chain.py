"""The hash-chained audit log: append events inside the caller's transaction, read and verify them.

Each event's ``body`` is the canonical JSON (``kopflow.audit.canonical``) of its fields, including the
previous event's hash; its hash is SHA-256 of exactly those stored bytes. The format is
documented for auditors in ``docs/audit.md``; this module must stay its single implementation.
It never changes an event once written, and never decides what a change is (the engine does).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from json.encoder import encode_basestring
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from kopflow.audit.canonical import CANON_VERSION, canonical_bytes, object_text
from kopflow.errors import AuditError
from kopflow.i18n import _

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.audit.checkpoint import Checkpoint

GENESIS_HASH = "0" * 64
_HEX = re.compile("[0-9a-f]*")
_V_TAIL = ',"v":' + encode_basestring(CANON_VERSION) + "}"  # the body's last member
_UNSET = object()
_NO_PARTS: Mapping[str, str] = MappingProxyType({})  # no member of the details pre-encoded

# A row as verify reads it: seq, at, actor, role, action, coop_id, body, prev_hash, hash.
Row = tuple[int, str, str, str, str, "str | None", str, str, str]
COLUMNS = "seq, at, actor, role, action, coop_id, body, prev_hash, hash"


def utc_iso(moment: datetime) -> str:
    """The one timestamp format of audit events: ISO-8601 UTC with microseconds and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- writing ---------------------------------------------------------------------------------


class ChainWriter:
    """Appends events to the chain within one open write transaction.

    Creating it takes the chain-head lock (PostgreSQL: ``kopflow_chain_lock()``, a ``FOR
    UPDATE`` run as the owner; on SQLite the ``BEGIN IMMEDIATE`` of the transaction already
    holds the database lock), so writers in several processes queue instead of forking the
    chain. Events are kept in memory and written by :meth:`flush` in the same transaction as
    the changes they record: on SQLite with one ``executemany`` and a head update, on
    PostgreSQL with one call of ``kopflow_chain_append``, which checks them on the server and
    moves the head itself (issue #14: no login but the owner may touch ``chain_head``).
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._sqlite = conn.dialect.name == "sqlite"
        if self._sqlite:
            row = conn.exec_driver_sql("SELECT seq, hash FROM chain_head WHERE id = 1").one()
        else:
            row = conn.exec_driver_sql("SELECT seq, hash FROM kopflow_chain_lock()").one()
        self.seq: int = row[0]
        self.hash: str = row[1]
        self._rows: list[tuple[Any, ...]] = []  # in COLUMNS order
        self._at: tuple[datetime | None, str] = (None, "")  # a unit stamps all its events alike
        # The spliced body's fixed parts per (actor, role, action, at): see _spliced.
        self._parts: dict[tuple[str, str, str, str], tuple[str, str]] = {}
        # The previous hash is spliced in as it is, so only when it needs no escaping.
        self._hex_head = _HEX.fullmatch(self.hash) is not None

    def append(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        coop_id: str | None,
        details: Mapping[str, Any],
        at: datetime,
        encoded: Mapping[str, str] | None = None,
        details_text: str | None = None,
    ) -> int:
        """Add one event after the current head and return its sequence number.

        The body is spliced from parts, the same bytes as the whole event's
        ``canonical_bytes`` (issue #15); ``encoded`` gives the canonical text of some members of
        ``details`` already encoded (:func:`~kopflow.audit.canonical.checked_text`). ``details_text``
        (with ``encoded``) is the canonical text of ``details`` as a whole, built by a caller
        that knows its shape (a transition's): spliced in as it is, ``details`` only encoded
        if the body cannot be spliced (a lone surrogate), so that the refusal names the place.
        """
        seq = self.seq + 1
        if self._at[0] is at:
            at_text = self._at[1]
        else:
            at_text = utc_iso(at)
            self._at = (at, at_text)
        # Every body is spliced (object_text encodes scalar members directly, checking them as
        # canonical_bytes would); the whole event is encoded only when splicing gives up.
        spliced = self._spliced(
            seq, at_text, actor, role, action, coop_id, details, encoded or _NO_PARTS, details_text
        )
        if spliced is None:
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
            text = body.decode("utf-8")
        else:
            text, body = spliced
        digest = sha256(body).hexdigest()
        self._rows.append((seq, at_text, actor, role, action, coop_id, text, self.hash, digest))
        self.seq, self.hash, self._hex_head = seq, digest, True
        return seq

    def _spliced(
        self,
        seq: int,
        at_text: str,
        actor: str,
        role: str,
        action: str,
        coop_id: str | None,
        details: Mapping[str, Any],
        encoded: Mapping[str, str],
        details_text: str | None = None,
    ) -> tuple[str, bytes] | None:
        """The body's text and bytes from pre-encoded parts, or None to let the whole event be
        encoded (and refused, naming the place) when some part is not canonical."""
        if not self._hex_head:
            return None  # a head hash as a database edit left it: encoded as a whole
        key = (actor, role, action, at_text)
        parts = self._parts.get(key)
        if parts is None:
            if not all(type(v) is str for v in key):
                return None
            # The members in code point order: action, actor, at, coop, details, prev, role,
            # seq, v; the fixed ones encoded once per transaction.
            head = (
                f'{{"action":{encode_basestring(action)},"actor":{encode_basestring(actor)},'
                f'"at":{encode_basestring(at_text)},"coop":'
            )
            tail = f',"role":{encode_basestring(role)},"seq":'
            parts = self._parts[key] = (head, tail)
        if coop_id is None:
            coop = "null"
        elif type(coop_id) is str:
            coop = encode_basestring(coop_id)
        else:
            return None
        if details_text is not None:
            inner = details_text
        else:
            try:
                inner = object_text(details, encoded)
            except (ValueError, TypeError):
                return None
        text = f'{parts[0]}{coop},"details":{inner},"prev":"{self.hash}"{parts[1]}{seq}{_V_TAIL}'
        try:
            return text, text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the whole event's encoding names it
            return None

    @property
    def pending(self) -> int:
        """Events appended and not yet written."""
        return len(self._rows)

    def mark(self) -> tuple[int, str, int]:
        """A point to return to when the change being built is refused."""
        return self.seq, self.hash, len(self._rows)

    def rollback_to(self, mark: tuple[int, str, int]) -> None:
        """Forget the events appended since ``mark`` (they were never written)."""
        self.seq, self.hash, count = mark
        self._hex_head = _HEX.fullmatch(self.hash) is not None
        del self._rows[count:]

    def flush(self) -> None:
        """Write pending events and move the head, inside the caller's transaction."""
        if not self._rows:
            return
        if not self._sqlite:
            self._append_on_server()
            return
        from kopflow.store.rows import insert_many

        insert_many(self._conn, "audit_event", COLUMNS.split(", "), self._rows)
        # At the driver, as the events: building the SQLAlchemy statement anew for every
        # flush (a bulk batch flushes every 2,000 events) cost more than running it.
        self._conn.exec_driver_sql(
            "UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (self.seq, self.hash)
        )
        self._rows.clear()

    def _append_on_server(self) -> None:
        # One statement per flush, column by column as arrays: the head moves once, and the
        # server checks the batch in one pass (bench/run.py --only pg, issue #14). The arrays
        # go in PostgreSQL's binary format (psycopg's ``%b``): the server reads each element as
        # it is, where the text literal of an array of JSON bodies cost it array_in's parsing
        # of every escaped quote, 0.15 s of server CPU per 52,000 events, and the client 0.05 s
        # building it (issue #15).
        columns = zip(*self._rows, strict=True)
        casts = ["integer[]", *["text[]"] * (len(self._rows[0]) - 1)]
        marks = ", ".join(f"%b::{cast}" for cast in casts)
        self._conn.exec_driver_sql(
            f"SELECT kopflow_chain_append({marks})", tuple(list(c) for c in columns)
        )
        self._rows.clear()


def init_chain(conn: Connection, log_id: str) -> None:
    """Create the chain-head row of an empty log (``kopflow init``)."""
    from sqlalchemy import insert, select

    from kopflow.store import tables

    table = tables.chain_head
    if conn.execute(select(table.c.id)).first() is None:
        conn.execute(insert(table).values(id=1, seq=0, hash=GENESIS_HASH, log_id=log_id))


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainHeadInfo:
    """The newest event of a chain as the head row names it."""

    log_id: str
    seq: int
    hash: str


def read_head(conn: Connection) -> ChainHeadInfo:
    """The head row, without scanning history.

    Raises:
        AuditError: there is no head row (the database was edited outside kopflow).
    """
    from kopflow.store.rows import fetch

    # At the driver: SQLAlchemy's text() would import it into `audit verify` on SQLite, a tenth
    # of verifying a million events (issue #15).
    rows = fetch(conn, "SELECT log_id, seq, hash FROM chain_head WHERE id = 1", ())
    if len(rows) != 1:
        raise AuditError(
            "the audit log has no head row: 'kopflow init' did not finish, or the database "
            "was edited outside kopflow"
        )
    log_id, seq, digest = rows[0]
    return ChainHeadInfo(log_id, seq, digest)


@contextmanager
def snapshot(url: str) -> Iterator[Connection]:
    """A read-only connection that sees one moment of the database for its whole life.

    Verifying reads the events and then the head row; under PostgreSQL's default READ
    COMMITTED a writer committing in between would look like tampering, so there the
    transaction is REPEATABLE READ. An SQLite read transaction in WAL mode is a snapshot
    already. The schema is checked before the connection is handed out.
    """
    from kopflow.store import db

    with db.read_connection(url) as conn:
        if not db.is_sqlite(url):
            # Must be the transaction's first statement; PostgreSQL refuses it otherwise.
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        db.require_schema(conn)
        yield conn


def iter_rows(conn: Connection, batch: int = 5_000) -> Iterator[Row]:
    """Stream every event in sequence order with bounded memory (``batch`` rows at a time).

    Reads through the driver's own cursor (a server-side cursor on PostgreSQL): building
    SQLAlchemy rows would cost more than verifying them. The rows of each batch are handed on
    by ``itertools.chain``, not by a generator resumed per row (issue #15: 9% of verify's CPU).
    """
    return itertools.chain.from_iterable(_batches(conn, batch))


def _batches(conn: Connection, batch: int) -> Iterator[list[Row]]:
    """The rows of :func:`iter_rows`, ``batch`` at a time; the cursor closed at the end."""
    raw: Any = conn.connection.dbapi_connection
    sql = f"SELECT {COLUMNS} FROM audit_event ORDER BY seq"
    sqlite = conn.dialect.name == "sqlite"
    cursor = raw.cursor() if sqlite else raw.cursor(name=f"kopflow_audit_{uuid.uuid4().hex}")
    last = 0
    try:
        if not sqlite:
            cursor.itersize = batch
        cursor.execute(sql)
        while True:
            try:
                rows = cursor.fetchmany(batch)
            except Exception as err:
                # sqlite3 refuses to return a text column that is not UTF-8; PostgreSQL cannot
                # store such text in the first place.
                if sqlite and "decode" in str(err):
                    raise _not_text(last) from err
                raise
            if not rows:
                return
            last = rows[-1][0]
            yield rows
    finally:
        try:
            cursor.close()
        except Exception:
            # A reader that stopped early, after its SQLite transaction ended: sqlite3 refuses
            # to close a cursor of a closed connection, whose closing freed it already.
            if not sqlite:
                raise


def _not_text(after: int) -> AuditError:
    return AuditError(
        "an event after event {seq} holds bytes that are not UTF-8 text: "
        "the database was edited outside kopflow",
        seq=after,
    )


# The actions kopflow's own changes write (docs/audit.md lists them): what `audit log
# --action` offers when it is given a name no event has (issue #14).
ACTIONS = (
    "db.init", "db.grant", "actor.added", "actor.disabled", "coop.registered",
    "coop.transition", "step.completed", "step.corrected", "step.undone", "partner.enrolled",
    "workflow.migrated",
)  # fmt: skip


@dataclass(frozen=True)
class EventFilter:
    """Which events ``audit log`` and ``audit export`` select; empty means the whole chain.

    Attributes:
        coop_id: only events about this cooperative.
        actor: only events by this actor.
        action: only this action; a trailing ``*`` matches a prefix (``step.*``).
        since: only events at or after this time (``utc_iso`` text).
        until: only events at or before this time (``utc_iso`` text).
        limit: only the newest this many of the events selected by the rest.
    """

    coop_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int | None = None

    @property
    def is_empty(self) -> bool:
        """True when every event is selected: an export is then the whole chain."""
        return not any(v is not None for v in asdict(self).values())

    def as_dict(self) -> dict[str, Any]:
        """The filters that are set, for manifests and JSON output."""
        return {k: v for k, v in asdict(self).items() if v is not None}


# A filter keeping fewer events than this is "selective" (see select_events).
SELECTIVE = 100_000


def _prefix_end(prefix: str) -> str | None:
    """The first string after every string starting with ``prefix``, in code point order
    (None: there is none, or it would be a lone surrogate SQLite cannot store)."""
    last = ord(prefix[-1]) + 1
    if last > 0x10FFFF or 0xD800 <= last <= 0xDFFF:
        return None
    return prefix[:-1] + chr(last)


def _conditions(flt: EventFilter, column: Callable[[str], Any], *, sqlite: bool) -> list[Any]:
    where = []
    if flt.coop_id is not None:
        where.append(column("coop_id") == flt.coop_id)
    if flt.actor is not None:
        where.append(column("actor") == flt.actor)
    if flt.action is not None:
        prefix = flt.action[:-1] if flt.action.endswith("*") else None
        end = _prefix_end(prefix) if prefix else None
        if prefix is None:
            where.append(column("action") == flt.action)
        elif sqlite and end is not None:
            # A range, not LIKE: SQLite uses an index for LIKE only with a literal pattern.
            # Only on SQLite, whose BINARY collation is code point order: PostgreSQL's
            # linguistic collations (en_US, id_ID) ignore punctuation, so "step.x" < "step/"
            # need not hold there.
            where += [column("action") >= prefix, column("action") < end]
        elif prefix:
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(column("action").like(escaped + "%", escape="\\"))
    if flt.since is not None:
        where.append(column("at") >= flt.since)
    if flt.until is not None:
        where.append(column("at") <= flt.until)
    return where


def select_events(conn: Connection, flt: EventFilter, *, batch: int = 5_000) -> Iterator[Row]:
    """Stream the events ``flt`` selects, oldest first, with bounded memory.

    Every filter has an index (issue #5); the trouble is choosing between it and the order of
    ``seq``, and SQLite, given bound parameters and no statistics, cannot tell how many events a
    filter keeps. Walking ``seq`` and testing each event is right when many match and costs a
    second per million events (a minute when the file is not cached) when a handful do; reading
    through the filter's index and sorting is the reverse. So a capped count through the index
    decides. A selective filter sorts what its index finds (``ORDER BY +seq``: a unary plus keeps
    SQLite from using an index for that term); a broad one walks ``seq`` (``+column`` in each
    condition). PostgreSQL keeps statistics and chooses for itself.
    """
    from sqlalchemy import func, literal, literal_column, select

    from kopflow.store import tables

    table = tables.audit_event
    cols = [table.c[name] for name in COLUMNS.split(", ")]
    sqlite = conn.dialect.name == "sqlite"
    where = _conditions(flt, lambda name: table.c[name], sqlite=sqlite)
    order: Any = table.c.seq
    if where and sqlite:
        kept = select(literal(1)).where(*where).limit(SELECTIVE).subquery()
        if conn.execute(select(func.count()).select_from(kept)).scalar_one() < SELECTIVE:
            order = literal_column("+audit_event.seq")
        else:
            where = _conditions(
                flt, lambda name: literal_column(f"+audit_event.{name}"), sqlite=True
            )
    if flt.limit is not None:
        # The newest N: find the sequence number of the Nth newest, then read upwards from it.
        bound = conn.execute(
            select(table.c.seq).where(*where).order_by(order.desc()).limit(1).offset(flt.limit - 1)
        ).scalar()
        if bound is not None:
            where.append(order >= bound)  # through the same path as the rest
    query = select(*cols).where(*where).order_by(order)
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    for part in result.partitions(batch):
        yield from (tuple(r) for r in part)


# --- verifying -------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    """What verification found: how far the chain holds, and the first problem if any.

    ``count``, ``head_seq`` and ``head_hash`` describe the longest stretch from event 1 that
    verifies; ``problem_seq`` names the first broken, missing, inserted or reordered event.
    """

    count: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    problem_seq: int | None = None
    problem: str | None = None
    # The hash found at each watched sequence number (to compare with checkpoints).
    hash_at: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def fail(self, seq: int, problem: str) -> None:
        """Record ``problem`` at ``seq`` unless an earlier event already has one."""
        if self.problem_seq is None or seq < self.problem_seq:
            self.problem_seq, self.problem = seq, problem


def verify_events(
    rows: Iterable[Row], *, watch: Iterable[int] = (), strict: bool = False
) -> VerifyResult:
    """Recompute a chain from its rows in sequence order and stop at the first problem.

    Each event must hash to its stored hash, and its body must be exactly what the writer
    produces from its columns, its sequence number and the previous event's hash: the parts
    around ``details`` are compared byte for byte, which checks the link, the position and the
    filter columns without parsing JSON. ``strict`` also parses every body and checks that it
    is canonical JSON (slower; any tool that re-serializes events needs that).

    Args:
        rows: events ordered by ``seq``, starting at 1.
        watch: sequence numbers whose hashes to report (to compare with checkpoints).
        strict: also check that every body is canonical JSON.

    Returns:
        A :class:`VerifyResult`.
    """
    result = VerifyResult()
    hash_at = result.hash_at
    watched = frozenset(watch)
    sha256 = hashlib.sha256
    enc = encode_basestring
    tail = ',"v":' + enc(CANON_VERSION) + "}"
    # Encoded pieces repeat, so each is built once per run of events sharing it (issue #15:
    # per event this loop is most of `audit verify`'s own work): the events of one change
    # share its action, actor, role and timestamp (the body's head up to "coop", and the
    # role's part of its tail), and a cooperative's events in it are adjacent (the head up
    # to "details"). Every column is still compared with its run's on every event.
    run: tuple[str, str, str, str] | None = None
    head = start = role_part = ""
    coop: object = _UNSET  # the cooperative ``start`` was built for
    expected = 1
    prev = before = GENESIS_HASH  # hashes of the last two events that verified
    for row in rows:
        seq, at, actor, role, action, coop_id, body, prev_hash, digest = row
        if run is None or at != run[2] or action != run[0] or actor != run[1] or role != run[3]:
            run = (action, actor, at, role)
            head = f'{{"action":{enc(action)},"actor":{enc(actor)},"at":{enc(at)},"coop":'
            role_part = '","role":' + enc(role) + ',"seq":'
            coop = _UNSET
        if coop_id != coop:
            coop = coop_id
            start = f'{head}{"null" if coop_id is None else enc(coop_id)},"details":{{'
        if (
            seq != expected
            or prev_hash != prev
            or not body.startswith(start)
            or not body.endswith(f',"prev":"{prev}{role_part}{seq}{tail}')
            or sha256(body.encode("utf-8")).hexdigest() != digest
            or (strict and not is_canonical(body))
        ):
            result.count = expected - 1
            problem_seq, problem = explain(row, expected=expected, prev=prev, before=before)
            result.fail(problem_seq, problem)
            if seq == expected and problem_seq == seq - 1:  # the previous event is to blame
                result.count -= 1
                hash_at.pop(seq - 1, None)
                result.head_seq, result.head_hash = result.count, before
            else:
                result.head_seq, result.head_hash = result.count, prev
            return result
        if watched and seq in watched:
            hash_at[seq] = digest
        before, prev = prev, digest
        expected += 1
    result.count = result.head_seq = expected - 1
    result.head_hash = prev
    return result


def is_canonical(body: str) -> bool:
    """Whether ``body`` is exactly the canonical JSON of what it holds."""
    try:
        return canonical_bytes(json.loads(body)) == body.encode("utf-8")
    except ValueError:
        return False


def broken_link(seq: int) -> tuple[int, str]:
    """The first bad event and why, when event ``seq`` is chained to an unexpected hash."""
    if seq == 1:
        return 1, _("event 1 does not start the chain: it names a previous event")
    return seq - 1, _(
        "event {before} was changed after event {seq} was written (its hash was "
        "recomputed), or event {seq} was forged: event {seq} is chained to another hash",
        before=seq - 1,
        seq=seq,
    )


def explain(row: Row, *, expected: int, prev: str, before: str) -> tuple[int, str]:
    """Why ``row`` does not verify: (the sequence number to blame, a one-line reason).

    Args:
        row: the first event that failed the fast check.
        expected: the sequence number it should have.
        prev: hash of the event before it (``GENESIS_HASH`` for the first).
        before: hash of the event before that one.
    """
    seq, at, actor, role, action, coop_id, body, prev_hash, digest = row
    if seq > expected:
        if expected == seq - 1:
            return expected, _("event {seq} is missing", seq=expected)
        return expected, _("events {first} to {last} are missing", first=expected, last=seq - 1)
    if seq < expected:
        return seq, _("event {seq} is stored twice or out of order", seq=seq)
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != digest:
        return seq, _("event {seq} was changed: its hash does not match its content", seq=seq)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return seq, _("event {seq} is not a JSON object", seq=seq)
    claimed = data.get("seq")
    if claimed != seq:
        if claimed == seq - 1 and data.get("prev") == before:
            return seq - 1, _(
                "event {seq} was inserted: the event stored after it is the original event {seq}",
                seq=seq - 1,
            )
        return seq, _(
            "the event stored as {seq} is event {claimed} of the chain: "
            "events were removed, inserted or reordered",
            seq=seq,
            claimed=claimed,
        )
    if data.get("prev") != prev:
        return broken_link(seq)
    if data.get("v") != CANON_VERSION:
        return seq, _("event {seq} has an unknown format version", seq=seq)
    columns = {
        "prev_hash": (prev_hash, data.get("prev")),
        "at": (at, data.get("at")),
        "actor": (actor, data.get("actor")),
        "role": (role, data.get("role")),
        "action": (action, data.get("action")),
        "coop_id": (coop_id, data.get("coop")),
    }
    for column, (stored, hashed) in columns.items():
        if stored != hashed:
            return seq, _(
                "event {seq} was changed: its {column} column says {stored} "
                "but its hashed content says {hashed}",
                seq=seq,
                column=column,
                stored=json.dumps(stored, ensure_ascii=False),
                hashed=json.dumps(hashed, ensure_ascii=False),
            )
    return seq, _("event {seq} is not in canonical form", seq=seq)


def span(first: int, last: int) -> str:
    """``event 9`` or ``events 9 to 11``, in the user's language."""
    if first == last:
        return _("event {seq}", seq=first)
    return _("events {first} to {last}", first=first, last=last)


def check_head(conn: Connection, result: VerifyResult) -> VerifyResult:
    """Compare a verified chain with the head row, which every append moves with it."""
    if not result.ok:
        return result
    head = read_head(conn)
    last = result.head_seq
    if head.seq == last and head.hash != result.head_hash:
        result.fail(
            last,
            _(
                "event {seq} was changed after it was written: the chain head names another hash",
                seq=last,
            ),
        )
    elif head.seq > last:
        result.fail(
            last + 1,
            _(
                "missing {events}: the chain ends at event {last} but its head names event {head}",
                events=span(last + 1, head.seq),
                head=head.seq,
                last=last,
            ),
        )
    elif head.seq < last:
        result.fail(
            head.seq + 1,
            _(
                "added outside kopflow: {events}; the chain head still names event {head}",
                events=span(head.seq + 1, last),
                head=head.seq,
            ),
        )
    return result


def verify_database(
    conn: Connection, *, watch: Iterable[int] = (), strict: bool = False
) -> VerifyResult:
    """Verify the stored chain and that the head row names its last event.

    Give a :func:`snapshot` connection when others may be writing: otherwise an append
    committed between reading the events and reading the head looks like tampering.
    """
    return check_head(conn, verify_events(iter_rows(conn), watch=watch, strict=strict))


def check_checkpoint(result: VerifyResult, cp: Checkpoint) -> VerifyResult:
    """Compare a verified chain with a checkpoint made earlier (``watch`` must include its size).

    A checkpoint names the head event's sequence number and hash at some moment: the chain must
    still hold that event with that hash. This catches a cut tail (the event is gone) and a
    history rewritten with recomputed hashes (the hash differs), which the chain alone cannot.
    """
    size = cp.size
    if size == 0 or (result.problem_seq is not None and result.problem_seq <= size):
        return result
    found = result.hash_at.get(size)
    if size > result.head_seq and result.ok:
        result.fail(
            result.head_seq + 1,
            _(
                "missing {events}: the checkpoint of {timestamp} names event {size}, "
                "the chain ends at event {last}",
                events=span(result.head_seq + 1, size),
                size=size,
                timestamp=cp.timestamp,
                last=result.head_seq,
            ),
        )
    elif found is not None and found != cp.head_hash:
        result.fail(
            size,
            _(
                "event {size} differs from the checkpoint of {timestamp}: "
                "the history up to event {size} was rewritten",
                size=size,
                timestamp=cp.timestamp,
            ),
        )
    return result
