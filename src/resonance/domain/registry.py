"""Registries of the action: scenario files, models and agents, landing cases,
resonance spaces, key cities and key-industry designations (pure).

The dataset registries (Key Industry High-Quality Common Datasets, Specialized
High-Quality Datasets) and the consortia are not stored here: they are derived
from the catalog and the consortia of the space (see ``services.registry``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

from resonance.domain.errors import Conflict, InvalidInput, UnverifiedEntry
from resonance.domain.orgs import check_industry, check_slug
from resonance.domain.provinces import check_province

MAX_KEY_CITIES_WITH_PILOT = 3
MAX_KEY_CITIES = 2

E = TypeVar("E", bound=StrEnum)


class ScenarioStatus(StrEnum):
    """Where a high-value scenario file stands."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    LANDED = "landed"
    RETIRED = "retired"


class CaseStatus(StrEnum):
    """Where a landing case stands: it counts only once its adopter confirmed it."""

    RECORDED = "recorded"
    CONFIRMED = "confirmed"
    RETIRED = "retired"


class EntryStatus(StrEnum):
    """Where a listed model/agent or a resonance space stands."""

    LISTED = "listed"
    SUSPENDED = "suspended"
    RETIRED = "retired"


class ModelKind(StrEnum):
    """What a registered model is, as the action lists them."""

    INDUSTRY = "industry"  # a key industry model (industry-wide)
    SPECIALIZED = "specialized"  # a specialized model for one scenario
    AGENT = "agent"  # a specialized agent for one scenario


class HolderKind(StrEnum):
    """Who designates key industries and builds resonance spaces."""

    PROVINCE = "province"
    ENTERPRISE = "enterprise"


def parse_enum(cls: type[E], value: str, *, what: str) -> E:
    """Parse ``value`` as a member of ``cls`` or raise ``InvalidInput`` listing the choices."""
    try:
        return cls(value.strip().lower().replace("-", "_"))
    except ValueError:
        raise InvalidInput(
            f"unknown {what} {value!r}; choose from {', '.join(m.value for m in cls)}",
            field=what,
            value=value,
        ) from None


def check_text(value: str, *, what: str, max_len: int = 2000, required: bool = True) -> str:
    """Strip ``value`` and check it is present (when ``required``) and not too long."""
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{what} is required", field=what)
    if len(text) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters", field=what)
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text):
        raise InvalidInput(f"{what} holds control characters", field=what)
    return text


@dataclass(frozen=True)
class ScenarioFile:
    """A high-value scenario file: the problem, its value, the data and model it needs."""

    name: str
    industry: str
    title: str
    problem: str
    value: str
    data_needed: str
    model_needed: str
    owner: str
    status: ScenarioStatus = ScenarioStatus.PROPOSED

    def checked(self) -> ScenarioFile:
        """Return self after validating every field."""
        check_slug(self.name, what="scenario")
        check_industry(self.industry)
        for what, value in (
            ("title", self.title),
            ("problem", self.problem),
            ("value", self.value),
            ("data_needed", self.data_needed),
            ("model_needed", self.model_needed),
        ):
            check_text(value, what=what)
        return self


@dataclass(frozen=True)
class ModelEntry:
    """A registered industry model, specialized model or agent.

    ``ref`` names the trained artifact it stands for (e.g. a model version
    ``name@3`` of the training area) when there is one; the registry keeps the
    entry even when the model was built outside the space.
    """

    name: str
    industry: str
    kind: ModelKind
    owner: str
    scenario: str | None = None
    ref: str | None = None
    description: str = ""
    status: EntryStatus = EntryStatus.LISTED

    def checked(self) -> ModelEntry:
        """Return self after validating: specialized models and agents name a scenario."""
        check_slug(self.name, what="model")
        check_industry(self.industry)
        if self.kind is not ModelKind.INDUSTRY and not self.scenario:
            raise InvalidInput(
                f"a {self.kind.value} model names the scenario it serves (--scenario)",
                field="scenario",
            )
        if self.ref is not None:
            check_text(self.ref, what="ref", max_len=200)
        check_text(self.description, what="description", required=False)
        return self


_SHA256 = re.compile(r"^(sha256:)?[0-9a-f]{64}$")
_DEPLOYMENT = re.compile(r"^deployment:\S.{0,198}$")


