"""Console forms: each posts to the same service function as the matching API route.

Every form carries the session's CSRF token and must come from this origin
(:func:`resonance.web.app.checked`); role and policy checks are the services'
own, exactly as for the API. On success the browser is redirected (303) to the
page showing the result; a domain error renders the console's error page.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from resonance.domain.datasets import DatasetKind, make_label_spec
from resonance.domain.errors import InvalidInput
from resonance.domain.modeling import ModelSpec
from resonance.domain.orgs import Role
from resonance.domain.policies import parse_grant
from resonance.domain.registry import (
    HolderKind,
    LandingCase,
    ResonanceSpaceEntry,
    ScenarioFile,
)
from resonance.domain.reporting import ReportKind
from resonance.services import catalog, orgs, policies, registry, reports, tokens, uploads
from resonance.services.space import Space
from resonance.web.app import PREFIX, Posted, page

router = APIRouter(prefix=PREFIX, include_in_schema=False)

Text = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=4000)]


def _space(request: Request) -> Space:
    space: Space = request.app.state.space
    return space


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(PREFIX + path, status_code=303)


def _list(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]


def _int(text: str, what: str, *, lo: int, hi: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{what} must be a whole number") from None
    if not lo <= value <= hi:
        raise InvalidInput(f"{what} must be between {lo} and {hi}")
    return value


# --- data holder ---


@router.post("/datasets/validate", response_class=HTMLResponse)
def validate(
    request: Request,
    session: Posted,
    file: Annotated[UploadFile, File()],
    label: Text = "",
    label_onehot: LongText = "",
    group_key: Text = "",
) -> HTMLResponse:
    """Validate a file without storing anything: the validation report."""
    space = _space(request)
    with uploads.received_file(space, file.file, file.filename) as path:
        report = catalog.validate_file(
            path,
            label=make_label_spec(label or None, _list(label_onehot) or None),
            group_key=group_key or None,
            max_bytes=space.config.max_ingest_bytes,
        )
    return page(request, "validation.html", session.organization, report=report, file=file.filename)


@router.post("/datasets/upload")
def upload(
    request: Request,
    session: Posted,
    file: Annotated[UploadFile, File()],
    dataset: Text = "",
    kind: Text = DatasetKind.COMMON.value,
    industry: Text = "",
    scenario: Text = "",
    label: Text = "",
    label_onehot: LongText = "",
    group_key: Text = "",
    description: LongText = "",
) -> RedirectResponse:
    """Ingest an upload as a new version (``catalog.ingest``, as the API's
    ``POST /datasets/{name}/versions``); the dataset page shows its validation report."""
    space, me = _space(request), session.organization
    new = None
    if industry:
        try:
            dataset_kind = DatasetKind(kind)
        except ValueError:
            raise InvalidInput(f"unknown dataset kind {kind!r}") from None
        new = catalog.NewDataset(
            owner=me.name,
            kind=dataset_kind,
            industry=industry,
            scenario=scenario or None,
            description=description,
            label=make_label_spec(label or None, _list(label_onehot) or None),
            group_key=group_key or None,
        )
    with uploads.received_file(space, file.file, file.filename) as path:
        result = catalog.ingest(space, actor=me.name, path=path, dataset=dataset, new=new)
    return _see(f"/datasets/{quote(dataset)}?ingested={quote(result.version.ref)}")


@router.post("/datasets/{name}/policy")
def set_policy(
    request: Request,
    session: Posted,
    name: str,
    grants: LongText = "",
    allow_auto_drop: Text = "",
) -> RedirectResponse:
    """Replace a dataset's usage policy (``policies.set_policy``; the owner only)."""
    parsed = [parse_grant(line.strip()) for line in grants.splitlines() if line.strip()]
    policies.set_policy(
        _space(request),
        actor=session.organization.name,
        dataset=name,
        grants=parsed,
        allow_auto_drop=allow_auto_drop == "on",
    )
    return _see(f"/datasets/{quote(name)}")


# --- model builder ---


@router.post("/models/train")
def train(
    request: Request,
    session: Posted,
    name: Text = "",
    trainer: Text = "sklearn-logreg",
    datasets: LongText = "",
    scenario: Text = "",
    exclude: LongText = "",
    seed: Text = "0",
) -> RedirectResponse:
    """Train the next version of a model (``training.train_model``, as ``POST /models``)."""
    from resonance.services import training

    model = training.train_model(
        _space(request),
        actor=session.organization.name,
        name=name,
        spec=ModelSpec(trainer=trainer, exclude_columns=tuple(_list(exclude))),
        datasets=_list(datasets),
        seed=_int(seed, "seed", lo=0, hi=2**31 - 1),
        scenario=scenario or None,
    )
    return _see(f"/models/{quote(model.ref)}?trained=1")


