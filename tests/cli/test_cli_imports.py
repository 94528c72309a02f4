"""The CLI starts fast: importing it (and listing datasets) loads none of the heavy libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("sklearn", "lightgbm", "flwr", "torch", "plotly", "pandas", "pyarrow", "duckdb",
         "scipy", "cleanlab", "huey", "fastapi", "alembic", "numpy", "cryptography")  # fmt: skip


def _loaded(code: str, heavy: tuple[str, ...] = HEAVY, *, token: str = "") -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "RESONANCE_TOKEN": token, "RESONANCE_ACTOR": ""}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    return sorted({m.split(".")[0] for m in modules} & set(heavy))


def _cli(args: list[str]) -> str:
    return (
        "import sys\nfrom resonance.cli.app import app\n"
        f"sys.argv = ['resonance', *{args!r}]\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
    )


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _loaded("import resonance.cli.app", (*HEAVY, "rich", "sqlalchemy")) == []


def test_help_dataset_list_and_the_review_queue_load_no_heavy_library(tmp_path: Path) -> None:
    from resonance.services.orgs import init_space
    from tests.conftest import org_token

    init_space(tmp_path / "sp", operator="operator", region="Beijing").close()
    token = org_token(tmp_path / "sp", "operator") or ""
    sp = ["--space", str(tmp_path / "sp"), "--as", "operator"]
    # the root help needs neither Rich nor a store; browsing the embedded catalog (and checking
    # the token) no SQLAlchemy
    assert _loaded(_cli(["--help"]), (*HEAVY, "rich", "sqlalchemy", "httpx")) == []
    assert (
        _loaded(_cli([*sp, "dataset", "list"]), (*HEAVY, "sqlalchemy", "httpx"), token=token) == []
    )
    for args in ([*sp, "review", "--help"], [*sp, "review", "list"], [*sp, "my-data"]):
        assert _loaded(_cli(args), token=token) == [], args


def test_only_remote_mode_loads_httpx() -> None:
    # --remote loads the HTTP client (a refused connection still fails with its coded error)
    code = _cli(["--remote", "http://127.0.0.1:9", "whoami"]).replace(
        "assert not exc.code", "assert exc.code == 1"
    )
    assert _loaded(code, ("httpx",), token="res_x") == ["httpx"]


def test_a_command_still_loads_what_it_needs() -> None:
    assert "sklearn" in _loaded("import resonance.cli.models")
