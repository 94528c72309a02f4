"""Use cases: the registries of the action and the quota checks.

Scenario files, models/agents, landing cases, resonance spaces, key cities and
key-industry designations are stored here; the dataset registries and the
consortia are derived from the catalog and the consortia of the space, so they
always show what really happened in it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from resonance.domain.asof import as_of as restrict_as_of
from resonance.domain.asof import ledger_view
from resonance.domain.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    OutsideRegion,
    RoleRequired,
    UnverifiedEntry,
)
from resonance.domain.events import RegistryEntryAdded
from resonance.domain.modeling import ModelVersion
from resonance.domain.orgs import SEAT_ROLES, Consortium, Organization, Role
from resonance.domain.orgs import check_industry as valid_industry
from resonance.domain.provinces import check_province as valid_province
from resonance.domain.quotas import (
    QuotaReport,
    check_enterprise,
    check_industry,
    check_province,
    check_scenario,
)
from resonance.domain.refs import parse_ref
from resonance.domain.registry import (
    CaseStatus,
    ConsortiumEntry,
    EntryStatus,
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
from resonance.services.orgs import require_org, require_role
from resonance.services.space import Space, Work
from resonance.storage.store import Tx

# Resolvers that link a registered model's ``ref`` to trained model versions.
# An area that stores model versions appends ``fn(tx, ref) -> dict | None``
# (``None``: not its ref). The first answer wins.
ModelRefResolver = Callable[[Tx, str], dict[str, Any] | None]


def tx_model_version_resolver(tx: Tx, ref: str) -> dict[str, Any] | None:
    """Link ``NAME@N`` (or ``NAME``) to the trained model version it names (``None``
    when there is none or ``ref`` is not a reference)."""
    try:
        found = tx.get_model_version(*parse_ref(ref, what="model"))
    except InvalidInput:  # not NAME@N
        return None
    if found is None:
        return None
    is_instance = dataclasses.is_dataclass(found) and not isinstance(found, type)
    fields = dataclasses.asdict(found) if is_instance else {}
    scalars = {k: v for k, v in fields.items() if isinstance(v, str | int | float | bool)}
    return {"ref": ref, **scalars}


MODEL_REF_RESOLVERS: list[ModelRefResolver] = [tx_model_version_resolver]

_CURATORS = (Role.OPERATOR, Role.AUTHORITY)


def require_curator(tx: Tx, actor: str, region: str | None) -> Organization:
    """An operator, or an authority acting for its own region (``region``).

    Raises
    ------
    RoleRequired
        (RES-122) the actor is neither an operator nor an authority.
    OutsideRegion
        (RES-191) an authority acting for another region than its own.
    """
    org = require_role(tx, actor, *_CURATORS)
    if org.has_role(Role.OPERATOR):
        return org
    if region is not None and region != org.region:
        raise OutsideRegion(
            f"{actor} is an authority of {org.region}; it cannot act for {region}",
            organization=actor,
            region=region,
        )
    return org


def holder_region(tx: Tx, kind: HolderKind, holder: str) -> str:
    """The province a holder stands for: itself, or a central enterprise's province."""
    if kind is HolderKind.PROVINCE:
        return holder
    return require_org(tx, holder).region


def _emit_added(w: Any, actor: str, registry: str, name: str, payload: dict[str, Any]) -> None:
    w.emit(
        RegistryEntryAdded(
            actor=actor, object_id=f"{registry}:{name}", registry=registry, entry=payload
        )
    )


def file_scenario(space: Space, *, actor: str, scenario: ScenarioFile) -> ScenarioFile:
    """File a high-value scenario (application developers and operators); the actor owns it."""
    # a scenario file starts proposed: later statuses are steps of its state machine
    scenario = replace(scenario, owner=actor, status=ScenarioStatus.PROPOSED).checked()
    with space.work() as w:
        file_scenario_in(w, actor, scenario)
    return scenario


