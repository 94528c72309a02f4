from __future__ import annotations

from dataclasses import replace

from resonance.domain.ledger import GENESIS_HASH, chain_entry, verify_chain


def _chain(n: int) -> list:
    entries = []
    prev = None
    for i in range(n):
        prev = chain_entry(
            prev=prev,
            timestamp=f"2026-01-01T00:00:0{i}",
            actor="a",
            action="x.done",
            object_type="x",
            object_id=f"x{i}",
            payload={"i": i, "hash": "ab" * 32},
        )
        entries.append(prev)
    return entries


def test_intact_chain_verifies() -> None:
    entries = _chain(5)
    assert entries[0].prev_hash == GENESIS_HASH
    report = verify_chain(entries, head_seq=5, head_hash=entries[-1].hash)
    assert report.ok and report.entries == 5


def test_edited_entry_is_detected() -> None:
    entries = _chain(5)
    entries[2] = replace(entries[2], payload={"i": 99, "hash": "ab" * 32})
    report = verify_chain(entries, head_seq=5, head_hash=entries[-1].hash)
    assert not report.ok
    assert report.problems[0] == {"seq": 3, "problem": "content edited (hash mismatch)"}


def test_removed_entry_is_detected() -> None:
    entries = _chain(5)
    del entries[1]
    report = verify_chain(entries, head_seq=5, head_hash=entries[-1].hash)
    assert {p["problem"] for p in report.problems} >= {
        "sequence gap or reorder",
        "broken back-link",
    }


def test_reordered_entries_are_detected() -> None:
    entries = _chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    assert not verify_chain(entries).ok


def test_truncated_tail_is_detected_against_head() -> None:
    entries = _chain(5)
    report = verify_chain(entries[:4], head_seq=5, head_hash=entries[-1].hash)
    assert report.problems == [{"seq": 4, "problem": "entries missing at the tail", "head_seq": 5}]


def test_rehashed_forgery_breaks_following_links() -> None:
    entries = _chain(4)
    forged = replace(entries[1], actor="mallory")
    forged = replace(forged, hash=forged.compute_hash())
    entries[1] = forged
    report = verify_chain(entries, head_seq=4, head_hash=entries[-1].hash)
    assert report.problems == [{"seq": 3, "problem": "broken back-link"}]
