"""The huey queue with real worker processes: embedded SQLite queue and Redis (scale-out)."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from huey.registry import Message

from resonance.domain.jobs import Job, JobKind, JobStatus
from resonance.jobs.queue import JobQueue, JsonSerializer
from resonance.services import jobs, training
from resonance.services.space import Space
from tests.conftest import make_space
from tests.jobs.conftest import StartWorker
from tests.model_seed import seed


def wait_all(space: Space, ids: list[str], *, timeout: float = 240) -> list[Job]:
    """Poll the jobs table until every job in ``ids`` finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [jobs.get_job(space, i) for i in ids]
        if all(j.finished for j in got):
            return got
        time.sleep(0.2)
    raise AssertionError(f"jobs still active: {[(j.id, j.status) for j in got]}")


def _space(tmp_path: Path, queue_url: str = "") -> tuple[Space, str]:
    root = tmp_path / "space"
    space = make_space(root)
    if queue_url:
        cfg = root / "resonance.toml"
        cfg.write_text(cfg.read_text() + f'queue_url = "{queue_url}"\n')
        space.close()
        space = Space.open(root)
    return space, seed(space, tmp_path / "data").train


def _submit_trainings(space: Space, train: str, n: int) -> list[str]:
    queue = JobQueue(space)
    jobs.set_job_limit(space, actor="operator", organization="builder", limit=50)
    ids = []
    for i in range(n):
        params = {"name": f"m{i}", "datasets": [train], "params": {"n_estimators": 5}}
        ids.append(
            jobs.submit(
                space, actor="builder", kind=JobKind.TRAIN, params=params, enqueue=queue.enqueue
            ).id
        )
    queue.close()
    return ids


def test_embedded_sqlite_queue_runs_every_job_once(
    tmp_path: Path, start_worker: StartWorker
) -> None:
    space, train = _space(tmp_path)
    ids = _submit_trainings(space, train, 3)
    start_worker(space.root, workers=2)
    done = wait_all(space, ids)
    assert [j.status for j in done] == [JobStatus.SUCCEEDED] * 3
    assert len({j.worker for j in done}) >= 1
    assert sorted(m.ref for m in training.list_models(space)) == ["m0@1", "m1@1", "m2@1"]
    space.close()


def test_redis_queue_with_two_worker_processes(
    tmp_path: Path, redis_url: str, start_worker: StartWorker
) -> None:
    space, train = _space(tmp_path, redis_url)
    assert space.config.queue_url == redis_url
    ids = _submit_trainings(space, train, 4)
    start_worker(space.root, workers=1)
    start_worker(space.root, workers=1)  # two worker processes on one broker
    done = wait_all(space, ids)
    assert [j.status for j in done] == [JobStatus.SUCCEEDED] * 4
    assert len(training.list_models(space)) == 4  # each job ran exactly once
    space.close()


def test_a_killed_worker_leaves_no_running_job(tmp_path: Path, start_worker: StartWorker) -> None:
    space, train = _space(tmp_path)
    queue = JobQueue(space)
    params = {"name": "slow", "datasets": [train], "params": {"n_estimators": 20000}}
    job = jobs.submit(
        space, actor="builder", kind=JobKind.TRAIN, params=params, enqueue=queue.enqueue
    )
    worker = start_worker(space.root, workers=1)
    deadline = time.monotonic() + 120
    while jobs.get_job(space, job.id).status is not JobStatus.RUNNING:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its children die mid-job
    worker.wait()
    time.sleep(0.5)
    assert jobs.get_job(space, job.id).status is JobStatus.RUNNING
    restarted = start_worker(space.root, workers=1)
    (failed,) = wait_all(space, [job.id], timeout=60)
    assert failed.status is JobStatus.FAILED and failed.error
    assert failed.error["code"] == "RES-203"
    assert restarted.poll() is None
    space.close()


def test_messages_are_json_never_pickle() -> None:
    ser = JsonSerializer()
    eta = datetime(2026, 1, 2, tzinfo=UTC)
    msg = Message("id1", "resonance.run_job", eta, 0, 0, None, ("/space", "job-1"), {})
    data = ser.serialize(msg)
    assert json.loads(data)["args"] == ["/space", "job-1"]
    assert ser.deserialize(data) == msg
    import pickle

    with pytest.raises(ValueError):
        ser.deserialize(pickle.dumps(msg))
    with pytest.raises(TypeError):
        ser.serialize({"not": "a message"})
    with pytest.raises(ValueError):
        ser.deserialize(json.dumps({"id": "x", "on_error": "evil"}).encode())