@router.post("/evaluations/run")
def evaluate(
    request: Request,
    session: Posted,
    model: Text = "",
    suite: Text = "",
    diagnose: Text = "",
) -> RedirectResponse:
    """Score a model version on a sealed suite (``evaluation.evaluate``); spends one query."""
    from resonance.services import evaluation

    run = evaluation.evaluate(
        _space(request),
        actor=session.organization.name,
        model=model,
        suite=suite,
        diagnose=diagnose == "on",
        label_issues=False,
    )
    return _see(f"/evaluations/{quote(run.id)}")


@router.post("/loop/run")
def loop_run(
    request: Request,
    session: Posted,
    name: Text = "",
    trainer: Text = "sklearn-logreg",
    datasets: LongText = "",
    reserves: LongText = "",
    suite: Text = "",
    budget: Text = "100",
    iterations: Text = "2",
    exclude: LongText = "",
    seed: Text = "0",
) -> RedirectResponse:
    """Run the resonance loop (``loop.run``, as ``POST /loop/runs``)."""
    from resonance.services import loop as loops

    req = loops.LoopRequest(
        name=name,
        spec=ModelSpec(trainer=trainer, exclude_columns=tuple(_list(exclude))),
        datasets=_list(datasets),
        reserves=_list(reserves),
        budget=_int(budget, "budget", lo=0, hi=10_000_000),
        suite=suite,
        iterations=_int(iterations, "iterations", lo=1, hi=20),
        seed=_int(seed, "seed", lo=0, hi=2**31 - 1),
    )
    run = loops.run(_space(request), actor=session.organization.name, request=req)
    return _see(f"/loop?run={quote(run.name)}")


@router.post("/federation/run")
def federate(
    request: Request,
    session: Posted,
    name: Text = "",
    datasets: LongText = "",
    strategy: Text = "fedavg",
    model: Text = "linear",
    rounds: Text = "5",
    exclude: LongText = "",
) -> RedirectResponse:
    """Federated training on Flower (``federation.federate``, as ``POST /federation/runs``)."""
    from resonance.services import federation
    from resonance.training.federated.apps import STRATEGIES, FederationConfig
    from resonance.training.federated.models import KINDS

    if strategy not in STRATEGIES or model not in KINDS:
        raise InvalidInput(f"strategy must be one of {sorted(STRATEGIES)}, model one of {KINDS}")
    version = federation.federate(
        _space(request),
        actor=session.organization.name,
        name=name,
        datasets=_list(datasets),
        config=FederationConfig(
            kind=model, strategy=strategy, rounds=_int(rounds, "rounds", lo=1, hi=1000)
        ),
        exclude=tuple(_list(exclude)),
    )
    return _see(f"/models/{quote(version.ref)}?trained=1")


# --- evaluator ---


@router.post("/suites")
def register_suite(
    request: Request,
    session: Posted,
    name: Text = "",
    dataset: Text = "",
    metrics: LongText = "",
    thresholds: LongText = "",
    scenario: Text = "",
    query_budget: Text = "20",
) -> RedirectResponse:
    """Register a sealed suite (``evaluation.register_suite``); thresholds as ``metric=value``."""
    from resonance.services import evaluation

    limits: dict[str, float] = {}
    for item in _list(thresholds):
        metric, _, value = item.partition("=")
        try:
            limits[metric.strip()] = float(value)
        except ValueError:
            raise InvalidInput(f"bad threshold {item!r}; use metric=value") from None
    chosen = tuple(_list(metrics))
    evaluation.register_suite(
        _space(request),
        actor=session.organization.name,
        name=name,
        dataset=dataset,
        **({"metrics": chosen} if chosen else {}),  # type: ignore[arg-type]
        thresholds=limits,
        scenario=scenario or None,
        query_budget=_int(query_budget, "query budget", lo=1, hi=1_000_000),
    )
    return _see("/evaluator")


# --- application developer ---


