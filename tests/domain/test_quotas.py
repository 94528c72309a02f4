"""Quota checks, key-city limits, report deadlines and API tokens (pure domain)."""

from __future__ import annotations

from datetime import date

import pytest

from resonance.domain.errors import Conflict, InvalidInput, Unauthorized
from resonance.domain.quotas import check_enterprise, check_industry, check_province
from resonance.domain.registry import (
    CaseStatus,
    ConsortiumEntry,
    DatasetEntry,
    HolderKind,
    KeyCity,
    KeyIndustry,
    LandingCase,
    ModelEntry,
    ModelKind,
    OrgEntry,
    RegistrySnapshot,
    ResonanceSpaceEntry,
    ScenarioFile,
    ScenarioStatus,
    SealedScore,
    check_key_city,
)
from resonance.domain.reporting import (
    DeadlineState,
    ReportKind,
    ReportSubmission,
    SubjectKind,
    all_deadlines,
)
from resonance.domain.tokens import matches, new_token, split_token


def _ds(name: str, kind: str = "common", scenario: str | None = None, ok: str = "passed"):
    return DatasetEntry(name, "steel", kind, "p", "Hebei", scenario, f"{name}@1", 10, ok)


def _scenario(i: int, status: ScenarioStatus = ScenarioStatus.PROPOSED) -> ScenarioFile:
    return ScenarioFile(f"s{i}", "steel", "t", "p", "v", "d", "m", "apps", status)


def _cases(model: str, n: int, status: CaseStatus = CaseStatus.CONFIRMED) -> list[LandingCase]:
    return [
        LandingCase(f"{model}-c{i}", model, f"a{i}", "Hebei", "d", "apps", "deployment:x", status)
        for i in range(n)
    ]


def _sealed(model: str) -> SealedScore:
    return SealedScore(f"{model}-v@1", "suite", "macro_f1", 0.8, "2026-06-01T00:00:00")


def full_steel() -> RegistrySnapshot:
    """A snapshot where steel meets every number of the action."""
    return RegistrySnapshot(
        datasets=[_ds(f"c{i}") for i in range(5)]
        + [_ds(f"sp{i}", "specialized", f"s{i}") for i in range(30)],
        consortia=[
            ConsortiumEntry(
                "steel-c",
                "steel",
                (("p", ("compute", "data", "model", "application")),),
                frozenset({"compute", "data", "model", "application"}),
            )
        ],
        scenarios=[_scenario(i) for i in range(30)],
        models=[ModelEntry("fm", "steel", ModelKind.INDUSTRY, "b")]
        + [ModelEntry(f"ag{i}", "steel", ModelKind.AGENT, "b", f"s{i}") for i in range(30)],
        cases=_cases("fm", 5) + [c for i in range(30) for c in _cases(f"ag{i}", 3)],
        key_industries=[
            KeyIndustry(HolderKind.PROVINCE, "Hebei", "steel"),
            KeyIndustry(HolderKind.ENTERPRISE, "ce", "steel"),
        ],
        spaces=[
            ResonanceSpaceEntry(f"sp{i}", HolderKind.PROVINCE, "Hebei", ("steel",), "op")
            for i in range(3)
        ],
        organizations=[
            OrgEntry("ce", "Beijing", True),
            OrgEntry("p", "Hebei", False),
            OrgEntry("b", "Hebei", False),
            OrgEntry("apps", "Hebei", False),
        ],
        sealed={m: _sealed(m) for m in ["fm", *(f"ag{i}" for i in range(30))]},
    )


def test_industry_meets_every_number() -> None:
    report = check_industry(full_steel(), "steel")
    assert report.met, report.missing()
    assert report.progress() == 1.0
    assert len(report.children) == 30 and all(c.met for c in report.children)


def test_industry_says_what_is_missing() -> None:
    snap = full_steel()
    snap.datasets = [d for d in snap.datasets if d.name != "c0"] + [_ds("bad", ok="failed")]
    snap.cases = [c for c in snap.cases if c.name != "fm-c0"]
    snap.scenarios[0] = _scenario(0, ScenarioStatus.RETIRED)
    report = check_industry(snap, "steel")
    items = {i.key: i for i in report.items}
    assert not items["common_datasets"].met and items["common_datasets"].actual == 4
    assert "fm (4/5 confirmed cases)" in items["industry_models"].missing
    assert items["scenario_files"].actual == 29
    assert items["consortia"].met
    assert any("1 more high-quality common datasets" in m for m in report.missing())


def test_scenario_needs_specialized_dataset_and_model_with_three_cases() -> None:
    snap = full_steel()
    snap.cases = [c for c in snap.cases if c.name != "ag3-c0"]
    snap.datasets = [d for d in snap.datasets if d.name != "sp4"]
    report = check_industry(snap, "steel")
    bad = {c.subject: c for c in report.children if not c.met}
    assert set(bad) == {"s3", "s4"}
    assert "ag3 (2/3 confirmed cases)" in bad["s3"].items[1].missing
    assert bad["s4"].items[0].actual == 0


