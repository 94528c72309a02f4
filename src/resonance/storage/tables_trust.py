"""Tables of the trust area (migration 0015_trust): charged queries against sealed suites."""

from __future__ import annotations

import sqlalchemy as sa

from resonance.storage.tables import metadata

suite_queries = sa.Table(
    "suite_queries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("suite", sa.String(64), nullable=False),
    sa.Column("organization", sa.String(64), nullable=False),
    sa.Column("use", sa.String(32), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("released", sa.Float),
    sa.Index("ix_suite_queries_suite_org", "suite", "organization"),
)
