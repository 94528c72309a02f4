"""Use cases of jobs: submit, run (in a worker), watch, cancel, limit, recover after a crash.

The queue itself is an adapter (:mod:`resonance.jobs`, on huey): :func:`submit` records the
job and hands its id to the ``enqueue`` callable it is given, and a worker calls :func:`run`
with that id. The jobs table, not the queue, is the truth: :func:`run` claims the job with one
conditional update, so a job delivered twice still runs once, and a cancelled job never starts.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from resonance.domain.errors import (
    InvalidInput,
    JobCancelled,
    JobCrashed,
    JobNotCancellable,
    NotFound,
    QueueUnavailable,
    ResonanceError,
    RoleRequired,
    WorkerLost,
)
from resonance.domain.events import JobFinished, JobSubmitted
from resonance.domain.jobs import (
    DEFAULT_MAX_ACTIVE_JOBS,
    Job,
    JobKind,
    JobStatus,
    check_job_limit,
    visible_to,
)
from resonance.domain.orgs import Role
from resonance.services.job_kinds import check_spec, parse_spec, spec_params
from resonance.services.orgs import require_org
from resonance.services.space import Space, utcnow

#: Seconds between heartbeats of a running job.
HEARTBEAT_S = 15.0
#: A job on another host whose heartbeat is older than this is taken for dead.
STALE_S = 600.0
LIMIT_KEY = "jobs.max_active"

Enqueue = Callable[[str], None]


def worker_id() -> str:
    """This process's worker name: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _limit_key(organization: str | None) -> str:
    return LIMIT_KEY if organization is None else f"{LIMIT_KEY}.{organization}"


def job_limit(space: Space, organization: str) -> int:
    """Queued plus running jobs ``organization`` may have (its own limit, else the space's)."""
    with space.work() as w:
        own = w.tx.get_meta(_limit_key(organization))
        default = w.tx.get_meta(_limit_key(None))
    return int(own or default or DEFAULT_MAX_ACTIVE_JOBS)


def set_job_limit(space: Space, *, actor: str, organization: str | None, limit: int) -> None:
    """Set an organization's limit (or the space's default when ``organization`` is None).

    Only the space operator may (RES-122).
    """
    if limit < 1 or limit > 1000:
        raise InvalidInput("a job limit must be between 1 and 1000", limit=limit)
    with space.work() as w:
        org = require_org(w.tx, actor)
        if not org.has_role(Role.OPERATOR):
            raise RoleRequired("only the space operator sets job limits", organization=actor)
        if organization is not None:
            require_org(w.tx, organization)
        w.tx.set_meta(_limit_key(organization), str(limit))


def submit(
    space: Space,
    *,
    actor: str,
    kind: JobKind,
    params: dict[str, Any],
    enqueue: Enqueue | None = None,
) -> Job:
    """Record a job for ``actor`` and hand it to ``enqueue`` (a worker will run it).

    Parameters
    ----------
    space:
        The space.
    actor:
        Submitting organization: the job runs under its identity and policies.
    kind:
        What the job does.
    params:
        The kind's parameters (see :mod:`resonance.services.job_kinds`); checked here
        (RES-100), with the kind's cheap checks (role, names, known inputs), before anything
        is stored.
    enqueue:
        Puts the job id on the queue; ``None`` leaves the job queued for the caller to run
        itself with :func:`run` (the CLI without ``--detach``).

    Raises
    ------
    JobLimitReached
        ``actor`` already has as many queued or running jobs as its limit (RES-200).
    QueueUnavailable
        The queue refused the job (RES-202); the job is then recorded as failed.
    """
    spec = parse_spec(kind, params)
    with space.work() as w:
        require_org(w.tx, actor)
    check_spec(spec, space, actor=actor)
    limit = job_limit(space, actor)
    with space.work() as w:
        require_org(w.tx, actor)
        check_job_limit(
            organization=actor, active=w.tx.count_active_jobs(actor, lock=True), limit=limit
        )
        job = Job(
            id=f"job-{uuid.uuid4().hex[:16]}",
            kind=kind,
            organization=actor,
            status=JobStatus.QUEUED,
            params=spec_params(spec),
            created_at=w.now,
        )
        w.tx.add_job(job)
        w.emit(JobSubmitted(actor=actor, object_id=job.id, kind=kind.value, params=job.params))
    if enqueue is not None:
        try:
            enqueue(job.id)
        except Exception as exc:  # the broker is down: the job must not stay queued forever
            error = QueueUnavailable(f"the job queue refused job {job.id}: {exc}", job=job.id)
            _finish(space, job, JobStatus.FAILED, error=error.to_dict()["error"])
            raise error from exc
    return job


