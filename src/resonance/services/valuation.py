"""Use case: who contributed what to a model version, and the benefit-sharing statement.

Member values are Shapley values of the suite's primary metric (macro-F1; for
regression the suite's RMSE, as its reduction below the sealed targets' standard
deviation) over retrains on coalitions of members (the model's own recipe: federated rounds for a
federated model, the pooled trainer otherwise), exact up to 8 members with
each coalition trained once, Monte Carlo beyond; leave-one-member-out too.
Row values are exact KNN-Shapley on the sealed suite (classification or KNN
regression, Jia et al. 2019), summed per member.
Every value: **higher = more valuable**. Computed in the space's sandbox:
member rows are read under ``train-federated`` (federated models) or
``train-pooled``, sealed rows under the suite owner's ``evaluate``; all reads
and the result are on the ledger, never rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa

from resonance.domain.errors import InvalidInput, NotFound, RoleRequired
from resonance.domain.evaluation import classification_metrics, regression_metrics
from resonance.domain.events import ContributionValued
from resonance.domain.ladder import LADDER_MARGIN, QueryUse, round_to
from resonance.domain.modeling import ModelVersion, Task
from resonance.domain.orgs import Role
from resonance.domain.policies import Purpose
from resonance.domain.valuation import (
    Utility,
    Valuation,
    knn_shapley,
    knn_shapley_regression,
    leave_one_out,
    member_shapley,
    shares,
)
from resonance.services.access import authorize, load_rows
from resonance.services.catalog import row_owners
from resonance.services.evaluation import require_suite, spend_query
from resonance.services.federation import resolve_members
from resonance.services.ledger import entries
from resonance.services.orgs import require_org
from resonance.services.space import Space
from resonance.services.training import get_model, load_model, pool_rows
from resonance.training.features import Prepared, TimeSetup
from resonance.training.federated.apps import FederationConfig, Loader, MemberData, make_client_app
from resonance.training.federated.models import forward
from resonance.training.federated.server import FederatedResult, in_process_grid, serve
from resonance.training.trainers import FittedModel, fit_model


def _federation_config(model: ModelVersion) -> FederationConfig | None:
    if not model.federated:
        return None
    info = model.details["federated"]
    return FederationConfig(
        kind=info["model"],
        strategy=info["strategy"],
        rounds=int(info["rounds"]),
        proximal_mu=float(info.get("proximal_mu", 0.01)),
        server_lr=float(info.get("server_lr", 0.1)),
        backend=str(info.get("backend", "numpy")),
        hidden=int(model.spec.params.get("hidden", 32)),
        local=dict(info["local"]),
    )


def _macro_f1(y: np.ndarray, proba: np.ndarray, classes: tuple[str, ...]) -> float:
    known = y >= 0
    pred = proba[known].argmax(axis=1)
    metrics = classification_metrics(y[known], pred, proba[known], classes=classes)
    return float(metrics["macro_f1"])


def _read(space: Space, model: ModelVersion, suite: str) -> tuple[list[MemberData], pa.Table]:
    read = _federated_members if model.federated else _pooled_members
    data = read(space, model, suite)
    the_suite = require_suite(space, suite)
    grant = authorize(
        space,
        actor=the_suite.owner,
        ref=the_suite.dataset,
        purpose=Purpose.EVALUATE,
        context={"on_behalf_of": model.created_by, "model": model.ref, "valuation": suite},
    )
    return data, load_rows(space, grant.version)


def _federated_members(space: Space, model: ModelVersion, suite: str) -> list[MemberData]:
    """Each member's own rows, read by the member under ``train-federated``."""
    data = []
    for m in resolve_members(space, list(model.datasets)):
        grant = authorize(
            space,
            actor=m.name,
            ref=m.version.ref,
            purpose=Purpose.TRAIN_FEDERATED,
            context={"model": model.ref, "valuation": suite},
        )
        ds = grant.dataset
        skip = model.spec.exclude_columns
        if ds.group_key:
            skip = (*skip, ds.group_key)
        assert ds.label is not None
        time = _time_setup(model, ds.time_column, ds.group_key)
        data.append(MemberData(m.name, load_rows(space, grant.version), ds.label, skip, "", time))
    return data


