"""Hostile files and ordinary failures (issue #14, points 5 to 8).

Patterns cannot hang (RE2) and workflow files are bounded; control characters are refused at
input and escaped at output; every ordinary failure (a file's encoding, a huge cell, a full
disk, a read-only database, a missing schema or SQLite file) has its own message and status,
never "unexpected" and exit 70. Real SQLite files and the real PostgreSQL server throughout.
"""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kopflow.errors import EvidenceError, StorageError
from tests.cli.clihelp import error_line, ok, run
from tests.db_helpers import PG_SERVER, db_state

JEMBRANA = "Kabupaten Jembrana"
BULELENG = "Kabupaten Buleleng"
ESC_TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
RLO = "\u202e"


@pytest.fixture
def district(kopflow: Any) -> Any:
    """Jembrana's 51 cooperatives, in formation; an officer of Buleleng who may not touch them."""
    from kopflow import regions

    kopflow.register(regions.seeds_from_areaid(kabupaten=JEMBRANA), source="test")
    kopflow.add_actor("dinas_buleleng", role="officer", region=BULELENG)
    return kopflow


def first_coop(engine: Any) -> str:
    return str(engine.list_coops(kabupaten=JEMBRANA, limit=1)[0]["id"])


def sqlite_path(url: str) -> str:
    assert url.startswith("sqlite:///")
    return url[len("sqlite:///") :]


def no_bug(result: Result) -> None:
    """The promise of point 7: an ordinary failure is never reported as a bug."""
    assert result.exit_code != 70, result.stderr
    assert "unexpected" not in result.output + result.stderr


# --- 5. patterns cannot hang, YAML is bounded -------------------------------------------------

WORKFLOW = Path(__file__).resolve().parents[1] / "workflows" / "kdkmp.yaml"


def with_pattern(tmp_path: Path, pattern: str) -> Path:
    """kdkmp.yaml with the NIB field's pattern replaced."""
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "pattern: '[0-9]{13}'" in text
    path = tmp_path / "wf.yaml"
    path.write_text(text.replace("pattern: '[0-9]{13}'", f"pattern: '{pattern}'"), "utf-8")
    return path


def test_a_backtracking_pattern_matches_a_hostile_value_in_linear_time() -> None:
    from kopflow.flow.spec import FieldSpec

    spec = FieldSpec("code", "reference", {"id": "Kode", "en": "Code"}, pattern="(a+)+$")
    assert spec.parse("a" * 64) == "a" * 64
    # Python's re backtracks for ages on this one value; RE2 answers at once.
    with pytest.raises(EvidenceError) as refused:
        spec.parse("a" * 200_000 + "!")
    message = str(refused.value)
    assert "does not have the expected format" in message
    assert len(message) < 300  # the value is quoted as a bounded excerpt


def test_validate_accepts_what_re2_runs_and_names_the_field_it_refuses(
    runner: CliRunner, tmp_path: Path
) -> None:
    from kopflow.cli import cli

    ok(runner.invoke(cli, ["workflow", "validate", str(with_pattern(tmp_path, "(a+)+$"))]))
    for refused in (r"([0-9])\1+", "(?=[0-9])[0-9]{13}"):
        result = runner.invoke(cli, ["workflow", "validate", str(with_pattern(tmp_path, refused))])
        assert result.exit_code == 2, result.output
        assert "field nib: the pattern is refused" in result.stderr
        assert ".pattern:" in result.stderr


def test_a_plugin_pattern_re2_refuses_refuses_the_plugin() -> None:
    from kopflow.host.partner_check import partner_problems
    from kopflow.plugin import FieldSpec, PartnerSpec, StepSpec

    field = FieldSpec("code", "reference", {"id": "Kode", "en": "Code"}, pattern=r"(a)\1")
    step = StepSpec("account", {"id": "Rekening", "en": "Account"}, "partner", fields=(field,))
    spec = PartnerSpec("acme", {"id": "Acme", "en": "Acme"}, steps=(step,))
    assert any("field code has a broken pattern" in p for p in partner_problems(spec))


def test_billion_laughs_is_refused_at_once_with_a_short_message(
    runner: CliRunner, tmp_path: Path
) -> None:
    from kopflow.cli import cli

    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    result = runner.invoke(cli, ["workflow", "validate", str(path)])
    assert result.exit_code == 2
    assert "aliases are not allowed in a workflow file" in result.stderr
    assert len(result.stderr) < 400


