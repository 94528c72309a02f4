"""Alembic environment: runs on the connection SqlStore.migrate hands over."""

from __future__ import annotations

from alembic import context

from resonance.storage.sql.store import make_engine
from resonance.storage.tables_all import metadata

config = context.config


def run_migrations() -> None:
    """Run migrations on the given connection, or on a fresh engine from the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
