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
