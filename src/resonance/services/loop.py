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

import os
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from resonance.domain.acceptance import AcceptanceTest
from resonance.domain.errors import AlreadyExists, BudgetExhausted, InvalidInput, NotFound
from resonance.domain.events import (
    LoopIterationRecorded,
    LoopRunFinished,
    LoopRunStarted,
)
from resonance.domain.loop import Iteration, LoopConfig, LoopTrace, run_loop
from resonance.domain.loop_types import (
    FAILED,
    FINISHED,
    RUNNING,
    LoopFailure,
    LoopRun,
    LoopSummary,
    ProcessMarker,
)
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
    owner_fixes,
    read_pool,
    register_working,
)
from resonance.services.orgs import require_role
from resonance.services.space import Space
from resonance.training.trainers import check_spec

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
    check_spec(req.spec, space.config.limits)
    if req.budget < 0 or req.iterations < 1:
        raise InvalidInput("budget must be ≥ 0 and iterations ≥ 1")
    if not 1 <= req.queries_per_iteration <= 5:
        raise InvalidInput(
            "queries per iteration must be between 1 and 5", value=req.queries_per_iteration
        )
    AcceptanceTest(  # refuses a bad confidence, min-gain or max-slice-drop before any work
        confidence=req.confidence, min_gain=req.min_gain, max_slice_drop=req.max_slice_drop
    )
    with space.work() as w:
        require_role(w.tx, actor, Role.MODEL_BUILDER)
        existing = w.tx.get_loop_run(req.name)
        if existing is not None and (existing.status != FAILED or existing.created_by != actor):
            raise AlreadyExists(
                f"loop run {req.name!r} already exists (only a failed run of yours can be "
                "re-run under its name)",
                loop=req.name,
                status=existing.status,
            )
    left = evaluation.remaining_budget(space, organization=actor, suite=req.suite)
    # per iteration: owner-reviewed fixes (at most one query) and the capped candidates
    need = 1 + (1 + req.queries_per_iteration) * req.iterations
    if left < need:
        raise BudgetExhausted(
            f"{req.iterations} iterations may need {need} queries of suite "
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
    with space.work() as w:
        rerun = w.tx.get_loop_run(req.name) is not None  # a failed run of the caller's
    first = register_working(space, actor, req.name, pool, req, reuse=rerun)
    config = LoopConfig(
        task=pool.label.task,
        budget=min(req.budget, len(pool.reserve)),
        iterations=req.iterations,
        auto_drop=auto_drop_members(space, pool, pool.train_refs),
        seed=req.seed,
        confidence=req.confidence,
        min_gain=req.min_gain,
        max_slice_drop=req.max_slice_drop,
        queries_per_iteration=req.queries_per_iteration,
    )
    oracle = SuiteOracle(space, actor, req, pool, first)
    record = _start(space, actor, req, first, config, oracle, rerun=rerun)
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
            review=owner_fixes(space, pool),
        )
    except BaseException as exc:
        last = record.iterations[-1].number if record.iterations else None
        failure = LoopFailure(f"{type(exc).__name__}: {exc}", last)
        _finish(space, actor, replace(record, status=FAILED, failure=failure))
        _reject_unjudged(space, record)
        raise
    record.summary = _summary(trace, oracle, record)
    _finish(space, actor, record)
    _to_owners(space, actor, req.name, trace, pool)
    return record


def _row_of(space: Space, p: dict[str, Any], pool: Pool) -> tuple[str, int, int]:
    """A proposal's dataset, version number and row in that version: a row of a derived
    dataset (another run's working set) is traced to the holder's version it came from,
    so the proposal goes to the row's owner."""
    ref = str(p["source"])
    row = int(p["source_row"]) - pool.offsets[ref]
    grant = pool.grants[ref]
    if grant.dataset.derived:
        ref, row = pool.origin_of(space, grant.version, row)
    name, number = version_ref(ref)
    return name, number, row


def _label(pool: Pool, value: Any) -> str | float:
    """A label as a review item shows it: the class name, or the regression target."""
    if pool.label.task is Task.REGRESSION:
        return float(value)
    return pool.prepared.classes[int(value)]


def _review_proposals(
    space: Space, raw: list[dict[str, Any]], pool: Pool, loop: str
) -> list[Proposal]:
    """The loop's relabel proposals (target fixes for regression) as review items'
    proposals, with their evidence."""
    classes = pool.prepared.classes
    out = []
    for p in raw:
        name, number, row = _row_of(space, p, pool)
        iteration = int(p["iteration"])
        if pool.label.task is Task.REGRESSION:
            kind = ProposalKind.FIX_TARGET
            current: str | float = float(p["given"])
            proposed: str | float = round(float(p["suggested"]), 6)
            evidence = Evidence(
                loop=loop,
                iteration=iteration,
                method="out-of-fold residuals (robust z)",
                residual=float(p["residual"]),
            )
        else:
            kind = ProposalKind.RELABEL
            current = classes[int(p["given"])]
            proposed = classes[int(p["suggested"])]
            evidence = Evidence(
                loop=loop,
                iteration=iteration,
                given_proba=p.get("given_proba"),
                suggested_proba=p.get("suggested_proba"),
            )
        out.append(
            Proposal(
                owner=str(p["owner"]),
                dataset=name,
                version=number,
                row=row,
                kind=kind,
                current=current,
                proposed=proposed,
                evidence=evidence,
            )
        )
    return out


