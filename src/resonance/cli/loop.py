"""CLI: run the resonance loop, list and show runs, write their HTML report."""

from __future__ import annotations

from pathlib import Path

import typer

from resonance.cli.options import LAG, LAG_COLUMN, WINDOW
from resonance.cli.output import console, ctx_of, print_table, show
from resonance.domain.acceptance import DEFAULT_CONFIDENCE, DEFAULT_MAX_SLICE_DROP, DEFAULT_MIN_GAIN
from resonance.domain.loop_types import DEFAULT_QUERIES_PER_ITERATION, Iteration, LoopRun
from resonance.domain.modeling import Task, parse_params, parse_time_features
from resonance.reports.loop import iteration_cells, render_html
from resonance.reports.loop import metric_text as _f
from resonance.services import loop as loops

loop_app = typer.Typer(
    help="The resonance loop: evaluate → diagnose → optimize the data → retrain.",
    no_args_is_help=True,
)


def _decision(it: Iteration) -> str:
    """Each try's verdict with its interval, or what the baseline is."""
    if it.number == 0:
        return "baseline"
    out = []
    for t in it.tried:
        c = t.get("comparison") or {}
        out.append(f"{t.get('label', '')}: {c.get('reason', 'no comparison')}")
    return "; ".join(out) or "no candidate"


def _print_run(run: LoopRun) -> None:
    s = run.summary
    console.print(
        f"[bold]{run.name}[/] by {run.created_by} ({run.status}); suite {run.suite}; "
        f"{s.primary_metric if s else ''} {_f(s and s.baseline)} → {_f(s and s.final)} "
        f"(lift {_f(s and s.lift)}); worst slice {_f(s and s.baseline_worst_slice)} → "
        f"{_f(s and s.final_worst_slice)}"
    )
    if run.failure is not None:
        last = run.failure.last_completed_iteration
        console.print(
            f"failed: {run.failure.error} (last completed iteration: "
            f"{'none' if last is None else last})",
            markup=False,
        )
    print_table(
        "Iterations",
        [
            "#",
            "accepted",
            "primary",
            "worst slice",
            "rows",
            "taken per member",
            "dropped",
            "queries",
            "dataset",
        ],
        [(*iteration_cells(it), it.queries, it.dataset) for it in run.iterations],
    )
    for it in run.iterations[1:]:
        console.print(f"iteration {it.number}: {_decision(it)}", markup=False)
    if s:
        console.print(
            f"final dataset {s.final_dataset}, model {s.final_model}; rows taken "
            f"{s.rows_taken} of {s.reserve_rows} reserve rows; relabel proposals "
            f"sent to owners {s.relabel_proposals}; {s.queries} suite queries"
        )


