"""Issue #12, points 3, 9 and 10: every problem of an attempt named at once, evidence that
contradicts evidence refused as the definition declares, corrections that carry the rest.

Each refusal runs on both backends and leaves the database exactly as it was.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from click.testing import CliRunner
from clihelp import error_line, ok, run, sets
from db_helpers import db_state

from kopflow.engine import Kopflow
from kopflow.errors import EvidenceError, KopflowError
from kopflow.regions import CoopSeed

MUSDESUS = {
    "date": "2025-05-02",
    "minutes_number": "005/BA/MUSDESUS/V/2025",
    "attendance": "87",
    "coop_model": "new",
    "board_size": "5",
    "supervisors_size": "3",
    "simpanan_pokok": "100000",
    "simpanan_wajib": "10000",
}


def query(url: str, sql: str) -> list[Any]:
    from sqlalchemy import text

    from kopflow.store import db

    with db.read_connection(db.resolve_url(url)) as conn:
        return list(conn.execute(text(sql)).mappings())


def register(engine: Kopflow, count: int) -> list[str]:
    seeds = [
        CoopSeed(
            f"KDMP-70{i:04d}", "Kabupaten Uji", "Provinsi Uji", [(f"v{i}", f"Desa {i}", "K", None)]
        )
        for i in range(1, count + 1)
    ]
    engine.register(seeds, source="test")
    return [s.coop_id for s in seeds]


def formation(engine: Kopflow, coop: str, *, model: str = "new", **dates: str) -> None:
    """Socialisation, Musdesus and founding meeting with the given dates."""
    engine.complete_step(coop, "socialisation", {"date": dates.get("social", "2025-05-01")})
    engine.complete_step(
        coop,
        "musdesus",
        {**MUSDESUS, "coop_model": model, "date": dates.get("musdesus", "2025-05-02")},
    )
    engine.complete_step(
        coop,
        "founding_meeting",
        {"date": dates.get("founding", "2025-05-03"), "minutes_number": "7"},
    )


def to_legal(engine: Kopflow, coop: str, n: int) -> None:
    formation(engine, coop)
    engine.complete_step(
        coop,
        "notary_deed",
        {"deed_number": f"{n}", "deed_date": "2025-06-01", "notary_name": "Notaris"},
    )
    engine.complete_step(
        coop, "sk_ahu", {"decree_number": f"AHU-{n:04d}", "decree_date": "2025-06-20"}
    )
    engine.advance(coop)


@pytest.fixture
def two(kopflow: Kopflow) -> list[str]:
    """Two cooperatives in the legal stage."""
    coops = register(kopflow, 2)
    for n, coop in enumerate(coops, 1):
        to_legal(kopflow, coop, n)
    return coops


def refused(engine: Kopflow, coop: str, step: str, evidence: dict[str, Any], **kw: Any) -> str:
    """The message of a refused step, after checking nothing was written."""
    before = db_state(engine.url)
    with pytest.raises(KopflowError) as caught:
        engine.complete_step(coop, step, evidence, **kw)
    assert db_state(engine.url) == before
    return str(caught.value)


# --- point 3: every missing or invalid field in one error ------------------------------------


def test_musdesus_without_fields_names_every_missing_field(
    runner: CliRunner, kopflow: Kopflow
) -> None:
    (coop,) = register(kopflow, 1)
    kopflow.complete_step(coop, "socialisation", {"date": "2025-05-01"})
    before = db_state(kopflow.url)
    line = error_line(run(runner, kopflow.url, "step", "complete", coop, "musdesus"), 2)
    for field in MUSDESUS:
        assert field in line
    assert "step Special village deliberation (Musdesus): 8 required fields are missing" in line
    assert db_state(kopflow.url) == before
    # Missing and invalid fields together, still one line.
    bad = {"attendance": "forty", "board_size": "6", "date": "2025-05-02"}
    line = error_line(run(runner, kopflow.url, "step", "complete", coop, "musdesus", *sets(bad)))
    assert "attendance: 'forty' is not a whole number" in line
    assert "board_size: 6 must be an odd number" in line
    assert "minutes_number" in line and "simpanan_wajib" in line and "date (" not in line
    assert db_state(kopflow.url) == before


def test_errors_speak_indonesian(runner: CliRunner, kopflow: Kopflow) -> None:
    (coop,) = register(kopflow, 1)
    kopflow.complete_step(coop, "socialisation", {"date": "2025-05-01"})
    result = runner.invoke(
        __import__("kopflow.cli", fromlist=["cli"]).cli,
        ["--db", kopflow.url, "--lang", "id", "step", "complete", coop, "musdesus",
         "--set", "date=2025-04-30"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "langkah Musyawarah Desa Khusus (Musdesus): 7 isian wajib belum diisi" in result.stderr
    assert "lebih awal dari Tanggal sosialisasi (2025-05-01)" in result.stderr


def test_next_shows_fields_and_a_command(runner: CliRunner, kopflow: Kopflow) -> None:
    (coop,) = register(kopflow, 1)
    kopflow.complete_step(coop, "socialisation", {"date": "2025-05-01"})
    text = ok(run(runner, kopflow.url, "next", coop)).stdout
    assert "Special village deliberation (Musdesus) [musdesus]" in text
    assert "board_size (whole number, required): Board members" in text
    assert "date (date YYYY-MM-DD, from 2025-03-27, required): Date of the Musdesus" in text
    assert "coop_model (one of new, develop, revitalise, required)" in text
    assert "note (text, optional)" in text
    assert f"kopflow step complete {coop} musdesus --set date=YYYY-MM-DD" in text
    assert "--set coop_model=new" in text
    lines = text.splitlines()
    shown = lines[lines.index("") : len(lines) - lines[::-1].index("")]  # the open steps
    assert len(shown) > 8 and max(len(line) for line in shown) <= 80
    data = json.loads(ok(run(runner, kopflow.url, "next", coop, "--json")).stdout)
    assert {"coop", "stage", "open_steps", "missing", "events"} <= set(data)
    fields = {f["name"]: f for f in data["fields"]["musdesus"]}
    assert fields["board_size"] == {
        "name": "board_size", "type": "integer", "required": True, "label": "Board members",
        "min": 5,
    }  # fmt: skip
    assert fields["note"]["required"] is False


def test_workflow_show_marks_required_fields_and_lists_partner_steps(
    runner: CliRunner, sqlite_url: str
) -> None:
    text = ok(run(runner, sqlite_url, "workflow", "show")).stdout
    assert "board_size*" in text and "note*" not in text
    for key in ("bri.account", "bri.relationship_manager", "pos.pks", "pln.ppob_agent"):
        assert key in text
    data = json.loads(ok(run(runner, sqlite_url, "workflow", "show", "--json")).stdout)
    assert [s["id"] for s in data["partners"]["bri"]][:2] == ["account", "relationship_manager"]


# --- point 9: the same field twice --------------------------------------------------------------


def test_set_twice_is_refused(runner: CliRunner, kopflow: Kopflow) -> None:
    (coop,) = register(kopflow, 1)
    before = db_state(kopflow.url)
    args = ("step", "complete", coop, "socialisation", "--set", "date=2025-05-01")
    line = error_line(run(runner, kopflow.url, *args, "--set", "date=2025-05-02"))
    assert "--set date is given twice" in line and "units=sembako,apotek" in line
    assert db_state(kopflow.url) == before


def test_a_csv_column_twice_is_refused(runner: CliRunner, kopflow: Kopflow, tmp_path: Any) -> None:
    (coop,) = register(kopflow, 1)
    sheet = tmp_path / "steps.csv"
    sheet.write_text(f"coop,step,date,date\n{coop},socialisation,2025-05-01,2025-05-02\n")
    before = db_state(kopflow.url)
    line = error_line(run(runner, kopflow.url, "step", "complete", "--from-csv", str(sheet)))
    assert line.endswith("steps.csv: the column date is given twice; give each field once")
    assert db_state(kopflow.url) == before


# --- point 9: dates in order ---------------------------------------------------------------------


def test_dates_out_of_order_are_refused(kopflow: Kopflow) -> None:
    (coop,) = register(kopflow, 1)
    kopflow.complete_step(coop, "socialisation", {"date": "2025-05-01"})
    message = refused(kopflow, coop, "musdesus", {**MUSDESUS, "date": "2025-04-30"})
    assert message == (
        "date: 2025-04-30 is before Date of the socialisation (2025-05-01) of step "
        "Socialisation in the village"
    )
    kopflow.complete_step(coop, "musdesus", {**MUSDESUS, "date": "2025-05-01"})  # same day: fine
    kopflow.complete_step(coop, "founding_meeting", {"date": "2025-05-03", "minutes_number": "7"})
    deed = {"deed_number": "12", "deed_date": "2025-07-01", "notary_name": "Notaris"}
    message = refused(kopflow, coop, "notary_deed", {**deed, "deed_date": "2025-05-02"})
    assert "deed_date: 2025-05-02 is before Date of the meeting (2025-05-03)" in message
    kopflow.complete_step(coop, "notary_deed", deed)
    # The SK AHU of issue #12: dated 2025-06-20 for a deed of 2025-07-01.
    message = refused(
        kopflow, coop, "sk_ahu", {"decree_number": "AHU-1", "decree_date": "2025-06-20"}
    )
    assert "decree_date: 2025-06-20 is before Deed date (2025-07-01) of step Notary deed" in message
    kopflow.complete_step(coop, "sk_ahu", {"decree_number": "AHU-1", "decree_date": "2025-07-15"})
    # Whichever is recorded last: a corrected deed may not move after its decree.
    message = refused(
        kopflow, coop, "notary_deed", {"deed_date": "2025-08-01"}, reason="typo in the date"
    )
    assert "deed_date: 2025-08-01 is after Decree date (2025-07-15) of step Legal entity" in message


# --- point 9: no date before Inpres 9/2025, except an existing cooperative's papers --------------


def test_dates_before_the_program_are_refused(kopflow: Kopflow) -> None:
    new, existing = register(kopflow, 2)
    message = refused(kopflow, new, "socialisation", {"date": "2025-03-26"})
    assert message == "date: 2025-03-26 is before 2025-03-27, the earliest date this step accepts"
    formation(kopflow, new, social="2025-03-27", musdesus="2025-04-01", founding="2025-04-02")
    old_deed = {"deed_number": "3", "deed_date": "2010-01-04", "notary_name": "Notaris"}
    message = refused(kopflow, new, "notary_deed", old_deed)
    assert "deed_date: 2010-01-04 is before 2025-03-27" in message
    assert "unless Cooperative model: Develop an existing cooperative, Revitalise" in message
    # A cooperative developing an existing one carries its old founding papers, in order.
    kopflow.complete_step(existing, "socialisation", {"date": "2025-05-01"})
    kopflow.complete_step(existing, "musdesus", {**MUSDESUS, "coop_model": "develop"})
    kopflow.complete_step(
        existing, "founding_meeting", {"date": "2009-12-01", "minutes_number": "1"}
    )
    kopflow.complete_step(existing, "notary_deed", old_deed)
    message = refused(
        kopflow, existing, "sk_ahu", {"decree_number": "AHU-9", "decree_date": "2009-12-30"}
    )
    assert "decree_date: 2009-12-30 is before Deed date (2010-01-04)" in message
    kopflow.complete_step(
        existing, "sk_ahu", {"decree_number": "AHU-9", "decree_date": "2010-02-01"}
    )


# --- point 9: identifiers of one legal entity ---------------------------------------------------


def test_the_same_nib_for_two_cooperatives_is_refused(kopflow: Kopflow, two: list[str]) -> None:
    first, second = two
    kopflow.complete_step(first, "nib", {"nib": "9120012345678"})
    message = refused(kopflow, second, "nib", {"nib": "9120012345678"})
    assert message == "nib: 9120012345678 is already recorded for KDKMP Desa 1 (KDMP-700001)"
    # Corrected, the first cooperative releases the number; the second may then take it.
    kopflow.complete_step(first, "nib", {"nib": "9120012345679"}, reason="typo")
    kopflow.complete_step(second, "nib", {"nib": "9120012345678"})
    assert "KDMP-700002" in refused(kopflow, first, "nib", {"nib": "9120012345678"}, reason="x")
    # An undo releases it too.
    kopflow.undo_step(second, "nib", reason="wrong cooperative")
    kopflow.complete_step(first, "nib", {"nib": "9120012345678"}, reason="it was ours")
    # Nothing is deleted: each value released keeps the event that released it.
    held = [
        (r["coop_id"], r["value"], r["released_seq"] is None)
        for r in query(
            kopflow.url, "SELECT * FROM unique_value WHERE scope = 'nib.nib' ORDER BY id"
        )
    ]
    assert held == [
        (first, "9120012345678", False), (first, "9120012345679", False),
        (second, "9120012345678", False), (first, "9120012345678", True),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("step", "evidence", "field"),
    [
        ("npwp", {"npwp": "0123456789012345"}, "npwp"),
        ("registry_number", {"number": "RN-1"}, "number"),
        ("sk_ahu", {"decree_number": "AHU-0001"}, "decree_number"),
    ],
    ids=["npwp", "registry-number", "sk-ahu-number"],
)
def test_other_identifiers_are_unique(
    kopflow: Kopflow, two: list[str], step: str, evidence: dict[str, str], field: str
) -> None:
    first, second = two
    if step != "sk_ahu":  # the fixture gave the first cooperative AHU-0001 already
        kopflow.complete_step(first, step, evidence)
        kwargs: dict[str, Any] = {}
    else:
        evidence = {**evidence, "decree_date": "2025-06-20"}
        kwargs = {"reason": "copied from the other file"}
    message = refused(kopflow, second, step, evidence, **kwargs)
    assert f"{field}: " in message and "already recorded for KDKMP Desa 1 (KDMP-700001)" in message


def test_bank_account_numbers_are_unique(kopflow: Kopflow, two: list[str]) -> None:
    first, second = two
    account = {"bank": "BRI", "account_number": "012301000123301", "account_name": "KDKMP"}
    for n, coop in enumerate(two, 1):
        kopflow.complete_step(coop, "npwp", {"npwp": f"012345678901234{n}"})
    kopflow.complete_step(first, "bank_account", account)
    message = refused(kopflow, second, "bank_account", account)
    assert "account_number: 012301000123301 is already recorded for KDKMP Desa 1" in message


def test_a_partner_steps_identifier_is_unique(kopflow: Kopflow) -> None:
    """Partners declare the checks with FieldSpec too: BRI's account number is unique."""
    from engine_helpers import drive_to, seeds

    kopflow.register(seeds(2), source="test")
    first, second = "KDMP-900001", "KDMP-900002"
    for coop in (first, second):
        drive_to(kopflow, coop, "onboarding")
        kopflow.enroll(coop, ["bri"])
    account = {"account_number": "012301000123301", "branch": "Singaraja", "date": "2025-09-01"}
    kopflow.complete_step(first, "bri.account", account)
    message = refused(kopflow, second, "bri.account", account)
    assert message == (
        "account_number: 012301000123301 is already recorded for KDKMP Desa 1 (KDMP-900001)"
    )


