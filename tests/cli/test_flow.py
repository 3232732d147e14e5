"""``kopflow next | advance | status``: moving cooperatives, one or a whole stage (issue #2)."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest
from click.testing import CliRunner
from clihelp import error_line, ok, run, sets
from db_helpers import db_state

from kopflow.flow.samples import sample_evidence
from kopflow.regions import CoopSeed

BULELENG = "Kabupaten Buleleng"


def query(url: str, sql: str, **params: Any) -> list[Any]:
    from sqlalchemy import text

    from kopflow.store import db

    with db.read_connection(db.resolve_url(url)) as conn:
        return list(conn.execute(text(sql), params).mappings())


def stage_of(url: str, coop: str) -> str:
    return str(query(url, "SELECT stage FROM coop WHERE id = :c", c=coop)[0]["stage"])


def verify(url: str) -> None:
    from kopflow.audit.chain import verify_database
    from kopflow.store import db

    with db.read_connection(db.resolve_url(url)) as conn:
        result = verify_database(conn)
    assert result.ok, result.problem


def finish(engine: Any, coop: str, stage: str) -> None:
    for step in engine.workflow.stage(stage).steps:
        if step.required:
            engine.complete_step(coop, step.id, sample_evidence(step, 1))


@pytest.fixture
def mixed(kopflow: Any) -> Any:
    """Six cooperatives in formation, in two kecamatan: 700001, 700003 and 700005 ready to
    advance, 700002 half way, 700004 and 700006 untouched."""
    kopflow.register(
        [
            CoopSeed(
                f"KDMP-70000{i}",
                "Kabupaten Uji",
                "Provinsi Uji",
                [(f"v{i}", f"Desa {i}", "Kec Satu" if i <= 4 else "Kec Dua", None)],
            )
            for i in range(1, 7)
        ],
        source="test",
    )
    for coop in ("KDMP-700001", "KDMP-700003", "KDMP-700005"):
        finish(kopflow, coop, "formation")
    kopflow.complete_step("KDMP-700002", "socialisation", {"date": "2025-05-01"})
    return kopflow


# --- one cooperative --------------------------------------------------------------------------


def test_next_says_what_is_open_and_what_is_missing(runner: CliRunner, mixed: Any) -> None:
    text = ok(run(runner, mixed.url, "next", "KDMP-700002")).stdout
    assert "KDMP-700002 is in stage Formation (formation)" in text  # labels (issue #12)
    assert "Steps open now: Special village deliberation (Musdesus)" in text
    assert (
        "Before Complete formation (complete_formation): missing steps of Formation (formation): "
        "Special village deliberation (Musdesus), Founding meeting (founding_meeting)" in text
    )
    ready = ok(run(runner, mixed.url, "next", "Desa 1")).stdout
    assert "Ready: kopflow advance KDMP-700001" in ready


def test_advance_refuses_missing_steps_and_skipped_stages(runner: CliRunner, mixed: Any) -> None:
    """Issue #2: the error names exactly the missing steps; no stage can be skipped."""
    url = mixed.url
    before = db_state(url)
    line = error_line(run(runner, url, "advance", "KDMP-700002"), 3)
    assert line == (
        "Error: cannot Complete formation (complete_formation) from stage Formation (formation); "
        "missing steps of Formation (formation): "
        "Special village deliberation (Musdesus), Founding meeting (founding_meeting), "
        "Notary deed of establishment (notary_deed), Legal entity decree (SK AHU) (sk_ahu)"
    )
    line = error_line(run(runner, url, "advance", "KDMP-700001", "complete_legal"), 3)
    assert (
        "cannot Complete the legal bundle (complete_legal) from stage Formation (formation); possible now: Complete formation (complete_formation)"
        in line
    )
    line = error_line(run(runner, url, "advance", "KDMP-700001", "start_operation"), 3)
    assert "cannot Start operation (start_operation) from stage Formation (formation)" in line
    assert db_state(url) == before

    result = ok(run(runner, url, "advance", "KDMP-700001", "--json"))
    assert json.loads(result.stdout)["stage"] == "legal"
    line = error_line(run(runner, url, "advance", "KDMP-700001"), 3)
    assert (
        "missing steps of Legal bundle (legal): Cooperative registry number (registry_number), Business identity number (NIB) from OSS (nib), Tax number (NPWP) in the cooperative's name (npwp), Bank account in the cooperative's name (bank_account), SIMKOPDES account (simkopdes_account)"
        in line
    )


