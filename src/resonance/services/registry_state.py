"""Use cases: status steps, corrections and the history of registry entries.

Scenario files, landing cases, listed models and resonance spaces move along the
small state machines of :mod:`resonance.domain.lifecycle`; who may take a step
depends on the party the actor is to the entry (owner, curator of its region,
adopter). Corrections change an entry's text fields; every step and correction
is kept in the entry's history and on the ledger.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from resonance.domain.errors import InvalidInput, NotFound, OutsideRegion, RoleRequired
from resonance.domain.events import (
    RegistryEntryCorrected,
    RegistryStatusChanged,
    ScenarioStatusChanged,
)
from resonance.domain.lifecycle import Party, get_lifecycle
from resonance.domain.orgs import Role
from resonance.domain.registry import (
    CaseStatus,
    EntryStatus,
    HistoryEntry,
    HolderKind,
    LandingCase,
    ModelEntry,
    ResonanceSpaceEntry,
    ScenarioFile,
    ScenarioStatus,
    check_evidence,
    check_text,
)
from resonance.services.orgs import require_org
from resonance.services.registry import check_model_ref, holder_region
from resonance.services.space import Space, Work
from resonance.storage.store import Tx

Entry = ScenarioFile | LandingCase | ModelEntry | ResonanceSpaceEntry

# The fields a correction may change, per registry.
CORRECTABLE: dict[str, tuple[str, ...]] = {
    "scenario": ("title", "problem", "value", "data_needed", "model_needed"),
    "case": ("description", "evidence"),
    "model": ("description", "ref"),
    "space": ("description",),
}


_PLURAL = {"scenarios": "scenario", "cases": "case", "models": "model", "spaces": "space"}


def _load(tx: Tx, registry: str, name: str) -> Entry:
    registry = _PLURAL.get(registry, registry)
    found: Entry | None
    if registry == "scenario":
        found = tx.get_scenario(name)
    elif registry == "case":
        found = tx.get_case(name)
    elif registry == "model":
        found = tx.get_model_entry(name)
    elif registry == "space":
        found = tx.get_space_entry(name)
    else:
        raise InvalidInput(
            f"unknown registry {registry!r}; one of scenario, case, model, space",
            field="registry",
            value=registry,
        )
    if found is None:
        raise NotFound(f"unknown {registry} {name!r}", registry=registry, name=name)
    return found


def _owner(tx: Tx, entry: Entry) -> str:
    if isinstance(entry, ScenarioFile | ModelEntry):
        return entry.owner
    if isinstance(entry, LandingCase):
        return entry.recorded_by
    return entry.operator


def _region(tx: Tx, entry: Entry) -> str:
    if isinstance(entry, ResonanceSpaceEntry):
        return holder_region(tx, entry.holder_kind, entry.holder)
    if isinstance(entry, LandingCase):
        model = tx.get_model_entry(entry.model)
        owner = model.owner if model else entry.recorded_by
    else:
        owner = _owner(tx, entry)
    org = tx.get_organization(owner)
    return org.region if org else ""


def parties(tx: Tx, actor: str, entry: Entry) -> frozenset[Party]:
    """What ``actor`` is to ``entry``: owner, curator (operator, or authority of its
    region), adopter (of a landing case)."""
    org = require_org(tx, actor)
    out: set[Party] = set()
    if _owner(tx, entry) == actor:
        out.add(Party.OWNER)
    if isinstance(entry, LandingCase) and entry.adopter == actor:
        out.add(Party.ADOPTER)
    if org.has_role(Role.OPERATOR) or (
        org.has_role(Role.AUTHORITY) and org.region == _region(tx, entry)
    ):
        out.add(Party.CURATOR)
    return frozenset(out)


def _status(entry: Entry) -> str:
    return entry.status.value


def _with_status(entry: Entry, status: str) -> Entry:
    if isinstance(entry, ScenarioFile):
        return replace(entry, status=ScenarioStatus(status))
    if isinstance(entry, LandingCase):
        return replace(entry, status=CaseStatus(status))
    return replace(entry, status=EntryStatus(status))


def _store(w: Work, registry: str, entry: Entry) -> None:
    if isinstance(entry, ScenarioFile):
        w.tx.update_scenario(entry, updated_at=w.now)
    elif isinstance(entry, LandingCase):
        w.tx.update_case(entry)
    elif isinstance(entry, ModelEntry):
        w.tx.update_model_entry(entry)
    else:
        w.tx.update_space_entry(entry)


def move_in(w: Work, actor: str, registry: str, name: str, status: str) -> Entry:
    """:func:`move` inside the caller's unit of work."""
    entry = _load(w.tx, registry, name)
    status = status.strip().lower().replace("-", "_")
    current = _status(entry)
    who = parties(w.tx, actor, entry)
    lifecycle = get_lifecycle(registry)
    org = require_org(w.tx, actor)
    if (
        Party.CURATOR not in who
        and org.has_role(Role.AUTHORITY)
        and (current, status) in lifecycle.steps
        and Party.CURATOR in lifecycle.steps[(current, status)]
    ):
        raise OutsideRegion(
            f"{actor} is an authority of {org.region}; {registry} {name} belongs to "
            f"{_region(w.tx, entry)}",
            organization=actor,
        )
    lifecycle.check(current, status, who)
    moved = _with_status(entry, status)
    _store(w, registry, moved)
    w.tx.add_history(
        HistoryEntry(
            registry, name, w.now, actor, "status", {"status": current}, {"status": status}
        )
    )
    object_id = f"{registry}:{name}"
    if registry == "scenario":
        w.emit(
            ScenarioStatusChanged(
                actor=actor, object_id=object_id, from_status=current, to_status=status
            )
        )
    else:
        w.emit(
            RegistryStatusChanged(
                actor=actor,
                object_id=object_id,
                registry=registry,
                from_status=current,
                to_status=status,
            )
        )
    return moved


