"""Use cases: browse and verify the ledger."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from resonance.domain.errors import InvalidInput
from resonance.domain.ledger import LedgerEntry, VerifyReport, verify_chain
from resonance.domain.ledger_scope import scope
from resonance.domain.orgs import Role
from resonance.domain.receipts import SignedStatement, check_statement
from resonance.domain.refs import ref_name
from resonance.services.orgs import require_org
from resonance.services.space import HEAD_FILE, HEAD_META, Space
from resonance.storage.store import Tx


def entries(
    space: Space,
    *,
    after_seq: int = 0,
    limit: int | None = 100,
    object_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    newest: bool = False,
) -> list[LedgerEntry]:
    """Ledger entries in chain order, filtered.

    With ``newest`` the ``limit`` keeps the most recent matching entries
    (still returned oldest first); otherwise the first ones after ``after_seq``.
    """
    if (limit is not None and limit < 0) or after_seq < 0:
        raise InvalidInput("limit and after_seq must not be negative", limit=limit)
    with space.work() as w:
        return w.tx.ledger_entries(
            after_seq=after_seq,
            limit=limit,
            object_id=object_id,
            action=action,
            actor=actor,
            newest=newest,
        )


def _entry_at(tx: Any, seq: int) -> LedgerEntry | None:
    found = tx.ledger_entries(after_seq=seq - 1, limit=1) if seq > 0 else []
    return found[0] if found and found[0].seq == seq else None


def _head_problems(space: Space, tx: Any, head_seq: int) -> list[dict[str, Any]]:
    """Check the signed head kept beside the chain and the copy kept outside the database."""
    problems: list[dict[str, Any]] = []
    pem = space.keys.public_pem
    raw = tx.get_meta(HEAD_META)
    if raw is None:
        if head_seq > 0:
            problems.append({"seq": head_seq, "problem": "the ledger head is not signed"})
    else:
        signed = SignedStatement.from_dict(json.loads(raw))
        found = check_statement(
            signed, public_pem=pem, entry=_entry_at(tx, signed.seq), head_seq=head_seq
        )
        problems += [{**p, "source": "signed head"} for p in found]
        if not found and signed.seq != head_seq:
            problems.append(
                {
                    "seq": head_seq,
                    "problem": "the head moved past its signature",
                    "signed_seq": signed.seq,
                    "source": "signed head",
                }
            )
    copy = space.root / HEAD_FILE
    if copy.exists():
        try:
            outside = SignedStatement.from_dict(json.loads(copy.read_text()))
        except (OSError, ValueError, KeyError):
            problems.append({"seq": 0, "problem": f"{HEAD_FILE} is unreadable"})
        else:
            found = check_statement(
                outside, public_pem=pem, entry=_entry_at(tx, outside.seq), head_seq=head_seq
            )
            problems += [{**p, "source": HEAD_FILE} for p in found]
    return problems


def visible_entries(
    space: Space,
    *,
    viewer: str,
    after_seq: int = 0,
    limit: int | None = 100,
    object_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    newest: bool = False,
) -> list[LedgerEntry]:
    """The entries ``viewer`` is a party to, filtered like :func:`entries`, redacted for it.

    Operators and authorities see every entry as recorded; any other organization sees
    the entries where it acted, owns the object (or a source of a derived version), is
    a grantee or is named, with other members' row lists replaced by their count.
    """
    if (limit is not None and limit < 0) or after_seq < 0:
        raise InvalidInput("limit and after_seq must not be negative", limit=limit)
    with space.work() as w:
        org = require_org(w.tx, viewer)
        privileged = org.has_role(Role.OPERATOR) or org.has_role(Role.AUTHORITY)
        found = w.tx.ledger_entries(
            after_seq=after_seq,
            limit=limit if privileged else None,
            object_id=object_id,
            action=action,
            actor=actor,
            newest=newest,
        )
        if privileged:
            return found
        shown = scope(found, viewer, privileged=False, owners_of=_owners(w.tx))
    if limit is None:
        return shown
    return shown[-limit:] if newest else shown[:limit]


def _owners(tx: Tx) -> Callable[[LedgerEntry], set[str]]:
    """Owners of an entry's object: dataset (and derived sources), model, suite, loop run."""
    datasets = {d.name: d.owner for d in tx.list_datasets()}
    models = {m.name: m.created_by for m in tx.list_model_versions()}
    suites = {s.name: s.owner for s in tx.list_suites()}
    loops = {r.name: r.created_by for r in tx.list_loop_runs()}

    def owners_of(entry: LedgerEntry) -> set[str]:
        name = ref_name(entry.object_id)
        kind = entry.object_type
        out: set[str] = set()
        if kind in ("dataset", "dataset_version", "policy") and name in datasets:
            out.add(datasets[name])
        elif kind in ("model", "model_version") and name in models:
            out.add(models[name])
        elif kind == "eval_suite" and name in suites:
            out.add(suites[name])
        elif kind == "loop_run" and name in loops:
            out.add(loops[name])
        elif kind == "organization":
            out.add(entry.object_id)
        sources = entry.payload.get("sources")
        for src in sources if isinstance(sources, list) else []:
            ref = src.get("ref") if isinstance(src, dict) else src
            if isinstance(ref, str) and ref_name(ref) in datasets:
                out.add(datasets[ref_name(ref)])
        return out

    return owners_of


def verify(space: Space) -> VerifyReport:
    """Walk the whole chain, compare it with the recorded head and check the head's signatures.

    The head is signed with the space key in the transaction of every append (kept
    beside the chain) and copied to ``<space>/ledger-head.json``; a chain rewritten
    without the key no longer matches either.
    """
    with space.work() as w:
        head = w.tx.recorded_head()
        report = verify_chain(
            w.tx.iter_ledger(),
            head_seq=head[0] if head else 0,
            head_hash=head[1] if head else None,
        )
        report.problems += _head_problems(space, w.tx, head[0] if head else 0)
        return report


def parse_receipt(text: str) -> SignedStatement:
    """A receipt from its JSON text (a list of receipts keeps the last one).

    Raises
    ------
    InvalidInput
        ``RES-100`` when the text is not a receipt.
    """
    try:
        data = json.loads(text)
        if isinstance(data, list):
            data = data[-1]
        return SignedStatement.from_dict(data)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise InvalidInput(f"not a Resonance receipt: {exc}") from None


def verify_receipt(space: Space, receipt: SignedStatement) -> VerifyReport:
    """Verify the chain and that it still holds, unchanged, the entry ``receipt`` saw.

    Detects a truncated or emptied chain (the entry is missing) and a chain edited
    and rehashed by whoever holds the database (the entry's hash changed), even
    when the recorded head was rewritten to match.
    """
    report = verify(space)
    with space.work() as w:
        head = w.tx.recorded_head()
        found = check_statement(
            receipt,
            public_pem=space.keys.public_pem,
            entry=_entry_at(w.tx, receipt.seq),
            head_seq=head[0] if head else 0,
        )
    report.problems += [{**p, "source": "receipt"} for p in found]
    return report
