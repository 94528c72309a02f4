"""What each console page shows: ``fn(space, request[, name]) -> (template, context)``.

Pages only call services; models, evaluations and loop runs of the other areas
are shown from their tables when those exist (empty pages otherwise).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import Request

from resonance.domain.errors import InvalidInput
from resonance.domain.industries import INDUSTRIES
from resonance.domain.reporting import DEADLINES, ReportKind
from resonance.reports import charts
from resonance.reports.render import render_html
from resonance.services import catalog, ledger, policies, registry, reports, review

PREFIX = "/console"
PLOTLY_URL = f"{PREFIX}/assets/plotly.min.js"

Ctx = tuple[str, dict[str, Any]]


def home(space: Any, request: Request) -> Ctx:
    """Overview: counts, ledger status, deadlines."""
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


def catalog_page(space: Any, request: Request) -> Ctx:
    """Datasets with their latest versions, ``CATALOG_PAGE`` at a time (``?page=N``, from 1)."""
    raw = request.query_params.get("page", "1")
    page = max(1, int(raw)) if raw.isdigit() else 1
    items = catalog.list_datasets(
        space, validation=True, limit=CATALOG_PAGE + 1, offset=(page - 1) * CATALOG_PAGE
    )
    return "catalog.html", {
        "items": items[:CATALOG_PAGE],
        "page": page,
        "has_next": len(items) > CATALOG_PAGE,
    }


def dataset_page(space: Any, request: Request, name: str) -> Ctx:
    """One dataset: versions, schema, validation, policy, lineage."""
    ds, versions = catalog.show_dataset(space, name)
    marks = {n: m.status for n, m in review.version_marks(space, name).items()}
    kept = [v for v in versions if marks.get(v.number) != "rejected"]
    latest = kept[-1] if kept else None  # a rejected loop candidate is never the latest
    return "dataset.html", {
        "ds": ds,
        "versions": versions,
        "marks": marks,
        "latest": latest,
        "policy": policies.get_policy(space, name),
        "lineage": catalog.lineage(space, latest.ref) if latest else [],
    }


def policies_page(space: Any, request: Request) -> Ctx:
    """The current policy of every dataset."""
    rows = [(d, policies.get_policy(space, d.name)) for d, _ in catalog.list_datasets(space)]
    return "policies.html", {"rows": rows}


def ledger_page(space: Any, request: Request) -> Ctx:
    """The latest ledger entries, the verify status and activity per action."""
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        raise InvalidInput("after must be a number") from None
    entries = ledger.entries(space, after_seq=max(after, 0), limit=200)
    by_area = Counter(e.action.split(".")[0] for e in entries)
    fig = charts.go.Figure(charts.go.Bar(x=list(by_area), y=list(by_area.values())))
    fig.update_layout(title="Entries shown, by area", height=300)
    return "ledger.html", {
        "entries": entries,
        "verify": ledger.verify(space),
        "chart": charts.figure_div(fig, "chart-ledger") if entries else "",
    }


def registries_page(space: Any, request: Request) -> Ctx:
    """Every registry of the action."""
    regs = registry.registries(space)
    fig = charts.go.Figure(charts.go.Bar(x=list(regs), y=[len(v) for v in regs.values()]))
    fig.update_layout(title="Entries per registry", height=320)
    return "registries.html", {
        "regs": regs,
        "chart": charts.figure_div(fig, "chart-registries"),
        "consortia_roles": ["compute", "model", "data", "application"],
    }


def quotas_page(space: Any, request: Request) -> Ctx:
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
    figs = [
        charts.figure_div(charts.quota_figure(s), f"chart-quota-{i}")
        for i, s in enumerate(subjects)
    ]
    return "quotas.html", {
        "subjects": list(zip(subjects, figs, strict=True)),
        "provinces": snap.provinces(),
        "enterprises": snap.central_enterprises(),
        "industries": INDUSTRIES,
    }


def reports_page(space: Any, request: Request) -> Ctx:
    """Links to every report and the submissions so far."""
    snap = registry.snapshot(space)
    return "reports.html", {
        "kinds": [k.value for k in ReportKind],
        "provinces": snap.provinces(),
        "enterprises": snap.central_enterprises(),
        "submissions": reports.list_submissions(space),
        "deadlines": {k.value: v.isoformat() for k, v in DEADLINES.items()},
    }


def report_view(space: Any, request: Request, name: str) -> Ctx:
    """One report rendered as HTML (plotly.js served by the console)."""
    q = request.query_params
    try:
        kind = ReportKind(name)
        as_of = date.fromisoformat(q["as_of"]) if q.get("as_of") else None
    except ValueError:
        raise InvalidInput("unknown report kind or bad as_of date") from None
    data = reports.build_report(
        space,
        kind=kind,
        province=q.get("province") or None,
        enterprise=q.get("enterprise") or None,
        as_of=as_of,
    )
    return "raw.html", {"html": render_html(data, plotly_src=PLOTLY_URL)}


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    hold = metrics.get("holdout", metrics)
    source = hold if isinstance(hold, dict) else metrics
    return {
        k: v for k, v in source.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def models_page(space: Any, request: Request) -> Ctx:
    """Registered models/agents and trained model versions with their headline metrics."""
    from resonance.services import training  # the training stack loads only for this page

    versions: list[dict[str, Any]] = [
        {
            "ref": v.ref,
            "trainer": v.spec.trainer,
            "industry": v.industry or "",
            "scenario": v.scenario or "",
            "datasets": ", ".join(v.datasets),
            "created_by": v.created_by,
            "created_at": v.created_at[:19],
            "metrics": _numbers(v.metrics),
        }
        for v in training.list_models(space)
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
        charts_html.append(charts.figure_div(fig, "chart-models"))
    return "models.html", {
        "models": registry.registries(space),
        "versions": versions,
        "metric_names": metric_names,
        "charts": charts_html,
    }


def evaluations_page(space: Any, request: Request) -> Ctx:
    """Sealed suites (metadata only) and evaluation runs: scores, pass/fail, diagnosis size."""
    from resonance.services import evaluation

    suites = evaluation.list_suites(space)
    runs = evaluation.list_runs(space)
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "model": r.model,
            "suite": r.suite,
            "metrics": _numbers(r.metrics),
            "passed": all(r.passed.values()) if r.passed else None,
            "weak_slices": len(r.diagnosis.get("weak_slices", []) or []),
            "created_at": r.created_at[:19],
        }
        for r in runs
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
        charts_html.append(charts.figure_div(fig, "chart-evaluations"))
    metric_names = sorted({k for r in rows for k in r["metrics"]})[:6]
    return "evaluations.html", {
        "suites": suites,
        "runs": rows,
        "metric_names": metric_names,
        "charts": charts_html,
    }


def loop_page(space: Any, request: Request) -> Ctx:
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
            charts.figure_div(loop_report.metric_figure(chosen), "chart-loop-metric"),
            charts.figure_div(loop_report.slice_heatmap(chosen), "chart-loop-slices"),
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


PAGES: list[tuple[str, Callable[..., Ctx]]] = [
    ("/", home),
    ("/catalog", catalog_page),
    ("/policies", policies_page),
    ("/ledger", ledger_page),
    ("/registries", registries_page),
    ("/quotas", quotas_page),
    ("/reports", reports_page),
    ("/models", models_page),
    ("/evaluations", evaluations_page),
    ("/loop", loop_page),
]

PARAM_PAGES: list[tuple[str, Callable[..., Ctx]]] = [
    ("/datasets/{name}", dataset_page),
    ("/reports/{name}", report_view),
]
