"""Outbox fallbacks: a message rerouted to another channel, and why.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fallback_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("via", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_outbox_fallback_of_id"), ["fallback_of_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_fallback_of_id_outbox"), "outbox", ["fallback_of_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_fallback_of_id_outbox"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_fallback_of_id"))
        batch_op.drop_column("via")
        batch_op.drop_column("fallback_of_id")
