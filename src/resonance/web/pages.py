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

from resonance.domain.datasets import DatasetKind
from resonance.domain.errors import InvalidInput
from resonance.domain.evaluation import METRIC_DIRECTIONS
from resonance.domain.industries import INDUSTRIES
from resonance.domain.orgs import Organization
from resonance.domain.policies import Purpose
from resonance.domain.reporting import DEADLINES, ReportKind
from resonance.reports import charts
from resonance.services import (
    access,
    catalog,
    contracts,
    ledger,
    policies,
    registry,
    reports,
    review,
)
from resonance.web import agents as web_agents
from resonance.web import workspaces as ws
from resonance.web.shared import (
    PLOTLY_URL,
    PREFIX,
    Ctx,
    chart,
    matches,
    numbers,
    query,
    run_row,
    version_row,
)


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


CATALOG_PAGE = 100  # datasets per catalog page


def catalog_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Datasets with their latest versions, ``CATALOG_PAGE`` at a time (``?page=N``, from 1);
    search by text, filter by kind/industry/owner."""
    q, kind, industry, owner = (query(request, k) for k in ("q", "kind", "industry", "owner"))
    try:
        wanted = DatasetKind(kind) if kind else None
    except ValueError:
        raise InvalidInput(f"unknown dataset kind {kind!r}") from None
    raw = request.query_params.get("page", "1")
    page = max(1, int(raw)) if raw.isdigit() and len(raw) < 10 else 1
    listed = catalog.list_datasets(
        space,
        owner=owner or None,
        kind=wanted,
        industry=industry or None,
        validation=True,
        viewer=me.name,
        # a text search filters in Python: read every match's page-free listing then
        limit=None if q else CATALOG_PAGE + 1,
        offset=0 if q else (page - 1) * CATALOG_PAGE,
    )
    items = [
        (d, v)
        for d, v in listed
        if matches(q, d.name, d.description, d.owner, d.scenario, d.industry)
    ]
    if q:
        items = items[(page - 1) * CATALOG_PAGE : page * CATALOG_PAGE + 1]
    return "catalog.html", {
        "items": items[:CATALOG_PAGE],
        "page": page,
        "has_next": len(items) > CATALOG_PAGE,
        "filters": {"q": q, "kind": kind, "industry": industry, "owner": owner},
        "kinds": [k.value for k in DatasetKind],
        "industries": INDUSTRIES,
    }


def dataset_page(space: Any, request: Request, me: Organization, name: str) -> Ctx:
    """One dataset: versions, schema, validation, policy (editable by its owner), lineage
    (a sealed set's validation report and profile are its owner's only)."""
    ds, versions = catalog.show_dataset(space, name, viewer=me.name)
    marks = {n: m.status for n, m in review.version_marks(space, name).items()}
    kept = [v for v in versions if marks.get(v.number) != "rejected"]
    latest = kept[-1] if kept else None  # a rejected loop candidate is never the latest
    policy = policies.get_policy(space, name)
    return "dataset.html", {
        "ds": ds,
        "versions": versions,
        "marks": marks,
        "latest": latest,
        "policy": policy,
        "grants_text": "\n".join(
            f"{g.organization}:{','.join(sorted(p.value for p in g.purposes))}"
            + (f":{g.until}" if g.until else "")
            for g in (policy.grants if policy else ())
        ),
        "purposes": [p.value for p in Purpose],
        "lineage": catalog.lineage(space, latest.ref) if latest else [],
        "ingested": query(request, "ingested"),
        "derivation": access.derivation(space, latest) if latest else None,
    }


def policies_page(space: Any, request: Request, me: Organization) -> Ctx:
    """The current policy of every dataset (filter by owner or text)."""
    q, owner = query(request, "q"), query(request, "owner")
    rows = [
        (d, policies.get_policy(space, d.name))
        for d, _ in catalog.list_datasets(space, owner=owner or None)
        if matches(q, d.name, d.owner)
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
    actor, action, obj = query(request, "actor"), query(request, "action"), query(request, "object")
    entries = ledger.visible_entries(
        space,
        viewer=me.name,
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
            registry.check_subject(
                snap,
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
        "submitted": query(request, "submitted"),
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
        province=query(request, "province") or None,
        enterprise=query(request, "enterprise") or None,
        as_of=as_of,
    )
    figures = [chart(fig, div_id) for div_id, fig in report_figures(data)]
    ctx = html_context(
        data, figures=figures, plotly_src=PLOTLY_URL, scripts=(f"{PREFIX}/static/console.js",)
    )
    return "report.html.j2", ctx


def models_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Registered models/agents and trained versions (search; tick two or more to compare)."""
    from resonance.services import training  # the training stack loads only for this page

    q, by = query(request, "q"), query(request, "by")
    versions = [
        version_row(v)
        for v in training.list_models(space)
        if matches(q, v.ref, v.spec.trainer, v.industry, v.scenario, *v.datasets)
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
        "v": version_row(version),
        "version": version,
        "card": model_card.render_card(version, runs),
        "runs": [run_row(r) for r in runs],
        "suites": evaluation.list_suites(space),
        "trained": query(request, "trained"),
    }


