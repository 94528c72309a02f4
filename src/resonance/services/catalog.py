"""Use cases: ingest files as dataset versions, derive versions, browse the catalog."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from resonance.domain.datasets import (
    Dataset,
    DatasetKind,
    DatasetVersion,
    LabelSpec,
    Schema,
    Task,
    Transformation,
    check_compatible,
    make_label_spec,
)
from resonance.domain.errors import (
    AlreadyExists,
    Conflict,
    DerivedDataset,
    NotFound,
    ProvenanceMissing,
    RoleRequired,
    ValidationFailed,
)
from resonance.domain.events import DatasetRegistered, DatasetVersionCreated
from resonance.domain.limits import Limits
from resonance.domain.orgs import Role, check_industry, check_slug
from resonance.domain.provenance import RowProvenance
from resonance.domain.refs import ref_name
from resonance.domain.validation import (
    TableScan,
    ValidationReport,
    schema_errors,
    schema_of,
    shape_errors,
    validate_table,
)
from resonance.services.catalog_read import (
    lineage,
    list_datasets,
    require_dataset,
    resolve_version,
    sealed_view,
    show_dataset,
)
from resonance.services.files import SnapshotWriter, TableStream, check_file, read_table
from resonance.services.orgs import require_org, require_role
from resonance.services.space import Space, Work
from resonance.storage.store import Tx

PARQUET = ".parquet"
PROVENANCE = ".provenance.parquet"


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
    time_column: str | None = None


def new_dataset(
    *,
    owner: str,
    industry: str | None,
    kind: DatasetKind = DatasetKind.COMMON,
    scenario: str | None = None,
    description: str = "",
    label: str | None = None,
    label_onehot: Sequence[str] | None = None,
    task: Task | None = None,
    group_key: str | None = None,
    time_column: str | None = None,
) -> NewDataset | None:
    """What registers a new dataset on its first ingest, from the options the CLI, API and
    console share; ``None`` without an industry (a new version of an existing dataset).
    Empty strings count as not given."""
    if not industry:
        return None
    return NewDataset(
        owner=owner,
        kind=kind,
        industry=industry,
        scenario=scenario or None,
        description=description,
        label=make_label_spec(label or None, list(label_onehot or ()) or None, task=task),
        group_key=group_key or None,
        time_column=time_column or None,
    )


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


def _time_error(ds: Dataset, schema: pa.Schema) -> list[str]:
    """The error of a time series whose time column is not in the file."""
    if ds.time_column and ds.time_column not in schema.names:
        return [f"time column {ds.time_column!r} is not in the file"]
    return []


class _SnapshotPass:
    """Validate a table and write its Parquet snapshot in one pass over its record batches.

    Each batch given to :meth:`add` goes to the snapshot writer's thread and to the
    validation scan's queries as it arrives; nothing is written when the schema
    alone shows an error. :meth:`finish` (or :meth:`abort`) ends the pass.
    """

    def __init__(self, space: Space, schema: pa.Schema, ds: Dataset, what: str) -> None:
        self.space, self.ds, self.what = space, ds, what
        self.tmp = space.artifacts.temp_path(PARQUET)
        self.writer: SnapshotWriter | None = None
        self.scan: TableScan | None = None
        errors = schema_errors(schema, label=ds.label, group_key=ds.group_key)
        if not errors + _time_error(ds, schema):
            self.writer = SnapshotWriter(self.tmp, schema)
            self.scan = TableScan(schema, label=ds.label, group_key=ds.group_key)

    def write(self, batch: pa.RecordBatch) -> None:
        """The next rows of the table, for the snapshot (in order)."""
        if self.writer is not None:
            self.writer.write(batch)

    def validate(self, batch: pa.RecordBatch) -> None:
        """Rows of the table, for validation: in any order, but the first batch first."""
        if self.scan is not None:
            self.scan.add(batch)

    def add(self, batch: pa.RecordBatch) -> None:
        """The next rows of the table (:meth:`write` and :meth:`validate`)."""
        self.write(batch)
        self.validate(batch)

    def abort(self) -> None:
        """Stop the pass and remove the temporary file."""
        if self.writer is not None and self.scan is not None:
            self.writer.abort()
            self.scan.close()
            self.writer = self.scan = None
        self.tmp.unlink(missing_ok=True)

    def _fail(self, report: ValidationReport) -> ValidationFailed:
        return ValidationFailed(
            f"{self.what} failed validation: " + "; ".join(report.errors), report=report.to_dict()
        )

    def finish(self, table: pa.Table) -> _Snapshot:
        """The snapshot of ``table`` (every batch of which was added), validated.

        Raises ``ValidationFailed`` (and removes the temporary file) when the report has
        errors.
        """
        ds = self.ds
        try:
            errors = shape_errors(table, label=ds.label, group_key=ds.group_key)
            errors += _time_error(ds, table.schema)
            if errors or self.writer is None or self.scan is None:
                raise self._fail(ValidationReport(rows=table.num_rows, errors=errors))
            report, profile = self.scan.finish(table, non_finite=self.space.config.non_finite)
            digest = self.writer.close()
            self.writer = self.scan = None
            if not report.ok:
                raise self._fail(report)
        except BaseException:
            self.abort()
            raise
        return _Snapshot(digest, self.tmp, table.num_rows, schema_of(table), report, profile)


def _validate_and_snapshot(space: Space, table: pa.Table, ds: Dataset, what: str) -> _Snapshot:
    """Validate ``table`` and write its snapshot (:class:`_SnapshotPass` over its batches).

    Raises ``ValidationFailed`` (and removes the temporary file) when the report has errors.
    """
    snapshot = _SnapshotPass(space, table.schema, ds, what)
    try:
        for batch in table.to_batches():
            snapshot.add(batch)
    except BaseException:
        snapshot.abort()
        raise
    return snapshot.finish(table)


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
    origin: tuple[RowProvenance, str] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Store a snapshot as the next version in one unit of work (or find it already there).

    ``origin`` is a derived version's resolved per-row provenance and the digest of
    its stored artifact.
    """
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
            if origin is not None:
                version = replace(version, sources=origin[0].counts(), provenance=origin[1])
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
                    sources=[x.to_dict() for x in version.sources] if version.sources else None,
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
        if ds.derived:
            raise DerivedDataset(
                f"{dataset} is derived data: its versions come only from the platform's work "
                "on its sources, never from an ingested file",
                dataset=dataset,
            )
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
    stream = TableStream(path, fmt=fmt, limits=space.config.limits, digest=True)
    snapshot: _SnapshotPass | None = None
    try:  # one pass: each batch is validated and written as it is parsed
        snapshot = _SnapshotPass(space, stream.schema, ds, path.name)
        for batch in stream.read(parsed=snapshot.validate):
            snapshot.write(batch)
        source_hash = stream.sha256()
        known = None if is_new else _known_source(space, dataset, source_hash)
        if known is not None:
            snapshot.abort()
            return IngestResult(known, False, ValidationReport.from_dict(known.validation))
        table = stream.table()
        if latest is not None:
            check_compatible(latest.schema, schema_of(table))
        snap = snapshot.finish(table)
    except BaseException:
        stream.close()
        if snapshot is not None:
            snapshot.abort()
        raise
    del table, stream
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
    provenance: RowProvenance,
    on_behalf_of: str | None = None,
) -> tuple[DatasetVersion, bool]:
    """Store ``table`` as a new version of an existing dataset, made from other versions.

    Used by optimization actions (drop, relabel, acquire, rebalance) and the loop's
    working sets; the transformation says what was done and why, and lands on the
    ledger. Parents may be versions of other datasets (rows acquired from a reserve
    pool).

    Parameters
    ----------
    actor:
        The dataset's owner, or the registrant of a derived dataset.
    provenance:
        Per row of ``table``, the version and row it came from. Rows of derived
        versions are traced down to ingested versions: those are the sources whose
        policies every use of the new version is checked against.
    on_behalf_of:
        The owner ``actor`` acts for (its delegated reviewer or the operator applying
        a review); the caller has checked that ``actor`` may.

    Returns
    -------
    (DatasetVersion, bool)
        The version, and False when identical content was already a version.

    Raises
    ------
    RoleRequired
        ``actor`` is neither the owner nor (for a derived dataset) its registrant.
    ProvenanceMissing
        The provenance does not give one source row per row.
    """
    if len(provenance) != table.num_rows:
        raise ProvenanceMissing(
            f"derived data of {dataset} has {table.num_rows} rows but provenance for "
            f"{len(provenance)}",
            dataset=dataset,
        )
    with space.work() as w:
        require_org(w.tx, actor)
        ds = require_dataset(w.tx, dataset)
        if ds.owner != (on_behalf_of or actor):
            what = "registrant" if ds.derived else "owner"
            raise RoleRequired(
                f"only the {what} ({ds.owner}) adds versions of {dataset}",
                dataset=dataset,
                organization=actor,
            )
        parents = tuple(resolve_version(w.tx, ref).ref for ref in parents)
        ups = {ref: resolve_version(w.tx, ref) for ref in provenance.refs}
        latest = w.tx.get_version(dataset)
    resolved = provenance.resolve(
        lambda ref: row_provenance(space, ups[ref]) if ups[ref].is_derived else ups[ref].row_count
    )
    if latest is not None:
        check_compatible(latest.schema, schema_of(table))
    snap = _validate_and_snapshot(space, table, ds, f"derived data of {dataset}")
    digest, added = _store_provenance(space, resolved)
    try:
        version, created = _commit_version(
            space,
            actor=actor,
            dataset=ds,
            is_new=False,
            snap=snap,
            transformation=transformation,
            parents=parents,
            origin=(resolved, digest),
        )
    except BaseException:
        if added:
            space.artifacts.remove(digest, PROVENANCE)
        raise
    if added and not created:  # identical content was already a version: keep no new file
        space.artifacts.remove(digest, PROVENANCE)
    return version, created