def test_bulk_refuses_the_repeated_identifier_only(kopflow: Kopflow, two: list[str]) -> None:
    """In one chunk, the second cooperative naming the same NIB is refused, not the batch."""
    third = register_more(kopflow)
    kopflow.complete_step(third, "nib", {"nib": "1111111111111"})
    rows = [
        (two[0], "nib", {"nib": "2222222222222"}),
        (two[1], "nib", {"nib": "2222222222222"}),
        (two[1], "npwp", {"npwp": "0000000000000001"}),
    ]
    before = db_state(kopflow.url)
    result = kopflow.complete_steps_bulk(rows)
    assert [o.coop_id for o in result.done] == [two[0]]
    (refusal,) = result.refused
    assert refusal.coop_id == two[1]
    assert "nib: 2222222222222 is already recorded for KDKMP Desa 1 (KDMP-700001)" in (
        refusal.message
    )
    assert db_state(kopflow.url) != before
    result = kopflow.complete_steps_bulk([(two[1], "nib", {"nib": "1111111111111"})])
    assert "KDMP-700003" in result.refused[0].message


def register_more(engine: Kopflow) -> str:
    engine.register(
        [CoopSeed("KDMP-700003", "Kabupaten Uji", "Provinsi Uji", [("v3", "Desa 3", "K", None)])],
        source="test",
    )
    to_legal(engine, "KDMP-700003", 3)
    return "KDMP-700003"


