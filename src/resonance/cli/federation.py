"""CLI: federated co-training (``resonance federate run``)."""

from __future__ import annotations

import typer

from resonance.cli.output import console, ctx_of, print_table, progress, show
from resonance.services import federation
from resonance.training.federated.apps import STRATEGIES, FederationConfig
from resonance.training.federated.models import KINDS

federate_app = typer.Typer(
    help="Federated co-training on Flower: rows stay with each member.", no_args_is_help=True
)


@federate_app.command("run")
def run(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", "-n", help="Model name (versions are numbered)."),
    dataset: list[str] = typer.Option(
        ..., "--dataset", "-d", help="One member's NAME or NAME@N; repeat (distinct owners)."
    ),
    strategy: str = typer.Option("fedavg", help=f"One of: {', '.join(STRATEGIES)}."),
    model: str = typer.Option("linear", help=f"One of: {', '.join(KINDS)}."),
    rounds: int = typer.Option(10, min=1, max=1000, help="Aggregation rounds."),
    mu: float = typer.Option(0.01, help="FedProx proximal term."),
    hidden: int = typer.Option(32, min=1, help="MLP hidden units."),
    epochs: int = typer.Option(2, min=1, help="Local epochs per round."),
    lr: float = typer.Option(0.02, help="Local learning rate (Adam)."),
    dp_noise: float = typer.Option(
        0.0, help="Gaussian noise multiplier (server-side clipping DP; 0 = off)."
    ),
    dp_clip: float = typer.Option(1.0, help="Clipping norm of member updates (DP)."),
    exclude: list[str] = typer.Option([], "--exclude", "-x", help="Column never used; repeat."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Train a model version by federated averaging; each round goes on the ledger."""
    c = ctx_of(ctx)
    cfg = FederationConfig(
        kind=model,
        strategy=strategy,
        rounds=rounds,
        proximal_mu=mu,
        hidden=hidden,
        local={"epochs": float(epochs), "lr": lr, "batch_size": 32.0},
        dp_noise=dp_noise,
        dp_clip=dp_clip,
        seed=seed,
    )
    if model not in KINDS:
        raise typer.BadParameter(f"use one of {', '.join(KINDS)}", param_hint="--model")
    with progress(f"federating {name} ({strategy}, {len(dataset)} members)", total=1) as advance:
        mv = federation.federate(
            c.space(),
            actor=c.require_actor(),
            name=name,
            datasets=list(dataset),
            config=cfg,
            exclude=tuple(exclude),
        )
        advance()
    info = mv.details["federated"]

    def human() -> None:
        console.print(
            f"[green]{mv.ref}[/] trained by {strategy} over {rounds} rounds "
            f"({info['seconds']:.1f} s, run {info['run']})"
        )
        print_table("Members", ["member", "rows"], sorted(info["members"].items()))
        if "differential_privacy" in info:
            console.print(f"epsilon = {info['differential_privacy']['epsilon']:.3f}")

    show(c, mv.to_dict(), human)


def register(app: typer.Typer) -> None:
    """Add ``federate`` to the root app."""
    app.add_typer(federate_app, name="federate")
