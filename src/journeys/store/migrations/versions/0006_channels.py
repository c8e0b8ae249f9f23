"""Channels: suppression list, messaging settings, delivery purpose and receipts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 18:43:03.278719
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import journeys.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "messaging_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "suppressions",
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("created_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "address"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "purpose",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="commercial",
            )
        )
        batch_op.add_column(
            sa.Column(
                "postponed_until", journeys.store.types.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("sent_at", journeys.store.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "delivered_at", journeys.store.types.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("opened_at", journeys.store.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("clicked_at", journeys.store.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("bounced_at", journeys.store.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("bounce_type", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "complained_at", journeys.store.types.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("replied_at", journeys.store.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_deliveries_provider_message_id", ["provider_message_id"], unique=False
        )
        batch_op.create_index(
            "ix_deliveries_recipient", ["recipient", "channel", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_recipient")
        batch_op.drop_index("ix_deliveries_provider_message_id")
        batch_op.drop_column("replied_at")
        batch_op.drop_column("complained_at")
        batch_op.drop_column("bounce_type")
        batch_op.drop_column("bounced_at")
        batch_op.drop_column("clicked_at")
        batch_op.drop_column("opened_at")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("sent_at")
        batch_op.drop_column("postponed_until")
        batch_op.drop_column("purpose")

    op.drop_table("suppressions")
    op.drop_table("messaging_settings")
