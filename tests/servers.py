"""Real servers for tests: a free port, and ``resonance serve`` on a space (stopped by the
caller through the returned process)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx

#: the installed command (``make test`` puts the venv's bin on PATH); ``None``: not found
RESONANCE = shutil.which("resonance")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_space(root: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``resonance serve`` on the space at ``root``, once ``/health`` answers (60 s at most);
    its output goes to ``log``."""
    assert RESONANCE
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [RESONANCE, "--space", str(root), "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RESONANCE_NO_PROGRESS": "1"},
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")
