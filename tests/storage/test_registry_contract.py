"""Contract tests of the registry and token repositories on every backend."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from resonance.domain.errors import Conflict
from resonance.domain.orgs import Organization, Role
from resonance.domain.registry import (
    HolderKind,
    KeyCity,
    KeyIndustry,
    LandingCase,
    ModelEntry,
    ModelKind,
    ResonanceSpaceEntry,
    ScenarioFile,
    ScenarioStatus,
)
from resonance.domain.reporting import ReportKind, ReportSubmission, SubjectKind
from resonance.domain.tokens import new_token
from resonance.storage.sql import SqlStore

NOW = "2026-11-22T00:00:00+00:00"
# The store may translate integrity errors into the domain's Conflict.
DUPLICATE = (sa.exc.IntegrityError, Conflict)


@pytest.fixture
def store(db_url: str):
    s = SqlStore(db_url)
    s.migrate()
    with s.transaction() as tx:
        tx.add_organization(Organization("op", frozenset({Role.OPERATOR}), "Hebei"), created_at=NOW)
    yield s
    s.close()


def _scenario(name: str = "s1", industry: str = "steel") -> ScenarioFile:
    return ScenarioFile(name, industry, "T", "P", "V", "D", "M", "op")


def test_registry_round_trip(store: SqlStore) -> None:
    model = ModelEntry("ag", "steel", ModelKind.AGENT, "op", "s1", "ag@2", "an agent")
    space = ResonanceSpaceEntry("sp", HolderKind.PROVINCE, "Hebei", ("steel", "ships"), "op", "x")
    with store.transaction() as tx:
        tx.add_scenario(_scenario(), created_at=NOW)
        tx.add_scenario(_scenario("s2", "ships"), created_at=NOW)
        tx.add_model_entry(model, created_at=NOW)
        tx.add_case(LandingCase("c1", "ag", "Mill", "Hebei", "used", "op"), created_at=NOW)
        tx.add_space_entry(space, created_at=NOW)
        tx.add_key_city(KeyCity("Hebei", "Tangshan", True), created_at=NOW)
        tx.add_key_industry(KeyIndustry(HolderKind.PROVINCE, "Hebei", "steel"), created_at=NOW)
    with store.transaction() as tx:
        assert tx.get_scenario("s1") == _scenario()
        assert [s.name for s in tx.list_scenarios(industry="ships")] == ["s2"]
        assert tx.set_scenario_status("s1", ScenarioStatus.LANDED, updated_at=NOW)
        assert not tx.set_scenario_status("nope", ScenarioStatus.LANDED, updated_at=NOW)
    with store.transaction() as tx:
        scenario = tx.get_scenario("s1")
        assert scenario is not None and scenario.status is ScenarioStatus.LANDED
        assert tx.get_model_entry("ag") == model
        assert tx.list_model_entries(kind=ModelKind.INDUSTRY) == []
        assert tx.list_model_entries(industry="steel") == [model]
        assert [c.name for c in tx.list_cases(model="ag")] == ["c1"]
        assert tx.get_space_entry("sp") == space
        assert tx.list_space_entries() == [space]
        assert tx.list_key_cities(province="Hebei") == [KeyCity("Hebei", "Tangshan", True)]
        assert tx.list_key_industries(holder_kind=HolderKind.ENTERPRISE) == []
        assert len(tx.list_key_industries(holder="Hebei")) == 1


def test_unique_names_are_enforced(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_scenario(_scenario(), created_at=NOW)
    with pytest.raises(DUPLICATE), store.transaction() as tx:
        tx.add_scenario(_scenario(), created_at=NOW)
    with pytest.raises(DUPLICATE), store.transaction() as tx:
        tx.add_case(LandingCase("c1", "no-model", "a", "r", "d", "op"), created_at=NOW)


def test_report_submissions(store: SqlStore) -> None:
    sub = ReportSubmission(
        ReportKind.PLAN, SubjectKind.PROVINCE, "Hebei", date(2026, 5, 1), "a" * 64, "md", "op"
    )
    with store.transaction() as tx:
        tx.add_report_submission(sub)
    with store.transaction() as tx:
        assert tx.list_report_submissions(subject="Hebei") == [sub]
        assert tx.list_report_submissions(subject_kind=SubjectKind.ENTERPRISE) == []


def test_tokens_store_only_hashes(store: SqlStore) -> None:
    plain, token = new_token("op", label="ci", created_at=NOW)
    with store.transaction() as tx:
        tx.add_api_token(token)
    with store.transaction() as tx:
        assert tx.get_api_token(token.id) == token
        assert tx.list_api_tokens(organization="op") == [token]
        assert tx.revoke_api_token(token.id, revoked_at=NOW)
        assert not tx.revoke_api_token(token.id, revoked_at=NOW)
        rows = tx.conn.execute(sa.text("SELECT * FROM api_tokens")).all()  # type: ignore[attr-defined]
    assert plain.split("_", 2)[2] not in repr(rows)
    with store.transaction() as tx:
        stored = tx.get_api_token(token.id)
        assert stored is not None and not stored.active
