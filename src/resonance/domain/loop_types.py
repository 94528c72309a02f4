"""The loop's records: rows with provenance, outcomes, configuration, iterations, and the
stored run with its summary (the engine is :mod:`resonance.domain.loop`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # numpy and pandas load with the loop's data, not with every record import
    import numpy as np
    import pandas as pd

from resonance.domain.acceptance import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MAX_SLICE_DROP,
    DEFAULT_MIN_GAIN,
    AcceptanceTest,
    Comparison,
)
from resonance.domain.datasets import Task
from resonance.domain.plain import plain


class Model(Protocol):
    """What the loop needs of a fitted model (``predict`` gives values for regression)."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...


@dataclass
class Rows:
    """Labeled rows with provenance: raw frame (for slices), encoded X, labels, owners.

    ``y`` holds class indices (classification) or numeric targets (regression);
    ``groups`` each row's group (its dataset's group key; ``None`` when no
    dataset declares one): a split boundary for folds and learning curves.
    """

    frame: pd.DataFrame
    X: np.ndarray
    y: np.ndarray
    owner: np.ndarray
    source: np.ndarray
    row: np.ndarray
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    def take(self, idx: np.ndarray) -> Rows:
        """The rows at ``idx``."""
        return Rows(
            self.frame.iloc[idx].reset_index(drop=True),
            self.X[idx],
            self.y[idx],
            self.owner[idx],
            self.source[idx],
            self.row[idx],
            self.groups[idx] if self.groups is not None else None,
        )

    def without(self, idx: np.ndarray) -> Rows:
        """All rows but those at ``idx``."""
        import numpy as np

        keep = np.ones(len(self), dtype=bool)
        keep[idx] = False
        return self.take(np.nonzero(keep)[0])

    def concat(self, other: Rows) -> Rows:
        """These rows followed by ``other``'s."""
        import numpy as np
        import pandas as pd

        return Rows(
            pd.concat([self.frame, other.frame], ignore_index=True),
            np.vstack([self.X, other.X]),
            np.concatenate([self.y, other.y]),
            np.concatenate([self.owner, other.owner]),
            np.concatenate([self.source, other.source]),
            np.concatenate([self.row, other.row]),
            np.concatenate([self.groups, other.groups])
            if self.groups is not None and other.groups is not None
            else None,
        )


@dataclass
class Outcome:
    """The oracle's verdict on a candidate: metrics, weak slices, and the model."""

    primary: float
    worst_slice: float
    metrics: dict[str, Any]
    slices: list[dict[str, Any]]
    model: Model
    label: str = ""
    dataset: str = ""
    model_version: str = ""
    comparison: Comparison | None = None
    """The paired test against the current model (``None`` for the baseline)."""


Fit = Callable[[Rows], Model]


@dataclass(frozen=True)
class Judge:
    """What the oracle compares a candidate with, and how.

    ``reference`` is the current outcome (its ``model_version``/``model`` is
    re-scored on the same sealed rows), ``mode`` is ``improve`` or ``no-harm``
    (see :mod:`resonance.domain.acceptance`).
    """

    reference: Outcome
    test: AcceptanceTest
    mode: str


@dataclass(frozen=True)
class ReviewedFix:
    """A fix an owner accepted for a training row: drop it, or set its label/target.

    ``row`` is the row's id (:attr:`Rows.row`), so it survives reordering.
    """

    row: int
    drop: bool = False
    value: float | int | None = None


DEFAULT_QUERIES_PER_ITERATION = 2  # suite queries per iteration for ranked candidates (cap)


@dataclass
class LoopConfig:
    """Options of a loop run.

    ``task`` (from the data's label spec) picks the diagnosis: cleanlab on
    out-of-fold probabilities and entropy acquisition for classification;
    robust out-of-fold residuals (``residual_z``) and ensemble-spread
    acquisition for regression.
    """

    budget: int
    task: Task = Task.CLASSIFICATION
    residual_z: float = 7.0  # see resonance.domain.diagnosis.ROBUST_Z
    iterations: int = 4
    auto_drop: set[str] = field(default_factory=set)
    tolerance: float = 0.005
    folds: int = 5
    max_slices: int = 5
    seed: int = 0
    max_given_proba: float = 0.35
    """A relabel proposal goes to the owner when the out-of-fold probability of the given
    label is at most this …"""
    min_suggested_proba: float = 0.4
    """… and another label's is at least this (0.2 / 0.5 before: the benchmark's tuning
    seeds left more flipped labels unproposed; owners reject what is wrong)."""
    max_slice_drop: float = DEFAULT_MAX_SLICE_DROP
    max_drop_share: float = 0.1
    min_class_share: float = 0.0
    fairness: float = 1.0
    slice_weight: float = 1.0
    confidence: float = DEFAULT_CONFIDENCE
    min_gain: float = DEFAULT_MIN_GAIN
    queries_per_iteration: int = DEFAULT_QUERIES_PER_ITERATION
    rank_folds: int = 3
    resamples: int = 1000
    spread: str = "rest"
    """How an iteration's acquisition budget is set: ``rest`` (all that is left: a step
    large enough for the paired test to detect; chosen on the benchmark's tuning seeds)
    or ``even`` (what is left spread over the iterations left)."""

    def acceptance(self) -> AcceptanceTest:
        """The paired test's options (``confidence``, ``min_gain``, ``max_slice_drop``)."""
        return AcceptanceTest(
            confidence=self.confidence,
            min_gain=self.min_gain,
            max_slice_drop=self.max_slice_drop,
            resamples=self.resamples,
            seed=self.seed,
        )


