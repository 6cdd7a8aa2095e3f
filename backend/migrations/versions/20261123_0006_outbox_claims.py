"""Outbox claims: a dispatcher's lease on the rows it sends, and a per-citizen index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 17:12:03.191574
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_until", backend.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
        batch_op.create_index("ix_outbox_citizen", ["channel", "recipient", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_citizen")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_until")
