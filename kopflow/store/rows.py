"""Many rows in one statement at the DB-API level: the write path of bulk commands (issue #5).

SQLAlchemy's ``executemany`` builds and processes a parameter dictionary per row, which costs
more than SQLite's own insert. Here each statement's text is rendered once and each row is a
plain tuple; values are converted as SQLAlchemy's column types convert them (so a ``DateTime``
is stored exactly as SQLAlchemy stores it), once per distinct value. Tables are named, not
passed: on SQLite the conversions are this module's own, from ``kopflow.store.columns``, so
nothing here imports SQLAlchemy there (issue #15; tests/test_lite.py holds them to
SQLAlchemy's); on PostgreSQL they are the column types'.
Nothing here decides what to write: ``kopflow.pipeline.change`` and ``kopflow.audit.chain`` do.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy import Connection, Table

Converter = Callable[[Any], Any]


def param_mark(conn: Connection) -> str:
    # sqlite3 takes qmark; psycopg takes %s whatever SQLAlchemy's own paramstyle is.
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _processed(
    conn: Connection, table: str, keys: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Sequence[Sequence[Any]]:
    """Rows with each column's value converted for the driver (once per distinct value)."""
    procs = [(index, proc) for index, key in enumerate(keys) if (proc := _binder(conn, table, key))]
    if not procs or not rows:
        return rows
    adapt = _driver_adapter(conn)
    # Column by column: a processed column is replaced whole, and the rows rebuilt once
    # (a bulk batch's step records carry one timestamp, processed once, in 40,000 rows).
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for index, proc in procs:
        values = columns[index]
        # Once per distinct value, by identity: equal datetimes in different time zones are
        # stored differently. Every value is alive in ``rows``, so no id is reused meanwhile.
        memo = {
            id(value): None if value is None else adapt(proc(value))
            for value in dict(zip(map(id, values), values, strict=True)).values()
        }
        if len(memo) == 1:  # typically the unit's one timestamp
            columns[index] = (*memo.values(),) * len(values)
        else:
            columns[index] = [memo[id(value)] for value in values]
    return list(zip(*columns, strict=True))


def bound(conn: Connection, table: str, column: str, value: Any) -> Any:
    """``value`` as the driver is given it for ``table.column`` in statement text, converted
    as SQLAlchemy converts it (on SQLite a datetime becomes the text stored)."""
    proc = _binder(conn, table, column)
    if value is None:
        return None
    return _driver_adapter(conn)(value if proc is None else proc(value))


def to_store(value: datetime.datetime) -> datetime.datetime:
    """An aware datetime in UTC, as kopflow stores every one (``UTCDateTime`` binds with this)."""
    if value.utcoffset() is None:
        raise ValueError("kopflow stores aware datetimes only: use datetime.now(UTC)")
    return value.astimezone(datetime.UTC)


def from_store(value: datetime.datetime) -> datetime.datetime:
    """A stored datetime, aware in UTC: SQLite keeps no offset, so a naive one is UTC by
    construction (``UTCDateTime`` reads with this)."""
    if value.utcoffset() is None:
        return value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def _read_datetime(value: str | None) -> datetime.datetime | None:
    # The text sqlite3 wrote ('2025-04-01 10:00:00.123456+00:00'), or one SQLAlchemy's SQLite
    # DATETIME wrote without an offset, as UTCDateTime reads them.
    return None if value is None else from_store(datetime.datetime.fromisoformat(value))


def _as_bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


# SQLite: (before binding, after reading) per kind of kopflow.store.columns. Binding never
# sees None (_processed and bound pass it through); reading does, from a nullable column.
_SQLITE_KINDS: dict[str, tuple[Converter | None, Converter | None]] = {
    "text": (None, None),
    "int": (None, None),
    "bool": (int, _as_bool),
    "datetime": (to_store, _read_datetime),
}


@cache
def _kinds(table: str) -> dict[str, tuple[Converter | None, Converter | None]]:
    from kopflow.store.columns import COLUMNS

    return {name: _SQLITE_KINDS[kind] for name, kind, _default in COLUMNS[table]}


def _binder(conn: Connection, table: str, key: str) -> Converter | None:
    if conn.dialect.name == "sqlite":
        return _kinds(table)[key][0]
    return cast("Converter | None", _table(table).c[key].type.bind_processor(conn.dialect))


