"""regression: a dataset may declare a time column (its rows form time series per group)

Revision ID: 0010_regression
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_regression"
down_revision = "0001_foundation"
branch_labels = ("regression",)
depends_on = None


def upgrade() -> None:
    """Add ``datasets.time_column``."""
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("time_column", sa.String(200)))


def downgrade() -> None:
    """Drop ``datasets.time_column``."""
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("time_column")
