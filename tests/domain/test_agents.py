"""The agent domain: spec round trip and checks, the rule planner, episode metrics, tuning."""

from __future__ import annotations

import numpy as np
import pytest

from resonance.domain.agents import (
    AgentLimits,
    AgentSpec,
    Decision,
    Fault,
    FaultKind,
    ModelLineage,
    PlannerParams,
    RulePlanner,
    Signal,
    Tool,
    episode_metrics,
    fixed_threshold,
    make_episodes,
    parse_tools,
    plan_alarms,
    summarize,
    tune_planner,
)
from resonance.domain.errors import InvalidInput


def _spec(**kw: object) -> AgentSpec:
    base = {
        "name": "watch",
        "version": 1,
        "owner": "lab",
        "scenario": "energy-alerts",
        "industry": "steel",
        "goal": "alert early",
        "template": "energy-anomaly",
        "models": (ModelLineage("kwh@1", "a" * 64, ("d@1",), ("b" * 64,)),),
        "observes": ("d",),
        "tools": frozenset(Tool),
        "signal": Signal("residual", "y"),
    }
    base.update(kw)
    return AgentSpec(**base).checked()  # type: ignore[arg-type]


def test_spec_round_trips_and_checks() -> None:
    spec = _spec(limits=AgentLimits(actions_per_hour=4, value_min=0.0, escalate_after=3))
    assert AgentSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(InvalidInput):
        _spec(planner=PlannerParams(on=1.0, off=2.0))
    with pytest.raises(InvalidInput):
        _spec(models=())
    with pytest.raises(InvalidInput):
        _spec(signal=Signal("probability", "y"))
    with pytest.raises(InvalidInput):
        parse_tools(["observe", "teleport"])


def test_the_planner_needs_persistence_and_clears_with_hysteresis() -> None:
    p = RulePlanner(PlannerParams(on=2.0, off=1.0, persistence=2), escalate_after=2)
    seq = [p.step(s) for s in [2.5, 0.0, 2.5, 2.5, 1.5, 1.5, 1.5, 0.5, 0.5]]
    assert seq == [
        Decision.NONE, Decision.NONE, Decision.NONE, Decision.ALARM,
        Decision.NONE, Decision.ESCALATE, Decision.NONE, Decision.NONE, Decision.CLEAR,
    ]  # fmt: skip
    assert not p.alarmed


def test_episode_metrics_count_delay_false_and_missed_alarms() -> None:
    fault = Fault(FaultKind.STEP, onset=5, magnitude=3.0)
    alarmed = np.array([0, 1, 0, 0, 0, 0, 0, 1, 1, 0], dtype=bool)
    out = episode_metrics(alarmed, fault)
    assert (out.false_alarms, out.delay_steps, out.missed) == (1, 2, False)
    missed = episode_metrics(np.zeros(10, dtype=bool), fault)
    assert missed.missed and missed.delay_steps is None
    clean = episode_metrics(alarmed, None)
    assert clean.false_alarms == 2 and not clean.faulty
    total = summarize([out, missed, clean], [5, 5, None], step_minutes=60)
    assert total.false_alarms == 3 and total.false_alarm_rate == pytest.approx(100 * 3 / 20)
    assert total.mean_delay_steps == 2 and total.missed == 1
    assert total.censored_delay_hours == pytest.approx((2 + 5) / 2)  # the miss: 5 steps left


def test_fault_offsets_and_episodes_are_reproducible() -> None:
    drift = Fault(FaultKind.DRIFT, onset=2, magnitude=4.0, duration=4, ramp=2)
    assert drift.offset(8).tolist() == [0, 0, 2, 4, 4, 4, 0, 0]
    a = make_episodes(rows=1000, count=20, length=96, seed=3)
    assert a == make_episodes(rows=1000, count=20, length=96, seed=3)
    assert all(0 <= e.start <= 904 for e in a) and any(e.fault is None for e in a)
    with pytest.raises(InvalidInput):
        make_episodes(rows=50, count=1, length=96, seed=0)