def _to_owners(space: Space, actor: str, loop: str, trace: Any, pool: Pool) -> None:
    """Relabel proposals into their owners' review queues; auto-drops the suite kept
    recorded as decisions of the owners' policies (each making a version of their data)."""
    proposals = _review_proposals(space, trace.proposals, pool, loop)
    if proposals:
        review.propose(space, actor=actor, proposals=proposals)
    by_source: dict[str, list[Proposal]] = {}
    method = (
        "out-of-fold residuals (auto-drop)"
        if pool.label.task is Task.REGRESSION
        else "cleanlab (auto-drop)"
    )
    for p in trace.drops:
        name, number, row = _row_of(space, p, pool)
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
    tried = {str(t.get("dataset") or "") for t in it.tried}
    if it.accepted and it.dataset and it.dataset != previous and it.dataset not in tried:
        review.mark_version(  # the baseline: the version the run starts from
            space,
            actor=actor,
            ref=it.dataset,
            accepted=True,
            reason=f"iteration {it.number}: the run's starting version",
        )
    for t in it.tried:
        ref = str(t.get("dataset") or "")
        if not ref or ref == previous:
            continue
        why = (t.get("comparison") or {}).get("reason", "")
        verdict = "accepted" if t.get("accepted") else "did not accept"
        review.mark_version(
            space,
            actor=actor,
            ref=ref,
            accepted=bool(t.get("accepted")),
            reason=f"iteration {it.number}: the sealed suite's paired test {verdict} it"
            + (f" ({why})" if why else ""),
        )


def _start(
    space: Space,
    actor: str,
    req: LoopRequest,
    first: str,
    config: LoopConfig,
    oracle: SuiteOracle,
    *,
    rerun: bool = False,
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
                "acceptance": {
                    **config.acceptance().to_dict(),
                    "queries_per_iteration": config.queries_per_iteration,
                    "rank_folds": config.rank_folds,
                    "worst_slice_rule": (
                        "single-feature bins of the sealed rows (edges learned on the "
                        "training rows) with ≥ min_slice_rows rows and, classifying, ≥ "
                        "min_slice_positives rows outside the bin's majority class"
                    ),
                },
            },
        )
        # which process runs it, so a restart can tell a dead run from a live one
        run_.process = process_marker()
        if rerun:
            w.tx.update_loop_run(run_)
        else:
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
                rerun_of_failed=rerun,
            )
        )
    return run_


def _save_iteration(space: Space, actor: str, record: LoopRun) -> None:
    it = record.iterations[-1]
    with space.work() as w:
        w.tx.update_loop_run(record)
        w.emit(LoopIterationRecorded(actor=actor, object_id=record.name, iteration=it))


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
                failure=record.failure,
            )
        )


def process_marker() -> ProcessMarker:
    """This process: host, pid and start time (a reused pid has another start time)."""
    return ProcessMarker(socket.gethostname(), os.getpid(), _process_start(os.getpid()))


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), "" when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(marker: ProcessMarker) -> bool:
    if marker.host != socket.gethostname():
        return True  # another machine's run: not ours to judge
    pid = marker.pid
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = _process_start(pid)
    return not started or started == marker.started


def recover_runs(space: Space) -> list[LoopRun]:
    """Mark failed every loop run still ``running`` whose process on this host died.

    Called when the server starts (and by ``resonance admin recover``). The run keeps
    its completed iterations; its summary says which was the last, and the same
    name can be run again by its creator.
    """
    with space.work() as w:
        stale = [
            r
            for r in w.tx.list_loop_runs()
            if r.status == RUNNING and r.process is not None and not _alive(r.process)
        ]
    out = []
    for record in stale:
        last = record.iterations[-1].number if record.iterations else None
        failure = LoopFailure("the process running the loop died", last)
        _finish(space, record.created_by, replace(record, status=FAILED, failure=failure))
        _reject_unjudged(space, record)
        out.append(get_run(space, record.name))
    return out


def _reject_unjudged(space: Space, record: LoopRun) -> None:
    """Mark rejected the candidate versions of a failed run that no completed iteration
    judged (so none becomes its working dataset's latest); the pooled working versions
    (``loop-pool``) stay as they are, a re-run under the name builds on them."""
    with space.work() as w:
        marks = w.tx.version_marks(record.dataset)
        versions = w.tx.list_versions(record.dataset)
    judged = {it.dataset for it in record.iterations}
    for v in versions:
        if v.number in marks or v.ref in judged or v.transformation.kind == "loop-pool":
            continue
        review.mark_version(
            space,
            actor=v.created_by,
            ref=v.ref,
            accepted=False,
            reason=f"loop run {record.name} failed before the sealed suite judged it",
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
