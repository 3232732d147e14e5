"""The one bulk driver (issue #11): every bulk operation refuses a cooperative the same way,
in its result and in the log, and leaves the others of its batch done."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kopflow import log
from kopflow.engine import BulkResult, Kopflow
from kopflow.regions import CoopSeed

KAB = "Kabupaten Uji"


def register(engine: Kopflow, count: int) -> list[str]:
    seeds = [
        CoopSeed(
            f"KDMP-{910000 + i}", KAB, "Provinsi Uji", [(f"drv-{i}", f"Desa {i}", "Kec", None)]
        )
        for i in range(1, count + 1)
    ]
    engine.register(seeds, source="test")
    return [s.coop_id for s in seeds]


def refusals() -> list[dict[str, Any]]:
    """The refusals in the log file (JSON lines, as the CLI writes them; each line flushed)."""
    path = Path.cwd() / "kopflow.log"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [e for e in map(json.loads, filter(None, lines)) if e.get("event") == "refused"]


def steps(engine: Kopflow, coops: list[str]) -> BulkResult:
    rows = [(coop, "socialisation", {"date": "2025-05-01"}) for coop in coops]
    rows[-1] = (coops[-1], "socialisation", {"date": "not a date"})
    return engine.complete_steps_bulk(rows)


def advance(engine: Kopflow, coops: list[str]) -> BulkResult:
    for coop in coops[:-1]:
        for step in engine.workflow.stage("formation").steps:
            if step.required:
                from kopflow.flow.samples import sample_evidence

                engine.complete_step(coop, step.id, sample_evidence(step, 1))
    return engine.advance_bulk(stage="formation")


def without_rules(engine: Kopflow) -> Kopflow:
    """The engine with a partner that sets no enrolment rule (``gudang``): these tests are of
    the driver, for cooperatives still in formation, which BRI does not enroll (issue #13)."""
    from kopflow.host.manager import make_plugin_host

    rules = Path(__file__).parent / "plugins" / "enroll_rules.py"
    return Kopflow(engine.url, plugins=make_plugin_host(extra_modules=[str(rules)]))


def enroll(engine: Kopflow, coops: list[str]) -> BulkResult:
    engine.advance(coops[-1], "dissolve", reason="merged with a neighbour")
    return without_rules(engine).enroll_bulk(coops, ["gudang"])


def migrate(engine: Kopflow, coops: list[str]) -> BulkResult:
    # Every cooperative runs the current version already: each is refused, none is moved.
    return engine.migrate_workflow(coops[-1:])


OPERATIONS: dict[str, tuple[Callable[[Kopflow, list[str]], BulkResult], str, str]] = {
    "steps": (steps, "step.complete", "socialisation: date"),
    "advance": (advance, "coop.advance", "missing steps of Formation (formation)"),
    "enroll": (enroll, "partner.enroll", "is dissolved"),
    "migrate": (migrate, "workflow.migrate", "already runs kdkmp"),
}


@pytest.mark.parametrize("name", list(OPERATIONS), ids=list(OPERATIONS))
def test_a_refusal_is_logged_the_same_way_in_every_bulk_operation(
    kopflow: Kopflow, name: str
) -> None:
    run, operation, reason = OPERATIONS[name]
    coops = register(kopflow, 3)
    log.configure()  # JSON lines into KOPFLOW_LOG, as the CLI sets it up
    engine = Kopflow(kopflow.url)  # its logger is made after logging is configured
    before = len(refusals())
    result = run(engine, coops)
    refused = {o.coop_id: o.message for o in result.refused}
    assert list(refused) == [coops[-1]]
    assert reason in refused[coops[-1]]
    if name != "migrate":
        assert sorted({o.coop_id for o in result.done}) == coops[:-1]
    logged = refusals()[before:]
    assert [(e["operation"], e["coop"]) for e in logged] == [(operation, coops[-1])]
    assert reason.split(": ")[-1] in logged[0]["reason"]


def test_an_unknown_cooperative_in_a_bulk_call_is_refused_and_logged(kopflow: Kopflow) -> None:
    coops = register(kopflow, 2)
    log.configure()  # JSON lines into KOPFLOW_LOG, as the CLI sets it up
    result = without_rules(kopflow).enroll_bulk([*coops, "Desa Tidak Ada"], ["gudang"])
    assert sorted(o.coop_id for o in result.done) == coops
    assert [o.coop_id for o in result.refused] == ["Desa Tidak Ada"]
    logged = refusals()
    assert [(e["operation"], e["coop"]) for e in logged] == [("partner.enroll", "Desa Tidak Ada")]


def test_one_batch_setting_splits_every_bulk_operation(
    kopflow: Kopflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KOPFLOW_BATCH is read when a bulk call starts: 5 cooperatives in batches of 2 are three
    transactions, each logged as committed."""
    coops = register(kopflow, 5)
    monkeypatch.setenv("KOPFLOW_BATCH", "2")
    log.configure()  # JSON lines into KOPFLOW_LOG, as the CLI sets it up
    result = without_rules(kopflow).enroll_bulk(coops, ["gudang"])
    assert len(result.done) == 5
    lines = (Path.cwd() / "kopflow.log").read_text(encoding="utf-8").splitlines()
    batches = [json.loads(x) for x in lines if '"batch committed"' in x]
    assert [b["coops"] for b in batches] == [2, 2, 1]


def test_a_batch_read_as_a_range_of_ids_holds_its_own_cooperatives_only(kopflow: Kopflow) -> None:
    """A bulk batch of consecutive cooperatives is read by id range (issue #15): the
    cooperatives inside the range but outside the batch, with steps of their own, are left out,
    and the batch's are read as one by one would read them."""
    from kopflow.pipeline.change import load_coops
    from kopflow.store.db import read_connection
    from kopflow.store.rows import id_range

    coops = register(kopflow, 80)
    left_out = coops[36:44]  # within the range's slack: read and dropped
    batch = [c for c in coops if c not in left_out]
    kopflow.complete_steps_bulk([(c, "socialisation", {"date": "2025-05-01"}) for c in coops])
    kopflow.complete_steps_bulk([(c, "musdesus", sample(kopflow, "musdesus")) for c in left_out])
    enroll = without_rules(kopflow).enroll_bulk(coops[:40], ["gudang"])
    assert len(enroll.done) == 40
    with read_connection(kopflow.url) as conn:
        ranged = id_range(conn, batch)
        assert (ranged is not None) == kopflow.url.startswith("sqlite")
        works = load_coops(conn, batch, steps=["socialisation", "musdesus"])
        # one at a time: never a range
        alone = {c: load_coops(conn, [c], steps=["socialisation", "musdesus"])[c] for c in batch}
    assert sorted(works) == batch
    for coop, work in works.items():
        assert work.row == alone[coop].row
        assert work.steps == alone[coop].steps
        assert list(work.steps) == ["socialisation"]
        assert work.partners == alone[coop].partners
        assert work.villages == alone[coop].villages == [f"drv-{int(coop[5:]) - 910000}"]
    assert {c for c, w in works.items() if w.partners} == set(coops[:36])


def sample(engine: Kopflow, step: str) -> dict[str, Any]:
    from kopflow.flow.samples import sample_evidence

    return sample_evidence(engine.workflow.step(step), 1)
