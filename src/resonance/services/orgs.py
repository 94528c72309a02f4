"""Use cases: organizations and consortia."""

from __future__ import annotations

from pathlib import Path

from resonance.domain.errors import AlreadyExists, InvalidInput, NotFound, RoleRequired
from resonance.domain.events import (
    AdministrativeAccess,
    ConsortiumFormed,
    ConsortiumMemberAdded,
    OrganizationRegistered,
)
from resonance.domain.orgs import (
    Consortium,
    ConsortiumMember,
    ConsortiumRole,
    Organization,
    Role,
    check_industry,
    check_slug,
)
from resonance.domain.provinces import check_province
from resonance.services.space import DEFAULT_MAX_INGEST_BYTES, Space
from resonance.storage.store import Tx


def require_org(tx: Tx, name: str) -> Organization:
    """Load an organization or raise ``NotFound``."""
    org = tx.get_organization(name)
    if org is None:
        raise NotFound(f"unknown organization {name!r}", organization=name)
    return org


def require_role(tx: Tx, name: str, *roles: Role) -> Organization:
    """Load an organization and check it holds one of ``roles``."""
    org = require_org(tx, name)
    if not any(org.has_role(r) for r in roles):
        raise RoleRequired(
            f"{name} needs the role {' or '.join(r.value for r in roles)} for this action",
            organization=name,
            roles=[r.value for r in roles],
        )
    return org


def register_organization(
    space: Space,
    *,
    actor: str | None,
    name: str,
    roles: frozenset[Role],
    region: str,
    display_name: str = "",
    central_enterprise: bool = False,
    enterprise: str | None = None,
) -> Organization:
    """Register an organization.

    The first organization of a space must be an operator and registers itself
    (``actor`` may be ``None``); later ones are registered by an operator.
    """
    check_slug(name, what="organization")
    if not region.strip():
        raise InvalidInput("region is required (a province or municipality)", field="region")
    region = check_province(region, what="region")
    org = Organization(
        name, roles, region, display_name or name, central_enterprise, enterprise or None
    )
    with space.work() as w:
        # every writer appends to the ledger: take its lock first, so two first
        # registrations on PostgreSQL cannot both see an empty space
        w.tx.ledger_head(lock=True)
        if w.tx.list_organizations():
            if actor is None:
                raise InvalidInput("say which operator registers the organization (--as)")
            require_role(w.tx, actor, Role.OPERATOR)
        elif Role.OPERATOR not in roles:
            raise RoleRequired("the first organization of a space must be the space operator")
        if w.tx.get_organization(name):
            raise AlreadyExists(f"organization {name!r} already exists", organization=name)
        if org.enterprise is not None:
            parent = w.tx.get_organization(org.enterprise)
            if parent is None or not parent.central_enterprise:
                raise InvalidInput(
                    f"{org.enterprise!r} is not a central enterprise of this space",
                    field="enterprise",
                    value=org.enterprise,
                )
        w.tx.add_organization(org, created_at=w.now)
        w.emit(
            OrganizationRegistered(
                actor=actor or name,
                object_id=name,
                roles=sorted(r.value for r in roles),
                region=org.region,
                central_enterprise=central_enterprise,
                enterprise=org.enterprise,
            )
        )
    return org


def init_space(
    root: str | Path,
    *,
    operator: str,
    region: str,
    db_url: str | None = None,
    name: str | None = None,
    max_ingest_bytes: int = DEFAULT_MAX_INGEST_BYTES,
) -> Space:
    """Create a space with its operator (the organization ``--admin`` acts as by default).

    The operator's name and region are checked before anything is written, so
    bad input leaves no half-made space behind.
    """
    check_slug(operator, what="organization")
    if not region.strip():
        raise InvalidInput("region is required (a province or municipality)", field="region")
    check_province(region, what="region")
    space = Space.init(root, db_url=db_url, name=name, max_ingest_bytes=max_ingest_bytes)
    register_organization(
        space, actor=None, name=operator, roles=frozenset({Role.OPERATOR}), region=region
    )
    with space.work() as w:
        w.tx.set_meta("default_actor", operator)
    return space


