"""The engine's rules as a user relies on them (issue #2), on SQLite and PostgreSQL.

Every refusal is checked twice: the message names what is wrong, and nothing was written
(every table's rows and the audit chain head are compared before and after: ``db_state``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from db_helpers import db_state
from engine_helpers import KAB, coop_row, drive_to, finish, rows, seeds

from kopflow.audit.chain import verify_database
from kopflow.engine import Kopflow
from kopflow.errors import (
    ConflictError,
    EvidenceError,
    InputError,
    NotFoundError,
    RefusedError,
)
from kopflow.flow.samples import sample_evidence
from kopflow.pipeline.driver import batch_size
from kopflow.regions import CoopSeed
from kopflow.store import db


@pytest.fixture
def coops(kopflow: Kopflow) -> list[str]:
    """Three cooperatives in formation, nothing done (on each backend)."""
    kopflow.register(seeds(3), source="test")
    return ["KDMP-900001", "KDMP-900002", "KDMP-900003"]


@pytest.fixture
def lite(sqlite_url: str) -> Kopflow:
    """The same three on SQLite only: for refusals decided before anything is written, whose
    many cases need not each pay for a PostgreSQL schema."""
    engine = Kopflow(sqlite_url)
    engine.init()
    engine.register(seeds(3), source="test")
    return engine


# --- registration ----------------------------------------------------------------------------


def test_register_twice_adds_nothing(kopflow: Kopflow) -> None:
    """Issue #2: re-running an import adds nothing, also when a village is already covered."""
    assert kopflow.register(seeds(4), source="test") == (4, 0)
    before = db_state(kopflow.url)
    assert kopflow.register(seeds(4), source="test") == (0, 4)
    # Another id for a covered village is still the same village: skipped.
    again = [CoopSeed("KDMP-999999", KAB, "Provinsi Uji", [("uji-2", "Desa 2", "Kec", None)])]
    assert kopflow.register(again, source="test") == (0, 1)
    assert db_state(kopflow.url) == before
    registered = rows(kopflow, "SELECT * FROM audit_event WHERE action = 'coop.registered'")
    assert len(registered) == 4


def test_registered_coop_starts_in_initial_stage_on_current_workflow(
    kopflow: Kopflow, coops: list[str]
) -> None:
    row = coop_row(kopflow, coops[0])
    wf = kopflow.workflow
    assert (row["stage"], row["workflow"], row["workflow_version"], row["version"]) == (
        wf.initial,
        wf.name,
        wf.version,
        1,
    )


# --- stages and guards ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    ["complete_legal", "complete_consolidation", "start_operation"],
    ids=["to-consolidation", "to-onboarding", "to-operating"],
)
def test_cannot_skip_a_stage(lite: Kopflow, event: str) -> None:
    """Issue #2: a cooperative in formation cannot jump ahead, even with formation done."""
    finish(lite, "KDMP-900001", "formation")
    before = db_state(lite.url)
    with pytest.raises(RefusedError) as info:
        lite.advance("KDMP-900001", event)
    message = str(info.value)
    assert f"({event}) from stage Formation (formation)" in message
    assert "complete_formation" in message  # what is possible instead
    assert db_state(lite.url) == before


def test_unknown_event_is_refused_naming_the_known_ones(lite: Kopflow) -> None:
    with pytest.raises(RefusedError, match="unknown event fly; events of this workflow: "):
        lite.advance("KDMP-900001", "fly")


def test_leaving_a_stage_names_exactly_the_missing_steps(
    kopflow: Kopflow, coops: list[str]
) -> None:
    """Issue #2: the guard's error lists the required steps not done, and only those."""
    formation = kopflow.workflow.stage("formation")
    for step in formation.steps[:2]:
        kopflow.complete_step(coops[0], step.id, sample_evidence(step, 1))
    before = db_state(kopflow.url)
    with pytest.raises(RefusedError) as info:
        kopflow.advance(coops[0])
    missing = [f"{s.label['en']} ({s.id})" for s in formation.steps[2:] if s.required]
    assert info.value.reasons == [f"missing steps of Formation (formation): {', '.join(missing)}"]
    assert ", ".join(missing) in str(info.value)
    assert formation.steps[0].id not in str(info.value)
    assert db_state(kopflow.url) == before


