"""Identifiers one cooperative holds alone (issue #12): the ``unique_value`` table.

Values recorded before this revision are not claimed here: which fields are unique is the
workflow definition's business (version 2 of kdkmp), which a migration cannot read.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "unique_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(160), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("coop_id", sa.String(32), nullable=False),
        sa.Column("step", sa.String(80), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("released_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["coop_id"], ["coop.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("unique_value", schema=None) as batch_op:
        batch_op.create_index("ix_unique_value_coop_step", ["coop_id", "step"], unique=False)
        # One holder per value: the values not released are unique (a partial index).
        batch_op.create_index(
            "uq_unique_value_held",
            ["scope", "value"],
            unique=True,
            sqlite_where=sa.text("released_seq IS NULL"),
            postgresql_where=sa.text("released_seq IS NULL"),
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("unique_value", schema=None) as batch_op:
        batch_op.drop_index("uq_unique_value_held")
        batch_op.drop_index("ix_unique_value_coop_step")
    op.drop_table("unique_value")
