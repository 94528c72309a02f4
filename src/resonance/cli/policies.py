"""CLI: usage policies."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from resonance.cli.output import console, ctx_of, print_json, print_table, show
from resonance.domain.errors import InvalidInput
from resonance.domain.policies import Policy, parse_grant, parse_purposes
from resonance.services import dsp_catalog
from resonance.services import policies as svc

policy_app = typer.Typer(help="Usage policies of datasets.", no_args_is_help=True)


def _print_policy(policy: Policy | None, dataset: str) -> None:
    if policy is None:
        console.print(f"{dataset}: no policy set (only the owner may use it)")
        return
    console.print(
        f"[bold]{dataset}[/] policy v{policy.version} set by {policy.set_by} "
        f"at {policy.set_at}; auto-drop {'allowed' if policy.allow_auto_drop else 'no'}"
    )
    print_table(
        "Grants",
        ["organization", "purposes", "until"],
        [
            (
                g.organization,
                ", ".join(sorted(p.value for p in g.purposes)),
                g.until.isoformat() if g.until else "",
            )
            for g in policy.grants
        ],
    )


@policy_app.command("set")
def set_(
    ctx: typer.Context,
    dataset: str = typer.Argument(...),
    grant: list[str] = typer.Option(
        [], "--grant", "-g", help="ORG:PURPOSE[,PURPOSE][:YYYY-MM-DD]; repeat."
    ),
    allow_auto_drop: bool = typer.Option(False, help="Let the loop drop suspected label errors."),
) -> None:
    """Replace a dataset's policy (as its owner)."""
    c = ctx_of(ctx)
    policy = svc.set_policy(
        c.space(),
        actor=c.require_actor(),
        dataset=dataset,
        grants=[parse_grant(g) for g in grant],
        allow_auto_drop=allow_auto_drop,
    )
    show(c, policy.to_dict(), lambda: _print_policy(policy, dataset))


@policy_app.command("show")
def show_(ctx: typer.Context, dataset: str = typer.Argument(...)) -> None:
    """The current policy."""
    c = ctx_of(ctx)
    policy = svc.get_policy(c.space(), dataset)
    show(c, policy.to_dict() if policy else None, lambda: _print_policy(policy, dataset))


@policy_app.command("history")
def history(ctx: typer.Context, dataset: str = typer.Argument(...)) -> None:
    """Every policy the dataset has had."""
    c = ctx_of(ctx)
    items = svc.policy_history(c.space(), dataset)

    def human() -> None:
        for p in items:
            _print_policy(p, dataset)

    show(c, [p.to_dict() for p in items], human)


@policy_app.command("check")
def check(
    ctx: typer.Context,
    dataset: str = typer.Argument(...),
    org: str = typer.Option(..., help="Organization asking."),
    purpose: str = typer.Option(..., help="Purpose asked for."),
) -> None:
    """What the policy would decide (nothing is read)."""
    c = ctx_of(ctx)
    purposes = parse_purposes([purpose])
    if len(purposes) != 1:
        raise InvalidInput("give exactly one purpose")
    decision = svc.check(c.space(), organization=org, dataset=dataset, purpose=next(iter(purposes)))
    data = {"effect": decision.effect.value, "rule": decision.rule, "reason": decision.reason}
    show(
        c,
        data,
        lambda: console.print(
            f"[{'green' if decision.allowed else 'red'}]{decision.effect.value}[/] "
            f"({decision.rule}): {decision.reason}"
        ),
    )


@policy_app.command("export-odrl")
def export_odrl(ctx: typer.Context, dataset: str = typer.Argument(...)) -> None:
    """The current policy as an ODRL 2.2 Set (JSON-LD)."""
    c = ctx_of(ctx)
    print_json(dsp_catalog.export_policy_odrl(c.space(), dataset))


@policy_app.command("import-odrl")
def import_odrl(
    ctx: typer.Context,
    dataset: str = typer.Argument(...),
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="ODRL policy (JSON-LD)."),
) -> None:
    """Set the policy from an ODRL policy (owner); RES-180 names a term that does not map."""
    c = ctx_of(ctx)
    try:
        doc = json.loads(path.read_text())
    except ValueError as exc:
        raise InvalidInput(f"{path} is not JSON: {exc}") from None
    policy = dsp_catalog.import_policy_odrl(
        c.space(), actor=c.require_actor(), dataset=dataset, doc=doc
    )
    show(c, policy.to_dict(), lambda: _print_policy(policy, dataset))


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.add_typer(policy_app, name="policy")