def _time_setup(
    model: ModelVersion, time_column: str | None, group_key: str | None
) -> TimeSetup | None:
    """How a member computes the model's time features on its own rows (``None``: none)."""
    tf = model.spec.time_features
    if time_column is None and tf is None:
        return None
    return TimeSetup(time_column, group_key, tf)


def _pooled_members(space: Space, model: ModelVersion, suite: str) -> list[MemberData]:
    """The pooled model's training rows (read by its builder under ``train-pooled``), split
    by the organization owning each row: a derived version (a loop's working set) holds
    rows of several members, traced through its per-row provenance.

    Raises
    ------
    InvalidInput
        The rows belong to fewer than two members.
    """
    grants = [
        authorize(
            space,
            actor=model.created_by,
            ref=ref,
            purpose=Purpose.TRAIN_POOLED,
            context={"model": model.ref, "valuation": suite},
        )
        for ref in model.datasets
    ]
    pooled = pool_rows(space, grants, what="the model's training datasets")
    owners = np.concatenate([row_owners(space, g.version) for g in grants])
    members = sorted(set(owners.tolist()))
    if len(members) < 2:
        raise InvalidInput(
            f"{model.ref} was trained on rows of {len(members)} member(s); valuation shares "
            "value among at least two",
            model=model.ref,
            members=members,
        )
    groups = tuple(sorted({g.dataset.group_key for g in grants if g.dataset.group_key}))
    skip = (*model.spec.exclude_columns, *groups)
    first = grants[0].dataset
    time = _time_setup(model, first.time_column, first.group_key)
    return [
        MemberData(o, pooled.table.filter(pa.array(owners == o)), pooled.label, skip, "", time)
        for o in members
    ]


def utility_metric(model: ModelVersion) -> str:
    """What member Shapley values measure: macro-F1, or the suite's RMSE as a reduction."""
    if model.spec.task is Task.REGRESSION:
        return "rmse reduction (sealed targets' standard deviation - RMSE)"
    return "macro_f1"


def _coalition_utility(
    data: list[MemberData],
    cfg: FederationConfig | None,
    *,
    federated: Callable[[FederatedResult], float],
    pooled: Callable[[pa.Table], float],
) -> Utility:
    """The utility of a coalition of members: 0 for none; otherwise the score of the model
    the model's own recipe trains on the coalition's rows (``federated`` scores a federated
    run of the members' ClientApps, nothing recorded; ``pooled`` the members' pooled table)."""

    def utility(coalition: frozenset[int]) -> float:
        chosen = [data[i] for i in sorted(coalition)]
        if not chosen:
            return 0.0
        if cfg is not None:
            apps = [make_client_app(_constant(d)) for d in chosen]
            return federated(serve(in_process_grid(apps), cfg, lambda _s: None))
        return pooled(pa.concat_tables([d.table for d in chosen], promote_options="permissive"))

    return utility


def _regression_utility(
    model: ModelVersion, fitted: FittedModel, data: list[MemberData], sealed: pa.Table
) -> Utility:
    """``std(sealed targets) - RMSE`` of the coalition's model on the suite (0 for no member:
    the best constant's RMSE is the standard deviation); **higher = better**."""
    test = fitted.prepare(sealed)
    known = np.isfinite(test.y)
    y = test.y[known]
    reference = float(np.std(y))

    def rmse(pred: np.ndarray) -> float:
        return float(regression_metrics(y, np.asarray(pred)[known])["rmse"])

    def federated(out: FederatedResult) -> float:
        return reference - rmse(out.estimator.predict(out.plan.encoder.transform(sealed)))

    def pooled(table: pa.Table) -> float:
        prepared = fitted.prepare(table)
        if np.isfinite(prepared.y).sum() < 2:
            return 0.0
        refit = fit_model(model.spec, prepared, label=fitted.label, seed=0)
        return reference - rmse(refit.predict(test.X))

    return _coalition_utility(data, _federation_config(model), federated=federated, pooled=pooled)


