"""Registry, token and report use cases: roles, ledger entries, quotas, deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from resonance.domain.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    RoleRequired,
    StepNotAllowed,
    SubmissionRefused,
    Unauthorized,
)
from resonance.domain.registry import (
    HolderKind,
    KeyCity,
    KeyIndustry,
    LandingCase,
    ModelEntry,
    ModelKind,
    ScenarioStatus,
)
from resonance.domain.reporting import DeadlineState, ReportKind
from resonance.reports.render import render
from resonance.services import ledger, registry, reports, tokens
from resonance.services.space import Space
from tests.registry_seed import SCENARIO, scenario_file, seed

EVIDENCE = "sha256:" + "ab" * 32


@pytest.fixture
def seeded(space: Space) -> Space:
    seed(space)
    return space


def test_registries_derive_datasets_from_the_catalog(seeded: Space) -> None:
    regs = registry.registries(seeded)
    (common,) = regs["common_datasets"]
    assert common["name"] == "steel-a" and common["version"] == "steel-a@1"
    assert common["rows"] == 1941 and common["owner"] == "plant-a"
    assert common["validation"] in ("passed", "warnings")
    assert regs["specialized_datasets"][0]["scenario"] == SCENARIO
    members = {m["organization"]: m["roles"] for m in regs["consortia"][0]["members"]}
    assert members == {
        "apps": ["application"],
        "builder": ["model"],
        "computeco": ["compute"],
        "plant-a": ["data"],
    }
    assert regs["consortia"][0]["complete"] is True
    assert {m["name"]: m["cases"] for m in regs["specialized_models"]} == {"surface-agent": 3}
    assert regs["specialized_models"][0]["confirmed_cases"] == 3
    # declared without a trained, sealed-evaluated version: listed, never counted
    assert regs["industry_models"][0]["ref"] is None
    assert regs["industry_models"][0]["counts"] is False


def test_every_registration_is_on_the_ledger(seeded: Space) -> None:
    added = ledger.entries(seeded, action="registry.entry_added", limit=None)
    kinds = {e.payload["registry"] for e in added}
    assert kinds == {"scenario", "model", "case", "space", "key_city", "key_industry"}
    assert ledger.verify(seeded).ok


def test_roles_are_enforced(seeded: Space) -> None:
    with pytest.raises(RoleRequired):
        registry.file_scenario(seeded, actor="plant-a", scenario=scenario_file("other"))
    with pytest.raises(RoleRequired):
        registry.register_model(
            seeded, actor="apps", entry=ModelEntry("m2", "steel", ModelKind.INDUSTRY, "apps")
        )
    with pytest.raises(RoleRequired):
        registry.add_key_city(seeded, actor="plant-a", city=KeyCity("Hebei", "Tangshan"))
    with pytest.raises(RoleRequired):
        registry.record_case(
            seeded,
            actor="plant-a",
            case=LandingCase("c9", "steel-fm", "mill-0", "Hebei", "used", "", EVIDENCE),
        )
    with pytest.raises(StepNotAllowed):  # not a step of the state machine
        registry.set_scenario_status(
            seeded, actor="operator", name=SCENARIO, status=ScenarioStatus.LANDED
        )
    with pytest.raises(StepNotAllowed):  # approving is for a curator, not for the owner
        registry.set_scenario_status(
            seeded, actor="apps", name=SCENARIO, status=ScenarioStatus.APPROVED
        )
    # the model's owner may record a case of its own model, adopted by someone else
    registry.record_case(
        seeded,
        actor="builder",
        case=LandingCase("c9", "steel-fm", "mill-0", "Hebei", "used", "", EVIDENCE),
    )


def test_invalid_registrations(seeded: Space) -> None:
    with pytest.raises(AlreadyExists):
        registry.file_scenario(seeded, actor="apps", scenario=scenario_file())
    with pytest.raises(NotFound):
        registry.register_model(
            seeded,
            actor="builder",
            entry=ModelEntry("m3", "steel", ModelKind.SPECIALIZED, "builder", "no-such"),
        )
    with pytest.raises(InvalidInput):
        registry.register_model(
            seeded,
            actor="builder",
            entry=ModelEntry("m3", "ships", ModelKind.AGENT, "builder", SCENARIO),
        )
    with pytest.raises(InvalidInput):  # plant-a is no central enterprise
        registry.designate_key_industry(
            seeded, actor="operator", key=KeyIndustry(HolderKind.ENTERPRISE, "plant-a", "steel")
        )
    registry.add_key_city(seeded, actor="operator", city=KeyCity("Jiangsu", "Nanjing"))
    with pytest.raises(Conflict):  # 3 with a pilot zone is the limit
        registry.add_key_city(seeded, actor="operator", city=KeyCity("Jiangsu", "Nantong"))


def test_quota_check_subjects(seeded: Space) -> None:
    province = registry.quota_check(seeded, province="Jiangsu")
    assert not province.met
    assert "province Jiangsu: 1 more resonance spaces (have 2)" in province.missing()
    scenario = registry.quota_check(seeded, scenario=SCENARIO)
    assert not scenario.met  # surface-agent has 3 confirmed cases but no sealed evaluation
    assert "surface-agent (no sealed evaluation" in scenario.items[1].note
    enterprise = registry.quota_check(seeded, enterprise="sinosteel")
    assert [c.subject for c in enterprise.children] == ["steel"]
    with pytest.raises(InvalidInput):
        registry.quota_check(seeded, province="Jiangsu", industry="steel")
    with pytest.raises(NotFound):
        registry.quota_check(seeded, enterprise="plant-a")
    with pytest.raises(InvalidInput):
        registry.quota_check(seeded, industry="tea")


def test_tokens_authenticate_and_revoke(seeded: Space) -> None:
    plain, stored = tokens.create_token(seeded, actor="operator", organization="builder")
    assert tokens.authenticate(seeded, plain).name == "builder"
    with pytest.raises(RoleRequired):
        tokens.create_token(seeded, actor="plant-a", organization="builder")
    own, _ = tokens.create_token(seeded, actor="plant-a", organization="plant-a")
    with pytest.raises(Unauthorized):
        tokens.authenticate(seeded, plain[:-2] + "xx")
    tokens.revoke_token(seeded, actor="builder", token_id=stored.id)
    with pytest.raises(Unauthorized):
        tokens.authenticate(seeded, plain)
    assert tokens.authenticate(seeded, own).name == "plant-a"
    created = ledger.entries(seeded, action="api_token.created", limit=None)
    assert all(plain.split("_", 2)[2] not in str(e.payload) for e in created)


def test_reports_are_dated_against_the_deadlines(seeded: Space) -> None:
    plan = reports.build_report(
        seeded, kind=ReportKind.PLAN, province="Jiangsu", as_of=date(2026, 5, 20)
    )
    assert [d.state for d in plan.deadlines] == [DeadlineState.UPCOMING] * 3
    md = render(plan, "md")
    assert "# Implementation plan — province Jiangsu" in md
    assert plan.quota.items[0].actual == 0  # no key industry existed on May 20
    # as of May 20 nothing of the seed existed yet (it was all registered today)
    assert "Tasks of the plan" in md and "3 more resonance spaces (have 0)" in md
    now = reports.build_report(seeded, kind=ReportKind.PLAN, province="Jiangsu")
    md = render(now, "md")
    assert "1 more resonance spaces (have 2)" in md
    charts = md.split("```mermaid\n")[1:]
    assert len(charts) >= 2 and all(c.startswith("xychart-beta\n") for c in charts)
    quota_chart = charts[0].split("```")[0]
    actual = [i.actual for i in now.quota.items]
    assert f"    bar [{', '.join(str(a) for a in actual)}]" in quota_chart
    assert plan.preview  # a past --as-of is a preview: it cannot be handed in
    with pytest.raises(SubmissionRefused):
        reports.submit_report(seeded, actor="authority", data=plan, content=md.encode(), fmt="md")
    with pytest.raises(RoleRequired):
        reports.submit_report(seeded, actor="apps", data=plan, content=b"x", fmt="md")
    today = reports.build_report(seeded, kind=ReportKind.PLAN, province="Jiangsu")
    sub = reports.submit_report(
        seeded, actor="authority", data=today, content=render(today, "md").encode(), fmt="md"
    )
    assert sub.submitted_on == seeded.today()  # the real date, never the report's as-of
    (entry,) = ledger.entries(seeded, action="report.submitted", limit=None)
    assert entry.payload["late"] is (seeded.today() > date(2026, 5, 30))
    mid = reports.build_report(
        seeded, kind=ReportKind.MIDTERM, province="Jiangsu", as_of=date(2026, 9, 1)
    )
    states = [d.state for d in mid.deadlines]
    # a plan handed in today did not exist on 2026-09-01
    assert states == [DeadlineState.OVERDUE, DeadlineState.OVERDUE, DeadlineState.UPCOMING]
    html = render(mid, "html")
    assert "Mid-term report — province Jiangsu" in html
    assert 'id="chart-quota"' in html and '<script src="http' not in html
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js inlined
    with pytest.raises(InvalidInput):
        reports.build_report(
            seeded, kind=ReportKind.SUMMARY, province="Jiangsu", as_of=date(2099, 1, 1)
        )


@dataclass(frozen=True)
class _Version:
    name: str
    number: int
    accuracy: float
    params: dict[str, int]


class _TxWithModels:
    """What a model-version area adds to the transaction: ``get_model_version``."""

    def get_model_version(self, name: str, number: int | None) -> _Version | None:
        return _Version(name, number or 1, 0.91, {"depth": 6}) if name == "steel-fm" else None


def test_model_refs_link_to_trained_versions(seeded: Space) -> None:
    tx: Any = _TxWithModels()
    assert registry.tx_model_version_resolver(tx, "steel-fm@1") == {
        "ref": "steel-fm@1",
        "name": "steel-fm",
        "number": 1,
        "accuracy": 0.91,
    }
    assert registry.tx_model_version_resolver(tx, "other@2") is None
    assert registry.registries(seeded)["industry_models"][0]["linked_version"] is None

    def resolver(_: Any, ref: str) -> dict[str, Any] | None:
        return {"ref": ref, "area": "training"} if ref == "steel-fm@1" else None

    registry.MODEL_REF_RESOLVERS.insert(0, resolver)
    try:
        linked = registry.model_links(seeded)
    finally:
        registry.MODEL_REF_RESOLVERS.remove(resolver)
    # a ref must name a real model version now (RES-192), and the seed declares none:
    # the resolvers are asked only about refs (tests/services/test_authority.py links a real one)
    assert linked == {"steel-fm": None, "surface-agent": None}


def test_concurrent_key_cities_respect_the_limit(seeded: Space) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def add(city: str) -> str:
        try:
            registry.add_key_city(seeded, actor="operator", city=KeyCity("Hebei", city))
        except Conflict:
            return "conflict"
        return "added"

    cities = ["Tangshan", "Handan", "Baoding", "Cangzhou", "Langfang", "Xingtai"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(add, cities))
    assert outcomes.count("added") == 2 and outcomes.count("conflict") == 4
    assert len(registry.snapshot(seeded).key_cities) == 4  # Jiangsu's two and Hebei's two
