"""CLI: sealed evaluation suites, evaluation runs and diagnoses (scores only, never rows)."""

from __future__ import annotations

from typing import Any

import typer

from resonance.cli.output import console, ctx_of, print_table, progress, show
from resonance.domain.errors import InvalidInput
from resonance.domain.evaluation import CLASSIFICATION_METRICS, EvaluationRun, EvaluationSuite
from resonance.domain.modeling import parse_params
from resonance.domain.refs import ref_name
from resonance.services import evaluation as svc

suite_app = typer.Typer(help="Sealed evaluation suites.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate model versions on sealed suites.", no_args_is_help=True)


def _print_suite(suites: list[EvaluationSuite]) -> None:
    print_table(
        "Evaluation suites",
        ["suite", "owner", "dataset", "metrics", "thresholds", "scenario", "budget", "primary"],
        [
            (
                s.name,
                s.owner,
                s.dataset,
                ", ".join(s.metrics),
                ", ".join(f"{k}={v}" for k, v in s.thresholds.items()),
                s.scenario,
                s.query_budget,
                s.primary_metric,
            )
            for s in suites
        ],
    )


@suite_app.command("register")
def register_(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Suite name."),
    dataset: str = typer.Option(..., "--dataset", "-d", help="Evaluation dataset NAME or NAME@N."),
    metric: list[str] = typer.Option([], "--metric", "-m", help="Metric to report; repeat."),
    threshold: list[str] = typer.Option([], "--threshold", "-t", help="METRIC=VALUE; repeat."),
    scenario: str | None = typer.Option(None, help="Scenario the suite tests."),
    budget: int = typer.Option(20, "--budget", help="Queries allowed per model."),
    primary: str | None = typer.Option(
        None, "--primary", help="Metric the loop optimizes (macro_f1, or the first --metric)."
    ),
) -> None:
    """Register a sealed suite over an evaluation dataset you own (evaluator)."""
    c = ctx_of(ctx)
    thresholds: dict[str, float] = {}
    for key, value in parse_params(threshold).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"threshold {key} must be a number", threshold=key)
        thresholds[key] = float(value)
    suite = svc.register_suite(
        c.space(),
        actor=c.require_actor(),
        name=name,
        dataset=dataset,
        metrics=tuple(metric) or CLASSIFICATION_METRICS,
        thresholds=thresholds,
        scenario=scenario,
        query_budget=budget,
        primary_metric=primary,
    )
    show(c, suite.to_dict(), lambda: _print_suite([suite]))


@suite_app.command("list")
def list_suites(ctx: typer.Context) -> None:
    """Every suite (definitions only; rows stay sealed)."""
    c = ctx_of(ctx)
    suites = svc.list_suites(c.space())
    show(c, [s.to_dict() for s in suites], lambda: _print_suite(suites))


def print_metrics(run: EvaluationRun) -> None:
    """Scores, thresholds and per-class recall of a run."""
    verdict = "[green]pass[/]" if run.passed and all(run.passed.values()) else "[red]fail[/]"
    console.print(f"[bold]{run.model}[/] on {run.suite} (run {run.id}): {verdict}")
    print_table(
        "Metrics",
        ["metric", "value", "threshold"],
        [
            (k, f"{v:.4f}", "" if k not in run.passed else "pass" if run.passed[k] else "fail")
            for k, v in run.metrics.items()
            if isinstance(v, float)
        ],
    )
    ladder = run.metrics.get("ladder")
    if isinstance(ladder, dict) and not ladder.get("released", True):
        console.print(
            f"Not released: this score did not beat your best released score "
            f"({ladder.get('best')}) by the Ladder's margin ({ladder.get('margin')}); "
            "the suite shows nothing more of this query"
        )
    if "per_class_recall" not in run.metrics:  # regression, or not released: no classes
        return
    support = run.metrics.get("support", {})
    print_table(
        "Per class",
        ["class", "recall", "support"],
        [
            (k, f"{v:.3f}", support.get(k))
            for k, v in run.metrics.get("per_class_recall", {}).items()
        ],
    )


