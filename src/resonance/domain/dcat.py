"""The space's catalog as W3C DCAT 3 JSON-LD with ODRL offers (pure: records in, JSON out).

A catalog describes datasets, never rows: title, description, publisher, industry (a SKOS
concept of the action's 20 industries), kind, schema summary, row count, a quality summary
(DQV measurements), versions and lineage (``dcat:hasVersion``, ``prov:wasDerivedFrom``) and
the ``odrl:hasPolicy`` offers a peer may request a contract for. Distributions are
compute-to-data: they name the Dataspace Protocol endpoint, never a download URL. Sealed
evaluation sets are never offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resonance.domain.datasets import Dataset, DatasetKind, DatasetVersion
from resonance.domain.industries import INDUSTRIES
from resonance.domain.odrl import (
    CONTEXT,
    PURPOSE_ACTIONS,
    dataset_iri,
    grant_permissions,
    org_iri,
)
from resonance.domain.policies import Policy, Purpose
from resonance.domain.refs import parse_ref

INDUSTRY_SCHEME = "https://w3id.org/resonance/industry"
KIND_SCHEME = "https://w3id.org/resonance/dataset-kind"
DQV = "http://www.w3.org/ns/dqv#"

#: Purposes a peer may ask a contract for without any grant yet (compute-to-data).
OFFERED_PURPOSES: tuple[Purpose, ...] = (
    Purpose.TRAIN_POOLED,
    Purpose.TRAIN_FEDERATED,
    Purpose.EVALUATE,
)


def industry_iri(industry: str) -> str:
    """The stable vocabulary IRI of one of the action's 20 industries."""
    return f"{INDUSTRY_SCHEME}/{industry}"


def kind_iri(kind: DatasetKind) -> str:
    """The IRI of a dataset kind (common, specialized, evaluation)."""
    return f"{KIND_SCHEME}/{kind.value}"


def offer_id(dataset: str, policy: Policy | None) -> str:
    """The IRI of the offer generated from ``dataset``'s current policy."""
    return f"urn:resonance:offer:{dataset}:v{policy.version if policy else 0}"


def version_iri(dataset: str, number: int) -> str:
    """The IRI of one dataset version."""
    return f"{dataset_iri(dataset)}@{number}"


@dataclass(frozen=True)
class CatalogItem:
    """One dataset as the catalog shows it: its versions (oldest first) and policy."""

    dataset: Dataset
    versions: tuple[DatasetVersion, ...]
    policy: Policy | None


def offer_for(item: CatalogItem, *, requester: str | None) -> dict[str, Any]:
    """The ``odrl:Offer`` of a dataset for ``requester`` (an organization, or None for a peer).

    Permits the compute-to-data purposes to whoever agrees a contract (no assignee), lists
    the requester's own grants, prohibits ``download`` unless the requester already holds
    it, and carries the policy's auto-drop term.
    """
    ds, policy = item.dataset, item.policy
    permissions: list[dict[str, Any]] = [
        {"odrl:action": {"@id": PURPOSE_ACTIONS[p]}} for p in OFFERED_PURPOSES
    ]
    own = [g for g in (policy.grants if policy else ()) if g.organization == requester]
    for grant in own:
        permissions.extend(grant_permissions(grant))
    prohibitions: list[dict[str, Any]] = []
    if not any(Purpose.DOWNLOAD in g.purposes for g in own):
        prohibitions.append({"odrl:action": {"@id": PURPOSE_ACTIONS[Purpose.DOWNLOAD]}})
    auto_drop = {"odrl:action": {"@id": "rsn:auto-drop"}}
    (permissions if policy and policy.allow_auto_drop else prohibitions).append(auto_drop)
    return {
        "@id": offer_id(ds.name, policy),
        "@type": "odrl:Offer",
        "odrl:target": {"@id": dataset_iri(ds.name)},
        "odrl:assigner": {"@id": org_iri(ds.owner)},
        "odrl:permission": permissions,
        "odrl:prohibition": prohibitions,
    }


def _quality(version: DatasetVersion) -> list[dict[str, Any]]:
    validation = version.validation or {}
    columns = validation.get("columns") or []
    shares = [float(c["missing_share"]) for c in columns if c.get("missing_share") is not None]
    measures = {
        "duplicateRows": validation.get("duplicate_rows"),
        "validationWarnings": len(validation.get("warnings") or []),
        "meanMissingShare": round(sum(shares) / len(shares), 6) if shares else None,
    }
    return [
        {
            "@type": "dqv:QualityMeasurement",
            "dqv:isMeasurementOf": {"@id": f"rsn:{name}"},
            "dqv:value": value,
        }
        for name, value in measures.items()
        if value is not None
    ]


