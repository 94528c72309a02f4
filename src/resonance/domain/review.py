"""The owner's review queue: fixes the loop proposes for rows, and the owner's decisions.

A :class:`ReviewItem` is one proposal about one row of one dataset version
(relabel to class X, drop the row, fix a regression target, confirm a
duplicate). It is raised by a loop run (the :class:`Evidence` says which run,
which iteration and why) and decided by the rows' owner, or by an organization
the owner delegated reviewing to. Proposals are deduplicated: the same fix for
the same row of the same version is one item, whatever the number of
iterations or runs that raised it (each sighting adds evidence).

:func:`apply_fixes` turns the accepted items of one version into the rows of
the next version (pure: Arrow table in, Arrow table out).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from resonance.domain.datasets import LabelKind, LabelSpec
from resonance.domain.errors import InvalidInput, ReviewClosed

if TYPE_CHECKING:  # pyarrow loads when fixes are applied, not with the review records
    import pyarrow as pa

Value = str | float | int | None


class ProposalKind(StrEnum):
    """What a proposal asks the owner to do with a row."""

    RELABEL = "relabel"
    DROP = "drop"
    FIX_TARGET = "fix-target"
    DUPLICATE = "confirm-duplicate"


class ReviewStatus(StrEnum):
    """Where an item stands. ``open`` items await a decision; the others are final."""

    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Decision(StrEnum):
    """What a reviewer answers."""

    ACCEPT = "accept"
    REJECT = "reject"


@dataclass(frozen=True)
class Evidence:
    """Why a row was proposed, and by which loop run and iteration.

    ``given_proba`` is the out-of-fold probability of the row's current label
    (lower = more suspicious), ``suggested_proba`` that of the proposed label;
    ``residual`` is the out-of-fold residual of a regression target.
    """

    loop: str
    iteration: int
    method: str = "cleanlab"
    given_proba: float | None = None
    suggested_proba: float | None = None
    residual: float | None = None
    raised_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "loop": self.loop,
            "iteration": self.iteration,
            "method": self.method,
            "given_proba": self.given_proba,
            "suggested_proba": self.suggested_proba,
            "residual": self.residual,
            "raised_at": self.raised_at,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Evidence:
        """Inverse of :meth:`to_dict`."""
        return Evidence(
            loop=str(data["loop"]),
            iteration=int(data["iteration"]),
            method=str(data.get("method", "cleanlab")),
            given_proba=data.get("given_proba"),
            suggested_proba=data.get("suggested_proba"),
            residual=data.get("residual"),
            raised_at=str(data.get("raised_at", "")),
        )


@dataclass(frozen=True)
class Proposal:
    """A fix a loop proposes for one row (before deduplication into a :class:`ReviewItem`)."""

    owner: str
    dataset: str
    version: int
    row: int
    kind: ProposalKind
    current: Value
    proposed: Value
    evidence: Evidence

    @property
    def ref(self) -> str:
        """The version's reference, ``name@number``."""
        return f"{self.dataset}@{self.version}"


def item_id(dataset: str, version: int, row: int, kind: ProposalKind) -> str:
    """The stable id of the proposal ``kind`` for ``row`` of ``dataset@version``.

    The same row proposed again (another iteration or run) gets the same id:
    this is what deduplicates the queue.
    """
    key = f"{dataset}@{version}#{row}#{kind.value}".encode()
    return "rv-" + hashlib.sha256(key).hexdigest()[:12]


@dataclass(frozen=True)
class ReviewItem:
    """One proposal in an owner's queue, with its evidence and its decision."""

    id: str
    owner: str
    dataset: str
    version: int
    row: int
    kind: ProposalKind
    current: Value
    proposed: Value
    evidence: tuple[Evidence, ...]
    status: ReviewStatus
    created_at: str
    updated_at: str
    decided_by: str | None = None
    decided_at: str | None = None
    reason: str = ""
    applied_in: str | None = None

    @property
    def ref(self) -> str:
        """The reviewed version's reference, ``name@number``."""
        return f"{self.dataset}@{self.version}"

    @property
    def loops(self) -> list[str]:
        """The loop runs that raised this item, in order of first sighting."""
        return list(dict.fromkeys(e.loop for e in self.evidence))

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "id": self.id,
            "owner": self.owner,
            "dataset": self.dataset,
            "version": self.version,
            "ref": self.ref,
            "row": self.row,
            "kind": self.kind.value,
            "current": self.current,
            "proposed": self.proposed,
            "evidence": [e.to_dict() for e in self.evidence],
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "reason": self.reason,
            "applied_in": self.applied_in,
        }


