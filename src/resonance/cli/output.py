"""Output helpers: Rich tables for people, JSON for programs."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import typer
from rich.console import Console

from resonance.cli import credentials
from resonance.domain.errors import CredentialRequired, RemoteUnsupported, ResonanceError

if TYPE_CHECKING:
    from resonance.cli.remote import Remote
    from resonance.services.space import Space

console = Console()
err_console = Console(stderr=True)


@dataclass
class Context:
    """Global options shared by every command, and who acts.

    The CLI acts for an organization only with that organization's API token
    (``resonance login`` stores one, ``RESONANCE_TOKEN`` gives one); ``--as ORG``
    chooses among the stored tokens and is refused without ORG's token
    (``RES-125``). ``--admin`` is the operator's administrative mode: direct
    access to the space's store, allowed to whoever can write the space's folder,
    acting as ``--as ORG`` (default: the operator) and recorded on the ledger as
    ``admin.direct_access`` for every command.

    With ``remote`` (``--remote URL``) the CLI is a client of that space's REST API
    (:mod:`resonance.cli.remote`): the token goes as a bearer token, and nothing opens a
    local store (:meth:`space` refuses, ``RES-260``).
    """

    space_path: Path
    claimed: str | None
    fmt: str
    receipt_out: Path | None = None
    admin: bool = False
    command: str = ""
    remote: str | None = None
    insecure: bool = False
    _space: Space | None = field(default=None, repr=False, compare=False)
    _actor: str | None = field(default=None, repr=False, compare=False)
    _client: Remote | None = field(default=None, repr=False, compare=False)

    def write_receipts(self) -> None:
        """Write this command's signed receipts to ``--receipt-out`` (when both exist)."""
        if self.receipt_out is None:
            return
        if self._client is not None:
            items = list(self._client.receipts)
        elif self._space is not None:
            items = [r.to_dict() for r in self._space.receipts]
        else:
            return
        if not items:
            return
        tmp = self.receipt_out.with_name(self.receipt_out.name + ".tmp")
        tmp.write_text(json.dumps(items, indent=1, sort_keys=True))
        os.replace(tmp, self.receipt_out)

    @property
    def json(self) -> bool:
        """True when ``--format json`` was asked for."""
        return self.fmt == "json"

    def space(self) -> Space:
        """The space named by ``--space``, opened once per command.

        Raises
        ------
        RemoteUnsupported
            With ``--remote``: the CLI never opens a local store then.
        """
        if self.remote:
            raise RemoteUnsupported(
                f"`resonance {self.command or '...'}` needs the space's store and does not run "
                f"against a remote space ({self.remote}): run it on the space's machine",
                command=self.command,
                remote=self.remote,
            )
        if self._space is None:
            from resonance.services.space import Space

            self._space = Space.open(self.space_path, quick_reads=True)
        return self._space

    def require_actor(self) -> str:
        """The acting organization, established by its token or the administrative mode.

        Raises
        ------
        CredentialRequired
            No token of the claimed organization (or none at all), or a token of
            another organization; ``--admin`` without write access to the space.
        Unauthorized
            The token is unknown or revoked.
        """
        if self._actor is None:
            if self.remote:
                self._actor = self.client().actor()
                return self._actor
            self.space()  # no space: say so first (RES-160)
            self._actor = self._admin_actor() if self.admin else self._token_actor()
        return self._actor

    def client(self) -> Remote:
        """The client of the remote space's API (``--remote``), made once per command."""
        if self._client is None:
            from resonance.cli.remote import Remote  # httpx: only with --remote

            assert self.remote
            self._client = Remote(
                self.remote,
                self.token_text(self.remote),
                claimed=self.claimed,
                insecure=self.insecure,
            )
        return self._client

    def token_text(self, where: Path | str) -> str:
        """The token the CLI acts with for a space (folder or remote URL).

        ``RESONANCE_TOKEN``, else the stored token of ``--as ORG``, else the only one
        stored for that space.

        Raises
        ------
        CredentialRequired
            No token of the claimed organization, none at all, or several without ``--as``.
        """
        env = os.environ.get(credentials.TOKEN_ENV, "").strip()
        stored = credentials.stored_tokens(where)
        how = "`resonance login` stores an organization's token, RESONANCE_TOKEN gives one"
        if not isinstance(where, str):
            how += "; the operator's administrative mode is `resonance --admin`"
        if env:
            return env
        if self.claimed:
            if self.claimed not in stored:
                raise CredentialRequired(
                    f"no token of {self.claimed} for this space: {how}",
                    organization=self.claimed,
                )
            return stored[self.claimed]
        if len(stored) == 1:
            return next(iter(stored.values()))
        if stored:
            raise CredentialRequired(
                f"several organizations are logged in to this space ({', '.join(sorted(stored))})"
                ": say which acts with --as ORG",
                organizations=sorted(stored),
            )
        raise CredentialRequired(f"no credential for this space: {how}")

    def _token_actor(self) -> str:
        text = self.token_text(self.space_path)
        how = (
            "`resonance login` stores an organization's token, RESONANCE_TOKEN gives one; "
            "the operator's administrative mode is `resonance --admin`"
        )
        from resonance.services.auth import authenticate

        org = authenticate(self.space(), text)
        if self.claimed and org.name != self.claimed:
            raise CredentialRequired(
                f"the token given is {org.name}'s, not {self.claimed}'s: {how}",
                organization=self.claimed,
            )
        return org.name

    def _admin_actor(self) -> str:
        root = self.space_path.resolve()
        if not root.is_dir() or not os.access(root, os.W_OK):
            raise CredentialRequired(
                f"the administrative mode needs write access to the space's folder {root}",
                space=str(root),
            )
        from resonance.services import orgs

        return orgs.record_admin_access(
            self.space(),
            organization=self.claimed,
            command=self.command,
            user=_local_user(),
        )


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


