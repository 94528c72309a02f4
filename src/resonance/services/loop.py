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
from dataclasses import replace
from typing import Any

import numpy as np

from resonance.domain.errors import AlreadyExists, BudgetExhausted, InvalidInput, NotFound
from resonance.domain.events import (
    LoopIterationRecorded,
    LoopRunFinished,
    LoopRunStarted,
    RelabelProposed,
)
from resonance.domain.loop import Iteration, LoopConfig, run_loop
from resonance.domain.loop_run import FAILED, FINISHED, RUNNING, LoopRun
from resonance.domain.modeling import Task
from resonance.domain.orgs import Role, check_slug
from resonance.services import evaluation
from resonance.services.loop_data import (
    LoopRequest,
    Oracle,
    Pool,
    auto_drop_members,
    read_pool,
    register_working,
)
from resonance.services.orgs import require_role
from resonance.services.space import Space

Progress = Callable[[str, int, int], None]


MAX_NAME = 58  # so that the working dataset NAME-data stays a 63-character identifier


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


def _check_request(space: Space, actor: str, req: LoopRequest) -> None:
    """Refuse a bad request before anything is read or written."""
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
    left = evaluation.remaining_budget(space, organization=actor, suite=req.suite)
    if left < 1 + 3 * req.iterations:
        raise BudgetExhausted(
            f"{req.iterations} iterations may need {1 + 3 * req.iterations} queries of suite "
            f"{req.suite}; {left} left for {req.name}",
            model=req.name,
            suite=req.suite,
            budget=left,
        )


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
    _check_request(space, actor, req)
    pool = read_pool(space, actor, req)
    first = register_working(space, actor, req.name, pool, req)
    config = LoopConfig(
        budget=min(req.budget, len(pool.reserve)),
        iterations=req.iterations,
        auto_drop=auto_drop_members(space, pool, pool.train_refs),
        seed=req.seed,
    )
    record = _start(space, actor, req, first, config)
    oracle = Oracle(space, actor, req, pool, first)
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


def _proposals(raw: list[dict[str, Any]], pool: Pool) -> list[dict[str, Any]]:
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


def _summary(trace: Any, oracle: Oracle, record: LoopRun) -> dict[str, Any]:
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
