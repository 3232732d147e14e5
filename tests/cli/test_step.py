"""``kopflow step complete | undo``, one at a time or from a CSV file (issue #2)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from clihelp import error_line, ok, run, sets
from db_helpers import db_state, pg_schema

from kopflow.flow.samples import sample_evidence
from kopflow.regions import CoopSeed

KAB = "Kabupaten Uji"


def records(url: str, coop: str) -> list[tuple[str, int, str]]:
    from sqlalchemy import text

    from kopflow.store import db

    with db.read_connection(db.resolve_url(url)) as conn:
        rows = conn.execute(
            text("SELECT step, version, status FROM step_record WHERE coop_id = :c ORDER BY id"),
            {"c": coop},
        )
        return [tuple(r) for r in rows]


def make_coops(engine: Any, count: int) -> list[str]:
    coop_seeds = [
        CoopSeed(f"KDMP-80000{i}", KAB, "Provinsi Uji", [(f"u{i}", f"Desa {i}", "Kec Uji", None)])
        for i in range(1, count + 1)
    ]
    engine.register(coop_seeds, source="test")
    return [s.coop_id for s in coop_seeds]


def finish(engine: Any, coop: str, stage: str) -> None:
    for step in engine.workflow.stage(stage).steps:
        if step.required:
            engine.complete_step(coop, step.id, sample_evidence(step, 1))


@pytest.fixture
def three(kopflow: Any) -> list[str]:
    """Three cooperatives in formation, on a fresh database of each backend."""
    return make_coops(kopflow, 3)


# --- bad evidence: one shared database per backend, which refusals must leave untouched ---------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def staged(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Cooperatives waiting in three stages: 800001 in formation (socialisation done),
    800002 in legal, 800003 in consolidation (assistant assigned)."""
    from kopflow.engine import Kopflow

    with pytest.MonkeyPatch.context() as patch:
        for var in [v for v in os.environ if v.startswith("KOPFLOW_")]:
            patch.delenv(var)
        if request.param == "sqlite":
            urls: Iterator[str] = iter([str(tmp_path_factory.mktemp("staged") / "k.db")])
        else:
            urls = pg_schema()
        url = next(urls)
        engine = Kopflow(url)
        engine.init()
        f, legal, cons = make_coops(engine, 3)
        engine.complete_step(f, "socialisation", {"date": "2025-05-01"})
        for coop in (legal, cons):
            finish(engine, coop, "formation")
            engine.advance(coop)
        finish(engine, cons, "legal")
        engine.advance(cons)
        assistant = engine.workflow.step("assistant_assigned")
        engine.complete_step(cons, "assistant_assigned", sample_evidence(assistant, 1))
    yield url
    next(urls, None)  # drops the PostgreSQL schema


def good_evidence(spec: Any) -> dict[str, Any]:
    """Valid evidence for a step. kopflow.flow.samples finds no value for the microsite's URL
    pattern (it tries digit and reference shapes only), so that one is written out."""
    if spec.id == "microsite":
        return {"url": "https://kdmp-banjar.example.id", "date": "2025-06-01"}
    return sample_evidence(spec, 1)


BAD_EVIDENCE = [
    ("KDMP-800001", "musdesus", "date", "2025/06/01", "is not a date; write YYYY-MM-DD"),
    ("KDMP-800001", "musdesus", "date", "2999-01-01", "is in the future"),
    ("KDMP-800001", "musdesus", "simpanan_pokok", "-50000", "cannot be negative"),
    ("KDMP-800001", "musdesus", "simpanan_wajib", "1,5", "has a fraction"),
    ("KDMP-800001", "musdesus", "board_size", "6", "must be an odd number"),
    ("KDMP-800001", "musdesus", "attendance", "banyak", "is not a whole number"),
    ("KDMP-800002", "nib", "nib", "12345678901", "does not have the expected format: 13 digits"),
    ("KDMP-800002", "nib", "nib", "12345678901AB", "does not have the expected format"),
    ("KDMP-800002", "npwp", "npwp", "01.234.567.8-901.000", "16 digits without dots"),
    ("KDMP-800002", "microsite", "url", "koperasi.example", "starting with http"),
    ("KDMP-800003", "business_plan", "units", "sembako,casino", "'casino' is not allowed"),
    ("KDMP-800003", "land_verified", "area_m2", "599", "below the minimum of 600"),
]


