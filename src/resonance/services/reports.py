"""Use cases: implementation plans, mid-term and summary reports per province or enterprise.

A report is built from the registries, the quota checks, the deadlines of
2026 and the ledger, as things stand on a given date; ``resonance.reports``
renders it as Markdown or HTML. Submitting a report records its content hash
(the ledger gets the event), which is what makes a deadline *met*.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from resonance.domain.achievements import achievements
from resonance.domain.asof import as_of as restrict_as_of
from resonance.domain.asof import ledger_view
from resonance.domain.attribution import scope
from resonance.domain.errors import InvalidInput, NotFound, SubmissionRefused
from resonance.domain.events import ReportNoteWritten, ReportSubmitted
from resonance.domain.ledger import verify_chain
from resonance.domain.national import Achievement
from resonance.domain.provinces import check_province as valid_province
from resonance.domain.quotas import QuotaItem, QuotaReport, check_enterprise, check_province
from resonance.domain.registry import HolderKind, RegistrySnapshot, check_text
from resonance.domain.reporting import (
    KEY_TASKS,
    REPORT_TITLES,
    TASK_OF_ITEM,
    DeadlineStatus,
    ReportKind,
    ReportNote,
    ReportSubmission,
    SubjectKind,
    TaskNote,
    all_deadlines,
)
from resonance.services.registry import holder_region, require_curator, snapshot_in
from resonance.services.space import Space, utcnow
from resonance.storage.store import Tx

FORMATS = ("md", "html")


@dataclass(frozen=True)
class TaskSection:
    """One of the seven key tasks in a report: the target numbers, what is done (named
    achievements with their registry refs and evidence) and the authority's text."""

    key: str
    title: str
    items: list[QuotaItem]
    done: list[Achievement]
    note: TaskNote

    @property
    def completion(self) -> float:
        """Share of the task's floors reached, 0..1 (1.0 when it has no number)."""
        return QuotaReport("task", self.key, self.items).progress()

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "key": self.key,
            "title": self.title,
            "completion": round(self.completion, 4),
            "met": all(i.met for i in self.items),
            "items": [i.to_dict() for i in self.items],
            "done": [a.to_dict() for a in self.done],
            "note": self.note.to_dict(),
        }


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
    tasks: list[TaskSection] = field(default_factory=list)
    note_version: int = 0
    preview: bool = False  # built with --as-of for a past date: not submittable

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
            "preview": self.preview,
            "generated_at": self.generated_at,
            "space": self.space_name,
            "deadlines": [d.to_dict() for d in self.deadlines],
            "submissions": [s.to_dict() for s in self.submissions],
            "key_industries": self.key_industries,
            "quota": self.quota.to_dict(),
            "tasks": [t.to_dict() for t in self.tasks],
            "note_version": self.note_version,
            "counts": self.counts,
            "activity": self.activity,
            "ledger": self.ledger,
        }


def _walk(q: QuotaReport, prefix: str = "") -> list[QuotaItem]:
    """Every quota item of the subject and its industries, labelled by industry."""
    out = []
    for i in q.items:
        label = f"{prefix}{i.label}" if prefix else i.label
        out.append(replace(i, label=label))
    for c in q.children:
        if c.scope == "industry":
            out.extend(_walk(c, f"{c.subject}: "))
        else:  # scenarios: one summary item per check, not 90 rows
            continue
    if q.scope == "industry":
        scen = [c for c in q.children if c.scope == "scenario"]
        for key in ("specialized_datasets", "specialized_models"):
            met = sum(1 for c in scen if any(i.key == key and i.met for i in c.items))
            label = {
                "specialized_datasets": "scenarios with a specialized dataset",
                "specialized_models": "scenarios with a specialized model/agent with ≥3 cases",
            }[key]
            out.append(QuotaItem(key, f"{prefix}{label}", len(scen), met))
    return out


def _tasks(
    quota: QuotaReport, done: list[Achievement], note: ReportNote | None
) -> list[TaskSection]:
    items = _walk(quota)
    lists_of_task = {
        "industries": ("key_cities",),
        "common_datasets": ("common_datasets",),
        "industry_models": ("industry_models",),
        "scenarios": ("scenarios",),
        "specialized": ("specialized_datasets", "specialized_models"),
        "spaces": ("spaces",),
        "consortia": ("consortia",),
    }
    out = []
    for key, title in KEY_TASKS.items():
        out.append(
            TaskSection(
                key=key,
                title=title,
                items=[i for i in items if TASK_OF_ITEM.get(i.key) == key],
                done=[a for a in done if a.list in lists_of_task[key]],
                note=note.task(key) if note else TaskNote(key),
            )
        )
    return out


