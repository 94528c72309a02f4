"""Crash-safe runs: a loop killed with SIGKILL is marked failed on restart and can be re-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from resonance.domain.datasets import Transformation
from resonance.services import access, catalog, integrity, ledger, review
from resonance.services import loop as loops
from resonance.services.space import Space
from tests.loop_seed import request, seed_loop

REPO = Path(__file__).resolve().parents[2]

# runs the loop in a child process and kills itself (SIGKILL) right after iteration 0 is stored
CHILD = """
import json, os, signal, sys
from resonance.services import loop as loops
from resonance.services.space import Space
from tests.loop_seed import LoopSeed, request
root, seeded = sys.argv[1], LoopSeed(**json.loads(sys.argv[2]))
def progress(message, done, total):
    if done == 1:
        os.kill(os.getpid(), signal.SIGKILL)
loops.run(Space.open(root), actor="builder", request=request(seeded, iterations=2),
          progress=progress)
"""


def test_a_killed_loop_is_marked_failed_and_its_name_reused(
    lite_space: Space, tmp_path: Path
) -> None:
    seeded = seed_loop(lite_space, tmp_path / "data")
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(lite_space.root), json.dumps(seeded.__dict__)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == -9, child.stderr
    (lite_space.artifacts.tmp / "partial.parquet").write_bytes(b"PAR1 half")  # litter
    stuck = loops.get_run(lite_space, "loop-1")
    assert stuck.status == "running" and [it.number for it in stuck.iterations] == [0]

    # a candidate the dying iteration had made but the suite never judged
    with lite_space.work() as w:
        pooled = w.tx.get_version("loop-1-data")
    assert pooled is not None
    candidate, _ = catalog.derive_version(
        lite_space,
        actor="builder",
        dataset="loop-1-data",
        table=access.load_rows(lite_space, pooled).slice(1),
        parents=(pooled.ref,),
        transformation=Transformation("drop", {"rows": [0]}, "candidate of iteration 1"),
        provenance=catalog.row_provenance(lite_space, pooled).take(np.arange(1, pooled.row_count)),
    )

    recovered = loops.recover_runs(lite_space)
    assert [r.name for r in recovered] == ["loop-1"]
    failed = loops.get_run(lite_space, "loop-1")
    assert failed.status == "failed" and failed.finished_at
    assert failed.failure is not None and failed.failure.last_completed_iteration == 0
    assert failed.summary is None
    assert review.version_marks(lite_space, "loop-1-data")[candidate.number].status == "rejected"
    with lite_space.work() as w:
        latest = w.tx.get_version("loop-1-data")
    assert latest is not None and latest.number != candidate.number  # never the latest
    assert loops.recover_runs(lite_space) == []
    assert lite_space.artifacts.clean_tmp() == 1
    assert not any(lite_space.artifacts.tmp.iterdir())

    again = loops.run(lite_space, actor="builder", request=request(seeded, iterations=1))
    assert again.status == "finished" and [it.number for it in again.iterations] == [0, 1]
    started = ledger.entries(lite_space, action="loop.started", limit=None)
    assert [e.payload.get("rerun_of_failed", False) for e in started] == [False, True]
    assert ledger.verify(lite_space).ok
    assert integrity.verify_state(lite_space).ok, integrity.verify_state(lite_space).to_dict()


def test_a_live_run_is_left_alone(lite_space: Space, tmp_path: Path) -> None:
    from resonance.domain.loop_types import RUNNING, LoopRun

    with lite_space.work() as w:
        w.tx.add_loop_run(
            LoopRun(
                name="live",
                created_by="builder",
                created_at=w.now,
                status=RUNNING,
                suite="s",
                model="live",
                dataset="live-data",
                process=loops.process_marker(),
            )
        )
    assert loops.recover_runs(lite_space) == []
    assert loops.get_run(lite_space, "live").status == RUNNING
