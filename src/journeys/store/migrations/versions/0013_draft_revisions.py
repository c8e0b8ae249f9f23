"""Journeys: a draft revision, counted up by every save that changes the draft, and the
drafts of the latest revisions (so a save refused for a stale revision can say what the
other save changed).

The draft column may now hold a document that does not validate: the editor saves work in
progress. Its type does not change (JSON either way).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import journeys.store.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("journeys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("draft_revision", sa.Integer(), nullable=False, server_default="1")
        )
    op.create_table(
        "journey_drafts",
        sa.Column("journey_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("document", _JSON, nullable=False),
        sa.Column("saved_at", journeys.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["journey_id"], ["journeys.id"]),
        sa.PrimaryKeyConstraint("journey_id", "revision"),
    )
    op.execute(
        "INSERT INTO journey_drafts (journey_id, revision, document, saved_at) "
        "SELECT id, 1, draft, updated_at FROM journeys"
    )


def downgrade() -> None:
    op.drop_table("journey_drafts")
    with op.batch_alter_table("journeys", schema=None) as batch_op:
        batch_op.drop_column("draft_revision")
