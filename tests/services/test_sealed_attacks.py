"""Issue 9's attacks on a sealed suite become regression tests: none extracts a sealed value.

Renamed models (fresh budget per name), budget-free valuations (binary search of a
sealed value), crafted one-feature models (a label read off recall × support),
sealed statistics in the catalog, sealed values in slice conditions and model cards.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from resonance.domain.errors import BudgetExhausted
from resonance.domain.ladder import LADDER_MARGIN, MIN_CLASS_SUPPORT, release
from resonance.domain.modeling import ModelSpec
from resonance.domain.policies import parse_grant
from resonance.services import catalog, evaluation, policies, training, valuation
from resonance.services.model_card import model_card
from resonance.services.space import Space
from tests.federation_seed import seed_members
from tests.model_seed import AI4I_EXCLUDE, seed

LOGREG = ModelSpec("sklearn-logreg")


def on_grid(value: float) -> bool:
    return abs(value / LADDER_MARGIN - round(value / LADDER_MARGIN)) < 1e-6


def test_renamed_models_share_one_budget(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed(lite_space, tmp_path / "d")
    evaluation.register_suite(
        lite_space, actor="evaluator", name="s", dataset=seeded.sealed, query_budget=3
    )
    for name in ("m1", "m2", "m3", "m4"):
        training.train_model(
            lite_space, actor="builder", name=name, spec=LOGREG, datasets=[seeded.train]
        )
    for name in ("m1", "m2", "m3"):
        evaluation.evaluate(lite_space, actor="builder", model=name, suite="s", diagnose=False)
    with pytest.raises(BudgetExhausted) as info:
        evaluation.evaluate(lite_space, actor="builder", model="m4", suite="s", diagnose=False)
    assert info.value.details == {"organization": "builder", "suite": "s", "budget": 3}


def test_crafted_one_feature_models_read_no_label(lite_space: Space, tmp_path: Path) -> None:
    """Six one-feature models: no new score unless it beats the best, no small class's figures."""
    seeded = seed(lite_space, tmp_path / "d")
    evaluation.register_suite(lite_space, actor="evaluator", name="s", dataset=seeded.sealed)
    features = ["Pixels_Areas", "X_Minimum", "Y_Minimum", "Steel_Plate_Thickness",
                "Length_of_Conveyer", "Edges_Index"]  # fmt: skip
    runs = []
    for i, column in enumerate(features):
        spec = ModelSpec("sklearn-logreg", feature_columns=(column,))
        training.train_model(
            lite_space, actor="builder", name=f"probe{i}", spec=spec, datasets=[seeded.train]
        )
        runs.append(
            evaluation.evaluate(
                lite_space, actor="builder", model=f"probe{i}", suite="s", diagnose=False
            )
        )
    best = None
    for run in runs:
        ladder = run.metrics["ladder"]
        if not ladder["released"]:  # nothing about this query's predictions comes back
            assert run.metrics["macro_f1"] is None and "per_class_recall" not in run.metrics
            assert "support" not in run.metrics
            continue
        assert best is None or run.metrics["macro_f1"] >= best + LADDER_MARGIN - 1e-9
        best = run.metrics["macro_f1"]
        assert all(on_grid(v) for v in run.metrics["per_class_recall"].values())
        assert all(n >= MIN_CLASS_SUPPORT for n in run.metrics["support"].values())
    # a class with a handful of sealed rows (where one row moves recall by ≥ 5 %) never shows
    sealed_counts = {
        c: sum(1 for v in seeded.sealed_table.column(c).to_pylist() if v == 1)
        for c in seeded.label.columns
    }
    small = {c for c, n in sealed_counts.items() if n < MIN_CLASS_SUPPORT}
    assert small, "the steel sealed split has small classes: the attack's target"
    for run in runs:
        shown = set(run.metrics.get("per_class_recall", {})) | set(run.metrics.get("support", {}))
        assert not shown & small