def test_a_huge_workflow_file_is_refused_before_it_is_read(
    runner: CliRunner, tmp_path: Path
) -> None:
    from kopflow.cli import cli

    path = tmp_path / "big.yaml"
    path.write_text("name: big\n" + "# padding\n" * 200_000, "utf-8")
    result = runner.invoke(cli, ["workflow", "validate", str(path)])
    assert result.exit_code == 2
    assert "more than a workflow may have" in result.stderr


def test_a_long_value_in_a_workflow_error_is_quoted_as_an_excerpt(
    runner: CliRunner, tmp_path: Path
) -> None:
    from kopflow.cli import cli

    path = tmp_path / "long.yaml"
    path.write_text("name: [" + ", ".join(["'" + "x" * 1000 + "'"] * 300) + "]\n", "utf-8")
    result = runner.invoke(cli, ["workflow", "validate", str(path)])
    assert result.exit_code == 2
    assert "x" * 100 not in result.stderr and len(result.stderr) < 5000


# --- 6. control characters ---------------------------------------------------------------------


def test_esc_in_set_is_refused_naming_the_field(runner: CliRunner, district: Any) -> None:
    coop = first_coop(district)
    before = db_state(district.url)
    result = run(
        runner,
        district.url,
        *("step", "complete", coop, "socialisation", "--set", "date=2025-06-01"),
        *("--set", f"note=minutes {ESC_TITLE}{CLEAR}"),
    )
    line = error_line(result)
    assert "note: the value holds the control character \\x1b" in line
    assert "\x1b" not in result.stderr
    assert db_state(district.url) == before


def test_control_characters_are_refused_in_csv_reasons_and_names(
    runner: CliRunner, district: Any, tmp_path: Path
) -> None:
    coop = first_coop(district)
    url = district.url
    csv_file = tmp_path / "steps.csv"
    csv_file.write_text(f"coop,step,date,note\n{coop},socialisation,2025-06-01,a{RLO}b\n", "utf-8")
    result = run(runner, url, "step", "complete", "--from-csv", str(csv_file))
    assert result.exit_code == 3
    assert "note: the value holds the control character \\u202e" in result.stdout
    ok(run(runner, url, "step", "complete", coop, "socialisation", "--set", "date=2025-06-01"))
    line = error_line(run(runner, url, "step", "undo", coop, "socialisation", "--reason", CLEAR))
    assert "--reason holds the control character \\x1b" in line
    line = error_line(run(runner, url, "actor", "add", f"evil{RLO}", "--role", "auditor"))
    assert "NAME holds the control character \\u202e" in line
    villages = tmp_path / "villages.csv"
    villages.write_text(
        "region_code,village,kecamatan,kabupaten,provinsi\n"
        f"51.99.01.2001,Desa{ESC_TITLE},Kec,{JEMBRANA},Bali\n",
        "utf-8",
    )
    line = error_line(run(runner, url, "coop", "import", str(villages)))
    assert ":2: column village holds the control character \\x1b" in line


