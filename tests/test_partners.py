"""Where enrolled cooperatives stand with a partner (``kopflow.rules.partners``), on both backends
(issue #3): the first required step not done, corrections and undos, optional steps, regions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kopflow.rules.partners import partner_status

KAB = "Kabupaten Adm. Kepulauan Seribu"


@pytest.fixture
def coops(kopflow: Any) -> list[str]:
    """Six registered cooperatives (in the initial stage: partner_status does not look at it)."""
    from kopflow import regions

    seeds = list(regions.seeds_from_areaid(kabupaten=KAB, provinsi="Daerah Khusus Ibukota Jakarta"))
    kopflow.register(seeds, source="test")
    return [s.coop_id for s in seeds]


def record(kopflow: Any, enrollments: list[tuple[str, str]], steps: list[tuple[str, str, int, str]],
           moved: dict[str, str] | None = None) -> None:  # fmt: skip
    """Write enrollment and step rows as the engine would leave them (versions, undos)."""
    from sqlalchemy import insert, update

    from kopflow.store import db, tables

    now = datetime.now(UTC)
    with db.write_transaction(kopflow.url) as conn:
        conn.execute(insert(tables.enrollment), [
            {"coop_id": c, "partner": p, "actor": "t", "at": now, "audit_seq": 1}
            for c, p in enrollments
        ])  # fmt: skip
        conn.execute(insert(tables.step_record), [
            {"coop_id": c, "step": s, "version": v, "status": status, "evidence": "{}",
             "actor": "t", "at": now, "audit_seq": 1}
            for c, s, v, status in steps
        ])  # fmt: skip
        for coop, kabupaten in (moved or {}).items():
            table = tables.coop
            conn.execute(update(table).where(table.c.id == coop).values(kabupaten=kabupaten))


def counts(result: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {s["step"]: (s["at"], s["done"]) for s in result["steps"]}


def test_where_cooperatives_stand(kopflow: Any, coops: list[str]) -> None:
    c1, c2, c3, c4, c5, c6 = coops
    record(
        kopflow,
        [(c, "pos") for c in (c1, c2, c3, c4, c5)] + [(c6, "bri")],
        [
            (c2, "pos.pks", 1, "done"),
            (c3, "pos.pks", 1, "done"), (c3, "pos.agent", 1, "done"),
            (c4, "pos.pks", 1, "done"), (c4, "pos.pks", 2, "undone"),  # undone: back at pks
            (c5, "pos.pks", 1, "done"), (c5, "pos.pks", 2, "undone"), (c5, "pos.pks", 3, "done"),
            (c5, "pos.agent", 1, "done"), (c5, "pos.agent", 2, "done"),  # a correction
            (c6, "bri.relationship_manager", 1, "done"), (c6, "bri.qris", 1, "done"),
            (c6, "pos.pks", 1, "done"),  # not enrolled with pos: not counted for pos
        ],
    )  # fmt: skip
    with kopflow.reading() as conn:
        (pos,) = partner_status(conn, kopflow.plugins, partner="pos")
        everyone = partner_status(conn, kopflow.plugins)
    assert (pos["enrolled"], pos["complete"]) == (5, 2)
    assert counts(pos) == {"pos.pks": (2, 3), "pos.agent": (1, 2)}
    bri = everyone[0]
    assert [p["partner"] for p in everyone] == ["bri", "pln", "pos", "telkom"]
    assert (bri["enrolled"], bri["complete"]) == (1, 0)
    # Stands at the account (the first required step not done), although a later one is done;
    # the optional QRIS is counted as done but never stood at.
    assert counts(bri)["bri.account"] == (1, 0)
    assert counts(bri)["bri.relationship_manager"] == (0, 1)
    assert counts(bri)["bri.qris"] == (0, 1)
    assert everyone[1]["enrolled"] == 0 and everyone[1]["steps"][0]["at"] == 0


def test_region_filter(kopflow: Any, coops: list[str]) -> None:
    c1, c2, c3, *_ = coops
    record(kopflow, [(c1, "pos"), (c2, "pos"), (c3, "pos")],
           [(c3, "pos.pks", 1, "done"), (c3, "pos.agent", 1, "done")],
           moved={c3: "Kota Solok"})  # fmt: skip
    with kopflow.reading() as conn:
        (here,) = partner_status(conn, kopflow.plugins, partner="pos", kabupaten=KAB)
        (there,) = partner_status(conn, kopflow.plugins, partner="pos", kabupaten="Kota Solok")
    assert (here["enrolled"], here["complete"], counts(here)["pos.pks"]) == (2, 0, (2, 0))
    assert (there["enrolled"], there["complete"], counts(there)["pos.pks"]) == (1, 1, (0, 1))


def test_no_enrollment(kopflow: Any, coops: list[str]) -> None:
    with kopflow.reading() as conn:
        (telkom,) = partner_status(conn, kopflow.plugins, partner="telkom")
    assert telkom["enrolled"] == telkom["complete"] == 0
    assert [s["required"] for s in telkom["steps"]] == [False, True, True]
