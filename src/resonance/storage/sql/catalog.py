"""Datasets, versions and policies in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from resonance.domain.datasets import Dataset, DatasetKind, DatasetVersion
from resonance.domain.policies import Grant, Policy
from resonance.domain.registry import DatasetEntry
from resonance.storage import tables as t
from resonance.storage.records import dataset_of, version_of
from resonance.storage.sql.base import SqlRepoBase
from resonance.storage.sql.review import version_marks


def _dataset(row: Any) -> Dataset:
    return dataset_of(row._mapping)


def _version(row: Any) -> DatasetVersion:
    return version_of(row._asdict())  # one dict: RowMapping.get is slow on missing keys


def _policy(row: Any) -> Policy:
    return Policy(
        dataset=row.dataset,
        grants=tuple(Grant.from_dict(g) for g in row.grants),
        allow_auto_drop=bool(row.allow_auto_drop),
        version=row.version,
        set_by=row.set_by,
        set_at=row.set_at,
    )


def _kept(v: sa.Table) -> sa.ColumnElement[bool]:
    """Versions that may be a dataset's latest: all but rejected loop candidates."""
    m = version_marks
    return ~sa.exists().where(
        m.c.dataset == v.c.dataset, m.c.number == v.c.number, m.c.status == "rejected"
    )


