"""Deployment mode across processes on 127.0.0.1: a SuperLink, one SuperNode per member.

Every process is started here (own session), bounded in time and stopped by its PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from resonance.services import ledger, training
from resonance.services.space import Space
from tests.cli.test_cli_foundation import Cli
from tests.conftest import make_space, org_token
from tests.energy_seed import EXCLUDE, SITES, seed_energy
from tests.federation_seed import seed_members
from tests.servers import free_port

RESONANCE = str(Path(sys.executable).parent / "resonance")
MEMBERS = ["plant-a", "plant-b"]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, "the SuperLink exited"
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"nothing listens on {port}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the group this test started for the process
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in reversed(started):
        _stop(proc)


def test_superlink_and_member_nodes_train_across_processes(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    root = tmp_path / "space"
    space = make_space(root)
    fed = seed_members(space, tmp_path / "d", MEMBERS, rows=500)
    space.close()
    env = {**os.environ, "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1"}
    port = free_port()
    log = (tmp_path / "superlink.log").open("wb")
    processes.append(subprocess.Popen(
        [RESONANCE, "federation", "superlink", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    ))  # fmt: skip
    _wait_for_port(port, processes[0])
    for member, ref in zip(MEMBERS, fed.refs, strict=True):
        out = (tmp_path / f"{member}.log").open("wb")
        processes.append(subprocess.Popen(
            [RESONANCE, "--space", str(root), "--as", member, "node", "start",
             "--superlink", f"127.0.0.1:{port}", "--dataset", ref, "--port", str(free_port())],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**env, "RESONANCE_TOKEN": org_token(root, member) or ""},
        ))  # fmt: skip
    model = Cli(root).json(
        "federate", "run", "--name", "deployed", "--superlink", f"127.0.0.1:{port}",
        "--members", "2", "--rounds", "1", actor="builder",
    )  # fmt: skip
    assert all(p.poll() is None for p in processes)  # members stay up between runs
    assert model["ref"] == "deployed@1" and len(model["datasets"]) == 2
    space = Space.open(root)
    try:
        mv = training.get_model(space, "deployed")
        assert set(mv.details["federated"]["members"]) == set(MEMBERS)
        reads = ledger.entries(space, action="data.accessed", limit=None)
        assert {e.actor for e in reads} == set(MEMBERS)
        assert {e.payload["purpose"] for e in reads} == {"train-federated"}
        rounds = ledger.entries(space, action="federation.round_aggregated")
        assert [e.payload["round"] for e in rounds] == [1]
        assert set(rounds[0].payload["participants"]) == set(MEMBERS)
    finally:
        space.close()


def test_a_regression_trains_across_processes(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    """Least squares (FedNewton) across a SuperLink and three SuperNodes: the task comes from
    the members' label spec, the model is a regressor on the ledger like any other."""
    root = tmp_path / "space"
    space = make_space(root)
    seeded = seed_energy(space, tmp_path / "d", days=35, corrupt_share=0.0)
    space.close()
    env = {**os.environ, "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1"}
    port = free_port()
    log = (tmp_path / "superlink.log").open("wb")
    processes.append(subprocess.Popen(
        [RESONANCE, "federation", "superlink", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    ))  # fmt: skip
    _wait_for_port(port, processes[0])
    for member, ref in zip(SITES, seeded.datasets, strict=True):
        out = (tmp_path / f"{member}.log").open("wb")
        processes.append(subprocess.Popen(
            [RESONANCE, "--space", str(root), "--as", member, "node", "start",
             "--superlink", f"127.0.0.1:{port}", "--dataset", ref, "--port", str(free_port())],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**env, "RESONANCE_TOKEN": org_token(root, member) or ""},
        ))  # fmt: skip
    exclude = [f"--exclude={c}" for c in EXCLUDE]
    model = Cli(root).json(
        "federate", "run", "--name", "kwh", "--superlink", f"127.0.0.1:{port}", "--members", "3",
        "--strategy", "fednewton", "--rounds", "3", *exclude, actor="builder",
    )  # fmt: skip
    assert model["spec"]["task"] == "regression" and model["classes"] == []
    run = Cli(root).json("eval", "run", "kwh", "--suite", seeded.suite, actor="builder")
    assert 0 < run["metrics"]["rmse"] < 30
