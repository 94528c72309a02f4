"""Settings of the optional LLM planner's endpoint (stdlib only: read at every start-up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resonance.domain.errors import InvalidInput


@dataclass(frozen=True)
class LlmSettings:
    """The operator's LLM planner endpoint (``[llm]`` in ``resonance.toml``).

    ``url`` is the base of an OpenAI-compatible API (``POST {url}/chat/completions``);
    the key, if any, is read from the environment variable ``api_key_env``. The endpoint
    must run inside the space -- its prompts carry the agent's scores, which are derived
    from members' rows: a loopback or private address, or a host the operator attests to
    with ``inside_space = true``.
    """

    url: str
    model: str
    api_key_env: str = "RESONANCE_LLM_API_KEY"
    timeout_s: float = 30.0
    inside_space: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LlmSettings:
        """Settings from the ``[llm]`` table (unknown keys refused)."""
        known = {"url", "model", "api_key_env", "timeout_s", "inside_space"}
        extra = sorted(set(data) - known)
        if extra:
            raise InvalidInput(f"unknown [llm] settings: {', '.join(extra)}", field="llm")
        if not isinstance(data.get("url"), str) or not isinstance(data.get("model"), str):
            raise InvalidInput("[llm] needs url and model (strings)", field="llm")
        return cls(
            url=data["url"],
            model=data["model"],
            api_key_env=str(data.get("api_key_env", "RESONANCE_LLM_API_KEY")),
            timeout_s=float(data.get("timeout_s", 30.0)),
            inside_space=bool(data.get("inside_space", False)),
        ).checked()

    def checked(self) -> LlmSettings:
        """Itself, or ``InvalidInput`` for a bad URL or timeout."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("[llm] url is http(s)://HOST[:PORT]/PATH", field="llm.url")
        if not 0 < self.timeout_s <= 600:
            raise InvalidInput("[llm] timeout_s is in (0, 600]", field="llm.timeout_s")
        return self

    def is_inside(self) -> bool:
        """Whether the endpoint may receive prompts: loopback or private, or attested."""
        import ipaddress
        from urllib.parse import urlsplit

        if self.inside_space:
            return True
        host = urlsplit(self.url).hostname or ""
        if host == "localhost":
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return ip.is_loopback or ip.is_private
