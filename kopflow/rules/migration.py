"""Moving cooperatives onto the current version of their workflow definition, each with its
audit event: a :class:`~kopflow.pipeline.driver.BulkOp`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from kopflow import authz
from kopflow.errors import InputError
from kopflow.pipeline.driver import BulkOp
from kopflow.pipeline.work import Outcome

if TYPE_CHECKING:
    from kopflow.pipeline.change import Change, Workspace
    from kopflow.pipeline.work import CoopWork


def migrate(change: Change, work: CoopWork) -> Outcome:
    """Queue one cooperative's move onto the definition pinned for this change."""
    wf = change.workflow
    authz.require_coop(change.actor, work.row["kabupaten"], work.id)
    have = (work.row["workflow"], work.row["workflow_version"])
    if have == (wf.name, wf.version):
        raise InputError(
            "{coop} already runs {name} v{version}", coop=work.id, name=wf.name, version=wf.version
        )
    if work.row["workflow"] != wf.name:
        raise InputError(
            "{coop} runs another workflow ({name})", coop=work.id, name=work.row["workflow"]
        )
    wf.stage(work.row["stage"])  # the new version must still have its stage
    version = change.update_coop(work.id, work.row["version"], workflow_version=wf.version)
    seq = change.event(
        "workflow.migrated",
        work.id,
        {
            "workflow": wf.name,
            "from": have[1],
            "to": wf.version,
            "digest": wf.digest,
            "coop_version": version,
        },
    )
    return Outcome(work.id, True, f"v{have[1]} -> v{wf.version}", seq, work.row["stage"])


def _load(change: Change, ids: list[str], _items: Mapping[str, list[str]]) -> dict[str, CoopWork]:
    return change.load(ids, views=False, steps=())  # a migration reads only the row


MIGRATE: BulkOp[str] = BulkOp(
    name="workflow.migrate",
    apply=lambda change, work, _items: [migrate(change, work)],
    load=_load,
    resolve=False,
)


def select_to_migrate(workspace: Workspace, refs: list[str] | None) -> list[str]:
    """The cooperatives ``refs`` name, or (None) every one on an older version of the
    definition."""
    from sqlalchemy import select

    from kopflow.names import resolve_coop
    from kopflow.store import tables

    wf = workspace.workflow
    table = tables.coop
    with workspace.reading() as conn:
        authz.require_write(workspace.actor(conn))
        if refs is not None:
            return [resolve_coop(conn, ref) for ref in refs]
        query = (
            select(table.c.id)
            .where(table.c.workflow == wf.name, table.c.workflow_version != wf.version)
            .order_by(table.c.id)
        )
        return list(conn.execute(query).scalars())
