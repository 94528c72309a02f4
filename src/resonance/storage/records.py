"""Catalog, organization and token records from stored rows (one mapping per row, JSON
columns already decoded).

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
    SourceRows,
    Transformation,
)
from resonance.domain.orgs import Organization, Role
from resonance.domain.tokens import ApiToken

DATASET_COLUMNS = (
    "name",
    "owner",
    "kind",
    "industry",
    "scenario",
    "description",
    "label",
    "group_key",
    "derived",
    "time_column",
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
    "sources",
    "provenance",
)
ORG_COLUMNS = ("name", "roles", "region", "display_name", "central_enterprise", "enterprise")
TOKEN_COLUMNS = ("id", "organization", "salt", "hash", "label", "created_at", "revoked_at")
JSON_COLUMNS = frozenset(
    {"label", "schema", "parents", "transformation", "validation", "profile", "sources", "v_warn"}
)
"""JSON columns of ``datasets`` and ``dataset_versions``."""
ORG_JSON = frozenset({"roles"})
"""JSON columns of ``organizations``."""


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
        derived=bool(row["derived"]),
        time_column=row["time_column"],
    )


def version_of(row: Mapping[str, Any]) -> DatasetVersion:
    """The :class:`DatasetVersion` of a ``dataset_versions`` row.

    ``validation``, ``profile`` and ``schema`` may be left out of the row (large JSON
    columns a listing does not read): the version then carries empty ones. A brief
    read gives the report's verdict and warnings as ``v_ok`` and ``v_warn`` instead.
    """
    validation = row.get("validation", {})
    if "v_ok" in row:  # a brief read: the verdict and warnings only
        ok, warnings = row["v_ok"], row["v_warn"]
        validation = (
            {}
            if ok is None and warnings is None
            else {"ok": ok is None or bool(ok), "warnings": list(warnings or [])}
        )
    return DatasetVersion(
        dataset=row["dataset"],
        number=row["number"],
        content_hash=row["content_hash"],
        row_count=row["row_count"],
        schema=Schema.from_list(row["schema"]) if "schema" in row else Schema(()),
        parents=tuple(row["parents"]),
        transformation=Transformation.from_dict(row["transformation"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        source_hash=row["source_hash"],
        validation=validation,
        profile=row.get("profile", {}),
        sources=tuple(SourceRows.from_dict(s) for s in (row["sources"] or ())),
        provenance=row["provenance"],
    )


def organization_of(row: Mapping[str, Any]) -> Organization:
    """The :class:`Organization` of an ``organizations`` row."""
    return Organization(
        name=row["name"],
        roles=frozenset(Role(r) for r in row["roles"]),
        region=row["region"],
        display_name=row["display_name"],
        central_enterprise=bool(row["central_enterprise"]),
        enterprise=row["enterprise"],
    )


def token_of(row: Mapping[str, Any]) -> ApiToken:
    """The :class:`ApiToken` of an ``api_tokens`` row."""
    return ApiToken(
        row["id"],
        row["organization"],
        row["salt"],
        row["hash"],
        row["label"],
        row["created_at"],
        row["revoked_at"],
    )
