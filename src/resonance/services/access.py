"""Every read of dataset rows goes through here: policy check, ledger, then the rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from resonance.domain.datasets import Dataset, DatasetVersion, SourceRows
from resonance.domain.dsp import Side
from resonance.domain.errors import ArtifactCorrupted, PolicyDenied
from resonance.domain.events import DataAccessDenied, DataAccessed
from resonance.domain.policies import (
    AccessRequest,
    Decision,
    Grant,
    Purpose,
    RuleChain,
    combined_grants,
    decide_derived,
)
from resonance.services.artifact_guard import record_corruption, verified_path
from resonance.services.catalog import PARQUET, require_dataset, resolve_version
from resonance.services.orgs import require_org
from resonance.services.space import Space
from resonance.storage.store import Tx

_T = TypeVar("_T")


@dataclass(frozen=True)
class Grantee:
    """A version the policy lets ``organization`` use, and the decision that allowed it."""

    dataset: Dataset
    version: DatasetVersion
    decision: Decision


def authorize(
    space: Space,
    *,
    actor: str,
    ref: str,
    purpose: Purpose,
    context: dict[str, str] | None = None,
    release: bool = False,
) -> Grantee:
    """Decide and record a use of ``ref`` by ``actor`` for ``purpose``.

    An allowed use is recorded as ``data.accessed``; a denied one is recorded as
    ``data.access_denied`` (committed) and raised as :class:`PolicyDenied`.
    ``release`` marks a use that hands the rows to ``actor`` (only ``download``
    allows that); every other use is the platform's work inside the space.
    """
    with space.work() as w:
        require_org(w.tx, actor)
        version = resolve_version(w.tx, ref)
        ds = require_dataset(w.tx, version.dataset)
        decision = decide(
            w.tx, actor=actor, dataset=ds, version=version, purpose=purpose,
            on=space.today(), release=release,
        )  # fmt: skip
        event = _access_event(
            actor=actor,
            version=version,
            purpose=purpose,
            decision=decision,
            context=context,
            release=release,
        )
        w.emit(event)
        if decision.allowed:
            return Grantee(ds, version, decision)
    raise PolicyDenied(
        f"{actor} may not use {version.ref} for {purpose.value}: {decision.reason}",
        organization=actor,
        ref=version.ref,
        purpose=purpose.value,
        rule=decision.rule,
    )


def _access_event(
    *,
    actor: str,
    version: DatasetVersion,
    purpose: Purpose,
    decision: Decision,
    context: dict[str, str] | None,
    release: bool,
) -> DataAccessed | DataAccessDenied:
    """The ledger's record of one decided use: ``data.accessed`` or ``data.access_denied``."""
    common: dict[str, Any] = {
        "actor": actor,
        "object_id": version.ref,
        "purpose": purpose.value,
        "content_hash": version.content_hash,
        "rule": decision.rule,
        "reason": decision.reason,
        "context": dict(context or {}),
        "release": "rows" if release else None,
        "sources": [x.ref for x in version.sources] if version.is_derived else None,
    }
    if decision.allowed:
        return DataAccessed(**common, rows=version.row_count)
    return DataAccessDenied(**common)


def source_requests(
    tx: Tx,
    version: DatasetVersion,
    *,
    actor: str,
    purpose: Purpose,
    on: date,
    release: bool = False,
) -> list[AccessRequest]:
    """One request per dataset whose rows ``version`` contains, under that dataset's policy."""
    out = []
    for name in sorted({s.dataset for s in version.source_rows()}):
        source = require_dataset(tx, name)
        out.append(
            AccessRequest(
                organization=actor,
                dataset=name,
                owner=source.owner,
                kind=source.kind,
                purpose=purpose,
                on=on,
                policy=tx.get_policy(name),
                releases_rows=release,
            )
        )
    return out


def decide(
    tx: Tx,
    *,
    actor: str,
    dataset: Dataset,
    version: DatasetVersion,
    purpose: Purpose,
    on: date,
    release: bool = False,
) -> Decision:
    """The rule chain's decision on a use of ``version`` (nothing recorded).

    A version made from other versions is checked against the policy of every
    source its rows came from (the most restrictive combination, the earliest
    expiry); its own dataset's owner or policy plays no part, so the registrant of
    a derived dataset gains nothing by registering it.
    """
    chain = RuleChain.default()
    if version.is_derived or dataset.derived:
        sources = (
            source_requests(tx, version, actor=actor, purpose=purpose, on=on, release=release)
            if version.is_derived
            else []  # a derived dataset's version without provenance is usable by nobody
        )
        return decide_derived(chain, sources)
    request = AccessRequest(
        organization=actor,
        dataset=dataset.name,
        owner=dataset.owner,
        kind=dataset.kind,
        purpose=purpose,
        on=on,
        policy=tx.get_policy(dataset.name),
        releases_rows=release,
    )
    return chain.decide(request)


