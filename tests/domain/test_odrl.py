"""ODRL 2.2 form of usage policies: export, import, round trip and refusals."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from rdflib import Graph, Namespace, URIRef

from resonance.domain.errors import InvalidInput, OdrlUnsupported
from resonance.domain.odrl import (
    ODRL_CONTEXT_URL,
    PolicyTerms,
    dataset_iri,
    org_iri,
    policy_from_odrl,
    policy_to_odrl,
)
from resonance.domain.policies import Grant, Policy, Purpose

ODRL = Namespace("http://www.w3.org/ns/odrl/2/")

POLICY = Policy(
    dataset="steel-a",
    grants=(
        Grant("lab", frozenset({Purpose.TRAIN_POOLED, Purpose.EVALUATE}), date(2027, 12, 31)),
        Grant("plant-b", frozenset({Purpose.DOWNLOAD})),
    ),
    allow_auto_drop=False,
    version=3,
)


def _doc(policy: Policy = POLICY) -> dict[str, Any]:
    return policy_to_odrl(policy, owner="plant-a")


def test_round_trip_keeps_grants_expiry_and_auto_drop() -> None:
    for auto in (False, True):
        policy = Policy(POLICY.dataset, POLICY.grants, allow_auto_drop=auto)
        terms = policy_from_odrl(_doc(policy), dataset="steel-a")
        assert terms == PolicyTerms(
            grants=(
                Grant(
                    "lab", frozenset({Purpose.TRAIN_POOLED, Purpose.EVALUATE}), date(2027, 12, 31)
                ),
                Grant("plant-b", frozenset({Purpose.DOWNLOAD})),
            ),
            allow_auto_drop=auto,
        )


def test_export_is_odrl_rdf() -> None:
    g = Graph().parse(data=__import__("json").dumps(_doc()), format="json-ld")
    policy = URIRef("urn:resonance:policy:steel-a:v3")
    assert (policy, None, ODRL.Set) in g
    assert (policy, ODRL.target, URIRef(dataset_iri("steel-a"))) in g
    assert (policy, ODRL.assigner, URIRef(org_iri("plant-a"))) in g
    actions = {str(o) for o in g.objects(None, ODRL.action)}
    assert actions == {
        "https://w3id.org/resonance/vocab#train-pooled",
        "https://w3id.org/resonance/vocab#evaluate",
        "https://w3id.org/resonance/vocab#download",
        "https://w3id.org/resonance/vocab#auto-drop",
    }
    assert len(list(g.objects(policy, ODRL.permission))) == 3
    assert len(list(g.objects(policy, ODRL.prohibition))) == 1
    assert {str(o) for o in g.objects(None, ODRL.rightOperand)} == {"2027-12-31"}


def test_imports_the_odrl_context_url_and_lt_operator() -> None:
    doc = {
        "@context": ODRL_CONTEXT_URL,
        "@type": "Offer",
        "uid": "urn:x:1",
        "target": dataset_iri("steel-a"),
        "permission": [
            {
                "action": "https://w3id.org/resonance/vocab#evaluate",
                "assignee": org_iri("lab"),
                "constraint": [
                    {
                        "leftOperand": "dateTime",
                        "operator": "lt",
                        "rightOperand": {"@value": "2027-01-01T00:00:00Z", "@type": "xsd:dateTime"},
                    }
                ],
            }
        ],
    }
    terms = policy_from_odrl(doc, dataset="steel-a")
    assert terms.grants == (Grant("lab", frozenset({Purpose.EVALUATE}), date(2026, 12, 31)),)
    assert terms.allow_auto_drop is False


def _mutated(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(_doc())
    first = doc["odrl:permission"][0]
    if path == "action":
        first["odrl:action"] = value
    elif path == "duty":
        first["odrl:duty"] = value
    elif path == "operand":
        first["odrl:constraint"][0]["odrl:leftOperand"] = value
    elif path == "operator":
        first["odrl:constraint"][0]["odrl:operator"] = value
    elif path == "no-assignee":
        del first["odrl:assignee"]
    elif path == "obligation":
        doc["odrl:obligation"] = value
    elif path == "assignee":
        first["odrl:assignee"] = value
    elif path == "prohibit":
        doc["odrl:prohibition"].append({"odrl:action": {"@id": "rsn:evaluate"}})
    return doc


@pytest.mark.parametrize(
    ("path", "value", "term"),
    [
        ("action", {"@id": "odrl:use"}, "odrl:use"),
        ("duty", [{"odrl:action": {"@id": "odrl:compensate"}}], "odrl:duty"),
        ("operand", {"@id": "odrl:spatial"}, "odrl:spatial"),
        ("operator", {"@id": "odrl:gteq"}, "odrl:gteq"),
        ("no-assignee", None, "odrl:assignee"),
        ("obligation", [{"odrl:action": {"@id": "odrl:delete"}}], "odrl:obligation"),
        ("assignee", {"@id": "https://example.org/anyone"}, "https://example.org/anyone"),
        ("prohibit", None, "rsn:evaluate"),
    ],
)
def test_rejects_what_does_not_map_naming_the_term(path: str, value: Any, term: str) -> None:
    with pytest.raises(OdrlUnsupported) as err:
        policy_from_odrl(_mutated(path, value), dataset="steel-a")
    assert err.value.code == "RES-180"
    assert err.value.details["term"] == term
    assert term in err.value.message


def test_rejects_remote_contexts_wrong_target_and_non_policies() -> None:
    with pytest.raises(OdrlUnsupported) as err:
        policy_from_odrl(
            {"@context": "https://example.org/ctx.jsonld", "@type": "Set"}, dataset="steel-a"
        )
    assert err.value.details["term"] == "https://example.org/ctx.jsonld"
    with pytest.raises(InvalidInput):
        policy_from_odrl(_doc(), dataset="other")
    with pytest.raises(InvalidInput):
        policy_from_odrl({"@context": {}, "x": 1}, dataset="steel-a")
    with pytest.raises(InvalidInput):
        policy_from_odrl([1, 2], dataset="steel-a")
