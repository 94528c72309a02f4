"""``resonance serve`` stops on SIGTERM within 5 s, even with a request in flight."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from resonance.services.space import Space
from tests.servers import free_port

REPO = Path(__file__).resolve().parents[2]


def test_sigterm_stops_the_server_with_a_request_in_flight(tmp_path: Path) -> None:
    Space.init(tmp_path / "sp").close()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from resonance.cli.app import main; main()",
         "--space", str(tmp_path / "sp"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not start")
        assert proc.poll() is None
        # a client that announces a large upload and then stalls keeps a request in flight
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.sendall(
            b"POST /datasets/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000000\r\n\r\n"
            b"--b\r\n"
        )
        time.sleep(0.5)
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        finally:
            stalled.close()
        assert time.monotonic() - start < 5.0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
