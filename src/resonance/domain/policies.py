"""Usage policies and the rule chain that turns a request into a decision.

Rules are small registered classes (like Flower strategies or Prefect
policies). Each looks at an :class:`AccessRequest` and either decides
(allow / deny, with a reason) or abstains; the first rule that decides wins,
and when every rule abstains the request is denied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, ClassVar

from resonance.domain.datasets import DatasetKind
from resonance.domain.errors import InvalidInput


class Purpose(StrEnum):
    """What data may be used for."""

    TRAIN_POOLED = "train-pooled"
    TRAIN_FEDERATED = "train-federated"
    EVALUATE = "evaluate"
    DOWNLOAD = "download"


def parse_purposes(values: list[str] | tuple[str, ...]) -> frozenset[Purpose]:
    """Parse purpose names, raising ``InvalidInput`` on an unknown one."""
    out = set()
    for value in values:
        try:
            out.add(Purpose(value.strip().replace("_", "-")))
        except ValueError:
            raise InvalidInput(
                f"unknown purpose {value!r}; choose from {', '.join(p.value for p in Purpose)}",
                field="purpose",
                value=value,
            ) from None
    return frozenset(out)


@dataclass(frozen=True)
class Grant:
    """Permission for one organization to use a dataset for some purposes."""

    organization: str
    purposes: frozenset[Purpose]
    until: date | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "organization": self.organization,
            "purposes": sorted(p.value for p in self.purposes),
            "until": self.until.isoformat() if self.until else None,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Grant:
        """Inverse of :meth:`to_dict`."""
        until = date.fromisoformat(data["until"]) if data.get("until") else None
        return Grant(data["organization"], parse_purposes(data["purposes"]), until)


def parse_grant(text: str) -> Grant:
    """Parse ``ORG:purpose[,purpose...][:YYYY-MM-DD]`` into a grant."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise InvalidInput(
            f"bad grant {text!r}; use ORG:PURPOSE[,PURPOSE...][:YYYY-MM-DD]", grant=text
        )
    until = None
    if len(parts) == 3:
        try:
            until = date.fromisoformat(parts[2])
        except ValueError:
            raise InvalidInput(f"bad date in grant {text!r}", grant=text) from None
    return Grant(parts[0], parse_purposes(parts[1].split(",")), until)


@dataclass(frozen=True)
class Policy:
    """The usage policy of one dataset (applies to all its versions)."""

    dataset: str
    grants: tuple[Grant, ...] = ()
    allow_auto_drop: bool = False
    version: int = 1
    set_by: str = ""
    set_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "dataset": self.dataset,
            "grants": [g.to_dict() for g in self.grants],
            "allow_auto_drop": self.allow_auto_drop,
            "version": self.version,
            "set_by": self.set_by,
            "set_at": self.set_at,
        }


@dataclass(frozen=True)
class AccessRequest:
    """Who wants to use which dataset for what, and when."""

    organization: str
    dataset: str
    owner: str
    kind: DatasetKind
    purpose: Purpose
    on: date
    policy: Policy | None = None
    releases_rows: bool = False


class Effect(StrEnum):
    """Outcome of a decision."""

    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True)
class Decision:
    """The rule chain's answer, with the rule that decided and why."""

    effect: Effect
    rule: str
    reason: str
    until: date | None = None
    """Last day an allowing grant lasts (``None``: no end, or not decided by a grant)."""

    @property
    def allowed(self) -> bool:
        """True when the request is allowed."""
        return self.effect is Effect.ALLOW


class Rule:
    """A policy rule; subclasses set ``name`` and implement :meth:`evaluate`."""

    name: ClassVar[str] = "rule"
    order: ClassVar[int] = 100

    def evaluate(self, request: AccessRequest) -> Decision | None:
        """Return a decision, or ``None`` to abstain."""
        raise NotImplementedError


RULES: dict[str, type[Rule]] = {}


def register_rule(cls: type[Rule]) -> type[Rule]:
    """Class decorator adding a rule to the default chain."""
    RULES[cls.name] = cls
    return cls


@register_rule
class ReleaseRule(Rule):
    """Rows leave the space only under ``download``.

    ``train-pooled``, ``train-federated`` and ``evaluate`` let an organization run
    the platform's work inside the space; a request that would hand the rows
    over (``releases_rows``) for any other purpose is denied, whoever asks.
    """

    name = "rows-leave-only-under-download"
    order = 5

    def evaluate(self, request: AccessRequest) -> Decision | None:
        if not request.releases_rows or request.purpose is Purpose.DOWNLOAD:
            return None
        return Decision(
            Effect.DENY,
            self.name,
            f"{request.purpose.value} lets an organization run the platform's work inside "
            "the space; rows leave it only under a download grant",
        )


