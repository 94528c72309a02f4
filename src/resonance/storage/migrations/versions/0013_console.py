"""console: server-side console sessions (hashed session ids)

Revision ID: 0013_console
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_console"
down_revision = "0001_foundation"
branch_labels = ("console",)
depends_on = None


def upgrade() -> None:
    """Create the console session table."""
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column(
            "organization", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False
        ),
        sa.Column("token_id", sa.String(32), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_console_sessions_token", "console_sessions", ["token_id"])


def downgrade() -> None:
    """Drop the console session table."""
    op.drop_index("ix_console_sessions_token", "console_sessions")
    op.drop_table("console_sessions")
