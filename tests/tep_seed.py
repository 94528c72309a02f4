"""A space with Tennessee Eastman history (tep-studio): plant-a's recorded runs train a fault
model, plant-b's tune the agent's thresholds, the evaluator holds sealed TEP episodes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from resonance.domain.agents import EnvironmentKind, Template
from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec, Task
from resonance.domain.modeling import ModelSpec
from resonance.domain.policies import parse_grant
from resonance.services import agents, catalog, policies, tep, training
from resonance.services.space import Space

LABEL = LabelSpec(LabelKind.COLUMN, (tep.STATE,), Task.CLASSIFICATION)
SEEN = (1, 2, 4, 5, 6, 7)  # step disturbances: what the fault model is trained to see


@dataclass
class TepSeed:
    """Names of what was seeded."""

    model: str
    agent: str
    episodes: str


def _history(space: Space, folder: Path, owner: str, name: str, runs: list[tuple[int, int]],
             steps: int, onset: int, seed: int) -> None:  # fmt: skip
    path = folder / f"{name}.parquet"
    pq.write_table(tep.history(runs=runs, steps=steps, onset=onset, seed=seed), path)
    catalog.ingest(
        space,
        actor=owner,
        path=path,
        dataset=name,
        new=catalog.NewDataset(owner, DatasetKind.COMMON, "petrochemicals", label=LABEL,
                               group_key="run"),
    )  # fmt: skip
    policies.set_policy(
        space, actor=owner, dataset=name, grants=[parse_grant("builder:train-pooled")]
    )


def seed_tep(
    space: Space,
    folder: Path,
    *,
    steps: int = 150,
    per_idv: int = 1,
    episodes: int = 6,
    episode_steps: int = 150,
    budget: int = 3,
) -> TepSeed:
    """Seed TEP history, train the fault model, create agent ``tep-watch``, register
    sealed TEP episodes ``tep-sealed``."""
    folder.mkdir(parents=True, exist_ok=True)
    onset = steps // 3
    train_runs = [(0, 100)] + [(i, 100 + 10 * i + k) for i in SEEN for k in range(per_idv)]
    tune_runs = [(0, 500)] + [(i, 500 + 10 * i) for i in SEEN]
    _history(space, folder, "plant-a", "tep-a", train_runs, steps, onset, seed=1)
    _history(space, folder, "plant-b", "tep-b", tune_runs, steps, onset, seed=2)
    spec = ModelSpec(
        "lightgbm",
        params={"n_estimators": 80, "num_leaves": 15, "n_jobs": 1},
        exclude_columns=("hour",),
    )
    mv = training.train_model(space, actor="builder", name="tep-fm", spec=spec, datasets=["tep-a"])
    agents.create(
        space,
        actor="builder",
        name="tep-watch",
        scenario="tep-faults",
        template=Template.FAULT_DETECTION,
        models=[mv.ref],
        normal="normal",
        step_minutes=tep.STEP_HOURS * 60,
        tune=agents.TuneOptions(dataset="tep-b", max_false_per_100h=2.0),
    )
    agents.register_episodes(
        space,
        actor="evaluator",
        name="tep-sealed",
        dataset=None,
        count=episodes,
        length=episode_steps,
        seed=23,
        budget=budget,
        environment=EnvironmentKind.TEP,
        idvs=SEEN,
    )
    return TepSeed(mv.ref, "tep-watch", "tep-sealed")
