"""Two real spaces (two ``resonance serve`` processes on 127.0.0.1, their own stores)
negotiating contracts by the Dataspace Protocol: agreement, compute-to-data transfer,
refusal, expiry, revocation, an owner's auto-agree rule, and bad messages refused unchanged.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from resonance.domain import signing
from resonance.domain.datasets import DatasetKind, make_label_spec
from resonance.domain.dsp import Envelope, message, offer_request, signing_input
from resonance.domain.policies import AccessRequest, Purpose, RuleChain
from resonance.server import create_app as served_app
from resonance.services import catalog, contracts, ledger, policies, tokens
from resonance.services.catalog import NewDataset
from resonance.services.space import Space
from tests.conftest import STEEL_CSV, STEEL_LABELS, make_space, org_token
from tests.servers import RESONANCE, free_port, serve_space
from tests.web.conftest import console_login

TODAY = datetime.now(UTC).date()


@dataclass
class Node:
    """One space and its server."""

    space: Space
    url: str
    proc: subprocess.Popen[bytes]

    @property
    def root(self) -> Path:
        return self.space.root


def _cli(node: Node, *args: str, actor: str | None = None) -> dict[str, Any]:
    assert RESONANCE
    cmd = [RESONANCE, "--space", str(node.root), "--format", "json"]
    if actor:
        cmd += ["--as", actor]
    # the CLI acts only with the organization's token (the operator's when none is named)
    token = org_token(node.root, actor or "operator") or ""
    env = {**os.environ, "RESONANCE_TOKEN": token, "RESONANCE_ACTOR": ""}
    out = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, env=env)
    data = json.loads(out.stdout) if out.stdout.strip() else {}
    if out.returncode != 0:
        return {"_rc": out.returncode, **data}
    return data  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node]]:
    if RESONANCE is None:
        pytest.skip("the resonance command is not on PATH")
    tmp = tmp_path_factory.mktemp("dsp")
    a_space, b_space = make_space(tmp / "space-a"), make_space(tmp / "space-b")
    label = make_label_spec(None, STEEL_LABELS)
    for name, owner, kind in [
        ("steel-b", "plant-a", DatasetKind.COMMON),
        ("steel-eval", "evaluator", DatasetKind.EVALUATION),
    ]:
        catalog.ingest(
            b_space,
            actor=owner,
            path=STEEL_CSV,
            dataset=name,
            new=NewDataset(owner=owner, kind=kind, industry="steel", label=label),
        )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        made = []
        for sp in (a_space, b_space):
            port = free_port()
            url = f"http://127.0.0.1:{port}/dsp"
            contracts.identity(sp, actor="operator", url=url)
            procs.append(serve_space(sp.root, port, tmp / f"{sp.root.name}.log"))
            made.append(Node(sp, url, procs[-1]))
        a, b = made
        for me, other in ((a, b), (b, a)):
            pem = tmp / f"{other.root.name}.pem"
            pem.write_text(other.space.keys.public_pem)
            added = _cli(
                me,
                "peer",
                "add",
                other.root.name,
                "--url",
                other.url,
                "--public-key",
                str(pem),
                actor="operator",
            )
            assert added["key_id"] == other.space.keys.key_id, added
        yield a, b
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        a_space.close()
        b_space.close()


def _until(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def _decide(space: Space, org: str, purpose: Purpose, on: date | None = None) -> str:
    if on is None:
        return policies.check(space, organization=org, dataset="steel-b", purpose=purpose).effect
    policy = policies.get_policy(space, "steel-b")
    request = AccessRequest(org, "steel-b", "plant-a", DatasetKind.COMMON, purpose, on, policy)
    return RuleChain.default().decide(request).effect


def _actions(space: Space, pid: str) -> list[str]:
    return [e.action for e in ledger.entries(space, object_id=pid, limit=None)]


def test_agree_transfer_expiry_and_revocation(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    # the catalog B shows A over the protocol: steel-b offered, the sealed set not
    cat = _cli(a, "catalog", "fetch", "--peer", "space-b")
    offered = [d["dct:identifier"] for d in cat["dcat:dataset"]]
    assert offered == ["steel-b"]
    req = _cli(
        a,
        "contract",
        "request",
        "--peer",
        "space-b",
        "--dataset",
        "steel-b",
        "-p",
        "evaluate",
        "-p",
        "train-federated",
        "--until",
        _until(30),
        actor="builder",
    )
    assert req["state"] == "REQUESTED" and req["peer_pid"], req
    b_pid = req["peer_pid"]
    provider = contracts.show(b.space, b_pid)
    assert provider.organization == "space-a.builder"
    assert provider.state.value == "REQUESTED"
    # only the dataset's owner agrees
    denied = _cli(b, "contract", "agree", b_pid, actor="plant-b")
    assert denied["_rc"] == 1 and denied["error"]["code"] == "RES-122"
    agreed = _cli(b, "contract", "agree", b_pid, actor="plant-a")
    assert agreed["state"] == "FINALIZED" and agreed["transfer_state"] == "STARTED", agreed
    consumer = contracts.show(a.space, req["pid"])
    assert consumer.state.value == "FINALIZED" and consumer.transfer_state is not None
    assert consumer.transfer_state.value == "STARTED"
    assert consumer.agreement_id == agreed["agreement_id"]
    # compute-to-data: the agreed purposes, not download, until the expiry
    assert _decide(b.space, "space-a.builder", Purpose.EVALUATE) == "allow"
    assert _decide(b.space, "space-a.builder", Purpose.TRAIN_FEDERATED) == "allow"
    assert _decide(b.space, "space-a.builder", Purpose.DOWNLOAD) == "deny"
    read = _cli(
        b,
        "dataset",
        "read",
        "steel-b",
        "--purpose",
        "download",
        "-o",
        str(b.root / "x.csv"),
        actor="space-a.builder",
    )
    assert read["_rc"] == 1 and read["error"]["code"] == "RES-120"
    assert not (b.root / "x.csv").exists()
    expiry = TODAY + timedelta(days=30)
    assert _decide(b.space, "space-a.builder", Purpose.EVALUATE, expiry) == "allow"
    assert _decide(b.space, "space-a.builder", Purpose.EVALUATE, expiry + timedelta(1)) == "deny"
    # A's organization works in B through the data address of the transfer: B's API, as
    # space-a.builder, under B's usage policy; rows do not come out for evaluate
    shown = _cli(a, "contract", "show", req["pid"])
    address = shown["data_address"]
    props = {p["dspace:name"]: p["dspace:value"] for p in address["dspace:endpointProperties"]}
    api, auth = address["dspace:endpoint"], {"Authorization": props["authorization"]}
    assert api == b.url.removesuffix("/dsp") and props["organization"] == "space-a.builder"
    check = httpx.get(
        f"{api}/policies/steel-b/check",
        params={"organization": "space-a.builder", "purpose": "evaluate"},
        headers=auth,
    )
    assert check.json()["effect"] == "allow", check.text
    for purpose in ("evaluate", "download"):
        rows = httpx.get(f"{api}/datasets/steel-b/rows", params={"purpose": purpose}, headers=auth)
        assert rows.status_code == 403 and rows.json()["error"]["code"] == "RES-120", rows.text
    # both ledgers hold the walk, and both chains verify
    walk = [
        "contract.requested",
        "contract.agreed",
        "contract.verified",
        "contract.finalized",
        "transfer.started",
    ]
    assert _actions(a.space, req["pid"]) == walk
    assert _actions(b.space, b_pid) == walk
    received = [e.payload for e in ledger.entries(b.space, object_id=b_pid, limit=None)]
    assert received[0]["direction"] == "received" and received[0]["nonce"]
    # revocation by the provider's owner: grant withdrawn, both transfers terminated
    revoked = _cli(b, "contract", "terminate", b_pid, "--reason", "audit", actor="plant-a")
    assert revoked["transfer_state"] == "TERMINATED", revoked
    assert contracts.show(a.space, req["pid"]).transfer_state.value == "TERMINATED"  # type: ignore[union-attr]
    assert _decide(b.space, "space-a.builder", Purpose.EVALUATE) == "deny"
    assert _actions(a.space, req["pid"])[-1] == "transfer.terminated"
    assert contracts.show(a.space, req["pid"]).data_address == {}
    gone = httpx.get(f"{api}/datasets", headers=auth)
    assert gone.status_code == 401 and gone.json()["error"]["code"] == "RES-121"
    for sp in (a.space, b.space):
        assert ledger.verify(sp).ok


def test_refusal_and_auto_agree_rule(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    req = _cli(
        a,
        "contract",
        "request",
        "--peer",
        "space-b",
        "--dataset",
        "steel-b",
        "-p",
        "train-pooled",
        "--until",
        _until(10),
        actor="builder",
    )
    refused = _cli(b, "contract", "terminate", req["peer_pid"], "--reason", "no", actor="plant-a")
    assert refused["state"] == "TERMINATED"
    mine = contracts.show(a.space, req["pid"])
    assert mine.state.value == "TERMINATED" and mine.reason == "no"
    assert _decide(b.space, "space-a.builder", Purpose.TRAIN_POOLED) == "deny"
    again = _cli(b, "contract", "agree", req["peer_pid"], actor="plant-a")
    assert again["error"]["code"] == "RES-184"
    # the owner's rule agrees within its bounds at once, and leaves the rest to the owner
    rule = _cli(
        b,
        "contract",
        "auto-agree",
        "steel-b",
        "--peer",
        "space-a",
        "-p",
        "evaluate",
        "--max-days",
        "60",
        actor="plant-a",
    )
    assert rule["max_days"] == 60
    quick = _cli(
        a,
        "contract",
        "request",
        "--peer",
        "space-b",
        "--dataset",
        "steel-b",
        "-p",
        "evaluate",
        "--until",
        _until(20),
        actor="builder",
    )
    assert quick["state"] == "FINALIZED" and quick["transfer_state"] == "STARTED", quick
    assert _decide(b.space, "space-a.builder", Purpose.EVALUATE) == "allow"
    slow = _cli(
        a,
        "contract",
        "request",
        "--peer",
        "space-b",
        "--dataset",
        "steel-b",
        "-p",
        "evaluate",
        "--until",
        _until(200),
        actor="builder",
    )
    assert slow["state"] == "REQUESTED"
    # the consumer withdraws its own request
    gone = _cli(a, "contract", "terminate", slow["pid"], actor="builder")
    assert gone["state"] == "TERMINATED"
    assert contracts.show(b.space, slow["peer_pid"]).state.value == "TERMINATED"
    # a sealed evaluation set cannot be requested
    sealed = _cli(
        a,
        "contract",
        "request",
        "--peer",
        "space-b",
        "--dataset",
        "steel-eval",
        "-p",
        "evaluate",
        "--until",
        _until(5),
        actor="builder",
    )
    assert sealed["error"]["code"] == "RES-101"
    # the console's contracts page of the provider lists them to the dataset's owner
    plain, _ = tokens.create_token(b.space, actor="operator", organization="plant-a")
    with TestClient(served_app(b.root)) as client:
        console_login(client, plain)
        page = client.get("/console/contracts").text
    assert "space-a.builder" in page and "TERMINATED" in page and "STARTED" in page


def _signed(
    space: Space, path: str, body: dict[str, Any], *, stamp: str | None = None
) -> tuple[bytes, dict[str, str]]:
    data = signing.canonical_json(body)
    keys = space.keys
    stamp = stamp or datetime.now(UTC).isoformat(timespec="seconds")
    nonce = secrets.token_urlsafe(24)
    signed = signing_input(
        method="POST", path=path, body=data, key_id=keys.key_id, timestamp=stamp, nonce=nonce
    )
    env = Envelope(keys.key_id, stamp, nonce, keys.sign_json(signed))
    return data, {"Content-Type": "application/json", **env.headers()}


def test_unsigned_forged_stale_replayed_and_malformed_messages_change_nothing(
    nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    a, b = nodes
    base = b.url.removesuffix("/dsp")
    path = "/dsp/negotiations/request"
    body = message(
        "ContractRequestMessage",
        consumerPid="urn:uuid:forged",
        offer=offer_request(
            offer_id="urn:resonance:offer:steel-b:v0",
            dataset="steel-b",
            organization="builder",
            purposes=frozenset({Purpose.DOWNLOAD}),
            until=TODAY + timedelta(days=3),
        ),
    )
    before = (len(ledger.entries(b.space, limit=None)), len(contracts.list_contracts(b.space)))

    def post(data: bytes, headers: dict[str, str], p: str = path) -> tuple[int, str]:
        r = httpx.post(base + p, content=data, headers=headers, timeout=30)
        return r.status_code, r.json()["error"]["code"]

    data, headers = _signed(a.space, path, body)
    # unsigned
    assert post(data, {"Content-Type": "application/json"}) == (401, "RES-181")
    # body changed after signing
    assert post(data.replace(b"DOWNLOAD", b"download").replace(b"forged", b"forgeD"), headers) == (
        401,
        "RES-181",
    )
    # signed by a key no peer registered
    stranger = Space.init(tmp_path / "stranger")
    d2, h2 = _signed(stranger, path, body)
    assert post(d2, h2) == (401, "RES-181")
    stranger.close()
    # stale timestamp
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    d3, h3 = _signed(a.space, path, body, stamp=old)
    assert post(d3, h3) == (409, "RES-182")
    # well signed but malformed: not JSON, wrong type, offer that does not map
    for bad in (
        b"not json",
        signing.canonical_json({"@type": "dspace:Nonsense"}),
        signing.canonical_json({**body, "dspace:offer": {"@id": "x", "odrl:target": 3}}),
    ):
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        nonce = secrets.token_urlsafe(24)
        signed = signing_input(
            method="POST",
            path=path,
            body=bad,
            key_id=a.space.keys.key_id,
            timestamp=stamp,
            nonce=nonce,
        )
        headers_bad = {
            "Content-Type": "application/json",
            **Envelope(a.space.keys.key_id, stamp, nonce, a.space.keys.sign_json(signed)).headers(),
        }
        assert post(bad, headers_bad) == (400, "RES-183")
    # replay of an accepted message
    cat_path = "/dsp/catalog/request"
    d4, h4 = _signed(a.space, cat_path, message("CatalogRequestMessage", filter=[]))
    assert httpx.post(base + cat_path, content=d4, headers=h4, timeout=30).status_code == 200
    assert post(d4, h4, cat_path) == (409, "RES-182")
    after = (len(ledger.entries(b.space, limit=None)), len(contracts.list_contracts(b.space)))
    assert after == before
