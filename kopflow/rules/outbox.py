"""The outbox (issue #13): delivering the partner notifications that changes wrote with them
(``kopflow partner deliver``), and the reads of ``partner outbox`` and ``partner status``.

The rows themselves are queued by :meth:`kopflow.pipeline.change.Change.notify` in the change's
own transaction. Delivery runs outside any change: each row is handed to the partner's plugin
(``kopflow_deliver``) and then marked in a transaction of its own, so a process killed halfway
re-delivers at most the row in flight, with the same idempotency key (its audit sequence
number). Marking a row is bookkeeping about a partner's system, not a change to a cooperative:
it writes no audit event.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.errors import InputError, PluginError
from kopflow.store import db

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.pipeline.change import Workspace

PENDING, FAILED, DELIVERED = "pending", "failed", "delivered"
DEFAULT_RETRIES = 4  # after the first attempt: five in all, ~15 s of waiting at the default
DEFAULT_BACKOFF = 1.0  # seconds before the first retry; doubled for each next one
MAX_WAIT = 60.0  # no single wait is longer, whatever the settings


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and after how long, a failed delivery is tried again in one run.

    Args:
        retries: tries after the first one (0: one attempt only).
        backoff: seconds before the first retry; each next wait doubles, up to ``MAX_WAIT``.
    """

    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF

    def wait(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1, 2, ...)."""
        return float(min(self.backoff * 2 ** (retry - 1), MAX_WAIT))

    @classmethod
    def from_settings(cls, retries: int | None, backoff: float | None) -> RetryPolicy:
        """The options given, else ``KOPFLOW_DELIVER_RETRIES`` and ``KOPFLOW_DELIVER_BACKOFF``,
        else the defaults; a value that is not a number or is negative is refused."""
        if retries is None:
            retries = int(_setting("KOPFLOW_DELIVER_RETRIES", DEFAULT_RETRIES))
        if backoff is None:
            backoff = _setting("KOPFLOW_DELIVER_BACKOFF", DEFAULT_BACKOFF)
        if retries < 0 or backoff < 0:
            raise InputError("retries and backoff may not be negative")
        return cls(retries, backoff)


def _setting(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(
            "{name}={value} is not a number; set it to e.g. {default}",
            name=name,
            value=raw,
            default=default,
        ) from None
    return value


@dataclass
class DeliveryResult:
    """What one ``partner deliver`` run did.

    Args:
        delivered: rows delivered, per partner.
        failed: the rows that failed after every retry: partner, key, cooperative, error.
        waiting: rows not tried, per partner, because an earlier row of it failed.
    """

    delivered: dict[str, int] = field(default_factory=dict)
    failed: list[dict[str, Any]] = field(default_factory=list)
    waiting: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "failed": self.failed, "waiting": self.waiting}


def deliver(
    workspace: Workspace,
    partner: str | None,
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Deliver the pending and failed rows of ``partner`` (None: every partner the actor may)
    in audit order, at least once each; a partner whose row fails after every retry has its
    later rows wait for the next run, so its system sees them in order."""
    with workspace.reading() as conn:
        actor = workspace.actor(conn)
        partner = authz.outbox_partner(actor, partner, deliver=True)
        rows = _rows(conn, partner, (PENDING, FAILED))
    result = DeliveryResult()
    blocked: set[str] = set()
    for row in rows:
        code = row["partner"]
        if code in blocked:
            result.waiting[code] = result.waiting.get(code, 0) + 1
            continue
        attempts, error = _attempt(workspace, row, policy, sleep)
        _mark(workspace.url, row, attempts, error)
        if error is None:
            result.delivered[code] = result.delivered.get(code, 0) + 1
            workspace.log.info("notification delivered", partner=code, audit_seq=row["audit_seq"])
            continue
        blocked.add(code)
        result.failed.append(
            {"partner": code, "key": row["audit_seq"], "coop": row["coop_id"], "error": error}
        )
        workspace.log.error(
            "notification not delivered", partner=code, audit_seq=row["audit_seq"], error=error
        )
    return result


