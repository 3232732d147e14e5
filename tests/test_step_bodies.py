"""Step events spliced from the step's pre-encoded details (issue #15) are byte for byte the
canonical bytes of the events they record: a first completion, one with a reason, a
correction (encoded as a whole) and a bulk completion, and the chain verifies strictly."""

from __future__ import annotations

import json

from engine_helpers import seeds

from kopflow.audit.canonical import canonical_bytes
from kopflow.audit.chain import verify_database
from kopflow.engine import Kopflow
from kopflow.flow.samples import sample_evidence

# Escaped, multi-byte and astral characters, as in a reason typed by an officer.
REASON = 'Désa "kutip" \\ miring/ 中文 😀 ñ'


def test_step_bodies_are_the_whole_events_bytes(kopflow: Kopflow) -> None:
    kopflow.register(seeds(3), source="test")
    first, second, third = (f"KDMP-90000{i}" for i in range(1, 4))
    steps = [s for s in kopflow.workflow.stage("formation").steps if s.required]
    kopflow.complete_step(first, steps[0].id, sample_evidence(steps[0], 1))
    kopflow.complete_step(first, steps[1].id, sample_evidence(steps[1], 1), reason=REASON)
    kopflow.complete_step(first, steps[0].id, sample_evidence(steps[0], 1), reason=REASON)
    rows = [(coop, s.id, sample_evidence(s, 1)) for coop in (second, third) for s in steps]
    assert not kopflow.complete_steps_bulk(rows).refused

    with kopflow.reading() as conn:
        bodies = conn.exec_driver_sql(
            "SELECT body FROM audit_event WHERE action IN ('step.completed', 'step.corrected') ORDER BY seq"
        ).scalars()
        events = [(body, json.loads(body)) for body in bodies]
        assert verify_database(conn, strict=True).ok
    assert len(events) == 3 + len(rows)
    for body, event in events:
        assert body.encode("utf-8") == canonical_bytes(event), body
    details = [event["details"] for _body, event in events]
    assert details[1]["reason"] == REASON and "reason" not in details[0]
    assert events[2][1]["action"] == "step.corrected" and "changed" in details[2]
