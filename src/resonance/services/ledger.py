"""Use cases: browse and verify the ledger."""

from __future__ import annotations

from collections.abc import Callable

from resonance.domain.errors import InvalidInput
from resonance.domain.ledger import LedgerEntry, VerifyReport, verify_chain
from resonance.domain.ledger_scope import scope
from resonance.domain.orgs import Role
from resonance.domain.refs import ref_name
from resonance.services.orgs import require_org
from resonance.services.space import Space
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
    """Walk the whole chain and compare it with the recorded head."""
    with space.work() as w:
        head = w.tx.recorded_head()
        return verify_chain(
            w.tx.iter_ledger(),
            head_seq=head[0] if head else 0,
            head_hash=head[1] if head else None,
        )
