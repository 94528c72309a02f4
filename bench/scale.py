"""Benchmark: every capability at 10k, 100k and 1M rows (10M for ingest), time and peak memory.

Each (capability, size) runs in its own child process (``python -m bench.scale
--child NAME --rows N``), so one capability's memory never counts against
another's. The child builds its inputs first (not timed), then resets the
kernel's high-water mark of its resident memory (``/proc/self/clear_refs``) and
runs the measured step; it reports

* ``seconds``: wall time of the step (ingest and its peers: the median of
  :data:`INGEST_REPEATS` runs, each time listed under ``runs``; the ratio to DuckDB
  moved by a third between single runs on the shared cores);
* ``peak_mb``: the process's peak resident memory during the step (inputs it
  already held included: what the machine must have);
* ``base_mb``: resident memory right after start-up (interpreter and imports),
  so ``peak_mb - base_mb`` is what the work itself needed.

Peers and baselines run the same way, in the same invocation, on the same
inputs: DuckDB ``COPY … TO parquet``, pyarrow and pandas for ingest; the
``sliceline`` package for slice search; pyDVL (in its own virtual environment:
it pins numpy < 2) for KNN-Shapley; plain LightGBM for training and the loop;
plain Flower FedAvg (a numpy ClientApp, no policies, no ledger) for federation.

Inputs are synthetic rows resampled from the shared datasets' schemas with
noise (AI4I 2020 for ingest, training, the loop and federation; steel plates'
27 numeric features plus three categorical ones for the 30-feature slice
search), written under ``--work`` (default: a temporary folder in /tmp) and
deleted afterwards. The catalog and quota pages scale with the catalog, not
with rows: "size N" there means N/100 datasets and N/10 ledger entries, so the
1M column is the issue's 10,000 datasets and 100,000 ledger entries.

Growth exponents are the least-squares slope of log(time) (and of
log(peak - base)) over log(size) across the sizes measured.

Run: ``make bench-scale`` or ``python -m bench.scale [--sizes 10000,100000] [--only ingest,slices]
[--json results.json] [--out bench/SCALING.md]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

DATA = Path(
    os.environ.get("RESONANCE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared/data")
)
AI4I = DATA / "ai4i2020" / "ai4i2020.csv"
STEEL = DATA / "steel-plates-faults" / "steel_plates_faults.csv"
AI4I_LABEL = "Machine failure"
AI4I_EXCLUDE = ("UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF")
PYDVL_PYTHON = Path(os.environ.get("PYDVL_PYTHON", ".venv-pydvl/bin/python"))
LGBM = {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "n_jobs": 1}
MB = 1024 * 1024


# --------------------------------------------------------------------------- measuring


def rss_mb(field_name: str = "VmRSS") -> float:
    """A memory figure of this process from /proc/self/status, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(step: Callable[[], Any]) -> tuple[float, float, Any]:
    """Run ``step`` after resetting the peak-RSS mark: (seconds, peak MiB during it, result)."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    start = time.perf_counter()
    if os.environ.get("SCALE_PROFILE"):  # where the time goes: cProfile's top lines on stderr
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            result = step()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    else:
        result = step()
    seconds = time.perf_counter() - start
    return seconds, rss_mb("VmHWM"), result


# --------------------------------------------------------------------------- synthetic data


def resample(source: pa.Table, rows: int, *, seed: int = 0, noise: float = 0.05) -> pa.Table:
    """``rows`` rows drawn with replacement from ``source``, numeric columns jittered.

    Floating-point columns get Gaussian noise of ``noise`` × their standard
    deviation; integer columns the same noise rounded (0/1 flags and labels are
    kept as drawn); text columns are kept. Produced in chunks of 1M rows.
    """
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, rows, 1_000_000):
        n = min(1_000_000, rows - start)
        idx = rng.integers(0, source.num_rows, n)
        cols = {}
        for name in source.column_names:
            col = source.column(name).to_numpy(zero_copy_only=False)[idx]
            if pa.types.is_floating(source.schema.field(name).type):
                sd = float(np.nanstd(source.column(name).to_numpy(zero_copy_only=False)))
                col = np.round(col + rng.normal(0.0, noise * sd, n), 3)
            elif pa.types.is_integer(source.schema.field(name).type):
                values = source.column(name).to_numpy(zero_copy_only=False)
                if len(np.unique(values)) > 2:
                    sd = float(values.std())
                    col = col + np.round(rng.normal(0.0, noise * sd, n)).astype(col.dtype)
            cols[name] = col
        if "UDI" in cols:
            cols["UDI"] = np.arange(start + 1, start + n + 1)
        chunks.append(pa.table(cols, schema=source.schema))
    return pa.concat_tables(chunks)


def ai4i_source() -> pa.Table:
    """The AI4I 2020 table (BOM stripped from the first column name)."""
    t = pcsv.read_csv(AI4I)
    return t.rename_columns([c.lstrip("\ufeff") for c in t.column_names])


def ai4i_rows(rows: int, work: Path, *, seed: int = 0) -> Path:
    """A Parquet file of ``rows`` resampled AI4I rows (cached under ``work``)."""
    path = work / f"ai4i-{rows}-{seed}.parquet"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        pq.write_table(resample(ai4i_source(), rows, seed=seed), tmp)
        tmp.rename(path)
    return path


def ai4i_csv(rows: int, work: Path) -> Path:
    """A CSV of ``rows`` resampled AI4I rows, written in 1M-row pieces (cached under ``work``)."""
    path = work / f"ai4i-{rows}.csv"
    if path.exists():
        return path
    source = ai4i_source()
    tmp = path.with_suffix(".tmp")
    with pcsv.CSVWriter(tmp, source.schema) as writer:
        for i, start in enumerate(range(0, rows, 1_000_000)):
            n = min(1_000_000, rows - start)
            part = resample(source, n, seed=1000 + i)
            part = part.set_column(0, "UDI", pa.array(np.arange(start + 1, start + n + 1)))
            writer.write_table(part)
    tmp.rename(path)
    return path


def slice_frame(rows: int, *, seed: int = 11) -> tuple[Any, np.ndarray]:
    """30 features (steel's 27 numeric + 3 categorical) and errors with a planted weak slice."""
    import pandas as pd

    steel = pcsv.read_csv(STEEL)
    features = [c for c in steel.column_names[:-7] if not c.startswith("TypeOfSteel")][:27]
    frame = resample(steel.select(features), rows, seed=seed).to_pandas()
    rng = np.random.default_rng(seed)
    frame["product"] = pd.Categorical(rng.choice(list("LMH"), size=rows, p=[0.6, 0.3, 0.1]))
    frame["line"] = pd.Categorical(rng.choice([f"line-{i}" for i in range(5)], size=rows))
    frame["shift"] = pd.Categorical(rng.choice(["early", "late", "night"], size=rows))
    a, b = features[3], features[7]
    high = (frame[a] >= frame[a].quantile(0.75)).to_numpy()
    low = (frame[b] < frame[b].quantile(0.25)).to_numpy()
    night = (frame["shift"] == "night").to_numpy()
    planted = high & low & night
    around = (high & low) | (high & night) | (low & night)
    p = np.where(planted, 0.8, np.where(around, 0.02, 0.1))
    return frame, (rng.random(rows) < p).astype(float)


# --------------------------------------------------------------------------- capabilities


@dataclass
class Cap:
    """One measured thing: a capability of Resonance or a peer run beside it."""

    name: str
    group: str
    what: str
    run: Callable[[int, Path], dict[str, Any]]
    peer: bool = False
    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    timeout: float = 1800.0
    memory_limit_mb: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _space(root: Path, db_url: str | None = None) -> Any:
    from resonance.domain.orgs import Role
    from resonance.services import orgs
    from resonance.services.space import Space

    shutil.rmtree(root, ignore_errors=True)
    space = Space.init(root, db_url=db_url, max_ingest_bytes=64 * 1024**3)
    orgs.register_organization(
        space, actor=None, name="operator", roles=frozenset({Role.OPERATOR}), region="Beijing"
    )
    for name, role in (("builder", Role.MODEL_BUILDER), ("evaluator", Role.EVALUATOR)):
        orgs.register_organization(
            space, actor="operator", name=name, roles=frozenset({role}), region="Jiangsu"
        )
    return space


def _holder(space: Any, name: str) -> None:
    from resonance.domain.orgs import Role
    from resonance.services import orgs

    orgs.register_organization(
        space, actor="operator", name=name, roles=frozenset({Role.DATA_HOLDER}), region="Hebei"
    )


def _ingest(space: Any, owner: str, path: Path, dataset: str, grants: tuple[str, ...] = ()) -> str:
    from resonance.domain.datasets import DatasetKind, make_label_spec
    from resonance.domain.policies import parse_grant
    from resonance.services import catalog, policies

    new = catalog.NewDataset(
        owner=owner,
        kind=DatasetKind.COMMON,
        industry="industrial-machinery",
        label=make_label_spec(AI4I_LABEL, None),
    )
    result = catalog.ingest(space, actor=owner, path=path, dataset=dataset, new=new)
    assert result.created and result.report.ok, result.report.errors
    if grants:
        policies.set_policy(
            space, actor=owner, dataset=dataset, grants=[parse_grant(g) for g in grants]
        )
    return result.version.ref


INGEST_REPEATS = 3  # ingest rows and their peers: the median of this many runs (2 shared cores)


def _median_of_runs(run: Callable[[], tuple[float, float]]) -> dict[str, Any]:
    """``run()`` -> (seconds, peak MiB), :data:`INGEST_REPEATS` times: the median time, the
    highest peak, and every time."""
    runs = [run() for _ in range(INGEST_REPEATS)]
    times = sorted(r[0] for r in runs)
    return {
        "seconds": times[len(times) // 2],
        "peak_mb": max(r[1] for r in runs),
        "runs": [r[0] for r in runs],
    }


def _median_of_writes(write: Callable[[], Any], out: Path) -> dict[str, Any]:
    """:func:`_median_of_runs` of a peer's ``write`` of the file ``out`` (removed after each)."""

    def run() -> tuple[float, float]:
        seconds, peak, _ = measure(write)
        out.unlink()
        return seconds, peak

    return _median_of_runs(run)


def cap_ingest(rows: int, work: Path) -> dict[str, Any]:
    """catalog.ingest of a CSV: read, hash, validate + profile, Parquet snapshot, ledger."""
    csv = ai4i_csv(rows, work)

    def run() -> tuple[float, float]:
        space = _space(work / "space-ingest")  # a fresh space each run: nothing to reuse
        _holder(space, "plant")
        seconds, peak, _ = measure(lambda: _ingest(space, "plant", csv, "bench"))
        space.close()
        shutil.rmtree(work / "space-ingest", ignore_errors=True)
        return seconds, peak

    return {**_median_of_runs(run), "file_mb": csv.stat().st_size / MB}


def peer_duckdb(rows: int, work: Path) -> dict[str, Any]:
    """DuckDB ``COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet)``."""
    import duckdb

    csv, out = ai4i_csv(rows, work), work / "duckdb.parquet"
    con = duckdb.connect()

    def copy() -> None:
        con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{out}' (FORMAT parquet)")

    return _median_of_writes(copy, out)


def peer_pyarrow(rows: int, work: Path) -> dict[str, Any]:
    """pyarrow.csv.read_csv + pyarrow.parquet.write_table."""
    csv, out = ai4i_csv(rows, work), work / "pyarrow.parquet"
    return _median_of_writes(lambda: pq.write_table(pcsv.read_csv(csv), out), out)


def peer_pandas(rows: int, work: Path) -> dict[str, Any]:
    """pandas.read_csv + DataFrame.to_parquet."""
    import pandas as pd

    csv, out = ai4i_csv(rows, work), work / "pandas.parquet"
    return _median_of_writes(lambda: pd.read_csv(csv).to_parquet(out), out)


def cap_slices(rows: int, work: Path) -> dict[str, Any]:
    """fit_binning + find_slices (3 predicates) on rows × 30 features."""
    from resonance.domain.diagnosis import find_slices, fit_binning

    frame, errors = slice_frame(rows)

    def run() -> Any:
        binning = fit_binning(frame)
        return find_slices(binning, errors, max_level=3, min_support=max(30, rows // 1000))

    seconds, peak, found = measure(run)
    return {"seconds": seconds, "peak_mb": peak, "top": found[0].description if found else ""}


def peer_sliceline(rows: int, work: Path) -> dict[str, Any]:
    """sliceline.Slicefinder (max_l=3, k=10) on the same 30 features, binned the same way."""
    from sliceline.slicefinder import Slicefinder

    from resonance.domain.diagnosis import fit_binning

    frame, errors = slice_frame(rows)
    codes = fit_binning(frame).codes  # sliceline wants discrete values: give it our bins

    def run() -> Any:
        finder = Slicefinder(
            alpha=0.95, k=10, max_l=3, min_sup=max(30, rows // 1000), verbose=False
        )
        return finder.fit(codes, errors)

    seconds, peak, _ = measure(run)
    return {"seconds": seconds, "peak_mb": peak}


def _oof_fit_predict(
    X: np.ndarray, y: np.ndarray
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    import lightgbm as lgb

    def fit_predict(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        model = lgb.LGBMClassifier(**LGBM, verbose=-1).fit(X[tr], y[tr])
        return np.asarray(model.predict_proba(X[te]))

    return fit_predict


def _ai4i_xy(rows: int, work: Path) -> tuple[np.ndarray, np.ndarray]:
    from resonance.domain.datasets import make_label_spec
    from resonance.training.features import prepare_xy

    table = pq.read_table(ai4i_rows(rows, work), memory_map=True)
    prepared = prepare_xy(table, make_label_spec(AI4I_LABEL, None), exclude=AI4I_EXCLUDE)
    return np.asarray(prepared.X, dtype=np.float64), np.asarray(prepared.y)


def cap_label_issues(rows: int, work: Path) -> dict[str, Any]:
    """Out-of-fold LightGBM probabilities (5 folds) + cleanlab label issues."""
    from resonance.domain.diagnosis import label_issues, out_of_fold_proba

    X, y = _ai4i_xy(rows, work)
    rng = np.random.default_rng(0)
    flip = rng.random(len(y)) < 0.02
    y = np.where(flip, 1 - y, y)
    timings: dict[str, float] = {}

    def run() -> Any:
        t0 = time.perf_counter()
        proba = out_of_fold_proba(y, _oof_fit_predict(X, y), folds=5)
        timings["oof_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        issues, _ = label_issues(y, proba)
        timings["cleanlab_s"] = time.perf_counter() - t0
        return issues

    seconds, peak, issues = measure(run)
    return {"seconds": seconds, "peak_mb": peak, "issues": len(issues), **timings}


def peer_lightgbm(rows: int, work: Path) -> dict[str, Any]:
    """One plain LightGBM fit on the same encoded rows (100 trees, 31 leaves, 1 thread)."""
    import lightgbm as lgb

    X, y = _ai4i_xy(rows, work)
    seconds, peak, _ = measure(lambda: lgb.LGBMClassifier(**LGBM, verbose=-1).fit(X, y))
    return {"seconds": seconds, "peak_mb": peak}


def cap_loop(rows: int, work: Path) -> dict[str, Any]:
    """One loop iteration: run_loop with iterations=1 (cleaning, acquisition, 3 candidates)."""
    from bench import loop as bl
    from resonance.domain.datasets import LabelKind, LabelSpec
    from resonance.domain.loop import LoopConfig, run_loop
    from resonance.domain.modeling import ModelSpec

    table = pq.read_table(ai4i_rows(rows, work), memory_map=True)
    members = np.char.add("plant-", np.asarray(table["Type"].to_pylist(), dtype=str))
    problem = bl.Problem(
        "ai4i", table, LabelSpec(LabelKind.COLUMN, (AI4I_LABEL,)), AI4I_EXCLUDE, members
    )
    split = bl.make_split(problem, 0)
    spec = ModelSpec("lightgbm", params={**LGBM})
    old = bl.SPEC
    bl.SPEC = spec  # the loop trains the same model as the baseline fit
    try:
        fit = bl.make_fit(split, 0)
        budget = int(0.4 * len(split.reserve))
        config = LoopConfig(budget=budget, iterations=1, auto_drop=set(members), seed=0)
        oracle = bl.make_oracle(split, fit)
        seconds, peak, trace = measure(
            lambda: run_loop(split.train, split.reserve, fit=fit, oracle=oracle, config=config)
        )
    finally:
        bl.SPEC = old
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "train_rows": len(split.train),
        "reserve_rows": len(split.reserve),
        "accepted": bool(trace.iterations[-1].accepted),
    }


def cap_train(rows: int, work: Path) -> dict[str, Any]:
    """services.training.train_model: authorized pooled read, encode, holdout fit, fit, record."""
    from resonance.domain.modeling import ModelSpec
    from resonance.services.training import train_model

    space = _space(work / "space-train")
    parts = 3
    table = pq.read_table(ai4i_rows(rows, work), memory_map=True)
    refs = []
    for i in range(parts):
        _holder(space, f"plant-{i}")
        path = work / f"train-part-{i}.parquet"
        pq.write_table(table.slice(i * rows // parts, rows // parts), path)
        refs.append(_ingest(space, f"plant-{i}", path, f"part-{i}", ("builder:train-pooled",)))
        path.unlink()
    del table
    spec = ModelSpec("lightgbm", params={**LGBM}, exclude_columns=AI4I_EXCLUDE)
    seconds, peak, _ = measure(
        lambda: train_model(space, actor="builder", name="pooled", spec=spec, datasets=refs)
    )
    space.close()
    shutil.rmtree(work / "space-train", ignore_errors=True)
    return {"seconds": seconds, "peak_mb": peak}


def _fed_space(rows: int, work: Path, members: int) -> tuple[Any, list[str]]:
    space = _space(work / f"space-fed-{members}")
    table = pq.read_table(ai4i_rows(rows, work), memory_map=True)
    refs = []
    for i in range(members):
        _holder(space, f"plant-{i}")
        path = work / f"fed-part-{i}.parquet"
        pq.write_table(table.slice(i * rows // members, rows // members), path)
        refs.append(_ingest(space, f"plant-{i}", path, f"part-{i}", ("builder:train-federated",)))
        path.unlink()
    return space, refs


def _federated(members: int) -> Callable[[int, Path], dict[str, Any]]:
    def run(rows: int, work: Path) -> dict[str, Any]:
        from resonance.services.federation import federate
        from resonance.training.federated.apps import FederationConfig

        space, refs = _fed_space(rows, work, members)
        cfg = FederationConfig(kind="linear", strategy="fedavg", rounds=1, local={
            "epochs": 1.0, "lr": 0.02, "batch_size": 256.0})  # fmt: skip
        seconds, peak, _ = measure(
            lambda: federate(
                space, actor="builder", name="fed", datasets=refs, config=cfg, exclude=AI4I_EXCLUDE
            )
        )
        space.close()
        shutil.rmtree(work / f"space-fed-{members}", ignore_errors=True)
        return {"seconds": seconds, "peak_mb": peak}

    run.__doc__ = (
        f"services.federation.federate, {members} members in process, one FedAvg round "
        "(linear model, 1 local epoch, batch 256): schema round, policy-checked reads, ledger"
    )
    return run


def _proc_hwm_mb(pid: int) -> float:
    """Peak resident memory of another process (VmHWM), in MiB; 0 once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return next((int(x.split()[1]) / 1024 for x in text.splitlines() if x.startswith("VmHWM")), 0)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _deployed(members: int) -> Callable[[int, Path], dict[str, Any]]:
    def run(rows: int, work: Path) -> dict[str, Any]:
        import socket

        from resonance.services import tokens

        space, refs = _fed_space(rows, work, members)
        root = space.root
        # the CLI acts for an organization only with its token
        token = {
            org: tokens.create_token(space, actor=org, organization=org)[0]
            for org in ("builder", *(f"plant-{i}" for i in range(len(refs))))
        }
        space.close()
        resonance = str(Path(sys.executable).parent / "resonance")
        env = {**os.environ, "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1"}
        port = _free_port()
        procs: list[subprocess.Popen[bytes]] = []

        def start(cmd: list[str], log: str, org: str | None = None) -> None:
            as_org = {**env, "RESONANCE_TOKEN": token[org]} if org else env
            with (work / log).open("wb") as out:
                procs.append(subprocess.Popen(
                    cmd, stdout=out, stderr=subprocess.STDOUT, env=as_org, start_new_session=True
                ))  # fmt: skip

        try:
            start([resonance, "federation", "superlink", "--port", str(port)], "superlink.log")
            end = time.monotonic() + 120
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    break
                except OSError:
                    if time.monotonic() > end or procs[0].poll() is not None:
                        raise RuntimeError("the SuperLink did not start") from None
                    time.sleep(0.3)
            for i, ref in enumerate(refs):
                start([resonance, "--space", str(root), "--as", f"plant-{i}", "node", "start",
                       "--superlink", f"127.0.0.1:{port}", "--dataset", ref,
                       "--port", str(_free_port())], f"node-{i}.log", f"plant-{i}")  # fmt: skip
            cmd = [resonance, "--space", str(root), "--as", "builder", "--format", "json",
                   "federate", "run", "--name", "deployed", "--superlink", f"127.0.0.1:{port}",
                   "--members", str(members), "--rounds", "1"]  # fmt: skip
            t0 = time.perf_counter()
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                env={**env, "RESONANCE_TOKEN": token["builder"]},
                check=False,
            )
            seconds = time.perf_counter() - t0
            if done.returncode != 0:
                raise RuntimeError(f"federate run failed: {(done.stdout + done.stderr)[-300:]}")
            peaks = [_proc_hwm_mb(p.pid) for p in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)  # the session started for it here
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(work / f"space-fed-{members}", ignore_errors=True)
        return {
            "seconds": seconds,
            "peak_mb": max(peaks[1:]),  # the largest member process
            "processes": len(procs),
            "sum_peak_mb": sum(peaks),
        }

    run.__doc__ = (
        f"Flower deployment mode: a SuperLink and {members} member SuperNodes as separate "
        "processes, 'resonance federate run --superlink' for one round (time of the run; "
        "memory: the largest member process, the sum over all in the result file)"
    )
    return run


def _plain_flower(members: int) -> Callable[[int, Path], dict[str, Any]]:
    def run(rows: int, work: Path) -> dict[str, Any]:
        from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
        from flwr.clientapp import ClientApp
        from flwr.serverapp.strategy import FedAvg

        from resonance.training.federated.server import in_process_grid

        X, y = _ai4i_xy(rows, work)
        X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-9)
        parts = np.array_split(np.arange(len(y)), members)
        apps = []
        for idx in parts:
            app = ClientApp()
            Xm, ym = X[idx], y[idx]

            def train(msg: Message, context: Context, Xm: Any = Xm, ym: Any = ym) -> Message:
                w = msg.content["arrays"].to_numpy_ndarrays()[0].copy()
                for start in range(0, len(ym), 256):  # one epoch of logistic-regression SGD
                    xb, yb = Xm[start : start + 256], ym[start : start + 256]
                    p = 1 / (1 + np.exp(-(xb @ w)))
                    w -= 0.02 * xb.T @ (p - yb) / len(yb)
                content = RecordDict(
                    {
                        "arrays": ArrayRecord([w]),
                        "metrics": MetricRecord({"num-examples": len(ym)}),
                    }
                )
                return Message(content, reply_to=msg)

            app.train()(train)
            apps.append(app)
        strategy = FedAvg(
            fraction_evaluate=0.0, min_train_nodes=members, min_available_nodes=members
        )
        grid = in_process_grid(apps)
        init = ArrayRecord([np.zeros(X.shape[1])])
        seconds, peak, _ = measure(
            lambda: strategy.start(grid=grid, initial_arrays=init, num_rounds=1)
        )
        return {"seconds": seconds, "peak_mb": peak}

    run.__doc__ = f"plain Flower FedAvg, {members} numpy ClientApps on the same grid, one round"
    return run


def _knn_data(rows: int, test: int = 1000) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows + test, n_features=10, n_informative=6, n_redundant=2, class_sep=1.5,
        random_state=0,
    )  # fmt: skip
    return X[:rows], y[:rows], X[rows:], y[rows:]


def cap_knn(rows: int, work: Path) -> dict[str, Any]:
    """domain.valuation.knn_shapley (exact): N train × 1,000 test rows, 10 features, 2 threads."""
    from resonance.domain.valuation import knn_shapley

    Xtr, ytr, Xte, yte = _knn_data(rows)
    seconds, peak, _ = measure(lambda: knn_shapley(Xtr, ytr, Xte, yte, k=5, n_jobs=2))
    return {"seconds": seconds, "peak_mb": peak}


PYDVL_SCRIPT = """
import json, sys, time, numpy as np
from pathlib import Path
from sklearn.neighbors import KNeighborsClassifier
from pydvl.valuation import Dataset, KNNShapleyValuation
d = np.load(sys.argv[1])
train, test = Dataset(d["Xtr"], d["ytr"]), Dataset(d["Xte"], d["yte"])
Path("/proc/self/clear_refs").write_text("5")
t0 = time.perf_counter()
KNNShapleyValuation(KNeighborsClassifier(n_neighbors=5), test_data=test, progress=False).fit(train)
s = time.perf_counter() - t0
hwm = [l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM")]
print(json.dumps({"seconds": s, "peak_mb": int(hwm[0].split()[1]) / 1024}))
"""


def peer_pydvl(rows: int, work: Path) -> dict[str, Any]:
    """pyDVL 0.10 KNNShapleyValuation (exact), same rows, in its own venv (numpy < 2)."""
    if not PYDVL_PYTHON.exists():
        raise RuntimeError(f"no pyDVL interpreter at {PYDVL_PYTHON} (make bench-scale makes one)")
    Xtr, ytr, Xte, yte = _knn_data(rows)
    data = work / f"knn-{rows}.npz"
    np.savez(data, Xtr=Xtr, ytr=ytr, Xte=Xte, yte=yte)
    out = subprocess.run(
        [str(PYDVL_PYTHON), "-c", PYDVL_SCRIPT, str(data)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    data.unlink()
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def cap_member_shapley(rows: int, work: Path) -> dict[str, Any]:
    """Exact member Shapley over 3 members: LightGBM refit per coalition, macro-F1 on a suite."""
    import lightgbm as lgb
    from sklearn.metrics import f1_score

    from resonance.domain.valuation import exact_member_shapley

    X, y = _ai4i_xy(rows + 2000, work)
    Xs, ys, X, y = X[-2000:], y[-2000:], X[:-2000], y[:-2000]
    owner = np.arange(len(y)) % 3

    def utility(coalition: frozenset[int]) -> float:
        if not coalition:
            return 0.0
        rows_in = np.isin(owner, sorted(coalition))
        model = lgb.LGBMClassifier(**LGBM, verbose=-1).fit(X[rows_in], y[rows_in])
        return float(f1_score(ys, model.predict(Xs), average="macro"))

    seconds, peak, values = measure(lambda: exact_member_shapley(3, utility))
    return {"seconds": seconds, "peak_mb": peak, "values": [round(float(v), 4) for v in values]}


def _catalog_space(size: int, work: Path, db_url: str | None) -> tuple[Path, str]:
    """A space with size/100 datasets and size/10 ledger entries, and an operator token.

    Built once per size and database under ``work`` and reused by the page children.
    """
    from resonance.domain.datasets import DatasetKind
    from resonance.domain.events import DatasetRegistered, DatasetVersionCreated
    from resonance.domain.ledger import canonical_json, chain_entry
    from resonance.services import catalog, tokens
    from resonance.storage import tables

    root = work / f"space-catalog-{size}-{'pg' if db_url else 'sqlite'}"
    seeded = root / "seeded.json"
    if seeded.exists():
        return root, str(json.loads(seeded.read_text())["token"])
    if db_url:
        db_url, schema = _pg_schema(db_url)
        with (work / "pg-schemas").open("a") as f:
            f.write(schema + "\n")
    space = _space(root, db_url)
    _holder(space, "plant")
    small = work / "small.parquet"
    pq.write_table(resample(ai4i_source(), 200), small)
    new = catalog.NewDataset("plant", DatasetKind.COMMON, "industrial-machinery")
    first = catalog.ingest(space, actor="plant", path=small, dataset="seed-0", new=new).version
    with space.work() as w:
        ds = w.tx.get_dataset("seed-0")
    n_datasets, n_entries = size // 100, size // 10
    per_dataset = max(0, n_entries // max(n_datasets, 1) - 1)
    for chunk in range(1, n_datasets, 1000):
        events: list[Any] = []
        datasets, versions = [], []
        for i in range(chunk, min(chunk + 1000, n_datasets)):
            name = f"seed-{i}"
            datasets.append({**_row(replace(ds, name=name)), "created_at": first.created_at})
            version = replace(first, dataset=name)
            versions.append(_version_row(version))
            events.append(
                DatasetRegistered(
                    actor="plant",
                    object_id=name,
                    owner="plant",
                    kind="common",
                    industry=ds.industry,
                    scenario=None,
                )
            )
            events += [DatasetVersionCreated(
                actor="plant", object_id=version.ref, content_hash=version.content_hash,
                source_hash=None, rows=version.row_count, parents=[],
                transformation={"kind": "ingest"})] * (per_dataset + 1)  # fmt: skip
        with space.work() as w:  # bulk: what ingest writes, chained as the bus would chain it
            conn = w.tx.conn  # type: ignore[attr-defined]
            conn.execute(tables.datasets.insert(), datasets)
            conn.execute(tables.dataset_versions.insert(), versions)
            prev = w.tx.ledger_head()
            rows = []
            for event in events:
                prev = chain_entry(
                    prev=prev,
                    timestamp=w.now,
                    actor=event.actor,
                    action=event.action,
                    object_type=event.object_type,
                    object_id=event.object_id,
                    payload=event.properties(),
                )
                rows.append({**prev.body(), "payload": canonical_json(prev.payload),
                             "hash": prev.hash})  # fmt: skip
            conn.execute(tables.ledger.insert(), rows)
            conn.execute(tables.ledger_head.update().values(seq=prev.seq, hash=prev.hash))
    plain, _ = tokens.create_token(space, actor="operator", organization="operator")
    space.close()
    seeded.write_text(json.dumps({"token": plain}))
    return root, plain


def _row(ds: Any) -> dict[str, Any]:
    return {
        "name": ds.name, "owner": ds.owner, "kind": ds.kind.value, "industry": ds.industry,
        "scenario": ds.scenario, "description": ds.description,
        "label": ds.label.to_dict() if ds.label else None, "group_key": ds.group_key,
    }  # fmt: skip


def _version_row(v: Any) -> dict[str, Any]:
    return {
        "dataset": v.dataset, "number": v.number, "content_hash": v.content_hash,
        "source_hash": v.source_hash, "row_count": v.row_count, "schema": v.schema.to_list(),
        "parents": list(v.parents), "transformation": v.transformation.to_dict(),
        "validation": v.validation, "profile": v.profile, "created_at": v.created_at,
        "created_by": v.created_by, "verdict": v.verdict,
    }  # fmt: skip


def _page(path: str, db_env: str | None = None) -> Callable[[int, Path], dict[str, Any]]:
    def run(size: int, work: Path) -> dict[str, Any]:
        from fastapi.testclient import TestClient

        from resonance.server import create_app  # the API and the web console

        db_url = os.environ.get(db_env) if db_env else None
        if db_env and not db_url:
            raise RuntimeError(f"{db_env} is not set")
        root, token = _catalog_space(size, work, db_url)
        client = TestClient(create_app(root))
        if path.startswith("/console"):
            form = client.get("/console/login")  # the login form's CSRF token
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf, "no CSRF field on the login form"
            login = {"token": token, "csrf": csrf.group(1), "next": "/console/"}
            r = client.post("/console/login", data=login, follow_redirects=False)
            assert r.status_code == 303, (r.status_code, r.text[:300])
            headers = {}
        else:
            headers = {"Authorization": f"Bearer {token}"}

        def get() -> int:
            r = client.get(path, headers=headers, follow_redirects=False)
            assert r.status_code == 200, (r.status_code, r.text[:300])
            return len(r.content)

        get()  # warm-up: templates, caches
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            get()
            times.append(time.perf_counter() - t0)
        _, peak, length = measure(get)
        runs = [round(t, 4) for t in times]
        return {"seconds": float(np.median(times)), "peak_mb": peak, "bytes": length, "runs": runs}

    where = "PostgreSQL" if db_env else "SQLite"
    run.__doc__ = (
        f"GET {path} on {where} (median of 5 after a warm-up; N/100 datasets, N/10 ledger entries)"
    )
    return run


def _pg_schema(url: str) -> tuple[str, str]:
    import uuid

    import sqlalchemy as sa

    schema = f"scale_{uuid.uuid4().hex[:10]}"
    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(url: str, schema: str) -> None:
    import sqlalchemy as sa

    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


PG = "RESONANCE_TEST_POSTGRES_URL"
INGEST_SIZES = (10_000, 100_000, 1_000_000, 10_000_000)

CAPS = [
    Cap("ingest", "ingest + validate + profile", "", cap_ingest, sizes=INGEST_SIZES),
    Cap("ingest:duckdb", "ingest + validate + profile", "", peer_duckdb, True, INGEST_SIZES),
    Cap("ingest:pyarrow", "ingest + validate + profile", "", peer_pyarrow, True, INGEST_SIZES),
    Cap("ingest:pandas", "ingest + validate + profile", "", peer_pandas, True, INGEST_SIZES),
    Cap("slices", "slice search (30 features, 3 predicates)", "", cap_slices),
    Cap(
        "slices:sliceline",
        "slice search (30 features, 3 predicates)",
        "",
        peer_sliceline,
        True,
        (10_000, 100_000),
        timeout=600,
        memory_limit_mb=6144,
    ),
    Cap("label-issues", "label issues (5-fold LightGBM + cleanlab)", "", cap_label_issues),
    Cap("loop", "one loop iteration", "", cap_loop),
    Cap("train", "pooled training (3 members)", "", cap_train),
    Cap("lightgbm", "plain LightGBM fit (baseline of loop and training)", "", peer_lightgbm, True),
    Cap("federated-3", "federated round, 3 members", "", _federated(3)),
    Cap("federated-3:flower", "federated round, 3 members", "", _plain_flower(3), True),
    Cap("federated-10", "federated round, 10 members", "", _federated(10)),
    Cap("federated-10:flower", "federated round, 10 members", "", _plain_flower(10), True),
    Cap(
        "federated-10:processes",
        "federated round, 10 members",
        "",
        _deployed(10),
        sizes=(10_000, 100_000, 1_000_000),
        timeout=900,
    ),
    Cap("knn-shapley", "KNN-Shapley (× 1,000 test rows)", "", cap_knn),
    Cap(
        "knn-shapley:pydvl",
        "KNN-Shapley (× 1,000 test rows)",
        "",
        peer_pydvl,
        True,
        (10_000, 100_000),
        timeout=900,
    ),
    Cap("member-shapley", "member Shapley (3 members, exact)", "", cap_member_shapley),
    Cap("catalog-page", "catalog page (console)", "", _page("/console/catalog")),
    Cap("catalog-page:pg", "catalog page (console)", "", _page("/console/catalog", PG)),
    Cap("datasets-api", "catalog API GET /datasets?limit=100", "", _page("/datasets?limit=100")),
    Cap(
        "datasets-api:pg",
        "catalog API GET /datasets?limit=100",
        "",
        _page("/datasets?limit=100", PG),
    ),
    Cap("quota-page", "quota page (console)", "", _page("/console/quotas")),
    Cap("quota-page:pg", "quota page (console)", "", _page("/console/quotas", PG)),
    Cap(
        "quota-api",
        "quota report GET /quotas?industry=",
        "",
        _page("/quotas?industry=industrial-machinery"),
    ),
    Cap(
        "quota-api:pg",
        "quota report GET /quotas?industry=",
        "",
        _page("/quotas?industry=industrial-machinery", PG),
    ),
]
BY_NAME = {c.name: c for c in CAPS}
for _cap in CAPS:
    _cap.what = (_cap.run.__doc__ or "").strip().splitlines()[0]


# --------------------------------------------------------------------------- child and parent


def child(name: str, rows: int, work: Path) -> dict[str, Any]:
    """Run one capability at one size in this process; the result as plain data."""
    base = rss_mb()
    result = BY_NAME[name].run(rows, work)
    return {
        **result,
        "base_mb": base,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def spawn(cap: Cap, rows: int, work: Path) -> dict[str, Any]:
    """Run ``cap`` at ``rows`` in a child process; its result, or the reason it has none."""
    limit = cap.memory_limit_mb

    def limits() -> None:
        os.setsid()
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit * MB, limit * MB))

    cmd = [sys.executable, "-m", "bench.scale", "--child", cap.name, "--rows", str(rows)]
    proc = subprocess.Popen(
        [*cmd, "--work", str(work)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=limits,
    )  # fmt: skip
    started = time.perf_counter()
    load = round(os.getloadavg()[0], 1)  # the host is shared: say how busy it was
    try:
        out, err = proc.communicate(timeout=cap.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and anything it started
        proc.communicate()
        return {"error": f"timeout > {cap.timeout:.0f} s"}
    wall = time.perf_counter() - started
    for line in reversed(out.splitlines()):
        if line.startswith("RESULT "):
            return {**json.loads(line[7:]), "child_wall_s": wall, "load": load}
    tail = (err.strip().splitlines() or ["no output"])[-1][:200]
    if limit and ("MemoryError" in err or "Unable to allocate" in err or proc.returncode < 0):
        asked = re.search(r"Unable to allocate ([0-9.]+ [KMGT]iB)", err)
        what = f"asked for {asked.group(1)}" if asked else tail
        return {"error": f"out of memory: {what} (limit {limit / 1024:.0f} GiB)"}
    return {"error": f"exit {proc.returncode}: {tail}"}


def _key(name: str, rows: int) -> str:
    return f"{name}|{rows}"


def exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(value) over log(size); None with fewer than 2 points."""
    pts = [(n, v) for n, v in points if v and v > 0]
    if len(pts) < 2:
        return None
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def _cell(r: dict[str, Any] | None) -> str:
    if r is None:
        return "–"
    if "error" in r:
        return r["error"]
    return f"{r['seconds']:.3g} s / {r['peak_mb']:.0f} MB"


def _get(results: dict[str, dict[str, Any]], name: str, rows: int) -> dict[str, Any] | None:
    r = results.get(_key(name, rows))
    return r if r and "error" not in r else None


def targets(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Each target of the issue: what it asks, what was measured, MET / MISSED / not measured."""
    out = []

    def verdict(ok: bool) -> str:
        return "MET" if ok else "**MISSED**"

    ours, duck = _get(results, "ingest", 10_000_000), _get(results, "ingest:duckdb", 10_000_000)
    if ours and duck:
        ratio = ours["seconds"] / duck["seconds"]
        out.append(("ingest 10M rows ≤ 1.2× DuckDB COPY", f"{ratio:.2f}× ({ours['seconds']:.1f} s "
                    f"vs {duck['seconds']:.1f} s)", verdict(ratio <= 1.2)))  # fmt: skip
        out.append(("ingest 10M rows peak memory ≤ 2 GB", f"{ours['peak_mb']:,.0f} MB",
                    verdict(ours["peak_mb"] <= 2048)))  # fmt: skip
    else:
        out.append(("ingest 10M rows ≤ 1.2× DuckDB, ≤ 2 GB", "–", "not measured"))
    sl = _get(results, "slices", 1_000_000)
    out.append(
        (
            "slice search 1M × 30 ≤ 60 s and ≤ 1 GB",
            f"{sl['seconds']:.1f} s, {sl['peak_mb']:,.0f} MB" if sl else "–",
            verdict(sl["seconds"] <= 60 and sl["peak_mb"] <= 1024) if sl else "not measured",
        )
    )
    kn = _get(results, "knn-shapley", 1_000_000)
    out.append(("exact KNN-Shapley 1M × 1,000 ≤ 60 s (2 cores)",
                f"{kn['seconds']:.1f} s, {kn['peak_mb']:,.0f} MB" if kn else "–",
                verdict(kn["seconds"] <= 60) if kn else "not measured"))  # fmt: skip
    lo, fit = _get(results, "loop", 1_000_000), _get(results, "lightgbm", 1_000_000)
    if lo and fit:
        ratio = lo["seconds"] / fit["seconds"]
        out.append(("one loop iteration on 1M rows ≤ 10× one LightGBM fit",
                    f"{ratio:.1f}× ({lo['seconds']:.1f} s vs {fit['seconds']:.1f} s)",
                    verdict(ratio <= 10)))  # fmt: skip
    else:
        out.append(("one loop iteration on 1M rows ≤ 10× one LightGBM fit", "–", "not measured"))
    for name, what in (
        ("catalog-page", "catalog page, SQLite"),
        ("catalog-page:pg", "catalog page, PostgreSQL"),
        ("quota-page", "quota page, SQLite"),
        ("quota-page:pg", "quota page, PostgreSQL"),
        ("datasets-api", "catalog API (100 a page), SQLite"),
        ("datasets-api:pg", "catalog API (100 a page), PostgreSQL"),
        ("quota-api", "quota report API, SQLite"),
        ("quota-api:pg", "quota report API, PostgreSQL"),
    ):
        r = _get(results, name, 1_000_000)
        out.append((f"{what} ≤ 200 ms (10,000 datasets, 100,000 ledger entries)",
                    f"{r['seconds'] * 1000:.0f} ms" if r else "–",
                    verdict(r["seconds"] <= 0.2) if r else "not measured"))  # fmt: skip
    return out


def render(results: dict[str, dict[str, Any]], command: str) -> str:
    """SCALING.md: per capability, time and peak memory by size, exponents, targets."""
    sizes = sorted({int(k.split("|")[1]) for k in results})
    lines = [
        "# Scaling: every capability at 10k / 100k / 1M rows (10M for ingest)",
        "",
        f"Command: `{command}`",
        "",
        "Each cell: wall time of the step / peak resident memory of its process during the step "
        "(inputs it held included), each (capability, size) in its own child process; ingest "
        f"and its peers: the median of {INGEST_REPEATS} runs. "
        "Exponents: least-squares slope of log(time) and of log(peak − start-up RSS) over "
        "log(rows). Peers are indented (↳) under the capability they are compared with. "
        "Machine: 2 cores shared with other work (see the load note below).",
        "",
        "| capability | " + " | ".join(_size(n) for n in sizes) + " | time exp. | memory exp. |",
        "|---" * (len(sizes) + 3) + "|",
    ]
    for cap in CAPS:
        rows = {n: results.get(_key(cap.name, n)) for n in sizes}
        if not any(rows.values()):
            continue
        ok = [(n, r) for n, r in rows.items() if r and "error" not in r]
        t_exp = exponent([(n, r["seconds"]) for n, r in ok])
        m_exp = exponent([(n, r["peak_mb"] - r["base_mb"]) for n, r in ok])
        name = f"↳ {cap.name}" if cap.peer else f"**{cap.name}**"
        cells = " | ".join(_cell(rows[n]) for n in sizes)
        fmt = lambda e: "–" if e is None else f"{e:.2f}"  # noqa: E731
        lines.append(f"| {name} | {cells} | {fmt(t_exp)} | {fmt(m_exp)} |")
    lines += ["", "## Targets (issue 18)", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {v} |" for t, m, v in targets(results)]
    lines += ["", "What each row measures:", ""]
    lines += [
        f"- `{c.name}`: {c.what}" for c in CAPS if any(k.startswith(c.name + "|") for k in results)
    ]
    notes = Path(__file__).with_name("scaling-notes.md")  # the analysis, written by hand
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Parent: run the plan and write the results; child: run one capability."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--ingest-sizes", default="10000,100000,1000000,10000000")
    parser.add_argument("--only", default="", help="comma-separated capability names (and peers)")
    parser.add_argument("--skip", default="")
    parser.add_argument("--work", type=Path, default=None, help="data folder (default /tmp/...)")
    parser.add_argument("--json", type=Path, default=Path("bench/scaling.json"))
    parser.add_argument("--out", type=Path, default=Path("bench/SCALING.md"))
    parser.add_argument("--command", default="", help="the command line SCALING.md cites")
    parser.add_argument("--report-only", action="store_true", help="only rewrite --out")
    args = parser.parse_args(argv)
    if args.child:
        args.work.mkdir(parents=True, exist_ok=True)
        print("RESULT " + json.dumps(child(args.child, args.rows, args.work)), flush=True)
        return 0
    sizes = {int(s) for s in args.sizes.split(",") if s}
    ingest_sizes = {int(s) for s in args.ingest_sizes.split(",") if s}
    only = {s for s in args.only.split(",") if s}
    skip = {s for s in args.skip.split(",") if s}
    results: dict[str, dict[str, Any]] = (
        json.loads(args.json.read_text()) if args.json.exists() else {}
    )
    command = args.command or "python -m bench.scale " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    if args.report_only:
        args.out.write_text(render(results, command.strip()))
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="resonance-scale-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        for cap in CAPS:
            base = cap.name.split(":")[0]
            if (only and cap.name not in only and base not in only) or cap.name in skip:
                continue
            wanted = ingest_sizes if base == "ingest" else sizes
            for rows in [n for n in cap.sizes if n in wanted]:
                r = spawn(cap, rows, work)
                results[_key(cap.name, rows)] = r
                print(f"{cap.name:<22} {_size(rows):>4}  {_cell(r)}", flush=True)
                args.json.write_text(json.dumps(results, indent=1, sort_keys=True))
    finally:
        schemas = work / "pg-schemas"
        if schemas.exists() and os.environ.get(PG):
            for schema in schemas.read_text().split():
                _drop_schema(os.environ[PG], schema)
            schemas.unlink()
            for seeded in work.glob("space-catalog-*-pg"):  # its schema is gone
                shutil.rmtree(seeded, ignore_errors=True)
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.write_text(render(results, command.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
