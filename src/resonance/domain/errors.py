"""Domain errors with stable codes.

Every error raised by the domain or the services carries a stable ``code``
string and a :class:`Kind` (what sort of failure it is). Only the adapters
translate them: the API maps each kind to a status of its protocol (see
``resonance.api.errors``), the CLI exits with status 1. The catalog below is
the single source of truth for codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar


class Kind(StrEnum):
    """What sort of failure an error is, independent of any protocol."""

    INVALID = "invalid"  # malformed request
    UNAUTHENTICATED = "unauthenticated"  # who asks is not established
    FORBIDDEN = "forbidden"  # who asks may not do it
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # the state of the space does not allow it
    TOO_LARGE = "too_large"  # above a cap
    UNPROCESSABLE = "unprocessable"  # well formed, but the content is refused
    RATE_LIMITED = "rate_limited"  # a budget or concurrency limit is reached
    INTERNAL = "internal"
    UPSTREAM = "upstream"  # another system (a peer space) failed
    UNAVAILABLE = "unavailable"  # a component of the space cannot be reached


@dataclass(frozen=True)
class ErrorSpec:
    """One entry of the error catalog."""

    code: str
    kind: Kind
    summary: str


ERROR_CATALOG: dict[str, ErrorSpec] = {}


def _spec(code: str, kind: Kind, summary: str) -> ErrorSpec:
    spec = ErrorSpec(code, kind, summary)
    ERROR_CATALOG[code] = spec
    return spec


class ResonanceError(Exception):
    """Base class of every domain error.

    Parameters
    ----------
    message:
        Human readable explanation, saying what to do about it where possible.
    details:
        Machine readable context (ids, column names, row numbers).
    """

    spec: ClassVar[ErrorSpec] = _spec("RES-000", Kind.INTERNAL, "internal error")

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def code(self) -> str:
        """Stable error code, e.g. ``RES-101``."""
        return self.spec.code

    def to_dict(self) -> dict[str, Any]:
        """Return the single JSON error shape used by the API and the CLI."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(ResonanceError):
    """An argument is malformed or out of range."""

    spec = _spec("RES-100", Kind.UNPROCESSABLE, "invalid input")


class NotFound(ResonanceError):
    """An id names nothing in the space."""

    spec = _spec("RES-101", Kind.NOT_FOUND, "not found")


class AlreadyExists(ResonanceError):
    """A unique name is taken."""

    spec = _spec("RES-102", Kind.CONFLICT, "already exists")


class MalformedFile(ResonanceError):
    """A data file cannot be parsed."""

    spec = _spec("RES-110", Kind.UNPROCESSABLE, "malformed file")


class FileTooLarge(ResonanceError):
    """A data file is above the space's ingest limit."""

    spec = _spec("RES-111", Kind.TOO_LARGE, "file too large")


class SchemaMismatch(ResonanceError):
    """A new version's schema differs from the dataset's schema."""

    spec = _spec("RES-112", Kind.UNPROCESSABLE, "schema mismatch")


class ValidationFailed(ResonanceError):
    """A dataset failed validation with errors (not just warnings)."""

    spec = _spec("RES-113", Kind.UNPROCESSABLE, "validation failed")


class PolicyDenied(ResonanceError):
    """A usage policy denies the requested access; the denial is on the ledger."""

    spec = _spec("RES-120", Kind.FORBIDDEN, "access denied by usage policy")


class Unauthorized(ResonanceError):
    """No valid credentials were presented."""

    spec = _spec("RES-121", Kind.UNAUTHENTICATED, "unauthorized")


class RoleRequired(ResonanceError):
    """The acting organization lacks the role the action needs."""

    spec = _spec("RES-122", Kind.FORBIDDEN, "role required")


class SealedData(ResonanceError):
    """Rows of a sealed evaluation set were requested by someone who may not see them."""

    spec = _spec("RES-123", Kind.FORBIDDEN, "sealed evaluation data")


class BudgetExhausted(ResonanceError):
    """A query or acquisition budget is used up."""

    spec = _spec("RES-130", Kind.RATE_LIMITED, "budget exhausted")


class LedgerTampered(ResonanceError):
    """The ledger's hash chain does not verify."""

    spec = _spec("RES-140", Kind.CONFLICT, "ledger tampered")


class Conflict(ResonanceError):
    """The request conflicts with the current state."""

    spec = _spec("RES-150", Kind.CONFLICT, "conflict")


class StoreUnavailable(ResonanceError):
    """The metadata store cannot be reached or is not initialised."""

    spec = _spec("RES-160", Kind.UNAVAILABLE, "store unavailable")


class TrainingFailed(ResonanceError):
    """A trainer could not fit a model on the given data."""

    spec = _spec("RES-170", Kind.UNPROCESSABLE, "training failed")


