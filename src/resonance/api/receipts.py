"""Signed receipts on API responses: ``X-Resonance-Receipt``.

Every request that appends to the ledger gets, on its response, the receipts of those
entries (signed with the space key; see :mod:`resonance.domain.receipts`) as URL-safe
base64 of a JSON list. The caller keeps them and later checks the chain with
``resonance ledger verify --receipt FILE`` (the decoded JSON).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from resonance.services.space import RECEIPT_SINK

HEADER = "x-resonance-receipt"


def encode(items: list[dict[str, Any]]) -> bytes:
    """The header value for ``items`` (receipts as dicts)."""
    return base64.urlsafe_b64encode(json.dumps(items, sort_keys=True).encode())


def decode(value: str) -> list[dict[str, Any]]:
    """Inverse of :func:`encode`."""
    data = json.loads(base64.urlsafe_b64decode(value.encode()))
    return list(data)


class ReceiptMiddleware:
    """ASGI middleware collecting the receipts of one request into its response headers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        collected: list[Any] = []
        token = RECEIPT_SINK.set(collected)

        async def send_with_receipts(message: Any) -> None:
            if message["type"] == "http.response.start" and collected:
                headers = [*message.get("headers", [])]
                headers.append((HEADER.encode(), encode([r.to_dict() for r in collected])))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_receipts)
        finally:
            RECEIPT_SINK.reset(token)
