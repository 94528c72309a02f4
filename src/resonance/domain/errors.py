"""Domain errors with stable codes.

Every error raised by the domain or the services carries a stable ``code``
string. Only the API and the CLI translate these into HTTP statuses or exit
codes; the catalog below is the single source of truth for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class ErrorSpec:
    """One entry of the error catalog."""

    code: str
    http_status: int
    summary: str


ERROR_CATALOG: dict[str, ErrorSpec] = {}


def _spec(code: str, http_status: int, summary: str) -> ErrorSpec:
    spec = ErrorSpec(code, http_status, summary)
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

    spec: ClassVar[ErrorSpec] = _spec("RES-000", 500, "internal error")

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

    spec = _spec("RES-100", 422, "invalid input")


class NotFound(ResonanceError):
    """An id names nothing in the space."""

    spec = _spec("RES-101", 404, "not found")


class AlreadyExists(ResonanceError):
    """A unique name is taken."""

    spec = _spec("RES-102", 409, "already exists")


class MalformedFile(ResonanceError):
    """A data file cannot be parsed."""

    spec = _spec("RES-110", 422, "malformed file")


class FileTooLarge(ResonanceError):
    """A data file is above the space's ingest limit."""

    spec = _spec("RES-111", 413, "file too large")


class SchemaMismatch(ResonanceError):
    """A new version's schema differs from the dataset's schema."""

    spec = _spec("RES-112", 422, "schema mismatch")


class ValidationFailed(ResonanceError):
    """A dataset failed validation with errors (not just warnings)."""

    spec = _spec("RES-113", 422, "validation failed")


class PolicyDenied(ResonanceError):
    """A usage policy denies the requested access; the denial is on the ledger."""

    spec = _spec("RES-120", 403, "access denied by usage policy")


class Unauthorized(ResonanceError):
    """No valid credentials were presented."""

    spec = _spec("RES-121", 401, "unauthorized")


class RoleRequired(ResonanceError):
    """The acting organization lacks the role the action needs."""

    spec = _spec("RES-122", 403, "role required")


class SealedData(ResonanceError):
    """Rows of a sealed evaluation set were requested by someone who may not see them."""

    spec = _spec("RES-123", 403, "sealed evaluation data")


class BudgetExhausted(ResonanceError):
    """A query or acquisition budget is used up."""

    spec = _spec("RES-130", 429, "budget exhausted")


class LedgerTampered(ResonanceError):
    """The ledger's hash chain does not verify."""

    spec = _spec("RES-140", 409, "ledger tampered")


class Conflict(ResonanceError):
    """The request conflicts with the current state."""

    spec = _spec("RES-150", 409, "conflict")


class StoreUnavailable(ResonanceError):
    """The metadata store cannot be reached or is not initialised."""

    spec = _spec("RES-160", 503, "store unavailable")


class TrainingFailed(ResonanceError):
    """A trainer could not fit a model on the given data."""

    spec = _spec("RES-170", 422, "training failed")


# --- the authority's side: attribution, validated registries, reports, national bundles ---


class UnknownRegion(ResonanceError):
    """A province or region is not one of the 31 provincial-level divisions."""

    spec = _spec("RES-190", 422, "unknown province or region")


class OutsideRegion(ResonanceError):
    """An authority acted for a region other than its own."""

    spec = _spec("RES-191", 403, "outside the authority's region")


class UnverifiedEntry(ResonanceError):
    """A registry entry lacks what makes it count (a real model, a sealed evaluation,
    an adopter other than the builder, evidence)."""

    spec = _spec("RES-192", 422, "registry entry not verifiable")


class StepNotAllowed(ResonanceError):
    """A status change the entry's state machine does not allow, or not to this actor."""

    spec = _spec("RES-193", 409, "status change not allowed")


class BundleInvalid(ResonanceError):
    """A space's bundle is unsigned, tampered with, or signed by another key."""

    spec = _spec("RES-194", 422, "bundle signature invalid")


class SubmissionRefused(ResonanceError):
    """A report cannot be submitted as asked (a back-dated preview, a changed submission)."""

    spec = _spec("RES-195", 409, "submission refused")


class BulkRejected(ResonanceError):
    """A bulk file has invalid rows; nothing of it was stored (details: per-row report)."""

    spec = _spec("RES-196", 422, "bulk import rejected")


# --- interconnection: ODRL policies, DCAT catalogs, Dataspace Protocol (issue 15) ---


class OdrlUnsupported(ResonanceError):
    """An ODRL policy uses a term that does not map to a usage policy (``details.term``)."""

    spec = _spec("RES-180", 422, "ODRL term not supported")


class MessageUnauthenticated(ResonanceError):
    """A message between spaces is unsigned, from an unknown peer, or its signature is wrong."""

    spec = _spec("RES-181", 401, "message not authenticated")


class MessageReplayed(ResonanceError):
    """A message between spaces reuses a nonce or its timestamp is outside the window."""

    spec = _spec("RES-182", 409, "message replayed or stale")


class MalformedMessage(ResonanceError):
    """A Dataspace Protocol message is not well formed."""

    spec = _spec("RES-183", 400, "malformed protocol message")


