"""CLI: members' contributions to a model version (``resonance value``)."""

from __future__ import annotations

from pathlib import Path

import typer

from resonance.cli.output import console, ctx_of, print_table, show
from resonance.domain.valuation import Valuation
from resonance.services import valuation


def value(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="NAME or NAME@N"),
    suite: str = typer.Option(..., "--suite", help="Sealed suite scoring the coalitions."),
    k: int = typer.Option(5, min=1, help="Neighbours of the KNN-Shapley utility."),
    permutations: int = typer.Option(100, min=1, help="Monte Carlo permutations (> 8 members)."),
    seed: int = typer.Option(0, help="Random seed (Monte Carlo)."),
    statement: Path | None = typer.Option(
        None, "--statement", help="Write the benefit-sharing statement here (.md or .html)."
    ),
    detach: bool = typer.Option(
        False, "--detach", help="Queue a valuation job for a worker; print its id at once."
    ),
) -> None:
    """Each member's share (Shapley over members), leave-one-out and KNN-Shapley row total.

    Runs as a job (``resonance job list``): here with a progress bar, or with ``--detach``.
    """
    from resonance.cli.jobs import run_as_job
    from resonance.domain.jobs import JobKind

    c = ctx_of(ctx)
    space = c.space()
    params = {"model": model, "suite": suite, "k": k, "permutations": permutations, "seed": seed}
    job = run_as_job(c, JobKind.VALUATE, params, detach=detach)
    if job is None:
        return
    result = Valuation(**job.result["valuation"])
    if statement is not None:
        fmt = "html" if statement.suffix.lower() in (".html", ".htm") else "markdown"
        from resonance.reports.valuation import render_statement

        text = render_statement(valuation.benefit_statement(space, result.model), fmt)
        statement.write_text(text, encoding="utf-8")

    def human() -> None:
        console.print(
            f"[bold]{result.model}[/] on {result.suite}: {result.metric} "
            f"{result.full_score:.4f} ({result.method} Shapley; higher = more valuable)"
        )
        print_table(
            "Contributions",
            ["member", "rows", "share", "Shapley", "leave-one-out", "KNN-Shapley"],
            [
                (
                    name,
                    int(m["rows"]),
                    f"{m['share']:.1%}",
                    f"{m['shapley']:.4f}",
                    f"{m['leave_one_out']:.4f}",
                    f"{m['knn_shapley']:.4f}",
                )
                for name, m in result.members.items()
            ],
        )
        if statement is not None:
            console.print(f"statement written to {statement}")

    show(c, result.to_dict(), human)


def register(app: typer.Typer) -> None:
    """Add ``value`` to the root app."""
    app.command("value")(value)
