"""Who set each channel's consent (a contact's own withdrawal sticks).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = ("email", "sms", "push")


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        for channel in CHANNELS:
            batch_op.add_column(
                sa.Column(
                    f"consent_{channel}_source",
                    sqlmodel.sql.sqltypes.AutoString(length=200),
                    nullable=True,
                )
            )


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        for channel in CHANNELS:
            batch_op.drop_column(f"consent_{channel}_source")
