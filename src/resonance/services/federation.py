"""Use case: federated co-training where every member's rows stay with its own ClientApp.

The coordinator (a model builder) runs the server logic; each member's
ClientApp reads only that member's dataset version, through
:func:`services.access.authorize` with purpose ``train-federated``. Every
aggregation round lands on the ledger (embedded runs write their rounds in one
transaction when the rounds end); the result is a model version.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from resonance.domain.datasets import Dataset, DatasetVersion
from resonance.domain.errors import InvalidInput
from resonance.domain.events import FederatedRoundAggregated
from resonance.domain.modeling import ModelSpec, ModelVersion, Task, TimeFeatures, task_for
from resonance.domain.orgs import Role, check_slug
from resonance.domain.policies import Purpose
from resonance.services.access import authorize, load_rows
from resonance.services.catalog import require_dataset, resolve_version
from resonance.services.orgs import require_role
from resonance.services.space import Space
from resonance.services.training import record_model
from resonance.training.features import TimeSetup
from resonance.training.federated.apps import STRATEGIES as STRATEGIES
from resonance.training.federated.apps import (
    FederationConfig,
    Loader,
    MemberData,
    RoundSummary,
    make_client_app,
)
from resonance.training.federated.models import BACKENDS as BACKENDS
from resonance.training.federated.models import KINDS as KINDS
from resonance.training.federated.secagg import AppCallable, make_secure_client
from resonance.training.federated.server import FederatedResult, in_process_grid, serve
from resonance.training.trainers import FittedModel

FEDERATED_TASKS: dict[str, tuple[Task, ...]] = {
    "linear": (Task.CLASSIFICATION, Task.REGRESSION),
    "mlp": (Task.CLASSIFICATION, Task.REGRESSION),
}
"""The tasks each federated model kind trains."""


@dataclass(frozen=True)
class Member:
    """A member's dataset version (metadata only)."""

    dataset: Dataset
    version: DatasetVersion

    @property
    def name(self) -> str:
        """The member organization: the dataset's owner."""
        return self.dataset.owner


def resolve_members(space: Space, refs: list[str]) -> list[Member]:
    """Dataset versions of distinct owners sharing one label spec (no rows read)."""
    if len(refs) < 2:
        raise InvalidInput("federated training needs at least two members' dataset versions")
    with space.work() as w:
        versions = [resolve_version(w.tx, r) for r in refs]
        members = [Member(require_dataset(w.tx, v.dataset), v) for v in versions]
    owners = [m.name for m in members]
    if len(set(owners)) != len(owners):
        raise InvalidInput("each member takes part with one dataset version", owners=owners)
    labels = {m.dataset.label for m in members}
    if None in labels or len(labels) != 1:
        raise InvalidInput("members' datasets must declare the same label spec")
    return members


def member_loader(
    space: Space,
    member: Member,
    *,
    model: str,
    run: str,
    exclude: tuple[str, ...],
    time_features: TimeFeatures | None = None,
) -> Loader:
    """The loader of one member's ClientApp: authorize (ledger) and read its own rows."""

    def load() -> MemberData:
        grant = authorize(
            space,
            actor=member.name,
            ref=member.version.ref,
            purpose=Purpose.TRAIN_FEDERATED,
            context={"model": model, "federated_run": run},
        )
        assert grant.dataset.label is not None
        skip = exclude + ((grant.dataset.group_key,) if grant.dataset.group_key else ())
        ds = grant.dataset
        assert ds.label is not None
        series = ds.time_column is not None or time_features is not None
        return MemberData(
            member.name,
            load_rows(space, grant.version),
            ds.label,
            skip,
            grant.version.ref,
            TimeSetup(ds.time_column, ds.group_key, time_features) if series else None,
        )

    return load


def client_apps(
    space: Space,
    members: list[Member],
    *,
    model: str,
    run: str,
    exclude: tuple[str, ...],
    secure: bool = False,
    time_features: TimeFeatures | None = None,
) -> list[AppCallable]:
    """One ClientApp per member, each bound to that member's own version."""
    build = make_secure_client if secure else make_client_app
    return [
        build(
            member_loader(
                space, m, model=model, run=run, exclude=exclude, time_features=time_features
            )
        )
        for m in members
    ]


