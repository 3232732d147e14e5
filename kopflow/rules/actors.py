"""Managing actors: who may use kopflow, with which role and scope.

Admin work that changes rows outside any cooperative; each change carries its audit event like
every other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.errors import InputError, NotFoundError
from kopflow.i18n import _

if TYPE_CHECKING:
    from kopflow.pipeline.change import Change, Workspace


def add_actor(
    workspace: Workspace, name: str, *, role: str, region: str | None, partner: str | None
) -> int:
    """Register an actor; returns the audit sequence number of the change."""
    from sqlalchemy import func, select

    from kopflow.store import tables

    if role not in authz.ROLES:
        raise InputError(
            "unknown role {role}; roles: {roles}", role=role, roles=", ".join(authz.ROLES)
        )
    if role == "officer" and not region:
        raise InputError("an officer needs --region KABUPATEN")
    if role == "partner" and not partner:
        raise InputError("a partner's actor needs --partner CODE")
    if role not in ("officer",) and region:
        raise InputError("--region goes with --role officer")
    if role != "partner" and partner:
        raise InputError("--partner goes with --role partner")

    def add(change: Change) -> int:
        authz.require_admin(change.actor, _("add actors"))
        if partner and partner not in workspace.plugins.partners:
            # A partner of the directory without a plugin has staff too (issue #16): they
            # record its leads and agreements. Anything else is refused naming the plugins'.
            from kopflow.rules.partnership import directory

            if partner not in directory(change.conn):
                workspace.plugins.partner(partner)
        table = tables.actor
        if change.conn.execute(select(table.c.name).where(table.c.name == name)).first():
            raise InputError("actor {name} exists already", name=name)
        if region:
            coop_t = tables.coop
            known = change.conn.execute(
                select(func.count()).select_from(coop_t).where(coop_t.c.kabupaten == region)
            ).scalar()
            if not known:
                from kopflow.regions import seeds_from_areaid

                next(iter(seeds_from_areaid(kabupaten=region)), None)  # unknown: names close ones
        change.insert(
            "actor",
            {
                "name": name,
                "role": role,
                "region": region,
                "partner": partner,
                "enabled": True,
                "created_at": change.now,
                "created_by": change.actor.name,
            },
        )
        return change.event(
            "actor.added", None, {"name": name, "role": role, "region": region, "partner": partner}
        )

    return workspace.write(add)


def disable_actor(workspace: Workspace, name: str) -> int:
    """Disable an actor (kept for the record: the audit log names them)."""
    from sqlalchemy import update

    from kopflow.store import tables

    def disable(change: Change) -> int:
        authz.require_admin(change.actor, _("disable actors"))
        if name == change.actor.name:
            raise InputError("you cannot disable yourself")
        table = tables.actor
        done = change.conn.execute(
            update(table)
            .where(table.c.name == name, table.c.enabled.is_(True))
            .values(enabled=False)
        )
        if done.rowcount != 1:
            raise NotFoundError("no enabled actor {name}", name=name)
        return change.event("actor.disabled", None, {"name": name})

    return workspace.write(disable)


def list_actors(workspace: Workspace) -> list[dict[str, Any]]:
    """Every actor, enabled or not."""
    from sqlalchemy import select

    from kopflow.store import tables

    with workspace.reading() as conn:
        workspace.actor(conn)
        table = tables.actor
        rows = conn.execute(select(table).order_by(table.c.name)).mappings()
        return [{**r, "created_at": r["created_at"].isoformat()} for r in rows]
