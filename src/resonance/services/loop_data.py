"""The resonance loop's data side: the pooled rows, the working dataset and the oracle.

:func:`resonance.services.loop.run` drives the engine; this module reads (and
records) the training and reserve versions, registers the run's working dataset,
and turns each candidate into a derived dataset version, a model version and a
sealed evaluation (:class:`Oracle`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from resonance.domain.acceptance import DEFAULT_CONFIDENCE, DEFAULT_MAX_SLICE_DROP, DEFAULT_MIN_GAIN
from resonance.domain.datasets import (
    Dataset,
    DatasetKind,
    DatasetVersion,
    LabelSpec,
    Transformation,
)
from resonance.domain.errors import InvalidInput
from resonance.domain.evaluation import HIGHER, METRIC_DIRECTIONS
from resonance.domain.loop import Candidate, Judge, Outcome, ReviewedFix, Rows
from resonance.domain.loop_types import DEFAULT_QUERIES_PER_ITERATION
from resonance.domain.modeling import ModelSpec, Task
from resonance.domain.policies import Purpose
from resonance.domain.provenance import RowProvenance
from resonance.domain.refs import ref_name, version_ref
from resonance.domain.review import ProposalKind, ReviewStatus, Value, set_labels
from resonance.services import catalog, evaluation
from resonance.services.access import Grantee, authorize
from resonance.services.catalog import (
    derive_version,
    require_dataset,
    resolve_version,
    row_owners,
    row_provenance,
)
from resonance.services.space import Space
from resonance.services.training import group_keys, pool_rows, record_model, time_setup
from resonance.training.features import Prepared, prepare_xy
from resonance.training.trainers import FittedModel, fit_model


@dataclass
class LoopRequest:
    """What ``resonance loop run`` takes."""

    name: str
    spec: ModelSpec
    datasets: list[str]
    reserves: list[str]
    budget: int
    suite: str
    iterations: int = 3
    seed: int = 0
    confidence: float = DEFAULT_CONFIDENCE
    min_gain: float = DEFAULT_MIN_GAIN
    max_slice_drop: float = DEFAULT_MAX_SLICE_DROP
    queries_per_iteration: int = DEFAULT_QUERIES_PER_ITERATION


@dataclass
class Pool:
    """Training and reserve rows in one table (``universe``), with provenance."""

    universe: pa.Table
    prepared: Prepared
    train: Rows
    reserve: Rows
    label: LabelSpec
    grants: dict[str, Grantee]
    offsets: dict[str, int]
    train_refs: list[str]
    origin: RowProvenance
    """Per universe row, the version (a training or reserve version) and row it is."""
    traced: dict[str, RowProvenance] = field(default_factory=dict)

    def origin_of(self, space: Space, version: DatasetVersion, row: int) -> tuple[str, int]:
        """The ingested version and row that row ``row`` of a derived ``version`` came from."""
        if version.ref not in self.traced:
            self.traced[version.ref] = row_provenance(space, version)
        prov = self.traced[version.ref]
        return prov.refs[int(prov.source[row])], int(prov.row[row])


def declared_label(space: Space, req: LoopRequest) -> LabelSpec:
    """The label spec every training and reserve dataset declares (metadata only, no rows)."""
    with space.work() as w:
        versions = [resolve_version(w.tx, r) for r in [*req.datasets, *req.reserves]]
        datasets = [require_dataset(w.tx, v.dataset) for v in versions]
    labels = {d.label for d in datasets}
    if not datasets or None in labels or len(labels) != 1:
        raise InvalidInput(
            "training datasets and reserve pools must all declare the same label spec",
            datasets=[d.name for d in datasets],
        )
    label = datasets[0].label
    assert label is not None
    return label


def _read(space: Space, actor: str, refs: list[str], name: str, role: str) -> list[Grantee]:
    return [
        authorize(
            space,
            actor=actor,
            ref=r,
            purpose=Purpose.TRAIN_POOLED,
            context={"loop": name, "as": role},
        )
        for r in refs
    ]


def member_groups(grants: list[Grantee], tables: list[pa.Table]) -> np.ndarray:
    """Each row's group: its version and the value of its dataset's group key (a row
    whose dataset declares none is a group of its own)."""
    parts = []
    for g, t in zip(grants, tables, strict=True):
        key = g.dataset.group_key
        if key and key in t.column_names:
            values = np.asarray(t[key].to_numpy(zero_copy_only=False), dtype=object)
            parts.append(np.array([f"{g.version.ref}|{v}" for v in values], dtype=object))
        else:
            parts.append(
                np.array([f"{g.version.ref}#{i}" for i in range(t.num_rows)], dtype=object)
            )
    return np.concatenate(parts) if parts else np.empty(0, dtype=object)


def read_pool(space: Space, actor: str, req: LoopRequest) -> Pool:
    """Read (and record) every training and reserve version; encode them together."""
    train_g = _read(space, actor, req.datasets, req.name, "training data")
    reserve_g = _read(space, actor, req.reserves, req.name, "reserve pool")
    pooled = pool_rows(space, [*train_g, *reserve_g], what="training datasets and reserve pools")
    grants, tables, universe, label = pooled.grants, pooled.tables, pooled.table, pooled.label
    n_train = sum(t.num_rows for t in tables[: len(train_g)])
    keys = group_keys(g.dataset for g in grants)
    enc_prep = prepare_xy(
        universe.slice(0, n_train),
        label,
        exclude=(*req.spec.exclude_columns, *keys),  # a group key is never a feature
        feature_columns=req.spec.feature_columns,
        time=time_setup([g.dataset for g in grants], req.spec),
    )
    prepared = prepare_xy(universe, label, encoder=enc_prep.encoder)
    owner = _row_owners(space, grants)
    source = np.concatenate(
        [np.full(t.num_rows, g.version.ref) for g, t in zip(grants, tables, strict=True)]
    )
    offsets, at = {}, 0
    for g, t in zip(grants, tables, strict=True):
        offsets[g.version.ref], at = at, at + t.num_rows
    rows = Rows(
        prepared.encoder.frame(universe),
        prepared.X,
        prepared.y,
        owner,
        source,
        np.arange(len(owner)),
        member_groups(grants, tables) if keys else None,
    )
    idx = np.arange(len(owner))
    return Pool(
        universe,
        prepared,
        rows.take(idx[:n_train]),
        rows.take(idx[n_train:]),
        label,
        {g.version.ref: g for g in grants},
        offsets,
        [g.version.ref for g in train_g],
        RowProvenance.of(
            source, np.concatenate([np.arange(t.num_rows) for t in tables]).astype(np.int64)
        ),
    )


def _row_owners(space: Space, grants: list[Grantee]) -> np.ndarray:
    """Per row, the organization that owns it: a derived version's rows keep their sources'."""
    parts = [row_owners(space, g.version) for g in grants]
    return np.concatenate(parts).astype(str) if parts else np.empty(0, dtype=str)


def register_working(
    space: Space, actor: str, name: str, pool: Pool, req: LoopRequest, *, reuse: bool = False
) -> str:
    """The run's working dataset and its first version.

    The builder registers it; it is *derived*: each row keeps its source version and
    row, and every use is checked against the policies of those sources (the builder
    owns it for no policy purpose, sets no policy on it, ingests nothing into it).
    ``reuse`` (a failed run re-run under its name) adds a version to the working dataset
    the failed run registered; so does a run whose earlier attempt died before its
    record was stored.
    """
    ds_name = f"{name}-data"
    first = next(iter(pool.grants.values())).dataset
    with space.work() as w:
        # a run killed before it was recorded leaves its working dataset behind: reuse it
        orphan = w.tx.get_loop_run(name) is None
    catalog.register_derived(
        space,
        actor=actor,
        dataset=Dataset(
            name=ds_name,
            owner=actor,
            kind=DatasetKind.SPECIALIZED if first.scenario else DatasetKind.COMMON,
            industry=first.industry,
            scenario=first.scenario,
            description=f"working dataset of loop run {name} (pooled in the sandbox)",
            label=pool.label,
        ),
        loop=name,
        reuse=reuse or orphan,
    )
    version, _ = derive_version(
        space,
        actor=actor,
        dataset=ds_name,
        table=pool.universe.take(pa.array(pool.train.row)),
        parents=tuple(req.datasets),
        transformation=Transformation(
            "loop-pool", {"loop": name}, "training datasets pooled for the loop run"
        ),
        provenance=pool.origin.take(pool.train.row),
    )
    return version.ref


def _fitter(spec: ModelSpec, pool: Pool, seed: int) -> Callable[[Rows], FittedModel]:
    def fit(rows: Rows) -> FittedModel:
        prepared = Prepared(
            rows.X,
            rows.y,
            pool.prepared.classes,
            pool.prepared.feature_names,
            None,
            pool.prepared.encoder,
        )
        return fit_model(spec, prepared, label=pool.label, seed=seed)

    return fit


class SuiteOracle:
    """Candidate → derived dataset version → model version → sealed evaluation.

    The baseline is scored on the run's first working version; every other
    candidate becomes a new version derived from its ``parent`` (the accepted
    version the engine built it from). The outcome names both versions.
    """

    def __init__(self, space: Space, actor: str, req: LoopRequest, pool: Pool, first: str) -> None:
        self.space, self.actor, self.req, self.pool = space, actor, req, pool
        self.fit = _fitter(req.spec, pool, req.seed)
        self.first = first
        suite = evaluation.require_suite(space, req.suite)
        suite.check_task(req.spec.task, what=f"loop run {req.name}")
        self.primary = suite.primary_metric
        self.direction = METRIC_DIRECTIONS.get(self.primary, HIGHER)
        self.sign = 1.0 if self.direction == HIGHER else -1.0
        # the worst slice: lowest macro-F1, or highest RMSE (negated: the engine maximises)
        self.regression = req.spec.task is Task.REGRESSION
        self.slice_metric = "rmse" if self.regression else "macro_f1"

    def _take_reserve(self, cand: Candidate) -> list[str]:
        """Authorize (and record) the rows taken from each member's reserve pool."""
        refs = []
        srcs = self.pool.reserve.source[cand.acquired]
        for ref in sorted(set(srcs.tolist())):
            rows = self.pool.reserve.row[cand.acquired][srcs == ref] - self.pool.offsets[ref]
            authorize(
                self.space,
                actor=self.actor,
                ref=ref,
                purpose=Purpose.TRAIN_POOLED,
                context={
                    "loop": self.req.name,
                    "candidate": cand.label,
                    "rows_taken": str(len(rows)),
                },
            )
            refs.append(ref)
        return refs

    def _table(self, rows: Rows) -> pa.Table:
        """The candidate's rows of the pooled table, with the labels the loop changed
        (owner-accepted fixes) written into the label column(s)."""
        table = self.pool.universe.take(pa.array(rows.row))
        given = self.pool.prepared.y[rows.row]
        if self.regression:
            changed = np.nonzero(~np.isclose(rows.y.astype(float), given.astype(float)))[0]
        else:
            changed = np.nonzero(rows.y != given)[0]
        if not len(changed):
            return table
        label = self.pool.label
        values: dict[int, Value] = {}
        for i in changed.tolist():
            if self.regression:
                values[i] = float(rows.y[i])
                continue
            name = self.pool.prepared.classes[int(rows.y[i])]
            like = table.column(label.columns[0])[i].as_py() if len(label.columns) == 1 else ""
            values[i] = _like(name, like)
        return set_labels(table, label=label, values=values)

    def __call__(self, cand: Candidate, judge: Judge | None = None) -> Outcome:
        base = cand.parent or self.first
        parents = (base, *self._take_reserve(cand)) if cand.plans else tuple(self.req.datasets)
        if cand.plans:
            version, _ = derive_version(
                self.space,
                actor=self.actor,
                dataset=ref_name(base),
                table=self._table(cand.rows),
                parents=parents,
                transformation=Transformation(
                    "loop-optimize",
                    {
                        "loop": self.req.name,
                        "candidate": cand.label,
                        "taken": cand.taken,
                        "dropped": cand.dropped,
                        "actions": [p.to_dict() for p in cand.plans],
                    },
                    " | ".join(p.reason for p in cand.plans),
                ),
                provenance=self.pool.origin.take(cand.rows.row),
            )
            ref = version.ref
        else:
            ref = base
        with self.space.work() as w:
            v = w.tx.get_version(*version_ref(ref))
        assert v is not None
        fitted = self.fit(cand.rows)
        mv = record_model(
            self.space,
            actor=self.actor,
            name=self.req.name,
            model=fitted,
            versions=[v],
            metrics={"rows": len(cand.rows)},
            industry=None,
            scenario=None,
            details={"loop": self.req.name, "candidate": cand.label},
        )
        comparison = None
        if judge is None:
            run = evaluation.evaluate(
                self.space, actor=self.actor, model=mv.ref, suite=self.req.suite, label_issues=False
            )
        else:
            run, comparison = evaluation.compare(
                self.space,
                actor=self.actor,
                model=mv.ref,
                reference=judge.reference.model_version,
                suite=self.req.suite,
                test=judge.test,
                mode=judge.mode,
            )
        slices = list(run.diagnosis.get("slices", []))
        key, sign = self.slice_metric, (-1.0 if self.regression else 1.0)
        scores = [sign * float(s[key]) for s in slices if s.get(key) is not None]
        shown = run.metrics.get(self.primary)  # the Ladder's release, else the best so far
        primary = shown if shown is not None else run.metrics["ladder"]["best"]
        return Outcome(
            self.sign * float(primary),
            min(scores) if scores else float("nan"),
            {k: v for k, v in run.metrics.items() if isinstance(v, int | float)},
            slices,
            fitted,
            label=cand.label,
            dataset=ref,
            model_version=mv.ref,
            comparison=comparison,
        )


