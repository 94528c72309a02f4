"""Use case: the resonance loop on a space.

evaluate → diagnose → optimize the data → retrain → re-evaluate, with the
engine of :mod:`resonance.domain.loop` (the benchmark runs the same one). Every
candidate is a new immutable version of the run's working dataset (derived
with lineage and the actions' reasons), trained as a model version and scored
through :func:`resonance.services.evaluation.evaluate` (sealed rows never leave;
the suite's query budget applies). Reserve pools are members' datasets whose
policy grants ``train-pooled`` to the builder; taking rows from them is an
authorized access on the ledger naming the rows taken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa

from resonance.domain.datasets import Dataset, DatasetKind, LabelSpec, Transformation
from resonance.domain.errors import AlreadyExists, BudgetExhausted, InvalidInput, NotFound
from resonance.domain.evaluation import HIGHER, METRIC_DIRECTIONS
from resonance.domain.events import (
    DatasetRegistered,
    LoopIterationRecorded,
    LoopRunFinished,
    LoopRunStarted,
    RelabelProposed,
)
from resonance.domain.loop import Candidate, Iteration, LoopConfig, Outcome, Rows, run_loop
from resonance.domain.loop_run import FAILED, FINISHED, RUNNING, LoopRun
from resonance.domain.modeling import ModelSpec, Task
from resonance.domain.orgs import Role, check_slug
from resonance.domain.policies import Purpose
from resonance.services import evaluation
from resonance.services.access import Grantee, authorize, load_rows
from resonance.services.catalog import derive_version
from resonance.services.orgs import require_role
from resonance.services.space import Space
from resonance.services.training import record_model
from resonance.training.features import Prepared, prepare_xy
from resonance.training.trainers import FittedModel, fit_model

Progress = Callable[[str, int, int], None]


MAX_NAME = 58  # so that the working dataset NAME-data stays a 63-character identifier


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


@dataclass
class _Pool:
    """Training and reserve rows in one table (``universe``), with provenance."""

    universe: pa.Table
    prepared: Prepared
    train: Rows
    reserve: Rows
    label: LabelSpec
    grants: dict[str, Grantee]
    offsets: dict[str, int]
    train_refs: list[str]


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


def _pool(space: Space, actor: str, req: LoopRequest) -> _Pool:
    """Read (and record) every training and reserve version; encode them together."""
    train_g = _read(space, actor, req.datasets, req.name, "training data")
    reserve_g = _read(space, actor, req.reserves, req.name, "reserve pool")
    labels = {g.dataset.label for g in (*train_g, *reserve_g)}
    if None in labels or len(labels) != 1:
        raise InvalidInput("training datasets and reserve pools must share one label spec")
    grants = [*train_g, *reserve_g]
    tables = [load_rows(space, g.version) for g in grants]
    try:
        universe = pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowInvalid as exc:
        raise InvalidInput(f"datasets do not share a schema: {exc}") from exc
    label = grants[0].dataset.label
    assert label is not None
    n_train = sum(t.num_rows for t in tables[: len(train_g)])
    enc_prep = prepare_xy(
        universe.slice(0, n_train),
        label,
        exclude=req.spec.exclude_columns,
        feature_columns=req.spec.feature_columns,
    )
    prepared = prepare_xy(universe, label, encoder=enc_prep.encoder)
    owner = np.concatenate(
        [np.full(t.num_rows, g.dataset.owner) for g, t in zip(grants, tables, strict=True)]
    )
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
    )
    idx = np.arange(len(owner))
    return _Pool(
        universe,
        prepared,
        rows.take(idx[:n_train]),
        rows.take(idx[n_train:]),
        label,
        {g.version.ref: g for g in grants},
        offsets,
        [g.version.ref for g in train_g],
    )


def _register_working(space: Space, actor: str, name: str, pool: _Pool, req: LoopRequest) -> str:
    """The run's working dataset (owned by the builder, in the sandbox) and its first version."""
    ds_name = f"{name}-data"
    first = next(iter(pool.grants.values())).dataset
    with space.work() as w:
        if w.tx.get_dataset(ds_name):
            raise AlreadyExists(f"dataset {ds_name!r} already exists", dataset=ds_name)
        ds = Dataset(
            name=ds_name,
            owner=actor,
            kind=DatasetKind.SPECIALIZED if first.scenario else DatasetKind.COMMON,
            industry=first.industry,
            scenario=first.scenario,
            description=f"working dataset of loop run {name} (pooled in the sandbox)",
            label=pool.label,
        )
        w.tx.add_dataset(ds, created_at=w.now)
        w.emit(
            DatasetRegistered(
                actor=actor,
                object_id=ds_name,
                payload={
                    "owner": actor,
                    "kind": ds.kind.value,
                    "industry": ds.industry,
                    "scenario": ds.scenario,
                    "loop": name,
                },
            )
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
    )
    return version.ref


def _fitter(spec: ModelSpec, pool: _Pool, seed: int) -> Callable[[Rows], FittedModel]:
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


