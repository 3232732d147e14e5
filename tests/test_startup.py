"""What a command imports and loads at start (issue #15), checked without timing anything.

``kopflow --help`` imports no database, rendering or state-machine library; ``status`` and
``coop show`` of a stage's steps import no rich, no structlog, no PyYAML (once the parsed
definition is kept), no PostgreSQL dialect on SQLite, and load no plugin; ``step complete``
loads the plugins and logs, still without rich. The parsed-definition cache never stands in
for other bytes than its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Python's import-time report misses modules imported by importlib.import_module (plugins
# from their entry points): every module the process holds at its exit is what counts.
_REPORT = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: print('MODULES ' + json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
    "from kopflow.cli import main\n"
    "main(sys.argv[1:])\n"
)


def run_imports(args: list[str], env: dict[str, str]) -> set[str]:
    """The modules ``kopflow ARGS`` had imported when it ended."""
    done = subprocess.run(
        [sys.executable, "-c", _REPORT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (report,) = [line for line in done.stderr.splitlines() if line.startswith("MODULES ")]
    return set(json.loads(report.removeprefix("MODULES ")))


def among(names: set[str], *packages: str) -> list[str]:
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in packages))


def test_help_imports_no_database_rendering_or_state_machine_library() -> None:
    """The issue's test, by ``sys.modules`` in a fresh interpreter (tests/test_imports.py reads
    the import-time report of the same command)."""
    code = (
        "import sys\n"
        "from kopflow.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('sqlalchemy', 'rich', 'transitions')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A database of one kabupaten with one cooperative four steps into formation."""
    from kopflow import regions
    from kopflow.engine import Kopflow
    from kopflow.flow.samples import sample_evidence
    from kopflow.store.db import dispose_engines

    folder = tmp_path_factory.mktemp("startup")
    os.environ["KOPFLOW_LOG"] = str(folder / "kopflow.log")
    path = folder / "kopflow.db"
    engine = Kopflow(str(path))
    engine.init()
    engine.register(regions.seeds_from_areaid(kabupaten="Kabupaten Buleleng"), source="test")
    with engine.reading() as conn:
        coop = str(conn.exec_driver_sql("SELECT min(id) FROM coop").scalar())
    for step in engine.workflow.stage("formation").steps[:-1]:
        engine.complete_step(coop, step.id, sample_evidence(step))
    dispose_engines()
    return path, coop


def command_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    env.update(
        KOPFLOW_LANG="en",
        KOPFLOW_LOG=str(tmp_path / "kopflow.log"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    return env


def test_read_commands_load_only_what_they_show(small_db: tuple[Path, str], tmp_path: Path) -> None:
    path, coop = small_db
    env = command_env(tmp_path)
    first = run_imports(["--db", str(path), "status"], env)
    assert among(first, "yaml"), "no parsed definition kept yet: the YAML is read"
    assert list((tmp_path / "cache" / "kopflow").glob("workflow-*.json"))
    for args in (["status"], ["coop", "show", coop]):
        names = run_imports(["--db", str(path), *args], env)
        assert "sqlite3" in names, "the command did read the database"
        # Issue #15: on SQLite they run on sqlite3 alone (kopflow.store.lite), no SQLAlchemy.
        assert among(names, "sqlalchemy", "rich", "structlog", "yaml") == [], args
        # plugins are found and imported only when asked about (coop show of stage steps
        # and status never do; `next` does: plugin guards)
        assert among(names, "kopflow_bri", "kopflow_pos") == []


def test_step_complete_loads_plugins_and_logs_without_rich(
    small_db: tuple[Path, str], tmp_path: Path
) -> None:
    from kopflow.flow.samples import sample_evidence
    from kopflow.flow.spec import find_workflow

    path, coop = small_db
    last = find_workflow().stage("formation").steps[-1]
    sets = [a for k, v in sample_evidence(last).items() for a in ("--set", f"{k}={v}")]
    env = command_env(tmp_path)
    names = run_imports(["--db", str(path), "step", "complete", coop, last.id, *sets], env)
    assert {"kopflow_bri", "structlog"} <= names  # the plugins validate, the change is logged
    assert among(names, "rich", "sqlalchemy") == []  # issue #15: sqlite3 alone writes it
    logged = [json.loads(line) for line in (tmp_path / "kopflow.log").read_text().splitlines()]
    assert any(e["event"] == "committed" and e["coop"] == coop for e in logged)


# --- the parsed-definition cache ------------------------------------------------------------


@pytest.fixture
def definition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from kopflow.flow.spec import workflows_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "kdkmp.yaml"
    path.write_bytes((workflows_dir() / "kdkmp.yaml").read_bytes())
    return path


def cached_entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "kopflow").glob("workflow-*.json"))


