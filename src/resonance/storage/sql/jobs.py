"""Jobs in SQL: every status change is one conditional UPDATE, so two workers never both run a
job and a finished job never changes again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from resonance.domain.jobs import ACTIVE_STATUSES, Job, JobKind, JobStatus, append_log, clip_line
from resonance.storage import tables as core
from resonance.storage.sql.base import SqlRepoBase
from resonance.storage.tables import metadata

# --- tables ---

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("organization", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("started_at", sa.String(40)),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("heartbeat_at", sa.String(40)),
    sa.Column("progress", sa.Float, nullable=False),
    sa.Column("message", sa.String(500), nullable=False),
    sa.Column("logs", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("error", sa.JSON),
    sa.Column("worker", sa.String(200)),
    sa.Column("cancel_requested", sa.Boolean, nullable=False),
    sa.Index("ix_jobs_org_status", "organization", "status"),
    sa.Index("ix_jobs_status", "status"),
)


_ACTIVE = [s.value for s in ACTIVE_STATUSES]


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        kind=JobKind(row.kind),
        organization=row.organization,
        status=JobStatus(row.status),
        params=dict(row.params),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
        progress=float(row.progress),
        message=row.message,
        logs=list(row.logs),
        result=dict(row.result),
        error=dict(row.error) if row.error is not None else None,
        worker=row.worker,
        cancel_requested=bool(row.cancel_requested),
    )


class SqlJobRepo(SqlRepoBase):
    """:class:`resonance.storage.store.JobRepo` in SQL."""

    def add_job(self, job: Job) -> None:
        values = job.to_dict()
        values["kind"], values["status"] = job.kind.value, job.status.value
        self.conn.execute(jobs.insert().values(**values))

    def get_job(self, job_id: str) -> Job | None:
        row = self.conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
        return _job(row) if row else None

    def list_jobs(
        self,
        *,
        organization: str | None = None,
        statuses: Sequence[JobStatus] | None = None,
        kind: JobKind | None = None,
        limit: int | None = None,
    ) -> list[Job]:
        stmt = sa.select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        if organization is not None:
            stmt = stmt.where(jobs.c.organization == organization)
        if statuses is not None:
            stmt = stmt.where(jobs.c.status.in_([s.value for s in statuses]))
        if kind is not None:
            stmt = stmt.where(jobs.c.kind == kind.value)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_job(r) for r in self.conn.execute(stmt)]

    def count_active_jobs(self, organization: str, *, lock: bool = False) -> int:
        if lock and self.dialect == "postgresql":
            # Serialize submissions of one organization: the count and the insert that
            # follows happen under the organization row's lock (SQLite: BEGIN IMMEDIATE).
            self.conn.execute(
                sa.select(core.organizations.c.name)
                .where(core.organizations.c.name == organization)
                .with_for_update()
            )
        stmt = (
            sa.select(sa.func.count())
            .select_from(jobs)
            .where(jobs.c.organization == organization, jobs.c.status.in_(_ACTIVE))
        )
        return int(self.conn.execute(stmt).scalar_one())

    def claim_job(self, job_id: str, *, worker: str, now: str) -> bool:
        res = self.conn.execute(
            jobs.update()
            .where(
                jobs.c.id == job_id,
                jobs.c.status == JobStatus.QUEUED.value,
                jobs.c.cancel_requested.is_(False),
            )
            .values(status=JobStatus.RUNNING.value, worker=worker, started_at=now, heartbeat_at=now)
        )
        return res.rowcount == 1

    def report_job_progress(
        self,
        job_id: str,
        *,
        now: str,
        progress: float | None = None,
        message: str | None = None,
        log: str | None = None,
    ) -> bool:
        stmt = self._for_update(
            sa.select(jobs.c.status, jobs.c.logs, jobs.c.cancel_requested).where(
                jobs.c.id == job_id
            )
        )
        row = self.conn.execute(stmt).first()
        if row is None or row.status != JobStatus.RUNNING.value:
            return False
        values: dict[str, Any] = {"heartbeat_at": now}
        if progress is not None:
            values["progress"] = min(max(float(progress), 0.0), 1.0)
        if message is not None:
            values["message"] = clip_line(message)
        if log is not None:
            values["logs"] = append_log(list(row.logs), f"{now} {log}")
        self.conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))
        return bool(row.cancel_requested)

    def finish_job(
        self,
        job_id: str,
        *,
        status: JobStatus,
        now: str,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        log: str | None = None,
    ) -> bool:
        if status.active:
            raise ValueError(f"finish_job needs a final status, not {status}")
        values: dict[str, Any] = {"status": status.value, "finished_at": now, "error": error}
        if result is not None:
            values["result"] = result
        if status is JobStatus.SUCCEEDED:
            values["progress"] = 1.0
        if log is not None:
            row = self.conn.execute(sa.select(jobs.c.logs).where(jobs.c.id == job_id)).first()
            if row is not None:
                values["logs"] = append_log(list(row.logs), f"{now} {log}")
        res = self.conn.execute(
            jobs.update().where(jobs.c.id == job_id, jobs.c.status.in_(_ACTIVE)).values(**values)
        )
        return res.rowcount == 1

    def request_job_cancel(self, job_id: str) -> bool:
        res = self.conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status.in_(_ACTIVE))
            .values(cancel_requested=True)
        )
        return res.rowcount == 1
