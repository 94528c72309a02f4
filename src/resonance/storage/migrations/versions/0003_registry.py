"""registry: scenario files, models, landing cases, spaces, key cities and industries,
report submissions, API tokens

Revision ID: 0003_registry
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_registry"
down_revision = "0001_foundation"
branch_labels = ("registry",)
depends_on = None


def _created() -> sa.Column:
    return sa.Column("created_at", sa.String(40), nullable=False)


def upgrade() -> None:
    """Create the registry tables."""
    op.create_table(
        "registry_scenarios",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("industry", sa.String(64), nullable=False),
        sa.Column("title", sa.String(2000), nullable=False),
        sa.Column("problem", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("data_needed", sa.Text, nullable=False),
        sa.Column("model_needed", sa.Text, nullable=False),
        sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _created(),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_registry_scenarios_industry", "registry_scenarios", ["industry"])
    op.create_table(
        "registry_models",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("industry", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
        sa.Column("scenario", sa.String(64), sa.ForeignKey("registry_scenarios.name")),
        sa.Column("ref", sa.String(200)),
        sa.Column("description", sa.Text, nullable=False),
        _created(),
    )
    op.create_index("ix_registry_models_industry", "registry_models", ["industry"])
    op.create_table(
        "registry_cases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(64), sa.ForeignKey("registry_models.name"), nullable=False),
        sa.Column("adopter", sa.String(200), nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        _created(),
    )
    op.create_index("ix_registry_cases_model", "registry_cases", ["model"])
    op.create_table(
        "registry_spaces",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder_kind", sa.String(20), nullable=False),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("industries", sa.JSON, nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        _created(),
    )
    op.create_table(
        "registry_key_cities",
        sa.Column("province", sa.String(100), primary_key=True),
        sa.Column("city", sa.String(100), primary_key=True),
        sa.Column("pilot_zone", sa.Boolean, nullable=False),
        _created(),
    )
    op.create_table(
        "registry_key_industries",
        sa.Column("holder_kind", sa.String(20), primary_key=True),
        sa.Column("holder", sa.String(100), primary_key=True),
        sa.Column("industry", sa.String(64), primary_key=True),
        _created(),
    )
    op.create_table(
        "report_submissions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("submitted_on", sa.String(10), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=False),
    )
    op.create_index(
        "ix_report_submissions_subject", "report_submissions", ["subject_kind", "subject"]
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "organization", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False
        ),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        _created(),
        sa.Column("revoked_at", sa.String(40)),
    )


def downgrade() -> None:
    """Drop the registry tables."""
    for name in (
        "api_tokens",
        "report_submissions",
        "registry_key_industries",
        "registry_key_cities",
        "registry_spaces",
        "registry_cases",
        "registry_models",
        "registry_scenarios",
    ):
        op.drop_table(name)
