"""The console's agent pages: the list (with sealed scores and episode sets) and one agent."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from resonance.server import create_app
from resonance.services import agents, tokens
from resonance.services.space import Space
from tests.agent_seed import seed_agent
from tests.web.conftest import console_login


def test_agents_list_and_detail(lite_space: Space, tmp_path: Path) -> None:
    seeded = seed_agent(lite_space, tmp_path / "energy", tune=False, episodes=4)
    run = agents.run(lite_space, actor="builder", agent=seeded.agent, window=10)
    ev = agents.evaluate(lite_space, actor="builder", agent=seeded.agent, episodes=seeded.episodes)
    missed = f"<td>{ev.metrics['missed']}/{ev.metrics['faulty']}</td>"
    token, _ = tokens.create_token(lite_space, actor="operator", organization="builder")
    with TestClient(create_app(lite_space.root)) as client:
        console_login(client, token)
        page = client.get("/console/agents")
        assert page.status_code == 200 and 'href="/console/agents"' in page.text
        table = page.text.split('id="agents"')[1].split("</table>")[0]
        assert "kwh-watch@1" in table and "energy-anomaly" in table and missed in table
        assert "kwh-sealed" in page.text.split('id="episode-sets"')[1]
        assert (
            "kwh-watch"
            not in client.get("/console/agents?q=nothing")
            .text.split('id="agents"')[1]
            .split("</table>")[0]
        )
        detail = client.get("/console/agents/kwh-watch@1")
        assert detail.status_code == 200 and run.id in detail.text
        assert "Agent card: kwh-watch@1" in detail.text and "kwh-sealed" in detail.text
        assert client.get("/console/agents/nope").status_code == 404
