"""Benchmark: how long the CLI takes before it does anything.

Times, in fresh processes, ``python -c pass`` (the baseline: the interpreter alone),
``resonance --help`` and ``resonance dataset list`` on a fresh space; each ``--runs`` times,
reporting the median and best, and the ratio of each median to the baseline's measured in the
same run. Target: ``--help`` and ``dataset list`` at most 0.5 s (median); exit status 1 above.

Run: ``make bench-cli`` or ``python -m bench.cli_startup [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resonance.services.space import Space

TARGET_S = 0.5


def timed(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall-clock seconds of ``runs`` fresh runs of ``cmd`` (each must exit 0)."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(
            cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="runs per command")
    ap.add_argument("--target", type=float, default=TARGET_S, help="seconds allowed (median)")
    ap.add_argument(
        "--before",
        type=Path,
        help="also time the same commands on another source tree (e.g. an older checkout's "
        "src), interleaved in the same run, and print the speed-up",
    )
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        Space.init(work / "space").close()
        script = Path(sys.executable).with_name("resonance")  # the installed entry point
        cli = [str(script)] if script.exists() else [sys.executable, "-m", "resonance.cli"]
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "resonance --help": [*cli, "--help"],
            "resonance dataset list": [*cli, "--space", str(work / "space"), "dataset", "list"],
        }
        timed(cases["resonance --help"], 1)  # warm the file cache and bytecode
        results: dict[str, list[float]] = {name: [] for name in cases}
        before_env = None
        if args.before:
            before_env = {**os.environ, "PYTHONPATH": str(args.before.resolve())}
            for name in list(cases)[1:]:
                results[f"{name} (before)"] = []
        for _ in range(args.runs):  # interleaved: every command sees the same machine load
            for name, cmd in cases.items():
                results[name] += timed(cmd, 1)
                if before_env is not None and name != "python -c pass":
                    results[f"{name} (before)"] += timed(cmd, 1, before_env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(results["python -c pass"])
    print(f"{'command':<34}{'median s':>10}{'best s':>10}{'x python -c pass':>18}")
    for name, times in results.items():
        med = statistics.median(times)
        print(f"{name:<34}{med:>10.3f}{min(times):>10.3f}{med / base:>18.1f}")
    for name in list(cases)[1:]:
        if f"{name} (before)" in results:
            speed = statistics.median(results[f"{name} (before)"]) / statistics.median(
                results[name]
            )
            print(f"speed-up of {name!r} over --before: {speed:.1f}x")
    slow = [
        n
        for n, t in results.items()
        if n in cases and n != "python -c pass" and statistics.median(t) > args.target
    ]
    if slow:
        print(f"MISSED: above {args.target} s (median): {', '.join(slow)}")
        return 1
    print(f"OK: every command within {args.target} s (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
