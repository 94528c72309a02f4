"""Read-only catalog use cases: resolve versions, list and show datasets, lineage.

Kept apart from ingest (:mod:`resonance.services.catalog`) so that browsing the catalog
loads neither pyarrow nor duckdb; ``catalog`` re-exports every name here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from resonance.domain.datasets import Dataset, DatasetKind, DatasetVersion
from resonance.domain.errors import NotFound
from resonance.domain.refs import parse_ref
from resonance.services.space import Space
from resonance.storage.store import CatalogReader

if TYPE_CHECKING:
    from resonance.domain.review import VersionMark


def resolve_version(tx: CatalogReader, ref: str) -> DatasetVersion:
    """Load ``name@number`` (or the latest of ``name``), raising ``NotFound``."""
    name, number = parse_ref(ref)
    version = tx.get_version(name, number)
    if version is None:
        what = f"version {ref!r}" if number is not None else f"dataset {name!r} (no versions)"
        raise NotFound(f"unknown {what}", ref=ref)
    return version


def require_dataset(tx: CatalogReader, name: str) -> Dataset:
    """Load a dataset or raise ``NotFound``."""
    ds = tx.get_dataset(name)
    if ds is None:
        raise NotFound(f"unknown dataset {name!r}", dataset=name)
    return ds


def list_datasets(
    space: Space,
    *,
    owner: str | None = None,
    kind: DatasetKind | None = None,
    industry: str | None = None,
    validation: bool = False,
    viewer: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[tuple[Dataset, DatasetVersion | None]]:
    """Datasets with their latest versions (two queries, whatever the catalog's size).

    The versions are brief: without schema and profile, and with only the verdict
    (``ok``) and ``warnings`` of their validation report when ``validation``: use
    :func:`show_dataset` for the rest. ``limit``/``offset`` page through the datasets by
    name; only the page's versions are read. A sealed evaluation dataset's version is
    shown as :func:`sealed_view` lets ``viewer`` see it.
    """
    with space.read() as r:
        datasets = r.list_datasets(
            owner=owner, kind=kind, industry=industry, limit=limit, offset=offset
        )
        latest = r.latest_versions(
            with_validation=validation,
            brief=True,
            datasets=[d.name for d in datasets] if limit is not None else None,
        )
    return [(d, sealed_view(d, v, viewer) if (v := latest.get(d.name)) else None) for d in datasets]


def show_dataset(
    space: Space, name: str, *, viewer: str | None = None
) -> tuple[Dataset, list[DatasetVersion]]:
    """A dataset and all its versions, as ``viewer`` may see them.

    A sealed evaluation dataset's profile (statistics, categorical values, label
    distribution) and validation report are its owner's only: anyone else gets
    column names and types (``viewer=None`` is anyone else).
    """
    with space.read() as r:
        ds, versions = require_dataset(r, name), r.list_versions(name)
    return ds, [sealed_view(ds, v, viewer) for v in versions]


def sealed_view(ds: Dataset, version: DatasetVersion, viewer: str | None) -> DatasetVersion:
    """``version`` without profile and validation when ``ds`` is sealed from ``viewer``."""
    if ds.kind is not DatasetKind.EVALUATION or viewer == ds.owner:
        return version
    return replace(version, profile={}, validation={})


def lineage(space: Space, ref: str) -> list[DatasetVersion]:
    """A version and all its ancestors, nearest first."""
    out: list[DatasetVersion] = []
    seen: set[str] = set()
    with space.read() as r:
        todo = [resolve_version(r, ref)]
        while todo:
            v = todo.pop(0)
            if v.ref in seen:
                continue
            seen.add(v.ref)
            out.append(v)
            todo.extend(resolve_version(r, p) for p in v.parents)
    return out


def version_marks(space: Space, dataset: str) -> dict[int, VersionMark]:
    """Marks of a dataset's versions (accepted or rejected loop candidates), by number."""
    with space.read() as r:
        require_dataset(r, dataset)
        return r.version_marks(dataset)
