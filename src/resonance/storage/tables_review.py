"""Tables of the owners' review queue, reviewer delegations and dataset version marks."""

from __future__ import annotations

import sqlalchemy as sa

from resonance.storage.tables import metadata

review_items = sa.Table(
    "review_items",
    metadata,
    sa.Column("id", sa.String(20), primary_key=True),
    sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("dataset", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("current", sa.JSON),
    sa.Column("proposed", sa.JSON),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", sa.String(40)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("applied_in", sa.String(120)),
    sa.ForeignKeyConstraint(
        ["dataset", "version"], ["dataset_versions.dataset", "dataset_versions.number"]
    ),
    sa.UniqueConstraint("dataset", "version", "row", "kind", name="uq_review_items_row_kind"),
    sa.Index("ix_review_items_owner_status", "owner", "status"),
)

review_delegations = sa.Table(
    "review_delegations",
    metadata,
    sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), primary_key=True),
    sa.Column("delegate", sa.String(64), sa.ForeignKey("organizations.name"), primary_key=True),
    sa.Column("granted_at", sa.String(40), nullable=False),
)

version_marks = sa.Table(
    "dataset_version_marks",
    metadata,
    sa.Column("dataset", sa.String(64), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("marked_at", sa.String(40), nullable=False),
    sa.Column("marked_by", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(
        ["dataset", "number"], ["dataset_versions.dataset", "dataset_versions.number"]
    ),
)
