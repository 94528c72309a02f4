"""Use cases of the owners' review queue: propose, list, show, decide, apply, delegate.

A loop run (or any diagnosis) proposes fixes for rows with :func:`propose`;
each proposal lands once in its owner's queue (deduplicated across iterations
and runs). Only the owner, or an organization it delegated reviewing to
(:func:`delegate`), sees the items and decides them; the space operator sees
them too; everyone else sees counts per owner (:func:`counts`). Accepted items
make a new immutable version of the owner's dataset (:func:`apply`), marked
accepted, with the lineage saying which loop's review made it; open items move
to the new version (their rows renumbered) so no question is asked twice.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from resonance.domain.datasets import Dataset, DatasetVersion, Transformation
from resonance.domain.errors import (
    AlreadyExists,
    BadDecisionFile,
    InvalidInput,
    NotFound,
    NotReviewer,
    PolicyDenied,
    RoleRequired,
)
from resonance.domain.events import (
    DataAccessed,
    ReviewApplied,
    ReviewDecided,
    ReviewDelegated,
    ReviewExpired,
    ReviewProposed,
    VersionMarked,
)
from resonance.domain.limits import check_cells
from resonance.domain.orgs import Role
from resonance.domain.refs import version_ref
from resonance.domain.review import (
    ACCEPTED_VERSION,
    REJECTED_VERSION,
    Decision,
    Delegation,
    Proposal,
    ProposalKind,
    ReviewItem,
    ReviewStatus,
    Value,
    VersionMark,
    apply_fixes,
    decide,
    expire,
    matches,
    new_item,
    sighted_again,
    strength,
)
from resonance.services.catalog_read import require_dataset
from resonance.services.catalog_read import version_marks as version_marks
from resonance.services.orgs import require_org
from resonance.services.space import Space, Work
from resonance.storage.store import Tx

AUTO_DROP = "policy:auto-drop"


@dataclass(frozen=True)
class ReviewFilter:
    """Which items a list or a bulk decision takes (``None`` = any)."""

    owner: str | None = None
    dataset: str | None = None
    version: int | None = None
    status: ReviewStatus | None = None
    kind: ProposalKind | None = None
    loop: str | None = None
    max_given_proba: float | None = None


@dataclass
class ProposeResult:
    """What :func:`propose` did: new items, items that took new evidence, unchanged ones."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class DecideResult:
    """What a decision call did: the decided items and the versions it made."""

    decided: list[ReviewItem]
    versions: list[str]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "decided": [i.to_dict() for i in self.decided],
            "accepted": sum(1 for i in self.decided if i.status is ReviewStatus.ACCEPTED),
            "rejected": sum(1 for i in self.decided if i.status is ReviewStatus.REJECTED),
            "versions": self.versions,
        }


@dataclass(frozen=True)
class ItemView:
    """An item with its row's values (features and label) beside the evidence."""

    item: ReviewItem
    row: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {**self.item.to_dict(), "values": self.row}


# --- who sees and decides ---


def reviewable_owners(tx: Tx, actor: str) -> set[str] | None:
    """Owners whose items ``actor`` may see: itself and the owners that delegated to it;
    ``None`` (every owner) for the space operator."""
    org = require_org(tx, actor)
    if Role.OPERATOR in org.roles:
        return None
    return {actor} | {d.owner for d in tx.list_delegations(delegate=actor)}


def _may_decide(tx: Tx, actor: str, owner: str) -> bool:
    return actor == owner or any(d.owner == owner for d in tx.list_delegations(delegate=actor))


def _require_decider(tx: Tx, actor: str, item: ReviewItem) -> None:
    if not _may_decide(tx, actor, item.owner):
        raise NotReviewer(
            f"only {item.owner} (or an organization it delegated reviewing to) decides "
            f"review item {item.id}",
            item=item.id,
            organization=actor,
        )


