"""agents: agent specs, runs (with their kill switch), sealed episode sets, evaluations

Revision ID: 0019_agents
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_agents"
down_revision = "0001_foundation"
branch_labels = ("agents",)
depends_on = None


def upgrade() -> None:
    """Create the agents area's tables."""
    op.create_table(
        "agents",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
    )
    op.create_table(
        "agent_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("organization", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.String(40)),
        sa.Column("stop_requested", sa.Boolean, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
    )
    op.create_index("ix_agent_runs_agent_status", "agent_runs", ["agent", "status"])
    op.create_table(
        "agent_episode_sets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(20), nullable=False),
        sa.Column("dataset", sa.String(100)),
        sa.Column("budget", sa.Integer, nullable=False),
        sa.Column("step_minutes", sa.Float, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("episodes", sa.JSON, nullable=False),
    )
    op.create_table(
        "agent_evaluations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("episodes", sa.String(64), nullable=False),
        sa.Column("organization", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_agent_evaluations_set_org", "agent_evaluations", ["episodes", "organization"]
    )


def downgrade() -> None:
    """Drop the agents area's tables."""
    op.drop_index("ix_agent_evaluations_set_org", table_name="agent_evaluations")
    op.drop_table("agent_evaluations")
    op.drop_table("agent_episode_sets")
    op.drop_index("ix_agent_runs_agent_status", table_name="agent_runs")
    op.drop_table("agent_runs")
    op.drop_table("agents")
