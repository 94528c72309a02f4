"""loop: resonance loop runs

Revision ID: 0005_loop
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_loop"
down_revision = "0001_foundation"
branch_labels = ("loop",)
depends_on = None


def upgrade() -> None:
    """Create the loop run table."""
    op.create_table(
        "loop_runs",
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


def downgrade() -> None:
    """Drop the loop run table."""
    op.drop_table("loop_runs")
