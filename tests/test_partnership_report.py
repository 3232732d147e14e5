"""The Kemitraan section of the district report, checked in headless Chromium like the rest of
the report, and the CSV/XLSX exports an office hands to the province (issue #16).

One Buleleng database with a forum, attendance and leads is built for the module and only read.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

REGION = "Kabupaten Buleleng"
FORUM = "rakor-buleleng-2025"


def kopflow(db: str, *args: str, code: int = 0) -> Any:
    from kopflow.cli import cli

    result = CliRunner().invoke(cli, ["--db", db, *args])
    assert result.exit_code == code, result.output + str(result.exception)
    return result


@pytest.fixture(scope="module")
def rakor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database: Buleleng, the rakor with 20 attending, six leads, two agreements."""
    folder = tmp_path_factory.mktemp("rakor")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("KOPFLOW_DB", "KOPFLOW_ACTOR", "KOPFLOW_PLUGINS", "KOPFLOW_DISABLE_PLUGINS"):
            mp.delenv(var, raising=False)
        mp.setenv("KOPFLOW_LANG", "en")
        mp.setenv("KOPFLOW_LOG", str(folder / "kopflow.log"))
        db = str(folder / "kopflow.db")
        kopflow(db, "init")
        kopflow(db, "coop", "import", "--region", REGION)
        kopflow(db, "partner", "seed")
        kopflow(db, "forum", "create", FORUM, "--name", "Rakor Kemitraan", "--kind", "rakor",
                "--date", "2025-10-22", "--until", "2025-10-23", "--region", REGION,
                "--invite", "bulog", "--invite", "pertamina")  # fmt: skip
        coops = [c["id"] for c in json.loads(kopflow(db, "coop", "list", "--json").stdout)][:20]
        sheet = folder / "hadir.csv"
        with sheet.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Koperasi", "Nama", "Jabatan"])  # the Indonesian headers
            writer.writerow([coops[0], '=HYPERLINK("http://x")', "Ketua"])
            for coop in coops[1:]:
                writer.writerow([coop, "Ni Luh", "pengurus"])
        kopflow(db, "forum", "attend", FORUM, "--from-file", str(sheet))
        for coop in coops[:4]:
            kopflow(db, "lead", "add", coop, "bulog", "beras-sphp", "--forum", FORUM)
        for coop in coops[4:6]:
            kopflow(db, "lead", "add", coop, "pertamina", "lpg-3kg", "--quantity", "200",
                    "--forum", FORUM)  # fmt: skip
        leads = json.loads(kopflow(db, "lead", "list", "--json").stdout)
        for lead in leads[:2]:
            kopflow(db, "lead", "advance", lead["id"], "agreement", "--number", "PKS/1",
                    "--date", "2025-11-10")  # fmt: skip
        yield db
    from kopflow.store import db as kdb

    kdb.dispose_engines()


def test_kemitraan_numbers_in_the_page(rakor: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    kopflow(rakor, "report", "--region", REGION, "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert '<section id="kemitraan">' in page and 'id="kemitraan-chart"' in page
    assert f'data-forum="{FORUM}" data-attended="20"' in page
    assert 'data-partner-leads="bulog"' in page and 'data-partner-leads="pertamina"' in page
    summary = "6 leads with partners, 2 agreements signed; 2 cooperatives"
    assert summary in page
    in_id = tmp_path / "laporan.html"
    kopflow(rakor, "--lang", "id", "report", "--region", REGION, "--out", str(in_id))
    assert "<h2>Kemitraan</h2>" in in_id.read_text(encoding="utf-8")


def test_kemitraan_in_headless_chromium(rakor: str, tmp_path: Path) -> None:
    from kopflow.report.chromium import find_chromium

    chromium = find_chromium()
    if chromium is None:
        import os

        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (.ci/run installs Debian's chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    from _cdp import Browser

    out = tmp_path / "report.html"
    kopflow(rakor, "report", "--region", REGION, "--out", str(out))
    with Browser(chromium) as browser:
        browser.open(out)
        assert browser.console_errors() == []
        assert browser.requested_urls() == [out.resolve().as_uri()]
        box = browser.evaluate(
            "(() => { const r = document.querySelector('#kemitraan-chart')"
            ".getBoundingClientRect(); return [r.width, r.height]; })()"
        )
        assert box[0] > 300 and box[1] > 50, box
        forums = browser.evaluate(
            "[...document.querySelectorAll('#kemitraan-forums tr[data-forum]')]"
            ".map(r => [r.dataset.forum, Number(r.dataset.attended)])"
        )
        assert forums == [[FORUM, 20]]
        partners = browser.evaluate(
            "[...document.querySelectorAll('#kemitraan-partners tr[data-partner-leads]')]"
            ".map(r => r.dataset.partnerLeads)"
        )
        assert partners == ["bulog", "pertamina"]


def test_exports_are_formula_safe(rakor: str, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    shown = json.loads(kopflow(rakor, "forum", "show", FORUM, "--json").stdout)
    assert (shown["attended"], shown["leads"], shown["agreements"]) == (20, 6, 2)
    assert shown["agreements_within"] == {"30": 2, "60": 2, "90": 2}
    for suffix in ("csv", "xlsx"):
        out = tmp_path / f"forum.{suffix}"
        result = kopflow(rakor, "forum", "show", FORUM, "--export", str(out))
        assert "(20 rows)" in result.stdout
        if suffix == "csv":
            with out.open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.reader(handle))
        else:
            book = load_workbook(out)
            rows = [[c for c in row] for row in book.worksheets[0].iter_rows(values_only=True)]
        reps = {row[4] for row in rows[1:]}
        assert '\'=HYPERLINK("http://x")' in reps and '=HYPERLINK("http://x")' not in reps
    out = tmp_path / "leads.xlsx"
    kopflow(rakor, "lead", "list", "--export", str(out))
    book = load_workbook(out)
    assert book.worksheets[0].max_row == 7  # header and six leads
    # As every output (issue #14): an existing file is replaced only with --force.
    again = kopflow(rakor, "lead", "list", "--export", str(out), code=2)
    assert "exists already" in again.stderr
    kopflow(rakor, "lead", "list", "--state", "agreement", "--export", str(out), "--force")
    assert load_workbook(out).worksheets[0].max_row == 3