def file_scenario_in(w: Work, actor: str, scenario: ScenarioFile) -> None:
    """:func:`file_scenario` inside the caller's unit of work (``scenario`` checked)."""
    require_role(w.tx, actor, Role.APP_DEVELOPER, Role.OPERATOR)
    if w.tx.get_scenario(scenario.name):
        raise AlreadyExists(f"scenario {scenario.name!r} already exists", scenario=scenario.name)
    w.tx.add_scenario(scenario, created_at=w.now)
    _emit_added(
        w,
        actor,
        "scenario",
        scenario.name,
        {"industry": scenario.industry, "status": scenario.status.value},
    )


def set_scenario_status(
    space: Space, *, actor: str, name: str, status: ScenarioStatus
) -> ScenarioFile:
    """Move a scenario file one step of its state machine (see ``domain.lifecycle``):
    an operator or the region's authority approves and lands; the owner works on it."""
    from resonance.services.registry_state import move

    moved = move(space, actor=actor, registry="scenario", name=name, status=status.value)
    assert isinstance(moved, ScenarioFile)
    return moved


def register_model(space: Space, *, actor: str, entry: ModelEntry) -> ModelEntry:
    """Register an industry model, specialized model or agent.

    Model builders register their own models; operators may register one for
    another organization (``entry.owner``). A specialized model or agent names
    an existing scenario of the same industry.
    """
    with space.work() as w:
        return register_model_in(w, actor, entry)


def register_model_in(w: Work, actor: str, entry: ModelEntry) -> ModelEntry:
    """:func:`register_model` inside the caller's unit of work."""
    org = require_role(w.tx, actor, Role.MODEL_BUILDER, Role.OPERATOR)
    owner = entry.owner or actor
    if owner != actor and not org.has_role(Role.OPERATOR):
        raise RoleRequired("only an operator registers a model for another organization")
    entry = replace(entry, owner=owner, status=EntryStatus.LISTED).checked()
    require_org(w.tx, owner)
    if entry.scenario:
        scen = w.tx.get_scenario(entry.scenario)
        if scen is None:
            raise NotFound(f"unknown scenario {entry.scenario!r}", scenario=entry.scenario)
        if scen.industry != entry.industry:
            raise InvalidInput(
                f"scenario {scen.name} belongs to {scen.industry}, not {entry.industry}"
            )
    if w.tx.get_model_entry(entry.name):
        raise AlreadyExists(f"model {entry.name!r} is already registered", model=entry.name)
    if entry.ref is not None:
        check_model_ref(w.tx, entry.ref)
    w.tx.add_model_entry(entry, created_at=w.now)
    _emit_added(
        w,
        actor,
        "model",
        entry.name,
        {"industry": entry.industry, "kind": entry.kind.value, "ref": entry.ref},
    )
    return entry


def record_case(space: Space, *, actor: str, case: LandingCase) -> LandingCase:
    """Record an application (landing) case of a registered model or agent.

    Application developers, operators and the model's owner record cases. The
    adopter is a member organization other than the model's builder; the case
    carries evidence (a document hash or a deployment record) and counts only
    once the adopter confirms it (``registry_state.move`` to ``confirmed``). A
    second live case of the same model at the same adopter is a duplicate.
    """
    case = replace(case, recorded_by=actor, status=CaseStatus.RECORDED).checked()
    with space.work() as w:
        record_case_in(w, actor, case)
    return case


def record_case_in(w: Work, actor: str, case: LandingCase) -> None:
    """:func:`record_case` inside the caller's unit of work (``case`` already checked)."""
    org = require_org(w.tx, actor)
    model = w.tx.get_model_entry(case.model)
    if model is None:
        raise NotFound(f"unknown model {case.model!r}", model=case.model)
    allowed = (Role.APP_DEVELOPER, Role.OPERATOR)
    if model.owner != actor and not any(org.has_role(r) for r in allowed):
        raise RoleRequired(
            f"{actor} needs the role app_developer or operator (or to own {model.name})",
            organization=actor,
            roles=[r.value for r in allowed],
        )
    require_org(w.tx, case.adopter)
    if case.adopter == model.owner:
        raise UnverifiedEntry(
            f"{case.adopter} built {model.name}: a landing case names another adopter",
            adopter=case.adopter,
        )
    if w.tx.get_case(case.name):
        raise AlreadyExists(f"case {case.name!r} already exists", case=case.name)
    for other in w.tx.list_cases(model=case.model):
        if other.adopter == case.adopter and other.status is not CaseStatus.RETIRED:
            raise AlreadyExists(
                f"{case.adopter} already has case {other.name} of {case.model} (a duplicate "
                "would not count; correct or retire the existing one)",
                case=other.name,
            )
    w.tx.add_case(case, created_at=w.now)
    _emit_added(
        w,
        actor,
        "case",
        case.name,
        {
            "model": case.model,
            "adopter": case.adopter,
            "region": case.region,
            "evidence": case.evidence,
        },
    )