@pytest.mark.parametrize(
    ("coop", "step", "field", "value", "expected"),
    BAD_EVIDENCE,
    ids=[
        "date-not-a-date",
        "date-in-future",
        "amount-negative",
        "amount-fraction",
        "board-even",
        "integer-not-a-number",
        "nib-12-digits",
        "nib-letters",
        "npwp-with-dots",
        "microsite-not-a-url",
        "business-unit-unknown",
        "land-below-600",
    ],
)
def test_bad_evidence_refused_naming_the_field(
    runner: CliRunner, staged: str, coop: str, step: str, field: str, value: str, expected: str
) -> None:
    """Issue #2: wrong evidence is refused in one line naming the field; nothing is written."""
    from kopflow.flow.spec import find_workflow

    evidence = {**good_evidence(find_workflow().step(step)), field: value}
    before = db_state(staged)
    line = error_line(run(runner, staged, "step", "complete", coop, step, *sets(evidence)), 2)
    assert line.startswith(f"Error: {field}: ")
    assert expected in line
    assert db_state(staged) == before


def test_bad_evidence_cases_differ_from_good_evidence_in_one_field() -> None:
    """The refusals above are about the one bad field: the rest of their evidence is valid."""
    from kopflow.flow.spec import find_workflow

    wf = find_workflow()
    for _coop, step, field, value, _expected in BAD_EVIDENCE:
        evidence = good_evidence(wf.step(step))
        assert field in wf.step(step).validate(dict(evidence)), step
        assert evidence[field] != value


# --- one step at a time -----------------------------------------------------------------------


def test_complete_then_correct_with_a_reason(
    runner: CliRunner, kopflow: Any, three: list[str]
) -> None:
    """Issue #2: a done step is corrected only with --reason, as version 2; v1 is kept."""
    url, coop = kopflow.url, three[0]
    soc = ("step", "complete", coop, "socialisation")
    done = json.loads(ok(run(runner, url, *soc, "--set", "date=2025-06-01", "--json")).stdout)
    assert (done["coop"], done["message"]) == (
        coop,
        "completed Socialisation in the village (socialisation)",
    )
    assert done["stage"] == "formation"

    before = db_state(url)
    line = error_line(run(runner, url, *soc, "--set", "date=2025-06-02"), 2)
    assert "done already; to correct its evidence give --reason" in line
    assert db_state(url) == before

    by_name = ("step", "complete", "Desa 1", "socialisation", "--set", "date=2025-06-02")
    result = ok(run(runner, url, *by_name, "--reason", "date typed wrong"))
    assert (
        result.stdout.strip() == f"{coop}: corrected Socialisation in the village (socialisation)"
    )
    shown = json.loads(ok(run(runner, url, "coop", "show", coop, "--json")).stdout)
    (row,) = [s for s in shown["steps"] if s["step"] == "socialisation"]
    assert (row["done"], row["version"], row["evidence"]["date"]) == (True, 2, "2025-06-02")
    history = [(e["version"], e["evidence"]["date"], e["reason"]) for e in shown["timeline"]]
    assert history == [(1, "2025-06-01", None), (2, "2025-06-02", "date typed wrong")]