def _require_visible(tx: Tx, actor: str, item: ReviewItem) -> None:
    owners = reviewable_owners(tx, actor)
    if owners is not None and item.owner not in owners:
        raise NotReviewer(
            f"review item {item.id} belongs to {item.owner}; its rows are shown only to "
            "their owner and its delegated reviewers",
            item=item.id,
            organization=actor,
        )


# --- proposing ---


def _check_proposal(tx: Tx, p: Proposal, datasets: dict[str, Dataset]) -> None:
    ds = datasets.get(p.dataset) or require_dataset(tx, p.dataset)
    datasets[p.dataset] = ds
    if ds.owner != p.owner:
        raise InvalidInput(
            f"{p.dataset} is owned by {ds.owner}, not {p.owner}", dataset=p.dataset, owner=p.owner
        )
    version = tx.get_version(p.dataset, p.version)
    if version is None:
        raise NotFound(f"unknown version {p.ref!r}", ref=p.ref)
    if not 0 <= p.row < version.row_count:
        raise InvalidInput(f"{p.ref} has no row {p.row}", ref=p.ref, row=p.row)


def _existing(tx: Tx, dataset: str, version: int) -> dict[tuple[int, ProposalKind], ReviewItem]:
    return {(i.row, i.kind): i for i in tx.list_reviews(dataset=dataset, version=version)}


def propose(space: Space, *, actor: str, proposals: Iterable[Proposal]) -> ProposeResult:
    """Put proposals into their owners' queues, one item per (version, row, kind).

    A proposal for a row that already has an item of its kind adds its evidence
    to the open item, and leaves a decided or expired item alone. One
    ``review.proposed`` entry per version names the loop runs and the item ids
    (never row values).

    Raises
    ------
    NotFound, InvalidInput
        A proposal names an unknown version, a row outside it, or the wrong owner;
        nothing is stored.
    """
    result = ProposeResult()
    by_ref: dict[tuple[str, int], list[Proposal]] = defaultdict(list)
    for p in proposals:
        by_ref[(p.dataset, p.version)].append(p)
    with space.work() as w:
        require_org(w.tx, actor)
        datasets: dict[str, Dataset] = {}
        for (dataset, version), group in sorted(by_ref.items()):
            existing = _existing(w.tx, dataset, version)
            ids: list[str] = []
            for p in group:
                _check_proposal(w.tx, p, datasets)
                found = existing.get((p.row, p.kind))
                if found is None:
                    item = new_item(p, now=w.now)
                    w.tx.add_review(item)
                    result.created.append(item.id)
                else:
                    item = sighted_again(found, p, now=w.now) or found
                    if item is found:
                        result.unchanged.append(item.id)
                    else:
                        w.tx.update_review(item)
                        result.updated.append(item.id)
                existing[(p.row, p.kind)] = item
                ids.append(item.id)
            w.emit(
                ReviewProposed(
                    actor=actor,
                    object_id=f"{dataset}@{version}",
                    owner=group[0].owner,
                    loops=sorted({p.evidence.loop for p in group}),
                    kinds=dict(Counter(p.kind.value for p in group)),
                    items=sorted(set(ids)),
                )
            )
    return result


# --- reading ---


def list_items(
    space: Space,
    *,
    actor: str,
    where: ReviewFilter | None = None,
    limit: int | None = None,
    strongest_first: bool = False,
) -> list[ReviewItem]:
    """Items ``actor`` may see (its own, those of owners that delegated to it; all for the
    operator) that pass ``where``; by dataset, version and row, or with
    ``strongest_first`` by the strength of their evidence (see
    :func:`resonance.domain.review.strength`).

    Raises
    ------
    NotReviewer
        ``where.owner`` names an owner whose items ``actor`` may not see.
    """
    f = where or ReviewFilter()
    if limit is not None and limit < 0:
        raise InvalidInput("limit must not be negative", limit=limit)
    with space.work() as w:
        owners = reviewable_owners(w.tx, actor)
        if f.owner is not None and owners is not None and f.owner not in owners:
            raise NotReviewer(
                f"{actor} may not see the review items of {f.owner}",
                owner=f.owner,
                organization=actor,
            )
        items = w.tx.list_reviews(
            owner=f.owner, dataset=f.dataset, version=f.version, status=f.status, kind=f.kind
        )
    out = [
        i
        for i in items
        if (owners is None or i.owner in owners)
        and matches(i, loop=f.loop, max_given_proba=f.max_given_proba)
    ]
    if strongest_first:
        out.sort(key=strength, reverse=True)
    return out[:limit] if limit is not None else out