def compare_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Model versions side by side: hold-out metrics and the scores on each suite."""
    from resonance.services import evaluation, training

    refs = [r for r in request.query_params.getlist("ref") if r][:8]
    if len(refs) < 2:
        raise InvalidInput("tick at least two model versions to compare")
    versions = [training.get_model(space, r) for r in refs]
    rows = [version_row(v) for v in versions]
    metric_names = sorted({k for v in rows for k in v["metrics"]})
    scores: dict[str, dict[str, float | None]] = {}
    for v in versions:
        for run in evaluation.list_runs(space, model=v.ref):
            suite = evaluation.require_suite(space, run.suite)
            key = f"{run.suite} ({suite.primary_metric})"
            scores.setdefault(key, {})[v.ref] = numbers(run.metrics).get(suite.primary_metric)
    return "compare.html", {"rows": rows, "metric_names": metric_names, "scores": scores}


def evaluations_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Sealed suites (metadata only) and evaluation runs: scores, pass/fail, diagnosis size."""
    from resonance.services import evaluation

    suites = evaluation.list_suites(space)
    suite_f, model_f = query(request, "suite"), query(request, "model")
    rows = [
        run_row(r)
        for r in evaluation.list_runs(space, suite=suite_f or None)
        if matches(model_f, r.model)
    ]
    primary = {s.name: s.primary_metric for s in suites}
    charts_html = []
    if rows:
        fig = charts.go.Figure()
        for suite in sorted({r["suite"] for r in rows}):
            mine = [r for r in rows if r["suite"] == suite]
            metric = primary.get(suite, "")
            fig.add_scatter(
                name=f"{suite} ({metric}, {METRIC_DIRECTIONS.get(metric, 'higher')} is better)",
                x=[r["model"] for r in mine],
                y=[r["metrics"].get(metric) for r in mine],
                mode="lines+markers",
            )
        fig.update_layout(title="Primary metric of each evaluation run", height=340)
        charts_html.append(chart(fig, "chart-evaluations"))
    metric_names = sorted({k for r in rows for k in r["metrics"]})[:6]
    return "evaluations.html", {
        "lower_is_better": [m for m, d in METRIC_DIRECTIONS.items() if d == "lower"],
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
        "row": run_row(run),
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
        {"iteration": it.number, **a}
        for it in (chosen.iterations[1:] if chosen else [])
        for a in it.actions
    ]
    return "loop.html", {
        "runs": [r.to_dict() for r in reversed(runs)],
        "run": chosen.to_dict() if chosen else None,
        "actions": actions,
        "charts": charts_html,
    }


def contracts_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Peer spaces and the contract negotiations ``me`` is party to (all of them for the
    operator), newest first."""
    return "contracts.html", {
        "peers": contracts.list_peers(space),
        "items": list(reversed(contracts.list_contracts(space, viewer=me.name))),
        "today": space.today(),
    }


# "/" is the data holders' router (web/review.py): a holder's home is its data, the
# others' is :func:`home`.
PAGES: list[tuple[str, Callable[..., Ctx]]] = [
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
    ("/contracts", contracts_page),
    ("/agents", web_agents.agents_page),
    ("/holder", ws.holder_page),
    ("/builder", ws.builder_page),
    ("/evaluator", ws.evaluator_page),
    ("/apps", ws.apps_page),
    ("/operator", ws.operator_page),
]

PARAM_PAGES: list[tuple[str, Callable[..., Ctx]]] = [
    ("/datasets/{name}", dataset_page),
    ("/reports/{name}", report_view),
    ("/models/{name}", model_page),
    ("/evaluations/{name}", evaluation_run_page),
    ("/scenarios/{name}", ws.scenario_page),
    ("/agents/{name}", web_agents.agent_page),
]
