"""Managing actors (who may use kopflow) and moving cooperatives onto a newer workflow version.

Both are admin work that changes rows outside a cooperative's own steps; each change carries
its audit event like every other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kopflow import authz
from kopflow.errors import InputError, KopflowError, NotFoundError
from kopflow.i18n import _

if TYPE_CHECKING:
    from kopflow.engine import Kopflow
    from kopflow.pipeline.change import Unit
    from kopflow.pipeline.work import BulkResult, Outcome


def add_actor(
    engine: Kopflow, name: str, *, role: str, region: str | None, partner: str | None
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
    if partner:
        engine.plugins.partner(partner)

    def change(unit: Unit) -> int:
        authz.require_admin(unit.actor, _("add actors"))
        table = tables.actor
        if unit.conn.execute(select(table.c.name).where(table.c.name == name)).first():
            raise InputError("actor {name} exists already", name=name)
        if region:
            coop_t = tables.coop
            known = unit.conn.execute(
                select(func.count()).select_from(coop_t).where(coop_t.c.kabupaten == region)
            ).scalar()
            if not known:
                from kopflow.regions import seeds_from_areaid

                next(iter(seeds_from_areaid(kabupaten=region)), None)  # unknown: names close ones
        unit.insert(
            "actor",
            {
                "name": name,
                "role": role,
                "region": region,
                "partner": partner,
                "enabled": True,
                "created_at": unit.now,
                "created_by": unit.actor.name,
            },
        )
        return unit.event(
            "actor.added", None, {"name": name, "role": role, "region": region, "partner": partner}
        )

    seq: int = engine._write(change)
    return seq


def disable_actor(engine: Kopflow, name: str) -> int:
    """Disable an actor (kept for the record: the audit log names them)."""
    from sqlalchemy import update

    from kopflow.store import tables

    def change(unit: Unit) -> int:
        authz.require_admin(unit.actor, _("disable actors"))
        if name == unit.actor.name:
            raise InputError("you cannot disable yourself")
        table = tables.actor
        done = unit.conn.execute(
            update(table)
            .where(table.c.name == name, table.c.enabled.is_(True))
            .values(enabled=False)
        )
        if done.rowcount != 1:
            raise NotFoundError("no enabled actor {name}", name=name)
        return unit.event("actor.disabled", None, {"name": name})

    seq: int = engine._write(change)
    return seq


def list_actors(engine: Kopflow) -> list[dict[str, Any]]:
    """Every actor, enabled or not."""
    from sqlalchemy import select

    from kopflow.store import tables

    with engine.reading() as conn:
        engine.actor(conn)
        table = tables.actor
        rows = conn.execute(select(table).order_by(table.c.name)).mappings()
        return [{**r, "created_at": r["created_at"].isoformat()} for r in rows]


def migrate_workflow(engine: Kopflow, refs: list[str] | None, *, dry_run: bool) -> BulkResult:
    """Move cooperatives onto the current version of their workflow, each with an event."""
    from sqlalchemy import select

    from kopflow.engine import BATCH
    from kopflow.pipeline.work import BulkResult, Outcome
    from kopflow.store import tables

    wf = engine.workflow
    table = tables.coop
    result = BulkResult(dry_run=dry_run)
    with engine.reading() as conn:
        authz.require_write(engine.actor(conn))
        if refs is None:
            ids = list(
                conn.execute(
                    select(table.c.id)
                    .where(table.c.workflow == wf.name, table.c.workflow_version != wf.version)
                    .order_by(table.c.id)
                ).scalars()
            )
        else:
            ids = [engine.resolve(conn, ref) for ref in refs]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]

        def change(unit: Unit, chunk: list[str] = chunk) -> list[Outcome]:
            works = engine._load(unit.conn, chunk)
            done: list[Outcome] = []
            for coop_id in chunk:
                work = works[coop_id]
                try:
                    authz.require_coop(unit.actor, work.row["kabupaten"], coop_id)
                    have = (work.row["workflow"], work.row["workflow_version"])
                    if have == (wf.name, wf.version):
                        raise InputError(
                            "{coop} already runs {name} v{version}",
                            coop=coop_id,
                            name=wf.name,
                            version=wf.version,
                        )
                    if work.row["workflow"] != wf.name:
                        raise InputError(
                            "{coop} runs another workflow ({name})",
                            coop=coop_id,
                            name=work.row["workflow"],
                        )
                    wf.stage(work.row["stage"])  # the new version must still have its stage
                except KopflowError as err:
                    result.refused.append(Outcome(coop_id, False, str(err)))
                    continue
                version = unit.update_coop(
                    coop_id, work.row["version"], workflow_version=wf.version
                )
                seq = unit.event(
                    "workflow.migrated",
                    coop_id,
                    {
                        "workflow": wf.name,
                        "from": have[1],
                        "to": wf.version,
                        "digest": wf.digest,
                        "coop_version": version,
                    },
                )
                done.append(
                    Outcome(coop_id, True, f"v{have[1]} -> v{wf.version}", seq, work.row["stage"])
                )
            return done

        result.done.extend(engine._write(change, dry_run=dry_run))
    return result
