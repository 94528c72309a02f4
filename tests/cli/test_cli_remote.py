"""``resonance --remote URL …``: the CLI as a client of a served space's REST API.

A real ``resonance serve`` (uvicorn, with its job worker) runs in a subprocess on a free
port; the remote CLI runs with ``--space`` pointing at an empty folder, so any local store
access would fail. Outputs are compared with the local CLI's on the same space.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.csv as pcsv
import pytest
from typer.testing import CliRunner, Result

from resonance.cli.app import app
from tests.conftest import make_space, org_token
from tests.loop_seed import seed_loop
from tests.servers import RESONANCE, free_port, serve_space

runner = CliRunner()


@dataclass
class Served:
    """A served space: its folder, the API's URL, and an empty folder as the CLI's --space."""

    root: Path
    url: str
    elsewhere: Path
    train: str
    suite: str

    def remote(self, *args: str, actor: str | None = None, token: str | None = None) -> Result:
        """``resonance --remote URL --format json ARGS`` with ``actor``'s token."""
        if token is None:
            token = (org_token(self.root, actor) or "") if actor else ""
        env = {"RESONANCE_ACTOR": "", "RESONANCE_TOKEN": token, "RESONANCE_REMOTE": ""}
        argv = ["--space", str(self.elsewhere), "--remote", self.url, "--format", "json", *args]
        return runner.invoke(app, argv, env=env)

    def local(self, *args: str, actor: str) -> Result:
        """The same command on the space's machine (its store opened directly)."""
        env = {
            "RESONANCE_ACTOR": "",
            "RESONANCE_TOKEN": org_token(self.root, actor) or "",
            "RESONANCE_REMOTE": "",
        }
        argv = ["--space", str(self.root), "--as", actor, "--format", "json", *args]
        return runner.invoke(app, argv, env=env)


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def error(result: Result) -> dict[str, Any]:
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if RESONANCE is None:
        pytest.skip("the resonance command is not on PATH")
    tmp = tmp_path_factory.mktemp("remote")
    space = make_space(tmp / "space")
    seeded = seed_loop(space, tmp / "data", builder="builder")  # steel-plant-a/b/c, steel-suite
    space.close()
    for org in ("operator", "plant-a", "builder", "evaluator"):
        org_token(tmp / "space", org)  # issued before the server runs
    elsewhere = tmp / "client"
    elsewhere.mkdir()
    port = free_port()
    proc = serve_space(tmp / "space", port, tmp / "serve.log")
    try:
        yield Served(
            tmp / "space", f"http://127.0.0.1:{port}", elsewhere, seeded.datasets[0], seeded.suite
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log = (tmp / "serve.log").read_text()
    assert "GET /health HTTP/1.1" in log  # the server logs every request line...
    for org in ("operator", "plant-a", "builder", "evaluator"):
        assert (org_token(tmp / "space", org) or "-") not in log  # ...never a token
    assert not any(elsewhere.iterdir())  # the remote CLI wrote nothing where --space points


def test_the_same_json_as_the_local_cli(served: Served) -> None:
    for actor, args in [
        ("builder", ("dataset", "list")),
        ("builder", ("dataset", "show", served.train)),
        ("plant-a", ("dataset", "show", served.train)),
        ("builder", ("dataset", "lineage", served.train)),
        ("builder", ("policy", "show", served.train)),
        ("builder", ("policy", "show", "steel-eval")),  # no policy: null
        ("builder", ("whoami",)),
        ("builder", ("org", "list")),
        ("plant-a", ("policy", "history", served.train)),
        ("builder", ("policy", "check", served.train, "--org", "builder", "--purpose", "download")),
        ("builder", ("model", "list")),
        ("builder", ("suite", "list")),
        ("plant-a", ("my-data",)),
        ("plant-a", ("review", "list")),
        ("builder", ("job", "list")),
        ("plant-a", ("ledger", "show", "--limit", "5")),
        ("plant-a", ("ledger", "show", "--first", "--limit", "3")),
    ]:
        remote = ok(served.remote(*args, actor=actor))
        local = ok(served.local(*args, actor=actor))
        assert remote == local, args
    # the chain verifies remotely as locally (the count grows with every command above)
    assert ok(served.remote("ledger", "verify", actor="builder"))["ok"] is True


def test_coded_errors_come_back_with_their_codes(served: Served) -> None:
    # a usage policy's denial: train-pooled is no download grant (and it is recorded)
    out = served.elsewhere / "rows.csv"
    denied = error(served.remote("dataset", "read", served.train, "-o", str(out), actor="builder"))
    local = error(served.local("dataset", "read", served.train, "-o", str(out), actor="builder"))
    assert denied["code"] == local["code"] == "RES-120"
    assert denied["message"] == local["message"]
    assert not out.exists()
    # an unknown dataset
    unknown = error(served.remote("dataset", "show", "nope", actor="builder"))
    assert unknown == error(served.local("dataset", "show", "nope", actor="builder"))
    assert unknown["code"] == "RES-101"
    # a bad token, no token, a token of another organization than --as
    assert error(served.remote("dataset", "list", token="res_not-a-token"))["code"] == "RES-121"
    assert error(served.remote("dataset", "list"))["code"] == "RES-125"
    mismatch = served.remote("--as", "plant-a", "dataset", "list", actor="builder")
    assert error(mismatch)["code"] == "RES-125"
    # only owners set a policy (RES-122) — the API's own check, translated the same way
    grant = ("policy", "set", served.train, "-g", "builder:download")
    assert error(served.remote(*grant, actor="builder"))["code"] == "RES-122"
    # the table form: the code and message on stderr, exit status 1
    table = runner.invoke(
        app,
        ["--space", str(served.elsewhere), "--remote", served.url, "dataset", "show", "nope"],
        env={"RESONANCE_TOKEN": org_token(served.root, "builder") or "", "RESONANCE_ACTOR": ""},
    )
    assert table.exit_code == 1 and "RES-101" in table.output


def test_commands_without_a_remote_form_refuse_by_name(served: Served) -> None:
    for args in (("verify",), ("token", "list"), ("quota", "check")):
        body = error(served.remote(*args, actor="operator"))
        assert body["code"] == "RES-260"
        assert body["details"]["command"] == " ".join(args)
        assert f"`resonance {' '.join(args)}`" in body["message"]
    receipt = served.elsewhere.parent / "receipt.json"
    receipt.write_text("[]")
    body = error(served.remote("ledger", "verify", "--receipt", str(receipt), actor="operator"))
    assert body["code"] == "RES-260" and "--receipt" in body["message"]
    receipt.unlink()
    # --admin is direct access to a local store: never with --remote
    admin = runner.invoke(app, ["--remote", served.url, "--admin", "whoami"])
    assert admin.exit_code == 2 and "--admin" in admin.output
    # an unreachable space: coded, and the token is not in the message
    gone = runner.invoke(
        app,
        ["--remote", f"http://127.0.0.1:{free_port()}", "--format", "json", "dataset", "list"],
        env={"RESONANCE_TOKEN": "res_secret-value", "RESONANCE_ACTOR": ""},
    )
    assert gone.exit_code == 1 and json.loads(gone.stdout)["error"]["code"] == "RES-261"
    assert "res_secret-value" not in gone.output


def test_rows_leave_only_under_download_and_uploads_ingest(served: Served) -> None:
    # the owner uploads a new dataset and grants download of it to the builder
    src = served.root.parent / "data" / f"{served.train}.csv"
    made = ok(
        served.remote(
            "dataset", "ingest", str(src), "--name", "steel-up", "--industry", "steel",
            actor="plant-a",
        )
    )  # fmt: skip
    assert made["created"] is True and made["ref"] == "steel-up@1"
    checked = ok(served.remote("dataset", "validate", str(src), actor="plant-a"))
    assert checked == ok(served.local("dataset", "validate", str(src), actor="plant-a"))
    assert made == {**made, "rows": pcsv.read_csv(src).num_rows}
    assert ok(served.remote("dataset", "show", "steel-up", actor="builder")) == ok(
        served.local("dataset", "show", "steel-up", actor="builder")
    )
    out = served.root.parent / "steel-up.csv"
    denied = served.remote("dataset", "read", "steel-up", "-o", str(out), actor="builder")
    assert error(denied)["code"] == "RES-120" and not out.exists()
    receipt = served.root.parent / "receipt.json"
    policy = ok(
        served.remote(
            "--receipt-out", str(receipt), "policy", "set", "steel-up", "-g", "builder:download",
            actor="plant-a",
        )
    )  # fmt: skip
    assert policy == ok(served.local("policy", "show", "steel-up", actor="plant-a"))
    # the API's signed receipts of the command's ledger entries, checked against the chain
    kept = json.loads(receipt.read_text())
    assert len(kept) == 1 and kept[0]["signature"]
    checked = ok(served.local("ledger", "verify", "--receipt", str(receipt), actor="plant-a"))
    assert checked["ok"] is True
    read = ok(served.remote("dataset", "read", "steel-up", "-o", str(out), actor="builder"))
    assert read == {"ref": "steel-up@1", "rows": made["rows"], "out": str(out)}
    assert pcsv.read_csv(out).num_rows == made["rows"]
    pq_out = out.with_suffix(".parquet")
    ok(served.remote("dataset", "read", "steel-up@1", "-o", str(pq_out), actor="builder"))
    import pyarrow.parquet as pq

    assert pq.read_table(pq_out).num_rows == made["rows"]
    # both reads and the denial are on the ledger, as the builder
    entries = ok(served.local("ledger", "show", "--object", "steel-up@1", actor="plant-a"))
    actions = [(e["actor"], e["action"]) for e in entries]
    assert actions.count(("builder", "data.accessed")) == 2, actions
    assert actions.count(("builder", "data.access_denied")) == 1, actions


def test_a_training_job_is_followed_to_its_model(served: Served) -> None:
    train = (
        "model", "train", "-n", "rm", "-t", "sklearn-logreg", "-d", served.train,
        "-p", "max_iter=200",
    )  # fmt: skip
    model = ok(served.remote(*train, actor="builder"))
    assert model["ref"] == "rm@1" and model["created_by"] == "builder"
    assert model == ok(served.local("model", "show", "rm@1", actor="builder"))
    assert ok(served.remote("model", "show", "rm", actor="builder")) == model
    card = ok(served.remote("model", "card", "rm@1", actor="builder"))
    assert card == ok(served.local("model", "card", "rm@1", actor="builder"))
    jobs = ok(served.remote("job", "list", "--kind", "train", actor="builder"))
    assert jobs[0]["status"] == "succeeded" and jobs[0]["result"]["model"] == "rm@1"
    # --detach: the queued job at once; `job watch` follows it to the end
    queued = ok(served.remote(*train, "--detach", actor="builder"))
    assert queued["status"] in ("queued", "running") and queued["kind"] == "train"
    done = ok(served.remote("job", "watch", queued["id"], actor="builder"))
    assert done["status"] == "succeeded" and done["result"]["model"] == "rm@2"
    # scoring on the sealed suite: synchronous, the same record as locally
    scored = ok(served.remote("eval", "run", "rm@1", "--suite", served.suite, actor="builder"))
    assert scored["model"] == "rm@1" and "budget_left" in scored
    runs = ok(served.local("eval", "list", "--model", "rm@1", actor="builder"))
    assert ok(served.remote("eval", "list", "--model", "rm@1", actor="builder")) == runs
    # a failed job's coded error comes back as the local one would (no grant on the sealed set)
    bad = served.remote("model", "train", "-n", "x", "-t", "sklearn-logreg", "-d", "steel-eval",
                        actor="builder")  # fmt: skip
    assert error(bad)["code"] in ("RES-120", "RES-123")


def test_login_stores_the_token_for_the_url(served: Served, tmp_path: Path) -> None:
    config = tmp_path / "cfg" / "credentials.json"
    env = {"RESONANCE_CONFIG": str(config), "RESONANCE_TOKEN": "", "RESONANCE_ACTOR": ""}
    token = org_token(served.root, "builder") or ""
    login = runner.invoke(
        app,
        ["--format", "json", "login", "--remote", served.url + "/", "--token", token],
        env=env,
    )
    assert login.exit_code == 0, login.output
    assert json.loads(login.stdout)["organization"] == "builder"
    stored = json.loads(config.read_text())["spaces"]
    assert stored == {served.url: {"builder": token}}
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    who = runner.invoke(
        app,
        ["--space", str(served.elsewhere), "--format", "json", "whoami"],
        env={**env, "RESONANCE_REMOTE": served.url},
    )
    assert who.exit_code == 0, who.output
    assert json.loads(who.stdout) == {"organization": "builder", "mode": "token"}
    # a wrong token is refused by the API and nothing is stored
    bad = runner.invoke(
        app,
        ["--format", "json", "--as", "plant-a", "login", "--remote", served.url, "--token", "x"],
        env=env,
    )
    assert bad.exit_code == 1 and json.loads(bad.stdout)["error"]["code"] == "RES-121"
    forget = runner.invoke(app, ["--remote", served.url, "--format", "json", "logout"], env=env)
    assert forget.exit_code == 0 and json.loads(forget.stdout) == {"forgotten": ["builder"]}
    assert json.loads(config.read_text())["spaces"] == {}


def test_loop_review_and_my_data_remotely(served: Served) -> None:
    plants = ["steel-plant-a", "steel-plant-b", "steel-plant-c"]
    args = [f"--dataset={d}" for d in plants] + [f"--reserve={d}-reserve" for d in plants]
    run = ok(
        served.remote(
            "loop", "run", "--name", "rloop", *args, "--budget", "40", "--suite", served.suite,
            "--iterations", "1", "-p", "n_estimators=20", "-p", "n_jobs=1", actor="builder",
        )
    )  # fmt: skip
    assert run["status"] == "finished" and run["summary"]["final_model"].startswith("rloop@")
    assert run == ok(served.local("loop", "show", "rloop", actor="builder"))
    assert ok(served.remote("loop", "list", actor="builder")) == ok(
        served.local("loop", "list", actor="builder")
    )
    report = served.root.parent / "rloop.html"
    assert ok(served.remote("loop", "report", "rloop", "-o", str(report), actor="builder")) == {
        "report": str(report)
    }
    assert "loop-metric" in report.read_text()
    # the loop's per-row findings go to each row's owner, counts to the builder
    counts = ok(served.remote("review", "counts", actor="builder"))
    assert counts == ok(served.local("review", "counts", actor="builder"))
    owner = max(counts, key=lambda o: counts[o].get("open", 0))  # a holder with open items
    mine = ok(served.remote("review", "list", "--loop", "rloop", actor=owner))
    assert mine == ok(served.local("review", "list", "--loop", "rloop", actor=owner))
    assert len(mine) >= 2 and {i["owner"] for i in mine} == {owner}
    assert ok(served.remote("review", "list", actor="builder")) == []
    first, second = mine[0]["id"], mine[1]["id"]
    assert error(served.remote("review", "accept", first, actor="builder"))["code"] == "RES-220"
    accepted = ok(served.remote("review", "accept", first, "--no-apply", actor=owner))
    assert accepted["accepted"] == 1
    dataset = mine[0]["dataset"]
    applied = ok(served.remote("review", "apply", dataset, actor=owner))
    assert applied["version"] and applied["version"].startswith(f"{dataset}@")
    rejected = ok(served.remote("review", "reject", second, "--reason", "checked", actor=owner))
    assert rejected["rejected"] == 1
    again = served.remote("review", "reject", first, "--reason", "no", actor=owner)
    assert error(again)["code"] == "RES-221"
    assert ok(served.remote("my-data", actor=owner)) == ok(served.local("my-data", actor=owner))


def test_federate_value_and_diagnose_remotely(served: Served) -> None:
    for owner, ds in [("plant-a", "steel-plant-a"), ("plant-b", "steel-plant-b")]:
        grant = ("policy", "set", ds, "-g", "builder:train-pooled,train-federated")
        ok(served.remote(*grant, "--allow-auto-drop", actor=owner))
    fed = ok(
        served.remote(
            "federate", "run", "-n", "rfed", "-d", "steel-plant-a", "-d", "steel-plant-b",
            "--rounds", "2", actor="builder",
        )
    )  # fmt: skip
    assert fed["ref"] == "rfed@1" and fed == ok(served.local("model", "show", "rfed@1",
                                                            actor="builder"))  # fmt: skip
    deploy = served.remote("federate", "run", "-n", "x", "--superlink", "h:1", actor="builder")
    assert error(deploy)["code"] == "RES-260"
    pooled = ok(
        served.remote(
            "model", "train", "-n", "rpool", "-t", "sklearn-logreg", "-d", "steel-plant-a",
            "-d", "steel-plant-b", "-p", "max_iter=200", actor="builder",
        )
    )  # fmt: skip
    statement = served.root.parent / "statement.md"
    value = ok(
        served.remote(
            "value", pooled["ref"], "--suite", served.suite, "--statement", str(statement),
            actor="builder",
        )
    )  # fmt: skip
    assert set(value["members"]) == {"plant-a", "plant-b"} and value["model"] == pooled["ref"]
    assert "plant-a" in statement.read_text()
    diagnosed = ok(
        served.remote("eval", "diagnose", pooled["ref"], "--suite", served.suite, actor="builder")
    )
    assert diagnosed["diagnosis"] and diagnosed["budget_left"] >= 0
    # a job cancelled before a worker takes it (or while it runs) ends cancelled
    queued = ok(
        served.remote(
            "model", "train", "-n", "rc", "-t", "sklearn-rf", "-d", "steel-plant-a", "--detach",
            actor="builder",
        )
    )  # fmt: skip
    cancelled = served.remote("job", "cancel", queued["id"], actor="builder")
    if cancelled.exit_code == 0:
        assert json.loads(cancelled.stdout)["status"] in ("cancelled", "running")
    else:  # it had already finished: RES-201
        assert error(cancelled)["code"] == "RES-201"
    assert ok(served.remote("job", "show", queued["id"], actor="builder"))["id"] == queued["id"]


def test_people_get_tables(served: Served) -> None:
    env = {"RESONANCE_TOKEN": org_token(served.root, "builder") or "", "RESONANCE_ACTOR": ""}
    base = ["--space", str(served.elsewhere), "--remote", served.url]
    listing = runner.invoke(app, [*base, "dataset", "list"], env=env)
    assert listing.exit_code == 0 and "Catalog" in listing.output and served.train in listing.output
    who = runner.invoke(app, [*base, "whoami"], env=env)
    assert who.exit_code == 0 and f"builder (token, {served.url})" in who.output
    helped = runner.invoke(app, [*base, "dataset", "read", "--help"], env=env)
    assert helped.exit_code == 0 and "--purpose" in helped.output  # the local command's options


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A throw-away key and self-signed certificate for 127.0.0.1."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def test_tls_is_verified_unless_insecure(served: Served, tmp_path: Path) -> None:
    import sys

    key, cert = _self_signed(tmp_path)
    port = free_port()
    log = (tmp_path / "tls.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "resonance.server:make", "--factory",
            "--host", "127.0.0.1", "--port", str(port),
            "--ssl-keyfile", str(key), "--ssl-certfile", str(cert),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "RESONANCE_SPACE": str(served.root)},
    )  # fmt: skip
    try:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", verify=False, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = org_token(served.root, "builder") or ""
        env = {"RESONANCE_TOKEN": token, "RESONANCE_ACTOR": "", "RESONANCE_REMOTE": ""}
        base = ["--space", str(served.elsewhere), "--remote", url, "--format", "json"]
        refused = runner.invoke(app, [*base, "whoami"], env=env)
        assert refused.exit_code == 1, refused.output
        body = json.loads(refused.stdout)["error"]
        assert body["code"] == "RES-261" and "CERTIFICATE_VERIFY_FAILED" in body["message"]
        assert token not in refused.output
        trusted = runner.invoke(app, [*base, "--insecure", "whoami"], env=env)
        assert trusted.exit_code == 0, trusted.output
        assert json.loads(trusted.stdout) == {"organization": "builder", "mode": "token"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