def test_tuning_meets_the_false_alarm_budget_and_beats_a_fixed_threshold() -> None:
    rng = np.random.default_rng(0)
    clean = rng.normal(size=4000)
    eps = []
    for _ in range(30):
        s = rng.normal(size=96)
        f = Fault(FaultKind.STEP, onset=40, magnitude=1.5)
        eps.append((s + f.offset(96), f))
    params, info = tune_planner(clean, eps, max_false_per_100h=2.0, step_minutes=15)
    hours = 4000 * 0.25
    fa = episode_metrics(plan_alarms(clean, params), None).false_alarms
    assert 100 * fa / hours <= 2.0
    thr = fixed_threshold(clean, max_false_per_100h=2.0, step_minutes=15)
    fixed = [episode_metrics(np.abs(s) >= thr, f).delay_steps for s, f in eps]
    fixed_mean = np.mean([96 if d is None else d for d in fixed])
    assert info["training_mean_delay_steps"] < fixed_mean


# --- the optional LLM planner (a scripted answer in place of the endpoint: never called) ---


def test_an_llm_answer_confirms_or_vetoes_and_nothing_else_acts() -> None:
    from resonance.domain.agents import parse_llm_answer

    alarm = Decision.ALARM
    assert parse_llm_answer('{"decision": "alarm", "reason": "r"}', proposed=alarm) == (alarm, "r")
    assert parse_llm_answer('```json\n{"decision": "none"}\n```', proposed=alarm)[0] is (
        Decision.NONE
    )
    for bad in ("yes, raise it", "[]", '{"reason": "x"}', '{"decision": "escalate"}'):
        decision, reason = parse_llm_answer(bad, proposed=alarm)
        assert decision is Decision.NONE and "vetoed" in reason


def test_the_llm_planner_asks_only_on_proposals_and_its_veto_holds() -> None:
    from resonance.domain.agents import LlmPlanner, llm_messages

    answers = iter(['{"decision": "none"}', '{"decision": "alarm", "reason": "sustained"}'])
    asked: list[list[dict[str, str]]] = []

    def ask(messages: list[dict[str, str]]) -> str:
        asked.append(messages)
        return next(answers)

    rules = RulePlanner(PlannerParams(on=2.0, off=1.0, persistence=2))
    p = LlmPlanner(rules, goal="alert on energy anomalies", ask=ask)
    decisions = [p.step(s) for s in (0.1, 3.0, 3.0, 3.0, 3.0)]
    # the rules propose at the 2nd high score: vetoed; they propose again 2 scores later
    assert decisions == [Decision.NONE, Decision.NONE, Decision.NONE, Decision.NONE, Decision.ALARM]
    assert len(asked) == 2 and p.alarmed
    assert [(c.step, c.proposed, c.decision) for c in p.consulted] == [
        (2, Decision.ALARM, Decision.NONE),
        (4, Decision.ALARM, Decision.ALARM),
    ]
    prompt = asked[0][-1]["content"]
    assert "0.100, 3.000, 3.000" in prompt and "alert on energy anomalies" in prompt
    many = llm_messages(
        goal="g", params=PlannerParams(), step=99, proposed=Decision.CLEAR, levels=range(100)
    )
    assert many[-1]["content"].count(",") < 30  # only the newest 24 scores are shown


def test_llm_settings_admit_only_endpoints_inside_the_space() -> None:
    from resonance.domain.llm import LlmSettings

    def inside(url: str, **kw: object) -> bool:
        return LlmSettings.from_dict({"url": url, "model": "m", **kw}).is_inside()

    assert inside("http://127.0.0.1:8000/v1") and inside("http://localhost/v1")
    assert inside("http://10.1.2.3/v1") and inside("http://[::1]:9000/v1")
    assert not inside("https://api.example.com/v1") and not inside("http://8.8.8.8/v1")
    assert inside("https://llm.plant.example/v1", inside_space=True)
    for bad in ({"url": "ftp://x/v1", "model": "m"}, {"url": "http://x/v1"},
                {"url": "http://x/v1", "model": "m", "timeout_s": 0},
                {"url": "http://x/v1", "model": "m", "temperature": 1}):  # fmt: skip
        with pytest.raises(InvalidInput):
            LlmSettings.from_dict(bad)
