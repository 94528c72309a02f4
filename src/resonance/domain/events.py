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
from typing import TYPE_CHECKING, Any, ClassVar

from resonance.domain.evaluation import EvaluationSuite
from resonance.domain.loop_types import Iteration, LoopFailure, LoopSummary
from resonance.domain.policies import Policy
from resonance.domain.reporting import ReportSubmission

if TYPE_CHECKING:  # numpy loads with the valuation algorithms, not with every event import
    from resonance.domain.valuation import Valuation

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
    enterprise: str | None = None


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
    """A dataset's usage policy was set or replaced (``context``: e.g. the agreement that did)."""

    action: ClassVar[str] = "policy.set"
    object_type: ClassVar[str] = "policy"

    policy: Policy = field(metadata=FLAT)
    context: dict[str, str] = field(default_factory=dict, metadata=FLAT)


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
    submitted_at: str
    late: bool
    days_late: int
    note_version: int


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
    rerun_of_failed: bool = False


@event_type
@dataclass(frozen=True, kw_only=True)
class LoopIterationRecorded(Event):
    """One loop iteration: accepted or not, metrics, rows used, rows taken per member."""

    action: ClassVar[str] = "loop.iteration"
    object_type: ClassVar[str] = "loop_run"

    iteration: Iteration = field(
        metadata={
            **FLAT,
            "exclude": ("actions", "slices", "reference", "metrics", "tried", "queries"),
        }
    )
    """Recorded as its number, accepted, primary, worst_slice, rows, taken, dropped, dataset
    and model."""


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
    failure: LoopFailure | None = field(default=None, metadata=FLAT)


@event_type
@dataclass(frozen=True, kw_only=True)
class ContributionValued(Event):
    """Members' contributions to a model version were valued on a suite (values only)."""

    action: ClassVar[str] = "contribution.valued"
    object_type: ClassVar[str] = "model_version"

    valuation: Valuation = field(metadata=FLAT)
    """Recorded as its model, suite, metric, full_score, members and method."""


# --- the authority's side: status steps, corrections, report notes, national bundles ---


@event_type
@dataclass(frozen=True, kw_only=True)
class RegistryStatusChanged(Event):
    """A landing case, listed model or space took a step of its state machine.

    ``object_id`` is ``registry:name``; the ledger records ``registry``, ``from`` and ``to``.
    """

    action: ClassVar[str] = "registry.status_changed"
    object_type: ClassVar[str] = "registry_entry"

    registry: str
    from_status: str = field(metadata={"key": "from"})
    to_status: str = field(metadata={"key": "to"})


@event_type
@dataclass(frozen=True, kw_only=True)
class RegistryEntryCorrected(Event):
    """A registry entry was corrected (the fields before and after are kept in its history)."""

    action: ClassVar[str] = "registry.entry_corrected"
    object_type: ClassVar[str] = "registry_entry"

    registry: str
    before: dict[str, Any]
    after: dict[str, Any]


@event_type
@dataclass(frozen=True, kw_only=True)
class ReportNoteWritten(Event):
    """An authority wrote a new version of a report's measures, problems and next steps."""

    action: ClassVar[str] = "report.note_written"
    object_type: ClassVar[str] = "report"

    version: int
    tasks: list[str]


@event_type
@dataclass(frozen=True, kw_only=True)
class BundleImported(Event):
    """A space's signed bundle was verified and imported into the national view."""

    action: ClassVar[str] = "national.bundle_imported"
    object_type: ClassVar[str] = "bundle"

    key_id: str
    head_hash: str


@event_type
@dataclass(frozen=True, kw_only=True)
class BundleExported(Event):
    """The space signed and exported a bundle of its registries and quota figures."""

    action: ClassVar[str] = "national.bundle_exported"
    object_type: ClassVar[str] = "bundle"

    head_hash: str
    key_id: str


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
    expired_items: list[str] = field(default_factory=list)  # open items on dropped rows


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