def _row_values(
    space: Space, w: Work, actor: str, version: DatasetVersion, rows: list[int]
) -> dict[int, dict[str, Any]]:
    """The values of ``rows`` (a delegated reviewer's read is recorded on the ledger)."""
    from resonance.services.access import load_rows  # pyarrow: only when rows are shown

    table = load_rows(space, version)
    ds = require_dataset(w.tx, version.dataset)
    if actor != ds.owner:
        w.emit(
            DataAccessed(
                actor=actor,
                object_id=version.ref,
                purpose="review",
                content_hash=version.content_hash,
                rule="review-delegation",
                reason=f"{ds.owner} delegated reviewing to {actor}",
                rows=len(rows),
            )
        )
    return {r: table.slice(r, 1).to_pylist()[0] for r in rows if 0 <= r < table.num_rows}


def show(space: Space, *, actor: str, item_id: str) -> ItemView:
    """One item with its row's values beside the evidence (owner and delegates only).

    The operator sees the item without the row's values.
    """
    with space.work() as w:
        item = w.tx.get_review(item_id)
        if item is None:
            raise NotFound(f"unknown review item {item_id!r}", item=item_id)
        _require_visible(w.tx, actor, item)
        if not _may_decide(w.tx, actor, item.owner):
            return ItemView(item, {})
        version = w.tx.get_version(item.dataset, item.version)
        assert version is not None
        values = _row_values(space, w, actor, version, [item.row])
    return ItemView(item, values.get(item.row, {}))


def views(space: Space, *, actor: str, items: list[ReviewItem]) -> list[ItemView]:
    """Items with their rows' values (one read per version; owner and delegates only)."""
    by_version: dict[tuple[str, int], list[ReviewItem]] = defaultdict(list)
    for i in items:
        by_version[(i.dataset, i.version)].append(i)
    values: dict[str, dict[str, Any]] = {}
    with space.work() as w:
        for (dataset, number), group in by_version.items():
            mine = [i for i in group if _may_decide(w.tx, actor, i.owner)]
            if not mine:
                continue
            version = w.tx.get_version(dataset, number)
            assert version is not None
            rows = _row_values(space, w, actor, version, [i.row for i in mine])
            values.update({i.id: rows.get(i.row, {}) for i in mine})
    return [ItemView(i, values.get(i.id, {})) for i in items]


def counts(space: Space, *, actor: str, loop: str | None = None) -> dict[str, dict[str, int]]:
    """Items per owner and status (aggregates: any organization of the space sees them)."""
    with space.work() as w:
        require_org(w.tx, actor)
        if loop is None:
            out: dict[str, dict[str, int]] = defaultdict(dict)
            for (owner, status), n in sorted(w.tx.count_reviews().items()):
                out[owner][status] = n
            return dict(out)
        items = w.tx.list_reviews()
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for i in items:
        if loop in i.loops:
            tally[i.owner][i.status.value] += 1
    return {o: dict(c) for o, c in sorted(tally.items())}


# --- deciding and applying ---


@dataclass(frozen=True)
class DecisionLine:
    """One decision of a bulk call or a decision file."""

    item: str
    decision: Decision
    reason: str = ""
    value: Value = None


