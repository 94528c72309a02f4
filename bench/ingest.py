"""Benchmark: Resonance ingest of a 1,000,000-row CSV against pandas + Parquet.

Generates a CSV with ten mixed columns (integers, floats, a categorical string,
a binary label; some values missing) in a temporary folder, then times, in the
same run and on the same file:

* baseline: ``pandas.read_csv`` + ``DataFrame.to_parquet``;
* resonance: :func:`resonance.services.catalog.ingest` on a fresh SQLite space
  (read, validate, profile, Parquet snapshot, content hash, metadata, ledger).

Each is run ``--repeat`` times (fresh space each time) and the best time counts.
Prints a table with both times and the ratio; exits with status 1 when the ratio
is above ``--target`` (default 1.5).

Run: ``make bench-ingest`` or ``python -m bench.ingest [--rows N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from resonance.domain.datasets import DatasetKind, make_label_spec
from resonance.domain.orgs import Role
from resonance.services import catalog, orgs
from resonance.services.space import Space

TARGET = 1.5
GRADES = np.array(["A300", "A400", "B100", "C250", "D900"])


def make_csv(path: Path, rows: int, *, seed: int = 7) -> Path:
    """Write a CSV of ``rows`` rows with ten mixed columns and some missing values."""
    rng = np.random.default_rng(seed)

    def with_missing(values: np.ndarray, share: float) -> pa.Array:
        return pa.array(values, mask=rng.random(rows) < share)

    label = (rng.random(rows) < 0.1).astype(np.int64)
    table = pa.table(
        {
            "unit_id": np.arange(rows, dtype=np.int64),
            "line": rng.integers(1, 40, rows),
            "speed_rpm": with_missing(rng.integers(1100, 2900, rows), 0.01),
            "tool_wear_min": rng.integers(0, 250, rows),
            "air_temp_k": np.round(rng.normal(300.0, 2.0, rows), 1),
            "process_temp_k": with_missing(np.round(rng.normal(310.0, 1.5, rows), 1), 0.02),
            "torque_nm": np.round(rng.normal(40.0, 10.0, rows), 2),
            "vibration": rng.random(rows),
            "grade": with_missing(GRADES[rng.integers(0, len(GRADES), rows)], 0.005),
            "failure": label,
        }
    )
    pcsv.write_csv(table, path)
    return path


def baseline(csv: Path, work: Path) -> None:
    """pandas.read_csv + DataFrame.to_parquet."""
    out = work / "baseline.parquet"
    pd.read_csv(csv).to_parquet(out)
    out.unlink()


def _fresh_space(root: Path) -> Space:
    shutil.rmtree(root, ignore_errors=True)
    space = Space.init(root)
    orgs.register_organization(
        space, actor=None, name="operator", roles=frozenset({Role.OPERATOR}), region="Beijing"
    )
    orgs.register_organization(
        space, actor="operator", name="plant", roles=frozenset({Role.DATA_HOLDER}), region="Hebei"
    )
    return space


def _time(fn: Callable[[], None]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_baseline(csv: Path, work: Path) -> float:
    """Seconds for one baseline run."""
    return _time(lambda: baseline(csv, work))


def time_ingest(csv: Path, work: Path) -> float:
    """Seconds for one ingest (space creation is not timed)."""
    space = _fresh_space(work / "space")
    new = catalog.NewDataset(
        owner="plant",
        kind=DatasetKind.COMMON,
        industry="industrial-machinery",
        label=make_label_spec("failure", None),
    )

    def run() -> None:
        result = catalog.ingest(space, actor="plant", path=csv, dataset="bench", new=new)
        assert result.created and result.report.ok, result.report.errors

    try:
        return _time(run)
    finally:
        space.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", type=float, default=TARGET)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="resonance-bench-") as tmp:
        work = Path(tmp)
        csv = make_csv(work / "data.csv", args.rows)
        size_mb = csv.stat().st_size / 1e6
        base, ours = [], []
        for _ in range(args.repeat):  # interleaved, so drift hits both alike
            base.append(time_baseline(csv, work))
            ours.append(time_ingest(csv, work))
    best_base, best_ours = min(base), min(ours)
    ratio = best_ours / best_base
    ok = ratio <= args.target
    print(f"ingest benchmark: {args.rows:,} rows, 10 columns, {size_mb:.1f} MB CSV")
    print(f"{'step':<42} {'best s':>8}   runs (s)")
    print(f"{'pandas.read_csv + to_parquet (baseline)':<42} {best_base:>8.3f}   {_runs(base)}")
    print(f"{'resonance ingest (fresh SQLite space)':<42} {best_ours:>8.3f}   {_runs(ours)}")
    print(f"{'ratio (resonance / baseline)':<42} {ratio:>8.2f}   target <= {args.target:.2f}")
    print("PASS" if ok else "FAIL: ingest is slower than the target ratio")
    return 0 if ok else 1


def _runs(times: list[float]) -> str:
    return " ".join(f"{t:.3f}" for t in times)


if __name__ == "__main__":
    sys.exit(main())