def test_suspend_resume_dissolve(runner: CliRunner, mixed: Any) -> None:
    """Issue #2: suspend needs a reason, resume goes back, dissolved is final."""
    url, coop = mixed.url, "KDMP-700001"
    ok(run(runner, url, "advance", coop))
    before = db_state(url)
    line = error_line(run(runner, url, "advance", coop, "suspend"), 2)
    assert "event Suspend (suspend) needs a reason: add --reason TEXT" in line
    assert db_state(url) == before

    result = ok(run(runner, url, "advance", coop, "suspend", "--reason", "chair resigned"))
    assert result.stdout.strip() == f"{coop}: now in stage Suspended (suspended)"
    line = error_line(run(runner, url, "advance", coop), 3)
    assert "which has no next stage; possible events: Resume (resume), Dissolve (dissolve)" in line
    ok(run(runner, url, "advance", coop, "resume"))
    assert stage_of(url, coop) == "legal"

    ok(run(runner, url, "advance", coop, "dissolve", "--reason", "merged with a neighbour"))
    before = db_state(url)
    for event in ("resume", "suspend", "complete_legal"):
        line = error_line(run(runner, url, "advance", coop, event, "--reason", "x"), 3)
        assert f"({event}) from stage Dissolved (dissolved)" in line
    assert db_state(url) == before
    moves = query(
        url,
        "SELECT event, source, dest, reason FROM transition WHERE coop_id = :c ORDER BY id",
        c=coop,
    )
    assert [tuple(m.values()) for m in moves] == [
        ("complete_formation", "formation", "legal", None),
        ("suspend", "legal", "suspended", "chair resigned"),
        ("resume", "suspended", "legal", None),
        ("dissolve", "legal", "dissolved", "merged with a neighbour"),
    ]


def test_transitions_record_the_acting_officer(runner: CliRunner, sqlite_url: str) -> None:
    """Issue #2: every change is stored with its actor; an officer of another kabupaten is
    refused and nothing is written. (SQLite: on PostgreSQL the actor is the database login,
    so acting as another officer needs a login of their own: issue #4's tests.)"""
    from kopflow.flow.spec import find_workflow

    url = sqlite_url
    ok(run(runner, url, "init"))
    ok(run(runner, url, "coop", "import", "--region", BULELENG))
    ok(run(runner, url, "actor", "add", "ayu", "--role", "officer", "--region", BULELENG))
    ok(
        run(
            runner, url, "actor", "add", "budi", "--role", "officer", "--region", "Kabupaten Kediri"
        )
    )
    coop = json.loads(ok(run(runner, url, "next", "Dencarik", "--json")).stdout)["coop"]
    for step in find_workflow().stage("formation").steps:
        if step.required:
            args = ("step", "complete", coop, step.id, *sets(sample_evidence(step, 2)))
            ok(run(runner, url, "--actor", "ayu", *args))
    before = db_state(url)
    line = error_line(run(runner, url, "--actor", "budi", "advance", coop), 5)
    assert "budi is an officer of Kabupaten Kediri and may not act on" in line
    assert db_state(url) == before

    ok(run(runner, url, "--actor", "ayu", "advance", "Dencarik"))
    (move,) = query(url, "SELECT * FROM transition WHERE coop_id = :c", c=coop)
    assert (move["actor"], move["event"], move["source"], move["dest"]) == (
        "ayu",
        "complete_formation",
        "formation",
        "legal",
    )
    (event,) = query(
        url, "SELECT actor, role, action FROM audit_event WHERE seq = :s", s=move["audit_seq"]
    )
    assert tuple(event.values()) == ("ayu", "officer", "coop.transition")
    shown = json.loads(ok(run(runner, url, "coop", "show", coop, "--json")).stdout)
    assert {e["actor"] for e in shown["timeline"]} == {"ayu"}
    verify(url)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "give COOP, or --where-stage STAGE for many"),
        (("KDMP-700001", "--where-stage", "formation"), "not both"),
        (("KDMP-700001", "--dry-run"), "go with --where-stage"),
        (("KDMP-700001", "--kecamatan", "Kec Satu"), "go with --where-stage"),
        (("--where-stage", "formasi"), "unknown stage 'formasi'; did you mean: formation"),
    ],
    ids=["nothing", "both", "dry-run-alone", "kecamatan-alone", "unknown-stage"],
)
def test_advance_input_errors(
    runner: CliRunner, sqlite_url: str, args: tuple[str, ...], expected: str
) -> None:
    ok(run(runner, sqlite_url, "init"))
    before = db_state(sqlite_url)
    assert expected in error_line(run(runner, sqlite_url, "advance", *args), 2)
    assert db_state(sqlite_url) == before


# --- a whole stage at once --------------------------------------------------------------------


