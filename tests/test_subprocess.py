"""The installed ``kopflow`` script as a user runs it: exit codes, one ``Error:`` line on
stderr, never a traceback (issue #2)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def kopflow_script() -> str:
    """The console script installed next to this interpreter (the venv's ``bin``)."""
    beside = Path(sys.executable).parent / "kopflow"
    found = str(beside) if beside.exists() else shutil.which("kopflow")
    assert found, "the kopflow console script is not installed"
    return found


def clean_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    env.update(KOPFLOW_LANG="en", KOPFLOW_LOG=str(folder / "kopflow.log"))
    return env


def kopflow(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kopflow_script(), *args],
        cwd=folder,
        env=clean_env(folder),
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_error_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert "Traceback" not in done.stderr + done.stdout
    assert done.returncode == code, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder whose ./kopflow.db holds Buleleng's cooperatives, made by the script itself."""
    folder = tmp_path_factory.mktemp("district")
    assert kopflow(folder, "init").returncode == 0
    done = kopflow(folder, "coop", "import", "--region", "Kabupaten Buleleng", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == 148
    assert done.stderr == ""  # no progress bar when not on a terminal
    yield folder


def test_help_and_version(tmp_path: Path) -> None:
    done = kopflow(tmp_path, "--help")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("Usage: kopflow")
    for command in ("advance", "coop", "step", "workflow", "status"):
        assert f"  {command} " in done.stdout
    version = kopflow(tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("kopflow ")


def test_reads_work_from_the_default_database(district: Path) -> None:
    done = kopflow(district, "status", "--json")
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads(done.stdout) == [{"stage": "formation", "count": 148, "overdue": 0}]


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (
            ("coop", "import", "--region", "Kabupaten Bulelng"),
            2,
            "did you mean: Kabupaten Buleleng",
        ),
        (("next", "Kayuputih"), 2, "Kayuputih names 2 cooperatives"),
        (
            ("step", "complete", "KDMP-050643", "socialisation", "--set", "date=2999-01-01"),
            2,
            "date: 2999-01-01 is in the future",
        ),
        (
            ("advance", "KDMP-050643"),
            3,
            "missing steps of Formation (formation): Socialisation in the village (socialisation)",
        ),
        (("--actor", "stranger", "status"), 5, "unknown actor stranger"),
    ],
    ids=[
        "unknown-kabupaten",
        "ambiguous-village",
        "future-date",
        "missing-steps",
        "unknown-actor",
    ],
)
def test_refusals_are_one_line(
    district: Path, args: tuple[str, ...], code: int, expected: str
) -> None:
    line = assert_error_line(kopflow(district, *args), code)
    assert expected in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("coop", "list"), "create it with 'kopflow init'"),
        (("--db", "mysql://localhost/x", "status"), "unsupported database URL"),
    ],
    ids=["not-initialised", "unsupported-url"],
)
def test_database_problems_are_one_line(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    line = assert_error_line(kopflow(tmp_path, *args), 2)
    assert expected in line


def test_usage_errors_have_no_traceback(tmp_path: Path) -> None:
    done = kopflow(tmp_path, "fly")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == "Error: No such command 'fly'."
