"""The in-process event bus; the ledger subscribes to every event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from resonance.domain.events import Event, is_registered
from resonance.domain.ledger import chain_entry

Subscriber = Callable[[Any, Event, str], None]


def ledger_subscriber(tx: Any, event: Event, timestamp: str) -> None:
    """Append ``event`` to the hash chain inside the caller's transaction."""
    prev = tx.ledger_head(lock=True)
    tx.append_ledger(
        chain_entry(
            prev=prev,
            timestamp=timestamp,
            actor=event.actor,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            payload=event.properties(),
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
        """Deliver ``event`` to every subscriber.

        Raises
        ------
        TypeError
            When ``event``'s class is not registered with
            :func:`resonance.domain.events.event_type` (nothing is delivered).
        """
        if not is_registered(event):
            raise TypeError(f"unregistered event type {type(event).__name__} ({event.action!r})")
        for fn in self.subscribers:
            fn(tx, event, timestamp)
