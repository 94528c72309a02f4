"""Use cases: ingest files as dataset versions, derive versions, browse the catalog."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from resonance.domain.datasets import (
    Dataset,
    DatasetKind,
    DatasetVersion,
    LabelSpec,
    Schema,
    Transformation,
    check_compatible,
)
from resonance.domain.errors import Conflict, NotFound, RoleRequired, ValidationFailed
from resonance.domain.events import DatasetRegistered, DatasetVersionCreated
from resonance.domain.orgs import Role, check_industry, check_slug
from resonance.domain.refs import parse_ref
from resonance.domain.validation import (
    ValidationReport,
    schema_of,
    shape_errors,
    validate_table,
)
from resonance.services.orgs import require_org, require_role
from resonance.services.space import Space, Work
from resonance.services.tabular import check_file, read_table, write_parquet
from resonance.storage.artifacts import sha256_file
from resonance.storage.store import Tx

PARQUET = ".parquet"


@dataclass
class IngestResult:
    """What an ingest did."""

    version: DatasetVersion
    created: bool
    report: ValidationReport

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "ref": self.version.ref,
            "created": self.created,
            "content_hash": self.version.content_hash,
            "rows": self.version.row_count,
            "validation": self.report.to_dict(),
        }


def resolve_version(tx: Tx, ref: str) -> DatasetVersion:
    """Load ``name@number`` (or the latest of ``name``), raising ``NotFound``."""
    name, number = parse_ref(ref)
    version = tx.get_version(name, number)
    if version is None:
        what = f"version {ref!r}" if number is not None else f"dataset {name!r} (no versions)"
        raise NotFound(f"unknown {what}", ref=ref)
    return version


def require_dataset(tx: Tx, name: str) -> Dataset:
    """Load a dataset or raise ``NotFound``."""
    ds = tx.get_dataset(name)
    if ds is None:
        raise NotFound(f"unknown dataset {name!r}", dataset=name)
    return ds


@dataclass(frozen=True)
class NewDataset:
    """Attributes of a dataset registered by its first ingest."""

    owner: str
    kind: DatasetKind
    industry: str
    scenario: str | None = None
    description: str = ""
    label: LabelSpec | None = None
    group_key: str | None = None


def _check_new_dataset(tx: Tx, name: str, spec: NewDataset) -> Dataset:
    check_slug(name, what="dataset")
    check_industry(spec.industry)
    roles = (Role.EVALUATOR,) if spec.kind is DatasetKind.EVALUATION else (Role.DATA_HOLDER,)
    require_role(tx, spec.owner, *roles)
    return Dataset(name=name, **spec.__dict__)


@dataclass
class _Snapshot:
    """A validated table written to a temporary Parquet file, not yet in the store."""

    digest: str
    tmp: Path
    rows: int
    schema: Schema
    report: ValidationReport
    profile: dict[str, Any]


def _validate_and_snapshot(space: Space, table: pa.Table, ds: Dataset, what: str) -> _Snapshot:
    """Validate ``table`` while a worker thread writes and hashes its Parquet snapshot.

    Raises ``ValidationFailed`` (and removes the temporary file) when the report has errors.
    """
    errors = shape_errors(table, label=ds.label, group_key=ds.group_key)
    if errors:  # fail before writing anything
        report = ValidationReport(rows=table.num_rows, errors=errors)
        raise ValidationFailed(
            f"{what} failed validation: " + "; ".join(errors), report=report.to_dict()
        )
    tmp = space.artifacts.temp_path(PARQUET)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot") as pool:
            written = pool.submit(write_parquet, table, tmp)
            report, profile = validate_table(table, label=ds.label, group_key=ds.group_key)
            digest = written.result()
        if not report.ok:
            raise ValidationFailed(
                f"{what} failed validation: " + "; ".join(report.errors), report=report.to_dict()
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return _Snapshot(digest, tmp, table.num_rows, schema_of(table), report, profile)


def _register(w: Work, actor: str, dataset: Dataset) -> None:
    if w.tx.get_dataset(dataset.name):
        raise Conflict(f"dataset {dataset.name!r} was registered concurrently; try again")
    w.tx.add_dataset(dataset, created_at=w.now)
    w.emit(
        DatasetRegistered(
            actor=actor,
            object_id=dataset.name,
            owner=dataset.owner,
            kind=dataset.kind.value,
            industry=dataset.industry,
            scenario=dataset.scenario,
        )
    )


def _next_version(
    w: Work,
    actor: str,
    dataset: str,
    snap: _Snapshot,
    transformation: Transformation,
    parents: tuple[str, ...],
) -> DatasetVersion:
    """The version after the latest, checked against its schema inside the transaction."""
    latest = w.tx.get_version(dataset)
    if latest is not None:  # checked again here: a version may have landed meanwhile
        check_compatible(latest.schema, snap.schema)
    return DatasetVersion(
        dataset=dataset,
        number=w.tx.last_version_number(dataset) + 1,  # rejected candidates keep their numbers
        content_hash=snap.digest,
        row_count=snap.rows,
        schema=snap.schema,
        parents=parents or ((latest.ref,) if latest else ()),
        transformation=transformation,
        created_at=w.now,
        created_by=actor,
        validation=snap.report.to_dict(),
        profile=snap.profile,
    )


def _commit_version(
    space: Space,
    *,
    actor: str,
    dataset: Dataset,
    is_new: bool,
    snap: _Snapshot,
    transformation: Transformation,
    parents: tuple[str, ...] = (),
    source_hash: str | None = None,
) -> tuple[DatasetVersion, bool]:
    """Store a snapshot as the next version in one unit of work (or find it already there)."""
    adopted = False
    try:
        with space.work() as w:
            same = w.tx.find_version_by_hash(dataset.name, snap.digest)
            if same is not None:
                return same, False
            if is_new:
                _register(w, actor, dataset)
            version = _next_version(w, actor, dataset.name, snap, transformation, parents)
            version = replace(version, source_hash=source_hash)  # None for derived versions
            w.tx.add_version(version)
            w.emit(
                DatasetVersionCreated(
                    actor=actor,
                    object_id=version.ref,
                    content_hash=snap.digest,
                    source_hash=source_hash,
                    rows=snap.rows,
                    parents=list(version.parents),
                    transformation=transformation.to_dict(),
                )
            )
            _, adopted = space.artifacts.adopt(snap.tmp, PARQUET, snap.digest)
    except BaseException:
        if adopted:  # the metadata rolled back: take back the file this call added
            space.artifacts.remove(snap.digest, PARQUET)
        raise
    finally:
        snap.tmp.unlink(missing_ok=True)
    return version, True


def _prepare_ingest(
    space: Space, actor: str, dataset: str, new: NewDataset | None
) -> tuple[Dataset, DatasetVersion | None, bool]:
    """The dataset to add a version to, its latest version, and whether it is new."""
    with space.work() as w:
        require_org(w.tx, actor)
        existing = w.tx.get_dataset(dataset)
        if existing is None:
            if new is None:
                raise NotFound(
                    f"unknown dataset {dataset!r}: give owner, kind and industry to register it",
                    dataset=dataset,
                )
            ds = _check_new_dataset(w.tx, dataset, replace(new, owner=new.owner or actor))
        else:
            ds = existing
        if ds.owner != actor:
            raise RoleRequired(
                f"only the owner ({ds.owner}) adds versions of {dataset}",
                dataset=dataset,
                organization=actor,
            )
        latest = w.tx.get_version(dataset) if existing else None
    return ds, latest, existing is None


def _known_source(space: Space, dataset: str, source_hash: str) -> DatasetVersion | None:
    with space.work() as w:
        return w.tx.find_version_by_source(dataset, source_hash)


def ingest(
    space: Space,
    *,
    actor: str,
    path: str | Path,
    dataset: str,
    new: NewDataset | None = None,
    fmt: str | None = None,
) -> IngestResult:
    """Ingest a CSV or Parquet file as a new version of ``dataset``.

    Parameters
    ----------
    actor:
        The organization doing it: the dataset's owner.
    path:
        The file to ingest.
    dataset:
        Dataset name; registered on first ingest from ``new``.
    new:
        Owner, kind, industry, label spec... of a dataset that does not exist yet
        (ignored when the dataset exists).
    fmt:
        ``csv`` or ``parquet``; default from the file suffix.

    Returns
    -------
    IngestResult
        ``created`` is False when identical content (the same file, or a file
        that reads to the same snapshot) was already a version: no copy is made.

    Raises
    ------
    NotFound, FileTooLarge, MalformedFile, SchemaMismatch, ValidationFailed
        Each leaves the store unchanged.
    """
    path = Path(path)
    check_file(path, max_bytes=space.config.max_ingest_bytes)
    ds, latest, is_new = _prepare_ingest(space, actor, dataset, new)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-hash") as pool:
        hashing = pool.submit(sha256_file, path)
        table = read_table(path, fmt=fmt)
        source_hash = hashing.result()
    if not is_new:
        known = _known_source(space, dataset, source_hash)
        if known is not None:
            return IngestResult(known, False, ValidationReport.from_dict(known.validation))
    if latest is not None:
        check_compatible(latest.schema, schema_of(table))
    snap = _validate_and_snapshot(space, table, ds, path.name)
    del table
    version, created = _commit_version(
        space,
        actor=actor,
        dataset=ds,
        is_new=is_new,
        snap=snap,
        transformation=Transformation("ingest", {"file": path.name}),
        source_hash=source_hash,
    )
    return IngestResult(version, created, snap.report)


def derive_version(
    space: Space,
    *,
    actor: str,
    dataset: str,
    table: pa.Table,
    parents: tuple[str, ...],
    transformation: Transformation,
) -> tuple[DatasetVersion, bool]:
    """Store ``table`` as a new version of an existing dataset, made from ``parents``.

    Used by optimization actions (drop, relabel, acquire, rebalance); the
    transformation says what was done and why, and lands on the ledger. Parents
    may be versions of other datasets (rows acquired from a reserve pool).

    Returns
    -------
    (DatasetVersion, bool)
        The version, and False when identical content was already a version.
    """
    with space.work() as w:
        require_org(w.tx, actor)
        ds = require_dataset(w.tx, dataset)
        parents = tuple(resolve_version(w.tx, ref).ref for ref in parents)
        latest = w.tx.get_version(dataset)
    if latest is not None:
        check_compatible(latest.schema, schema_of(table))
    snap = _validate_and_snapshot(space, table, ds, f"derived data of {dataset}")
    return _commit_version(
        space,
        actor=actor,
        dataset=ds,
        is_new=False,
        snap=snap,
        transformation=transformation,
        parents=parents,
    )


def validate_file(
    path: str | Path,
    *,
    label: LabelSpec | None = None,
    group_key: str | None = None,
    fmt: str | None = None,
    max_bytes: int = 2 * 1024**3,
) -> ValidationReport:
    """Validate a file without storing anything (a dry run of ingest)."""
    path = Path(path)
    check_file(path, max_bytes=max_bytes)
    report, _ = validate_table(read_table(path, fmt=fmt), label=label, group_key=group_key)
    return report


def list_datasets(
    space: Space,
    *,
    owner: str | None = None,
    kind: DatasetKind | None = None,
    industry: str | None = None,
    validation: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[tuple[Dataset, DatasetVersion | None]]:
    """Datasets with their latest versions (two queries, whatever the catalog's size).

    The versions are brief: without schema and profile, and with only the verdict
    (``ok``) and ``warnings`` of their validation report when ``validation``: use
    :func:`show_dataset` for the rest. ``limit``/``offset`` page through the
    datasets by name; only the page's versions are read.
    """
    with space.work() as w:
        datasets = w.tx.list_datasets(
            owner=owner, kind=kind, industry=industry, limit=limit, offset=offset
        )
        latest = w.tx.latest_versions(
            with_validation=validation,
            brief=True,
            datasets=[d.name for d in datasets] if limit is not None else None,
        )
    return [(d, latest.get(d.name)) for d in datasets]


def show_dataset(space: Space, name: str) -> tuple[Dataset, list[DatasetVersion]]:
    """A dataset and all its versions."""
    with space.work() as w:
        return require_dataset(w.tx, name), w.tx.list_versions(name)


def lineage(space: Space, ref: str) -> list[DatasetVersion]:
    """A version and all its ancestors, nearest first."""
    out: list[DatasetVersion] = []
    seen: set[str] = set()
    with space.work() as w:
        todo = [resolve_version(w.tx, ref)]
        while todo:
            v = todo.pop(0)
            if v.ref in seen:
                continue
            seen.add(v.ref)
            out.append(v)
            todo.extend(resolve_version(w.tx, p) for p in v.parents)
    return out
