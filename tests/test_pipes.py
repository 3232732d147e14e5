"""Output into a pipe (issue #12): plain and whole, and a reader that stops early is no error.

Real processes and real pipes: ``kopflow coop show X | head -1`` is what an officer types.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_subprocess import clean_env, kopflow_script


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Buleleng demo database, built once and only read."""
    from kopflow.cli import cli

    folder = tmp_path_factory.mktemp("pipes")
    db = folder / "kopflow-demo.db"
    with pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith("KOPFLOW_")]:
            mp.delenv(var)
        mp.setenv("KOPFLOW_LOG", str(folder / "kopflow.log"))
        result = CliRunner().invoke(cli, ["--db", str(db), "demo"])
        assert result.exit_code == 0, result.output
    yield db
    from kopflow.store import db as kdb

    kdb.dispose_engines()


def first_line_then_close(db: Path, *args: str) -> tuple[bytes, int, bytes]:
    """Run kopflow with stdout a pipe, read one line, close the pipe, as ``| head -1`` does."""
    process = subprocess.Popen(
        [kopflow_script(), "--db", str(db), *args],
        cwd=db.parent,
        env=clean_env(db.parent),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    process.stdout.close()
    errors = process.stderr.read()
    process.stderr.close()
    return line, process.wait(timeout=120), errors


def test_coop_show_into_a_closed_pipe_ends_quietly_20_times(demo_db: Path) -> None:
    for _run in range(20):
        line, status, errors = first_line_then_close(demo_db, "coop", "show", "Banjar")
        assert line.startswith(b"KDMP-")
        assert errors == b""  # no BrokenPipeError, no traceback, no "Error:" line
        assert status in (0, 141)  # 141: the reader left first, as a shell reports SIGPIPE


@pytest.mark.parametrize(
    "args", [("coop", "list"), ("audit", "log"), ("status", "--by", "kecamatan"), ("--help",)]
)
def test_other_commands_into_a_closed_pipe_end_quietly(demo_db: Path, args: tuple[str]) -> None:
    for _run in range(2):
        line, status, errors = first_line_then_close(demo_db, *args)
        assert line and errors == b"" and status in (0, 141)


def test_a_table_into_a_pipe_is_plain_and_whole(demo_db: Path) -> None:
    def run(*args: str) -> str:
        done = subprocess.run(
            [kopflow_script(), "--db", str(demo_db), *args],
            env={**clean_env(demo_db.parent), "COLUMNS": "40"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return done.stdout

    listed = run("coop", "list", "--limit", "1000")
    rows = json.loads(run("coop", "list", "--limit", "1000", "--json"))
    assert not set("│┃━─┏└…") & set(listed)
    lines = listed.splitlines()
    assert len(lines) == 2 + len(rows) == 2 + 148  # title, header, one line per cooperative
    for row, line in zip(rows, lines[2:], strict=True):
        assert line.split()[0] == row["id"] and row["village"] in line