def print_diagnosis(diagnosis: dict[str, Any]) -> None:
    """Weak slices, label issues and coverage gaps as Rich tables."""
    slices = diagnosis.get("slices", [])
    extra = [k for k in ("accuracy", "macro_f1", "mae", "rmse") if slices and k in slices[0]]
    print_table(
        "Weak slices (score = extra errors, higher = worse)",
        ["slice", "rows", "error", "score", *extra],
        [
            (
                s["slice"],
                s["size"],
                f"{s['error_rate']:.3f}",
                f"{s['score']:.1f}",
                *(f"{s[k]:.3f}" for k in extra),
            )
            for s in slices
        ],
    )
    issues = diagnosis.get("label_issues")
    if issues is not None and issues["top"] and "z" in issues["top"][0]:
        print_table(
            f"Suspected target errors in training data: {issues['count']} "
            f"({issues['share']:.1%}; {issues.get('method', '')})",
            ["dataset version", "row", "given", "out-of-fold prediction", "robust z"],
            [
                (t["dataset"], t["row"], f"{t['given']:.6g}", f"{t['suggested']:.6g}", t["z"])
                for t in issues["top"]
            ],
        )
    elif issues is not None:
        what = "target" if str(issues.get("method", "")).startswith("out-of-fold") else "label"
        print_table(
            f"Suspected {what} errors in training data: {issues['count']} ({issues['share']:.1%})",
            ["member", "suspected rows (the rows go to their owner only)"],
            sorted(issues.get("per_member", {}).items()),
        )
    for part, why in diagnosis.get("unavailable", {}).items():
        console.print(f"{part.replace('_', ' ').capitalize()}: not computed ({why})")
    gaps = diagnosis.get("coverage_gaps", [])
    if not gaps:
        if "coverage_gaps" not in diagnosis.get("unavailable", {}):
            console.print("Coverage gaps: none (every evaluation region has training rows)")
        return
    print_table(
        "Coverage gaps (evaluation regions rare in training)",
        ["region", "evaluation rows", "training rows"],
        [(g["region"], g["eval_rows"], g["train_rows"]) for g in gaps],
    )


def _run(ctx: typer.Context, model: str, suite: str, *, diagnose: bool) -> None:
    c = ctx_of(ctx)
    space = c.space()
    actor = c.require_actor()
    with progress(f"evaluating {model} on {suite}", total=1) as advance:
        run = svc.evaluate(space, actor=actor, model=model, suite=suite, diagnose=diagnose)
        advance()
    left = svc.remaining_budget(space, model_name=ref_name(run.model), suite=suite)
    data = {**run.to_dict(), "budget_left": left}

    def human() -> None:
        print_metrics(run)
        if run.diagnosis:
            print_diagnosis(run.diagnosis)
        console.print(f"{left} queries left for {run.model.split('@')[0]} on {suite}")

    show(c, data, human)


@eval_app.command("run")
def run_(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Model NAME or NAME@N."),
    suite: str = typer.Option(..., "--suite", "-s", help="Suite name."),
    no_diagnose: bool = typer.Option(False, "--no-diagnose", help="Scores only."),
) -> None:
    """Score a model on a sealed suite (spends one query of its budget)."""
    _run(ctx, model, suite, diagnose=not no_diagnose)


@eval_app.command("diagnose")
def diagnose(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Model NAME or NAME@N."),
    suite: str = typer.Option(..., "--suite", "-s", help="Suite name."),
) -> None:
    """Evaluate with diagnosis: per class, weak slices, label issues, coverage gaps."""
    _run(ctx, model, suite, diagnose=True)


@eval_app.command("list")
def list_runs(
    ctx: typer.Context,
    model: str | None = typer.Option(None, help="Only this model version (NAME@N)."),
    suite: str | None = typer.Option(None, help="Only this suite."),
) -> None:
    """Evaluation runs, oldest first."""
    c = ctx_of(ctx)
    runs = svc.list_runs(c.space(), model=model, suite=suite)
    show(
        c,
        [r.to_dict() for r in runs],
        lambda: print_table(
            "Evaluation runs",
            ["run", "model", "suite", "at", "by", "metrics", "result"],
            [
                (
                    r.id,
                    r.model,
                    r.suite,
                    r.created_at,
                    r.created_by,
                    ", ".join(f"{k}={v:.3f}" for k, v in r.metrics.items() if isinstance(v, float)),
                    "pass" if r.passed and all(r.passed.values()) else "fail",
                )
                for r in runs
            ],
        ),
    )


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.add_typer(suite_app, name="suite")
    app.add_typer(eval_app, name="eval")
