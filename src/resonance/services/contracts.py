"""Use cases: peers, contract negotiation and compute-to-data transfer between spaces
(Eclipse Dataspace Protocol), on both ends.

The consumer side starts a negotiation (:func:`request_contract`); the provider side records
it and agrees (its dataset's owner with :func:`agree`, or at once when an
:class:`~resonance.domain.dsp.AutoAgreeRule` admits it) or refuses (:func:`terminate`).
On agreement the two spaces walk the protocol by signed HTTP messages (:func:`receive`
handles every incoming one): AGREED → VERIFIED → FINALIZED, then the consumer requests the
transfer and the provider starts it by granting the agreed purposes, until the agreement's
expiry, to the consumer's organization registered under a remote identity (``PEER.ORG``).
Rows never leave unless ``download`` was agreed. Revoking (terminating a finalized
agreement) withdraws that grant. Every state change is an event on the ledger of the space
that makes it, with the message it sent or received.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from resonance.domain import signing
from resonance.domain.datasets import DatasetKind
from resonance.domain.dsp import (
    DSPACE,
    AutoAgreeRule,
    Envelope,
    Negotiation,
    NegotiationState,
    Peer,
    Side,
    TransferState,
    agreement_document,
    body_digest,
    check_fresh,
    check_peer_url,
    field_of,
    message,
    message_type,
    offer_request,
    parse_body,
    read_offer,
    remote_identity,
    signing_input,
)
from resonance.domain.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidTransition,
    MalformedMessage,
    MessageReplayed,
    MessageUnauthenticated,
    NotFound,
    PeerUnreachable,
    PolicyDenied,
    RoleRequired,
    SealedData,
)
from resonance.domain.events import (
    ApiTokenCreated,
    ApiTokenRevoked,
    AutoAgreeRuleSet,
    ContractAgreed,
    ContractEvent,
    ContractFinalized,
    ContractRequested,
    ContractTerminated,
    ContractVerified,
    OrganizationRegistered,
    PeerAdded,
    TransferStarted,
    TransferTerminated,
)
from resonance.domain.odrl import PURPOSE_ACTIONS, dataset_iri, org_iri
from resonance.domain.orgs import Organization, Role, check_slug
from resonance.domain.policies import Purpose
from resonance.domain.tokens import new_token
from resonance.services import dsp_catalog
from resonance.services.catalog import require_dataset
from resonance.services.orgs import require_org, require_role
from resonance.services.policies import write_policy
from resonance.services.space import Space, Work
from resonance.storage.store import Tx

TIMEOUT_S = 60.0
COMPUTE_TO_DATA = "rsn:compute-to-data"


def _pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


# --- peers and the space's identity ---


def identity(space: Space, *, actor: str | None = None, url: str | None = None) -> dict[str, str]:
    """The space's name, DSP endpoint, key id and public key (what a peer registers).

    With ``url`` (operator only) the endpoint is set first.
    """
    if url is not None:
        url = check_peer_url(url)
        with space.work() as w:
            require_role(w.tx, actor or "", Role.OPERATOR)
            w.tx.set_meta(dsp_catalog.DSP_URL_KEY, url)
    keys = space.keys
    return {
        "name": space.config.name,
        "url": dsp_catalog.own_endpoint(space, ""),
        "key_id": keys.key_id,
        "public_pem": keys.public_pem,
    }


def add_peer(space: Space, *, actor: str, name: str, url: str, public_pem: str) -> Peer:
    """Register another space (operator only): its DSP endpoint URL and Ed25519 public key."""
    check_slug(name, what="peer")
    url = check_peer_url(url)
    kid = signing.key_id(public_pem)
    with space.work() as w:
        require_role(w.tx, actor, Role.OPERATOR)
        if w.tx.get_peer(name) or w.tx.get_peer_by_key(kid):
            raise AlreadyExists(
                f"peer {name!r} (or its key {kid}) is already registered", peer=name
            )
        if kid == space.keys.key_id:
            raise InvalidInput("that is this space's own key", key_id=kid)
        peer = Peer(name, url, public_pem.strip() + "\n", kid, actor, w.now)
        w.tx.add_peer(peer)
        w.emit(PeerAdded(actor=actor, object_id=name, url=url, key_id=kid))
    return peer


def list_peers(space: Space) -> list[Peer]:
    """Registered peers."""
    with space.work() as w:
        return w.tx.list_peers()


def _require_peer(tx: Tx, name: str) -> Peer:
    peer = tx.get_peer(name)
    if peer is None:
        raise NotFound(f"unknown peer {name!r}; register it with 'resonance peer add'", peer=name)
    return peer


def set_auto_agree(
    space: Space,
    *,
    actor: str,
    dataset: str,
    peer: str,
    purposes: frozenset[Purpose],
    max_days: int,
) -> AutoAgreeRule:
    """The dataset owner's rule: agree ``peer``'s requests for ``purposes`` up to ``max_days``."""
    if not purposes or max_days < 1 or max_days > 3660:
        raise InvalidInput("give at least one purpose and 1..3660 days")
    with space.work() as w:
        ds = require_dataset(w.tx, dataset)
        _require_peer(w.tx, peer)
        if ds.owner != actor:
            raise RoleRequired(f"only the owner ({ds.owner}) sets rules for {dataset}")
        if ds.kind is DatasetKind.EVALUATION:
            raise SealedData(f"{dataset} is a sealed evaluation set: it is never offered")
        rule = AutoAgreeRule(dataset, peer, purposes, max_days, actor, w.now)
        w.tx.set_auto_agree_rule(rule)
        w.emit(
            AutoAgreeRuleSet(
                actor=actor,
                object_id=dataset,
                peer=peer,
                purposes=sorted(p.value for p in purposes),
                max_days=max_days,
            )
        )
    return rule


# --- sending ---


def _send(space: Space, peer: Peer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a signed message to ``peer`` at ``path`` (under its DSP URL); its JSON answer."""
    url = f"{peer.url}{path}"
    data = signing.canonical_json(body)
    keys = space.keys
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    nonce = secrets.token_urlsafe(24)
    signed = signing_input(
        method="POST",
        path=urlsplit(url).path,
        body=data,
        key_id=keys.key_id,
        timestamp=stamp,
        nonce=nonce,
    )
    env = Envelope(keys.key_id, stamp, nonce, keys.sign_json(signed))
    headers = {"Content-Type": "application/json", **env.headers()}
    try:
        response = httpx.post(url, content=data, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise PeerUnreachable(
            f"peer {peer.name} at {url} unreachable: {exc}", peer=peer.name
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code >= 400:
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        raise PeerUnreachable(
            f"peer {peer.name} refused the message: {error.get('code', response.status_code)} "
            f"{error.get('message', '')}".strip(),
            peer=peer.name,
            status=response.status_code,
            peer_code=error.get("code"),
        )
    return answer if isinstance(answer, dict) else {}


@dataclass(frozen=True)
class _Note:
    """The protocol message behind a step: its type, direction, peer and what it carried."""

    message: str
    direction: str
    peer: str
    signed: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    by_rule: bool | None = None
    event: str | None = None


def _note(
    kind: str,
    direction: str,
    peer: str,
    *,
    signed: dict[str, str] | None = None,
    reason: str | None = None,
    by_rule: bool | None = None,
    event: str | None = None,
) -> _Note:
    return _Note(f"{DSPACE}{kind}", direction, peer, signed or {}, reason, by_rule, event)


# --- consumer: request ---


def fetch_catalog(space: Space, *, peer: str) -> dict[str, Any]:
    """The peer's DCAT catalog, asked for with a signed ``CatalogRequestMessage``."""
    with space.work() as w:
        p = _require_peer(w.tx, peer)
    return _send(space, p, "/catalog/request", message("CatalogRequestMessage", filter=[]))


def _offer_of(catalog: dict[str, Any], dataset: str) -> str:
    for node in catalog.get("dcat:dataset") or []:
        if isinstance(node, dict) and node.get("@id") == dataset_iri(dataset):
            for offer in node.get("odrl:hasPolicy") or []:
                if isinstance(offer, dict) and isinstance(offer.get("@id"), str):
                    return str(offer["@id"])
    raise NotFound(f"the peer's catalog offers no dataset {dataset!r}", dataset=dataset)


def request_contract(
    space: Space,
    *,
    actor: str,
    peer: str,
    dataset: str,
    purposes: frozenset[Purpose],
    until: date,
) -> Negotiation:
    """Ask ``peer`` for a contract: ``actor`` may use its ``dataset`` for ``purposes`` until
    ``until``. Reads the peer's catalog for the offer, records the negotiation (REQUESTED) and
    sends the signed ``ContractRequestMessage``; returns the negotiation as it stands after
    the peer answered (FINALIZED with a started transfer when a rule of the peer agreed)."""
    if not purposes:
        raise InvalidInput("name at least one purpose")
    if until < datetime.now(UTC).date():
        raise InvalidInput(f"the expiry {until.isoformat()} is in the past")
    with space.work() as w:
        require_org(w.tx, actor)
        p = _require_peer(w.tx, peer)
    offer_id = _offer_of(fetch_catalog(space, peer=peer), dataset)
    pid = _pid()
    with space.work() as w:
        n = Negotiation(
            pid=pid,
            side=Side.CONSUMER,
            peer=peer,
            dataset=dataset,
            organization=actor,
            purposes=purposes,
            until=until,
            state=NegotiationState.REQUESTED,
            offer_id=offer_id,
            created_at=w.now,
            updated_at=w.now,
        )
        w.tx.add_negotiation(n)
        w.emit(_event(ContractRequested, n, actor, _note("ContractRequestMessage", "sent", peer)))
    body = message(
        "ContractRequestMessage",
        consumerPid=pid,
        offer=offer_request(
            offer_id=offer_id,
            dataset=dataset,
            organization=actor,
            purposes=purposes,
            until=until,
        ),
        callbackAddress=dsp_catalog.own_endpoint(space, ""),
    )
    answer = _send(space, p, "/negotiations/request", body)
    provider_pid = answer.get(f"{DSPACE}providerPid")
    with space.work() as w:
        current = w.tx.get_negotiation(pid, lock=True)
        assert current is not None
        if current.peer_pid is None and isinstance(provider_pid, str):
            current = replace(current, peer_pid=provider_pid)
            w.tx.update_negotiation(current)
    return current


def _event(event: type[ContractEvent], n: Negotiation, actor: str, note: _Note) -> ContractEvent:
    """``event`` of ``n``: its state after the step plus the message ``note``."""
    return event(
        actor=actor,
        object_id=n.pid,
        dataset=n.dataset,
        organization=n.organization,
        purposes=sorted(p.value for p in n.purposes),
        until=n.until.isoformat(),
        state=n.state.value,
        peer_pid=n.peer_pid,
        offer_id=n.offer_id,
        agreement_id=n.agreement_id,
        transfer_state=n.transfer_state.value if n.transfer_state else None,
        message=note.message,
        direction=note.direction,
        peer=note.peer,
        signed=note.signed,
        reason=note.reason,
        by_rule=note.by_rule,
        event=note.event,
    )


def _record(
    w: Work, n: Negotiation, event: type[ContractEvent], actor: str, note: _Note
) -> Negotiation:
    """Store ``n`` and put ``event`` (its state plus the message ``note``) on the ledger."""
    w.tx.update_negotiation(n)
    w.emit(_event(event, n, actor, note))
    return n


# --- provider: agree ---


def agree(space: Space, *, actor: str, pid: str) -> Negotiation:
    """Agree a requested contract (the dataset's owner) and walk the protocol to the end."""
    with space.work() as w:
        n = _require_negotiation(w.tx, pid, lock=True)
        if n.side is not Side.PROVIDER:
            raise InvalidTransition("only the provider agrees a contract", negotiation=pid)
        ds = require_dataset(w.tx, n.dataset)
        if actor != ds.owner:
            raise RoleRequired(f"only the owner ({ds.owner}) agrees contracts on {n.dataset}")
        n = _agree_in(w, n, actor=actor, owner=ds.owner, by_rule=False)
        peer = _require_peer(w.tx, n.peer)
    return _send_agreement(space, peer, n)


def _agree_in(w: Work, n: Negotiation, *, actor: str, owner: str, by_rule: bool) -> Negotiation:
    agreement_id = _pid()
    consumer_org = n.organization[len(n.peer) + 1 :]
    doc = agreement_document(
        n,
        agreement_id=agreement_id,
        assigner=org_iri(owner),
        assignee=org_iri(consumer_org),
        timestamp=w.now,
    )
    n = n.moved(NegotiationState.AGREED, w.now, agreement_id=agreement_id, agreement=doc)
    note = _note("ContractAgreementMessage", "sent", n.peer, by_rule=by_rule)
    return _record(w, n, ContractAgreed, actor, note)


def _send_agreement(space: Space, peer: Peer, n: Negotiation) -> Negotiation:
    body = message(
        "ContractAgreementMessage",
        providerPid=n.pid,
        consumerPid=n.peer_pid,
        agreement=n.agreement,
        callbackAddress=dsp_catalog.own_endpoint(space, ""),
    )
    _send(space, peer, f"/negotiations/{n.peer_pid}/agreement", body)
    return show(space, n.pid)


# --- either side: terminate / revoke ---


def terminate(space: Space, *, actor: str, pid: str, reason: str = "") -> Negotiation:
    """Refuse or withdraw a negotiation, or revoke a finalized agreement.

    The provider's dataset owner or the consumer's organization may; before FINALIZED the
    negotiation becomes TERMINATED, after it the transfer is TERMINATED and (at the
    provider) the agreement's grant leaves the usage policy. The peer is told by a signed
    termination message.
    """
    with space.work() as w:
        n = _require_negotiation(w.tx, pid, lock=True)
        allowed = (
            require_dataset(w.tx, n.dataset).owner if n.side is Side.PROVIDER else n.organization
        )
        if actor != allowed:
            raise RoleRequired(f"only {allowed} may terminate {pid}", negotiation=pid)
        reason = reason.strip()[:500] or "terminated"
        peer = _require_peer(w.tx, n.peer)
        if n.state is NegotiationState.FINALIZED:
            n = _revoke_in(w, n, actor=actor, reason=reason, direction="sent")
            path = f"/transfers/{n.transfer_pid}/termination" if n.transfer_pid else None
            body = message(
                "TransferTerminationMessage",
                consumerPid=n.transfer_pid,
                providerPid=n.transfer_pid,
                code="revoked",
                reason=[reason],
            )
        else:
            n = n.moved(NegotiationState.TERMINATED, w.now, reason=reason)
            note = _note("ContractNegotiationTerminationMessage", "sent", n.peer, reason=reason)
            _record(w, n, ContractTerminated, actor, note)
            path = f"/negotiations/{n.peer_pid}/termination" if n.peer_pid else None
            body = message(
                "ContractNegotiationTerminationMessage",
                consumerPid=n.peer_pid if n.side is Side.PROVIDER else n.pid,
                providerPid=n.pid if n.side is Side.PROVIDER else n.peer_pid,
                code="terminated",
                reason=[reason],
            )
    if path is not None:
        _send(space, peer, path, body)
    return n


def _revoke_in(w: Work, n: Negotiation, *, actor: str, reason: str, direction: str) -> Negotiation:
    n = n.transferred(TransferState.TERMINATED, w.now, reason=reason, data_address={})
    if n.side is Side.PROVIDER:
        _withdraw_grant(w, n)
        _revoke_tokens(w, n)
    note = _note("TransferTerminationMessage", direction, n.peer, reason=reason)
    return _record(w, n, TransferTerminated, actor, note)


def _revoke_tokens(w: Work, n: Negotiation) -> None:
    """Revoke the API tokens the agreement issued to the consumer's organization."""
    owner = require_dataset(w.tx, n.dataset).owner
    for token in w.tx.list_api_tokens(organization=n.organization):
        if token.label == _token_label(n) and token.active:
            w.tx.revoke_api_token(token.id, revoked_at=w.now)
            w.emit(ApiTokenRevoked(actor=owner, object_id=token.id, organization=n.organization))


def _withdraw_grant(w: Work, n: Negotiation) -> None:
    policy = w.tx.get_policy(n.dataset)
    if policy is None or n.grant() not in policy.grants:
        return
    write_policy(
        w,
        actor=require_dataset(w.tx, n.dataset).owner,
        dataset=n.dataset,
        grants=[g for g in policy.grants if g != n.grant()],
        allow_auto_drop=policy.allow_auto_drop,
        context={"agreement_id": n.agreement_id or "", "change": "revoked"},
    )


# --- reading ---


def _require_negotiation(tx: Tx, pid: str, *, lock: bool = False) -> Negotiation:
    n = tx.get_negotiation(pid, lock=lock)
    if n is None:
        raise NotFound(f"unknown contract negotiation {pid!r}", negotiation=pid)
    return n


def show(space: Space, pid: str) -> Negotiation:
    """One negotiation (with its agreement and transfer state)."""
    with space.work() as w:
        return _require_negotiation(w.tx, pid)


def list_contracts(
    space: Space,
    *,
    viewer: str | None = None,
    peer: str | None = None,
    dataset: str | None = None,
) -> list[Negotiation]:
    """Negotiations of this space, oldest first.

    With ``viewer`` only those it is party to (its own requests, requests for its datasets)
    unless it is the space operator.
    """
    with space.work() as w:
        items = w.tx.list_negotiations(peer=peer, dataset=dataset)
        if viewer is None or require_org(w.tx, viewer).has_role(Role.OPERATOR):
            return items
        owned = {d.name for d in w.tx.list_datasets(owner=viewer)}
    return [
        n
        for n in items
        if (n.side is Side.CONSUMER and n.organization == viewer)
        or (n.side is Side.PROVIDER and n.dataset in owned)
    ]


# --- receiving ---


def _authenticate(
    space: Space, *, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[Peer, Envelope, dict[str, Any]]:
    env = Envelope.from_headers(headers)
    with space.work() as w:
        peer = w.tx.get_peer_by_key(env.key_id)
    if peer is None:
        raise MessageUnauthenticated(
            f"no peer is registered with key {env.key_id}", key_id=env.key_id[:64]
        )
    signed = signing_input(
        method=method,
        path=path,
        body=body,
        key_id=env.key_id,
        timestamp=env.timestamp,
        nonce=env.nonce,
    )
    if not signing.verify_json(peer.public_pem, signed, env.signature):
        raise MessageUnauthenticated(f"bad signature on a message from {peer.name}")
    check_fresh(env.timestamp, datetime.now(UTC))
    return peer, env, parse_body(body)


def _consume_nonce(w: Work, peer: Peer, env: Envelope) -> None:
    if not w.tx.add_nonce(peer.key_id, env.nonce, seen_at=w.now):
        raise MessageReplayed(f"nonce {env.nonce} from {peer.name} was already used")
    cutoff = datetime.now(UTC) - timedelta(seconds=4 * 300)
    w.tx.prune_nonces(before=cutoff.isoformat(timespec="microseconds"))


def _peer_negotiation(w: Work, peer: Peer, pid: str, side: Side) -> Negotiation:
    n = w.tx.get_negotiation(pid, lock=True)
    if n is None or n.peer != peer.name or n.side is not side:
        raise NotFound(f"no negotiation {pid!r} with {peer.name}", negotiation=pid)
    return n


def receive(
    space: Space, *, method: str, path: str, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """Authenticate and handle one Dataspace Protocol message from a peer.

    ``path`` is the request path (``/dsp/...``). Unsigned, unknown-key or badly signed
    messages are ``RES-181``; stale or replayed ones ``RES-182``; malformed ones ``RES-183``;
    none of them changes anything.
    """
    peer, env, msg = _authenticate(space, method=method, path=path, headers=headers, body=body)
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["dsp"]:
        parts = parts[1:]
    info = {"nonce": env.nonce, "key_id": env.key_id, "body_sha256": body_digest(body)}
    match parts:
        case ["catalog", "request"]:
            message_type(msg, "CatalogRequestMessage")
            with space.work() as w:
                _consume_nonce(w, peer, env)
            return dsp_catalog.export_catalog(space, requester=None)
        case ["negotiations", "request"]:
            return _on_request(space, peer, env, msg, info)
        case ["negotiations", pid, "agreement"]:
            return _on_agreement(space, peer, env, msg, info, pid)
        case ["negotiations", pid, "agreement", "verification"]:
            return _on_verification(space, peer, env, msg, info, pid)
        case ["negotiations", pid, "events"]:
            return _on_event(space, peer, env, msg, info, pid)
        case ["negotiations", pid, "termination"]:
            return _on_termination(space, peer, env, msg, info, pid)
        case ["transfers", "request"]:
            return _on_transfer_request(space, peer, env, msg, info)
        case ["transfers", pid, "termination"]:
            return _on_transfer_termination(space, peer, env, msg, info, pid)
    raise MalformedMessage(f"no Dataspace Protocol endpoint {path}", path=path)


def _ack(n: Negotiation) -> dict[str, Any]:
    consumer, provider = (n.pid, n.peer_pid) if n.side is Side.CONSUMER else (n.peer_pid, n.pid)
    return message(
        "ContractNegotiation",
        consumerPid=consumer,
        providerPid=provider,
        state=f"{DSPACE}{n.state.value}",
    )


def _on_request(
    space: Space, peer: Peer, env: Envelope, msg: dict[str, Any], info: dict[str, Any]
) -> dict[str, Any]:
    message_type(msg, "ContractRequestMessage")
    consumer_pid = field_of(msg, "consumerPid")
    offer = read_offer(msg.get(f"{DSPACE}offer"))
    if offer.until < datetime.now(UTC).date():
        raise MalformedMessage(f"the requested expiry {offer.until} is in the past")
    identity_name = remote_identity(peer.name, offer.organization)
    with space.work() as w:
        _consume_nonce(w, peer, env)
        ds = w.tx.get_dataset(offer.dataset)
        if ds is None or not w.tx.list_versions(ds.name):
            raise NotFound(f"no dataset {offer.dataset!r} is offered", dataset=offer.dataset)
        if ds.kind is DatasetKind.EVALUATION:
            raise SealedData(f"{ds.name} is a sealed evaluation set: it is never offered")
        if not offer.offer_id.startswith(f"urn:resonance:offer:{ds.name}:"):
            raise MalformedMessage(f"offer {offer.offer_id} is not an offer of {ds.name}")
        if w.tx.find_negotiation(peer=peer.name, peer_pid=consumer_pid):
            raise AlreadyExists(f"negotiation {consumer_pid} was already requested")
        n = Negotiation(
            pid=_pid(),
            side=Side.PROVIDER,
            peer=peer.name,
            dataset=ds.name,
            organization=identity_name,
            purposes=offer.purposes,
            until=offer.until,
            state=NegotiationState.REQUESTED,
            offer_id=offer.offer_id,
            created_at=w.now,
            updated_at=w.now,
            peer_pid=consumer_pid,
        )
        w.tx.add_negotiation(n)
        note = _note("ContractRequestMessage", "received", peer.name, signed=info)
        w.emit(_event(ContractRequested, n, f"peer:{peer.name}", note))
        rule = w.tx.get_auto_agree_rule(ds.name, peer.name)
        if rule is not None and rule.admits(n.purposes, n.until, space.today()):
            n = _agree_in(w, n, actor=rule.set_by, owner=ds.owner, by_rule=True)
        else:
            rule = None
    if rule is not None:
        n = _send_agreement(space, peer, n)
    return _ack(n)


def _on_agreement(
    space: Space,
    peer: Peer,
    env: Envelope,
    msg: dict[str, Any],
    info: dict[str, Any],
    pid: str,
) -> dict[str, Any]:
    message_type(msg, "ContractAgreementMessage")
    provider_pid = field_of(msg, "providerPid")
    agreement = msg.get(f"{DSPACE}agreement")
    if not isinstance(agreement, dict) or not isinstance(agreement.get("@id"), str):
        raise MalformedMessage("dspace:agreement must be an odrl:Agreement with an @id")
    with space.work() as w:
        _consume_nonce(w, peer, env)
        n = _peer_negotiation(w, peer, pid, Side.CONSUMER)
        target = agreement.get("odrl:target")
        if not isinstance(target, dict) or target.get("@id") != dataset_iri(n.dataset):
            raise MalformedMessage("the agreement's target is not the requested dataset")
        if _agreed_terms(agreement) != (n.purposes, n.until):
            raise MalformedMessage("the agreement's purposes or expiry differ from the request")
        n = n.moved(
            NegotiationState.AGREED,
            w.now,
            peer_pid=provider_pid,
            agreement_id=agreement["@id"],
            agreement=agreement,
        )
        note = _note("ContractAgreementMessage", "received", peer.name, signed=info)
        _record(w, n, ContractAgreed, f"peer:{peer.name}", note)
        n = n.moved(NegotiationState.VERIFIED, w.now)
        note = _note("ContractAgreementVerificationMessage", "sent", peer.name)
        _record(w, n, ContractVerified, n.organization, note)
    body = message(
        "ContractAgreementVerificationMessage", providerPid=provider_pid, consumerPid=pid
    )
    _send(space, peer, f"/negotiations/{provider_pid}/agreement/verification", body)
    n = show(space, pid)
    if n.state is NegotiationState.FINALIZED:
        n = _request_transfer(space, peer, n)
    return _ack(n)


def _agreed_terms(agreement: dict[str, Any]) -> tuple[frozenset[Purpose], date | None]:
    """The purposes and expiry an ``odrl:Agreement`` grants (as this module writes them)."""
    purposes: set[Purpose] = set()
    days: set[str] = set()
    rules = agreement.get("odrl:permission")
    for rule in rules if isinstance(rules, list) else []:
        action = rule.get("odrl:action", {}) if isinstance(rule, dict) else {}
        iri = action.get("@id") if isinstance(action, dict) else None
        purpose = next((p for p, a in PURPOSE_ACTIONS.items() if a == iri), None)
        if purpose is None:
            raise MalformedMessage(f"the agreement grants an unknown action {iri!r}")
        purposes.add(purpose)
        for c in rule.get("odrl:constraint") or []:
            right = c.get("odrl:rightOperand") if isinstance(c, dict) else None
            days.add(str(right.get("@value")) if isinstance(right, dict) else "")
    if len(days) != 1:
        raise MalformedMessage("the agreement must carry one expiry date")
    try:
        until = date.fromisoformat(days.pop())
    except ValueError:
        raise MalformedMessage("the agreement's expiry is not a date") from None
    return frozenset(purposes), until


def _request_transfer(space: Space, peer: Peer, n: Negotiation) -> Negotiation:
    transfer_pid = _pid()
    body = message(
        "TransferRequestMessage",
        consumerPid=transfer_pid,
        agreementId=n.agreement_id,
        callbackAddress=dsp_catalog.own_endpoint(space, ""),
        **{"dct:format": COMPUTE_TO_DATA},
    )
    answer = _send(space, peer, "/transfers/request", body)
    message_type(answer, "TransferStartMessage")
    address = answer.get(f"{DSPACE}dataAddress")
    with space.work() as w:
        n = _require_negotiation(w.tx, n.pid, lock=True)
        n = n.transferred(
            TransferState.STARTED,
            w.now,
            transfer_pid=transfer_pid,
            data_address=address if isinstance(address, dict) else {},
        )
        note = _note("TransferStartMessage", "received", peer.name)
        _record(w, n, TransferStarted, f"peer:{peer.name}", note)
    return n


def _on_verification(
    space: Space,
    peer: Peer,
    env: Envelope,
    msg: dict[str, Any],
    info: dict[str, Any],
    pid: str,
) -> dict[str, Any]:
    message_type(msg, "ContractAgreementVerificationMessage")
    with space.work() as w:
        _consume_nonce(w, peer, env)
        n = _peer_negotiation(w, peer, pid, Side.PROVIDER)
        n = n.moved(NegotiationState.VERIFIED, w.now)
        note = _note("ContractAgreementVerificationMessage", "received", peer.name, signed=info)
        _record(w, n, ContractVerified, f"peer:{peer.name}", note)
        n = n.moved(NegotiationState.FINALIZED, w.now)
        note = _note("ContractNegotiationEventMessage", "sent", peer.name, event="FINALIZED")
        owner = require_dataset(w.tx, n.dataset).owner
        _record(w, n, ContractFinalized, owner, note)
    body = message(
        "ContractNegotiationEventMessage",
        providerPid=pid,
        consumerPid=n.peer_pid,
        eventType=f"{DSPACE}FINALIZED",
    )
    _send(space, peer, f"/negotiations/{n.peer_pid}/events", body)
    return _ack(n)


def _on_event(
    space: Space,
    peer: Peer,
    env: Envelope,
    msg: dict[str, Any],
    info: dict[str, Any],
    pid: str,
) -> dict[str, Any]:
    message_type(msg, "ContractNegotiationEventMessage")
    if field_of(msg, "eventType") != f"{DSPACE}FINALIZED":
        raise MalformedMessage("only the FINALIZED event is sent to a consumer")
    with space.work() as w:
        _consume_nonce(w, peer, env)
        n = _peer_negotiation(w, peer, pid, Side.CONSUMER)
        n = n.moved(NegotiationState.FINALIZED, w.now)
        note = _note("ContractNegotiationEventMessage", "received", peer.name, signed=info)
        _record(w, n, ContractFinalized, f"peer:{peer.name}", note)
    return _ack(n)


def _peer_reason(msg: dict[str, Any]) -> str:
    """A termination message's ``dspace:reason`` list as one line (at most 500 characters)."""
    reasons = msg.get(f"{DSPACE}reason")
    return "; ".join(str(r) for r in reasons)[:500] if isinstance(reasons, list) else ""


def _on_termination(
    space: Space,
    peer: Peer,
    env: Envelope,
    msg: dict[str, Any],
    info: dict[str, Any],
    pid: str,
) -> dict[str, Any]:
    message_type(msg, "ContractNegotiationTerminationMessage")
    reason = _peer_reason(msg)
    with space.work() as w:
        _consume_nonce(w, peer, env)
        n = w.tx.get_negotiation(pid, lock=True)
        if n is None or n.peer != peer.name:
            raise NotFound(f"no negotiation {pid!r} with {peer.name}", negotiation=pid)
        n = n.moved(NegotiationState.TERMINATED, w.now, reason=reason or "terminated by peer")
        note = _note("ContractNegotiationTerminationMessage", "received", peer.name, signed=info)
        _record(w, n, ContractTerminated, f"peer:{peer.name}", note)
    return _ack(n)


def _register_remote(w: Work, n: Negotiation, peer: Peer) -> None:
    if w.tx.get_organization(n.organization) is not None:
        return
    org = Organization(
        n.organization,
        frozenset({Role.MODEL_BUILDER}),
        f"peer:{peer.name}",
        display_name=f"{n.organization} (of peer space {peer.name})",
    )
    w.tx.add_organization(org, created_at=w.now)
    w.emit(
        OrganizationRegistered(
            actor=f"peer:{peer.name}",
            object_id=org.name,
            roles=[Role.MODEL_BUILDER.value],
            region=org.region,
            central_enterprise=False,
        )
    )


def _on_transfer_request(
    space: Space, peer: Peer, env: Envelope, msg: dict[str, Any], info: dict[str, Any]
) -> dict[str, Any]:
    message_type(msg, "TransferRequestMessage")
    consumer_pid = field_of(msg, "consumerPid")
    agreement_id = field_of(msg, "agreementId")
    if msg.get("dct:format") != COMPUTE_TO_DATA:
        raise MalformedMessage(f"only the {COMPUTE_TO_DATA} format is offered")
    with space.work() as w:
        _consume_nonce(w, peer, env)
        match = [
            n
            for n in w.tx.list_negotiations(peer=peer.name)
            if n.agreement_id == agreement_id and n.side is Side.PROVIDER
        ]
        if not match:
            raise NotFound(f"no agreement {agreement_id!r} with {peer.name}")
        n = _require_negotiation(w.tx, match[0].pid, lock=True)
        if n.expired(space.today()):
            raise PolicyDenied(f"agreement {agreement_id} expired on {n.until.isoformat()}")
        n = n.transferred(TransferState.STARTED, w.now, transfer_pid=consumer_pid)
        _register_remote(w, n, peer)
        ds = require_dataset(w.tx, n.dataset)
        policy = w.tx.get_policy(n.dataset)
        grants = [*(policy.grants if policy else ()), n.grant()]
        write_policy(
            w,
            actor=ds.owner,
            dataset=n.dataset,
            grants=grants,
            allow_auto_drop=policy.allow_auto_drop if policy else False,
            context={"agreement_id": agreement_id, "change": "agreed"},
        )
        note = _note("TransferRequestMessage", "received", peer.name, signed=info)
        _record(w, n, TransferStarted, f"peer:{peer.name}", note)
        plain, token = new_token(n.organization, label=_token_label(n), created_at=w.now)
        w.tx.add_api_token(token)
        w.emit(
            ApiTokenCreated(
                actor=ds.owner,
                object_id=token.id,
                organization=n.organization,
                label=token.label,
            )
        )
    endpoint = dsp_catalog.own_endpoint(space, "")
    address = {
        "@type": "dspace:DataAddress",
        "dspace:endpointType": "https://w3id.org/resonance/api",
        "dspace:endpoint": endpoint.removesuffix("/dsp"),
        "dspace:endpointProperties": [
            {"@type": "dspace:EndpointProperty", "dspace:name": "authorization",
             "dspace:value": f"Bearer {plain}"},
            {"@type": "dspace:EndpointProperty", "dspace:name": "organization",
             "dspace:value": n.organization},
        ],
    }  # fmt: skip
    return message(
        "TransferStartMessage",
        providerPid=consumer_pid,
        consumerPid=consumer_pid,
        dataAddress=address,
    )


def _token_label(n: Negotiation) -> str:
    return f"agreement {n.agreement_id}"


def _on_transfer_termination(
    space: Space,
    peer: Peer,
    env: Envelope,
    msg: dict[str, Any],
    info: dict[str, Any],
    pid: str,
) -> dict[str, Any]:
    message_type(msg, "TransferTerminationMessage")
    reason = _peer_reason(msg)
    with space.work() as w:
        _consume_nonce(w, peer, env)
        n = w.tx.find_negotiation(peer=peer.name, transfer_pid=pid)
        if n is None:
            raise NotFound(f"no transfer {pid!r} with {peer.name}", transfer=pid)
        n = _revoke_in(
            w,
            n,
            actor=f"peer:{peer.name}",
            reason=reason or "terminated by peer",
            direction="received",
        )
    return message(
        "TransferProcess",
        consumerPid=pid,
        providerPid=pid,
        state=f"{DSPACE}{TransferState.TERMINATED.value}",
    )
