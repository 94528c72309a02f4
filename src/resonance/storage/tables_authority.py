"""Tables of the authority's side: entry history, report notes, national bundles."""

from __future__ import annotations

import sqlalchemy as sa

from resonance.storage.tables import metadata

registry_history = sa.Table(
    "registry_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("registry", sa.String(20), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("before", sa.JSON, nullable=False),
    sa.Column("after", sa.JSON, nullable=False),
    sa.Index("ix_registry_history_entry", "registry", "name"),
)

report_notes = sa.Table(
    "report_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("subject_kind", sa.String(20), nullable=False),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("written_at", sa.String(40), nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.UniqueConstraint("kind", "subject_kind", "subject", "version"),
)

national_bundles = sa.Table(
    "national_bundles",
    metadata,
    sa.Column("space", sa.String(64), primary_key=True),
    sa.Column("head_hash", sa.String(64), primary_key=True),
    sa.Column("head_seq", sa.Integer, nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("exported_at", sa.String(40), nullable=False),
    sa.Column("imported_at", sa.String(40), nullable=False),
    sa.Column("imported_by", sa.String(64), nullable=False),
    sa.Column("bundle", sa.JSON, nullable=False),
)
