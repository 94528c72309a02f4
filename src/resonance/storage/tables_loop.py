"""Tables of resonance loop runs."""

from __future__ import annotations

import sqlalchemy as sa

from resonance.storage.tables import metadata

loop_runs = sa.Table(
    "loop_runs",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("created_by", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("suite", sa.String(64), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("dataset", sa.String(100), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("iterations", sa.JSON, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
)
