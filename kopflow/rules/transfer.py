"""``kopflow db migrate-to``: copy a district's database into an empty national one, audit chain
and all, and prove the copy by verifying the chain there before it commits.

The target must hold no kopflow rows: a copied chain starts at event 1 and cannot follow another
chain's events. Everything is written in one target transaction, so a refused or failed move
leaves the target as empty as it was. The source is only read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.errors import AuditError, InputError
from kopflow.i18n import _
from kopflow.store import db

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table

    from kopflow.pipeline.change import Workspace

BATCH = 5000


@dataclass
class MoveResult:
    """What ``migrate_to`` copied and the chain head found on the target."""

    target: str
    counts: dict[str, int] = field(default_factory=dict)
    head_seq: int = 0
    head_hash: str = ""
    log_id: str = ""


def _tables() -> list[Table]:
    """Every kopflow table, parents before children (foreign keys)."""
    from kopflow.store.tables import metadata

    return list(metadata.sorted_tables)


def _count(conn: Connection, table: Table) -> int:
    from sqlalchemy import func, select

    return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def _require_empty(conn: Connection) -> None:
    """Refuse a target that holds any kopflow row (its chain could not take ours)."""
    from sqlalchemy import inspect

    from kopflow.store import tables

    present = set(inspect(db.sqlalchemy_connection(conn)).get_table_names())
    if "audit_event" in present:
        events = _count(conn, tables.audit_event)
        if events:
            raise InputError(
                "the target already holds {count} audit events of its own chain; migrate-to "
                "moves a database only into an empty one, because the chain it copies starts "
                "at event 1 and cannot follow another",
                count=events,
            )
    for table in _tables():
        if table.name in present:
            count = _count(conn, table)
            if count:
                raise InputError(
                    "the target already holds {count} rows in table {table}; migrate-to "
                    "moves a database only into an empty one, because the audit chain it "
                    "copies starts at event 1",
                    count=count,
                    table=table.name,
                )


def _rows(conn: Connection, table: Table, batch: int) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``table`` in primary-key order, ``batch`` at a time. Times come back aware,
    in UTC, from SQLite too (``kopflow.store.sqltypes.UTCDateTime``), so PostgreSQL stores the same
    instants whatever its session time zone."""
    from sqlalchemy import select

    query = select(table).order_by(*table.primary_key.columns)
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    for part in result.mappings().partitions(batch):
        yield [dict(r) for r in part]


def _advance_sequences(conn: Connection, table: Table) -> None:
    """After explicit ids were copied, make PostgreSQL's serial continue after the largest."""
    from sqlalchemy import Integer, text

    keys = list(table.primary_key.columns)
    if conn.dialect.name != "postgresql" or len(keys) != 1 or not isinstance(keys[0].type, Integer):
        return
    conn.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence(:table, :column), "
            f"COALESCE(MAX({keys[0].name}), 1), MAX({keys[0].name}) IS NOT NULL) "
            f"FROM {table.name}"
        ),
        {"table": table.name, "column": keys[0].name},
    )


def migrate_to(
    workspace: Workspace,
    target: str,
    *,
    batch: int = BATCH,
    progress: Callable[[str, int], None] | None = None,
) -> MoveResult:
    """Copy every table of ``workspace``'s database into the empty database at ``target``.

    The source chain must verify first; the copy must verify on the target with the same head
    (sequence number and hash) before the target transaction commits.

    Args:
        workspace: kopflow on the source (a district's SQLite file); its actor must be an admin.
        target: the target URL (``postgresql+psycopg://...``), empty or without a schema.
        batch: rows per INSERT.
        progress: called with (table, rows copied so far).

    Returns:
        Row counts per table and the target's chain head.

    Raises:
        InputError: the target is the source, or holds kopflow rows already.
        AuditError: the source chain does not verify, or the copy does not.
        PermissionDeniedError: the source actor is not an admin.
    """
    from kopflow.audit.chain import read_head, verify_database

    target_url = db.resolve_url(target)
    if target_url == workspace.url:
        raise InputError("the target is the source database; give another database")
    result = MoveResult(target=_display(target_url))
    with workspace.reading() as src:
        authz.require_admin(workspace.actor(src), _("move the database"))
        checked = verify_database(src)
        if not checked.ok:
            raise AuditError(
                "the source audit chain does not verify at event {seq}: {problem}; "
                "nothing was moved",
                seq=checked.problem_seq,
                problem=checked.problem,
            )
        source_counts = {t.name: _count(src, t) for t in _tables()}
        # a new SQLite file is created by the upgrade below; reads refuse a missing one
        if not db.is_sqlite(target_url) or os.path.exists(db.display_name(target_url)):
            with db.read_connection(target_url) as dst:
                if db.schema_revision(dst) is not None:
                    _require_empty(dst)
        db.upgrade_schema(target_url)
        with db.write_transaction(target_url) as dst:
            _require_empty(dst)  # again, inside the transaction that writes
            for table in _tables():
                copied = 0
                for rows in _rows(src, table, batch):
                    dst.execute(table.insert(), rows)
                    copied += len(rows)
                    if progress:
                        progress(table.name, copied)
                _advance_sequences(dst, table)
                result.counts[table.name] = copied
            copy = verify_database(dst)
            if not copy.ok or (copy.head_seq, copy.head_hash) != (
                checked.head_seq,
                checked.head_hash,
            ):
                raise AuditError(
                    "the copy does not verify on the target ({problem}); nothing was committed",
                    problem=copy.problem
                    or _(
                        "its head is event {seq}, not {want}",
                        seq=copy.head_seq,
                        want=checked.head_seq,
                    ),
                )
            if result.counts != source_counts:
                raise AuditError(
                    "the copy holds other row counts than the source ({counts}); "
                    "nothing was committed",
                    counts=", ".join(
                        f"{name} {result.counts.get(name)}/{n}"
                        for name, n in source_counts.items()
                        if result.counts.get(name) != n
                    ),
                )
            head = read_head(dst)
    result.head_seq, result.head_hash, result.log_id = head.seq, head.hash, head.log_id
    workspace.log.info("database moved", target=result.target, events=head.seq, head_hash=head.hash)
    return result


def _display(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
