"""Soak: ``kill -9`` at random points of ingest, loop and federated runs, then verify.

Seeds a SQLite space with the steel data (three plants, reserves, a sealed suite; the
test seed in ``tests/loop_seed.py``), then ``--kills`` times (default 10): starts one
operation in a child process (an ingest of a fresh file, a loop run, a federated run;
in turn), sends it SIGKILL after a random delay, and runs the start-up recovery
(stale temp files, dead loop runs). Then every operation is run again to completion
under the same names, and ``verify`` (ledger with signed head, state replay, artifact
hashes) must be clean. Prints one line per kill and a summary; exits 1 on any finding.

Run: ``make soak`` or ``python -m bench.soak [--kills N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import STEEL_CSV, make_space
from tests.loop_seed import LoopSeed, seed_loop

from resonance.domain.policies import parse_grant
from resonance.services import integrity, ledger, policies, review
from resonance.services import loop as loops
from resonance.services.space import Space

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, shutil, sys
from pathlib import Path
from resonance.domain.datasets import DatasetKind
from resonance.services import catalog, federation
from resonance.services import loop as loops
from resonance.services.space import Space
from resonance.training.federated.apps import FederationConfig
from tests.loop_seed import LoopSeed, request
root, op, seeded, n = sys.argv[1], sys.argv[2], LoopSeed(**json.loads(sys.argv[3])), sys.argv[4]
space = Space.open(root)
if op == "ingest":
    src = Path(root) / f"copy-{n}.csv"
    text = Path(sys.argv[5]).read_text()
    src.write_text(text + "\\n".join(text.splitlines()[1:int(n) + 2]) + "\\n")
    catalog.ingest(space, actor="plant-b", path=src, dataset="soak-ingest",
                   new=catalog.NewDataset("plant-b", DatasetKind.COMMON, "steel"))
elif op == "loop":
    loops.run(space, actor="builder", request=request(seeded, name="soak-loop", iterations=2))
else:
    federation.federate(space, actor="builder", name="soak-fed", datasets=seeded.datasets,
                        config=FederationConfig(rounds=5))
"""

OPS = ("ingest", "loop", "federated")


def child(root: Path, op: str, seeded: LoopSeed, n: int) -> subprocess.Popen[bytes]:
    """Start one operation in a child process."""
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), op, json.dumps(seeded.__dict__), str(n),
         str(STEEL_CSV)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def recover(space: Space) -> tuple[int, list[str]]:
    """What ``resonance serve`` does at start-up (no other writer runs here: no grace)."""
    removed = space.artifacts.clean_tmp()
    failed = [r.name for r in loops.recover_runs(space)]
    review.recover_applies(space)
    return removed, failed


def findings(space: Space) -> list[str]:
    """Every finding of the ledger, state and artifact checks."""
    out = [f"ledger: {p}" for p in ledger.verify(space).problems]
    out += [f"state: {d.to_dict()}" for d in integrity.verify_state(space).differences]
    out += [f"artifacts: {p}" for p in integrity.verify_artifacts(space).problems]
    return out


def _finished(space: Space, name: str) -> bool:
    """Whether loop run ``name`` exists and finished."""
    return any(r.name == name and r.status == "finished" for r in loops.list_runs(space))


def main(argv: list[str] | None = None) -> int:
    """Run the soak; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-delay", type=float, default=30.0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        space = make_space(Path(tmp) / "space")
        seeded = seed_loop(space, Path(tmp) / "data")
        for name in seeded.datasets:
            policies.set_policy(
                space, actor=name.removeprefix("steel-"), dataset=name,
                grants=[parse_grant("builder:train-pooled,train-federated")],
                allow_auto_drop=name == "steel-plant-a",
            )  # fmt: skip
        bad: list[str] = []
        for k in range(args.kills):
            op = OPS[k % len(OPS)]
            delay = rng.uniform(2.0, args.max_delay)  # the child needs ~2 s to import
            proc = child(space.root, op, seeded, k)
            time.sleep(delay)
            finished = proc.poll() is not None
            if not finished:
                proc.send_signal(signal.SIGKILL)
            proc.wait()
            removed, failed = recover(Space.open(space.root))
            now = findings(Space.open(space.root))
            bad += now
            how = "finished first" if finished else "killed"
            print(
                f"kill {k + 1:>2}: {op:<9} after {delay:4.1f} s ({how}, rc {proc.returncode}); "
                f"temp files removed {removed}, runs failed {failed}; findings {len(now)}"
            )
        final = Space.open(space.root)
        for op in OPS:
            if op == "loop" and _finished(final, "soak-loop"):
                # its process ended before the kill: a finished run is never re-run (RES-102)
                print(f"re-run {op:<9}: not needed (the run finished before its kill)")
                continue
            proc = child(final.root, op, seeded, 99)
            _, err = proc.communicate(timeout=1800)
            ok = proc.returncode == 0
            print(f"re-run {op:<9}: {'ok' if ok else 'FAILED'}")
            if not ok:
                bad.append(f"re-run {op} failed: {err.decode()[-2000:]}")
        final = Space.open(final.root)
        bad += findings(final)
        run = loops.get_run(final, "soak-loop")
        if run.status != "finished":
            bad.append(f"soak-loop is {run.status} after its re-run")
    for line in bad:
        print("FINDING", line)
    print(f"soak: {args.kills} kills, {len(bad)} finding(s): {'clean' if not bad else 'NOT clean'}")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
