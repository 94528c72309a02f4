"""Rows leaving the space: a contract's remote identity, like everyone, only under download."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from resonance.domain.datasets import DatasetKind, make_label_spec
from resonance.domain.dsp import Negotiation, NegotiationState, Peer, Side
from resonance.domain.errors import PolicyDenied
from resonance.domain.orgs import Organization, Role
from resonance.domain.policies import Grant, Purpose
from resonance.services import access, catalog, ledger, policies, review
from resonance.services.catalog import NewDataset
from resonance.services.space import Space
from tests.conftest import STEEL_CSV, STEEL_LABELS

NOW = "2026-12-01T00:00:00+00:00"


def test_remote_identity_takes_rows_out_only_under_download(lite_space: Space) -> None:
    sp = lite_space
    catalog.ingest(
        sp,
        actor="plant-a",
        path=STEEL_CSV,
        dataset="steel-a",
        new=NewDataset(
            "plant-a", DatasetKind.COMMON, "steel", label=make_label_spec(None, STEEL_LABELS)
        ),
    )
    base = Negotiation(
        pid="urn:uuid:p",
        side=Side.PROVIDER,
        peer="space-b",
        dataset="steel-a",
        organization="space-b.lab",
        purposes=frozenset({Purpose.EVALUATE}),
        until=date(2099, 1, 1),
        state=NegotiationState.FINALIZED,
        offer_id="urn:resonance:offer:steel-a:v0",
        created_at=NOW,
        updated_at=NOW,
    )
    with sp.work() as w:
        w.tx.add_peer(Peer("space-b", "http://x/dsp", "PEM", "k" * 16, "operator", NOW))
        w.tx.add_organization(
            Organization("space-b.lab", frozenset({Role.MODEL_BUILDER}), "peer:space-b"),
            created_at=NOW,
        )
        w.tx.add_negotiation(base)
        # a consumer-side negotiation of the local builder does not make it remote
        w.tx.add_negotiation(
            replace(base, pid="urn:uuid:c", side=Side.CONSUMER, organization="builder")
        )
    grant = frozenset({Purpose.EVALUATE, Purpose.DOWNLOAD})
    policies.set_policy(
        sp,
        actor="plant-a",
        dataset="steel-a",
        grants=[Grant("space-b.lab", grant), Grant("builder", grant)],
    )
    before = len(ledger.entries(sp, action="data.access_denied", limit=None))
    with pytest.raises(PolicyDenied) as err:
        access.read_version(sp, actor="space-b.lab", ref="steel-a", purpose=Purpose.EVALUATE)
    assert err.value.details["rule"] == "rows-leave-only-under-download"
    assert len(ledger.entries(sp, action="data.access_denied", limit=None)) == before + 1
    _, rows = access.read_version(sp, actor="space-b.lab", ref="steel-a", purpose=Purpose.DOWNLOAD)
    assert rows.num_rows == 1941
    # a local builder's evaluate grant runs work inside the space; rows leave only by download
    with pytest.raises(PolicyDenied):
        access.read_version(sp, actor="builder", ref="steel-a", purpose=Purpose.EVALUATE)
    # reviewing shows rows: the owner cannot delegate its review queue to a peer's organization
    with pytest.raises(PolicyDenied) as err:
        review.delegate(sp, actor="plant-a", to="space-b.lab")
    assert err.value.details["rule"] == "rows-leave-only-under-download"
    assert review.delegations(sp, actor="plant-a") == []
    review.delegate(sp, actor="plant-a", to="builder")
    assert [d.delegate for d in review.delegations(sp, actor="plant-a")] == ["builder"]
