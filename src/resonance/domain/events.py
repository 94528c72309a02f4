"""Typed domain events.

Every state change emits one of these inside the same transaction that makes
the change; the ledger subscribes to them. Events carry ids and content
hashes, never raw rows.

Each event class declares its fields (as datasette's events do): who acted
(``actor``), on which object (``object_id``), then what the ledger records.
:meth:`Event.properties` is that record, the entry's payload: one key per
declared field, except fields declared with ``field(metadata=FLAT)``, whose
``to_dict()`` (or dict) is merged in, and fields declared with
``field(metadata={"key": KEY})``, recorded under ``KEY`` (for Python keywords).
Every event class is registered with :func:`event_type`; the bus refuses any
other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from resonance.domain.evaluation import EvaluationSuite
from resonance.domain.loop_types import LoopSummary
from resonance.domain.policies import Policy
from resonance.domain.reporting import ReportSubmission

FLAT: dict[str, Any] = {"flatten": True}
"""Field metadata: merge the value's ``to_dict()`` (or dict) into the payload; an
``"exclude"`` entry names keys left out."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base event: who did what to which object; subclasses declare the rest."""

    action: ClassVar[str] = "event"
    object_type: ClassVar[str] = "object"

    actor: str
    object_id: str

    def properties(self) -> dict[str, Any]:
        """The declared fields as the ledger records them (the entry's payload)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("actor", "object_id"):
                continue
            value = getattr(self, f.name)
            if f.metadata.get("flatten"):
                merged = value.to_dict() if hasattr(value, "to_dict") else dict(value or {})
                out.update(
                    {k: v for k, v in merged.items() if k not in f.metadata.get("exclude", ())}
                )
            else:
                out[f.metadata.get("key", f.name)] = value
        return out


EVENT_TYPES: dict[str, type[Event]] = {}


def event_type(cls: type[Event]) -> type[Event]:
    """Class decorator registering an event type by its action name."""
    if cls.action in EVENT_TYPES and EVENT_TYPES[cls.action] is not cls:
        raise TypeError(f"event action {cls.action!r} is already registered")
    EVENT_TYPES[cls.action] = cls
    return cls


def is_registered(event: Event) -> bool:
    """Whether ``event``'s class is the one registered for its action."""
    return EVENT_TYPES.get(event.action) is type(event)


@event_type
@dataclass(frozen=True, kw_only=True)
class OrganizationRegistered(Event):
    """An organization joined the space."""

    action: ClassVar[str] = "organization.registered"
    object_type: ClassVar[str] = "organization"

    roles: list[str]
    region: str
    central_enterprise: bool


@event_type
@dataclass(frozen=True, kw_only=True)
class ConsortiumFormed(Event):
    """A consortium was formed for an industry."""

    action: ClassVar[str] = "consortium.formed"
    object_type: ClassVar[str] = "consortium"

    industry: str
    members: dict[str, list[str]]


@event_type
@dataclass(frozen=True, kw_only=True)
class ConsortiumMemberAdded(Event):
    """An organization took a seat in a consortium."""

    action: ClassVar[str] = "consortium.member_added"
    object_type: ClassVar[str] = "consortium"

    organization: str
    roles: list[str]


@event_type
@dataclass(frozen=True, kw_only=True)
class DatasetRegistered(Event):
    """A dataset name was registered."""

    action: ClassVar[str] = "dataset.registered"
    object_type: ClassVar[str] = "dataset"

    owner: str
    kind: str
    industry: str | None
    scenario: str | None
    loop: str | None = None
    derived: bool = False


@event_type
@dataclass(frozen=True, kw_only=True)
class DatasetVersionCreated(Event):
    """A new immutable dataset version was stored."""

    action: ClassVar[str] = "dataset.version_created"
    object_type: ClassVar[str] = "dataset_version"

    content_hash: str
    source_hash: str | None
    rows: int
    parents: list[str]
    transformation: dict[str, Any]
    sources: list[dict[str, Any]] | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class PolicySet(Event):
    """A dataset's usage policy was set or replaced."""

    action: ClassVar[str] = "policy.set"
    object_type: ClassVar[str] = "policy"

    policy: Policy = field(metadata=FLAT)


@event_type
@dataclass(frozen=True, kw_only=True)
class DataAccessed(Event):
    """Rows of a dataset version were read under its policy."""

    action: ClassVar[str] = "data.accessed"
    object_type: ClassVar[str] = "dataset_version"

    purpose: str
    content_hash: str
    rule: str
    reason: str
    context: dict[str, str] = field(default_factory=dict, metadata=FLAT)
    rows: int
    release: str | None = None
    """``"rows"`` when the use hands the rows to the actor (a ``download``)."""
    sources: list[str] | None = None
    """The ingested versions a derived version's rows came from."""