def record_admin_access(space: Space, *, organization: str | None, command: str, user: str) -> str:
    """Record a command run in the operator's administrative mode; who it acts as.

    Parameters
    ----------
    organization:
        The organization the command acts as (default: the space's operator, the one
        named at ``init`` or else its only operator).
    command:
        The command, as typed (without its arguments).
    user:
        The local account running it.
    """
    with space.work() as w:
        name = organization or w.tx.get_meta("default_actor")
        if not name:  # a space made without init: its one operator
            operators = [o.name for o in w.tx.list_organizations() if o.has_role(Role.OPERATOR)]
            name = operators[0] if len(operators) == 1 else None
        if not name:
            raise InvalidInput("name the organization to act as: --as ORG")
        require_org(w.tx, name)
        w.emit(AdministrativeAccess(actor=name, object_id=name, command=command, user=user))
    return name


def list_organizations(space: Space) -> list[Organization]:
    """Every organization, by name."""
    with space.work() as w:
        return w.tx.list_organizations()


def _parse_member(text: str) -> ConsortiumMember:
    org, _, roles = text.partition(":")
    if not org or not roles:
        raise InvalidInput(
            f"bad member {text!r}; use ORG:ROLE[,ROLE] with roles compute/model/data/application"
        )
    try:
        parsed = frozenset(ConsortiumRole(r.strip()) for r in roles.split(","))
    except ValueError:
        raise InvalidInput(
            f"bad consortium role in {text!r}; use compute, model, data or application"
        ) from None
    return ConsortiumMember(org, parsed)


def form_consortium(
    space: Space, *, actor: str, name: str, industry: str, members: list[str]
) -> Consortium:
    """Form a consortium for an industry (operator only); members as ``ORG:ROLE,...``."""
    check_slug(name, what="consortium")
    check_industry(industry)
    parsed = tuple(_parse_member(m) for m in members)
    with space.work() as w:
        require_role(w.tx, actor, Role.OPERATOR)
        if w.tx.get_consortium(name):
            raise AlreadyExists(f"consortium {name!r} already exists", consortium=name)
        for m in parsed:
            require_org(w.tx, m.organization)
        consortium = Consortium(name, industry, parsed)
        w.tx.add_consortium(consortium, created_at=w.now)
        w.emit(
            ConsortiumFormed(
                actor=actor,
                object_id=name,
                industry=industry,
                members={m.organization: sorted(r.value for r in m.roles) for m in parsed},
            )
        )
    return consortium


def add_consortium_member(space: Space, *, actor: str, consortium: str, member: str) -> Consortium:
    """Seat another organization in a consortium (operator only)."""
    parsed = _parse_member(member)
    with space.work() as w:
        require_role(w.tx, actor, Role.OPERATOR)
        existing = w.tx.get_consortium(consortium)
        if existing is None:
            raise NotFound(f"unknown consortium {consortium!r}", consortium=consortium)
        require_org(w.tx, parsed.organization)
        if any(m.organization == parsed.organization for m in existing.members):
            raise AlreadyExists(f"{parsed.organization} is already a member of {consortium}")
        w.tx.add_consortium_member(consortium, parsed)
        w.emit(
            ConsortiumMemberAdded(
                actor=actor,
                object_id=consortium,
                organization=parsed.organization,
                roles=sorted(r.value for r in parsed.roles),
            )
        )
        result = w.tx.get_consortium(consortium)
    assert result is not None
    return result


def list_consortia(space: Space, *, industry: str | None = None) -> list[Consortium]:
    """Every consortium, optionally of one industry."""
    with space.work() as w:
        return w.tx.list_consortia(industry=industry)
