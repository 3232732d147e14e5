"""Start-up stays light: ``import kopflow.cli`` and ``kopflow --help`` import no database,
state-machine, rendering or plugin library (issue #2's 150 ms help target, guarded without
timing: click's ``test_light_imports`` idea, with ``-X importtime``'s list of modules)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

# Top-level packages (and kopflow modules) that only commands doing real work may import.
HEAVY = (
    "sqlmodel",
    "sqlalchemy",
    "pydantic",
    "alembic",
    "psycopg",
    "transitions",
    "rich",
    "pluggy",
    "structlog",
    "yaml",
    "areaid",
    "cryptography",
    "openpyxl",
    "kopflow.engine",
    "kopflow.store.db",
    "kopflow.flow.spec",
    "kopflow.host.manager",
    "kopflow_bri",
)


def imported_modules(command: list[str]) -> set[str]:
    """Every module the command imports, from Python's import-time report on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    env.update(PYTHONPROFILEIMPORTTIME="1", KOPFLOW_LANG="en")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


def heavy_in(names: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-c", "import kopflow.cli"],
        [sys.executable, "-c", "from kopflow.cli import main; main(['--help'])"],
        [str(Path(sys.executable).parent / "kopflow"), "--help"],
        [str(Path(sys.executable).parent / "kopflow"), "--version"],
    ],
    ids=["import-cli", "main-help", "script-help", "script-version"],
)
def test_light_imports(command: list[str]) -> None:
    names = imported_modules(command)
    assert {"click", "kopflow.cli"} <= names  # the report was read
    assert heavy_in(names) == []


def test_the_check_sees_heavy_imports() -> None:
    """The same check on a command that does open the database finds the heavy modules."""
    names = imported_modules(
        [sys.executable, "-c", "import kopflow.engine, kopflow.store.db; import sqlalchemy"]
    )
    assert {"sqlalchemy", "kopflow.engine"} <= set(heavy_in(names))


# What a single-cooperative command may not import: SQLModel and pydantic cost about 250 ms of
# its start (issue #5); kopflow issues Core statements on kopflow.store.tables, never the ORM.
ORM = ("sqlmodel", "pydantic", "sqlalchemy.orm", "kopflow.store.models")


def test_single_cooperative_commands_skip_the_orm(tmp_path: Path) -> None:
    from kopflow import regions
    from kopflow.engine import Kopflow
    from kopflow.flow.samples import sample_evidence

    path = tmp_path / "kopflow.db"
    engine = Kopflow(str(path))
    engine.init()
    engine.register(regions.seeds_from_areaid(kabupaten="Kabupaten Buleleng"), source="test")
    with sqlite3.connect(path) as conn:
        shown, moved = [r[0] for r in conn.execute("SELECT id FROM coop ORDER BY id LIMIT 2")]
    steps = engine.workflow.stage("formation").steps
    for step in steps[:-1]:
        engine.complete_step(moved, step.id, sample_evidence(step))
    last = steps[-1]
    script = str(Path(sys.executable).parent / "kopflow")
    sets = [arg for k, v in sample_evidence(last).items() for arg in ("--set", f"{k}={v}")]
    for command in (
        ["coop", "show", shown],
        ["step", "complete", moved, last.id, *sets],
        ["advance", moved],
        ["audit", "verify"],  # its head row read by statement text (issue #15)
    ):
        names = imported_modules([script, *command])
        assert "sqlite3" in names  # the command did reach the database
        # Issue #15: on SQLite they run on sqlite3 alone (kopflow.store.lite)
        assert "sqlalchemy" not in names, command
        assert sorted(n for n in names if n.split(".")[0] in ORM or n.startswith(ORM)) == []
    # A bulk advance too (a sixth of a 10,000-cooperative advance was importing SQLAlchemy):
    # one cooperative of the stage moves, the others are refused.
    with sqlite3.connect(path) as conn:
        (ready,) = conn.execute("SELECT id FROM coop ORDER BY id LIMIT 1 OFFSET 2").fetchone()
    for step in steps:
        engine.complete_step(ready, step.id, sample_evidence(step))
    bulk = (
        f"from kopflow.engine import Kopflow; r = Kopflow({str(path)!r}).advance_bulk("
        f"stage='formation'); assert [o.coop_id for o in r.done] == [{ready!r}] and r.refused"
    )
    names = imported_modules([sys.executable, "-c", bulk])
    assert "kopflow.rules.transition" in names and "sqlalchemy" not in names