def check_evidence(value: str) -> str:
    """Return ``value`` if it is a document hash (``sha256:<64 hex>``) or a deployment
    record (``deployment:<id or URL>``); raise ``UnverifiedEntry`` (RES-192) otherwise."""
    text = value.strip()
    if _SHA256.fullmatch(text):
        return text if text.startswith("sha256:") else f"sha256:{text}"
    if _DEPLOYMENT.fullmatch(text):
        return text
    raise UnverifiedEntry(
        "a landing case needs evidence: a document hash (sha256:<64 hex digits>) or a "
        "deployment record (deployment:<id or URL>)",
        field="evidence",
        value=value,
    )


@dataclass(frozen=True)
class LandingCase:
    """An application (landing) case of a registered model or agent.

    ``adopter`` is the organization that applies the model (never its builder);
    the case counts only once the adopter confirmed it (``status`` confirmed).
    """

    name: str
    model: str
    adopter: str
    region: str
    description: str
    recorded_by: str
    evidence: str = ""
    status: CaseStatus = CaseStatus.RECORDED

    def checked(self) -> LandingCase:
        """Return self (region canonical, evidence normalized) after validating."""
        check_slug(self.name, what="case")
        check_slug(self.adopter, what="adopter")
        check_text(self.description, what="description")
        return replace(
            self,
            region=check_province(self.region, what="region"),
            evidence=check_evidence(self.evidence),
        )


@dataclass(frozen=True)
class ResonanceSpaceEntry:
    """A model-data resonance space built by a province or an enterprise."""

    name: str
    holder_kind: HolderKind
    holder: str  # the province, or the enterprise's organization name
    industries: tuple[str, ...]
    operator: str
    description: str = ""
    status: EntryStatus = EntryStatus.LISTED

    def checked(self) -> ResonanceSpaceEntry:
        """Return self after validating (a province holder is one of the 31 divisions)."""
        check_slug(self.name, what="space")
        check_text(self.holder, what="holder", max_len=100)
        if self.holder_kind is HolderKind.PROVINCE:
            return replace(self, holder=check_province(self.holder))._check_rest()
        return self._check_rest()

    def _check_rest(self) -> ResonanceSpaceEntry:
        if not self.industries:
            raise InvalidInput("a resonance space serves at least one industry", field="industry")
        for industry in self.industries:
            check_industry(industry)
        check_text(self.description, what="description", required=False)
        return self


@dataclass(frozen=True)
class KeyCity:
    """A key city of a province; ``pilot_zone`` when it hosts a pilot zone or base."""

    province: str
    city: str
    pilot_zone: bool = False

    def checked(self) -> KeyCity:
        """Return self (province canonical) after validating."""
        check_text(self.city, what="city", max_len=100)
        return replace(self, province=check_province(self.province))


@dataclass(frozen=True)
class KeyIndustry:
    """A key industry designated by a province or an enterprise."""

    holder_kind: HolderKind
    holder: str
    industry: str

    def checked(self) -> KeyIndustry:
        """Return self (a province holder canonical) after validating."""
        check_text(self.holder, what="holder", max_len=100)
        check_industry(self.industry)
        if self.holder_kind is HolderKind.PROVINCE:
            return replace(self, holder=check_province(self.holder))
        return self


def entry_to_dict(entry: Any) -> dict[str, Any]:
    """A registry record (frozen dataclass) as plain JSON types: enums by value, tuples
    as lists."""
    out: dict[str, Any] = {}
    for k, v in entry.__dict__.items():
        if isinstance(v, StrEnum):
            v = v.value
        elif isinstance(v, tuple | frozenset):
            v = sorted(v) if isinstance(v, frozenset) else list(v)
        out[k] = v
    return out


def key_city_limit(cities: list[KeyCity] | tuple[KeyCity, ...]) -> int:
    """Most key cities a province may name: 3 when one hosts a pilot zone/base, else 2."""
    has_pilot = any(c.pilot_zone for c in cities)
    return MAX_KEY_CITIES_WITH_PILOT if has_pilot else MAX_KEY_CITIES


