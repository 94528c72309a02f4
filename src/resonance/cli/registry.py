"""CLI: registries of the action, quota checks, reports, API tokens and the server."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from resonance.cli.integrity import recover
from resonance.cli.output import console, ctx_of, print_table, show
from resonance.domain import forms
from resonance.domain.errors import InvalidInput
from resonance.domain.quotas import QuotaReport
from resonance.domain.registry import (
    HolderKind,
    KeyCity,
    KeyIndustry,
    LandingCase,
    ModelEntry,
    ModelKind,
    ResonanceSpaceEntry,
    ScenarioFile,
    ScenarioStatus,
    entry_to_dict,
    parse_enum,
)
from resonance.domain.reporting import KEY_TASKS, ReportKind, TaskNote
from resonance.services import bulk as bulk_svc
from resonance.services import registry as svc
from resonance.services import registry_state as state_svc
from resonance.services import reports as report_svc
from resonance.services import tokens as token_svc

registry_app = typer.Typer(help="Registries of the action.", no_args_is_help=True)
quota_app = typer.Typer(help="Quota checks against the action's numbers.", no_args_is_help=True)
report_app = typer.Typer(help="Plans, mid-term and summary reports.", no_args_is_help=True)
token_app = typer.Typer(help="Per-organization API tokens.", no_args_is_help=True)


def _holder(province: str | None, enterprise: str | None) -> tuple[HolderKind, str]:
    if bool(province) == bool(enterprise):
        raise InvalidInput("give exactly one of --province or --enterprise")
    return (
        (HolderKind.PROVINCE, province) if province else (HolderKind.ENTERPRISE, enterprise or "")
    )


def _table(title: str, rows: list[dict[str, Any]], cols: list[str]) -> None:
    print_table(title, cols, [[r.get(c) for c in cols] for r in rows])


@registry_app.command("show")
def registry_show(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="One registry, e.g. scenarios, cases."),
) -> None:
    """Every registry (or one of them)."""
    c = ctx_of(ctx)
    regs = svc.registries(c.space())
    if name is not None and name not in regs:
        raise InvalidInput(f"unknown registry {name!r}; one of {', '.join(regs)}")
    data = regs[name] if name else regs

    def human() -> None:
        for key, rows in regs.items():
            if name in (None, key):
                cols = list(rows[0]) if rows else ["name"]
                _table(key.replace("_", " ").capitalize(), rows, cols[:8])

    show(c, data, human)


@registry_app.command("scenario-add")
def scenario_add(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    industry: str = typer.Option(...),
    title: str = typer.Option(...),
    problem: str = typer.Option(...),
    value: str = typer.Option(...),
    data_needed: str = typer.Option(...),
    model_needed: str = typer.Option(...),
) -> None:
    """File a high-value scenario (as an application developer or operator)."""
    c = ctx_of(ctx)
    actor = c.require_actor()
    s = svc.file_scenario(
        c.space(),
        actor=actor,
        scenario=ScenarioFile(
            name, industry, title, problem, value, data_needed, model_needed, actor
        ),
    )
    show(c, {**s.__dict__, "status": s.status.value}, lambda: console.print(f"filed {s.name}"))


@registry_app.command("scenario-status")
def scenario_status(
    ctx: typer.Context, name: str = typer.Argument(...), status: str = typer.Argument(...)
) -> None:
    """Move a scenario file to proposed/approved/in_progress/landed/retired."""
    c = ctx_of(ctx)
    st = parse_enum(ScenarioStatus, status, what="status")
    s = svc.set_scenario_status(c.space(), actor=c.require_actor(), name=name, status=st)
    show(c, {"name": s.name, "status": s.status.value}, lambda: console.print(f"{name}: {st}"))


@registry_app.command("model-add")
def model_add(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    industry: str = typer.Option(...),
    kind: str = typer.Option("industry", help="industry, specialized or agent."),
    scenario: str | None = typer.Option(None, help="Scenario (specialized models, agents)."),
    ref: str | None = typer.Option(None, help="Trained model version it stands for."),
    owner: str | None = typer.Option(None, help="Owner (operators only; default --as)."),
    description: str = typer.Option(""),
) -> None:
    """Register an industry model, specialized model or agent."""
    c = ctx_of(ctx)
    actor = c.require_actor()
    entry = ModelEntry(
        name,
        industry,
        parse_enum(ModelKind, kind, what="kind"),
        owner or actor,
        scenario,
        ref,
        description,
    )
    m = svc.register_model(c.space(), actor=actor, entry=entry)
    show(c, {**m.__dict__, "kind": m.kind.value}, lambda: console.print(f"registered {m.name}"))


@registry_app.command("case-add")
def case_add(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    model: str = typer.Option(...),
    adopter: str = typer.Option(..., help="Who applies the model."),
    region: str = typer.Option(...),
    description: str = typer.Option(...),
    evidence: str = typer.Option(
        ..., help="sha256:<document hash> or deployment:<record id or URL>."
    ),
) -> None:
    """Record a landing case of a model at an adopter organization (not its builder);
    it counts once the adopter confirms it (`registry status case NAME confirmed`)."""
    c = ctx_of(ctx)
    actor = c.require_actor()
    case = svc.record_case(
        c.space(),
        actor=actor,
        case=LandingCase(name, model, adopter, region, description, actor, evidence),
    )
    data = {**case.__dict__, "status": case.status.value}
    show(
        c, data, lambda: console.print(f"recorded {case.name} (awaiting {adopter}'s confirmation)")
    )


@registry_app.command("import")
def bulk_import(
    ctx: typer.Context,
    registry: str = typer.Argument(..., help="scenarios, cases or models."),
    file: Path = typer.Argument(..., help="A .csv (header row) or .yaml file."),
) -> None:
    """Import every row of a file, all or nothing, with a per-row report (RES-196 when a
    row fails: nothing is stored)."""
    c = ctx_of(ctx)
    if not file.is_file():
        raise InvalidInput(f"no such file: {file}", path=str(file))
    fmt = file.suffix.lower().lstrip(".")
    rows = bulk_svc.bulk_import(
        c.space(),
        actor=c.require_actor(),
        registry=registry,
        content=file.read_bytes(),
        fmt=fmt,
    )
    data = [r.to_dict() for r in rows]
    show(c, data, lambda: console.print(f"imported {len(rows)} {registry} from {file}"))


@registry_app.command("status")
def entry_status(
    ctx: typer.Context,
    registry: str = typer.Argument(..., help="scenario, case, model or space."),
    name: str = typer.Argument(...),
    status: str = typer.Argument(..., help="The next status (see docs/reports.md)."),
) -> None:
    """Move an entry one step of its state machine (e.g. an adopter confirms a case)."""
    c = ctx_of(ctx)
    entry = state_svc.move(
        c.space(), actor=c.require_actor(), registry=registry, name=name, status=status
    )
    show(c, entry_to_dict(entry), lambda: console.print(f"{registry} {name}: {entry.status}"))


@registry_app.command("correct")
def entry_correct(
    ctx: typer.Context,
    registry: str = typer.Argument(..., help="scenario, case, model or space."),
    name: str = typer.Argument(...),
    sets: list[str] = typer.Option(..., "--set", help="FIELD=VALUE; repeat."),
) -> None:
    """Correct text fields of an entry, keeping the old values in its history."""
    c = ctx_of(ctx)
    changes: dict[str, str] = {}
    for item in sets:
        field, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"bad --set {item!r}; use FIELD=VALUE", value=item)
        changes[field.strip()] = value
    entry = state_svc.correct(
        c.space(), actor=c.require_actor(), registry=registry, name=name, changes=changes
    )
    show(c, entry_to_dict(entry), lambda: console.print(f"corrected {registry} {name}"))


@registry_app.command("history")
def entry_history(
    ctx: typer.Context,
    registry: str = typer.Argument(..., help="scenario, case, model or space."),
    name: str = typer.Argument(...),
) -> None:
    """Every status step and correction of an entry."""
    c = ctx_of(ctx)
    rows = [h.to_dict() for h in state_svc.history(c.space(), registry=registry, name=name)]
    show(
        c,
        rows,
        lambda: _table(
            f"History of {registry} {name}", rows, ["at", "actor", "action", "before", "after"]
        ),
    )


@registry_app.command("space-add")
def space_add(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    industry: list[str] = typer.Option(..., "--industry", help="Industry; repeat."),
    province: str | None = typer.Option(None),
    enterprise: str | None = typer.Option(None),
    description: str = typer.Option(""),
) -> None:
    """Register a resonance space of a province or a central enterprise."""
    c = ctx_of(ctx)
    kind, holder = _holder(province, enterprise)
    actor = c.require_actor()
    s = svc.register_space(
        c.space(),
        actor=actor,
        entry=ResonanceSpaceEntry(name, kind, holder, tuple(industry), actor, description),
    )
    show(c, {"name": s.name, "holder": s.holder}, lambda: console.print(f"registered {s.name}"))


@registry_app.command("city-add")
def city_add(
    ctx: typer.Context,
    city: str = typer.Argument(...),
    province: str = typer.Option(...),
    pilot_zone: bool = typer.Option(False, help="The city hosts a pilot zone or base."),
) -> None:
    """Name a key city of a province (at most 3 with a pilot zone/base, else 2)."""
    c = ctx_of(ctx)
    k = svc.add_key_city(
        c.space(), actor=c.require_actor(), city=KeyCity(province, city, pilot_zone)
    )
    show(c, dict(k.__dict__), lambda: console.print(f"{k.city} is a key city of {k.province}"))


@registry_app.command("industry-add")
def industry_add(
    ctx: typer.Context,
    industry: str = typer.Argument(...),
    province: str | None = typer.Option(None),
    enterprise: str | None = typer.Option(None),
) -> None:
    """Designate a key industry of a province or a central enterprise."""
    c = ctx_of(ctx)
    kind, holder = _holder(province, enterprise)
    k = svc.designate_key_industry(
        c.space(), actor=c.require_actor(), key=KeyIndustry(kind, holder, industry)
    )
    data = {"holder_kind": k.holder_kind.value, "holder": k.holder, "industry": k.industry}
    show(c, data, lambda: console.print(f"{industry} is a key industry of {holder}"))


def _print_quota(report: QuotaReport, depth: int = 0) -> None:
    state = "[green]met[/]" if report.met else "[red]not met[/]"
    console.print(f"{'  ' * depth}{report.scope} [bold]{report.subject}[/]: {state}")
    for i in report.items:
        mark = "[green]✓[/]" if i.met else "[red]✗[/]"
        bound = "≤" if i.at_most else "≥"
        console.print(
            f"{'  ' * depth}  {mark} {i.label}: {i.actual} ({bound}{i.required})"
            + (f" — {i.missing}" if i.missing else "")
        )
    for child in report.children:
        _print_quota(child, depth + 1)


@quota_app.command("check")
def quota_check(
    ctx: typer.Context,
    province: str | None = typer.Option(None),
    enterprise: str | None = typer.Option(None),
    industry: str | None = typer.Option(None),
    scenario: str | None = typer.Option(None),
) -> None:
    """What is met and what is missing for one subject; exit status 2 when not all met."""
    c = ctx_of(ctx)
    report = svc.quota_check(
        c.space(), province=province, enterprise=enterprise, industry=industry, scenario=scenario
    )
    show(c, report.to_dict(), lambda: _print_quota(report))
    if not report.met:
        raise typer.Exit(2)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, so a
    reader never sees half a file and a failure leaves no file behind."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _report(kind: ReportKind) -> Any:
    def command(
        ctx: typer.Context,
        province: str | None = typer.Option(None),
        enterprise: str | None = typer.Option(None),
        fmt: str = typer.Option("md", "--format", help="md or html."),
        out: Path = typer.Option(..., "--out", "-o", help="File to write."),
        as_of: str | None = typer.Option(
            None, help="Preview as the ledger stood at the end of this day (YYYY-MM-DD)."
        ),
        submit: bool = typer.Option(
            False, help="Hand the report in, stamped with the real time (not with --as-of)."
        ),
    ) -> None:
        c = ctx_of(ctx)
        if fmt not in ("md", "html"):
            raise InvalidInput("--format is md or html", format=fmt)
        try:
            on = date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise InvalidInput(f"bad --as-of date {as_of!r}; use YYYY-MM-DD") from None
        from resonance.reports.render import hand_in, preview

        space = c.space()
        sub = None
        if submit:
            data, text, sub = hand_in(
                space,
                actor=c.require_actor(),
                kind=kind,
                province=province,
                enterprise=enterprise,
                as_of=on,
                fmt=fmt,
            )
        else:
            data, text = preview(
                space, kind=kind, province=province, enterprise=enterprise, as_of=on, fmt=fmt
            )
        write_atomically(out, text)  # only after every check and the submission passed
        result: dict[str, Any] = {
            "out": str(out),
            "title": data.title,
            "as_of": data.as_of.isoformat(),
            "preview": data.preview,
            "deadlines": [d.to_dict() for d in data.deadlines],
            "met": data.quota.met,
        }
        if sub is not None:
            result["submission"] = forms.submission(sub)

        def human() -> None:
            console.print(f"wrote {data.title} to {out}")
            if sub is not None:
                late = result["submission"]["late"]
                console.print(
                    f"submitted on {sub.submitted_on}"
                    + (f" — LATE by {result['submission']['days_late']} days" if late else "")
                )

        show(c, result, human)

    command.__doc__ = f"Write the {kind.value} report of a province or a central enterprise."
    return command


for _kind in ReportKind:
    report_app.command(_kind.value)(_report(_kind))


@report_app.command("note")
def report_note(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="plan, midterm or summary."),
    province: str | None = typer.Option(None),
    enterprise: str | None = typer.Option(None),
    task: str = typer.Option(..., help="Key task: " + ", ".join(KEY_TASKS)),
    measures: str = typer.Option("", help="Measures (the plan)."),
    progress: str = typer.Option("", help="Progress narrative (mid-term)."),
    problems: str = typer.Option("", help="Problems met."),
    next_steps: str = typer.Option("", help="Next steps."),
    typical: list[str] = typer.Option([], "--typical", help="A typical landing case; repeat."),
) -> None:
    """Write a new version of the authority's text for one key task of a report."""
    c = ctx_of(ctx)
    note = report_svc.write_note(
        c.space(),
        actor=c.require_actor(),
        kind=parse_enum(ReportKind, kind, what="kind"),
        province=province,
        enterprise=enterprise,
        tasks=[TaskNote(task, measures, progress, problems, next_steps, tuple(typical))],
    )
    show(c, note.to_dict(), lambda: console.print(f"wrote version {note.version}"))


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    org: str = typer.Argument(..., help="Organization the token belongs to."),
    label: str = typer.Option("", help="What the token is for."),
) -> None:
    """Issue an API token; it is printed once and only its salted hash is kept."""
    c = ctx_of(ctx)
    plain, stored = token_svc.create_token(
        c.space(), actor=c.require_actor(), organization=org, label=label
    )
    data = {"id": stored.id, "organization": org, "token": plain}
    show(c, data, lambda: console.print(plain, soft_wrap=True, highlight=False))


