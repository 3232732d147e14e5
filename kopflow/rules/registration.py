"""Registering cooperatives: one row per cooperative, its villages, and its audit event.

Idempotent by village: a village already covered by a cooperative is skipped, so running an
import twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from kopflow import authz
from kopflow.pipeline.driver import Progress, batch_size, chunks

if TYPE_CHECKING:
    from kopflow.pipeline.change import Change, Workspace
    from kopflow.regions import CoopSeed


def register_seeds(
    workspace: Workspace, seeds: Iterable[CoopSeed], *, source: str, progress: Progress | None
) -> tuple[int, int]:
    """Insert the cooperatives of ``seeds`` that are new; returns (added, skipped)."""
    from sqlalchemy import select

    from kopflow.store import tables

    village_t, coop_t = tables.coop_village, tables.coop
    added = skipped = 0
    # New cooperatives have no row to load yet, so this is the one bulk change that does not
    # go through run_bulk; it batches by the same setting.
    for chunk in chunks(iter(seeds), batch_size()):

        def register(change: Change, chunk: list[CoopSeed] = chunk) -> tuple[int, int]:
            wf = change.workflow
            actor = change.actor
            if actor.role != "admin":
                # the first cooperative out of scope, named (issue #14: it said "-")
                for seed in {seed.kabupaten: seed for seed in reversed(chunk)}.values():
                    authz.require_coop(actor, seed.kabupaten, seed.coop_id)
            region_ids = [v[0] for seed in chunk for v in seed.villages]
            taken = set(
                change.conn.execute(
                    select(village_t.c.region_id).where(village_t.c.region_id.in_(region_ids))
                ).scalars()
            )
            ids = set(
                change.conn.execute(
                    select(coop_t.c.id).where(coop_t.c.id.in_([s.coop_id for s in chunk]))
                ).scalars()
            )
            new = skip = 0
            for seed in chunk:
                if seed.coop_id in ids or any(v[0] in taken for v in seed.villages):
                    skip += 1
                    continue
                ids.add(seed.coop_id)
                taken.update(v[0] for v in seed.villages)
                first = seed.villages[0]
                change.insert(
                    "coop",
                    {
                        "id": seed.coop_id,
                        "name": seed.name,
                        "village": first[1],
                        "kecamatan": first[2],
                        "kabupaten": seed.kabupaten,
                        "provinsi": seed.provinsi,
                        "workflow": wf.name,
                        "workflow_version": wf.version,
                        "stage": wf.initial,
                        "stage_since": change.now,
                        "previous_stage": None,
                        "version": 1,
                        "updated_at": change.now,
                        "updated_by": actor.name,
                    },
                )
                for region_id, name, kecamatan, postal in seed.villages:
                    change.insert(
                        "coop_village",
                        {
                            "region_id": region_id,
                            "coop_id": seed.coop_id,
                            "name": name,
                            "kecamatan": kecamatan,
                            "postal_code": postal,
                        },
                    )
                change.event(
                    "coop.registered",
                    seed.coop_id,
                    {
                        "source": source,
                        "kabupaten": seed.kabupaten,
                        "provinsi": seed.provinsi,
                        "villages": [[v[0], v[1], v[2]] for v in seed.villages],
                        "workflow": wf.name,
                        "workflow_version": wf.version,
                    },
                )
                new += 1
            return new, skip

        new, skip = workspace.write(register)
        added += new
        skipped += skip
        if progress:
            progress(len(chunk))
    return added, skipped
