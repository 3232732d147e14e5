"""Partner ``sink`` for the outbox tests (issue #13): it asks for a notification of every change
to a cooperative enrolled with it, and delivers each one as a JSON line to a file.

Set by environment variables, so a real ``kopflow --plugin`` subprocess behaves as the test
wants:

- ``KOPFLOW_TEST_SINK``: the sink file; every call that reaches the partner is also appended to
  ``<sink>.raw`` (what a partner that does not deduplicate would hold).
- ``KOPFLOW_TEST_SINK_FAILS``: how many delivery calls fail before the partner answers (counted
  in ``<sink>.calls``, so across processes too).
- ``KOPFLOW_TEST_SINK_IDEMPOTENT=1``: a key the sink holds already is not written again.
- ``KOPFLOW_TEST_AFTER_FAILS=1``: its ``kopflow_after_step`` raises.
- ``KOPFLOW_TEST_SINK_BLOCK=N``: once ``<sink>.raw`` holds N lines, the call blocks after
  writing (the row is in flight: at the partner, not yet marked delivered in kopflow).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from kopflow.plugin import CoopView, FieldSpec, PartnerSpec, PluginInfo, StepSpec, hookimpl

PARTNER = PartnerSpec(
    code="sink",
    name={"id": "Mitra penampung", "en": "Sink partner"},
    steps=(
        StepSpec("first", {"id": "Pertama", "en": "First"}, "partner",
                 fields=(FieldSpec("ref", "reference", {"id": "Nomor", "en": "Number"}),)),
        StepSpec("second", {"id": "Kedua", "en": "Second"}, "partner", after=("first",)),
    ),
)  # fmt: skip


@hookimpl
def kopflow_plugin_info() -> PluginInfo:
    return PluginInfo(name="outbox_sink", version="1.0")


@hookimpl
def kopflow_register_partners(register: Callable[[PartnerSpec], None]) -> None:
    register(PARTNER)


@hookimpl
def kopflow_validate_step(
    coop: CoopView, partner: str | None, step: str, evidence: Mapping[str, object]
) -> list[str] | None:
    return ["the sink refuses this reference"] if evidence.get("ref") == "refuse" else None


@hookimpl
def kopflow_partner_notification(
    coop: CoopView, action: str, details: Mapping[str, object], audit_seq: int
) -> dict[str, dict[str, object]] | None:
    if "sink" not in coop.partners:
        return None
    return {"sink": {"coop": coop.id, "action": action, "stage": coop.stage, **details}}


@hookimpl
def kopflow_after_step(
    coop: CoopView, step: str, evidence: Mapping[str, object], audit_seq: int
) -> None:
    if os.environ.get("KOPFLOW_TEST_AFTER_FAILS"):
        raise TimeoutError("sink webhook timed out")


@hookimpl
def kopflow_deliver(
    partner: str, key: int, action: str, coop_id: str | None, payload: Mapping[str, object]
) -> None:
    sink = Path(os.environ["KOPFLOW_TEST_SINK"])
    calls = sink.with_name(sink.name + ".calls")
    count = int(calls.read_text() or 0) + 1 if calls.exists() else 1
    calls.write_text(str(count))
    if count <= int(os.environ.get("KOPFLOW_TEST_SINK_FAILS") or 0):
        raise ConnectionError(f"partner system down (call {count})")
    line = json.dumps({"partner": partner, "key": key, "action": action, "coop": coop_id,
                       "payload": dict(payload)}, sort_keys=True)  # fmt: skip
    raw = sink.with_name(sink.name + ".raw")
    with raw.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    held = {(r["partner"], r["key"]) for r in read(sink)}
    if not (os.environ.get("KOPFLOW_TEST_SINK_IDEMPOTENT") and (partner, key) in held):
        with sink.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    block = int(os.environ.get("KOPFLOW_TEST_SINK_BLOCK") or 0)
    if block and len(read(raw)) >= block:
        time.sleep(3600)  # in flight until the test kills the process


def read(path: Path) -> list[dict[str, object]]:
    """The JSON lines of a sink file (none if it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
