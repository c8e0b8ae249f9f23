"""Run events, for analytics.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 20:20:57.740437
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import journeys.store.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_events",
        sa.Column("instance_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("journey_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("what", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", "seq"),
    )
    with op.batch_alter_table("run_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_run_events_journey", ["journey_id", "version", "step", "what"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("run_events", schema=None) as batch_op:
        batch_op.drop_index("ix_run_events_journey")

    op.drop_table("run_events")
