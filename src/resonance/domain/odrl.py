"""Usage policies as W3C ODRL 2.2 (pure: JSON-LD in, JSON-LD out, no I/O).

The mapping (documented in ``docs/interconnection.md``):

=========================  ==============================================================
usage policy               ODRL
=========================  ==============================================================
the policy of a dataset    ``odrl:Set`` (``odrl:Offer`` in a catalog, ``odrl:Agreement``
                           in a contract), ``odrl:target`` the dataset's IRI,
                           ``odrl:assigner`` its owner
a grant's purpose          one ``odrl:permission`` per purpose; the action is
                           ``rsn:train-pooled`` / ``rsn:train-federated`` /
                           ``rsn:evaluate`` / ``rsn:download``
a grant's organization     the permission's ``odrl:assignee`` (``urn:resonance:org:NAME``)
a grant's expiry           an ``odrl:constraint``: ``odrl:dateTime odrl:lteq "YYYY-MM-DD"``
auto-drop allowed / not    ``odrl:permission`` / ``odrl:prohibition`` of ``rsn:auto-drop``
=========================  ==============================================================

Importing expands the document with PyLD (only the ODRL context and inline contexts are
accepted: nothing is fetched) and refuses, with ``RES-180`` naming the term, anything without
an exact counterpart: duties and obligations, other actions, other constraint operands or
operators, permissions to no one, conflicting prohibitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pyld import jsonld

from resonance.domain.errors import InvalidInput, OdrlUnsupported
from resonance.domain.policies import Grant, Policy, Purpose

ODRL = "http://www.w3.org/ns/odrl/2/"
RSN = "https://w3id.org/resonance/vocab#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
DSPACE = "https://w3id.org/dspace/2024/1/"
ODRL_CONTEXT_URL = "http://www.w3.org/ns/odrl.jsonld"

ORG_PREFIX = "urn:resonance:org:"
DATASET_PREFIX = "urn:resonance:dataset:"
AUTO_DROP = "auto-drop"

#: The JSON-LD context every document of the space is written with.
CONTEXT: dict[str, str] = {
    "odrl": ODRL,
    "rsn": RSN,
    "xsd": XSD,
    "dct": DCT,
    "dcat": DCAT,
    "dspace": DSPACE,
    "foaf": "http://xmlns.com/foaf/0.1/",
    "prov": "http://www.w3.org/ns/prov#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
}

#: Purpose → ODRL action IRI (compact form); the inverse is used on import.
PURPOSE_ACTIONS: dict[Purpose, str] = {p: f"rsn:{p.value}" for p in Purpose}
_ACTION_PURPOSES: dict[str, Purpose] = {f"{RSN}{p.value}": p for p in Purpose}
_AUTO_DROP_IRI = f"{RSN}{AUTO_DROP}"
_POLICY_TYPES = {f"{ODRL}{t}" for t in ("Set", "Offer", "Agreement", "Policy")}
_POLICY_KEYS = {"@id", "@type", f"{ODRL}permission", f"{ODRL}prohibition", f"{ODRL}target"}
_POLICY_KEYS |= {f"{ODRL}assigner", f"{ODRL}assignee", f"{ODRL}uid", f"{ODRL}profile"}
_RULE_KEYS = {"@id", "@type", f"{ODRL}action", f"{ODRL}assignee", f"{ODRL}constraint"}
_RULE_KEYS |= {f"{ODRL}target", f"{ODRL}assigner"}
_CONSTRAINT_KEYS = {"@id", "@type", f"{ODRL}leftOperand", f"{ODRL}operator"}
_CONSTRAINT_KEYS |= {f"{ODRL}rightOperand"}


def org_iri(name: str) -> str:
    """The IRI of an organization of the space."""
    return f"{ORG_PREFIX}{name}"


def dataset_iri(name: str) -> str:
    """The IRI of a dataset of the space."""
    return f"{DATASET_PREFIX}{name}"


def _expiry(until: date) -> dict[str, Any]:
    return {
        "odrl:leftOperand": {"@id": "odrl:dateTime"},
        "odrl:operator": {"@id": "odrl:lteq"},
        "odrl:rightOperand": {"@value": until.isoformat(), "@type": "xsd:date"},
    }


def grant_permissions(grant: Grant) -> list[dict[str, Any]]:
    """The ODRL permissions of one grant: one per purpose, sorted by purpose."""
    out = []
    for purpose in sorted(grant.purposes, key=lambda p: p.value):
        rule: dict[str, Any] = {
            "odrl:action": {"@id": PURPOSE_ACTIONS[purpose]},
            "odrl:assignee": {"@id": org_iri(grant.organization)},
        }
        if grant.until is not None:
            rule["odrl:constraint"] = [_expiry(grant.until)]
        out.append(rule)
    return out


def policy_to_odrl(
    policy: Policy,
    *,
    owner: str,
    policy_type: str = "Set",
    uid: str | None = None,
    context: bool = True,
) -> dict[str, Any]:
    """The ODRL form of a usage policy.

    Parameters
    ----------
    policy:
        The usage policy.
    owner:
        The dataset's owner (the ``odrl:assigner``).
    policy_type:
        ``Set`` (a policy), ``Offer`` (in a catalog) or ``Agreement``.
    uid:
        The policy's IRI; default ``urn:resonance:policy:DATASET:vN``.
    context:
        Include the ``@context`` (False when embedded in a document that has one).
    """
    doc: dict[str, Any] = {}
    if context:
        doc["@context"] = CONTEXT
    doc["@id"] = uid or f"urn:resonance:policy:{policy.dataset}:v{policy.version}"
    doc["@type"] = f"odrl:{policy_type}"
    doc["odrl:target"] = {"@id": dataset_iri(policy.dataset)}
    doc["odrl:assigner"] = {"@id": org_iri(owner)}
    permissions = [p for g in policy.grants for p in grant_permissions(g)]
    auto_drop = {"odrl:action": {"@id": f"rsn:{AUTO_DROP}"}}
    if policy.allow_auto_drop:
        permissions.append(auto_drop)
    doc["odrl:permission"] = permissions
    doc["odrl:prohibition"] = [] if policy.allow_auto_drop else [auto_drop]
    return doc


@dataclass(frozen=True)
class PolicyTerms:
    """What an imported ODRL policy says, in the platform's terms."""

    grants: tuple[Grant, ...]
    allow_auto_drop: bool