NO_CREDENTIAL = {"init", "login", "logout", "serve", "federation superlink", "industry list"}
"""Commands that act for no organization: they create a space, handle credentials, serve
the API (which checks tokens itself), relay federated rounds, or list static data."""


def ctx_of(ctx: typer.Context) -> Context:
    """The :class:`Context` stored by the root callback.

    Every command but :data:`NO_CREDENTIAL` establishes here who acts (its token, or
    the administrative mode, recorded) before doing anything.
    """
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    if not obj.command:
        names: list[str] = []
        at: click.Context = ctx
        while at.parent is not None:
            names.append(at.info_name or "")
            at = at.parent
        obj.command = " ".join(reversed(names))
        if obj.command not in NO_CREDENTIAL:
            obj.require_actor()
    return obj


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a Rich table."""
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)


def show(
    ctx: Context,
    data: Any,
    human: Callable[[], None],
) -> None:
    """Print ``data`` as JSON, or call ``human`` to render it for people."""
    if ctx.json:
        print_json(data)
    else:
        human()


def fail(error: ResonanceError, fmt: str) -> None:
    """Report a domain error and exit with status 1."""
    if fmt == "json":
        print_json(error.to_dict())
    else:
        err_console.print(f"[bold red]error {error.code}[/]: {error.message}")
    raise typer.Exit(1)


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Callable[..., None]]:
    """A Rich progress bar on stderr; yields ``advance(n=1, description=None)``.

    Hidden when stderr is not a terminal or ``RESONANCE_NO_PROGRESS`` is set.
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    disabled = bool(os.environ.get("RESONANCE_NO_PROGRESS")) or not err_console.is_terminal
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}" if total else ""),
        TimeElapsedColumn(),
        console=err_console,
        disable=disabled,
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: float = 1, description: str | None = None) -> None:
            bar.update(task, advance=n, description=description or bar.tasks[0].description)

        yield advance
