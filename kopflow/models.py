"""All database tables, as SQLModel classes: fields and indexes only, no behaviour.

The schema itself is created by the alembic migrations in ``kopflow/migrations``; these classes
describe it for reads and for SQLAlchemy Core statements (``Coop.__table__``) on hot paths.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


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
    stage_since: datetime
    # Where `resume` returns to after `suspend`: the engine keeps it, the machine reads it.
    previous_stage: str | None = None
    # Optimistic concurrency (issue #4): every change does UPDATE ... WHERE version = :seen.
    version: int = 1
    updated_at: datetime
    updated_by: str


class CoopVillage(SQLModel, table=True):
    """A village a cooperative covers; one village belongs to one cooperative at most."""

    __tablename__ = "coop_village"
    # The migration also indexes lower(name): finding a cooperative by its village's name.

    region_id: str = Field(primary_key=True, max_length=32)  # areaid's village id, or a CSV's code
    coop_id: str = Field(foreign_key="coop.id", index=True, max_length=32)
    name: str
    kecamatan: str
    postal_code: str | None = None


class StepRecord(SQLModel, table=True):
    """One version of a step's evidence. Corrections and undos add versions; nothing is updated."""

    __tablename__ = "step_record"
    __table_args__ = (UniqueConstraint("coop_id", "step", "version", name="uq_step_version"),)

    id: int | None = Field(default=None, primary_key=True)
    # Found through uq_step_version's index (coop_id first): no index of its own.
    coop_id: str = Field(foreign_key="coop.id", max_length=32)
    step: str = Field(max_length=80)  # "musdesus", or "bri.account" for a partner's step
    version: int
    status: str = Field(max_length=8)  # "done" or "undone"
    evidence: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    reason: str | None = None
    actor: str
    at: datetime
    audit_seq: int


class TransitionRecord(SQLModel, table=True):
    """Every stage change of a cooperative: the history its current stage must agree with."""

    __tablename__ = "transition"

    id: int | None = Field(default=None, primary_key=True)
    coop_id: str = Field(foreign_key="coop.id", index=True, max_length=32)
    event: str
    source: str
    dest: str
    reason: str | None = None
    actor: str
    at: datetime
    audit_seq: int


class Enrollment(SQLModel, table=True):
    """A cooperative enrolled with a partner (BRI, Pos, ...), whose steps it must then complete."""

    __tablename__ = "enrollment"

    coop_id: str = Field(foreign_key="coop.id", primary_key=True, max_length=32)
    partner: str = Field(primary_key=True, index=True, max_length=40)
    actor: str
    at: datetime
    audit_seq: int


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
    created_at: datetime
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
    first_used_at: datetime
