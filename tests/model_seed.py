"""Spaces with training data and a sealed evaluation set of both shared datasets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
