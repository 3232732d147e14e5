"""Registering cooperatives: one row per cooperative, its villages, and its audit event.

Idempotent by village: a village already covered by a cooperative is skipped, so running an
import twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING

from kopflow import authz

if TYPE_CHECKING:
    from kopflow.engine import Kopflow, Progress
    from kopflow.pipeline.change import Unit
    from kopflow.regions import CoopSeed

BATCH = 5000


def _chunks(seeds: Iterable[CoopSeed], size: int) -> Iterator[list[CoopSeed]]:
    iterator = iter(seeds)
    while chunk := list(islice(iterator, size)):
        yield chunk


def register_seeds(
    engine: Kopflow, seeds: Iterable[CoopSeed], *, source: str, progress: Progress | None
) -> tuple[int, int]:
    """Insert the cooperatives of ``seeds`` that are new; returns (added, skipped)."""
    from sqlalchemy import select

    from kopflow.store import tables

    wf = engine.workflow
    village_t, coop_t = tables.coop_village, tables.coop
    added = skipped = 0
    for chunk in _chunks(seeds, BATCH):

        def change(unit: Unit, chunk: list[CoopSeed] = chunk) -> tuple[int, int]:
            actor = unit.actor
            for kabupaten in {seed.kabupaten for seed in chunk}:
                if actor.role != "admin":
                    authz.require_coop(actor, kabupaten, "-")
            region_ids = [v[0] for seed in chunk for v in seed.villages]
            taken = set(
                unit.conn.execute(
                    select(village_t.c.region_id).where(village_t.c.region_id.in_(region_ids))
                ).scalars()
            )
            ids = set(
                unit.conn.execute(
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
                unit.insert(
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
                        "stage_since": unit.now,
                        "previous_stage": None,
                        "version": 1,
                        "updated_at": unit.now,
                        "updated_by": actor.name,
                    },
                )
                for region_id, name, kecamatan, postal in seed.villages:
                    unit.insert(
                        "coop_village",
                        {
                            "region_id": region_id,
                            "coop_id": seed.coop_id,
                            "name": name,
                            "kecamatan": kecamatan,
                            "postal_code": postal,
                        },
                    )
                unit.event(
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

        new, skip = engine._write(change)
        added += new
        skipped += skip
        if progress:
            progress(len(chunk))
    return added, skipped
