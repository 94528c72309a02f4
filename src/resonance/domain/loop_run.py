"""The record of one resonance loop run (what the space stores and reports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RUNNING, FINISHED, FAILED = "running", "finished", "failed"


@dataclass
class LoopRun:
    """A loop run: its configuration, every iteration and a summary.

    ``iterations`` are plain dicts (number, accepted, primary, worst_slice,
    rows, taken per member, dropped, actions with reasons, weak slices,
    dataset version and model version); ``summary`` holds the baseline and
    final primary metric, the lift, the final dataset and model versions,
    rows taken per member and relabel proposals per member.
    """

    name: str
    created_by: str
    created_at: str
    status: str
    suite: str
    model: str
    dataset: str
    config: dict[str, Any] = field(default_factory=dict)
    iterations: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    finished_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "name": self.name,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "suite": self.suite,
            "model": self.model,
            "dataset": self.dataset,
            "config": self.config,
            "iterations": self.iterations,
            "summary": self.summary,
        }
