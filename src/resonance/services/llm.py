"""The LLM planner's endpoint: one chat completion on an OpenAI-compatible API.

Used only when an agent's planner is ``llm`` and the operator configured ``[llm]``; the
standard library's HTTP client, so nothing is installed for it. Tests never call it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from resonance.domain.errors import PlannerUnavailable
from resonance.domain.llm import LlmSettings


def require_inside(settings: LlmSettings | None) -> LlmSettings:
    """The settings, or ``PlannerUnavailable`` when none are configured or the endpoint is
    not inside the space."""
    if settings is None:
        raise PlannerUnavailable(
            "the llm planner needs an endpoint: the operator sets [llm] url and model in "
            "resonance.toml"
        )
    if not settings.is_inside():
        raise PlannerUnavailable(
            f"the [llm] endpoint {settings.url} is not inside the space (a loopback or "
            "private address); its prompts carry scores derived from members' rows. An "
            "operator who runs it inside the space sets inside_space = true",
            url=settings.url,
        )
    return settings


def chat(settings: LlmSettings, messages: list[dict[str, str]]) -> str:
    """The text of the first choice of ``POST {url}/chat/completions`` (temperature 0).

    Raises
    ------
    PlannerUnavailable
        The endpoint is outside the space, cannot be reached, answers with an HTTP error,
        or answers without a choice.
    """
    require_inside(settings)
    body = json.dumps({"model": settings.model, "messages": messages, "temperature": 0}).encode()
    headers = {"Content-Type": "application/json"}
    key = os.environ.get(settings.api_key_env)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    url = settings.url.rstrip("/") + "/chat/completions"
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=settings.timeout_s) as resp:
            data: Any = json.loads(resp.read(1_000_000))
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise PlannerUnavailable(f"the llm planner's endpoint failed: {exc}", url=url) from exc
    try:
        return str(data["choices"][0]["message"]["content"])
    except (KeyError, IndexError, TypeError) as exc:
        raise PlannerUnavailable("the llm planner's endpoint answered without a choice") from exc
