"""All database tables, as SQLModel classes: fields and indexes only, no behaviour.

This is where the schema is declared. The alembic migrations in ``kopflow/migrations`` create it
(and are checked against these classes); the rest of kopflow works on ``kopflow/store/tables.py``, the
same tables in plain SQLAlchemy Core, written from these classes by ``python -m kopflow.store.models``.
Why a written copy: importing SQLModel brings pydantic and the ORM, about 250 ms of every
command's start, and kopflow only ever issues Core statements (issue #5). ``tests/test_tables.py``
fails when the copy and these classes differ.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from kopflow.store.sqltypes import UTCDateTime


class Coop(SQLModel, table=True):
    """One cooperative (KDKMP), normally one per desa/kelurahan; its current stage and version."""

    __tablename__ = "coop"
    # Every filter the CLI offers (issue #5): kabupaten, kecamatan and stage alone use these
    # as prefixes; stage_since serves the overdue lists.
    __table_args__ = (
        Index("ix_coop_kabupaten_stage", "kabupaten", "stage"),
        Index("ix_coop_kecamatan_stage", "kecamatan", "stage"),
        Index("ix_coop_stage_since", "stage", "stage_since"),
    )

    id: str = Field(primary_key=True, max_length=32)
    name: str
    village: str = Field(
        index=True
    )  # the first (usually only) village, used to find a coop by name
    kecamatan: str
    kabupaten: str
    provinsi: str
    workflow: str
    workflow_version: int
    stage: str
    stage_since: datetime = Field(sa_type=UTCDateTime)
    # Where `resume` returns to after `suspend`: the engine keeps it, the machine reads it.
    previous_stage: str | None = None
    # Optimistic concurrency (issue #4): every change does UPDATE ... WHERE version = :seen.
    version: int = 1
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str


class CoopVillage(SQLModel, table=True):
    """A village a cooperative covers; one village belongs to one cooperative at most."""

    __tablename__ = "coop_village"
    # Finding a cooperative by its village's name, whatever its case.
    __table_args__ = (Index("ix_coop_village_name_lower", text("lower(name)")),)

    region_id: str = Field(primary_key=True, max_length=32)  # areaid's village id, or a CSV's code
    coop_id: str = Field(foreign_key="coop.id", index=True, max_length=32)
    name: str
    kecamatan: str
    postal_code: str | None = None


class StepRecord(SQLModel, table=True):
    """One version of a step's evidence. Corrections and undos add versions; nothing is updated."""

    __tablename__ = "step_record"
    __table_args__ = (
        UniqueConstraint("coop_id", "step", "version", name="uq_step_version"),
        # `partner status` counts cooperatives per step.
        Index("ix_step_record_step", "step", "coop_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Found through uq_step_version's index (coop_id first): no index of its own.
    coop_id: str = Field(foreign_key="coop.id", max_length=32)
    step: str = Field(max_length=80)  # "musdesus", or "bri.account" for a partner's step
    version: int
    status: str = Field(max_length=8)  # "done" or "undone"
    evidence: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    reason: str | None = None
    actor: str
    at: datetime = Field(sa_type=UTCDateTime)
    audit_seq: int


class UniqueValue(SQLModel, table=True):
    """An identifier a cooperative holds (a field declared ``unique``: NIB, NPWP, ...).

    The unique index on the values still held makes the database refuse a second cooperative
    with the same value, on both backends and whatever the writers (issue #12). Written in the
    transaction of the step that records it; a correction or an undo of that step marks the
    cooperative's earlier values released (nothing is deleted, as everywhere in kopflow).
    """

    __tablename__ = "unique_value"
    __table_args__ = (
        Index(
            "uq_unique_value_held",
            "scope",
            "value",
            unique=True,
            sqlite_where=text("released_seq IS NULL"),
            postgresql_where=text("released_seq IS NULL"),
        ),
        # A correction or an undo releases a cooperative's values of one step.
        Index("ix_unique_value_coop_step", "coop_id", "step"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=160)  # "nib.nib", "bri.account.account_number"
    value: str
    coop_id: str = Field(foreign_key="coop.id", max_length=32)
    step: str = Field(max_length=80)
    audit_seq: int  # the event that recorded it
    released_seq: int | None = None  # the event of the correction or undo that released it


class TransitionRecord(SQLModel, table=True):
    """Every stage change of a cooperative: the history its current stage must agree with."""

    __tablename__ = "transition"
    # The report's "moved to a stage in a period" counts.
    __table_args__ = (Index("ix_transition_dest_at", "dest", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    coop_id: str = Field(foreign_key="coop.id", index=True, max_length=32)
    event: str
    source: str
    dest: str
    reason: str | None = None
    actor: str
    at: datetime = Field(sa_type=UTCDateTime)
    audit_seq: int


class Enrollment(SQLModel, table=True):
    """A cooperative enrolled with a partner (BRI, Pos, ...), whose steps it must then complete."""

    __tablename__ = "enrollment"

    coop_id: str = Field(foreign_key="coop.id", primary_key=True, max_length=32)
    partner: str = Field(primary_key=True, index=True, max_length=40)
    actor: str
    at: datetime = Field(sa_type=UTCDateTime)
    audit_seq: int


class Outbox(SQLModel, table=True):
    """A notification a partner asked for, written in the transaction of the change it is about
    (issue #13): a committed change always has its row, a refused one never does.

    ``kopflow partner deliver`` hands the pending rows to the partner's plugin in audit order
    and marks each one delivered in a transaction of its own; ``audit_seq`` is the idempotency
    key the partner receives (one row per event and partner).
    """

    __tablename__ = "outbox"
    # Delivery and the listings read one partner's rows of one status in audit order.
    __table_args__ = (Index("ix_outbox_partner_status", "partner", "status", "audit_seq"),)

    audit_seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    partner: str = Field(primary_key=True, max_length=40)
    coop_id: str | None = Field(default=None, max_length=32)
    action: str = Field(max_length=40)  # the audit event's action: "step.completed", ...
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON from the plugin
    created_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(max_length=10)  # "pending", "failed" or "delivered"
    attempts: int = 0
    last_error: str | None = None
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """One link of the hash chain. ``body`` holds the exact canonical bytes that were hashed.

    The other columns repeat fields of ``body`` so auditors can filter by index; ``audit verify``
    checks that they agree with the hashed body.
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_coop_seq", "coop_id", "seq"),)

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: str = Field(index=True, max_length=32)  # ISO-8601 UTC, as in the body
    actor: str = Field(index=True)
    role: str
    action: str = Field(index=True)
    coop_id: str | None = Field(default=None, max_length=32)
    body: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class ChainHead(SQLModel, table=True):
    """The single row naming the chain's newest event; writers lock it to serialize appends."""

    __tablename__ = "chain_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(max_length=64)
    log_id: str  # a random name for this log, fixed at init: the origin line of checkpoints


class Actor(SQLModel, table=True):
    """Someone who may act: an officer of a kabupaten, a partner's staff, an auditor, an admin."""

    __tablename__ = "actor"

    name: str = Field(primary_key=True)
    role: str = Field(max_length=16)
    region: str | None = None  # kabupaten, for officers
    partner: str | None = None  # partner code, for partner staff
    enabled: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str


class WorkflowDef(SQLModel, table=True):
    """Each workflow definition a cooperative has run, kept so a changed file is noticed.

    The same name and version with another digest means someone edited a definition in use
    without giving it a new version: the engine refuses to work until they do (issue #2).
    """

    __tablename__ = "workflow_def"

    name: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    digest: str = Field(max_length=64)
    source: str = Field(sa_column=Column(Text, nullable=False))  # the YAML text as first used
    first_used_at: datetime = Field(sa_type=UTCDateTime)


class PartnerOrg(SQLModel, table=True):
    """A partner in the district's directory (issue #16): a BUMN, BUMD, bank, private buyer or
    government office, with or without a plugin (a plugin's partner has the same code)."""

    __tablename__ = "partner_org"

    code: str = Field(primary_key=True, max_length=40)
    name: str
    kind: str = Field(max_length=16)  # bumn, bumd, bank, private, government
    office: str | None = None  # the local office: "BRI Cabang Singaraja"
    contact: str | None = None
    # What it offers, canonical JSON: [{"commodity": "lpg-3kg", "label": ..., "unit": ...}]
    offers: str = Field(sa_column=Column(Text, nullable=False))
    actor: str
    at: datetime = Field(sa_type=UTCDateTime)
    audit_seq: int


class PartnerCap(SQLModel, table=True):
    """A partner's monthly cap per cooperative for one commodity (LPG: 200 cylinders), for
    every district (``kabupaten`` empty) or one district's own; the newest row wins."""

    __tablename__ = "partner_cap"
    __table_args__ = (Index("ix_partner_cap_lookup", "partner", "commodity", "kabupaten"),)

    id: int | None = Field(default=None, primary_key=True)
    partner: str = Field(max_length=40)
    commodity: str = Field(max_length=40)
    kabupaten: str  # "" = every district without a cap of its own
    cap: int
    unit: str
    actor: str
    at: datetime = Field(sa_type=UTCDateTime)
    audit_seq: int


class Forum(SQLModel, table=True):
    """A partnership forum a district office held: rakor, business matching, kontak bisnis,
    socialisation or seminar."""

    __tablename__ = "forum"

    id: str = Field(primary_key=True, max_length=40)  # the code an officer gives it
    name: str
    kind: str = Field(max_length=24)
    starts: str = Field(max_length=10)  # ISO dates: a forum has days, not moments
    ends: str = Field(max_length=10)
    place: str | None = None
    office: str | None = None  # the organising office
    kabupaten: str = Field(index=True)
    actor: str
    at: datetime = Field(sa_type=UTCDateTime)
    audit_seq: int


class ForumPartner(SQLModel, table=True):
    """A partner invited to a forum, or present at it (one row each)."""

    __tablename__ = "forum_partner"

    forum_id: str = Field(foreign_key="forum.id", primary_key=True, max_length=40)
    partner: str = Field(primary_key=True, max_length=40)
    status: str = Field(primary_key=True, max_length=8)  # invited, present
    actor: str
    at: datetime = Field(sa_type=UTCDateTime)
    audit_seq: int


class ForumAttendance(SQLModel, table=True):
    """A cooperative that attended a forum, and who represented it."""

    __tablename__ = "forum_attendance"

    forum_id: str = Field(foreign_key="forum.id", primary_key=True, max_length=40)
    coop_id: str = Field(foreign_key="coop.id", primary_key=True, index=True, max_length=32)
    rep_name: str | None = None
    rep_role: str | None = Field(default=None, max_length=16)  # ketua, pengurus, pengawas, manajer
    actor: str
    at: datetime = Field(sa_type=UTCDateTime)
    audit_seq: int


class Lead(SQLModel, table=True):
    """A cooperative's interest in a partner's commodity or service; its states are in
    ``lead_record``, one version per change, as a step's are."""

    __tablename__ = "lead"
    __table_args__ = (Index("ix_lead_partner", "partner", "coop_id"),)

    id: str = Field(primary_key=True, max_length=24)  # "L-<audit seq of its birth>"
    coop_id: str = Field(foreign_key="coop.id", index=True, max_length=32)
    partner: str = Field(max_length=40)
    commodity: str = Field(max_length=40)
    quantity: int | None = None  # per month, in the cap's unit
    forum_id: str | None = Field(default=None, index=True, max_length=40)
    actor: str
    at: datetime = Field(sa_type=UTCDateTime)
    audit_seq: int


class LeadRecord(SQLModel, table=True):
    """One state of a lead: interest, intent, agreement, declined or lapsed. Nothing is updated."""

    __tablename__ = "lead_record"
    __table_args__ = (UniqueConstraint("lead_id", "version", name="uq_lead_version"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: str = Field(foreign_key="lead.id", max_length=24)
    version: int
    status: str = Field(max_length=12)
    details: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    on_date: str | None = Field(default=None, max_length=10)  # the document's date (ISO)
    actor: str
    at: datetime = Field(sa_type=UTCDateTime)
    audit_seq: int


# --- The Core copy: kopflow/store/tables.py ----------------------------------------------------------

# SQLModel's types and the Core types written for them. AutoString only differs from String on
# MySQL, which kopflow does not support.
_CORE_TYPES = {
    "AutoString": "String",
    "String": "String",
    "Integer": "Integer",
    "Boolean": "Boolean",
    "Text": "Text",
    "UTCDateTime": "UTCDateTime",
}

_HEADER = '''"""The database tables in plain SQLAlchemy Core, for every statement kopflow issues.

Written by ``python -m kopflow.store.models`` from the SQLModel classes in ``kopflow/store/models.py``, where
the schema is declared; do not edit by hand. ``tests/test_tables.py`` fails when they differ.
"""

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from kopflow.store.sqltypes import UTCDateTime

metadata = MetaData()
'''


def _q(name: str) -> str:
    """A name as ruff formats a string: double quotes (names hold no quotes)."""
    return f'"{name}"'


def _render_column(column: Any) -> str:
    kind = type(column.type).__name__
    if kind not in _CORE_TYPES:
        raise TypeError(f"no Core type for {column.table.name}.{column.name} ({kind})")
    length = getattr(column.type, "length", None)
    args = [_q(column.name), _CORE_TYPES[kind] + (f"({length})" if length else "")]
    args += [f"ForeignKey({_q(fk.target_fullname)})" for fk in column.foreign_keys]
    if column.primary_key:
        args.append("primary_key=True")
    if column.autoincrement is False:
        args.append("autoincrement=False")
    args.append(f"nullable={column.nullable}")
    if column.default is not None:
        args.append(f"default={column.default.arg!r}")
    return f"Column({', '.join(args)})"


def _partial(index: Any) -> str | None:
    """The WHERE of a partial index, which must read the same on SQLite and PostgreSQL.

    The Core copy names it as ``sqlite_where`` alone: a ``postgresql_where`` argument makes
    SQLAlchemy import its whole PostgreSQL dialect (every driver module, asyncio with asyncpg's)
    to check the name, about 40 ms of CPU at every command's start on SQLite too (issue #15).
    The copy issues statements and never creates a schema (the migrations do, from these
    classes), so the one clause loses nothing; a partial index whose two clauses differ could
    not be written that way, and is refused here rather than copied wrong.
    """
    sqlite, postgresql = (index.dialect_options[d].get("where") for d in ("sqlite", "postgresql"))
    if sqlite is None and postgresql is None:
        return None
    if sqlite is None or postgresql is None or str(sqlite) != str(postgresql):
        raise ValueError(f"index {index.name}: give the same WHERE for sqlite and postgresql")
    return str(sqlite)


def render_core_tables() -> str:
    """The source of ``kopflow/store/tables.py``: every table of this module, in Core."""
    out = [_HEADER]
    for table in SQLModel.metadata.sorted_tables:
        out.append(f"\n{table.name} = Table(\n    {_q(table.name)},\n    metadata,")
        out += [f"    {_render_column(column)}," for column in table.columns]
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            names = ", ".join(
                _q(e.name) if isinstance(e, Column) else f"text({_q(str(e))})"
                for e in index.expressions
            )
            wheres = [f"sqlite_where=text({_q(where)})" for where in [_partial(index)] if where]
            if wheres:  # a partial index: written as ruff formats the long call
                args = [_q(str(index.name)), *names.split(", "), f"unique={index.unique}"]
                out.append("    Index(")
                out += [f"        {arg}," for arg in [*args, *wheres]]
                out.append("    ),")
            else:
                out.append(f"    Index({_q(str(index.name))}, {names}, unique={index.unique}),")
        for constraint in sorted(table.constraints, key=lambda c: str(c.name)):
            if isinstance(constraint, UniqueConstraint):
                names = ", ".join(_q(c.name) for c in constraint.columns)
                out.append(f"    UniqueConstraint({names}, name={_q(str(constraint.name))}),")
        out.append(")")
    return "\n".join(out) + "\n"


# --- Without SQLAlchemy: kopflow/store/columns.py ------------------------------------------------

# The kinds of value kopflow.store.rows converts itself on SQLite (kopflow.store.lite).
_KINDS = {"String": "text", "Text": "text", "Integer": "int", "Boolean": "bool"}
_KINDS["UTCDateTime"] = "datetime"

_COLUMNS_HEADER = '''"""Each table's columns in order, with their kind of value and Python default, for the SQLite
path that runs without SQLAlchemy (``kopflow.store.lite``, ``kopflow.store.rows``; issue #15).

Written by ``python -m kopflow.store.models`` from the SQLModel classes in ``kopflow/store/models.py``, where
the schema is declared; do not edit by hand. ``tests/test_tables.py`` fails when they differ.
Kinds: ``text``, ``int``, ``bool`` (stored 0 or 1) and ``datetime`` (aware, stored in UTC).
"""

from typing import Any

# table -> ((column, kind, default or None), ...)
COLUMNS: dict[str, tuple[tuple[str, str, Any], ...]] = {
'''


def render_columns() -> str:
    """The source of ``kopflow/store/columns.py``: every table's columns, kinds and defaults."""
    out = [_COLUMNS_HEADER.rstrip("\n")]
    for table in SQLModel.metadata.sorted_tables:
        out.append(f"    {_q(table.name)}: (")
        for column in table.columns:
            kind = _KINDS[_CORE_TYPES[type(column.type).__name__]]
            default = getattr(column.default, "arg", None)
            out.append(f"        ({_q(column.name)}, {_q(kind)}, {default!r}),")
        out.append("    ),")
    out.append("}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    for name, render in (("tables.py", render_core_tables), ("columns.py", render_columns)):
        target = Path(__file__).with_name(name)
        target.write_text(render(), encoding="utf-8")
        print(f"written: {target}")
