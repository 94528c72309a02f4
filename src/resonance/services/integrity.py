"""Use cases: migrate legacy pickled models, re-hash every artifact.

Nothing here unpickles a file a user could have written: a legacy ``.joblib``
model is read only when its bytes hash to the address recorded both in the model
version and in the ``model.trained`` entry of the hash chain (so the platform
wrote it), and is then rewritten in the code-free format of
:mod:`resonance.training.model_format`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from resonance.domain.events import ModelMigrated, StoreUpgraded
from resonance.domain.orgs import Role
from resonance.domain.refs import ref_name
from resonance.domain.state_check import Difference, StateView, compare, replay
from resonance.services.orgs import require_role
from resonance.services.space import Space
from resonance.services.training import LEGACY_SUFFIX, MODEL_SUFFIX
from resonance.storage.artifacts import sha256_file
from resonance.storage.store import Tx
from resonance.training import model_format
from resonance.training.trainers import FittedModel


@dataclass(frozen=True)
class MigratedModel:
    """Outcome of migrating one model version."""

    ref: str
    status: str  # "migrated", "already" or "refused"
    old_hash: str
    new_hash: str = ""
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "ref": self.ref,
            "status": self.status,
            "old_hash": self.old_hash,
            "new_hash": self.new_hash,
            "reason": self.reason,
        }


def _trusted_pickle(space: Space, ref: str, digest: str) -> str:
    """Why the legacy file of ``ref`` may not be read ("" when it may)."""
    path = space.artifacts.path(digest, LEGACY_SUFFIX)
    if sha256_file(path) != digest:
        return "the pickle's bytes do not match the recorded content address"
    with space.work() as w:
        trained = w.tx.ledger_entries(object_id=ref, action="model.trained", limit=None)
    if not any(e.payload.get("artifact_hash") == digest for e in trained):
        return "no model.trained ledger entry records this content address"
    return ""


@dataclass(frozen=True)
class StoreUpgrade:
    """The metadata store's migration heads before and after an upgrade."""

    before: tuple[str, ...]
    after: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """Whether any migration ran."""
        return self.before != self.after

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"before": list(self.before), "after": list(self.after), "changed": self.changed}


def upgrade_store(space: Space, *, actor: str) -> StoreUpgrade:
    """Bring the metadata store of a space made by an earlier release to this release's
    schema: every migration branch to its head (operator only; idempotent).

    Each migration runs in one transaction with its data changes (e.g. ``0020_verdict``
    fills the new column from the stored reports), so a failed upgrade leaves the store
    as it was. A change is recorded as ``space.store_upgraded`` (heads before and after).
    """
    with space.work() as w:
        require_role(w.tx, actor, Role.OPERATOR)
    before = tuple(sorted(space.store.current_revisions()))
    space.store.migrate()
    after = tuple(sorted(space.store.current_revisions()))
    out = StoreUpgrade(before, after)
    if out.changed:
        with space.work() as w:
            w.emit(
                StoreUpgraded(
                    actor=actor, object_id=space.config.name, before=list(before), after=list(after)
                )
            )
    return out


def migrate_models(space: Space, *, actor: str) -> list[MigratedModel]:
    """Rewrite every model version still stored as a pickle into the code-free format.

    Only the space operator runs it. A file is unpickled only when it hashes to the
    address the model version and its ``model.trained`` ledger entry record; any other
    pickle is refused (left untouched, never executed). Each migration updates the
    version's artifact address and records ``model.migrated`` (old and new hash).
    """
    import joblib  # only for files proven to be the platform's own (see above)

    with space.work() as w:
        require_role(w.tx, actor, Role.OPERATOR)
        versions = w.tx.list_model_versions()
    out: list[MigratedModel] = []
    for v in versions:
        digest = v.artifact_hash
        if space.artifacts.exists(digest, MODEL_SUFFIX):
            out.append(MigratedModel(v.ref, "already", digest, digest))
            continue
        if not space.artifacts.exists(digest, LEGACY_SUFFIX):
            out.append(MigratedModel(v.ref, "refused", digest, reason="model file missing"))
            continue
        reason = _trusted_pickle(space, v.ref, digest)
        if reason:
            out.append(MigratedModel(v.ref, "refused", digest, reason=reason))
            continue
        model = joblib.load(space.artifacts.path(digest, LEGACY_SUFFIX))
        if not isinstance(model, FittedModel):
            out.append(MigratedModel(v.ref, "refused", digest, reason="not a fitted model"))
            continue
        new, _ = space.artifacts.put_bytes(model_format.dumps(model), MODEL_SUFFIX)
        with space.work() as w:
            w.tx.set_model_artifact(v.name, v.number, new)
            w.emit(
                ModelMigrated(
                    actor=actor,
                    object_id=v.ref,
                    old_hash=digest,
                    artifact_hash=new,
                    format="rmodel",
                )
            )
        space.artifacts.remove(digest, LEGACY_SUFFIX)
        out.append(MigratedModel(v.ref, "migrated", digest, new))
    return out


