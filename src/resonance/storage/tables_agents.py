"""Tables of the agents area (migration 0019_agents): specs, runs, sealed episode sets,
evaluations."""

from __future__ import annotations

import sqlalchemy as sa

from resonance.storage.tables import metadata

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("scenario", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
)

agent_runs = sa.Table(
    "agent_runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("organization", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("stop_requested", sa.Boolean, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Index("ix_agent_runs_agent_status", "agent", "status"),
)

agent_episode_sets = sa.Table(
    "agent_episode_sets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("environment", sa.String(20), nullable=False),
    sa.Column("dataset", sa.String(100)),
    sa.Column("budget", sa.Integer, nullable=False),
    sa.Column("step_minutes", sa.Float, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("episodes", sa.JSON, nullable=False),
)

agent_evaluations = sa.Table(
    "agent_evaluations",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("episodes", sa.String(64), nullable=False),
    sa.Column("organization", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Index("ix_agent_evaluations_set_org", "episodes", "organization"),
)