def check_key_city(existing: list[KeyCity], new: KeyCity) -> None:
    """Raise ``Conflict`` when adding ``new`` goes beyond the province's limit."""
    same = [c for c in existing if c.province == new.province]
    if any(c.city == new.city for c in same):
        raise Conflict(f"{new.city} is already a key city of {new.province}", city=new.city)
    limit = key_city_limit([*same, new])
    if len(same) + 1 > limit:
        raise Conflict(
            f"{new.province} already has {len(same)} key cities; the action allows "
            f"{limit} ({'with' if limit == MAX_KEY_CITIES_WITH_PILOT else 'without'} a pilot "
            "zone or base)",
            province=new.province,
            limit=limit,
        )


@dataclass(frozen=True)
class DatasetEntry:
    """A catalog dataset as a registry lists it (derived from the catalog)."""

    name: str
    industry: str
    kind: str
    owner: str
    owner_region: str
    scenario: str | None
    version: str | None
    rows: int | None
    validation: str  # "passed", "warnings", "failed" or "none"


@dataclass(frozen=True)
class ConsortiumEntry:
    """A consortium as the registry lists it, with each member's roles.

    ``backed`` holds the seats (compute, model, data, application) that a member
    really fills: the member organization holds the matching role in the space.
    """

    name: str
    industry: str
    members: tuple[tuple[str, tuple[str, ...]], ...]
    backed: frozenset[str] = frozenset()

    @property
    def complete(self) -> bool:
        """True when members really fill all four seats (only then it counts)."""
        return {"compute", "model", "data", "application"} <= self.backed


@dataclass(frozen=True)
class OrgEntry:
    """The parts of an organization the quotas need."""

    name: str
    region: str
    central_enterprise: bool
    enterprise: str | None = None  # the central enterprise it belongs to


@dataclass(frozen=True)
class SealedScore:
    """A model version's best sealed evaluation: the evidence a listed model counts by."""

    ref: str
    suite: str
    metric: str
    value: float
    evaluated_at: str


@dataclass(frozen=True)
class HistoryEntry:
    """One change of a registry entry (a status step or a correction), kept forever.

    ``before`` and ``after`` hold only the fields that changed.
    """

    registry: str
    name: str
    at: str
    actor: str
    action: str  # "status" or "corrected"
    before: dict[str, Any]
    after: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return dict(self.__dict__)


@dataclass
class RegistrySnapshot:
    """Every registry at one moment: the input of the quota checks."""

    datasets: list[DatasetEntry] = field(default_factory=list)
    consortia: list[ConsortiumEntry] = field(default_factory=list)
    scenarios: list[ScenarioFile] = field(default_factory=list)
    models: list[ModelEntry] = field(default_factory=list)
    cases: list[LandingCase] = field(default_factory=list)
    spaces: list[ResonanceSpaceEntry] = field(default_factory=list)
    key_cities: list[KeyCity] = field(default_factory=list)
    key_industries: list[KeyIndustry] = field(default_factory=list)
    organizations: list[OrgEntry] = field(default_factory=list)
    sealed: dict[str, SealedScore] = field(default_factory=dict)  # by model entry name

    def cases_of(self, model: str) -> list[LandingCase]:
        """Landing cases of one model."""
        return [c for c in self.cases if c.model == model]

    def counted_cases_of(self, model: str) -> list[LandingCase]:
        """Cases of ``model`` that count: confirmed by their adopter, one per adopter
        (a second case of the same model at the same adopter is a duplicate)."""
        seen: set[str] = set()
        out = []
        for c in self.cases:
            if c.model == model and c.status is CaseStatus.CONFIRMED and c.adopter not in seen:
                seen.add(c.adopter)
                out.append(c)
        return out

    def counts_model(self, model: ModelEntry) -> bool:
        """A listed model counts when it is listed and its ref has a sealed evaluation."""
        return model.status is EntryStatus.LISTED and model.name in self.sealed

    def provinces(self) -> list[str]:
        """Every province named anywhere in the registries, sorted."""
        names = {k.holder for k in self.key_industries if k.holder_kind is HolderKind.PROVINCE}
        names |= {s.holder for s in self.spaces if s.holder_kind is HolderKind.PROVINCE}
        names |= {c.province for c in self.key_cities}
        names |= {o.region for o in self.organizations}
        return sorted(names)

    def central_enterprises(self) -> list[str]:
        """Organizations flagged as central enterprises, sorted."""
        return sorted(o.name for o in self.organizations if o.central_enterprise)