def test_concurrent_writers_with_the_same_nib(kopflow: Kopflow, two: list[str]) -> None:
    """Two offices, each with its own connection, record the same NIB at once: one wins."""
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def office(coop: str) -> None:
        engine = Kopflow(kopflow.url)
        barrier.wait()
        try:
            engine.complete_step(coop, "nib", {"nib": "9120012345678"})
            results[coop] = "done"
        except EvidenceError as err:
            results[coop] = str(err)

    threads = [threading.Thread(target=office, args=(coop,)) for coop in two]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values())[0] == "done"
    assert list(results.values()).count("done") == 1
    loser = next(v for v in results.values() if v != "done")
    assert "nib: 9120012345678 is already recorded for KDKMP Desa" in loser


# --- point 10: a correction names what changes ---------------------------------------------------


def test_a_correction_keeps_the_other_fields(runner: CliRunner, kopflow: Kopflow) -> None:
    (coop,) = register(kopflow, 1)
    formation(kopflow, coop)
    args = ("step", "complete", coop, "musdesus", "--reason", "miscounted", "--set")
    ok(run(runner, kopflow.url, *args, "attendance=90"))
    data = json.loads(ok(run(runner, kopflow.url, "audit", "log", "--json")).stdout)
    event = next(e for e in reversed(data) if e["action"] == "step.corrected")
    details = event["details"]
    assert details["evidence"] == {
        **{k: v for k, v in MUSDESUS.items() if k not in ("attendance",)},
        "attendance": 90, "board_size": 5, "supervisors_size": 3, "simpanan_pokok": 100000,
        "simpanan_wajib": 10000,
    }  # fmt: skip
    assert details["changed"] == {"attendance": {"from": 87, "to": 90}}
    # An empty value removes an optional field; a bad one is refused like any other.
    before = db_state(kopflow.url)
    line = error_line(run(runner, kopflow.url, *args, "board_size=4"))
    assert "board_size: 4" in line
    assert db_state(kopflow.url) == before


