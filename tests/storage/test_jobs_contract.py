"""Contract tests of the job repository on every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from resonance.domain.errors import Conflict
from resonance.domain.jobs import MAX_LOG_LINES, Job, JobKind, JobStatus
from resonance.domain.orgs import Organization, Role
from resonance.storage.sql import SqlStore

NOW = "2026-11-22T00:00:00+00:00"
LATER = "2026-11-22T00:00:05+00:00"


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore(db_url)
    s.migrate()
    with s.transaction() as tx:
        for name in ("lab", "other"):
            tx.add_organization(
                Organization(name, frozenset({Role.MODEL_BUILDER}), "Hebei"), created_at=NOW
            )
    yield s
    s.close()


def _job(job_id: str = "job-1", org: str = "lab", created_at: str = NOW) -> Job:
    return Job(job_id, JobKind.TRAIN, org, JobStatus.QUEUED, {"name": "m"}, created_at)


def test_add_get_list_newest_first(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_job(_job())
        tx.add_job(_job("job-2", created_at=LATER))
        tx.add_job(_job("job-3", org="other"))
    with store.transaction() as tx:
        assert tx.get_job("job-1") == _job()
        assert tx.get_job("nope") is None
        assert [j.id for j in tx.list_jobs()] == ["job-2", "job-3", "job-1"]
        assert [j.id for j in tx.list_jobs(organization="lab")] == ["job-2", "job-1"]
        assert tx.list_jobs(statuses=[JobStatus.RUNNING]) == []
        assert tx.list_jobs(kind=JobKind.LOOP) == []
        assert len(tx.list_jobs(limit=1)) == 1
        assert tx.count_active_jobs("lab", lock=True) == 2


def test_duplicate_id_is_rejected(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_job(_job())
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_job(_job())


def test_claim_happens_once_and_progress_only_while_running(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_job(_job())
        assert tx.report_job_progress("job-1", now=NOW, progress=0.5) is False
        assert tx.get_job("job-1").progress == 0.0  # type: ignore[union-attr]
    with store.transaction() as tx:
        assert tx.claim_job("job-1", worker="host:1", now=NOW) is True
    with store.transaction() as tx:
        assert tx.claim_job("job-1", worker="host:2", now=NOW) is False
        cancel = tx.report_job_progress("job-1", now=LATER, progress=7, message="m", log="l")
        assert cancel is False
    job = _get(store, "job-1")
    assert (job.status, job.worker, job.progress, job.message) == (
        JobStatus.RUNNING, "host:1", 1.0, "m"
    )  # fmt: skip
    assert job.logs == [f"{LATER} l"] and job.heartbeat_at == LATER


def test_logs_keep_the_newest_lines(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_job(_job())
        tx.claim_job("job-1", worker="w", now=NOW)
    with store.transaction() as tx:
        for i in range(MAX_LOG_LINES + 3):
            tx.report_job_progress("job-1", now=NOW, log=f"line {i}")
    logs = _get(store, "job-1").logs
    assert len(logs) == MAX_LOG_LINES and logs[-1].endswith(f"line {MAX_LOG_LINES + 2}")


def test_finish_is_final(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_job(_job())
        tx.claim_job("job-1", worker="w", now=NOW)
    with store.transaction() as tx:
        assert tx.finish_job(
            "job-1", status=JobStatus.SUCCEEDED, now=LATER, result={"model": "m@1"}, log="done"
        )
    with store.transaction() as tx:
        assert not tx.finish_job("job-1", status=JobStatus.FAILED, now=LATER, error={"code": "x"})
        assert not tx.request_job_cancel("job-1")
        with pytest.raises(ValueError):
            tx.finish_job("job-1", status=JobStatus.RUNNING, now=LATER)
    job = _get(store, "job-1")
    assert (job.status, job.result, job.error, job.progress, job.finished_at) == (
        JobStatus.SUCCEEDED, {"model": "m@1"}, None, 1.0, LATER
    )  # fmt: skip
    assert job.finished and job.logs == [f"{LATER} done"]
    with store.transaction() as tx:
        assert tx.count_active_jobs("lab") == 0


def test_cancel_request_blocks_the_claim_and_reaches_the_runner(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_job(_job())
        tx.add_job(_job("job-2"))
        assert tx.request_job_cancel("job-1")
        assert tx.claim_job("job-1", worker="w", now=NOW) is False
        assert tx.claim_job("job-2", worker="w", now=NOW)
        assert tx.request_job_cancel("job-2")
        assert tx.report_job_progress("job-2", now=NOW, progress=0.1) is True


def _get(store: SqlStore, job_id: str) -> Job:
    with store.transaction() as tx:
        job = tx.get_job(job_id)
    assert job is not None
    return job
