"""``resonance serve`` runs jobs out of the box: its worker process runs a job posted over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from resonance.services import tokens
from tests.conftest import make_space
from tests.model_seed import seed
from tests.servers import free_port


def test_serve_starts_a_worker_that_runs_posted_jobs(tmp_path: Path) -> None:
    space = make_space(tmp_path / "space")
    train = seed(space, tmp_path / "data").train
    token, _ = tokens.create_token(space, actor="operator", organization="builder")
    space.close()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "resonance.cli", "--space", str(tmp_path / "space"), "serve",
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        body = {"name": "m", "trainer": "lightgbm", "datasets": [train],
                "params": {"n_estimators": 5}}  # fmt: skip
        resp = httpx.post(url + "/jobs/train", json=body, headers=auth)
        assert resp.status_code == 202, resp.text
        job_url = url + resp.headers["location"]
        deadline = time.monotonic() + 180
        while (job := httpx.get(job_url, headers=auth).json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["status"] == "succeeded" and job["result"] == {"model": "m@1"}
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its worker: one process group
        server.wait(timeout=60)
    assert server.returncode is not None
