"""Flower deployment mode: the ClientApp a SuperNode runs for its member, the ServerApp
a SuperLink runs for the coordinator, and the processes that host them.

A member starts ``resonance node start`` (a Flower SuperNode) with its own
space, organization and dataset version in the node config; its ClientApp
reads only that version, through :func:`services.access.authorize`
(``train-federated``). The coordinator runs ``resonance federation superlink``
and submits the run (``resonance federate run --superlink``); the ServerApp
puts each round on the ledger and records the model version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from flwr.app import Context, Message
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from resonance.domain.errors import InvalidInput, TrainingFailed
from resonance.services.catalog import require_dataset, resolve_version
from resonance.services.federation import (
    Member,
    member_loader,
    resolve_members,
    round_recorder,
    store_outcome,
)
from resonance.services.space import Space
from resonance.training.federated.apps import FederationConfig, make_client_app
from resonance.training.federated.server import serve

BIN = Path(sys.executable).parent
_CLIENTS: dict[tuple[str, ...], ClientApp] = {}


def _member_app(context: Context) -> ClientApp:
    node, run = context.node_config, context.run_config
    key = tuple(str(x) for x in (node["space"], node["member"], node["dataset"], run["run"]))
    if key not in _CLIENTS:
        space = Space.open(str(node["space"]))
        with space.work() as w:
            version = resolve_version(w.tx, str(node["dataset"]))
            member = Member(require_dataset(w.tx, version.dataset), version)
        if member.name != node["member"]:
            raise InvalidInput(f"{node['member']} does not own {version.ref}")
        exclude = tuple(c for c in str(run.get("exclude", "")).split(",") if c)
        loader = member_loader(space, member, model=str(run["name"]), run=key[3], exclude=exclude)
        _CLIENTS[key] = make_client_app(loader)
    return _CLIENTS[key]


client_app = ClientApp()


@client_app.query("schema")
def _schema(msg: Message, context: Context) -> Message:
    return _member_app(context)(msg, context)


@client_app.train()
def _train(msg: Message, context: Context) -> Message:
    return _member_app(context)(msg, context)


server_app = ServerApp()


def _wait_for_nodes(grid: Grid, expected: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while len(list(grid.get_node_ids())) < expected:
        if time.monotonic() > end:
            raise TrainingFailed(f"fewer than {expected} members connected in {timeout:.0f} s")
        time.sleep(0.5)


@server_app.main()
def _main(grid: Grid, context: Context) -> None:
    rc = context.run_config
    space = Space.open(str(rc["space"]))
    cfg = FederationConfig(
        kind=str(rc["model"]),
        strategy=str(rc["strategy"]),
        rounds=int(rc["rounds"]),
        proximal_mu=float(rc["mu"]),
        hidden=int(rc["hidden"]),
        local={"epochs": float(rc["epochs"]), "lr": float(rc["lr"]), "batch_size": 32.0},
        dp_noise=float(rc["dp-noise"]),
        dp_clip=float(rc["dp-clip"]),
    )
    _wait_for_nodes(grid, int(rc["members"]), float(rc["wait"]))
    actor, name, run = str(rc["actor"]), str(rc["name"]), str(rc["run"])
    outcome = serve(
        grid, cfg, round_recorder(space, actor=actor, model=name, run=run, strategy=cfg.strategy)
    )
    members = resolve_members(space, list(outcome.details["refs"].values()))
    exclude = tuple(c for c in str(rc.get("exclude", "")).split(",") if c)
    store_outcome(
        space,
        actor=actor,
        name=name,
        members=members,
        outcome=outcome,
        cfg=cfg,
        run=run,
        exclude=exclude,
    )
    space.close()


PYPROJECT = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "resonance-federation"
version = "1.0.0"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "resonance"

[tool.flwr.app.components]
serverapp = "resonance_app:server_app"
clientapp = "resonance_app:client_app"

[tool.flwr.app.config]
{config}
"""


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_app(folder: Path, run_config: dict[str, object]) -> Path:
    """A Flower App folder (FAB source) whose components are this module's apps."""
    folder.mkdir(parents=True, exist_ok=True)
    body = "\n".join(f"{k} = {_toml_value(v)}" for k, v in run_config.items())
    (folder / "pyproject.toml").write_text(PYPROJECT.format(config=body), encoding="utf-8")
    (folder / "resonance_app.py").write_text(
        '"""Flower App of a Resonance federation."""\n\n'
        "from resonance.flower.deploy import client_app, server_app\n\n"
        '__all__ = ["client_app", "server_app"]\n',
        encoding="utf-8",
    )
    return folder


def flower_env(home: Path | None = None) -> dict[str, str]:
    """Environment for Flower processes (no runtime dependency installation)."""
    env = dict(os.environ)
    env["FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION"] = "1"
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # Flower spawns its helpers by name
    if home is not None:
        env["FLWR_HOME"] = str(home)
    return env


def superlink_command(*, host: str, port: int, database: Path | None = None) -> list[str]:
    """The SuperLink process command line (insecure; for a trusted network)."""
    cmd = [str(BIN / "flower-superlink"), "--insecure", "--host", host, "--port", str(port)]
    if database is not None:
        cmd += ["--database", str(database)]
    return cmd


def supernode_command(
    *, superlink: str, space: Path, member: str, dataset: str, port: int
) -> list[str]:
    """A member's SuperNode process command line."""
    config = f"space='{Path(space).resolve()}' member='{member}' dataset='{dataset}'"
    return [
        str(BIN / "flower-supernode"), "--insecure", "--superlink", superlink,
        "--node-config", config, "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip


def submit(
    *,
    superlink: str,
    space: Path,
    actor: str,
    name: str,
    members: int,
    cfg: FederationConfig,
    exclude: tuple[str, ...] = (),
    wait: float = 120.0,
    timeout: float = 600.0,
) -> str:
    """Submit the run to a SuperLink with ``flwr run`` and wait for it to finish; the run id."""
    run = f"fed-{uuid.uuid4().hex[:12]}"
    run_config: dict[str, object] = {
        "space": str(Path(space).resolve()), "actor": actor, "name": name, "run": run,
        "members": members, "model": cfg.kind, "strategy": cfg.strategy,
        "rounds": cfg.rounds, "mu": cfg.proximal_mu, "hidden": cfg.hidden,
        "epochs": float(cfg.local["epochs"]), "lr": float(cfg.local["lr"]),
        "dp-noise": cfg.dp_noise, "dp-clip": cfg.dp_clip, "exclude": ",".join(exclude),
        "wait": wait,
    }  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="resonance-fab-"))
    try:
        app = write_app(work / "app", run_config)
        home = work / "flwr-home"
        home.mkdir()
        (home / "config.toml").write_text(
            f'[superlink]\ndefault = "resonance"\n\n[superlink.resonance]\n'
            f'address = "{superlink}"\ninsecure = true\n',
            encoding="utf-8",
        )
        done = subprocess.run(
            [str(BIN / "flwr"), "run", str(app), "resonance", "--stream"],
            env=flower_env(home), capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise TrainingFailed(f"flwr run failed: {(done.stdout + done.stderr)[-2000:]}")
        return run
    finally:
        shutil.rmtree(work, ignore_errors=True)