def decide_items(
    space: Space, *, actor: str, lines: list[DecisionLine], apply_now: bool = True
) -> DecideResult:
    """Decide items (owner or delegated reviewer only), then apply the accepted ones.

    All decisions of one call commit together or not at all. With ``apply_now``
    each dataset whose accepted items are not yet applied gets a new version.

    Raises
    ------
    NotFound, NotReviewer, ReviewClosed, InvalidInput
        Nothing is decided.
    LimitExceeded
        A reason or value longer than the space's ``max_cell_chars``; nothing is decided.
    """
    if not lines:
        return DecideResult([], [])
    if len({ln.item for ln in lines}) != len(lines):
        raise InvalidInput("an item is decided twice in one call")
    check_cells(
        {
            "reason": max(len(ln.reason) for ln in lines),
            "value": max(len(str(ln.value)) if ln.value is not None else 0 for ln in lines),
        },
        limits=space.config.limits,
    )
    decided: list[ReviewItem] = []
    with space.work() as w:
        require_org(w.tx, actor)
        for ln in lines:
            item = w.tx.get_review(ln.item, lock=True)
            if item is None:
                raise NotFound(f"unknown review item {ln.item!r}", item=ln.item)
            _require_decider(w.tx, actor, item)
            new = decide(item, ln.decision, by=actor, now=w.now, reason=ln.reason, value=ln.value)
            w.tx.update_review(new)
            decided.append(new)
        by_ref: dict[str, list[ReviewItem]] = defaultdict(list)
        for i in decided:
            by_ref[i.ref].append(i)
        for ref, group in sorted(by_ref.items()):
            w.emit(
                ReviewDecided(
                    actor=actor,
                    object_id=ref,
                    owner=group[0].owner,
                    accepted=[i.id for i in group if i.status is ReviewStatus.ACCEPTED],
                    rejected=[i.id for i in group if i.status is ReviewStatus.REJECTED],
                )
            )
    versions: list[str] = []
    if apply_now:
        for dataset in sorted({i.dataset for i in decided}):
            made = apply(space, actor=actor, dataset=dataset)
            if made is not None:
                versions.append(made.ref)
    return DecideResult(decided, versions)


def decide_where(
    space: Space,
    *,
    actor: str,
    where: ReviewFilter,
    decision: Decision,
    reason: str = "",
    apply_now: bool = True,
) -> DecideResult:
    """Decide every open item ``actor`` may decide that passes ``where``."""
    f = replace(where, status=ReviewStatus.OPEN)
    items = list_items(space, actor=actor, where=f)
    with space.work() as w:
        items = [i for i in items if _may_decide(w.tx, actor, i.owner)]
    lines = [DecisionLine(i.id, decision, reason) for i in items]
    return decide_items(space, actor=actor, lines=lines, apply_now=apply_now)