def _check_holder(tx: Tx, kind: HolderKind, holder: str) -> None:
    if kind is HolderKind.ENTERPRISE:
        org = require_org(tx, holder)
        if not org.central_enterprise:
            raise InvalidInput(
                f"{holder} is not a central enterprise (register it with --central-enterprise)",
                organization=holder,
            )


def register_space(space: Space, *, actor: str, entry: ResonanceSpaceEntry) -> ResonanceSpaceEntry:
    """Register a resonance space of a province or central enterprise (an operator, or
    the region's authority); ``entry.operator`` names the member organization that
    operates it (an organization with the operator role; default: the actor)."""
    entry = ResonanceSpaceEntry(**{**entry.__dict__, "operator": entry.operator or actor}).checked()
    with space.work() as w:
        _check_holder(w.tx, entry.holder_kind, entry.holder)
        require_curator(w.tx, actor, holder_region(w.tx, entry.holder_kind, entry.holder))
        op_org = w.tx.get_organization(entry.operator)
        if op_org is None or not op_org.has_role(Role.OPERATOR):
            raise UnverifiedEntry(
                f"a resonance space is registered with its operator: {entry.operator!r} is "
                "not a member organization with the operator role",
                operator=entry.operator,
            )
        if w.tx.get_space_entry(entry.name):
            raise AlreadyExists(f"space {entry.name!r} is already registered", space=entry.name)
        w.tx.add_space_entry(entry, created_at=w.now)
        _emit_added(
            w,
            actor,
            "space",
            entry.name,
            {
                "holder_kind": entry.holder_kind.value,
                "holder": entry.holder,
                "industries": list(entry.industries),
            },
        )
    return entry


def add_key_city(space: Space, *, actor: str, city: KeyCity) -> KeyCity:
    """Name a key city of a province, within the action's limit (operator/authority)."""
    city = KeyCity(city.province.strip(), city.city.strip(), city.pilot_zone).checked()
    with space.work() as w:
        require_curator(w.tx, actor, city.province)
        # Take the ledger head's row lock first (every write takes it to append its event):
        # concurrent additions then check the limit one after another on PostgreSQL too.
        w.tx.ledger_head(lock=True)
        check_key_city(w.tx.list_key_cities(province=city.province), city)
        w.tx.add_key_city(city, created_at=w.now)
        _emit_added(
            w,
            actor,
            "key_city",
            f"{city.province}/{city.city}",
            {"province": city.province, "city": city.city, "pilot_zone": city.pilot_zone},
        )
    return city


def designate_key_industry(space: Space, *, actor: str, key: KeyIndustry) -> KeyIndustry:
    """Designate a key industry of a province or central enterprise (operator/authority)."""
    key = KeyIndustry(key.holder_kind, key.holder.strip(), key.industry).checked()
    with space.work() as w:
        _check_holder(w.tx, key.holder_kind, key.holder)
        require_curator(w.tx, actor, holder_region(w.tx, key.holder_kind, key.holder))
        existing = w.tx.list_key_industries(holder_kind=key.holder_kind, holder=key.holder)
        if any(k.industry == key.industry for k in existing):
            raise AlreadyExists(f"{key.industry} is already a key industry of {key.holder}")
        w.tx.add_key_industry(key, created_at=w.now)
        _emit_added(
            w,
            actor,
            "key_industry",
            f"{key.holder}/{key.industry}",
            {"holder_kind": key.holder_kind.value, "holder": key.holder, "industry": key.industry},
        )
    return key


