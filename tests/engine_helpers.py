"""Cooperatives set up and moved through the engine, for the tests of the engine and of the
bulk commands' shortcuts: seeds in one made-up kabupaten, a stage's required steps completed
with sample evidence, a cooperative driven along the main line, its row read back.
"""

from __future__ import annotations

from typing import Any

from kopflow.engine import Kopflow
from kopflow.flow.samples import sample_evidence
from kopflow.regions import CoopSeed
from kopflow.store import db

KAB = "Kabupaten Uji"


def rows(engine: Kopflow, sql: str, **params: Any) -> list[Any]:
    """The rows of one query, as mappings."""
    from sqlalchemy import text

    with db.read_connection(engine.url) as conn:
        return list(conn.execute(text(sql), params).mappings())


def coop_row(engine: Kopflow, coop_id: str) -> dict[str, Any]:
    """A cooperative's row."""
    return dict(rows(engine, "SELECT * FROM coop WHERE id = :id", id=coop_id)[0])


def seeds(count: int, *, start: int = 1, kecamatan: str = "Kec Satu") -> list[CoopSeed]:
    """``count`` cooperatives KDMP-900001... of Kabupaten Uji, one village each."""
    return [
        CoopSeed(
            f"KDMP-{900000 + i}",
            KAB,
            "Provinsi Uji",
            [(f"uji-{i}", f"Desa {i}", kecamatan, None)],
        )
        for i in range(start, start + count)
    ]


def finish(engine: Kopflow, coop: str, stage: str, *, seed: int = 1) -> None:
    """Complete every required step of ``stage`` with valid sample evidence."""
    for step in engine.workflow.stage(stage).steps:
        if step.required:
            engine.complete_step(coop, step.id, sample_evidence(step, seed))


def drive_to(engine: Kopflow, coop: str, stage: str) -> None:
    """Move a cooperative along the main line until it is in ``stage``."""
    wf = engine.workflow
    while coop_row(engine, coop)["stage"] != stage:
        current = coop_row(engine, coop)["stage"]
        if current == wf.onboarding_stage:
            engine.enroll(coop, ["bri"])
            for step in engine.plugins.partner("bri").steps:
                if step.required:
                    engine.complete_step(coop, f"bri.{step.id}", sample_evidence(step, 3))
        finish(engine, coop, current)
        engine.advance(coop)