def _reader(conn: Connection, table: str, key: str) -> Converter | None:
    if conn.dialect.name == "sqlite":
        return _kinds(table)[key][1]
    column_type = _table(table).c[key].type.dialect_impl(conn.dialect)
    return cast("Converter | None", column_type.result_processor(conn.dialect, None))


def _table(name: str) -> Table:
    from kopflow.store import tables

    return tables.metadata.tables[name]


def defaults(table: str) -> dict[str, Any]:
    """The columns of ``table`` that have a Python default, with it (all are scalar)."""
    from kopflow.store.columns import COLUMNS

    return {name: default for name, _kind, default in COLUMNS[table] if default is not None}


def column_names(table: str) -> list[str]:
    """The columns of ``table``, in order."""
    from kopflow.store.columns import COLUMNS

    return [name for name, _kind, _default in COLUMNS[table]]


def _driver_adapter(conn: Connection) -> Callable[[Any], Any]:
    """What the driver turns a bound value into before binding it, for values it adapts.

    sqlite3 runs its registered adapter (the one for ``datetime``, which SQLAlchemy's
    ``DateTime`` hands over as is) for every row of an ``executemany``: applied here once per
    distinct value instead, the driver gets the very text it would have made (issue #5).
    Other drivers get the values unchanged.
    """
    dbapi = conn.dialect.dbapi
    adapters = getattr(dbapi, "adapters", None)
    protocol = getattr(dbapi, "PrepareProtocol", None)
    if conn.dialect.name != "sqlite" or adapters is None or protocol is None:
        return lambda value: value

    def adapt(value: Any) -> Any:
        adapter = adapters.get((type(value), protocol))
        return value if adapter is None else adapter(value)

    return adapt


def insert_many(
    conn: Connection, table: str, keys: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``INSERT INTO table (keys) VALUES (...)`` once per row of ``rows`` (tuples in ``keys``
    order), as one ``executemany``."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    mark = param_mark(conn)
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(k) for k in keys)}) "
        f"VALUES ({', '.join([mark] * len(keys))})"
    )
    conn.exec_driver_sql(sql, _processed(conn, table, keys, rows))


def copy_many(
    conn: Connection, table: str, keys: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """:func:`insert_many` with PostgreSQL's ``COPY FROM`` (issue #15: about twice as fast for
    the append-only tables of a bulk batch). Only for a table :func:`copyable` names: the
    server refuses COPY FROM into a table whose row-level security applies to the login.

    Errors are SQLAlchemy's, as from any statement, so ``db`` reports them alike.
    """
    if not rows:
        return
    import psycopg
    from sqlalchemy.exc import DBAPIError

    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table)} ({', '.join(quote(k) for k in keys)}) FROM STDIN"
    values = _processed(conn, table, keys, rows)
    driver = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
    except psycopg.Error as err:
        raise DBAPIError.instance(sql, None, err, psycopg.Error) from err


def copyable(conn: Connection, names: Sequence[str]) -> frozenset[str]:
    """The tables of ``names`` this login may fill with ``COPY FROM`` (none on SQLite).

    PostgreSQL refuses ``COPY FROM`` into a table with row-level security that applies to the
    login ("COPY FROM not supported with row-level security"): migrations 0004 and 0005 turn
    it on for the logins ``kopflow db grant`` makes, so for them it stays INSERT, checked row
    by row by the policies. The owner and a superuser, which the policies do not bind, may.
    """
    if conn.dialect.name != "postgresql" or not names:
        return frozenset()
    found = conn.exec_driver_sql(
        "SELECT t FROM unnest(%s::text[]) AS t "
        "WHERE NOT row_security_active(t) AND has_table_privilege(t, 'INSERT')",
        (list(names),),
    ).scalars()
    return frozenset(str(name) for name in found)


def insert_runs(
    conn: Connection,
    table: str,
    rows: Sequence[tuple[Any, ...]],
    runs: Sequence[tuple[int, tuple[str, ...]]],
    *,
    copy: bool = False,
) -> None:
    """:func:`insert_many` for ``rows`` in order, in ``runs`` of the same columns: (index of
    the run's first row, its columns), the first run starting at row 0 (with ``copy``,
    :func:`copy_many`: only for a table :func:`copyable` names).

    As SQLAlchemy's ``insert()``, a column left out gets its scalar Python default.
    """
    ends = [start for start, _columns in runs[1:]] + [len(rows)]
    for (start, keys), end in zip(runs, ends, strict=True):
        _insert_group(conn, table, keys, rows[start:end] if len(runs) > 1 else rows, copy)


