"""Database connections: URL resolution, engine set-up per backend, transactions, schema check.

SQLite write transactions start with ``BEGIN IMMEDIATE`` so concurrent writers queue on the
database lock instead of failing with "database is locked" (deferred mode produced over 100k
busy errors: docs/decisions.md, "Writers queue on one lock"). PostgreSQL writers serialize on
the chain-head row lock taken in ``audit``.

No writer waits for ever (issue #14): SQLite waits ``KOPFLOW_LOCK_TIMEOUT`` seconds for the
database lock; a PostgreSQL write transaction sets ``lock_timeout`` to the same and
``statement_timeout`` to ``KOPFLOW_STATEMENT_TIMEOUT``. Running out of either is a
:class:`~kopflow.errors.BusyError` ("the database is busy; try again"), with nothing written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

from kopflow.errors import BusyError, InputError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

DEFAULT_DB = "kopflow.db"
# Seconds; long enough to queue behind a bulk batch (KOPFLOW_BATCH cooperatives), short enough
# that a lock held by a forgotten psql session is reported instead of hanging the office.
LOCK_TIMEOUT = ("KOPFLOW_LOCK_TIMEOUT", 60.0)
STATEMENT_TIMEOUT = ("KOPFLOW_STATEMENT_TIMEOUT", 300.0)
_engines: dict[str, Engine] = {}


def resolve_url(db: str | None = None) -> str:
    """The database URL from ``--db``, else ``KOPFLOW_DB``, else ``./kopflow.db``.

    A value without ``://`` is a path to an SQLite file.
    """
    value = db or os.environ.get("KOPFLOW_DB") or DEFAULT_DB
    if "://" in value:
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        return value
    return "sqlite:///" + os.path.abspath(value)


def display_name(url: str) -> str:
    """The database as a user names it: an SQLite file's path, else the URL without password."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def is_sqlite(url: str) -> bool:
    """True for the embedded backend."""
    return url.startswith("sqlite")


