"""Use cases: set and inspect usage policies."""

from __future__ import annotations

from resonance.domain.errors import DerivedDataset, RoleRequired
from resonance.domain.events import PolicySet
from resonance.domain.policies import Decision, Grant, Policy, Purpose
from resonance.services.access import decide
from resonance.services.catalog import require_dataset, resolve_version
from resonance.services.orgs import require_org
from resonance.services.space import Space, Work


def set_policy(
    space: Space,
    *,
    actor: str,
    dataset: str,
    grants: list[Grant],
    allow_auto_drop: bool = False,
) -> Policy:
    """Replace a dataset's usage policy (owner only); the old one stays in history."""
    with space.work() as w:
        ds = require_dataset(w.tx, dataset)
        require_org(w.tx, actor)
        if ds.derived:
            raise DerivedDataset(
                f"{dataset} is derived data: its policy is computed from the policies of its "
                "sources, never set by its registrant",
                dataset=dataset,
                organization=actor,
            )
        if actor != ds.owner:
            raise RoleRequired(
                f"only the owner ({ds.owner}) sets the policy of {dataset}",
                dataset=dataset,
                organization=actor,
            )
        return write_policy(
            w, actor=actor, dataset=dataset, grants=grants, allow_auto_drop=allow_auto_drop
        )


def write_policy(
    w: Work,
    *,
    actor: str,
    dataset: str,
    grants: list[Grant],
    allow_auto_drop: bool,
    context: dict[str, str] | None = None,
) -> Policy:
    """Store the next version of ``dataset``'s policy inside ``w`` (the caller checked who
    may); every grantee must be an organization of the space. ``context`` joins the event."""
    for g in grants:
        require_org(w.tx, g.organization)
    current = w.tx.get_policy(dataset)
    policy = Policy(
        dataset=dataset,
        grants=tuple(grants),
        allow_auto_drop=allow_auto_drop,
        version=(current.version + 1) if current else 1,
        set_by=actor,
        set_at=w.now,
    )
    w.tx.add_policy(policy)
    w.emit(PolicySet(actor=actor, object_id=dataset, policy=policy, context=context or {}))
    return policy


def get_policy(space: Space, dataset: str) -> Policy | None:
    """The current policy of a dataset (``None`` when none was set: owner-only)."""
    with space.work() as w:
        require_dataset(w.tx, dataset)
        return w.tx.get_policy(dataset)


def policy_history(space: Space, dataset: str) -> list[Policy]:
    """Every policy a dataset has had, oldest first."""
    with space.work() as w:
        require_dataset(w.tx, dataset)
        return w.tx.policy_history(dataset)


def check(space: Space, *, organization: str, dataset: str, purpose: Purpose) -> Decision:
    """What the rule chain would decide for a request (nothing is read or recorded)."""
    with space.work() as w:
        ds = require_dataset(w.tx, dataset)
        require_org(w.tx, organization)
        version = resolve_version(w.tx, dataset)
        return decide(
            w.tx, actor=organization, dataset=ds, version=version, purpose=purpose,
            on=space.today(),
        )  # fmt: skip
