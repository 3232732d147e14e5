"""The schema is declared once, in ``kopflow/store/models.py``; ``kopflow/store/tables.py`` is its Core copy
and the migrations build it (issue #5 moved every statement onto the Core copy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest


def test_core_copy_is_written_from_the_models() -> None:
    """Edit models.py, then run ``python -m kopflow.store.models``: this fails until you do."""
    from kopflow.store import tables
    from kopflow.store.models import render_core_tables

    assert Path(tables.__file__).read_text(encoding="utf-8") == render_core_tables()


def test_columns_without_sqlalchemy_are_written_from_the_models() -> None:
    """kopflow/store/columns.py, what SQLite's path without SQLAlchemy knows of each table
    (issue #15): run ``python -m kopflow.store.models`` after editing models.py."""
    from kopflow.store import columns, tables
    from kopflow.store.models import render_columns

    assert Path(columns.__file__).read_text(encoding="utf-8") == render_columns()
    assert {t: [c[0] for c in cols] for t, cols in columns.COLUMNS.items()} == {
        name: [c.name for c in table.c] for name, table in tables.metadata.tables.items()
    }


# The index on lower(village name) is an expression SQLite's reflection cannot see (PostgreSQL's
# can, and compares it).
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrations_build_the_declared_schema(kopflow: Any) -> None:
    """alembic finds nothing to add, drop or change between the migrated database and either
    declaration, on SQLite and on PostgreSQL."""
    engine = kopflow
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from kopflow.store import db, models, tables

    assert models.Coop.__table__.metadata is SQLModel.metadata
    with db.read_connection(db.resolve_url(engine.url)) as conn:
        context = MigrationContext.configure(
            db.sqlalchemy_connection(conn), opts={"compare_type": True}
        )
        for metadata in (SQLModel.metadata, tables.metadata):
            diff = [
                d for d in compare_metadata(context, metadata) if "alembic_version" not in str(d)
            ]
            assert diff == []


def test_times_are_stored_and_read_as_utc(db_url: str) -> None:
    """A time given in WIB comes back as the same instant in UTC; a naive time is refused."""
    from sqlalchemy import Column, Integer, MetaData, Table, select
    from sqlalchemy.exc import StatementError

    from kopflow.store import db
    from kopflow.store.sqltypes import UTCDateTime

    table = Table("utc_probe", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UTCDateTime))  # fmt: skip
    wib = datetime(2026, 11, 23, 21, 30, tzinfo=timezone(timedelta(hours=7)))
    with db.write_transaction(db.resolve_url(db_url)) as conn:
        table.create(conn)
        conn.execute(table.insert().values(id=1, at=wib))
        with pytest.raises(StatementError, match="aware"):
            with conn.begin_nested():
                conn.execute(table.insert().values(id=2, at=datetime(2026, 11, 23, 14, 30)))
        got = conn.execute(select(table.c.at)).scalar_one()
        table.drop(conn)
    assert got == wib and got.tzinfo == UTC and got.hour == 14