# --- the authority's side: attribution, validated registries, reports, national bundles ---


class UnknownRegion(ResonanceError):
    """A province or region is not one of the 31 provincial-level divisions."""

    spec = _spec("RES-190", Kind.UNPROCESSABLE, "unknown province or region")


class OutsideRegion(ResonanceError):
    """An authority acted for a region other than its own."""

    spec = _spec("RES-191", Kind.FORBIDDEN, "outside the authority's region")


class UnverifiedEntry(ResonanceError):
    """A registry entry lacks what makes it count (a real model, a sealed evaluation,
    an adopter other than the builder, evidence)."""

    spec = _spec("RES-192", Kind.UNPROCESSABLE, "registry entry not verifiable")


class StepNotAllowed(ResonanceError):
    """A status change the entry's state machine does not allow, or not to this actor."""

    spec = _spec("RES-193", Kind.CONFLICT, "status change not allowed")


class BundleInvalid(ResonanceError):
    """A space's bundle is unsigned, tampered with, or signed by another key."""

    spec = _spec("RES-194", Kind.UNPROCESSABLE, "bundle signature invalid")


class SubmissionRefused(ResonanceError):
    """A report cannot be submitted as asked (a back-dated preview, a changed submission)."""

    spec = _spec("RES-195", Kind.CONFLICT, "submission refused")


class BulkRejected(ResonanceError):
    """A bulk file has invalid rows; nothing of it was stored (details: per-row report)."""

    spec = _spec("RES-196", Kind.UNPROCESSABLE, "bulk import rejected")


# --- interconnection: ODRL policies, DCAT catalogs, Dataspace Protocol (issue 15) ---


class OdrlUnsupported(ResonanceError):
    """An ODRL policy uses a term that does not map to a usage policy (``details.term``)."""

    spec = _spec("RES-180", Kind.UNPROCESSABLE, "ODRL term not supported")


class MessageUnauthenticated(ResonanceError):
    """A message between spaces is unsigned, from an unknown peer, or its signature is wrong."""

    spec = _spec("RES-181", Kind.UNAUTHENTICATED, "message not authenticated")


class MessageReplayed(ResonanceError):
    """A message between spaces reuses a nonce or its timestamp is outside the window."""

    spec = _spec("RES-182", Kind.CONFLICT, "message replayed or stale")


class MalformedMessage(ResonanceError):
    """A Dataspace Protocol message is not well formed."""

    spec = _spec("RES-183", Kind.INVALID, "malformed protocol message")


class InvalidTransition(ResonanceError):
    """A negotiation or transfer process cannot move to the asked state from its current one."""

    spec = _spec("RES-184", Kind.CONFLICT, "invalid state transition")


class PeerUnreachable(ResonanceError):
    """The peer space could not be reached or answered with an error."""

    spec = _spec("RES-185", Kind.UPSTREAM, "peer unreachable")


# --- web console (RES-210..RES-219) ---


class CsrfRejected(ResonanceError):
    """A console form came without its session's CSRF token, or from another origin."""

    spec = _spec("RES-210", Kind.FORBIDDEN, "CSRF check failed")


# --- jobs (RES-200..RES-209) ---


class JobLimitReached(ResonanceError):
    """The organization already has as many queued or running jobs as it may."""

    spec = _spec("RES-200", Kind.RATE_LIMITED, "job limit reached")


class JobNotCancellable(ResonanceError):
    """The job has already finished (succeeded, failed or cancelled)."""

    spec = _spec("RES-201", Kind.CONFLICT, "job not cancellable")


class QueueUnavailable(ResonanceError):
    """The job queue (its SQLite file or Redis) cannot be reached."""

    spec = _spec("RES-202", Kind.UNAVAILABLE, "job queue unavailable")


class WorkerLost(ResonanceError):
    """The worker running a job died before the job finished."""

    spec = _spec("RES-203", Kind.INTERNAL, "job worker lost")


class JobCancelled(ResonanceError):
    """The job was cancelled while it ran (recorded as the job's outcome)."""

    spec = _spec("RES-204", Kind.CONFLICT, "job cancelled")


class JobCrashed(ResonanceError):
    """The job's work raised an unexpected error (its type and message are recorded)."""

    spec = _spec("RES-205", Kind.INTERNAL, "job crashed")


# --- trust (issue 9): derived data, per-row outputs, scoped views (RES-124..RES-129) --------


class DerivedDataset(ResonanceError):
    """A derived dataset takes no ingested versions and no policy of its own.

    Its versions come only from the platform's work, and its rules are computed
    from the policies of the sources its rows came from.
    """

    spec = _spec("RES-124", Kind.FORBIDDEN, "derived dataset: rules come from its sources")


