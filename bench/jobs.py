"""Benchmark: jobs on a real queue with 2 workers, and API latency while jobs run.

Builds a fresh SQLite space (the real steel and AI4I files), starts ``uvicorn`` on a free
port of 127.0.0.1 and two ``resonance worker`` processes (``python -m resonance.jobs.worker``)
on the space's queue — huey's embedded SQLite queue by default, or Redis with
``--queue redis`` (Debian's ``redis-server`` on a random port, stopped by PID):

1. **submissions**: ``--jobs`` (50) ``POST /jobs/train`` sent at once over HTTP; every job
   must finish, each exactly once: the bench counts accepted, succeeded, failed and lost
   jobs, the models created (one version per job name: a job run twice would make a
   second version) and the ``job.finished`` ledger entries per job.
2. **latency while 2 jobs run**: two long training jobs are submitted; while both are
   running, ``GET /health`` (baseline: no token, no store) and ``GET /datasets`` (catalog)
   are each loaded with ``--requests`` at ``--concurrency``; prints p50/p99 and the ratio of
   the catalog's p99 to /health's, measured in the same run (target <= 3).

Exit status 1 when a job is lost, ran twice or failed, a request failed, or the ratio is
above ``--target``. Every process started is stopped by its PID.

Run: ``make bench-jobs`` or ``python -m bench.jobs [--jobs N] [--queue sqlite|redis]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.api_load import (
    STEEL,
    STEEL_LABELS,
    Phase,
    build_space,
    free_port,
    load,
    start_server,
    stop_server,
)
from resonance.domain.datasets import DatasetKind, make_label_spec
from resonance.domain.jobs import JobStatus
from resonance.domain.orgs import Role
from resonance.domain.policies import parse_grant
from resonance.services import catalog, jobs, ledger, orgs, policies, tokens, training
from resonance.services.space import Space

TARGET = 3.0


def prepare(root: Path, queue_url: str) -> tuple[str, str]:
    """The bench space: catalog datasets, a builder with a train-pooled grant; two tokens."""
    space, operator_token = build_space(root, copies=2)
    if queue_url:
        cfg = root / "resonance.toml"
        cfg.write_text(cfg.read_text() + f'queue_url = "{queue_url}"\n')
    orgs.register_organization(
        space, actor="operator", name="builder", roles=frozenset({Role.MODEL_BUILDER}),
        region="Beijing",
    )  # fmt: skip
    label = make_label_spec(None, STEEL_LABELS)
    new = catalog.NewDataset("plant", DatasetKind.COMMON, "steel", label=label)
    catalog.ingest(space, actor="plant", path=STEEL, dataset="steel-train", new=new)
    policies.set_policy(
        space, actor="plant", dataset="steel-train", grants=[parse_grant("builder:train-pooled")]
    )
    jobs.set_job_limit(space, actor="operator", organization="builder", limit=1000)
    builder_token, _ = tokens.create_token(space, actor="operator", organization="builder")
    space.close()
    return operator_token, builder_token


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Debian's redis-server on a random port of 127.0.0.1."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if redis.Redis.from_url(url).ping():
                return proc, url
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def start_workers(root: Path, n: int, log: Path) -> list[subprocess.Popen[bytes]]:
    """``n`` worker processes (one huey worker each), each in its own process group."""
    procs = []
    cmd = [sys.executable, "-m", "resonance.jobs.worker", "--space", str(root), "--workers", "1"]
    with log.open("ab") as out:
        for _ in range(n):
            procs.append(subprocess.Popen(cmd, stdout=out, stderr=out, start_new_session=True))
    return procs


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a worker's process group by its PID, SIGKILL if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def train_body(name: str, trees: int, *, long: bool = False) -> dict[str, object]:
    """A LightGBM training on the steel data: small, or (``long``) deep trees that keep a
    worker busy for tens of seconds within the space's caps (``[limits]``: at most 5,000
    estimators)."""
    params: dict[str, object] = {"n_estimators": trees, "n_jobs": 1}
    if long:
        params |= {"num_leaves": 255, "min_child_samples": 2, "learning_rate": 0.01}
    return {"name": name, "trainer": "lightgbm", "datasets": ["steel-train"], "params": params}


async def submit_all(url: str, auth: dict[str, str], n: int) -> list[httpx.Response]:
    """``n`` job submissions sent at once."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        return await asyncio.gather(
            *(
                client.post(url + "/jobs/train", json=train_body(f"m{i:03d}", 5), headers=auth)
                for i in range(n)
            )
        )


