"""Contract tests of the agent repository on every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from resonance.domain.agents import (
    AgentEvaluation,
    AgentRun,
    AgentSpec,
    EnvironmentKind,
    Episode,
    EpisodeSet,
    Fault,
    FaultKind,
    ModelLineage,
    RunStatus,
    Signal,
    Tool,
)
from resonance.domain.errors import Conflict
from resonance.storage.sql import SqlStore

NOW = "2026-12-03T00:00:00+00:00"


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore(db_url)
    s.migrate()
    yield s
    s.close()


def _spec(name: str = "watch", version: int = 1, owner: str = "lab") -> AgentSpec:
    return AgentSpec(
        name=name,
        version=version,
        owner=owner,
        scenario="energy-alerts",
        industry="steel",
        goal="alert early",
        template="energy-anomaly",
        models=(ModelLineage("kwh@1", "ab" * 32, ("energy-a@1",), ("cd" * 32,)),),
        observes=("energy-c",),
        tools=frozenset({Tool.OBSERVE, Tool.PREDICT}),
        signal=Signal("residual", "Usage_kWh", scale=2.5),
        created_at=NOW,
    )


def test_agent_versions_round_trip_and_latest(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.add_agent(_spec())
        tx.add_agent(_spec(version=2))
        tx.add_agent(_spec("other", owner="lab2"))
    with store.transaction() as tx:
        assert tx.get_agent("watch") == _spec(version=2)
        assert tx.get_agent("watch", 1) == _spec()
        assert tx.get_agent("watch", 3) is None and tx.get_agent("nope") is None
        assert [s.ref for s in tx.list_agents()] == ["other@1", "watch@1", "watch@2"]
        assert [s.ref for s in tx.list_agents(owner="lab2")] == ["other@1"]
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_agent(_spec())


def test_runs_and_the_kill_switch(store: SqlStore) -> None:
    run = AgentRun("agr-1", "watch", 1, "lab", RunStatus.RUNNING, NOW)
    with store.transaction() as tx:
        tx.add_agent_run(run)
        tx.add_agent_run(replace(run, id="agr-2", status=RunStatus.FINISHED))
    with store.transaction() as tx:
        assert tx.agent_stop_requested("agr-1") is False
        assert tx.request_agent_stop("watch") == ["agr-1"]
        assert tx.agent_stop_requested("agr-1") and not tx.agent_stop_requested("agr-2")
        assert tx.request_agent_stop("nothing") == []
    done = replace(run, status=RunStatus.STOPPED, finished_at=NOW, result={"steps": 5})
    with store.transaction() as tx:
        tx.update_agent_run(done)
        assert tx.get_agent_run("agr-1") == replace(done, stop_requested=False)
        assert [r.id for r in tx.list_agent_runs(status=RunStatus.FINISHED)] == ["agr-2"]
        with pytest.raises(KeyError):
            tx.update_agent_run(replace(run, id="agr-9"))


def test_episode_sets_and_evaluations(store: SqlStore) -> None:
    eps = (
        Episode(0, 96, 1, Fault(FaultKind.DRIFT, 30, -2.5, ramp=6)),
        Episode(10, 96, 2, None),
    )
    es = EpisodeSet("sealed", "judge", EnvironmentKind.REPLAY, "eval@1", eps, 3, NOW, 15.0)
    ev = AgentEvaluation("agev-1", "watch", 1, "sealed", "lab", NOW, {"missed": 0})
    with store.transaction() as tx:
        tx.add_episode_set(es)
        tx.add_agent_evaluation(ev)
        tx.add_agent_evaluation(replace(ev, id="agev-2", organization="lab2"))
    with store.transaction() as tx:
        assert tx.get_episode_set("sealed") == es and tx.get_episode_set("x") is None
        assert tx.list_episode_sets() == [es]
        assert tx.list_agent_evaluations(episodes="sealed", organization="lab") == [ev]
        assert len(tx.list_agent_evaluations(agent="watch")) == 2
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_episode_set(es)
