"""Ordinary failures of the machine, said as what they are (issue #14).

A full disk, a read-only or immutable database file, a PostgreSQL schema that does not exist:
the driver raises them as SQLAlchemy, sqlite3, psycopg or OS errors from wherever the write
was, and they used to end as "unexpected ..." with exit 70, the status kept for bugs.
:func:`explain` recognises them in an exception (or the exceptions it wraps) and gives the
``KopflowError`` a user can act on; the CLI asks it before calling anything a bug.

"The database is busy" (locks, timeouts) is not here: ``kopflow.store.db`` owns it.
"""

from __future__ import annotations

import errno

from kopflow.errors import InputError, KopflowError, StorageError

# SQLSTATEs of PostgreSQL (Appendix A of its manual)
_PG_DISK_FULL = "53100"
_PG_READ_ONLY = "25006"  # read_only_sql_transaction: a standby, or default_transaction_read_only
_PG_NO_SCHEMA = "3F000"  # invalid_schema_name: search_path names no schema that exists


def _disk_full() -> StorageError:
    return StorageError(
        "the disk is full (no space left to write); nothing was written. Free some space, "
        "then run the command again"
    )


def _read_only() -> StorageError:
    return StorageError(
        "the database is read-only (file permissions, an immutable file, a read-only disk or "
        "server); nothing was written. Make it writable, or give --db a database you may write"
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (SQLAlchemy's ``orig``, ``__cause__``, ``__context__``)."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen) or len(seen) > 20:
            continue
        seen.append(item)
        orig = getattr(item, "orig", None)
        todo.extend(
            [orig if isinstance(orig, BaseException) else None, item.__cause__, item.__context__]
        )
    return seen


def explain(exc: BaseException) -> KopflowError | None:
    """The user's error for an ordinary failure of the disk or the database, or None."""
    for cause in _causes(exc):
        if isinstance(cause, KopflowError):
            return None
        if isinstance(cause, OSError) and cause.errno is not None:
            if cause.errno in (errno.ENOSPC, errno.EDQUOT):
                return _disk_full()
            if cause.errno == errno.EROFS:
                return _read_only()
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate == _PG_DISK_FULL:
            return _disk_full()
        if sqlstate == _PG_READ_ONLY:
            return _read_only()
        if sqlstate == _PG_NO_SCHEMA:
            return InputError(
                "the schema the database URL names (options=-csearch_path=...) does not exist; "
                "create it (CREATE SCHEMA name) or correct the URL"
            )
        if type(cause).__module__ == "sqlite3":
            text = str(cause).lower()
            if "database or disk is full" in text:
                return _disk_full()
            if "readonly database" in text or "read-only" in text:
                return _read_only()
    return None
