"""A space with the steel-energy regression data: three sites by month, a sealed suite of
separate weeks, each day a group (the group key), one site's targets partly corrupted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec, Task
from resonance.domain.policies import parse_grant
from resonance.services import catalog, evaluation, policies
from resonance.services.space import Space
from tests.conftest import SHARED_DATA

ENERGY_CSV = SHARED_DATA / "steel-energy" / "Steel_industry_data.csv"
TARGET = "Usage_kWh"
LABEL = LabelSpec(LabelKind.COLUMN, (TARGET,), Task.REGRESSION)
# CO2 is the energy use times an emission factor (a leak); the date string is the day's id;
# t is the quarter-hour's index (rows are in time order; the time column of a time series)
EXCLUDE = ("CO2(tCO2)", "date", "t")
SITES = ("plant-a", "plant-b", "plant-c")


def energy_table(*, days: int | None = None) -> pa.Table:
    """The steel-energy rows with ``day`` (the group key, ``YYYY-MM-DD``), ``month``,
    ``week`` (of the year) and ``t`` (the quarter-hour's index: the file is in time
    order, and a day's midnight reading ends that day) columns; ``days`` keeps the
    first that many days."""
    table = pcsv.read_csv(ENERGY_CSV)
    table = table.rename_columns([c.lstrip("\ufeff") for c in table.column_names])
    dates = table["date"].to_pylist()
    day = [f"{d[6:10]}-{d[3:5]}-{d[0:2]}" for d in dates]  # DD/MM/YYYY HH:MM
    ordinal = np.unique(day, return_inverse=True)[1]
    table = table.append_column("day", pa.array(day))
    table = table.append_column("month", pa.array([int(d[5:7]) for d in day]))
    table = table.append_column("week", pa.array(ordinal // 7 + 1))
    table = table.append_column("t", pa.array(np.arange(table.num_rows)))
    if days is not None:
        table = table.filter(pc.less(pa.array(ordinal), days))
    return table


@dataclass
class EnergySeed:
    """Names of the seeded datasets and which rows of the corrupted site were corrupted."""

    datasets: list[str]
    reserves: list[str]
    suite: str
    corrupted_site: str
    corrupted_rows: np.ndarray


def corrupt(table: pa.Table, share: float, rng: np.random.Generator) -> tuple[pa.Table, np.ndarray]:
    """Replace ``share`` of the targets with a value scaled by 2.5-4 (or by 0.1 when tiny)."""
    y = table[TARGET].to_numpy(zero_copy_only=False).astype(float)
    rows = np.sort(rng.choice(len(y), int(share * len(y)), replace=False))
    y[rows] = y[rows] * rng.uniform(2.5, 4.0, len(rows)) + 20.0
    i = table.column_names.index(TARGET)
    return table.set_column(i, TARGET, pa.array(y)), rows


def seed_energy(
    space: Space,
    folder: Path,
    *,
    days: int = 84,
    builder: str = "builder",
    purposes: tuple[str, ...] = ("train-pooled", "train-federated"),
    corrupt_share: float = 0.15,
    reserve_share: float = 0.0,
    group_key: str = "day",
    time_column: str | None = None,
) -> EnergySeed:
    """Every fourth week sealed (suite ``energy-suite``, RMSE); the other days split in
    three sites by time (non-IID: seasons), plant-b's targets ``corrupt_share`` corrupted;
    ``reserve_share`` of each site's days offered as a reserve pool (``energy-SITE-reserve``)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    table = energy_table(days=days)
    week = table["week"].to_numpy()
    sealed = week % 4 == 0
    _ingest(
        space,
        "evaluator",
        "energy-eval",
        table.filter(pa.array(sealed)),
        folder,
        True,
        group_key,
        time_column,
    )
    evaluation.register_suite(
        space,
        actor="evaluator",
        name="energy-suite",
        dataset="energy-eval",
        metrics=("rmse", "mae", "r2"),
    )
    rest = table.filter(pa.array(~sealed))
    day_index = np.unique(rest["day"].to_pylist(), return_inverse=True)[1]
    site = np.minimum(day_index * 3 // (day_index.max() + 1), 2)
    corrupted = np.empty(0, dtype=np.int64)
    offered = rng.random(day_index.max() + 1) < reserve_share
    names, reserves = [], []
    for i, member in enumerate(SITES):
        mine = (site == i) & ~offered[day_index]
        part = rest.filter(pa.array(mine))
        if member == "plant-b" and corrupt_share:
            part, corrupted = corrupt(part, corrupt_share, rng)
        parts = [(f"energy-{member}", part)]
        if reserve_share:
            parts.append(
                (
                    f"energy-{member}-reserve",
                    rest.filter(pa.array((site == i) & offered[day_index])),
                )
            )
        for name, table_ in parts:
            _ingest(space, member, name, table_, folder, False, group_key, time_column)
            policies.set_policy(
                space,
                actor=member,
                dataset=name,
                grants=[parse_grant(f"{builder}:{p}") for p in purposes],
            )
        names.append(parts[0][0])
        reserves.extend(n for n, _ in parts[1:])
    return EnergySeed(names, reserves, "energy-suite", "energy-plant-b", corrupted)


def _ingest(
    space: Space,
    owner: str,
    name: str,
    table: pa.Table,
    folder: Path,
    sealed: bool,
    group_key: str = "day",
    time_column: str | None = None,
) -> None:
    path = folder / f"{name}.csv"
    pcsv.write_csv(table, path)
    kind = DatasetKind.EVALUATION if sealed else DatasetKind.COMMON
    catalog.ingest(
        space,
        actor=owner,
        path=path,
        dataset=name,
        new=catalog.NewDataset(
            owner, kind, "steel", label=LABEL, group_key=group_key, time_column=time_column
        ),
    )
