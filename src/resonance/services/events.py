"""The in-process event bus; the ledger subscribes to every event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from resonance.domain.events import Event
from resonance.domain.ledger import chain_entry

Subscriber = Callable[[Any, Event, str], None]


def ledger_subscriber(tx: Any, event: Event, timestamp: str) -> None:
    """Append ``event`` to the hash chain inside the caller's transaction."""
    prev = tx.ledger_head(lock=True)
    action = event.payload.get("_action", event.action)
    object_type = event.payload.get("_object_type", event.object_type)
    payload = {k: v for k, v in event.payload.items() if not k.startswith("_")}
    tx.append_ledger(
        chain_entry(
            prev=prev,
            timestamp=timestamp,
            actor=event.actor,
            action=action,
            object_type=object_type,
            object_id=event.object_id,
            payload=payload,
        )
    )


@dataclass
class EventBus:
    """Synchronous publish/subscribe; subscribers run in the publisher's transaction."""

    subscribers: list[Subscriber] = field(default_factory=lambda: [ledger_subscriber])

    def subscribe(self, fn: Subscriber) -> None:
        """Add a subscriber (called for every event, in order)."""
        self.subscribers.append(fn)

    def publish(self, tx: Any, event: Event, timestamp: str) -> None:
        """Deliver ``event`` to every subscriber."""
        for fn in self.subscribers:
            fn(tx, event, timestamp)
