"""The CLI starts fast: importing it (and listing datasets) loads none of the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("sklearn", "lightgbm", "flwr", "torch", "plotly", "pandas", "pyarrow", "duckdb",
         "scipy", "cleanlab", "huey", "fastapi", "alembic")  # fmt: skip


def _loaded(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _loaded("import resonance.cli.app") == []


def test_help_dataset_list_and_the_review_queue_load_no_heavy_library(tmp_path: Path) -> None:
    from resonance.services.orgs import init_space

    init_space(tmp_path / "sp", operator="operator", region="Beijing").close()
    sp = ["--space", str(tmp_path / "sp"), "--as", "operator"]
    for args in (
        ["--help"],
        [*sp, "dataset", "list"],
        [*sp, "review", "--help"],
        [*sp, "review", "list"],
        [*sp, "my-data"],
    ):
        code = (
            "import sys\nfrom resonance.cli.app import app\n"
            f"sys.argv = ['resonance', *{args!r}]\n"
            "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        )
        assert _loaded(code) == [], args


def test_a_command_still_loads_what_it_needs() -> None:
    assert "sklearn" in _loaded("import resonance.cli.models")
