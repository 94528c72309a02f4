"""Every read of dataset rows goes through here: policy check, ledger, then the rows."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from resonance.domain.datasets import Dataset, DatasetVersion
from resonance.domain.errors import PolicyDenied
from resonance.domain.events import DataAccessDenied, DataAccessed
from resonance.domain.policies import AccessRequest, Decision, Purpose, RuleChain
from resonance.services.catalog import PARQUET, require_dataset, resolve_version
from resonance.services.orgs import require_org
from resonance.services.space import Space


@dataclass(frozen=True)
class Grantee:
    """A version the policy lets ``organization`` use, and the decision that allowed it."""

    dataset: Dataset
    version: DatasetVersion
    decision: Decision


def authorize(
    space: Space, *, actor: str, ref: str, purpose: Purpose, context: dict[str, str] | None = None
) -> Grantee:
    """Decide and record a use of ``ref`` by ``actor`` for ``purpose``.

    An allowed use is recorded as ``data.accessed``; a denied one is recorded as
    ``data.access_denied`` (committed) and raised as :class:`PolicyDenied`.
    """
    with space.work() as w:
        require_org(w.tx, actor)
        version = resolve_version(w.tx, ref)
        ds = require_dataset(w.tx, version.dataset)
        request = AccessRequest(
            organization=actor,
            dataset=ds.name,
            owner=ds.owner,
            kind=ds.kind,
            purpose=purpose,
            on=space.today(),
            policy=w.tx.get_policy(ds.name),
        )
        decision = RuleChain.default().decide(request)
        if decision.allowed:
            w.emit(
                DataAccessed(
                    actor=actor,
                    object_id=version.ref,
                    purpose=purpose.value,
                    content_hash=version.content_hash,
                    rule=decision.rule,
                    reason=decision.reason,
                    context=dict(context or {}),
                    rows=version.row_count,
                )
            )
            return Grantee(ds, version, decision)
        w.emit(
            DataAccessDenied(
                actor=actor,
                object_id=version.ref,
                purpose=purpose.value,
                content_hash=version.content_hash,
                rule=decision.rule,
                reason=decision.reason,
                context=dict(context or {}),
            )
        )
    raise PolicyDenied(
        f"{actor} may not use {version.ref} for {purpose.value}: {decision.reason}",
        organization=actor,
        ref=version.ref,
        purpose=purpose.value,
        rule=decision.rule,
    )


def load_rows(space: Space, version: DatasetVersion) -> pa.Table:
    """Rows of a version already authorized by :func:`authorize` (services only)."""
    return pq.read_table(space.artifacts.open(version.content_hash, PARQUET), memory_map=True)


def open_rows(space: Space, version: DatasetVersion) -> pq.ParquetFile:
    """The memory-mapped snapshot of a version already authorized by :func:`authorize`,
    to read in record batches (``iter_batches``) without holding the whole table."""
    return pq.ParquetFile(space.artifacts.open(version.content_hash, PARQUET), memory_map=True)


def open_version(
    space: Space, *, actor: str, ref: str, purpose: Purpose, context: dict[str, str] | None = None
) -> tuple[DatasetVersion, pq.ParquetFile]:
    """Authorize and record a read, then open the version's rows for streaming."""
    grant = authorize(space, actor=actor, ref=ref, purpose=purpose, context=context)
    return grant.version, open_rows(space, grant.version)


def read_version(
    space: Space, *, actor: str, ref: str, purpose: Purpose, context: dict[str, str] | None = None
) -> tuple[DatasetVersion, pa.Table]:
    """Authorize, record and read the rows of a dataset version."""
    grant = authorize(space, actor=actor, ref=ref, purpose=purpose, context=context)
    return grant.version, load_rows(space, grant.version)
