"""Initial schema: triggers, journeys and versions, contacts, deliveries, entries, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 17:47:05.482167
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import journeys.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "api_keys",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", journeys.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "catalog_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("first_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("last_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("consent_email", sa.Boolean(), nullable=True),
        sa.Column("consent_sms", sa.Boolean(), nullable=True),
        sa.Column("consent_push", sa.Boolean(), nullable=True),
        sa.Column("created_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_phone"), ["phone"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("instance_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("journey_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("journey_version", sa.Integer(), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column(
            "provider_message_id", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True
        ),
        sa.Column("created_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
        sa.UniqueConstraint("workflow_id", "instance_id", "step", "iteration"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_contact_created", ["contact_id", "created_at"], unique=False
        )

    op.create_table(
        "journey_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("journey_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("binding_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("admitted", sa.Boolean(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id"),
    )
    with op.batch_alter_table("journey_entries", schema=None) as batch_op:
        batch_op.create_index("ix_entries_contact", ["contact_id", "at"], unique=False)
        batch_op.create_index(
            "ix_entries_lookup",
            ["journey_id", "contact_id", "binding_id", "admitted", "at"],
            unique=False,
        )

    op.create_table(
        "journeys",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "draft",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("live_version", sa.Integer(), nullable=True),
        sa.Column("created_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "trigger_definitions",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "journey_versions",
        sa.Column("journey_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("published_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
        ),
        sa.PrimaryKeyConstraint("journey_id", "version"),
    )


def downgrade() -> None:

    op.drop_table("journey_versions")
    op.drop_table("trigger_definitions")
    op.drop_table("journeys")
    with op.batch_alter_table("journey_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_entries_lookup")
        batch_op.drop_index("ix_entries_contact")

    op.drop_table("journey_entries")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_contact_created")

    op.drop_table("deliveries")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_phone"))
        batch_op.drop_index(batch_op.f("ix_contacts_email"))

    op.drop_table("contacts")
    op.drop_table("catalog_revision")
    op.drop_table("api_keys")
