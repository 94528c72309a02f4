"""Jobs as use cases: submit, run once, cancel, per-organization limits, crash recovery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resonance.domain.errors import (
    InvalidInput,
    JobLimitReached,
    JobNotCancellable,
    NotFound,
    PolicyDenied,
    QueueUnavailable,
    RoleRequired,
)
from resonance.domain.jobs import JobKind, JobStatus
from resonance.services import jobs, ledger, review, training
from resonance.services import loop as loops
from resonance.services.space import Space
from tests.loop_seed import SPEC, seed_loop
from tests.model_seed import seed

TRAIN = {"name": "steel-m", "params": {"n_estimators": 20, "n_jobs": 1}}


def test_a_training_job_runs_once_as_its_submitter(space: Space, tmp_path: Path) -> None:
    seeded = seed(space, tmp_path / "data")
    params = {**TRAIN, "datasets": [seeded.train]}
    job = jobs.submit(space, actor="builder", kind=JobKind.TRAIN, params=params)
    assert job.status is JobStatus.QUEUED and job.params["trainer"] == "lightgbm"
    done = jobs.run(space, job.id)
    assert done.status is JobStatus.SUCCEEDED and done.result == {"model": "steel-m@1"}
    assert done.progress == 1.0 and done.worker and done.started_at and done.finished_at
    assert any("started on" in line for line in done.logs)
    assert training.get_model(space, "steel-m").created_by == "builder"
    again = jobs.run(space, job.id)  # delivered twice: runs once
    assert again == done and len(training.list_models(space)) == 1
    actions = [e.action for e in ledger.entries(space) if e.object_id == job.id]
    assert actions == ["job.submitted", "job.finished"]


def test_a_job_fails_with_the_policy_error_of_a_direct_call(space: Space, tmp_path: Path) -> None:
    seeded = seed(space, tmp_path / "data")
    with pytest.raises(RoleRequired):  # plant-b is no model builder: refused at submission
        jobs.submit(
            space, actor="plant-b", kind=JobKind.TRAIN, params={**TRAIN, "datasets": [seeded.train]}
        )
    # the sealed set grants the builder nothing: refused when the job reads it, as a direct call
    job = jobs.submit(
        space, actor="builder", kind=JobKind.TRAIN, params={**TRAIN, "datasets": [seeded.sealed]}
    )
    done = jobs.run(space, job.id)
    assert done.status is JobStatus.FAILED and done.error is not None
    assert done.error["code"] == PolicyDenied.spec.code
    assert training.list_models(space) == []


def test_bad_parameters_are_refused_before_anything_is_stored(space: Space) -> None:
    for params in (
        {"name": "m"},  # datasets missing
        {**TRAIN, "datasets": ["x"], "bogus": 1},
        {**TRAIN, "datasets": "x"},
        {**TRAIN, "datasets": ["x"], "seed": True},
    ):
        with pytest.raises(InvalidInput):
            jobs.submit(space, actor="builder", kind=JobKind.TRAIN, params=params)
    assert jobs.list_jobs(space, actor="operator") == []


def test_visibility_cancel_and_limits(space: Space) -> None:
    params = {**TRAIN, "datasets": ["nothing"]}
    jobs.set_job_limit(space, actor="operator", organization="builder", limit=2)
    with pytest.raises(RoleRequired):
        jobs.set_job_limit(space, actor="builder", organization="builder", limit=9)
    a = jobs.submit(space, actor="builder", kind=JobKind.TRAIN, params=params)
    b = jobs.submit(space, actor="builder", kind=JobKind.TRAIN, params=params)
    with pytest.raises(JobLimitReached) as limit:
        jobs.submit(space, actor="builder", kind=JobKind.TRAIN, params=params)
    assert limit.value.code == "RES-200" and limit.value.details["limit"] == 2
    other = jobs.submit(
        space, actor="evaluator", kind=JobKind.DIAGNOSE, params={"model": "m", "suite": "s"}
    )
    assert [j.id for j in jobs.list_jobs(space, actor="builder")] == [b.id, a.id]
    assert {j.id for j in jobs.list_jobs(space, actor="operator")} == {a.id, b.id, other.id}
    assert jobs.show(space, actor="operator", job_id=a.id).id == a.id
    with pytest.raises(NotFound):
        jobs.show(space, actor="evaluator", job_id=a.id)
    with pytest.raises(NotFound):
        jobs.cancel(space, actor="evaluator", job_id=a.id)
    cancelled = jobs.cancel(space, actor="builder", job_id=a.id)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.error
    assert cancelled.error["code"] == "RES-204"
    assert jobs.run(space, a.id).status is JobStatus.CANCELLED  # a cancelled job never starts
    with pytest.raises(JobNotCancellable):
        jobs.cancel(space, actor="builder", job_id=a.id)
    jobs.submit(space, actor="builder", kind=JobKind.TRAIN, params=params)  # room again


def test_a_refusing_queue_fails_the_job(space: Space) -> None:
    def down(job_id: str) -> None:
        raise ConnectionError("connection refused")

    with pytest.raises(QueueUnavailable):
        jobs.submit(
            space,
            actor="builder",
            kind=JobKind.TRAIN,
            params={**TRAIN, "datasets": ["x"]},
            enqueue=down,
        )
    (job,) = jobs.list_jobs(space, actor="builder")
    assert job.status is JobStatus.FAILED and job.error and job.error["code"] == "RES-202"


def test_a_job_whose_worker_died_is_failed_on_restart(space: Space) -> None:
    job = jobs.submit(
        space, actor="builder", kind=JobKind.TRAIN, params={**TRAIN, "datasets": ["x"]}
    )
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    with space.work() as w:
        assert w.tx.claim_job(job.id, worker=f"{jobs.worker_id().rpartition(':')[0]}:"
                              f"{dead.stdout.strip()}", now=w.now)  # fmt: skip
    alive = jobs.submit(
        space, actor="builder", kind=JobKind.TRAIN, params={**TRAIN, "datasets": ["x"]}
    )
    with space.work() as w:
        assert w.tx.claim_job(alive.id, worker=jobs.worker_id(), now=w.now)
        far = w.tx.get_job(alive.id)
    assert far is not None
    lost = jobs.recover(space)
    assert [j.id for j in lost] == [job.id]
    assert lost[0].status is JobStatus.FAILED and lost[0].error
    assert lost[0].error["code"] == "RES-203"
    assert jobs.get_job(space, alive.id).status is JobStatus.RUNNING  # this process lives
    assert not jobs.worker_alive("elsewhere:1", "2020-01-01T00:00:00+00:00")
    assert jobs.worker_alive("elsewhere:1", far.heartbeat_at)


def test_a_loop_job_proposes_fixes_to_the_owners_review_queues(
    lite_space: Space, tmp_path: Path
) -> None:
    seeded = seed_loop(lite_space, tmp_path / "data")
    params = {
        "name": "job-loop",
        "datasets": seeded.datasets,
        "reserves": seeded.reserves,
        "budget": 80,
        "suite": seeded.suite,
        "iterations": 2,
        "params": SPEC.params,
    }
    job = jobs.submit(lite_space, actor="builder", kind=JobKind.LOOP, params=params)
    done = jobs.run(lite_space, job.id)
    assert done.status is JobStatus.SUCCEEDED and done.result["loop_run"] == "job-loop"
    run = loops.get_run(lite_space, "job-loop")
    assert run.summary is not None and done.result["model"] == run.summary.final_model
    # the job ran the same loop as `loop run`: its relabel proposals reached their owners
    assert sum(run.summary.relabel_proposals.values()) > 0
    for owner in ("plant-b", "plant-c"):
        items = review.list_items(lite_space, actor=owner)
        assert len(items) == run.summary.relabel_proposals.get(owner, 0)
        assert all(i.owner == owner and i.evidence[0].loop == "job-loop" for i in items)
    assert review.list_items(lite_space, actor="builder") == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_an_unreaped_dead_worker_counts_as_dead() -> None:
    import socket
    import time

    child = subprocess.Popen([sys.executable, "-c", "pass"])  # exits; not waited for yet
    try:
        me = f"{socket.gethostname()}:{child.pid}"
        deadline = time.monotonic() + 30
        while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.05)
        assert not jobs.worker_alive(me, None)  # a zombie still answers kill(pid, 0)
        assert jobs.worker_alive(f"{socket.gethostname()}:{os.getpid()}", None)
    finally:
        child.wait()
    assert not jobs.worker_alive(me, None)
