"""Use cases: the catalog as DCAT 3 and usage policies as ODRL 2.2."""

from __future__ import annotations

from typing import Any

from resonance.domain.datasets import DatasetKind
from resonance.domain.dcat import CatalogItem, catalog_document
from resonance.domain.odrl import policy_from_odrl, policy_to_odrl
from resonance.domain.policies import Policy
from resonance.services import policies
from resonance.services.catalog import require_dataset
from resonance.services.orgs import require_org
from resonance.services.space import Space

DSP_URL_KEY = "dsp_url"


def own_endpoint(space: Space, fallback: str | None = None) -> str:
    """The space's Dataspace Protocol endpoint: the ``dsp_url`` setting, else ``fallback``."""
    with space.work() as w:
        url = w.tx.get_meta(DSP_URL_KEY)
    return url or fallback or f"urn:resonance:space:{space.config.name}:dsp"


def catalog_items(space: Space) -> list[CatalogItem]:
    """Every dataset that may be offered (not evaluation sets), with versions and policy."""
    with space.work() as w:
        out = []
        for ds in w.tx.list_datasets():
            if ds.kind is DatasetKind.EVALUATION:
                continue
            versions = tuple(w.tx.list_versions(ds.name))
            if versions:
                out.append(CatalogItem(ds, versions, w.tx.get_policy(ds.name)))
    return out


def export_catalog(
    space: Space, *, requester: str | None, endpoint: str | None = None
) -> dict[str, Any]:
    """The DCAT 3 catalog (JSON-LD) as ``requester`` (an organization; None for a peer) sees it.

    Never rows: metadata, schema summary, row counts, quality summary, versions, lineage and
    ODRL offers. Sealed evaluation sets are not offered.
    """
    if requester is not None:
        with space.work() as w:
            require_org(w.tx, requester)
    return catalog_document(
        catalog_items(space),
        space=space.config.name,
        participant=space.keys.key_id,
        endpoint=endpoint or own_endpoint(space),
        requester=requester,
    )


def export_policy_odrl(space: Space, dataset: str) -> dict[str, Any]:
    """The dataset's current usage policy as an ODRL ``Set`` (an empty one when none is set)."""
    with space.work() as w:
        ds = require_dataset(w.tx, dataset)
        policy = w.tx.get_policy(dataset) or Policy(dataset=dataset, version=0)
    return policy_to_odrl(policy, owner=ds.owner)


def import_policy_odrl(space: Space, *, actor: str, dataset: str, doc: Any) -> Policy:
    """Set ``dataset``'s usage policy from an ODRL policy (owner only).

    Raises ``OdrlUnsupported`` (RES-180, naming the term) when the policy does not map;
    nothing is stored then.
    """
    terms = policy_from_odrl(doc, dataset=dataset)
    return policies.set_policy(
        space,
        actor=actor,
        dataset=dataset,
        grants=list(terms.grants),
        allow_auto_drop=terms.allow_auto_drop,
    )