@token_app.command("list")
def token_list(ctx: typer.Context, org: str | None = typer.Option(None)) -> None:
    """Tokens (ids and owners only)."""
    c = ctx_of(ctx)
    items = token_svc.list_tokens(c.space(), organization=org)
    rows = [
        {
            "id": t.id,
            "organization": t.organization,
            "label": t.label,
            "created_at": t.created_at,
            "revoked_at": t.revoked_at,
        }
        for t in items
    ]
    show(c, rows, lambda: _table("API tokens", rows, list(rows[0]) if rows else ["id"]))


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: str = typer.Argument(...)) -> None:
    """Revoke a token."""
    c = ctx_of(ctx)
    t = token_svc.revoke_token(c.space(), actor=c.require_actor(), token_id=token_id)
    show(c, {"id": t.id, "revoked_at": t.revoked_at}, lambda: console.print(f"revoked {t.id}"))


SHUTDOWN_GRACE_S = 3


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port."),
    workers: int = typer.Option(1, help="Worker processes."),
    job_workers: int = typer.Option(
        1,
        "--job-workers",
        min=0,
        help="Job worker processes started beside the server (0: run `resonance worker` "
        "elsewhere, the scale-out mode on Redis).",
    ),
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json) and the web console (/console).

    SIGTERM or Ctrl-C stops it within 5 s: requests still in flight after
    ``SHUTDOWN_GRACE_S`` seconds are cut off (an upload that stalls would
    otherwise hold the shutdown forever).

    Unless ``--job-workers 0``, a job worker runs as a separate process (never a fork of
    the server) and stops with it; on start it marks jobs whose worker died as failed.
    """
    import os

    import uvicorn

    c = ctx_of(ctx)
    space = c.space()  # fail early with a clear error when there is no space
    recover(space)
    os.environ["RESONANCE_SPACE"] = str(c.space_path.resolve())
    job_worker = None
    if job_workers:
        from resonance.jobs.worker import spawn

        job_worker = spawn(c.space_path.resolve(), workers=job_workers)
    try:
        uvicorn.run(
            "resonance.server:make",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
    finally:
        if job_worker is not None:
            job_worker.terminate()
            try:
                job_worker.wait(timeout=30)
            except Exception:
                job_worker.kill()


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.add_typer(registry_app, name="registry")
    app.add_typer(quota_app, name="quota")
    app.add_typer(report_app, name="report")
    app.add_typer(token_app, name="token")
    app.command("serve")(serve)