class CredentialRequired(ResonanceError):
    """The CLI acts for an organization only with that organization's token.

    ``resonance login`` stores a token, ``RESONANCE_TOKEN`` gives one; direct
    access to the store is the operator's administrative mode (``--admin``),
    which needs write access to the space's folder and is recorded on the ledger.
    """

    spec = _spec("RES-125", Kind.UNAUTHENTICATED, "credential of the acting organization required")


class ProvenanceMissing(ResonanceError):
    """A version made from other versions must say, per row, where each row came from."""

    spec = _spec("RES-126", Kind.UNPROCESSABLE, "per-row provenance missing or inconsistent")


# --- review queue of data holders (issue 11) ---


class NotReviewer(ResonanceError):
    """Only a row's owner, or an organization it delegated reviewing to, sees and decides it."""

    spec = _spec("RES-220", Kind.FORBIDDEN, "not the rows' owner or its delegated reviewer")


class ReviewClosed(ResonanceError):
    """The review item was already decided or has expired."""

    spec = _spec("RES-221", Kind.CONFLICT, "review item closed")


class BadDecisionFile(ResonanceError):
    """A file of review decisions cannot be read (columns, decisions, ids)."""

    spec = _spec("RES-222", Kind.UNPROCESSABLE, "bad decision file")


# --- integrity: artifacts, model files, receipts, caps (issue 17) ---


class ArtifactCorrupted(ResonanceError):
    """A stored artifact's bytes no longer match its content address, or do not parse."""

    spec = _spec("RES-114", Kind.CONFLICT, "artifact corrupted")


class UnsafeModelFile(ResonanceError):
    """A model file is not in a format that loads without running code (e.g. a pickle)."""

    spec = _spec("RES-115", Kind.UNPROCESSABLE, "unsafe model file")


class LimitExceeded(ResonanceError):
    """Input is above one of the space's caps (columns, rows, cell length, parameters)."""

    spec = _spec("RES-116", Kind.TOO_LARGE, "limit exceeded")


# --- regression (issue 10) ---


class TaskNotSupported(ResonanceError):
    """A capability cannot do the task the dataset's label spec declares (or was asked another)."""

    spec = _spec("RES-230", Kind.UNPROCESSABLE, "task not supported")


# --- remote CLI (issue 9) ---


class RemoteUnsupported(ResonanceError):
    """A command (or one of its options) does not run against a remote space's API.

    The CLI never falls back to acting on a local store: run it on the space's machine.
    """

    spec = _spec("RES-260", Kind.INVALID, "command not supported against a remote space")


class RemoteUnavailable(ResonanceError):
    """The remote space's API could not be reached (refused, timed out, TLS failure)."""

    spec = _spec("RES-261", Kind.UNAVAILABLE, "remote space unreachable")


class RemoteProtocolError(ResonanceError):
    """The remote answered with something that is not the Resonance API's response."""

    spec = _spec("RES-262", Kind.UPSTREAM, "unexpected answer from the remote space")


class RemoteReadIncomplete(ResonanceError):
    """A remote ``dataset read`` would return fewer rows than the version holds."""

    spec = _spec("RES-263", Kind.TOO_LARGE, "remote read above the API's per-request row cap")


# --- agents (issue 19) ---


class ToolNotAllowed(ResonanceError):
    """An agent called a tool its spec does not give it."""

    spec = _spec("RES-240", Kind.FORBIDDEN, "tool not allowed")


class ModelNotAllowed(ResonanceError):
    """An agent's predict named a model version its spec does not list."""

    spec = _spec("RES-241", Kind.FORBIDDEN, "model not allowed")


class AgentStopped(ResonanceError):
    """The kill switch stopped the agent's run (checked between steps)."""

    spec = _spec("RES-242", Kind.CONFLICT, "agent stopped")


class ActionRefused(ResonanceError):
    """An action is outside the agent's limits (actions per hour, value range)."""

    spec = _spec("RES-243", Kind.RATE_LIMITED, "action refused")


class EpisodeBudgetExhausted(ResonanceError):
    """The organization spent its evaluations of a sealed episode set."""

    spec = _spec("RES-244", Kind.RATE_LIMITED, "episode budget exhausted")


class EnvironmentUnavailable(ResonanceError):
    """An agent environment needs an optional package that is not installed."""

    spec = _spec("RES-245", Kind.UNAVAILABLE, "environment unavailable")


class PlannerUnavailable(ResonanceError):
    """The LLM planner has no endpoint configured, or the endpoint failed or is not inside
    the space (its prompts carry model outputs derived from members' rows)."""

    spec = _spec("RES-246", Kind.UNPROCESSABLE, "planner unavailable")


# --- loop acceptance (issue 12) ---


class InvalidAcceptanceTest(ResonanceError):
    """The loop's acceptance test options are out of range (confidence, min-gain, ...)."""

    spec = _spec("RES-250", Kind.UNPROCESSABLE, "invalid acceptance test")