def test_the_ladder_hides_one_row_differences() -> None:
    """Two probes differing on one sealed row (of 486) get the same release, or none."""
    base = {"macro_f1": 0.612345, "accuracy": 0.70, "per_class_recall": {"a": 0.5, "b": 0.9},
            "support": {"a": 12, "b": 474}}  # fmt: skip
    first = release(base, primary="macro_f1", best=None)
    assert first["macro_f1"] == 0.61 and set(first["per_class_recall"]) == {"b"}
    probe = {**base, "macro_f1": 0.612345 + 1 / 486, "per_class_recall": {"a": 7 / 12, "b": 0.9}}
    again = release(probe, primary="macro_f1", best=first["macro_f1"])
    assert again["ladder"]["released"] is False and again["macro_f1"] is None
    assert "per_class_recall" not in again


def test_valuations_spend_the_budget_and_release_rounded_values(
    lite_space: Space, tmp_path: Path
) -> None:
    """A binary search with valuations needs many queries: each one is charged."""
    fed = seed_members(lite_space, tmp_path / "d", ["plant-a", "plant-b"], rows=400)
    for ref, owner in zip(fed.refs, ["plant-a", "plant-b"], strict=True):
        policies.set_policy(
            lite_space, actor=owner, dataset=ref, grants=[parse_grant("builder:train-pooled")]
        )
    training.train_model(lite_space, actor="builder", name="pool-m", spec=LOGREG, datasets=fed.refs)
    evaluation.register_suite(
        lite_space, actor="evaluator", name="s", dataset=fed.sealed, query_budget=2
    )
    first = valuation.value_model(lite_space, actor="builder", model="pool-m", suite="s", k=3)
    assert on_grid(first.full_score)
    for m in first.members.values():
        assert all(on_grid(m[k]) for k in ("shapley", "leave_one_out", "knn_shapley"))
    assert evaluation.remaining_budget(lite_space, organization="builder", suite="s") == 1
    evaluation.evaluate(lite_space, actor="builder", model="pool-m", suite="s", diagnose=False)
    with pytest.raises(BudgetExhausted):
        valuation.value_model(lite_space, actor="builder", model="pool-m", suite="s", k=3)
    with pytest.raises(BudgetExhausted):  # the operator's valuation charges the builder too
        valuation.value_model(lite_space, actor="operator", model="pool-m", suite="s", k=3)


def test_sealed_statistics_slices_and_cards_name_no_sealed_value(
    lite_space: Space, tmp_path: Path
) -> None:
    seeded = seed(lite_space, tmp_path / "d", which="ai4i")
    evaluation.register_suite(lite_space, actor="evaluator", name="s", dataset=seeded.sealed)
    # the catalog: the builder sees column names and types; the evaluator its statistics
    _, (theirs,) = catalog.show_dataset(lite_space, seeded.sealed, viewer="builder")
    _, (mine,) = catalog.show_dataset(lite_space, seeded.sealed, viewer="evaluator")
    assert theirs.profile == {} and theirs.validation == {} and theirs.schema == mine.schema
    assert mine.profile
    # a model that reads the id column: slices name only ids of the builder's training rows
    keep_ids = tuple(c for c in AI4I_EXCLUDE if c != "Product ID")
    spec = ModelSpec("lightgbm", params={"n_estimators": 20, "n_jobs": 1}, exclude_columns=keep_ids)
    training.train_model(
        lite_space, actor="builder", name="ids", spec=spec, datasets=[seeded.train]
    )
    run = evaluation.evaluate(lite_space, actor="builder", model="ids", suite="s")
    _, (train_v,) = catalog.show_dataset(lite_space, seeded.train)
    train = pq.read_table(lite_space.artifacts.open(train_v.content_hash, ".parquet"))
    seen = {str(v) for c in train.column_names for v in train.column(c).to_pylist()}
    sealed_ids = set(seeded.sealed_table.column("Product ID").to_pylist())
    train_ids = set(train.column("Product ID").to_pylist())
    named = {c["value"] for s in run.diagnosis["slices"] for c in s["conditions"] if "value" in c}
    assert named <= seen  # every value a slice names occurs in the builder's training rows
    text = json.dumps(run.to_dict())
    assert not any(i in text for i in sealed_ids - train_ids)
    card = model_card(lite_space, "ids")
    features = next(line for line in card.splitlines() if line.startswith("- **Features**"))
    assert "Product ID (categorical," in features
    assert not any(i in features for i in sealed_ids | train_ids)
