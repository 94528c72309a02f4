"""authority: case evidence and status, list-entry status, entry history, report notes,
national bundles

Revision ID: 0011_authority
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_authority"
down_revision = "0001_foundation"
branch_labels = ("authority",)
depends_on = "0003_registry"


def upgrade() -> None:
    """Add status/evidence columns to the registry tables and the authority's tables."""
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("enterprise", sa.String(64)))
    with op.batch_alter_table("registry_cases") as batch:
        batch.add_column(sa.Column("evidence", sa.String(300), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("status", sa.String(20), nullable=False, server_default="recorded")
        )
    with op.batch_alter_table("registry_models") as batch:
        batch.add_column(
            sa.Column("status", sa.String(20), nullable=False, server_default="listed")
        )
    with op.batch_alter_table("registry_spaces") as batch:
        batch.add_column(
            sa.Column("status", sa.String(20), nullable=False, server_default="listed")
        )
    op.create_table(
        "registry_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("registry", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("before", sa.JSON, nullable=False),
        sa.Column("after", sa.JSON, nullable=False),
        sa.Index("ix_registry_history_entry", "registry", "name"),
    )
    op.create_table(
        "report_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("written_at", sa.String(40), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.UniqueConstraint("kind", "subject_kind", "subject", "version"),
    )
    op.create_table(
        "national_bundles",
        sa.Column("space", sa.String(64), primary_key=True),
        sa.Column("head_hash", sa.String(64), primary_key=True),
        sa.Column("head_seq", sa.Integer, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("exported_at", sa.String(40), nullable=False),
        sa.Column("imported_at", sa.String(40), nullable=False),
        sa.Column("imported_by", sa.String(64), nullable=False),
        sa.Column("bundle", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    """Drop the authority's tables and columns."""
    op.drop_table("national_bundles")
    op.drop_table("report_notes")
    op.drop_table("registry_history")
    with op.batch_alter_table("registry_spaces") as batch:
        batch.drop_column("status")
    with op.batch_alter_table("registry_models") as batch:
        batch.drop_column("status")
    with op.batch_alter_table("registry_cases") as batch:
        batch.drop_column("evidence")
        batch.drop_column("status")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("enterprise")
