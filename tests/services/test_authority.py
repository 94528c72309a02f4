"""The authority's side: closed lists, attribution, regions, validated registries,
state machines and corrections (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from resonance.domain.asof import ledger_view
from resonance.domain.errors import (
    AlreadyExists,
    InvalidInput,
    OutsideRegion,
    RoleRequired,
    StepNotAllowed,
    UnknownRegion,
    UnverifiedEntry,
)
from resonance.domain.modeling import ModelSpec
from resonance.domain.orgs import Role
from resonance.domain.registry import (
    HolderKind,
    KeyCity,
    KeyIndustry,
    LandingCase,
    ModelEntry,
    ModelKind,
    ResonanceSpaceEntry,
)
from resonance.domain.reporting import ReportKind
from resonance.services import (
    catalog,
    evaluation,
    ledger,
    orgs,
    registry,
    registry_state,
    reports,
    training,
)
from resonance.services import review as rv
from resonance.services.space import Space
from tests.conftest import STEEL_CSV
from tests.model_seed import seed as model_seed
from tests.registry_seed import SCENARIO, scenario_file, seed

EVIDENCE = "sha256:" + "cd" * 32


def _org(space: Space, name: str, role: Role, region: str, central: bool = False) -> None:
    orgs.register_organization(
        space,
        actor="operator",
        name=name,
        roles=frozenset({role}),
        region=region,
        central_enterprise=central,
    )


def test_provinces_and_regions_come_from_the_closed_list(lite_space: Space) -> None:
    seed(lite_space)
    with pytest.raises(UnknownRegion) as err:
        registry.quota_check(lite_space, province="Atlantis")
    assert err.value.code == "RES-190"
    with pytest.raises(UnknownRegion):
        reports.build_report(lite_space, kind=ReportKind.PLAN, province="Atlantis")
    with pytest.raises(UnknownRegion):
        _org(lite_space, "martian", Role.APP_DEVELOPER, "Mars")
    with pytest.raises(UnknownRegion):
        registry.record_case(
            lite_space,
            actor="apps",
            case=LandingCase("c-mars", "steel-fm", "mill-0", "Mars", "used", "", EVIDENCE),
        )
    with pytest.raises(UnknownRegion):
        registry.add_key_city(lite_space, actor="operator", city=KeyCity("Atlantis", "Poseidonia"))
    # spelling is normalized to the canonical name
    _org(lite_space, "nm-org", Role.DATA_HOLDER, "inner mongolia")
    assert {o.name: o.region for o in orgs.list_organizations(lite_space)}["nm-org"] == (
        "Inner Mongolia"
    )
    assert registry.quota_check(lite_space, province="jiangsu").subject == "Jiangsu"


def test_authorities_act_only_for_their_own_region(lite_space: Space) -> None:
    seed(lite_space)
    with pytest.raises(OutsideRegion) as err:
        registry.designate_key_industry(
            lite_space,
            actor="authority",
            key=KeyIndustry(HolderKind.PROVINCE, "Zhejiang", "steel"),
        )
    assert err.value.code == "RES-191"
    with pytest.raises(OutsideRegion):
        registry.add_key_city(lite_space, actor="authority", city=KeyCity("Zhejiang", "Ningbo"))
    with pytest.raises(OutsideRegion):  # sinosteel is in Beijing
        registry.designate_key_industry(
            lite_space,
            actor="authority",
            key=KeyIndustry(HolderKind.ENTERPRISE, "sinosteel", "ships"),
        )
    _org(lite_space, "zj-authority", Role.AUTHORITY, "Zhejiang")
    with pytest.raises(OutsideRegion):  # approving a Jiangsu organization's scenario
        registry_state.move(
            lite_space, actor="zj-authority", registry="scenario", name=SCENARIO, status="approved"
        )
    registry.designate_key_industry(
        lite_space, actor="zj-authority", key=KeyIndustry(HolderKind.PROVINCE, "Zhejiang", "ships")
    )


def test_quotas_count_only_the_subjects_own_achievements(lite_space: Space) -> None:
    seed(lite_space)
    _org(lite_space, "shbao", Role.DATA_HOLDER, "Shanghai", central=True)
    registry.designate_key_industry(
        lite_space, actor="operator", key=KeyIndustry(HolderKind.ENTERPRISE, "shbao", "steel")
    )
    shanghai = registry.quota_check(lite_space, enterprise="shbao")
    items = {i.key: i.actual for i in shanghai.children[0].items}
    assert items["common_datasets"] == 0 and items["scenario_files"] == 0
    jiangsu = registry.quota_check(lite_space, province="Jiangsu")
    steel = next(c for c in jiangsu.children if c.subject == "steel")
    js = {i.key: i.actual for i in steel.items}
    # steel-a (plant-a, Jiangsu) counts; the scenario is filed by apps (Jiangsu)
    assert js["common_datasets"] == 1 and js["scenario_files"] == 1
    # the consortium is joint (Jiangsu and Beijing members): listed for both
    assert js["consortia"] == 1
    beijing = registry.quota_check(lite_space, province="Beijing")
    assert beijing.children == []  # no key industry designated for Beijing
    from resonance.domain.attribution import scope

    snap = registry.snapshot(lite_space)
    assert [c.name for c in scope(snap, province="Beijing").consortia] == ["steel-c"]
    assert [d.name for d in scope(snap, province="Hebei").datasets] == ["steel-surface"]
    assert scope(snap, province="Jiangsu").models == []  # builder is in Beijing


def test_registries_validate_what_is_declared(lite_space: Space) -> None:
    seed(lite_space)
    with pytest.raises(UnverifiedEntry) as err:
        registry.register_model(
            lite_space,
            actor="builder",
            entry=ModelEntry("ghost", "steel", ModelKind.INDUSTRY, "builder", ref="nonexistent@7"),
        )
    assert err.value.code == "RES-192"
    with pytest.raises(UnverifiedEntry):  # the builder is no adopter of its own model
        registry.record_case(
            lite_space,
            actor="builder",
            case=LandingCase("self", "steel-fm", "builder", "Beijing", "used", "", EVIDENCE),
        )
    with pytest.raises(UnverifiedEntry):  # evidence is a hash or a deployment record
        registry.record_case(
            lite_space,
            actor="apps",
            case=LandingCase("bare", "steel-fm", "mill-0", "Jiangsu", "used", "", "trust me"),
        )
    with pytest.raises(AlreadyExists):  # a second case of the same model at the same adopter
        registry.record_case(
            lite_space,
            actor="apps",
            case=LandingCase("dup", "surface-agent", "mill-0", "Jiangsu", "again", "", EVIDENCE),
        )
    with pytest.raises(UnverifiedEntry):  # a made-up operator
        registry.register_space(
            lite_space,
            actor="operator",
            entry=ResonanceSpaceEntry(
                "fake-space", HolderKind.PROVINCE, "Jiangsu", ("steel",), "nobody"
            ),
        )
    # a consortium of one member (an authority seated as data) does not count
    orgs.form_consortium(
        lite_space, actor="operator", name="lonely", industry="ships", members=["authority:data"]
    )
    assert [c.name for c in registry.snapshot(lite_space).consortia if c.complete] == ["steel-c"]
    # an unconfirmed case is recorded but does not count until its adopter confirms
    registry.record_case(
        lite_space,
        actor="apps",
        case=LandingCase("c-new", "steel-fm", "mill-1", "Jiangsu", "pilot", "", EVIDENCE),
    )
    snap = registry.snapshot(lite_space)
    assert [c.name for c in snap.counted_cases_of("steel-fm")] == []
    with pytest.raises(StepNotAllowed):  # only the adopter confirms
        registry_state.move(
            lite_space, actor="apps", registry="case", name="c-new", status="confirmed"
        )
    registry_state.move(
        lite_space, actor="mill-1", registry="case", name="c-new", status="confirmed"
    )
    assert [c.name for c in registry.snapshot(lite_space).counted_cases_of("steel-fm")] == ["c-new"]


def test_state_machine_corrections_and_history(lite_space: Space) -> None:
    seed(lite_space)
    with pytest.raises(StepNotAllowed):
        registry_state.move(
            lite_space, actor="operator", registry="scenario", name=SCENARIO, status="landed"
        )
    registry_state.move(
        lite_space, actor="authority", registry="scenario", name=SCENARIO, status="approved"
    )
    registry_state.move(
        lite_space, actor="apps", registry="scenario", name=SCENARIO, status="in_progress"
    )
    with pytest.raises(StepNotAllowed):  # landing is confirmed by a curator
        registry_state.move(
            lite_space, actor="apps", registry="scenario", name=SCENARIO, status="landed"
        )
    registry_state.move(
        lite_space, actor="authority", registry="scenario", name=SCENARIO, status="landed"
    )
    fixed = registry_state.correct(
        lite_space,
        actor="apps",
        registry="scenario",
        name=SCENARIO,
        changes={"title": "Surface defects of hot-rolled plates"},
    )
    assert fixed.title == "Surface defects of hot-rolled plates"
    with pytest.raises(RoleRequired):
        registry_state.correct(
            lite_space, actor="plant-b", registry="scenario", name=SCENARIO, changes={"title": "x"}
        )
    steps = registry_state.history(lite_space, registry="scenario", name=SCENARIO)
    assert [(h.action, h.after) for h in steps] == [
        ("status", {"status": "approved"}),
        ("status", {"status": "in_progress"}),
        ("status", {"status": "landed"}),
        ("corrected", {"title": "Surface defects of hot-rolled plates"}),
    ]
    assert steps[-1].before == {"title": scenario_file().title}
    # retiring a case takes it out of the counts, keeping it listed with its history
    registry_state.move(
        lite_space, actor="mill-2", registry="case", name="case-2", status="retired"
    )
    snap = registry.snapshot(lite_space)
    assert len(snap.counted_cases_of("surface-agent")) == 2 and len(snap.cases) == 3
    with pytest.raises(StepNotAllowed):  # retired is final
        registry_state.move(
            lite_space, actor="mill-2", registry="case", name="case-2", status="confirmed"
        )


def test_a_listed_model_counts_with_its_sealed_evaluation(
    lite_space: Space, tmp_path: Path
) -> None:
    seeded = model_seed(lite_space, tmp_path / "data")
    evaluation.register_suite(
        lite_space, actor="evaluator", name="steel-suite", dataset=seeded.sealed
    )
    spec = ModelSpec("lightgbm", params={"n_estimators": 20, "n_jobs": 1})
    training.train_model(
        lite_space, actor="builder", name="steel-lgbm", spec=spec, datasets=[seeded.train]
    )
    for name in ("apps", "mill-0", "mill-1", "mill-2"):
        _org(lite_space, name, Role.APP_DEVELOPER, "Jiangsu")
    registry.file_scenario(lite_space, actor="apps", scenario=scenario_file())
    entry = ModelEntry(
        "steel-agent", "steel", ModelKind.AGENT, "builder", SCENARIO, ref="steel-lgbm@1"
    )
    registry.register_model(lite_space, actor="builder", entry=entry)
    for i in range(3):
        registry.record_case(
            lite_space,
            actor="apps",
            case=LandingCase(f"k{i}", "steel-agent", f"mill-{i}", "Jiangsu", "used", "", EVIDENCE),
        )
        registry_state.move(
            lite_space, actor=f"mill-{i}", registry="case", name=f"k{i}", status="confirmed"
        )
    check = registry.quota_check(lite_space, scenario=SCENARIO)
    assert check.items[1].actual == 0  # not evaluated on a sealed suite yet
    run = evaluation.evaluate(
        lite_space, actor="builder", model="steel-lgbm", suite="steel-suite", diagnose=False
    )
    check = registry.quota_check(lite_space, scenario=SCENARIO)
    assert check.items[1].actual == 1
    row = registry.registries(lite_space)["specialized_models"][0]
    assert row["sealed_score"]["ref"] == "steel-lgbm@1"
    assert row["sealed_score"]["value"] == pytest.approx(run.metrics["macro_f1"])
    assert row["linked_version"]["ref"] == "steel-lgbm@1"


def test_organizations_of_a_central_enterprise_count_for_it(lite_space: Space) -> None:
    seed(lite_space)
    orgs.register_organization(
        lite_space,
        actor="operator",
        name="sinosteel-js",
        roles=frozenset({Role.APP_DEVELOPER}),
        region="Jiangsu",
        enterprise="sinosteel",
    )
    with pytest.raises(InvalidInput):  # plant-a is no central enterprise
        orgs.register_organization(
            lite_space,
            actor="operator",
            name="x-js",
            roles=frozenset({Role.APP_DEVELOPER}),
            region="Jiangsu",
            enterprise="plant-a",
        )
    registry.file_scenario(lite_space, actor="sinosteel-js", scenario=scenario_file("js-ladle"))
    ent = registry.quota_check(lite_space, enterprise="sinosteel")
    assert {i.key: i.actual for i in ent.children[0].items}["scenario_files"] == 1
    # the same scenario counts for Jiangsu too (the organization's province)
    js = registry.quota_check(lite_space, province="Jiangsu")
    steel = next(c for c in js.children if c.subject == "steel")
    assert {i.key: i.actual for i in steel.items}["scenario_files"] == 2


def _dataset_done(data: reports.ReportData) -> dict[str, str | None]:
    return {a.key: a.ref for t in data.tasks for a in t.done if a.key.startswith("dataset:")}


def test_rejected_candidate_versions_are_no_achievements(lite_space: Space, tmp_path: Path) -> None:
    seed(lite_space)
    head = STEEL_CSV.read_text().splitlines()[:400]
    smaller = tmp_path / "steel-head.csv"
    smaller.write_text("\n".join(head) + "\n")
    catalog.ingest(lite_space, actor="plant-a", path=smaller, dataset="steel-a")
    report = reports.build_report(lite_space, kind=ReportKind.PLAN, province="Jiangsu")
    assert _dataset_done(report)["dataset:plant-a/steel-a"] == "steel-a@2"
    # the sealed suite rejected the candidate: the report counts version 1 again,
    # live and as the ledger stood today
    rv.mark_version(lite_space, actor="plant-a", ref="steel-a@2", accepted=False, reason="worse")
    report = reports.build_report(lite_space, kind=ReportKind.PLAN, province="Jiangsu")
    assert _dataset_done(report)["dataset:plant-a/steel-a"] == "steel-a@1"
    entries = ledger.entries(lite_space, limit=None)
    assert ledger_view(entries, as_of=lite_space.today()).versions["steel-a"] == 1
    # a dataset whose only version was rejected counts nowhere
    rv.mark_version(lite_space, actor="plant-a", ref="steel-a@1", accepted=False, reason="bad")
    report = reports.build_report(lite_space, kind=ReportKind.PLAN, province="Jiangsu")
    assert "dataset:plant-a/steel-a" not in _dataset_done(report)
    assert report.counts["steel"]["common datasets"] == 0
    entries = ledger.entries(lite_space, limit=None)
    assert "steel-a" not in ledger_view(entries, as_of=lite_space.today()).versions