@loop_app.command("run")
def run(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", "-n", help="Run name (also the model's name)."),
    trainer: str = typer.Option("lightgbm", "--trainer", "-t", help="Trainer of the model spec."),
    dataset: list[str] = typer.Option(..., "--dataset", "-d", help="Training NAME[@N]; repeat."),
    reserve: list[str] = typer.Option([], "--reserve", "-r", help="Reserve pool NAME[@N]; repeat."),
    budget: int = typer.Option(..., "--budget", "-b", help="Acquisition budget in rows."),
    suite: str = typer.Option(..., "--suite", "-s", help="Sealed evaluation suite."),
    iterations: int = typer.Option(3, "--iterations", "-i", help="Loop iterations."),
    param: list[str] = typer.Option([], "--param", "-p", help="KEY=VALUE; repeat."),
    exclude: list[str] = typer.Option([], "--exclude", "-x", help="Column never used; repeat."),
    seed: int = typer.Option(0, help="Random seed."),
    task: Task | None = typer.Option(
        None, help="Check: the task the datasets' label spec must declare (it sets the task)."
    ),
    lag_column: list[str] = LAG_COLUMN,
    lag: list[int] = LAG,
    window: list[int] = WINDOW,
    confidence: float = typer.Option(
        DEFAULT_CONFIDENCE,
        "--confidence",
        help="Two-sided confidence of the paired bootstrap interval.",
    ),
    min_gain: float = typer.Option(
        DEFAULT_MIN_GAIN,
        "--min-gain",
        help="Accept when the interval's lower bound exceeds this gain.",
    ),
    max_slice_drop: float = typer.Option(
        DEFAULT_MAX_SLICE_DROP,
        "--max-slice-drop",
        help="Largest tolerated drop of the worst measured slice.",
    ),
    queries_per_iteration: int = typer.Option(
        DEFAULT_QUERIES_PER_ITERATION,
        "--queries-per-iteration",
        help="Suite queries per iteration for candidates (cap).",
    ),
    detach: bool = typer.Option(
        False, "--detach", help="Queue a loop job for a worker; print its id at once."
    ),
) -> None:
    """Run the loop; keep a new dataset version only when a paired test on the sealed
    suite says it is better.

    Each candidate is scored against the current model on the same sealed rows (a paired
    bootstrap inside the suite's sandbox): it is kept when the lower bound of the gain's
    ``--confidence`` interval exceeds ``--min-gain`` and the worst measured slice drops by at
    most ``--max-slice-drop``. Candidates are ranked by cross-validation on the working rows
    first; the suite is queried for the top one, then the next while rejected, at most
    ``--queries-per-iteration`` times. Fixes owners accepted on their review queues are
    applied unless the suite shows significant harm.

    The task (classification or regression, RMSE) is the one the datasets' label spec
    declares. Runs as a job (``resonance job list``): here with a progress bar, or with
    ``--detach``.
    """
    from resonance.cli.jobs import run_as_job
    from resonance.domain.jobs import JobKind

    c = ctx_of(ctx)
    time_features = parse_time_features(lag_column, lag, window)
    params = {
        "name": name,
        "trainer": trainer,
        "params": parse_params(param),
        "exclude": list(exclude),
        "datasets": list(dataset),
        "reserves": list(reserve),
        "budget": budget,
        "suite": suite,
        "iterations": iterations,
        "seed": seed,
        "task": task.value if task else None,
        "time_features": time_features.to_dict() if time_features else None,
        "confidence": confidence,
        "min_gain": min_gain,
        "max_slice_drop": max_slice_drop,
        "queries_per_iteration": queries_per_iteration,
    }
    job = run_as_job(c, JobKind.LOOP, params, detach=detach)
    if job is None:
        return
    result = loops.get_run(c.space(), job.result["loop_run"])
    show(c, result.to_dict(), lambda: _print_run(result))


@loop_app.command("list")
def list_(ctx: typer.Context) -> None:
    """Loop runs, oldest first."""
    c = ctx_of(ctx)
    items = loops.list_runs(c.space())
    show(
        c,
        [r.to_dict() for r in items],
        lambda: print_table(
            "Loop runs",
            ["name", "by", "status", "suite", "baseline", "final", "lift", "final dataset"],
            [
                (
                    r.name,
                    r.created_by,
                    r.status,
                    r.suite,
                    _f(r.summary and r.summary.baseline),
                    _f(r.summary and r.summary.final),
                    _f(r.summary and r.summary.lift),
                    r.summary.final_dataset if r.summary else "",
                )
                for r in items
            ],
        ),
    )


@loop_app.command("show")
def show_(ctx: typer.Context, name: str = typer.Argument(..., help="Loop run name.")) -> None:
    """One run: every iteration, rows taken per member, the lift."""
    c = ctx_of(ctx)
    found = loops.get_run(c.space(), name)
    show(c, found.to_dict(), lambda: _print_run(found))


@loop_app.command("report")
def report(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Loop run name."),
    out: Path = typer.Option(..., "--out", "-o", help="HTML file to write."),
) -> None:
    """Write the run's HTML report (plotly charts, plotly.js embedded: works offline)."""
    c = ctx_of(ctx)
    found = loops.get_run(c.space(), name)
    out.write_text(render_html(found), encoding="utf-8")
    show(c, {"report": str(out)}, lambda: console.print(f"wrote the report of {name} to {out}"))


def register(app: typer.Typer) -> None:
    """Add ``resonance loop ...``."""
    app.add_typer(loop_app, name="loop")