def test_a_kept_definition_is_used_only_for_its_own_bytes(definition: Path, tmp_path: Path) -> None:
    from kopflow.flow.spec import load_workflow

    first = load_workflow(definition)
    (entry,) = cached_entries(tmp_path)
    assert load_workflow(definition) == first  # read back from the entry
    text = definition.read_text(encoding="utf-8")
    assert "sla_days: 60" in text
    definition.write_text(text.replace("sla_days: 60", "sla_days: 61", 1), encoding="utf-8")
    changed = load_workflow(definition)
    assert changed.digest != first.digest
    assert 61 in {s.sla_days for s in changed.stages}, "the edited file is read, not the entry"
    assert cached_entries(tmp_path) == [entry], "an edited file replaces its own entry"


def test_a_torn_or_foreign_entry_is_ignored(definition: Path, tmp_path: Path) -> None:
    from kopflow.flow.spec import load_workflow

    expected = load_workflow(definition)
    (entry,) = cached_entries(tmp_path)
    for damage in ("{not json", json.dumps({"sha256": "0" * 64, "doc": {"name": "x"}}), "[]"):
        entry.write_text(damage, encoding="utf-8")
        assert load_workflow(definition) == expected


def test_a_definition_with_problems_is_never_kept(tmp_path: Path, definition: Path) -> None:
    """A repeated key is reported at every load, never hidden behind a kept document."""
    from kopflow.errors import WorkflowError
    from kopflow.flow.spec import load_workflow

    text = definition.read_text(encoding="utf-8")
    definition.write_text(text.replace("\nname:", "\nname: twice\nname:", 1), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(WorkflowError, match="duplicate key 'name'"):
            load_workflow(definition)
    assert cached_entries(tmp_path) == []


def test_an_unwritable_cache_still_loads(
    definition: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kopflow.flow.spec import load_workflow

    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert load_workflow(definition).name == "kdkmp"


# --- plugins and logging set up on first use --------------------------------------------------


def test_a_deferred_plugin_host_loads_on_first_question(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings are read when the host is made, the plugins imported when first asked about."""
    code = (
        "import os, sys\n"
        "from kopflow.host.manager import make_plugin_host\n"
        "host = make_plugin_host(defer=True, disabled=['pos'])\n"
        "os.environ['KOPFLOW_DISABLE_PLUGINS'] = 'bri'  # too late: read when made\n"
        "assert 'kopflow_bri' not in sys.modules, 'imported before asked'\n"
        "assert host.notify_failures == [] and 'kopflow_bri' not in sys.modules\n"
        "print(sorted(host.partners), sorted(p.name for p in host.plugins if p.status != 'ok'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "['bri', 'pln', 'telkom'] ['pos']"


def test_an_eager_plugin_host_is_loaded_when_made() -> None:
    from kopflow.host.manager import make_plugin_host

    host = make_plugin_host()
    assert "kopflow_bri" in sys.modules and "bri" in host.__dict__["partners"]


def test_a_logger_waits_for_its_first_line(tmp_path: Path) -> None:
    """get_logger imports nothing; the first line goes where configure() says at that time."""
    code = (
        "import sys\n"
        "import kopflow.log as log\n"
        "early = log.get_logger(component='x').bind(step='nib')\n"
        "assert 'structlog' not in sys.modules\n"
        "log.configure()\n"
        "early.info('first', coop='KDMP-1')\n"
        "assert 'structlog' in sys.modules and 'rich' not in sys.modules\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPFLOW_")}
    env["KOPFLOW_LOG"] = str(tmp_path / "kopflow.log")
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    (line,) = (tmp_path / "kopflow.log").read_text(encoding="utf-8").splitlines()
    entry: dict[str, Any] = json.loads(line)
    assert (entry["event"], entry["component"], entry["step"], entry["coop"]) == (
        "first", "x", "nib", "KDMP-1",
    )  # fmt: skip


def test_the_core_tables_name_no_postgresql_argument() -> None:
    """Importing the Core copy on SQLite imports no PostgreSQL dialect; the declaration keeps
    the partial index's clause for both databases (the migrations build from it)."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, kopflow.store.tables; "
         "print([m for m in sys.modules if m.startswith('sqlalchemy.dialects.postgresql')])"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    from kopflow.store import models, tables

    declared = next(
        i for i in models.UniqueValue.__table__.indexes if i.name == "uq_unique_value_held"
    )
    assert str(declared.dialect_options["postgresql"]["where"]) == "released_seq IS NULL"
    copied = next(i for i in tables.unique_value.indexes if i.name == "uq_unique_value_held")
    assert str(copied.dialect_options["sqlite"]["where"]) == "released_seq IS NULL"
