"""Benchmark: 200 concurrent catalog reads against the REST API on 127.0.0.1.

Builds a fresh SQLite space with the two real datasets ingested under several
names, issues an API token, starts ``uvicorn`` (one worker) on a free port of
127.0.0.1 and drives it with ``httpx.AsyncClient``:

* baseline: ``GET /health`` (no token, no store) under the same concurrency;
* catalog: ``GET /datasets`` (bearer token checked, one store transaction).

Each phase sends ``--requests`` requests with ``--concurrency`` in flight and
stops itself after ``--max-seconds``. Prints p50/p99 latency and throughput of
both, and the ratio of the catalog's p99 to the baseline's p99; exits with
status 1 when a request failed, or when the ratio is above ``--target`` (default
6.0). The server is stopped by its PID at the end.

Run: ``make bench-api`` or ``python -m bench.api_load [--requests N] [--concurrency N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from resonance.domain.datasets import DatasetKind, make_label_spec
from resonance.domain.orgs import Role
from resonance.services import catalog, orgs, tokens
from resonance.services.space import Space

TARGET = 6.0
REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RESONANCE_SHARED_DATA", REPO.parent / "shared" / "data"))
STEEL = DATA / "steel-plates-faults" / "steel_plates_faults.csv"
AI4I = DATA / "ai4i2020" / "ai4i2020.csv"
STEEL_LABELS = [
    "Pastry_Fault",
    "Z_Scratch_Fault",
    "K_Scatch_Fault",
    "Stains_Fault",
    "Dirtiness_Fault",
    "Bumps_Fault",
    "Other_Faults",
]


@dataclass
class Phase:
    """Latencies (seconds) of one phase."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)

    def fail(self, reason: str) -> None:
        """Count a failed request and why."""
        self.errors += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def pct(self, q: float) -> float:
        """The ``q`` quantile (0..1) of the latencies, nearest rank."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def build_space(root: Path, copies: int) -> tuple[Space, str]:
    """A space with ``copies`` datasets of each real file, and an operator token."""
    space = Space.init(root)
    orgs.register_organization(
        space, actor=None, name="operator", roles=frozenset({Role.OPERATOR}), region="Beijing"
    )
    orgs.register_organization(
        space, actor="operator", name="plant", roles=frozenset({Role.DATA_HOLDER}), region="Hebei"
    )
    steel_label = make_label_spec(None, STEEL_LABELS)
    ai4i_label = make_label_spec("Machine failure", None)
    for i in range(copies):
        for path, name, industry, label in (
            (STEEL, f"steel-{i}", "steel", steel_label),
            (AI4I, f"machines-{i}", "industrial-machinery", ai4i_label),
        ):
            new = catalog.NewDataset("plant", DatasetKind.COMMON, industry, label=label)
            catalog.ingest(space, actor="plant", path=path, dataset=name, new=new)
    plain, _ = tokens.create_token(space, actor="operator", organization="operator")
    return space, plain


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start uvicorn over the space and wait until /health answers."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "resonance.server:make",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-keep-alive",
        "300",  # the client keeps its connections between phases
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env={**os.environ, "RESONANCE_SPACE": str(root)}, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("uvicorn exited: " + log.read_text()[-2000:])
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError("uvicorn did not start within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server by PID, SIGKILL if it lingers."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


async def load(
    client: httpx.AsyncClient,
    url: str,
    phase: Phase,
    *,
    headers: dict[str, str],
    requests: int,
    concurrency: int,
    max_seconds: float,
) -> Phase:
    """Send ``requests`` GETs with ``concurrency`` in flight; stop after ``max_seconds``."""
    remaining = requests
    start = time.perf_counter()
    stop_at = start + max_seconds

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < stop_at:
            remaining -= 1
            t0 = time.perf_counter()
            try:
                resp = await client.get(url, headers=headers)
            except httpx.HTTPError as exc:
                phase.fail(type(exc).__name__)
                continue
            if resp.status_code == 200:
                phase.latencies.append(time.perf_counter() - t0)
            else:
                phase.fail(f"HTTP {resp.status_code} {resp.text[:120]}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.wall = time.perf_counter() - start
    return phase


async def run_phases(
    url: str, auth: dict[str, str], *, requests: int, concurrency: int, max_seconds: float
) -> list[Phase]:
    """Warm up, then the baseline and the catalog phase, on one pool of keep-alive connections.

    The warm-up opens the ``concurrency`` connections first, so neither phase pays for
    connection setup.
    """
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    opts = {"concurrency": concurrency, "max_seconds": max_seconds}
    async with httpx.AsyncClient(limits=limits, timeout=max_seconds) as client:
        warm = {**opts, "requests": 2 * concurrency}
        await load(client, url + "/health", Phase("warmup"), headers={}, **warm)
        await load(client, url + "/datasets", Phase("warmup"), headers=auth, **warm)
        base = await load(
            client, url + "/health", Phase("baseline"), headers={}, requests=requests, **opts
        )
        cat = await load(
            client, url + "/datasets", Phase("catalog"), headers=auth, requests=requests, **opts
        )
    return [base, cat]


def report(phases: list[Phase], target: float | None) -> int:
    """Print the table and the ratio; return the exit status."""
    print(f"{'phase':<12}{'requests':>10}{'errors':>8}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}")
    for p in phases:
        rate = len(p.latencies) / p.wall if p.wall else 0.0
        print(
            f"{p.name:<12}{len(p.latencies):>10}{p.errors:>8}"
            f"{p.pct(0.5) * 1e3:>10.1f}{p.pct(0.99) * 1e3:>10.1f}{rate:>10.0f}"
        )
    base, cat = phases
    ratio = cat.pct(0.99) / base.pct(0.99)
    print(f"ratio p99 catalog / p99 baseline (/health): {ratio:.2f}")
    print(f"ratio p50 catalog / p50 baseline (/health): {cat.pct(0.5) / base.pct(0.5):.2f}")
    if base.errors or cat.errors:
        print(f"FAIL: some requests failed: {base.reasons} {cat.reasons}")
        return 1
    if target is not None and ratio > target:
        print(f"FAIL: p99 ratio {ratio:.2f} above target {target}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000, help="requests per phase")
    ap.add_argument("--concurrency", type=int, default=200, help="requests in flight")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="time limit per phase")
    ap.add_argument("--copies", type=int, default=5, help="datasets per real file")
    ap.add_argument("--target", type=float, default=TARGET, help="fail above this p99 ratio")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    proc = None
    try:
        space, token = build_space(work / "space", args.copies)
        space.close()
        proc, url = start_server(work / "space", work / "uvicorn.log")
        auth = {"Authorization": f"Bearer {token}"}
        phases = asyncio.run(
            run_phases(
                url,
                auth,
                requests=args.requests,
                concurrency=args.concurrency,
                max_seconds=args.max_seconds,
            )
        )
        print(
            f"{args.concurrency} concurrent clients, {args.copies * 2} datasets, "
            f"uvicorn (1 worker) on 127.0.0.1, SQLite space"
        )
        return report(phases, args.target)
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
