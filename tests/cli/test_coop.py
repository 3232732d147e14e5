"""``kopflow coop import | list | show`` as a district office uses them (issue #2)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from clihelp import error_line, ok, run
from db_helpers import db_state

from kopflow.cli import cli

CSV_HEADER = "region_code,village,kecamatan,kabupaten,provinsi,postal_code,coop_id\n"


def imported(result: Result) -> tuple[int, int]:
    data = json.loads(ok(result).stdout)
    return data["added"], data["already_registered"]


@pytest.fixture
def url(db_url: str, runner: CliRunner) -> str:
    ok(run(runner, db_url, "init"))
    return db_url


@pytest.fixture
def sqlite_db(sqlite_url: str, runner: CliRunner) -> str:
    ok(run(runner, sqlite_url, "init"))
    return sqlite_url


# --- import from areaid -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kabupaten", "expected"),
    [
        ("Kabupaten Buleleng", 148),
        ("Kabupaten Kutai Kartanegara", 237),
        ("Kabupaten Banjarnegara", 278),
        ("Kabupaten Kediri", 344),
    ],
    ids=["buleleng", "kutai-kartanegara", "banjarnegara", "kediri"],
)
def test_import_region_registers_every_village_once(
    runner: CliRunner, sqlite_db: str, kabupaten: str, expected: int
) -> None:
    """Issue #2 acceptance: exact counts per kabupaten; a second run adds none."""
    assert imported(run(runner, sqlite_db, "coop", "import", "--region", kabupaten, "--json")) == (
        expected,
        0,
    )
    assert imported(run(runner, sqlite_db, "coop", "import", "--region", kabupaten, "--json")) == (
        0,
        expected,
    )
    status = json.loads(
        ok(run(runner, sqlite_db, "status", "--json", "--region", kabupaten)).stdout
    )
    assert status == [{"stage": "formation", "count": expected, "overdue": 0}]
    assert len(db_state(sqlite_db)["coop"]) == expected


def test_import_region_on_postgresql(runner: CliRunner, pg_url: str) -> None:
    ok(run(runner, pg_url, "init"))
    args = ("coop", "import", "--region", "Kabupaten Buleleng", "--json")
    assert imported(run(runner, pg_url, *args)) == (148, 0)
    assert imported(run(runner, pg_url, *args)) == (0, 148)
    assert len(db_state(pg_url)["coop"]) == 148


def test_import_region_ignores_case_and_says_what_it_did(runner: CliRunner, sqlite_db: str) -> None:
    result = ok(run(runner, sqlite_db, "coop", "import", "--region", "kabupaten buleleng"))
    assert "148 cooperatives registered, 0 already registered" in result.stdout


def test_import_province(runner: CliRunner, sqlite_db: str) -> None:
    """--province imports every kabupaten/kota of it, Buleleng's 148 among them."""
    added, skipped = imported(
        run(runner, sqlite_db, "coop", "import", "--province", "Bali", "--json")
    )
    assert (added, skipped) == (716, 0)
    by_kab = json.loads(ok(run(runner, sqlite_db, "status", "--by", "kabupaten", "--json")).stdout)
    per = {row["kabupaten"]: row["count"] for row in by_kab}
    assert len(per) == 9 and sum(per.values()) == 716
    assert per["Kabupaten Buleleng"] == 148
    # A kabupaten of it afterwards: already there.
    assert imported(
        run(runner, sqlite_db, "coop", "import", "--region", "Kabupaten Buleleng", "--json")
    ) == (0, 148)


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--region", "Kabupaten Bulelng", "did you mean: Kabupaten Buleleng"),
        ("--region", "Kabupaten Kedri", "did you mean: Kabupaten Kediri"),
        ("--province", "Jawa Tenga", "did you mean: Jawa Tengah"),
    ],
    ids=["kabupaten-typo", "kediri-typo", "province-typo"],
)
def test_unknown_region_suggests_close_names(
    runner: CliRunner, sqlite_db: str, option: str, value: str, expected: str
) -> None:
    before = db_state(sqlite_db)
    line = error_line(run(runner, sqlite_db, "coop", "import", option, value))
    assert repr(value) in line and expected in line
    assert db_state(sqlite_db) == before


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Error: unknown kabupaten/kota '51.08'; give its name as the region data "
               "writes it, such as Kabupaten Aceh Barat, Kabupaten Aceh Barat Daya"),
        ("id", "Galat: provinsi '51' tidak dikenal; tulis namanya seperti pada data wilayah, "
               "misalnya Aceh, Sumatra Utara"),
    ],
)  # fmt: skip
def test_a_region_code_or_a_name_far_off_shows_how_names_are_written(
    runner: CliRunner, sqlite_db: str, lang: str, expected: str
) -> None:
    """Nothing close to suggest (an officer typed the region's code): the error shows two names
    as the data writes them, in the user's language, instead of 'did you mean: -'."""
    option, value = ("--region", "51.08") if lang == "en" else ("--province", "51")
    result = runner.invoke(
        cli, ["--lang", lang, "--db", sqlite_db, "coop", "import", option, value]
    )
    assert result.exit_code == 2, result.output + result.stderr
    assert result.stderr.splitlines() == [expected]