def wait_finished(space: Space, ids: list[str], timeout: float) -> float:
    """Seconds until every job in ``ids`` finished (or ``timeout``)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if all(jobs.get_job(space, i).finished for i in ids):
            break
        time.sleep(0.25)
    return time.monotonic() - start


def submissions(root: Path, url: str, auth: dict[str, str], n: int, timeout: float) -> bool:
    """Phase 1; prints the counts and returns whether every job finished exactly once."""
    t0 = time.monotonic()
    responses = asyncio.run(submit_all(url, auth, n))
    submit_s = time.monotonic() - t0
    accepted = [r.json()["id"] for r in responses if r.status_code == 202]
    space = Space.open(root)
    try:
        took = wait_finished(space, accepted, timeout)
        final = [jobs.get_job(space, i) for i in accepted]
        by_status = {s: sum(j.status is s for j in final) for s in JobStatus}
        models = training.list_models(space)
        names = [m.name for m in models]
        twice = sorted({x for x in names if names.count(x) > 1})
        finished_entries = ledger.entries(space, action="job.finished", limit=None)
        per_job = dict.fromkeys(accepted, 0)
        for e in finished_entries:
            if e.object_id in per_job:
                per_job[e.object_id] += 1
    finally:
        space.close()
    lost = by_status[JobStatus.QUEUED] + by_status[JobStatus.RUNNING] + (n - len(accepted))
    print(f"submitted {n} jobs at once in {submit_s:.2f} s; accepted (202) {len(accepted)}")
    print(
        f"finished in {took:.1f} s: succeeded {by_status[JobStatus.SUCCEEDED]}, "
        f"failed {by_status[JobStatus.FAILED]}, cancelled {by_status[JobStatus.CANCELLED]}, "
        f"lost (not finished) {lost}"
    )
    print(
        f"models created {len(models)} (distinct names {len(set(names))}, run twice {len(twice)});"
        f" job.finished ledger entries per job: min {min(per_job.values(), default=0)}, "
        f"max {max(per_job.values(), default=0)}"
    )
    ok = (
        len(accepted) == n
        and by_status[JobStatus.SUCCEEDED] == n
        and len(models) == n
        and not twice
        and set(per_job.values()) == {1}
    )
    print("jobs: OK (none lost, each finished exactly once)" if ok else "jobs: FAIL")
    return ok


async def latency(
    url: str, auth: dict[str, str], *, requests: int, concurrency: int, max_seconds: float
) -> list[Phase]:
    """Warm up, then /health and /datasets under the same load."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    opts = {"concurrency": concurrency, "max_seconds": max_seconds}
    async with httpx.AsyncClient(limits=limits, timeout=max_seconds) as client:
        warm = {**opts, "requests": 2 * concurrency}
        await load(client, url + "/health", Phase("warmup"), headers={}, **warm)
        await load(client, url + "/datasets", Phase("warmup"), headers=auth, **warm)
        base = await load(
            client, url + "/health", Phase("health"), headers={}, requests=requests, **opts
        )
        cat = await load(
            client, url + "/datasets", Phase("catalog"), headers=auth, requests=requests, **opts
        )
    return [base, cat]


