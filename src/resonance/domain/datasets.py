"""Datasets, immutable versions, schemas, label specs and lineage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from resonance.domain.errors import InvalidInput, SchemaMismatch
from resonance.domain.refs import ref_name


class DatasetKind(StrEnum):
    """Kinds of datasets named by the action."""

    COMMON = "common"
    SPECIALIZED = "specialized"
    EVALUATION = "evaluation"


class Task(StrEnum):
    """What a dataset's label asks a model to predict (declared on its label spec)."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


class LabelKind(StrEnum):
    """How the label is stored in the rows."""

    COLUMN = "column"
    ONE_HOT = "one_hot"


@dataclass(frozen=True)
class LabelSpec:
    """Which columns hold the label, and the task it sets.

    ``column``: one column holds the label. ``one_hot``: the label is the name of
    the single column among ``columns`` whose value is 1. ``task`` says whether
    models predict a class or a number; every capability (train, evaluate,
    diagnose, loop, federate, value) reads it from here.
    """

    kind: LabelKind
    columns: tuple[str, ...]
    task: Task = Task.CLASSIFICATION

    def __post_init__(self) -> None:
        if self.kind is LabelKind.ONE_HOT and self.task is Task.REGRESSION:
            raise InvalidInput("a one-hot label is a class: it cannot be a regression target")

    @property
    def target_name(self) -> str:
        """Name of the derived label column."""
        return self.columns[0] if self.kind is LabelKind.COLUMN else "label"

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {"kind": self.kind.value, "columns": list(self.columns), "task": self.task.value}

    @staticmethod
    def from_dict(data: dict[str, Any] | None) -> LabelSpec | None:
        """Inverse of :meth:`to_dict`; ``None`` stays ``None`` (specs stored before the
        task was declared are classification)."""
        if not data:
            return None
        return LabelSpec(
            LabelKind(data["kind"]),
            tuple(data["columns"]),
            Task(data.get("task") or Task.CLASSIFICATION.value),
        )


def make_label_spec(
    label: str | None, one_hot: list[str] | None, *, task: Task | str | None = None
) -> LabelSpec | None:
    """Build a label spec from the user's options (at most one of label and one-hot).

    ``task`` is ``classification`` (the default) or ``regression`` (a numeric label column).
    """
    if label and one_hot:
        raise InvalidInput("give either a label column or one-hot label columns, not both")
    try:
        kind = Task(task) if task else Task.CLASSIFICATION
    except ValueError:
        raise InvalidInput(
            f"unknown task {task!r}; choose classification or regression", task=str(task)
        ) from None
    if label:
        return LabelSpec(LabelKind.COLUMN, (label,), kind)
    if one_hot:
        cols = tuple(c.strip() for c in one_hot if c.strip())
        if len(cols) < 2:
            raise InvalidInput("a one-hot label needs at least two columns", columns=list(cols))
        return LabelSpec(LabelKind.ONE_HOT, cols, kind)
    if task:
        raise InvalidInput("a task needs a label column", task=str(task))
    return None


@dataclass(frozen=True)
class ColumnSchema:
    """One column: name, Arrow type string, nullability."""

    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True)
class Schema:
    """Ordered columns of a dataset version."""

    columns: tuple[ColumnSchema, ...]

    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    def to_list(self) -> list[dict[str, Any]]:
        """Serialize to plain JSON types."""
        return [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in self.columns]

    @staticmethod
    def from_list(data: list[dict[str, Any]]) -> Schema:
        """Inverse of :meth:`to_list`."""
        return Schema(
            tuple(ColumnSchema(d["name"], d["type"], d.get("nullable", True)) for d in data)
        )


_NUMERIC = {
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float",
    "double",
    "halffloat",
}


