"""Short links for SMS.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 18:47:09.129584
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import journeys.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "short_links",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("instance_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )


def downgrade() -> None:
    op.drop_table("short_links")