def under_jobs(
    root: Path,
    url: str,
    builder: dict[str, str],
    operator: dict[str, str],
    args: argparse.Namespace,
) -> tuple[bool, float]:
    """Phase 2: catalog p99 vs /health p99 while two long jobs run."""
    ids = [
        httpx.post(
            url + "/jobs/train",
            json=train_body(f"long{i}", args.long_trees, long=True),
            headers=builder,
        ).json()["id"]
        for i in range(2)
    ]
    space = Space.open(root)
    try:
        deadline = time.monotonic() + 120
        while not all(jobs.get_job(space, i).status is JobStatus.RUNNING for i in ids):
            if time.monotonic() > deadline:
                states = [jobs.get_job(space, i) for i in ids]
                said = [f"{j.status.value} {(j.error or {}).get('message', '')}" for j in states]
                print("FAIL: the two long jobs did not both start: " + "; ".join(said))
                return False, float("nan")
            time.sleep(0.1)
        phases = asyncio.run(
            latency(
                url,
                operator,
                requests=args.requests,
                concurrency=args.concurrency,
                max_seconds=args.max_seconds,
            )
        )
        still = [jobs.get_job(space, i).status for i in ids]
    finally:
        space.close()
    print(f"{'phase':<10}{'requests':>10}{'errors':>8}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}")
    for p in phases:
        rate = len(p.latencies) / p.wall if p.wall else 0.0
        print(
            f"{p.name:<10}{len(p.latencies):>10}{p.errors:>8}"
            f"{p.pct(0.5) * 1e3:>10.1f}{p.pct(0.99) * 1e3:>10.1f}{rate:>10.0f}"
        )
    base, cat = phases
    ratio = cat.pct(0.99) / base.pct(0.99)
    both = all(s is JobStatus.RUNNING for s in still)
    print(f"jobs running at the end of the measurement: {[s.value for s in still]}")
    print(f"ratio p99 catalog / p99 /health while 2 jobs run: {ratio:.2f} (target <= {TARGET})")
    ok = not base.errors and not cat.errors and both
    if base.errors or cat.errors:
        print(f"FAIL: some requests failed: {base.reasons} {cat.reasons}")
    if not both:
        print("FAIL: a long job ended before the measurement did (raise --long-trees)")
    return ok, ratio


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=50, help="concurrent submissions")
    ap.add_argument("--workers", type=int, default=2, help="worker processes")
    ap.add_argument("--queue", choices=("sqlite", "redis"), default="sqlite")
    ap.add_argument("--requests", type=int, default=1000, help="requests per latency phase")
    ap.add_argument("--concurrency", type=int, default=50, help="requests in flight")
    ap.add_argument("--max-seconds", type=float, default=30.0, help="time limit per phase")
    ap.add_argument("--long-trees", type=int, default=5000, help="trees of the 2 long jobs")
    ap.add_argument("--timeout", type=float, default=600.0, help="wait for the jobs at most")
    ap.add_argument("--target", type=float, default=TARGET, help="fail above this p99 ratio")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    server = redis_proc = None
    workers: list[subprocess.Popen[bytes]] = []
    try:
        queue_url = ""
        if args.queue == "redis":
            redis_proc, queue_url = start_redis(work)
        root = work / "space"
        op_token, builder_token = prepare(root, queue_url)
        server, url = start_server(root, work / "uvicorn.log")
        workers = start_workers(root, args.workers, work / "workers.log")
        print(f"queue: {args.queue}; {args.workers} worker processes; server {url}")
        builder = {"Authorization": f"Bearer {builder_token}"}
        operator = {"Authorization": f"Bearer {op_token}"}
        jobs_ok = submissions(root, url, builder, args.jobs, args.timeout)
        lat_ok, ratio = under_jobs(root, url, builder, operator, args)
        if ratio > args.target:
            print(f"FAIL: p99 ratio {ratio:.2f} above target {args.target}")
        return 0 if jobs_ok and lat_ok and ratio <= args.target else 1
    finally:
        for proc in workers:
            stop_group(proc)
        if server is not None:
            stop_server(server)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
