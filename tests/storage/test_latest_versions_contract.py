"""Contract: the latest version of every dataset in one query, with or without its JSON reports."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from resonance.domain.datasets import Dataset, DatasetKind, DatasetVersion
from resonance.storage.sql import SqlStore
from tests.storage.test_store_contract import NOW, _seed, _version


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore(db_url)
    s.migrate()
    yield s
    s.close()


def _of(dataset: str, n: int) -> DatasetVersion:
    v = _version(n, f"{n:x}".rjust(64, "0"))
    return dataclasses.replace(
        v,
        dataset=dataset,
        parents=(f"{dataset}@{n - 1}",) if n > 1 else (),
        validation={"ok": n % 2 == 1, "warnings": [f"w{n}"]},
        profile={"columns": [{"name": "x", "mean": float(n)}]},
    )


def test_latest_versions_of_every_dataset(store: SqlStore) -> None:
    with store.transaction() as tx:
        _seed(tx)
        assert tx.latest_versions() == {}
        for name in ("d1", "d2", "empty"):
            tx.add_dataset(Dataset(name, "p1", DatasetKind.COMMON, "steel"), created_at=NOW)
        for n in (1, 2, 3):
            tx.add_version(_of("d1", n))
        tx.add_version(_of("d2", 1))
    with store.transaction() as tx:
        full = tx.latest_versions()
        assert full == {"d1": _of("d1", 3), "d2": _of("d2", 1)}
        assert full["d1"] == tx.get_version("d1")
        light = tx.latest_versions(with_validation=False, with_profile=False)
        assert light == {
            name: dataclasses.replace(v, validation={}, profile={}) for name, v in full.items()
        }
        checked = tx.latest_versions(with_profile=False)
        assert checked["d1"].validation == {"ok": True, "warnings": ["w3"]}
        assert checked["d1"].profile == {} and checked["d2"] == dataclasses.replace(
            full["d2"], profile={}
        )
