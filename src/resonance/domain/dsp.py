"""Eclipse Dataspace Protocol: negotiation and transfer state machines, agreements, peers,
and the signed envelope of messages between spaces (pure: no I/O).

Contract negotiation (DSP 2024/1)::

    REQUESTED -> OFFERED -> ACCEPTED -> AGREED -> VERIFIED -> FINALIZED
    REQUESTED ----------------------> AGREED
    any non-final state -> TERMINATED

Transfer process (compute-to-data: "started" means the agreed purposes are granted in the
provider's usage policy to the consumer's organization, until the agreement's expiry)::

    REQUESTED -> STARTED -> COMPLETED | TERMINATED;  REQUESTED -> TERMINATED

Every message is signed by the sending space's Ed25519 key over the canonical JSON of
:func:`signing_input` (method, path, body hash, key id, timestamp, nonce); the receiver
checks the key is a registered peer's, the timestamp is within :data:`MAX_SKEW_S` of its
clock and the nonce was never seen before.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from resonance.domain.errors import (
    InvalidInput,
    InvalidTransition,
    MalformedMessage,
    MessageReplayed,
    MessageUnauthenticated,
)
from resonance.domain.odrl import CONTEXT, PURPOSE_ACTIONS, dataset_iri, org_iri
from resonance.domain.orgs import check_slug
from resonance.domain.policies import Grant, Purpose

MAX_SKEW_S = 300
DSPACE = "dspace:"
HEADER_KEY_ID = "X-Resonance-Key-Id"
HEADER_TIMESTAMP = "X-Resonance-Timestamp"
HEADER_NONCE = "X-Resonance-Nonce"
HEADER_SIGNATURE = "X-Resonance-Signature"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class NegotiationState(StrEnum):
    """States of a contract negotiation."""

    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"


class TransferState(StrEnum):
    """States of a transfer process."""

    REQUESTED = "REQUESTED"
    STARTED = "STARTED"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"


class Side(StrEnum):
    """Which end of a negotiation this space is."""

    CONSUMER = "consumer"
    PROVIDER = "provider"


_N = NegotiationState
NEGOTIATION_TRANSITIONS: dict[NegotiationState, frozenset[NegotiationState]] = {
    _N.REQUESTED: frozenset({_N.OFFERED, _N.AGREED, _N.TERMINATED}),
    _N.OFFERED: frozenset({_N.REQUESTED, _N.ACCEPTED, _N.TERMINATED}),
    _N.ACCEPTED: frozenset({_N.AGREED, _N.TERMINATED}),
    _N.AGREED: frozenset({_N.VERIFIED, _N.TERMINATED}),
    _N.VERIFIED: frozenset({_N.FINALIZED, _N.TERMINATED}),
    _N.FINALIZED: frozenset(),
    _N.TERMINATED: frozenset(),
}
_T = TransferState
TRANSFER_TRANSITIONS: dict[TransferState, frozenset[TransferState]] = {
    _T.REQUESTED: frozenset({_T.STARTED, _T.TERMINATED}),
    _T.STARTED: frozenset({_T.COMPLETED, _T.TERMINATED}),
    _T.COMPLETED: frozenset(),
    _T.TERMINATED: frozenset(),
}


def check_negotiation_step(current: NegotiationState, new: NegotiationState, pid: str) -> None:
    """Raise ``InvalidTransition`` (RES-184) unless ``current -> new`` is allowed."""
    if new not in NEGOTIATION_TRANSITIONS[current]:
        raise InvalidTransition(
            f"negotiation {pid} is {current.value}; it cannot become {new.value}",
            negotiation=pid,
            state=current.value,
            to=new.value,
        )


def check_transfer_step(current: TransferState, new: TransferState, pid: str) -> None:
    """Raise ``InvalidTransition`` (RES-184) unless ``current -> new`` is allowed."""
    if new not in TRANSFER_TRANSITIONS[current]:
        raise InvalidTransition(
            f"transfer of {pid} is {current.value}; it cannot become {new.value}",
            negotiation=pid,
            state=current.value,
            to=new.value,
        )


@dataclass(frozen=True)
class Peer:
    """Another space this space talks to: its DSP endpoint and public key."""

    name: str
    url: str
    public_pem: str
    key_id: str
    added_by: str
    added_at: str

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "name": self.name,
            "url": self.url,
            "key_id": self.key_id,
            "public_pem": self.public_pem,
            "added_by": self.added_by,
            "added_at": self.added_at,
        }


def check_peer_url(url: str) -> str:
    """Return the DSP endpoint URL without a trailing slash, or raise ``InvalidInput``."""
    if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", url):
        raise InvalidInput(f"bad peer URL {url!r}; use http(s)://HOST[:PORT]/dsp", url=url)
    return url.rstrip("/")


def remote_identity(peer: str, organization: str) -> str:
    """The name a provider registers a peer's organization under: ``PEER.ORG``."""
    return check_slug(f"{peer}.{organization}", what="remote organization")