def move(space: Space, *, actor: str, registry: str, name: str, status: str) -> Entry:
    """Take one step of an entry's state machine.

    Raises
    ------
    StepNotAllowed
        (RES-193) the step is not in the state machine, or not for this actor.
    OutsideRegion
        (RES-191) an authority acting on another region's entry.
    """
    with space.work() as w:
        return move_in(w, actor, _PLURAL.get(registry, registry), name, status)


def _checked_change(tx: Tx, registry: str, field: str, value: str) -> str:
    if field == "evidence":
        return check_evidence(value)
    if field == "ref":
        check_model_ref(tx, value.strip())
        return value.strip()
    return check_text(value, what=field, required=field != "description")


def correct(
    space: Space, *, actor: str, registry: str, name: str, changes: dict[str, str]
) -> Entry:
    """Correct text fields of an entry (its owner or a curator of its region); the
    values before and after are kept in the entry's history.

    ``changes`` maps field names (see ``CORRECTABLE``) to new values.
    """
    registry = _PLURAL.get(registry, registry)
    allowed = CORRECTABLE.get(registry)
    if allowed is None:
        raise InvalidInput(f"{registry!r} entries cannot be corrected", registry=registry)
    unknown = sorted(set(changes) - set(allowed))
    if unknown or not changes:
        raise InvalidInput(
            f"correct one or more of: {', '.join(allowed)}",
            field=unknown[0] if unknown else None,
        )
    with space.work() as w:
        entry = _load(w.tx, registry, name)
        who = parties(w.tx, actor, entry)
        if not who & {Party.OWNER, Party.CURATOR}:
            raise RoleRequired(
                f"only the {registry}'s owner, an operator or its region's authority corrects it",
                organization=actor,
            )
        new = {f: _checked_change(w.tx, registry, f, v) for f, v in changes.items()}
        before = {f: getattr(entry, f) for f in new}
        corrected: Any = replace(entry, **new)  # type: ignore[arg-type]
        _store(w, registry, corrected)
        w.tx.add_history(HistoryEntry(registry, name, w.now, actor, "corrected", before, new))
        w.emit(
            RegistryEntryCorrected(
                actor=actor,
                object_id=f"{registry}:{name}",
                registry=registry,
                before=before,
                after=new,
            )
        )
    return corrected


def history(space: Space, *, registry: str, name: str) -> list[HistoryEntry]:
    """Every status step and correction of an entry, oldest first."""
    registry = _PLURAL.get(registry, registry)
    with space.work() as w:
        _load(w.tx, registry, name)
        return w.tx.list_history(registry=registry, name=name)


__all__ = ["CORRECTABLE", "HolderKind", "correct", "history", "move", "move_in", "parties"]
