"""Benchmark: validating a wide table (20 rows x 20,000 columns) — cost linear in columns.

The issue's probe sent a 20-row x 20,001-column CSV that pinned a core for more than
19 minutes (1,000 columns took 4.7 s, 8,000 took 112 s). This benchmark builds wide
tables in memory (numeric columns, one string column, some missing values) and times
:func:`resonance.domain.validation.validate_table` on ``--widths`` (default 1,000,
5,000, 20,000 columns). It prints each time, the time per 1,000 columns and the ratio
of the widest to the narrowest per-column cost (near 1 when the cost is linear), and
exits with status 1 when the widest run is above ``--target`` seconds (default 10)
or the per-column ratio is above 3.

Run: ``make bench-validate`` or ``python -m bench.validate_wide [--rows N] [--widths ...]``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pyarrow as pa

from resonance.domain.validation import validate_table

TARGET_S = 10.0
MAX_RATIO = 3.0


def wide_table(rows: int, columns: int, *, seed: int = 0) -> pa.Table:
    """``rows`` x ``columns``: floats with a few missing values, and one string column."""
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(columns - 1, rows))
    mask = rng.random(size=data.shape) < 0.05
    arrays = [pa.array(col, mask=m) for col, m in zip(data, mask, strict=True)]
    arrays.append(pa.array([f"g{i % 3}" for i in range(rows)]))
    names = [f"f{i}" for i in range(columns - 1)] + ["grade"]
    return pa.Table.from_arrays(arrays, names=names)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--widths", type=int, nargs="+", default=[1_000, 5_000, 20_000])
    parser.add_argument("--target", type=float, default=TARGET_S)
    args = parser.parse_args(argv)
    results = []
    for width in args.widths:
        table = wide_table(args.rows, width)
        start = time.perf_counter()
        report, profile = validate_table(table)
        elapsed = time.perf_counter() - start
        assert report.ok and len(profile["columns"]) == width
        results.append((width, elapsed))
        print(f"{width:>7,} columns x {args.rows} rows: {elapsed:7.2f} s "
              f"({elapsed / width * 1000:.3f} s per 1,000 columns)")  # fmt: skip
    (w0, t0), (w1, t1) = results[0], results[-1]
    ratio = (t1 / w1) / (t0 / w0)
    print(f"per-column cost, widest / narrowest: {ratio:.2f} (1.0 = linear)")
    ok = t1 <= args.target and ratio <= MAX_RATIO
    print(f"widest: {t1:.2f} s (target <= {args.target:.0f} s): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
