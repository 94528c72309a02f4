"""Contract tests of the interconnection repository on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest

from resonance.domain.datasets import Dataset, DatasetKind
from resonance.domain.dsp import (
    AutoAgreeRule,
    Negotiation,
    NegotiationState,
    Peer,
    Side,
    TransferState,
)
from resonance.domain.errors import Conflict
from resonance.domain.orgs import Organization, Role
from resonance.domain.policies import Purpose
from resonance.storage.sql import SqlStore

NOW = "2026-11-22T00:00:00+00:00"
PEER = Peer("space-a", "http://127.0.0.1:1/dsp", "PEM", "abcd1234abcd1234", "operator", NOW)


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore(db_url)
    s.migrate()
    with s.transaction() as tx:
        tx.add_organization(
            Organization("plant-a", frozenset({Role.DATA_HOLDER}), "Hebei"), created_at=NOW
        )
        tx.add_dataset(Dataset("steel-a", "plant-a", DatasetKind.COMMON, "steel"), created_at=NOW)
        tx.add_peer(PEER)
    yield s
    s.close()


def _neg(pid: str = "urn:uuid:1", **kw: object) -> Negotiation:
    base = Negotiation(
        pid=pid,
        side=Side.PROVIDER,
        peer="space-a",
        dataset="steel-a",
        organization="space-a.lab",
        purposes=frozenset({Purpose.EVALUATE, Purpose.TRAIN_FEDERATED}),
        until=date(2027, 1, 31),
        state=NegotiationState.REQUESTED,
        offer_id="urn:resonance:offer:steel-a:v1",
        created_at=NOW,
        updated_at=NOW,
        peer_pid=f"{pid}-consumer",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_peers(store: SqlStore) -> None:
    with store.transaction() as tx:
        assert tx.get_peer("space-a") == PEER
        assert tx.get_peer_by_key(PEER.key_id) == PEER
        assert tx.get_peer_by_key("nope") is None
        assert tx.list_peers() == [PEER]
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_peer(replace(PEER, name="other"))  # same key under another name


def test_negotiation_round_trip_update_find_list(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_negotiation(_neg())
        tx.add_negotiation(_neg("urn:uuid:2", dataset="other", organization="space-a.x"))
    n = _neg().moved(NegotiationState.AGREED, "2026-11-23T00:00:00+00:00")
    n = replace(n, agreement_id="urn:uuid:agr", agreement={"@id": "urn:uuid:agr"})
    n = n.moved(NegotiationState.VERIFIED, NOW).moved(NegotiationState.FINALIZED, NOW)
    n = n.transferred(TransferState.STARTED, NOW, transfer_pid="urn:uuid:t1")
    with store.transaction() as tx:
        tx.update_negotiation(n)
    with store.transaction() as tx:
        assert tx.get_negotiation("urn:uuid:1", lock=True) == n
        assert tx.get_negotiation("nope") is None
        assert tx.find_negotiation(peer="space-a", peer_pid="urn:uuid:1-consumer") == n
        assert tx.find_negotiation(peer="space-a", transfer_pid="urn:uuid:t1") == n
        assert tx.find_negotiation(peer="other", peer_pid="urn:uuid:1-consumer") is None
        assert [x.pid for x in tx.list_negotiations()] == ["urn:uuid:1", "urn:uuid:2"]
        assert [x.pid for x in tx.list_negotiations(dataset="other")] == ["urn:uuid:2"]
        assert tx.list_negotiations(organization="space-a.lab") == [n]
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_negotiation(_neg())


def test_rules_and_nonces(store: SqlStore) -> None:
    rule = AutoAgreeRule("steel-a", "space-a", frozenset({Purpose.EVALUATE}), 90, "plant-a", NOW)
    with store.transaction() as tx:
        assert tx.get_auto_agree_rule("steel-a", "space-a") is None
        tx.set_auto_agree_rule(rule)
        tx.set_auto_agree_rule(replace(rule, max_days=30))
    with store.transaction() as tx:
        assert tx.get_auto_agree_rule("steel-a", "space-a") == replace(rule, max_days=30)
        assert tx.add_nonce("k", "n" * 16, seen_at=NOW) is True
        assert tx.add_nonce("k", "n" * 16, seen_at=NOW) is False
        assert tx.add_nonce("k2", "n" * 16, seen_at=NOW) is True
        assert tx.prune_nonces(before="2026-11-23") == 2
        assert tx.add_nonce("k", "n" * 16, seen_at=NOW) is True
