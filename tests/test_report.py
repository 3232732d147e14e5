"""The district report, the deadlines it shows and the cooperative page (issue #6).

One demo database (Kabupaten Buleleng, as ``kopflow demo`` leaves it) is built per module and
only read afterwards. The Chromium test drives the browser through the DevTools protocol
(``tests/_cdp.py``); it is skipped where no Chromium is installed, except in CI, which installs
one (``.ci/run``).
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

REGION = "Kabupaten Buleleng"
HEADERS = {"title", "h1", "h2", "h3", "th", "figcaption"}


def kopflow(db: str, *args: str, ok: bool = True) -> Any:
    """Run the CLI in-process; returns the click result."""
    from kopflow.cli import cli

    result = CliRunner().invoke(cli, ["--db", db, *args])
    if ok:
        assert result.exit_code == 0, result.output + str(result.exception)
    return result


def build_demo(db: str) -> date:
    """Run the demo into ``db``; returns the day its cooperatives entered their stages."""
    kopflow(db, "demo")
    rows = json.loads(kopflow(db, "coop", "list", "--json", "--limit", "1").stdout)
    return date.fromisoformat(rows[0]["stage_since"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, date]]:
    """(database, demo day) of a Buleleng demo, built once for the module's read-only tests."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("KOPFLOW_DB", "KOPFLOW_ACTOR", "KOPFLOW_PLUGINS", "KOPFLOW_DISABLE_PLUGINS"):
            mp.delenv(var, raising=False)
        mp.setenv("KOPFLOW_LANG", "en")
        mp.setenv("KOPFLOW_LOG", str(folder / "kopflow.log"))
        db = str(folder / "kopflow.db")
        day = build_demo(db)
    yield db, day
    from kopflow.store import db as kdb

    kdb.dispose_engines()


def report(db: str, out: Path, *args: str) -> str:
    kopflow(db, "report", "--region", REGION, "--out", str(out), *args)
    return out.read_text(encoding="utf-8")


