"""Use cases: implementation plans, mid-term and summary reports per province or enterprise.

A report is built from the registries, the quota checks, the deadlines of
2026 and the ledger, as things stand on a given date; ``resonance.reports``
renders it as Markdown or HTML. Submitting a report records its content hash
(the ledger gets the event), which is what makes a deadline *met*.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from resonance.domain.errors import InvalidInput, NotFound
from resonance.domain.events import ReportSubmitted
from resonance.domain.ledger import LedgerEntry, verify_chain
from resonance.domain.orgs import Role
from resonance.domain.quotas import QuotaReport, check_enterprise, check_province
from resonance.domain.registry import HolderKind, RegistrySnapshot
from resonance.domain.reporting import (
    REPORT_TITLES,
    DeadlineStatus,
    ReportKind,
    ReportSubmission,
    SubjectKind,
    all_deadlines,
)
from resonance.services.orgs import require_role
from resonance.services.registry import snapshot_in
from resonance.services.space import Space, utcnow

FORMATS = ("md", "html")


@dataclass
class ReportData:
    """Everything a report shows, as of one date."""

    kind: ReportKind
    subject_kind: SubjectKind
    subject: str
    as_of: date
    generated_at: str
    space_name: str
    quota: QuotaReport
    deadlines: list[DeadlineStatus]
    submissions: list[ReportSubmission]
    key_industries: list[str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    activity: dict[str, dict[str, int]] = field(default_factory=dict)
    ledger: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """E.g. 'Mid-term report — province Jiangsu'."""
        return f"{REPORT_TITLES[self.kind]} — {self.subject_kind.value} {self.subject}"

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "kind": self.kind.value,
            "title": self.title,
            "subject_kind": self.subject_kind.value,
            "subject": self.subject,
            "as_of": self.as_of.isoformat(),
            "generated_at": self.generated_at,
            "space": self.space_name,
            "deadlines": [d.to_dict() for d in self.deadlines],
            "submissions": [s.to_dict() for s in self.submissions],
            "key_industries": self.key_industries,
            "quota": self.quota.to_dict(),
            "counts": self.counts,
            "activity": self.activity,
            "ledger": self.ledger,
        }


def _industry_counts(
    snap: RegistrySnapshot, industries: list[str], trained: Counter[str]
) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for ind in industries:
        out[ind] = {
            "trained model versions": trained[ind],
            "common datasets": sum(
                1 for d in snap.datasets if d.industry == ind and d.kind == "common"
            ),
            "specialized datasets": sum(
                1 for d in snap.datasets if d.industry == ind and d.kind == "specialized"
            ),
            "models and agents": sum(1 for m in snap.models if m.industry == ind),
            "landing cases": sum(
                len(snap.cases_of(m.name)) for m in snap.models if m.industry == ind
            ),
            "scenario files": sum(1 for s in snap.scenarios if s.industry == ind),
            "consortia": sum(1 for c in snap.consortia if c.industry == ind),
        }
    return out


def _subject(
    snap: RegistrySnapshot, province: str | None, enterprise: str | None
) -> tuple[SubjectKind, str, QuotaReport, HolderKind]:
    if bool(province) == bool(enterprise):
        raise InvalidInput("give exactly one of: province, enterprise")
    if province:
        return SubjectKind.PROVINCE, province, check_province(snap, province), HolderKind.PROVINCE
    assert enterprise
    if enterprise not in snap.central_enterprises():
        raise NotFound(f"{enterprise!r} is not a central enterprise of this space")
    return (
        SubjectKind.ENTERPRISE,
        enterprise,
        check_enterprise(snap, enterprise),
        HolderKind.ENTERPRISE,
    )


def build_report(
    space: Space,
    *,
    kind: ReportKind,
    province: str | None = None,
    enterprise: str | None = None,
    as_of: date | None = None,
) -> ReportData:
    """Gather a report's content for a province or a central enterprise, as of ``as_of``.

    The plan lists the targets and what is missing; the mid-term report adds
    progress and activity; the summary report states what was achieved. All
    three show the quota checks and where each 2026 deadline stands.
    """
    on = as_of or space.today()
    with space.work() as w:
        snap = snapshot_in(w.tx)
        trained = Counter(v.industry or "" for v in w.tx.list_model_versions())
        subject_kind, subject, quota, holder_kind = _subject(snap, province, enterprise)
        subs = w.tx.list_report_submissions(subject_kind=subject_kind, subject=subject)
        head = w.tx.recorded_head()
        activity: dict[str, Counter[str]] = {}

        def tally(entries: Iterator[LedgerEntry]) -> Iterator[LedgerEntry]:
            # one pass over the chain: verify it and count activity per month and area
            for e in entries:
                if e.timestamp[:10] <= on.isoformat():
                    activity.setdefault(e.timestamp[:7], Counter())[e.action.split(".")[0]] += 1
                yield e

        verify = verify_chain(
            tally(w.tx.iter_ledger()),
            head_seq=head[0] if head else 0,
            head_hash=head[1] if head else None,
        )
    industries = sorted(
        {
            k.industry
            for k in snap.key_industries
            if k.holder_kind is holder_kind and k.holder == subject
        }
    )
    return ReportData(
        kind=kind,
        subject_kind=subject_kind,
        subject=subject,
        as_of=on,
        generated_at=utcnow(),
        space_name=space.config.name,
        quota=quota,
        deadlines=all_deadlines(subs, as_of=on),
        submissions=[s for s in subs if s.submitted_on <= on],
        key_industries=industries,
        counts=_industry_counts(snap, industries, trained),
        activity={m: dict(c) for m, c in sorted(activity.items())},
        ledger={"entries": verify.entries, "verified": verify.ok},
    )


def submit_report(
    space: Space, *, actor: str, data: ReportData, content: bytes, fmt: str
) -> ReportSubmission:
    """Record that a rendered report was handed in on its ``as_of`` date (operator/authority).

    The content's SHA-256 goes to the ledger, so what was handed in can be
    checked later. A report cannot be dated after today.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown report format {fmt!r}; use md or html", format=fmt)
    if data.as_of > space.today():
        raise InvalidInput("a report cannot be submitted with a date in the future")
    sub = ReportSubmission(
        kind=data.kind,
        subject_kind=data.subject_kind,
        subject=data.subject,
        submitted_on=data.as_of,
        content_hash=hashlib.sha256(content).hexdigest(),
        fmt=fmt,
        submitted_by=actor,
    )
    with space.work() as w:
        require_role(w.tx, actor, Role.OPERATOR, Role.AUTHORITY)
        w.tx.add_report_submission(sub)
        w.emit(
            ReportSubmitted(
                actor=actor,
                object_id=f"{sub.kind.value}:{sub.subject_kind.value}:{sub.subject}",
                submission=sub,
            )
        )
    return sub


def list_submissions(
    space: Space, *, subject_kind: SubjectKind | None = None, subject: str | None = None
) -> list[ReportSubmission]:
    """Submitted reports, oldest first."""
    with space.work() as w:
        return w.tx.list_report_submissions(subject_kind=subject_kind, subject=subject)
