"""Shared fixtures: stores on SQLite and (when configured) PostgreSQL, spaces, data files."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from resonance.domain.errors import ResonanceError
from resonance.domain.orgs import Role
from resonance.services import orgs, tokens
from resonance.services.space import Space

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RESONANCE_SHARED_DATA", REPO.parent / "shared" / "data"))
STEEL_CSV = SHARED_DATA / "steel-plates-faults" / "steel_plates_faults.csv"
AI4I_CSV = SHARED_DATA / "ai4i2020" / "ai4i2020.csv"
STEEL_LABELS = [
    "Pastry_Fault",
    "Z_Scratch_Fault",
    "K_Scatch_Fault",
    "Stains_Fault",
    "Dirtiness_Fault",
    "Bumps_Fault",
    "Other_Faults",
]
PG_URL = os.environ.get("RESONANCE_TEST_POSTGRES_URL")

os.environ.setdefault("RESONANCE_NO_PROGRESS", "1")
# the CLI's stored credentials go to a file of this test session, never the user's
os.environ["RESONANCE_CONFIG"] = str(Path(tempfile.mkdtemp(prefix="resonance-config-")) / "c.json")
os.environ.pop("RESONANCE_TOKEN", None)
os.environ.setdefault("FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION", "1")


_TOKENS: dict[tuple[str, str], str] = {}


def org_token(root: Path, org: str) -> str | None:
    """An API token of ``org`` in the space at ``root`` (issued once, by the organization
    itself), or None when the space or the organization does not exist."""
    key = (str(Path(root).resolve()), org)
    if key not in _TOKENS:
        try:
            space = Space.open(root)
        except ResonanceError:
            return None
        try:
            plain, _ = tokens.create_token(space, actor=org, organization=org, label="tests")
        except ResonanceError:
            return None
        finally:
            space.close()
        _TOKENS[key] = plain
    return _TOKENS[key]


def _pg_schema_url() -> Iterator[str]:
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not PG_URL, reason="RESONANCE_TEST_POSTGRES_URL not set"),
    ),
]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from _pg_schema_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite URL (for tests that need only the embedded default)."""
    return f"sqlite:///{tmp_path / 'store.db'}"


def make_space(root: Path, db_url: str | None = None) -> Space:
    """A space with an operator, two data holders, a model builder and an evaluator."""
    space = Space.init(root, db_url=db_url)
    orgs.register_organization(
        space, actor=None, name="operator", roles=frozenset({Role.OPERATOR}), region="Beijing"
    )
    for name, role, region in [
        ("plant-a", Role.DATA_HOLDER, "Jiangsu"),
        ("plant-b", Role.DATA_HOLDER, "Hebei"),
        ("plant-c", Role.DATA_HOLDER, "Liaoning"),
        ("builder", Role.MODEL_BUILDER, "Beijing"),
        ("evaluator", Role.EVALUATOR, "Shanghai"),
    ]:
        orgs.register_organization(
            space, actor="operator", name=name, roles=frozenset({role}), region=region
        )
    return space


@pytest.fixture
def space(tmp_path: Path, db_url: str) -> Iterator[Space]:
    """A populated space on each backend."""
    sp = make_space(tmp_path / "space", db_url)
    yield sp
    sp.close()


@pytest.fixture
def lite_space(tmp_path: Path) -> Iterator[Space]:
    """A populated space on SQLite only."""
    sp = make_space(tmp_path / "space")
    yield sp
    sp.close()