def new_item(p: Proposal, *, now: str) -> ReviewItem:
    """The open item a first sighting of ``p`` makes."""
    return ReviewItem(
        id=item_id(p.dataset, p.version, p.row, p.kind),
        owner=p.owner,
        dataset=p.dataset,
        version=p.version,
        row=p.row,
        kind=p.kind,
        current=p.current,
        proposed=p.proposed,
        evidence=(replace(p.evidence, raised_at=p.evidence.raised_at or now),),
        status=ReviewStatus.OPEN,
        created_at=now,
        updated_at=now,
    )


def sighted_again(item: ReviewItem, p: Proposal, *, now: str) -> ReviewItem | None:
    """The item after another sighting of the same proposal, or None when nothing changes.

    An open item takes the new evidence (once per loop run and iteration) and
    the latest proposed value. A decided item stays decided: an owner is not
    asked twice about a row it answered.
    """
    if item.status is not ReviewStatus.OPEN:
        return None
    seen = {(e.loop, e.iteration) for e in item.evidence}
    if (p.evidence.loop, p.evidence.iteration) in seen and p.proposed == item.proposed:
        return None
    evidence = item.evidence
    if (p.evidence.loop, p.evidence.iteration) not in seen:
        evidence = (*evidence, replace(p.evidence, raised_at=p.evidence.raised_at or now))
    return replace(item, evidence=evidence, proposed=p.proposed, updated_at=now)


def decide(
    item: ReviewItem,
    decision: Decision,
    *,
    by: str,
    now: str,
    reason: str = "",
    value: Value = None,
) -> ReviewItem:
    """The item after a reviewer's decision.

    Parameters
    ----------
    decision:
        ``accept`` or ``reject``. A rejection needs a reason.
    value:
        On accept, a value other than the proposed one (the owner's records
        say the row's class is another one); ``None`` keeps the proposal.

    Raises
    ------
    ReviewClosed
        The item is not open (decided or expired).
    InvalidInput
        A rejection without a reason, or a value for a drop.
    """
    if item.status is not ReviewStatus.OPEN:
        raise ReviewClosed(
            f"review item {item.id} is {item.status.value}; only open items are decided",
            item=item.id,
            status=item.status.value,
        )
    if decision is Decision.REJECT:
        if not reason.strip():
            raise InvalidInput("a rejection needs a reason", item=item.id)
        return replace(
            item,
            status=ReviewStatus.REJECTED,
            decided_by=by,
            decided_at=now,
            updated_at=now,
            reason=reason.strip(),
        )
    if value is not None and item.kind in (ProposalKind.DROP, ProposalKind.DUPLICATE):
        raise InvalidInput(f"a {item.kind.value} proposal takes no value", item=item.id)
    return replace(
        item,
        status=ReviewStatus.ACCEPTED,
        proposed=item.proposed if value is None else value,
        decided_by=by,
        decided_at=now,
        updated_at=now,
        reason=reason.strip(),
    )


def expire(item: ReviewItem, *, now: str, reason: str) -> ReviewItem:
    """An open item whose version was superseded (its row numbers no longer hold)."""
    return replace(item, status=ReviewStatus.EXPIRED, updated_at=now, reason=reason)


@dataclass(frozen=True)
class FixSummary:
    """What applying accepted items did, per kind (for the lineage and the ledger)."""

    counts: dict[str, int] = field(default_factory=dict)

    def describe(self, loops: list[str]) -> str:
        """E.g. ``relabel of 41 rows, drop of 3 rows after review of loop steel-loop``."""
        parts = [f"{k} of {n} row{'s' if n != 1 else ''}" for k, n in sorted(self.counts.items())]
        src = f" after review of loop {', '.join(loops)}" if loops else " after review"
        return ", ".join(parts) + src


def _label_values(table: pa.Table, label: LabelSpec) -> list[Value]:
    if label.kind is LabelKind.COLUMN:
        return list(table.column(label.columns[0]).to_pylist())
    cols = [table.column(c).to_pylist() for c in label.columns]
    out: list[Value] = []
    for i in range(table.num_rows):
        hot = [name for name, col in zip(label.columns, cols, strict=True) if col[i] == 1]
        out.append(hot[0] if len(hot) == 1 else None)
    return out


def current_values(table: pa.Table, label: LabelSpec, rows: list[int]) -> list[Value]:
    """The label (class name, or target value) of each of ``rows``."""
    values = _label_values(table, label)
    return [values[r] for r in rows]


