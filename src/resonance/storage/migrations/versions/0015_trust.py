"""trust: derived datasets, per-row provenance of derived versions, charged suite queries

Revision ID: 0015_trust
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_trust"
down_revision = "0001_foundation"
branch_labels = ("trust",)
depends_on = None


def upgrade() -> None:
    """Mark derived datasets; give versions their sources and provenance artifact."""
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(
            sa.Column("derived", sa.Boolean, nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("dataset_versions") as batch:
        batch.add_column(sa.Column("sources", sa.JSON))
        batch.add_column(sa.Column("provenance", sa.String(64)))
    op.create_table(
        "suite_queries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("suite", sa.String(64), nullable=False),
        sa.Column("organization", sa.String(64), nullable=False),
        sa.Column("use", sa.String(32), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("released", sa.Float),
    )
    op.create_index("ix_suite_queries_suite_org", "suite_queries", ["suite", "organization"])


def downgrade() -> None:
    """Drop the table and the columns."""
    op.drop_index("ix_suite_queries_suite_org", table_name="suite_queries")
    op.drop_table("suite_queries")
    with op.batch_alter_table("dataset_versions") as batch:
        batch.drop_column("provenance")
        batch.drop_column("sources")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("derived")