@dataclass
class ArtifactReport:
    """Result of :func:`verify_artifacts`."""

    checked: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every artifact hashes to its address and every referenced one exists."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {"ok": self.ok, "checked": self.checked, "problems": self.problems}


def verify_artifacts(space: Space) -> ArtifactReport:
    """Re-hash every stored artifact and check that every referenced one exists.

    Dataset versions reference ``<content_hash>.parquet``; model versions
    ``<artifact_hash>.rmodel`` (a legacy ``.joblib`` is reported as unmigrated).
    """
    report = ArtifactReport()
    for digest, suffix, path in space.artifacts.iter_artifacts():
        report.checked += 1
        actual = sha256_file(path)
        if actual != digest:
            report.problems.append(
                {
                    "artifact": digest + suffix,
                    "problem": "bytes do not match the address",
                    "actual": actual,
                }
            )
    with space.work() as w:
        versions = [v for d in w.tx.list_datasets() for v in w.tx.list_versions(d.name)]
        models = w.tx.list_model_versions()
    for dv in versions:
        if not space.artifacts.exists(dv.content_hash, ".parquet"):
            report.problems.append(
                {"artifact": dv.content_hash + ".parquet", "problem": "missing", "object": dv.ref}
            )
    for mv in models:
        if space.artifacts.exists(mv.artifact_hash, MODEL_SUFFIX):
            continue
        legacy = space.artifacts.exists(mv.artifact_hash, LEGACY_SUFFIX)
        report.problems.append(
            {
                "artifact": mv.artifact_hash + (LEGACY_SUFFIX if legacy else MODEL_SUFFIX),
                "problem": "stored as a pickle; run 'resonance admin migrate-models'"
                if legacy
                else "missing",
                "object": mv.ref,
            }
        )
    return report


def _tables(tx: Tx) -> StateView:
    view = StateView()
    for ds in tx.list_datasets():
        history = tx.policy_history(ds.name)
        if history:
            view.policy_versions[ds.name] = len(history)
            current = tx.get_policy(ds.name)
            if current is not None:
                view.policies[ds.name] = current.to_dict()
        for v in tx.list_versions(ds.name):
            view.versions[v.ref] = v.content_hash
        for number, mark in tx.version_marks(ds.name).items():
            view.marks[f"{ds.name}@{number}"] = mark.status
        for item in tx.list_reviews(dataset=ds.name):
            view.reviews[item.id] = (item.status.value, item.decided_by, item.applied_in)
    view.delegations = {f"{d.owner}/{d.delegate}" for d in tx.list_delegations()}
    for org in tx.list_organizations():
        view.roles[org.name] = tuple(sorted(r.value for r in org.roles))
    for run in tx.list_eval_runs():
        view.eval_runs[(ref_name(run.model), run.suite)] += 1
    for mv in tx.list_model_versions():
        view.models[mv.ref] = mv.artifact_hash
    view.registry |= {f"scenario:{x.name}" for x in tx.list_scenarios()}
    view.registry |= {f"model:{x.name}" for x in tx.list_model_entries()}
    view.registry |= {f"case:{x.name}" for x in tx.list_cases()}
    view.registry |= {f"space:{x.name}" for x in tx.list_space_entries()}
    view.registry |= {f"key_city:{x.province}/{x.city}" for x in tx.list_key_cities()}
    view.registry |= {f"key_industry:{x.holder}/{x.industry}" for x in tx.list_key_industries()}
    return view


@dataclass
class StateReport:
    """Result of :func:`verify_state`."""

    entries: int
    differences: list[Difference]

    @property
    def ok(self) -> bool:
        """True when the tables hold exactly what the ledger's events imply."""
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "ok": self.ok,
            "entries": self.entries,
            "differences": [d.to_dict() for d in self.differences],
        }


def verify_state(space: Space) -> StateReport:
    """Replay the ledger's events and compare with the state tables.

    Covers policies (current grants and how many were set), organizations' roles,
    evaluation runs per model and suite (what query budgets count), dataset
    versions and their content hashes, model versions and their artifacts,
    registry entries, and the review queue: version marks (a rejected loop candidate
    is never a dataset's latest), review delegations, and each review item's status,
    decider and the version it was applied in. Every difference is reported;
    nothing is repaired.
    """
    with space.work() as w:
        entries = list(w.tx.iter_ledger())
        tables = _tables(w.tx)
    return StateReport(len(entries), compare(replay(entries), tables))


__all__ = [
    "ArtifactReport",
    "MigratedModel",
    "StateReport",
    "migrate_models",
    "verify_artifacts",
    "verify_state",
]
