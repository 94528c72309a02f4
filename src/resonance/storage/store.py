"""The Store interface: one transaction object exposing every repository.

Services open ``with store.transaction() as tx:`` and do all reads and writes
of one use case through ``tx``; the change and its ledger entries commit or
roll back together. Implementations: :class:`resonance.storage.sql.SqlStore`
(SQLite by default, PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from resonance.domain.datasets import Dataset, DatasetKind, DatasetVersion
from resonance.domain.ledger import LedgerEntry
from resonance.domain.orgs import Consortium, ConsortiumMember, Organization
from resonance.domain.policies import Policy


class OrgRepo(Protocol):
    """Organizations and consortia."""

    def add_organization(self, org: Organization, *, created_at: str) -> None: ...
    def get_organization(self, name: str) -> Organization | None: ...
    def list_organizations(self) -> list[Organization]: ...
    def add_consortium(self, consortium: Consortium, *, created_at: str) -> None: ...
    def add_consortium_member(self, consortium: str, member: ConsortiumMember) -> None: ...
    def get_consortium(self, name: str) -> Consortium | None: ...
    def list_consortia(self, *, industry: str | None = None) -> list[Consortium]: ...


class CatalogRepo(Protocol):
    """Datasets and their immutable versions."""

    def add_dataset(self, dataset: Dataset, *, created_at: str) -> None: ...
    def get_dataset(self, name: str) -> Dataset | None: ...
    def list_datasets(
        self,
        *,
        owner: str | None = None,
        kind: DatasetKind | None = None,
        industry: str | None = None,
    ) -> list[Dataset]: ...
    def add_version(self, version: DatasetVersion) -> None: ...
    def get_version(self, dataset: str, number: int | None = None) -> DatasetVersion | None: ...
    def list_versions(self, dataset: str) -> list[DatasetVersion]: ...
    def find_version_by_hash(self, dataset: str, content_hash: str) -> DatasetVersion | None: ...


class PolicyRepo(Protocol):
    """Usage policies, versioned per dataset."""

    def add_policy(self, policy: Policy) -> None: ...
    def get_policy(self, dataset: str) -> Policy | None: ...
    def policy_history(self, dataset: str) -> list[Policy]: ...


class LedgerRepo(Protocol):
    """The hash-chained ledger."""

    def ledger_head(self, *, lock: bool = False) -> LedgerEntry | None: ...
    def append_ledger(self, entry: LedgerEntry) -> None: ...
    def ledger_entries(
        self,
        *,
        after_seq: int = 0,
        limit: int | None = None,
        object_id: str | None = None,
        action: str | None = None,
        actor: str | None = None,
    ) -> list[LedgerEntry]: ...
    def iter_ledger(self, *, batch: int = 1000) -> Iterator[LedgerEntry]: ...
    def recorded_head(self) -> tuple[int, str] | None: ...


class MetaRepo(Protocol):
    """Small key/value settings of the space."""

    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


class Tx(OrgRepo, CatalogRepo, PolicyRepo, LedgerRepo, MetaRepo, Protocol):
    """One unit of work over every repository."""


class Store(Protocol):
    """A metadata store."""

    url: str

    def transaction(self) -> AbstractContextManager[Tx]: ...
    def migrate(self) -> None: ...
    def close(self) -> None: ...
