"""SQLite without SQLAlchemy (``kopflow.store.lite``, issue #15): the values it stores and
reads are those SQLAlchemy's column types give (what ``kopflow.store.rows`` stored through them
before), and a transaction handed to SQLAlchemy midway is the same transaction."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.dialects import sqlite as sqlite_dialect

from kopflow.store import db, rows, tables
from kopflow.store.columns import COLUMNS
from kopflow.store.lite import LiteDialect

DIALECT = sqlite_dialect.dialect()  # type: ignore[no-untyped-call]
MOMENTS = [
    datetime(2025, 7, 21, 9, 30, 15, 123456, tzinfo=UTC),
    datetime(2025, 7, 21, 9, 30, 15, tzinfo=UTC),  # no microseconds: isoformat leaves them out
    datetime(2025, 7, 21, 16, 30, tzinfo=timezone(timedelta(hours=7))),  # WIB, stored as UTC
]


class _Lite:
    dialect = LiteDialect()


def _columns(kind: str) -> list[tuple[str, str]]:
    return [(t, c) for t, cols in COLUMNS.items() for c, k, _d in cols if k == kind]


@pytest.mark.parametrize(("table", "column"), _columns("datetime"))
def test_a_datetime_is_stored_and_read_as_sqlalchemy_stores_and_reads_it(
    table: str, column: str
) -> None:
    sa_type = tables.metadata.tables[table].c[column].type
    sa_bind = sa_type.bind_processor(DIALECT)
    sa_read = sa_type.dialect_impl(DIALECT).result_processor(DIALECT, None)
    lite = _Lite()
    for moment in MOMENTS:
        # SQLAlchemy hands sqlite3 the datetime, which sqlite3's adapter writes as text
        stored = sqlite3.adapters[(datetime, sqlite3.PrepareProtocol)](sa_bind(moment))
        assert rows.bound(lite, table, column, moment) == stored  # type: ignore[arg-type]
        (read,) = (p for k, p in [(column, rows._reader(lite, table, column))] if p)  # type: ignore[arg-type]
        assert read(stored) == sa_read(stored) == moment
        assert read(stored).tzinfo == sa_read(stored).tzinfo == UTC
    naive = "2025-07-21 09:30:15.123456"  # written by hand, without an offset: UTC
    assert rows._reader(lite, table, column)(naive) == sa_read(naive)  # type: ignore[arg-type,misc]
    with pytest.raises(ValueError, match="aware datetimes only"):
        rows.bound(lite, table, column, datetime(2025, 7, 21))  # type: ignore[arg-type]


@pytest.mark.parametrize(("table", "column"), _columns("bool"))
def test_a_boolean_is_stored_and_read_as_sqlalchemy_does(table: str, column: str) -> None:
    sa_type = tables.metadata.tables[table].c[column].type
    sa_read = sa_type.dialect_impl(DIALECT).result_processor(DIALECT, None)
    for value in (True, False):
        stored = sa_type.bind_processor(DIALECT)(value)
        assert rows.bound(_Lite(), table, column, value) == stored  # type: ignore[arg-type]
        assert rows._reader(_Lite(), table, column)(stored) is sa_read(stored) is value  # type: ignore[arg-type,misc]


def test_every_other_column_is_stored_as_given() -> None:
    for table, column in _columns("text") + _columns("int"):
        assert rows._binder(_Lite(), table, column) is None  # type: ignore[arg-type]
        sa_type = tables.metadata.tables[table].c[column].type
        assert sa_type.bind_processor(DIALECT) is None, (table, column)


def test_names_are_quoted_as_sqlalchemy_quotes_them() -> None:
    quote = LiteDialect.identifier_preparer.quote
    sa_quote = DIALECT.identifier_preparer.quote
    names = {n for t, cols in COLUMNS.items() for n in (t, *(c[0] for c in cols))}
    assert {n: quote(n) for n in names} == {n: sa_quote(n) for n in names}


def _actor_row(name: str) -> dict[str, object]:
    when = datetime.now(UTC)
    return {"name": name, "role": "officer", "created_at": when, "created_by": "test"}


def _names(url: str) -> list[str]:
    with db.read_connection(url) as conn:
        return [r[0] for r in conn.exec_driver_sql("SELECT name FROM actor ORDER BY name")]


@pytest.mark.parametrize("first", [True, False], ids=["first-hand-over", "later"])
@pytest.mark.parametrize("end", ["commit", "error", "dry run"])
def test_a_transaction_handed_to_sqlalchemy_midway_stays_one_transaction(
    tmp_path: Path, end: str, first: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text first (sqlite3), then a SQLAlchemy statement, a savepoint and more text: all of it
    commits together, or none of it does, whether or not it is the process's first hand-over
    (SQLAlchemy rolls back on an engine's first connection)."""
    from kopflow.engine import Kopflow
    from kopflow.store import lite

    url = db.resolve_url(str(tmp_path / "lite.db"))
    Kopflow(url, actor="admin").init()
    if first:
        monkeypatch.setattr(lite, "_engine", None)
    before = _names(url)
    columns = ("name", "role", "created_at", "created_by")
    try:
        with db.write_transaction(url) as conn:
            assert type(conn).__name__ == "LiteConnection"
            row = _actor_row("first")
            rows.insert_runs(conn, "actor", [tuple(row[c] for c in columns)], [(0, columns)])
            conn.execute(insert(tables.actor).values(**_actor_row("second")))
            savepoint = conn.begin_nested()
            conn.execute(insert(tables.actor).values(**_actor_row("dropped")))
            savepoint.rollback()
            row = _actor_row("third")
            rows.insert_runs(conn, "actor", [tuple(row[c] for c in columns)], [(0, columns)])
            seen = conn.execute(select(tables.actor.c.name)).scalars().all()
            assert {"first", "second", "third"} <= set(seen) and "dropped" not in seen
            if end == "error":
                raise RuntimeError("refused")
            if end == "dry run":
                conn.rollback()
    except RuntimeError:
        pass
    after = _names(url)
    if end == "commit":
        assert after == sorted([*before, "first", "second", "third"])
    else:
        assert after == before
    with db.read_connection(url) as conn:  # the same columns SQLAlchemy reads back
        (enabled, created) = conn.execute(
            select(tables.actor.c.enabled, tables.actor.c.created_at).limit(1)
        ).one()
    assert enabled is True and created.tzinfo == UTC  # the default, filled in by insert_runs