def test_undo_with_a_reason(runner: CliRunner, kopflow: Any, three: list[str]) -> None:
    url, coop = kopflow.url, three[0]
    ok(run(runner, url, "step", "complete", coop, "socialisation", "--set", "date=2025-06-01"))
    before = db_state(url)
    missing = run(runner, url, "step", "undo", coop, "socialisation")
    assert missing.exit_code == 2 and "Missing option '--reason'" in missing.stderr
    line = error_line(run(runner, url, "step", "undo", coop, "socialisation", "--reason", " "), 2)
    assert "undoing a step needs --reason" in line
    line = error_line(run(runner, url, "step", "undo", coop, "musdesus", "--reason", "x"), 3)
    assert "step Special village deliberation (Musdesus) of KDMP-800001 is not done" in line
    assert db_state(url) == before

    result = ok(
        run(runner, url, "step", "undo", coop, "socialisation", "--reason", "wrong village")
    )
    assert result.stdout.strip() == f"{coop}: undid Socialisation in the village (socialisation)"
    assert records(url, coop) == [("socialisation", 1, "done"), ("socialisation", 2, "undone")]
    nxt = json.loads(ok(run(runner, url, "next", coop, "--json")).stdout)
    assert nxt["open_steps"] == ["socialisation"]


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (("KDMP-800001", "socialisation", "--set", "date"), 2, "--set takes field=value"),
        (("KDMP-800001", "socialisation", "--set", "=2025-01-01"), 2, "--set takes field=value"),
        (("KDMP-800001",), 2, "give COOP and STEP"),
        (("KDMP-800001", "socialisation", "--dry-run"), 2, "--dry-run goes with --from-csv"),
        (("KDMP-800001", "tea_party"), 2, "unknown step tea_party"),
        (("KDMP-800001", "bri.account"), 3, "is not enrolled with bri"),
        (
            ("KDMP-800001", "bri.coffee"),
            2,
            "partner bri has no step coffee; its steps: bri.account",
        ),
        (("KDMP-800001", "acme.x"), 2, "unknown partner acme"),
        (("KDMP-800404", "socialisation", "--set", "date=2025-01-01"), 2, "no cooperative"),
        (("KDMP-800001", "socialisation", "--expect-version", "9"), 4, "was changed by"),
    ],
    ids=[
        "set-without-equals",
        "set-without-name",
        "no-step",
        "dry-run-alone",
        "unknown-step",
        "partner-not-enrolled",
        "partner-unknown-step",
        "unknown-partner",
        "unknown-coop",
        "stale-version",
    ],
)
def test_complete_input_errors(
    runner: CliRunner, staged: str, args: tuple[str, ...], code: int, expected: str
) -> None:
    before = db_state(staged)
    line = error_line(run(runner, staged, "step", "complete", *args), code)
    assert expected in line
    assert db_state(staged) == before


# --- many steps from a CSV file ---------------------------------------------------------------

