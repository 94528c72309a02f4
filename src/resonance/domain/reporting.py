"""Reports of the action and their 2026 deadlines (pure).

Implementation plans are due May 30, mid-term reports Aug 30 and summary
reports Nov 30, 2026. A deadline is *met* when a report of its kind was
submitted for the subject on or before it, *late* when it was submitted after
it, *upcoming* when none was submitted and the date has not passed, and
*overdue* when none was submitted and it has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any


class ReportKind(StrEnum):
    """The three reports the action asks for."""

    PLAN = "plan"
    MIDTERM = "midterm"
    SUMMARY = "summary"


REPORT_TITLES: dict[ReportKind, str] = {
    ReportKind.PLAN: "Implementation plan",
    ReportKind.MIDTERM: "Mid-term report",
    ReportKind.SUMMARY: "Summary report",
}

DEADLINES: dict[ReportKind, date] = {
    ReportKind.PLAN: date(2026, 5, 30),
    ReportKind.MIDTERM: date(2026, 8, 30),
    ReportKind.SUMMARY: date(2026, 11, 30),
}


class SubjectKind(StrEnum):
    """Who a report is for."""

    PROVINCE = "province"
    ENTERPRISE = "enterprise"


class DeadlineState(StrEnum):
    """Where a deadline stands on a given date."""

    MET = "met"
    LATE = "late"
    UPCOMING = "upcoming"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class ReportSubmission:
    """A report handed in: which, for whom, when, and the hash of what was handed in."""

    kind: ReportKind
    subject_kind: SubjectKind
    subject: str
    submitted_on: date
    content_hash: str
    fmt: str
    submitted_by: str

    @property
    def days_late(self) -> int:
        """Days it was handed in after its deadline (0 when on time)."""
        return max(0, (self.submitted_on - DEADLINES[self.kind]).days)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "kind": self.kind.value,
            "subject_kind": self.subject_kind.value,
            "subject": self.subject,
            "submitted_on": self.submitted_on.isoformat(),
            "content_hash": self.content_hash,
            "format": self.fmt,
            "submitted_by": self.submitted_by,
        }


@dataclass(frozen=True)
class DeadlineStatus:
    """One deadline judged on ``as_of``."""

    kind: ReportKind
    due: date
    state: DeadlineState
    submitted_on: date | None
    days: int  # days left (upcoming) or past the deadline (overdue/late); 0 when met

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "kind": self.kind.value,
            "title": REPORT_TITLES[self.kind],
            "due": self.due.isoformat(),
            "state": self.state.value,
            "submitted_on": self.submitted_on.isoformat() if self.submitted_on else None,
            "days": self.days,
        }


def deadline_status(
    kind: ReportKind, submissions: list[ReportSubmission], *, as_of: date
) -> DeadlineStatus:
    """Judge one deadline from the subject's submissions, on the date ``as_of``.

    Only submissions made on or before ``as_of`` count (a report is judged as
    things stood that day).
    """
    due = DEADLINES[kind]
    dates = sorted(
        s.submitted_on for s in submissions if s.kind is kind and s.submitted_on <= as_of
    )
    on_time = [d for d in dates if d <= due]
    if on_time:
        return DeadlineStatus(kind, due, DeadlineState.MET, on_time[0], 0)
    if dates:
        return DeadlineStatus(kind, due, DeadlineState.LATE, dates[0], (dates[0] - due).days)
    if as_of <= due:
        return DeadlineStatus(kind, due, DeadlineState.UPCOMING, None, (due - as_of).days)
    return DeadlineStatus(kind, due, DeadlineState.OVERDUE, None, (as_of - due).days)


def all_deadlines(submissions: list[ReportSubmission], *, as_of: date) -> list[DeadlineStatus]:
    """The three deadlines judged on ``as_of``, in order."""
    return [deadline_status(k, submissions, as_of=as_of) for k in ReportKind]


# The seven key tasks of the notice, each with the quota items that measure it.
KEY_TASKS: dict[str, str] = {
    "industries": "Designate key industries and key cities",
    "common_datasets": "Build high-quality common datasets per industry",
    "industry_models": "Build key industry models and apply them",
    "scenarios": "Publish high-value scenario files",
    "specialized": "Build specialized datasets, models and agents per scenario",
    "spaces": "Build model-data resonance spaces",
    "consortia": "Form industry consortia (compute, model, data, application)",
}

# quota item key -> key task it measures
TASK_OF_ITEM: dict[str, str] = {
    "key_industries": "industries",
    "key_cities": "industries",
    "common_datasets": "common_datasets",
    "industry_models": "industry_models",
    "scenario_files": "scenarios",
    "specialized_datasets": "specialized",
    "specialized_models": "specialized",
    "resonance_spaces": "spaces",
    "consortia": "consortia",
}


@dataclass(frozen=True)
class TaskNote:
    """What the authority writes for one key task: measures (plan), progress, problems,
    next steps, and the landing cases it holds up as typical."""

    task: str
    measures: str = ""
    progress: str = ""
    problems: str = ""
    next_steps: str = ""
    typical_cases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {**self.__dict__, "typical_cases": list(self.typical_cases)}


@dataclass(frozen=True)
class ReportNote:
    """One version of the authority's text for a report (kept; later versions supersede)."""

    kind: ReportKind
    subject_kind: SubjectKind
    subject: str
    version: int
    author: str
    written_at: str
    tasks: tuple[TaskNote, ...]

    def task(self, key: str) -> TaskNote:
        """The note of one key task (empty when none was written)."""
        return next((t for t in self.tasks if t.task == key), TaskNote(key))

    def body(self) -> dict[str, Any]:
        """The stored JSON body."""
        return {"tasks": [t.to_dict() for t in self.tasks]}

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "kind": self.kind.value,
            "subject_kind": self.subject_kind.value,
            "subject": self.subject,
            "version": self.version,
            "author": self.author,
            "written_at": self.written_at,
            **self.body(),
        }

    @staticmethod
    def from_body(
        *,
        kind: ReportKind,
        subject_kind: SubjectKind,
        subject: str,
        version: int,
        author: str,
        written_at: str,
        body: dict[str, Any],
    ) -> ReportNote:
        """Rebuild a stored note."""
        tasks = tuple(
            TaskNote(
                task=t["task"],
                measures=t.get("measures", ""),
                progress=t.get("progress", ""),
                problems=t.get("problems", ""),
                next_steps=t.get("next_steps", ""),
                typical_cases=tuple(t.get("typical_cases", ())),
            )
            for t in body.get("tasks", [])
        )
        return ReportNote(kind, subject_kind, subject, version, author, written_at, tasks)
