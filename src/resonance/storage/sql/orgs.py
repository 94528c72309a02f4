"""Organizations and consortia in SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from resonance.domain.orgs import (
    Consortium,
    ConsortiumMember,
    ConsortiumRole,
    Organization,
)
from resonance.storage import tables as t
from resonance.storage.records import organization_of
from resonance.storage.sql.base import SqlRepoBase


def _org(row: Any) -> Organization:
    return organization_of(row._mapping)


class SqlOrgRepo(SqlRepoBase):
    """:class:`resonance.storage.store.OrgRepo` in SQL."""

    def add_organization(self, org: Organization, *, created_at: str) -> None:
        self.conn.execute(
            t.organizations.insert().values(
                name=org.name,
                display_name=org.display_name,
                roles=sorted(r.value for r in org.roles),
                region=org.region,
                central_enterprise=org.central_enterprise,
                enterprise=org.enterprise,
                created_at=created_at,
            )
        )

    def get_organization(self, name: str) -> Organization | None:
        row = self.conn.execute(
            sa.select(t.organizations).where(t.organizations.c.name == name)
        ).first()
        return _org(row) if row else None

    def list_organizations(self) -> list[Organization]:
        rows = self.conn.execute(sa.select(t.organizations).order_by(t.organizations.c.name))
        return [_org(r) for r in rows]

    def add_consortium(self, consortium: Consortium, *, created_at: str) -> None:
        self.conn.execute(
            t.consortia.insert().values(
                name=consortium.name, industry=consortium.industry, created_at=created_at
            )
        )
        for member in consortium.members:
            self.add_consortium_member(consortium.name, member)

    def add_consortium_member(self, consortium: str, member: ConsortiumMember) -> None:
        self.conn.execute(
            t.consortium_members.insert().values(
                consortium=consortium,
                organization=member.organization,
                roles=sorted(r.value for r in member.roles),
            )
        )

    def _members(self, name: str) -> tuple[ConsortiumMember, ...]:
        rows = self.conn.execute(
            sa.select(t.consortium_members)
            .where(t.consortium_members.c.consortium == name)
            .order_by(t.consortium_members.c.organization)
        )
        return tuple(
            ConsortiumMember(r.organization, frozenset(ConsortiumRole(x) for x in r.roles))
            for r in rows
        )

    def get_consortium(self, name: str) -> Consortium | None:
        row = self.conn.execute(sa.select(t.consortia).where(t.consortia.c.name == name)).first()
        if row is None:
            return None
        return Consortium(row.name, row.industry, self._members(row.name))

    def list_consortia(self, *, industry: str | None = None) -> list[Consortium]:
        stmt = sa.select(t.consortia).order_by(t.consortia.c.name)
        if industry:
            stmt = stmt.where(t.consortia.c.industry == industry)
        return [
            Consortium(r.name, r.industry, self._members(r.name)) for r in self.conn.execute(stmt)
        ]
