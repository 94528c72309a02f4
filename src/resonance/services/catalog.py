"""Use cases: ingest files as dataset versions, derive versions, browse the catalog."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy.exc import IntegrityError

from resonance.domain.datasets import (
    Dataset,
    DatasetKind,
    DatasetVersion,
    LabelSpec,
    Transformation,
    check_compatible,
    parse_ref,
)
from resonance.domain.errors import Conflict, InvalidInput, NotFound, ValidationFailed
from resonance.domain.events import DatasetRegistered, DatasetVersionCreated
from resonance.domain.orgs import Role, check_industry, check_slug
from resonance.domain.validation import ValidationReport, schema_of, validate_table
from resonance.services.orgs import require_org, require_role
from resonance.services.space import Space
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


def _snapshot(space: Space, table: pa.Table) -> tuple[str, Path]:
    tmp = space.artifacts.temp_path(PARQUET)
    write_parquet(table, tmp)
    return sha256_file(tmp), tmp


def _commit_version(
    space: Space,
    *,
    actor: str,
    dataset: Dataset,
    is_new: bool,
    table: pa.Table,
    report: ValidationReport,
    profile: dict[str, Any],
    transformation: Transformation,
    parents: tuple[str, ...] = (),
    source_hash: str | None = None,
) -> tuple[DatasetVersion, bool]:
    digest, tmp = _snapshot(space, table)
    adopted = False
    try:
        with space.work() as w:
            latest = w.tx.get_version(dataset.name)
            same = w.tx.find_version_by_hash(dataset.name, digest)
            if same is not None:
                tmp.unlink(missing_ok=True)
                return same, False
            if is_new:
                if w.tx.get_dataset(dataset.name):
                    raise Conflict(f"dataset {dataset.name!r} was registered concurrently")
                w.tx.add_dataset(dataset, created_at=w.now)
                w.emit(
                    DatasetRegistered(
                        actor=actor,
                        object_id=dataset.name,
                        payload={
                            "owner": dataset.owner,
                            "kind": dataset.kind.value,
                            "industry": dataset.industry,
                            "scenario": dataset.scenario,
                        },
                    )
                )
            if latest and not parents:
                parents = (latest.ref,)
            version = DatasetVersion(
                dataset=dataset.name,
                number=(latest.number + 1) if latest else 1,
                content_hash=digest,
                row_count=table.num_rows,
                schema=schema_of(table),
                parents=parents,
                transformation=transformation,
                created_at=w.now,
                created_by=actor,
                source_hash=source_hash,
                validation=report.to_dict(),
                profile=profile,
            )
            _, adopted = space.artifacts.adopt(tmp, PARQUET, digest)
            w.tx.add_version(version)
            w.emit(
                DatasetVersionCreated(
                    actor=actor,
                    object_id=version.ref,
                    payload={
                        "content_hash": digest,
                        "source_hash": source_hash,
                        "rows": table.num_rows,
                        "parents": list(parents),
                        "transformation": transformation.to_dict(),
                    },
                )
            )
    except BaseException as exc:
        if adopted:  # the metadata rolled back: take back the file this call added
            space.artifacts.remove(digest, PARQUET)
        if isinstance(exc, IntegrityError):
            raise Conflict(f"concurrent change to {dataset.name}; try again") from exc
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return version, True


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
        Owner, kind, industry, label spec... of a dataset that does not exist yet.
    fmt:
        ``csv`` or ``parquet``; default from the file suffix.

    Returns
    -------
    IngestResult
        ``created`` is False when identical content was already a version (no copy is made).
    """
    path = Path(path)
    check_file(path, max_bytes=space.config.max_ingest_bytes)
    with space.work() as w:
        require_org(w.tx, actor)
        existing = w.tx.get_dataset(dataset)
        latest = w.tx.get_version(dataset) if existing else None
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
            raise InvalidInput(
                f"only the owner ({ds.owner}) adds versions of {dataset}", dataset=dataset
            )
    table = read_table(path, fmt=fmt)
    report, profile = validate_table(table, label=ds.label, group_key=ds.group_key)
    if not report.ok:
        raise ValidationFailed(
            f"{path.name} failed validation: " + "; ".join(report.errors),
            report=report.to_dict(),
        )
    if latest is not None:
        check_compatible(latest.schema, schema_of(table))
    version, created = _commit_version(
        space,
        actor=actor,
        dataset=ds,
        is_new=existing is None,
        table=table,
        report=report,
        profile=profile,
        transformation=Transformation("ingest", {"file": path.name}),
        source_hash=sha256_file(path),
    )
    return IngestResult(version, created, report)


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
    transformation says what was done and why, and lands on the ledger.
    """
    with space.work() as w:
        ds = require_dataset(w.tx, dataset)
        for ref in parents:
            resolve_version(w.tx, ref)
        latest = w.tx.get_version(dataset)
    report, profile = validate_table(table, label=ds.label, group_key=ds.group_key)
    if not report.ok:
        raise ValidationFailed(
            "derived data failed validation: " + "; ".join(report.errors), report=report.to_dict()
        )
    if latest is not None:
        check_compatible(latest.schema, schema_of(table))
    return _commit_version(
        space,
        actor=actor,
        dataset=ds,
        is_new=False,
        table=table,
        report=report,
        profile=profile,
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
) -> list[tuple[Dataset, DatasetVersion | None]]:
    """Datasets with their latest versions."""
    with space.work() as w:
        return [
            (d, w.tx.get_version(d.name))
            for d in w.tx.list_datasets(owner=owner, kind=kind, industry=industry)
        ]


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