@event_type
@dataclass(frozen=True, kw_only=True)
class DataAccessDenied(Event):
    """A read was refused by the usage policy."""

    action: ClassVar[str] = "data.access_denied"
    object_type: ClassVar[str] = "dataset_version"

    purpose: str
    content_hash: str
    rule: str
    reason: str
    context: dict[str, str] = field(default_factory=dict, metadata=FLAT)
    release: str | None = None
    sources: list[str] | None = None


# --- registries of the action and API tokens (issue 6) ---


@event_type
@dataclass(frozen=True, kw_only=True)
class RegistryEntryAdded(Event):
    """A scenario file, model, landing case, space, key city or key industry was registered.

    The payload's ``registry`` names which one; ``object_id`` is ``registry:name``.
    """

    action: ClassVar[str] = "registry.entry_added"
    object_type: ClassVar[str] = "registry_entry"

    registry: str
    entry: dict[str, Any] = field(default_factory=dict, metadata=FLAT)


@event_type
@dataclass(frozen=True, kw_only=True)
class ScenarioStatusChanged(Event):
    """A high-value scenario file moved to another status."""

    action: ClassVar[str] = "registry.scenario_status"
    object_type: ClassVar[str] = "registry_entry"

    from_status: str = field(metadata={"key": "from"})
    to_status: str = field(metadata={"key": "to"})


@event_type
@dataclass(frozen=True, kw_only=True)
class ReportSubmitted(Event):
    """An implementation plan, mid-term or summary report was submitted (its content hash)."""

    action: ClassVar[str] = "report.submitted"
    object_type: ClassVar[str] = "report"

    submission: ReportSubmission = field(metadata=FLAT)


@event_type
@dataclass(frozen=True, kw_only=True)
class ApiTokenCreated(Event):
    """An API token was issued to an organization (its id only, never the secret)."""

    action: ClassVar[str] = "api_token.created"
    object_type: ClassVar[str] = "api_token"

    organization: str
    label: str


@event_type
@dataclass(frozen=True, kw_only=True)
class ApiTokenRevoked(Event):
    """An API token was revoked."""

    action: ClassVar[str] = "api_token.revoked"
    object_type: ClassVar[str] = "api_token"

    organization: str


@event_type
@dataclass(frozen=True, kw_only=True)
class ModelTrained(Event):
    """A model version was trained (dataset version hashes, trainer, parameters, metrics)."""

    action: ClassVar[str] = "model.trained"
    object_type: ClassVar[str] = "model_version"

    datasets: dict[str, str]
    trainer: str
    params: dict[str, Any]
    artifact_hash: str
    code_version: str
    metrics: dict[str, Any]


@event_type
@dataclass(frozen=True, kw_only=True)
class SuiteRegistered(Event):
    """An evaluator registered a sealed evaluation suite."""

    action: ClassVar[str] = "suite.registered"
    object_type: ClassVar[str] = "eval_suite"

    suite: EvaluationSuite = field(metadata=FLAT)
    content_hash: str


@event_type
@dataclass(frozen=True, kw_only=True)
class ModelEvaluated(Event):
    """A model version was scored on a sealed suite (scores only leave the space)."""

    action: ClassVar[str] = "model.evaluated"
    object_type: ClassVar[str] = "model_version"

    suite: str
    run: str
    dataset_hash: str
    metrics: dict[str, float]
    passed: dict[str, bool]
    released: bool = True
    """Whether the Ladder released a new score (else ``metrics`` repeat the builder's best)."""


@event_type
@dataclass(frozen=True, kw_only=True)
class FederatedRoundAggregated(Event):
    """A federated round was aggregated: participants, row counts, parameter shapes and
    hashes (never rows)."""

    action: ClassVar[str] = "federation.round_aggregated"
    object_type: ClassVar[str] = "federated_run"

    model: str
    round: int
    strategy: str
    participants: dict[str, int]
    parameters: list[dict[str, Any]]


@event_type
@dataclass(frozen=True, kw_only=True)
class LoopRunStarted(Event):
    """A resonance loop run started (model spec, datasets, reserves, budget, suite)."""

    action: ClassVar[str] = "loop.started"
    object_type: ClassVar[str] = "loop_run"

    spec: dict[str, Any]
    datasets: list[str]
    reserves: list[str]
    budget: int
    iterations: int
    seed: int
    auto_drop: list[str]
    suite: str
    working_version: str


