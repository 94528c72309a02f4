"""Tables of the web console: server-side sessions (hashed ids only)."""

from __future__ import annotations

import sqlalchemy as sa

from resonance.storage.tables import metadata

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("organization", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("token_id", sa.String(32), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Index("ix_console_sessions_token", "token_id"),
)