class _Page(HTMLParser):
    """Headers, visible text and row attributes of a page, in document order."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.text: list[str] = []
        self.rows: list[dict[str, str | None]] = []
        self.lang: str | None = None
        self._open: list[str] = []
        self._header: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag == "tr":
            self.rows.append(dict(attrs))
        if tag in HEADERS:
            self._header = []
        self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in HEADERS and self._header is not None:
            self.headers.append(" ".join("".join(self._header).split()))
            self._header = None
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if "style" in self._open:
            return
        self.text.append(data)
        if self._header is not None:
            self._header.append(data)


def overdue_ids(page: str) -> list[str]:
    return [r["data-coop"] or "" for r in _Page(page).rows if "data-coop" in r]


def stage_counts(page: str) -> dict[str, int]:
    return {
        r["data-stage"] or "": int(r["data-count"] or 0)
        for r in _Page(page).rows
        if "data-count" in r
    }


# --- deadlines ---------------------------------------------------------------------------


def test_overdue_a_week_past_each_deadline(demo: tuple[str, date], tmp_path: Path) -> None:
    """A week past a stage's SLA, exactly the cooperatives still in a stage whose deadline has
    passed are overdue, in the report, in ``coop list --overdue`` and in ``status``."""
    from kopflow.flow.spec import find_workflow

    db, day = demo
    wf = find_workflow("kdkmp")
    in_stage = {
        s.id: {
            r["id"]
            for r in json.loads(kopflow(db, "coop", "list", "--stage", s.id, "--json").stdout)
        }
        for s in wf.stages
    }
    shortest = min((s for s in wf.stages if s.sla_days), key=lambda s: s.sla_days or 0)
    for stage in [s for s in wf.stages if s.sla_days]:
        as_of = (day + timedelta(days=(stage.sla_days or 0) + 7)).isoformat()
        late_stages = [s.id for s in wf.stages if s.sla_days and s.sla_days < stage.sla_days + 7]
        expected = set().union(*(in_stage[s] for s in late_stages))
        page = report(db, tmp_path / f"{stage.id}.html", "--as-of", as_of)
        listed = json.loads(
            kopflow(db, "coop", "list", "--overdue", "--as-of", as_of, "--json").stdout
        )
        status = json.loads(kopflow(db, "status", "--as-of", as_of, "--json").stdout)
        assert set(overdue_ids(page)) == expected == {r["id"] for r in listed}
        assert sum(r["overdue"] for r in status) == len(expected)
        if stage.id == shortest.id:
            assert set(overdue_ids(page)) == in_stage[stage.id] != set()
            days = {r["id"]: r["days_overdue"] for r in listed}
            assert set(days.values()) == {7}


def test_due_on_the_deadline_late_the_day_after(demo: tuple[str, date]) -> None:
    """On the deadline day a cooperative is due, not overdue; the next day it is 1 day over."""
    db, day = demo
    legal = json.loads(kopflow(db, "coop", "list", "--stage", "legal", "--json").stdout)
    on_day = (day + timedelta(days=45)).isoformat()
    after = (day + timedelta(days=46)).isoformat()
    assert (
        json.loads(kopflow(db, "coop", "list", "--overdue", "--as-of", on_day, "--json").stdout)
        == []
    )
    late = json.loads(kopflow(db, "coop", "list", "--overdue", "--as-of", after, "--json").stdout)
    assert {r["id"] for r in late} == {r["id"] for r in legal}
    assert {r["days_overdue"] for r in late} == {1}


# --- the report ---------------------------------------------------------------------------


def test_report_counts_equal_status(db_url: str, tmp_path: Path) -> None:
    """On both backends, the stage counts on the page are those of ``kopflow status --json``."""
    build_demo(db_url)
    page = report(db_url, tmp_path / "r.html")
    status = json.loads(kopflow(db_url, "status", "--region", REGION, "--json").stdout)
    counts = stage_counts(page)
    assert {k: v for k, v in counts.items() if v} == {r["stage"]: r["count"] for r in status}
    assert sum(counts.values()) == 148


def test_languages_differ_in_every_header(demo: tuple[str, date], tmp_path: Path) -> None:
    """``--lang`` switches every header, and the Indonesian page shows no English msgid."""
    db, day = demo
    as_of = (day + timedelta(days=52)).isoformat()
    pages = {
        lang: _Page(report(db, tmp_path / f"{lang}.html", "--lang", lang, "--as-of", as_of))
        for lang in ("id", "en")
    }
    assert (pages["id"].lang, pages["en"].lang) == ("id", "en")
    assert len(pages["id"].headers) == len(pages["en"].headers) > 20
    same = [(i, e) for i, e in zip(pages["id"].headers, pages["en"].headers, strict=True) if i == e]
    assert not same
    visible = " ".join(" ".join(pages["id"].text).split())
    assert not untranslated(visible)
    assert untranslated("Stage funnel; Cooperatives per stage")  # the check itself sees English


def untranslated(visible: str) -> list[str]:
    """English msgids of the report's modules whose words appear on an Indonesian page."""
    from i18n_helpers import ROOT, extract, translations

    found = []
    for msgid in extract(ROOT / "kopflow" / "report"):
        indonesian = translations().get(msgid.text, "")
        if indonesian == msgid.text:
            continue
        for chunk in re.split(r"\{[^}]*\}", msgid.text):
            chunk = chunk.strip(" .:,()")
            whole = re.compile(r"\b" + re.escape(chunk) + r"\b")
            if len(chunk) >= 4 and not whole.search(indonesian) and whole.search(visible):
                found.append(f"{msgid.where}: {chunk!r}")
    return found


