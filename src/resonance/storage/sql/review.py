"""The owners' review queue, reviewer delegations and version marks in SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from resonance.domain.review import (
    Delegation,
    Evidence,
    ProposalKind,
    ReviewItem,
    ReviewStatus,
    VersionMark,
)
from resonance.storage.sql.base import SqlRepoBase
from resonance.storage.tables import metadata

# --- tables ---

review_items = sa.Table(
    "review_items",
    metadata,
    sa.Column("id", sa.String(20), primary_key=True),
    sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("dataset", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("current", sa.JSON),
    sa.Column("proposed", sa.JSON),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", sa.String(40)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("applied_in", sa.String(120)),
    sa.ForeignKeyConstraint(
        ["dataset", "version"], ["dataset_versions.dataset", "dataset_versions.number"]
    ),
    sa.UniqueConstraint("dataset", "version", "row", "kind", name="uq_review_items_row_kind"),
    sa.Index("ix_review_items_owner_status", "owner", "status"),
)

review_delegations = sa.Table(
    "review_delegations",
    metadata,
    sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), primary_key=True),
    sa.Column("delegate", sa.String(64), sa.ForeignKey("organizations.name"), primary_key=True),
    sa.Column("granted_at", sa.String(40), nullable=False),
)

version_marks = sa.Table(
    "dataset_version_marks",
    metadata,
    sa.Column("dataset", sa.String(64), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("marked_at", sa.String(40), nullable=False),
    sa.Column("marked_by", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(
        ["dataset", "number"], ["dataset_versions.dataset", "dataset_versions.number"]
    ),
)


def _item(row: Any) -> ReviewItem:
    return ReviewItem(
        id=row.id,
        owner=row.owner,
        dataset=row.dataset,
        version=row.version,
        row=row.row,
        kind=ProposalKind(row.kind),
        current=row.current,
        proposed=row.proposed,
        evidence=tuple(Evidence.from_dict(e) for e in row.evidence),
        status=ReviewStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        reason=row.reason,
        applied_in=row.applied_in,
    )


def _values(item: ReviewItem) -> dict[str, Any]:
    d = item.to_dict()
    d.pop("ref")
    return d


class SqlReviewRepo(SqlRepoBase):
    """:class:`resonance.storage.store.ReviewRepo` in SQL."""

    def add_review(self, item: ReviewItem) -> None:
        self.conn.execute(review_items.insert().values(**_values(item)))

    def update_review(self, item: ReviewItem) -> None:
        values = {k: v for k, v in _values(item).items() if k != "id"}
        done = self.conn.execute(
            review_items.update().where(review_items.c.id == item.id).values(**values)
        )
        if done.rowcount != 1:
            raise KeyError(item.id)

    def get_review(self, item_id: str, *, lock: bool = False) -> ReviewItem | None:
        stmt = sa.select(review_items).where(review_items.c.id == item_id)
        row = self.conn.execute(self._for_update(stmt) if lock else stmt).first()
        return _item(row) if row else None

    def list_reviews(
        self,
        *,
        owner: str | None = None,
        dataset: str | None = None,
        version: int | None = None,
        status: ReviewStatus | None = None,
        kind: ProposalKind | None = None,
        ids: list[str] | None = None,
    ) -> list[ReviewItem]:
        r = review_items
        stmt = sa.select(r).order_by(r.c.dataset, r.c.version, r.c.row, r.c.kind)
        if owner is not None:
            stmt = stmt.where(r.c.owner == owner)
        if dataset is not None:
            stmt = stmt.where(r.c.dataset == dataset)
        if version is not None:
            stmt = stmt.where(r.c.version == version)
        if status is not None:
            stmt = stmt.where(r.c.status == status.value)
        if kind is not None:
            stmt = stmt.where(r.c.kind == kind.value)
        if ids is not None:
            stmt = stmt.where(r.c.id.in_(ids))
        return [_item(row) for row in self.conn.execute(stmt)]

    def count_reviews(self, *, owner: str | None = None) -> dict[tuple[str, str], int]:
        r = review_items
        stmt = sa.select(r.c.owner, r.c.status, sa.func.count()).group_by(r.c.owner, r.c.status)
        if owner is not None:
            stmt = stmt.where(r.c.owner == owner)
        return {(o, s): int(n) for o, s, n in self.conn.execute(stmt)}

    def add_delegation(self, delegation: Delegation) -> None:
        self.conn.execute(
            review_delegations.insert().values(
                owner=delegation.owner,
                delegate=delegation.delegate,
                granted_at=delegation.granted_at,
            )
        )

    def remove_delegation(self, owner: str, delegate: str) -> bool:
        d = review_delegations
        done = self.conn.execute(d.delete().where(d.c.owner == owner, d.c.delegate == delegate))
        return bool(done.rowcount)

    def list_delegations(
        self, *, owner: str | None = None, delegate: str | None = None
    ) -> list[Delegation]:
        d = review_delegations
        stmt = sa.select(d).order_by(d.c.owner, d.c.delegate)
        if owner is not None:
            stmt = stmt.where(d.c.owner == owner)
        if delegate is not None:
            stmt = stmt.where(d.c.delegate == delegate)
        return [Delegation(r.owner, r.delegate, r.granted_at) for r in self.conn.execute(stmt)]

    def mark_version(self, mark: VersionMark) -> None:
        m = version_marks
        values = {
            "status": mark.status,
            "marked_at": mark.marked_at,
            "marked_by": mark.marked_by,
            "reason": mark.reason,
        }
        done = self.conn.execute(
            m.update().where(m.c.dataset == mark.dataset, m.c.number == mark.number).values(values)
        )
        if not done.rowcount:
            self.conn.execute(m.insert().values(dataset=mark.dataset, number=mark.number, **values))

    def version_marks(self, dataset: str) -> dict[int, VersionMark]:
        m = version_marks
        rows = self.conn.execute(sa.select(m).where(m.c.dataset == dataset).order_by(m.c.number))
        return {
            r.number: VersionMark(r.dataset, r.number, r.status, r.marked_at, r.marked_by, r.reason)
            for r in rows
        }
