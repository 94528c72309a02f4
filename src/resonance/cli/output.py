"""Output helpers: Rich tables for people, JSON for programs."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from resonance.domain.errors import InvalidInput, ResonanceError

if TYPE_CHECKING:
    from resonance.services.space import Space

console = Console()
err_console = Console(stderr=True)


@dataclass
class Context:
    """Global options shared by every command."""

    space_path: Path
    actor: str | None
    fmt: str
    receipt_out: Path | None = None
    _space: Space | None = field(default=None, repr=False, compare=False)

    def write_receipts(self) -> None:
        """Write this command's signed receipts to ``--receipt-out`` (when both exist)."""
        if self.receipt_out is None or self._space is None or not self._space.receipts:
            return
        items = [r.to_dict() for r in self._space.receipts]
        tmp = self.receipt_out.with_name(self.receipt_out.name + ".tmp")
        tmp.write_text(json.dumps(items, indent=1, sort_keys=True))
        os.replace(tmp, self.receipt_out)

    @property
    def json(self) -> bool:
        """True when ``--format json`` was asked for."""
        return self.fmt == "json"

    def space(self) -> Space:
        """The space named by ``--space``, opened once per command."""
        if self._space is None:
            from resonance.services.space import Space

            self._space = Space.open(self.space_path, quick_reads=True)
        return self._space

    def require_actor(self) -> str:
        """The acting organization, or a clear error when ``--as`` is missing."""
        if self.actor:
            return self.actor
        space = self.space()
        with space.work() as w:
            default = w.tx.get_meta("default_actor")
        if default:
            return default
        raise InvalidInput("say which organization acts: --as ORG (or set RESONANCE_ACTOR)")


def ctx_of(ctx: typer.Context) -> Context:
    """The :class:`Context` stored by the root callback."""
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
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