class InvalidTransition(ResonanceError):
    """A negotiation or transfer process cannot move to the asked state from its current one."""

    spec = _spec("RES-184", 409, "invalid state transition")


class PeerUnreachable(ResonanceError):
    """The peer space could not be reached or answered with an error."""

    spec = _spec("RES-185", 502, "peer unreachable")


# --- web console (RES-210..RES-219) ---


class CsrfRejected(ResonanceError):
    """A console form came without its session's CSRF token, or from another origin."""

    spec = _spec("RES-210", 403, "CSRF check failed")


# --- jobs (RES-200..RES-209) ---


class JobLimitReached(ResonanceError):
    """The organization already has as many queued or running jobs as it may."""

    spec = _spec("RES-200", 429, "job limit reached")


class JobNotCancellable(ResonanceError):
    """The job has already finished (succeeded, failed or cancelled)."""

    spec = _spec("RES-201", 409, "job not cancellable")


class QueueUnavailable(ResonanceError):
    """The job queue (its SQLite file or Redis) cannot be reached."""

    spec = _spec("RES-202", 503, "job queue unavailable")


class WorkerLost(ResonanceError):
    """The worker running a job died before the job finished."""

    spec = _spec("RES-203", 500, "job worker lost")


class JobCancelled(ResonanceError):
    """The job was cancelled while it ran (recorded as the job's outcome)."""

    spec = _spec("RES-204", 409, "job cancelled")


class JobCrashed(ResonanceError):
    """The job's work raised an unexpected error (its type and message are recorded)."""

    spec = _spec("RES-205", 500, "job crashed")


# --- trust (issue 9): derived data, per-row outputs, scoped views (RES-124..RES-129) --------


class DerivedDataset(ResonanceError):
    """A derived dataset takes no ingested versions and no policy of its own.

    Its versions come only from the platform's work, and its rules are computed
    from the policies of the sources its rows came from.
    """

    spec = _spec("RES-124", 403, "derived dataset: rules come from its sources")


class CredentialRequired(ResonanceError):
    """The CLI acts for an organization only with that organization's token.

    ``resonance login`` stores a token, ``RESONANCE_TOKEN`` gives one; direct
    access to the store is the operator's administrative mode (``--admin``),
    which needs write access to the space's folder and is recorded on the ledger.
    """

    spec = _spec("RES-125", 401, "credential of the acting organization required")


class ProvenanceMissing(ResonanceError):
    """A version made from other versions must say, per row, where each row came from."""

    spec = _spec("RES-126", 422, "per-row provenance missing or inconsistent")


# --- review queue of data holders (issue 11) ---


class NotReviewer(ResonanceError):
    """Only a row's owner, or an organization it delegated reviewing to, sees and decides it."""

    spec = _spec("RES-220", 403, "not the rows' owner or its delegated reviewer")


class ReviewClosed(ResonanceError):
    """The review item was already decided or has expired."""

    spec = _spec("RES-221", 409, "review item closed")


class BadDecisionFile(ResonanceError):
    """A file of review decisions cannot be read (columns, decisions, ids)."""

    spec = _spec("RES-222", 422, "bad decision file")


# --- integrity: artifacts, model files, receipts, caps (issue 17) ---


class ArtifactCorrupted(ResonanceError):
    """A stored artifact's bytes no longer match its content address, or do not parse."""

    spec = _spec("RES-114", 409, "artifact corrupted")


class UnsafeModelFile(ResonanceError):
    """A model file is not in a format that loads without running code (e.g. a pickle)."""

    spec = _spec("RES-115", 422, "unsafe model file")


class LimitExceeded(ResonanceError):
    """Input is above one of the space's caps (columns, rows, cell length, parameters)."""

    spec = _spec("RES-116", 413, "limit exceeded")


# --- regression (issue 10) ---


class TaskNotSupported(ResonanceError):
    """A capability cannot do the task the dataset's label spec declares (or was asked another)."""

    spec = _spec("RES-230", 422, "task not supported")


# --- agents (issue 19) ---


class ToolNotAllowed(ResonanceError):
    """An agent called a tool its spec does not give it."""

    spec = _spec("RES-240", 403, "tool not allowed")


class ModelNotAllowed(ResonanceError):
    """An agent's predict named a model version its spec does not list."""

    spec = _spec("RES-241", 403, "model not allowed")


class AgentStopped(ResonanceError):
    """The kill switch stopped the agent's run (checked between steps)."""

    spec = _spec("RES-242", 409, "agent stopped")


class ActionRefused(ResonanceError):
    """An action is outside the agent's limits (actions per hour, value range)."""

    spec = _spec("RES-243", 429, "action refused")


class EpisodeBudgetExhausted(ResonanceError):
    """The organization spent its evaluations of a sealed episode set."""

    spec = _spec("RES-244", 429, "episode budget exhausted")


class EnvironmentUnavailable(ResonanceError):
    """An agent environment needs an optional package that is not installed."""

    spec = _spec("RES-245", 501, "environment unavailable")
