"""Benchmark: how long the CLI takes before it does anything.

Times, in fresh processes, ``python -c pass`` (the baseline: the interpreter alone),
``resonance --help`` and ``resonance dataset list`` on a fresh space holding ``--datasets``
small datasets (each with two versions); each ``--runs`` times,
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

from resonance.domain.datasets import DatasetKind
from resonance.domain.orgs import Role
from resonance.services import catalog, orgs, tokens

TARGET_S = 0.5


def fill(root: Path, datasets: int) -> str:
    """A space at ``root`` with ``datasets`` small datasets of one holder, two versions each;
    returns the holder's API token (the CLI acts for an organization only with its token)."""
    space = orgs.init_space(root, operator="operator", region="Beijing")
    try:
        orgs.register_organization(
            space, actor="operator", name="holder", roles=frozenset({Role.DATA_HOLDER}),
            region="Jiangsu",
        )  # fmt: skip
        files = root.parent / "files"
        files.mkdir(exist_ok=True)
        for i in range(datasets):
            for v in range(2):
                path = files / f"d{i}-{v}.csv"
                rows = "\n".join(f"{r},{(r * 7 + i + v) % 11},{'ab'[r % 2]}" for r in range(50))
                path.write_text("id,x,y\n" + rows + "\n")
                new = catalog.NewDataset(
                    owner="holder", kind=DatasetKind.COMMON, industry="steel", label=None
                )
                catalog.ingest(
                    space, actor="holder", path=path, dataset=f"data-{i:03d}",
                    new=new if v == 0 else None,
                )  # fmt: skip
        plain, _ = tokens.create_token(space, actor="holder", organization="holder")
        return plain
    finally:
        space.close()


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
    ap.add_argument("--datasets", type=int, default=20, help="datasets in the listed space")
    ap.add_argument(
        "--before",
        type=Path,
        help="also time the same commands on another source tree (e.g. an older checkout's "
        "src), interleaved in the same run, and print the speed-up",
    )
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        os.environ["RESONANCE_TOKEN"] = fill(work / "space", args.datasets)  # inherited
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
