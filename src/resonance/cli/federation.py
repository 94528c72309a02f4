"""CLI: federated co-training (``resonance federate run``)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from resonance.cli.jobs import run_as_job
from resonance.cli.options import LAG, LAG_COLUMN, WINDOW
from resonance.cli.output import console, ctx_of, print_table, progress, show
from resonance.domain.errors import InvalidInput
from resonance.domain.jobs import JobKind
from resonance.domain.modeling import parse_time_features
from resonance.flower import deploy
from resonance.services import training
from resonance.services.federation import KINDS, STRATEGIES, FederationConfig

federate_app = typer.Typer(
    help="Federated co-training on Flower: rows stay with each member.", no_args_is_help=True
)


@federate_app.command("run")
def run(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", "-n", help="Model name (versions are numbered)."),
    dataset: list[str] = typer.Option(
        [], "--dataset", "-d", help="One member's NAME or NAME@N; repeat (distinct owners)."
    ),
    strategy: str = typer.Option("fedavg", help=f"One of: {', '.join(STRATEGIES)}."),
    model: str = typer.Option("linear", help=f"One of: {', '.join(KINDS)}."),
    rounds: int = typer.Option(10, min=1, max=1000, help="Aggregation rounds."),
    mu: float = typer.Option(0.01, help="FedProx proximal term."),
    server_lr: float = typer.Option(0.1, help="Server-side step (fedadam, fedyogi, fedsgd)."),
    hidden: int = typer.Option(32, min=1, help="MLP hidden units."),
    epochs: int = typer.Option(2, min=1, help="Local epochs per round."),
    lr: float = typer.Option(0.02, help="Local learning rate (Adam)."),
    dp_noise: float = typer.Option(
        0.0, help="Gaussian noise multiplier (server-side clipping DP; 0 = off)."
    ),
    dp_clip: float = typer.Option(1.0, help="Clipping norm of member updates (DP)."),
    secure: bool = typer.Option(
        False, "--secure-aggregation", help="Flower SecAgg+: the coordinator sees only sums."
    ),
    exclude: list[str] = typer.Option([], "--exclude", "-x", help="Column never used; repeat."),
    seed: int = typer.Option(0, help="Random seed."),
    backend: str = typer.Option(
        "numpy", help="Members' local training: numpy, or torch (the optional extra)."
    ),
    superlink: str | None = typer.Option(
        None, help="HOST:PORT of a SuperLink: deployment mode (members run `node start`)."
    ),
    members: int = typer.Option(2, min=1, help="Members to wait for (deployment mode)."),
    lag_column: list[str] = LAG_COLUMN,
    lag: list[int] = LAG,
    window: list[int] = WINDOW,
    detach: bool = typer.Option(
        False, "--detach", help="Queue a federated job for a worker; print its id (embedded)."
    ),
) -> None:
    """Train a model version by federated averaging; each round goes on the ledger.

    Embedded (default): a job (``resonance job list``) whose members' ClientApps run in
    this process (or a worker's, with ``--detach``), reading the ``--dataset`` versions.
    Deployment: ``--superlink`` submits the run to a SuperLink; each member's SuperNode
    reads the version it was started with.
    """
    c = ctx_of(ctx)
    cfg = FederationConfig(
        kind=model,
        strategy=strategy,
        rounds=rounds,
        proximal_mu=mu,
        server_lr=server_lr,
        hidden=hidden,
        local={"epochs": float(epochs), "lr": lr, "batch_size": 32.0},
        dp_noise=dp_noise,
        dp_clip=dp_clip,
        secure_aggregation=secure,
        seed=seed,
        backend=backend,
    )
    if model not in KINDS:
        raise typer.BadParameter(f"use one of {', '.join(KINDS)}", param_hint="--model")
    time_features = parse_time_features(lag_column, lag, window)
    if superlink and time_features:
        raise InvalidInput("time features are computed in embedded runs only (no --superlink)")
    if superlink:
        with progress(f"federating {name} ({strategy})", total=1) as advance:
            actor = c.require_actor()
            deploy.submit(
                superlink=superlink, space=c.space_path, actor=actor, name=name,
                members=members, cfg=cfg, exclude=tuple(exclude),
            )  # fmt: skip
            mv = training.get_model(c.space(), name)
            advance()
    else:
        if not dataset:
            raise typer.BadParameter("give --dataset per member", param_hint="--dataset")
        params = {
            "name": name, "datasets": list(dataset), "strategy": strategy, "model": model,
            "rounds": rounds, "mu": mu, "server_lr": server_lr, "hidden": hidden,
            "epochs": epochs, "lr": lr, "dp_noise": dp_noise, "dp_clip": dp_clip,
            "secure_aggregation": secure, "exclude": list(exclude), "seed": seed,
            "backend": backend,
            "time_features": time_features.to_dict() if time_features else None,
        }  # fmt: skip
        job = run_as_job(c, JobKind.FEDERATE, params, detach=detach)
        if job is None:
            return
        mv = training.get_model(c.space(), job.result["model"])
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


superlink_app = typer.Typer(
    help="Flower deployment mode: the coordinator's SuperLink.", no_args_is_help=True
)
node_app = typer.Typer(help="Flower deployment mode: a member's SuperNode.", no_args_is_help=True)


@superlink_app.callback()
def _superlink_group() -> None:
    """Deployment-mode processes of the coordinator."""


@node_app.callback()
def _node_group() -> None:
    """Deployment-mode processes of a member."""


def _exec(cmd: list[str]) -> None:
    """Become the Flower process (same PID), so stopping this command stops it."""
    env = deploy.flower_env()
    os.execve(cmd[0], cmd, env)


@superlink_app.command("superlink")
def superlink_cmd(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(9093, min=1, max=65535, help="Port of the SuperLink's API."),
    database: Path | None = typer.Option(None, help="SuperLink state file (default: memory)."),
) -> None:
    """Run a Flower SuperLink (insecure: for a trusted network)."""
    _exec(deploy.superlink_command(host=host, port=port, database=database))


@node_app.command("start")
def node_start(
    ctx: typer.Context,
    superlink: str = typer.Option(..., help="HOST:PORT of the SuperLink."),
    dataset: str = typer.Option(..., "--dataset", "-d", help="This member's NAME or NAME@N."),
    port: int = typer.Option(9094, min=1, max=65535, help="Port of this SuperNode's API."),
) -> None:
    """Run this member's SuperNode; its ClientApp reads only ``--dataset``, under its policy."""
    c = ctx_of(ctx)
    member = c.require_actor()
    _exec(
        deploy.supernode_command(
            superlink=superlink, space=c.space_path, member=member, dataset=dataset, port=port
        )
    )


def register(app: typer.Typer) -> None:
    """Add ``federate``, ``federation`` and ``node`` to the root app."""
    app.add_typer(federate_app, name="federate")
    app.add_typer(superlink_app, name="federation")
    app.add_typer(node_app, name="node")