@event_type
@dataclass(frozen=True, kw_only=True)
class LoopIterationRecorded(Event):
    """One loop iteration: accepted or not, metrics, rows used, rows taken per member."""

    action: ClassVar[str] = "loop.iteration"
    object_type: ClassVar[str] = "loop_run"

    number: int
    accepted: bool
    primary: float | None
    worst_slice: float | None
    rows: int
    taken: dict[str, int]
    dropped: int
    dataset: str
    model: str


@event_type
@dataclass(frozen=True, kw_only=True)
class RelabelProposed(Event):
    """Suspected label errors proposed for relabeling to the member owning the rows."""

    action: ClassVar[str] = "loop.relabel_proposed"
    object_type: ClassVar[str] = "dataset_version"

    loop: str
    owner: str
    rows: list[dict[str, Any]]


@event_type
@dataclass(frozen=True, kw_only=True)
class LoopRunFinished(Event):
    """A resonance loop run finished (final dataset version, model, lift, rows taken)."""

    action: ClassVar[str] = "loop.finished"
    object_type: ClassVar[str] = "loop_run"

    status: str
    summary: LoopSummary | None = field(
        default=None, metadata={**FLAT, "exclude": ("relabel_proposals",)}
    )


@event_type
@dataclass(frozen=True, kw_only=True)
class ContributionValued(Event):
    """Members' contributions to a model version were valued on a suite (values only)."""

    action: ClassVar[str] = "contribution.valued"
    object_type: ClassVar[str] = "model_version"

    model: str
    suite: str
    metric: str
    full_score: float
    members: dict[str, dict[str, float]]
    method: str


# --- review queue of data holders (issue 11) ---


@event_type
@dataclass(frozen=True, kw_only=True)
class ReviewProposed(Event):
    """A loop run proposed fixes for rows of an owner's version (item ids and counts, no values)."""

    action: ClassVar[str] = "review.proposed"
    object_type: ClassVar[str] = "dataset_version"

    owner: str
    loops: list[str]
    kinds: dict[str, int]
    items: list[str]


@event_type
@dataclass(frozen=True, kw_only=True)
class ReviewDecided(Event):
    """An owner (or its delegated reviewer, or its auto-drop policy) decided review items."""

    action: ClassVar[str] = "review.decided"
    object_type: ClassVar[str] = "dataset_version"

    owner: str
    accepted: list[str]
    rejected: list[str]
    by: str | None = None
    policy_version: int | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class ReviewApplied(Event):
    """Accepted review items made a new version of the owner's dataset."""

    action: ClassVar[str] = "review.applied"
    object_type: ClassVar[str] = "dataset_version"

    owner: str
    parent: str
    items: list[str]
    fixes: dict[str, int]
    loops: list[str]
    open_moved: int
    open_expired: int
    reason: str


@event_type
@dataclass(frozen=True, kw_only=True)
class ReviewExpired(Event):
    """Review items expired: the version they were raised on was replaced by its owner."""

    action: ClassVar[str] = "review.expired"
    object_type: ClassVar[str] = "dataset"

    owner: str
    items: list[str]
    reason: str


@event_type
@dataclass(frozen=True, kw_only=True)
class ReviewDelegated(Event):
    """An owner let another organization review its rows (or took that back)."""

    action: ClassVar[str] = "review.delegated"
    object_type: ClassVar[str] = "organization"

    granted: bool


@event_type
@dataclass(frozen=True, kw_only=True)
class VersionMarked(Event):
    """A dataset version was marked accepted or rejected by the process that made it."""

    action: ClassVar[str] = "dataset.version_marked"
    object_type: ClassVar[str] = "dataset_version"

    status: str
    reason: str


# --- trust (issue 9) -------------------------------------------------------------------------


@event_type
@dataclass(frozen=True, kw_only=True)
class LabelIssuesFound(Event):
    """A diagnosis's suspected label errors in one member's rows, for that member only.

    ``object_id`` is the member's dataset version; ``owner`` names the member and
    ``rows`` the rows (shown to the owner, the operator and the authority;
    redacted for every other organization).
    """

    action: ClassVar[str] = "diagnosis.label_issues"
    object_type: ClassVar[str] = "dataset_version"

    model: str
    run: str
    owner: str
    rows: list[dict[str, Any]]


@event_type
@dataclass(frozen=True, kw_only=True)
class AdministrativeAccess(Event):
    """A command ran in the operator's administrative mode (direct access to the store).

    ``actor`` and ``object_id`` name the organization the command acted as; ``user``
    is the local account that ran it, ``command`` the command.
    """

    action: ClassVar[str] = "admin.direct_access"
    object_type: ClassVar[str] = "organization"

    command: str
    user: str
