"""Split a shared dataset non-IID across members and ingest each part as its owner's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from resonance.domain.datasets import DatasetKind
from resonance.domain.policies import parse_grant
from resonance.services import catalog, policies
from resonance.services.space import Space
from resonance.training.features import label_values
from tests.conftest import AI4I_CSV, STEEL_CSV
from tests.model_seed import AI4I_EXCLUDE, ai4i_label, split_file, steel_label


def non_iid_parts(
    labels: np.ndarray, n_parts: int, *, alpha: float = 1.0, seed: int = 0
) -> list[np.ndarray]:
    """Row indices per part, each class spread over parts by a Dirichlet(alpha) draw."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(n_parts)]
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        shares = rng.dirichlet([alpha] * n_parts)
        cuts = (np.cumsum(shares)[:-1] * len(idx)).astype(int)
        for p, chunk in enumerate(np.split(idx, cuts)):
            parts[p].extend(chunk.tolist())
    return [np.sort(np.asarray(p, dtype=int)) for p in parts]


@dataclass(frozen=True)
class Federated:
    """Member dataset refs, the sealed suite's dataset and what to exclude."""

    refs: list[str]
    sealed: str
    exclude: tuple[str, ...]
    sealed_table: pa.Table


def seed_members(
    space: Space,
    folder: Path,
    members: list[str],
    *,
    which: str = "steel",
    eval_share: float = 0.25,
    rows: int | None = None,
    alpha: float = 1.0,
    seed: int = 0,
) -> Federated:
    """Ingest one non-IID part per member (granting builder train-federated) and a sealed set."""
    src, label, industry = (
        (STEEL_CSV, steel_label(), "steel")
        if which == "steel"
        else (AI4I_CSV, ai4i_label(), "industrial-machinery")
    )
    exclude = () if which == "steel" else AI4I_EXCLUDE
    train_csv, eval_csv, sealed = split_file(src, folder, eval_share=eval_share)
    table = pcsv.read_csv(train_csv)
    if rows:
        table = table.slice(0, rows)
    labels = label_values(table, label).astype(str)
    parts = non_iid_parts(labels, len(members), alpha=alpha, seed=seed)
    refs = []
    for member, idx in zip(members, parts, strict=True):
        path = folder / f"{which}-{member}.csv"
        pcsv.write_csv(table.take(pa.array(idx)), path)
        name = f"{which}-{member}"
        catalog.ingest(
            space,
            actor=member,
            path=path,
            dataset=name,
            new=catalog.NewDataset(member, DatasetKind.COMMON, industry, label=label),
        )
        policies.set_policy(
            space, actor=member, dataset=name, grants=[parse_grant("builder:train-federated")]
        )
        refs.append(name)
    catalog.ingest(
        space,
        actor="evaluator",
        path=eval_csv,
        dataset=f"{which}-eval",
        new=catalog.NewDataset("evaluator", DatasetKind.EVALUATION, industry, label=label),
    )
    return Federated(refs, f"{which}-eval", exclude, sealed)
