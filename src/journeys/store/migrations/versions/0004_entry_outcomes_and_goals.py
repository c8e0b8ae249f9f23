"""The entry ledger records how runs ended and when they reached their goal.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 18:20:50.828960
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import journeys.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("journey_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ended_at", journeys.store.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
        batch_op.add_column(
            sa.Column("outcome_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "goal_reached_at", journeys.store.types.UtcDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("journey_entries", schema=None) as batch_op:
        batch_op.drop_column("goal_reached_at")
        batch_op.drop_column("outcome_reason")
        batch_op.drop_column("outcome")
        batch_op.drop_column("ended_at")
