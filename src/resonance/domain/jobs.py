"""Jobs: long work (training, loop, federated, diagnosis, valuation, reports) run by workers.

A job is recorded before it is queued and carries everything a person needs to follow it:
status, progress (0..1), a short message, log lines, references to what it produced and,
when it failed, the coded error. The submitting organization owns it; the work runs under
that organization's identity and the same policy checks as a direct call.

Status moves only forward::

    queued -> running -> succeeded | failed | cancelled
    queued -> cancelled

A job whose worker died is marked failed (RES-203) when a worker or server starts; it is
never left ``running``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from resonance.domain.errors import JobLimitReached
from resonance.domain.orgs import Organization, Role

#: Queued plus running jobs an organization may have at once, unless the operator sets another.
DEFAULT_MAX_ACTIVE_JOBS = 4
#: Log lines kept per job (the oldest are dropped first).
MAX_LOG_LINES = 500
#: Characters kept per log line and per message.
MAX_LINE = 500


class JobKind(StrEnum):
    """What a job does."""

    TRAIN = "train"
    LOOP = "loop"
    FEDERATE = "federate"
    DIAGNOSE = "diagnose"
    VALUATE = "valuate"
    REPORT = "report"
    AGENT_RUN = "agent-run"
    AGENT_EVAL = "agent-eval"


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        """Queued or running (counts against the organization's limit)."""
        return self in (JobStatus.QUEUED, JobStatus.RUNNING)


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass
class Job:
    """One job as stored.

    ``result`` holds references to what the job produced (``{"model": "steel@2"}``),
    never rows; ``error`` is the coded error (``{"code", "message", "details"}``) of a
    failed or cancelled job; ``worker`` names the process running it (``host:pid``).
    """

    id: str
    kind: JobKind
    organization: str
    status: JobStatus
    params: dict[str, Any]
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    heartbeat_at: str | None = None
    progress: float = 0.0
    message: str = ""
    logs: list[str] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    worker: str | None = None
    cancel_requested: bool = False

    @property
    def finished(self) -> bool:
        """True once the job succeeded, failed or was cancelled."""
        return self.status in FINAL_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the API's and ``--format json``'s)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "organization": self.organization,
            "status": self.status.value,
            "params": self.params,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "heartbeat_at": self.heartbeat_at,
            "progress": self.progress,
            "message": self.message,
            "logs": list(self.logs),
            "result": self.result,
            "error": self.error,
            "worker": self.worker,
            "cancel_requested": self.cancel_requested,
        }


def visible_to(job: Job, org: Organization) -> bool:
    """Whether ``org`` may see ``job``: its submitter, or the space operator."""
    return job.organization == org.name or org.has_role(Role.OPERATOR)


def check_job_limit(*, organization: str, active: int, limit: int) -> None:
    """Refuse a new job when ``organization`` already has ``limit`` active ones (RES-200)."""
    if active >= limit:
        raise JobLimitReached(
            f"{organization} already has {active} queued or running jobs (limit {limit}); "
            "wait for one to finish or cancel one (resonance job cancel ID)",
            organization=organization,
            active=active,
            limit=limit,
        )


def clip_line(text: str) -> str:
    """A log line or message cut to :data:`MAX_LINE` characters."""
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def append_log(logs: list[str], line: str) -> list[str]:
    """``logs`` with ``line`` appended, keeping the newest :data:`MAX_LOG_LINES`."""
    return [*logs, clip_line(line)][-MAX_LOG_LINES:]