def _cast_like(values: list[Value], typ: pa.DataType) -> pa.Array:
    import pyarrow as pa

    try:
        return pa.array(values).cast(typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput(
            f"a proposed value does not fit the label column ({typ}): {exc}"
        ) from exc


def set_labels(table: pa.Table, *, label: LabelSpec, values: dict[int, Value]) -> pa.Table:
    """``table`` with the label of each row in ``values`` set (row → class name or target).

    A column label takes the value (of the column's Python type); a one-hot label sets
    the named class's column to 1 and the others to 0.

    Raises
    ------
    InvalidInput
        A value does not fit the label column, or names a class that is not one of a
        one-hot label's columns.
    """
    if label.kind is LabelKind.COLUMN:
        name = label.columns[0]
        col = table.column(name)
        current = col.to_pylist()
        for r, v in values.items():
            current[r] = v
        idx = table.schema.get_field_index(name)
        return table.set_column(idx, name, _cast_like(current, col.type))
    unknown = sorted({str(v) for v in values.values()} - set(label.columns))
    if unknown:
        raise InvalidInput(f"proposed classes {unknown} are not label columns", columns=unknown)
    for name in label.columns:
        col = table.column(name)
        current = col.to_pylist()
        for r, v in values.items():
            current[r] = 1 if v == name else 0
        idx = table.schema.get_field_index(name)
        table = table.set_column(idx, name, _cast_like(current, col.type))
    return table


def apply_fixes(
    table: pa.Table, *, label: LabelSpec | None, items: list[ReviewItem]
) -> tuple[pa.Table, FixSummary]:
    """The rows of the next version: accepted ``items`` applied to ``table``.

    Relabels and target fixes set the row's label (a one-hot label sets the
    proposed class's column to 1 and the others to 0); drops and confirmed
    duplicates remove the row. Row order is kept.

    Raises
    ------
    InvalidInput
        An item is not accepted, names a row outside the table, proposes a
        class that is not one of a one-hot label's columns, or fixes a label
        of a dataset without one.
    """
    n = table.num_rows
    set_to: dict[int, Value] = {}
    drop: set[int] = set()
    counts: Counter[str] = Counter()
    for it in items:
        if it.status is not ReviewStatus.ACCEPTED:
            raise InvalidInput(f"review item {it.id} is not accepted", item=it.id)
        if not 0 <= it.row < n:
            raise InvalidInput(f"review item {it.id} names row {it.row} of {n}", item=it.id)
        if it.kind in (ProposalKind.DROP, ProposalKind.DUPLICATE):
            drop.add(it.row)
        else:
            set_to[it.row] = it.proposed
        counts[it.kind.value] += 1
    if set_to and label is None:
        raise InvalidInput("the dataset has no label to fix; only drops apply to it")
    if set_to and label is not None:
        table = set_labels(table, label=label, values=set_to)
    if drop:
        import pyarrow as pa
        import pyarrow.compute as pc

        keep = pa.array([i not in drop for i in range(n)])
        table = pc.filter(table, keep)
    return table, FixSummary(dict(counts))


def strength(item: ReviewItem) -> tuple[int, float]:
    """How strongly the evidence backs an item, for sorting (higher = review first).

    More sightings (iterations and runs that raised it) first, then the lowest
    out-of-fold probability of the current label.
    """
    probs = [e.given_proba for e in item.evidence if e.given_proba is not None]
    return len(item.evidence), -(min(probs) if probs else 1.0)


def matches(
    item: ReviewItem,
    *,
    owner: str | None = None,
    dataset: str | None = None,
    version: int | None = None,
    status: ReviewStatus | None = None,
    kind: ProposalKind | None = None,
    loop: str | None = None,
    max_given_proba: float | None = None,
) -> bool:
    """Whether ``item`` passes a filter (``None`` = any); used by bulk decisions.

    ``max_given_proba`` keeps items whose strongest evidence gives the current
    label at most that out-of-fold probability (lower = more suspicious).
    """
    if owner is not None and item.owner != owner:
        return False
    if dataset is not None and item.dataset != dataset:
        return False
    if version is not None and item.version != version:
        return False
    if status is not None and item.status is not status:
        return False
    if kind is not None and item.kind is not kind:
        return False
    if loop is not None and loop not in item.loops:
        return False
    if max_given_proba is not None:
        probs = [e.given_proba for e in item.evidence if e.given_proba is not None]
        if not probs or min(probs) > max_given_proba:
            return False
    return True


@dataclass(frozen=True)
class VersionMark:
    """Whether a dataset version was accepted by the process that made it.

    Loop candidates the sealed suite rejected are marked ``rejected``: kept for
    audit, never a dataset's latest.
    """

    dataset: str
    number: int
    status: str  # "accepted" | "rejected"
    marked_at: str
    marked_by: str
    reason: str = ""


ACCEPTED_VERSION = "accepted"
REJECTED_VERSION = "rejected"


@dataclass(frozen=True)
class Delegation:
    """An owner lets another organization (an annotator) review its rows."""

    owner: str
    delegate: str
    granted_at: str