@dataclass(frozen=True)
class Negotiation:
    """One contract negotiation as one side records it.

    ``organization`` is the consumer's organization: its local name on the consumer side,
    its remote identity (``PEER.ORG``) on the provider side.
    """

    pid: str
    side: Side
    peer: str
    dataset: str
    organization: str
    purposes: frozenset[Purpose]
    until: date
    state: NegotiationState
    offer_id: str
    created_at: str
    updated_at: str
    peer_pid: str | None = None
    reason: str = ""
    agreement_id: str | None = None
    agreement: dict[str, Any] = field(default_factory=dict)
    transfer_state: TransferState | None = None
    transfer_pid: str | None = None
    data_address: dict[str, Any] = field(default_factory=dict)

    def moved(self, state: NegotiationState, now: str, **changes: Any) -> Negotiation:
        """This negotiation in ``state`` (checked against the state machine)."""
        check_negotiation_step(self.state, state, self.pid)
        return replace(self, state=state, updated_at=now, **changes)

    def transferred(self, state: TransferState, now: str, **changes: Any) -> Negotiation:
        """This negotiation with its transfer process in ``state`` (checked)."""
        if self.state is not NegotiationState.FINALIZED:
            raise InvalidTransition(
                f"negotiation {self.pid} is {self.state.value}: only a finalized agreement "
                "has a transfer process",
                negotiation=self.pid,
                state=self.state.value,
            )
        if self.transfer_state is not None:
            check_transfer_step(self.transfer_state, state, self.pid)
        elif state not in (TransferState.REQUESTED, TransferState.STARTED):
            check_transfer_step(TransferState.REQUESTED, state, self.pid)
        return replace(self, transfer_state=state, updated_at=now, **changes)

    def grant(self) -> Grant:
        """The grant the agreement puts in the provider's usage policy."""
        return Grant(self.organization, self.purposes, self.until)

    def expired(self, today: date) -> bool:
        """True when the agreement's expiry has passed."""
        return today > self.until

    def to_dict(self, *, secrets: bool = False) -> dict[str, Any]:
        """Serialize to plain JSON types; the data address (it holds the bearer token of the
        consumer's organization at the provider) only with ``secrets``."""
        out = {
            "pid": self.pid,
            "side": self.side.value,
            "peer": self.peer,
            "peer_pid": self.peer_pid,
            "dataset": self.dataset,
            "organization": self.organization,
            "purposes": sorted(p.value for p in self.purposes),
            "until": self.until.isoformat(),
            "state": self.state.value,
            "offer_id": self.offer_id,
            "reason": self.reason,
            "agreement_id": self.agreement_id,
            "agreement": self.agreement,
            "transfer_state": self.transfer_state.value if self.transfer_state else None,
            "transfer_pid": self.transfer_pid,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if secrets:
            out["data_address"] = self.data_address
        return out


@dataclass(frozen=True)
class AutoAgreeRule:
    """A dataset owner's standing rule: agree requests from ``peer`` within these bounds."""

    dataset: str
    peer: str
    purposes: frozenset[Purpose]
    max_days: int
    set_by: str
    set_at: str

    def admits(self, purposes: frozenset[Purpose], until: date, today: date) -> bool:
        """True when a request for ``purposes`` until ``until`` is within the rule."""
        return purposes <= self.purposes and until <= today + timedelta(days=self.max_days)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "dataset": self.dataset,
            "peer": self.peer,
            "purposes": sorted(p.value for p in self.purposes),
            "max_days": self.max_days,
            "set_by": self.set_by,
            "set_at": self.set_at,
        }