def read_decision_file(path: str | Path) -> list[DecisionLine]:
    """Decisions from a CSV file with columns ``id,decision[,reason][,value]``.

    ``decision`` is ``accept`` or ``reject``; an empty ``value`` keeps the proposed one.

    Raises
    ------
    BadDecisionFile
        Missing columns, an unknown decision, or an unreadable file.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            cols = set(reader.fieldnames or [])
            if not {"id", "decision"} <= cols:
                raise BadDecisionFile(
                    f"{path.name} needs the columns id and decision (found {sorted(cols)})",
                    file=path.name,
                )
            out = []
            for n, rec in enumerate(reader, start=2):
                word = (rec.get("decision") or "").strip().lower()
                try:
                    decision = Decision(word)
                except ValueError:
                    raise BadDecisionFile(
                        f"{path.name} line {n}: decision must be accept or reject, not {word!r}",
                        file=path.name,
                        line=n,
                    ) from None
                value = (rec.get("value") or "").strip() or None
                out.append(
                    DecisionLine(
                        (rec.get("id") or "").strip(), decision, rec.get("reason") or "", value
                    )
                )
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadDecisionFile(f"cannot read {path.name}: {exc}", file=path.name) from exc
    return out


def _coerce(value: Value, like: Value) -> Value:
    """A value from a file (text) as the type of the current label value."""
    if isinstance(value, str) and isinstance(like, int | float) and not isinstance(like, bool):
        try:
            return float(value) if isinstance(like, float) or "." in value else int(value)
        except ValueError:
            raise InvalidInput(f"{value!r} is not a number") from None
    return value


def decide_file(
    space: Space, *, actor: str, path: str | Path, apply_now: bool = True
) -> DecideResult:
    """Decide the items a CSV file of decisions names (see :func:`read_decision_file`)."""
    lines = read_decision_file(path)
    with space.work() as w:
        fixed = []
        for ln in lines:
            item = w.tx.get_review(ln.item)
            if item is not None and ln.value is not None:
                ln = replace(ln, value=_coerce(ln.value, item.current))
            fixed.append(ln)
    return decide_items(space, actor=actor, lines=fixed, apply_now=apply_now)


def apply(space: Space, *, actor: str, dataset: str) -> DatasetVersion | None:
    """A new version of ``dataset`` with its accepted, not yet applied items applied.

    The version's lineage says what was done after the review of which loop
    runs ("relabel of 41 rows after review of loop steel-loop"); it is marked
    accepted. Open items of the reviewed version move to the new one (rows
    renumbered; an open item on a dropped row expires). Accepted items on an
    older version than the latest expire (the owner replaced the data since).

    Returns
    -------
    DatasetVersion or None
        None when there was nothing to apply.
    """
    with space.work() as w:
        ds = require_dataset(w.tx, dataset)
        if not _may_decide(w.tx, actor, ds.owner):
            raise NotReviewer(
                f"only {ds.owner} (or its delegated reviewer) applies reviews of {dataset}",
                dataset=dataset,
                organization=actor,
            )
        latest = w.tx.get_version(dataset)
        pending = [
            i
            for i in w.tx.list_reviews(dataset=dataset, status=ReviewStatus.ACCEPTED)
            if i.applied_in is None
        ]
        stale = [i for i in pending if latest is None or i.version != latest.number]
        for i in stale:
            w.tx.update_review(
                expire(i, now=w.now, reason=f"{dataset} has a newer version than {i.ref}")
            )
        if stale:
            w.emit(
                ReviewExpired(
                    actor=actor,
                    object_id=dataset,
                    owner=ds.owner,
                    items=[i.id for i in stale],
                    reason="accepted on a version the owner has replaced since",
                )
            )
    todo = [i for i in pending if latest is not None and i.version == latest.number]
    if not todo or latest is None:
        return None
    import numpy as np  # numpy, pyarrow and duckdb: only when applying

    from resonance.domain.provenance import RowProvenance
    from resonance.services.access import load_rows
    from resonance.services.catalog import derive_version

    table, summary = apply_fixes(load_rows(space, latest), label=ds.label, items=todo)
    loops = sorted({lp for i in todo for lp in i.loops})
    reason = summary.describe(loops)
    kept = _row_map(latest.row_count, {i.row for i in todo if i.kind in _DROPS})
    # every kept row is a row of the reviewed version: the new version's rows trace
    # back to the owner's own data (and keep its policy)
    origin = RowProvenance.whole(latest.ref, latest.row_count).take(
        np.asarray(list(kept), dtype=np.int64)
    )
    version, _ = derive_version(
        space,
        actor=actor,
        dataset=dataset,
        table=table,
        parents=(latest.ref,),
        transformation=Transformation(
            "review",
            {"items": [i.id for i in todo], "fixes": summary.counts, "loops": loops},
            reason,
        ),
        provenance=origin,
        on_behalf_of=ds.owner,
    )
    _complete_apply(
        space,
        actor=actor,
        owner=ds.owner,
        parent=latest,
        version=version,
        todo=todo,
        fixes=summary.counts,
        loops=loops,
        reason=reason,
    )
    return version


def _complete_apply(
    space: Space,
    *,
    actor: str,
    owner: str,
    parent: DatasetVersion,
    version: DatasetVersion,
    todo: list[ReviewItem],
    fixes: dict[str, int],
    loops: list[str],
    reason: str,
) -> None:
    """The items applied in ``version``, open items of ``parent`` moved (or expired),
    ``version`` marked accepted, ``review.applied`` recorded: one transaction. Nothing
    happens when another process completed it first."""
    dataset = version.dataset
    kept = _row_map(parent.row_count, {i.row for i in todo if i.kind in _DROPS})
    with space.work() as w:
        now = [w.tx.get_review(i.id, lock=True) for i in todo]
        if any(i is None or i.applied_in is not None for i in now):
            return
        for i in todo:
            w.tx.update_review(replace(i, applied_in=version.ref, updated_at=w.now))
        moved, expired = 0, []
        for i in w.tx.list_reviews(
            dataset=dataset, version=parent.number, status=ReviewStatus.OPEN
        ):
            if i.row in kept:
                w.tx.update_review(
                    replace(i, version=version.number, row=kept[i.row], updated_at=w.now)
                )
                moved += 1
            else:
                w.tx.update_review(expire(i, now=w.now, reason=f"row dropped in {version.ref}"))
                expired.append(i.id)
        _mark(w.tx, version, ACCEPTED_VERSION, actor, w.now, reason)
        w.emit(
            VersionMarked(
                actor=actor,
                object_id=version.ref,
                status=ACCEPTED_VERSION,
                reason=reason,
            )
        )
        w.emit(
            ReviewApplied(
                actor=actor,
                object_id=version.ref,
                owner=owner,
                parent=parent.ref,
                items=[i.id for i in todo],
                fixes=fixes,
                loops=loops,
                open_moved=moved,
                open_expired=len(expired),
                reason=reason,
                expired_items=expired,
            )
        )


def recover_applies(space: Space) -> list[str]:
    """Finish the applies a crash cut short between storing the reviewed version and
    recording it (items still accepted and unapplied, the dataset's latest version made
    from them by ``review``): the items are marked applied in it, open items move, the
    version is marked accepted and ``review.applied`` recorded. Otherwise the next apply
    would expire those accepted items as decided on a replaced version.

    Returns
    -------
    list of str
        The versions whose apply was completed.
    """
    work: list[tuple[str, DatasetVersion, DatasetVersion, list[ReviewItem]]] = []
    with space.work() as w:
        pending = [
            i for i in w.tx.list_reviews(status=ReviewStatus.ACCEPTED) if i.applied_in is None
        ]
        for dataset in sorted({i.dataset for i in pending}):
            latest = w.tx.get_version(dataset)
            if latest is None or latest.transformation.kind != "review":
                continue
            ids = set(latest.transformation.params.get("items", []))
            todo = [i for i in pending if i.dataset == dataset and i.id in ids]
            parent = w.tx.get_version(dataset, todo[0].version) if todo else None
            if parent is None or parent.ref not in latest.parents:
                continue
            work.append((require_dataset(w.tx, dataset).owner, parent, latest, todo))
    for owner, parent, version, todo in work:
        params = version.transformation.params
        _complete_apply(
            space,
            actor=version.created_by,
            owner=owner,
            parent=parent,
            version=version,
            todo=todo,
            fixes={str(k): int(v) for k, v in (params.get("fixes") or {}).items()},
            loops=[str(x) for x in params.get("loops") or []],
            reason=version.transformation.reason,
        )
    return [v.ref for _, _, v, _ in work]


_DROPS = (ProposalKind.DROP, ProposalKind.DUPLICATE)


def _row_map(n: int, dropped: set[int]) -> dict[int, int]:
    out, at = {}, 0
    for r in range(n):
        if r not in dropped:
            out[r], at = at, at + 1
    return out


def _mark(tx: Tx, version: DatasetVersion, status: str, by: str, now: str, reason: str) -> None:
    tx.mark_version(VersionMark(version.dataset, version.number, status, now, by, reason))


def record_auto_drops(
    space: Space, *, actor: str, proposals: list[Proposal], policy_version: int
) -> DecideResult:
    """Drops an owner's policy lets the loop make, recorded as accepted decisions.

    Each becomes a review item decided by the policy (``decided_by`` is
    ``policy:auto-drop``) and is applied to the owner's dataset like any
    accepted item.
    """
    drops = [replace(p, kind=ProposalKind.DROP, proposed=None) for p in proposals]
    result = propose(space, actor=actor, proposals=drops)
    decided: list[ReviewItem] = []
    with space.work() as w:
        for item_id in result.created + result.updated:
            item = w.tx.get_review(item_id, lock=True)
            if item is None or item.status is not ReviewStatus.OPEN:
                continue
            new = replace(
                decide(item, Decision.ACCEPT, by=AUTO_DROP, now=w.now),
                reason=f"the owner's policy (version {policy_version}) allows auto-drop",
            )
            w.tx.update_review(new)
            decided.append(new)
        for ref in sorted({i.ref for i in decided}):
            group = [i for i in decided if i.ref == ref]
            w.emit(
                ReviewDecided(
                    actor=actor,
                    object_id=ref,
                    owner=group[0].owner,
                    accepted=[i.id for i in group],
                    rejected=[],
                    by=AUTO_DROP,
                    policy_version=policy_version,
                )
            )
    versions = []
    for dataset in sorted({i.dataset for i in decided}):
        owner = next(i.owner for i in decided if i.dataset == dataset)
        made = apply(space, actor=owner, dataset=dataset)
        if made is not None:
            versions.append(made.ref)
    return DecideResult(decided, versions)


# --- delegations and version marks ---


def delegate(space: Space, *, actor: str, to: str) -> Delegation:
    """Let ``to`` (an annotator organization) see and decide ``actor``'s review items.

    Raises
    ------
    PolicyDenied
        ``RES-120`` when ``to`` is a peer space's organization (reviewing shows rows).
    """
    from resonance.services.access import is_remote

    with space.work() as w:
        require_org(w.tx, actor)
        require_org(w.tx, to)
        if to == actor:
            raise InvalidInput("an organization always reviews its own rows")
        if is_remote(w.tx, to):
            raise PolicyDenied(
                f"{to} is an organization of a peer space: reviewing shows rows, and a "
                "contract lets that organization's work run inside this space, not see rows",
                organization=to,
                rule="rows-leave-only-under-download",
            )
        if any(d.delegate == to for d in w.tx.list_delegations(owner=actor)):
            raise AlreadyExists(f"{actor} already delegated reviewing to {to}", delegate=to)
        d = Delegation(actor, to, w.now)
        w.tx.add_delegation(d)
        w.emit(ReviewDelegated(actor=actor, object_id=to, granted=True))
    return d


def undelegate(space: Space, *, actor: str, to: str) -> bool:
    """Take a delegation back; False when there was none."""
    with space.work() as w:
        require_org(w.tx, actor)
        done = w.tx.remove_delegation(actor, to)
        if done:
            w.emit(ReviewDelegated(actor=actor, object_id=to, granted=False))
    return done


def delegations(space: Space, *, actor: str) -> list[Delegation]:
    """Delegations ``actor`` gave or received."""
    with space.work() as w:
        require_org(w.tx, actor)
        return [
            *w.tx.list_delegations(owner=actor),
            *w.tx.list_delegations(delegate=actor),
        ]


def mark_version(
    space: Space, *, actor: str, ref: str, accepted: bool, reason: str = ""
) -> VersionMark:
    """Mark a version accepted or rejected (a rejected one is never the dataset's latest).

    Only the dataset's owner or the organization that made the version marks it.
    """
    name, num = version_ref(ref)
    with space.work() as w:
        require_org(w.tx, actor)
        version = w.tx.get_version(name, num)
        if version is None:
            raise NotFound(f"unknown version {ref!r}", ref=ref)
        owner = require_dataset(w.tx, name).owner
        if actor not in (owner, version.created_by):
            raise RoleRequired(
                f"only {owner} or the maker of {ref} marks it",
                ref=ref,
                organization=actor,
            )
        status = ACCEPTED_VERSION if accepted else REJECTED_VERSION
        mark = VersionMark(name, version.number, status, w.now, actor, reason)
        w.tx.mark_version(mark)
        w.emit(VersionMarked(actor=actor, object_id=version.ref, status=status, reason=reason))
    return mark
