"""A unit of work: the rows one write transaction will add, built in memory, written at once.

Every change goes through here together with its audit event, so a cooperative's update and
the event recording it are flushed in the same transaction (issue #7) by one ``executemany``
per table, which is what keeps bulk commands close to plain sqlite3 (issue #5).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from kopflow.audit.chain import ChainWriter
from kopflow.errors import ConflictError

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.authz import ActorInfo


SPILL = 2000  # events a bulk batch queues at most before writing them (see Unit.spill)


class Unit:
    """Pending rows of one transaction, with marks to drop one refused cooperative's part."""

    def __init__(self, conn: Connection, actor: ActorInfo, now: datetime) -> None:
        self.conn = conn
        self.actor = actor
        self.now = now
        # The local day evidence dates may not be after, read once per transaction as ``now``
        # is: asking the clock for every step of a bulk batch was a tenth of validating it.
        self.today = date.today()
        self.chain = ChainWriter(conn)  # takes the chain lock first: every writer queues here
        self.coop_updates: dict[str, dict[str, Any]] = {}
        # Each update_coop's prior state (None: none pending), so rollback_to costs what was
        # done since the mark, not a copy of the whole batch per cooperative (quadratic).
        self._undo: list[tuple[str, dict[str, Any] | None]] = []
        self.inserts: dict[str, list[dict[str, Any]]] = {
            "coop": [],
            "coop_village": [],
            "step_record": [],
            "transition": [],
            "enrollment": [],
            "actor": [],
        }

    def event(self, action: str, coop_id: str | None, details: dict[str, Any]) -> int:
        """Append the audit event of a change; returns its sequence number."""
        return self.chain.append(
            actor=self.actor.name,
            role=self.actor.role,
            action=action,
            coop_id=coop_id,
            details=details,
            at=self.now,
        )

    def insert(self, table: str, row: dict[str, Any]) -> None:
        """Queue a row for ``table``."""
        self.inserts[table].append(row)

    def update_coop(self, coop_id: str, seen_version: int, **values: Any) -> int:
        """Queue a compare-and-set update of a cooperative; returns its new version.

        Several changes to one cooperative in one unit become one update checked against the
        version first read.
        """
        pending = self.coop_updates.get(coop_id)
        self._undo.append((coop_id, None if pending is None else dict(pending)))
        if pending is None:
            pending = self.coop_updates[coop_id] = {"b_id": coop_id, "b_version": seen_version}
        pending.update(values)
        pending["version"] = pending.get("version", seen_version) + 1
        pending["updated_at"] = self.now
        pending["updated_by"] = self.actor.name
        return int(pending["version"])

    def mark(self) -> tuple[Any, ...]:
        """A point to return to if the cooperative being worked on is refused."""
        return (
            self.chain.mark(),
            {k: len(v) for k, v in self.inserts.items()},
            len(self._undo),
        )

    def rollback_to(self, mark: tuple[Any, ...]) -> None:
        """Forget everything queued since ``mark``."""
        chain_mark, counts, undo_count = mark
        self.chain.rollback_to(chain_mark)
        for table, count in counts.items():
            del self.inserts[table][count:]
        while len(self._undo) > undo_count:
            coop_id, before = self._undo.pop()
            if before is None:
                del self.coop_updates[coop_id]
            else:
                self.coop_updates[coop_id] = before

    def spill(self, limit: int = SPILL) -> None:
        """Write what is queued once it holds ``limit`` events; the transaction stays open.

        Bounds a bulk batch's memory (issue #5). Call it only between cooperatives: a mark
        taken before a spill cannot be rolled back to after it.
        """
        if self.chain.pending >= limit:
            self.flush()

    def flush(self) -> None:
        """Write all queued rows and events; a lost compare-and-set fails the whole unit."""
        from kopflow.store import tables as t
        from kopflow.store.rows import insert_dicts

        tables = {
            "coop": t.coop,
            "coop_village": t.coop_village,
            "step_record": t.step_record,
            "transition": t.transition,
            "enrollment": t.enrollment,
            "actor": t.actor,
        }
        # Driver-level executemany (issue #5): SQLAlchemy's per-row parameter handling cost
        # more than the inserts themselves; the stored values are the same.
        for name in ("actor", "coop", "coop_village"):
            if self.inserts[name]:
                insert_dicts(self.conn, tables[name], self.inserts[name])  # type: ignore[arg-type]
        if self.coop_updates:
            self._update_coops(tables["coop"])
        for name in ("step_record", "transition", "enrollment"):
            if self.inserts[name]:
                insert_dicts(self.conn, tables[name], self.inserts[name])  # type: ignore[arg-type]
        self.chain.flush()
        for rows in self.inserts.values():
            rows.clear()
        self.coop_updates.clear()
        self._undo.clear()

    def _update_coops(self, table: Any) -> None:
        from kopflow.store.rows import update_many

        # Group by the set of columns changed: executemany needs one statement shape.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for params in self.coop_updates.values():
            groups.setdefault(tuple(sorted(params)), []).append(params)
        for keys, rows in groups.items():
            values = [k for k in keys if not k.startswith("b_")]
            changed = update_many(
                self.conn,
                table,
                values,
                ["id", "version"],
                [(*(p[k] for k in values), p["b_id"], p["b_version"]) for p in rows],
            )
            if changed != len(rows):
                self._raise_conflict(table, rows)

    def _raise_conflict(self, table: Any, rows: list[dict[str, Any]]) -> None:
        from sqlalchemy import select

        for params in rows:
            current = self.conn.execute(
                select(table.c.version, table.c.updated_by, table.c.updated_at).where(
                    table.c.id == params["b_id"]
                )
            ).first()
            if current is not None and current[0] != params["b_version"]:
                raise ConflictError(
                    "{coop} was changed by {actor} at {at}; look again and retry",
                    coop=params["b_id"],
                    actor=current[1],
                    at=current[2].strftime("%Y-%m-%d %H:%M:%S UTC"),
                )
        raise ConflictError("a cooperative was changed by someone else; look again and retry")
