"""CLI: jobs (list, show, watch, cancel, limits, submit) and the worker.

Long commands (``model train``, ``loop run``, ``federate run``, ``value``) are jobs too: by
default the command records the job, runs it in this process and shows its progress; with
``--detach`` it puts the job on the space's queue, prints the job id and returns at once
(a worker started by ``resonance serve`` or ``resonance worker`` runs it).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import typer

from resonance.cli.output import Context, console, ctx_of, print_table, progress, show
from resonance.domain.errors import ERROR_CATALOG, InvalidInput, ResonanceError
from resonance.domain.jobs import Job, JobKind, JobStatus
from resonance.services import jobs as svc

job_app = typer.Typer(help="Jobs: long work run by workers.", no_args_is_help=True)

POLL_S = 0.25

DETACH = typer.Option(
    False, "--detach", help="Queue the job for a worker and return its id at once."
)


def _row(j: Job) -> tuple[Any, ...]:
    return (
        j.id,
        j.kind.value,
        j.organization,
        j.status.value,
        f"{j.progress:.0%}",
        j.message,
        j.created_at[:19],
    )


COLUMNS = ["job", "kind", "organization", "status", "progress", "message", "submitted"]


def recorded_error(job: Job) -> ResonanceError:
    """The coded error a failed or cancelled job recorded, as a raisable domain error."""
    error = job.error or {}
    spec = ERROR_CATALOG.get(str(error.get("code")), ERROR_CATALOG["RES-000"])
    cls = type("RecordedError", (ResonanceError,), {"spec": spec})
    raw = error.get("details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return cls(f"job {job.id}: {error.get('message', job.status.value)}", **details)


def watch_job(c: Context, job_id: str, *, runner: threading.Thread | None = None) -> Job:
    """Follow a job with a progress bar until it finishes; returns the finished job."""
    space = c.space()
    job = svc.get_job(space, job_id)
    with progress(f"{job.kind.value} {job_id}", total=100) as advance:
        shown = 0.0
        while True:
            job = svc.get_job(space, job_id)
            step = job.progress * 100 - shown
            advance(step, description=f"{job.kind.value} {job_id}: {job.message or job.status}")
            shown += step
            if job.finished and (runner is None or not runner.is_alive()):
                return job
            time.sleep(POLL_S)


def run_as_job(c: Context, kind: JobKind, params: dict[str, Any], *, detach: bool) -> Job | None:
    """Submit a job as the acting organization.

    With ``detach``: queue it, print its id and return None. Otherwise run it here with a
    progress bar and return the succeeded job; a failed or cancelled job raises its recorded
    error (exit status 1).
    """
    space = c.space()
    actor = c.require_actor()
    if detach:
        from resonance.jobs.queue import JobQueue

        queue = JobQueue(space)
        try:
            job = svc.submit(space, actor=actor, kind=kind, params=params, enqueue=queue.enqueue)
        finally:
            queue.close()
        show(c, job.to_dict(), lambda: console.print(f"queued [bold]{job.id}[/] ({kind.value})"))
        return None
    job = svc.submit(space, actor=actor, kind=kind, params=params)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            svc.run(space, job.id)
        except BaseException as exc:  # surfaced below, in the main thread
            failure.append(exc)

    runner = threading.Thread(target=work, name=f"job-{job.id}", daemon=True)
    runner.start()
    done = watch_job(c, job.id, runner=runner)
    runner.join()
    if failure:
        raise failure[0]
    if done.status is not JobStatus.SUCCEEDED:
        raise recorded_error(done)
    return done


@job_app.command("list")
def list_(
    ctx: typer.Context,
    status: JobStatus | None = typer.Option(None, help="Only jobs in this status."),
    kind: JobKind | None = typer.Option(None, help="Only this kind."),
    organization: str | None = typer.Option(None, help="Only this organization (operator)."),
    limit: int = typer.Option(100, min=1, max=10_000, help="At most this many, newest first."),
) -> None:
    """Jobs the acting organization may see (its own; the operator sees all), newest first."""
    c = ctx_of(ctx)
    items = svc.list_jobs(
        c.space(),
        actor=c.require_actor(),
        status=status,
        kind=kind,
        organization=organization,
        limit=limit,
    )
    show(
        c,
        [j.to_dict() for j in items],
        lambda: print_table("Jobs", COLUMNS, [_row(j) for j in items]),
    )


def _print_job(job: Job) -> None:
    print_table("Job", COLUMNS, [_row(job)])
    if job.result:
        print_table("Result", ["key", "value"], sorted(job.result.items()))
    if job.error:
        console.print(f"[red]error {job.error.get('code')}[/]: {job.error.get('message')}")
    for line in job.logs[-20:]:
        console.print(f"  {line}", highlight=False)


@job_app.command("show")
def show_(ctx: typer.Context, job_id: str = typer.Argument(..., help="Job id.")) -> None:
    """One job: status, progress, result references, error and its last log lines."""
    c = ctx_of(ctx)
    job = svc.show(c.space(), actor=c.require_actor(), job_id=job_id)
    show(c, job.to_dict(), lambda: _print_job(job))


@job_app.command("watch")
def watch(ctx: typer.Context, job_id: str = typer.Argument(..., help="Job id.")) -> None:
    """Follow a job with a progress bar until it ends (exit 1 when it failed)."""
    c = ctx_of(ctx)
    svc.show(c.space(), actor=c.require_actor(), job_id=job_id)  # visibility first
    job = watch_job(c, job_id)
    if job.status is not JobStatus.SUCCEEDED:
        if not c.json:
            _print_job(job)
        raise recorded_error(job)  # JSON: the job's recorded error, exit status 1
    show(c, job.to_dict(), lambda: _print_job(job))


@job_app.command("cancel")
def cancel(ctx: typer.Context, job_id: str = typer.Argument(..., help="Job id.")) -> None:
    """Cancel a job: a queued one at once, a running one at its next progress report."""
    c = ctx_of(ctx)
    job = svc.cancel(c.space(), actor=c.require_actor(), job_id=job_id)
    show(c, job.to_dict(), lambda: console.print(f"{job.id}: {job.status.value}"))


@job_app.command("limit")
def limit(
    ctx: typer.Context,
    count: int = typer.Argument(..., help="Queued plus running jobs allowed at once."),
    organization: str | None = typer.Option(
        None, "--org", help="This organization (default: every organization without its own)."
    ),
) -> None:
    """Set a per-organization job limit (operator only; over it: RES-200)."""
    c = ctx_of(ctx)
    svc.set_job_limit(c.space(), actor=c.require_actor(), organization=organization, limit=count)
    data = {"organization": organization, "limit": count}
    show(c, data, lambda: console.print(f"job limit of {organization or 'everyone'}: {count}"))


@job_app.command("submit")
def submit(
    ctx: typer.Context,
    kind: JobKind = typer.Argument(..., help="train, loop, federate, diagnose, valuate, report."),
    params: str = typer.Option(
        ..., "--params", help='The kind\'s parameters as JSON, e.g. \'{"name": "m", ...}\'.'
    ),
    detach: bool = DETACH,
) -> None:
    """Submit any kind of job with JSON parameters (the API's POST /jobs/{kind} body)."""
    c = ctx_of(ctx)
    try:
        body = json.loads(params)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--params is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidInput("--params must be a JSON object")
    job = run_as_job(c, kind, body, detach=detach)
    if job is not None:
        show(c, job.to_dict(), lambda: _print_job(job))


def worker(
    ctx: typer.Context,
    workers: int = typer.Option(2, "--workers", "-w", min=1, max=64, help="Worker processes."),
    worker_type: str = typer.Option("process", help="process or thread."),
) -> None:
    """Run jobs from the space's queue (Redis when queue_url is set; else the SQLite queue)."""
    from resonance.jobs.worker import run_worker

    if worker_type not in ("process", "thread"):
        raise typer.BadParameter("use process or thread", param_hint="--worker-type")
    c = ctx_of(ctx)
    c.space()  # a clear error when there is no space
    run_worker(c.space_path, workers=workers, worker_type=worker_type)


def register(app: typer.Typer) -> None:
    """Add ``job`` and ``worker`` to the root app."""
    app.add_typer(job_app, name="job")
    app.command("worker")(worker)
