"""Dataspace Protocol state machines, the signed envelope and contract-request offers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from resonance.domain import signing
from resonance.domain.dsp import (
    NEGOTIATION_TRANSITIONS,
    AutoAgreeRule,
    Envelope,
    Negotiation,
    NegotiationState,
    Side,
    TransferState,
    check_fresh,
    check_peer_url,
    message,
    message_type,
    offer_request,
    parse_body,
    read_offer,
    remote_identity,
    signing_input,
)
from resonance.domain.errors import (
    InvalidInput,
    InvalidTransition,
    MalformedMessage,
    MessageReplayed,
    MessageUnauthenticated,
)
from resonance.domain.policies import Grant, Purpose

N = NegotiationState
NOW = "2026-12-01T00:00:00+00:00"
NEG = Negotiation(
    pid="urn:uuid:1",
    side=Side.PROVIDER,
    peer="space-a",
    dataset="steel-b",
    organization="space-a.lab",
    purposes=frozenset({Purpose.EVALUATE}),
    until=date(2027, 1, 31),
    state=N.REQUESTED,
    offer_id="urn:resonance:offer:steel-b:v1",
    created_at=NOW,
    updated_at=NOW,
)


def test_negotiation_walk_and_refused_steps() -> None:
    n = NEG.moved(N.AGREED, NOW).moved(N.VERIFIED, NOW).moved(N.FINALIZED, NOW)
    assert n.state is N.FINALIZED
    for final in (N.FINALIZED, N.TERMINATED):
        assert NEGOTIATION_TRANSITIONS[final] == frozenset()
    with pytest.raises(InvalidTransition) as err:
        NEG.moved(N.FINALIZED, NOW)  # skipping agreement and verification
    assert err.value.code == "RES-184"
    with pytest.raises(InvalidTransition):
        n.moved(N.TERMINATED, NOW)  # a finalized agreement is revoked via its transfer
    with pytest.raises(InvalidTransition):
        NEG.moved(N.TERMINATED, NOW).moved(N.AGREED, NOW)


def test_transfer_only_after_finalized_and_once_terminated_stays() -> None:
    with pytest.raises(InvalidTransition):
        NEG.transferred(TransferState.STARTED, NOW)
    fin = replace(NEG, state=N.FINALIZED)
    started = fin.transferred(TransferState.STARTED, NOW, transfer_pid="urn:uuid:t")
    ended = started.transferred(TransferState.TERMINATED, NOW)
    with pytest.raises(InvalidTransition):
        ended.transferred(TransferState.STARTED, NOW)
    assert fin.transferred(TransferState.TERMINATED, NOW).transfer_state is TransferState.TERMINATED
    assert started.grant() == Grant("space-a.lab", frozenset({Purpose.EVALUATE}), date(2027, 1, 31))
    assert not started.expired(date(2027, 1, 31)) and started.expired(date(2027, 2, 1))


def test_auto_agree_rule_bounds() -> None:
    rule = AutoAgreeRule("steel-b", "space-a", frozenset({Purpose.EVALUATE}), 30, "plant-a", NOW)
    today = date(2026, 12, 1)
    assert rule.admits(frozenset({Purpose.EVALUATE}), today + timedelta(30), today)
    assert not rule.admits(frozenset({Purpose.EVALUATE}), today + timedelta(31), today)
    assert not rule.admits(frozenset({Purpose.DOWNLOAD}), today, today)


def test_envelope_headers_and_signature() -> None:
    key = signing.Ed25519PrivateKey.generate()
    pem = signing.public_key_pem(key)
    signed = signing_input(
        method="post", path="/dsp/x", body=b"{}", key_id="k", timestamp=NOW, nonce="n" * 16
    )
    env = Envelope("k", NOW, "n" * 16, signing.sign_json(key, signed))
    assert Envelope.from_headers({k.lower(): v for k, v in env.headers().items()}) == env
    assert signing.verify_json(pem, signed, env.signature)
    other = signing_input(
        method="POST", path="/dsp/x", body=b"{ }", key_id="k", timestamp=NOW, nonce="n" * 16
    )
    assert not signing.verify_json(pem, other, env.signature)
    with pytest.raises(MessageUnauthenticated) as err:
        Envelope.from_headers({"X-Resonance-Key-Id": "k"})
    assert err.value.code == "RES-181"
    with pytest.raises(MessageUnauthenticated):
        Envelope.from_headers({**env.headers(), "X-Resonance-Nonce": "short"})


def test_freshness_window() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    check_fresh((now - timedelta(seconds=299)).isoformat(), now)
    for bad in ((now - timedelta(seconds=301)).isoformat(), "yesterday"):
        with pytest.raises(MessageReplayed) as err:
            check_fresh(bad, now)
        assert err.value.code == "RES-182"


def test_messages_and_offers() -> None:
    body = message("ContractRequestMessage", consumerPid="urn:uuid:c")
    assert body["@type"] == "dspace:ContractRequestMessage"
    assert body["dspace:consumerPid"] == "urn:uuid:c"
    assert message_type(body, "ContractRequestMessage") == "ContractRequestMessage"
    with pytest.raises(MalformedMessage):
        message_type(body, "TransferRequestMessage")
    for raw in (b"nope", b"[1]"):
        with pytest.raises(MalformedMessage):
            parse_body(raw)
    offer = offer_request(
        offer_id="urn:resonance:offer:steel-b:v1",
        dataset="steel-b",
        organization="lab",
        purposes=frozenset({Purpose.EVALUATE, Purpose.TRAIN_FEDERATED}),
        until=date(2027, 1, 31),
    )
    got = read_offer(offer)
    assert (got.dataset, got.organization, got.until) == ("steel-b", "lab", date(2027, 1, 31))
    assert got.purposes == frozenset({Purpose.EVALUATE, Purpose.TRAIN_FEDERATED})
    no_expiry = {
        **offer,
        "odrl:permission": [
            {k: v for k, v in p.items() if k != "odrl:constraint"} for p in offer["odrl:permission"]
        ],
    }
    with pytest.raises(MalformedMessage):
        read_offer(no_expiry)
    with pytest.raises(MalformedMessage) as err:
        read_offer({**offer, "odrl:duty": [{"odrl:action": {"@id": "odrl:compensate"}}]})
    assert err.value.details["term"] == "odrl:duty"


def test_peer_names_and_urls() -> None:
    assert remote_identity("space-a", "lab") == "space-a.lab"
    with pytest.raises(InvalidInput):
        remote_identity("space-a", "x" * 60)
    assert check_peer_url("http://127.0.0.1:8000/dsp/") == "http://127.0.0.1:8000/dsp"
    with pytest.raises(InvalidInput):
        check_peer_url("file:///etc/passwd")
