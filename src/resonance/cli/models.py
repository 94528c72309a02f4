"""CLI: train model versions, list and show them, render model cards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from resonance.cli.options import LAG, LAG_COLUMN, WINDOW
from resonance.cli.output import console, ctx_of, print_table, show
from resonance.domain.errors import InvalidInput
from resonance.domain.modeling import ModelVersion, Task, parse_params, parse_time_features
from resonance.services import model_card as cards
from resonance.services import training

model_app = typer.Typer(
    help="Model versions: train, list, show, model cards.", no_args_is_help=True
)


def _headline(model: ModelVersion) -> str:
    hold = model.metrics.get("holdout", {})
    keys = ("macro_f1", "accuracy") if model.classes else ("rmse", "r2")
    return ", ".join(f"{k}={hold[k]:.3f}" for k in keys if isinstance(hold.get(k), float))


def _print_model(model: ModelVersion) -> None:
    console.print(
        f"[bold]{model.ref}[/] ({model.spec.trainer}, {model.spec.task}) "
        f"by {model.created_by} at {model.created_at}; code {model.code_version}"
    )
    print_table(
        "Training data",
        ["dataset version", "sha256"],
        list(zip(model.datasets, model.dataset_hashes, strict=True)),
    )
    print_table("Parameters", ["parameter", "value"], sorted(model.spec.params.items()))
    hold = model.metrics.get("holdout", {})
    print_table(
        "Holdout metrics",
        ["metric", "value"],
        [(k, f"{v:.4f}") for k, v in hold.items() if isinstance(v, float)],
    )


@model_app.command("train")
def train(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", "-n", help="Model name (versions are numbered)."),
    trainer: str = typer.Option(..., "--trainer", "-t", help="sklearn-logreg, sklearn-rf, ..."),
    dataset: list[str] = typer.Option(..., "--dataset", "-d", help="NAME or NAME@N; repeat."),
    task: Task | None = typer.Option(
        None, help="Check: the task the datasets' label spec must declare (it sets the task)."
    ),
    param: list[str] = typer.Option([], "--param", "-p", help="KEY=VALUE; repeat."),
    exclude: list[str] = typer.Option([], "--exclude", "-x", help="Column never used; repeat."),
    feature: list[str] = typer.Option([], "--feature", help="Use only these columns; repeat."),
    seed: int = typer.Option(0, help="Random seed."),
    scenario: str | None = typer.Option(None, help="Scenario the model serves."),
    lag_column: list[str] = LAG_COLUMN,
    lag: list[int] = LAG,
    window: list[int] = WINDOW,
    detach: bool = typer.Option(
        False, "--detach", help="Queue a training job for a worker; print its id at once."
    ),
) -> None:
    """Train a model version on dataset versions pooled in the sandbox (needs train-pooled).

    Runs as a job (``resonance job list``): here with a progress bar, or with ``--detach``
    on the space's queue.
    """
    from resonance.cli.jobs import run_as_job
    from resonance.domain.jobs import JobKind

    c = ctx_of(ctx)
    time_features = parse_time_features(lag_column, lag, window)
    params = {
        "name": name,
        "trainer": trainer,
        "task": task.value if task else None,
        "params": parse_params(param),
        "features": list(feature) or None,
        "exclude": list(exclude),
        "datasets": list(dataset),
        "seed": seed,
        "scenario": scenario,
        "time_features": time_features.to_dict() if time_features else None,
    }
    job = run_as_job(c, JobKind.TRAIN, params, detach=detach)
    if job is None:
        return
    model = training.get_model(c.space(), job.result["model"])

    def human() -> None:
        console.print(f"[green]{model.ref}[/] trained: {_headline(model)}")
        _print_model(model)

    show(c, model.to_dict(), human)


@model_app.command("list")
def list_(
    ctx: typer.Context, name: str | None = typer.Option(None, help="Only this model.")
) -> None:
    """Model versions with their holdout headline metrics."""
    c = ctx_of(ctx)
    items = training.list_models(c.space(), name=name)
    show(
        c,
        [m.to_dict() for m in items],
        lambda: print_table(
            "Models",
            ["ref", "trainer", "task", "datasets", "built by", "holdout"],
            [
                (
                    m.ref,
                    m.spec.trainer,
                    str(m.spec.task or "-"),
                    ", ".join(m.datasets),
                    m.created_by,
                    _headline(m),
                )
                for m in items
            ],
        ),
    )


@model_app.command("show")
def show_(ctx: typer.Context, ref: str = typer.Argument(..., help="NAME or NAME@N")) -> None:
    """One model version: data hashes, parameters, code version, metrics."""
    c = ctx_of(ctx)
    model = training.get_model(c.space(), ref)
    show(c, model.to_dict(), lambda: _print_model(model))


@model_app.command("card")
def card(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME or NAME@N"),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the Markdown here."),
) -> None:
    """The model card as Markdown (stdout, or a file with --out)."""
    c = ctx_of(ctx)
    text = cards.model_card(c.space(), ref)
    data: dict[str, Any] = {"ref": ref, "markdown": text}
    if out is not None:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot write {out}: {exc}", out=str(out)) from exc
        data = {"ref": ref, "out": str(out), "bytes": len(text.encode())}
        show(c, data, lambda: console.print(f"wrote the card of {ref} to {out}"))
        return
    show(c, data, lambda: typer.echo(text, nl=False))


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.add_typer(model_app, name="model")