@pytest.mark.parametrize(
    "args",
    [(), ("--region", "Kabupaten Buleleng", "--province", "Bali")],
    ids=["none", "two-sources"],
)
def test_import_needs_exactly_one_source(
    runner: CliRunner, sqlite_db: str, args: tuple[str, ...]
) -> None:
    line = error_line(run(runner, sqlite_db, "coop", "import", *args))
    assert "give exactly one of FILE.csv, --region, --province or --all" in line


# --- import from a CSV file -------------------------------------------------------------------


def write_csv(tmp_path: Path, body: str, header: str = CSV_HEADER) -> str:
    path = tmp_path / "desa.csv"
    path.write_text(header + body, encoding="utf-8")
    return str(path)


GOOD_CSV = (
    "51.08.01.2001,Banjar,Banjar,Kabupaten Buleleng,Bali,81152,\n"
    "51.08.01.2002,Dencarik,Banjar,Kabupaten Buleleng,Bali,,\n"
    # two small villages sharing one cooperative
    "51.08.02.2003,Kecil Satu,Sukasada,Kabupaten Buleleng,Bali,,KDMP-GABUNG-1\n"
    "51.08.02.2004,Kecil Dua,Sukasada,Kabupaten Buleleng,Bali,,KDMP-GABUNG-1\n"
)


def test_import_csv_once(runner: CliRunner, url: str, tmp_path: Path) -> None:
    """A district's own list: one cooperative per coop_id, villages listed; re-run adds none."""
    path = write_csv(tmp_path, GOOD_CSV)
    assert imported(run(runner, url, "coop", "import", path, "--json")) == (3, 0)
    assert imported(run(runner, url, "coop", "import", path, "--json")) == (0, 3)
    assert len(db_state(url)["coop_village"]) == 4
    shown = json.loads(ok(run(runner, url, "coop", "show", "KDMP-GABUNG-1", "--json")).stdout)
    assert sorted(v["name"] for v in shown["villages"]) == ["Kecil Dua", "Kecil Satu"]
    listed = json.loads(ok(run(runner, url, "coop", "list", "--json")).stdout)
    assert sorted(r["id"] for r in listed) == [
        "KDMP-5108012001",
        "KDMP-5108012002",
        "KDMP-GABUNG-1",
    ]
    # Either of its villages finds the shared cooperative.
    nxt = json.loads(ok(run(runner, url, "next", "Kecil Dua", "--json")).stdout)
    assert nxt["coop"] == "KDMP-GABUNG-1"


def test_import_csv_ids_are_found_in_any_case(
    runner: CliRunner, sqlite_db: str, tmp_path: Path
) -> None:
    """A lower-case coop_id is stored upper-case: ids are looked up case-insensitively."""
    path = write_csv(tmp_path, "51.08.01.2001,Banjar,Banjar,Kabupaten Buleleng,Bali,,kdmp-banjar\n")
    assert imported(run(runner, sqlite_db, "coop", "import", path, "--json")) == (1, 0)
    for ref in ("kdmp-banjar", "KDMP-BANJAR"):
        shown = json.loads(ok(run(runner, sqlite_db, "coop", "show", ref, "--json")).stdout)
        assert shown["coop"]["id"] == "KDMP-BANJAR"


@pytest.mark.parametrize(
    ("header", "body", "expected"),
    [
        (
            "region_code,village,kabupaten,provinsi\n",
            "51.08.01.2001,Banjar,Kabupaten Buleleng,Bali\n",
            "missing column(s) kecamatan; expected region_code, village, kecamatan",
        ),
        (
            CSV_HEADER,
            "51.08.01.2001,Banjar,Banjar,Kabupaten Buleleng,Bali,,\n"
            "51.08.01.201,Dencarik,Banjar,Kabupaten Buleleng,Bali,,\n",
            ":3: region_code '51.08.01.201' is not a village code like 51.08.01.2001",
        ),
        (
            CSV_HEADER,
            "51.08.01.4001,Banjar,Banjar,Kabupaten Buleleng,Bali,,\n",
            ":2: region_code '51.08.01.4001' is not a village code",
        ),
        (
            CSV_HEADER,
            "51.08.01.2001,Banjar,,Kabupaten Buleleng,Bali,,\n",
            ":2: column kecamatan is empty",
        ),
        (
            CSV_HEADER,
            "51.08.01.2001,Banjar,Banjar,Kabupaten Buleleng,Bali,,\n"
            "51.08.01.2001,Banjar Lagi,Banjar,Kabupaten Buleleng,Bali,,\n",
            ":3: region_code 51.08.01.2001 is already on line 2",
        ),
        (
            CSV_HEADER,
            "51.08.01.2001,Banjar,Banjar,Kabupaten Buleleng,Bali,,KDMP BANJAR/1\n",
            ":2: coop_id 'KDMP BANJAR/1' must be 1 to 32 letters",
        ),
        (
            CSV_HEADER,
            "51.08.01.2001,Banjar,Banjar,Kabupaten Buleleng,Bali,," + "K" * 33 + "\n",
            ":2: coop_id 'KKKK",
        ),
    ],
    ids=[
        "missing-column",
        "bad-code-on-line-3",
        "not-desa-or-kelurahan",
        "empty-kecamatan",
        "village-twice",
        "coop-id-characters",
        "coop-id-too-long",
    ],
)
def test_import_csv_errors_write_nothing(
    runner: CliRunner, sqlite_db: str, tmp_path: Path, header: str, body: str, expected: str
) -> None:
    """Issue #2: the documented columns are checked; one line names the problem."""
    path = write_csv(tmp_path, body, header)
    before = db_state(sqlite_db)
    line = error_line(run(runner, sqlite_db, "coop", "import", path))
    assert expected in line and "desa.csv" in line
    assert db_state(sqlite_db) == before


