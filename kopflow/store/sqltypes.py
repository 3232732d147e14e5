"""Column types shared by the SQLModel classes and their Core copy (``kopflow/store/tables.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import types

from kopflow.store.rows import from_store, to_store


class UTCDateTime(types.TypeDecorator[datetime]):
    """Store aware datetimes as UTC and read them back aware, on SQLite as on PostgreSQL.

    SQLite keeps no offset, so a naive value read from it is UTC by construction. Declared here,
    not taken from ``sqlmodel.sql.sqltypes``: importing that module imports all of SQLModel and
    pydantic, which commands avoid (issue #5).
    """

    impl = types.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        # kopflow.store.rows converts alike where SQLAlchemy is not used (SQLite, issue #15)
        return None if value is None else to_store(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else from_store(value)