@router.post("/scenarios")
def file_scenario(
    request: Request,
    session: Posted,
    name: Text = "",
    industry: Text = "",
    title: Text = "",
    problem: LongText = "",
    value: LongText = "",
    data_needed: LongText = "",
    model_needed: LongText = "",
) -> RedirectResponse:
    """File a high-value scenario (``registry.file_scenario``)."""
    me = session.organization.name
    registry.file_scenario(
        _space(request),
        actor=me,
        scenario=ScenarioFile(
            name, industry, title, problem, value, data_needed, model_needed, owner=me
        ),
    )
    return _see(f"/scenarios/{quote(name)}")


@router.post("/cases")
def record_case(
    request: Request,
    session: Posted,
    name: Text = "",
    model: Text = "",
    adopter: Text = "",
    region: Text = "",
    description: LongText = "",
) -> RedirectResponse:
    """Record a landing case of a registered model (``registry.record_case``)."""
    me = session.organization.name
    registry.record_case(
        _space(request),
        actor=me,
        case=LandingCase(name, model, adopter, region, description, recorded_by=me),
    )
    return _see("/apps")


# --- authority ---


@router.post("/reports/submit")
def submit_report(
    request: Request,
    session: Posted,
    kind: Text = "",
    province: Text = "",
    enterprise: Text = "",
    as_of: Text = "",
    format: Text = "html",
) -> RedirectResponse:
    """Render a report and record it as handed in (``reports.submit_report``)."""
    from resonance.reports.render import render

    try:
        report_kind = ReportKind(kind)
        when = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise InvalidInput("unknown report kind or bad as_of date") from None
    if format not in ("html", "md"):
        raise InvalidInput("format must be html or md")
    space = _space(request)
    data = reports.build_report(
        space,
        kind=report_kind,
        province=province or None,
        enterprise=enterprise or None,
        as_of=when,
    )
    content = render(data, format).encode()
    sub = reports.submit_report(
        space, actor=session.organization.name, data=data, content=content, fmt=format
    )
    return _see(f"/reports?submitted={quote(sub.kind.value)}")


# --- operator ---


@router.post("/organizations")
def register_organization(
    request: Request,
    session: Posted,
    name: Text = "",
    roles: Annotated[list[str] | None, Form()] = None,
    region: Text = "",
    display_name: Text = "",
    central_enterprise: Text = "",
) -> RedirectResponse:
    """Register an organization (``orgs.register_organization``; operators)."""
    try:
        chosen = frozenset(Role(r) for r in roles or [])
    except ValueError:
        raise InvalidInput("unknown role") from None
    orgs.register_organization(
        _space(request),
        actor=session.organization.name,
        name=name,
        roles=chosen,
        region=region,
        display_name=display_name,
        central_enterprise=central_enterprise == "on",
    )
    return _see("/operator")


@router.post("/consortia")
def form_consortium(
    request: Request,
    session: Posted,
    name: Text = "",
    industry: Text = "",
    members: LongText = "",
) -> RedirectResponse:
    """Form a consortium (``orgs.form_consortium``); members as ``ORG:ROLE,ROLE`` lines."""
    orgs.form_consortium(
        _space(request),
        actor=session.organization.name,
        name=name,
        industry=industry,
        members=[m.strip() for m in members.splitlines() if m.strip()],
    )
    return _see("/operator")


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request, session: Posted, organization: Text = "", label: Text = ""
) -> HTMLResponse:
    """Issue an API token (``tokens.create_token``): shown once, on this page only."""
    me = session.organization
    plain, stored = tokens.create_token(
        _space(request), actor=me.name, organization=organization or me.name, label=label
    )
    resp = page(request, "token_created.html", me, plain=plain, token=stored)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, session: Posted, token_id: str) -> RedirectResponse:
    """Revoke an API token (``tokens.revoke_token``); its console sessions end with it."""
    tokens.revoke_token(_space(request), actor=session.organization.name, token_id=token_id)
    return _see("/operator")


@router.post("/spaces")
def register_space(
    request: Request,
    session: Posted,
    name: Text = "",
    holder_kind: Text = HolderKind.PROVINCE.value,
    holder: Text = "",
    industries: LongText = "",
    operator: Text = "",
    description: LongText = "",
) -> RedirectResponse:
    """Register a resonance space (``registry.register_space``)."""
    try:
        kind = HolderKind(holder_kind)
    except ValueError:
        raise InvalidInput(f"unknown holder kind {holder_kind!r}") from None
    registry.register_space(
        _space(request),
        actor=session.organization.name,
        entry=ResonanceSpaceEntry(
            name, kind, holder, tuple(_list(industries)), operator or "", description
        ),
    )
    return _see("/registries")
