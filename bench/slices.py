"""Benchmark: SliceLine-style slice search against one LightGBM fit on the same data.

Generates 100,000 rows × 20 features (16 numeric, 4 categorical with five
levels each), a 0/1 label, and per-row model errors with a planted weak slice
(``x3`` in its top quartile AND ``x7`` in its bottom quartile AND ``kind1 = c``:
80 % errors there, 10 % elsewhere, 2 % around it so no parent looks worse).
Then times, in the same run:

* baseline: one fit of the ``lightgbm`` trainer with its default parameters on
  the encoded features and the label, on ``--threads`` threads (default 1, as
  the slice search runs on one core: on a loaded machine LightGBM's OpenMP
  threads wait on each other and a multi-threaded fit looks much slower);
* resonance: :func:`fit_binning` + :func:`find_slices` (``max_level=3``) on the
  raw features and the errors.

The two alternate ``--repeat`` times; each one's best time counts. Prints both times, the
ratio, and whether the planted slice ranked first; exits with status 1 when the
ratio is above ``--target`` (default 1.0) or the planted slice is not first.

Run: ``make bench-slices`` or ``python -m bench.slices [--rows N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from resonance.domain.diagnosis import Slice, find_slices, fit_binning
from resonance.domain.modeling import Task
from resonance.training.trainers import get_trainer

TARGET = 1.0
PLANTED = {"x3", "x7", "kind1"}


def make_data(rows: int, *, seed: int = 11) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Features, a 0/1 label and per-row errors with the planted weak slice."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(16)})
    for i in range(4):
        frame[f"kind{i}"] = pd.Categorical(rng.choice(list("abcde"), size=rows))
    logit = frame["x0"] + frame["x1"] * frame["x2"] - 0.5 * frame["x5"]
    label = (logit + rng.normal(scale=0.5, size=rows) > 0).to_numpy().astype(int)
    high3 = (frame["x3"] >= frame["x3"].quantile(0.75)).to_numpy()
    low7 = (frame["x7"] < frame["x7"].quantile(0.25)).to_numpy()
    kind_c = (frame["kind1"] == "c").to_numpy()
    planted = high3 & low7 & kind_c
    around = (high3 & low7) | (high3 & kind_c) | (low7 & kind_c)
    p = np.where(planted, 0.8, np.where(around, 0.02, 0.1))
    errors = (rng.random(rows) < p).astype(float)
    return frame, label, errors


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Wall time of one call and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(rows: int, repeat: int, *, threads: int = 1) -> tuple[float, float, list[Slice], list[str]]:
    """Times of the LightGBM fit and of the slice search, the slices and feature names."""
    frame, label, errors = make_data(rows)
    X = pd.get_dummies(frame, dtype=float).to_numpy()
    trainer = get_trainer("lightgbm")

    def fit() -> object:
        return trainer.build(Task.CLASSIFICATION, {"n_jobs": threads}, 0).fit(X, label)

    def search() -> tuple[list[Slice], list[str]]:
        binning = fit_binning(frame)
        return find_slices(binning, errors, max_level=3, min_support=100), binning.features

    t_fit = t_search = float("inf")
    result: object = None
    for _ in range(repeat):  # alternate, so both see the same machine load
        t_fit = min(t_fit, timed(fit)[0])
        seconds, result = timed(search)
        t_search = min(t_search, seconds)
    assert isinstance(result, tuple)
    found: list[Slice] = result[0]
    names: list[str] = result[1]
    return t_fit, t_search, found, names


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; non-zero exit when it misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", type=float, default=TARGET)
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads (n_jobs)")
    args = parser.parse_args(argv)
    t_fit, t_search, slices, features = run(args.rows, args.repeat, threads=args.threads)
    first = {features[f] for f, _ in slices[0].predicates} if slices else set()
    ratio = t_search / t_fit
    print(
        f"slice search vs one LightGBM fit, {args.rows:,} rows x 20 features, best of {args.repeat}"
    )
    print(f"{'step':<44}{'seconds':>10}")
    base = f"baseline: lightgbm fit (defaults, {args.threads} thr)"
    print(f"{base:<44}{t_fit:>10.3f}")
    print(f"{'resonance: fit_binning + find_slices (3)':<44}{t_search:>10.3f}")
    print(f"{'ratio (search / fit)':<44}{ratio:>10.3f}   target <= {args.target}")
    print(f"planted slice ranked first: {'yes' if first == PLANTED else 'no'}")
    if slices:
        top = slices[0]
        print(f"  #1 {top.description} (rows {top.size}, error {top.error_rate:.2f})")
    return 0 if ratio <= args.target and first == PLANTED else 1


if __name__ == "__main__":
    sys.exit(main())
