"""The embedded store's quick reader answers every catalog query as the SQL store does."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from resonance.domain.datasets import DatasetKind, make_label_spec
from resonance.domain.errors import NotFound, StoreUnavailable
from resonance.services import catalog, catalog_read, review
from resonance.services.space import Space
from resonance.storage.sqlite_reader import SqliteCatalogReader, sqlite_path


def _csv(folder: Path, name: str, rows: int, *, seed: int) -> Path:
    path = folder / f"{name}.csv"
    table = pa.table(
        {
            "x": [float((i * 7 + seed) % 11) for i in range(rows)],
            "note": [f"r{i}-{seed}" if i % 3 else None for i in range(rows)],
            "y": [["ok", "bad"][(i + seed) % 2] for i in range(rows)],
        }
    )
    pcsv.write_csv(table, path)
    return path


def _new(owner: str, kind: DatasetKind, industry: str, *, label: bool) -> catalog.NewDataset:
    return catalog.NewDataset(
        owner=owner,
        kind=kind,
        industry=industry,
        scenario="quality" if label else None,
        description="a test dataset",
        label=make_label_spec("y", None) if label else None,
        group_key=None,
    )


@pytest.fixture
def filled(lite_space: Space, tmp_path: Path) -> Space:
    """Three datasets of two owners; one with three versions, the newest rejected."""
    folder = tmp_path / "files"
    folder.mkdir()
    ing = catalog.ingest
    ing(lite_space, actor="plant-a", path=_csv(folder, "a1", 30, seed=1), dataset="a",
        new=_new("plant-a", DatasetKind.COMMON, "steel", label=True))  # fmt: skip
    ing(lite_space, actor="plant-a", path=_csv(folder, "a2", 25, seed=2), dataset="a")
    ing(lite_space, actor="plant-a", path=_csv(folder, "a3", 20, seed=3), dataset="a")
    review.mark_version(lite_space, actor="plant-a", ref="a@3", accepted=False, reason="worse")
    ing(lite_space, actor="plant-b", path=_csv(folder, "b1", 10, seed=4), dataset="b",
        new=_new("plant-b", DatasetKind.SPECIALIZED, "petrochemicals", label=False))  # fmt: skip
    ing(lite_space, actor="plant-b", path=_csv(folder, "c1", 12, seed=5), dataset="c",
        new=_new("plant-b", DatasetKind.COMMON, "steel", label=True))  # fmt: skip
    return lite_space


def test_every_query_matches_the_sql_store(filled: Space) -> None:
    path = sqlite_path(filled.config.db_url)
    assert path is not None
    with filled.work() as w, SqliteCatalogReader.open(path) as quick:
        sql = w.tx
        for name in ("a", "b", "c", "nope"):
            assert quick.get_dataset(name) == sql.get_dataset(name)
            assert quick.list_versions(name) == sql.list_versions(name)
            assert quick.version_marks(name) == sql.version_marks(name)
            for number in (None, 1, 2, 3, 4):
                assert quick.get_version(name, number) == sql.get_version(name, number)
        filters = [{}, {"owner": "plant-b"}, {"kind": DatasetKind.COMMON}, {"industry": "steel"}]
        for f in filters:
            assert quick.list_datasets(**f) == sql.list_datasets(**f)  # type: ignore[arg-type]
        for validation in (True, False):
            for profile in (True, False):
                got = quick.latest_versions(with_validation=validation, with_profile=profile)
                assert got == sql.latest_versions(with_validation=validation, with_profile=profile)
        # what the data says, not only that both agree
        assert [d.name for d in quick.list_datasets(kind=DatasetKind.COMMON)] == ["a", "c"]
        latest = quick.latest_versions()
        assert latest["a"].number == 2  # a@3 was rejected: never the latest
        assert latest["a"].validation and latest["a"].profile
        assert quick.latest_versions(with_profile=False)["a"].profile == {}
        assert quick.get_dataset("b") is not None and quick.get_dataset("b").label is None  # type: ignore[union-attr]
        assert quick.version_marks("a")[3].status == "rejected"


def test_quick_reads_serve_the_catalog_services(filled: Space) -> None:
    quick = Space.open(filled.root, quick_reads=True)
    try:
        assert catalog_read.list_datasets(quick) == catalog_read.list_datasets(filled)
        assert catalog_read.show_dataset(quick, "a") == catalog_read.show_dataset(filled, "a")
        assert catalog_read.lineage(quick, "a@2") == catalog_read.lineage(filled, "a@2")
        assert catalog_read.version_marks(quick, "a") == catalog_read.version_marks(filled, "a")
        with pytest.raises(NotFound):
            catalog_read.show_dataset(quick, "nope")
        assert quick._store is None  # nothing so far needed the SQL store
        with quick.work() as w:  # a write still goes through it
            assert w.tx.get_dataset("a") is not None
    finally:
        quick.close()


def test_a_missing_or_unmigrated_store_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable), SqliteCatalogReader.open(tmp_path / "none.db"):
        pass
    (tmp_path / "empty.db").write_bytes(b"")
    with (
        pytest.raises(StoreUnavailable),
        SqliteCatalogReader.open(tmp_path / "empty.db") as reader,
    ):
        reader.list_datasets()


def test_only_plain_sqlite_urls_get_the_quick_reader() -> None:
    assert sqlite_path("sqlite:////tmp/s/space.db") == Path("/tmp/s/space.db")
    for url in ("sqlite://", "sqlite:///x.db?mode=ro", "postgresql://u@h/db", "sqlite+x:///a"):
        assert sqlite_path(url) is None


def test_the_reader_never_loads_sqlalchemy() -> None:
    import subprocess

    probe = "import sys\nimport resonance.services.catalog_read\nprint('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
