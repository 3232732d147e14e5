"""Database helpers for the tests: what a database holds (to prove a refused change wrote
nothing), a fresh PostgreSQL schema per test, and for the issue #4 tests unique login names
(PostgreSQL roles belong to the whole server, so each test names its logins uniquely and drops
them, and its schema's group roles, afterwards).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kopflow.authz import ROLES


def db_state(url: str) -> dict[str, Any]:
    """Everything a refused change must leave exactly as it was, to compare before and after.

    Every row of every kopflow table (``tables.metadata``, in dependency order, each table's
    rows in primary-key order), the schema revision and the audit chain head, read in one
    moment of the database. ``url`` is what the tests pass to kopflow: an SQLite path or URL,
    or a PostgreSQL URL whose ``search_path`` names the test's own schema.
    """
    from sqlalchemy import select

    from kopflow.audit.chain import read_head, snapshot
    from kopflow.store import db
    from kopflow.store.tables import metadata

    with snapshot(db.resolve_url(url)) as conn:
        state: dict[str, Any] = {
            table.name: [
                tuple(row)
                for row in conn.execute(
                    select(table).order_by(*(table.primary_key.columns or table.columns))
                )
            ]
            for table in metadata.sorted_tables
        }
        state["schema"] = db.schema_revision(conn)
        state["head"] = read_head(conn)
    return state


def tag() -> str:
    """A suffix that keeps one test's login names apart from every other run on the server."""
    return uuid.uuid4().hex[:8]


def schema_of(url: str) -> str:
    """The schema a test URL (``...?options=-csearch_path%3D<schema>``) works in."""
    return url.rsplit("%3D", 1)[1]


def drop_roles(url: str, logins: list[str]) -> None:
    """Drop ``logins`` and the group roles of the URL's schema, with whatever they were granted."""
    from sqlalchemy import create_engine, text

    from kopflow.rules.roles import group_role
    from kopflow.store import db

    db.dispose_engines()
    schema = schema_of(url)
    names = [*logins, *(group_role(schema, r) for r in ROLES)]
    engine = create_engine(db.resolve_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        present = set(conn.execute(text("SELECT rolname FROM pg_roles")).scalars())
        for name in names:
            if name in present:
                conn.execute(text(f'DROP OWNED BY "{name}"'))
                conn.execute(text(f'DROP ROLE "{name}"'))
    engine.dispose()


def login_url(url: str, login: str) -> str:
    """``url`` with another database login and no password (the server's pg_hba decides)."""
    from sqlalchemy.engine import URL, make_url

    from kopflow.store import db

    base = make_url(db.resolve_url(url))
    return URL.create(
        base.drivername,
        username=login,
        host=base.host,
        port=base.port,
        database=base.database,
        query=base.query,
    ).render_as_string(hide_password=False)


def run_as(url: str, login: str, sql: str, **params: Any) -> Any:
    """Run one statement as ``login`` and commit; returns the rowcount. Raises what PG raises."""
    from sqlalchemy import create_engine, text

    engine = create_engine(login_url(url, login))
    try:
        with engine.begin() as conn:
            return conn.execute(text(sql), params).rowcount
    finally:
        engine.dispose()


PG_SERVER = os.environ.get("KOPFLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pg_schema() -> Iterator[str]:
    """Yield a URL on the real PostgreSQL server inside a schema of its own; drop it after.

    Without a server the test is skipped, or failed when ``KOPFLOW_REQUIRE_POSTGRES`` is set
    (CI must prove the PostgreSQL half ran, issue #4).
    """
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
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        from kopflow.store import db

        db.dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