# --- the signed envelope ---


def body_digest(body: bytes) -> str:
    """SHA-256 of a message body (hex)."""
    return hashlib.sha256(body).hexdigest()


def signing_input(
    *, method: str, path: str, body: bytes, key_id: str, timestamp: str, nonce: str
) -> dict[str, str]:
    """What a space signs for one request (its canonical JSON is the signed bytes)."""
    return {
        "method": method.upper(),
        "path": path,
        "body": body_digest(body),
        "keyId": key_id,
        "timestamp": timestamp,
        "nonce": nonce,
    }


@dataclass(frozen=True)
class Envelope:
    """The authentication headers of one message."""

    key_id: str
    timestamp: str
    nonce: str
    signature: str

    @staticmethod
    def from_headers(headers: dict[str, str]) -> Envelope:
        """Read the headers (case-insensitive); missing ones are ``MessageUnauthenticated``."""
        lower = {k.lower(): v for k, v in headers.items()}
        names = (HEADER_KEY_ID, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)
        missing = [n for n in names if not lower.get(n.lower())]
        if missing:
            raise MessageUnauthenticated(
                "the message is not signed: missing " + ", ".join(missing), missing=missing
            )
        env = Envelope(*(lower[n.lower()] for n in names))
        if not _NONCE.fullmatch(env.nonce):
            raise MessageUnauthenticated("the nonce must be 16-64 URL-safe characters")
        return env

    def headers(self) -> dict[str, str]:
        """As HTTP headers."""
        return {
            HEADER_KEY_ID: self.key_id,
            HEADER_TIMESTAMP: self.timestamp,
            HEADER_NONCE: self.nonce,
            HEADER_SIGNATURE: self.signature,
        }


