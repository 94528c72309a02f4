"""Named achievements of a registry snapshot (pure): what a report lists per key task and
what a space's bundle claims for the national lists.

Each achievement names its registry entry (``ref``), its evidence (``detail``: sealed
scores of a model, quality profile of a dataset, adopter and evidence of a case)
and the provinces of the organizations that achieved it. Only what counts is
listed: listed models with a sealed evaluation, confirmed cases, complete consortia,
usable dataset versions, scenario files that are not retired, listed spaces.
"""

from __future__ import annotations

import math

from resonance.domain.attribution import provinces_of
from resonance.domain.national import Achievement
from resonance.domain.registry import (
    EntryStatus,
    ModelKind,
    RegistrySnapshot,
    ScenarioStatus,
)


def _enterprises(snap: RegistrySnapshot, orgs: list[str]) -> tuple[str, ...]:
    """The central enterprises of ``orgs``: themselves, or the one they belong to."""
    out = set()
    for o in snap.organizations:
        if o.name in orgs:
            if o.central_enterprise:
                out.add(o.name)
            if o.enterprise:
                out.add(o.enterprise)
    return tuple(sorted(out))


def achievements(snap: RegistrySnapshot) -> list[Achievement]:
    """Every achievement of ``snap`` that counts, in the national lists' order."""
    out: list[Achievement] = []
    model_owner = {m.name: m.owner for m in snap.models}
    for m in snap.models:
        sealed = snap.sealed.get(m.name)
        if sealed is None or m.status is not EntryStatus.LISTED:
            continue
        cases = snap.counted_cases_of(m.name)
        score = "n/a" if math.isnan(sealed.value) else f"{sealed.value:.3f}"
        out.append(
            Achievement(
                list="industry_models" if m.kind is ModelKind.INDUSTRY else "specialized_models",
                key=f"model:{m.owner}/{m.name}",
                name=m.name,
                industry=m.industry,
                provinces=provinces_of(snap, [m.owner]),
                enterprises=_enterprises(snap, [m.owner]),
                ref=sealed.ref,
                detail=(
                    f"{m.kind.value} by {m.owner}; sealed {sealed.metric} {score} on suite "
                    f"{sealed.suite}; {len(cases)} confirmed landing cases"
                    + (f"; scenario {m.scenario}" if m.scenario else "")
                ),
            )
        )
    for d in snap.datasets:
        if d.version is None or d.validation == "failed":
            continue
        out.append(
            Achievement(
                list="common_datasets" if d.kind == "common" else "specialized_datasets",
                key=f"dataset:{d.owner}/{d.name}",
                name=d.name,
                industry=d.industry,
                provinces=provinces_of(snap, [d.owner]),
                enterprises=_enterprises(snap, [d.owner]),
                ref=d.version,
                detail=f"{d.rows} rows by {d.owner}; quality check {d.validation}"
                + (f"; scenario {d.scenario}" if d.scenario else ""),
            )
        )
    for s in snap.scenarios:
        if s.status is ScenarioStatus.RETIRED:
            continue
        out.append(
            Achievement(
                list="scenarios",
                key=f"scenario:{s.owner}/{s.name}",
                name=s.name,
                industry=s.industry,
                provinces=provinces_of(snap, [s.owner]),
                enterprises=_enterprises(snap, [s.owner]),
                ref=f"scenario:{s.name}",
                detail=f"{s.title} ({s.status.value}) by {s.owner}",
            )
        )
    industry_of = {m.name: m.industry for m in snap.models}
    for m in snap.models:
        for c in snap.counted_cases_of(m.name):
            partners = [model_owner.get(c.model, ""), c.adopter]
            out.append(
                Achievement(
                    list="cases",
                    key=f"case:{c.model}/{c.adopter}",
                    name=c.name,
                    industry=industry_of.get(c.model, ""),
                    provinces=provinces_of(snap, partners),
                    enterprises=_enterprises(snap, partners),
                    ref=f"case:{c.name}",
                    detail=(
                        f"{c.model} adopted by {c.adopter} in {c.region}; evidence {c.evidence}; "
                        f"{c.description}"
                    ),
                )
            )
    for co in snap.consortia:
        if not co.complete:
            continue
        members = [o for o, _ in co.members]
        out.append(
            Achievement(
                list="consortia",
                key=f"consortium:{co.industry}/{'+'.join(sorted(members))}",
                name=co.name,
                industry=co.industry,
                provinces=provinces_of(snap, members),
                enterprises=_enterprises(snap, members),
                ref=f"consortium:{co.name}",
                detail="; ".join(f"{o}: {', '.join(r)}" for o, r in co.members),
            )
        )
    for sp in snap.spaces:
        if sp.status is not EntryStatus.LISTED:
            continue
        out.append(
            Achievement(
                list="spaces",
                key=f"space:{sp.name}",
                name=sp.name,
                industry=",".join(sp.industries),
                provinces=(sp.holder,) if sp.holder_kind.value == "province" else (),
                enterprises=(sp.holder,) if sp.holder_kind.value == "enterprise" else (),
                ref=f"space:{sp.name}",
                detail=f"{sp.holder_kind.value} {sp.holder}, operated by {sp.operator}",
            )
        )
    for k in snap.key_cities:
        out.append(
            Achievement(
                list="key_cities",
                key=f"city:{k.province}/{k.city}",
                name=k.city,
                industry="",
                provinces=(k.province,),
                ref=f"key_city:{k.province}/{k.city}",
                detail="with a pilot zone or base" if k.pilot_zone else "",
            )
        )
    return out
