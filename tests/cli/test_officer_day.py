"""An officer's day in Kabupaten Buleleng (issue #12): names as people type them, an honest
``--as-of``, output that fits 80 columns, and sentences in the reader's language."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from clihelp import error_line, ok, run

BULELENG = "Kabupaten Buleleng"


@pytest.fixture(scope="module")
def _buleleng_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Buleleng's 148 cooperatives, Banjar moved to the legal stage, Sangsit with steps done,
    Penarukan in partner onboarding and enrolled with BRI."""
    from kopflow import regions
    from kopflow.engine import Kopflow
    from kopflow.flow.samples import sample_evidence

    path = tmp_path_factory.mktemp("buleleng") / "kopflow.db"
    engine = Kopflow(str(path), actor="officer")
    engine.init()
    engine.register(regions.seeds_from_areaid(kabupaten=BULELENG), source="test")
    wf = engine.workflow
    for step in wf.stage("formation").steps:
        if step.required:
            engine.complete_step("Banjar", step.id, sample_evidence(step, 1))
    engine.advance("Banjar")
    first = wf.stage("formation").steps[0]
    engine.complete_step("Sangsit", first.id, sample_evidence(first, 2))
    engine.complete_step("Sangsit", first.id, {"date": "2025-06-02"}, reason="date typed wrong")
    engine.complete_step("Gesing", first.id, {"date": "2025-06-03"})
    engine.undo_step("Gesing", first.id, reason="wrong village")
    # Partners enroll from the onboarding stage on (issue #13): Penarukan is driven there.
    for stage in ("formation", "legal", "consolidation"):
        for step in wf.stage(stage).steps:
            if step.required:
                engine.complete_step("Penarukan", step.id, sample_evidence(step, 5))
        engine.advance("Penarukan")
    engine.enroll("Penarukan", ["bri"])
    from kopflow.store import db

    db.dispose_engines()
    return path