def get_engine(url: str) -> Engine:
    """One engine per PostgreSQL URL per process (SQLite needs none: kopflow.store.lite)."""
    engine = _engines.get(url)
    if engine is None:
        engine = _make_engine(url)
        _engines[url] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and before a process forks)."""
    from kopflow.store import lite

    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    lite.close_idle()


# Every SQLite connection kopflow opens. bench/_floor.py opens its connections with the same, so
# the floor is priced on the same terms.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)


def _make_engine(url: str) -> Engine:
    # PostgreSQL only: SQLite's transactions run on kopflow.store.lite.
    from sqlalchemy import create_engine

    if not url.startswith("postgresql"):
        raise InputError(
            "unsupported database URL {url}; use an SQLite file path or postgresql+psycopg://...",
            url=url,
        )
    return create_engine(url, pool_pre_ping=False)


def timeout_seconds(setting: tuple[str, float]) -> float:
    """The seconds an environment variable (``LOCK_TIMEOUT``, ``STATEMENT_TIMEOUT``) sets."""
    name, default = setting
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 1e6:  # also refuses nan and inf
        raise InputError(
            "{name} must be a number of seconds greater than 0, such as 60; it is {value}",
            name=name,
            value=value,
        )
    return seconds


@contextmanager
def write_transaction(url: str) -> Iterator[Connection]:
    """A connection inside one transaction that commits on success and rolls back on any error."""
    if is_sqlite(url):
        with _sqlite_transaction(url, write=True) as conn:
            yield conn
        return
    engine = get_engine(url)
    with _database_refusals(url), _connect(engine) as conn:
        with conn.begin():
            # SET LOCAL: for this transaction only, so a pooled connection keeps no trace.
            for name, setting in (
                ("lock_timeout", LOCK_TIMEOUT),
                ("statement_timeout", STATEMENT_TIMEOUT),
            ):
                millis = max(1, round(timeout_seconds(setting) * 1000))
                conn.exec_driver_sql(f"SET LOCAL {name} = {millis}")
            yield conn


@contextmanager
def read_connection(url: str) -> Iterator[Connection]:
    """A connection for reads: on SQLite a deferred transaction that takes no write lock."""
    require_file(url)
    if is_sqlite(url):
        with _sqlite_transaction(url, write=False) as conn:
            yield conn
        return
    engine = get_engine(url)
    with _database_refusals(url), _connect(engine) as conn, conn.begin():
        yield conn


@contextmanager
def _sqlite_transaction(url: str, *, write: bool) -> Iterator[Connection]:
    """One SQLite transaction on :class:`kopflow.store.lite.LiteConnection`, which runs text
    statements without SQLAlchemy and hands the rest to it (issue #15). Typed as SQLAlchemy's
    ``Connection``: it is one for every use kopflow makes of a connection."""
    import sqlite3

    from kopflow.store import lite

    path = url[len("sqlite:///") :]
    if path and not os.path.isdir(os.path.dirname(path) or "."):
        raise InputError("the folder for database file {path} does not exist", path=path)
    settings = (path, timeout_seconds(LOCK_TIMEOUT), SQLITE_PRAGMAS)
    try:
        raw = lite.borrow(*settings)
    except sqlite3.OperationalError as err:
        _raise_if_busy(err)
        raise InputError("cannot connect to {url}: {error}", url=url, error=str(err)) from None
    ended = False
    try:
        with lite.transaction(raw, write=write) as conn:
            yield cast("Connection", conn)
        ended = True
    except Exception as err:
        ended = not raw.in_transaction
        _raise_if_busy(err)
        raise
    finally:
        if ended:
            lite.give_back(raw, *settings)
        else:
            raw.close()


def sqlalchemy_connection(conn: Connection) -> Connection:
    """``conn`` as SQLAlchemy's own ``Connection``, for a library that needs one (alembic)."""
    to_sqlalchemy = getattr(conn, "sqlalchemy", None)
    return conn if to_sqlalchemy is None else cast("Connection", to_sqlalchemy())


def require_file(url: str) -> None:
    """Refuse to read an SQLite database that does not exist: connecting would create an
    empty file at a mistyped path, and the read would then blame the schema (issue #14)."""
    if is_sqlite(url):
        path = url[len("sqlite:///") :]
        if path and path != ":memory:" and not os.path.exists(path):
            raise InputError(
                "the database {path} does not exist; check --db (or KOPFLOW_DB), or create "
                "it with 'kopflow init'",
                path=path,
            )


def _connect(engine: Engine) -> Connection:
    """Connect, turning a refused login (unknown role, bad password, no server) into one line."""
    from sqlalchemy.exc import OperationalError

    try:
        return engine.connect()
    except OperationalError as err:
        _raise_if_busy(err)
        raise InputError(
            "cannot connect to {url}: {error}",
            url=engine.url.render_as_string(hide_password=True),
            error=str(err.orig).strip().splitlines()[0] if err.orig else str(err),
        ) from None


@contextmanager
def _database_refusals(url: str) -> Iterator[None]:
    """PostgreSQL's own refusals (SQLSTATE 42501, ``kopflow db grant``) as a permission error."""
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except DBAPIError as err:
        _raise_if_busy(err)
        if getattr(err.orig, "sqlstate", None) != "42501":
            raise
        from sqlalchemy.engine import make_url

        from kopflow.errors import PermissionDeniedError

        raise PermissionDeniedError(
            "the database refused login {login}: {error}",
            login=make_url(url).username or "-",
            error=str(err.orig).strip().splitlines()[0],
        ) from None


# PostgreSQL's lock_not_available (lock_timeout, NOWAIT) and query_canceled (statement_timeout);
# SQLite's SQLITE_BUSY and SQLITE_LOCKED.
_PG_BUSY = {"55P03": LOCK_TIMEOUT, "57014": STATEMENT_TIMEOUT}
_SQLITE_BUSY = (5, 6)


def _raise_if_busy(err: Exception) -> None:
    """Raise :class:`BusyError` when ``err`` is the database giving up waiting."""
    orig = getattr(err, "orig", None) or err  # SQLAlchemy's wrapper, or sqlite3's own error
    setting = _PG_BUSY.get(getattr(orig, "sqlstate", None) or "")
    if setting is None and (
        getattr(orig, "sqlite_errorcode", None) in _SQLITE_BUSY or "database is locked" in str(orig)
    ):
        setting = LOCK_TIMEOUT
    if setting is None:
        return
    name, _default = setting
    if setting is LOCK_TIMEOUT:
        raise BusyError(
            "the database is busy: another change held a lock longer than {seconds} s "
            "({name}); try again",
            seconds=f"{timeout_seconds(setting):g}",
            name=name,
        ) from None
    raise BusyError(
        "the database is busy: a statement ran longer than {seconds} s ({name}); try again",
        seconds=f"{timeout_seconds(setting):g}",
        name=name,
    ) from None


def schema_revision(conn: Connection) -> str | None:
    """The alembic revision the database is at, or None for an empty database."""
    if conn.dialect.name == "sqlite":
        # As SQLAlchemy's has_table asks it, without importing SQLAlchemy (issue #15).
        found = (
            conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).first()
            is not None
        )
    else:
        from sqlalchemy import inspect

        found = inspect(conn).has_table("alembic_version")
    if not found:
        return None
    revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return None if revision is None else str(revision)


def require_schema(conn: Connection) -> None:
    """Refuse to work on a database that kopflow did not create or that needs an upgrade."""
    from kopflow.store.migrations import HEAD

    revision = schema_revision(conn)
    if revision is None:
        if conn.dialect.name == "postgresql":
            from sqlalchemy import text

            # A login without USAGE on the schema sees no schema at all (issue #4).
            login, schema = conn.execute(text("SELECT current_user, current_schema()")).one()
            if (
                schema is None
                and not conn.execute(
                    # is any schema the search_path names there at all? (issue #14)
                    text(
                        "SELECT count(*) FROM pg_namespace WHERE nspname = ANY("
                        "string_to_array(replace(current_setting('search_path'), ' ', ''), ','))"
                    )
                ).scalar()
            ):
                raise InputError(
                    "the schema the database URL names (options=-csearch_path=...) does not "
                    "exist; create it (CREATE SCHEMA name) or correct the URL"
                )
            if schema is None:
                from kopflow.errors import PermissionDeniedError

                raise PermissionDeniedError(
                    "login {login} sees no schema in its search_path: it does not exist, or "
                    "the login may not use it (an admin adds the login as an actor, then the "
                    "owner runs 'kopflow db grant')",
                    login=login,
                )
        raise InputError("this database has no kopflow schema; run 'kopflow init' first")
    if revision != HEAD:
        raise InputError(
            "the database schema is at revision {have}, this kopflow needs {want}; "
            "run 'kopflow db upgrade'",
            have=revision,
            want=HEAD,
        )


def upgrade_schema(url: str) -> tuple[str | None, str]:
    """Bring the database to the newest schema with alembic; returns (before, after) revisions."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    from kopflow.store.migrations import HEAD

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with write_transaction(url) as conn:
        before = schema_revision(conn)
        config.attributes["connection"] = sqlalchemy_connection(conn)
        command.upgrade(config, "head")
    return before, HEAD