class _Oracle:
    """Candidate → derived dataset version → model version → sealed evaluation."""

    def __init__(self, space: Space, actor: str, req: LoopRequest, pool: _Pool, first: str) -> None:
        self.space, self.actor, self.req, self.pool = space, actor, req, pool
        self.fit = _fitter(req.spec, pool, req.seed)
        self.current = first
        self.refs: dict[str, tuple[str, str]] = {}
        suite = evaluation.require_suite(space, req.suite)
        self.primary = suite.primary_metric
        self.sign = 1.0 if METRIC_DIRECTIONS.get(self.primary, HIGHER) == HIGHER else -1.0

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

    def __call__(self, cand: Candidate) -> Outcome:
        parents = (
            (self.current, *self._take_reserve(cand)) if cand.plans else tuple(self.req.datasets)
        )
        if cand.plans:
            version, _ = derive_version(
                self.space,
                actor=self.actor,
                dataset=self.current.split("@")[0],
                table=self.pool.universe.take(pa.array(cand.rows.row)),
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
            )
            ref = version.ref
        else:
            ref = self.current
        with self.space.work() as w:
            v = w.tx.get_version(*_split_ref(ref))
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
        run = evaluation.evaluate(
            self.space, actor=self.actor, model=mv.ref, suite=self.req.suite, label_issues=False
        )
        slices = list(run.diagnosis.get("slices", []))
        scores = [float(s["macro_f1"]) for s in slices if "macro_f1" in s]
        self.refs[cand.label] = (ref, mv.ref)
        return Outcome(
            self.sign * float(run.metrics[self.primary]),
            min(scores) if scores else float("nan"),
            {k: v for k, v in run.metrics.items() if isinstance(v, int | float)},
            slices,
            fitted,
            cand.label,
        )


def _split_ref(ref: str) -> tuple[str, int]:
    name, _, num = ref.partition("@")
    return name, int(num)


def _auto_drop(space: Space, pool: _Pool, refs: list[str]) -> set[str]:
    """Members whose every training dataset's policy allows auto-drop."""
    allowed: dict[str, bool] = {}
    with space.work() as w:
        for ref in refs:
            g = pool.grants[ref]
            policy = w.tx.get_policy(g.dataset.name)
            ok = bool(policy and policy.allow_auto_drop)
            allowed[g.dataset.owner] = allowed.get(g.dataset.owner, True) and ok
    return {o for o, ok in allowed.items() if ok}


def _iteration_dict(
    it: Iteration, refs: dict[str, tuple[str, str]], top: int = 5
) -> dict[str, Any]:
    d = it.to_dict()
    d["slices"] = [
        {k: s.get(k) for k in ("slice", "size", "error_rate", "macro_f1", "accuracy")}
        for s in it.slices[:top]
    ]
    d["dataset"], d["model"] = refs.get(it.reference, ("", ""))
    return _plain(d)


def _plain(value: Any) -> Any:
    """JSON-safe copy (numpy scalars → Python, NaN → None)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def run(
    space: Space, *, actor: str, request: LoopRequest, progress: Progress | None = None
) -> LoopRun:
    """Run the loop and record it (see the module docstring).

    Parameters
    ----------
    request:
        Model spec, training dataset versions, reserve pools, acquisition
        budget (rows), sealed suite, iterations and seed.
    progress:
        Called as ``progress(message, done, total)`` after each step.

    Returns
    -------
    LoopRun
        Every iteration (primary metric, higher is better after the suite's
        direction; worst reported slice macro-F1; rows; rows taken per member)
        and a summary with the lift.
    """
    req = request
    check_slug(req.name, what="loop run")
    if len(req.name) > MAX_NAME:  # its working dataset is NAME-data, itself a slug
        raise InvalidInput(
            f"loop run names are at most {MAX_NAME} characters (the run keeps its data "
            f"in a dataset named {req.name}-data)",
            field="loop run",
            value=req.name,
        )
    if req.spec.task is not Task.CLASSIFICATION:
        raise InvalidInput("the loop optimizes classification models")
    if req.budget < 0 or req.iterations < 1:
        raise InvalidInput("budget must be ≥ 0 and iterations ≥ 1")
    with space.work() as w:
        require_role(w.tx, actor, Role.MODEL_BUILDER)
        if w.tx.get_loop_run(req.name):
            raise AlreadyExists(f"loop run {req.name!r} already exists", loop=req.name)
    left = evaluation.remaining_budget(space, model_name=req.name, suite=req.suite)
    if left < 1 + 3 * req.iterations:
        raise BudgetExhausted(
            f"{req.iterations} iterations may need {1 + 3 * req.iterations} queries of suite "
            f"{req.suite}; {left} left for {req.name}",
            model=req.name,
            suite=req.suite,
            budget=left,
        )
    pool = _pool(space, actor, req)
    first = _register_working(space, actor, req.name, pool, req)
    config = LoopConfig(
        budget=min(req.budget, len(pool.reserve)),
        iterations=req.iterations,
        auto_drop=_auto_drop(space, pool, pool.train_refs),
        seed=req.seed,
    )
    record = _start(space, actor, req, first, config)
    oracle = _Oracle(space, actor, req, pool, first)
    done = 0

    def on_iteration(it: Iteration) -> None:
        nonlocal done
        done += 1
        if it.accepted:
            oracle.current = oracle.refs[it.reference][0]
        record.iterations.append(_iteration_dict(it, oracle.refs))
        _save_iteration(space, actor, record)
        if progress:
            progress(
                f"iteration {it.number}: {'accepted' if it.accepted else 'rejected'}",
                done,
                req.iterations + 1,
            )

    try:
        trace = run_loop(
            pool.train,
            pool.reserve,
            fit=oracle.fit,
            oracle=oracle,
            config=config,
            on_iteration=on_iteration,
        )
    except BaseException:
        _finish(space, actor, replace(record, status=FAILED), [])
        raise
    record.summary = _summary(trace, oracle, record)
    _finish(space, actor, record, _proposals(trace.proposals, pool))
    return record


def _proposals(raw: list[dict[str, Any]], pool: _Pool) -> list[dict[str, Any]]:
    """Relabel proposals once per source row, named by version and row there."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    classes = pool.prepared.classes
    for p in raw:
        ref = str(p["source"])
        row = int(p["source_row"]) - pool.offsets[ref]
        out[(ref, row)] = {
            "source": ref,
            "row": row,
            "owner": p["owner"],
            "given": classes[int(p["given"])],
            "suggested": classes[int(p["suggested"])],
        }
    return list(out.values())


