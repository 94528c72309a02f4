"""foundation: organizations, consortia, datasets, versions, policies, ledger

Revision ID: 0001_foundation
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = ("foundation",)
depends_on = None


def upgrade() -> None:
    """Create the foundation tables."""
    op.create_table(
        "space_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "organizations",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("central_enterprise", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "consortia",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("industry", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "consortium_members",
        sa.Column("consortium", sa.String(64), sa.ForeignKey("consortia.name"), primary_key=True),
        sa.Column(
            "organization", sa.String(64), sa.ForeignKey("organizations.name"), primary_key=True
        ),
        sa.Column("roles", sa.JSON, nullable=False),
    )
    op.create_table(
        "datasets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("industry", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(200)),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("label", sa.JSON),
        sa.Column("group_key", sa.String(200)),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("dataset", sa.String(64), sa.ForeignKey("datasets.name"), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source_hash", sa.String(64)),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("schema", sa.JSON, nullable=False),
        sa.Column("parents", sa.JSON, nullable=False),
        sa.Column("transformation", sa.JSON, nullable=False),
        sa.Column("validation", sa.JSON, nullable=False),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_dataset_versions_content_hash", "dataset_versions", ["content_hash"])
    op.create_table(
        "policies",
        sa.Column("dataset", sa.String(64), sa.ForeignKey("datasets.name"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("grants", sa.JSON, nullable=False),
        sa.Column("allow_auto_drop", sa.Boolean, nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "ledger",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("timestamp", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_ledger_action", "ledger", ["action"])
    op.create_index("ix_ledger_object_id", "ledger", ["object_id"])
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    """Drop the foundation tables."""
    for name in (
        "ledger_head",
        "ledger",
        "policies",
        "dataset_versions",
        "datasets",
        "consortium_members",
        "consortia",
        "organizations",
        "space_meta",
    ):
        op.drop_table(name)