MUSDESUS = {
    "date": "2025-06-10",
    "minutes_number": "BA/1",
    "attendance": "40",
    "coop_model": "new",
    "board_size": "5",
    "supervisors_size": "3",
    "simpanan_pokok": "100000",
    "simpanan_wajib": "10000",
}
COLUMNS = ["coop", "step", *MUSDESUS]


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> str:
    lines = [",".join(columns)] + [",".join(row.get(c, "") for c in columns) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def mixed_csv(tmp_path: Path) -> str:
    soc = {"step": "socialisation", "date": "2025-06-01"}
    return write_csv(
        tmp_path / "steps.csv",
        [
            {"coop": " KDMP-800001", **soc, "step": "socialisation "},  # stray spaces
            {"coop": "KDMP-800001", "step": "musdesus", **MUSDESUS},
            {"coop": "KDMP-800002", **soc},
            {"coop": "KDMP-800002", "step": "musdesus", **MUSDESUS, "board_size": "6"},
            {"coop": "Desa 3", **soc},  # by village name
            {"coop": "KDMP-800404", **soc},
        ],
    )


def test_from_csv_each_cooperative_all_or_nothing(
    runner: CliRunner, kopflow: Any, three: list[str], tmp_path: Path
) -> None:
    """Issue #2: 800002's bad musdesus row also undoes its good socialisation row. Issue #12:
    the summary counts cooperatives and steps apart, names the refused rows, and the partial
    refusal exits 8."""
    url = kopflow.url
    result = run(runner, url, "step", "complete", "--from-csv", mixed_csv(tmp_path))
    assert result.exit_code == 8 and result.stderr == ""
    assert result.stdout.splitlines() == [
        "Cooperatives: 2 recorded, 2 refused. Steps: 3 recorded, 3 not recorded.",
        "Refused, by reason (rows of the CSV file; a cooperative's rows go in together):",
        "  1 × musdesus: board_size: 6 must be an odd number",
        "      KDMP-800002 (rows 4, 5)",
        "  1 × no cooperative COOP: give its id (e.g. KDMP-800001) or its village name",
        "      KDMP-800404 (row 7)",
    ]
    assert records(url, "KDMP-800001") == [("socialisation", 1, "done"), ("musdesus", 1, "done")]
    assert records(url, "KDMP-800002") == []
    assert records(url, "KDMP-800003") == [("socialisation", 1, "done")]


def test_from_csv_dry_run_writes_nothing(
    runner: CliRunner, kopflow: Any, three: list[str], tmp_path: Path
) -> None:
    before = db_state(kopflow.url)
    result = run(
        runner,
        kopflow.url,
        "step",
        "complete",
        "--from-csv",
        mixed_csv(tmp_path),
        "--dry-run",
        "--json",
    )
    assert result.exit_code == 8
    data = json.loads(result.stdout)
    assert (data["dry_run"], data["done"], data["refused"]) == (True, 3, 2)
    assert {r["coop"] for r in data["refusals"]} == {"KDMP-800002", "KDMP-800404"}
    assert {r["coop"]: r["rows"] for r in data["refusals"]} == {
        "KDMP-800002": [4, 5],
        "KDMP-800404": [7],
    }
    assert (data["cooperatives"], data["steps"]) == (
        {"done": 2, "refused": 2},
        {"done": 3, "refused": 3},
    )
    assert db_state(kopflow.url) == before


def test_from_csv_all_refused_exits_3(
    runner: CliRunner, kopflow: Any, three: list[str], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "bad.csv", [{"coop": c, "step": "musdesus", **MUSDESUS} for c in three]
    )
    before = db_state(kopflow.url)
    result = run(runner, kopflow.url, "step", "complete", "--from-csv", path)
    assert result.exit_code == 3
    assert result.stdout.startswith(
        "Cooperatives: 0 recorded, 3 refused. Steps: 0 recorded, 3 not recorded."
    )
    assert (
        "  3 × musdesus: step Special village deliberation (Musdesus) comes after Socialisation in the village (socialisation)"
        in result.stdout
    )
    assert db_state(kopflow.url) == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "cooperative,step,date\nKDMP-800001,socialisation,2025-06-01\n",
            "must name the columns coop and step",
        ),
        (None, "cannot read"),
    ],
    ids=["no-coop-column", "missing-file"],
)
def test_from_csv_bad_file(
    runner: CliRunner, sqlite_url: str, tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "steps.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    line = error_line(run(runner, sqlite_url, "step", "complete", "--from-csv", str(path)), 2)
    assert expected in line and "steps.csv" in line


def test_from_csv_with_coop_and_step_is_refused(
    runner: CliRunner, sqlite_url: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "s.csv", [])
    line = error_line(
        run(
            runner,
            sqlite_url,
            "step",
            "complete",
            "KDMP-800001",
            "socialisation",
            "--from-csv",
            path,
        ),
        2,
    )
    assert "not both" in line


def test_from_csv_without_rows_is_an_input_error(
    runner: CliRunner, kopflow: Any, tmp_path: Path
) -> None:
    """A file with only its header would otherwise report an empty, successful run."""
    path = tmp_path / "empty.csv"
    path.write_text("coop,step,date\n", encoding="utf-8")
    before = db_state(kopflow.url)
    line = error_line(run(runner, kopflow.url, "step", "complete", "--from-csv", str(path)), 2)
    assert line == f"Error: {path} has no rows below its header"
    assert db_state(kopflow.url) == before