@pytest.fixture
def buleleng(_buleleng_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A copy of the Buleleng database for one test, acting as the admin who made it."""
    path = tmp_path / "buleleng.db"
    shutil.copy(_buleleng_template, path)
    monkeypatch.setenv("KOPFLOW_ACTOR", "officer")
    return str(path)


def run_json(runner: CliRunner, url: str, *args: str) -> object:
    return json.loads(ok(run(runner, url, *args, "--json")).stdout)


# --- one name resolver (issue #12, point 6) -------------------------------------------------


def test_region_without_its_prefix_counts_the_kabupaten(runner: CliRunner, buleleng: str) -> None:
    """`status --region Buleleng` printed an empty table and exited 0."""
    rows = run_json(runner, buleleng, "status", "--region", "Buleleng")
    assert isinstance(rows, list)
    assert sum(r["count"] for r in rows) == 148
    assert run_json(runner, buleleng, "status", "--region", "kab. buleleng") == rows


def test_region_that_names_nothing_is_an_error_with_a_suggestion(
    runner: CliRunner, buleleng: str
) -> None:
    line = error_line(run(runner, buleleng, "status", "--region", "Bulelang"))
    assert "Bulelang" in line and "Kabupaten Buleleng" in line
    line = error_line(run(runner, buleleng, "coop", "list", "--region", "Bulelang"))
    assert "Kabupaten Buleleng" in line


def test_report_accepts_the_region_without_its_prefix(
    runner: CliRunner, buleleng: str, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    ok(run(runner, buleleng, "report", "--region", "Buleleng", "--out", str(out)))
    assert "Kabupaten Buleleng" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("stage", ["formation", "Pembentukan", "pembentukan", "Formation"])
def test_stage_by_id_or_label_in_either_language(
    runner: CliRunner, buleleng: str, stage: str
) -> None:
    rows = run_json(runner, buleleng, "coop", "list", "--stage", stage)
    assert isinstance(rows, list) and len(rows) == 146  # all but Banjar and Penarukan
    assert {r["stage"] for r in rows} == {"formation"}


def test_unknown_stage_suggests_the_nearest(runner: CliRunner, buleleng: str) -> None:
    line = error_line(run(runner, buleleng, "coop", "list", "--stage", "Pembentukann"))
    assert "formation" in line


@pytest.mark.parametrize("kecamatan", ["Sawan", "sawan", "Kecamatan Sawan", "kec. SAWAN"])
def test_kecamatan_in_any_case_with_or_without_its_prefix(
    runner: CliRunner, buleleng: str, kecamatan: str
) -> None:
    rows = run_json(runner, buleleng, "coop", "list", "--kecamatan", kecamatan)
    assert isinstance(rows, list) and len(rows) == 14
    assert {r["kecamatan"] for r in rows} == {"Sawan"}


def test_unknown_kecamatan_suggests_one_of_the_region(runner: CliRunner, buleleng: str) -> None:
    line = error_line(run(runner, buleleng, "coop", "list", "--kecamatan", "Kecamatan Sawn"))
    assert "Sawan" in line and ": -" not in line


def test_partner_code_in_any_case(runner: CliRunner, buleleng: str) -> None:
    """`partner enroll Sangsit BRI` was refused (Penarukan: partners enroll from onboarding)."""
    ok(run(runner, buleleng, "partner", "enroll", "Penarukan", "POS"))
    record = run_json(runner, buleleng, "coop", "show", "Penarukan")
    assert isinstance(record, dict) and record["partners"] == ["bri", "pos"]


def test_misspelt_village_gets_the_nearest_with_its_id(runner: CliRunner, buleleng: str) -> None:
    """`Sangsitt` got no suggestion."""
    sangsit = run_json(runner, buleleng, "next", "Sangsit")
    assert isinstance(sangsit, dict)
    line = error_line(run(runner, buleleng, "next", "Sangsitt"))
    assert "Sangsit" in line and sangsit["coop"] in line


def test_unknown_cooperative_hint_cites_an_id_of_this_database(
    runner: CliRunner, buleleng: str
) -> None:
    """The hint cited KDMP-050509, a cooperative of another kabupaten."""
    line = error_line(run(runner, buleleng, "next", "Qwxyz"))
    ids = {r["id"] for r in run_json(runner, buleleng, "coop", "list")}  # type: ignore[union-attr]
    cited = [word.strip("(),") for word in line.split() if word.startswith("KDMP-")]
    assert cited and all(c in ids for c in cited)


def test_step_by_its_label_and_village_in_any_case(runner: CliRunner, buleleng: str) -> None:
    ok(run(runner, buleleng, "step", "undo", "sangsit", "Sosialisasi di desa", "--reason", "typo"))
    nxt = run_json(runner, buleleng, "next", "SANGSIT")
    assert isinstance(nxt, dict) and "socialisation" in nxt["open_steps"]


# --- --as-of is honest (issue #12, point 8) -------------------------------------------------


@pytest.fixture
def dated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Buleleng imported on 1 March 2026; Banjar moved to the legal stage on 1 May 2026 and
    into registration on 1 September 2026 (the clock of every change is set, not waited for)."""
    from datetime import UTC, datetime

    import kopflow.pipeline.change as change_module
    from kopflow import regions
    from kopflow.engine import Kopflow
    from kopflow.flow.samples import sample_evidence

    clock = [datetime(2026, 3, 1, 9, 0, tzinfo=UTC)]

    class Clock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Clock:  # type: ignore[override]
            return clock[0]  # type: ignore[return-value]

    monkeypatch.setattr(change_module, "datetime", Clock)
    url = str(tmp_path / "dated.db")
    engine = Kopflow(url, actor="officer")
    engine.init()
    engine.register(regions.seeds_from_areaid(kabupaten=BULELENG), source="test")
    wf = engine.workflow
    for when, stage in (
        (datetime(2026, 5, 1, 9, tzinfo=UTC), "formation"),
        (datetime(2026, 9, 1, 9, tzinfo=UTC), "legal"),
    ):
        clock[0] = when
        for step in wf.stage(stage).steps:
            if step.required:
                engine.complete_step("Banjar", step.id, sample_evidence(step, 1))
        engine.advance("Banjar")
    monkeypatch.undo()
    monkeypatch.setenv("KOPFLOW_ACTOR", "officer")
    return url


def counts(runner: CliRunner, url: str, *args: str) -> dict[str, int]:
    rows = run_json(runner, url, "status", *args)
    assert isinstance(rows, list)
    return {r["stage"]: r["count"] for r in rows}


def test_as_of_before_the_import_counts_nothing(runner: CliRunner, dated: str) -> None:
    """`status --as-of 2026-01-01` showed all 148 in today's stages."""
    assert counts(runner, dated, "--as-of", "2026-02-28") == {}
    assert counts(runner, dated, "--as-of", "2026-03-01") == {"formation": 148}
    rows = run_json(runner, dated, "coop", "list", "--as-of", "2026-02-28")
    assert rows == []


def test_as_of_between_two_transitions_is_the_earlier_stage(runner: CliRunner, dated: str) -> None:
    assert counts(runner, dated, "--as-of", "2026-04-30") == {"formation": 148}
    assert counts(runner, dated, "--as-of", "2026-06-01") == {"formation": 147, "legal": 1}
    today = counts(runner, dated)
    assert today["formation"] == 147 and sum(today.values()) == 148 and "legal" not in today
    assert counts(runner, dated, "--as-of", "2026-09-01", "--region", "Buleleng") == today
    [banjar] = run_json(runner, dated, "coop", "list", "--as-of", "2026-06-01", "--stage", "legal")  # type: ignore[misc]
    assert banjar["village"] == "Banjar" and banjar["stage_since"] == "2026-05-01"
    assert banjar["days_in_stage"] == 31


def test_overdue_as_of_counts_days_from_the_stage_then(runner: CliRunner, dated: str) -> None:
    """Formation allows 60 days: at the end of 30 April 2026 no cooperative was past it; on
    1 May the 147 that Banjar left behind that morning were a day late."""
    assert run_json(runner, dated, "coop", "list", "--overdue", "--as-of", "2026-04-30") == []
    late = run_json(runner, dated, "coop", "list", "--overdue", "--as-of", "2026-05-01")
    assert isinstance(late, list) and len(late) == 147
    assert {r["days_overdue"] for r in late} == {1}
    late = run_json(runner, dated, "coop", "list", "--overdue", "--as-of", "2026-06-01")
    assert isinstance(late, list) and len(late) == 147
    assert "Banjar" not in {r["village"] for r in late}
    by_stage = run_json(runner, dated, "status", "--as-of", "2026-06-01")
    assert {r["stage"]: r["overdue"] for r in by_stage} == {"formation": 147, "legal": 0}  # type: ignore[union-attr]


def test_report_as_of_before_the_import_is_an_error(
    runner: CliRunner, dated: str, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    args = ("report", "--region", "Buleleng", "--as-of", "2026-01-01", "--out", str(out))
    result = run(runner, dated, *args)
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    line = result.stderr
    assert "2026-01-01" in line and not out.exists()


# --- 80 columns and up (issue #12, point 4) -------------------------------------------------

EVERYDAY = [
    ("coop", "list"),
    ("coop", "list", "--kecamatan", "Sawan"),
    ("coop", "show", "Banjar"),
    ("coop", "show", "Sangsit"),
    ("next", "Banjar"),
    ("next", "Sangsit"),
    ("status",),
    ("status", "--by", "kecamatan"),
    ("workflow", "show"),
    ("partner", "steps", "Penarukan", "bri"),
    ("partner", "status"),
    ("audit", "log"),
    ("actor", "list"),
]


def in_terminal(url: str, columns: int, lang: str, args: tuple[str, ...]) -> list[str]:
    """The lines ``kopflow ARGS`` prints in a pseudo-terminal ``columns`` wide (``script``)."""
    import os
    import re
    import shlex
    import subprocess
    import sys

    kopflow = shlex.join([sys.executable, "-m", "kopflow", "--lang", lang, *args])
    env = {**os.environ, "KOPFLOW_DB": url, "TERM": "xterm"}
    done = subprocess.run(
        ["script", "-qec", f"stty cols {columns} rows 50; {kopflow}", "/dev/null"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", done.stdout).replace("\r", "")
    return text.splitlines()


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
@pytest.mark.parametrize(("columns", "lang"), [(80, "id"), (80, "en"), (120, "id")])
def test_everyday_commands_fit_the_terminal_and_cut_nothing(
    buleleng: str, columns: int, lang: str
) -> None:
    """At 80 columns `coop list` was 92-100 wide, step ids and evidence were cut."""
    from kopflow.engine import Kopflow

    steps = [s.id for stage in Kopflow(buleleng).workflow.stages for s in stage.steps]
    for args in EVERYDAY:
        lines = in_terminal(buleleng, columns, lang, args)
        wide = [line for line in lines if len(line.rstrip()) > columns]
        assert not wide, (args, wide)
        assert not any("\u2026" in line for line in lines), (args, lines)
        text = "\n".join(lines)
        if args[:2] in (("workflow", "show"), ("coop", "show")):
            whole = {w.strip("(),;:") for line in lines for w in line.split()}
            assert set(steps) <= whole, (args, set(steps) - whole)  # every step id in one piece
        if args == ("coop", "show", "Sangsit"):
            from kopflow.flow.samples import sample_evidence

            first = Kopflow(buleleng).workflow.stage("formation").steps[0]
            typed = str(sample_evidence(first, 2)["date"])  # what the fixture first recorded
            assert typed in text and "2025-06-02" in text  # from, to


def test_into_a_pipe_tables_are_plain_and_whole(runner: CliRunner, buleleng: str) -> None:
    """Not a terminal: one line per row, nothing cut, no box drawing; evidence of several
    fields on the step's one line, values as people read them."""
    out = ok(run(runner, buleleng, "coop", "list")).stdout.splitlines()
    assert out[0] == "148 cooperatives"
    assert out[1].split()[0] == "Cooperative" and len(out) == 150
    assert not any(ch in "\n".join(out) for ch in "\u2502\u2500\u2026")
    shown = ok(run(runner, buleleng, "coop", "show", "Banjar")).stdout
    (musdesus,) = [
        line for line in shown.splitlines() if line.split()[:2] == ["Formation", "musdesus"]
    ]
    assert "board_size: 5; " in musdesus and "simpanan_pokok: Rp " in musdesus


# --- history that reads like a register (issue #12, point 5) --------------------------------


def test_coop_show_says_what_happened(runner: CliRunner, buleleng: str) -> None:
    shown = ok(run(runner, buleleng, "coop", "show", "Sangsit")).stdout
    assert "step Socialisation in the village (socialisation) completed: date: 2025-" in shown
    assert (
        "step Socialisation in the village (socialisation) corrected (date typed wrong): "
        "date: 2025-" in shown
    )
    assert "→ 2025-06-02" in shown
    assert "registered: Sangsit, Kabupaten Buleleng" in shown
    gesing = ok(run(runner, buleleng, "coop", "show", "Gesing")).stdout
    assert "(socialisation) undone: wrong village" in gesing
    banjar = ok(run(runner, buleleng, "coop", "show", "Banjar")).stdout
    assert "moved from Formation (formation) to Legal bundle (legal)" in banjar
    penarukan = ok(run(runner, buleleng, "coop", "show", "Penarukan")).stdout
    assert "enrolled with bri" in penarukan


def test_audit_log_says_what_happened_and_json_keeps_the_event(
    runner: CliRunner, buleleng: str
) -> None:
    log = ok(run(runner, buleleng, "audit", "log", "--coop", "Sangsit")).stdout
    assert "corrected (date typed wrong): date: 2025-" in log and "→ 2025-06-02" in log
    events = run_json(runner, buleleng, "audit", "log", "--coop", "Sangsit")
    assert isinstance(events, list)
    (fix,) = [e for e in events if e["action"] == "step.corrected"]
    assert fix["details"]["evidence"]["date"] == "2025-06-02" and "hash" in fix
    indonesian = ok(
        run(runner, buleleng, "--lang", "id", "audit", "log", "--coop", "Gesing")
    ).stdout
    assert "dibatalkan: wrong village" in indonesian


# --- labels, not ids, in sentences (issue #12, point 7) -------------------------------------


def test_the_tour_in_indonesian_names_stages_and_events_by_their_labels(
    runner: CliRunner, tmp_path: Path
) -> None:
    """The README's tour, in Indonesian: no stage id or event name inside a sentence, except
    in brackets after its label (`berada di tahap formation`, `Sebelum complete_formation`)."""
    import re

    from kopflow.engine import Kopflow
    from kopflow.flow.samples import sample_evidence

    url = str(tmp_path / "tour.db")
    wf = Kopflow(url).workflow
    musdesus = [
        arg
        for name, value in sample_evidence(wf.step("musdesus"), 1).items()  # type: ignore[arg-type]
        for arg in ("--set", f"{name}={value}")
    ]
    socialised = sample_evidence(wf.step("socialisation"), 1)["date"]  # type: ignore[arg-type]
    csv = tmp_path / "evidence.csv"
    csv.write_text("coop,step,date\nSangsit,socialisation,2025-06-01\n", encoding="utf-8")
    tour = [
        ("init",),
        ("coop", "import", "--region", BULELENG),
        ("coop", "list", "--kecamatan", "Banjar"),
        ("next", "Banjar"),
        # The sample's socialisation date: the Musdesus may not come before it (issue #12).
        ("step", "complete", "Banjar", "socialisation", "--set", f"date={socialised}"),
        ("step", "complete", "Banjar", "musdesus", *musdesus),
        ("advance", "Banjar"),
        ("advance", "--where-stage", "formation", "--dry-run"),
        ("step", "complete", "--from-csv", str(csv)),
        # Banjar is in the legal stage: refused, naming the stage BRI and Pos enroll from.
        ("partner", "enroll", "Banjar", "bri", "pos", "--dry-run"),
        ("status", "--by", "kecamatan"),
        ("coop", "show", "Banjar"),
        ("audit", "log", "--limit", "20"),
        ("audit", "verify"),
    ]
    ids = {s.id for s in wf.stages} | {e.name for e in wf.events}
    bare = re.compile(r"(?<![\w(.])(" + "|".join(sorted(ids)) + r")(?![\w)])")
    seen = []
    for args in tour:
        result = runner.invoke(cli_main(), ["--db", url, "--lang", "id", *args])
        assert result.exit_code in (0, 3), (args, result.output, result.stderr)
        for line in (result.stdout + result.stderr).splitlines():
            if "\t" in line:  # a table row into a pipe: cells, not sentences
                continue
            seen.extend((args, line) for _m in bare.finditer(line))
    assert not seen, seen


def cli_main() -> object:
    from kopflow.cli import cli

    return cli
