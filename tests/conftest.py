"""Shared fixtures: a real SQLite file or a fresh PostgreSQL schema per test, the CLI runner,
and an environment that keeps every test's state in its own temp folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# The fixtures partner authors use (issue #3); kopflow's own tests of its partners use them too.
pytest_plugins = ["kopflow.testing"]

PG_SERVER = os.environ.get("KOPFLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_results = {"passed": 0, "failed": 0, "skipped": 0}


@pytest.fixture(autouse=True)
def kopflow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point all user state at the test's temp folder (llm's env_setup)."""
    for var in ("KOPFLOW_DB", "KOPFLOW_ACTOR", "KOPFLOW_PLUGINS", "KOPFLOW_DISABLE_PLUGINS", "KOPFLOW_LOAD_PLUGINS", "KOPFLOW_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KOPFLOW_LANG", "en")
    monkeypatch.setenv("KOPFLOW_LOG", str(tmp_path / "kopflow.log"))
    monkeypatch.chdir(tmp_path)
    from kopflow import i18n

    i18n.set_language("en")
    yield
    from kopflow import db

    db.dispose_engines()
    import structlog

    from kopflow import log

    log.reset()
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def _pg_schema_url(schema: str) -> str:
    return f"{PG_SERVER}?options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL on the real PostgreSQL server, inside a schema of its own, dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as err:  # noqa: BLE001 -- any connection failure means "no server"
        admin.dispose()
        if os.environ.get("KOPFLOW_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required but not reachable: {err}")
        pytest.skip(f"PostgreSQL not reachable: {err}")
    yield _pg_schema_url(schema)
    from kopflow import db

    db.dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


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
        "PostgreSQL tests: {passed} passed, {failed} failed, {skipped} skipped".format(**_pg_results)
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # CI proves the PostgreSQL half really ran (issue #4): none run, or any skipped, fails it.
    if os.environ.get("KOPFLOW_REQUIRE_POSTGRES") and (
        _pg_results["passed"] == 0 or _pg_results["skipped"]
    ):
        session.exitstatus = 1