def test_bulk_advance_dry_run_then_for_real(runner: CliRunner, mixed: Any) -> None:
    """Issue #2: a summary of done and refused, the refusals grouped by reason (issue #12);
    --dry-run reports the same, writes nothing, and exits as the real run would: 8 when some
    cooperatives are refused."""
    url = mixed.url
    before = db_state(url)
    dry = run(runner, url, "advance", "--where-stage", "formation", "--dry-run")
    assert dry.exit_code == 8 and dry.stderr == ""
    assert dry.stdout.splitlines() == [
        "Dry run: nothing was written. A real run would give:",
        "Cooperatives: 3 moved on, 3 refused.",
        "Refused, by reason:",
        "  2 × cannot Complete formation (complete_formation) from stage Formation (formation); "
        "missing steps of Formation (formation): Socialisation in the village (socialisation), "
        "Special village deliberation (Musdesus), Founding meeting (founding_meeting), "
        "Notary deed of establishment (notary_deed), Legal entity decree (SK AHU) (sk_ahu)",
        "      KDMP-700004, KDMP-700006",
        "  1 × cannot Complete formation (complete_formation) from stage Formation (formation); "
        "missing steps of Formation (formation): "
        "Special village deliberation (Musdesus), Founding meeting (founding_meeting), "
        "Notary deed of establishment (notary_deed), Legal entity decree (SK AHU) (sk_ahu)",
        "      KDMP-700002",
    ]
    assert db_state(url) == before

    real = run(runner, url, "advance", "--where-stage", "formation", "--json")
    assert real.exit_code == 8
    data = json.loads(real.stdout)
    assert (data["dry_run"], data["done"], data["refused"]) == (False, 3, 3)
    assert sorted(r["coop"] for r in data["refusals"]) == [
        "KDMP-700002",
        "KDMP-700004",
        "KDMP-700006",
    ]
    stages = {r["id"]: r["stage"] for r in query(url, "SELECT id, stage FROM coop")}
    assert sorted(c for c, s in stages.items() if s == "legal") == [
        "KDMP-700001",
        "KDMP-700003",
        "KDMP-700005",
    ]
    assert len(query(url, "SELECT id FROM transition")) == 3
    verify(url)

    assert [(r["count"], r["coops"]) for r in data["reasons"]] == [
        (2, ["KDMP-700004", "KDMP-700006"]),
        (1, ["KDMP-700002"]),
    ]
    assert data["cooperatives"] == {"done": 3, "refused": 3}

    again = run(runner, url, "advance", "--where-stage", "formation")
    assert again.exit_code == 3  # nothing could move: the whole run was refused
    assert again.stdout.startswith("Cooperatives: 0 moved on, 3 refused.")


def test_bulk_advance_one_kecamatan(runner: CliRunner, mixed: Any) -> None:
    url = mixed.url
    result = run(runner, url, "advance", "--where-stage", "formation", "--kecamatan", "Kec Dua")
    assert result.exit_code == 8
    assert result.stdout.splitlines() == [
        "Cooperatives: 1 moved on, 1 refused.",
        "Refused, by reason:",
        "  1 × cannot Complete formation (complete_formation) from stage Formation (formation); missing steps of "
        "Formation (formation): Socialisation in the village (socialisation), "
        "Special village deliberation (Musdesus), Founding meeting (founding_meeting), "
        "Notary deed of establishment (notary_deed), Legal entity decree (SK AHU) (sk_ahu)",
        "      KDMP-700006",
    ]
    assert stage_of(url, "KDMP-700005") == "legal"
    assert stage_of(url, "KDMP-700001") == "formation"  # ready, but in Kec Satu


def test_bulk_advance_unknown_kecamatan_is_not_a_silent_no_op(
    runner: CliRunner, mixed: Any
) -> None:
    """A misspelt kecamatan selects nothing: say so, with the spelling that exists (another
    case is no misspelling, issue #12)."""
    before = db_state(mixed.url)
    line = error_line(
        run(runner, mixed.url, "advance", "--where-stage", "formation", "--kecamatan", "kec duo"), 2
    )
    assert line == "Error: unknown kecamatan 'kec duo'; did you mean: Kec Dua"
    assert db_state(mixed.url) == before
    # A kecamatan that exists but has nobody in the stage is a plain empty run.
    empty = ok(
        run(runner, mixed.url, "advance", "--where-stage", "legal", "--kecamatan", "Kec Dua")
    )
    assert empty.stdout.strip() == "Cooperatives: 0 moved on, 0 refused."


