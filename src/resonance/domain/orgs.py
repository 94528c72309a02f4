"""Organizations, roles and consortia."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from resonance.domain.errors import InvalidInput
from resonance.domain.industries import INDUSTRIES

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class Role(StrEnum):
    """What an organization does in the space."""

    OPERATOR = "operator"
    DATA_HOLDER = "data_holder"
    MODEL_BUILDER = "model_builder"
    EVALUATOR = "evaluator"
    APP_DEVELOPER = "app_developer"
    AUTHORITY = "authority"
    COMPUTE = "compute"  # offers the compute the space's jobs run on (a consortium seat)


class ConsortiumRole(StrEnum):
    """A member's contribution to a consortium (as the action lists them)."""

    COMPUTE = "compute"
    MODEL = "model"
    DATA = "data"
    APPLICATION = "application"


# The organization role that backs each consortium seat: a seat counts only when
# the organization holding it really has that role in the space.
SEAT_ROLES: dict[ConsortiumRole, Role] = {
    ConsortiumRole.COMPUTE: Role.COMPUTE,
    ConsortiumRole.MODEL: Role.MODEL_BUILDER,
    ConsortiumRole.DATA: Role.DATA_HOLDER,
    ConsortiumRole.APPLICATION: Role.APP_DEVELOPER,
}


def check_slug(value: str, *, what: str) -> str:
    """Return ``value`` if it is a valid identifier, else raise ``InvalidInput``.

    Identifiers are lower-case, start with a letter or digit and hold only
    ``a-z 0-9 . _ -`` (at most 63 characters).
    """
    if not _SLUG.fullmatch(value):
        raise InvalidInput(
            f"{what} {value!r} is not a valid identifier: use lower-case letters, digits, "
            "'.', '_' or '-' (at most 63 characters)",
            field=what,
            value=value,
        )
    return value


def check_industry(industry: str) -> str:
    """Return ``industry`` if it is one of the action's 20 industries."""
    if industry not in INDUSTRIES:
        raise InvalidInput(
            f"unknown industry {industry!r}; choose one of: {', '.join(INDUSTRIES)}",
            field="industry",
            value=industry,
        )
    return industry


def parse_roles(values: list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Parse role names, raising ``InvalidInput`` on an unknown one."""
    roles = set()
    for value in values:
        try:
            roles.add(Role(value.strip().replace("-", "_")))
        except ValueError:
            raise InvalidInput(
                f"unknown role {value!r}; choose from {', '.join(r.value for r in Role)}",
                field="role",
                value=value,
            ) from None
    if not roles:
        raise InvalidInput("an organization needs at least one role", field="role")
    return frozenset(roles)


@dataclass(frozen=True)
class Organization:
    """A member of the space."""

    name: str
    roles: frozenset[Role]
    region: str
    display_name: str = ""
    central_enterprise: bool = False
    enterprise: str | None = None  # the central enterprise this organization belongs to

    def has_role(self, role: Role) -> bool:
        """Return True when the organization holds ``role``."""
        return role in self.roles


@dataclass(frozen=True)
class ConsortiumMember:
    """An organization's seat in a consortium."""

    organization: str
    roles: frozenset[ConsortiumRole]


@dataclass(frozen=True)
class Consortium:
    """An industry consortium formed by the space operator."""

    name: str
    industry: str
    members: tuple[ConsortiumMember, ...] = field(default_factory=tuple)
