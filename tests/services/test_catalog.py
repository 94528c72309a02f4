"""Ingest, versions, lineage and bad input, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from resonance.domain.datasets import DatasetKind, SourceRows, Transformation, make_label_spec
from resonance.domain.errors import (
    FileTooLarge,
    InvalidInput,
    MalformedFile,
    NotFound,
    ResonanceError,
    RoleRequired,
    SchemaMismatch,
    ValidationFailed,
)
from resonance.domain.provenance import RowProvenance
from resonance.services import catalog, ledger
from resonance.services.catalog import NewDataset
from resonance.services.space import Space
from tests.conftest import AI4I_CSV, STEEL_CSV, STEEL_LABELS

STEEL = NewDataset(
    owner="plant-a",
    kind=DatasetKind.COMMON,
    industry="steel",
    label=make_label_spec(None, STEEL_LABELS),
)
AI4I = NewDataset(
    owner="plant-a",
    kind=DatasetKind.COMMON,
    industry="industrial-machinery",
    label=make_label_spec("Machine failure", None),
    group_key="Product ID",
)


@dataclass(frozen=True)
class StoreState:
    """What a failed operation must leave untouched."""

    datasets: tuple[str, ...]
    versions: tuple[str, ...]
    ledger_length: int
    artifacts: tuple[str, ...]
    temp_files: tuple[str, ...]


def state(space: Space) -> StoreState:
    items = catalog.list_datasets(space)
    versions = tuple(v.ref for d, _ in items for v in catalog.show_dataset(space, d.name)[1])
    root = space.artifacts.root
    return StoreState(
        datasets=tuple(d.name for d, _ in items),
        versions=versions,
        ledger_length=len(ledger.entries(space, limit=None)),
        artifacts=tuple(sorted(str(p) for p in (root / "sha256").rglob("*") if p.is_file())),
        temp_files=tuple(sorted(str(p) for p in space.artifacts.tmp.iterdir())),
    )


def ingest_steel(space: Space, path: Path = STEEL_CSV, name: str = "steel") -> catalog.IngestResult:
    return catalog.ingest(space, actor="plant-a", path=path, dataset=name, new=STEEL)


def write_rows(table: pa.Table, path: Path) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        pcsv.write_csv(table, path)
    return path


def steel_table() -> pa.Table:
    return pcsv.read_csv(STEEL_CSV)


# --- the two shared datasets -------------------------------------------------------------


def test_ai4i_ingests_cleanly_with_bom_and_bracketed_names(space: Space) -> None:
    result = catalog.ingest(space, actor="plant-a", path=AI4I_CSV, dataset="ai4i", new=AI4I)

    assert result.created and result.report.ok and not result.report.errors
    v = result.version
    assert v.ref == "ai4i@1" and v.row_count == 10_000
    names = v.schema.names()
    assert names[0] == "UDI"  # the byte-order mark is gone
    assert "Air temperature [K]" in names and "Rotational speed [rpm]" in names
    assert v.source_hash == hashlib.sha256(AI4I_CSV.read_bytes()).hexdigest()
    assert v.profile["label_distribution"] == {"0": 9661, "1": 339}
    assert v.transformation == Transformation("ingest", {"file": AI4I_CSV.name})
    snapshot = space.artifacts.open(v.content_hash, ".parquet")
    assert hashlib.sha256(snapshot.read_bytes()).hexdigest() == v.content_hash
    assert pq.read_table(snapshot).num_rows == 10_000
    actions = [e.action for e in ledger.entries(space, limit=None, actor="plant-a")]
    assert actions == ["dataset.registered", "dataset.version_created"]
    assert ledger.verify(space).ok


def test_steel_ingests_with_one_hot_label_spec(space: Space) -> None:
    result = ingest_steel(space)

    assert result.created and result.report.ok
    assert result.version.row_count == 1941
    dist = result.version.profile["label_distribution"]
    assert list(dist) == STEEL_LABELS and sum(dist.values()) == 1941
    assert dist["Other_Faults"] == 673
    ds, versions = catalog.show_dataset(space, "steel")
    assert ds.label is not None and list(ds.label.columns) == STEEL_LABELS
    assert [v.ref for v in versions] == ["steel@1"]


def test_profile_statistics_are_json_numbers(space: Space) -> None:
    v = ingest_steel(space).version
    stats = {c["name"]: c for c in v.profile["columns"]}
    col = stats["Pixels_Areas"]
    assert col["type"] == "int64" and col["missing_share"] == 0.0
    assert col["min"] <= col["q25"] <= col["q50"] <= col["q75"] <= col["max"]
    assert col["mean"] > 0 and col["std"] > 0


# --- identical content -------------------------------------------------------------------


def test_reingesting_identical_content_creates_no_version_and_no_file(
    space: Space, tmp_path: Path
) -> None:
    first = ingest_steel(space)
    before = state(space)

    again = ingest_steel(space)
    copy = shutil.copy(STEEL_CSV, tmp_path / "renamed copy.csv")
    same_bytes = catalog.ingest(space, actor="plant-a", path=copy, dataset="steel")

    for result in (again, same_bytes):
        assert not result.created
        assert result.version == first.version
        assert result.report.ok
    assert state(space) == before


@pytest.mark.parametrize("writer", ["pyarrow", "pandas"])
def test_same_rows_in_another_file_format_are_the_same_version(
    space: Space, tmp_path: Path, writer: str
) -> None:
    first = ingest_steel(space)
    before = state(space)
    parquet = tmp_path / "steel.parquet"
    if writer == "pandas":  # pandas adds its own schema metadata, which is not content
        steel_table().to_pandas().to_parquet(parquet)
    else:
        write_rows(steel_table(), parquet)

    result = catalog.ingest(space, actor="plant-a", path=parquet, dataset="steel")

    assert not result.created and result.version.ref == first.version.ref
    assert state(space) == before


# --- new versions and schema -------------------------------------------------------------


def test_new_content_with_the_same_schema_is_the_next_version(space: Space, tmp_path: Path) -> None:
    ingest_steel(space)
    half = write_rows(steel_table().slice(0, 900), tmp_path / "half.csv")

    result = catalog.ingest(space, actor="plant-a", path=half, dataset="steel")

    assert result.created and result.version.ref == "steel@2"
    assert result.version.parents == ("steel@1",)
    assert [v.ref for v in catalog.lineage(space, "steel")] == ["steel@2", "steel@1"]


def test_integer_column_arriving_as_float_is_compatible(space: Space, tmp_path: Path) -> None:
    ingest_steel(space)
    table = steel_table().slice(0, 300)
    idx = table.column_names.index("Pixels_Areas")
    table = table.set_column(idx, "Pixels_Areas", pc.cast(table["Pixels_Areas"], pa.float64()))

    result = catalog.ingest(
        space, actor="plant-a", path=write_rows(table, tmp_path / "f.parquet"), dataset="steel"
    )

    assert result.created and result.version.number == 2


@pytest.mark.parametrize("change", ["drop", "rename", "reorder", "retype"])
def test_new_version_with_another_schema_fails_and_leaves_the_store_unchanged(
    space: Space, tmp_path: Path, change: str
) -> None:
    ingest_steel(space)
    before = state(space)
    table = steel_table().slice(0, 500)
    if change == "drop":
        table = table.drop_columns(["Edges_Index"])
    elif change == "rename":
        table = table.rename_columns(
            ["X_Min" if n == "X_Minimum" else n for n in table.column_names]
        )
    elif change == "reorder":
        table = table.select([1, 0, *range(2, table.num_columns)])
    else:
        idx = table.column_names.index("Log_X_Index")
        text = pa.array([f"v{i}" for i in range(table.num_rows)])
        table = table.set_column(idx, "Log_X_Index", text)
    path = write_rows(table, tmp_path / "other.csv")

    with pytest.raises(SchemaMismatch) as info:
        catalog.ingest(space, actor="plant-a", path=path, dataset="steel")

    assert info.value.code == "RES-112"
    assert state(space) == before


# --- bad input ---------------------------------------------------------------------------


def _garbage_without_separators(n: int) -> bytes:
    data = bytearray(os.urandom(n))
    return bytes(b if b not in b',\n\r"' else 0xFF for b in data)


BAD_FILES = {
    "ragged.csv": b"a,b,c\n1,2,3\n4,5\n6,7,8\n",
    "too-many.csv": b"a,b\n1,2\n3,4,5\n",
    "garbage.csv": bytes(range(256)) * 40,
    "garbage-one-column.csv": b"x\n" + _garbage_without_separators(4000),
    "latin1.csv": "plant,city\n1,Zürich\n2,Malmö\n".encode("latin-1"),
    "blank.csv": b"\n\n\n",
    "garbage.parquet": os.urandom(3000),
    "truncated.parquet": b"PAR1" + os.urandom(100),
    "empty.csv": b"",
    "unterminated.csv": b'plant,note\n1,"ok"\n2,"never closed\n3,lost\n4,lost\n',
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_malformed_file_is_rejected_and_leaves_the_store_unchanged(
    space: Space, tmp_path: Path, name: str
) -> None:
    ingest_steel(space)
    before = state(space)
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])

    with pytest.raises(MalformedFile) as info:
        catalog.ingest(space, actor="plant-a", path=path, dataset="bad", new=STEEL)

    assert info.value.code == "RES-110" and path.name in info.value.message
    assert state(space) == before


def test_file_above_the_ingest_limit_is_rejected(space: Space) -> None:
    before = state(space)
    space.config.max_ingest_bytes = STEEL_CSV.stat().st_size - 1

    with pytest.raises(FileTooLarge) as info:
        ingest_steel(space)

    assert info.value.code == "RES-111"
    assert info.value.details["limit"] == STEEL_CSV.stat().st_size - 1
    assert state(space) == before


def test_unknown_ids_are_not_found(space: Space, tmp_path: Path) -> None:
    ingest_steel(space)
    before = state(space)
    cases = [
        lambda: catalog.ingest(space, actor="nobody", path=STEEL_CSV, dataset="x", new=STEEL),
        lambda: catalog.ingest(space, actor="plant-a", path=STEEL_CSV, dataset="never-made"),
        lambda: catalog.ingest(space, actor="plant-a", path=tmp_path / "no.csv", dataset="steel"),
        lambda: catalog.show_dataset(space, "never-made"),
        lambda: catalog.lineage(space, "steel@7"),
        lambda: catalog.lineage(space, "never-made"),
    ]
    for case in cases:
        with pytest.raises(NotFound) as info:
            case()
        assert info.value.code == "RES-101"
    assert state(space) == before


def test_bad_version_reference_is_invalid_input(space: Space) -> None:
    ingest_steel(space)
    for ref in ("steel@x", "steel@", "steel@²"):
        with pytest.raises(InvalidInput):
            catalog.lineage(space, ref)


def test_only_the_owner_adds_versions(space: Space) -> None:
    ingest_steel(space)
    before = state(space)
    with pytest.raises(RoleRequired):
        catalog.ingest(space, actor="plant-b", path=STEEL_CSV, dataset="steel")
    assert state(space) == before


def test_evaluation_datasets_are_registered_by_evaluators(space: Space) -> None:
    sealed = NewDataset(owner="plant-a", kind=DatasetKind.EVALUATION, industry="steel")
    with pytest.raises(RoleRequired):
        catalog.ingest(space, actor="plant-a", path=STEEL_CSV, dataset="sealed", new=sealed)
    result = catalog.ingest(
        space,
        actor="evaluator",
        path=STEEL_CSV,
        dataset="sealed",
        new=NewDataset(owner="", kind=DatasetKind.EVALUATION, industry="steel"),
    )
    assert result.created
    assert catalog.show_dataset(space, "sealed")[0].owner == "evaluator"


def test_unknown_industry_and_bad_name_are_invalid(space: Space) -> None:
    before = state(space)
    bad_industry = NewDataset(owner="plant-a", kind=DatasetKind.COMMON, industry="textiles")
    for name, new in (("ok-name", bad_industry), ("Bad Name", STEEL), ("x\n", STEEL)):
        with pytest.raises(InvalidInput):
            catalog.ingest(space, actor="plant-a", path=STEEL_CSV, dataset=name, new=new)
    assert state(space) == before


# --- validation failures -----------------------------------------------------------------


def _steel_with_labels(rows: dict[int, dict[str, object]]) -> pa.Table:
    table = steel_table().slice(0, 50)
    for col in STEEL_LABELS:
        values = table[col].to_pylist()
        for i, labels in rows.items():
            values[i] = labels.get(col, 0)
        table = table.set_column(table.column_names.index(col), col, pa.array(values))
    return table


@pytest.mark.parametrize(
    "rows",
    [
        {3: {"Pastry_Fault": 1, "Bumps_Fault": 1}},  # two labels
        {5: {}},  # no label
        {7: {"Pastry_Fault": 2, "Bumps_Fault": -1}},  # sums to 1, but not one-hot
        {9: {"Pastry_Fault": 0.5, "Bumps_Fault": 0.5}},
        {11: {"Pastry_Fault": None, "Bumps_Fault": 1}},  # a missing value
    ],
)
def test_one_hot_rows_not_summing_to_one_fail_validation(
    space: Space, tmp_path: Path, rows: dict[int, dict[str, object]]
) -> None:
    before = state(space)
    path = write_rows(_steel_with_labels(rows), tmp_path / "bad-labels.csv")

    with pytest.raises(ValidationFailed) as info:
        catalog.ingest(space, actor="plant-a", path=path, dataset="steel", new=STEEL)

    assert info.value.code == "RES-113"
    report = info.value.details["report"]
    assert not report["ok"] and any("one-hot" in e for e in report["errors"])
    assert state(space) == before


def test_text_in_one_hot_columns_fails_validation(space: Space, tmp_path: Path) -> None:
    table = steel_table().slice(0, 20)
    idx = table.column_names.index("Pastry_Fault")
    table = table.set_column(idx, "Pastry_Fault", pa.array(["yes"] * 20))
    path = write_rows(table, tmp_path / "text-labels.csv")

    with pytest.raises(ValidationFailed, match="Pastry_Fault"):
        catalog.ingest(space, actor="plant-a", path=path, dataset="steel", new=STEEL)


def test_missing_label_values_and_missing_label_column_fail_validation(
    space: Space, tmp_path: Path
) -> None:
    before = state(space)
    table = pcsv.read_csv(AI4I_CSV).slice(0, 100)
    idx = table.column_names.index("Machine failure")
    holes = table.set_column(idx, "Machine failure", pa.array([None, *([0] * 99)], pa.int64()))
    for bad in (holes, table.drop_columns(["Machine failure"])):
        path = write_rows(bad, tmp_path / "ai4i-bad.csv")
        with pytest.raises(ValidationFailed, match="Machine failure"):
            catalog.ingest(space, actor="plant-a", path=path, dataset="ai4i", new=AI4I)
    assert state(space) == before


def test_file_with_a_header_but_no_rows_fails_validation(space: Space, tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text(STEEL_CSV.read_text().splitlines()[0] + "\n")
    with pytest.raises(ValidationFailed, match="no rows"):
        ingest_steel(space, path)


def test_validate_file_is_a_dry_run(space: Space) -> None:
    before = state(space)
    report = catalog.validate_file(STEEL_CSV, label=make_label_spec(None, STEEL_LABELS))
    assert report.ok and report.rows == 1941
    assert state(space) == before


# --- lineage of derived versions -----------------------------------------------------------


def test_derived_versions_keep_their_lineage(space: Space, tmp_path: Path) -> None:
    v1 = ingest_steel(space).version
    table = pq.read_table(space.artifacts.open(v1.content_hash, ".parquet"))
    keep = table.slice(0, 1800)
    drop = Transformation("drop_rows", {"rows": 141}, reason="suspected label errors")

    v2, created = catalog.derive_version(
        space,
        actor="plant-a",
        dataset="steel",
        table=keep,
        parents=("steel",),
        transformation=drop,
        provenance=RowProvenance.whole("steel@1", 1800),
    )

    assert created and v2.ref == "steel@2" and v2.parents == ("steel@1",)
    assert v2.transformation == drop and v2.row_count == 1800
    pool = write_rows(table.slice(1800), tmp_path / "pool.csv")
    reserve = ingest_steel(space, pool, name="steel-reserve").version
    grown = pa.concat_tables([keep, table.slice(1800, 100)])
    acquire = Transformation("acquire", {"rows": 100}, reason="weak slice: thin plates")

    v3, _ = catalog.derive_version(
        space,
        actor="plant-a",
        dataset="steel",
        table=grown,
        parents=("steel@2", reserve.ref),
        transformation=acquire,
        provenance=RowProvenance.of(
            ["steel@2"] * 1800 + [reserve.ref] * 100, [*range(1800), *range(100)]
        ),
    )

    chain = catalog.lineage(space, v3.ref)
    assert [v.ref for v in chain] == ["steel@3", "steel@2", "steel-reserve@1", "steel@1"]
    assert chain[0].transformation.reason == "weak slice: thin plates"
    entry = ledger.entries(space, limit=None, object_id="steel@3")[0]
    assert entry.action == "dataset.version_created"
    assert entry.payload["parents"] == ["steel@2", "steel-reserve@1"]
    assert entry.payload["transformation"]["kind"] == "acquire"
    assert v3.sources == (SourceRows("steel-reserve@1", 100), SourceRows("steel@1", 1800))
    assert entry.payload["sources"] == [s.to_dict() for s in v3.sources]
    prov = catalog.row_provenance(space, v3)
    assert prov.refs_per_row()[1799] == "steel@1" and prov.row[1799] == 1799
    assert prov.refs_per_row()[1800] == "steel-reserve@1" and prov.row[1800] == 0


def test_deriving_identical_content_returns_the_existing_version(space: Space) -> None:
    v1 = ingest_steel(space).version
    before = state(space)
    table = pq.read_table(space.artifacts.open(v1.content_hash, ".parquet"))

    same, created = catalog.derive_version(
        space,
        actor="plant-a",
        dataset="steel",
        table=table,
        parents=("steel@1",),
        transformation=Transformation("noop"),
        provenance=RowProvenance.whole("steel@1", table.num_rows),
    )

    assert not created and same == v1
    assert state(space) == before


def test_derived_data_is_validated_and_checked_against_the_schema(space: Space) -> None:
    v1 = ingest_steel(space).version
    before = state(space)
    table = pq.read_table(space.artifacts.open(v1.content_hash, ".parquet"))
    bad_labels = table.set_column(
        table.column_names.index("Bumps_Fault"), "Bumps_Fault", pa.array([1] * table.num_rows)
    )
    cases: list[tuple[pa.Table, type[ResonanceError], tuple[str, ...]]] = [
        (bad_labels, ValidationFailed, ("steel@1",)),
        (table.drop_columns(["Edges_Index"]), SchemaMismatch, ("steel@1",)),
        (table, NotFound, ("steel@9",)),
    ]
    for data, error, parents in cases:
        with pytest.raises(error):
            catalog.derive_version(
                space,
                actor="plant-a",
                dataset="steel",
                table=data,
                parents=parents,
                transformation=Transformation("edit"),
                provenance=RowProvenance.whole("steel@1", data.num_rows),
            )
    assert state(space) == before


def test_concurrent_ingests_keep_catalog_and_ledger_consistent(space: Space) -> None:
    errors: list[BaseException] = []
    results: list[catalog.IngestResult] = []

    def work(name: str) -> None:
        try:
            results.append(ingest_steel(space, name=name))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("steel-x", "steel-y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == [] and all(r.created for r in results)
    assert {r.version.ref for r in results} == {"steel-x@1", "steel-y@1"}
    assert len({r.version.content_hash for r in results}) == 1  # one snapshot, stored once
    assert len(state(space).artifacts) == 1
    assert ledger.verify(space).ok