def test_optional_steps_do_not_hold_a_stage(kopflow: Kopflow, coops: list[str]) -> None:
    drive_to(kopflow, coops[0], "legal")
    assert not kopflow.workflow.step("microsite").required
    finish(kopflow, coops[0], "legal")
    assert kopflow.advance(coops[0]).stage == "consolidation"


def test_step_before_its_after_is_refused(lite: Kopflow) -> None:
    """Issue #2: steps come in their ``after`` order."""
    spec = lite.workflow.step("musdesus")
    before = db_state(lite.url)
    with pytest.raises(
        RefusedError,
        match=re.escape(
            "step Special village deliberation (Musdesus) comes after "
            "Socialisation in the village (socialisation)"
        ),
    ):
        lite.complete_step("KDMP-900001", "musdesus", sample_evidence(spec, 1))
    assert db_state(lite.url) == before


def test_step_of_a_later_stage_is_refused(lite: Kopflow) -> None:
    spec = lite.workflow.step("nib")
    before = db_state(lite.url)
    with pytest.raises(
        RefusedError,
        match=r"step Business identity number \(NIB\) from OSS \(nib\) belongs to stage Legal bundle \(legal\); .* is in Formation \(formation\)",
    ):
        lite.complete_step("KDMP-900001", "nib", sample_evidence(spec, 1))
    assert db_state(lite.url) == before


def test_unknown_step_and_unknown_cooperative(lite: Kopflow) -> None:
    with pytest.raises(NotFoundError, match="unknown step fly"):
        lite.complete_step("KDMP-900001", "fly", {})
    with pytest.raises(NotFoundError, match="no cooperative KDMP-000000"):
        lite.complete_step("KDMP-000000", "socialisation", {"date": "2025-04-01"})


# --- evidence ---------------------------------------------------------------------------------

