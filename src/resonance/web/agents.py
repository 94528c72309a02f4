"""Console pages of the agent factory: the agents list and one agent's page."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from resonance.domain.orgs import Organization
from resonance.services import agents
from resonance.web.shared import Ctx, matches, query


def agents_page(space: Any, request: Request, me: Organization) -> Ctx:
    """Agent versions (search), the sealed episode sets and the latest scores."""
    q = query(request, "q")
    specs = [
        s
        for s in agents.list_agents(space)
        if matches(q, s.ref, s.scenario, s.template, s.owner, *s.model_refs)
    ]
    latest: dict[str, dict[str, Any]] = {}
    for e in agents.evaluations(space):
        latest[e.ref] = {"episodes": e.episodes, **e.metrics}
    return "agents.html", {
        "agents": [s.to_dict() for s in specs],
        "scores": latest,
        "episode_sets": agents.list_episode_sets(space),
        "filters": {"q": q},
    }


def agent_page(space: Any, request: Request, me: Organization, name: str) -> Ctx:
    """One agent version: its card, runs and sealed evaluations."""
    spec = agents.get_agent(space, name)
    return "agent.html", {
        "a": spec.to_dict(),
        "card": agents.card(space, spec.ref),
        "runs": [r.to_dict() for r in agents.list_runs(space, agent=spec.name)],
        "evaluations": [e.to_dict() for e in agents.evaluations(space, agent=spec.name)],
    }
