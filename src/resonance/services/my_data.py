"""Use case: what a data holder sees about its data.

Every use of its dataset versions, and of derived versions holding its rows
(who, purpose, for which model or loop run, when, allowed or denied) from the
ledger; the model versions built on them
(directly or through derived versions, e.g. a loop's working dataset) and how
they scored; its contribution value per valued model (member Shapley, share and
its rows' KNN-Shapley total); its review queue. Only the holder itself (and the
space operator, naming the holder) sees this.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from resonance.domain.errors import RoleRequired
from resonance.domain.events import ContributionValued, DataAccessDenied, DataAccessed
from resonance.domain.orgs import Role
from resonance.domain.refs import parse_ref, ref_name
from resonance.domain.review import ReviewItem, ReviewStatus
from resonance.services.orgs import require_org
from resonance.services.space import Space
from resonance.storage.store import Tx

_CONTEXT_KEYS = ("loop", "model", "as", "candidate", "valuation", "rows_taken", "federated_run")


@dataclass(frozen=True)
class DataUse:
    """One recorded use (or refused use) of one of the holder's versions."""

    seq: int
    when: str
    who: str
    purpose: str
    version: str
    allowed: bool
    context: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class ModelOnData:
    """A model version trained on the holder's data, and its scores on sealed suites."""

    model: str
    built_by: str
    created_at: str
    via: tuple[str, ...]
    scores: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {**self.__dict__, "via": list(self.via)}


@dataclass(frozen=True)
class ContributionValue:
    """The holder's value in one valuation of a model version (higher = more valuable)."""

    model: str
    suite: str
    metric: str
    shapley: float
    share: float
    knn_shapley: float | None
    valued_at: str

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return dict(self.__dict__)


@dataclass
class MyData:
    """Everything a holder sees about its data."""

    owner: str
    datasets: list[dict[str, Any]]
    uses: list[DataUse]
    models: list[ModelOnData]
    values: list[ContributionValue]
    reviews: dict[str, int]
    open_items: list[ReviewItem]

    def uses_by_org(self) -> dict[str, int]:
        """Allowed uses per organization (the holder's own excluded)."""
        return dict(Counter(u.who for u in self.uses if u.allowed and u.who != self.owner))

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "owner": self.owner,
            "datasets": self.datasets,
            "uses": [u.to_dict() for u in self.uses],
            "uses_by_org": self.uses_by_org(),
            "models": [m.to_dict() for m in self.models],
            "values": [v.to_dict() for v in self.values],
            "reviews": self.reviews,
            "open_items": [i.to_dict() for i in self.open_items],
        }


def _mine(ref: str, names: set[str]) -> bool:
    return ref_name(ref) in names


def _uses_mine(payload: dict[str, Any], ref: str, names: set[str]) -> bool:
    """A use of one of the holder's versions, or of a derived version holding its rows."""
    sources = payload.get("sources")
    return _mine(ref, names) or any(
        _mine(s, names)
        for s in (sources if isinstance(sources, list) else [])
        if isinstance(s, str)
    )


def _ancestry(
    tx: Tx, ref: str, names: set[str], cache: dict[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """The holder's versions ``ref`` was made from (itself included), walking parents."""
    if ref in cache:
        return cache[ref]
    cache[ref] = ()  # guards against cycles
    if _mine(ref, names):
        cache[ref] = (ref,)
        return cache[ref]
    name, num = parse_ref(ref)
    version = tx.get_version(name, num) if num is not None else None
    found: list[str] = []
    for parent in version.parents if version else ():
        found.extend(_ancestry(tx, parent, names, cache))
    cache[ref] = tuple(dict.fromkeys(found))
    return cache[ref]


def _score(metrics: dict[str, Any]) -> float | None:
    for key in ("macro_f1", "r2", "accuracy"):
        if isinstance(metrics.get(key), int | float):
            return float(metrics[key])
    return None


def my_data(space: Space, *, actor: str, owner: str | None = None, uses: int = 200) -> MyData:
    """What ``owner`` (default: ``actor``) sees about its data.

    Parameters
    ----------
    owner:
        Another holder: only the space operator may name one.
    uses:
        The most recent uses to return.

    Raises
    ------
    RoleRequired
        ``actor`` names another holder and is not the operator.
    """
    holder = owner or actor
    with space.work() as w:
        org = require_org(w.tx, actor)
        require_org(w.tx, holder)
        if holder != actor and Role.OPERATOR not in org.roles:
            raise RoleRequired(
                f"only {holder} (or the space operator) sees what is done with its data",
                organization=actor,
            )
        datasets = w.tx.list_datasets(owner=holder)
        names = {d.name for d in datasets}
        latest = w.tx.latest_versions(with_validation=False, with_profile=False)
        ds_rows = [
            {
                "name": d.name,
                "kind": d.kind.value,
                "latest": latest[d.name].ref if d.name in latest else None,
                "rows": latest[d.name].row_count if d.name in latest else None,
            }
            for d in datasets
        ]
        recorded = [
            *w.tx.ledger_entries(action=DataAccessed.action),
            *w.tx.ledger_entries(action=DataAccessDenied.action),
        ]
        found = (
            sorted(
                (e for e in recorded if _uses_mine(e.payload, e.object_id, names)),
                key=lambda e: e.seq,
            )[-uses:]
            if uses
            else []
        )
        use_list = [
            DataUse(
                seq=e.seq,
                when=e.timestamp,
                who=e.actor,
                purpose=str(e.payload.get("purpose", "")),
                version=e.object_id,
                allowed=e.action == DataAccessed.action,
                context={k: str(e.payload[k]) for k in _CONTEXT_KEYS if k in e.payload},
            )
            for e in found
        ]
        cache: dict[str, tuple[str, ...]] = {}
        models = []
        for mv in w.tx.list_model_versions():
            via = tuple(
                dict.fromkeys(r for ref in mv.datasets for r in _ancestry(w.tx, ref, names, cache))
            )
            if not via:
                continue
            scores = {
                run.suite: s
                for run in w.tx.list_eval_runs(model=mv.ref)
                if (s := _score(run.metrics)) is not None
            }
            models.append(ModelOnData(mv.ref, mv.created_by, mv.created_at, via, scores))
        values = []
        for e in w.tx.ledger_entries(action=ContributionValued.action):
            member = e.payload.get("members", {}).get(holder)
            if member is None:
                continue
            knn = member.get("knn_shapley")
            values.append(
                ContributionValue(
                    model=e.object_id,
                    suite=str(e.payload.get("suite", "")),
                    metric=str(e.payload.get("metric", "")),
                    shapley=float(member.get("shapley", 0.0)),
                    share=float(member.get("share", 0.0)),
                    knn_shapley=float(knn) if isinstance(knn, int | float) else None,
                    valued_at=e.timestamp,
                )
            )
        reviews = {s: n for (o, s), n in w.tx.count_reviews(owner=holder).items() if o == holder}
        open_items = w.tx.list_reviews(owner=holder, status=ReviewStatus.OPEN)
    return MyData(holder, ds_rows, use_list, models, values, reviews, open_items)
