"""Accepted event ids, for idempotency across time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:08:47.283551
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import journeys.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accepted_events",
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("claimed_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("accepted_events", schema=None) as batch_op:
        batch_op.create_index("ix_accepted_events_claimed_at", ["claimed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("accepted_events", schema=None) as batch_op:
        batch_op.drop_index("ix_accepted_events_claimed_at")

    op.drop_table("accepted_events")
