"""Partnership forums (issue #16): the partner directory and its caps, forums with their
partners and attendance, and leads with their versioned states.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from kopflow.store.sqltypes import UTCDateTime

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamp() -> list[sa.Column[Any]]:
    """Who recorded a row, when, and the audit event that did."""
    return [
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "partner_org",
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("office", sa.String(), nullable=True),
        sa.Column("contact", sa.String(), nullable=True),
        sa.Column("offers", sa.Text(), nullable=False),
        *_stamp(),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "partner_cap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("commodity", sa.String(40), nullable=False),
        sa.Column("kabupaten", sa.String(), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        *_stamp(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_partner_cap_lookup", "partner_cap", ["partner", "commodity", "kabupaten"])
    op.create_table(
        "forum",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("starts", sa.String(10), nullable=False),
        sa.Column("ends", sa.String(10), nullable=False),
        sa.Column("place", sa.String(), nullable=True),
        sa.Column("office", sa.String(), nullable=True),
        sa.Column("kabupaten", sa.String(), nullable=False),
        *_stamp(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_forum_kabupaten", "forum", ["kabupaten"])
    op.create_table(
        "forum_partner",
        sa.Column("forum_id", sa.String(40), nullable=False),
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        *_stamp(),
        sa.ForeignKeyConstraint(["forum_id"], ["forum.id"]),
        sa.PrimaryKeyConstraint("forum_id", "partner", "status"),
    )
    op.create_table(
        "forum_attendance",
        sa.Column("forum_id", sa.String(40), nullable=False),
        sa.Column("coop_id", sa.String(32), nullable=False),
        sa.Column("rep_name", sa.String(), nullable=True),
        sa.Column("rep_role", sa.String(16), nullable=True),
        *_stamp(),
        sa.ForeignKeyConstraint(["forum_id"], ["forum.id"]),
        sa.ForeignKeyConstraint(["coop_id"], ["coop.id"]),
        sa.PrimaryKeyConstraint("forum_id", "coop_id"),
    )
    op.create_index("ix_forum_attendance_coop_id", "forum_attendance", ["coop_id"])
    op.create_table(
        "lead",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("coop_id", sa.String(32), nullable=False),
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("commodity", sa.String(40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("forum_id", sa.String(40), nullable=True),
        *_stamp(),
        sa.ForeignKeyConstraint(["coop_id"], ["coop.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lead_coop_id", "lead", ["coop_id"])
    op.create_index("ix_lead_forum_id", "lead", ["forum_id"])
    op.create_index("ix_lead_partner", "lead", ["partner", "coop_id"])
    op.create_table(
        "lead_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.String(24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("on_date", sa.String(10), nullable=True),
        *_stamp(),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lead_id", "version", name="uq_lead_version"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("lead_record")
    op.drop_index("ix_lead_partner", table_name="lead")
    op.drop_index("ix_lead_forum_id", table_name="lead")
    op.drop_index("ix_lead_coop_id", table_name="lead")
    op.drop_table("lead")
    op.drop_index("ix_forum_attendance_coop_id", table_name="forum_attendance")
    op.drop_table("forum_attendance")
    op.drop_table("forum_partner")
    op.drop_index("ix_forum_kabupaten", table_name="forum")
    op.drop_table("forum")
    op.drop_index("ix_partner_cap_lookup", table_name="partner_cap")
    op.drop_table("partner_cap")
    op.drop_table("partner_org")
