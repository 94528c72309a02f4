"""Quota checks against the action's numbers (pure functions over a registry snapshot).

The numbers (../shared/ARCHITECTURE.md): per province ≥3 key industries and ≥3
resonance spaces, key cities at most 3 with a pilot zone/base else 2; per
central enterprise ≥1 key industry and ≥1 resonance space; per industry ≥5
common datasets, ≥1 industry model with ≥5 application cases, ≥30 high-value
scenario files and ≥1 consortium; per scenario ≥1 specialized dataset and ≥1
specialized model or agent with ≥3 landing cases.

Every check returns a :class:`QuotaReport`: each item says what is required,
what exists, whether it is met and, when not, what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from resonance.domain.attribution import scope
from resonance.domain.registry import (
    DatasetEntry,
    EntryStatus,
    HolderKind,
    ModelEntry,
    ModelKind,
    RegistrySnapshot,
    ScenarioStatus,
    key_city_limit,
)

PROVINCE_KEY_INDUSTRIES = 3
ENTERPRISE_KEY_INDUSTRIES = 1
PROVINCE_SPACES = 3
ENTERPRISE_SPACES = 1
INDUSTRY_COMMON_DATASETS = 5
INDUSTRY_MODELS = 1
INDUSTRY_MODEL_CASES = 5
INDUSTRY_SCENARIOS = 30
INDUSTRY_CONSORTIA = 1
SCENARIO_DATASETS = 1
SCENARIO_MODELS = 1
SCENARIO_MODEL_CASES = 3


@dataclass(frozen=True)
class QuotaItem:
    """One number of the action, checked.

    ``at_most`` items are ceilings (key cities); the others are floors.
    """

    key: str
    label: str
    required: int
    actual: int
    at_most: bool = False
    note: str = ""

    @property
    def met(self) -> bool:
        """True when the number is reached (or, for a ceiling, not exceeded)."""
        return self.actual <= self.required if self.at_most else self.actual >= self.required

    @property
    def missing(self) -> str:
        """What is missing, in words ('' when met)."""
        if self.met:
            return ""
        if self.at_most:
            return f"{self.actual - self.required} {self.label} above the limit of {self.required}"
        text = f"{self.required - self.actual} more {self.label} (have {self.actual})"
        return f"{text}; {self.note}" if self.note else text

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "key": self.key,
            "label": self.label,
            "required": self.required,
            "actual": self.actual,
            "at_most": self.at_most,
            "met": self.met,
            "missing": self.missing,
            "note": self.note,
        }


@dataclass
class QuotaReport:
    """The checks of one subject (province, enterprise, industry or scenario)."""

    scope: str
    subject: str
    items: list[QuotaItem] = field(default_factory=list)
    children: list[QuotaReport] = field(default_factory=list)

    @property
    def met(self) -> bool:
        """True when every item here and below is met."""
        return all(i.met for i in self.items) and all(c.met for c in self.children)

    def missing(self) -> list[str]:
        """Every unmet item here and below, as 'scope subject: what is missing'."""
        out = [f"{self.scope} {self.subject}: {i.missing}" for i in self.items if not i.met]
        for child in self.children:
            out.extend(child.missing())
        return out

    def progress(self) -> float:
        """Share of the floors reached, 0..1 (ceilings count as reached when met)."""
        need = got = 0.0
        for i in self.items:
            need += 1 if i.at_most else i.required
            got += (1 if i.met else 0) if i.at_most else min(i.actual, i.required)
        return got / need if need else 1.0

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "scope": self.scope,
            "subject": self.subject,
            "met": self.met,
            "progress": round(self.progress(), 4),
            "items": [i.to_dict() for i in self.items],
            "missing": self.missing(),
            "children": [c.to_dict() for c in self.children],
        }


def _usable(d: DatasetEntry) -> bool:
    return d.version is not None and d.validation != "failed"


def _models_with_cases(
    snap: RegistrySnapshot, models: list[ModelEntry], need: int
) -> tuple[list[str], list[str]]:
    """Models that count (listed, with a sealed evaluation) and have ``need`` confirmed
    cases at distinct adopters; the others, with the reason they fall short."""
    ok: list[str] = []
    short: list[str] = []
    for m in models:
        if m.status is not EntryStatus.LISTED:
            continue
        if not snap.counts_model(m):
            short.append(f"{m.name} (no sealed evaluation of a real model version)")
            continue
        n = len(snap.counted_cases_of(m.name))
        if n >= need:
            ok.append(m.name)
        else:
            short.append(f"{m.name} ({n}/{need} confirmed cases)")
    return ok, short


def check_scenario(snap: RegistrySnapshot, scenario: str) -> QuotaReport:
    """Per scenario: ≥1 specialized dataset, ≥1 specialized model/agent with ≥3 landing cases."""
    datasets = [
        d
        for d in snap.datasets
        if d.kind == "specialized" and d.scenario == scenario and _usable(d)
    ]
    models = [
        m
        for m in snap.models
        if m.scenario == scenario and m.kind in (ModelKind.SPECIALIZED, ModelKind.AGENT)
    ]
    ok, short = _models_with_cases(snap, models, SCENARIO_MODEL_CASES)
    return QuotaReport(
        "scenario",
        scenario,
        [
            QuotaItem(
                "specialized_datasets",
                "specialized datasets",
                SCENARIO_DATASETS,
                len(datasets),
            ),
            QuotaItem(
                "specialized_models",
                f"specialized models or agents with ≥{SCENARIO_MODEL_CASES} landing cases",
                SCENARIO_MODELS,
                len(ok),
                note=("short of cases: " + ", ".join(short)) if short else "",
            ),
        ],
    )


def check_industry(snap: RegistrySnapshot, industry: str) -> QuotaReport:
    """Per industry: common datasets, industry model with cases, scenario files, consortium."""
    common = [
        d for d in snap.datasets if d.industry == industry and d.kind == "common" and _usable(d)
    ]
    models = [m for m in snap.models if m.industry == industry and m.kind is ModelKind.INDUSTRY]
    ok, short = _models_with_cases(snap, models, INDUSTRY_MODEL_CASES)
    scenarios = [
        s
        for s in snap.scenarios
        if s.industry == industry and s.status is not ScenarioStatus.RETIRED
    ]
    consortia = [c for c in snap.consortia if c.industry == industry and c.complete]
    return QuotaReport(
        "industry",
        industry,
        [
            QuotaItem(
                "common_datasets",
                "high-quality common datasets",
                INDUSTRY_COMMON_DATASETS,
                len(common),
            ),
            QuotaItem(
                "industry_models",
                f"industry models with ≥{INDUSTRY_MODEL_CASES} application cases",
                INDUSTRY_MODELS,
                len(ok),
                note=("short of cases: " + ", ".join(short)) if short else "",
            ),
            QuotaItem(
                "scenario_files", "high-value scenario files", INDUSTRY_SCENARIOS, len(scenarios)
            ),
            QuotaItem(
                "consortia",
                "consortia with compute, model, data and application members",
                INDUSTRY_CONSORTIA,
                len(consortia),
            ),
        ],
        [check_scenario(snap, s.name) for s in scenarios],
    )


def _holder_items(
    snap: RegistrySnapshot, kind: HolderKind, holder: str, industries_need: int, spaces_need: int
) -> tuple[list[str], list[QuotaItem]]:
    industries = sorted(
        {k.industry for k in snap.key_industries if k.holder_kind is kind and k.holder == holder}
    )
    spaces = [
        s
        for s in snap.spaces
        if s.holder_kind is kind and s.holder == holder and s.status is EntryStatus.LISTED
    ]
    return industries, [
        QuotaItem("key_industries", "key industries", industries_need, len(industries)),
        QuotaItem("resonance_spaces", "resonance spaces", spaces_need, len(spaces)),
    ]


def check_province(snap: RegistrySnapshot, province: str) -> QuotaReport:
    """Per province: ≥3 key industries, ≥3 resonance spaces, key cities within the limit.

    Each key industry of the province is checked too, counting only what the
    province's own organizations achieved (see :mod:`resonance.domain.attribution`).
    """
    industries, items = _holder_items(
        snap, HolderKind.PROVINCE, province, PROVINCE_KEY_INDUSTRIES, PROVINCE_SPACES
    )
    cities = [c for c in snap.key_cities if c.province == province]
    limit = key_city_limit(cities)
    items.append(
        QuotaItem(
            "key_cities",
            "key cities",
            limit,
            len(cities),
            at_most=True,
            note="3 with a pilot zone or base, else 2",
        )
    )
    own = scope(snap, province=province)
    return QuotaReport("province", province, items, [check_industry(own, i) for i in industries])


def check_enterprise(snap: RegistrySnapshot, enterprise: str) -> QuotaReport:
    """Per central enterprise: ≥1 key industry and ≥1 resonance space; its industries
    count only what the enterprise itself achieved."""
    industries, items = _holder_items(
        snap, HolderKind.ENTERPRISE, enterprise, ENTERPRISE_KEY_INDUSTRIES, ENTERPRISE_SPACES
    )
    own = scope(snap, enterprise=enterprise)
    return QuotaReport(
        "enterprise", enterprise, items, [check_industry(own, i) for i in industries]
    )