SLICE_KEYS = ("slice", "size", "error_rate", "macro_f1", "accuracy", "rmse", "mae")


@dataclass
class Iteration:
    """What one iteration tried and whether the suite accepted it.

    ``primary`` and ``worst_slice`` are higher-is-better (``None`` once stored
    when the suite reported no value); ``dataset`` and ``model`` are the
    ``NAME@N`` refs of the version the iteration ended on (the accepted
    candidate's, else the one kept).
    """

    number: int
    accepted: bool
    primary: float | None
    worst_slice: float | None
    rows: int
    taken: dict[str, int]
    dropped: int
    actions: list[dict[str, Any]]
    slices: list[dict[str, Any]]
    reference: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    tried: list[dict[str, Any]] = field(default_factory=list)
    dataset: str = ""
    model: str = ""
    queries: int = 0

    def stored(self, *, top: int = 5, sign: float = 1.0) -> Iteration:
        """The form a run keeps: the ``top`` weak slices' headline figures, JSON values.

        ``sign`` is -1 when the engine's higher-is-better scores are negated
        lower-is-better metrics (RMSE): the stored run then holds the metric's own
        values (``primary``, ``worst_slice`` and the cross-validated ``cv_score`` of every
        try too; a try's ``comparison`` is already in the metric's own values).
        """
        slices = [{k: s.get(k) for k in SLICE_KEYS} for s in self.slices[:top]]
        data = {**self.to_dict(), "slices": slices}
        if sign != 1.0:
            for holder in (data, *data["tried"]):
                for key in ("primary", "worst_slice", "cv_score"):
                    if isinstance(holder.get(key), int | float):
                        holder[key] = sign * holder[key]
        return Iteration.from_dict(plain(data))

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return plain(
            {
                "number": self.number,
                "accepted": self.accepted,
                "primary": self.primary,
                "worst_slice": self.worst_slice,
                "rows": self.rows,
                "taken": self.taken,
                "dropped": self.dropped,
                "actions": self.actions,
                "slices": self.slices,
                "reference": self.reference,
                "metrics": self.metrics,
                "tried": self.tried,
                "dataset": self.dataset,
                "model": self.model,
                "queries": self.queries,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Iteration:
        """Inverse of :meth:`to_dict`."""
        return cls(
            number=int(data["number"]),
            accepted=bool(data["accepted"]),
            primary=data.get("primary"),
            worst_slice=data.get("worst_slice"),
            rows=int(data.get("rows", 0)),
            taken={str(k): int(v) for k, v in data.get("taken", {}).items()},
            dropped=int(data.get("dropped", 0)),
            actions=list(data.get("actions", [])),
            slices=list(data.get("slices", [])),
            reference=str(data.get("reference", "")),
            metrics=dict(data.get("metrics", {})),
            tried=list(data.get("tried", [])),
            dataset=str(data.get("dataset", "")),
            model=str(data.get("model", "")),
            queries=int(data.get("queries", 0)),
        )


@dataclass
class LoopTrace:
    """Every iteration, the final rows and what is left of the reserve."""

    iterations: list[Iteration]
    train: Rows
    reserve: Rows
    final: Outcome
    proposals: list[dict[str, Any]] = field(default_factory=list)
    drops: list[dict[str, Any]] = field(default_factory=list)  # auto-drops kept by the suite

    @property
    def acquired(self) -> int:
        """Reserve rows taken in accepted iterations."""
        return sum(sum(it.taken.values()) for it in self.iterations if it.accepted)


RUNNING, FINISHED, FAILED = "running", "finished", "failed"


@dataclass
class LoopSummary:
    """What a finished run achieved, in the primary metric's own values.

    ``baseline``/``final`` are the primary metric before the first and after the
    last accepted iteration; ``direction`` says whether it is higher- or
    lower-is-better (RMSE) and ``lift`` is the improvement (positive = better in
    either direction); ``rows_taken`` and ``relabel_proposals`` (relabels or
    target fixes) count per member; ``queries`` the sealed-suite queries spent
    (baseline included).
    """

    primary_metric: str
    baseline: float | None
    final: float | None
    lift: float | None
    baseline_worst_slice: float | None
    final_worst_slice: float | None
    final_dataset: str
    final_model: str
    accepted: int
    rows_taken: dict[str, int]
    reserve_rows: int
    relabel_proposals: dict[str, int]
    direction: str = "higher"
    queries: int = 0

    @classmethod
    def of(
        cls,
        iterations: list[Iteration],
        *,
        primary_metric: str,
        reserve_rows: int,
        proposal_owners: list[str],
        direction: str = "higher",
    ) -> LoopSummary:
        """Summarize stored iterations (the first is the baseline, which is accepted)."""
        taken: dict[str, int] = {}
        for it in iterations:
            if it.accepted:
                for k, v in it.taken.items():
                    taken[k] = taken.get(k, 0) + int(v)
        proposals: dict[str, int] = {}
        for owner in proposal_owners:
            proposals[owner] = proposals.get(owner, 0) + 1
        last = next(it for it in reversed(iterations) if it.accepted)
        base = iterations[0].primary
        lift = last.primary - base if base is not None and last.primary is not None else None
        if lift is not None and direction == "lower":
            lift = -lift
        return cls(
            primary_metric=primary_metric,
            baseline=base,
            final=last.primary,
            lift=lift,
            baseline_worst_slice=iterations[0].worst_slice,
            final_worst_slice=last.worst_slice,
            final_dataset=last.dataset,
            final_model=last.model,
            accepted=sum(1 for it in iterations[1:] if it.accepted),
            rows_taken=taken,
            reserve_rows=reserve_rows,
            relabel_proposals=proposals,
            direction=direction,
            queries=sum(it.queries for it in iterations),
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return plain(dict(self.__dict__))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopSummary:
        """Inverse of :meth:`to_dict`."""
        return cls(
            primary_metric=str(data.get("primary_metric", "")),
            baseline=data.get("baseline"),
            final=data.get("final"),
            lift=data.get("lift"),
            baseline_worst_slice=data.get("baseline_worst_slice"),
            final_worst_slice=data.get("final_worst_slice"),
            final_dataset=str(data.get("final_dataset", "")),
            final_model=str(data.get("final_model", "")),
            accepted=int(data.get("accepted", 0)),
            rows_taken={str(k): int(v) for k, v in (data.get("rows_taken") or {}).items()},
            reserve_rows=int(data.get("reserve_rows", 0)),
            relabel_proposals={
                str(k): int(v) for k, v in (data.get("relabel_proposals") or {}).items()
            },
            direction=str(data.get("direction") or "higher"),
            queries=int(data.get("queries") or 0),
        )


@dataclass(frozen=True)
class ProcessMarker:
    """The process running a loop: host, pid and start time (a reused pid has another)."""

    host: str
    pid: int
    started: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {"host": self.host, "pid": self.pid, "started": self.started}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessMarker:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data.get("host", "")), int(data.get("pid", 0)), str(data.get("started", "")))


@dataclass(frozen=True)
class LoopFailure:
    """Why a run failed and the last iteration it completed (``None``: not even the baseline)."""

    error: str
    last_completed_iteration: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {"error": self.error, "last_completed_iteration": self.last_completed_iteration}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopFailure:
        """Inverse of :meth:`to_dict`."""
        last = data.get("last_completed_iteration")
        return cls(str(data.get("error", "")), None if last is None else int(last))


@dataclass
class LoopRun:
    """A loop run as the space stores it: its configuration, every iteration, a summary.

    ``summary`` is ``None`` until the run finishes (and stays so when it failed).
    ``process`` is the process running it (so a restart can tell a dead run from a live
    one); ``failure`` says why a failed run failed. Both are stored inside ``config``
    (keys ``process`` and ``failure``).
    """

    name: str
    created_by: str
    created_at: str
    status: str
    suite: str
    model: str
    dataset: str
    config: dict[str, Any] = field(default_factory=dict)
    iterations: list[Iteration] = field(default_factory=list)
    summary: LoopSummary | None = None
    finished_at: str | None = None
    process: ProcessMarker | None = None
    failure: LoopFailure | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types (``summary`` is ``{}`` while there is none)."""
        config = dict(self.config)
        if self.process is not None:
            config["process"] = self.process.to_dict()
        if self.failure is not None:
            config["failure"] = self.failure.to_dict()
        return {
            "name": self.name,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "suite": self.suite,
            "model": self.model,
            "dataset": self.dataset,
            "config": config,
            "iterations": [it.to_dict() for it in self.iterations],
            "summary": self.summary.to_dict() if self.summary else {},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopRun:
        """Inverse of :meth:`to_dict`."""
        summary = data.get("summary") or None
        config = dict(data.get("config") or {})
        process, failure = config.pop("process", None), config.pop("failure", None)
        return cls(
            name=data["name"],
            created_by=data["created_by"],
            created_at=data["created_at"],
            finished_at=data.get("finished_at"),
            status=data["status"],
            suite=data["suite"],
            model=data["model"],
            dataset=data["dataset"],
            config=config,
            iterations=[Iteration.from_dict(it) for it in data.get("iterations") or []],
            summary=LoopSummary.from_dict(summary) if summary else None,
            process=ProcessMarker.from_dict(process) if process else None,
            failure=LoopFailure.from_dict(failure) if failure else None,
        )