def test_stored_control_characters_print_escaped(
    runner: CliRunner, district: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database an older kopflow wrote (no input check): every view prints escapes."""
    coop = first_coop(district)
    url = district.url
    with monkeypatch.context() as older:
        older.setattr("kopflow.flow.spec._refuse_control", lambda spec, raw: None)
        ok(
            run(
                runner,
                url,
                *("step", "complete", coop, "socialisation", "--set", "date=2025-06-01"),
                *("--set", f"note=x{ESC_TITLE}{CLEAR}{RLO}y"),
            )
        )
    from sqlalchemy import text

    from kopflow.store.db import resolve_url, write_transaction

    with write_transaction(resolve_url(url)) as conn:
        conn.execute(
            text("UPDATE coop SET name = name || :bad WHERE id = :id"),
            {"bad": ESC_TITLE, "id": coop},
        )
    for args in (
        ("coop", "show", coop),
        ("coop", "list", "--region", JEMBRANA),
        ("audit", "log", "--coop", coop),
        ("status",),
    ):
        result = ok(run(runner, url, *args))
        assert "\x1b" not in result.output and RLO not in result.output, args
    shown = ok(run(runner, url, "coop", "show", coop)).output
    assert "\\x1b]0;pwned\\x07" in shown and "\\u202e" in shown
    raw = ok(run(runner, url, "coop", "show", coop, "--json")).output
    assert "\x1b" not in raw and RLO not in raw
    # JSON escapes each of them, and any JSON reader gets the stored text back
    assert '"note": "x\\u001b]0;pwned\\u0007\\u001b[2J\\u202ey"' in raw
    assert json.loads(raw)


# --- 7/8. ordinary failures: their own message and status ---------------------------------------


def test_csv_files_that_are_not_utf8_name_the_file_and_row(
    runner: CliRunner, district: Any, tmp_path: Path
) -> None:
    coop = first_coop(district)
    url = district.url
    text = f"coop,step,date\n{coop},socialisation,2025-06-01\n"
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(text.encode("utf-16"))
    line = error_line(run(runner, url, "step", "complete", "--from-csv", str(utf16)))
    assert "utf16.csv is UTF-16 text" in line and "CSV UTF-8" in line
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        (text + f"{coop},musdesus,2025-06-02\n").encode()
        + "Desa Tanah Lot \xe9\n".encode("latin-1")
    )
    line = error_line(run(runner, url, "step", "complete", "--from-csv", str(latin)))
    assert "latin.csv: row 4 is not UTF-8 text" in line
    nul = tmp_path / "nul.csv"
    nul.write_bytes(text.encode("utf-16-le"))  # UTF-16 without its mark: NUL bytes
    line = error_line(run(runner, url, "step", "complete", "--from-csv", str(nul)))
    assert "holds a NUL character" in line
    huge = tmp_path / "huge.csv"
    huge.write_text(f"coop,step,date,note\n{coop},socialisation,2025-06-01,{'n' * 140_000}\n")
    line = error_line(run(runner, url, "step", "complete", "--from-csv", str(huge)))
    assert "huge.csv: row 2 has a cell longer than 131072 characters" in line
    villages = tmp_path / "villages.csv"
    villages.write_bytes("region_code,village,kecamatan,kabupaten,provinsi\n".encode("utf-16"))
    line = error_line(run(runner, url, "coop", "import", str(villages)))
    assert "villages.csv is UTF-16 text" in line


def test_a_read_on_a_mistyped_sqlite_path_creates_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    missing = tmp_path / "kopflwo.db"
    for args in (("coop", "list"), ("status",), ("audit", "log"), ("coop", "show", "X")):
        line = error_line(run(runner, str(missing), *args))
        assert "kopflwo.db does not exist" in line and "kopflow init" in line
    assert list(tmp_path.glob("kopflwo.db*")) == []


# SQLite only: its page cap makes a real "database or disk is full"; PostgreSQL's disk_full
# (SQLSTATE 53100) is mapped by the same code and cannot be provoked on a shared server.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_full_disk_says_so(
    runner: CliRunner, district: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own "database or disk is full", from a file capped at its current size."""
    from kopflow.store import db

    conn = sqlite3.connect(sqlite_path(district.url))
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    assert pages > 10
    monkeypatch.setattr(
        db, "SQLITE_PRAGMAS", (*db.SQLITE_PRAGMAS, f"PRAGMA max_page_count={pages}")
    )
    db.dispose_engines()
    before = db_state(district.url)
    result = run(runner, district.url, "coop", "import", "--region", BULELENG)
    line = error_line(result, StorageError.exit_code)
    assert "the disk is full" in line and "nothing was written" in line
    monkeypatch.undo()
    db.dispose_engines()
    assert db_state(district.url) == before


def test_an_oserror_of_a_full_disk_is_explained() -> None:
    from kopflow.store.failures import explain

    full = explain(OSError(errno.ENOSPC, "No space left on device"))
    assert isinstance(full, StorageError) and "disk is full" in str(full)
    assert explain(RuntimeError("a real bug")) is None


def test_an_immutable_database_says_it_is_read_only(district: Any, tmp_path: Path) -> None:
    """As a subprocess, the way an office runs it; on SQLite an immutable file (chattr +i),
    on PostgreSQL a read-only session (a standby answers with the same SQLSTATE 25006)."""
    from kopflow.store import db
    from tests.test_subprocess import kopflow as kopflow_cli

    coop = first_coop(district)
    url, files = district.url, []
    if "://" in url and not url.startswith("sqlite"):
        url += "%20-cdefault_transaction_read_only%3Don"
    else:
        db.dispose_engines()
        conn = sqlite3.connect(sqlite_path(url))  # the file whole, as a locked copy would be
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        files = [sqlite_path(url)]
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", *files], check=False).returncode:
            pytest.skip("chattr +i is not available here")
    try:
        args = ("step", "complete", coop, "socialisation", "--set", "date=2025-06-01")
        done = kopflow_cli(tmp_path, "--db", url, *args)
        assert done.returncode == StorageError.exit_code, done.stderr
        assert done.stderr.startswith("Error: the database is read-only")
        assert len(done.stderr.splitlines()) == 1
        assert kopflow_cli(tmp_path, "--db", url, "coop", "list").returncode == 0  # reads work
    finally:
        if files:
            subprocess.run([str(shutil.which("chattr")), "-i", *files], check=False)


def test_a_postgresql_schema_that_does_not_exist_is_named(runner: CliRunner) -> None:
    url = f"{PG_SERVER}?options=-csearch_path%3Dno_such_schema_kopflow"
    for args in (("init",), ("coop", "list"), ("status",)):
        line = error_line(run(runner, url, *args))
        assert "the schema the database URL names" in line and "does not exist" in line


def test_audit_log_refuses_an_action_no_event_has(runner: CliRunner, district: Any) -> None:
    url = district.url
    line = error_line(run(runner, url, "audit", "log", "--action", "transition"))
    assert "no audit event has the action transition" in line and "coop.transition" in line
    ok(run(runner, url, "audit", "log", "--action", "coop.transition"))  # none yet, but known
    ok(run(runner, url, "audit", "log", "--action", "coop.*"))


# SQLite only: on PostgreSQL the actor is the login (tests/test_permissions.py's way).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_scope_refusals_name_the_cooperative_and_exit_5_in_bulk_too(
    runner: CliRunner, district: Any, tmp_path: Path
) -> None:
    coop = first_coop(district)
    url = district.url
    officer = ("--actor", "dinas_buleleng")
    single = run(
        runner, url, *officer, "step", "complete", coop, "socialisation", "--set", "date=2025-06-01"
    )
    assert single.exit_code == 5
    csv_file = tmp_path / "steps.csv"
    csv_file.write_text(f"coop,step,date\n{coop},socialisation,2025-06-01\n", "utf-8")
    bulk = run(runner, url, *officer, "step", "complete", "--from-csv", str(csv_file))
    assert bulk.exit_code == single.exit_code == 5
    line = error_line(
        run(runner, url, *officer, "advance", "--where-stage", "formation", "--region", JEMBRANA), 5
    )
    assert "may not act on cooperatives in Kabupaten Jembrana" in line
    villages = tmp_path / "villages.csv"
    villages.write_text(
        "region_code,village,kecamatan,kabupaten,provinsi,coop_id\n"
        f"51.99.01.2001,Desa Baru,Kec,{JEMBRANA},Bali,KDMP-NEW1\n",
        "utf-8",
    )
    line = error_line(run(runner, url, *officer, "coop", "import", str(villages)), 5)
    assert "may not act on KDMP-NEW1 in Kabupaten Jembrana" in line
    assert " - " not in line