def test_import_csv_unreadable(runner: CliRunner, sqlite_db: str) -> None:
    line = error_line(run(runner, sqlite_db, "coop", "import", "missing.csv"))
    assert "cannot read missing.csv" in line


# --- list and show ----------------------------------------------------------------------------


@pytest.fixture
def buleleng(runner: CliRunner, url: str) -> str:
    ok(run(runner, url, "coop", "import", "--region", "Kabupaten Buleleng"))
    return url


def test_list_filters(runner: CliRunner, buleleng: str) -> None:
    rows = json.loads(ok(run(runner, buleleng, "coop", "list", "--json")).stdout)
    assert len(rows) == 148
    banjar = json.loads(
        ok(run(runner, buleleng, "coop", "list", "--kecamatan", "Banjar", "--json")).stdout
    )
    assert banjar and all(r["kecamatan"] == "Banjar" for r in banjar)
    assert len(banjar) < 148
    limited = json.loads(ok(run(runner, buleleng, "coop", "list", "--limit", "5", "--json")).stdout)
    assert len(limited) == 5
    legal = json.loads(
        ok(run(runner, buleleng, "coop", "list", "--stage", "legal", "--json")).stdout
    )
    assert legal == []
    table = ok(run(runner, buleleng, "coop", "list", "--limit", "3")).stdout
    assert "3 cooperatives" in table and "KDMP-" in table
    line = error_line(run(runner, buleleng, "coop", "list", "--stage", "legl"))
    assert "unknown stage 'legl'; did you mean: legal" in line  # issue #12: the nearest
    # another case is the same kecamatan (issue #12); a misspelling gets the nearest
    assert (
        "17 cooperatives"
        in ok(run(runner, buleleng, "coop", "list", "--kecamatan", "banjar")).stdout
    )
    line = error_line(run(runner, buleleng, "coop", "list", "--kecamatan", "banjr"))
    assert "unknown kecamatan 'banjr'; did you mean: Banjar" in line
    line = error_line(run(runner, buleleng, "coop", "list", "--region", "Kabupaten Bulelen"))
    assert "did you mean: Kabupaten Buleleng" in line


def test_show_by_unambiguous_village_name(runner: CliRunner, buleleng: str) -> None:
    """Issue #2: COOP is the id or an unambiguous village name."""
    by_name = json.loads(ok(run(runner, buleleng, "coop", "show", "Dencarik", "--json")).stdout)
    by_id = json.loads(
        ok(run(runner, buleleng, "coop", "show", by_name["coop"]["id"], "--json")).stdout
    )
    assert by_name == by_id
    assert by_name["coop"]["village"] == "Dencarik"
    assert by_name["coop"]["stage"] == "formation"
    assert by_name["next"]["open_steps"] == ["socialisation"]
    missing = [s["step"] for s in by_name["steps"] if s["required"] and not s["done"]]
    assert missing[:2] == ["socialisation", "musdesus"]
    text = ok(run(runner, buleleng, "coop", "show", "Dencarik")).stdout
    assert "Dencarik" in text and "Formation" in text and "missing" in text
    line = error_line(run(runner, buleleng, "coop", "show", "Atlantis"))
    assert "no cooperative Atlantis" in line


def test_ambiguous_village_name_lists_the_candidates(runner: CliRunner, buleleng: str) -> None:
    """Kayuputih is a desa in Kec. Banjar and in Kec. Sukasada of Buleleng."""
    for command in (("coop", "show"), ("next",), ("advance",)):
        line = error_line(run(runner, buleleng, *command, "Kayuputih"))
        assert "Kayuputih names 2 cooperatives; use an id:" in line
        assert "Kec. Banjar" in line and "Kec. Sukasada" in line
        assert line.count("KDMP-") == 2


def test_commands_before_init_say_what_to_do(runner: CliRunner, sqlite_url: str) -> None:
    # no file yet: the read says so, and creates none (issue #14)
    line = error_line(run(runner, sqlite_url, "coop", "list"))
    assert "does not exist" in line and "'kopflow init'" in line
    assert not os.path.exists(sqlite_url)
    # a file that is no kopflow database (an empty one, as older versions left behind)
    open(sqlite_url, "wb").close()
    line = error_line(run(runner, sqlite_url, "coop", "list"))
    assert "run 'kopflow init' first" in line