def _utility(
    space: Space, model: ModelVersion, data: list[MemberData], sealed: pa.Table
) -> Utility:
    fitted = load_model(space, model)
    if model.spec.task is Task.REGRESSION:
        return _regression_utility(model, fitted, data, sealed)
    test = fitted.prepare(sealed)

    def federated(out: FederatedResult) -> float:
        X = (out.plan.encoder.transform(sealed) - out.estimator.mean) / out.estimator.scale
        proba = np.zeros((len(X), len(fitted.classes)))
        index = {c: i for i, c in enumerate(fitted.classes)}
        cols = [index[c] for c in out.plan.classes]
        proba[:, cols] = forward(out.estimator.params, X)
        return _macro_f1(test.y, proba, fitted.classes)

    def pooled(table: pa.Table) -> float:
        prepared = fitted.prepare(table)
        if len(np.unique(prepared.y[prepared.y >= 0])) < 2:
            return 0.0
        refit = fit_model(model.spec, prepared, label=fitted.label, seed=0)
        return _macro_f1(test.y, refit.predict_proba(test.X), fitted.classes)

    return _coalition_utility(data, _federation_config(model), federated=federated, pooled=pooled)


def _constant(data: MemberData) -> Loader:
    return lambda: data


def _knn_per_member(
    space: Space, model: ModelVersion, data: list[MemberData], sealed: pa.Table, k: int
) -> dict[str, float]:
    fitted = load_model(space, model)
    parts = [fitted.prepare(d.table) for d in data]
    X = np.vstack([p.X for p in parts])
    y = np.concatenate([p.y for p in parts])
    owners = np.concatenate([[d.member] * len(p.y) for d, p in zip(data, parts, strict=True)])
    test: Prepared = fitted.prepare(sealed)
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1.0
    if model.spec.task is Task.REGRESSION:  # closed form for KNN regression (Jia et al. 2019)
        keep, known = np.isfinite(y), np.isfinite(test.y)
        values = np.zeros(len(y))
        values[keep] = knn_shapley_regression(
            (X[keep] - mean) / std, y[keep], (test.X[known] - mean) / std, test.y[known], k=k
        )
    else:
        values = knn_shapley((X - mean) / std, y, (test.X - mean) / std, test.y, k=k)
    return {d.member: float(values[owners == d.member].sum()) for d in data}


def _check_valuer(space: Space, actor: str, model: ModelVersion) -> None:
    """Valuation retrains on the members' rows under the model's own grants: only the
    model's builder or the space operator may start it (``RoleRequired``)."""
    with space.work() as w:
        org = require_org(w.tx, actor)
    if actor != model.created_by and not org.has_role(Role.OPERATOR):
        raise RoleRequired(
            f"{actor} may not value {model.ref}: only its builder {model.created_by} "
            "or the space operator may",
            organization=actor,
            model=model.ref,
        )


def recorded(space: Space, model: str | None = None) -> list[dict[str, Any]]:
    """Valuations on the ledger, oldest first (of one model version when ``model`` is given),
    each with who ran it and when."""
    ref = get_model(space, model).ref if model else None
    return [
        {**e.payload, "valued_by": e.actor, "valued_at": e.timestamp, "seq": e.seq}
        for e in entries(space, action=ContributionValued.action, object_id=ref, limit=None)
    ]


def latest(space: Space, model: str) -> dict[str, Any]:
    """The latest valuation of a model version on the ledger, or ``NotFound``."""
    found = recorded(space, model)
    if not found:
        raise NotFound(f"no valuation of {get_model(space, model).ref} on the ledger", model=model)
    return found[-1]


