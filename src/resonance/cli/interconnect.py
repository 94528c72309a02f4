"""CLI: the DCAT catalog, peer spaces and contracts (Dataspace Protocol)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from resonance.cli.output import console, ctx_of, print_json, print_table, show
from resonance.domain.dsp import Negotiation
from resonance.domain.errors import InvalidInput
from resonance.domain.policies import parse_purposes
from resonance.services import contracts, dsp_catalog

catalog_app = typer.Typer(help="The space's catalog as DCAT 3 (JSON-LD).", no_args_is_help=True)
peer_app = typer.Typer(help="Peer spaces (Dataspace Protocol).", no_args_is_help=True)
contract_app = typer.Typer(
    help="Contracts with peer spaces: negotiation and compute-to-data transfer.",
    no_args_is_help=True,
)


def _write(doc: object, out: Path | None) -> None:
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        console.print(f"wrote {out}")


@catalog_app.command("export")
def catalog_export(
    ctx: typer.Context,
    fmt: str = typer.Option("dcat", "--format", help="Only dcat (DCAT 3 JSON-LD)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="File to write (else stdout)."),
    endpoint: str | None = typer.Option(None, help="DSP endpoint URL to publish."),
) -> None:
    """The catalog the acting organization may see (--as ORG), as DCAT 3 JSON-LD."""
    if fmt != "dcat":
        raise InvalidInput("the catalog is exported as --format dcat", format=fmt)
    c = ctx_of(ctx)
    _write(
        dsp_catalog.export_catalog(c.space(), requester=c.require_actor(), endpoint=endpoint),
        out,
    )


@catalog_app.command("fetch")
def catalog_fetch(
    ctx: typer.Context,
    peer: str = typer.Option(..., help="Peer space."),
    out: Path | None = typer.Option(None, "--out", "-o"),
) -> None:
    """A peer's catalog, asked for with a signed message."""
    c = ctx_of(ctx)
    _write(contracts.fetch_catalog(c.space(), peer=peer), out)


@peer_app.command("identity")
def peer_identity(
    ctx: typer.Context,
    url: str | None = typer.Option(None, help="Set this space's DSP endpoint (operator)."),
) -> None:
    """This space's name, DSP endpoint, key id and public key (give them to peers)."""
    c = ctx_of(ctx)
    data = contracts.identity(c.space(), actor=c.require_actor(), url=url)
    show(
        c,
        data,
        lambda: typer.echo(
            f"name {data['name']}\nurl {data['url']}\nkey_id {data['key_id']}\n"
            + data["public_pem"],
            nl=False,
        ),
    )


@peer_app.command("add")
def peer_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The peer's name in this space."),
    url: str = typer.Option(..., help="The peer's DSP endpoint, e.g. http://host:8000/dsp."),
    public_key: Path = typer.Option(
        ..., "--public-key", exists=True, dir_okay=False, help="The peer's public key (PEM)."
    ),
) -> None:
    """Register a peer space (operator)."""
    c = ctx_of(ctx)
    peer = contracts.add_peer(
        c.space(), actor=c.require_actor(), name=name, url=url, public_pem=public_key.read_text()
    )
    show(
        c, peer.to_dict(), lambda: console.print(f"peer {peer.name} ({peer.key_id}) at {peer.url}")
    )


@peer_app.command("list")
def peer_list(ctx: typer.Context) -> None:
    """Registered peer spaces."""
    c = ctx_of(ctx)
    items = contracts.list_peers(c.space())
    show(
        c,
        [p.to_dict() for p in items],
        lambda: print_table(
            "Peers",
            ["name", "url", "key_id", "added_at"],
            [(p.name, p.url, p.key_id, p.added_at) for p in items],
        ),
    )


def _print(n: Negotiation) -> None:
    print_table(
        "Contract",
        ["field", "value"],
        [(k, v) for k, v in n.to_dict().items() if k not in ("agreement", "data_address")],
    )