def _round_event(
    summary: RoundSummary, *, actor: str, model: str, run: str, strategy: str
) -> FederatedRoundAggregated:
    return FederatedRoundAggregated(
        actor=actor,
        object_id=run,
        model=model,
        round=summary.round,
        strategy=strategy,
        participants=summary.participants,
        parameters=summary.parameters,
    )


def round_recorder(
    space: Space, *, actor: str, model: str, run: str, strategy: str
) -> Callable[[RoundSummary], None]:
    """A callback putting each aggregated round on the ledger as it ends (one transaction each)."""

    def on_round(summary: RoundSummary) -> None:
        with space.work() as w:
            w.emit(_round_event(summary, actor=actor, model=model, run=run, strategy=strategy))

    return on_round


@dataclass
class RoundLedger:
    """Collects aggregated rounds; :meth:`flush` puts them on the ledger in one transaction.

    The embedded run's rounds take milliseconds each, so one commit per round
    would be most of their cost; :func:`federate` flushes when the rounds end,
    whether they completed or failed.
    """

    space: Space
    actor: str
    model: str
    run: str
    strategy: str
    pending: list[RoundSummary] = field(default_factory=list)

    def __call__(self, summary: RoundSummary) -> None:
        """Note one aggregated round."""
        self.pending.append(summary)

    def flush(self) -> None:
        """Write the noted rounds, in order, in one transaction."""
        if not self.pending:
            return
        who = {"actor": self.actor, "model": self.model, "run": self.run}
        with self.space.work() as w:
            for summary in self.pending:
                w.emit(_round_event(summary, **who, strategy=self.strategy))
        self.pending.clear()


def federate(
    space: Space,
    *,
    actor: str,
    name: str,
    datasets: list[str],
    config: FederationConfig | None = None,
    exclude: tuple[str, ...] = (),
    time_features: TimeFeatures | None = None,
) -> ModelVersion:
    """Train a model version by federated averaging (FedAvg/FedProx) in process.

    ``time_features`` (per-group lags and rolling means) are computed by each
    member on its own rows, exactly as in pooled training and evaluation.

    Each member's ClientApp reads its own rows under its policy (purpose
    ``train-federated``); only parameters, row counts and summary statistics
    reach the coordinator. Rounds are recorded as ``federation.round_aggregated``.
    """
    cfg = config or FederationConfig()
    check_slug(name, what="model")
    with space.work() as w:
        require_role(w.tx, actor, Role.MODEL_BUILDER)
    members = resolve_members(space, datasets)
    label = members[0].dataset.label
    assert label is not None
    task_for(label, capability=f"federate run ({cfg.kind})", supports=FEDERATED_TASKS[cfg.kind])
    run = f"fed-{uuid.uuid4().hex[:12]}"
    apps = client_apps(
        space,
        members,
        model=name,
        run=run,
        exclude=exclude,
        secure=cfg.secure_aggregation,
        time_features=time_features,
    )
    rounds = RoundLedger(space, actor, name, run, cfg.strategy)
    try:
        outcome = serve(in_process_grid(apps), cfg, rounds)
    finally:
        rounds.flush()
    return store_outcome(
        space,
        actor=actor,
        name=name,
        members=members,
        outcome=outcome,
        cfg=cfg,
        run=run,
        exclude=exclude,
        time_features=time_features,
    )


def store_outcome(
    space: Space,
    *,
    actor: str,
    name: str,
    members: list[Member],
    outcome: FederatedResult,
    cfg: FederationConfig,
    run: str,
    exclude: tuple[str, ...],
    time_features: TimeFeatures | None = None,
) -> ModelVersion:
    """Record the federated model as a model version (dataset refs and hashes, details)."""
    label = members[0].dataset.label
    assert label is not None
    spec = ModelSpec(
        f"federated-{cfg.kind}",
        task=label.task,
        params={"strategy": cfg.strategy, "rounds": cfg.rounds, "hidden": cfg.hidden},
        exclude_columns=exclude,
        time_features=time_features,
    )
    model = FittedModel(
        spec, outcome.plan.encoder, outcome.estimator, tuple(outcome.plan.classes), label
    )
    return record_model(
        space,
        actor=actor,
        name=name,
        model=model,
        versions=[m.version for m in members],
        metrics={"rows": sum(outcome.members.values()), "members": len(outcome.members)},
        industry=members[0].dataset.industry,
        scenario=members[0].dataset.scenario,
        details={"federated": {**outcome.details, "run": run}},
    )