def _start(space: Space, actor: str, req: LoopRequest, first: str, config: LoopConfig) -> LoopRun:
    with space.work() as w:
        run_ = LoopRun(
            name=req.name,
            created_by=actor,
            created_at=w.now,
            status=RUNNING,
            suite=req.suite,
            model=req.name,
            dataset=first.split("@")[0],
            config={
                "spec": req.spec.to_dict(),
                "datasets": list(req.datasets),
                "reserves": list(req.reserves),
                "budget": config.budget,
                "iterations": req.iterations,
                "seed": req.seed,
                "auto_drop": sorted(config.auto_drop),
            },
        )
        w.tx.add_loop_run(run_)
        w.emit(
            LoopRunStarted(
                actor=actor,
                object_id=req.name,
                payload={**run_.config, "suite": req.suite, "working_version": first},
            )
        )
    return run_


def _save_iteration(space: Space, actor: str, record: LoopRun) -> None:
    it = record.iterations[-1]
    with space.work() as w:
        w.tx.update_loop_run(record)
        w.emit(
            LoopIterationRecorded(
                actor=actor,
                object_id=record.name,
                payload={
                    k: it.get(k)
                    for k in (
                        "number",
                        "accepted",
                        "primary",
                        "worst_slice",
                        "rows",
                        "taken",
                        "dropped",
                        "dataset",
                        "model",
                    )
                },
            )
        )


def _summary(trace: Any, oracle: _Oracle, record: LoopRun) -> dict[str, Any]:
    its = record.iterations
    taken: dict[str, int] = {}
    for it in its:
        if it["accepted"]:
            for k, v in it["taken"].items():
                taken[k] = taken.get(k, 0) + int(v)
    proposals: dict[str, int] = {}
    for p in trace.proposals:
        proposals[p["owner"]] = proposals.get(p["owner"], 0) + 1
    last = next(it for it in reversed(its) if it["accepted"])
    base = its[0]["primary"]
    return _plain(
        {
            "primary_metric": oracle.primary,
            "baseline": base,
            "final": last["primary"],
            "lift": (last["primary"] - base) if base is not None else None,
            "baseline_worst_slice": its[0]["worst_slice"],
            "final_worst_slice": last["worst_slice"],
            "final_dataset": last["dataset"],
            "final_model": last["model"],
            "accepted": sum(1 for it in its[1:] if it["accepted"]),
            "rows_taken": taken,
            "reserve_rows": len(oracle.pool.reserve),
            "relabel_proposals": proposals,
        }
    )


def _finish(space: Space, actor: str, record: LoopRun, proposals: list[dict[str, Any]]) -> None:
    with space.work() as w:
        record.status = record.status if record.status == FAILED else FINISHED
        record.finished_at = w.now
        w.tx.update_loop_run(record)
        for ref in sorted({str(p["source"]) for p in proposals}):
            mine = [p for p in proposals if p["source"] == ref]
            w.emit(
                RelabelProposed(
                    actor=actor,
                    object_id=ref,
                    payload={"loop": record.name, "owner": mine[0]["owner"], "rows": mine},
                )
            )
        w.emit(
            LoopRunFinished(
                actor=actor,
                object_id=record.name,
                payload={
                    "status": record.status,
                    **{k: v for k, v in record.summary.items() if k != "relabel_proposals"},
                },
            )
        )


def get_run(space: Space, name: str) -> LoopRun:
    """One loop run or ``NotFound``."""
    with space.work() as w:
        found = w.tx.get_loop_run(name)
    if found is None:
        raise NotFound(f"unknown loop run {name!r}", loop=name)
    return found


def list_runs(space: Space, *, created_by: str | None = None) -> list[LoopRun]:
    """Loop runs, oldest first."""
    with space.work() as w:
        return w.tx.list_loop_runs(created_by=created_by)