# --- integrity (issue 17) ---


@event_type
@dataclass(frozen=True, kw_only=True)
class ArtifactCorruptionDetected(Event):
    """A read found an artifact whose bytes no longer match its content address."""

    action: ClassVar[str] = "artifact.corrupted"
    object_type: ClassVar[str] = "artifact"

    suffix: str
    actual: str
    used_for: str


@event_type
@dataclass(frozen=True, kw_only=True)
class ModelMigrated(Event):
    """A model version's file was rewritten from a legacy pickle into a code-free format."""

    action: ClassVar[str] = "model.migrated"
    object_type: ClassVar[str] = "model_version"

    old_hash: str
    artifact_hash: str
    format: str


@event_type
@dataclass(frozen=True, kw_only=True)
class StoreUpgraded(Event):
    """The metadata store's schema was brought to a newer release (migration heads)."""

    action: ClassVar[str] = "space.store_upgraded"
    object_type: ClassVar[str] = "space"

    before: list[str]
    after: list[str]


# --- interconnection: Dataspace Protocol between spaces (issue 15) ---


@event_type
@dataclass(frozen=True, kw_only=True)
class PeerAdded(Event):
    """Another space was registered as a peer (its endpoint and public key id)."""

    action: ClassVar[str] = "peer.added"
    object_type: ClassVar[str] = "peer"

    url: str
    key_id: str


@event_type
@dataclass(frozen=True, kw_only=True)
class AutoAgreeRuleSet(Event):
    """A dataset owner set a rule agreeing a peer's contract requests within bounds."""

    action: ClassVar[str] = "contract.rule_set"
    object_type: ClassVar[str] = "dataset"

    peer: str
    purposes: list[str]
    max_days: int


@dataclass(frozen=True, kw_only=True)
class ContractEvent(Event):
    """A step of a contract negotiation or its transfer, as one side records it.

    The negotiation's state after the step, then the protocol message that made it:
    its type (``message``), ``direction`` (sent or received) and ``peer``; a received
    message adds what authenticated it (``nonce``, ``key_id``, ``body_sha256``).
    Not registered itself: each step is one of the subclasses below.
    """

    object_type: ClassVar[str] = "contract_negotiation"

    dataset: str
    organization: str
    purposes: list[str]
    until: str
    state: str
    peer_pid: str | None
    offer_id: str
    agreement_id: str | None
    transfer_state: str | None
    message: str
    direction: str
    peer: str
    signed: dict[str, str] = field(default_factory=dict, metadata=FLAT)
    reason: str | None = None
    by_rule: bool | None = None
    event: str | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class ContractRequested(ContractEvent):
    """A contract negotiation was requested (sent by the consumer, received by the provider)."""

    action: ClassVar[str] = "contract.requested"


@event_type
@dataclass(frozen=True, kw_only=True)
class ContractAgreed(ContractEvent):
    """The provider agreed a contract (its ``odrl:Agreement`` id and terms)."""

    action: ClassVar[str] = "contract.agreed"


@event_type
@dataclass(frozen=True, kw_only=True)
class ContractVerified(ContractEvent):
    """The consumer verified the agreement."""

    action: ClassVar[str] = "contract.verified"


@event_type
@dataclass(frozen=True, kw_only=True)
class ContractFinalized(ContractEvent):
    """The negotiation was finalized: the agreement is in force."""

    action: ClassVar[str] = "contract.finalized"


@event_type
@dataclass(frozen=True, kw_only=True)
class ContractTerminated(ContractEvent):
    """A negotiation was terminated (refused or withdrawn) before an agreement took force."""

    action: ClassVar[str] = "contract.terminated"


@event_type
@dataclass(frozen=True, kw_only=True)
class TransferStarted(ContractEvent):
    """Compute-to-data started: the agreed purposes are granted to the consumer's org."""

    action: ClassVar[str] = "transfer.started"


