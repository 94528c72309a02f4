"""Federated co-training in process: rows stay with members, rounds on the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from resonance.domain.errors import InvalidInput, RoleRequired
from resonance.domain.modeling import ModelSpec
from resonance.services import evaluation, federation, ledger, training
from resonance.services.model_card import model_card
from resonance.services.space import Space
from resonance.training.features import prepare_xy
from resonance.training.federated.apps import FederationConfig, gaussian_epsilon
from tests.federation_seed import non_iid_parts, seed_members
from tests.model_seed import steel_label

MEMBERS = ["plant-a", "plant-b", "plant-c"]


def test_steel_fedavg_linear_keeps_rows_home_and_ledgers_rounds(
    lite_space: Space, tmp_path: Path
) -> None:
    fed = seed_members(lite_space, tmp_path / "d", MEMBERS)
    mv = federation.federate(
        lite_space,
        actor="builder",
        name="steel-fed",
        datasets=fed.refs,
        config=FederationConfig(rounds=4),
    )
    assert mv.ref == "steel-fed@1" and mv.spec.trainer == "federated-linear"
    assert len(mv.datasets) == 3 and len(mv.dataset_hashes) == 3 and len(mv.classes) == 7
    info = mv.details["federated"]
    assert info["strategy"] == "fedavg" and set(info["members"]) == set(MEMBERS)
    reads = ledger.entries(lite_space, action="data.accessed")
    assert sorted(e.actor for e in reads) == MEMBERS
    assert {e.payload["purpose"] for e in reads} == {"train-federated"}
    assert {e.payload["federated_run"] for e in reads} == {info["run"]}
    rounds = ledger.entries(lite_space, action="federation.round_aggregated")
    assert [e.payload["round"] for e in rounds] == [1, 2, 3, 4]
    first = rounds[0].payload
    assert first["participants"] == info["members"]
    assert [p["shape"] for p in first["parameters"]] == [[len(mv.feature_names), 7], [7]]
    assert len({e.payload["parameters"][0]["sha256"] for e in rounds}) == 4
    text = json.dumps([e.payload for e in rounds])
    assert "Pastry" not in text and len(text) < 4000  # ids, counts and hashes only
    evaluation.register_suite(lite_space, actor="evaluator", name="steel-s", dataset=fed.sealed)
    run = evaluation.evaluate(lite_space, actor="builder", model="steel-fed", suite="steel-s")
    assert run.metrics["macro_f1"] > 0.45
    # the diagnosis never pools the members' rows: slices only, and it says why
    assert run.diagnosis["slices"] and run.diagnosis["coverage_gaps"] == []
    assert "train-federated" in run.diagnosis["unavailable"]["label_issues"]
    pooled = ledger.entries(lite_space, action="data.accessed")
    assert {e.payload["purpose"] for e in pooled} == {"train-federated", "evaluate"}
    card = model_card(lite_space, "steel-fed@1")
    assert "Not computed: federated model" in card and "Weak slices" in card


def test_ai4i_fedprox_mlp_with_differential_privacy(lite_space: Space, tmp_path: Path) -> None:
    fed = seed_members(lite_space, tmp_path / "d", MEMBERS[:2], which="ai4i", rows=3000)
    cfg = FederationConfig(
        kind="mlp", strategy="fedprox", rounds=3, hidden=8, dp_noise=1.0, dp_clip=5.0
    )
    mv = federation.federate(
        lite_space,
        actor="builder",
        name="ai4i-fed",
        datasets=fed.refs,
        config=cfg,
        exclude=fed.exclude,
    )
    info = mv.details["federated"]
    assert info["proximal_mu"] == cfg.proximal_mu and info["model"] == "mlp"
    dp = info["differential_privacy"]
    assert dp["epsilon"] == pytest.approx(gaussian_epsilon(1.0, 3, 1e-5)) and dp["epsilon"] > 0
    assert not set(fed.exclude) & set(mv.feature_names)
    fitted = training.load_model(lite_space, mv)
    proba = fitted.predict_proba(fitted.prepare(fed.sealed_table).X)
    assert proba.shape == (fed.sealed_table.num_rows, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    rounds = ledger.entries(lite_space, action="federation.round_aggregated")
    assert [len(e.payload["parameters"]) for e in rounds] == [4, 4, 4]


def test_only_model_builders_coordinate_and_members_are_distinct(
    lite_space: Space, tmp_path: Path
) -> None:
    fed = seed_members(lite_space, tmp_path / "d", MEMBERS[:2], rows=400)
    with pytest.raises(RoleRequired):
        federation.federate(lite_space, actor="plant-a", name="x", datasets=fed.refs)
    with pytest.raises(InvalidInput):
        federation.federate(lite_space, actor="builder", name="x", datasets=fed.refs[:1])
    with pytest.raises(InvalidInput):
        federation.federate(lite_space, actor="builder", name="x", datasets=[fed.refs[0]] * 2)
    with pytest.raises(InvalidInput):
        federation.federate(
            lite_space,
            actor="builder",
            name="x",
            datasets=fed.refs,
            config=FederationConfig(strategy="nope"),
        )


def test_non_iid_parts_cover_every_row_once() -> None:
    labels = np.repeat(np.array(["a", "b", "c"]), [50, 30, 20])
    parts = non_iid_parts(labels, 4, alpha=0.5)
    assert sorted(np.concatenate(parts).tolist()) == list(range(100))


def test_fedavgm_strategy_is_registered(lite_space: Space, tmp_path: Path) -> None:
    fed = seed_members(lite_space, tmp_path / "d", MEMBERS[:2], rows=400)
    mv = federation.federate(
        lite_space, actor="builder", name="m", datasets=fed.refs,
        config=FederationConfig(strategy="fedavgm", rounds=2),
    )  # fmt: skip
    assert mv.details["federated"]["strategy"] == "fedavgm"
    assert len(ledger.entries(lite_space, action="federation.round_aggregated")) == 2


def test_secure_aggregation_with_secaggplus(lite_space: Space, tmp_path: Path) -> None:
    fed = seed_members(lite_space, tmp_path / "d", MEMBERS, rows=900)
    cfg = FederationConfig(rounds=2, secure_aggregation=True, strategy="fedprox")
    mv = federation.federate(lite_space, actor="builder", name="sec", datasets=fed.refs, config=cfg)
    assert "SecAgg+" in mv.details["federated"]["secure_aggregation"]
    rounds = ledger.entries(lite_space, action="federation.round_aggregated")
    assert [e.payload["participants"] for e in rounds] == [{"secure-aggregate": 3}] * 2
    fitted = training.load_model(lite_space, mv)
    prepared = fitted.prepare(fed.sealed_table)
    assert (fitted.predict(prepared.X) == prepared.y).mean() > 0.4
    with pytest.raises(InvalidInput):
        federation.federate(
            lite_space, actor="builder", name="sec", datasets=fed.refs,
            config=FederationConfig(secure_aggregation=True, dp_noise=1.0),
        )  # fmt: skip


def test_fednewton_federated_linear_matches_pooled_logreg_and_stops_early(
    lite_space: Space, tmp_path: Path
) -> None:
    fed = seed_members(lite_space, tmp_path / "d", MEMBERS, alpha=0.5)
    cfg = FederationConfig(strategy="fednewton", rounds=30)
    mv = federation.federate(lite_space, actor="builder", name="nt", datasets=fed.refs, config=cfg)
    info = mv.details["federated"]
    assert info["newton"]["C"] == 1.0 and 3 <= info["rounds_run"] < 30
    rounds = ledger.entries(lite_space, action="federation.round_aggregated")
    assert [e.payload["round"] for e in rounds] == list(range(1, info["rounds_run"] + 1))
    assert [p["shape"] for p in rounds[0].payload["parameters"]][1] == [7]  # parameters only
    fitted = training.load_model(lite_space, mv)
    prepared = fitted.prepare(fed.sealed_table)
    rows = pa.concat_tables([pcsv.read_csv(tmp_path / "d" / f"{r}.csv") for r in fed.refs])
    pooled = training.fit_model(
        ModelSpec("sklearn-logreg"), prepare_xy(rows, steel_label()), label=steel_label()
    )
    agree = fitted.predict(prepared.X) == pooled.predict(pooled.prepare(fed.sealed_table).X)
    assert agree.mean() > 0.97
    with pytest.raises(InvalidInput):
        federation.federate(
            lite_space,
            actor="builder",
            name="nt",
            datasets=fed.refs,
            config=FederationConfig(strategy="fednewton", kind="mlp"),
        )


def test_fedsgd_federated_mlp_steps_on_the_pooled_gradient(
    lite_space: Space, tmp_path: Path
) -> None:
    fed = seed_members(lite_space, tmp_path / "d", MEMBERS, rows=600, alpha=0.5)
    cfg = FederationConfig(kind="mlp", hidden=8, strategy="fedsgd", rounds=20, server_lr=0.1)
    mv = federation.federate(lite_space, actor="builder", name="sg", datasets=fed.refs, config=cfg)
    assert mv.details["federated"]["rounds_run"] == 20
    rounds = ledger.entries(lite_space, action="federation.round_aggregated")
    assert len(rounds) == 20 and len(rounds[0].payload["parameters"]) == 4
    fitted = training.load_model(lite_space, mv)
    prepared = fitted.prepare(fed.sealed_table)
    assert (fitted.predict(prepared.X) == prepared.y).mean() > 0.4
    adam = FederationConfig(strategy="fedadam", rounds=2)
    mv = federation.federate(lite_space, actor="builder", name="ad", datasets=fed.refs, config=adam)
    assert mv.details["federated"]["strategy"] == "fedadam"