def check_model_ref(tx: Tx, ref: str) -> ModelVersion:
    """The trained model version ``ref`` names; ``UnverifiedEntry`` (RES-192) when none."""
    try:
        name, number = parse_ref(ref)
    except InvalidInput:
        raise UnverifiedEntry(f"{ref!r} names no model version (use NAME@N)", ref=ref) from None
    found = tx.get_model_version(name, number)
    if found is None:
        raise UnverifiedEntry(
            f"model version {ref} does not exist in this space: list a trained model",
            ref=ref,
        )
    return found


def _sealed_scores(tx: Tx, models: list[ModelEntry]) -> dict[str, SealedScore]:
    """For each listed model with a ref, its latest sealed evaluation (primary metric)."""
    out: dict[str, SealedScore] = {}
    suites: dict[str, str] = {}
    for m in models:
        if not m.ref:
            continue
        runs = tx.list_eval_runs(model=m.ref)
        if not runs:
            continue
        run = max(runs, key=lambda r: r.created_at)
        if run.suite not in suites:
            suite = tx.get_suite(run.suite)
            suites[run.suite] = suite.primary_metric if suite else ""
        metric = suites[run.suite]
        value = run.metrics.get(metric)
        out[m.name] = SealedScore(
            m.ref,
            run.suite,
            metric,
            float(value) if isinstance(value, int | float) else float("nan"),
            run.created_at,
        )
    return out


def _backed_seats(c: Consortium, orgs: dict[str, Organization]) -> frozenset[str]:
    seats: set[str] = set()
    for m in c.members:
        org = orgs.get(m.organization)
        if org is None:
            continue
        seats.update(r.value for r in m.roles if org.has_role(SEAT_ROLES[r]))
    return frozenset(seats)


def snapshot_in(tx: Tx, *, as_of: date | None = None) -> RegistrySnapshot:
    """Every registry read inside the caller's transaction.

    With ``as_of``, only what the ledger recorded by the end of that day (UTC)
    exists, with that day's statuses (see :mod:`resonance.domain.asof`).
    """
    snap = _snapshot_now(tx)
    if as_of is None:
        return snap
    return restrict_as_of(snap, ledger_view(tx.iter_ledger(), as_of=as_of))


def _snapshot_now(tx: Tx) -> RegistrySnapshot:
    orgs = {o.name: o for o in tx.list_organizations()}
    # one query, whatever the catalog's size; sealed evaluation sets and derived working
    # sets are not registry datasets
    datasets = tx.registry_datasets()
    consortia = [
        ConsortiumEntry(
            c.name,
            c.industry,
            tuple((m.organization, tuple(sorted(r.value for r in m.roles))) for m in c.members),
            _backed_seats(c, orgs),
        )
        for c in tx.list_consortia()
    ]
    models = tx.list_model_entries()
    return RegistrySnapshot(
        datasets=datasets,
        consortia=consortia,
        scenarios=tx.list_scenarios(),
        models=models,
        sealed=_sealed_scores(tx, models),
        cases=tx.list_cases(),
        spaces=tx.list_space_entries(),
        key_cities=tx.list_key_cities(),
        key_industries=tx.list_key_industries(),
        organizations=[
            OrgEntry(o.name, o.region, o.central_enterprise, o.enterprise) for o in orgs.values()
        ],
    )


def snapshot(space: Space) -> RegistrySnapshot:
    """Every registry as it stands now (one consistent read)."""
    with space.work() as w:
        return snapshot_in(w.tx)


def resolve_model_ref(tx: Tx, ref: str | None) -> dict[str, Any] | None:
    """What the model-version areas know about ``ref`` (``None`` when nothing does)."""
    if not ref:
        return None
    for resolver in MODEL_REF_RESOLVERS:
        found = resolver(tx, ref)
        if found is not None:
            return found
    return None


def model_links(space: Space) -> dict[str, dict[str, Any] | None]:
    """For each registered model, the trained version its ``ref`` names, if known."""
    with space.work() as w:
        return {m.name: resolve_model_ref(w.tx, m.ref) for m in w.tx.list_model_entries()}


def _one_subject(*subjects: str | None) -> None:
    if sum(1 for x in subjects if x) != 1:
        raise InvalidInput("check exactly one of: province, enterprise, industry, scenario")


