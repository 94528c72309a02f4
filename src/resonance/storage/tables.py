"""SQLAlchemy Core tables of the foundation, shared by several repositories (catalog,
organizations, policies, the ledger), and the one ``metadata`` of every area.

Every other aggregate defines its tables beside its repository in ``storage/sql/`` on the
same ``metadata``; every table is created by an Alembic migration, never by ``create_all``.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False, default=""),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("region", sa.String(100), nullable=False),
    sa.Column("central_enterprise", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("enterprise", sa.String(64)),  # 0011_authority: its central enterprise, if any
)

consortia = sa.Table(
    "consortia",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("industry", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

consortium_members = sa.Table(
    "consortium_members",
    metadata,
    sa.Column("consortium", sa.String(64), sa.ForeignKey("consortia.name"), primary_key=True),
    sa.Column("organization", sa.String(64), sa.ForeignKey("organizations.name"), primary_key=True),
    sa.Column("roles", sa.JSON, nullable=False),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("industry", sa.String(64), nullable=False),
    sa.Column("scenario", sa.String(200)),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("label", sa.JSON),
    sa.Column("group_key", sa.String(200)),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("derived", sa.Boolean, nullable=False, server_default=sa.false()),  # 0015_trust
    sa.Column("time_column", sa.String(200)),  # migration "regression"
)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("dataset", sa.String(64), sa.ForeignKey("datasets.name"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("content_hash", sa.String(64), nullable=False, index=True),
    sa.Column("source_hash", sa.String(64)),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("parents", sa.JSON, nullable=False),
    sa.Column("transformation", sa.JSON, nullable=False),
    sa.Column("validation", sa.JSON, nullable=False),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("sources", sa.JSON),  # 0015_trust: [{"ref", "rows"}] of a derived version
    sa.Column("provenance", sa.String(64)),  # 0015_trust: per-row provenance artifact
    # 0020_verdict: the report in one word (none/failed/warnings/passed), so registry
    # views count verdicts without parsing every report
    sa.Column("verdict", sa.String(8)),
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("dataset", sa.String(64), sa.ForeignKey("datasets.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("grants", sa.JSON, nullable=False),
    sa.Column("allow_auto_drop", sa.Boolean, nullable=False, default=False),
    sa.Column("set_by", sa.String(64), nullable=False),
    sa.Column("set_at", sa.String(40), nullable=False),
)

ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("timestamp", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("object_type", sa.String(64), nullable=False),
    sa.Column("object_id", sa.String(200), nullable=False, index=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

ledger_head = sa.Table(
    "ledger_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
