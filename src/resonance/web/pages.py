"""What each console page shows: ``fn(space, request, me[, name]) -> (template, context)``.

Pages only call services. Shared lists (catalog, ledger, models...) take search
and filter parameters from the query string; each role has a workspace page
with its own objects and the forms of its actions (posted to
:mod:`resonance.web.actions`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import Request
from markupsafe import Markup

from resonance.domain.datasets import DatasetKind
from resonance.domain.errors import InvalidInput
from resonance.domain.industries import INDUSTRIES
from resonance.domain.orgs import Organization, Role
from resonance.domain.policies import Purpose
from resonance.domain.registry import HolderKind, ModelKind
from resonance.domain.reporting import DEADLINES, ReportKind
from resonance.reports import charts
from resonance.services import catalog, ledger, orgs, policies, registry, reports
from resonance.services import tokens as token_service

Ctx = tuple[str, dict[str, Any]]

RELABEL_ACTION = "loop.relabel_proposed"
VALUED_ACTION = "contribution.valued"


def chart(fig: Any, div_id: str) -> Markup:
    """A figure as an empty ``div`` whose ``data-figure`` holds its JSON (drawn by
    ``static/console.js``: no inline script, so the CSP can forbid them)."""
    return Markup('<div class="chart" id="{}" data-figure="{}"></div>').format(
        div_id, charts.figure_spec(fig)
    )


def _q(request: Request, key: str, max_len: int = 200) -> str:
    value = request.query_params.get(key, "").strip()
    if len(value) > max_len:
        raise InvalidInput(f"{key} is longer than {max_len} characters")
    return value


def _matches(q: str, *fields: Any) -> bool:
    """Case-insensitive substring search over the given fields."""
    q = q.lower()
    return not q or any(q in str(f or "").lower() for f in fields)


def home(space: Any, request: Request, me: Organization) -> Ctx:
    """Overview: counts, ledger status, deadlines and the pages of the user's roles."""
    snap = registry.snapshot(space)
    counts = {
        "organizations": len(snap.organizations),
        "datasets": len(snap.datasets),
        "consortia": len(snap.consortia),
        "scenario files": len(snap.scenarios),
        "models and agents": len(snap.models),
        "landing cases": len(snap.cases),
        "resonance spaces": len(snap.spaces),
    }
    return "home.html", {
        "counts": counts,
        "verify": ledger.verify(space),
        "deadlines": {k.value: v.isoformat() for k, v in DEADLINES.items()},
        "provinces": snap.provinces(),
    }


def catalog_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Every dataset with its latest version; search by text, filter by kind/industry/owner."""
    q, kind, industry, owner = (_q(request, k) for k in ("q", "kind", "industry", "owner"))
    try:
        wanted = DatasetKind(kind) if kind else None
    except ValueError:
        raise InvalidInput(f"unknown dataset kind {kind!r}") from None
    items = [
        (d, v)
        for d, v in catalog.list_datasets(
            space, owner=owner or None, kind=wanted, industry=industry or None, validation=True
        )
        if _matches(q, d.name, d.description, d.owner, d.scenario, d.industry)
    ]
    return "catalog.html", {
        "items": items,
        "filters": {"q": q, "kind": kind, "industry": industry, "owner": owner},
        "kinds": [k.value for k in DatasetKind],
        "industries": INDUSTRIES,
    }


def dataset_page(space: Any, request: Request, me: Organization, name: str) -> Ctx:
    """One dataset: versions, schema, validation, policy (editable by its owner), lineage."""
    ds, versions = catalog.show_dataset(space, name)
    latest = versions[-1] if versions else None
    policy = policies.get_policy(space, name)
    return "dataset.html", {
        "ds": ds,
        "versions": versions,
        "latest": latest,
        "policy": policy,
        "grants_text": "\n".join(
            f"{g.organization}:{','.join(sorted(p.value for p in g.purposes))}"
            + (f":{g.until}" if g.until else "")
            for g in (policy.grants if policy else ())
        ),
        "purposes": [p.value for p in Purpose],
        "lineage": catalog.lineage(space, latest.ref) if latest else [],
        "ingested": _q(request, "ingested"),
    }


def policies_page(space: Any, request: Request, me: Organization) -> Ctx:
    """The current policy of every dataset (filter by owner or text)."""
    q, owner = _q(request, "q"), _q(request, "owner")
    rows = [
        (d, policies.get_policy(space, d.name))
        for d, _ in catalog.list_datasets(space, owner=owner or None)
        if _matches(q, d.name, d.owner)
    ]
    return "policies.html", {"rows": rows, "filters": {"q": q, "owner": owner}}


def ledger_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Ledger entries filtered by actor, action or object; the verify status; activity."""
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        raise InvalidInput("after must be a number") from None
    if not 0 <= after < 2**62:
        raise InvalidInput("after is out of range")
    actor, action, obj = _q(request, "actor"), _q(request, "action"), _q(request, "object")
    entries = ledger.entries(
        space,
        after_seq=after,
        limit=200,
        actor=actor or None,
        action=action or None,
        object_id=obj or None,
    )
    by_area = Counter(e.action.split(".")[0] for e in entries)
    fig = charts.go.Figure(charts.go.Bar(x=list(by_area), y=list(by_area.values())))
    fig.update_layout(title="Entries shown, by area", height=300)
    return "ledger.html", {
        "entries": entries,
        "verify": ledger.verify(space),
        "chart": chart(fig, "chart-ledger") if entries else "",
        "filters": {"actor": actor, "action": action, "object": obj},
    }


