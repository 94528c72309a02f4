"""Catalog records from stored rows: one mapping per row, JSON columns already decoded.

Shared by the SQLAlchemy repositories (:mod:`resonance.storage.sql.catalog`) and the
embedded store's quick reader (:mod:`resonance.storage.sqlite_reader`), so both build the
same records from the same columns. Imports no database library.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from resonance.domain.datasets import (
    Dataset,
    DatasetKind,
    DatasetVersion,
    LabelSpec,
    Schema,
    Transformation,
)

DATASET_COLUMNS = (
    "name",
    "owner",
    "kind",
    "industry",
    "scenario",
    "description",
    "label",
    "group_key",
)
VERSION_COLUMNS = (
    "dataset",
    "number",
    "content_hash",
    "source_hash",
    "row_count",
    "schema",
    "parents",
    "transformation",
    "validation",
    "profile",
    "created_at",
    "created_by",
)
JSON_COLUMNS = frozenset({"label", "schema", "parents", "transformation", "validation", "profile"})


def dataset_of(row: Mapping[str, Any]) -> Dataset:
    """The :class:`Dataset` of a ``datasets`` row."""
    return Dataset(
        name=row["name"],
        owner=row["owner"],
        kind=DatasetKind(row["kind"]),
        industry=row["industry"],
        scenario=row["scenario"],
        description=row["description"],
        label=LabelSpec.from_dict(row["label"]),
        group_key=row["group_key"],
    )


def version_of(row: Mapping[str, Any]) -> DatasetVersion:
    """The :class:`DatasetVersion` of a ``dataset_versions`` row.

    ``validation`` and ``profile`` may be left out of the row (large JSON columns a
    listing does not read): the version then carries empty dicts.
    """
    return DatasetVersion(
        dataset=row["dataset"],
        number=row["number"],
        content_hash=row["content_hash"],
        row_count=row["row_count"],
        schema=Schema.from_list(row["schema"]),
        parents=tuple(row["parents"]),
        transformation=Transformation.from_dict(row["transformation"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        source_hash=row["source_hash"],
        validation=row.get("validation", {}),
        profile=row.get("profile", {}),
    )
