"""The database tables in plain SQLAlchemy Core, for every statement kopflow issues.

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


actor = Table(
    "actor",
    metadata,
    Column("name", String, primary_key=True, nullable=False),
    Column("role", String(16), nullable=False),
    Column("region", String, nullable=True),
    Column("partner", String, nullable=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String, nullable=False),
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False, nullable=False),
    Column("at", String(32), nullable=False),
    Column("actor", String, nullable=False),
    Column("role", String, nullable=False),
    Column("action", String, nullable=False),
    Column("coop_id", String(32), nullable=True),
    Column("body", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_coop_seq", "coop_id", "seq", unique=False),
    Index("ix_audit_event_action", "action", unique=False),
    Index("ix_audit_event_actor", "actor", unique=False),
    Index("ix_audit_event_at", "at", unique=False),
)

chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True, nullable=False, default=1),
    Column("seq", Integer, nullable=False, default=0),
    Column("hash", String(64), nullable=False),
    Column("log_id", String, nullable=False),
)

coop = Table(
    "coop",
    metadata,
    Column("id", String(32), primary_key=True, nullable=False),
    Column("name", String, nullable=False),
    Column("village", String, nullable=False),
    Column("kecamatan", String, nullable=False),
    Column("kabupaten", String, nullable=False),
    Column("provinsi", String, nullable=False),
    Column("workflow", String, nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("stage", String, nullable=False),
    Column("stage_since", UTCDateTime, nullable=False),
    Column("previous_stage", String, nullable=True),
    Column("version", Integer, nullable=False, default=1),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String, nullable=False),
    Index("ix_coop_kabupaten_stage", "kabupaten", "stage", unique=False),
    Index("ix_coop_kecamatan_stage", "kecamatan", "stage", unique=False),
    Index("ix_coop_stage_since", "stage", "stage_since", unique=False),
    Index("ix_coop_village", "village", unique=False),
)

forum = Table(
    "forum",
    metadata,
    Column("id", String(40), primary_key=True, nullable=False),
    Column("name", String, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("starts", String(10), nullable=False),
    Column("ends", String(10), nullable=False),
    Column("place", String, nullable=True),
    Column("office", String, nullable=True),
    Column("kabupaten", String, nullable=False),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("audit_seq", Integer, nullable=False),
    Index("ix_forum_kabupaten", "kabupaten", unique=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("audit_seq", Integer, primary_key=True, autoincrement=False, nullable=False),
    Column("partner", String(40), primary_key=True, nullable=False),
    Column("coop_id", String(32), nullable=True),
    Column("action", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index("ix_outbox_partner_status", "partner", "status", "audit_seq", unique=False),
)

partner_cap = Table(
    "partner_cap",
    metadata,
    Column("id", Integer, primary_key=True, nullable=False),
    Column("partner", String(40), nullable=False),
    Column("commodity", String(40), nullable=False),
    Column("kabupaten", String, nullable=False),
    Column("cap", Integer, nullable=False),
    Column("unit", String, nullable=False),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("audit_seq", Integer, nullable=False),
    Index("ix_partner_cap_lookup", "partner", "commodity", "kabupaten", unique=False),
)

partner_org = Table(
    "partner_org",
    metadata,
    Column("code", String(40), primary_key=True, nullable=False),
    Column("name", String, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("office", String, nullable=True),
    Column("contact", String, nullable=True),
    Column("offers", Text, nullable=False),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("audit_seq", Integer, nullable=False),
)

workflow_def = Table(
    "workflow_def",
    metadata,
    Column("name", String(64), primary_key=True, nullable=False),
    Column("version", Integer, primary_key=True, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("first_used_at", UTCDateTime, nullable=False),
)

coop_village = Table(
    "coop_village",
    metadata,
    Column("region_id", String(32), primary_key=True, nullable=False),
    Column("coop_id", String(32), ForeignKey("coop.id"), nullable=False),
    Column("name", String, nullable=False),
    Column("kecamatan", String, nullable=False),
    Column("postal_code", String, nullable=True),
    Index("ix_coop_village_coop_id", "coop_id", unique=False),
    Index("ix_coop_village_name_lower", text("lower(name)"), unique=False),
)

enrollment = Table(
    "enrollment",
    metadata,
    Column("coop_id", String(32), ForeignKey("coop.id"), primary_key=True, nullable=False),
    Column("partner", String(40), primary_key=True, nullable=False),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("audit_seq", Integer, nullable=False),
    Index("ix_enrollment_partner", "partner", unique=False),
)

forum_attendance = Table(
    "forum_attendance",
    metadata,
    Column("forum_id", String(40), ForeignKey("forum.id"), primary_key=True, nullable=False),
    Column("coop_id", String(32), ForeignKey("coop.id"), primary_key=True, nullable=False),
    Column("rep_name", String, nullable=True),
    Column("rep_role", String(16), nullable=True),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("audit_seq", Integer, nullable=False),
    Index("ix_forum_attendance_coop_id", "coop_id", unique=False),
)

forum_partner = Table(
    "forum_partner",
    metadata,
    Column("forum_id", String(40), ForeignKey("forum.id"), primary_key=True, nullable=False),
    Column("partner", String(40), primary_key=True, nullable=False),
    Column("status", String(8), primary_key=True, nullable=False),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("audit_seq", Integer, nullable=False),
)

lead = Table(
    "lead",
    metadata,
    Column("id", String(24), primary_key=True, nullable=False),
    Column("coop_id", String(32), ForeignKey("coop.id"), nullable=False),
    Column("partner", String(40), nullable=False),
    Column("commodity", String(40), nullable=False),
    Column("quantity", Integer, nullable=True),
    Column("forum_id", String(40), nullable=True),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("audit_seq", Integer, nullable=False),
    Index("ix_lead_coop_id", "coop_id", unique=False),
    Index("ix_lead_forum_id", "forum_id", unique=False),
    Index("ix_lead_partner", "partner", "coop_id", unique=False),
)

step_record = Table(
    "step_record",
    metadata,
    Column("id", Integer, primary_key=True, nullable=False),
    Column("coop_id", String(32), ForeignKey("coop.id"), nullable=False),
    Column("step", String(80), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(8), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("reason", String, nullable=True),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("audit_seq", Integer, nullable=False),
    Index("ix_step_record_step", "step", "coop_id", unique=False),
    UniqueConstraint("coop_id", "step", "version", name="uq_step_version"),
)

transition = Table(
    "transition",
    metadata,
    Column("id", Integer, primary_key=True, nullable=False),
    Column("coop_id", String(32), ForeignKey("coop.id"), nullable=False),
    Column("event", String, nullable=False),
    Column("source", String, nullable=False),
    Column("dest", String, nullable=False),
    Column("reason", String, nullable=True),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("audit_seq", Integer, nullable=False),
    Index("ix_transition_coop_id", "coop_id", unique=False),
    Index("ix_transition_dest_at", "dest", "at", unique=False),
)

unique_value = Table(
    "unique_value",
    metadata,
    Column("id", Integer, primary_key=True, nullable=False),
    Column("scope", String(160), nullable=False),
    Column("value", String, nullable=False),
    Column("coop_id", String(32), ForeignKey("coop.id"), nullable=False),
    Column("step", String(80), nullable=False),
    Column("audit_seq", Integer, nullable=False),
    Column("released_seq", Integer, nullable=True),
    Index("ix_unique_value_coop_step", "coop_id", "step", unique=False),
    Index(
        "uq_unique_value_held",
        "scope",
        "value",
        unique=True,
        sqlite_where=text("released_seq IS NULL"),
    ),
)

lead_record = Table(
    "lead_record",
    metadata,
    Column("id", Integer, primary_key=True, nullable=False),
    Column("lead_id", String(24), ForeignKey("lead.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("details", Text, nullable=False),
    Column("on_date", String(10), nullable=True),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("audit_seq", Integer, nullable=False),
    UniqueConstraint("lead_id", "version", name="uq_lead_version"),
)
