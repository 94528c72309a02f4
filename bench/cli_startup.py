"""Benchmark: how long the CLI takes before it does anything.

Times, in fresh processes, ``python -c pass`` (the baseline: the interpreter alone),
``resonance --help`` and ``resonance dataset list`` on a fresh space; each ``--runs`` times,
reporting the median and best, and the ratio of each median to the baseline's measured in the
same run. Target: ``--help`` and ``dataset list`` at most 0.5 s (median); exit status 1 above.

Run: ``make bench-cli`` or ``python -m bench.cli_startup [--runs N]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resonance.services.space import Space

TARGET_S = 0.5


def timed(cmd: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` fresh runs of ``cmd`` (each must exit 0)."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="runs per command")
    ap.add_argument("--target", type=float, default=TARGET_S, help="seconds allowed (median)")
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
        results = {name: timed(cmd, args.runs) for name, cmd in cases.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(results["python -c pass"])
    print(f"{'command':<26}{'median s':>10}{'best s':>10}{'x python -c pass':>18}")
    for name, times in results.items():
        med = statistics.median(times)
        print(f"{name:<26}{med:>10.3f}{min(times):>10.3f}{med / base:>18.1f}")
    slow = [
        n
        for n, t in results.items()
        if n != "python -c pass" and statistics.median(t) > args.target
    ]
    if slow:
        print(f"MISSED: above {args.target} s (median): {', '.join(slow)}")
        return 1
    print(f"OK: every command within {args.target} s (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