def _finish(
    space: Space,
    job: Job,
    status: JobStatus,
    *,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    log: str | None = None,
) -> bool:
    with space.work() as w:
        done = w.tx.finish_job(
            job.id, status=status, now=w.now, result=result, error=error, log=log
        )
        if done:
            w.emit(
                JobFinished(
                    actor=job.organization,
                    object_id=job.id,
                    kind=job.kind.value,
                    status=status.value,
                    result=result or None,
                    error=error.get("code") if error else None,
                )
            )
    return done


class _Reporter:
    """Writes a running job's progress and notices a cancel request."""

    def __init__(self, space: Space, job_id: str) -> None:
        self.space = space
        self.job_id = job_id
        self.cancelled = False

    def __call__(
        self, *, progress: float | None = None, message: str | None = None, log: str | None = None
    ) -> None:
        self.beat(progress=progress, message=message, log=log)
        if self.cancelled:
            raise JobCancelled(f"job {self.job_id} was cancelled", job=self.job_id)

    def beat(self, **values: Any) -> None:
        with self.space.store.transaction() as tx:
            if tx.report_job_progress(self.job_id, now=utcnow(), **values):
                self.cancelled = True


def run(space: Space, job_id: str, *, worker: str | None = None) -> Job:
    """Run a queued job to its end in this process, under its submitter's identity.

    Claims the job first: when it is no longer queued (already run, running elsewhere,
    cancelled) nothing happens and the stored job is returned. A domain error of the work
    fails the job with that error's code; an unexpected exception fails it with RES-205; a
    cancel request seen at a progress report ends it as cancelled (RES-204). Work already
    committed by then (a trained model, a loop iteration) stays, as with a direct call.
    """
    worker = worker or worker_id()
    with space.work() as w:
        job = w.tx.get_job(job_id)
        if job is None:
            raise NotFound(f"unknown job {job_id!r}", job=job_id)
        claimed = w.tx.claim_job(job_id, worker=worker, now=w.now)
    if not claimed:
        return get_job(space, job_id)
    report = _Reporter(space, job_id)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_S):
            with contextlib.suppress(ResonanceError):  # the next beat tries again
                report.beat()

    beats = threading.Thread(target=heartbeat, name=f"heartbeat-{job_id}", daemon=True)
    beats.start()
    try:
        report(progress=0.0, message="started", log=f"started on {worker}")
        spec = parse_spec(job.kind, job.params)
        with space.work() as w:
            require_org(w.tx, job.organization)  # the submitter may have been removed
        result = spec.run(space, actor=job.organization, report=report)
    except JobCancelled as exc:
        _finish(space, job, JobStatus.CANCELLED, error=exc.to_dict()["error"], log="cancelled")
    except ResonanceError as exc:
        _finish(space, job, JobStatus.FAILED, error=exc.to_dict()["error"], log=exc.message)
    except Exception as exc:
        crash = JobCrashed(
            f"the {job.kind.value} job crashed: {type(exc).__name__}: {exc}",
            job=job_id,
            exception=type(exc).__name__,
        )
        tail = traceback.format_exc().strip().splitlines()[-1]
        _finish(space, job, JobStatus.FAILED, error=crash.to_dict()["error"], log=tail)
    else:
        _finish(space, job, JobStatus.SUCCEEDED, result=result, log="succeeded")
    finally:
        stop.set()
        beats.join(timeout=5)
    return get_job(space, job_id)


