"""CLI: the ledger."""

from __future__ import annotations

from pathlib import Path

import typer

from resonance.cli.output import console, ctx_of, print_table, show
from resonance.domain.ledger import LedgerEntry
from resonance.services import ledger as svc

ledger_app = typer.Typer(help="The tamper-evident ledger.", no_args_is_help=True)


def entry_dict(e: LedgerEntry) -> dict[str, object]:
    """JSON form of a ledger entry."""
    return {**e.body(), "hash": e.hash}


@ledger_app.command("show")
def show_(
    ctx: typer.Context,
    limit: int = typer.Option(50, min=0, help="Most entries to show."),
    first: bool = typer.Option(
        False, "--first", help="Show the first entries after --after, not the most recent."
    ),
    after: int = typer.Option(0, min=0, help="Only entries after this sequence number."),
    object_id: str | None = typer.Option(None, "--object", help="Only this object."),
    action: str | None = typer.Option(None, help="Only this action."),
    actor: str | None = typer.Option(None, "--actor", help="Only this actor."),
) -> None:
    """The most recent ledger entries (or, with --first, the first ones), in chain order.

    The entries the acting organization is a party to (all for an operator or an
    authority), other members' row lists redacted.
    """
    c = ctx_of(ctx)
    filters = {
        "after_seq": after,
        "limit": limit,
        "object_id": object_id,
        "action": action,
        "actor": actor,
        "newest": not first,
    }
    viewer = c.require_actor()
    items = svc.visible_entries(c.space(), viewer=viewer, **filters)  # type: ignore[arg-type]
    show(
        c,
        [entry_dict(e) for e in items],
        lambda: print_table(
            "Ledger",
            ["seq", "time", "actor", "action", "object", "hash"],
            [(e.seq, e.timestamp[:19], e.actor, e.action, e.object_id, e.hash[:12]) for e in items],
        ),
    )


@ledger_app.command("verify")
def verify(
    ctx: typer.Context,
    receipt: Path | None = typer.Option(
        None,
        "--receipt",
        exists=True,
        dir_okay=False,
        help="A receipt kept by an organization: prove the chain still holds what it saw.",
    ),
) -> None:
    """Check the hash chain and the signed head; exit status 1 when it was tampered with."""
    c = ctx_of(ctx)
    space = c.space()
    report = (
        svc.verify_receipt(space, svc.parse_receipt(receipt.read_text()))
        if receipt
        else svc.verify(space)
    )

    def human() -> None:
        if report.ok:
            console.print(f"[green]ledger intact[/]: {report.entries} entries verified")
            return
        console.print(f"[red]ledger tampered[/]: {len(report.problems)} problem(s)")
        print_table(
            "Problems", ["seq", "problem"], [(p["seq"], p["problem"]) for p in report.problems]
        )

    show(c, report.to_dict(), human)
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.add_typer(ledger_app, name="ledger")
