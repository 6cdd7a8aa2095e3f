"""Indexes for the public portal's queries on `reports` (migration 0009).

The portal lists published reports newest first, optionally narrowed by one of
category, status, commune or urgency; each index leads with `published` and ends
with `created_at` so PostgreSQL reads the page in order and stops after it; titles have a
trigram index for the search.
The Report model belongs to backend.reports; the indexes are declared here.
"""

from __future__ import annotations

from sqlalchemy import Index

from backend.reports.models import Report

PUBLIC_INDEXES = (
    Index("ix_reports_public_newest", Report.published, Report.created_at, Report.id),
    Index("ix_reports_public_category", Report.published, Report.category, Report.created_at),
    Index("ix_reports_public_status", Report.published, Report.status, Report.created_at),
    Index("ix_reports_public_commune", Report.published, Report.commune_name, Report.created_at),
    Index("ix_reports_public_urgent", Report.published, Report.urgent, Report.created_at),
)

# Title search (ILIKE '%words%') on PostgreSQL: a trigram index, so a rare word is found
# without reading every published report (pg_trgm). On SQLite it is a plain index, unused.
TITLE_SEARCH_INDEX = Index(
    "ix_reports_title_trgm",
    Report.title,
    postgresql_using="gin",
    postgresql_ops={"title": "gin_trgm_ops"},
)
