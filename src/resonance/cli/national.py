"""CLI: a space's signed bundle and the national view across spaces."""

from __future__ import annotations

from pathlib import Path

import typer

from resonance.cli.output import console, ctx_of, print_table, show
from resonance.cli.registry import write_atomically
from resonance.domain import forms
from resonance.domain.errors import NotFound
from resonance.domain.national import LISTS
from resonance.domain.signing import canonical_json
from resonance.services import national as svc

national_app = typer.Typer(
    help="Signed bundles and the national view across spaces.", no_args_is_help=True
)


@national_app.command("export")
def export(
    ctx: typer.Context, out: Path = typer.Option(..., "--out", "-o", help="Bundle file.")
) -> None:
    """Export this space's registries and quota figures as a signed bundle (operator)."""
    c = ctx_of(ctx)
    bundle = svc.export_bundle(c.space(), actor=c.require_actor())
    write_atomically(out, canonical_json(bundle).decode())
    m = bundle["manifest"]
    data = {
        "out": str(out),
        "space": m["space"],
        "key_id": m["key_id"],
        "ledger_head": m["ledger_head"],
        "achievements": len(m["achievements"]),
    }
    show(c, data, lambda: console.print(f"wrote the signed bundle of {m['space']} to {out}"))


@national_app.command("import")
def import_(
    ctx: typer.Context, files: list[Path] = typer.Argument(..., help="Bundle files.")
) -> None:
    """Verify and import bundles of other spaces (operator or authority)."""
    c = ctx_of(ctx)
    space = c.space()
    actor = c.require_actor()
    rows = []
    for f in files:
        if not f.is_file():
            raise NotFound(f"no such file: {f}", path=str(f))
        b = svc.import_bundle(space, actor=actor, document=svc.parse_bundle(f.read_bytes()))
        rows.append({"file": str(f), **forms.bundle(b)})
    show(c, rows, lambda: print_table("Imported", list(rows[0]), [list(r.values()) for r in rows]))


@national_app.command("show")
def show_view(ctx: typer.Context) -> None:
    """The national totals (each achievement once) and per-province counts."""
    c = ctx_of(ctx)
    view = svc.national_view(c.space())
    data = view.to_dict()

    def human() -> None:
        totals = view.totals()
        print_table(
            "National totals", ["list", "count"], [[t, totals[k]] for k, t in LISTS.items()]
        )
        rows = [[p, *row.values()] for p, row in view.by_province().items()]
        print_table("Per province", ["province", *LISTS], rows)

    show(c, data, human)


@national_app.command("report")
def report(
    ctx: typer.Context,
    fmt: str = typer.Option("md", "--format", help="md or html."),
    out: Path = typer.Option(..., "--out", "-o", help="File to write."),
) -> None:
    """Render the national lists and the ministries' overview."""
    from resonance.reports.national import render_national  # plotly: loaded when needed

    c = ctx_of(ctx)
    text = render_national(svc.national_view(c.space()), fmt)
    write_atomically(out, text)
    show(c, {"out": str(out)}, lambda: console.print(f"wrote the national overview to {out}"))


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.add_typer(national_app, name="national")
