"""A throw-away Redis server (Debian's redis-server) on 127.0.0.1 and worker processes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server on a random port; returns the process and its URL."""
    if not os.path.exists(REDIS_SERVER):
        pytest.fail("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    port = free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not answer PING")


def stop(proc: subprocess.Popen[bytes], *, group: bool = False) -> None:
    """Stop a process we started, by its PID (its process group when ``group``)."""
    if proc.poll() is None:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.wait()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """URL of a fresh Redis server, stopped after the test."""
    proc, url = start_redis(tmp_path)
    yield url
    stop(proc)


StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker() -> Iterator[StartWorker]:
    """Start ``python -m resonance.jobs.worker`` processes (own process group each)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(space_root: Path, *, workers: int = 1, env: dict[str, str] | None = None) -> Any:
        proc = subprocess.Popen(
            [sys.executable, "-m", "resonance.jobs.worker", "--space", str(space_root),
             "--workers", str(workers)],
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )  # fmt: skip
        started.append(proc)
        return proc

    yield start
    for proc in started:
        stop(proc, group=True)
