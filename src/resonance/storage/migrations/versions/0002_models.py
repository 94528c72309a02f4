"""models: model versions, sealed evaluation suites, evaluation runs

Revision ID: 0002_models
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_models"
down_revision = "0001_foundation"
branch_labels = ("models",)
depends_on = None


def upgrade() -> None:
    """Create the model and evaluation tables."""
    op.create_table(
        "model_versions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("datasets", sa.JSON, nullable=False),
        sa.Column("dataset_hashes", sa.JSON, nullable=False),
        sa.Column("artifact_hash", sa.String(64), nullable=False),
        sa.Column("code_version", sa.String(100), nullable=False),
        sa.Column("created_by", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("classes", sa.JSON, nullable=False),
        sa.Column("feature_names", sa.JSON, nullable=False),
        sa.Column("industry", sa.String(64)),
        sa.Column("scenario", sa.String(200)),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_table(
        "eval_suites",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
        sa.Column("dataset", sa.String(100), nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("thresholds", sa.JSON, nullable=False),
        sa.Column("scenario", sa.String(200)),
        sa.Column("query_budget", sa.Integer, nullable=False),
        sa.Column("primary_metric", sa.String(40), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("suite", sa.String(64), sa.ForeignKey("eval_suites.name"), nullable=False),
        sa.Column("dataset_hash", sa.String(64), nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("passed", sa.JSON, nullable=False),
        sa.Column("diagnosis", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_eval_runs_model_name", "eval_runs", ["model_name"])


def downgrade() -> None:
    """Drop the model and evaluation tables."""
    op.drop_table("eval_runs")
    op.drop_table("eval_suites")
    op.drop_table("model_versions")
