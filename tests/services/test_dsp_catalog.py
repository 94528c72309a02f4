"""The catalog as DCAT 3 JSON-LD (checked with rdflib and a SHACL shape) and ODRL policies."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.csv as pcsv
import pytest
from pyshacl import validate
from rdflib import RDF, Graph, Literal, Namespace, URIRef

from resonance.domain.datasets import DatasetKind, Transformation, make_label_spec
from resonance.domain.dcat import industry_iri
from resonance.domain.errors import NotFound, OdrlUnsupported, RoleRequired
from resonance.domain.industries import INDUSTRIES
from resonance.domain.odrl import dataset_iri, org_iri
from resonance.domain.policies import Grant, Purpose
from resonance.domain.provenance import RowProvenance
from resonance.services import catalog, dsp_catalog, ledger, policies
from resonance.services.catalog import NewDataset
from resonance.services.space import Space
from tests.conftest import STEEL_CSV, STEEL_LABELS

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
RSN = Namespace("https://w3id.org/resonance/vocab#")
PROV = Namespace("http://www.w3.org/ns/prov#")
SHAPES = Path(__file__).with_name("dcat_shapes.ttl")
ENDPOINT = "http://127.0.0.1:9/dsp"


def _seed(space: Space) -> None:
    label = make_label_spec(None, STEEL_LABELS)
    for name, owner, kind in [
        ("steel-a", "plant-a", DatasetKind.COMMON),
        ("steel-eval", "evaluator", DatasetKind.EVALUATION),
    ]:
        catalog.ingest(
            space,
            actor=owner,
            path=STEEL_CSV,
            dataset=name,
            new=NewDataset(
                owner=owner, kind=kind, industry="steel", label=label, description=f"{name} plates"
            ),
        )
    table = pcsv.read_csv(STEEL_CSV).slice(0, 900)
    catalog.derive_version(
        space,
        actor="plant-a",
        dataset="steel-a",
        table=table,
        parents=("steel-a@1",),
        transformation=Transformation("drop", {"rows": 1041}, "test"),
        provenance=RowProvenance.whole("steel-a@1", 1941).take(np.arange(900)),
    )
    policies.set_policy(
        space,
        actor="plant-a",
        dataset="steel-a",
        grants=[Grant("builder", frozenset({Purpose.EVALUATE}), date(2027, 12, 31))],
    )


def _graph(doc: dict[str, Any]) -> Graph:
    return Graph().parse(data=json.dumps(doc), format="json-ld")


def test_catalog_is_valid_dcat3_and_offers_no_rows_nor_sealed_sets(space: Space) -> None:
    _seed(space)
    doc = dsp_catalog.export_catalog(space, requester="builder", endpoint=ENDPOINT)
    g = _graph(doc)
    conforms, _, text = validate(g, shacl_graph=Graph().parse(SHAPES), inference="none")
    assert conforms, text
    shapes = Graph().parse(SHAPES)
    bad = json.loads(json.dumps(doc))
    del bad["dcat:dataset"][0]["dct:title"]
    bad["dcat:dataset"][0]["dcat:distribution"][0]["dcat:downloadURL"] = {"@id": "http://x/y.csv"}
    conforms, _, text = validate(_graph(bad), shacl_graph=shapes, inference="none")
    assert not conforms and "downloadURL" in text and "title" in text
    ds = URIRef(dataset_iri("steel-a"))
    assert list(g.subjects(DCAT.dataset, None)) == [URIRef(doc["@id"])]
    assert set(g.objects(URIRef(doc["@id"]), DCAT.dataset)) == {ds}  # no sealed set
    assert (ds, DCAT.theme, URIRef(industry_iri("steel"))) in g
    assert (ds, DCT.publisher, URIRef(org_iri("plant-a"))) in g
    assert (ds, RSN.rowCount, Literal(900)) in g
    assert (ds, DCAT.version, Literal("2")) in g
    v2, v1 = URIRef(f"{ds}@2"), URIRef(f"{ds}@1")
    assert (v2, PROV.wasDerivedFrom, v1) in g and (v2, DCAT.previousVersion, v1) in g
    assert len(list(g.objects(ds, RSN.column))) == 34
    offer = next(g.objects(ds, ODRL.hasPolicy))
    assert (offer, RDF.type, ODRL.Offer) in g
    permitted = {
        str(a) for p in g.objects(offer, ODRL.permission) for a in g.objects(p, ODRL.action)
    }
    assert permitted == {str(RSN[p]) for p in ("train-pooled", "train-federated", "evaluate")}
    prohibited = {
        str(a) for p in g.objects(offer, ODRL.prohibition) for a in g.objects(p, ODRL.action)
    }
    assert prohibited == {str(RSN.download), str(RSN["auto-drop"])}
    # the builder sees its own grant, with its expiry; a peer (no requester) does not
    assert (None, ODRL.assignee, URIRef(org_iri("builder"))) in g
    peer = _graph(dsp_catalog.export_catalog(space, requester=None, endpoint=ENDPOINT))
    assert (None, ODRL.assignee, None) not in peer
    # never rows: no download URL and no cell value of the file
    text = json.dumps(doc)
    assert "downloadURL" not in text and "steel-eval" not in text
    first_row = STEEL_CSV.read_text().splitlines()[1].split(",")
    assert f'"{first_row[0]}"' not in text


def test_every_industry_has_a_stable_iri() -> None:
    iris = {industry_iri(i) for i in INDUSTRIES}
    assert len(iris) == 20
    assert industry_iri("non-ferrous-metals") == (
        "https://w3id.org/resonance/industry/non-ferrous-metals"
    )


def test_unknown_requester_is_refused(space: Space) -> None:
    with pytest.raises(NotFound):
        dsp_catalog.export_catalog(space, requester="nobody")


def test_odrl_import_sets_the_policy_or_changes_nothing(space: Space) -> None:
    _seed(space)
    doc = dsp_catalog.export_policy_odrl(space, "steel-a")
    doc["odrl:permission"].append(
        {
            "odrl:action": {"@id": "rsn:train-federated"},
            "odrl:assignee": {"@id": org_iri("plant-b")},
        }
    )
    policy = dsp_catalog.import_policy_odrl(space, actor="plant-a", dataset="steel-a", doc=doc)
    assert policy.version == 2
    assert set(policy.grants) == {
        Grant("builder", frozenset({Purpose.EVALUATE}), date(2027, 12, 31)),
        Grant("plant-b", frozenset({Purpose.TRAIN_FEDERATED})),
    }
    before = len(ledger.entries(space, limit=None))
    doc["odrl:permission"].append(
        {"odrl:action": {"@id": "odrl:use"}, "odrl:assignee": {"@id": org_iri("plant-b")}}
    )
    with pytest.raises(OdrlUnsupported) as err:
        dsp_catalog.import_policy_odrl(space, actor="plant-a", dataset="steel-a", doc=doc)
    assert err.value.details["term"] == "odrl:use"
    with pytest.raises(RoleRequired):
        dsp_catalog.import_policy_odrl(
            space,
            actor="builder",
            dataset="steel-a",
            doc=dsp_catalog.export_policy_odrl(space, "steel-a"),
        )
    assert policies.get_policy(space, "steel-a") == policy
    assert len(ledger.entries(space, limit=None)) == before