def _insert_group(
    conn: Connection,
    table: str,
    keys: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    copy: bool = False,
) -> None:
    extra = [(key, default) for key, default in defaults(table).items() if key not in keys]
    fixed = tuple(default for _key, default in extra)
    names = [*keys, *(key for key, _default in extra)]
    values = [row + fixed for row in rows] if fixed else rows
    (copy_many if copy else insert_many)(conn, table, names, values)


@dataclass(frozen=True, slots=True)
class IdRange:
    """A bulk batch's cooperative ids that are all, or nearly all, the ids from the lowest to
    the highest (see :func:`id_range`)."""

    low: str
    high: str
    ids: frozenset[str]


# Read by a range only when the range holds at most this share more cooperatives than asked
# for: each extra cooperative's rows are read and dropped.
_RANGE_SLACK = 8  # 1/8 = 12.5%
_RANGE_AT_LEAST = 64


def id_range(conn: Connection, ids: Sequence[str]) -> IdRange | None:
    """``ids`` as a range of cooperative ids for :func:`rows_in`'s ``within``, when they are
    nearly all the cooperatives between the lowest and the highest (a bulk batch of a stage,
    an area or the country: ids sorted, region codes in order), else None.

    A range is read with one index scan per step instead of one probe per cooperative and
    step (issue #15: 2,000 cooperatives' states of six steps in 14 ms instead of 22). SQLite only: it compares
    text by code point, as Python's ``min`` and ``max`` do; a PostgreSQL database's collation
    may order ids otherwise, and there ``= ANY`` is one array probe already.
    """
    if conn.dialect.name != "sqlite" or len(ids) < _RANGE_AT_LEAST:
        return None
    wanted = frozenset(ids)
    low, high = min(wanted), max(wanted)
    sql = "SELECT count(*) FROM coop WHERE id BETWEEN ? AND ?"
    ((count,),) = fetch(conn, sql, (low, high))
    if count > len(wanted) + len(wanted) // _RANGE_SLACK:
        return None
    return IdRange(low, high, wanted)


def rows_in(
    conn: Connection,
    sql: str,
    column: str,
    values: Sequence[Any],
    *,
    also: tuple[str, Sequence[Any]] | None = None,
    tail: str = "",
    chunk: int = 5000,
    within: IdRange | None = None,
) -> list[Any]:
    """Rows of ``sql WHERE column IN values [AND also[0] IN also[1]] tail``, read at the
    driver, in chunks of ``values``.

    For reads of many cooperatives at once, without SQLAlchemy compiling an expanding ``IN``
    and building a row object per row. PostgreSQL gets one array (``= ANY(%s)``) instead of
    thousands of parameters. Only plain columns (no type conversion) belong here.

    ``within`` (:func:`id_range` of ``values``) reads ``column BETWEEN low AND high`` instead
    and keeps the rows of ``values``: ``sql`` must then select ``column`` first.
    """
    found: list[Any] = []
    extra, extra_params = ("", ()) if also is None else _in(conn, *also)
    if extra:
        extra = f"AND {extra} "
    if within is not None:
        where = f"{column} BETWEEN ? AND ? {extra}{tail}"
        rows = fetch(conn, f"{sql} WHERE {where}", (within.low, within.high, *extra_params))
        ids = within.ids
        return [row for row in rows if row[0] in ids]
    for start in range(0, len(values), chunk):
        where, params = _in(conn, column, values[start : start + chunk])
        found.extend(fetch(conn, f"{sql} WHERE {where} {extra}{tail}", (*params, *extra_params)))
    return found


