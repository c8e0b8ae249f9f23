"""API keys: publishable keys, with the triggers and origins they may fire from.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="secret",
            )
        )
        batch_op.add_column(
            sa.Column("triggers", _JSON, nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column("origins", _JSON, nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    # Without its kind a publishable key would be an ordinary key: end them first.
    op.execute(
        "UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP "
        "WHERE kind = 'publishable' AND revoked_at IS NULL"
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("origins")
        batch_op.drop_column("triggers")
        batch_op.drop_column("kind")