def test_the_database_itself_refuses_a_second_holder(
    kopflow: Kopflow, two: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above is kopflow's; the primary key of unique_value is the database's own.
    A writer that skipped the check is refused whole, with nothing written."""
    from kopflow.errors import ConflictError
    from kopflow.pipeline.change import Change

    first, second = two
    kopflow.complete_step(first, "nib", {"nib": "9120012345678"})
    monkeypatch.setattr(Change, "owner", lambda self, key, value: None)
    before = db_state(kopflow.url)
    with pytest.raises(ConflictError, match="recorded for another cooperative meanwhile"):
        kopflow.complete_step(second, "nib", {"nib": "9120012345678"})
    assert db_state(kopflow.url) == before
    kopflow.complete_step(second, "nib", {"nib": "9120012345670"})  # the connection works on


def test_validate_reports_every_bad_check_with_its_path(runner: CliRunner, tmp_path: Any) -> None:
    from pathlib import Path

    from kopflow.cli import cli

    shipped = Path(__file__).resolve().parents[2] / "workflows" / "kdkmp.yaml"
    text = shipped.read_text(encoding="utf-8")
    for old, new in {
        "not_before: [founding_meeting.date]": "not_before: [founding_meeting.dat]",
        "not_before: [notary_deed.deed_date]": "not_before: [musdesus.coop_model]",
        "min_date_unless: {musdesus.coop_model: [develop, revitalise]}\n            label: {id: "
        "Tanggal terbit": "min_date_unless: {musdesus.coop_model: [grow]}\n            label: "
        "{id: Tanggal terbit",
        "{name: date, type: date, min_date: 2025-03-27, label: {id: Tanggal sosialisasi": (
            "{name: date, type: date, min_date: 2025-13-01, unique: true, label: {id: Tanggal "
            "sosialisasi"
        ),
        "{name: deed_number, type: text,": "{name: deed_number, type: text, not_before: x.y,",
    }.items():
        assert old in text, old
        text = text.replace(old, new)
    bad = tmp_path / "kdkmp.yaml"
    bad.write_text(text, encoding="utf-8")
    result = runner.invoke(cli, ["workflow", "validate", str(bad)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    expected = [
        "stages[0].steps[0].fields[0].unique: only text / reference / integer fields take",
        "stages[0].steps[0].fields[0].min_date: expected a date YYYY-MM-DD, got '2025-13-01'",
        "stages[0].steps[3].fields[0].not_before: only date fields take this key",
        "stages[0].steps[3].fields[1].not_before[0]: 'founding_meeting.dat' is not a field",
        "stages[0].steps[4].fields[1].not_before[0]: 'musdesus.coop_model' is a choice field; "
        "this key compares date fields",
        "stages[1].steps[1].fields[1].min_date_unless.musdesus.coop_model: 'grow' is not a "
        "choice of musdesus.coop_model",
    ]
    assert len(lines) == len(expected), result.stderr
    for path in expected:
        assert sum(path in line for line in lines) == 1, path