def register_derived(
    space: Space, *, actor: str, dataset: Dataset, loop: str | None = None, reuse: bool = False
) -> Dataset:
    """Register a derived dataset (a loop's working set): ``actor`` is only its registrant.

    Its versions come from :func:`derive_version` with per-row provenance; it takes no
    ingested file and no policy of its own (RES-124), and every use of it is checked
    against the policies of its rows' sources. With ``reuse`` (a failed loop run re-run
    under its name) the same derived dataset, registered by ``actor`` with the same
    description, is returned as it is.

    Raises
    ------
    AlreadyExists
        A dataset of that name exists (and is not one ``reuse`` may take).
    """
    check_slug(dataset.name, what="dataset")
    ds = replace(dataset, owner=actor, derived=True)
    with space.work() as w:
        require_org(w.tx, actor)
        found = w.tx.get_dataset(ds.name)
        if found is not None:
            same = found.derived and found.owner == actor and found.description == ds.description
            if reuse and same:
                return found
            raise AlreadyExists(f"dataset {ds.name!r} already exists", dataset=ds.name)
        w.tx.add_dataset(ds, created_at=w.now)
        w.emit(
            DatasetRegistered(
                actor=actor,
                object_id=ds.name,
                owner=actor,
                kind=ds.kind.value,
                industry=ds.industry,
                scenario=ds.scenario,
                derived=True,
                loop=loop,
            )
        )
    return ds


