"""State machines of registry entries: which status may follow which, and who moves it (pure).

Each registry with a status registers one small :class:`Lifecycle` class. A step
names the parties that may take it:

- ``owner``: the organization that filed or registered the entry;
- ``curator``: an operator, or an authority of the entry's region;
- ``adopter``: the organization that applies a model (landing cases).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from resonance.domain.errors import InvalidInput, StepNotAllowed


class Party(StrEnum):
    """Who may take a step."""

    OWNER = "owner"
    CURATOR = "curator"
    ADOPTER = "adopter"


LIFECYCLES: dict[str, type[Lifecycle]] = {}


def lifecycle(cls: type[Lifecycle]) -> type[Lifecycle]:
    """Class decorator registering a lifecycle under its registry name."""
    LIFECYCLES[cls.registry] = cls
    return cls


class Lifecycle:
    """The allowed steps of one registry: ``(from, to) -> parties``."""

    registry: ClassVar[str] = ""
    statuses: ClassVar[tuple[str, ...]] = ()
    steps: ClassVar[dict[tuple[str, str], frozenset[Party]]] = {}

    @classmethod
    def check(cls, current: str, target: str, parties: frozenset[Party]) -> None:
        """Raise ``StepNotAllowed`` (RES-193) unless one of ``parties`` may move
        ``current -> target``."""
        if target not in cls.statuses:
            raise InvalidInput(
                f"unknown {cls.registry} status {target!r}; one of {', '.join(cls.statuses)}",
                field="status",
                value=target,
            )
        allowed = cls.steps.get((current, target))
        if allowed is None:
            nexts = sorted(t for (f, t) in cls.steps if f == current)
            raise StepNotAllowed(
                f"a {cls.registry} cannot move from {current} to {target}"
                + (f"; next steps: {', '.join(nexts)}" if nexts else " (final status)"),
                current=current,
                target=target,
            )
        if not allowed & parties:
            raise StepNotAllowed(
                f"moving a {cls.registry} from {current} to {target} is for the "
                f"{' or '.join(sorted(p.value for p in allowed))}",
                current=current,
                target=target,
                allowed=sorted(p.value for p in allowed),
            )


_C = frozenset({Party.CURATOR})
_O = frozenset({Party.OWNER})
_OC = frozenset({Party.OWNER, Party.CURATOR})


@lifecycle
class ScenarioLifecycle(Lifecycle):
    """Proposed → approved (curator) → in progress (owner) → landed (curator); retire any time."""

    registry = "scenario"
    statuses = ("proposed", "approved", "in_progress", "landed", "retired")
    steps = {
        ("proposed", "approved"): _C,
        ("approved", "in_progress"): _OC,
        ("in_progress", "landed"): _C,
        ("approved", "proposed"): _C,
        **{(s, "retired"): _OC for s in ("proposed", "approved", "in_progress", "landed")},
    }


@lifecycle
class CaseLifecycle(Lifecycle):
    """Recorded → confirmed by the adopter (only then it counts); retire any time."""

    registry = "case"
    statuses = ("recorded", "confirmed", "retired")
    steps = {
        ("recorded", "confirmed"): frozenset({Party.ADOPTER}),
        ("recorded", "retired"): frozenset({Party.OWNER, Party.CURATOR, Party.ADOPTER}),
        ("confirmed", "retired"): frozenset({Party.OWNER, Party.CURATOR, Party.ADOPTER}),
    }


@lifecycle
class ModelListLifecycle(Lifecycle):
    """A listed model: suspended and reinstated by a curator; retired by owner or curator."""

    registry = "model"
    statuses = ("listed", "suspended", "retired")
    steps = {
        ("listed", "suspended"): _C,
        ("suspended", "listed"): _C,
        ("listed", "retired"): _OC,
        ("suspended", "retired"): _OC,
    }


@lifecycle
class SpaceListLifecycle(Lifecycle):
    """A listed resonance space: suspended/reinstated and retired by a curator."""

    registry = "space"
    statuses = ("listed", "suspended", "retired")
    steps = {
        ("listed", "suspended"): _C,
        ("suspended", "listed"): _C,
        ("listed", "retired"): _C,
        ("suspended", "retired"): _C,
    }


def get_lifecycle(registry: str) -> type[Lifecycle]:
    """The lifecycle of ``registry`` (scenario, case, model, space)."""
    try:
        return LIFECYCLES[registry]
    except KeyError:
        raise InvalidInput(
            f"registry {registry!r} has no status; one of {', '.join(LIFECYCLES)}",
            field="registry",
            value=registry,
        ) from None