def _industry_counts(
    snap: RegistrySnapshot, industries: list[str], trained: Counter[str]
) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for ind in industries:
        out[ind] = {
            "trained model versions": trained[ind],
            # a dataset counts with a version that may be its latest (rejected loop
            # candidates never are; a dataset with only those has none)
            "common datasets": sum(
                1 for d in snap.datasets if d.industry == ind and d.kind == "common" and d.version
            ),
            "specialized datasets": sum(
                1
                for d in snap.datasets
                if d.industry == ind and d.kind == "specialized" and d.version
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
        province = valid_province(province)
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


def _subject_region(tx: Tx, subject_kind: SubjectKind, subject: str) -> str:
    if subject_kind is SubjectKind.PROVINCE:
        return subject
    return holder_region(tx, HolderKind.ENTERPRISE, subject)


def _latest_note(
    tx: Tx, kind: ReportKind, subject_kind: SubjectKind, subject: str, *, until: str | None
) -> ReportNote | None:
    notes = tx.list_report_notes(kind=kind, subject_kind=subject_kind, subject=subject)
    if until is not None:
        notes = [n for n in notes if n.written_at[:10] <= until]
    return notes[-1] if notes else None


def build_report(
    space: Space,
    *,
    kind: ReportKind,
    province: str | None = None,
    enterprise: str | None = None,
    as_of: date | None = None,
) -> ReportData:
    """Gather a report's content for a province or a central enterprise.

    Without ``as_of`` the report shows things as they stand today. With a past
    ``as_of`` it is a *preview* computed from the ledger as it stood at the end
    of that day: only what was registered, evaluated and confirmed by then counts,
    with that day's statuses and the authority's text as written by then. For each
    of the seven key tasks it lists the targets, what is done (named achievements
    with their refs and evidence) and the authority's measures, problems and next
    steps; the templates show what each kind of report asks for.
    """
    today = space.today()
    on = as_of or today
    if on > today:
        raise InvalidInput("a report cannot be dated in the future", as_of=on.isoformat())
    past = on < today
    with space.work() as w:
        entries = list(w.tx.iter_ledger())
        snap = snapshot_in(w.tx)
        if past:
            snap = restrict_as_of(snap, ledger_view(entries, as_of=on))
        versions = w.tx.list_model_versions()
        trained = Counter(v.industry or "" for v in versions if v.created_at[:10] <= on.isoformat())
        subject_kind, subject, quota, holder_kind = _subject(snap, province, enterprise)
        subs = w.tx.list_report_submissions(subject_kind=subject_kind, subject=subject)
        note = _latest_note(
            w.tx, kind, subject_kind, subject, until=on.isoformat() if past else None
        )
        head = w.tx.recorded_head()
        activity: dict[str, Counter[str]] = {}
        for e in entries:
            if e.timestamp[:10] <= on.isoformat():
                activity.setdefault(e.timestamp[:7], Counter())[e.action.split(".")[0]] += 1
        verify = verify_chain(
            iter(entries), head_seq=head[0] if head else 0, head_hash=head[1] if head else None
        )
    industries = sorted(
        {
            k.industry
            for k in snap.key_industries
            if k.holder_kind is holder_kind and k.holder == subject
        }
    )
    own = scope(
        snap,
        province=subject if subject_kind is SubjectKind.PROVINCE else None,
        enterprise=subject if subject_kind is SubjectKind.ENTERPRISE else None,
    )
    done = [a for a in achievements(own) if a.industry in industries or a.list in _ANY_INDUSTRY]
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
        counts=_industry_counts(own, industries, trained),
        activity={m: dict(c) for m, c in sorted(activity.items())},
        ledger={"entries": verify.entries, "verified": verify.ok},
        tasks=_tasks(quota, done, note),
        note_version=note.version if note else 0,
        preview=past,
    )


_ANY_INDUSTRY = ("spaces", "key_cities")


def check_can_submit(
    space: Space, *, actor: str, province: str | None, enterprise: str | None, as_of: date | None
) -> None:
    """Everything that would refuse a submission, checked before anything is rendered or
    written: the actor (an operator, or the subject region's authority) and the date.

    Raises
    ------
    SubmissionRefused
        (RES-195) ``as_of`` is not today: a submission is stamped with the real time.
    RoleRequired, OutsideRegion
        (RES-122, RES-191) the actor may not submit for this subject.
    """
    if bool(province) == bool(enterprise):
        raise InvalidInput("give exactly one of: province, enterprise")
    with space.work() as w:
        if province:
            require_curator(w.tx, actor, valid_province(province))
        else:
            assert enterprise
            require_curator(w.tx, actor, holder_region(w.tx, HolderKind.ENTERPRISE, enterprise))
    if as_of is not None and as_of != space.today():
        raise SubmissionRefused(
            f"a report dated {as_of} is a preview: submissions are stamped with the real "
            f"date ({space.today()}); drop --as-of to submit",
            as_of=as_of.isoformat(),
        )


def submit_report(
    space: Space, *, actor: str, data: ReportData, content: bytes, fmt: str
) -> ReportSubmission:
    """Hand in a rendered report: stamped with the real time, its SHA-256 hashed onto the
    ledger; stored submissions are never changed (a new one is a new record).

    A submission after the deadline is recorded as late (``late`` and the days in the
    ledger entry). Only an operator or the subject region's authority submits, and
    only a report built for today (not an ``--as-of`` preview).
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown report format {fmt!r}; use md or html", format=fmt)
    with space.work() as w:
        require_curator(w.tx, actor, _subject_region(w.tx, data.subject_kind, data.subject))
        if data.preview or data.as_of != space.today():
            raise SubmissionRefused(
                "an --as-of preview cannot be submitted: submissions are stamped with the "
                "real time",
                as_of=data.as_of.isoformat(),
            )
        submitted_on = date.fromisoformat(w.now[:10])
        sub = ReportSubmission(
            kind=data.kind,
            subject_kind=data.subject_kind,
            subject=data.subject,
            submitted_on=submitted_on,
            content_hash=hashlib.sha256(content).hexdigest(),
            fmt=fmt,
            submitted_by=actor,
        )
        w.tx.add_report_submission(sub)
        w.emit(
            ReportSubmitted(
                actor=actor,
                object_id=f"{sub.kind.value}:{sub.subject_kind.value}:{sub.subject}",
                submission=sub,
                submitted_at=w.now,
                late=sub.days_late > 0,
                days_late=sub.days_late,
                note_version=data.note_version,
            )
        )
    return sub


def write_note(
    space: Space,
    *,
    actor: str,
    kind: ReportKind,
    province: str | None = None,
    enterprise: str | None = None,
    tasks: list[TaskNote],
) -> ReportNote:
    """Write a new version of the authority's text for a report (an operator or the
    subject region's authority). Tasks not given keep their text from the previous
    version; the previous versions are kept."""
    for t in tasks:
        if t.task not in KEY_TASKS:
            raise InvalidInput(
                f"unknown key task {t.task!r}; one of {', '.join(KEY_TASKS)}", task=t.task
            )
        for what in ("measures", "progress", "problems", "next_steps"):
            check_text(getattr(t, what), what=what, max_len=10_000, required=False)
    if bool(province) == bool(enterprise):
        raise InvalidInput("give exactly one of: province, enterprise")
    subject_kind = SubjectKind.PROVINCE if province else SubjectKind.ENTERPRISE
    subject = valid_province(province) if province else str(enterprise)
    with space.work() as w:
        require_curator(w.tx, actor, _subject_region(w.tx, subject_kind, subject))
        for t in tasks:
            for case in t.typical_cases:
                if w.tx.get_case(case) is None:
                    raise NotFound(f"unknown case {case!r}", case=case)
        prev = _latest_note(w.tx, kind, subject_kind, subject, until=None)
        merged = {t.task: t for t in (prev.tasks if prev else ())}
        merged.update({t.task: t for t in tasks})
        note = ReportNote(
            kind,
            subject_kind,
            subject,
            (prev.version if prev else 0) + 1,
            actor,
            w.now,
            tuple(merged[k] for k in KEY_TASKS if k in merged),
        )
        w.tx.add_report_note(note)
        w.emit(
            ReportNoteWritten(
                actor=actor,
                object_id=f"{kind.value}:{subject_kind.value}:{subject}",
                version=note.version,
                tasks=sorted(merged),
            )
        )
    return note


def list_notes(
    space: Space, *, kind: ReportKind, province: str | None = None, enterprise: str | None = None
) -> list[ReportNote]:
    """Every version of the authority's text for a report, oldest first."""
    subject_kind = SubjectKind.PROVINCE if province else SubjectKind.ENTERPRISE
    subject = valid_province(province) if province else str(enterprise)
    with space.work() as w:
        return w.tx.list_report_notes(kind=kind, subject_kind=subject_kind, subject=subject)


def list_submissions(
    space: Space, *, subject_kind: SubjectKind | None = None, subject: str | None = None
) -> list[ReportSubmission]:
    """Submitted reports, oldest first."""
    with space.work() as w:
        return w.tx.list_report_submissions(subject_kind=subject_kind, subject=subject)