def derived_policy(tx: Tx, version: DatasetVersion, *, on: date) -> tuple[Grant, ...]:
    """What each organization may do with a derived version: what all its sources allow."""
    sources = source_requests(tx, version, actor="", purpose=Purpose.DOWNLOAD, on=on)
    orgs = [o.name for o in tx.list_organizations()]
    return combined_grants(RuleChain.default(), sources, orgs)


@dataclass(frozen=True)
class Derivation:
    """Where a derived version's rows came from and what every source allows."""

    ref: str
    sources: tuple[SourceRows, ...]
    allowed: tuple[Grant, ...]

    def summary(self) -> str:
        """``derived from plant-a@1 (280 rows), ...; allowed purposes: ...``."""
        src = ", ".join(f"{s.ref} ({s.rows:,} rows)" for s in self.sources)
        allowed = "; ".join(
            f"{g.organization}: {', '.join(sorted(p.value for p in g.purposes))}"
            + (f" until {g.until.isoformat()}" if g.until else "")
            for g in self.allowed
        )
        return f"derived from {src}; allowed purposes: {allowed or 'none'}"

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "ref": self.ref,
            "sources": [s.to_dict() for s in self.sources],
            "allowed": [g.to_dict() for g in self.allowed],
            "summary": self.summary(),
        }


def derivation(space: Space, version: DatasetVersion) -> Derivation | None:
    """The sources and computed policy of a derived version (``None`` for an ingested one)."""
    if not version.is_derived:
        return None
    with space.work() as w:
        allowed = derived_policy(w.tx, version, on=space.today())
    return Derivation(version.ref, version.sources, allowed)


def load_rows(space: Space, version: DatasetVersion) -> pa.Table:
    """Rows of a version already authorized by :func:`authorize` (services only).

    The Parquet file is re-hashed against the version's content hash on first use
    in this process (and whenever the file changed since).

    Raises
    ------
    ArtifactCorrupted
        ``RES-114`` when the file does not match its content address or does not
        parse as Parquet (recorded on the ledger).
    """
    return _parquet(space, version, lambda path: pq.read_table(path, memory_map=True))


def open_rows(space: Space, version: DatasetVersion) -> pq.ParquetFile:
    """The memory-mapped snapshot of a version already authorized by :func:`authorize`,
    to read in record batches (``iter_batches``) without holding the whole table.

    Verified against its content address like :func:`load_rows` (same errors).
    """
    return _parquet(space, version, lambda path: pq.ParquetFile(path, memory_map=True))


def _parquet(space: Space, version: DatasetVersion, read: Callable[[Path], _T]) -> _T:
    """``read`` of the version's verified Parquet file; a file that does not parse is
    recorded and raised as ``ArtifactCorrupted``."""
    path = verified_path(space, version.content_hash, PARQUET, used_for=f"rows of {version.ref}")
    try:
        return read(path)
    except (pa.ArrowInvalid, OSError) as exc:
        err = ArtifactCorrupted(
            f"the Parquet file of {version.ref} does not parse: {exc}",
            digest=version.content_hash,
            suffix=PARQUET,
            actual="",
        )
        record_corruption(space, err, used_for=f"rows of {version.ref}")
        raise err from None


def open_version(
    space: Space,
    *,
    actor: str,
    ref: str,
    purpose: Purpose = Purpose.DOWNLOAD,
    context: dict[str, str] | None = None,
) -> tuple[DatasetVersion, pq.ParquetFile]:
    """Authorize and record a read that takes rows out, then open them for streaming.

    Rows leave the space only under ``download`` (see :func:`read_version`).
    """
    grant = authorize(space, actor=actor, ref=ref, purpose=purpose, context=context, release=True)
    return grant.version, open_rows(space, grant.version)


def read_version(
    space: Space,
    *,
    actor: str,
    ref: str,
    purpose: Purpose = Purpose.DOWNLOAD,
    context: dict[str, str] | None = None,
) -> tuple[DatasetVersion, pa.Table]:
    """Authorize, record and hand over the rows of a dataset version.

    Rows leave the space only under ``download`` (a grant, or ownership): any other
    purpose is denied by the ``rows-leave-only-under-download`` rule, recorded as
    ``data.access_denied`` and raised as ``PolicyDenied`` (RES-120). In-space work
    uses :func:`authorize` and :func:`load_rows` instead.
    """
    grant = authorize(space, actor=actor, ref=ref, purpose=purpose, context=context, release=True)
    return grant.version, load_rows(space, grant.version)


def is_remote(tx: Tx, organization: str) -> bool:
    """Whether ``organization`` is a peer space's organization (it holds a contract here).

    Such an organization's work runs inside this space; rows reach it only under ``download``.
    """
    return any(n.side is Side.PROVIDER for n in tx.list_negotiations(organization=organization))
