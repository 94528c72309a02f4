"""The one-pass ingest: a CSV parsed in parts reads like one, snapshots do not depend on
how the rows were batched, and a failed pass leaves nothing behind."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from resonance.domain.errors import MalformedFile, ValidationFailed
from resonance.services import catalog, files
from resonance.services.space import Space
from tests.conftest import AI4I_CSV
from tests.services.test_catalog import AI4I, state


def _notes_csv(path: Path, rows: int = 3000) -> Path:
    """Rows with quoted values, some holding line breaks and quotes, so cuts must skip them."""
    rng = np.random.default_rng(7)
    lines = ["id,x,note"]
    for i in range(rows):
        note = f'"line {i}\nnext ""q"" line"' if i % 3 else f"plain {i}"
        lines.append(f"{i},{rng.normal():.6f},{note}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _read(path: Path, monkeypatch: pytest.MonkeyPatch, part_bytes: int) -> tuple[pa.Table, str]:
    monkeypatch.setattr(files, "SEGMENT_BYTES", part_bytes)
    monkeypatch.setattr(files.os, "cpu_count", lambda: 4)
    stream = files.TableStream(path, digest=True)
    seen: list[pa.RecordBatch] = []
    in_order = list(stream.read(parsed=seen.append))
    assert sorted(b.num_rows for b in seen) == sorted(b.num_rows for b in in_order)
    return stream.table(), stream.sha256()


def test_a_csv_read_in_parts_equals_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = _notes_csv(tmp_path / "notes.csv")
    whole, digest = _read(path, monkeypatch, 1 << 40)
    for part_bytes in (4096, 20_000, 33_333):  # 30, 6 and 4 segments; cuts in quoted values
        parts, again = _read(path, monkeypatch, part_bytes)
        assert parts.equals(whole) and again == digest
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert whole.num_rows == 3000 and whole.column("note")[1].as_py() == 'line 1\nnext "q" line'


def test_a_bad_value_in_a_later_part_is_malformed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(5000)) + "x,1\n")
    monkeypatch.setattr(files, "SEGMENT_BYTES", 8192)
    with pytest.raises(MalformedFile):
        files.read_table(path)


@pytest.mark.parametrize("batch_rows", [1, 777, 4096, 10_000])
def test_snapshots_do_not_depend_on_batching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    monkeypatch.setattr(files, "ROW_GROUP_ROWS", 3000)
    rng = np.random.default_rng(0)
    n = 10_000
    table = pa.table(
        {
            "x": rng.normal(size=n),  # high cardinality: the writer leaves the dictionary
            "k": rng.integers(0, 5, n),
            "s": pa.array([f"v{i % 13}" for i in range(n)]),
        }
    )
    whole = files.write_parquet(table.combine_chunks(), tmp_path / "whole.parquet")
    writer = files.SnapshotWriter(tmp_path / "batched.parquet", table.schema)
    for batch in table.to_batches(max_chunksize=batch_rows):
        writer.write(batch)
    assert writer.close() == whole
    assert (tmp_path / "batched.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    meta = pq.read_metadata(tmp_path / "whole.parquet")
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3000] * 3 + [1000]


def test_small_snapshots_keep_their_bytes(tmp_path: Path) -> None:
    table = pa.table({"x": np.arange(5000, dtype=np.float64), "s": ["a", "b"] * 2500})
    digest = files.write_parquet(table, tmp_path / "new.parquet")
    pq.write_table(table, tmp_path / "old.parquet", compression="snappy", write_statistics=True)
    assert digest == hashlib.sha256((tmp_path / "old.parquet").read_bytes()).hexdigest()


def test_ingest_in_parts_stores_the_snapshot_a_whole_table_gives(
    lite_space: Space, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "SEGMENT_BYTES", 64 << 10)  # AI4I's 522 kB in 4 parts
    monkeypatch.setattr(files.os, "cpu_count", lambda: 4)
    result = catalog.ingest(lite_space, actor="plant-a", path=AI4I_CSV, dataset="ai4i", new=AI4I)
    table = files.read_table(AI4I_CSV)
    assert result.version.content_hash == files.write_parquet(table, tmp_path / "t.parquet")
    assert result.version.source_hash == hashlib.sha256(AI4I_CSV.read_bytes()).hexdigest()
    assert result.report.ok and result.version.row_count == 10_000


def test_a_failed_pass_leaves_nothing(
    lite_space: Space, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "SEGMENT_BYTES", 64 << 10)
    before = state(lite_space)
    late = tmp_path / "late.csv"
    text = AI4I_CSV.read_text(encoding="utf-8-sig").splitlines()
    late.write_text("\n".join([*text, "x" + text[-1][1:]]) + "\n")  # a bad UDI on the last row
    with pytest.raises(MalformedFile):
        catalog.ingest(lite_space, actor="plant-a", path=late, dataset="ai4i", new=AI4I)
    unlabelled = tmp_path / "unlabelled.csv"
    unlabelled.write_text("a,b\n" + "1,2\n" * 100)  # no label column: nothing is written
    with pytest.raises(ValidationFailed):
        catalog.ingest(lite_space, actor="plant-a", path=unlabelled, dataset="ai4i", new=AI4I)
    table = files.read_table(AI4I_CSV)
    label = table.column("Machine failure").to_pylist()
    label[-1] = None  # found only by the scan, after the snapshot is written
    holed = table.set_column(8, "Machine failure", pa.array(label))
    pcsv.write_csv(holed, tmp_path / "holed.csv")
    with pytest.raises(ValidationFailed, match="1 missing values"):
        catalog.ingest(
            lite_space, actor="plant-a", path=tmp_path / "holed.csv", dataset="ai4i", new=AI4I
        )
    assert state(lite_space) == before
