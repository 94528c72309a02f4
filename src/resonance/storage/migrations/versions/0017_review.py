"""review: the owners' review queue, reviewer delegations and dataset version marks

Revision ID: 0017_review
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_review"
down_revision = "0001_foundation"
branch_labels = ("review",)
depends_on = None

_VERSION_FK = (["dataset", "version"], ["dataset_versions.dataset", "dataset_versions.number"])


def upgrade() -> None:
    """Create the review tables."""
    op.create_table(
        "review_items",
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
        sa.ForeignKeyConstraint(*_VERSION_FK),
        sa.UniqueConstraint("dataset", "version", "row", "kind", name="uq_review_items_row_kind"),
    )
    op.create_index("ix_review_items_owner_status", "review_items", ["owner", "status"])
    op.create_table(
        "review_delegations",
        sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), primary_key=True),
        sa.Column("delegate", sa.String(64), sa.ForeignKey("organizations.name"), primary_key=True),
        sa.Column("granted_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "dataset_version_marks",
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


def downgrade() -> None:
    """Drop the review tables."""
    op.drop_table("dataset_version_marks")
    op.drop_table("review_delegations")
    op.drop_index("ix_review_items_owner_status", table_name="review_items")
    op.drop_table("review_items")
