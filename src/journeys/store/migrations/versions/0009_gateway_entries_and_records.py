"""Entries decided by the gateway (each with its workflow id), the kept record states, and
what providers report after a message was handed over (unsubscribed, failed).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import journeys.store.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("journey_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True)
        )
        batch_op.add_column(
            sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("trigger_attributes", journeys.store.types.JsonType, nullable=True)
        )
        batch_op.create_index("ix_entries_event", ["journey_id", "event_id"], unique=False)
    # Runs admitted before had one workflow id per contact (and binding), made thus, and
    # their first run id for an instance id.
    op.execute(
        "UPDATE journey_entries SET workflow_id = 'journey/' || journey_id || '/' || contact_id"
        " || CASE WHEN binding_id = '' THEN '' ELSE '/' || binding_id END,"
        " run_id = instance_id"
        " WHERE admitted"
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unsubscribed_at", journeys.store.types.UtcDateTime(timezone=True))
        )
        batch_op.add_column(sa.Column("failed_at", journeys.store.types.UtcDateTime(timezone=True)))
        batch_op.add_column(
            sa.Column("error_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
    op.create_table(
        "records",
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("state", journeys.store.types.JsonType, nullable=False),
        sa.Column("previous", journeys.store.types.JsonType, nullable=True),
        sa.Column("last_event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("updated_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entity", "id"),
    )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index("ix_records_contact", ["contact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("error_code")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("unsubscribed_at")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_contact")
    op.drop_table("records")
    with op.batch_alter_table("journey_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_entries_event")
        batch_op.drop_column("trigger_attributes")
        batch_op.drop_column("run_id")
        batch_op.drop_column("workflow_id")
