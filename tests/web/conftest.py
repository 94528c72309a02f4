"""A real uvicorn server over a seeded space, on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from resonance.domain.datasets import DatasetKind, make_label_spec
from resonance.domain.modeling import ModelSpec
from resonance.domain.policies import parse_grant
from resonance.services import catalog, evaluation, policies, registry_state, tokens, training
from resonance.services.space import Space
from tests.conftest import STEEL_CSV, STEEL_LABELS
from tests.registry_seed import seed
from tests.servers import free_port


@dataclass
class Server:
    """Where the server listens and a token to log in with."""

    url: str
    token: str
    tokens: dict[str, str] = field(default_factory=dict)


def start_uvicorn(space_root: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``uvicorn --factory resonance.server:make`` and wait for /health."""
    port = free_port()
    env = {**os.environ, "RESONANCE_SPACE": str(space_root)}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "resonance.server:make",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("uvicorn did not answer /health within 60 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server by its PID (SIGTERM, then SIGKILL)."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def train_and_evaluate(space: Space) -> None:
    """Train steel-fm@1 (the registry's industry model) and score it on a sealed suite."""
    grant = parse_grant("builder:train-pooled")
    policies.set_policy(space, actor="plant-a", dataset="steel-a", grants=[grant])
    training.train_model(
        space,
        actor="builder",
        name="steel-fm",
        spec=ModelSpec("sklearn-logreg"),
        datasets=["steel-a"],
    )
    label = make_label_spec(None, STEEL_LABELS)
    new = catalog.NewDataset("evaluator", DatasetKind.EVALUATION, "steel", label=label)
    catalog.ingest(space, actor="evaluator", path=STEEL_CSV, dataset="steel-eval", new=new)
    evaluation.register_suite(space, actor="evaluator", name="steel-suite", dataset="steel-eval")
    evaluation.evaluate(
        space,
        actor="builder",
        model="steel-fm@1",
        suite="steel-suite",
        diagnose=False,
        label_issues=False,
    )
    # the registry's steel-fm entry now names its trained, sealed-evaluated version
    registry_state.correct(
        space, actor="builder", registry="model", name="steel-fm", changes={"ref": "steel-fm@1"}
    )


ROLE_ORGS = {
    "data holder": "plant-a",
    "model builder": "builder",
    "evaluator": "evaluator",
    "application developer": "apps",
    "authority": "authority",
    "operator": "operator",
}


@pytest.fixture
def role_server(lite_space: Space, tmp_path: Path) -> Iterator[Server]:
    """The seeded space served by uvicorn, with a token for one organization of each role
    (plant-a has three proposed fixes in its review queue)."""
    from tests.api.test_reviews_api import _propose

    seed(lite_space)
    train_and_evaluate(lite_space)
    _propose(lite_space, tmp_path)
    made = {
        role: tokens.create_token(lite_space, actor="operator", organization=org)[0]
        for role, org in ROLE_ORGS.items()
    }
    proc, url = start_uvicorn(lite_space.root, tmp_path / "uvicorn.log")
    try:
        yield Server(url, made["authority"], made)
    finally:
        stop(proc)


@pytest.fixture
def server(lite_space: Space, tmp_path: Path) -> Iterator[Server]:
    seed(lite_space)
    train_and_evaluate(lite_space)
    plain, _ = tokens.create_token(lite_space, actor="operator", organization="authority")
    proc, url = start_uvicorn(lite_space.root, tmp_path / "uvicorn.log")
    try:
        yield Server(url, plain)
    finally:
        stop(proc)


CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a console page."""
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def console_login(client: Any, token: str) -> str:
    """Log a TestClient (or httpx client) in through the login form; returns the session's
    CSRF token (read from the page it lands on)."""
    form = client.get("/console/login")
    assert form.status_code == 200
    resp = client.post(
        "/console/login",
        data={"token": token, "csrf": csrf_of(form.text), "next": "/console/"},
        follow_redirects=True,
    )
    assert resp.status_code == 200, resp.text[:500]
    return csrf_of(resp.text)