def check_compatible(existing: Schema, new: Schema) -> None:
    """Raise ``SchemaMismatch`` when ``new`` cannot be a version of ``existing``.

    Column names and order must match; types must match, except that an
    integer column may arrive as floating point and vice versa (CSV inference
    turns a column with a missing value into ``double``), and a column with no
    value at all (type ``null``) matches any type.
    """
    old_names, new_names = existing.names(), new.names()
    if old_names != new_names:
        missing = [n for n in old_names if n not in new_names]
        extra = [n for n in new_names if n not in old_names]
        raise SchemaMismatch(
            "the new file's columns differ from the dataset's schema"
            + (f"; missing: {missing}" if missing else "")
            + (f"; unexpected: {extra}" if extra else "")
            + ("; same columns in another order" if not missing and not extra else ""),
            missing=missing,
            unexpected=extra,
        )
    changed = [
        {"column": a.name, "expected": a.type, "found": b.type}
        for a, b in zip(existing.columns, new.columns, strict=True)
        if a.type != b.type
        and not (a.type in _NUMERIC and b.type in _NUMERIC)
        and "null" not in (a.type, b.type)
    ]
    if changed:
        raise SchemaMismatch(
            "column types differ from the dataset's schema: "
            + ", ".join(f"{c['column']} ({c['expected']} -> {c['found']})" for c in changed),
            changed=changed,
        )


@dataclass(frozen=True)
class Dataset:
    """A named dataset owned by an organization; its content lives in versions."""

    name: str
    owner: str
    kind: DatasetKind
    industry: str
    scenario: str | None = None
    description: str = ""
    label: LabelSpec | None = None
    group_key: str | None = None
    derived: bool = False
    """A dataset made by the platform's work from other datasets (a loop's working set).

    ``owner`` is then only its registrant: it takes no ingested versions, no policy
    of its own, and every use is checked against the policies of its rows' sources.
    """
    time_column: str | None = None  # rows of a group are ordered by it (a time series)


@dataclass(frozen=True)
class SourceRows:
    """How many rows of a derived version came from one ingested source version."""

    ref: str
    rows: int

    @property
    def dataset(self) -> str:
        """The source's dataset name."""
        return ref_name(self.ref)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {"ref": self.ref, "rows": self.rows}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> SourceRows:
        """Inverse of :meth:`to_dict`."""
        return SourceRows(str(data["ref"]), int(data["rows"]))


@dataclass(frozen=True)
class Transformation:
    """How a version was made from its parents (ingest, drop rows, acquire, ...)."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {"kind": self.kind, "params": self.params, "reason": self.reason}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Transformation:
        """Inverse of :meth:`to_dict`."""
        return Transformation(data["kind"], dict(data.get("params", {})), data.get("reason", ""))


def validation_verdict(report: Mapping[str, Any] | None) -> str:
    """A validation report in one word: ``none`` (no report), ``failed``, ``warnings``
    or ``passed`` -- what registry views count, stored beside the report so that they
    need not parse it."""
    if not report or "ok" not in report:
        return "none"
    if not report["ok"]:
        return "failed"
    return "warnings" if report.get("warnings") else "passed"


@dataclass(frozen=True)
class DatasetVersion:
    """An immutable snapshot of a dataset, named by the hash of its Parquet file."""

    dataset: str
    number: int
    content_hash: str
    row_count: int
    schema: Schema
    parents: tuple[str, ...]
    transformation: Transformation
    created_at: str
    created_by: str
    source_hash: str | None = None
    validation: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    sources: tuple[SourceRows, ...] = ()
    """The ingested versions its rows came from (empty: an ingested version, its own source)."""
    provenance: str | None = None
    """Digest of the per-row provenance artifact (source version and row of every row)."""

    @property
    def ref(self) -> str:
        """The version's reference, ``name@number``."""
        return f"{self.dataset}@{self.number}"

    @property
    def verdict(self) -> str:
        """Its validation report in one word (see :func:`validation_verdict`)."""
        return validation_verdict(self.validation)

    @property
    def is_derived(self) -> bool:
        """True when its rows carry provenance from other (ingested) versions."""
        return bool(self.sources)

    def source_rows(self) -> tuple[SourceRows, ...]:
        """Its sources; an ingested version is its own single source."""
        return self.sources or (SourceRows(self.ref, self.row_count),)