def quota_check(
    space: Space,
    *,
    province: str | None = None,
    enterprise: str | None = None,
    industry: str | None = None,
    scenario: str | None = None,
) -> QuotaReport:
    """Check the action's numbers for exactly one subject."""
    _one_subject(province, enterprise, industry, scenario)
    return check_subject(
        snapshot(space), province=province, enterprise=enterprise, industry=industry,
        scenario=scenario,
    )  # fmt: skip


def check_subject(
    snap: RegistrySnapshot,
    *,
    province: str | None = None,
    enterprise: str | None = None,
    industry: str | None = None,
    scenario: str | None = None,
) -> QuotaReport:
    """:func:`quota_check` on a snapshot already read (a page that shows it too)."""
    _one_subject(province, enterprise, industry, scenario)
    if province:
        return check_province(snap, valid_province(province))
    if enterprise:
        if enterprise not in snap.central_enterprises():
            raise NotFound(f"{enterprise!r} is not a central enterprise of this space")
        return check_enterprise(snap, enterprise)
    if industry:
        return check_industry(snap, valid_industry(industry))
    assert scenario
    if not any(s.name == scenario for s in snap.scenarios):
        raise NotFound(f"unknown scenario {scenario!r}", scenario=scenario)
    return check_scenario(snap, scenario)


def registries(space: Space) -> dict[str, list[dict[str, Any]]]:
    """Every registry of the action as plain JSON-ready rows, one consistent read."""
    with space.work() as w:
        snap = snapshot_in(w.tx)
        links = {m.name: resolve_model_ref(w.tx, m.ref) for m in snap.models}

    def model_row(m: ModelEntry) -> dict[str, Any]:
        sealed = snap.sealed.get(m.name)
        return {
            **m.__dict__,
            "kind": m.kind.value,
            "status": m.status.value,
            "cases": len(snap.cases_of(m.name)),
            "confirmed_cases": len(snap.counted_cases_of(m.name)),
            "sealed_score": sealed.__dict__ if sealed else None,
            "counts": snap.counts_model(m),
            "linked_version": links.get(m.name),
        }

    return {
        "common_datasets": [d.__dict__ for d in snap.datasets if d.kind == "common"],
        "specialized_datasets": [d.__dict__ for d in snap.datasets if d.kind == "specialized"],
        "industry_models": [model_row(m) for m in snap.models if m.kind is ModelKind.INDUSTRY],
        "specialized_models": [
            model_row(m) for m in snap.models if m.kind is not ModelKind.INDUSTRY
        ],
        "scenarios": [{**s.__dict__, "status": s.status.value} for s in snap.scenarios],
        "cases": [{**c.__dict__, "status": c.status.value} for c in snap.cases],
        "consortia": [
            {
                "name": c.name,
                "industry": c.industry,
                "members": [{"organization": o, "roles": list(r)} for o, r in c.members],
                "complete": c.complete,
            }
            for c in snap.consortia
        ],
        "spaces": [
            {
                **s.__dict__,
                "holder_kind": s.holder_kind.value,
                "industries": list(s.industries),
                "status": s.status.value,
            }
            for s in snap.spaces
        ],
        "key_cities": [c.__dict__ for c in snap.key_cities],
        "key_industries": [
            {**k.__dict__, "holder_kind": k.holder_kind.value} for k in snap.key_industries
        ],
    }


REGISTRY_NAMES = (
    "common_datasets",
    "specialized_datasets",
    "industry_models",
    "specialized_models",
    "scenarios",
    "cases",
    "consortia",
    "spaces",
    "key_cities",
    "key_industries",
)


def list_scenarios(space: Space, *, industry: str | None = None) -> list[ScenarioFile]:
    """High-value scenario files, by industry."""
    with space.work() as w:
        return w.tx.list_scenarios(industry=industry)


def list_models(
    space: Space, *, industry: str | None = None, kind: ModelKind | None = None
) -> list[ModelEntry]:
    """Registered models and agents."""
    with space.work() as w:
        return w.tx.list_model_entries(industry=industry, kind=kind)


def list_cases(space: Space, *, model: str | None = None) -> list[LandingCase]:
    """Landing cases, by model."""
    with space.work() as w:
        return w.tx.list_cases(model=model)
