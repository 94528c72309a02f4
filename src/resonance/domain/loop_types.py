"""The loop engine's records: rows with provenance, outcomes, configuration, iterations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd


class Model(Protocol):
    """What the loop needs of a fitted model."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


@dataclass
class Rows:
    """Labeled rows with provenance: raw frame (for slices), encoded X, labels, owners."""

    frame: pd.DataFrame
    X: np.ndarray
    y: np.ndarray
    owner: np.ndarray
    source: np.ndarray
    row: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def take(self, idx: np.ndarray) -> Rows:
        """The rows at ``idx``."""
        return Rows(
            self.frame.iloc[idx].reset_index(drop=True),
            self.X[idx],
            self.y[idx],
            self.owner[idx],
            self.source[idx],
            self.row[idx],
        )

    def without(self, idx: np.ndarray) -> Rows:
        """All rows but those at ``idx``."""
        keep = np.ones(len(self), dtype=bool)
        keep[idx] = False
        return self.take(np.nonzero(keep)[0])

    def concat(self, other: Rows) -> Rows:
        """These rows followed by ``other``'s."""
        return Rows(
            pd.concat([self.frame, other.frame], ignore_index=True),
            np.vstack([self.X, other.X]),
            np.concatenate([self.y, other.y]),
            np.concatenate([self.owner, other.owner]),
            np.concatenate([self.source, other.source]),
            np.concatenate([self.row, other.row]),
        )


@dataclass
class Outcome:
    """The oracle's verdict on a candidate: metrics, weak slices, and the model."""

    primary: float
    worst_slice: float
    metrics: dict[str, Any]
    slices: list[dict[str, Any]]
    model: Model
    reference: str = ""


Fit = Callable[[Rows], Model]


@dataclass
class LoopConfig:
    """Options of a loop run."""

    budget: int
    iterations: int = 4
    auto_drop: set[str] = field(default_factory=set)
    tolerance: float = 0.005
    folds: int = 5
    max_slices: int = 5
    seed: int = 0
    max_given_proba: float = 0.2
    min_suggested_proba: float = 0.5
    max_slice_drop: float = 0.05
    max_drop_share: float = 0.1
    min_class_share: float = 0.0
    fairness: float = 1.0
    slice_weight: float = 1.0


@dataclass
class Iteration:
    """What one iteration tried and whether the suite accepted it."""

    number: int
    accepted: bool
    primary: float
    worst_slice: float
    rows: int
    taken: dict[str, int]
    dropped: int
    actions: list[dict[str, Any]]
    slices: list[dict[str, Any]]
    reference: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    tried: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return dict(self.__dict__)


@dataclass
class LoopTrace:
    """Every iteration, the final rows and what is left of the reserve."""

    iterations: list[Iteration]
    train: Rows
    reserve: Rows
    final: Outcome
    proposals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def acquired(self) -> int:
        """Reserve rows taken in accepted iterations."""
        return sum(sum(it.taken.values()) for it in self.iterations if it.accepted)
