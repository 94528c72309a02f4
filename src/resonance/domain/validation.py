"""Validation reports and profiles of tabular data (pure computation).

Computed over an in-memory Arrow table with few passes: one DuckDB aggregate
query for every per-column statistic, the duplicate-row count and the one-hot
label checks; quartiles with Arrow's selection kernel (exact up to 200,000
rows, else from an evenly spaced sample of that many rows); Arrow value
counts for a label column's distribution. Duplicate rows are counted from row
hashes first; only when two rows share a hash does an exact ``DISTINCT``
settle the count.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resonance.domain.datasets import ColumnSchema, LabelKind, LabelSpec, Schema

HIGH_MISSING_SHARE = 0.5
QUARTILES = (0.25, 0.5, 0.75)
QUARTILE_SAMPLE = 200_000  # rows; above this, quartiles come from an evenly spaced sample
LABEL_VALUES = 50  # most frequent label values kept in the profile

_duckdb: duckdb.DuckDBPyConnection | None = None
_duckdb_lock = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on a process-wide in-memory DuckDB (opening one costs ~20 ms)."""
    global _duckdb
    with _duckdb_lock:
        if _duckdb is None:
            _duckdb = duckdb.connect()
        return _duckdb.cursor()


def schema_of(table: pa.Table) -> Schema:
    """The :class:`Schema` of an Arrow table."""
    return Schema(tuple(ColumnSchema(f.name, str(f.type), f.nullable) for f in table.schema))


