"""The /dsp management routes over one space (the two-space protocol runs in
test_dsp_two_spaces.py)."""

from __future__ import annotations

import json
from datetime import date, timedelta

from rdflib import Graph, Namespace, URIRef

from resonance.domain.odrl import dataset_iri
from resonance.services.space import Space
from tests.api.conftest import Api

DCAT = Namespace("http://www.w3.org/ns/dcat#")


def test_catalog_route_is_dcat_for_the_caller(api: Api) -> None:
    r = api.get("/dsp/catalog", org="builder")
    assert r.status_code == 200, r.text
    g = Graph().parse(data=r.text, format="json-ld")
    assert {str(d) for d in g.objects(None, DCAT.dataset)} == {
        dataset_iri("steel-a"),
        dataset_iri("steel-surface"),
    }
    endpoint = next(g.objects(None, DCAT.endpointURL))
    assert endpoint == URIRef("http://testserver/dsp")
    assert api.get("/dsp/catalog", org=None).json()["error"]["code"] == "RES-121"


def test_peers_contracts_and_rules_routes(api: Api, seeded: Space, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = Space.init(tmp_path / "other")
    pem = other.keys.public_pem
    other.close()
    body = {"name": "space-b", "url": "http://127.0.0.1:9/dsp", "public_pem": pem}
    assert api.post("/dsp/peers", org="builder", json=body).json()["error"]["code"] == "RES-122"
    r = api.post("/dsp/peers", json=body)
    assert r.status_code == 201, r.text
    assert api.post("/dsp/peers", json=body).json()["error"]["code"] == "RES-102"
    assert [p["name"] for p in api.get("/dsp/peers").json()] == ["space-b"]
    me = api.get("/dsp/identity").json()
    assert me["key_id"] == seeded.keys.key_id
    # the peer is down: the request is refused before any state is kept
    until = (date.today() + timedelta(days=5)).isoformat()
    r = api.post(
        "/dsp/contracts",
        org="builder",
        json={"peer": "space-b", "dataset": "x", "purposes": ["evaluate"], "until": until},
    )
    assert r.status_code == 502 and r.json()["error"]["code"] == "RES-185"
    assert api.get("/dsp/contracts").json() == []
    rule = {"purposes": ["evaluate"], "max_days": 30}
    assert api.put("/dsp/rules/steel-a/space-b", org="plant-a", json=rule).status_code == 200
    r = api.put("/dsp/rules/steel-a/space-b", org="plant-b", json=rule)
    assert r.json()["error"]["code"] == "RES-122"
    assert api.get("/dsp/contracts/urn:uuid:nope").json()["error"]["code"] == "RES-101"
    # a protocol endpoint without a signature
    r = api.client.post("/dsp/negotiations/request", content=json.dumps({"@type": "x"}))
    assert r.status_code == 401 and r.json()["error"]["code"] == "RES-181"