def check_fresh(timestamp: str, now: datetime, *, max_skew_s: int = MAX_SKEW_S) -> None:
    """Raise ``MessageReplayed`` when ``timestamp`` is unreadable or too far from ``now``."""
    try:
        when = datetime.fromisoformat(timestamp)
    except ValueError:
        raise MessageReplayed(f"bad message timestamp {timestamp!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    skew = abs((now - when).total_seconds())
    if skew > max_skew_s:
        raise MessageReplayed(
            f"the message timestamp is {skew:.0f} s from this space's clock "
            f"(at most {max_skew_s} s)",
            timestamp=timestamp,
        )


# --- messages (compact JSON-LD with the space's context) ---


def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise MalformedMessage(f"{key} must be a non-empty string", field=key)
    return value


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a message body, or ``MalformedMessage``."""
    import json

    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedMessage("the message body is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedMessage("the message body must be a JSON object")
    return value


def message_type(body: dict[str, Any], *expected: str) -> str:
    """The message's ``@type`` (without prefix), which must be one of ``expected``."""
    t = body.get("@type")
    name = t[len(DSPACE) :] if isinstance(t, str) and t.startswith(DSPACE) else None
    if name not in expected:
        raise MalformedMessage(f"expected a {' or '.join(expected)}, got @type {t!r}", type=str(t))
    return name


def message(kind: str, **fields: Any) -> dict[str, Any]:
    """A DSP message body of type ``dspace:KIND`` (fields become ``dspace:`` properties)."""
    body: dict[str, Any] = {"@context": CONTEXT, "@type": f"{DSPACE}{kind}"}
    for key, value in fields.items():
        body[key if ":" in key else f"{DSPACE}{key}"] = value
    return body


def field_of(body: dict[str, Any], name: str) -> str:
    """A required ``dspace:NAME`` string field."""
    return _str(body, f"{DSPACE}{name}")


def offer_request(
    *, offer_id: str, dataset: str, organization: str, purposes: frozenset[Purpose], until: date
) -> dict[str, Any]:
    """The ``odrl:Offer`` a consumer sends in a contract request."""
    return {
        "@id": offer_id,
        "@type": "odrl:Offer",
        "odrl:target": {"@id": dataset_iri(dataset)},
        "odrl:permission": [
            {
                "odrl:action": {"@id": PURPOSE_ACTIONS[p]},
                "odrl:assignee": {"@id": org_iri(organization)},
                "odrl:constraint": [
                    {
                        "odrl:leftOperand": {"@id": "odrl:dateTime"},
                        "odrl:operator": {"@id": "odrl:lteq"},
                        "odrl:rightOperand": {"@value": until.isoformat(), "@type": "xsd:date"},
                    }
                ],
            }
            for p in sorted(purposes, key=lambda p: p.value)
        ],
    }


@dataclass(frozen=True)
class RequestedOffer:
    """What a contract request asks for."""

    offer_id: str
    dataset: str
    organization: str
    purposes: frozenset[Purpose]
    until: date


def read_offer(offer: Any) -> RequestedOffer:
    """Parse the offer of a contract request (one dataset, one organization, one expiry)."""
    from resonance.domain.errors import OdrlUnsupported
    from resonance.domain.odrl import policy_from_odrl

    if not isinstance(offer, dict):
        raise MalformedMessage("dspace:offer must be an odrl:Offer object")
    oid = _str(offer, "@id")
    target = offer.get("odrl:target")
    tid = target.get("@id") if isinstance(target, dict) else None
    prefix = dataset_iri("")
    if not isinstance(tid, str) or not tid.startswith(prefix) or tid == prefix:
        raise MalformedMessage("the offer's odrl:target must name a dataset", target=str(tid))
    dataset = tid[len(prefix) :]
    try:
        terms = policy_from_odrl({"@context": CONTEXT, **offer}, dataset=dataset)
    except (OdrlUnsupported, InvalidInput) as exc:
        raise MalformedMessage(f"the offer does not map: {exc.message}", **exc.details) from None
    if len(terms.grants) != 1 or terms.grants[0].until is None:
        raise MalformedMessage(
            "a contract request names one organization, its purposes and one expiry date"
        )
    g = terms.grants[0]
    assert g.until is not None
    return RequestedOffer(oid, dataset, g.organization, g.purposes, g.until)


def agreement_document(
    n: Negotiation, *, agreement_id: str, assigner: str, assignee: str, timestamp: str
) -> dict[str, Any]:
    """The ``odrl:Agreement`` of a negotiation (provider's view: ``assignee`` is remote)."""
    return {
        "@id": agreement_id,
        "@type": "odrl:Agreement",
        "odrl:target": {"@id": dataset_iri(n.dataset)},
        "odrl:assigner": {"@id": assigner},
        "odrl:assignee": {"@id": assignee},
        "dspace:timestamp": timestamp,
        "odrl:permission": [
            {
                "odrl:action": {"@id": PURPOSE_ACTIONS[p]},
                "odrl:assignee": {"@id": assignee},
                "odrl:constraint": [
                    {
                        "odrl:leftOperand": {"@id": "odrl:dateTime"},
                        "odrl:operator": {"@id": "odrl:lteq"},
                        "odrl:rightOperand": {
                            "@value": n.until.isoformat(),
                            "@type": "xsd:date",
                        },
                    }
                ],
            }
            for p in sorted(n.purposes, key=lambda p: p.value)
        ],
    }
