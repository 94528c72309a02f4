"""Agent specs, runs, sealed episode sets and evaluations in SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from resonance.storage.sql.base import SqlRepoBase

if TYPE_CHECKING:  # the records (and numpy) load only when an agent is read or written
    from resonance.domain.agents import (
        AgentEvaluation,
        AgentRun,
        AgentSpec,
        EpisodeSet,
        RunStatus,
    )
from resonance.storage.tables import metadata

# --- tables ---

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("scenario", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
)

agent_runs = sa.Table(
    "agent_runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("organization", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("stop_requested", sa.Boolean, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Index("ix_agent_runs_agent_status", "agent", "status"),
)

agent_episode_sets = sa.Table(
    "agent_episode_sets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("environment", sa.String(20), nullable=False),
    sa.Column("dataset", sa.String(100)),
    sa.Column("budget", sa.Integer, nullable=False),
    sa.Column("step_minutes", sa.Float, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("episodes", sa.JSON, nullable=False),
)

agent_evaluations = sa.Table(
    "agent_evaluations",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("episodes", sa.String(64), nullable=False),
    sa.Column("organization", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Index("ix_agent_evaluations_set_org", "episodes", "organization"),
)


def _run(r: Any) -> AgentRun:
    from resonance.domain.agents import AgentRun, RunStatus

    return AgentRun(
        id=r.id,
        agent=r.agent,
        version=r.version,
        organization=r.organization,
        status=RunStatus(r.status),
        started_at=r.started_at,
        finished_at=r.finished_at,
        stop_requested=bool(r.stop_requested),
        result=dict(r.result or {}),
    )


def _episode_set(r: Any) -> EpisodeSet:
    from resonance.domain.agents import EnvironmentKind, Episode, EpisodeSet

    return EpisodeSet(
        name=r.name,
        owner=r.owner,
        environment=EnvironmentKind(r.environment),
        dataset=r.dataset,
        episodes=tuple(Episode.from_dict(e) for e in r.episodes),
        budget=r.budget,
        created_at=r.created_at,
        step_minutes=float(r.step_minutes),
    )


class SqlAgentRepo(SqlRepoBase):
    """:class:`resonance.storage.store.AgentRepo` in SQL."""

    def add_agent(self, spec: AgentSpec) -> None:
        self.conn.execute(
            agents.insert().values(
                name=spec.name,
                version=spec.version,
                owner=spec.owner,
                scenario=spec.scenario,
                created_at=spec.created_at,
                spec=spec.to_dict(),
            )
        )

    def get_agent(self, name: str, version: int | None = None) -> AgentSpec | None:
        a = agents
        stmt = sa.select(a.c.spec).where(a.c.name == name)
        if version is None:
            stmt = stmt.order_by(a.c.version.desc()).limit(1)
        else:
            stmt = stmt.where(a.c.version == version)
        row = self.conn.execute(stmt).first()
        from resonance.domain.agents import AgentSpec

        return None if row is None else AgentSpec.from_dict(row.spec)

    def list_agents(
        self, *, owner: str | None = None, scenario: str | None = None
    ) -> list[AgentSpec]:
        a = agents
        stmt = sa.select(a.c.spec).order_by(a.c.name, a.c.version)
        if owner is not None:
            stmt = stmt.where(a.c.owner == owner)
        if scenario is not None:
            stmt = stmt.where(a.c.scenario == scenario)
        from resonance.domain.agents import AgentSpec

        return [AgentSpec.from_dict(r.spec) for r in self.conn.execute(stmt)]

    def add_agent_run(self, run: AgentRun) -> None:
        self.conn.execute(
            agent_runs.insert().values(
                id=run.id,
                agent=run.agent,
                version=run.version,
                organization=run.organization,
                status=run.status.value,
                started_at=run.started_at,
                finished_at=run.finished_at,
                stop_requested=run.stop_requested,
                result=dict(run.result),
            )
        )

    def update_agent_run(self, run: AgentRun) -> None:
        r = agent_runs
        done = self.conn.execute(
            r.update()
            .where(r.c.id == run.id)
            .values(
                status=run.status.value,
                finished_at=run.finished_at,
                stop_requested=run.stop_requested,
                result=dict(run.result),
            )
        )
        if done.rowcount == 0:
            raise KeyError(run.id)

    def get_agent_run(self, run_id: str) -> AgentRun | None:
        r = agent_runs
        row = self.conn.execute(sa.select(r).where(r.c.id == run_id)).first()
        return None if row is None else _run(row)

    def list_agent_runs(
        self, *, agent: str | None = None, status: RunStatus | None = None
    ) -> list[AgentRun]:
        r = agent_runs
        stmt = sa.select(r).order_by(r.c.started_at, r.c.id)
        if agent is not None:
            stmt = stmt.where(r.c.agent == agent)
        if status is not None:
            stmt = stmt.where(r.c.status == status.value)
        return [_run(x) for x in self.conn.execute(stmt)]

    def request_agent_stop(self, agent: str) -> list[str]:
        from resonance.domain.agents import RunStatus

        r = agent_runs
        ids = [
            x.id
            for x in self.conn.execute(
                sa.select(r.c.id).where(r.c.agent == agent, r.c.status == RunStatus.RUNNING.value)
            )
        ]
        if ids:
            self.conn.execute(r.update().where(r.c.id.in_(ids)).values(stop_requested=True))
        return sorted(ids)

    def agent_stop_requested(self, run_id: str) -> bool:
        r = agent_runs
        row = self.conn.execute(sa.select(r.c.stop_requested).where(r.c.id == run_id)).first()
        return bool(row is not None and row.stop_requested)

    def add_episode_set(self, episodes: EpisodeSet) -> None:
        self.conn.execute(
            agent_episode_sets.insert().values(
                name=episodes.name,
                owner=episodes.owner,
                environment=episodes.environment.value,
                dataset=episodes.dataset,
                budget=episodes.budget,
                step_minutes=episodes.step_minutes,
                created_at=episodes.created_at,
                episodes=[e.to_dict() for e in episodes.episodes],
            )
        )

    def get_episode_set(self, name: str) -> EpisodeSet | None:
        e = agent_episode_sets
        row = self.conn.execute(sa.select(e).where(e.c.name == name)).first()
        return None if row is None else _episode_set(row)

    def list_episode_sets(self) -> list[EpisodeSet]:
        e = agent_episode_sets
        return [_episode_set(r) for r in self.conn.execute(sa.select(e).order_by(e.c.name))]

    def add_agent_evaluation(self, evaluation: AgentEvaluation) -> None:
        self.conn.execute(
            agent_evaluations.insert().values(
                id=evaluation.id,
                agent=evaluation.agent,
                version=evaluation.version,
                episodes=evaluation.episodes,
                organization=evaluation.organization,
                created_at=evaluation.created_at,
                metrics=dict(evaluation.metrics),
            )
        )

    def list_agent_evaluations(
        self,
        *,
        agent: str | None = None,
        episodes: str | None = None,
        organization: str | None = None,
    ) -> list[AgentEvaluation]:
        from resonance.domain.agents import AgentEvaluation

        v = agent_evaluations
        stmt = sa.select(v).order_by(v.c.created_at, v.c.id)
        if agent is not None:
            stmt = stmt.where(v.c.agent == agent)
        if episodes is not None:
            stmt = stmt.where(v.c.episodes == episodes)
        if organization is not None:
            stmt = stmt.where(v.c.organization == organization)
        return [
            AgentEvaluation(
                r.id, r.agent, r.version, r.episodes, r.organization, r.created_at, dict(r.metrics)
            )
            for r in self.conn.execute(stmt)
        ]
