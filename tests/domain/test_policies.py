from __future__ import annotations

from datetime import date

import pytest

from resonance.domain.datasets import DatasetKind
from resonance.domain.errors import InvalidInput
from resonance.domain.policies import (
    AccessRequest,
    Effect,
    Policy,
    Purpose,
    RuleChain,
    parse_grant,
)


def _req(
    org: str,
    purpose: Purpose,
    *,
    kind: DatasetKind = DatasetKind.COMMON,
    policy: Policy | None = None,
    on: date = date(2026, 6, 1),
) -> AccessRequest:
    return AccessRequest(org, "ds", "owner", kind, purpose, on, policy)


def test_owner_may_use_own_data_without_policy() -> None:
    assert RuleChain.default().decide(_req("owner", Purpose.DOWNLOAD)).allowed


def test_default_deny_without_grant() -> None:
    d = RuleChain.default().decide(_req("other", Purpose.TRAIN_POOLED))
    assert d.effect is Effect.DENY and d.rule == "default-deny"


def test_grant_allows_only_named_purposes_until_expiry() -> None:
    policy = Policy("ds", (parse_grant("other:train-pooled,evaluate:2026-12-31"),))
    chain = RuleChain.default()
    assert chain.decide(_req("other", Purpose.TRAIN_POOLED, policy=policy)).allowed
    assert not chain.decide(_req("other", Purpose.DOWNLOAD, policy=policy)).allowed
    late = chain.decide(_req("other", Purpose.EVALUATE, policy=policy, on=date(2027, 1, 1)))
    assert not late.allowed and "expired" in late.reason


def test_evaluation_sets_are_sealed_even_with_grants() -> None:
    policy = Policy("ds", (parse_grant("builder:download,train-pooled,evaluate"),))
    chain = RuleChain.default()
    for purpose in Purpose:
        d = chain.decide(_req("builder", purpose, kind=DatasetKind.EVALUATION, policy=policy))
        assert d.rule == "sealed-evaluation" and not d.allowed
    assert chain.decide(_req("owner", Purpose.EVALUATE, kind=DatasetKind.EVALUATION)).allowed
    assert not chain.decide(_req("owner", Purpose.DOWNLOAD, kind=DatasetKind.EVALUATION)).allowed


@pytest.mark.parametrize("text", ["org", "org:", ":download", "org:fly", "org:download:notadate"])
def test_bad_grants_are_rejected(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_grant(text)


def test_an_expired_grant_does_not_hide_a_live_one() -> None:
    policy = Policy(
        "ds",
        (
            parse_grant("other:train-pooled:2026-01-31"),
            parse_grant("other:train-pooled,evaluate:2026-12-31"),
            parse_grant("other:evaluate"),
        ),
    )
    chain = RuleChain.default()
    d = chain.decide(_req("other", Purpose.TRAIN_POOLED, policy=policy))
    assert d.allowed and "2026-12-31" in d.reason
    assert chain.decide(_req("other", Purpose.EVALUATE, policy=policy, on=date(2030, 1, 1))).allowed
    late = chain.decide(_req("other", Purpose.TRAIN_POOLED, policy=policy, on=date(2027, 1, 1)))
    assert not late.allowed and late.reason == "grant expired on 2026-12-31"


def test_a_grant_is_valid_through_its_last_day() -> None:
    policy = Policy("ds", (parse_grant("other:evaluate:2026-06-01"),))
    assert RuleChain.default().decide(_req("other", Purpose.EVALUATE, policy=policy)).allowed