@register_rule
class SealedEvaluationRule(Rule):
    """Evaluation datasets are sealed: only their owner, and only to evaluate."""

    name = "sealed-evaluation"
    order = 10

    def evaluate(self, request: AccessRequest) -> Decision | None:
        if request.kind is not DatasetKind.EVALUATION:
            return None
        if request.organization == request.owner and request.purpose is Purpose.EVALUATE:
            return Decision(Effect.ALLOW, self.name, "evaluator runs its own sealed suite")
        return Decision(
            Effect.DENY,
            self.name,
            "evaluation datasets are sealed: only scores and diagnoses leave the space",
        )


@register_rule
class OwnerRule(Rule):
    """A data holder may always use its own data."""

    name = "owner"
    order = 20

    def evaluate(self, request: AccessRequest) -> Decision | None:
        if request.organization == request.owner:
            return Decision(Effect.ALLOW, self.name, "owner uses its own data")
        return None


@register_rule
class GrantRule(Rule):
    """Allow what an unexpired grant names; deny expired grants explicitly."""

    name = "grant"
    order = 30

    def evaluate(self, request: AccessRequest) -> Decision | None:
        if request.policy is None:
            return None
        matching = [
            g
            for g in request.policy.grants
            if g.organization == request.organization and request.purpose in g.purposes
        ]
        if not matching:
            return None
        live = [g for g in matching if g.until is None or request.on <= g.until]
        if live:
            until = max((g.until for g in live), key=lambda d: d or date.max)
            return Decision(
                Effect.ALLOW,
                self.name,
                f"granted for {request.purpose.value}"
                + (f" until {until.isoformat()}" if until else ""),
                until,
            )
        last = max(g.until for g in matching if g.until is not None)
        return Decision(Effect.DENY, self.name, f"grant expired on {last.isoformat()}")


@dataclass
class RuleChain:
    """An ordered chain of rules; default deny."""

    rules: list[Rule] = field(default_factory=list)

    @classmethod
    def default(cls) -> RuleChain:
        """The chain of every registered rule, by ``order``."""
        return cls([r() for r in sorted(RULES.values(), key=lambda r: r.order)])

    def decide(self, request: AccessRequest) -> Decision:
        """Run the rules in order and return the first decision."""
        for rule in self.rules:
            decision = rule.evaluate(request)
            if decision is not None:
                return decision
        return Decision(
            Effect.DENY,
            "default-deny",
            f"no grant lets {request.organization} use {request.dataset} "
            f"for {request.purpose.value}",
        )


DERIVED_RULE = "derived-sources"


def decide_derived(chain: RuleChain, sources: list[AccessRequest]) -> Decision:
    """Decide a use of derived data: allowed only where every source's policy allows it.

    Parameters
    ----------
    chain:
        The rule chain each source's request goes through.
    sources:
        One request per source dataset whose rows the derived version contains
        (``owner``, ``kind`` and ``policy`` of that source; same organization,
        purpose and day for all).

    Returns
    -------
    Decision
        The first source's denial (its rule, the reason naming the source), or an
        allow whose ``until`` is the earliest expiry among the sources' grants.
    """
    if not sources:
        return Decision(Effect.DENY, DERIVED_RULE, "derived data without sources is unusable")
    allowed: list[tuple[AccessRequest, Decision]] = []
    for request in sources:
        decision = chain.decide(request)
        if not decision.allowed:
            return Decision(
                Effect.DENY,
                decision.rule,
                f"derived from {request.dataset} (owner {request.owner}): {decision.reason}",
            )
        allowed.append((request, decision))
    untils = [d.until for _, d in allowed if d.until is not None]
    until = min(untils) if untils else None
    return Decision(
        Effect.ALLOW,
        DERIVED_RULE,
        "every source allows it: " + "; ".join(f"{r.dataset}: {d.reason}" for r, d in allowed),
        until,
    )


def combined_grants(
    chain: RuleChain, sources: list[AccessRequest], organizations: list[str]
) -> tuple[Grant, ...]:
    """The policy a derived dataset has: per organization, what every source allows.

    ``sources`` are requests as for :func:`decide_derived` (their organization and
    purpose are replaced); an organization appears when at least one purpose is
    allowed, with the earliest expiry among the allowing grants.
    """
    out: list[Grant] = []
    for org in sorted(set(organizations)):
        by_until: dict[date | None, set[Purpose]] = {}
        for purpose in Purpose:
            asked = [
                AccessRequest(
                    organization=org,
                    dataset=s.dataset,
                    owner=s.owner,
                    kind=s.kind,
                    purpose=purpose,
                    on=s.on,
                    policy=s.policy,
                )
                for s in sources
            ]
            decision = decide_derived(chain, asked)
            if decision.allowed:
                by_until.setdefault(decision.until, set()).add(purpose)
        for until, purposes in sorted(by_until.items(), key=lambda kv: kv[0] or date.max):
            out.append(Grant(org, frozenset(purposes), until))
    return tuple(out)
