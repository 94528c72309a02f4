"""Issue 9, credentials everywhere: the CLI acts for an organization only with its token;
direct store access is the operator's administrative mode, named and recorded."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from resonance.cli.app import app
from resonance.services import ledger
from resonance.services.space import Space
from tests.conftest import STEEL_CSV, STEEL_LABELS

runner = CliRunner()


def run(root: Path, *args: str, token: str = "", code: int = 0) -> Any:
    """``resonance --space ROOT --format json ARGS`` with RESONANCE_TOKEN=``token``."""
    result = runner.invoke(
        app,
        ["--space", str(root), "--format", "json", *args],
        env={"RESONANCE_ACTOR": "", "RESONANCE_TOKEN": token},
    )
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if result.stdout.strip().startswith(("{", "[")) else result


def _ingest(root: Path, *who: str, token: str = "", code: int = 0) -> Any:
    return run(
        root, *who, "dataset", "ingest", str(STEEL_CSV), "--name", "steel-a", "--industry",
        "steel", "--label-onehot", ",".join(STEEL_LABELS), token=token, code=code,
    )  # fmt: skip


def test_the_cli_acts_for_an_organization_only_with_its_token(tmp_path: Path) -> None:
    root = tmp_path / "space"
    made = run(root, "init", "--operator", "operator")
    stored = Path(made["credentials"])  # init logs the operator in: a user-only file
    assert made["logged_in"] == "operator"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    run(root, "org", "add", "plant-a", "--role", "data_holder", "--region", "Jiangsu")
    run(root, "org", "add", "lab", "--role", "model_builder", "--region", "Shanghai")
    assert run(root, "whoami") == {"organization": "operator", "mode": "token"}

    # --as an organization whose token the CLI does not hold: refused, nothing done
    err = _ingest(root, "--as", "plant-a", code=1)["error"]
    assert err["code"] == "RES-125" and "resonance login" in err["message"]
    assert run(root, "dataset", "list") == []

    # the operator issues plant-a's token (printed once); plant-a logs in with it
    plant_a = run(root, "--format", "table", "token", "create", "plant-a").stdout.strip()
    lab = run(root, "--format", "table", "token", "create", "lab").stdout.strip()
    assert run(root, "login", "--token", plant_a)["organization"] == "plant-a"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert plant_a in stored.read_text() and lab not in stored.read_text()
    assert _ingest(root, "--as", "plant-a")["ref"] == "steel-a@1"
    # two organizations logged in here: which one acts must be said
    assert run(root, "dataset", "list", code=1)["error"]["code"] == "RES-125"
    # a token of another organization does not make the CLI act for plant-a
    wrong = run(root, "--as", "plant-a", "policy", "set", "steel-a", "--grant",
                "lab:download", token=lab, code=1)  # fmt: skip
    assert wrong["error"]["code"] == "RES-125" and "lab's" in wrong["error"]["message"]
    assert run(root, "whoami", token=lab) == {"organization": "lab", "mode": "token"}
    # only the owner sets the policy, even holding a token
    owner_only = run(root, "policy", "set", "steel-a", "--grant", "lab:download", token=lab, code=1)
    assert owner_only["error"]["code"] == "RES-122"
    # a revoked token is no credential
    tokens = run(root, "--as", "operator", "token", "list")
    lab_id = next(t["id"] for t in tokens if t["organization"] == "lab")
    run(root, "--as", "operator", "token", "revoke", lab_id)
    assert run(root, "whoami", token=lab, code=1)["error"]["code"] == "RES-121"
    assert run(root, "--as", "plant-a", "logout")["forgotten"] == ["plant-a"]
    assert run(root, "--as", "plant-a", "whoami", code=1)["error"]["code"] == "RES-125"
    stored.chmod(0o644)  # a credentials file others can read is refused, like an ssh key
    loose = run(root, "whoami", code=1)["error"]
    assert loose["code"] == "RES-100" and "chmod 600" in loose["message"]
    stored.chmod(0o600)
    assert run(root, "whoami") == {"organization": "operator", "mode": "token"}


def test_the_administrative_mode_is_named_and_recorded(tmp_path: Path) -> None:
    root = tmp_path / "space"
    run(root, "init", "--operator", "op")
    run(root, "logout", "--all")
    assert run(root, "org", "list", code=1)["error"]["code"] == "RES-125"
    run(root, "--admin", "org", "add", "plant-a", "--role", "data_holder", "--region", "Hebei")
    assert run(root, "--admin", "--as", "plant-a", "whoami") == {
        "organization": "plant-a",
        "mode": "admin",
    }
    _ingest(root, "--admin", "--as", "plant-a")
    assert run(root, "--admin", "--as", "nobody", "whoami", code=1)["error"]["code"] == "RES-101"
    space = Space.open(root)
    try:
        entries = ledger.entries(space, action="admin.direct_access", limit=None)
        ingested = ledger.entries(space, action="dataset.version_created", limit=None)
    finally:
        space.close()
    assert [(e.actor, e.payload["command"]) for e in entries] == [
        ("op", "org add"),
        ("plant-a", "whoami"),
        ("plant-a", "dataset ingest"),
    ]
    assert all(e.payload["user"] for e in entries)
    assert ingested[-1].actor == "plant-a" and ingested[-1].seq > entries[-1].seq


def test_admin_mode_acts_as_the_only_operator_of_a_space_made_without_init(
    tmp_path: Path,
) -> None:
    from resonance.domain.orgs import Role
    from resonance.services import orgs

    space = Space.init(tmp_path / "space")  # as examples/resonance_loop.py makes its space
    orgs.register_organization(
        space, actor=None, name="op", roles=frozenset({Role.OPERATOR}), region="Beijing"
    )
    space.close()
    assert run(tmp_path / "space", "--admin", "whoami") == {"organization": "op", "mode": "admin"}
    assert run(tmp_path / "space", "--admin", "ledger", "verify")["ok"] is True
