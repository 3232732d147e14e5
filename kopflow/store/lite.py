"""SQLite without importing SQLAlchemy: the connection every SQLite transaction runs on.

``import sqlalchemy`` costs about 0.3 s of CPU, more than half of what ``import sqlmodel`` costs
and so more than a single-cooperative command may spend in all (issue #15: ``status``, ``coop
show`` and ``step complete`` at most 0.6 of ``import sqlmodel``). A :class:`LiteConnection`
runs statement text (``exec_driver_sql``) on sqlite3 itself; anything else asked of it (a
SQLAlchemy statement, a savepoint, an attribute it does not have) goes to a SQLAlchemy
``Connection`` made on first need over the same sqlite3 connection, inside the same
transaction. So every statement still works as before, and a command whose statements are all
text never imports SQLAlchemy: the saving is where the commands most used are written so.

The transaction is this module's: ``BEGIN`` (reads) or ``BEGIN IMMEDIATE`` (writes, so writers
queue on the database lock: docs/decisions.md), then ``COMMIT`` or ``ROLLBACK``, through the
SQLAlchemy connection once there is one, so both agree on where it stands.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection


class LiteResult:
    """A statement's rows, read as SQLAlchemy's ``CursorResult`` reads them (the methods
    kopflow uses): plain tuples, no type conversion, as ``exec_driver_sql`` gives them."""

    __slots__ = ("_cursor", "rowcount")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
        self.rowcount: int = cursor.rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def keys(self) -> list[str]:
        return [column[0] for column in self._cursor.description or ()]

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def all(self) -> list[Any]:
        return self._cursor.fetchall()

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def first(self) -> Any:
        row = self._cursor.fetchone()
        self._cursor.close()
        return row

    def one(self) -> Any:
        rows = self._cursor.fetchmany(2)
        if len(rows) != 1:
            raise LookupError(f"expected one row, got {len(rows)}")
        return rows[0]

    def scalar(self) -> Any:
        row = self.first()
        return None if row is None else row[0]

    def scalars(self) -> Iterator[Any]:
        return (row[0] for row in self._cursor)


class _Quoting:
    """``identifier_preparer``: a name quoted where SQLite needs it, as SQLAlchemy quotes."""

    _plain = re.compile(r"[a-z_][a-z0-9_$]*\Z")

    def quote(self, name: str) -> str:
        # kopflow's names are lower-case words, none of them an SQL keyword SQLite reserves
        # (tests/test_lite.py compares every table and column name with SQLAlchemy's quoting).
        if self._plain.match(name):
            return name
        return '"' + name.replace('"', '""') + '"'


class LiteDialect:
    """What kopflow reads of ``conn.dialect`` on SQLite, without SQLAlchemy's dialect."""

    name = "sqlite"
    paramstyle = "qmark"
    dbapi = sqlite3
    identifier_preparer = _Quoting()


class _Driver:
    """``conn.connection``: the pooled connection's ``driver_connection`` (and
    ``dbapi_connection``), sqlite3's own."""

    __slots__ = ("dbapi_connection", "driver_connection")

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.driver_connection = self.dbapi_connection = raw


class LiteConnection:
    """One SQLite transaction on sqlite3, SQLAlchemy's ``Connection`` where asked (see the
    module's docstring). Made by :func:`transaction`; never shared between threads."""

    dialect = LiteDialect()

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw
        self.connection = _Driver(raw)
        self._sa: Connection | None = None
        self._open = True  # False once rolled back: the end commits nothing
        self.closed = False  # True once the transaction has ended

    def exec_driver_sql(self, sql: str, params: Any = None) -> LiteResult:
        """Run ``sql`` with qmark parameters: one tuple (or mapping), or a list of them (an
        ``executemany``), as SQLAlchemy's ``exec_driver_sql`` takes them."""
        if not self._open:
            # SQLAlchemy refuses this too: after a rollback sqlite3 would commit each statement
            raise RuntimeError("this transaction was rolled back; open a new one")
        cursor = self._raw.cursor()
        if params is None:
            cursor.execute(sql)
        elif isinstance(params, list) and (
            not params or isinstance(params[0], tuple | list | dict)
        ):
            if params:
                cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        return LiteResult(cursor)

    def rollback(self) -> None:
        """Undo the whole transaction now (a dry run); the end then commits nothing."""
        if self._sa is not None:
            self._sa.rollback()
        else:
            # sqlite3's rollback, not the statement: SQLite may have rolled back by itself
            # (a full disk, an I/O error), and ROLLBACK would then fail in the error's place.
            self._raw.rollback()
        self._open = False

    def sqlalchemy(self) -> Connection:
        """The SQLAlchemy connection on the same sqlite3 connection and transaction, made on
        first need (it imports SQLAlchemy: ~0.3 s of CPU)."""
        if not self._open:  # as in exec_driver_sql
            raise RuntimeError("this transaction was rolled back; open a new one")
        if self._sa is None:
            self._sa = _engine_on(self._raw).connect()
            # SQLAlchemy's pysqlite dialect emits nothing for BEGIN (the driver is in autocommit
            # mode and this module began the transaction): this only tells it one is open, so
            # savepoints, commit and rollback work as on any of its connections.
            self._sa.begin()
        return self._sa

    def __getattr__(self, name: str) -> Any:
        # Only for what this class does not define: execute(), begin_nested(), ...
        return getattr(self.sqlalchemy(), name)

    def _finish(self, commit: bool) -> None:
        sa, self._sa = self._sa, None
        try:
            if sa is not None:
                if self._open:
                    (sa.commit if commit else sa.rollback)()
                sa.close()
            elif self._open:
                # sqlite3's own commit and rollback: no error when SQLite ended the transaction
                # itself (see rollback), so the error that made it do so is the one reported.
                (self._raw.commit if commit else self._raw.rollback)()
        finally:
            self._open = False
            self.closed = True


