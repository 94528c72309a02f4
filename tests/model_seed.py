"""Spaces with training data and a sealed evaluation set of both shared datasets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec
from resonance.domain.policies import parse_grant
from resonance.services import catalog, policies
from resonance.services.space import Space
from tests.conftest import AI4I_CSV, STEEL_CSV, STEEL_LABELS

AI4I_LABEL = "Machine failure"
AI4I_EXCLUDE = ("UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF")


@dataclass(frozen=True)
class Seeded:
    """Names of the seeded datasets and the sealed rows (to check they never leak)."""

    train: str
    sealed: str
    label: LabelSpec
    exclude: tuple[str, ...]
    sealed_table: pa.Table


def steel_label() -> LabelSpec:
    """The steel dataset's one-hot label."""
    return LabelSpec(LabelKind.ONE_HOT, tuple(STEEL_LABELS))


def ai4i_label() -> LabelSpec:
    """The AI4I dataset's failure flag."""
    return LabelSpec(LabelKind.COLUMN, (AI4I_LABEL,))


def split_file(
    src: Path, folder: Path, *, eval_share: float, seed: int = 0
) -> tuple[Path, Path, pa.Table]:
    """Shuffle ``src`` into a training and an evaluation CSV."""
    table = pcsv.read_csv(src)
    perm = np.random.default_rng(seed).permutation(table.num_rows)
    cut = int(table.num_rows * (1 - eval_share))
    folder.mkdir(parents=True, exist_ok=True)
    train, sealed = table.take(perm[:cut]), table.take(perm[cut:])
    paths = folder / f"{src.stem}-train.csv", folder / f"{src.stem}-eval.csv"
    pcsv.write_csv(train, paths[0])
    pcsv.write_csv(sealed, paths[1])
    return paths[0], paths[1], sealed


def seed(
    space: Space,
    folder: Path,
    *,
    which: str = "steel",
    eval_share: float = 0.25,
    builder: str = "builder",
) -> Seeded:
    """Ingest a training set (plant-a, granting ``builder`` train-pooled) and a sealed one."""
    src, label, industry = (
        (STEEL_CSV, steel_label(), "steel")
        if which == "steel"
        else (AI4I_CSV, ai4i_label(), "industrial-machinery")
    )
    exclude = () if which == "steel" else AI4I_EXCLUDE
    train_csv, eval_csv, sealed = split_file(src, folder, eval_share=eval_share)
    train, evaluation = f"{which}-a", f"{which}-eval"
    catalog.ingest(
        space,
        actor="plant-a",
        path=train_csv,
        dataset=train,
        new=catalog.NewDataset("plant-a", DatasetKind.COMMON, industry, label=label),
    )
    catalog.ingest(
        space,
        actor="evaluator",
        path=eval_csv,
        dataset=evaluation,
        new=catalog.NewDataset("evaluator", DatasetKind.EVALUATION, industry, label=label),
    )
    policies.set_policy(
        space, actor="plant-a", dataset=train, grants=[parse_grant(f"{builder}:train-pooled")]
    )
    return Seeded(train, evaluation, label, exclude, sealed)


def numbers(data: Any) -> set[float]:
    """Every number in a JSON document (strings that parse as numbers too)."""
    out: set[float] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            out |= numbers(k) | numbers(v)
    elif isinstance(data, list):
        for v in data:
            out |= numbers(v)
    elif isinstance(data, bool) or data is None:
        pass
    elif isinstance(data, int | float):
        out.add(round(float(data), 6))
    elif isinstance(data, str):
        for token in data.replace("=", " ").replace("<", " ").split():
            try:
                out.add(round(float(token), 6))
            except ValueError:
                continue
    return out


def assert_no_sealed_row(output: Any, sealed: pa.Table, *, train_refs: set[str]) -> None:
    """No sealed row's values tuple appears; label issues name only training rows."""
    seen = numbers(json.loads(json.dumps(output, default=str)))
    cols = [
        c
        for c in sealed.column_names
        if pa.types.is_floating(sealed[c].type) or pa.types.is_integer(sealed[c].type)
    ]
    matrix = [sealed[c].to_pylist() for c in cols]
    for row in zip(*matrix, strict=True):
        values = [round(float(v), 6) for v in row if v is not None]
        assert not all(v in seen for v in values), f"a sealed row leaked: {row}"
    text = json.dumps(output, default=str)
    for row in sealed.slice(0, 200).to_pylist():
        assert ",".join(str(v) for v in row.values()) not in text
    issues = output.get("diagnosis", {}).get("label_issues") if isinstance(output, dict) else None
    if issues:
        assert {t["dataset"] for t in issues["top"]} <= train_refs
        assert set(issues["per_dataset"]) <= train_refs
