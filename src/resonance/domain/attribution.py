"""Attribution: what a province or a central enterprise achieved itself (pure).

Every achievement belongs to organizations, and every organization has a province
(one of the 31 divisions) and may be a central enterprise. A province is credited
only with what its own organizations achieved; a joint achievement (a consortium
with members in two provinces, a case whose builder and adopter are in different
provinces) is listed for each partner. National totals count it once.
"""

from __future__ import annotations

from dataclasses import replace

from resonance.domain.registry import HolderKind, RegistrySnapshot


def organizations_of(
    snap: RegistrySnapshot, *, province: str | None = None, enterprise: str | None = None
) -> frozenset[str]:
    """Names of the organizations of a province, or of a central enterprise: the
    enterprise itself and the organizations that belong to it."""
    if enterprise is not None:
        return frozenset(
            o.name
            for o in snap.organizations
            if (o.name == enterprise and o.central_enterprise) or o.enterprise == enterprise
        )
    return frozenset(o.name for o in snap.organizations if o.region == province)


def provinces_of(snap: RegistrySnapshot, orgs: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The provinces of ``orgs`` (sorted, unique; unknown organizations are skipped)."""
    region = {o.name: o.region for o in snap.organizations}
    return tuple(sorted({region[o] for o in orgs if o in region}))


def scope(
    snap: RegistrySnapshot, *, province: str | None = None, enterprise: str | None = None
) -> RegistrySnapshot:
    """The part of ``snap`` achieved by the subject's own organizations.

    Datasets, scenario files and models count for their owner; a landing case for
    its model's owner and for its adopter; a consortium for every member. Key
    industries, key cities and resonance spaces are already designated per holder.
    """
    ours = organizations_of(snap, province=province, enterprise=enterprise)
    owner = {m.name: m.owner for m in snap.models}
    return replace(
        snap,
        datasets=[d for d in snap.datasets if d.owner in ours],
        scenarios=[s for s in snap.scenarios if s.owner in ours],
        models=[m for m in snap.models if m.owner in ours],
        cases=[c for c in snap.cases if owner.get(c.model) in ours or c.adopter in ours],
        consortia=[c for c in snap.consortia if any(o in ours for o, _ in c.members)],
        spaces=[
            s
            for s in snap.spaces
            if (s.holder_kind is HolderKind.PROVINCE and s.holder == province)
            or (s.holder_kind is HolderKind.ENTERPRISE and s.holder == enterprise)
        ],
    )
