"""``kopflow forum``, ``lead`` and ``partner add/cap/show`` as an office uses them (issue #16):
in both languages, from an XLSX sheet, for a kabupaten or kecamatan at once, as a subprocess.
The numbers on bigger districts are in ``tests/test_partnership.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kopflow.testing import SAMPLE_KABUPATEN, KopflowRunner


def as_json(result: Any) -> Any:
    return json.loads(result.stdout)


@pytest.fixture
def seribu(cli_runner: KopflowRunner) -> list[dict[str, Any]]:
    """Kepulauan Seribu's 6 cooperatives, the partner directory and a forum of the kabupaten."""
    cli_runner("coop", "import", "--region", SAMPLE_KABUPATEN)
    cli_runner("partner", "seed")
    cli_runner("forum", "create", "bm-seribu", "--name", "Business Matching", "--kind",
               "business-matching", "--date", "2025-10-08", "--region", "Kepulauan Seribu")  # fmt: skip
    return list(as_json(cli_runner("coop", "list", "--json")))


def test_attend_a_kecamatan_then_the_kabupaten(
    cli_runner: KopflowRunner, seribu: list[Any]
) -> None:
    kecamatan = seribu[0]["kecamatan"]
    in_kec = sum(1 for c in seribu if c["kecamatan"] == kecamatan)
    first = cli_runner("forum", "attend", "bm-seribu", "--kecamatan", kecamatan)
    assert f"{in_kec} recorded, 0 refused" in first.stdout
    rest = cli_runner("forum", "attend", "bm-seribu", "--all", "--json")
    assert as_json(rest)["cooperatives"] == {"done": 6, "refused": 0}
    shown = as_json(cli_runner("forum", "show", "bm-seribu", "--json"))
    assert (shown["attended"], shown["region_coops"], shown["attendance_rate"]) == (6, 6, 1.0)
    events = [
        e for e in as_json(cli_runner("audit", "log", "--json")) if e["action"] == "forum.attended"
    ]
    assert len(events) == 6  # the second run recorded only the cooperatives not yet there