@contract_app.command("request")
def contract_request(
    ctx: typer.Context,
    peer: str = typer.Option(..., help="Peer space holding the dataset."),
    dataset: str = typer.Option(..., help="The peer's dataset."),
    purpose: list[str] = typer.Option(..., "--purpose", "-p", help="Purpose; repeat."),
    until: str = typer.Option(..., help="Expiry, YYYY-MM-DD."),
) -> None:
    """Ask a peer for a contract for the acting organization (--as ORG)."""
    c = ctx_of(ctx)
    try:
        expiry = date.fromisoformat(until)
    except ValueError:
        raise InvalidInput(f"bad date {until!r}; use YYYY-MM-DD") from None
    n = contracts.request_contract(
        c.space(),
        actor=c.require_actor(),
        peer=peer,
        dataset=dataset,
        purposes=parse_purposes([p for v in purpose for p in v.split(",")]),
        until=expiry,
    )
    show(c, n.to_dict(), lambda: _print(n))


@contract_app.command("list")
def contract_list(
    ctx: typer.Context,
    peer: str | None = typer.Option(None),
    dataset: str | None = typer.Option(None),
) -> None:
    """Negotiations the acting organization is party to (all for the operator or no --as)."""
    c = ctx_of(ctx)
    items = contracts.list_contracts(
        c.space(), viewer=c.require_actor(), peer=peer, dataset=dataset
    )
    show(
        c,
        [n.to_dict() for n in items],
        lambda: print_table(
            "Contracts",
            [
                "pid",
                "side",
                "peer",
                "dataset",
                "organization",
                "purposes",
                "until",
                "state",
                "transfer",
            ],
            [
                (
                    n.pid,
                    n.side.value,
                    n.peer,
                    n.dataset,
                    n.organization,
                    ",".join(sorted(p.value for p in n.purposes)),
                    n.until.isoformat(),
                    n.state.value,
                    n.transfer_state.value if n.transfer_state else "",
                )
                for n in items
            ],
        ),
    )


@contract_app.command("show")
def contract_show(ctx: typer.Context, pid: str = typer.Argument(...)) -> None:
    """One negotiation with its agreement and transfer state."""
    c = ctx_of(ctx)
    n = contracts.show(c.space(), pid)

    def human() -> None:
        _print(n)
        if n.agreement:
            print_json(n.agreement)
        if n.data_address:
            print_json(n.data_address)

    show(c, n.to_dict(secrets=True), human)


@contract_app.command("agree")
def contract_agree(ctx: typer.Context, pid: str = typer.Argument(...)) -> None:
    """Agree a requested contract (the dataset's owner)."""
    c = ctx_of(ctx)
    n = contracts.agree(c.space(), actor=c.require_actor(), pid=pid)
    show(c, n.to_dict(), lambda: _print(n))


@contract_app.command("terminate")
def contract_terminate(
    ctx: typer.Context,
    pid: str = typer.Argument(...),
    reason: str = typer.Option("", help="Why."),
) -> None:
    """Refuse or withdraw a negotiation, or revoke a finalized agreement."""
    c = ctx_of(ctx)
    n = contracts.terminate(c.space(), actor=c.require_actor(), pid=pid, reason=reason)
    show(c, n.to_dict(), lambda: _print(n))


@contract_app.command("auto-agree")
def contract_auto_agree(
    ctx: typer.Context,
    dataset: str = typer.Argument(...),
    peer: str = typer.Option(...),
    purpose: list[str] = typer.Option(..., "--purpose", "-p", help="Purpose; repeat."),
    max_days: int = typer.Option(90, help="Longest agreement, in days from today."),
) -> None:
    """Agree a peer's requests on a dataset within these bounds, without asking (owner)."""
    c = ctx_of(ctx)
    rule = contracts.set_auto_agree(
        c.space(),
        actor=c.require_actor(),
        dataset=dataset,
        peer=peer,
        purposes=parse_purposes([p for v in purpose for p in v.split(",")]),
        max_days=max_days,
    )
    show(c, rule.to_dict(), lambda: console.print(f"auto-agree rule set on {dataset} for {peer}"))


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.add_typer(catalog_app, name="catalog")
    app.add_typer(peer_app, name="peer")
    app.add_typer(contract_app, name="contract")
