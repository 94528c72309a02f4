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

from resonance.domain.errors import AlreadyExists, BudgetExhausted, InvalidInput, NotFound
from resonance.domain.events import (
    LoopIterationRecorded,
    LoopRunFinished,
    LoopRunStarted,
)
from resonance.domain.loop import Iteration, LoopConfig, LoopTrace, run_loop
from resonance.domain.loop_types import FAILED, FINISHED, RUNNING, LoopRun, LoopSummary
from resonance.domain.modeling import Task, with_task
from resonance.domain.orgs import Role, check_slug
from resonance.domain.refs import ref_name, version_ref
from resonance.domain.review import Evidence, Proposal, ProposalKind
from resonance.services import evaluation, review
from resonance.services.loop_data import (
    LoopRequest,
    Pool,
    SuiteOracle,
    auto_drop_members,
    declared_label,
    read_pool,
    register_working,
)
from resonance.services.orgs import require_role
from resonance.services.space import Space

Progress = Callable[[str, int, int], None]


MAX_NAME = 58  # so that the working dataset NAME-data stays a 63-character identifier


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
    spec = with_task(request.spec, declared_label(space, request), capability="loop run")
    req = replace(request, spec=spec)
    _check_request(space, actor, req)
    pool = read_pool(space, actor, req)
    first = register_working(space, actor, req.name, pool, req)
    config = LoopConfig(
        task=pool.label.task,
        budget=min(req.budget, len(pool.reserve)),
        iterations=req.iterations,
        auto_drop=auto_drop_members(space, pool, pool.train_refs),
        seed=req.seed,
    )
    oracle = SuiteOracle(space, actor, req, pool, first)
    record = _start(space, actor, req, first, config, oracle)
    done = 0

    def on_iteration(it: Iteration) -> None:
        nonlocal done
        done += 1
        previous = record.iterations[-1].dataset if record.iterations else ""
        _mark_candidates(space, actor, it, previous)
        record.iterations.append(it.stored(sign=oracle.sign))
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
        _finish(space, actor, replace(record, status=FAILED))
        raise
    record.summary = _summary(trace, oracle, record)
    _finish(space, actor, record)
    _to_owners(space, actor, req.name, trace, pool)
    return record


def _row_of(p: dict[str, Any], pool: Pool) -> tuple[str, int, int]:
    """A proposal's dataset, version number and row in that version."""
    ref = str(p["source"])
    name, number = version_ref(ref)
    return name, number, int(p["source_row"]) - pool.offsets[ref]


def _label(pool: Pool, value: Any) -> str | float:
    """A label as a review item shows it: the class name, or the regression target."""
    if pool.label.task is Task.REGRESSION:
        return float(value)
    return pool.prepared.classes[int(value)]


def _review_proposals(raw: list[dict[str, Any]], pool: Pool, loop: str) -> list[Proposal]:
    """The loop's relabel proposals (target fixes for regression) as review items'
    proposals, with their evidence."""
    classes = pool.prepared.classes
    out = []
    for p in raw:
        name, number, row = _row_of(p, pool)
        if pool.label.task is Task.REGRESSION:
            out.append(
                Proposal(
                    owner=str(p["owner"]),
                    dataset=name,
                    version=number,
                    row=row,
                    kind=ProposalKind.FIX_TARGET,
                    current=float(p["given"]),
                    proposed=round(float(p["suggested"]), 6),
                    evidence=Evidence(
                        loop=loop,
                        iteration=int(p["iteration"]),
                        method="out-of-fold residuals (robust z)",
                        residual=float(p["residual"]),
                    ),
                )
            )
            continue
        out.append(
            Proposal(
                owner=str(p["owner"]),
                dataset=name,
                version=number,
                row=row,
                kind=ProposalKind.RELABEL,
                current=classes[int(p["given"])],
                proposed=classes[int(p["suggested"])],
                evidence=Evidence(
                    loop=loop,
                    iteration=int(p["iteration"]),
                    given_proba=p.get("given_proba"),
                    suggested_proba=p.get("suggested_proba"),
                ),
            )
        )
    return out


