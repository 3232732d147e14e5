"""Which audit events ``audit log`` and ``audit export`` read, and how ``audit log`` shows one.

The filter options become a :class:`kopflow.audit.chain.EventFilter`. SQLAlchemy and
:mod:`kopflow.audit.chain` are imported inside the functions, so ``kopflow audit --help`` stays light.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kopflow.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from kopflow.audit.chain import EventFilter


def event_as_shown(row: tuple[Any, ...]) -> dict[str, Any]:
    """An event as shown: its hashed content (the columns are only an index)."""
    seq, at, actor, role, action, coop_id, body, prev_hash, digest = row
    try:
        data = json.loads(body)
        details = data["details"]
    except (ValueError, KeyError, TypeError):
        data, details = {}, body
    return {
        "seq": seq,
        "at": data.get("at", at),
        "actor": data.get("actor", actor),
        "role": data.get("role", role),
        "action": data.get("action", action),
        "coop": data.get("coop", coop_id),
        "details": details,
        "prev": prev_hash,
        "hash": digest,
    }


def event_filter(
    engine: Any,
    conn: Connection,
    *,
    coop: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int | None = None,
) -> EventFilter:
    """The events the filter options select; ``coop`` may be an id or a village name.

    Raises:
        NotFoundError: no cooperative, and no audit event, has ``coop``.
        InputError: ``since`` or ``until`` is not a UTC day or time.
    """
    from kopflow.audit.chain import EventFilter

    return EventFilter(
        coop_id=_coop_id(engine, conn, coop) if coop else None,
        actor=actor,
        action=_action(conn, action) if action else None,
        since=_moment(since, "--since", end=False) if since else None,
        until=_moment(until, "--until", end=True) if until else None,
        limit=limit,
    )


def _coop_id(engine: Any, conn: Connection, ref: str) -> str:
    """A cooperative's id from an id or village name; an id only the audit log knows works too."""
    from sqlalchemy import text

    try:
        return str(engine.resolve(conn, ref))
    except NotFoundError:
        known = conn.execute(
            text("SELECT 1 FROM audit_event WHERE coop_id = :c LIMIT 1"), {"c": ref.upper()}
        ).first()
        if known is None:
            raise
        return ref.upper()


def _action(conn: Connection, action: str) -> str:
    """``action`` as given when kopflow writes it or an event has it; else refused with the
    list, so a name docs or habit shortened (``transition``) does not select nothing quietly."""
    from sqlalchemy import text

    from kopflow.audit.chain import ACTIONS

    prefix = action[:-1] if action.endswith("*") else None
    if prefix is not None and any(a.startswith(prefix) for a in ACTIONS):
        return action
    if prefix is None and action in ACTIONS:
        return action
    # An action a plugin or a newer kopflow wrote is fine too, as long as some event has it.
    if prefix is None:
        query, value = "SELECT 1 FROM audit_event WHERE action = :p LIMIT 1", action
    else:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = "SELECT 1 FROM audit_event WHERE action LIKE :p ESCAPE '\\' LIMIT 1"
        value = escaped + "%"
    found = conn.execute(text(query), {"p": value}).first()
    if found is None:
        raise InputError(
            "no audit event has the action {action}; actions: {actions} "
            "(a prefix ends with *, e.g. step.*)",
            action=action,
            actions=", ".join(ACTIONS),
        )
    return action


def _moment(value: str, option: str, *, end: bool) -> str:
    """A --since/--until value as audit-event time text; a bare day covers the whole day."""
    from kopflow.audit.chain import utc_iso

    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if end:
                moment += timedelta(days=1, microseconds=-1)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise InputError(
            "{option} takes a UTC day (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM:SS), not {value}",
            option=option,
            value=value,
        ) from None
    return utc_iso(moment)