def _like(name: str, like: object) -> Value:
    """A class name as the label column's values are typed (``"1"`` → ``1`` for an int)."""
    if isinstance(like, bool):
        return name.lower() in ("1", "true")
    if isinstance(like, int):
        return int(float(name))
    if isinstance(like, float):
        return float(name)
    return name


def owner_fixes(
    space: Space, pool: Pool
) -> Callable[[Rows, list[dict[str, Any]]], list[ReviewedFix]]:
    """The loop's ``review``: fixes the rows' owners accepted on their review queues.

    Accepted, not yet applied items on the exact training versions the run pooled
    (a relabel, a target fix, a drop, a confirmed duplicate) become fixes of the
    run's rows; each iteration looks again, so a decision taken while the run
    goes on is picked up. Proposals of this run reach the owners' queues when it
    finishes (see :func:`resonance.services.loop.run`).
    """
    regression = pool.label.task is Task.REGRESSION
    classes = list(pool.prepared.classes)

    def review(train: Rows, proposals: list[dict[str, Any]]) -> list[ReviewedFix]:
        out: list[ReviewedFix] = []
        with space.work() as w:
            for ref in pool.train_refs:
                name, number = version_ref(ref)
                for item in w.tx.list_reviews(
                    dataset=name, version=number, status=ReviewStatus.ACCEPTED
                ):
                    if item.applied_in is not None or item.version != number:
                        continue
                    row = pool.offsets[ref] + item.row
                    if item.kind in (ProposalKind.DROP, ProposalKind.DUPLICATE):
                        out.append(ReviewedFix(row, drop=True))
                    elif regression and item.proposed is not None:
                        out.append(ReviewedFix(row, value=float(item.proposed)))
                    elif str(item.proposed) in classes:
                        out.append(ReviewedFix(row, value=classes.index(str(item.proposed))))
        return out

    return review


def auto_drop_members(space: Space, pool: Pool, refs: list[str]) -> set[str]:
    """Members whose every training dataset's policy allows auto-drop."""
    allowed: dict[str, bool] = {}
    with space.work() as w:
        for ref in refs:
            g = pool.grants[ref]
            policy = w.tx.get_policy(g.dataset.name)
            ok = bool(policy and policy.allow_auto_drop)
            allowed[g.dataset.owner] = allowed.get(g.dataset.owner, True) and ok
    return {o for o, ok in allowed.items() if ok}
