"""Shared fixtures: a real SQLite file or a fresh PostgreSQL schema per test, the CLI runner,
and an environment that keeps every test's state in its own temp folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from db_helpers import pg_schema

# The fixtures partner authors use (issue #3); kopflow's own tests of its partners use them too.
pytest_plugins = ["kopflow.testing"]

_pg_results = {"passed": 0, "failed": 0, "skipped": 0}


@pytest.fixture(autouse=True)
def kopflow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point all user state at the test's temp folder (llm's env_setup)."""
    for var in (
        "KOPFLOW_DB",
        "KOPFLOW_ACTOR",
        "KOPFLOW_PLUGINS",
        "KOPFLOW_DISABLE_PLUGINS",
        "KOPFLOW_LOAD_PLUGINS",
        "KOPFLOW_CONFIG",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KOPFLOW_LANG", "en")
    monkeypatch.setenv("KOPFLOW_LOG", str(tmp_path / "kopflow.log"))
    # Parsed workflow definitions are cached there (kopflow.flow.load): not in the user's home.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    from kopflow import i18n

    i18n.set_language("en")
    yield
    from kopflow.store import db

    db.dispose_engines()
    import structlog

    from kopflow import log

    log.reset()
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL on the real PostgreSQL server, inside a schema of its own, dropped afterwards."""
    yield from pg_schema()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A real SQLite file in the test's temp folder."""
    return str(tmp_path / "kopflow.db")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each database-facing test runs on both backends (the storage matrix)."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def kopflow(db_url: str):  # type: ignore[no-untyped-def]
    """An initialised database with its admin, as the engine sees it."""
    from kopflow.engine import Kopflow

    engine = Kopflow(db_url)
    engine.init()
    return engine


@pytest.fixture
def runner():  # type: ignore[no-untyped-def]
    """click's CliRunner (stderr kept apart from stdout)."""
    from click.testing import CliRunner

    return CliRunner()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "[postgresql" not in report.nodeid and "postgresql]" not in report.nodeid:
        return
    if report.skipped:
        _pg_results["skipped"] += 1
    elif report.when == "call":
        _pg_results["passed" if report.passed else "failed"] += 1


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    terminalreporter.write_line(
        "PostgreSQL tests: {passed} passed, {failed} failed, {skipped} skipped".format(
            **_pg_results
        )
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # CI proves the PostgreSQL half really ran (issue #4): none run, or any skipped, fails it.
    # Under pytest-xdist the controller sees every worker's reports and judges the whole run; a
    # worker alone may have run no PostgreSQL test.
    if hasattr(session.config, "workerinput"):
        return
    if os.environ.get("KOPFLOW_REQUIRE_POSTGRES") and (
        _pg_results["passed"] == 0 or _pg_results["skipped"]
    ):
        session.exitstatus = 1