#: The part of the published ODRL 2.2 context the importer needs (terms whose values are IRIs).
_ODRL_TERMS: dict[str, Any] = {
    "@vocab": ODRL,
    **CONTEXT,
    "uid": "@id",
    "type": "@type",
    **{term: {"@type": "@id"} for term in ("target", "assigner", "assignee", "profile")},
    **{term: {"@type": "@vocab"} for term in ("action", "leftOperand", "operator")},
    **{term: {"@container": "@set"} for term in ("permission", "prohibition", "constraint")},
}


def _loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """PyLD document loader: serves the ODRL context from memory and fetches nothing."""
    if url.rstrip("/") in (ODRL_CONTEXT_URL, ODRL_CONTEXT_URL.replace("http:", "https:")):
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": {"@context": _ODRL_TERMS},
        }
    raise OdrlUnsupported(
        f"remote JSON-LD context {url!r} is not supported; inline the context or use "
        f"{ODRL_CONTEXT_URL}",
        term=url,
    )


def _expand(doc: Any) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        raise InvalidInput("an ODRL policy is a JSON object")
    try:
        expanded = jsonld.expand(doc, {"documentLoader": _loader})
    except jsonld.JsonLdError as exc:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, OdrlUnsupported):
                raise cause from None
            cause = cause.__cause__ or cause.__context__
        raise InvalidInput(f"not valid JSON-LD: {exc.type}: {exc}") from None
    return [n for n in expanded if isinstance(n, dict)]


def _short(iri: str) -> str:
    for prefix, ns in (("odrl", ODRL), ("rsn", RSN), ("dct", DCT)):
        if iri.startswith(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def _unsupported(term: str, why: str) -> OdrlUnsupported:
    return OdrlUnsupported(
        f"{_short(term)} does not map to a usage policy: {why}", term=_short(term)
    )


def _ids(values: Any, key: str) -> list[str]:
    out = []
    for v in values or []:
        if not isinstance(v, dict) or "@id" not in v:
            raise _unsupported(key, "expected an IRI")
        out.append(v["@id"])
    return out


def _one_id(rule: dict[str, Any], key: str) -> str | None:
    ids = _ids(rule.get(key), key)
    if len(ids) > 1:
        raise _unsupported(key, "a rule names exactly one (list several rules instead)")
    return ids[0] if ids else None


def _check_keys(node: dict[str, Any], allowed: set[str]) -> None:
    for key in node:
        if key not in allowed:
            raise _unsupported(key, "no usage-policy counterpart")


def _constraint_until(constraint: dict[str, Any]) -> date:
    _check_keys(constraint, _CONSTRAINT_KEYS)
    left = _one_id(constraint, f"{ODRL}leftOperand")
    if left != f"{ODRL}dateTime":
        raise _unsupported(left or f"{ODRL}leftOperand", "only odrl:dateTime (expiry) maps")
    op = _one_id(constraint, f"{ODRL}operator")
    if op not in (f"{ODRL}lteq", f"{ODRL}lt"):
        raise _unsupported(op or f"{ODRL}operator", "only odrl:lteq and odrl:lt map to an expiry")
    right = constraint.get(f"{ODRL}rightOperand") or []
    if len(right) != 1 or not isinstance(right[0], dict) or "@value" not in right[0]:
        raise InvalidInput("an expiry constraint needs one date as odrl:rightOperand")
    text = str(right[0]["@value"])
    try:
        day = datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"bad date {text!r} in an expiry constraint", value=text) from None
    return day - timedelta(days=1) if op == f"{ODRL}lt" else day