def test_the_sweep_finds_no_unexpected_error(
    runner: CliRunner, district: Any, tmp_path: Path
) -> None:
    """Every case of point 8 at once: none ends as "unexpected" or with exit 70."""
    coop = first_coop(district)
    url = district.url
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes(f"coop,step,date\n{coop},socialisation,2025-06-01\n".encode("utf-16"))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"coop,step,date\n\xff\xfe\xfd,socialisation,2025-06-01\n")
    huge = tmp_path / "huge.csv"
    huge.write_text(f"coop,step,note\n{coop},socialisation,{'n' * 131_073}\n", "utf-8")
    cases: list[tuple[str, ...]] = [
        ("step", "complete", "--from-csv", str(utf16)),
        ("step", "complete", "--from-csv", str(bad)),
        ("step", "complete", "--from-csv", str(huge)),
        ("coop", "import", str(utf16)),
        ("--db", str(tmp_path / "typo.db"), "coop", "list"),
        ("--db", f"{PG_SERVER}?options=-csearch_path%3Dno_such_schema_kopflow", "init"),
        ("audit", "log", "--action", "transition"),
        (
            "--actor",
            "dinas_buleleng",
            "advance",
            "--where-stage",
            "formation",
            "--region",
            JEMBRANA,
        ),
        ("step", "complete", coop, "socialisation", "--set", f"date=2025-06-01{CLEAR}"),
    ]
    for args in cases:
        result = run(runner, url, *args)  # a later --db wins over the first
        no_bug(result)
        assert result.exit_code != 0, args