@event_type
@dataclass(frozen=True, kw_only=True)
class TransferTerminated(ContractEvent):
    """An agreement was revoked: its transfer terminated and its grant withdrawn."""

    action: ClassVar[str] = "transfer.terminated"


# --- jobs ---


@event_type
@dataclass(frozen=True, kw_only=True)
class JobSubmitted(Event):
    """An organization submitted a job (kind and parameters; never rows)."""

    action: ClassVar[str] = "job.submitted"
    object_type: ClassVar[str] = "job"

    kind: str
    params: dict[str, Any]


@event_type
@dataclass(frozen=True, kw_only=True)
class JobFinished(Event):
    """A job ended: succeeded (with its result references), failed (error code) or cancelled."""

    action: ClassVar[str] = "job.finished"
    object_type: ClassVar[str] = "job"

    kind: str
    status: str
    result: dict[str, Any] | None = None
    error: str | None = None


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


# --- agents (issue 19) ---


@event_type
@dataclass(frozen=True, kw_only=True)
class AgentCreated(Event):
    """A new version of an agent spec was stored (``object_id``: ``name@version``)."""

    action: ClassVar[str] = "agent.created"
    object_type: ClassVar[str] = "agent"

    scenario: str
    template: str
    models: list[str]
    observes: list[str]
    tools: list[str]
    planner: dict[str, Any]
    limits: dict[str, Any]


@event_type
@dataclass(frozen=True, kw_only=True)
class AgentToolDenied(Event):
    """An agent's tool call was refused (a tool or model not in its spec)."""

    action: ClassVar[str] = "agent.tool_denied"
    object_type: ClassVar[str] = "agent"

    run: str
    tool: str
    reason: str


@event_type
@dataclass(frozen=True, kw_only=True)
class AgentActed(Event):
    """An agent acted (an alarm to the notification sink, an escalation to a person, or an
    environment action); refused actions are recorded with ``refused`` set."""

    action: ClassVar[str] = "agent.acted"
    object_type: ClassVar[str] = "agent"

    run: str
    step: int
    decision: str
    sink: str
    score: float | None = None
    refused: str | None = None
    review_item: str | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class AgentPlannerConsulted(Event):
    """The LLM planner was asked to confirm or veto a rule proposal during a run: the
    question and the answer, as any decision is recorded (``object_id``: the agent)."""

    action: ClassVar[str] = "agent.planner_consulted"
    object_type: ClassVar[str] = "agent"

    run: str
    step: int
    proposed: str
    decision: str
    reason: str
    model: str
    prompt: str
    answer: str


@event_type
@dataclass(frozen=True, kw_only=True)
class AgentRunFinished(Event):
    """An agent's run ended (finished, or stopped by its kill switch)."""

    action: ClassVar[str] = "agent.run_finished"
    object_type: ClassVar[str] = "agent"

    run: str
    status: str
    steps: int
    tool_calls: dict[str, int]
    alarms: int
    escalations: int
    violations: int


@event_type
@dataclass(frozen=True, kw_only=True)
class AgentStopRequested(Event):
    """Someone pulled an agent's kill switch."""

    action: ClassVar[str] = "agent.stop_requested"
    object_type: ClassVar[str] = "agent"

    runs: list[str]


@event_type
@dataclass(frozen=True, kw_only=True)
class AgentEpisodesRegistered(Event):
    """An evaluator registered a sealed set of agent episodes (their count, never their
    starts, seeds or faults)."""

    action: ClassVar[str] = "agent.episodes_registered"
    object_type: ClassVar[str] = "agent_episodes"

    environment: str
    dataset: str | None
    episodes: int
    budget: int


@event_type
@dataclass(frozen=True, kw_only=True)
class AgentEvaluated(Event):
    """An agent ran through a sealed episode set; only task metrics are recorded."""

    action: ClassVar[str] = "agent.evaluated"
    object_type: ClassVar[str] = "agent"

    episodes: str
    evaluation: str
    metrics: dict[str, Any]
