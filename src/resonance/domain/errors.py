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


# --- regression (issue 10) ---


class TaskNotSupported(ResonanceError):
    """A capability cannot do the task the dataset's label spec declares (or was asked another)."""

    spec = _spec("RES-230", 422, "task not supported")
