"""A job worker: ``resonance worker`` (or ``python -m resonance.jobs.worker``).

Marks jobs whose worker died as failed, then consumes the space's queue with huey's consumer
(``workers`` processes or threads). ``resonance serve`` starts one of these as a separate
process (never a fork of the threaded server).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from pathlib import Path

from resonance.jobs.queue import JobQueue
from resonance.services import jobs as jobs_svc
from resonance.services.space import Space


def run_worker(space_root: str | Path, *, workers: int = 1, worker_type: str = "process") -> None:
    """Recover lost jobs, then consume the queue until SIGTERM / SIGINT."""
    space = Space.open(space_root)
    try:
        for job in jobs_svc.recover(space):
            logging.getLogger("resonance.jobs").warning("job %s: worker lost", job.id)
        queue = JobQueue(space)
    finally:
        space.close()  # each worker opens its own connections
    consumer = queue.huey.create_consumer(
        workers=workers,
        worker_type=worker_type,
        periodic=False,
        initial_delay=0.05,
        backoff=1.3,
        max_delay=0.5,
    )
    consumer.run()


def spawn(space_root: str | Path, *, workers: int = 1) -> subprocess.Popen[bytes]:
    """Start a worker as a separate process (the embedded default of ``resonance serve``)."""
    cmd = [sys.executable, "-m", "resonance.jobs.worker", "--space", str(space_root)]
    return subprocess.Popen([*cmd, "--workers", str(workers)], env=dict(os.environ))


def main(argv: list[str] | None = None) -> None:
    """Command line of the worker process."""
    parser = argparse.ArgumentParser(prog="resonance-worker")
    parser.add_argument("--space", default=os.environ.get("RESONANCE_SPACE", "."))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker-type", choices=("process", "thread"), default="process")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_worker(args.space, workers=args.workers, worker_type=args.worker_type)


if __name__ == "__main__":
    main()
