"""CLI: credentials. ``login`` stores an organization's API token, ``logout`` forgets it,
``whoami`` says who the CLI acts as (see :mod:`resonance.cli.credentials`)."""

from __future__ import annotations

import typer

from resonance.cli import credentials
from resonance.cli.output import console, ctx_of, show
from resonance.domain.errors import InvalidInput
from resonance.services import tokens


def login(
    ctx: typer.Context,
    token: str = typer.Option(
        ...,
        "--token",
        prompt="API token",
        hide_input=True,
        help="The organization's API token (asked for when not given).",
    ),
    remote: str | None = typer.Option(
        None,
        "--remote",
        help="URL of a remote space's API: check the token there and store it for that URL "
        "(then `resonance --remote URL ...` acts with it).",
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="With --remote: do not verify the TLS certificate."
    ),
) -> None:
    """Store an organization's API token for this space (user-only file, mode 0600)."""
    c = ctx_of(ctx)
    if remote:
        from resonance.cli.remote import login as remote_login  # httpx: only with --remote

        out = remote_login(c, remote, token, insecure=insecure)
        show(c, out.data, out.human)
        return
    org = tokens.authenticate(c.space(), token.strip())
    if c.claimed and c.claimed != org.name:
        raise InvalidInput(f"the token is {org.name}'s, not {c.claimed}'s", organization=c.claimed)
    path = credentials.store_token(c.space_path, org.name, token.strip())
    data = {"organization": org.name, "space": str(c.space_path.resolve()), "stored_in": str(path)}
    show(c, data, lambda: console.print(f"logged in as [bold]{org.name}[/] ({path})"))


def logout(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Forget every organization's token here."),
) -> None:
    """Forget the stored token of --as ORG (or of the only one stored, or all with --all)."""
    c = ctx_of(ctx)
    stored = credentials.stored_tokens(c.space_path)
    who = None if all_ else c.claimed or (next(iter(stored)) if len(stored) == 1 else None)
    if who is None and not all_:
        raise InvalidInput("say whose token to forget: --as ORG (or --all)")
    gone = credentials.forget(c.space_path, who)
    show(c, {"forgotten": gone}, lambda: console.print(f"forgotten: {', '.join(gone) or 'none'}"))


def whoami(ctx: typer.Context) -> None:
    """The organization the CLI acts as here, and how (token or administrative mode)."""
    c = ctx_of(ctx)
    data = {"organization": c.require_actor(), "mode": "admin" if c.admin else "token"}
    show(c, data, lambda: console.print(f"{data['organization']} ({data['mode']})"))


def register(app: typer.Typer) -> None:
    """Add ``resonance login``, ``logout`` and ``whoami``."""
    app.command("login")(login)
    app.command("logout")(logout)
    app.command("whoami")(whoami)
