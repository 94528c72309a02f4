"""The agent factory's use cases on a real space: create from a template (tuned on training
episodes), tools policed and ledgered, the kill switch, sealed evaluation with a budget, the
registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from resonance.domain.agents import (
    AgentLimits,
    EnvironmentKind,
    PlannerParams,
    RunStatus,
    Template,
    Tool,
)
from resonance.domain.errors import (
    EnvironmentUnavailable,
    EpisodeBudgetExhausted,
    InvalidInput,
    ModelNotAllowed,
    PolicyDenied,
    RoleRequired,
    TaskNotSupported,
    ToolNotAllowed,
)
from resonance.domain.registry import LandingCase, ModelKind, ScenarioFile
from resonance.services import agents, ledger, registry, review
from resonance.services.space import Space
from tests.agent_seed import AgentSeed, seed_agent


@pytest.fixture
def seeded(lite_space: Space, tmp_path: Path) -> AgentSeed:
    return seed_agent(lite_space, tmp_path / "energy")


def _actions(space: Space, prefix: str) -> list[str]:
    return [e.action for e in ledger.entries(space) if e.action.startswith(prefix)]


def test_create_tunes_a_versioned_spec_with_lineage(lite_space: Space, seeded: AgentSeed) -> None:
    spec = agents.get_agent(lite_space, seeded.agent)
    assert spec.ref == "kwh-watch@1" and spec.owner == "builder"
    assert spec.models[0].model == seeded.model
    assert spec.models[0].datasets and spec.models[0].dataset_hashes
    assert spec.signal.kind == "residual" and spec.signal.target == "Usage_kWh"
    assert spec.signal.scale > 0 and spec.tuning["dataset"].startswith("energy-plant-b@")
    assert spec.planner.off <= spec.planner.on
    assert "agent.created" in _actions(lite_space, "agent.")
    again = agents.create(
        lite_space,
        actor="builder",
        name="kwh-watch",
        scenario="energy-alerts",
        template=Template.ENERGY_ANOMALY,
        models=[seeded.model],
    )
    assert again.version == 2 and agents.get_agent(lite_space, "kwh-watch@1").version == 1
    card = agents.card(lite_space, "kwh-watch@1")
    assert "energy-plant-a" in card and "Decision policy" in card


def test_a_classifier_is_refused_by_the_energy_template(
    lite_space: Space, seeded: AgentSeed
) -> None:
    with pytest.raises(TaskNotSupported) as err:
        agents.create(
            lite_space,
            actor="builder",
            name="faults",
            scenario="energy-alerts",
            template=Template.FAULT_DETECTION,
            models=[seeded.model],
            normal="x",
        )
    assert err.value.code == "RES-230"
    with pytest.raises(RoleRequired):
        agents.create(
            lite_space,
            actor="plant-a",
            name="faults",
            scenario="energy-alerts",
            template=Template.ENERGY_ANOMALY,
            models=[seeded.model],
        )
    assert [a.name for a in agents.list_agents(lite_space)] == ["kwh-watch"]


def test_a_run_observes_under_policy_acts_and_escalates(
    lite_space: Space, seeded: AgentSeed
) -> None:
    run = agents.run(lite_space, actor="builder", agent=seeded.agent, window=200)
    assert run.status is RunStatus.FINISHED and run.result["steps"] == 200
    calls = run.result["tool_calls"]
    assert calls["observe"] == 1 and calls["predict"] == 1
    entries = ledger.entries(lite_space)
    accessed = [e for e in entries if e.action == "data.accessed" and e.actor == "builder"]
    assert any(
        e.payload.get("run") == run.id and e.payload["purpose"] == "evaluate" for e in accessed
    )
    assert "agent.run_finished" in [e.action for e in entries]


def test_alarms_within_limits_and_escalations_to_the_owner(
    lite_space: Space, seeded: AgentSeed
) -> None:
    jumpy = agents.create(
        lite_space,
        actor="builder",
        name="jumpy",
        scenario="energy-alerts",
        template=Template.ENERGY_ANOMALY,
        models=[seeded.model],
        observes=[seeded.observe],
        planner=PlannerParams(on=0.05, off=0.0, persistence=1),
        limits=AgentLimits(actions_per_hour=1, escalate_after=1),
    )
    run = agents.run(lite_space, actor="builder", agent=jumpy.ref, window=40)
    assert run.status is RunStatus.FINISHED and run.result["alarms"] >= 1
    assert run.result["escalations"] >= 1 and run.result["review_items"]
    item = review.show(lite_space, actor="plant-c", item_id=run.result["review_items"][0]).item
    assert item.owner == "plant-c" and item.kind.value == "fix-target"
    assert item.evidence[0].method == "agent:jumpy@1"
    acted = [e for e in ledger.entries(lite_space) if e.action == "agent.acted"]
    assert {e.payload["sink"] for e in acted} == {"notification", "review"}
    refused = [e for e in acted if e.payload["refused"]]
    assert len(refused) == run.result["violations"]


def test_observe_is_denied_without_a_grant(lite_space: Space, seeded: AgentSeed) -> None:
    with pytest.raises(PolicyDenied):
        agents.run(lite_space, actor="builder", agent=seeded.agent, dataset="energy-eval")
    runs = agents.list_runs(lite_space, agent=seeded.agent)
    assert runs[-1].status is RunStatus.FAILED and runs[-1].result["error"] == "RES-120"


def test_a_tool_or_model_not_in_the_spec_is_refused_and_ledgered(
    lite_space: Space, seeded: AgentSeed
) -> None:
    spec = agents.get_agent(lite_space, seeded.agent)
    blind = agents.create(
        lite_space,
        actor="builder",
        name="blind",
        scenario="energy-alerts",
        template=Template.ENERGY_ANOMALY,
        models=[seeded.model],
        observes=[seeded.observe],
        tools=frozenset({Tool.PREDICT, Tool.ACT}),
    )
    with pytest.raises(ToolNotAllowed) as err:
        agents.run(lite_space, actor="builder", agent=blind.ref)
    assert err.value.code == "RES-240"
    gw = agents.ToolGateway(lite_space, spec, "builder", "r-test")
    with pytest.raises(ModelNotAllowed):
        gw.model("kwh@99")
    denied = [e for e in ledger.entries(lite_space) if e.action == "agent.tool_denied"]
    assert [e.payload["tool"] for e in denied] == ["observe", "predict"]


def test_the_kill_switch_stops_a_run_between_steps(lite_space: Space, seeded: AgentSeed) -> None:
    other = Space.open(lite_space.root)  # another process's view, as `resonance agent stop`

    def pull(step: int, _total: int) -> None:
        if step == 5:
            assert agents.stop(other, actor="builder", agent=seeded.agent)

    run = agents.run(lite_space, actor="builder", agent=seeded.agent, window=50, on_step=pull)
    other.close()
    assert run.status is RunStatus.STOPPED and run.result["steps"] == 5 and run.stop_requested
    assert "agent.stop_requested" in _actions(lite_space, "agent.")
    with pytest.raises(RoleRequired):
        agents.stop(lite_space, actor="plant-a", agent=seeded.agent)


def test_sealed_evaluation_gives_task_metrics_within_a_budget(
    lite_space: Space, seeded: AgentSeed
) -> None:
    ev = agents.evaluate(lite_space, actor="builder", agent=seeded.agent, episodes=seeded.episodes)
    m = ev.metrics
    assert m["episodes"] == 12 and 0 < m["faulty"] <= 12
    assert m["detected"] + m["missed"] == m["faulty"]
    assert m["false_alarm_rate_per_100h"] >= 0 and m["hours"] == 12 * 96 * 0.25
    assert set(m) >= {"mean_delay_hours", "violations", "escalations"}
    assert "start" not in str(m) and "seed" not in str(m)
    summary = agents.list_episode_sets(lite_space)[0]
    assert summary["episodes"] == 12 and "seed" not in summary
    for _ in range(2):
        agents.evaluate(lite_space, actor="builder", agent=seeded.agent, episodes=seeded.episodes)
    with pytest.raises(EpisodeBudgetExhausted) as err:
        agents.evaluate(lite_space, actor="builder", agent=seeded.agent, episodes=seeded.episodes)
    assert err.value.code == "RES-244"
    reads = [
        e for e in ledger.entries(lite_space)
        if e.action == "data.accessed" and e.actor == "evaluator"
        and e.payload.get("episodes") == seeded.episodes
    ]  # fmt: skip
    assert len(reads) == 3 and reads[0].payload["on_behalf_of"] == "builder"


def test_an_evaluated_agent_enters_the_registry(lite_space: Space, seeded: AgentSeed) -> None:
    registry.file_scenario(
        lite_space,
        actor="operator",
        scenario=ScenarioFile(
            name="energy-alerts",
            industry="steel",
            title="Energy anomaly alerts",
            problem="energy waste goes unnoticed",
            value="lower energy cost",
            data_needed="metered energy use",
            model_needed="a regression model of energy use",
            owner="operator",
        ),
    )
    spec = agents.create(
        lite_space,
        actor="builder",
        name="kwh-listed",
        scenario="energy-alerts",
        template=Template.ENERGY_ANOMALY,
        models=[seeded.model],
    )
    assert spec.industry == "steel"
    agents.evaluate(lite_space, actor="builder", agent=spec.ref, episodes=seeded.episodes)
    entry = agents.list_in_registry(lite_space, actor="builder", agent=spec.ref)
    assert entry.kind is ModelKind.AGENT and "mean delay" in entry.description
    assert [m.name for m in registry.list_models(lite_space)] == ["kwh-listed"]
    case = registry.record_case(
        lite_space,
        actor="builder",
        case=LandingCase(
            name="kwh-at-plant-c",
            model="kwh-listed",
            adopter="plant-c",
            region="Liaoning",
            description="energy alerts at plant-c's rolling mill",
            recorded_by="builder",
            evidence="deployment:plant-c/alerts-2026",
        ),
    )
    assert [c.name for c in registry.list_cases(lite_space, model="kwh-listed")] == [case.name]


def test_tep_episodes_check_the_request_before_the_optional_extra(
    lite_space: Space, seeded: AgentSeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resonance.services import tep

    monkeypatch.setattr(tep, "available", lambda: False)
    opts = {"actor": "evaluator", "dataset": None, "count": 3, "length": 16, "seed": 1}
    with pytest.raises(InvalidInput):  # a bad disturbance is the caller's error either way
        agents.register_episodes(
            lite_space, name="t1", environment=EnvironmentKind.TEP, idvs=(-251,), **opts
        )
    with pytest.raises(EnvironmentUnavailable) as err:
        agents.register_episodes(
            lite_space, name="t1", environment=EnvironmentKind.TEP, idvs=(1,), **opts
        )
    assert err.value.code == "RES-245"
    assert [s["name"] for s in agents.list_episode_sets(lite_space)] == [seeded.episodes]


def test_the_llm_planner_is_refused_without_an_endpoint_inside_the_space(
    lite_space: Space, seeded: AgentSeed
) -> None:
    from dataclasses import replace

    from resonance.domain.agents import PlannerKind
    from resonance.domain.errors import PlannerUnavailable
    from resonance.domain.llm import LlmSettings

    def create() -> object:
        return agents.create(
            lite_space, actor="builder", name="kwh-llm", scenario="energy-alerts",
            template=Template.ENERGY_ANOMALY, models=[seeded.model],
            planner_kind=PlannerKind.LLM,
        )  # fmt: skip

    with pytest.raises(PlannerUnavailable) as err:  # no [llm] in resonance.toml
        create()
    assert err.value.code == "RES-246"
    outside = LlmSettings(url="https://api.example.com/v1", model="m")
    lite_space.config = replace(lite_space.config, llm=outside)
    with pytest.raises(PlannerUnavailable, match="not inside the space"):
        create()
    assert [s.name for s in agents.list_agents(lite_space)] == ["kwh-watch"]  # nothing stored
    inside = LlmSettings(url="http://127.0.0.1:9/v1", model="m")  # never called at create
    lite_space.config = replace(lite_space.config, llm=inside)
    spec = create()
    assert spec.planner_kind is PlannerKind.LLM
    assert "planner: llm" in agents.card(lite_space, "kwh-llm")
