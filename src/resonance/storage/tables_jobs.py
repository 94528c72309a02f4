"""Table of jobs (long work run by workers)."""

from __future__ import annotations

import sqlalchemy as sa

from resonance.storage.tables import metadata

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("organization", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("started_at", sa.String(40)),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("heartbeat_at", sa.String(40)),
    sa.Column("progress", sa.Float, nullable=False),
    sa.Column("message", sa.String(500), nullable=False),
    sa.Column("logs", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("error", sa.JSON),
    sa.Column("worker", sa.String(200)),
    sa.Column("cancel_requested", sa.Boolean, nullable=False),
    sa.Index("ix_jobs_org_status", "organization", "status"),
    sa.Index("ix_jobs_status", "status"),
)