def _store_provenance(space: Space, prov: RowProvenance) -> tuple[str, bool]:
    """Write the per-row provenance (source index, row) with its source list as metadata."""
    table = pa.table(
        {"source": pa.array(prov.source, pa.int32()), "row": pa.array(prov.row, pa.int64())}
    ).replace_schema_metadata({"refs": json.dumps(list(prov.refs))})
    tmp = space.artifacts.temp_path(PROVENANCE)
    try:
        pq.write_table(table, tmp)
        return space.artifacts.adopt(tmp, PROVENANCE)
    finally:
        tmp.unlink(missing_ok=True)


def row_provenance(space: Space, version: DatasetVersion) -> RowProvenance:
    """Per row of ``version``, the ingested source version and row it came from.

    An ingested version is its own source. No rows are read, only the provenance.
    """
    if not version.is_derived or version.provenance is None:
        return RowProvenance.whole(version.ref, version.row_count)
    table = pq.read_table(space.artifacts.open(version.provenance, PROVENANCE))
    refs = tuple(json.loads((table.schema.metadata or {})[b"refs"]))
    return RowProvenance(
        refs,
        table.column("source").to_numpy().astype(np.int32),
        table.column("row").to_numpy().astype(np.int64),
    )


def row_owners(space: Space, version: DatasetVersion) -> np.ndarray:
    """Per row of ``version``, the organization owning it (no rows read).

    An ingested version's rows are its dataset owner's; a derived version's rows
    keep the owners of the sources its provenance traces them to.
    """
    if not version.is_derived:
        with space.work() as w:
            owner = require_dataset(w.tx, version.dataset).owner
        return np.full(version.row_count, owner, dtype=object).astype(str)
    prov = row_provenance(space, version)
    with space.work() as w:
        owners = [require_dataset(w.tx, ref_name(r)).owner for r in prov.refs]
    return np.asarray(owners, dtype=object)[prov.source].astype(str)


def validate_file(
    path: str | Path,
    *,
    label: LabelSpec | None = None,
    group_key: str | None = None,
    fmt: str | None = None,
    max_bytes: int = 2 * 1024**3,
    limits: Limits | None = None,
) -> ValidationReport:
    """Validate a file without storing anything (a dry run of ingest).

    ``limits`` (default: the documented defaults) caps columns, rows and cell length
    before any value is validated.
    """
    path = Path(path)
    check_file(path, max_bytes=max_bytes)
    table = read_table(path, fmt=fmt, limits=limits or Limits())
    report, _ = validate_table(table, label=label, group_key=group_key)
    return report


__all__ = [
    "IngestResult",
    "NewDataset",
    "derive_version",
    "ingest",
    "lineage",
    "list_datasets",
    "require_dataset",
    "resolve_version",
    "sealed_view",
    "show_dataset",
    "validate_file",
]
