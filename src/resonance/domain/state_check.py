"""Replaying the ledger's events into the state they imply, and diffing it with the tables.

Whoever holds the database can edit a state table without touching the chain (add a
grant, delete evaluation runs to reset a budget, change a role). :func:`replay` derives
from the chain what the tables must hold; :func:`compare` reports every difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from resonance.domain.ledger import LedgerEntry
from resonance.domain.refs import ref_name


@dataclass
class StateView:
    """The parts of the state the ledger fixes, keyed for comparison.

    Attributes
    ----------
    policies:
        Current policy of each dataset (its JSON form).
    policy_versions:
        How many policies each dataset has had.
    roles:
        Roles of each organization.
    eval_runs:
        Evaluation runs per ``(model name, suite)`` (what query budgets count).
    versions:
        Content hash of each dataset version (``name@n``).
    models:
        Artifact hash of each model version (``name@n``).
    registry:
        Registry entries as ``kind:name``.
    marks:
        Accepted/rejected mark of each marked dataset version (``name@n``).
    delegations:
        ``owner/delegate`` pairs of review delegations in force.
    reviews:
        Each review item's ``(status, decided by, version applied in)``: an item
        flipped to accepted in the table would change its owner's data when applied.
    """

    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    policy_versions: Counter[str] = field(default_factory=Counter)
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    eval_runs: Counter[tuple[str, str]] = field(default_factory=Counter)
    versions: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    registry: set[str] = field(default_factory=set)
    marks: dict[str, str] = field(default_factory=dict)
    delegations: set[str] = field(default_factory=set)
    reviews: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Difference:
    """One way the tables disagree with the ledger."""

    area: str
    key: str
    ledger: Any
    tables: Any

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {"area": self.area, "key": self.key, "ledger": self.ledger, "tables": self.tables}


def replay(entries: Iterable[LedgerEntry]) -> StateView:
    """The state the chain's typed events imply (events the view does not cover are skipped)."""
    view = StateView()
    for e in entries:
        p = e.payload
        if e.action == "policy.set":
            view.policies[e.object_id] = p
            view.policy_versions[e.object_id] += 1
        elif e.action == "organization.registered":
            view.roles[e.object_id] = tuple(sorted(p.get("roles", [])))
        elif e.action == "model.evaluated":
            view.eval_runs[(ref_name(e.object_id), str(p.get("suite")))] += 1
        elif e.action == "dataset.version_created":
            view.versions[e.object_id] = str(p.get("content_hash"))
        elif e.action in ("model.trained", "model.migrated"):
            view.models[e.object_id] = str(p.get("artifact_hash"))
        elif e.action == "registry.entry_added":
            view.registry.add(e.object_id)
        elif e.action == "dataset.version_marked":
            view.marks[e.object_id] = str(p.get("status"))
        elif e.action == "review.delegated":
            pair = f"{e.actor}/{e.object_id}"
            if p.get("granted"):
                view.delegations.add(pair)
            else:
                view.delegations.discard(pair)
        else:
            _replay_review(view.reviews, e)
    return view


def _replay_review(reviews: dict[str, tuple[str, str | None, str | None]], e: LedgerEntry) -> None:
    """Review items' statuses from ``review.*`` entries (other entries are left alone)."""
    p = e.payload
    if e.action == "review.proposed":
        for item in p.get("items", []):
            reviews.setdefault(str(item), ("open", None, None))  # a sighting never reopens
    elif e.action == "review.decided":
        by = p.get("by") or e.actor
        for status in ("accepted", "rejected"):
            for item in p.get(status, []):
                reviews[str(item)] = (status, by, None)
    elif e.action == "review.expired":
        for item in p.get("items", []):
            _, by, _ = reviews.get(str(item), ("open", None, None))
            reviews[str(item)] = ("expired", by, None)
    elif e.action == "review.applied":
        for item in p.get("items", []):
            status, by, _ = reviews.get(str(item), ("accepted", None, None))
            reviews[str(item)] = (status, by, e.object_id)
        for item in p.get("expired_items", []):
            reviews[str(item)] = ("expired", None, None)


def _diff_maps(area: str, ledger: dict[Any, Any], tables: dict[Any, Any]) -> list[Difference]:
    out = []
    for key in sorted(set(ledger) | set(tables), key=str):
        a, b = ledger.get(key), tables.get(key)
        if a != b:
            name = "/".join(key) if isinstance(key, tuple) else str(key)
            out.append(Difference(area, name, a, b))
    return out


def compare(ledger: StateView, tables: StateView) -> list[Difference]:
    """Every difference between the replayed state and the tables, area by area."""
    out = _diff_maps("policies", ledger.policies, tables.policies)
    out += _diff_maps("policy_versions", dict(ledger.policy_versions), dict(tables.policy_versions))
    out += _diff_maps("roles", ledger.roles, tables.roles)
    out += _diff_maps("eval_runs", dict(ledger.eval_runs), dict(tables.eval_runs))
    out += _diff_maps("dataset_versions", ledger.versions, tables.versions)
    out += _diff_maps("model_versions", ledger.models, tables.models)
    out += _diff_maps(
        "registry",
        dict.fromkeys(ledger.registry, True),
        dict.fromkeys(tables.registry, True),
    )
    out += _diff_maps("version_marks", ledger.marks, tables.marks)
    out += _diff_maps(
        "review_delegations",
        dict.fromkeys(ledger.delegations, True),
        dict.fromkeys(tables.delegations, True),
    )
    out += _diff_maps("review_items", ledger.reviews, tables.reviews)
    return out
