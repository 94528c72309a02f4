"""The event bus: registered, typed events only; the ledger records each one's properties()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from resonance.domain.events import (
    EVENT_TYPES,
    DatasetRegistered,
    Event,
    ScenarioStatusChanged,
)
from resonance.services import ledger
from resonance.services.space import Space


@dataclass(frozen=True, kw_only=True)
class Unregistered(Event):
    """An event class nobody registered."""

    action: ClassVar[str] = "test.unregistered"
    note: str


def test_bus_refuses_an_unregistered_event_and_records_nothing(lite_space: Space) -> None:
    before = len(ledger.entries(lite_space, limit=None))
    with pytest.raises(TypeError, match="unregistered event type"), lite_space.work() as w:
        w.emit(Unregistered(actor="op", object_id="x", note="n"))
    assert len(ledger.entries(lite_space, limit=None)) == before
    assert "test.unregistered" not in EVENT_TYPES


def test_ledger_payload_is_the_declared_fields(lite_space: Space) -> None:
    with lite_space.work() as w:
        w.emit(
            DatasetRegistered(
                actor="op",
                object_id="d",
                owner="op",
                kind="common",
                industry="steel",
                scenario=None,
            )
        )
        w.emit(
            ScenarioStatusChanged(
                actor="op", object_id="scenario:s", from_status="a", to_status="b"
            )
        )
    last = ledger.entries(lite_space, limit=None)[-2:]
    assert last[0].action == "dataset.registered"
    # one shape wherever a dataset is registered (the loop's working dataset names its run
    # and is derived: its rules come from its rows' sources)
    assert last[0].payload == {
        "owner": "op",
        "kind": "common",
        "industry": "steel",
        "scenario": None,
        "loop": None,
        "derived": False,
    }
    assert last[1].payload == {"from": "a", "to": "b"}
    assert ledger.verify(lite_space).ok
