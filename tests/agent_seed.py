"""A space for agents: steel-energy sites (no corruption), a regression model of energy use
trained on plant-a, the builder allowed to tune on plant-b and observe plant-c, and an
evaluator's sealed replay episodes over its held-out weeks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from resonance.domain.agents import Template
from resonance.domain.modeling import ModelSpec
from resonance.services import agents, training
from resonance.services.space import Space
from tests.energy_seed import EXCLUDE, seed_energy

SPEC = ModelSpec(
    "lightgbm",
    params={"n_estimators": 60, "num_leaves": 15, "n_jobs": 1},
    exclude_columns=EXCLUDE,
)


@dataclass
class AgentSeed:
    """Names of what was seeded."""

    model: str
    agent: str
    tune_on: str
    observe: str
    episodes: str


def seed_agent(
    space: Space, folder: Path, *, days: int = 56, episodes: int = 12, tune: bool = True
) -> AgentSeed:
    """Seed the space; create agent ``kwh-watch`` (template energy-anomaly)."""
    seed_energy(space, folder, days=days, corrupt_share=0.0, purposes=("train-pooled", "evaluate"))
    mv = training.train_model(
        space, actor="builder", name="kwh", spec=SPEC, datasets=["energy-plant-a"]
    )
    agents.register_episodes(
        space,
        actor="evaluator",
        name="kwh-sealed",
        dataset="energy-eval",
        count=episodes,
        length=96,
        seed=7,
        budget=3,
    )
    agents.create(
        space,
        actor="builder",
        name="kwh-watch",
        scenario="energy-alerts",
        template=Template.ENERGY_ANOMALY,
        models=[mv.ref],
        observes=["energy-plant-c"],
        tune=agents.TuneOptions(dataset="energy-plant-b", episodes=16, length=96) if tune else None,
    )
    return AgentSeed(mv.ref, "kwh-watch", "energy-plant-b", "energy-plant-c", "kwh-sealed")
