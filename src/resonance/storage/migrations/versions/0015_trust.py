"""trust: derived datasets and per-row provenance of derived versions

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


def downgrade() -> None:
    """Drop the columns."""
    with op.batch_alter_table("dataset_versions") as batch:
        batch.drop_column("provenance")
        batch.drop_column("sources")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("derived")
