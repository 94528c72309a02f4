"""Tables of the registries of the action and report submissions (API tokens:
``storage/sql/tokens.py``, beside their repository)."""

from __future__ import annotations

import sqlalchemy as sa

from resonance.storage.tables import metadata

registry_scenarios = sa.Table(
    "registry_scenarios",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("industry", sa.String(64), nullable=False, index=True),
    sa.Column("title", sa.String(2000), nullable=False),
    sa.Column("problem", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("data_needed", sa.Text, nullable=False),
    sa.Column("model_needed", sa.Text, nullable=False),
    sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

registry_models = sa.Table(
    "registry_models",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("industry", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("scenario", sa.String(64), sa.ForeignKey("registry_scenarios.name")),
    sa.Column("ref", sa.String(200)),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="listed"),  # 0011
)

registry_cases = sa.Table(
    "registry_cases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("model", sa.String(64), sa.ForeignKey("registry_models.name"), nullable=False),
    sa.Column("adopter", sa.String(200), nullable=False),
    sa.Column("region", sa.String(100), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("evidence", sa.String(300), nullable=False, server_default=""),  # 0011_authority
    sa.Column("status", sa.String(20), nullable=False, server_default="recorded"),
    sa.Index("ix_registry_cases_model", "model"),
)

registry_spaces = sa.Table(
    "registry_spaces",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder_kind", sa.String(20), nullable=False),
    sa.Column("holder", sa.String(100), nullable=False),
    sa.Column("industries", sa.JSON, nullable=False),
    sa.Column("operator", sa.String(64), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="listed"),  # 0011
)

registry_key_cities = sa.Table(
    "registry_key_cities",
    metadata,
    sa.Column("province", sa.String(100), primary_key=True),
    sa.Column("city", sa.String(100), primary_key=True),
    sa.Column("pilot_zone", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

registry_key_industries = sa.Table(
    "registry_key_industries",
    metadata,
    sa.Column("holder_kind", sa.String(20), primary_key=True),
    sa.Column("holder", sa.String(100), primary_key=True),
    sa.Column("industry", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.String(40), nullable=False),
)

report_submissions = sa.Table(
    "report_submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("subject_kind", sa.String(20), nullable=False),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("submitted_on", sa.String(10), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("format", sa.String(10), nullable=False),
    sa.Column("submitted_by", sa.String(64), nullable=False),
    sa.Index("ix_report_submissions_subject", "subject_kind", "subject"),
)