MUSDESUS = {
    "date": "2025-06-01",
    "minutes_number": "BA/01/2025",
    "attendance": "40",
    "coop_model": "new",
    "board_size": "5",
    "supervisors_size": "3",
    "simpanan_pokok": "Rp 100.000",
    "simpanan_wajib": "10000",
}


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("date", "21-07-2025", "is not a date"),
        ("date", "2025-02-30", "is not a date"),
        ("date", "2999-01-01", "is in the future"),
        ("attendance", "forty", "is not a whole number"),
        ("attendance", "0", "below the minimum of 1"),
        ("coop_model", "baru", "is not allowed; choose from new, develop, revitalise"),
        ("board_size", "6", "must be an odd number"),
        ("board_size", "3", "below the minimum of 5"),
        ("supervisors_size", "2", "below the minimum of 3"),
        ("simpanan_pokok", "-100000", "cannot be negative"),
        ("simpanan_pokok", "1.500,50", "has a fraction"),
        ("simpanan_wajib", "", "required by step Special village deliberation"),
        ("note_typo", "x", "unknown field for step Special village deliberation"),
    ],
    ids=[
        "date-not-iso",
        "date-impossible",
        "date-future",
        "integer-not-number",
        "integer-below-min",
        "choice-unknown",
        "board-even",
        "board-too-small",
        "supervisors-too-few",
        "rupiah-negative",
        "rupiah-fraction",
        "required-missing",
        "unknown-field",
    ],
)
def test_bad_evidence_is_refused_naming_the_field(
    lite: Kopflow, field: str, value: str, expected: str
) -> None:
    """Issue #2: wrong evidence is refused with a message naming the field; nothing written."""
    lite.complete_step("KDMP-900001", "socialisation", {"date": "2025-05-01"})
    before = db_state(lite.url)
    with pytest.raises(EvidenceError) as info:
        lite.complete_step("KDMP-900001", "musdesus", {**MUSDESUS, field: value})
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: " if value else f"{field} (")
    assert expected in str(info.value)
    assert db_state(lite.url) == before


def test_evidence_is_stored_canonical(kopflow: Kopflow, coops: list[str]) -> None:
    import json

    kopflow.complete_step(coops[0], "socialisation", {"date": "2025-05-01"})
    kopflow.complete_step(coops[0], "musdesus", MUSDESUS)
    (record,) = rows(
        kopflow,
        "SELECT evidence FROM step_record WHERE step = 'musdesus' AND coop_id = :c",
        c=coops[0],
    )
    evidence = json.loads(record["evidence"])
    assert evidence["simpanan_pokok"] == 100000  # "Rp 100.000" as integer rupiah
    assert evidence["board_size"] == 5


# --- corrections and undo ---------------------------------------------------------------------


def test_correction_needs_a_reason_and_adds_a_version(kopflow: Kopflow, coops: list[str]) -> None:
    """Issue #2: a correction adds version 2 with its reason; version 1 is kept as it was."""
    kopflow.complete_step(coops[0], "socialisation", {"date": "2025-05-01"})
    before = db_state(kopflow.url)
    with pytest.raises(InputError, match="done already; to correct its evidence give --reason"):
        kopflow.complete_step(coops[0], "socialisation", {"date": "2025-05-02"})
    assert db_state(kopflow.url) == before

    outcome = kopflow.complete_step(
        coops[0], "socialisation", {"date": "2025-05-02"}, reason="wrong day in the minutes"
    )
    assert outcome.message == "corrected Socialisation in the village (socialisation)"
    records = rows(
        kopflow,
        "SELECT version, status, evidence, reason FROM step_record "
        "WHERE coop_id = :c AND step = 'socialisation' ORDER BY version",
        c=coops[0],
    )
    assert [(r["version"], r["status"], r["reason"]) for r in records] == [
        (1, "done", None),
        (2, "done", "wrong day in the minutes"),
    ]
    assert '"2025-05-01"' in records[0]["evidence"]
    assert '"2025-05-02"' in records[1]["evidence"]
    (event,) = rows(kopflow, "SELECT body FROM audit_event WHERE action = 'step.corrected'")
    assert "wrong day in the minutes" in event["body"]


def test_undo_needs_a_reason_keeps_history_and_reopens_the_guard(
    kopflow: Kopflow, coops: list[str]
) -> None:
    finish(kopflow, coops[0], "formation")
    before = db_state(kopflow.url)
    with pytest.raises(InputError, match="needs --reason"):
        kopflow.undo_step(coops[0], "sk_ahu", reason="  ")
    with pytest.raises(
        RefusedError,
        match=re.escape(
            "undo Special village deliberation (Musdesus) first: it comes after "
            "Socialisation in the village (socialisation)"
        ),
    ):
        kopflow.undo_step(coops[0], "socialisation", reason="x")
    assert db_state(kopflow.url) == before

    kopflow.undo_step(coops[0], "sk_ahu", reason="decree was for another cooperative")
    with pytest.raises(
        RefusedError,
        match=r"missing steps of Formation \(formation\): Legal entity decree \(SK AHU\) \(sk_ahu\)$",
    ):
        kopflow.advance(coops[0])
    with pytest.raises(RefusedError, match="is not done"):
        kopflow.undo_step(coops[0], "sk_ahu", reason="again")
    # Completing it again needs no reason: it is not done any more.
    kopflow.complete_step(coops[0], "sk_ahu", sample_evidence(kopflow.workflow.step("sk_ahu"), 2))
    versions = rows(
        kopflow,
        "SELECT version, status FROM step_record WHERE step = 'sk_ahu' ORDER BY version",
    )
    assert [(r["version"], r["status"]) for r in versions] == [
        (1, "done"),
        (2, "undone"),
        (3, "done"),
    ]
    assert kopflow.advance(coops[0]).stage == "legal"


def test_undo_only_in_the_current_stage(kopflow: Kopflow, coops: list[str]) -> None:
    drive_to(kopflow, coops[0], "legal")
    with pytest.raises(RefusedError, match="only steps of the current stage can be undone"):
        kopflow.undo_step(coops[0], "sk_ahu", reason="x")


# --- side stages ------------------------------------------------------------------------------


def test_suspend_resume_returns_to_the_previous_stage(kopflow: Kopflow, coops: list[str]) -> None:
    """Issue #2: suspended needs a reason; resume goes back where it came from."""
    drive_to(kopflow, coops[0], "legal")
    before = db_state(kopflow.url)
    with pytest.raises(InputError, match=r"event Suspend \(suspend\) needs a reason"):
        kopflow.advance(coops[0], "suspend")
    with pytest.raises(InputError, match="needs a reason"):
        kopflow.advance(coops[0], "suspend", reason="   ")
    assert db_state(kopflow.url) == before

    assert kopflow.advance(coops[0], "suspend", reason="board resigned").stage == "suspended"
    row = coop_row(kopflow, coops[0])
    assert (row["stage"], row["previous_stage"]) == ("suspended", "legal")
    spec = kopflow.workflow.step("nib")
    with pytest.raises(RefusedError, match=r"is Suspended \(suspended\); resume it"):
        kopflow.complete_step(coops[0], "nib", sample_evidence(spec, 1))
    with pytest.raises(RefusedError, match="no next stage"):
        kopflow.advance(coops[0])

    assert kopflow.advance(coops[0], "resume").stage == "legal"
    assert coop_row(kopflow, coops[0])["previous_stage"] is None
    kopflow.complete_step(coops[0], "nib", sample_evidence(spec, 1))  # work goes on


def test_dissolved_is_final(kopflow: Kopflow, coops: list[str]) -> None:
    kopflow.advance(coops[0], "suspend", reason="no members")
    with pytest.raises(InputError, match=r"event Dissolve \(dissolve\) needs a reason"):
        kopflow.advance(coops[0], "dissolve")
    kopflow.advance(coops[0], "dissolve", reason="members voted to dissolve")
    before = db_state(kopflow.url)
    for event in ("resume", "complete_formation", "suspend"):
        with pytest.raises(RefusedError, match=rf"\({event}\) from stage Dissolved \(dissolved\)"):
            kopflow.advance(coops[0], event, reason="try")
    with pytest.raises(RefusedError, match="resume it before recording steps"):
        kopflow.complete_step(coops[0], "socialisation", {"date": "2025-04-01"})
    with pytest.raises(RefusedError, match="is dissolved"):
        kopflow.enroll(coops[0], ["bri"])
    assert db_state(kopflow.url) == before


# --- the record of every change ---------------------------------------------------------------


def test_every_state_change_is_stored_with_actor_time_from_to_event(
    kopflow: Kopflow, coops: list[str]
) -> None:
    """Issue #2: the transition table and the audit log agree on every change."""
    import json

    start = datetime.now(UTC)
    drive_to(kopflow, coops[0], "consolidation")
    kopflow.advance(coops[0], "suspend", reason="audit")
    kopflow.advance(coops[0], "resume")
    end = datetime.now(UTC)
    actor = rows(kopflow, "SELECT name FROM actor")[0]["name"]

    moves = rows(
        kopflow,
        "SELECT t.*, a.action, a.actor AS a_actor, a.body FROM transition t "
        "JOIN audit_event a ON a.seq = t.audit_seq WHERE t.coop_id = :c ORDER BY t.audit_seq",
        c=coops[0],
    )
    assert [(m["event"], m["source"], m["dest"]) for m in moves] == [
        ("complete_formation", "formation", "legal"),
        ("complete_legal", "legal", "consolidation"),
        ("suspend", "consolidation", "suspended"),
        ("resume", "suspended", "consolidation"),
    ]
    for move in moves:
        at = move["at"]  # raw SQL on SQLite gives the stored text
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        assert start <= at <= end
        assert move["actor"] == move["a_actor"] == actor
        assert move["action"] == "coop.transition"
        details = json.loads(move["body"])["details"]
        assert (details["event"], details["from"], details["to"]) == (
            move["event"],
            move["source"],
            move["dest"],
        )
    assert moves[2]["reason"] == "audit"
    # The cooperative's version is the one its newest event names.
    newest = json.loads(moves[-1]["body"])["details"]["coop_version"]
    assert coop_row(kopflow, coops[0])["version"] == newest
    with db.read_connection(kopflow.url) as conn:
        assert verify_database(conn).ok


def test_stale_version_is_a_conflict(kopflow: Kopflow, coops: list[str]) -> None:
    seen = coop_row(kopflow, coops[0])["version"]
    kopflow.complete_step(coops[0], "socialisation", {"date": "2025-05-01"}, expect_version=seen)
    before = db_state(kopflow.url)
    with pytest.raises(ConflictError, match="was changed by"):
        kopflow.advance(coops[0], "suspend", reason="x", expect_version=seen)
    assert db_state(kopflow.url) == before


# --- finding a cooperative --------------------------------------------------------------------


def test_resolve_by_id_or_unambiguous_village_name(kopflow: Kopflow) -> None:
    kopflow.register(seeds(2), source="test")
    twin = [CoopSeed("KDMP-900010", KAB, "Provinsi Uji", [("uji-x", "Desa 1", "Kec Dua", None)])]
    kopflow.register(twin, source="test")
    with kopflow.reading() as conn:
        assert kopflow.resolve(conn, "kdmp-900002") == "KDMP-900002"
        assert kopflow.resolve(conn, "desa 2") == "KDMP-900002"
        with pytest.raises(InputError) as info:
            kopflow.resolve(conn, "Desa 1")
        with pytest.raises(NotFoundError):
            kopflow.resolve(conn, "Desa 404")
    assert "names 2 cooperatives" in str(info.value)
    assert "KDMP-900001" in str(info.value) and "KDMP-900010" in str(info.value)


# --- partners ---------------------------------------------------------------------------------


def test_onboarding_needs_the_required_partner_and_its_steps(
    kopflow: Kopflow, coops: list[str]
) -> None:
    drive_to(kopflow, coops[0], "onboarding")
    with pytest.raises(RefusedError, match="not enrolled with required partner bri"):
        kopflow.advance(coops[0])
    with pytest.raises(NotFoundError, match="unknown partner nobank; known partners: .*bri"):
        kopflow.enroll(coops[0], ["nobank"])
    kopflow.enroll(coops[0], ["bri"])
    before = db_state(kopflow.url)
    assert kopflow.enroll(coops[0], ["bri"]).message == "already enrolled"
    assert db_state(kopflow.url) == before
    with pytest.raises(
        RefusedError,
        match=r"missing steps of partner bri: Cooperative account opened at BRI \(bri\.account\)",
    ):
        kopflow.advance(coops[0])


def test_partner_steps_wait_for_onboarding(kopflow: Kopflow, coops: list[str]) -> None:
    """A partner that sets no enrolment rule (``gudang``) enrolls a cooperative in formation,
    as before issue #13; its steps still wait for the onboarding stage."""
    from kopflow.host.manager import make_plugin_host

    rules = Path(__file__).parent / "plugins" / "enroll_rules.py"
    engine = Kopflow(kopflow.url, plugins=make_plugin_host(extra_modules=[str(rules)]))
    engine.enroll(coops[0], ["gudang"])
    spec = engine.plugins.partner_step("gudang.agreement")[1]
    with pytest.raises(
        RefusedError, match=r"partner steps start in stage Partner onboarding \(onboarding\)"
    ):
        engine.complete_step(coops[0], "gudang.agreement", sample_evidence(spec, 1))


def test_plugins_see_the_region_ids_of_the_villages(lite: Kopflow) -> None:
    """CoopView.villages holds region codes (lite.plugin), not the village's name."""
    with lite.reading() as conn:
        work = lite.cooperatives(conn, ["KDMP-900001"])["KDMP-900001"]
    assert lite.view(work).villages == ("uji-1",)


# --- bulk -------------------------------------------------------------------------------------


def test_bulk_advance_mixed_with_dry_run(kopflow: Kopflow, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #2: ready ones move, the others are refused with reasons; dry run writes nothing."""
    kopflow.register(
        seeds(4, kecamatan="Kec Satu") + seeds(2, start=5, kecamatan="Kec Dua"), source="t"
    )
    ready = ["KDMP-900001", "KDMP-900003", "KDMP-900005"]
    for coop in ready:
        finish(kopflow, coop, "formation")
    kopflow.complete_step("KDMP-900002", "socialisation", {"date": "2025-04-01"})

    before = db_state(kopflow.url)
    dry = kopflow.advance_bulk(stage="formation", dry_run=True)
    assert dry.dry_run
    assert sorted(o.coop_id for o in dry.done) == ready
    assert len(dry.refused) == 3
    assert db_state(kopflow.url) == before

    only = kopflow.advance_bulk(stage="formation", kecamatan="Kec Dua")
    assert [o.coop_id for o in only.done] == ["KDMP-900005"]
    assert [o.coop_id for o in only.refused] == ["KDMP-900006"]

    monkeypatch.setenv("KOPFLOW_BATCH", "2")  # several transactions (issue #11: one setting)
    result = kopflow.advance_bulk(stage="formation")
    assert sorted(o.coop_id for o in result.done) == ready[:2]
    refused = {o.coop_id: o.message for o in result.refused}
    assert sorted(refused) == ["KDMP-900002", "KDMP-900004", "KDMP-900006"]
    assert (
        "missing steps of Formation (formation): Special village deliberation (Musdesus), Founding meeting (founding_meeting)"
        in refused["KDMP-900002"]
    )
    assert "socialisation" in refused["KDMP-900004"]
    stages = {r["id"]: r["stage"] for r in rows(kopflow, "SELECT id, stage FROM coop")}
    assert {c for c, s in stages.items() if s == "legal"} == set(ready)
    with db.read_connection(kopflow.url) as conn:
        assert verify_database(conn).ok


def test_bulk_steps_each_cooperative_all_or_nothing(kopflow: Kopflow, coops: list[str]) -> None:
    """Issue #2: a refused row undoes its cooperative's other rows and nothing else."""
    soc = {"date": "2025-05-01"}
    result = kopflow.complete_steps_bulk(
        [
            (coops[0], "socialisation", soc),
            (coops[0], "musdesus", MUSDESUS),
            (coops[1], "socialisation", soc),
            (coops[1], "musdesus", {**MUSDESUS, "board_size": "4"}),
            (coops[2], "socialisation", soc),
            # The same cooperative by its village name: still one cooperative.
            ("Desa 3", "musdesus", {**MUSDESUS, "date": "someday"}),
            ("KDMP-000000", "socialisation", soc),
        ]
    )
    assert [(o.coop_id, o.message) for o in result.done] == [
        (coops[0], "completed Socialisation in the village (socialisation)"),
        (coops[0], "completed Special village deliberation (Musdesus)"),
    ]
    refused = {o.coop_id: o.message for o in result.refused}
    assert sorted(refused) == ["KDMP-000000", coops[1], coops[2]]
    assert refused[coops[1]].startswith("musdesus: board_size: 4")
    assert refused[coops[2]].startswith("musdesus: date: 'someday'")
    done = rows(kopflow, "SELECT coop_id, step FROM step_record ORDER BY id")
    assert [(r["coop_id"], r["step"]) for r in done] == [
        (coops[0], "socialisation"),
        (coops[0], "musdesus"),
    ]
    versions = {r["id"]: r["version"] for r in rows(kopflow, "SELECT id, version FROM coop")}
    assert versions == {coops[0]: 3, coops[1]: 1, coops[2]: 1}
    with db.read_connection(kopflow.url) as conn:
        result_ = verify_database(conn)
    assert result_.ok and result_.count == len(rows(kopflow, "SELECT seq FROM audit_event"))


def test_bulk_steps_dry_run_writes_nothing(kopflow: Kopflow, coops: list[str]) -> None:
    before = db_state(kopflow.url)
    counted: list[int] = []
    result = kopflow.complete_steps_bulk(
        [(c, "socialisation", {"date": "2025-05-01"}) for c in coops]
        + [(coops[0], "musdesus", MUSDESUS)],
        dry_run=True,
        progress=counted.append,
    )
    assert len(result.done) == 4 and result.dry_run
    assert sum(counted) == 4  # progress counts rows, as the CLI's bar does
    assert db_state(kopflow.url) == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 2000), ("7", 7), ("0", 1), ("many", 2000)],
    ids=["unset", "number", "at-least-one", "not-a-number"],
)
def test_batch_size_from_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int
) -> None:
    if value is None:
        monkeypatch.delenv("KOPFLOW_BATCH", raising=False)
    else:
        monkeypatch.setenv("KOPFLOW_BATCH", value)
    assert batch_size() == expected
