"""Zalo OA tokens kept in the database, and the PKCE states of an admin's re-authorisation.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zalo_tokens",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        sa.Column("expires_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rotated_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_zalo_tokens_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zalo_tokens")),
    )
    op.create_table(
        "zalo_oauth_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_zalo_oauth_states_staff_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_zalo_oauth_states")),
    )
    with op.batch_alter_table("zalo_oauth_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_zalo_oauth_states_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("zalo_oauth_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zalo_oauth_states_expires_at"))
    op.drop_table("zalo_oauth_states")
    op.drop_table("zalo_tokens")