def test_attendance_sheet_as_xlsx(
    cli_runner: KopflowRunner, seribu: list[Any], tmp_path: Path
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Desa", "Nama", "Jabatan"])
    sheet.append([seribu[0]["village"], "Pak Ahmad", "Ketua"])
    sheet.append([None, None, None])  # a blank row is skipped
    sheet.append([seribu[1]["id"], "Bu Sari", "pengawas"])
    path = tmp_path / "hadir.xlsx"
    book.save(path)
    cli_runner("forum", "attend", "bm-seribu", "--from-file", str(path))
    attendees = as_json(cli_runner("forum", "show", "bm-seribu", "--json"))["attendees"]
    assert {(a["coop_id"], a["rep_name"], a["rep_role"]) for a in attendees} == {
        (seribu[0]["id"], "Pak Ahmad", "ketua"),
        (seribu[1]["id"], "Bu Sari", "pengawas"),
    }
    sheet.append(["Pulau Tidak Ada", "X", "bendahara"])
    book.save(path)
    refused = cli_runner("forum", "attend", "bm-seribu", "--from-file", str(path), expect=2)
    assert "row 5: unknown role 'bendahara'" in refused.stderr
    assert "row 5: no cooperative Pulau Tidak Ada" not in refused.stderr  # one problem per row


def test_in_indonesian(cli_runner: KopflowRunner, seribu: list[Any]) -> None:
    cli_runner.lang = "id"
    coop = seribu[0]["id"]
    refused = cli_runner("lead", "add", coop, "pertamina", "lpg-3kg", "--quantity", "201", expect=3)
    assert refused.stderr == (
        f"Galat: 201 tabung lpg-3kg per bulan melebihi batas pertamina sebesar 200 tabung per "
        f"bulan per koperasi di {SAMPLE_KABUPATEN}\n"
    )
    cli_runner("lead", "add", coop, "Perum Bulog", "beras-sphp")
    lead = as_json(cli_runner("lead", "list", "--json"))[0]["id"]
    missing = cli_runner("lead", "advance", lead, "agreement", "--number", "PKS/1", expect=2)
    assert missing.stderr == "Galat: perjanjian memerlukan nomor dan tanggalnya: tambahkan --date\n"
    listed = cli_runner("partner", "list").stdout
    assert "plugin + direktori" in listed and "direktori" in listed
    help_text = cli_runner("forum", "attend", "--help").stdout
    assert "daftar hadir" in help_text


def test_partner_add_cap_and_show(cli_runner: KopflowRunner, seribu: list[Any]) -> None:
    cli_runner("partner", "add", "bumdes-seribu", "--name", "BUMD Pangan Seribu", "--kind", "bumd",
               "--office", "Pulau Pramuka", "--offer", "ikan:kg:500", "--offer", "beras:kg")  # fmt: skip
    again = cli_runner("partner", "add", "bumdes-seribu", "--name", "X", "--kind", "bumd", expect=2)
    assert "already in the directory" in again.stderr
    cli_runner("partner", "cap", "bumdes-seribu", "ikan", "300", "--region", "Kepulauan Seribu")
    refused = cli_runner("lead", "add", seribu[0]["id"], "bumdes-seribu", "ikan", "--quantity", "400",
                         expect=3)  # fmt: skip
    assert "cap of 300 kg" in refused.stderr
    cli_runner("lead", "add", seribu[0]["id"], "bumdes-seribu", "ikan", "--quantity", "300")
    shown = as_json(cli_runner("partner", "show", "bumdes-seribu", "--json"))
    assert (shown["kind"], shown["in_directory"], shown["plugin"], shown["leads"]) == (
        "bumd",
        True,
        None,
        1,
    )
    caps = {(c["commodity"], c["kabupaten"]): c["cap"] for c in shown["caps"]}
    assert caps == {("ikan", None): 500, ("ikan", SAMPLE_KABUPATEN): 300}
    unknown = cli_runner("lead", "add", seribu[0]["id"], "bumdes-seribu", "gula", expect=2)
    assert "bumdes-seribu offers no gula; it offers: ikan, beras" in unknown.stderr


def test_coop_show_and_its_page(
    cli_runner: KopflowRunner, seribu: list[Any], tmp_path: Path
) -> None:
    coop = seribu[0]["id"]
    cli_runner(
        "forum", "attend", "bm-seribu", coop, "--rep-name", "Pak Ahmad", "--rep-role", "ketua"
    )
    cli_runner("lead", "add", coop, "bulog", "beras-sphp", "--forum", "bm-seribu")
    shown = cli_runner("coop", "show", coop).stdout
    assert "Forums attended: bm-seribu (2025-10-08)" in shown and "beras-sphp" in shown
    page = tmp_path / "coop.html"
    cli_runner("coop", "show", coop, "--html", str(page))
    text = page.read_text(encoding="utf-8")
    assert '<section id="kemitraan">' in text and "Pak Ahmad" in text and 'data-lead="L-' in text


def test_attendance_as_a_subprocess(
    cli_runner: KopflowRunner, seribu: list[Any], tmp_path: Path
) -> None:
    """The installed command, a fresh process: a dry run, then the run, then a bad sheet."""
    sheet = tmp_path / "hadir.csv"
    sheet.write_text("coop,name,role\n" + "".join(f"{c['id']},Wakil,ketua\n" for c in seribu),
                     encoding="utf-8")  # fmt: skip
    env = {**os.environ, "KOPFLOW_DB": cli_runner.db, "KOPFLOW_ACTOR": cli_runner.actor,
           "KOPFLOW_LANG": "en"}  # fmt: skip
    run = [
        sys.executable,
        "-m",
        "kopflow",
        "forum",
        "attend",
        "bm-seribu",
        "--from-file",
        str(sheet),
    ]
    dry = subprocess.run([*run, "--dry-run"], capture_output=True, text=True, env=env, timeout=120)
    assert dry.returncode == 0 and "6 recorded, 0 refused" in dry.stdout, dry.stderr
    real = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert real.returncode == 0 and "6 recorded" in real.stdout, real.stderr
    sheet.write_text("coop,name,role\nAtlantis,X,ketua\n", encoding="utf-8")
    bad = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("Error: ") and "row 2" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