def table_rows_in(
    conn: Connection,
    table: str,
    column: str,
    values: Sequence[Any],
    columns: Sequence[str] | None = None,
    within: IdRange | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``table`` whose ``column`` is in ``values``, as :func:`rows_in` reads them,
    each a dictionary of the values SQLAlchemy would return (column types' result processors
    applied): a bulk batch's cooperatives without SQLAlchemy's row objects (issue #5).

    ``columns`` names the only columns read (issue #15: a bulk step reads no timestamps);
    None reads whole rows. ``within``: as for :func:`rows_in` (``column`` read first).
    """
    quote = conn.dialect.identifier_preparer.quote
    keys = column_names(table) if columns is None else list(columns)
    if within is not None and keys[0] != column:
        keys = [column, *(key for key in keys if key != column)]
    procs = [(key, proc) for key in keys if (proc := _reader(conn, table, key))]
    names = ", ".join(quote(key) for key in keys)
    sql = f"SELECT {names} FROM {quote(table)}"
    found = rows_in(conn, sql, quote(column), values, within=within)
    # Once per distinct stored value: a batch of cooperatives changed together shares its
    # timestamps, and parsing them was most of building a row. Only immutable values are
    # looked up and shared between rows.
    memos: dict[str, dict[Any, Any]] = {key: {} for key, _proc in procs}
    out = []
    for values_ in found:
        row = dict(zip(keys, values_, strict=True))
        for key, proc in procs:
            memo, stored = memos[key], row[key]
            if type(stored) not in _IMMUTABLE:
                row[key] = proc(stored)
                continue
            seen = (type(stored), stored)  # 1, 1.0 and True are equal keys otherwise
            value = memo.get(seen, memo)
            if value is memo:
                value = proc(stored)
                if type(value) in _IMMUTABLE:
                    memo[seen] = value
            row[key] = value
        out.append(row)
    return out


_IMMUTABLE = frozenset(
    {datetime.datetime, datetime.date, datetime.time, datetime.timedelta, decimal.Decimal}
    | {str, bytes, int, float, bool, type(None)}
)


def mappings(conn: Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``sql``, whose parameters are named (``:name``), as dictionaries of the
    driver's values: what ``conn.execute(text(sql), params).mappings()`` gives, without
    SQLAlchemy on SQLite (sqlite3 takes ``:name`` itself)."""
    if conn.dialect.name == "sqlite":
        result = conn.exec_driver_sql(sql, params)
        keys = list(result.keys())
        return [dict(zip(keys, row, strict=True)) for row in result]
    from sqlalchemy import text

    return [dict(row) for row in conn.execute(text(sql), params).mappings()]


def is_integrity_error(err: BaseException) -> bool:
    """Whether ``err`` is a constraint the database refused (a primary key, a unique index):
    sqlite3's own, or any driver's as SQLAlchemy wraps it."""
    import sqlite3

    if isinstance(err, sqlite3.IntegrityError):
        return True
    return type(err).__name__ == "IntegrityError" and type(err).__module__ == "sqlalchemy.exc"


def fetch(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """All rows of one query in the connection's transaction, as the driver's own tuples.

    On SQLite straight from sqlite3: SQLAlchemy's ``Row`` for each of the tens of thousands of
    step versions a bulk batch reads cost a third as much as reading them (issue #5). On
    PostgreSQL through SQLAlchemy, whose wrapped errors ``db`` turns into permission refusals.
    """
    if conn.dialect.name != "sqlite":
        return list(conn.exec_driver_sql(sql, params).fetchall())
    # sqlite3's own connection, which a connection in a transaction always has.
    driver = cast("sqlite3.Connection", conn.connection.driver_connection)
    cursor = driver.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _in(conn: Connection, column: str, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
    """``column IN (?, ...)`` and its parameters; one array parameter on PostgreSQL."""
    mark = param_mark(conn)
    if conn.dialect.name == "postgresql":
        return f"{column} = ANY({mark})", (list(values),)
    return f"{column} IN ({', '.join([mark] * len(values))})", tuple(values)


def update_many(
    conn: Connection,
    table: str,
    keys: Sequence[str],
    where: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> int:
    """``UPDATE table SET keys WHERE where`` per row (values of ``keys`` then of ``where``).

    Returns:
        The number of rows changed, summed over ``rows``.
    """
    if not rows:
        return 0
    quote = conn.dialect.identifier_preparer.quote
    mark = param_mark(conn)
    sql = (
        f"UPDATE {quote(table)} SET {', '.join(f'{quote(k)} = {mark}' for k in keys)} "
        f"WHERE {' AND '.join(f'{quote(k)} = {mark}' for k in where)}"
    )
    params = _processed(conn, table, [*keys, *where], rows)
    return int(conn.exec_driver_sql(sql, params).rowcount)
