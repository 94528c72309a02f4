"""Signed heads and receipts: the issue's four ledger rewrites by whoever holds the database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from resonance.domain.datasets import DatasetKind
from resonance.domain.errors import PolicyDenied
from resonance.domain.ledger import LedgerEntry, chain_entry
from resonance.domain.policies import Purpose
from resonance.domain.receipts import SignedStatement
from resonance.services import access, catalog, ledger
from resonance.services.space import HEAD_FILE, HEAD_META, Space
from resonance.storage import tables as t
from resonance.storage.sql.meta import space_meta
from tests.conftest import STEEL_CSV
from tests.model_seed import steel_label


@pytest.fixture
def acted(space: Space) -> tuple[Space, SignedStatement]:
    """Ingest, a denied read (on the ledger), then one more action; the last receipt."""
    catalog.ingest(
        space,
        actor="plant-a",
        path=STEEL_CSV,
        dataset="steel-a",
        new=catalog.NewDataset("plant-a", DatasetKind.COMMON, "steel", label=steel_label()),
    )
    with pytest.raises(PolicyDenied):
        access.authorize(space, actor="builder", ref="steel-a", purpose=Purpose.DOWNLOAD)
    access.authorize(space, actor="plant-a", ref="steel-a", purpose=Purpose.DOWNLOAD)
    receipt = space.receipts[-1]
    assert receipt.organization == "plant-a" and receipt.action == "data.accessed"
    assert ledger.verify(space).ok
    assert ledger.verify_receipt(space, receipt).ok
    return space, receipt


def rewrite(space: Space, edit: Callable[[list[LedgerEntry]], list[LedgerEntry]]) -> None:
    """Replace the chain by ``edit(entries)``, rehashed, and move the head to match."""
    old = ledger.entries(space, limit=None)
    chain: list[LedgerEntry] = []
    for e in edit(old):
        chain.append(
            chain_entry(
                prev=chain[-1] if chain else None,
                timestamp=e.timestamp,
                actor=e.actor,
                action=e.action,
                object_type=e.object_type,
                object_id=e.object_id,
                payload=e.payload,
            )
        )
    with space.store.engine.begin() as conn:
        conn.execute(t.ledger.delete())
        conn.execute(t.ledger_head.delete())
        for e in chain:
            conn.execute(
                t.ledger.insert().values(
                    **{**e.body(), "payload": json.dumps(e.payload), "hash": e.hash}
                )
            )
        if chain:
            conn.execute(
                t.ledger_head.insert().values(id=1, seq=chain[-1].seq, hash=chain[-1].hash)
            )


def receipt_problems(space: Space, receipt: SignedStatement) -> list[str]:
    report = ledger.verify_receipt(space, receipt)
    assert not report.ok
    return [p["problem"] for p in report.problems if p.get("source") == "receipt"]


def test_truncated_tail_with_head_updated(acted: tuple[Space, SignedStatement]) -> None:
    space, receipt = acted
    rewrite(space, lambda es: es[:-2])
    chain_only = [p for p in ledger.verify(space).problems if "source" not in p]
    assert chain_only == []  # the old check alone passed this rewrite
    assert receipt_problems(space, receipt) == [
        "the chain is shorter than the statement saw",
        "the entry the statement saw is missing",
    ]
    assert not ledger.verify(space).ok  # the signed head catches it too


def test_every_row_and_the_head_deleted(acted: tuple[Space, SignedStatement]) -> None:
    space, receipt = acted
    with space.store.engine.begin() as conn:
        conn.execute(t.ledger.delete())
        conn.execute(t.ledger_head.delete())
        conn.execute(space_meta.delete().where(space_meta.c.key == HEAD_META))
    report = ledger.verify(space)
    assert report.entries == 0 and not report.ok  # the head copy outside the database
    assert {p["source"] for p in report.problems} == {HEAD_FILE}
    assert "the entry the statement saw is missing" in receipt_problems(space, receipt)


def test_edited_entry_with_later_hashes_and_head_recomputed(
    acted: tuple[Space, SignedStatement],
) -> None:
    space, receipt = acted

    def edit(es: list[LedgerEntry]) -> list[LedgerEntry]:
        first = es[0]
        return [LedgerEntry(**{**first.body(), "actor": "mallory"}), *es[1:]]

    rewrite(space, edit)
    assert receipt_problems(space, receipt) == ["the entry the statement saw was rewritten"]
    assert "the entry the statement saw was rewritten" in [
        p["problem"] for p in ledger.verify(space).problems
    ]


def test_deleted_denial_with_chain_rehashed(acted: tuple[Space, SignedStatement]) -> None:
    space, receipt = acted
    assert ledger.entries(space, action="data.access_denied")
    rewrite(space, lambda es: [e for e in es if e.action != "data.access_denied"])
    assert not ledger.entries(space, action="data.access_denied")
    found = receipt_problems(space, receipt)
    assert "the entry the statement saw was rewritten" in found or (
        "the entry the statement saw is missing" in found
    )


def test_forged_receipt_and_foreign_key_are_refused(acted: tuple[Space, SignedStatement]) -> None:
    space, receipt = acted
    forged = SignedStatement.from_dict({**receipt.to_dict(), "seq": receipt.seq - 1})
    assert "signature does not verify" in receipt_problems(space, forged)
    other = SignedStatement.from_dict({**receipt.to_dict(), "key_id": "0" * 16})
    assert "signed by another key" in receipt_problems(space, other)


def test_head_signature_is_kept_beside_the_chain_and_outside(
    acted: tuple[Space, SignedStatement],
) -> None:
    space, receipt = acted
    with space.work() as w:
        raw = w.tx.get_meta(HEAD_META)
    assert raw is not None
    signed = json.loads(raw)
    outside = json.loads((space.root / HEAD_FILE).read_text())
    assert signed == outside and signed["seq"] == receipt.seq
    assert signed["key_id"] == space.keys.key_id
    # an unsigned append by whoever holds the database moves the head past its signature
    last = ledger.entries(space, limit=1, newest=True)[0]
    extra = chain_entry(
        prev=last,
        timestamp=last.timestamp,
        actor="mallory",
        action="x.y",
        object_type="o",
        object_id="o",
        payload={},
    )
    with space.store.engine.begin() as conn:
        conn.execute(
            t.ledger.insert().values(**{**extra.body(), "payload": "{}", "hash": extra.hash})
        )
        conn.execute(t.ledger_head.update().values(seq=extra.seq, hash=extra.hash))
    found = [p["problem"] for p in ledger.verify(space).problems]
    assert found == ["the head moved past its signature"]


def test_receipt_files_parse(acted: tuple[Space, SignedStatement], tmp_path: Path) -> None:
    space, receipt = acted
    text = json.dumps([r.to_dict() for r in space.receipts])
    assert ledger.parse_receipt(text) == receipt