def _version_node(v: DatasetVersion, previous: DatasetVersion | None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": version_iri(v.dataset, v.number),
        "@type": "dcat:Dataset",
        "dcat:version": str(v.number),
        "dct:issued": {"@value": v.created_at, "@type": "xsd:dateTime"},
        "rsn:contentHash": v.content_hash,
        "rsn:rowCount": {"@value": v.row_count, "@type": "xsd:integer"},
        "rsn:transformation": v.transformation.kind,
        "prov:wasDerivedFrom": [{"@id": _ref_iri(p)} for p in v.parents],
    }
    if previous is not None:
        node["dcat:previousVersion"] = {"@id": version_iri(previous.dataset, previous.number)}
    return node


def _ref_iri(ref: str) -> str:
    name, number = parse_ref(ref)
    return version_iri(name, number) if number is not None else dataset_iri(name)


def dataset_node(item: CatalogItem, *, requester: str | None, endpoint: str) -> dict[str, Any]:
    """The ``dcat:Dataset`` node of one catalog item (its latest version described)."""
    ds = item.dataset
    latest = item.versions[-1]
    versions = [
        _version_node(v, item.versions[i - 1] if i else None) for i, v in enumerate(item.versions)
    ]
    return {
        "@id": dataset_iri(ds.name),
        "@type": "dcat:Dataset",
        "dct:identifier": ds.name,
        "dct:title": ds.name,
        "dct:description": ds.description or f"{ds.kind.value} dataset of {ds.industry}",
        "dct:publisher": {"@id": org_iri(ds.owner), "@type": "foaf:Agent", "foaf:name": ds.owner},
        "dcat:theme": {
            "@id": industry_iri(ds.industry),
            "@type": "skos:Concept",
            "skos:prefLabel": INDUSTRIES[ds.industry],
            "skos:inScheme": {"@id": INDUSTRY_SCHEME},
        },
        "dct:type": {"@id": kind_iri(ds.kind)},
        "dct:issued": {"@value": item.versions[0].created_at, "@type": "xsd:dateTime"},
        "dct:modified": {"@value": latest.created_at, "@type": "xsd:dateTime"},
        "dcat:version": str(latest.number),
        "rsn:rowCount": {"@value": latest.row_count, "@type": "xsd:integer"},
        "rsn:columnCount": {"@value": len(latest.schema.columns), "@type": "xsd:integer"},
        "rsn:column": [
            {"rsn:name": c.name, "rsn:datatype": c.type, "rsn:nullable": c.nullable}
            for c in latest.schema.columns
        ],
        "rsn:label": list(ds.label.columns) if ds.label else [],
        "rsn:groupKey": ds.group_key or "",
        "dqv:hasQualityMeasurement": _quality(latest),
        "dcat:hasCurrentVersion": {"@id": version_iri(ds.name, latest.number)},
        "dcat:hasVersion": versions,
        "odrl:hasPolicy": [offer_for(item, requester=requester)],
        "dcat:distribution": [
            {
                "@type": "dcat:Distribution",
                "dct:format": {"@id": "rsn:compute-to-data"},
                "dcat:accessService": {
                    "@type": "dcat:DataService",
                    "dcat:endpointURL": {"@id": endpoint},
                    "dct:conformsTo": {"@id": "https://w3id.org/dspace/2024/1/"},
                },
            }
        ],
    }


def catalog_document(
    items: list[CatalogItem],
    *,
    space: str,
    participant: str,
    endpoint: str,
    requester: str | None,
) -> dict[str, Any]:
    """The DCAT 3 catalog of ``items`` as JSON-LD.

    Parameters
    ----------
    items:
        Datasets to describe; evaluation datasets and datasets without versions are skipped.
    space:
        The space's name (catalog title and publisher).
    participant:
        The space's participant id (its signing key id).
    endpoint:
        The space's Dataspace Protocol endpoint (``.../dsp``).
    requester:
        The organization the catalog is for (its own grants appear in the offers).
    """
    datasets = [
        dataset_node(item, requester=requester, endpoint=endpoint)
        for item in sorted(items, key=lambda i: i.dataset.name)
        if item.dataset.kind is not DatasetKind.EVALUATION and item.versions
    ]
    return {
        "@context": {**CONTEXT, "dqv": DQV},
        "@id": f"urn:resonance:catalog:{space}",
        "@type": "dcat:Catalog",
        "dct:title": f"Resonance space {space}",
        "dct:publisher": {"@id": f"urn:resonance:space:{space}", "foaf:name": space},
        "dspace:participantId": participant,
        "dcat:themeTaxonomy": {
            "@id": INDUSTRY_SCHEME,
            "@type": "skos:ConceptScheme",
            "skos:prefLabel": "Key industries of the 2026 model-data resonance action",
        },
        "dcat:service": {
            "@type": "dcat:DataService",
            "dcat:endpointURL": {"@id": endpoint},
        },
        "dcat:dataset": datasets,
    }