def _attempt(
    workspace: Workspace,
    row: dict[str, Any],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
) -> tuple[int, str | None]:
    """Hand one row to its plugin, retrying with backoff: (attempts made, last error or None)."""
    problem = workspace.plugins.delivery_problem(row["partner"])
    if problem is not None:  # no plugin to call: trying again cannot help
        return 1, str(problem)
    payload = json.loads(row["payload"])
    error: str | None = None
    for attempt in range(policy.retries + 1):
        if attempt:
            sleep(policy.wait(attempt))
        try:
            workspace.plugins.deliver(
                partner=row["partner"],
                key=row["audit_seq"],
                action=row["action"],
                coop_id=row["coop_id"],
                payload=payload,
            )
            return attempt + 1, None
        except PluginError as exc:
            error = str(exc)
        workspace.log.warning(
            "delivery attempt failed",
            partner=row["partner"],
            audit_seq=row["audit_seq"],
            attempt=attempt + 1,
            error=error,
        )
    return policy.retries + 1, error


def _mark(url: str, row: dict[str, Any], attempts: int, error: str | None) -> None:
    """Record one row's outcome in a transaction of its own (a kill loses at most this)."""
    from sqlalchemy import update

    from kopflow.store import tables

    table = tables.outbox
    values: dict[str, Any] = {"attempts": table.c.attempts + attempts}
    if error is None:
        values.update(status=DELIVERED, delivered_at=datetime.now(UTC), last_error=None)
    else:
        values.update(status=FAILED, last_error=error[:1000])
    with db.write_transaction(url) as conn:
        conn.execute(
            update(table)
            .where(
                table.c.audit_seq == row["audit_seq"],
                table.c.partner == row["partner"],
                table.c.status != DELIVERED,
            )
            .values(**values)
        )


def _rows(conn: Connection, partner: str | None, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from kopflow.store import tables

    table = tables.outbox
    query = select(table).where(table.c.status.in_(statuses))
    if partner is not None:
        query = query.where(table.c.partner == partner)
    query = query.order_by(table.c.audit_seq, table.c.partner)
    return [dict(row) for row in conn.execute(query).mappings()]


def outbox_rows(
    workspace: Workspace, partner: str | None, *, failed: bool, everything: bool
) -> list[dict[str, Any]]:
    """The outbox rows of ``partner`` (None: all the actor may see) in audit order: those not
    yet delivered, only the failed ones, or with ``everything`` the delivered ones too."""
    with workspace.reading() as conn:
        actor = workspace.actor(conn)
        partner = authz.outbox_partner(actor, partner, deliver=False)
        if failed:
            statuses: tuple[str, ...] = (FAILED,)
        elif everything:
            statuses = (PENDING, FAILED, DELIVERED)
        else:
            statuses = (PENDING, FAILED)
        rows = _rows(conn, partner, statuses)
    return [
        {
            "key": row["audit_seq"],
            "partner": row["partner"],
            "coop": row["coop_id"],
            "action": row["action"],
            "status": row["status"],
            "attempts": row["attempts"],
            "created_at": _iso(row["created_at"]),
            "delivered_at": _iso(row["delivered_at"]),
            "error": row["last_error"],
            "payload": json.loads(row["payload"]),
        }
        for row in rows
    ]


def outbox_counts(conn: Connection, actor: authz.ActorInfo) -> dict[str, dict[str, int]]:
    """Pending and failed rows per partner the actor may see, for ``partner status``."""
    from sqlalchemy import func, select

    from kopflow.store import tables

    table = tables.outbox
    only = authz.outbox_partner(actor, None, deliver=False)
    query = (
        select(table.c.partner, table.c.status, func.count())
        .where(table.c.status.in_((PENDING, FAILED)))
        .group_by(table.c.partner, table.c.status)
    )
    if only is not None:
        query = query.where(table.c.partner == only)
    counts: dict[str, dict[str, int]] = {}
    for code, status, count in conn.execute(query):
        counts.setdefault(code, {PENDING: 0, FAILED: 0})[status] = int(count)
    return counts


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None
