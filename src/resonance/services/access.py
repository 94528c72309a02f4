"""Every read of dataset rows goes through here: policy check, ledger, then the rows."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from resonance.domain.datasets import Dataset, DatasetVersion
from resonance.domain.dsp import Side
from resonance.domain.errors import ArtifactCorrupted, PolicyDenied
from resonance.domain.events import DataAccessDenied, DataAccessed
from resonance.domain.policies import AccessRequest, Decision, Purpose, RuleChain
from resonance.services.artifact_guard import record_corruption, verified_path
from resonance.services.catalog import PARQUET, require_dataset, resolve_version
from resonance.services.orgs import require_org
from resonance.services.space import Space
from resonance.storage.store import Tx


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
    """Rows of a version already authorized by :func:`authorize` (services only).

    The Parquet file is re-hashed against the version's content hash on first use
    in this process (and whenever the file changed since).

    Raises
    ------
    ArtifactCorrupted
        ``RES-114`` when the file does not match its content address or does not
        parse as Parquet (recorded on the ledger).
    """
    path = verified_path(space, version.content_hash, PARQUET, used_for=f"rows of {version.ref}")
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        err = ArtifactCorrupted(
            f"the Parquet file of {version.ref} does not parse: {exc}",
            digest=version.content_hash,
            suffix=PARQUET,
            actual="",
        )
        record_corruption(space, err, used_for=f"rows of {version.ref}")
        raise err from None


def read_version(
    space: Space, *, actor: str, ref: str, purpose: Purpose, context: dict[str, str] | None = None
) -> tuple[DatasetVersion, pa.Table]:
    """Authorize, record and read the rows of a dataset version."""
    grant = authorize(space, actor=actor, ref=ref, purpose=purpose, context=context)
    return grant.version, load_rows(space, grant.version)


def is_remote(tx: Tx, organization: str) -> bool:
    """Whether ``organization`` is a peer space's organization (it holds a contract here).

    Such an organization's work runs inside this space; rows reach it only under ``download``.
    """
    return any(n.side is Side.PROVIDER for n in tx.list_negotiations(organization=organization))


def export_rows(
    space: Space, *, actor: str, ref: str, purpose: Purpose
) -> tuple[DatasetVersion, pa.Table]:
    """Rows that leave the space (an API response, a file), read under the usage policy.

    An organization of a peer space (one holding its access through a contract) takes rows
    out only under ``download``: its training and evaluation run inside the space. Asking
    for rows under another purpose is then recorded as ``data.access_denied`` and raised as
    :class:`PolicyDenied`, whatever the agreement grants for that purpose.
    """
    if purpose is Purpose.DOWNLOAD:
        return read_version(space, actor=actor, ref=ref, purpose=purpose)
    rule = "rows-leave-only-for-download"
    reason = (
        f"rows leave the space only under download; {purpose.value} runs inside the space "
        "(model train, eval run, federation)"
    )
    with space.work() as w:
        require_org(w.tx, actor)
        version = resolve_version(w.tx, ref)
        remote = is_remote(w.tx, actor)
        if remote:
            w.emit(
                DataAccessDenied(
                    actor=actor,
                    object_id=version.ref,
                    purpose=purpose.value,
                    content_hash=version.content_hash,
                    rule=rule,
                    reason=reason,
                )
            )
    if not remote:
        return read_version(space, actor=actor, ref=ref, purpose=purpose)
    raise PolicyDenied(
        f"{actor} may not take rows of {version.ref} out for {purpose.value}: {reason}",
        organization=actor,
        ref=version.ref,
        purpose=purpose.value,
        rule=rule,
    )