def test_the_error_that_ended_a_transaction_is_the_one_raised(tmp_path: Path) -> None:
    """SQLite rolls a transaction back by itself when the disk is full: the error raised is
    "full", not a failed ROLLBACK in its place (what would reach the user as a bug)."""
    from kopflow.engine import Kopflow

    url = db.resolve_url(str(tmp_path / "full.db"))
    Kopflow(url, actor="admin").init()
    with pytest.raises(sqlite3.OperationalError, match="full") as raised:
        with db.write_transaction(url) as conn:
            conn.exec_driver_sql("CREATE TABLE scratch (a TEXT)")
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            conn.exec_driver_sql(f"PRAGMA max_page_count = {pages + 2}")
            # many rows at once: SQLite then rolls the whole transaction back (one row that
            # does not fit only undoes its statement)
            conn.exec_driver_sql("INSERT INTO scratch VALUES (?)", [("x" * 5000,)] * 100)
    assert "rollback" not in str(raised.value)
    with db.read_connection(url) as conn:
        assert (
            conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'scratch'"
            ).scalar()
            == 0
        )


def test_nothing_runs_after_a_rollback(tmp_path: Path) -> None:
    """After a dry run's rollback sqlite3 would commit each further statement on its own."""
    from kopflow.engine import Kopflow

    url = db.resolve_url(str(tmp_path / "dry.db"))
    Kopflow(url, actor="admin").init()
    before = _names(url)
    for handed_over in (False, True):
        with db.write_transaction(url) as conn:
            if handed_over:
                conn.execute(select(tables.actor))
            conn.rollback()
            with pytest.raises(RuntimeError, match="rolled back"):
                conn.exec_driver_sql("DELETE FROM actor")
            with pytest.raises(RuntimeError, match="rolled back"):
                conn.execute(tables.actor.delete())
        assert _names(url) == before


@pytest.mark.parametrize("kind", ["bool", "datetime"])
def test_a_null_is_read_as_none(kind: str) -> None:
    table, column = _columns(kind)[0]
    assert rows._reader(_Lite(), table, column)(None) is None  # type: ignore[arg-type,misc]
    assert rows.bound(_Lite(), table, column, None) is None  # type: ignore[arg-type]
