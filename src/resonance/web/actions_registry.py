"""Console forms of the registries, reports and operations: scenario files and cases
(application developers), report submission (authorities), organizations, consortia,
tokens and spaces (operators). Same rules as :mod:`resonance.web.actions`."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from resonance.domain.errors import InvalidInput
from resonance.domain.orgs import Role
from resonance.domain.registry import HolderKind, LandingCase, ResonanceSpaceEntry, ScenarioFile
from resonance.domain.reporting import ReportKind
from resonance.services import orgs, registry, reports, tokens
from resonance.web.actions import LongText, Text, listed, see, space_of
from resonance.web.app import PREFIX, Posted, page

router = APIRouter(prefix=PREFIX, include_in_schema=False)


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
        space_of(request),
        actor=me,
        scenario=ScenarioFile(
            name, industry, title, problem, value, data_needed, model_needed, owner=me
        ),
    )
    return see(f"/scenarios/{quote(name)}")


@router.post("/cases")
def record_case(
    request: Request,
    session: Posted,
    name: Text = "",
    model: Text = "",
    adopter: Text = "",
    region: Text = "",
    description: LongText = "",
    evidence: Text = "",
) -> RedirectResponse:
    """Record a landing case of a registered model (``registry.record_case``); it counts
    once its adopter confirms it."""
    me = session.organization.name
    registry.record_case(
        space_of(request),
        actor=me,
        case=LandingCase(
            name, model, adopter, region, description, recorded_by=me, evidence=evidence
        ),
    )
    return see("/apps")


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
    space = space_of(request)
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
    return see(f"/reports?submitted={quote(sub.kind.value)}")


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
        space_of(request),
        actor=session.organization.name,
        name=name,
        roles=chosen,
        region=region,
        display_name=display_name,
        central_enterprise=central_enterprise == "on",
    )
    return see("/operator")


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
        space_of(request),
        actor=session.organization.name,
        name=name,
        industry=industry,
        members=[m.strip() for m in members.splitlines() if m.strip()],
    )
    return see("/operator")


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request, session: Posted, organization: Text = "", label: Text = ""
) -> HTMLResponse:
    """Issue an API token (``tokens.create_token``): shown once, on this page only."""
    me = session.organization
    plain, stored = tokens.create_token(
        space_of(request), actor=me.name, organization=organization or me.name, label=label
    )
    resp = page(request, "token_created.html", me, plain=plain, token=stored)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, session: Posted, token_id: str) -> RedirectResponse:
    """Revoke an API token (``tokens.revoke_token``); its console sessions end with it."""
    tokens.revoke_token(space_of(request), actor=session.organization.name, token_id=token_id)
    return see("/operator")


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
        space_of(request),
        actor=session.organization.name,
        entry=ResonanceSpaceEntry(
            name, kind, holder, tuple(listed(industries)), operator or "", description
        ),
    )
    return see("/registries")