def get_job(space: Space, job_id: str) -> Job:
    """The stored job (no visibility check: for workers and internal use)."""
    with space.work() as w:
        job = w.tx.get_job(job_id)
    if job is None:
        raise NotFound(f"unknown job {job_id!r}", job=job_id)
    return job


def show(space: Space, *, actor: str, job_id: str) -> Job:
    """A job as ``actor`` may see it: its submitter or the operator, else RES-101."""
    with space.work() as w:
        org = require_org(w.tx, actor)
        job = w.tx.get_job(job_id)
    if job is None or not visible_to(job, org):
        raise NotFound(f"unknown job {job_id!r}", job=job_id)
    return job


def list_jobs(
    space: Space,
    *,
    actor: str,
    status: JobStatus | None = None,
    kind: JobKind | None = None,
    organization: str | None = None,
    limit: int = 100,
) -> list[Job]:
    """Jobs ``actor`` may see, newest first (the operator sees every organization's)."""
    with space.work() as w:
        org = require_org(w.tx, actor)
        if not org.has_role(Role.OPERATOR):
            organization = actor
        return w.tx.list_jobs(
            organization=organization,
            statuses=[status] if status else None,
            kind=kind,
            limit=limit,
        )


def cancel(space: Space, *, actor: str, job_id: str) -> Job:
    """Cancel a job: a queued one at once, a running one at its next progress report.

    Raises ``JobNotCancellable`` (RES-201) for a finished job.
    """
    job = show(space, actor=actor, job_id=job_id)
    with space.work() as w:
        if not w.tx.request_job_cancel(job_id):
            raise JobNotCancellable(
                f"job {job_id} already {job.status.value}", job=job_id, status=job.status.value
            )
    if job.status is JobStatus.QUEUED:
        error = JobCancelled(f"job {job_id} was cancelled by {actor}", job=job_id)
        _finish(space, job, JobStatus.CANCELLED, error=error.to_dict()["error"], log="cancelled")
    return get_job(space, job_id)


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _zombie(pid: int) -> bool:
    """Whether ``pid`` is a dead process nobody has reaped yet (Linux ``/proc``; else False).

    A killed worker's child is re-parented; where no init reaps it (a container), it stays a
    zombie that still answers ``kill(pid, 0)``.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def worker_alive(worker: str | None, heartbeat_at: str | None, *, stale_s: float = STALE_S) -> bool:
    """Whether the worker running a job still lives.

    On this host: its process exists. Elsewhere: its heartbeat is younger than ``stale_s``.
    """
    host, _, pid = (worker or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not _zombie(int(pid))
    beat = _parse_time(heartbeat_at)
    return beat is not None and (datetime.now(UTC) - beat).total_seconds() < stale_s


def recover(space: Space, *, stale_s: float = STALE_S) -> list[Job]:
    """Mark failed (RES-203) every running job whose worker died; returns them.

    ``resonance serve`` and ``resonance worker`` call this when they start, so a crash
    never leaves a job ``running``.
    """
    with space.work() as w:
        running = w.tx.list_jobs(statuses=[JobStatus.RUNNING])
    lost = []
    for job in running:
        if worker_alive(job.worker, job.heartbeat_at, stale_s=stale_s):
            continue
        error = WorkerLost(
            f"the worker {job.worker} running job {job.id} died; submit the job again",
            job=job.id,
            worker=job.worker,
        )
        if _finish(space, job, JobStatus.FAILED, error=error.to_dict()["error"], log="worker lost"):
            lost.append(get_job(space, job.id))
    return lost
