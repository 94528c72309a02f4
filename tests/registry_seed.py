"""A space with registries filled in (shared by the registry, report, API and web tests)."""

from __future__ import annotations

from resonance.domain.datasets import DatasetKind, make_label_spec
from resonance.domain.orgs import Role
from resonance.domain.registry import (
    HolderKind,
    KeyCity,
    KeyIndustry,
    LandingCase,
    ModelEntry,
    ModelKind,
    ResonanceSpaceEntry,
    ScenarioFile,
)
from resonance.services import catalog, orgs, policies, registry, registry_state
from resonance.services.space import Space
from tests.conftest import STEEL_CSV, STEEL_LABELS

SCENARIO = "surface-defects"


def scenario_file(name: str = SCENARIO, industry: str = "steel") -> ScenarioFile:
    """A valid scenario file."""
    return ScenarioFile(
        name=name,
        industry=industry,
        title="Surface defect classification of steel plates",
        problem="Manual inspection misses faults on hot-rolled plates",
        value="Fewer rejected coils and customer claims",
        data_needed="Labelled plate measurements from at least three mills",
        model_needed="A classifier of seven fault types",
        owner="apps",
    )


def seed(space: Space, *, datasets: bool = True) -> None:
    """Organizations, datasets, a consortium and every registry, for province Jiangsu."""
    for name, role, region, central in [
        ("apps", Role.APP_DEVELOPER, "Jiangsu", False),
        ("authority", Role.AUTHORITY, "Jiangsu", False),
        ("sinosteel", Role.DATA_HOLDER, "Beijing", True),
        ("computeco", Role.COMPUTE, "Jiangsu", False),
        *[(f"mill-{i}", Role.APP_DEVELOPER, "Jiangsu", False) for i in range(3)],
    ]:
        orgs.register_organization(
            space,
            actor="operator",
            name=name,
            roles=frozenset({role}),
            region=region,
            central_enterprise=central,
        )
    orgs.form_consortium(
        space,
        actor="operator",
        name="steel-c",
        industry="steel",
        members=["plant-a:data", "builder:model", "computeco:compute", "apps:application"],
    )
    registry.file_scenario(space, actor="apps", scenario=scenario_file())
    if datasets:
        label = make_label_spec(None, STEEL_LABELS)
        catalog.ingest(
            space,
            actor="plant-a",
            path=STEEL_CSV,
            dataset="steel-a",
            new=catalog.NewDataset("plant-a", DatasetKind.COMMON, "steel", label=label),
        )
        catalog.ingest(
            space,
            actor="plant-b",
            path=STEEL_CSV,
            dataset="steel-surface",
            new=catalog.NewDataset(
                "plant-b", DatasetKind.SPECIALIZED, "steel", scenario=SCENARIO, label=label
            ),
        )
        policies.set_policy(
            space,
            actor="plant-a",
            dataset="steel-a",
            grants=[],
        )
    for industry in ("steel", "automobiles", "ships"):
        registry.designate_key_industry(
            space, actor="authority", key=KeyIndustry(HolderKind.PROVINCE, "Jiangsu", industry)
        )
    registry.designate_key_industry(
        space, actor="operator", key=KeyIndustry(HolderKind.ENTERPRISE, "sinosteel", "steel")
    )
    for city, pilot in [("Suzhou", True), ("Wuxi", False)]:
        registry.add_key_city(space, actor="authority", city=KeyCity("Jiangsu", city, pilot))
    for i in range(2):
        registry.register_space(
            space,
            actor="operator",
            entry=ResonanceSpaceEntry(
                f"js-space-{i}", HolderKind.PROVINCE, "Jiangsu", ("steel",), ""
            ),
        )
    registry.register_model(
        space,
        actor="builder",
        entry=ModelEntry("steel-fm", "steel", ModelKind.INDUSTRY, "builder"),
    )
    registry.register_model(
        space,
        actor="builder",
        entry=ModelEntry("surface-agent", "steel", ModelKind.AGENT, "builder", scenario=SCENARIO),
    )
    for i in range(3):
        registry.record_case(
            space,
            actor="apps",
            case=LandingCase(
                f"case-{i}",
                "surface-agent",
                f"mill-{i}",
                "Jiangsu",
                "Deployed on the finishing line",
                "",
                evidence=f"deployment:mes-{i}",
            ),
        )
        registry_state.move(
            space, actor=f"mill-{i}", registry="case", name=f"case-{i}", status="confirmed"
        )
