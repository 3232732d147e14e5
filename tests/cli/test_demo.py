"""``kopflow demo`` keeps its made-up evidence in a database of its own (issue #12)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from tests.cli.clihelp import error_line, ok, run

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def officer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An officer's folder, the working directory, with KOPFLOW_DB naming their database."""
    for var in ("KOPFLOW_DB", "KOPFLOW_ACTOR", "KOPFLOW_PLUGINS", "KOPFLOW_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KOPFLOW_LANG", "en")
    monkeypatch.setenv("KOPFLOW_LOG", str(tmp_path / "kopflow.log"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def head_seq(url: str) -> int:
    engine = create_engine(url if "://" in url else f"sqlite:///{url}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT seq FROM chain_head")).scalar_one())
    finally:
        engine.dispose()


def test_demo_writes_its_own_file_and_says_which(
    officer: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOPFLOW_DB", str(officer / "kopflow.db"))
    from kopflow.cli import cli

    shown = ok(runner.invoke(cli, ["demo"])).stdout
    assert shown.splitlines()[0].startswith("demo database: kopflow-demo.db")
    assert "kopflow --db kopflow-demo.db coop list" in shown
    assert (officer / "kopflow-demo.db").is_file()
    assert not (officer / "kopflow.db").exists()  # neither the default nor KOPFLOW_DB's file

    # The officer's own database, started afterwards, holds nothing of the demo's.
    ok(runner.invoke(cli, ["init"]))
    assert ok(runner.invoke(cli, ["coop", "list", "--json"])).stdout.strip() == "[]"


def test_init_on_the_demo_database_says_so(officer: Path, runner: CliRunner) -> None:
    from kopflow.cli import cli

    ok(runner.invoke(cli, ["demo"]))
    said = ok(run(runner, "kopflow-demo.db", "init")).stdout
    assert "This is the demo's database" in said
    assert ok(run(runner, "kopflow-demo.db", "init", "--json")).stdout.count('"demo": true') == 1
    assert "demo's database" not in ok(run(runner, "kopflow.db", "init")).stdout
    # A second demo run goes on in the demo's own database.
    assert ok(runner.invoke(cli, ["demo"])).exit_code == 0


def test_demo_refuses_a_database_with_other_work(db_url: str, runner: CliRunner) -> None:
    from kopflow.engine import Kopflow

    engine = Kopflow(db_url)
    engine.init()
    engine.register([], source="test")
    before = head_seq(db_url)
    line = error_line(run(runner, db_url, "--lang", "en", "demo"), code=2)
    assert "holds work that is not the demo's" in line
    assert head_seq(db_url) == before
    from kopflow.store import db

    db.dispose_engines()


def test_demo_refuses_a_database_of_another_program(officer: Path, runner: CliRunner) -> None:
    import sqlite3

    with sqlite3.connect(officer / "other.db") as conn:
        conn.execute("CREATE TABLE ledger (amount INTEGER)")
    conn.close()
    line = error_line(run(runner, "other.db", "--lang", "en", "demo"), code=2)
    assert "holds work that is not the demo's" in line
    with sqlite3.connect(officer / "other.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    conn.close()
    assert tables == ["ledger"]


def test_demo_refuses_in_indonesian_too(officer: Path, runner: CliRunner) -> None:
    from kopflow.cli import cli

    ok(run(runner, "kopflow.db", "init"))
    refused = runner.invoke(cli, ["--lang", "id", "--db", "kopflow.db", "demo"])
    assert refused.exit_code == 2 and refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    assert line.startswith("Galat: ") and "bukan milik demo" in line and "kopflow-demo.db" in line


def test_an_unknown_kabupaten_makes_no_database(officer: Path, runner: CliRunner) -> None:
    from kopflow.cli import cli

    refused = runner.invoke(cli, ["--lang", "en", "demo", "--region", "Nowhere"])
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.startswith("Error: unknown kabupaten/kota 'Nowhere'")
    assert not (officer / "kopflow-demo.db").exists()


def test_scripts_demo_leaves_the_tours_database_alone(tmp_path: Path) -> None:
    """``bash scripts/demo`` as the README's quick start runs it; the tour then starts from an
    empty ./kopflow.db, and the README says where the demo's evidence went."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "demo", tmp_path / "scripts" / "demo")
    (tmp_path / "scripts" / "install").write_text("true\n")  # .venv below is installed already
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    script = Path(sys.executable).parent / "kopflow"
    (tmp_path / ".venv" / "bin" / "kopflow").symlink_to(script)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    env.update(KOPFLOW_LANG="en", KOPFLOW_LOG=str(tmp_path / "kopflow.log"))
    done = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "demo")],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "kopflow-demo.db").is_file()
    assert not (tmp_path / "kopflow.db").exists()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    tour = readme.split("## A tour of the CLI", 1)[1]
    assert "kopflow-demo.db" in tour.split("```bash", 1)[0]
    assert tour.split("```bash", 1)[1].split("\n")[2].startswith("kopflow init")


def test_the_demo_run_again_in_a_new_process_moves_more_cooperatives(tmp_path: Path) -> None:
    """An officer runs the quick start again: each run a new process, on the demo's own file.
    The second run records no identifier the first recorded (a decree number one cooperative
    holds alone), so its cooperatives move on as the first run's did; it stopped with an
    enrolment error before."""
    kopflow = Path(sys.executable).parent / "kopflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    env.update(KOPFLOW_LANG="en", KOPFLOW_LOG=str(tmp_path / "kopflow.log"), COLUMNS="80")
    runs = [
        subprocess.run(
            [str(kopflow), "demo"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        for _ in range(2)
    ]
    for done in runs:
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert "Formation: 12 cooperatives moved on" in done.stdout
        assert "Partner onboarding: 2 cooperatives moved on" in done.stdout
    formation = [
        line.split() for line in runs[1].stdout.splitlines() if line.startswith("Formation ")
    ]
    assert formation == [["Formation", str(148 - 2 * 12), "0"]]
