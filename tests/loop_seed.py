"""Seed a space for loop tests: three plants (non-IID steel shares), reserve pools, a suite."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec
from resonance.domain.modeling import ModelSpec
from resonance.domain.policies import parse_grant
from resonance.services import catalog, evaluation, policies
from resonance.services.loop import LoopRequest
from resonance.services.space import Space
from tests.conftest import STEEL_CSV, STEEL_LABELS

PLANTS = ("plant-a", "plant-b", "plant-c")
SPEC = ModelSpec("lightgbm", params={"n_estimators": 30, "num_leaves": 7, "n_jobs": 1})


@dataclass
class LoopSeed:
    """What the seeded space holds."""

    datasets: list[str]
    reserves: list[str]
    suite: str


def _flip(table: pa.Table, share: float, rng: np.random.Generator) -> pa.Table:
    y = np.column_stack([table[c].to_numpy() for c in STEEL_LABELS]).astype(int).argmax(axis=1)
    flip = rng.random(len(y)) < share
    y[flip] = (y[flip] + rng.integers(1, len(STEEL_LABELS), flip.sum())) % len(STEEL_LABELS)
    for j, col in enumerate(STEEL_LABELS):
        i = table.column_names.index(col)
        table = table.set_column(i, col, pa.array((y == j).astype(np.int64)))
    return table


def _ingest(
    space: Space, owner: str, name: str, table: pa.Table, folder: Path, kind: DatasetKind
) -> None:
    path = folder / f"{name}.csv"
    pcsv.write_csv(table, path)
    label = LabelSpec(LabelKind.ONE_HOT, tuple(STEEL_LABELS))
    catalog.ingest(
        space,
        actor=owner,
        path=path,
        dataset=name,
        new=catalog.NewDataset(owner, kind, "steel", label=label),
    )


def seed_loop(
    space: Space, folder: Path, *, builder: str = "builder", reserve_grant: bool = True
) -> LoopSeed:
    """Sealed suite (25 %); each plant half contributed, half reserve; plant-a's labels 15 % flipped
    and its policy allows auto-drop."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    table = pcsv.read_csv(STEEL_CSV)
    sealed = rng.random(table.num_rows) < 0.25
    _ingest(
        space,
        "evaluator",
        "steel-eval",
        table.filter(pa.array(sealed)),
        folder,
        DatasetKind.EVALUATION,
    )
    evaluation.register_suite(space, actor="evaluator", name="steel-suite", dataset="steel-eval")
    rest = table.filter(pa.array(~sealed))
    a300 = pc.equal(rest["TypeOfSteel_A300"], 1).to_numpy(zero_copy_only=False)
    longc = pc.greater(rest["Length_of_Conveyer"], 1400).to_numpy(zero_copy_only=False)
    masks = dict(zip(PLANTS, (a300, ~a300 & longc, ~a300 & ~longc), strict=True))
    for plant, mask in masks.items():
        mine = rest.filter(pa.array(mask))
        offered = rng.random(mine.num_rows) < 0.5
        given = mine.filter(pa.array(~offered))
        given = _flip(given, 0.15, rng) if plant == "plant-a" else given
        for name, part in (
            (f"steel-{plant}", given),
            (f"steel-{plant}-reserve", mine.filter(pa.array(offered))),
        ):
            _ingest(space, plant, name, part, folder, DatasetKind.COMMON)
            grant = reserve_grant or not name.endswith("reserve")
            policies.set_policy(
                space,
                actor=plant,
                dataset=name,
                grants=[parse_grant(f"{builder}:train-pooled")] if grant else [],
                allow_auto_drop=plant == "plant-a",
            )
    return LoopSeed(
        [f"steel-{p}" for p in PLANTS], [f"steel-{p}-reserve" for p in PLANTS], "steel-suite"
    )


def request(
    seeded: LoopSeed, *, name: str = "loop-1", budget: int = 60, iterations: int = 1
) -> LoopRequest:
    """A small loop request on the seeded space."""
    return LoopRequest(
        name=name,
        spec=SPEC,
        datasets=seeded.datasets,
        reserves=seeded.reserves,
        budget=budget,
        suite=seeded.suite,
        iterations=iterations,
    )
