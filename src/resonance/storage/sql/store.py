"""SqlStore: engine setup, transactions and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import OperationalError

from resonance.domain.errors import StoreUnavailable
from resonance.storage.sql.catalog import SqlCatalogRepo
from resonance.storage.sql.ledger import SqlLedgerRepo
from resonance.storage.sql.orgs import SqlOrgRepo
from resonance.storage.sql.registry import SqlRegistryRepo

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class SqlTx(SqlOrgRepo, SqlCatalogRepo, SqlLedgerRepo, SqlRegistryRepo):
    """One transaction; every repository method runs on its connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name


def _sqlite_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_engine(url: str) -> sa.Engine:
    """Create an engine for a SQLite or PostgreSQL URL.

    ``postgresql://`` URLs use the psycopg 3 driver.
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_pre_ping=True)


class SqlStore:
    """The Store on SQLAlchemy.

    Parameters
    ----------
    url:
        ``sqlite:///path/space.db`` or ``postgresql://user@host:port/db``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        """Open a transaction; commit on success, roll back on any exception."""
        try:
            conn_cm = self.engine.begin()
            conn = conn_cm.__enter__()
        except OperationalError as exc:
            raise StoreUnavailable(f"cannot open the metadata store: {exc.orig}") from exc
        try:
            yield SqlTx(conn)
        except BaseException as exc:
            conn_cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        else:
            conn_cm.__exit__(None, None, None)

    def alembic_config(self) -> Config:
        """Alembic configuration pointing at the packaged migrations."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def migrate(self) -> None:
        """Upgrade the schema to the newest revision of every migration branch."""
        cfg = self.alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")

    def current_revisions(self) -> set[str]:
        """Revisions the database is at."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()