class _Lent:
    """The open sqlite3 connection as SQLAlchemy's pool holds it: everything passes through
    but ``close``, for the transaction is this module's to end and the connection its to close.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def close(self) -> None:
        pass


_lent: ContextVar[sqlite3.Connection | _Lent] = ContextVar("kopflow_lite_lent")
_engine: Any = None  # SQLAlchemy's engine for every hand-over in this process


def _engine_on(raw: sqlite3.Connection) -> Any:
    """SQLAlchemy's engine, set to hand out ``raw`` on its next ``connect()``.

    One engine per process (so one cache of compiled statements), made by ``create_engine``
    with its documented ``creator``, a ``NullPool`` (a new pooled connection per hand-over) and
    no reset on return. An engine asks the database what it is on its first connection and
    then rolls back: that first connection is an in-memory database of its own, never a
    transaction under way (tests/test_lite.py checks one survives the hand-over).
    """
    global _engine
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    if _engine is None:
        engine = create_engine(
            "sqlite://", creator=_lent.get, poolclass=NullPool, pool_reset_on_return=None
        )
        token = _lent.set(sqlite3.connect(":memory:"))
        try:
            with engine.connect():
                pass
        finally:
            _lent.reset(token)
        _engine = engine
    _lent.set(_Lent(raw))
    return _engine


# Connections between transactions, as SQLAlchemy's pool kept them: SQLite's page cache is
# per connection, and a bulk command's next batch reads what the last one did (issue #15: with
# a new connection per transaction the lifecycle at 10,000 cooperatives took 9.7-12.3 s of CPU
# per run, with these 9.0-10.2 s).
# Keyed by process too: a connection never crosses a fork.
_idle: dict[tuple[Any, ...], list[sqlite3.Connection]] = {}
_idle_lock = threading.Lock()
_KEEP = 4  # a write and the reads inside it, at most, are open at once


def borrow(path: str, timeout: float, pragmas: Sequence[str]) -> sqlite3.Connection:
    """An idle connection to ``path`` opened with these settings, else a new one."""
    key = (path, timeout, tuple(pragmas), os.getpid())
    with _idle_lock:
        stack = _idle.get(key)
        if stack:
            return stack.pop()
    return connect(path, timeout, pragmas)


def give_back(raw: sqlite3.Connection, path: str, timeout: float, pragmas: Sequence[str]) -> None:
    """Keep ``raw`` for the next transaction, or close it (one still in a transaction, or one
    too many)."""
    key = (path, timeout, tuple(pragmas), os.getpid())
    with _idle_lock:
        stack = _idle.setdefault(key, [])
        if not raw.in_transaction and len(stack) < _KEEP:
            stack.append(raw)
            return
    raw.close()


def close_idle() -> None:
    """Close every idle connection (``kopflow.store.db.dispose_engines``)."""
    with _idle_lock:
        stacks = list(_idle.values())
        _idle.clear()
    for stack in stacks:
        for raw in stack:
            raw.close()


def connect(path: str, timeout: float, pragmas: Sequence[str]) -> sqlite3.Connection:
    """A sqlite3 connection to ``path`` in autocommit mode (this module begins transactions),
    with ``pragmas`` run; ``timeout``: seconds to wait for the database lock."""
    raw = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        for pragma in pragmas:
            raw.execute(pragma)
    except BaseException:
        raw.close()
        raise
    return raw


@contextmanager
def transaction(raw: sqlite3.Connection, *, write: bool) -> Iterator[LiteConnection]:
    """One transaction on ``raw``: committed when the ``with`` block ends, rolled back on an
    error. Use through ``kopflow.store.db``, which borrows ``raw`` and gives it back."""
    raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    conn = LiteConnection(raw)
    try:
        yield conn
    except BaseException:
        conn._finish(commit=False)
        raise
    else:
        conn._finish(commit=True)