def _to_owners(space: Space, actor: str, loop: str, trace: Any, pool: Pool) -> None:
    """Relabel proposals into their owners' review queues; auto-drops the suite kept
    recorded as decisions of the owners' policies (each making a version of their data)."""
    proposals = _review_proposals(trace.proposals, pool, loop)
    if proposals:
        review.propose(space, actor=actor, proposals=proposals)
    by_source: dict[str, list[Proposal]] = {}
    method = (
        "out-of-fold residuals (auto-drop)"
        if pool.label.task is Task.REGRESSION
        else "cleanlab (auto-drop)"
    )
    for p in trace.drops:
        name, number, row = _row_of(p, pool)
        by_source.setdefault(name, []).append(
            Proposal(
                str(p["owner"]),
                name,
                number,
                row,
                ProposalKind.DROP,
                _label(pool, p["given"]),
                None,
                Evidence(loop=loop, iteration=int(p["iteration"]), method=method),
            )
        )
    for name, drops in sorted(by_source.items()):
        with space.work() as w:
            policy = w.tx.get_policy(name)
        review.record_auto_drops(
            space, actor=actor, proposals=drops, policy_version=policy.version if policy else 0
        )


def _mark_candidates(space: Space, actor: str, it: Iteration, previous: str) -> None:
    """Mark the versions an iteration made: the accepted candidate's accepted, the others
    rejected (kept for audit, never the working dataset's latest)."""
    chosen = it.dataset if it.accepted and it.dataset else None
    made = {str(t["dataset"]) for t in it.tried if t.get("dataset")} - {previous}
    for ref in sorted(made - {chosen}):
        review.mark_version(
            space,
            actor=actor,
            ref=ref,
            accepted=False,
            reason=f"iteration {it.number}: the sealed suite did not accept it",
        )
    if chosen is not None:
        review.mark_version(
            space,
            actor=actor,
            ref=chosen,
            accepted=True,
            reason=f"iteration {it.number}: the sealed suite accepted it",
        )


def _start(
    space: Space,
    actor: str,
    req: LoopRequest,
    first: str,
    config: LoopConfig,
    oracle: SuiteOracle,
) -> LoopRun:
    with space.work() as w:
        run_ = LoopRun(
            name=req.name,
            created_by=actor,
            created_at=w.now,
            status=RUNNING,
            suite=req.suite,
            model=req.name,
            dataset=ref_name(first),
            config={
                "spec": req.spec.to_dict(),
                "datasets": list(req.datasets),
                "reserves": list(req.reserves),
                "budget": config.budget,
                "iterations": req.iterations,
                "seed": req.seed,
                "auto_drop": sorted(config.auto_drop),
                "task": config.task.value,
                "primary_metric": oracle.primary,
                "direction": oracle.direction,
                "slice_metric": oracle.slice_metric,
            },
        )
        w.tx.add_loop_run(run_)
        w.emit(
            LoopRunStarted(
                actor=actor,
                object_id=req.name,
                spec=req.spec.to_dict(),
                datasets=list(req.datasets),
                reserves=list(req.reserves),
                budget=config.budget,
                iterations=req.iterations,
                seed=req.seed,
                auto_drop=sorted(config.auto_drop),
                suite=req.suite,
                working_version=first,
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
                number=it.number,
                accepted=it.accepted,
                primary=it.primary,
                worst_slice=it.worst_slice,
                rows=it.rows,
                taken=it.taken,
                dropped=it.dropped,
                dataset=it.dataset,
                model=it.model,
            )
        )


def _summary(trace: LoopTrace, oracle: SuiteOracle, record: LoopRun) -> LoopSummary:
    once = {(p["source"], p["source_row"]): p for p in trace.proposals}  # a row counts once
    return LoopSummary.of(
        record.iterations,
        primary_metric=oracle.primary,
        reserve_rows=len(oracle.pool.reserve),
        proposal_owners=[str(p["owner"]) for p in once.values()],
        direction=oracle.direction,
    )


def _finish(space: Space, actor: str, record: LoopRun) -> None:
    with space.work() as w:
        record.status = record.status if record.status == FAILED else FINISHED
        record.finished_at = w.now
        w.tx.update_loop_run(record)
        w.emit(
            LoopRunFinished(
                actor=actor,
                object_id=record.name,
                status=record.status,
                summary=record.summary,
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
