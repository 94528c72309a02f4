"""The embedded store's quick reader: catalog queries on the standard library's ``sqlite3``.

A short-lived process that only browses the catalog (``resonance dataset list``) should not
pay for importing SQLAlchemy and every table definition. :class:`SqliteCatalogReader` answers
the :class:`~resonance.storage.store.CatalogReader` queries on the same SQLite file, in one
read transaction (a consistent snapshot), and never writes: the connection is
``query_only``. It builds records with the same functions as the SQL repositories
(:mod:`resonance.storage.records`); ``tests/storage/test_catalog_reader.py`` holds it to
the same answers as :class:`~resonance.storage.sql.SqlTx`. PostgreSQL spaces, and every
write, go through :class:`~resonance.storage.sql.SqlStore`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resonance.domain.errors import StoreUnavailable
from resonance.storage.records import (
    DATASET_COLUMNS,
    JSON_COLUMNS,
    ORG_COLUMNS,
    ORG_JSON,
    TOKEN_COLUMNS,
    VERSION_COLUMNS,
    dataset_of,
    organization_of,
    token_of,
    version_of,
)

if TYPE_CHECKING:
    from resonance.domain.datasets import Dataset, DatasetKind, DatasetVersion
    from resonance.domain.orgs import Organization
    from resonance.domain.review import VersionMark
    from resonance.domain.tokens import ApiToken

_KEPT = (
    "NOT EXISTS (SELECT 1 FROM dataset_version_marks m WHERE m.dataset = v.dataset "
    "AND m.number = v.number AND m.status = 'rejected')"
)
"""Versions that may be a dataset's latest: all but rejected loop candidates."""


def sqlite_path(url: str) -> Path | None:
    """The file of a plain ``sqlite:///PATH`` URL; ``None`` for any other URL."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or len(url) == len(prefix):
        return None
    return Path(url[len(prefix) :])


def _row(
    names: Sequence[str], values: Sequence[Any], json_columns: frozenset[str]
) -> dict[str, Any]:
    return {
        n: (json.loads(v) if n in json_columns and isinstance(v, str) else v)
        for n, v in zip(names, values, strict=True)
    }


class SqliteCatalogReader:
    """Read-only catalog queries over one connection (see the module docstring)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[SqliteCatalogReader]:
        """A reader in one read transaction on the SQLite file ``path``.

        Raises
        ------
        StoreUnavailable
            The file is missing, is not a migrated space store, or cannot be read.
        """
        if not path.is_file():
            raise StoreUnavailable(f"cannot open the metadata store: no file {path}")
        try:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open the metadata store: {exc}") from exc
        try:
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("BEGIN")
            yield cls(conn)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the metadata store failed: {exc}") from exc
        finally:
            conn.close()

    def _select(
        self, sql: str, params: Sequence[Any] = (), *, json_columns: frozenset[str] = JSON_COLUMNS
    ) -> list[dict[str, Any]]:
        """Rows of ``sql`` as mappings, ``json_columns`` (of the catalog's tables by default)
        decoded."""
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [_row(names, r, json_columns) for r in cur.fetchall()]

    def get_organization(self, name: str) -> Organization | None:
        """The organization ``name`` or ``None``."""
        cols = ", ".join(ORG_COLUMNS)
        rows = self._select(
            f"SELECT {cols} FROM organizations WHERE name = ?", (name,), json_columns=ORG_JSON
        )
        return organization_of(rows[0]) if rows else None

    def get_api_token(self, token_id: str) -> ApiToken | None:
        """The API token ``token_id`` (salted hash, never the secret) or ``None``."""
        cols = ", ".join(TOKEN_COLUMNS)
        rows = self._select(
            f"SELECT {cols} FROM api_tokens WHERE id = ?", (token_id,), json_columns=frozenset()
        )
        return token_of(rows[0]) if rows else None

    def get_dataset(self, name: str) -> Dataset | None:
        """The dataset ``name`` or ``None``."""
        cols = ", ".join(DATASET_COLUMNS)
        rows = self._select(f"SELECT {cols} FROM datasets WHERE name = ?", (name,))
        return dataset_of(rows[0]) if rows else None

    def list_datasets(
        self,
        *,
        owner: str | None = None,
        kind: DatasetKind | None = None,
        industry: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Dataset]:
        """Datasets by name, filtered by every given argument; ``limit``/``offset`` page."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("owner", owner),
            ("kind", kind.value if kind else None),
            ("industry", industry),
        ):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {', '.join(DATASET_COLUMNS)} FROM datasets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY name"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return [dataset_of(r) for r in self._select(sql, params)]

    def get_version(self, dataset: str, number: int | None = None) -> DatasetVersion | None:
        """Version ``number``; without it the latest that is not a rejected candidate."""
        cols = ", ".join(f"v.{c}" for c in VERSION_COLUMNS)
        sql = f"SELECT {cols} FROM dataset_versions v WHERE v.dataset = ?"
        params: list[Any] = [dataset]
        if number is not None:
            sql += " AND v.number = ?"
            params.append(number)
        else:
            sql += f" AND {_KEPT}"
        rows = self._select(sql + " ORDER BY v.number DESC LIMIT 1", params)
        return version_of(rows[0]) if rows else None

    def list_versions(self, dataset: str) -> list[DatasetVersion]:
        """Every version of ``dataset``, oldest first."""
        cols = ", ".join(VERSION_COLUMNS)
        sql = f"SELECT {cols} FROM dataset_versions WHERE dataset = ? ORDER BY number"
        return [version_of(r) for r in self._select(sql, (dataset,))]

    def latest_versions(
        self,
        *,
        with_validation: bool = True,
        with_profile: bool = True,
        brief: bool = False,
        datasets: Sequence[str] | None = None,
    ) -> dict[str, DatasetVersion]:
        """The latest version of every dataset (or of ``datasets``; never a rejected
        candidate), in one query; ``brief`` as the SQL store's (no schema nor profile, the
        report's verdict and warnings only)."""
        wanted = {
            "validation": with_validation and not brief,
            "profile": with_profile and not brief,
        }
        skip = {name for name, keep in wanted.items() if not keep} | (
            {"schema"} if brief else set()
        )
        cols = [f"v.{c}" for c in VERSION_COLUMNS if c not in skip]
        if brief and with_validation:
            cols += [
                "json_extract(v.validation, '$.ok') AS v_ok",
                "json_extract(v.validation, '$.warnings') AS v_warn",
            ]
        params: list[Any] = []
        only = ""
        if datasets is not None:
            only = f" AND v.dataset IN ({', '.join('?' for _ in datasets)})"
            params = list(datasets)
        sql = (
            f"SELECT {', '.join(cols)} FROM dataset_versions v JOIN "
            f"(SELECT v.dataset AS dataset, max(v.number) AS number FROM dataset_versions v "
            f"WHERE {_KEPT}{only} GROUP BY v.dataset) top "
            "ON v.dataset = top.dataset AND v.number = top.number"
        )
        return {r["dataset"]: version_of(r) for r in self._select(sql, params)}

    def version_marks(self, dataset: str) -> dict[int, VersionMark]:
        """Marks of ``dataset``'s versions, by number."""
        from resonance.domain.review import VersionMark

        rows = self._select(
            "SELECT dataset, number, status, marked_at, marked_by, reason "
            "FROM dataset_version_marks WHERE dataset = ? ORDER BY number",
            (dataset,),
        )
        return {
            r["number"]: VersionMark(
                r["dataset"], r["number"], r["status"], r["marked_at"], r["marked_by"], r["reason"]
            )
            for r in rows
        }
