"""The ``resonance`` command: root options, sub-apps and error translation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import typer
from typer.core import TyperGroup

from resonance.cli import auth as auth_cli
from resonance.cli import datasets as datasets_cli
from resonance.cli import evaluation as evaluation_cli
from resonance.cli import federation as federation_cli
from resonance.cli import ledger as ledger_cli
from resonance.cli import loop as loop_cli
from resonance.cli import models as models_cli
from resonance.cli import orgs as orgs_cli
from resonance.cli import policies as policies_cli
from resonance.cli import registry as registry_cli
from resonance.cli import review as review_cli
from resonance.cli import valuation as valuation_cli
from resonance.cli.output import Context, fail
from resonance.domain.errors import ResonanceError


class ResonanceGroup(TyperGroup):
    """Root group translating domain errors into a message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ResonanceError as exc:
            obj = ctx.obj
            fail(exc, obj.fmt if isinstance(obj, Context) else "table")


app = typer.Typer(
    name="resonance",
    cls=ResonanceGroup,
    help="Model-Data Resonance Space: pooled industrial data under usage rules, "
    "sealed evaluation and the evaluation-directed data loop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    space: Path = typer.Option(
        Path("."), "--space", "-s", envvar="RESONANCE_SPACE", help="Folder of the space."
    ),
    actor: str | None = typer.Option(
        None,
        "--as",
        envvar="RESONANCE_ACTOR",
        help="Organization acting: one whose token is stored (resonance login) or given "
        "in RESONANCE_TOKEN; with --admin, any organization.",
    ),
    admin: bool = typer.Option(
        False,
        "--admin",
        help="The operator's administrative mode: direct access to the store for whoever "
        "can write the space's folder, acting as --as ORG (default: the operator); "
        "every command is recorded on the ledger (admin.direct_access).",
    ),
    fmt: str = typer.Option(
        "table", "--format", "-f", envvar="RESONANCE_FORMAT", help="Output: table or json."
    ),
) -> None:
    """Global options."""
    if fmt not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    ctx.obj = Context(space_path=space, claimed=actor or None, fmt=fmt, admin=admin)


orgs_cli.register(app)
datasets_cli.register(app)
policies_cli.register(app)
ledger_cli.register(app)
registry_cli.register(app)
models_cli.register(app)
evaluation_cli.register(app)
federation_cli.register(app)
valuation_cli.register(app)
loop_cli.register(app)
review_cli.register(app)
auth_cli.register(app)


def main() -> None:
    """Console entry point."""
    os.environ.setdefault("FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION", "1")
    app()


__all__ = ["app", "main"]
