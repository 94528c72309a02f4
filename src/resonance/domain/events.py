"""Typed domain events.

Every state change emits one of these inside the same transaction that makes
the change; the ledger subscribes to them. Events carry ids and content
hashes, never raw rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base event: who did what to which object, plus a JSON payload."""

    action: ClassVar[str] = "event"
    object_type: ClassVar[str] = "object"

    actor: str
    object_id: str
    payload: dict[str, Any] = field(default_factory=dict)


EVENT_TYPES: dict[str, type[Event]] = {}


def event_type(cls: type[Event]) -> type[Event]:
    """Class decorator registering an event type by its action name."""
    EVENT_TYPES[cls.action] = cls
    return cls


@event_type
@dataclass(frozen=True)
class SpaceInitialized(Event):
    """A space was created."""

    action: ClassVar[str] = "space.initialized"
    object_type: ClassVar[str] = "space"


@event_type
@dataclass(frozen=True)
class OrganizationRegistered(Event):
    """An organization joined the space."""

    action: ClassVar[str] = "organization.registered"
    object_type: ClassVar[str] = "organization"


@event_type
@dataclass(frozen=True)
class ConsortiumFormed(Event):
    """A consortium was formed for an industry."""

    action: ClassVar[str] = "consortium.formed"
    object_type: ClassVar[str] = "consortium"


@event_type
@dataclass(frozen=True)
class ConsortiumMemberAdded(Event):
    """An organization took a seat in a consortium."""

    action: ClassVar[str] = "consortium.member_added"
    object_type: ClassVar[str] = "consortium"


@event_type
@dataclass(frozen=True)
class DatasetRegistered(Event):
    """A dataset name was registered."""

    action: ClassVar[str] = "dataset.registered"
    object_type: ClassVar[str] = "dataset"


@event_type
@dataclass(frozen=True)
class DatasetVersionCreated(Event):
    """A new immutable dataset version was stored."""

    action: ClassVar[str] = "dataset.version_created"
    object_type: ClassVar[str] = "dataset_version"


@event_type
@dataclass(frozen=True)
class PolicySet(Event):
    """A dataset's usage policy was set or replaced."""

    action: ClassVar[str] = "policy.set"
    object_type: ClassVar[str] = "policy"


@event_type
@dataclass(frozen=True)
class DataAccessed(Event):
    """Rows of a dataset version were read under its policy."""

    action: ClassVar[str] = "data.accessed"
    object_type: ClassVar[str] = "dataset_version"


@event_type
@dataclass(frozen=True)
class DataAccessDenied(Event):
    """A read was refused by the usage policy."""

    action: ClassVar[str] = "data.access_denied"
    object_type: ClassVar[str] = "dataset_version"


@event_type
@dataclass(frozen=True)
class GenericEvent(Event):
    """An event whose action is given at run time (for extensions)."""

    action: ClassVar[str] = "generic"
    object_type: ClassVar[str] = "object"


# --- registries of the action and API tokens (issue 6) ---


@event_type
@dataclass(frozen=True)
class RegistryEntryAdded(Event):
    """A scenario file, model, landing case, space, key city or key industry was registered.

    The payload's ``registry`` names which one; ``object_id`` is ``registry:name``.
    """

    action: ClassVar[str] = "registry.entry_added"
    object_type: ClassVar[str] = "registry_entry"


@event_type
@dataclass(frozen=True)
class ScenarioStatusChanged(Event):
    """A high-value scenario file moved to another status."""

    action: ClassVar[str] = "registry.scenario_status"
    object_type: ClassVar[str] = "registry_entry"


@event_type
@dataclass(frozen=True)
class ReportSubmitted(Event):
    """An implementation plan, mid-term or summary report was submitted (its content hash)."""

    action: ClassVar[str] = "report.submitted"
    object_type: ClassVar[str] = "report"


@event_type
@dataclass(frozen=True)
class ApiTokenCreated(Event):
    """An API token was issued to an organization (its id only, never the secret)."""

    action: ClassVar[str] = "api_token.created"
    object_type: ClassVar[str] = "api_token"


@event_type
@dataclass(frozen=True)
class ApiTokenRevoked(Event):
    """An API token was revoked."""

    action: ClassVar[str] = "api_token.revoked"
    object_type: ClassVar[str] = "api_token"


@event_type
@dataclass(frozen=True)
class ModelTrained(Event):
    """A model version was trained (dataset version hashes, trainer, parameters, metrics)."""

    action: ClassVar[str] = "model.trained"
    object_type: ClassVar[str] = "model_version"


@event_type
@dataclass(frozen=True)
class SuiteRegistered(Event):
    """An evaluator registered a sealed evaluation suite."""

    action: ClassVar[str] = "suite.registered"
    object_type: ClassVar[str] = "eval_suite"


@event_type
@dataclass(frozen=True)
class ModelEvaluated(Event):
    """A model version was scored on a sealed suite (scores only leave the space)."""

    action: ClassVar[str] = "model.evaluated"
    object_type: ClassVar[str] = "model_version"


@event_type
@dataclass(frozen=True)
class FederatedRoundAggregated(Event):
    """A federated round was aggregated: participants, row counts, parameter shapes and
    hashes (never rows)."""

    action: ClassVar[str] = "federation.round_aggregated"
    object_type: ClassVar[str] = "federated_run"


@event_type
@dataclass(frozen=True)
class LoopRunStarted(Event):
    """A resonance loop run started (model spec, datasets, reserves, budget, suite)."""

    action: ClassVar[str] = "loop.started"
    object_type: ClassVar[str] = "loop_run"


@event_type
@dataclass(frozen=True)
class LoopIterationRecorded(Event):
    """One loop iteration: accepted or not, metrics, rows used, rows taken per member."""

    action: ClassVar[str] = "loop.iteration"
    object_type: ClassVar[str] = "loop_run"


@event_type
@dataclass(frozen=True)
class RelabelProposed(Event):
    """Suspected label errors proposed for relabeling to the member owning the rows."""

    action: ClassVar[str] = "loop.relabel_proposed"
    object_type: ClassVar[str] = "dataset_version"


@event_type
@dataclass(frozen=True)
class LoopRunFinished(Event):
    """A resonance loop run finished (final dataset version, model, lift, rows taken)."""

    action: ClassVar[str] = "loop.finished"
    object_type: ClassVar[str] = "loop_run"


@event_type
@dataclass(frozen=True)
class ContributionValued(Event):
    """Members' contributions to a model version were valued on a suite (values only)."""

    action: ClassVar[str] = "contribution.valued"
    object_type: ClassVar[str] = "model_version"


# --- trust (issue 9) -------------------------------------------------------------------------


@event_type
@dataclass(frozen=True)
class LabelIssuesFound(Event):
    """A diagnosis's suspected label errors in one member's rows, for that member only.

    ``object_id`` is the member's dataset version; the payload's ``owner`` names the
    member and ``rows`` the rows (shown to the owner, the operator and the authority;
    redacted for every other organization).
    """

    action: ClassVar[str] = "diagnosis.label_issues"
    object_type: ClassVar[str] = "dataset_version"
