"""Validation reports and profiles, checked against pandas and numpy on real data."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from resonance.domain.datasets import LabelKind, LabelSpec, make_label_spec
from resonance.domain.validation import QUARTILE_SAMPLE, ValidationReport, validate_table
from tests.conftest import AI4I_CSV, STEEL_CSV, STEEL_LABELS


def profile_by_name(profile: dict) -> dict[str, dict]:
    return {c["name"]: c for c in profile["columns"]}


def test_profile_matches_pandas_on_ai4i() -> None:
    table = pcsv.read_csv(AI4I_CSV)
    frame = table.to_pandas()

    report, profile = validate_table(table, label=make_label_spec("Machine failure", None))

    assert report.ok and report.rows == 10_000 and report.duplicate_rows == 0
    stats = profile_by_name(profile)
    for name in ("Air temperature [K]", "Rotational speed [rpm]", "Torque [Nm]", "Tool wear [min]"):
        col, ref = stats[name], frame[name]
        assert col["min"] == ref.min() and col["max"] == ref.max()
        assert col["mean"] == pytest.approx(ref.mean(), rel=1e-12)
        assert col["std"] == pytest.approx(ref.std(ddof=1), rel=1e-9)
        assert [col["q25"], col["q50"], col["q75"]] == pytest.approx(
            list(ref.quantile([0.25, 0.5, 0.75])), rel=1e-12
        )
        assert col["missing_share"] == 0.0
    assert stats["Type"]["distinct_approx"] == 3 and stats["Type"]["mean"] is None
    assert profile["label_distribution"] == {"0": 9661, "1": 339}
    json.dumps(profile, allow_nan=False)  # plain JSON, as PostgreSQL wants it


def test_one_hot_distribution_on_steel() -> None:
    report, profile = validate_table(
        pcsv.read_csv(STEEL_CSV), label=make_label_spec(None, STEEL_LABELS)
    )
    assert report.ok
    assert profile["label_distribution"]["Bumps_Fault"] == 402
    assert sum(profile["label_distribution"].values()) == 1941


def test_standard_deviation_survives_a_large_offset() -> None:
    rng = np.random.default_rng(1)
    values = 1e9 + rng.normal(0, 0.5, 50_000)
    _, profile = validate_table(pa.table({"x": values}))
    col = profile["columns"][0]
    assert col["std"] == pytest.approx(values.std(ddof=1), rel=1e-6)
    assert col["mean"] == pytest.approx(values.mean(), rel=1e-12)


def test_missing_values_duplicates_and_constants_are_reported() -> None:
    table = pa.table(
        {
            "a": [1, 2, 2, 3, None, None],
            "b": ["x", "y", "y", None, None, None],
            "k": [7, 7, 7, 7, 7, 7],
            "c": [None] * 6,
        }
    )
    report, profile = validate_table(table)

    assert report.ok  # all of these are warnings
    assert report.duplicate_rows == 2  # (2, y) once and (None, None) once
    stats = profile_by_name(profile)
    assert stats["a"]["missing_share"] == pytest.approx(2 / 6)
    assert stats["b"]["missing_share"] == pytest.approx(0.5)
    assert stats["c"]["missing_share"] == 1.0 and stats["c"]["min"] is None
    assert "column 'c' is 100% missing" in report.warnings
    assert "column 'k' is constant" in report.warnings
    assert "column 'a' is constant" not in report.warnings
    assert "2 duplicate rows" in report.warnings


def test_distinct_rows_are_not_duplicates() -> None:
    table = pa.table({"a": list(range(1000)), "b": [str(i) for i in range(1000)]})
    report, _ = validate_table(table)
    assert report.duplicate_rows == 0 and not report.warnings


def test_non_finite_values_become_text() -> None:
    _, profile = validate_table(pa.table({"x": [1.0, math.inf, math.nan]}))
    col = profile["columns"][0]
    assert col["min"] == 1.0
    assert isinstance(col["max"], str) and isinstance(col["mean"], str)
    json.dumps(profile, allow_nan=False)


def test_nested_and_temporal_columns_are_profiled_without_failing() -> None:
    table = pa.table(
        {
            "tags": pa.array([[1, 2], [3], None]),
            "when": pa.array([0, 1_000_000, 2_000_000], pa.timestamp("s")),
            "flag": [True, False, True],
        }
    )
    report, profile = validate_table(table)
    assert report.ok
    stats = profile_by_name(profile)
    assert stats["tags"]["missing_share"] == pytest.approx(1 / 3)
    assert stats["when"]["min"].startswith("1970-01-01")
    json.dumps(profile, allow_nan=False)


@pytest.mark.parametrize(
    ("table", "label", "error"),
    [
        (pa.table({"a": [1]}), make_label_spec("y", None), "not in the file"),
        (pa.table({"y": [1, None]}), make_label_spec("y", None), "1 missing values"),
        (pa.table({"p": [1, 1], "q": [0, 1]}), make_label_spec(None, ["p", "q"]), "exactly one"),
        (pa.table({"p": [0.5], "q": [0.5]}), make_label_spec(None, ["p", "q"]), "other than 0"),
        (pa.table({"p": ["1"], "q": ["0"]}), make_label_spec(None, ["p", "q"]), "not numeric"),
        (pa.table({"a": pa.array([], pa.int64())}), None, "no rows"),
    ],
)
def test_label_and_shape_errors(table: pa.Table, label, error: str) -> None:
    report, _ = validate_table(table, label=label)
    assert not report.ok
    assert any(error in e for e in report.errors), report.errors


def test_duplicate_and_blank_column_names_and_group_key() -> None:
    dup = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    assert not validate_table(dup)[0].ok
    blank = pa.Table.from_arrays([pa.array([1])], names=[" "])
    assert not validate_table(blank)[0].ok
    report, _ = validate_table(pa.table({"a": [1]}), group_key="machine")
    assert report.errors == ["group key column 'machine' is not in the file"]


def test_label_distribution_keeps_the_50_most_frequent_values() -> None:
    values = [i % 80 for i in range(8000)] + [3] * 10
    _, profile = validate_table(pa.table({"y": values}), label=make_label_spec("y", None))
    dist = profile["label_distribution"]
    assert len(dist) == 50 and next(iter(dist)) == "3" and dist["3"] == 110


def test_report_round_trips() -> None:
    report, _ = validate_table(pa.table({"a": [1, 1]}))
    assert ValidationReport.from_dict(report.to_dict()) == report


def test_quartiles_of_large_columns_come_from_an_even_sample() -> None:
    rng = np.random.default_rng(3)
    n = QUARTILE_SAMPLE * 3 + 17
    values = rng.gamma(2.0, 3.0, n)
    values[::7] = np.nan  # missing values are skipped
    table = pa.table({"x": pa.array(values, from_pandas=True)})

    _, profile = validate_table(table)

    col = profile["columns"][0]
    exact = np.nanquantile(values, [0.25, 0.5, 0.75])
    assert [col["q25"], col["q50"], col["q75"]] == pytest.approx(list(exact), rel=0.01)
    assert profile["quartile_sample"] == QUARTILE_SAMPLE
    again = validate_table(table)[1]["columns"][0]
    assert [again["q25"], again["q50"], again["q75"]] == [col["q25"], col["q50"], col["q75"]]
    assert validate_table(pcsv.read_csv(STEEL_CSV))[1]["quartile_sample"] is None


def _wide_fixture(rows: int = 40, columns: int = 300) -> pa.Table:
    rng = np.random.default_rng(1)
    arrays: list[pa.Array] = []
    names: list[str] = []
    for j in range(columns):
        if j % 3 == 0:
            arrays.append(pa.array(rng.integers(0, 5, rows), mask=rng.random(rows) < 0.1))
        elif j % 3 == 1:
            arrays.append(pa.array(rng.normal(10 * j, 1, rows), mask=rng.random(rows) < 0.1))
        else:
            arrays.append(pa.array([f"v{k}" for k in rng.integers(0, 4, rows)]))
        names.append(f"c{j}")
    table = pa.Table.from_arrays(arrays, names=names)
    onehot = np.eye(3, dtype=np.int64)[rng.integers(0, 3, rows)]
    for k in range(3):
        table = table.append_column(f"y{k}", pa.array(onehot[:, k]))
    return pa.concat_tables([table, table.slice(0, 2)])  # two duplicate rows


def test_wide_tables_profile_like_the_sql_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    from resonance.domain import validation

    table = _wide_fixture()
    label = LabelSpec(LabelKind.ONE_HOT, ("y0", "y1", "y2"))
    wide, wide_profile = validation.validate_table(table, label=label)
    monkeypatch.setattr(validation, "WIDE_COLUMNS", 10_000)
    narrow, narrow_profile = validation.validate_table(table, label=label)
    assert wide.duplicate_rows == narrow.duplicate_rows == 2
    assert wide.errors == narrow.errors and wide.warnings == narrow.warnings
    assert wide_profile["label_distribution"] == narrow_profile["label_distribution"]
    for a, b in zip(wide_profile["columns"], narrow_profile["columns"], strict=True):
        for key in ("name", "type", "min", "max", "missing", "q50"):
            assert a[key] == b[key], (a["name"], key)
        for key in ("mean", "std"):
            expected = None if b[key] is None else pytest.approx(b[key], rel=1e-9)
            assert a[key] == expected, (a["name"], key)
        # exact on the wide path, HyperLogLog in SQL
        assert a["distinct_approx"] == pytest.approx(b["distinct_approx"], rel=0.2, abs=1)


def test_non_finite_cells_are_counted_with_a_policy() -> None:
    table = pa.table(
        {
            "a": [1.0, math.inf, -math.inf, math.nan, 2.0],
            "b": [1.0, 2.0, 3.0, 4.0, None],
            "c": ["x", "y", "z", "w", "v"],
        }
    )
    report, _ = validate_table(table)
    assert report.ok and report.non_finite == {"a": 3}
    assert any("3 inf/-inf/NaN cells" in w for w in report.warnings)
    assert report.to_dict()["non_finite"] == {"a": 3}
    rejected, _ = validate_table(table, non_finite="reject")
    assert not rejected.ok and "inf/-inf/NaN" in rejected.errors[0]
    assert ValidationReport.from_dict(rejected.to_dict()).non_finite == {"a": 3}


def _no_row_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    from resonance.domain import validation

    def fail(*args: object) -> int:
        raise AssertionError("row hashes computed although a key column proves every row distinct")

    monkeypatch.setattr(validation, "_row_hashes", fail)


@pytest.mark.parametrize(
    "key",
    [
        pa.array(np.random.default_rng(0).permutation(50_000) + 7),  # bitmap over the span
        pa.array(np.arange(50_000) * 3),  # strictly increasing
        pa.array(  # timestamps far apart, shuffled: one sort
            np.random.default_rng(1).permutation(50_000) * 10**12, type=pa.timestamp("ns")
        ),
    ],
    ids=["shuffled-ids", "increasing", "sparse-timestamps"],
)
def test_a_key_column_proves_rows_distinct_without_row_hashes(
    key: pa.Array, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_row_hashes(monkeypatch)
    rng = np.random.default_rng(2)
    table = pa.table({"v": rng.integers(0, 3, 50_000), "id": key})  # v alone repeats
    report, _ = validate_table(table)
    assert report.duplicate_rows == 0


@pytest.mark.parametrize("seed", range(4))
def test_duplicate_rows_match_pandas_when_no_column_is_a_key(seed: int) -> None:
    """Near-keys (one value repeated, a missing value) must not pass as keys."""
    rng = np.random.default_rng(seed)
    n = 20_000
    ids = rng.permutation(n)
    ids[rng.integers(0, n, 3)] = ids[0]  # a few repeats: almost a key
    table = pa.table(
        {
            "id": ids,
            "with_missing": pa.array(rng.permutation(n), mask=np.arange(n) == 5),
            "x": rng.integers(0, 4, n),
            "s": rng.choice(["a", "b"], n),
        }
    )
    extra = table.take(rng.integers(0, n, 50))  # exact copies of rows
    table = pa.concat_tables([table, extra])
    report, _ = validate_table(table)
    assert report.duplicate_rows == int(table.to_pandas().duplicated().sum())