def test_bulk_advance_suspends_with_a_reason(runner: CliRunner, mixed: Any) -> None:
    url = mixed.url
    before = db_state(url)
    result = run(runner, url, "advance", "--where-stage", "formation", "--event", "suspend")
    # The same input error, with the same exit code, as 'advance COOP suspend' (issue #12).
    assert (
        error_line(result, 2) == "Error: event Suspend (suspend) needs a reason: add --reason TEXT"
    )
    assert error_line(run(runner, url, "advance", "KDMP-700001", "suspend"), 2) == (
        "Error: event Suspend (suspend) needs a reason: add --reason TEXT"
    )
    assert db_state(url) == before
    suspend = ("advance", "--where-stage", "formation", "--event", "suspend")
    ok(run(runner, url, *suspend, "--reason", "flood"))
    assert {r["stage"] for r in query(url, "SELECT stage FROM coop")} == {"suspended"}
    result = ok(run(runner, url, "advance", "--where-stage", "suspended", "--event", "resume"))
    assert result.stdout.startswith("Cooperatives: 6 moved on, 0 refused.")
    assert {r["stage"] for r in query(url, "SELECT stage FROM coop")} == {"formation"}


def test_status_counts_per_stage(runner: CliRunner, mixed: Any) -> None:
    url = mixed.url
    assert run(runner, url, "advance", "--where-stage", "formation").exit_code == 8  # partial
    rows = json.loads(ok(run(runner, url, "status", "--json")).stdout)
    assert {r["stage"]: r["count"] for r in rows} == {"formation": 3, "legal": 3}
    by = json.loads(ok(run(runner, url, "status", "--by", "kecamatan", "--json")).stdout)
    assert {(r["kecamatan"], r["stage"]): r["count"] for r in by} == {
        ("Kec Satu", "formation"): 2,
        ("Kec Satu", "legal"): 2,
        ("Kec Dua", "formation"): 1,
        ("Kec Dua", "legal"): 1,
    }
    text = ok(run(runner, url, "status")).stdout
    assert "Formation" in text and "Legal bundle" in text and "Total" in text


# --- the whole lifecycle ----------------------------------------------------------------------


def enroll(runner: CliRunner, engine: Any, coop: str, partner: str) -> None:
    """Through ``kopflow partner enroll`` once that command exists (the plugin issue's),
    through the engine API until then."""
    if importlib.util.find_spec("kopflow.cli.partner") is not None:
        ok(run(runner, engine.url, "partner", "enroll", coop, partner))
    else:
        engine.enroll(coop, [partner])


def test_whole_lifecycle_to_operating(runner: CliRunner, kopflow: Any) -> None:
    """Issue #2: one cooperative of Buleleng from formation to operating through the CLI,
    with BRI's required onboarding steps; every change in order in its timeline."""
    url = kopflow.url
    ok(run(runner, url, "coop", "import", "--region", BULELENG))
    coop = json.loads(ok(run(runner, url, "next", "Dencarik", "--json")).stdout)["coop"]
    wf = kopflow.workflow
    seed = 0
    for stage in wf.main_stages()[:-1]:
        assert stage_of(url, coop) == stage.id
        if stage.id == wf.onboarding_stage:
            blocked = json.loads(ok(run(runner, url, "next", coop, "--json")).stdout)
            assert "not enrolled with required partner bri" in blocked["reasons"]
            assert blocked["missing_partners"] == ["bri"]
            enroll(runner, kopflow, coop, "bri")
            for step in kopflow.plugins.partner("bri").steps:
                if step.required:
                    seed += 1
                    evidence = sets(sample_evidence(step, seed))
                    ok(run(runner, url, "step", "complete", coop, f"bri.{step.id}", *evidence))
        for step in stage.steps:
            if step.required:
                seed += 1
                evidence = sets(sample_evidence(step, seed))
                ok(run(runner, url, "step", "complete", "Dencarik", step.id, *evidence))
        assert json.loads(ok(run(runner, url, "next", coop, "--json")).stdout)["can_advance"]
        moved = ok(run(runner, url, "advance", "Dencarik"))
        assert moved.stdout.startswith(f"{coop}: now in stage ")

    assert stage_of(url, coop) == "operating"
    opened = sample_evidence(wf.step("unit_opened"), 1)
    ok(run(runner, url, "step", "complete", coop, "unit_opened", *sets(opened)))
    line = error_line(run(runner, url, "advance", coop), 3)
    assert "is in stage Operating (operating), which has no next stage" in line

    shown = json.loads(ok(run(runner, url, "coop", "show", coop, "--json")).stdout)
    assert shown["partners"] == ["bri"]
    moves = [(e["from"], e["to"]) for e in shown["timeline"] if e["kind"] == "transition"]
    main = [s.id for s in wf.main_stages()]
    assert moves == list(zip(main, main[1:], strict=False))
    seqs = [e["audit_seq"] for e in shown["timeline"]]
    assert seqs == sorted(seqs)
    status = json.loads(ok(run(runner, url, "status", "--json")).stdout)
    assert {r["stage"]: r["count"] for r in status} == {"formation": 147, "operating": 1}
    verify(url)
