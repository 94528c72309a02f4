"""Registries as they stood on a date, computed from the ledger (pure).

Only what the ledger recorded by the end of ``as_of`` (UTC) exists in the view:
entries registered later are left out, and statuses are those of that day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

from resonance.domain.errors import InvalidInput
from resonance.domain.ledger import LedgerEntry
from resonance.domain.refs import version_ref
from resonance.domain.registry import (
    CaseStatus,
    EntryStatus,
    RegistrySnapshot,
    ScenarioStatus,
)
from resonance.domain.review import REJECTED_VERSION


@dataclass
class LedgerView:
    """What the ledger said by one date."""

    as_of: date
    added: set[str] = field(default_factory=set)  # "registry:name" of registry entries
    versions: dict[str, int] = field(default_factory=dict)  # dataset -> last version number
    # (rejected loop candidates left out: like the catalog, they are never a dataset's latest)
    consortia: set[str] = field(default_factory=set)
    organizations: set[str] = field(default_factory=set)
    status: dict[str, str] = field(default_factory=dict)  # "registry:name" -> status then
    evaluated: set[str] = field(default_factory=set)  # model version refs evaluated by then


def ledger_view(entries: Iterable[LedgerEntry], *, as_of: date) -> LedgerView:
    """Fold the ledger's entries up to the end of ``as_of`` into a :class:`LedgerView`."""
    view = LedgerView(as_of)
    day = as_of.isoformat()
    created: set[tuple[str, int]] = set()
    marks: dict[str, str] = {}  # NAME@N -> its last mark by then
    for e in entries:
        if e.timestamp[:10] > day:
            continue
        if e.action == "registry.entry_added":
            view.added.add(e.object_id)
        elif e.action in ("registry.scenario_status", "registry.status_changed"):
            view.status[e.object_id] = str(e.payload.get("to", ""))
        elif e.action == "dataset.version_created":
            try:
                created.add(version_ref(e.object_id))
            except InvalidInput:
                continue
        elif e.action == "dataset.version_marked":
            marks[e.object_id] = str(e.payload.get("status", ""))
        elif e.action == "consortium.formed":
            view.consortia.add(e.object_id)
        elif e.action == "organization.registered":
            view.organizations.add(e.object_id)
        elif e.action == "model.evaluated":
            view.evaluated.add(e.object_id)
    for name, number in created:
        if marks.get(f"{name}@{number}") != REJECTED_VERSION:
            view.versions[name] = max(view.versions.get(name, 0), number)
    return view


def as_of(snap: RegistrySnapshot, view: LedgerView) -> RegistrySnapshot:
    """``snap`` restricted to what existed on ``view.as_of``, with that day's statuses."""

    def st(kind: str, name: str, initial: str) -> str:
        return view.status.get(f"{kind}:{name}", initial)

    datasets = []
    for d in snap.datasets:
        n = view.versions.get(d.name)
        if n is not None:
            datasets.append(replace(d, version=f"{d.name}@{n}"))
    return replace(
        snap,
        datasets=datasets,
        scenarios=[
            replace(s, status=ScenarioStatus(st("scenario", s.name, "proposed")))
            for s in snap.scenarios
            if f"scenario:{s.name}" in view.added
        ],
        models=[
            replace(m, status=EntryStatus(st("model", m.name, "listed")))
            for m in snap.models
            if f"model:{m.name}" in view.added
        ],
        cases=[
            replace(c, status=CaseStatus(st("case", c.name, "recorded")))
            for c in snap.cases
            if f"case:{c.name}" in view.added
        ],
        spaces=[
            replace(s, status=EntryStatus(st("space", s.name, "listed")))
            for s in snap.spaces
            if f"space:{s.name}" in view.added
        ],
        key_cities=[k for k in snap.key_cities if f"key_city:{k.province}/{k.city}" in view.added],
        key_industries=[
            k for k in snap.key_industries if f"key_industry:{k.holder}/{k.industry}" in view.added
        ],
        consortia=[c for c in snap.consortia if c.name in view.consortia],
        organizations=[o for o in snap.organizations if o.name in view.organizations],
        sealed={m: s for m, s in snap.sealed.items() if s.ref in view.evaluated},
    )
