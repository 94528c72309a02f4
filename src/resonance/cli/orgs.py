"""CLI: init, organizations, industries, consortia."""

from __future__ import annotations

from pathlib import Path

import typer

from resonance.cli import credentials
from resonance.cli.output import console, ctx_of, print_table, show
from resonance.domain import forms
from resonance.domain.industries import INDUSTRIES
from resonance.domain.orgs import parse_roles
from resonance.services import orgs as svc
from resonance.services import tokens
from resonance.services.space import DEFAULT_MAX_INGEST_BYTES

org_app = typer.Typer(help="Organizations of the space.", no_args_is_help=True)
consortium_app = typer.Typer(help="Industry consortia.", no_args_is_help=True)
industry_app = typer.Typer(help="The action's 20 key industries.", no_args_is_help=True)


def init(
    ctx: typer.Context,
    path: Path = typer.Argument(None, help="Folder of the new space (default: --space)."),
    db_url: str | None = typer.Option(
        None, "--db-url", help="Metadata store URL (default SQLite in the folder)."
    ),
    operator: str = typer.Option("operator", help="Name of the space operator organization."),
    region: str = typer.Option("Beijing", help="Region (province) of the operator."),
    name: str | None = typer.Option(None, help="Display name of the space."),
    max_ingest_bytes: int = typer.Option(DEFAULT_MAX_INGEST_BYTES, help="Largest ingestible file."),
) -> None:
    """Create a space: config, migrated metadata store, artifact store, operator.

    The operator is issued an API token, stored for you as with ``resonance login``
    (other organizations get theirs with ``resonance token create ORG``).
    """
    c = ctx_of(ctx)
    space = svc.init_space(
        path or c.space_path,
        operator=operator,
        region=region,
        db_url=db_url,
        name=name,
        max_ingest_bytes=max_ingest_bytes,
    )
    plain, _ = tokens.create_token(space, actor=operator, organization=operator, label="init")
    stored = credentials.store_token(space.root, operator, plain)
    data = {
        "space": str(space.root),
        "db_url": space.config.safe_db_url,
        "operator": operator,
        "logged_in": operator,
        "credentials": str(stored),
    }
    show(
        c,
        data,
        lambda: console.print(
            f"[green]space created[/] at {space.root} ({operator}, logged in: token in {stored})"
        ),
    )


@org_app.command("add")
def org_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Identifier, e.g. plant-a."),
    role: list[str] = typer.Option(..., "--role", "-r", help="Role; repeat for several."),
    region: str = typer.Option(..., help="Province or municipality."),
    display_name: str = typer.Option("", help="Full name."),
    central_enterprise: bool = typer.Option(False, help="A central (state-owned) enterprise."),
    enterprise: str | None = typer.Option(
        None,
        help="The central enterprise this organization belongs to (its achievements "
        "count for that enterprise too).",
    ),
) -> None:
    """Register an organization (as an operator)."""
    c = ctx_of(ctx)
    org = svc.register_organization(
        c.space(),
        actor=c.require_actor(),
        name=name,
        roles=parse_roles(role),
        region=region,
        display_name=display_name,
        central_enterprise=central_enterprise,
        enterprise=enterprise,
    )
    show(c, forms.org(org), lambda: console.print(f"[green]registered[/] {org.name}"))


@org_app.command("list")
def org_list(ctx: typer.Context) -> None:
    """List organizations."""
    c = ctx_of(ctx)
    orgs = svc.list_organizations(c.space())
    show(
        c,
        [forms.org(o) for o in orgs],
        lambda: print_table(
            "Organizations",
            ["name", "roles", "region", "central"],
            [
                (
                    o.name,
                    ", ".join(sorted(r.value for r in o.roles)),
                    o.region,
                    "yes" if o.central_enterprise else "",
                )
                for o in orgs
            ],
        ),
    )


@industry_app.command("list")
def industry_list(ctx: typer.Context) -> None:
    """List the 20 industries of the action."""
    c = ctx_of(ctx)
    data = [{"id": k, "name": v} for k, v in INDUSTRIES.items()]
    show(c, data, lambda: print_table("Industries", ["id", "name"], list(INDUSTRIES.items())))


@consortium_app.command("create")
def consortium_create(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    industry: str = typer.Option(..., help="Industry id (see 'industry list')."),
    member: list[str] = typer.Option([], "--member", "-m", help="ORG:ROLE[,ROLE]; repeat."),
) -> None:
    """Form a consortium for an industry (as an operator)."""
    c = ctx_of(ctx)
    cons = svc.form_consortium(
        c.space(), actor=c.require_actor(), name=name, industry=industry, members=member
    )
    show(c, forms.consortium(cons), lambda: console.print(f"[green]formed[/] {cons.name}"))


@consortium_app.command("add-member")
def consortium_add_member(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    member: str = typer.Argument(..., help="ORG:ROLE[,ROLE]"),
) -> None:
    """Seat an organization in a consortium (as an operator)."""
    c = ctx_of(ctx)
    cons = svc.add_consortium_member(
        c.space(), actor=c.require_actor(), consortium=name, member=member
    )
    show(c, forms.consortium(cons), lambda: console.print(f"[green]added[/] {member} to {name}"))


@consortium_app.command("list")
def consortium_list(
    ctx: typer.Context, industry: str | None = typer.Option(None, help="Only this industry.")
) -> None:
    """List consortia with their members."""
    c = ctx_of(ctx)
    items = svc.list_consortia(c.space(), industry=industry)
    show(
        c,
        [forms.consortium(x) for x in items],
        lambda: print_table(
            "Consortia",
            ["name", "industry", "members"],
            [
                (
                    x.name,
                    x.industry,
                    "; ".join(
                        f"{m.organization} ({', '.join(sorted(r.value for r in m.roles))})"
                        for m in x.members
                    ),
                )
                for x in items
            ],
        ),
    )


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.command("init")(init)
    app.add_typer(org_app, name="org")
    app.add_typer(industry_app, name="industry")
    app.add_typer(consortium_app, name="consortium")
