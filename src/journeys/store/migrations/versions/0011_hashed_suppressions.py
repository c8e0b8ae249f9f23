"""Suppressed addresses kept as a keyed hash: a key of the store's own, and the list rehashed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 15:10:00
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "store_keys",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    key = secrets.token_bytes(32)
    connection = op.get_bind()
    connection.execute(
        sa.text("INSERT INTO store_keys (name, value) VALUES ('suppressions', :value)"),
        {"value": key.hex()},
    )
    # The digest of an address as journeys.store.suppressions makes it (normalized first).
    rows = connection.execute(sa.text("SELECT channel, address FROM suppressions")).all()
    for channel, address in rows:
        digest = hmac.new(key, address.strip().lower().encode(), hashlib.sha256).hexdigest()
        connection.execute(
            sa.text(
                "UPDATE suppressions SET address = :digest "
                "WHERE channel = :channel AND address = :address"
            ),
            {"digest": digest, "channel": channel, "address": address},
        )


def downgrade() -> None:
    # Emptying the list would send again to those who complained or said STOP.
    raise RuntimeError("suppressed addresses are kept hashed from 0011 on: no way back")