def _rule_until(rule: dict[str, Any]) -> date | None:
    constraints = rule.get(f"{ODRL}constraint") or []
    days = [_constraint_until(c) for c in constraints]
    return min(days) if days else None


def _organization(iri: str) -> str:
    if not iri.startswith(ORG_PREFIX) or len(iri) == len(ORG_PREFIX):
        raise _unsupported(iri, f"assignees are organizations of the space ({ORG_PREFIX}NAME)")
    return iri[len(ORG_PREFIX) :]


def policy_from_odrl(doc: Any, *, dataset: str) -> PolicyTerms:
    """Read an ODRL policy as the terms of ``dataset``'s usage policy.

    Parameters
    ----------
    doc:
        A JSON-LD ODRL policy (``Set``, ``Offer``, ``Agreement`` or ``Policy``).
    dataset:
        The dataset the policy is for; an ``odrl:target`` must name it.

    Raises
    ------
    OdrlUnsupported
        ``RES-180`` with ``details.term`` when the policy uses a term with no counterpart.
    InvalidInput
        ``RES-100`` when the document is not a policy at all.
    """
    nodes = _expand(doc)
    policies = [n for n in nodes if set(n.get("@type", [])) & _POLICY_TYPES]
    if len(policies) != 1:
        raise InvalidInput("expected exactly one ODRL policy (Set, Offer or Agreement)")
    node = policies[0]
    _check_keys(node, _POLICY_KEYS)
    for t in node.get("@type", []):
        if t not in _POLICY_TYPES:
            raise _unsupported(t, "unknown policy type")
    for target in _ids(node.get(f"{ODRL}target"), f"{ODRL}target"):
        if target != dataset_iri(dataset):
            raise InvalidInput(
                f"the policy targets {target}, not {dataset_iri(dataset)}", target=target
            )
    by_party: dict[tuple[str, date | None], set[Purpose]] = {}
    auto_drop: bool | None = None
    for rule in node.get(f"{ODRL}permission") or []:
        _check_keys(rule, _RULE_KEYS)
        action = _one_id(rule, f"{ODRL}action")
        assignee = _one_id(rule, f"{ODRL}assignee")
        if action == _AUTO_DROP_IRI:
            if assignee is not None or rule.get(f"{ODRL}constraint"):
                raise _unsupported(_AUTO_DROP_IRI, "auto-drop is allowed or not, for everyone")
            auto_drop = True
            continue
        if action not in _ACTION_PURPOSES:
            raise _unsupported(action or f"{ODRL}action", "not one of the platform's purposes")
        if assignee is None:
            raise _unsupported(
                f"{ODRL}assignee", "a permission to anyone does not map: a grant names one org"
            )
        key = (_organization(assignee), _rule_until(rule))
        by_party.setdefault(key, set()).add(_ACTION_PURPOSES[action])
    for rule in node.get(f"{ODRL}prohibition") or []:
        _check_keys(rule, _RULE_KEYS - {f"{ODRL}constraint"})
        action = _one_id(rule, f"{ODRL}action")
        if action == _AUTO_DROP_IRI and rule.get(f"{ODRL}assignee") is None:
            if auto_drop:
                raise _unsupported(_AUTO_DROP_IRI, "both permitted and prohibited")
            auto_drop = False
            continue
        if action in _ACTION_PURPOSES and rule.get(f"{ODRL}assignee") is None:
            purpose = _ACTION_PURPOSES[action]
            if any(purpose in ps for ps in by_party.values()):
                raise _unsupported(action, "prohibited for everyone yet permitted to someone")
            continue  # consistent with default-deny
        raise _unsupported(action or f"{ODRL}prohibition", "only auto-drop may be prohibited")
    grants = tuple(
        Grant(org, frozenset(purposes), until)
        for (org, until), purposes in sorted(
            by_party.items(), key=lambda kv: (kv[0][0], kv[0][1] or date.max)
        )
    )
    return PolicyTerms(grants=grants, allow_auto_drop=bool(auto_drop))
