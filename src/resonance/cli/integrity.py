"""CLI: verify the space's state and artifacts; operator maintenance (model migration)."""

from __future__ import annotations

from typing import Any

import typer

from resonance.cli.output import console, ctx_of, print_table, show
from resonance.services import integrity as svc
from resonance.services import ledger as ledger_svc
from resonance.services import loop as loop_svc
from resonance.services import review as review_svc
from resonance.services.space import Space

admin_app = typer.Typer(help="Operator maintenance of the space.", no_args_is_help=True)
TMP_GRACE_S = 60  # temp files untouched this long belong to no running write


def recover(space: Space) -> dict[str, Any]:
    """Start-up recovery: drop unfinished temp files, fail loop runs whose process died
    (their unjudged candidate versions marked rejected), finish review applies a crash
    cut short.

    ``resonance serve`` runs it before it listens; ``resonance admin recover`` on demand.
    """
    removed = space.artifacts.clean_tmp(older_than_s=TMP_GRACE_S)
    failed = [r.name for r in loop_svc.recover_runs(space)]
    applied = review_svc.recover_applies(space)
    return {
        "temp_files_removed": removed,
        "loop_runs_failed": failed,
        "review_applies_completed": applied,
    }


@admin_app.command("recover")
def recover_cmd(ctx: typer.Context) -> None:
    """Remove temp files of writes that never finished; mark loop runs whose process died
    failed; finish review applies a crash cut short."""
    c = ctx_of(ctx)
    out = recover(c.space())
    show(
        c,
        out,
        lambda: console.print(
            f"{out['temp_files_removed']} temp file(s) removed; "
            f"loop runs marked failed: {', '.join(out['loop_runs_failed']) or 'none'}; "
            f"review applies completed: {', '.join(out['review_applies_completed']) or 'none'}"
        ),
    )


def verify(
    ctx: typer.Context,
    artifacts: bool = typer.Option(
        False, "--artifacts", help="Re-hash every artifact against its content address."
    ),
    state: bool = typer.Option(
        False, "--state", help="Replay the ledger's events and compare with the state tables."
    ),
) -> None:
    """Check the ledger, and with --artifacts / --state the files and tables; exit 1 on a finding.

    Without either flag all three checks run.
    """
    c = ctx_of(ctx)
    space = c.space()
    if not artifacts and not state:
        artifacts = state = True
    out: dict[str, Any] = {"ledger": ledger_svc.verify(space).to_dict()}
    if artifacts:
        out["artifacts"] = svc.verify_artifacts(space).to_dict()
    if state:
        out["state"] = svc.verify_state(space).to_dict()
    ok = all(part["ok"] for part in out.values())
    out["ok"] = ok

    def human() -> None:
        for name in ("ledger", "artifacts", "state"):
            part = out.get(name)
            if part is None:
                continue
            found = part.get("problems", part.get("differences", []))
            mark = "[green]ok[/]" if part["ok"] else f"[red]{len(found)} finding(s)[/]"
            console.print(f"{name}: {mark}")
            if found:
                keys = sorted({k for f in found for k in f})
                print_table(name, keys, [tuple(str(f.get(k, "")) for k in keys) for f in found])

    show(c, out, human)
    if not ok:
        raise typer.Exit(1)


@admin_app.command("upgrade-store")
def upgrade_store(ctx: typer.Context) -> None:
    """Bring the metadata store of a space made by an earlier release to this release's
    schema (operator only; running it again changes nothing)."""
    c = ctx_of(ctx)
    result = svc.upgrade_store(c.space(), actor=c.require_actor())
    show(
        c,
        result.to_dict(),
        lambda: console.print(
            f"store upgraded: {', '.join(result.before) or 'empty'} -> {', '.join(result.after)}"
            if result.changed
            else f"store already current ({len(result.after)} migration branches)"
        ),
    )


@admin_app.command("migrate-models")
def migrate_models(ctx: typer.Context) -> None:
    """Rewrite models still stored as pickles into code-free files (operator only).

    A pickle is read only when its bytes match the content address recorded by the
    platform (model version and ledger); anything else is refused and never loaded.
    """
    c = ctx_of(ctx)
    result = svc.migrate_models(c.space(), actor=c.require_actor())
    show(
        c,
        [r.to_dict() for r in result],
        lambda: print_table(
            "Models",
            ["model", "status", "old", "new", "reason"],
            [(r.ref, r.status, r.old_hash[:12], r.new_hash[:12], r.reason) for r in result],
        ),
    )
    if any(r.status == "refused" for r in result):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.command("verify")(verify)
    app.add_typer(admin_app, name="admin")
