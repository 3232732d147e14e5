"""A bulk advance derives each move once per transaction (issue #15): what users rely on must
not change with it, the audit bodies byte for byte, plugins' guards asked for every cooperative,
and refusals word for word those of ``advance`` one cooperative at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from engine_helpers import seeds

from kopflow.audit.canonical import canonical_bytes
from kopflow.audit.chain import verify_database
from kopflow.engine import Kopflow
from kopflow.errors import RefusedError
from kopflow.plugin import hookimpl

# Escaped, multi-byte and astral characters: the spliced text must encode them as a whole
# event's canonical_bytes does.
REASON = 'Désa "kutip" \\ miring/ 中文 😀 ñ'


def _transitions(engine: Kopflow) -> list[tuple[str | None, str]]:
    with engine.reading() as conn:
        rows = conn.exec_driver_sql(
            "SELECT coop_id, body FROM audit_event WHERE action = 'coop.transition' ORDER BY seq"
        ).fetchall()
    return [(row[0], row[1]) for row in rows]


def test_bulk_transition_bodies_are_the_whole_events_bytes(kopflow: Kopflow) -> None:
    """Bodies spliced from the move's pre-encoded details are exactly the canonical bytes of
    the events they record, for a direct move (suspend, with a reason) and one the machine
    decides (resume to ``@previous``); the chain verifies strictly; the details are those of
    the same move made by ``advance``."""
    kopflow.register(seeds(4), source="test")
    coops = [f"KDMP-90000{i}" for i in range(1, 5)]
    single = coops[0]
    kopflow.advance(single, "suspend", reason=REASON)
    result = kopflow.advance_bulk(stage="formation", event="suspend", reason=REASON)
    assert sorted(o.coop_id for o in result.done) == coops[1:]
    kopflow.advance(single, "resume")
    result = kopflow.advance_bulk(stage="suspended", event="resume")
    assert sorted(o.coop_id for o in result.done) == coops[1:]
    assert {o.message for o in result.done} == {"suspended -> formation"}

    events = _transitions(kopflow)
    assert len(events) == 8
    details: dict[tuple[str | None, str], dict[str, Any]] = {}
    for coop_id, body in events:
        event = json.loads(body)
        assert body.encode("utf-8") == canonical_bytes(event), body
        details[(coop_id, event["details"]["event"])] = event["details"]
    for coop in coops[1:]:
        for name in ("suspend", "resume"):
            assert details[(coop, name)] == details[(single, name)]
    assert details[(coops[1], "suspend")]["reason"] == REASON
    assert "reason" not in details[(coops[1], "resume")]
    with kopflow.reading() as conn:
        assert verify_database(conn, strict=True).ok


class _Guard:
    """A plugin guard refusing one cooperative, counting whom it was asked about."""

    def __init__(self, refuse: str) -> None:
        self.refuse = refuse
        self.asked: list[tuple[str, str, str, str]] = []

    @hookimpl
    def kopflow_guard(self, coop: Any, event: str, source: str, dest: str) -> list[str] | None:
        self.asked.append((coop.id, event, source, dest))
        return ["the guard says no"] if coop.id == self.refuse else None


@pytest.mark.parametrize("event", ["suspend", "dissolve"])
def test_a_plugin_guard_is_asked_for_every_cooperative_of_a_bulk_advance(
    kopflow: Kopflow, event: str
) -> None:
    """A move whose own guard has nothing to check (not forward: no required steps) is still
    put to the plugins' guard for each cooperative; the refusal is word for word the
    one-cooperative command's."""
    kopflow.register(seeds(3), source="test")
    coops = [f"KDMP-90000{i}" for i in range(1, 4)]
    guard = _Guard(coops[1])
    kopflow.plugins.add_plugin(guard, name="guard", source="test")
    reason = "audit"
    with pytest.raises(RefusedError) as info:
        kopflow.advance(coops[1], event, reason=reason)
    guard.asked.clear()
    result = kopflow.advance_bulk(stage="formation", event=event, reason=reason)
    assert [o.coop_id for o in result.refused] == [coops[1]]
    assert result.refused[0].message == str(info.value)
    assert "the guard says no" in str(info.value)
    assert sorted(coop for coop, *_rest in guard.asked) == coops