@dataclass
class ValidationReport:
    """Findings about one table; ``errors`` block ingestion, ``warnings`` do not."""

    rows: int
    columns: list[dict[str, Any]] = field(default_factory=list)
    duplicate_rows: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "ok": self.ok,
            "rows": self.rows,
            "duplicate_rows": self.duplicate_rows,
            "columns": self.columns,
            "errors": self.errors,
            "warnings": self.warnings,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ValidationReport:
        """Inverse of :meth:`to_dict`."""
        return ValidationReport(
            rows=int(data.get("rows", 0)),
            columns=list(data.get("columns", [])),
            duplicate_rows=int(data.get("duplicate_rows", 0)),
            errors=list(data.get("errors", [])),
            warnings=list(data.get("warnings", [])),
        )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _num(value: Any) -> Any:
    """A JSON-safe statistic: finite numbers as float, anything else as text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(number)


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _is_nested(t: pa.DataType) -> bool:
    return pa.types.is_nested(t) or pa.types.is_dictionary(t)


def _may_be_onehot(t: pa.DataType) -> bool:
    return _is_numeric(t) or pa.types.is_boolean(t) or pa.types.is_null(t)


def _shift(column: pa.ChunkedArray) -> float:
    """A value of the column near its bulk (the first non-missing one), or 0."""
    for chunk in column.chunks:
        valid = chunk.drop_null()
        if len(valid):
            value = float(valid[0].as_py())
            return value if math.isfinite(value) else 0.0
    return 0.0


def _column_aggregates(i: int, f: pa.Field, shift: float) -> list[str]:
    """SQL aggregates of column ``i`` (aliased ``c<i>_<stat>``).

    Numeric columns get the sum and the sum of squares of ``x - shift``, from
    which mean and variance follow without the cancellation a zero shift would
    suffer on large values with a small spread.
    """
    col = _q(f.name)
    out = [f"count({col}) AS c{i}_count"]
    if _is_nested(f.type) or pa.types.is_null(f.type):
        return out
    out += [
        f"min({col}) AS c{i}_min",
        f"max({col}) AS c{i}_max",
        f"approx_count_distinct({col}) AS c{i}_distinct",
    ]
    if _is_numeric(f.type):
        d = f"(CAST({col} AS DOUBLE) - ({shift!r}))"
        out += [f"sum({d}) AS c{i}_s1", f"sum({d} * {d}) AS c{i}_s2"]
    return out


def _moments(rec: dict[str, Any], i: int, shift: float) -> tuple[Any, Any]:
    """Mean and sample standard deviation of column ``i`` from its shifted sums."""
    n = int(rec[f"c{i}_count"])
    s1, s2 = rec.get(f"c{i}_s1"), rec.get(f"c{i}_s2")
    if n == 0 or s1 is None or s2 is None:
        return None, None
    mean = shift + s1 / n
    if n < 2:
        return _num(mean), None
    var = max(0.0, (s2 - s1 * s1 / n) / (n - 1))
    return _num(mean), _num(math.sqrt(var))


def _onehot_aggregates(label: LabelSpec) -> list[str]:
    """SQL aggregates checking one-hot label columns (aliased ``oh_*``)."""
    cols = [_q(c) for c in label.columns]
    valid = " AND ".join(f"coalesce({c} IN (0, 1), false)" for c in cols)
    ones = " + ".join(f"CAST(coalesce({c} = 1, false) AS INTEGER)" for c in cols)
    out = [
        f"count(*) FILTER (WHERE NOT ({valid})) AS oh_invalid",
        f"count(*) FILTER (WHERE ({valid}) AND ({ones}) <> 1) AS oh_not_one",
    ]
    out += [f"count(*) FILTER (WHERE {c} = 1) AS oh_n{j}" for j, c in enumerate(cols)]
    return out


def _label_problems(table: pa.Table, label: LabelSpec) -> list[str]:
    """Errors in the label spec itself (missing or unusable columns)."""
    names = table.column_names
    missing = [c for c in label.columns if c not in names]
    if missing:
        return [f"label column(s) not in the file: {missing}"]
    if label.kind is LabelKind.ONE_HOT:
        types = {c: table.schema.field(c).type for c in label.columns}
        bad = [f"{c} ({t})" for c, t in types.items() if not _may_be_onehot(t)]
        if bad:
            return [f"one-hot label columns must hold 0 or 1; not numeric: {', '.join(bad)}"]
    elif _is_nested(table.schema.field(label.columns[0]).type):
        return [f"label column {label.columns[0]!r} has a nested type"]
    return []


def _quartiles(column: pa.ChunkedArray) -> list[Any]:
    """Quartiles: exact up to ``QUARTILE_SAMPLE`` rows, else of an evenly spaced sample."""
    if column.null_count == len(column):
        return [None] * len(QUARTILES)
    if len(column) > QUARTILE_SAMPLE:
        column = column.take(np.linspace(0, len(column) - 1, QUARTILE_SAMPLE, dtype=np.int64))
        if column.null_count == len(column):
            return [None] * len(QUARTILES)
    values = pc.quantile(column, q=list(QUARTILES), interpolation="linear")
    return [_num(v) for v in values.to_pylist()]


def _all_quartiles(table: pa.Table) -> dict[int, list[Any]]:
    """Quartiles of every integer and floating-point column, by column index."""
    return {
        i: _quartiles(table.column(i))
        for i, f in enumerate(table.schema)
        if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
    }


def _column_stats(
    table: pa.Table,
    rec: dict[str, Any],
    shifts: dict[int, float],
    quartiles: dict[int, list[Any]],
) -> list[dict[str, Any]]:
    rows = table.num_rows
    out = []
    for i, f in enumerate(table.schema):
        mean, std = _moments(rec, i, shifts[i]) if i in shifts else (None, None)
        q25, q50, q75 = quartiles.get(i, (None, None, None))
        out.append(
            {
                "name": f.name,
                "type": str(f.type),
                "min": _num(rec.get(f"c{i}_min")),
                "max": _num(rec.get(f"c{i}_max")),
                "distinct_approx": int(rec.get(f"c{i}_distinct") or 0),
                "mean": mean,
                "std": std,
                "q25": q25,
                "q50": q50,
                "q75": q75,
                "missing_share": (rows - int(rec[f"c{i}_count"])) / rows,
                "missing": rows - int(rec[f"c{i}_count"]),
            }
        )
    return out


def _scan(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    label: LabelSpec | None,
    shifts: dict[int, float],
) -> dict[str, Any]:
    """One aggregate pass: per-column statistics, row-hash count, one-hot checks."""
    aggs = [
        a for i, f in enumerate(table.schema) for a in _column_aggregates(i, f, shifts.get(i, 0.0))
    ]
    if label is not None and label.kind is LabelKind.ONE_HOT:
        aggs += _onehot_aggregates(label)
    cur = con.execute("SELECT " + ", ".join(aggs) + " FROM t")
    row = cur.fetchone() or ()
    names = [d[0] for d in cur.description or []]
    return {**dict(zip(names, row, strict=True)), "row_hashes": _row_hashes(con, table)}


def _row_hashes(con: duckdb.DuckDBPyConnection, table: pa.Table) -> int:
    """Distinct row hashes, counted by sorting one 64-bit hash per row.

    8 bytes a row, where ``count(DISTINCT ...)`` grows a hash table of several
    times that.
    """
    cols = ", ".join(_q(n) for n in table.column_names)
    hashes = np.asarray(con.execute(f"SELECT hash({cols}) AS h FROM t").fetchnumpy()["h"])
    if len(hashes) < 2:
        return len(hashes)
    hashes = np.sort(hashes)
    return int(np.count_nonzero(hashes[1:] != hashes[:-1])) + 1


def _duplicates(con: duckdb.DuckDBPyConnection, rows: int, row_hashes: int) -> int:
    if row_hashes == rows:  # every row hashes differently, so every row is distinct
        return 0
    distinct = con.execute("SELECT count(*) FROM (SELECT DISTINCT * FROM t)").fetchone()
    return rows - int(distinct[0] if distinct else 0)


def _label_distribution(
    table: pa.Table,
    rec: dict[str, Any],
    names: list[str],
    label: LabelSpec,
    report: ValidationReport,
) -> dict[str, int]:
    if label.kind is LabelKind.ONE_HOT:
        if rec["oh_invalid"]:
            report.errors.append(
                f"{rec['oh_invalid']} rows hold a missing value or a value other than 0 or 1 "
                "in the one-hot label columns"
            )
        if rec["oh_not_one"]:
            report.errors.append(
                f"{rec['oh_not_one']} rows do not have exactly one of the one-hot label "
                "columns set to 1"
            )
        return {c: int(rec[f"oh_n{j}"]) for j, c in enumerate(label.columns)}
    i = names.index(label.columns[0])
    nulls = report.rows - int(rec[f"c{i}_count"])
    if nulls:
        report.errors.append(f"label column {label.columns[0]!r} has {nulls} missing values")
    counts = pc.value_counts(table.column(i).drop_null())
    order = pc.sort_indices(counts.field("counts"), sort_keys=[("", "descending")])
    top = counts.take(order[:LABEL_VALUES])
    pairs = zip(top.field("values").to_pylist(), top.field("counts").to_pylist(), strict=True)
    return dict(sorted(((str(k), int(v)) for k, v in pairs), key=lambda kv: (-kv[1], kv[0])))


def _warn(report: ValidationReport, stats: list[dict[str, Any]], rows: int) -> None:
    for col in stats:
        if col["missing_share"] > HIGH_MISSING_SHARE:
            report.warnings.append(f"column {col['name']!r} is {col['missing_share']:.0%} missing")
        if rows > 1 and col["missing"] == 0 and col["min"] is not None and col["min"] == col["max"]:
            report.warnings.append(f"column {col['name']!r} is constant")
    if report.duplicate_rows:
        report.warnings.append(f"{report.duplicate_rows} duplicate rows")


def shape_errors(
    table: pa.Table, *, label: LabelSpec | None = None, group_key: str | None = None
) -> list[str]:
    """The errors visible without reading any value: names, label columns, group key, rows.

    Cheap (schema only); :func:`validate_table` starts with it.
    """
    names = table.column_names
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes or any(not n.strip() for n in names):
        return [f"column names must be unique and non-empty (duplicates: {dupes})"]
    errors = []
    if group_key and group_key not in names:
        errors.append(f"group key column {group_key!r} is not in the file")
    if label is not None:
        errors += _label_problems(table, label)
    if table.num_rows == 0:
        errors.append("the file holds no rows")
    return errors


def validate_table(
    table: pa.Table, *, label: LabelSpec | None = None, group_key: str | None = None
) -> tuple[ValidationReport, dict[str, Any]]:
    """Validate ``table`` and profile it.

    Parameters
    ----------
    table:
        The rows to check.
    label:
        The label spec to check: its columns exist, a label column has no missing
        values, one-hot columns hold only 0/1 and every row has exactly one 1.
    group_key:
        A column that must exist (used later for leak-free splits).

    Returns
    -------
    (ValidationReport, dict)
        The report, and a profile: per-column statistics (``min``, ``max``,
        ``mean``, ``std``, quartiles, ``missing_share``, ``distinct_approx``; quartiles
        are exact up to ``QUARTILE_SAMPLE`` rows, else from an evenly spaced sample of
        that many rows, and ``quartile_sample`` says so)
        plus the label distribution.
    """
    report = ValidationReport(rows=table.num_rows)
    names = table.column_names
    report.errors = shape_errors(table, label=label, group_key=group_key)
    if not report.ok:
        return report, {}
    shifts = {i: _shift(table.column(i)) for i, f in enumerate(table.schema) if _is_numeric(f.type)}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="quartiles") as pool:
        quartiles = pool.submit(_all_quartiles, table)  # Arrow kernels, beside DuckDB's scan
        con = _cursor()
        try:
            con.register("t", table)
            rec = _scan(con, table, label, shifts)
            report.duplicate_rows = _duplicates(con, table.num_rows, int(rec["row_hashes"]))
        finally:
            con.close()
    label_dist = _label_distribution(table, rec, names, label, report) if label else {}
    stats = _column_stats(table, rec, shifts, quartiles.result())
    report.columns = [
        {k: c[k] for k in ("name", "type", "min", "max", "missing_share", "distinct_approx")}
        for c in stats
    ]
    _warn(report, stats, table.num_rows)
    sampled = QUARTILE_SAMPLE if table.num_rows > QUARTILE_SAMPLE else None
    return report, {
        "columns": stats,
        "label_distribution": label_dist,
        "quartile_sample": sampled,
    }
