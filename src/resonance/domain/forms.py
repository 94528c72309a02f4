"""JSON forms of domain records: the one serializer the API and ``--format json`` share.

Records with their own ``to_dict()`` keep it; this module holds the forms that
need more than one record (a dataset with its latest version) or leave fields
out (a token never shows its secret), and :func:`plain` for anything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resonance.domain.datasets import Dataset, DatasetVersion
from resonance.domain.ledger import LedgerEntry
from resonance.domain.orgs import Consortium, Organization
from resonance.domain.plain import plain
from resonance.domain.reporting import ReportSubmission
from resonance.domain.tokens import ApiToken

if TYPE_CHECKING:  # national bundles load cryptography; the fast CLI paths never need it
    from resonance.domain.national import ImportedBundle

__all__ = [
    "bundle",
    "consortium",
    "dataset",
    "entry",
    "org",
    "plain",
    "submission",
    "token",
    "version",
]


def org(o: Organization) -> dict[str, Any]:
    """An organization."""
    return {
        "name": o.name,
        "display_name": o.display_name,
        "roles": sorted(r.value for r in o.roles),
        "region": o.region,
        "central_enterprise": o.central_enterprise,
        "enterprise": o.enterprise,
    }


def consortium(c: Consortium) -> dict[str, Any]:
    """A consortium with its members' roles."""
    return {
        "name": c.name,
        "industry": c.industry,
        "members": [
            {"organization": m.organization, "roles": sorted(r.value for r in m.roles)}
            for m in c.members
        ],
    }


def dataset(ds: Dataset, latest: DatasetVersion | None = None) -> dict[str, Any]:
    """A dataset with its latest version."""
    return {
        "name": ds.name,
        "owner": ds.owner,
        "kind": ds.kind.value,
        "industry": ds.industry,
        "scenario": ds.scenario,
        "description": ds.description,
        "label": ds.label.to_dict() if ds.label else None,
        "group_key": ds.group_key,
        "derived": ds.derived,
        "time_column": ds.time_column,
        "latest": latest.ref if latest else None,
        "rows": latest.row_count if latest else None,
    }


def version(v: DatasetVersion, *, full: bool = False) -> dict[str, Any]:
    """A version; ``full`` adds schema, validation and profile."""
    data: dict[str, Any] = {
        "ref": v.ref,
        "content_hash": v.content_hash,
        "rows": v.row_count,
        "parents": list(v.parents),
        "transformation": v.transformation.to_dict(),
        "created_at": v.created_at,
        "created_by": v.created_by,
    }
    if v.sources:
        data["sources"] = [s.to_dict() for s in v.sources]
    if full:
        data.update(schema=v.schema.to_list(), validation=v.validation, profile=v.profile)
    return data


def entry(e: LedgerEntry) -> dict[str, Any]:
    """A ledger entry with its hash."""
    return {**e.body(), "hash": e.hash}


def token(t: ApiToken) -> dict[str, Any]:
    """A token's public facts (never the secret or its hash)."""
    return {
        "id": t.id,
        "organization": t.organization,
        "label": t.label,
        "created_at": t.created_at,
        "revoked_at": t.revoked_at,
        "active": t.active,
    }


def submission(s: ReportSubmission) -> dict[str, Any]:
    """A handed-in report, with whether (and by how many days) it was late."""
    return {**s.to_dict(), "late": s.days_late > 0, "days_late": s.days_late}


def bundle(b: ImportedBundle) -> dict[str, Any]:
    """An imported space bundle: its space, ledger head, key and number of achievements."""
    return {
        "space": b.space,
        "head_seq": b.head_seq,
        "head_hash": b.head_hash,
        "key_id": b.key_id,
        "achievements": len(b.achievements()),
    }
