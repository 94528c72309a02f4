"""Interconnection: the DCAT catalog, and the Dataspace Protocol between spaces.

Two kinds of routes. Protocol endpoints (``POST /dsp/catalog/request``,
``/dsp/negotiations/...``, ``/dsp/transfers/...``) are called by peer spaces: they take no
API token but a signed request (``X-Resonance-Key-Id``, ``-Timestamp``, ``-Nonce``,
``-Signature``); unsigned, unknown, stale, replayed or malformed messages get coded errors
(RES-181/182/183) and change nothing. Management endpoints (``GET /dsp/catalog``,
``/dsp/peers``, ``/dsp/contracts``) take an organization's API token.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from resonance.api.deps import OrgDep, SpaceDep, get_space
from resonance.api.errors import ERROR_RESPONSES, ErrorBody
from resonance.api.params import DatasetName, slug, text
from resonance.domain.dsp import Side
from resonance.domain.policies import parse_purposes
from resonance.services import contracts, dsp_catalog

router = APIRouter(
    prefix="/dsp",
    tags=["dataspace"],
    responses={
        **ERROR_RESPONSES,
        400: {"model": ErrorBody, "description": "malformed protocol message (RES-183)"},
        409: {"model": ErrorBody, "description": "replayed message or bad transition"},
        502: {"model": ErrorBody, "description": "the peer space refused or is unreachable"},
    },
)

Pid = Annotated[str, Path(max_length=100, examples=["urn:uuid:00000000-0000-0000-0000-0"])]


def _endpoint(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/dsp"


@router.get("/catalog")
def catalog(request: Request, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """The DCAT 3 catalog (JSON-LD) the calling organization may see, with ODRL offers."""
    endpoint = dsp_catalog.own_endpoint(space, _endpoint(request))
    return dsp_catalog.export_catalog(space, requester=me.name, endpoint=endpoint)


async def _protocol(request: Request) -> dict[str, Any]:
    """A signed Dataspace Protocol message from a peer space."""
    body = await request.body()
    return await run_in_threadpool(
        contracts.receive,
        get_space(request),
        method=request.method,
        path=request.url.path,
        headers=dict(request.headers),
        body=body,
    )


for _path in (
    "/catalog/request",
    "/negotiations/request",
    "/negotiations/{pid}/agreement",
    "/negotiations/{pid}/agreement/verification",
    "/negotiations/{pid}/events",
    "/negotiations/{pid}/termination",
    "/transfers/request",
    "/transfers/{pid}/termination",
):
    router.add_api_route(
        _path,
        _protocol,
        methods=["POST"],
        summary=f"Dataspace Protocol: {_path} (signed by a peer space)",
        openapi_extra={"security": []},
    )


@router.get("/identity")
def identity(space: SpaceDep, _: OrgDep) -> dict[str, str]:
    """This space's name, DSP endpoint, key id and public key (what peers register)."""
    return contracts.identity(space)


class PeerBody(BaseModel):
    """A peer space: its name here, its DSP endpoint and its Ed25519 public key (PEM)."""

    name: str = slug("space-b")
    url: str = Field(max_length=500, examples=["http://127.0.0.1:8001/dsp"])
    public_pem: str = Field(max_length=2000)


@router.get("/peers")
def peers(space: SpaceDep, _: OrgDep) -> list[dict[str, Any]]:
    """Registered peer spaces."""
    return [p.to_dict() for p in contracts.list_peers(space)]


@router.post("/peers", status_code=201)
def add_peer(body: PeerBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Register a peer space (the operator)."""
    return contracts.add_peer(
        space, actor=me.name, name=body.name, url=body.url, public_pem=body.public_pem
    ).to_dict()


class ContractBody(BaseModel):
    """A contract request to a peer: its dataset, the purposes and the expiry."""

    peer: str = slug("space-b")
    dataset: str = slug("steel-a")
    purposes: list[str] = Field(min_length=1, max_length=4, examples=[["evaluate"]])
    until: date


@router.get("/contracts")
def list_contracts(space: SpaceDep, me: OrgDep) -> list[dict[str, Any]]:
    """Negotiations the calling organization is party to (all, for the operator)."""
    return [n.to_dict() for n in contracts.list_contracts(space, viewer=me.name)]


@router.post("/contracts", status_code=201)
def request_contract(body: ContractBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Ask a peer space for a contract on one of its datasets."""
    return contracts.request_contract(
        space,
        actor=me.name,
        peer=body.peer,
        dataset=body.dataset,
        purposes=parse_purposes(body.purposes),
        until=body.until,
    ).to_dict()


@router.get("/contracts/{pid}")
def show_contract(pid: Pid, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """One negotiation with its agreement and transfer state; its data address (the bearer
    token at the provider) only to the consumer organization it was issued for."""
    n = contracts.show(space, pid)
    return n.to_dict(secrets=n.side is Side.CONSUMER and n.organization == me.name)


@router.post("/contracts/{pid}/agree")
def agree(pid: Pid, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Agree a requested contract (the dataset's owner)."""
    return contracts.agree(space, actor=me.name, pid=pid).to_dict()


class TerminateBody(BaseModel):
    """Why the negotiation is refused, withdrawn or the agreement revoked."""

    reason: str = text("no longer needed", required=False)


@router.post("/contracts/{pid}/terminate")
def terminate(pid: Pid, body: TerminateBody, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """Refuse or withdraw a negotiation, or revoke a finalized agreement."""
    return contracts.terminate(space, actor=me.name, pid=pid, reason=body.reason).to_dict()


class RuleBody(BaseModel):
    """Agree a peer's requests for these purposes up to this many days, without asking."""

    purposes: list[str] = Field(min_length=1, max_length=4, examples=[["evaluate"]])
    max_days: int = Field(ge=1, le=3660, examples=[90])


@router.put("/rules/{dataset}/{peer}")
def set_rule(
    dataset: DatasetName,
    peer: Annotated[str, Path(max_length=63, examples=["space-b"])],
    body: RuleBody,
    space: SpaceDep,
    me: OrgDep,
) -> dict[str, Any]:
    """Set the owner's auto-agree rule for a dataset and a peer."""
    return contracts.set_auto_agree(
        space,
        actor=me.name,
        dataset=dataset,
        peer=peer,
        purposes=parse_purposes(body.purposes),
        max_days=body.max_days,
    ).to_dict()
