"""SQLAlchemy implementation of the Store (SQLite default, PostgreSQL)."""

from resonance.storage.sql.store import SqlStore, SqlTx

__all__ = ["SqlStore", "SqlTx"]
