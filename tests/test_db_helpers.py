"""The shared "nothing changed" snapshot sees what the refusal tests rely on it to see."""

from __future__ import annotations

from db_helpers import db_state
from sqlalchemy import update

from kopflow.engine import Kopflow
from kopflow.regions import CoopSeed
from kopflow.store import db, tables


def test_db_state_sees_an_in_place_change_and_a_moved_head(kopflow: Kopflow) -> None:
    """Every table is there; an UPDATE that keeps every count, and a new event, both show."""
    seed = CoopSeed(
        "KDMP-990001", "Kabupaten Uji", "Provinsi Uji", [("uji-1", "Desa 1", "K", None)]
    )
    kopflow.register([seed], source="test")
    before = db_state(kopflow.url)
    assert set(before) == {t.name for t in tables.metadata.sorted_tables} | {"schema", "head"}
    assert before == db_state(kopflow.url)
    assert before["head"].seq == len(before["audit_event"]) > 0

    with db.write_transaction(kopflow.url) as conn:
        conn.execute(update(tables.coop).values(name="Koperasi lain"))
    changed = db_state(kopflow.url)
    assert changed != before and changed["head"] == before["head"]

    kopflow.complete_step("KDMP-990001", "socialisation", {"date": "2025-06-01"})
    assert db_state(kopflow.url)["head"].seq == before["head"].seq + 1