def registries_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Every registry of the action."""
    regs = registry.registries(space)
    fig = charts.go.Figure(charts.go.Bar(x=list(regs), y=[len(v) for v in regs.values()]))
    fig.update_layout(title="Entries per registry", height=320)
    return "registries.html", {
        "regs": regs,
        "chart": chart(fig, "chart-registries"),
        "consortia_roles": ["compute", "model", "data", "application"],
    }


def quotas_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Quota status of a province, enterprise or industry (default: every province)."""
    q = request.query_params
    snap = registry.snapshot(space)
    subjects: list[Any] = []
    if any(q.get(k) for k in ("province", "enterprise", "industry", "scenario")):
        subjects = [
            registry.quota_check(
                space,
                province=q.get("province") or None,
                enterprise=q.get("enterprise") or None,
                industry=q.get("industry") or None,
                scenario=q.get("scenario") or None,
            )
        ]
    else:
        from resonance.domain.quotas import check_enterprise, check_province

        subjects = [check_province(snap, p) for p in snap.provinces()]
        subjects += [check_enterprise(snap, e) for e in snap.central_enterprises()]
    figs = [chart(charts.quota_figure(s), f"chart-quota-{i}") for i, s in enumerate(subjects)]
    return "quotas.html", {
        "subjects": list(zip(subjects, figs, strict=True)),
        "provinces": snap.provinces(),
        "enterprises": snap.central_enterprises(),
        "industries": INDUSTRIES,
    }