def test_report_defaults_to_indonesian(
    demo: tuple[str, date], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The system locale does not choose the report's language; KOPFLOW_LANG and --lang do."""
    db, _day = demo
    monkeypatch.delenv("KOPFLOW_LANG")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert _Page(report(db, tmp_path / "a.html")).lang == "id"
    kopflow(db, "--lang", "en", "report", "--region", REGION, "--out", str(tmp_path / "b.html"))
    assert _Page((tmp_path / "b.html").read_text()).lang == "en"
    monkeypatch.setenv("KOPFLOW_LANG", "en")
    assert _Page(report(db, tmp_path / "c.html")).lang == "en"


def test_charts_are_well_formed_svg(demo: tuple[str, date], tmp_path: Path) -> None:
    """Every inline chart parses as XML; the diagram has every edge of the machine."""
    from kopflow.flow.diagram import edges
    from kopflow.flow.spec import find_workflow

    page = report(demo[0], tmp_path / "r.html")
    svgs = [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", page, flags=re.S)]
    ids = {s.get("id") for s in svgs}
    assert {"funnel-chart", "kecamatan-chart", "workflow-diagram"} <= ids
    diagram = next(s for s in svgs if s.get("id") == "workflow-diagram")
    drawn = {
        (g.get("data-from"), g.get("data-to"), g.get("data-event"))
        for g in diagram.iter()
        if g.get("data-event")
    }
    assert drawn == set(edges(find_workflow("kdkmp")))
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<script" not in page


def test_svg_escapes_text() -> None:
    from kopflow.report.svg import FunnelStep, Segment, funnel, stacked_bars

    nasty = 'A <b>&"x"'
    ET.fromstring(funnel([FunnelStep("s", nasty, 3, nasty)], nasty))
    ET.fromstring(stacked_bars([(nasty, {"s": 2})], [Segment("s", nasty, "#000")], nasty))


def test_audit_status_and_checkpoint(demo: tuple[str, date], tmp_path: Path) -> None:
    """The audit section names the verified head, and compares a signed checkpoint."""
    from kopflow.audit.chain import read_head
    from kopflow.audit.checkpoint import Checkpoint, generate_keypair, load_signer, sign_checkpoint
    from kopflow.store.db import read_connection

    db = demo[0]
    with read_connection(f"sqlite:///{db}") as conn:
        head = read_head(conn)
    page = report(db, tmp_path / "plain.html")
    assert f"verifies up to event {head.seq}" in page
    assert "No checkpoint recorded." in page
    generate_keypair(tmp_path / "k.key", tmp_path / "k.pub", "kopflow.test/buleleng")
    signer = load_signer(tmp_path / "k.key")
    moment = "2026-01-01T00:00:00Z"
    notes = {
        "good": Checkpoint(head.log_id, head.seq, head.hash, moment),
        "rewritten": Checkpoint(head.log_id, head.seq, "0" * 64, moment),
        "cut": Checkpoint(head.log_id, head.seq + 5, "1" * 64, moment),
        "foreign": Checkpoint("kopflow/another-log", head.seq, head.hash, moment),
    }
    pages = {}
    for name, cp in notes.items():
        (tmp_path / f"{name}.note").write_text(sign_checkpoint(cp, signer))
        args = ("--checkpoint", str(tmp_path / f"{name}.note"), "--key", str(tmp_path / "k.pub"))
        out = tmp_path / f"{name}.html"
        result = kopflow(db, "report", "--region", REGION, "--out", str(out), *args, ok=False)
        pages[name] = (result, out.read_text() if out.exists() else "")
    assert "matches the stored chain" in pages["good"][1]
    assert "does NOT match" in pages["rewritten"][1]
    assert "does NOT match" in pages["cut"][1] and f"event {head.seq + 5}" in pages["cut"][1]
    assert f"verifies up to event {head.seq}" in pages["cut"][1]  # the chain itself is whole
    assert pages["foreign"][0].exit_code == 7 and "another-log" in pages["foreign"][0].stderr
    alone = kopflow(
        db,
        "report",
        "--region",
        REGION,
        "--out",
        "x.html",
        "--key",
        str(tmp_path / "k.pub"),
        ok=False,
    )
    assert alone.exit_code == 2 and "--checkpoint and --key go together" in alone.stderr


def test_unknown_region_is_one_error_line(demo: tuple[str, date], tmp_path: Path) -> None:
    result = kopflow(
        demo[0],
        "report",
        "--region",
        "Kabupaten Entah",
        "--out",
        str(tmp_path / "x.html"),
        ok=False,
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Kabupaten Entah" in result.stderr
    assert not (tmp_path / "x.html").exists()


def test_coop_show_html_has_every_change(demo: tuple[str, date], tmp_path: Path) -> None:
    """``coop show --html``: one row per step version and transition, with actor and hash."""
    db = demo[0]
    operating = json.loads(kopflow(db, "coop", "list", "--stage", "operating", "--json").stdout)[0][
        "id"
    ]
    data = json.loads(kopflow(db, "coop", "show", operating, "--json").stdout)
    kopflow(db, "coop", "show", operating, "--html", str(tmp_path / "c.html"))
    page = (tmp_path / "c.html").read_text()
    rows = [r for r in _Page(page).rows if "data-seq" in r]
    assert [int(r["data-seq"] or 0) for r in rows] == [e["audit_seq"] for e in data["timeline"]]
    assert {r["data-kind"] for r in rows} >= {"step", "transition", "enrollment"}
    assert "Rp 1.000.000" in page or "Rp " in page
    assert re.search(r'class="mono" title="[0-9a-f]{64}"', page)


# --- in the browser -----------------------------------------------------------------------


@pytest.fixture
def chromium() -> str:
    from kopflow.report.chromium import find_chromium

    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (.ci/run installs Debian's chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    return found


def test_report_in_headless_chromium(demo: tuple[str, date], tmp_path: Path, chromium: str) -> None:
    """Issue #6 acceptance: the Buleleng report opens with no console error and no request,
    shows the funnel and the overdue table, and its stage counts equal ``status --json``."""
    from _cdp import Browser

    db, day = demo
    as_of = (day + timedelta(days=52)).isoformat()
    pages = {
        "report": tmp_path / "report.html",
        "report_en": tmp_path / "report_en.html",
        "coop": tmp_path / "coop.html",
    }
    report(db, pages["report"], "--as-of", as_of)
    report(db, pages["report_en"], "--as-of", as_of, "--lang", "en")
    kopflow(db, "coop", "show", "Banjar", "--html", str(pages["coop"]))
    status = json.loads(kopflow(db, "status", "--region", REGION, "--json").stdout)
    with Browser(chromium) as browser:
        for name, path in pages.items():
            browser.open(path)
            assert browser.console_errors() == [], name
            assert browser.requested_urls() == [path.resolve().as_uri()], name
            if name != "report":
                continue
            shown = browser.evaluate(
                "Object.fromEntries([...document.querySelectorAll('#stage-table tr[data-stage]')]"
                ".map(r => [r.dataset.stage, Number(r.dataset.count)]))"
            )
            assert {k: v for k, v in shown.items() if v} == {r["stage"]: r["count"] for r in status}
            boxes = browser.evaluate(
                "['#funnel-chart', '#overdue-table'].map(s => {"
                "const r = document.querySelector(s).getBoundingClientRect();"
                "return [r.width, r.height, r.top + window.scrollY]; })"
            )
            assert all(w > 300 and h > 100 for w, h, _top in boxes), boxes
            bars = browser.evaluate(
                "document.querySelectorAll('#funnel-chart .funnel-step').length"
            )
            late = browser.evaluate(
                "document.querySelectorAll('#overdue-table tr[data-coop]').length"
            )
            assert bars == 5 and late == 6
            png = browser.screenshot(tmp_path / "report.png")
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
            assert width == 1280 and height > max(top + h for _w, h, top in boxes)


def test_report_as_pdf(demo: tuple[str, date], tmp_path: Path, chromium: str) -> None:
    kopflow(
        demo[0], "report", "--region", REGION, "--out", str(tmp_path / "r.pdf"), "--format", "pdf"
    )
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