class SqlCatalogRepo(SqlRepoBase):
    """:class:`CatalogRepo` and :class:`PolicyRepo` in SQL."""

    def add_dataset(self, dataset: Dataset, *, created_at: str) -> None:
        self.conn.execute(
            t.datasets.insert().values(
                name=dataset.name,
                owner=dataset.owner,
                kind=dataset.kind.value,
                industry=dataset.industry,
                scenario=dataset.scenario,
                description=dataset.description,
                label=dataset.label.to_dict() if dataset.label else None,
                group_key=dataset.group_key,
                time_column=dataset.time_column,
                created_at=created_at,
                derived=dataset.derived,
            )
        )

    def get_dataset(self, name: str) -> Dataset | None:
        row = self.conn.execute(sa.select(t.datasets).where(t.datasets.c.name == name)).first()
        return _dataset(row) if row else None

    def list_datasets(
        self,
        *,
        owner: str | None = None,
        kind: DatasetKind | None = None,
        industry: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Dataset]:
        stmt = sa.select(t.datasets).order_by(t.datasets.c.name)
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        if owner:
            stmt = stmt.where(t.datasets.c.owner == owner)
        if kind:
            stmt = stmt.where(t.datasets.c.kind == kind.value)
        if industry:
            stmt = stmt.where(t.datasets.c.industry == industry)
        return [_dataset(r) for r in self.conn.execute(stmt)]

    def add_version(self, version: DatasetVersion) -> None:
        self.conn.execute(
            t.dataset_versions.insert().values(
                dataset=version.dataset,
                number=version.number,
                content_hash=version.content_hash,
                source_hash=version.source_hash,
                row_count=version.row_count,
                schema=version.schema.to_list(),
                parents=list(version.parents),
                transformation=version.transformation.to_dict(),
                validation=version.validation,
                profile=version.profile,
                created_at=version.created_at,
                created_by=version.created_by,
                sources=[s.to_dict() for s in version.sources] or None,
                provenance=version.provenance,
                verdict=version.verdict,
            )
        )

    def get_version(self, dataset: str, number: int | None = None) -> DatasetVersion | None:
        v = t.dataset_versions
        stmt = sa.select(v).where(v.c.dataset == dataset)
        stmt = stmt.where(v.c.number == number) if number is not None else stmt.where(_kept(v))
        row = self.conn.execute(stmt.order_by(v.c.number.desc()).limit(1)).first()
        return _version(row) if row else None

    def last_version_number(self, dataset: str) -> int:
        v = t.dataset_versions
        found = self.conn.execute(
            sa.select(sa.func.max(v.c.number)).where(v.c.dataset == dataset)
        ).scalar()
        return int(found or 0)

    def list_versions(self, dataset: str) -> list[DatasetVersion]:
        v = t.dataset_versions
        rows = self.conn.execute(sa.select(v).where(v.c.dataset == dataset).order_by(v.c.number))
        return [_version(r) for r in rows]

    def latest_versions(
        self,
        *,
        with_validation: bool = True,
        with_profile: bool = True,
        brief: bool = False,
        datasets: Sequence[str] | None = None,
    ) -> dict[str, DatasetVersion]:
        v = t.dataset_versions
        top = sa.select(v.c.dataset, sa.func.max(v.c.number).label("number")).where(_kept(v))
        if datasets is not None:
            top = top.where(v.c.dataset.in_(list(datasets)))
        top_q = top.group_by(v.c.dataset).subquery()
        wanted = {
            "validation": with_validation and not brief,
            "profile": with_profile and not brief,
        }
        skip = {name for name, keep in wanted.items() if not keep} | (
            {"schema"} if brief else set()
        )
        cols: list[Any] = [c for c in v.c if c.name not in skip]
        if brief and with_validation:  # the verdict and warnings only, read in the database
            cols += [v.c.validation["ok"].label("v_ok"), v.c.validation["warnings"].label("v_warn")]
        stmt = sa.select(*cols).join(
            top_q, sa.and_(v.c.dataset == top_q.c.dataset, v.c.number == top_q.c.number)
        )
        return {r.dataset: _version(r) for r in self.conn.execute(stmt)}

    def registry_datasets(self) -> list[DatasetEntry]:
        d, v, o = t.datasets, t.dataset_versions, t.organizations
        top = (
            sa.select(v.c.dataset, sa.func.max(v.c.number).label("number"))
            .where(_kept(v))
            .group_by(v.c.dataset)
            .subquery()
        )
        stmt = (
            sa.select(
                d.c.name,
                d.c.industry,
                d.c.kind,
                d.c.owner,
                sa.func.coalesce(o.c.region, ""),
                d.c.scenario,
                top.c.number.label("v_number"),
                v.c.row_count,
                v.c.verdict,
            )
            .select_from(d)
            .outerjoin(o, o.c.name == d.c.owner)
            .outerjoin(top, top.c.dataset == d.c.name)
            .outerjoin(v, sa.and_(v.c.dataset == top.c.dataset, v.c.number == top.c.number))
            .where(d.c.kind != DatasetKind.EVALUATION.value, d.c.derived == sa.false())
            .order_by(d.c.name)
        )
        return [
            DatasetEntry(
                name,
                industry,
                kind,
                owner,
                region,
                scenario,
                f"{name}@{number}" if number is not None else None,
                rows,
                verdict if number is not None and verdict else "none",
            )
            for name, industry, kind, owner, region, scenario, number, rows, verdict in (
                self.conn.execute(stmt).all()  # rows unpack as tuples; fetched at once
            )
        ]

    def find_version_by_hash(self, dataset: str, content_hash: str) -> DatasetVersion | None:
        v = t.dataset_versions
        row = self.conn.execute(
            sa.select(v)
            .where(v.c.dataset == dataset, v.c.content_hash == content_hash)
            .order_by(v.c.number)
            .limit(1)
        ).first()
        return _version(row) if row else None

    def find_version_by_source(self, dataset: str, source_hash: str) -> DatasetVersion | None:
        v = t.dataset_versions
        row = self.conn.execute(
            sa.select(v)
            .where(v.c.dataset == dataset, v.c.source_hash == source_hash)
            .order_by(v.c.number)
            .limit(1)
        ).first()
        return _version(row) if row else None

    def add_policy(self, policy: Policy) -> None:
        self.conn.execute(
            t.policies.insert().values(
                dataset=policy.dataset,
                version=policy.version,
                grants=[g.to_dict() for g in policy.grants],
                allow_auto_drop=policy.allow_auto_drop,
                set_by=policy.set_by,
                set_at=policy.set_at,
            )
        )

    def get_policy(self, dataset: str) -> Policy | None:
        p = t.policies
        row = self.conn.execute(
            sa.select(p).where(p.c.dataset == dataset).order_by(p.c.version.desc()).limit(1)
        ).first()
        return _policy(row) if row else None

    def policy_history(self, dataset: str) -> list[Policy]:
        p = t.policies
        rows = self.conn.execute(sa.select(p).where(p.c.dataset == dataset).order_by(p.c.version))
        return [_policy(r) for r in rows]