def reports_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Every report to preview, the submit form (authorities, operators), submissions so far."""
    snap = registry.snapshot(space)
    return "reports.html", {
        "kinds": [k.value for k in ReportKind],
        "provinces": snap.provinces(),
        "enterprises": snap.central_enterprises(),
        "submissions": reports.list_submissions(space),
        "deadlines": {k.value: v.isoformat() for k, v in DEADLINES.items()},
        "today": space.today().isoformat(),
        "submitted": _q(request, "submitted"),
    }


def report_view(space: Any, request: Request, me: Organization, name: str) -> Ctx:
    """One report rendered from ``report.html.j2`` in the console's (autoescaping)
    environment; charts drawn by the console's script file."""
    from resonance.reports.render import html_context, report_figures

    q = request.query_params
    try:
        kind = ReportKind(name)
        as_of = date.fromisoformat(q["as_of"]) if q.get("as_of") else None
    except ValueError:
        raise InvalidInput("unknown report kind or bad as_of date") from None
    data = reports.build_report(
        space,
        kind=kind,
        province=_q(request, "province") or None,
        enterprise=_q(request, "enterprise") or None,
        as_of=as_of,
    )
    from resonance.web.app import PLOTLY_URL, PREFIX

    figures = [chart(fig, div_id) for div_id, fig in report_figures(data)]
    ctx = html_context(
        data, figures=figures, plotly_src=PLOTLY_URL, scripts=(f"{PREFIX}/static/console.js",)
    )
    return "report.html.j2", ctx


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    hold = metrics.get("holdout", metrics)
    source = hold if isinstance(hold, dict) else metrics
    return {
        k: v for k, v in source.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def _version_row(v: Any) -> dict[str, Any]:
    return {
        "ref": v.ref,
        "trainer": v.spec.trainer,
        "industry": v.industry or "",
        "scenario": v.scenario or "",
        "datasets": ", ".join(v.datasets),
        "created_by": v.created_by,
        "created_at": v.created_at[:19],
        "metrics": _numbers(v.metrics),
    }


def models_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Registered models/agents and trained versions (search; tick two or more to compare)."""
    from resonance.services import training  # the training stack loads only for this page

    q, by = _q(request, "q"), _q(request, "by")
    versions = [
        _version_row(v)
        for v in training.list_models(space)
        if _matches(q, v.ref, v.spec.trainer, v.industry, v.scenario, *v.datasets)
        and (not by or v.created_by == by)
    ]
    metric_names = sorted({k for v in versions for k in v["metrics"]})[:6]
    charts_html = []
    if versions and metric_names:
        fig = charts.go.Figure()
        for name in metric_names[:3]:
            fig.add_bar(
                name=name,
                x=[v["ref"] for v in versions],
                y=[v["metrics"].get(name) for v in versions],
            )
        fig.update_layout(title="Hold-out metrics per model version", barmode="group", height=340)
        charts_html.append(chart(fig, "chart-models"))
    return "models.html", {
        "models": registry.registries(space),
        "versions": versions,
        "metric_names": metric_names,
        "charts": charts_html,
        "filters": {"q": q, "by": by},
    }


def model_page(space: Any, request: Request, me: Organization, name: str) -> Ctx:
    """One model version: its card (identity, hold-out scores, evaluation runs, diagnosis)."""
    from resonance.services import evaluation, model_card, training

    version = training.get_model(space, name)
    runs = evaluation.list_runs(space, model=version.ref)
    return "model.html", {
        "v": _version_row(version),
        "version": version,
        "card": model_card.render_card(version, runs),
        "runs": [_run_row(r) for r in runs],
        "suites": evaluation.list_suites(space),
        "trained": _q(request, "trained"),
    }


def compare_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Model versions side by side: hold-out metrics and the scores on each suite."""
    from resonance.services import evaluation, training

    refs = [r for r in request.query_params.getlist("ref") if r][:8]
    if len(refs) < 2:
        raise InvalidInput("tick at least two model versions to compare")
    versions = [training.get_model(space, r) for r in refs]
    rows = [_version_row(v) for v in versions]
    metric_names = sorted({k for v in rows for k in v["metrics"]})
    scores: dict[str, dict[str, float | None]] = {}
    for v in versions:
        for run in evaluation.list_runs(space, model=v.ref):
            suite = evaluation.require_suite(space, run.suite)
            key = f"{run.suite} ({suite.primary_metric})"
            scores.setdefault(key, {})[v.ref] = _numbers(run.metrics).get(suite.primary_metric)
    return "compare.html", {"rows": rows, "metric_names": metric_names, "scores": scores}


def _run_row(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "model": r.model,
        "suite": r.suite,
        "by": r.created_by,
        "metrics": _numbers(r.metrics),
        "passed": all(r.passed.values()) if r.passed else None,
        "diagnosed": r.diagnosed,
        "weak_slices": len(r.weak_slices),
        "created_at": r.created_at[:19],
    }


def evaluations_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Sealed suites (metadata only) and evaluation runs: scores, pass/fail, diagnosis size."""
    from resonance.services import evaluation

    suites = evaluation.list_suites(space)
    suite_f, model_f = _q(request, "suite"), _q(request, "model")
    rows = [
        _run_row(r)
        for r in evaluation.list_runs(space, suite=suite_f or None)
        if _matches(model_f, r.model)
    ]
    primary = {s.name: s.primary_metric for s in suites}
    charts_html = []
    if rows:
        fig = charts.go.Figure()
        for suite in sorted({r["suite"] for r in rows}):
            mine = [r for r in rows if r["suite"] == suite]
            metric = primary.get(suite, "")
            fig.add_scatter(
                name=f"{suite} ({metric})",
                x=[r["model"] for r in mine],
                y=[r["metrics"].get(metric) for r in mine],
                mode="lines+markers",
            )
        fig.update_layout(title="Primary metric of each evaluation run", height=340)
        charts_html.append(chart(fig, "chart-evaluations"))
    metric_names = sorted({k for r in rows for k in r["metrics"]})[:6]
    return "evaluations.html", {
        "suites": suites,
        "runs": rows,
        "metric_names": metric_names,
        "charts": charts_html,
        "filters": {"suite": suite_f, "model": model_f},
    }


def evaluation_run_page(space: Any, request: Request, me: Organization, name: str) -> Ctx:
    """One evaluation run: metrics, thresholds, weak slices, coverage gaps (aggregates only)."""
    from resonance.services import evaluation, model_card

    found = [r for r in evaluation.list_runs(space) if r.id == name]
    if not found:
        from resonance.domain.errors import NotFound

        raise NotFound(f"unknown evaluation run {name!r}", run=name)
    run = found[0]
    return "evaluation_run.html", {
        "run": run,
        "row": _run_row(run),
        "diagnosis": "\n".join(model_card.diagnosis_lines(run)) if run.diagnosed else "",
    }


def loop_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Loop runs, and for one of them (``?run=``, else the latest) its lift per iteration,
    a slice heatmap, its iterations and the actions taken with their reasons."""
    from resonance.reports import loop as loop_report
    from resonance.services import loop as loops

    runs = loops.list_runs(space)
    wanted = request.query_params.get("run")
    # an unknown run is NotFound (the RES-101 page)
    chosen = loops.get_run(space, wanted) if wanted else (runs[-1] if runs else None)
    charts_html = []
    if chosen is not None and chosen.iterations:
        charts_html = [
            chart(loop_report.metric_figure(chosen), "chart-loop-metric"),
            chart(loop_report.slice_heatmap(chosen), "chart-loop-slices"),
        ]
    actions = [
        {"iteration": it["number"], **a}
        for it in (chosen.iterations[1:] if chosen else [])
        for a in it.get("actions", [])
    ]
    return "loop.html", {
        "runs": [r.to_dict() for r in reversed(runs)],
        "run": chosen.to_dict() if chosen else None,
        "actions": actions,
        "charts": charts_html,
    }


# --- role workspaces ---


def holder_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Data holder: upload (with its validation report), policies, the review queue,
    every use of my data, my contribution value."""
    mine = catalog.list_datasets(space, owner=me.name, validation=True)
    names = {d.name for d, _ in mine}
    uses = [
        e
        for e in ledger.entries(space, limit=2000, newest=True)
        if e.object_id.split("@")[0] in names and e.actor != me.name
    ][-200:]
    proposals = [
        e
        for e in ledger.entries(space, action=RELABEL_ACTION, limit=None)
        if e.payload.get("owner") == me.name
    ]
    values = []
    if ledger.entries(space, action=VALUED_ACTION, limit=1):  # else skip loading valuation
        from resonance.services import valuation

        for rec in valuation.recorded(space):
            for member, v in rec.get("members", {}).items():
                if member == me.name or member.split("@")[0] in names:
                    values.append({"model": rec.get("model"), "member": member, **v})
    return "holder.html", {
        "mine": mine,
        "policies": {d.name: policies.get_policy(space, d.name) for d, _ in mine},
        "uses": list(reversed(uses)),
        "proposals": proposals,
        "values": values,
        "kinds": [k.value for k in DatasetKind],
        "industries": INDUSTRIES,
        "purposes": [p.value for p in Purpose],
    }


def builder_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Model builder: start training, loop and federated runs; my models and runs."""
    from resonance.services import evaluation, training
    from resonance.services import loop as loops
    from resonance.training.federated.apps import STRATEGIES
    from resonance.training.trainers import TRAINERS

    return "builder.html", {
        "strategies": list(STRATEGIES),
        "models": [_version_row(v) for v in training.list_models(space) if v.created_by == me.name],
        "loops": [r.to_dict() for r in loops.list_runs(space, created_by=me.name)],
        "suites": evaluation.list_suites(space),
        "datasets": [(d, v) for d, v in catalog.list_datasets(space) if v is not None],
        "trainers": sorted(TRAINERS),
    }


def evaluator_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Evaluator: register sealed suites; budgets used per model; runs against my suites."""
    from resonance.domain.evaluation import METRIC_DIRECTIONS
    from resonance.services import evaluation

    suites = [s for s in evaluation.list_suites(space) if s.owner == me.name]
    runs = [r for s in suites for r in evaluation.list_runs(space, suite=s.name)]
    used: dict[tuple[str, str], int] = Counter((r.suite, r.model.split("@")[0]) for r in runs)
    budgets = [
        {
            "suite": suite,
            "model": model,
            "used": n,
            "left": evaluation.remaining_budget(space, model_name=model, suite=suite),
        }
        for (suite, model), n in sorted(used.items())
    ]
    evaluation_sets = [
        d for d, _ in catalog.list_datasets(space, owner=me.name, kind=DatasetKind.EVALUATION)
    ]
    return "evaluator.html", {
        "suites": suites,
        "runs": [_run_row(r) for r in runs],
        "budgets": budgets,
        "evaluation_sets": evaluation_sets,
        "metrics": sorted(METRIC_DIRECTIONS),
    }


def apps_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Application developer: file scenario files, record landing cases."""
    return "apps.html", {
        "scenarios": [s for s in registry.list_scenarios(space) if s.owner == me.name],
        "cases": [c for c in registry.list_cases(space) if c.recorded_by == me.name],
        "models": registry.list_models(space),
        "industries": INDUSTRIES,
        "model_kinds": [k.value for k in ModelKind],
    }


def scenario_page(space: Any, request: Request, me: Organization, name: str) -> Ctx:
    """One scenario file with the datasets, models and cases filed against it."""
    from resonance.domain.errors import NotFound

    found = [s for s in registry.list_scenarios(space) if s.name == name]
    if not found:
        raise NotFound(f"unknown scenario {name!r}", scenario=name)
    regs = registry.registries(space)
    return "scenario.html", {
        "s": found[0],
        "datasets": [d for d in regs["specialized_datasets"] if d.get("scenario") == name],
        "models": [m for m in regs["specialized_models"] if m.get("scenario") == name],
    }


def operator_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Operator: organizations, consortia, tokens, resonance spaces."""
    regs = registry.registries(space)
    return "operator.html", {
        "organizations": orgs.list_organizations(space),
        "consortia": orgs.list_consortia(space),
        "tokens": token_service.visible_tokens(space, me),
        "spaces": regs["spaces"],
        "roles": [r.value for r in Role],
        "industries": INDUSTRIES,
        "holder_kinds": [k.value for k in HolderKind],
    }


PAGES: list[tuple[str, Callable[..., Ctx]]] = [
    ("/", home),
    ("/catalog", catalog_page),
    ("/policies", policies_page),
    ("/ledger", ledger_page),
    ("/registries", registries_page),
    ("/quotas", quotas_page),
    ("/reports", reports_page),
    ("/models", models_page),
    ("/compare", compare_page),
    ("/evaluations", evaluations_page),
    ("/loop", loop_page),
    ("/holder", holder_page),
    ("/builder", builder_page),
    ("/evaluator", evaluator_page),
    ("/apps", apps_page),
    ("/operator", operator_page),
]

PARAM_PAGES: list[tuple[str, Callable[..., Ctx]]] = [
    ("/datasets/{name}", dataset_page),
    ("/reports/{name}", report_view),
    ("/models/{name}", model_page),
    ("/evaluations/{name}", evaluation_run_page),
    ("/scenarios/{name}", scenario_page),
]
