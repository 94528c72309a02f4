"""A fault-detection agent on sealed Tennessee Eastman episodes (tep-studio's closed loop):
a classifier trained in the space on recorded runs, thresholds tuned on another member's
runs, sealed episodes simulated as the agent runs through them."""

from __future__ import annotations

from pathlib import Path

import pytest

from resonance.domain.agents import EnvironmentKind
from resonance.domain.errors import InvalidInput
from resonance.services import agents
from resonance.services.space import Space

pytest.importorskip("tep_studio", reason="tep-studio is not installed (pip install '.[agents]')")

from tests.tep_seed import seed_tep


def test_a_fault_detection_agent_on_sealed_tep_episodes(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed_tep(lite_space, tmp_path / "tep", steps=100, episodes=3, episode_steps=100)
    spec = agents.get_agent(lite_space, seeded.agent)
    assert spec.signal.kind == "probability" and spec.signal.normal == "normal"
    assert spec.tuning["dataset"] == "tep-b@1" and spec.tuning["episodes"] == 6
    assert spec.models[0].datasets == ("tep-a@1",)
    ev = agents.evaluate(lite_space, actor="builder", agent=seeded.agent, episodes=seeded.episodes)
    m = ev.metrics
    assert m["episodes"] == 3 and m["hours"] == pytest.approx(3 * 100 * 0.04)
    assert m["detected"] + m["missed"] == m["faulty"] and m["tool_calls"]["predict"] == 3
    summary = agents.list_episode_sets(lite_space)[0]
    assert summary["environment"] == "tep" and summary["dataset"] is None
    with pytest.raises(InvalidInput):
        agents.register_episodes(
            lite_space, actor="evaluator", name="none", dataset=None, count=2, length=50,
            seed=1, environment=EnvironmentKind.TEP, idvs=(),
        )  # fmt: skip


@pytest.mark.parametrize("idv", [0, 6])
def test_the_fast_integrator_gives_tep_studios_trajectories_to_the_bit(idv: int) -> None:
    import numpy as np
    from tep_studio import ClosedLoopSimulation, TennesseeEastmanProcess

    from resonance.services import tep

    def run(plant: object) -> tuple[np.ndarray, np.ndarray]:
        loop = ClosedLoopSimulation(
            simulator=plant, horizon=2.0, control_interval=tep.CONTROL_INTERVAL
        )
        result = loop.run(
            seed=5, disturbance_schedule=lambda t: np.eye(28)[idv - 1] * (idv > 0 and t >= 0.5)
        )
        meas = np.array([r.measurements for r in result.results])
        return meas, np.array([r.implemented_action for r in result.results])

    stock = run(TennesseeEastmanProcess())
    fast = run(tep._fast_rk4(TennesseeEastmanProcess)())
    assert len(stock[0]) == 100
    assert np.array_equal(stock[0], fast[0]) and np.array_equal(stock[1], fast[1])
