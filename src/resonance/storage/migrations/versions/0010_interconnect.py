"""interconnect: Dataspace Protocol peers, negotiations and agreements, rules, nonces

Revision ID: 0010_interconnect
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_interconnect"
down_revision = "0001_foundation"
branch_labels = ("interconnect",)
depends_on = None


def upgrade() -> None:
    """Create the interconnection tables."""
    op.create_table(
        "dsp_peers",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("public_pem", sa.Text, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False, unique=True),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "dsp_negotiations",
        sa.Column("pid", sa.String(100), primary_key=True),
        sa.Column("side", sa.String(10), nullable=False),
        sa.Column("peer", sa.String(64), sa.ForeignKey("dsp_peers.name"), nullable=False),
        sa.Column("peer_pid", sa.String(100), index=True),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("organization", sa.String(64), nullable=False),
        sa.Column("purposes", sa.JSON, nullable=False),
        sa.Column("until", sa.String(10), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("offer_id", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("agreement_id", sa.String(100), unique=True),
        sa.Column("agreement", sa.JSON, nullable=False),
        sa.Column("transfer_state", sa.String(20)),
        sa.Column("transfer_pid", sa.String(100), unique=True),
        sa.Column("data_address", sa.JSON, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "dsp_rules",
        sa.Column("dataset", sa.String(64), sa.ForeignKey("datasets.name"), primary_key=True),
        sa.Column("peer", sa.String(64), sa.ForeignKey("dsp_peers.name"), primary_key=True),
        sa.Column("purposes", sa.JSON, nullable=False),
        sa.Column("max_days", sa.Integer, nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "dsp_nonces",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("seen_at", sa.String(40), nullable=False, index=True),
    )


def downgrade() -> None:
    """Drop the interconnection tables."""
    for name in ("dsp_nonces", "dsp_rules", "dsp_negotiations", "dsp_peers"):
        op.drop_table(name)
