"""SqlStore: engine setup, transactions and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

if TYPE_CHECKING:
    from alembic.config import Config

from resonance.domain.errors import Conflict, InvalidInput, StoreUnavailable
from resonance.storage.sql.agents import SqlAgentRepo
from resonance.storage.sql.catalog import SqlCatalogRepo
from resonance.storage.sql.console import SqlSessionRepo
from resonance.storage.sql.dsp import SqlDspRepo
from resonance.storage.sql.jobs import SqlJobRepo
from resonance.storage.sql.ledger import SqlLedgerRepo
from resonance.storage.sql.loop import SqlLoopRepo
from resonance.storage.sql.meta import SqlMetaRepo
from resonance.storage.sql.model_versions import SqlModelRepo
from resonance.storage.sql.orgs import SqlOrgRepo
from resonance.storage.sql.registry import SqlRegistryRepo
from resonance.storage.sql.review import SqlReviewRepo
from resonance.storage.sql.tokens import SqlTokenRepo
from resonance.storage.sql.trust import SqlTrustRepo

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class SqlTx(
    SqlAgentRepo,
    SqlDspRepo,
    SqlJobRepo,
    SqlReviewRepo,
    SqlLoopRepo,
    SqlModelRepo,
    SqlOrgRepo,
    SqlCatalogRepo,
    SqlLedgerRepo,
    SqlMetaRepo,
    SqlRegistryRepo,
    SqlSessionRepo,
    SqlTokenRepo,
    SqlTrustRepo,
):
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


_RETRYABLE = {"40001", "40P01"}  # PostgreSQL: serialization failure, deadlock detected


def _raise_translated(exc: BaseException) -> None:
    """Raise the domain error for a database error a caller can act on (else return)."""
    if isinstance(exc, IntegrityError):
        raise Conflict(
            "the change conflicts with the stored state (a concurrent change, or a duplicate "
            "or unknown id); try again",
            reason=str(exc.orig).splitlines()[0] if exc.orig else "",
        ) from exc
    if isinstance(exc, OperationalError):
        if getattr(exc.orig, "sqlstate", None) in _RETRYABLE:
            raise Conflict(
                "a concurrent change got in the way (serialization failure or deadlock); try again"
            ) from exc
        raise StoreUnavailable(f"the metadata store failed: {exc.orig}") from exc


class SqlStore:
    """The Store on SQLAlchemy.

    Parameters
    ----------
    url:
        ``sqlite:///path/space.db`` or ``postgresql://user@host:port/db``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            if not url.startswith(("sqlite", "postgresql", "postgres://")):
                raise sa.exc.ArgumentError("only SQLite and PostgreSQL are supported")
            self.engine = make_engine(url)
        except sa.exc.ArgumentError as exc:
            raise InvalidInput(
                f"bad metadata store URL ({exc}); use sqlite:///PATH or "
                "postgresql://USER@HOST:PORT/DB",
                scheme=url.partition("://")[0],
            ) from exc

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        """Open a transaction; commit on success, roll back on any exception."""
        try:
            conn_cm = self.engine.begin()
            conn = conn_cm.__enter__()
        except OperationalError as exc:
            raise StoreUnavailable(f"cannot open the metadata store: {exc.orig}") from exc
        except sa.exc.TimeoutError as exc:  # every pooled connection is in use
            raise StoreUnavailable(
                "the metadata store is busy (no free connection); retry"
            ) from exc
        try:
            yield SqlTx(conn)
        except BaseException as exc:
            conn_cm.__exit__(type(exc), exc, exc.__traceback__)
            _raise_translated(exc)
            raise
        else:
            try:
                conn_cm.__exit__(None, None, None)
            except DBAPIError as exc:
                _raise_translated(exc)
                raise

    def alembic_config(self) -> Config:
        """Alembic configuration pointing at the packaged migrations."""
        from alembic.config import Config  # alembic loads only to migrate

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def migrate(self) -> None:
        """Upgrade the schema to the newest revision of every migration branch."""
        from alembic import command

        cfg = self.alembic_config()
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
        except OperationalError as exc:
            raise StoreUnavailable(f"cannot migrate the metadata store: {exc.orig}") from exc

    def current_revisions(self) -> set[str]:
        """Revisions the database is at."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()
