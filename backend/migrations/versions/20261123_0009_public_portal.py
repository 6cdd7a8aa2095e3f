"""Public portal: indexes for published reports.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 18:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_reports_public_newest": ["published", "created_at", "id"],
    "ix_reports_public_category": ["published", "category", "created_at"],
    "ix_reports_public_status": ["published", "status", "created_at"],
    "ix_reports_public_commune": ["published", "commune_name", "created_at"],
    "ix_reports_public_urgent": ["published", "urgent", "created_at"],
}


TITLE_TRGM = "ix_reports_title_trgm"  # title search with ILIKE '%…%' (trigrams on PostgreSQL)


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # a trusted extension since PG 13
    # on SQLite a plain index (the model declares one index for both databases)
    op.create_index(
        TITLE_TRGM,
        "reports",
        ["title"],
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index(TITLE_TRGM, table_name="reports")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name)
