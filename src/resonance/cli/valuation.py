"""CLI: members' contributions to a model version (``resonance value``)."""

from __future__ import annotations

from pathlib import Path

import typer

from resonance.cli.output import console, ctx_of, print_table, progress, show
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
) -> None:
    """Each member's share (Shapley over members), leave-one-out and KNN-Shapley row total."""
    c = ctx_of(ctx)
    space = c.space()
    with progress(f"valuing {model} on {suite}", total=1) as advance:
        result = valuation.value_model(
            space,
            actor=c.require_actor(),
            model=model,
            suite=suite,
            k=k,
            permutations=permutations,
            seed=seed,
        )
        advance()
    if statement is not None:
        fmt = "html" if statement.suffix.lower() in (".html", ".htm") else "markdown"
        statement.write_text(valuation.statement(space, result.model, fmt=fmt), encoding="utf-8")

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