def test_province_and_enterprise_floors() -> None:
    snap = full_steel()
    province = check_province(snap, "Hebei")
    keys = {i.key: i for i in province.items}
    assert keys["key_industries"].actual == 1 and not keys["key_industries"].met
    assert keys["resonance_spaces"].met
    assert keys["key_cities"].met and keys["key_cities"].required == 2
    assert [c.subject for c in province.children] == ["steel"]
    enterprise = check_enterprise(snap, "ce")
    assert {i.key: i.met for i in enterprise.items} == {
        "key_industries": True,
        "resonance_spaces": False,
    }
    # the enterprise is credited only with what it achieved itself (nothing here)
    assert enterprise.to_dict()["missing"][0] == "enterprise ce: 1 more resonance spaces (have 0)"
    assert "industry steel: 5 more high-quality common datasets (have 0)" in (enterprise.missing())


def test_only_confirmed_distinct_verified_cases_and_complete_consortia_count() -> None:
    snap = full_steel()
    # a recorded (unconfirmed) case and a duplicate adopter do not count
    snap.cases = [c for c in snap.cases if c.model != "fm"] + [
        *_cases("fm", 4),
        LandingCase("fm-pending", "fm", "a9", "Hebei", "d", "apps", "deployment:y"),
        LandingCase(
            "fm-dup", "fm", "a0", "Hebei", "d", "apps", "deployment:z", CaseStatus.CONFIRMED
        ),
    ]
    items = {i.key: i for i in check_industry(snap, "steel").items}
    assert "fm (4/5 confirmed cases)" in items["industry_models"].missing
    # a model without a sealed evaluation does not count, whatever its cases
    snap = full_steel()
    del snap.sealed["fm"]
    items = {i.key: i for i in check_industry(snap, "steel").items}
    assert "fm (no sealed evaluation" in items["industry_models"].missing
    # a consortium lacking a backed seat does not count
    snap = full_steel()
    snap.consortia = [ConsortiumEntry("c", "steel", (("p", ("data",)),), frozenset({"data"}))]
    assert not {i.key: i for i in check_industry(snap, "steel").items}["consortia"].met


def test_key_city_limit_depends_on_pilot_zone() -> None:
    cities = [KeyCity("Hebei", "Tangshan"), KeyCity("Hebei", "Handan")]
    with pytest.raises(Conflict):
        check_key_city(cities, KeyCity("Hebei", "Baoding"))
    check_key_city(cities, KeyCity("Hebei", "Xiong'an", pilot_zone=True))
    with pytest.raises(Conflict):
        check_key_city([*cities, KeyCity("Hebei", "Xiong'an", True)], KeyCity("Hebei", "Cangzhou"))
    with pytest.raises(Conflict):
        check_key_city(cities, KeyCity("Hebei", "Tangshan"))
    check_key_city(cities, KeyCity("Shanxi", "Taiyuan"))


def test_specialized_model_needs_a_scenario() -> None:
    with pytest.raises(InvalidInput):
        ModelEntry("m", "steel", ModelKind.SPECIALIZED, "b").checked()
    with pytest.raises(InvalidInput):
        ModelEntry("m", "not-an-industry", ModelKind.INDUSTRY, "b").checked()


def _sub(kind: ReportKind, on: date) -> ReportSubmission:
    return ReportSubmission(kind, SubjectKind.PROVINCE, "Hebei", on, "h" * 64, "md", "op")


def test_deadlines_met_late_upcoming_overdue() -> None:
    subs = [_sub(ReportKind.PLAN, date(2026, 5, 30)), _sub(ReportKind.MIDTERM, date(2026, 9, 2))]
    states = {d.kind: d for d in all_deadlines(subs, as_of=date(2026, 9, 10))}
    assert states[ReportKind.PLAN].state is DeadlineState.MET
    assert states[ReportKind.MIDTERM].state is DeadlineState.LATE
    assert states[ReportKind.MIDTERM].days == 3
    assert states[ReportKind.SUMMARY].state is DeadlineState.UPCOMING
    assert states[ReportKind.SUMMARY].days == 81
    early = {d.kind: d.state for d in all_deadlines(subs, as_of=date(2026, 8, 31))}
    assert early[ReportKind.MIDTERM] is DeadlineState.OVERDUE  # the late one came after
    late = {d.kind: d.state for d in all_deadlines([], as_of=date(2026, 12, 1))}
    assert set(late.values()) == {DeadlineState.OVERDUE}


def test_tokens_are_salted_hashes() -> None:
    plain, stored = new_token("org", label="ci", created_at="now")
    token_id, secret = split_token(plain)
    assert token_id == stored.id and secret not in stored.hash
    assert matches(stored, secret) and not matches(stored, secret + "x")
    _, other = new_token("org", label="ci", created_at="now")
    assert other.salt != stored.salt
    for bad in ("", "res_short_x", "abc_0123456789abcdef_x", "res_0123456789abcdef_"):
        with pytest.raises(Unauthorized):
            split_token(bad)
