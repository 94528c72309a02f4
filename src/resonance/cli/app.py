"""The ``resonance`` command: root options, sub-apps and error translation."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click
import typer
from typer.core import TyperGroup

from resonance.domain.errors import ResonanceError

# Sub-commands load lazily: ``resonance --help`` and ``resonance dataset list`` must not pay for
# scikit-learn, LightGBM, Flower or pandas. Each entry: command name -> (module whose
# ``register(app)`` adds it, the one-line help the root listing shows).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("resonance.cli.orgs", "Create a space (config, migrated store, artifacts)."),
    "org": ("resonance.cli.orgs", "Organizations of the space."),
    "industry": ("resonance.cli.orgs", "The action's 20 key industries."),
    "consortium": ("resonance.cli.orgs", "Industry consortia."),
    "dataset": ("resonance.cli.datasets", "Datasets and their immutable versions."),
    "policy": ("resonance.cli.policies", "Usage policies of datasets."),
    "ledger": ("resonance.cli.ledger", "The tamper-evident ledger."),
    "registry": ("resonance.cli.registry", "Registries of the action."),
    "quota": ("resonance.cli.registry", "Quota checks against the action's numbers."),
    "report": ("resonance.cli.registry", "Plans, mid-term and summary reports."),
    "token": ("resonance.cli.registry", "Per-organization API tokens."),
    "serve": ("resonance.cli.registry", "Serve the API and web console (and the job worker)."),
    "model": ("resonance.cli.models", "Model versions: train, list, show, model cards."),
    "suite": ("resonance.cli.evaluation", "Sealed evaluation suites."),
    "eval": ("resonance.cli.evaluation", "Evaluate model versions on sealed suites."),
    "federate": (
        "resonance.cli.federation",
        "Federated co-training on Flower: rows stay with each member.",
    ),
    "federation": (
        "resonance.cli.federation",
        "Flower deployment mode: the coordinator's SuperLink.",
    ),
    "node": ("resonance.cli.federation", "Flower deployment mode: a member's SuperNode."),
    "value": ("resonance.cli.valuation", "Value each member's contribution to a model."),
    "loop": (
        "resonance.cli.loop",
        "The resonance loop: evaluate → diagnose → optimize the data → retrain.",
    ),
    "agent": (
        "resonance.cli.agents",
        "Agents built from the space's models: create, run, stop, evaluate on sealed episodes.",
    ),
    "review": (
        "resonance.cli.review",
        "The review queue: fixes the loop proposes for your rows; accept or reject them.",
    ),
    "my-data": (
        "resonance.cli.review",
        "What is done with your data: uses, models and scores, your value, open proposals.",
    ),
    "verify": (
        "resonance.cli.integrity",
        "Verify the ledger chain, the state tables and the artifacts.",
    ),
    "admin": ("resonance.cli.integrity", "Operator tools: crash recovery, model migration."),
    "national": (
        "resonance.cli.national",
        "Signed national bundles: export, import, the national view and report.",
    ),
    "catalog": ("resonance.cli.interconnect", "DCAT catalogs: export ours, fetch a peer's."),
    "peer": ("resonance.cli.interconnect", "Peer spaces (Dataspace Protocol)."),
    "contract": (
        "resonance.cli.interconnect",
        "Contract negotiations with peer spaces (Dataspace Protocol).",
    ),
    "login": ("resonance.cli.auth", "Store an organization's API token for the CLI."),
    "logout": ("resonance.cli.auth", "Forget a stored token."),
    "whoami": ("resonance.cli.auth", "Which organization the CLI acts for, and how."),
    "job": ("resonance.cli.jobs", "Jobs: long work run by workers."),
    "worker": ("resonance.cli.jobs", "Run jobs from the space's queue."),
}


class ResonanceGroup(TyperGroup):
    """Root group: loads sub-commands on first use and translates domain errors.

    A domain error becomes a message and exit status 1.
    """

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, loaded or not."""
        return sorted(set(self.commands) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing its module the first time it is needed.

        While the root help is being written, a not-yet-loaded command is a light
        placeholder carrying its one-line help, so ``--help`` imports nothing.
        """
        command = self.commands.get(cmd_name)
        if command is None:
            entry = LAZY_COMMANDS.get(cmd_name)
            if entry is None:
                return None
            module_name, short = entry
            if self._listing:
                return click.Command(cmd_name, help=short, short_help=short)
            self._load(module_name)
            command = self.commands.get(cmd_name)
        if command is not None and ctx.params.get("remote"):
            # the one seam of remote mode: the same command, run against the space's API
            from resonance.cli import remote

            return remote.bind(command, cmd_name)
        return command

    def _load(self, module_name: str) -> None:
        module = importlib.import_module(module_name)
        holder = typer.Typer()
        module.register(holder)
        group = typer.main.get_group(holder)
        for name, command in group.commands.items():
            self.commands.setdefault(name, command)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Root help from the static table, in click's plain layout.

        Imports no sub-command module, and not Typer's Rich help renderer (Rich's Markdown
        and traceback modules): the sub-commands' own help keeps the Rich layout.
        """
        self._listing = True
        try:
            click.Group.format_help(self, ctx, formatter)
        finally:
            self._listing = False

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The root options and the command table, in click's plain layout."""
        rows = []
        for param in self.get_params(ctx):
            # click's own record: Typer's would load its Rich renderer to escape brackets
            rv = (
                click.Option.get_help_record(param, ctx)
                if isinstance(param, click.Option)
                else param.get_help_record(ctx)
            )
            if rv is not None:
                rows.append(rv)
        if rows:
            with formatter.section("Options"):
                formatter.write_dl(rows)
        self.format_commands(ctx, formatter)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ResonanceError as exc:
            from resonance.cli.output import Context, fail

            obj = ctx.obj
            fail(exc, obj.fmt if isinstance(obj, Context) else "table")
        finally:
            # the root callback imported resonance.cli.output when it made the context
            output = sys.modules.get("resonance.cli.output")
            if output is not None and isinstance(ctx.obj, output.Context):
                ctx.obj.write_receipts()


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
    remote: str | None = typer.Option(
        None,
        "--remote",
        envvar="RESONANCE_REMOTE",
        help="URL of a remote space's API (https://host:port): the CLI is its client, acting "
        "with the token `resonance login --remote URL` stored (or RESONANCE_TOKEN); nothing "
        "opens a local store.",
    ),
    insecure: bool = typer.Option(
        False,
        "--insecure",
        help="With --remote: do not verify the server's TLS certificate (self-signed test "
        "servers only).",
    ),
    receipt_out: Path | None = typer.Option(
        None,
        "--receipt-out",
        envvar="RESONANCE_RECEIPT_OUT",
        help="Write the signed receipts of this command's ledger entries to this file "
        "(keep it: 'resonance ledger verify --receipt FILE' checks the chain against it).",
    ),
) -> None:
    """Global options."""
    from resonance.cli.output import Context  # Rich loads with the first command, not --help

    if fmt not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    remote = (remote or "").strip() or None
    if remote and admin:
        raise typer.BadParameter(
            "--admin is direct access to a local store; a remote space is used with a token",
            param_hint="--admin",
        )
    ctx.obj = Context(
        space_path=space,
        claimed=actor or None,
        fmt=fmt,
        admin=admin,
        receipt_out=receipt_out,
        remote=remote,
        insecure=insecure,
    )


def main() -> None:
    """Console entry point."""
    os.environ.setdefault("FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION", "1")
    app()


__all__ = ["app", "main"]
