"""What a data holder sees about its data: uses, models and scores, review queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from resonance.domain.errors import RoleRequired
from resonance.domain.modeling import ModelSpec
from resonance.domain.policies import Purpose
from resonance.domain.review import Evidence, Proposal, ProposalKind
from resonance.services import evaluation, my_data, training
from resonance.services import review as rv
from resonance.services.access import authorize
from resonance.services.space import Space
from tests.model_seed import seed

SPEC = ModelSpec("lightgbm", params={"n_estimators": 10, "num_leaves": 7, "n_jobs": 1})


def test_holder_sees_uses_models_scores_and_reviews(lite_space: Space, tmp_path: Path) -> None:
    space = lite_space
    s = seed(space, tmp_path)
    mv = training.train_model(space, actor="builder", name="m", spec=SPEC, datasets=[s.train])
    evaluation.register_suite(space, actor="evaluator", name="sealed", dataset=s.sealed)
    evaluation.evaluate(space, actor="builder", model=mv.ref, suite="sealed", label_issues=False)
    with pytest.raises(Exception):  # noqa: B017 - a refused use is recorded too
        authorize(space, actor="plant-b", ref=s.train, purpose=Purpose.TRAIN_POOLED)
    rv.propose(
        space,
        actor="builder",
        proposals=[
            Proposal("plant-a", s.train, 1, 4, ProposalKind.DROP, None, None, Evidence("l", 1))
        ],
    )
    seen = my_data.my_data(space, actor="plant-a")
    assert seen.datasets == [
        {
            "name": s.train,
            "kind": "common",
            "latest": f"{s.train}@1",
            "rows": seen.datasets[0]["rows"],
        }
    ]
    assert {(u.who, u.purpose, u.allowed) for u in seen.uses} >= {
        ("builder", "train-pooled", True),
        ("plant-b", "train-pooled", False),
    }
    assert seen.uses_by_org()["builder"] >= 1 and "plant-b" not in seen.uses_by_org()
    [model] = seen.models
    assert model.model == mv.ref and model.built_by == "builder"
    assert model.via == (f"{s.train}@1",) and 0 < model.scores["sealed"] <= 1
    assert seen.reviews == {"open": 1} and seen.open_items[0].row == 4
    assert my_data.my_data(space, actor="plant-b").models == []
    assert my_data.my_data(space, actor="operator", owner="plant-a").owner == "plant-a"
    with pytest.raises(RoleRequired):
        my_data.my_data(space, actor="builder", owner="plant-a")