def value_model(
    space: Space,
    *,
    actor: str,
    model: str,
    suite: str,
    k: int = 5,
    permutations: int = 100,
    seed: int = 0,
) -> Valuation:
    """Each member's Shapley value, leave-one-out value and KNN-Shapley row total.

    Only the model's builder or the space operator may run it. All values:
    **higher = more valuable**; ``share`` normalises positive Shapley values to 1.
    """
    version = get_model(space, model)
    _check_valuer(space, actor, version)
    the_suite = require_suite(space, suite)
    the_suite.check_task(version.spec.task, what=f"model {version.ref}")
    data, sealed = _read(space, version, suite)  # refuses a one-member model first
    with space.work() as w:  # a valuation scores on the sealed suite: it spends a query
        spend_query(w, the_suite, version, QueryUse.VALUATION)
    utility = _utility(space, version, data, sealed)
    cache: dict[frozenset[int], float] = {}

    def cached(c: frozenset[int]) -> float:
        if c not in cache:
            cache[c] = utility(c)
        return cache[c]

    n = len(data)
    shap = member_shapley(n, cached, permutations=permutations, seed=seed)
    loo = leave_one_out(n, cached)
    knn = _knn_per_member(space, version, data, sealed, k)
    names = [d.member for d in data]
    share = shares(dict(zip(names, shap.tolist(), strict=True)))
    eta = LADDER_MARGIN  # released values are rounded: no sealed row shows in a last digit
    members = {
        d.member: {
            "rows": float(d.table.num_rows),
            "shapley": round_to(float(shap[i]), eta),
            "share": round_to(share[d.member], eta),
            "leave_one_out": round_to(float(loo[i]), eta),
            "knn_shapley": round_to(knn[d.member], eta),
        }
        for i, d in enumerate(data)
    }
    method = "exact" if n <= 8 else f"monte-carlo ({permutations} permutations, seed {seed})"
    full = round_to(cached(frozenset(range(n))), eta)
    result = Valuation(version.ref, suite, utility_metric(version), full, members, method)
    with space.work() as w:
        w.emit(ContributionValued(actor=actor, object_id=version.ref, valuation=result))
    return result


@dataclass(frozen=True)
class MemberLine:
    """One member's row of a benefit-sharing statement."""

    member: str
    rows: int
    share: float
    shapley: float
    leave_one_out: float
    knn_shapley: float


@dataclass(frozen=True)
class BenefitStatement:
    """A model version's benefit-sharing statement, read from the ledger alone.

    ``trained_*`` come from its ``model.trained`` entry (``None`` when absent);
    ``members`` from its latest ``contribution.valued`` entry (empty when none).
    Higher values mean a more valuable contribution.
    """

    model: str
    trained_by: str | None = None
    trained_at: str | None = None
    trainer: str | None = None
    artifact: str | None = None
    datasets: tuple[tuple[str, str], ...] = ()
    suite: str | None = None
    metric: str | None = None
    full_score: float | None = None
    method: str | None = None
    valued_seq: int | None = None
    members: tuple[MemberLine, ...] = ()


def benefit_statement(space: Space, model: str) -> BenefitStatement:
    """The benefit-sharing statement of a model version, from the ledger alone
    (render it with :mod:`resonance.reports.valuation`)."""
    version = get_model(space, model)
    trained = entries(space, action="model.trained", object_id=version.ref, limit=None)
    valued = entries(space, action="contribution.valued", object_id=version.ref, limit=None)
    out = BenefitStatement(version.ref)
    if trained:
        t = trained[-1]
        out = replace(
            out,
            trained_by=t.actor,
            trained_at=t.timestamp,
            trainer=str(t.payload["trainer"]),
            artifact=str(t.payload["artifact_hash"])[:16],
            datasets=tuple((ref, str(h)[:16]) for ref, h in t.payload["datasets"].items()),
        )
    if valued:
        v = valued[-1]
        out = replace(
            out,
            suite=str(v.payload["suite"]),
            metric=str(v.payload["metric"]),
            full_score=float(v.payload["full_score"]),
            method=str(v.payload["method"]),
            valued_seq=v.seq,
            members=tuple(
                MemberLine(
                    name,
                    int(m["rows"]),
                    float(m["share"]),
                    float(m["shapley"]),
                    float(m["leave_one_out"]),
                    float(m["knn_shapley"]),
                )
                for name, m in v.payload["members"].items()
            ),
        )
    return out
