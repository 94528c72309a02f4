"""Validation reports and profiles of tabular data (pure computation).

Computed over an in-memory Arrow table with few passes: one DuckDB aggregate
query for every per-column statistic, the duplicate-row count and the one-hot
label checks; quartiles with Arrow's selection kernel (exact up to 200,000
rows, else from an evenly spaced sample of that many rows); Arrow value
counts for a label column's distribution. Duplicate rows: none when one
column (an integer, date or time column with no missing value) holds a
different value in every row, which a bitmap or one sort of that column proves;
else they are counted from row hashes, and only when two rows share a hash does
an exact ``DISTINCT`` settle the count.

Wide tables (more than :data:`WIDE_COLUMNS` columns) are profiled column by
column with Arrow kernels instead: DuckDB's cost per aggregate expression made a
20,000-column query take minutes, while Arrow's per-column kernels keep the cost
linear in the number of columns (``make bench-validate``).
"""

from __future__ import annotations

import math
import queue
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resonance.domain.datasets import ColumnSchema, LabelKind, LabelSpec, Schema, Task

HIGH_MISSING_SHARE = 0.5
QUARTILES = (0.25, 0.5, 0.75)
QUARTILE_SAMPLE = 200_000  # rows; above this, quartiles come from an evenly spaced sample
LABEL_VALUES = 50  # most frequent label values kept in the profile
WIDE_COLUMNS = 256  # above this many columns, per-column Arrow kernels replace the SQL scan
_MIX = np.uint64(0x100000001B3)
KEY_DISTINCT_SHARE = 0.9  # a column whose approximate distinct count reaches this share
# of the rows is checked exactly as a key (all values different) before any row hash
KEY_BITMAP_SPAN = 4  # a key column spanning at most this many values a row: a bitmap, else a sort

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
    non_finite: dict[str, int] = field(default_factory=dict)  # column -> inf/-inf/NaN cells

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
            "non_finite": self.non_finite,
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
            non_finite={str(k): int(v) for k, v in (data.get("non_finite") or {}).items()},
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


def _shift(column: pa.Array | pa.ChunkedArray) -> float:
    """A value of the column near its bulk (the first non-missing one), or 0."""
    for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
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
    if pa.types.is_floating(f.type):
        out.append(f"count(*) FILTER (WHERE isinf({col}) OR isnan({col})) AS c{i}_nonfinite")
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


def _label_problems(schema: pa.Schema, label: LabelSpec) -> list[str]:
    """Errors in the label spec itself (missing or unusable columns)."""
    names = schema.names
    missing = [c for c in label.columns if c not in names]
    if missing:
        return [f"label column(s) not in the file: {missing}"]
    if label.kind is LabelKind.ONE_HOT:
        types = {c: schema.field(c).type for c in label.columns}
        bad = [f"{c} ({t})" for c, t in types.items() if not _may_be_onehot(t)]
        if bad:
            return [f"one-hot label columns must hold 0 or 1; not numeric: {', '.join(bad)}"]
    elif _is_nested(schema.field(label.columns[0]).type):
        return [f"label column {label.columns[0]!r} has a nested type"]
    elif label.task is Task.REGRESSION:
        kind = schema.field(label.columns[0]).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind)):
            return [f"the regression label {label.columns[0]!r} must be numeric; it is {kind}"]
    return []


def _sample(column: pa.ChunkedArray, rows: int) -> pa.ChunkedArray:
    """The values at ``rows`` evenly spaced positions, taken chunk by chunk (a take on
    the whole chunked column would first concatenate it)."""
    positions = np.linspace(0, len(column) - 1, rows, dtype=np.int64)
    bounds = np.cumsum([0] + [len(c) for c in column.chunks])
    cuts = np.searchsorted(positions, bounds)
    parts = [
        chunk.take(pa.array(positions[a:b] - start))
        for chunk, start, a, b in zip(column.chunks, bounds, cuts, cuts[1:], strict=False)
        if b > a
    ]
    return pa.chunked_array(parts, type=column.type)


def _quartiles(column: pa.ChunkedArray) -> list[Any]:
    """Quartiles: exact up to ``QUARTILE_SAMPLE`` rows, else of an evenly spaced sample."""
    if column.null_count == len(column):
        return [None] * len(QUARTILES)
    if len(column) > QUARTILE_SAMPLE:
        column = _sample(column, QUARTILE_SAMPLE)
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


def _shifts(first: pa.RecordBatch | pa.Table) -> dict[int, float]:
    """Each numeric column's shift (see :func:`_column_aggregates`), from the first rows."""
    return {i: _shift(first.column(i)) for i, f in enumerate(first.schema) if _is_numeric(f.type)}


def _scan_sql(
    schema: pa.Schema, label: LabelSpec | None, shifts: dict[int, float], source: str
) -> str:
    """The one aggregate query over ``source``: per-column statistics and one-hot checks."""
    aggs = [a for i, f in enumerate(schema) for a in _column_aggregates(i, f, shifts.get(i, 0.0))]
    if label is not None and label.kind is LabelKind.ONE_HOT:
        aggs += _onehot_aggregates(label)
    return "SELECT " + ", ".join(aggs) + " FROM " + source


def _aggregate(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    """The one row of an aggregate query, by column alias."""
    cur = con.execute(sql)
    row = cur.fetchone() or ()
    names = [d[0] for d in cur.description or []]
    return dict(zip(names, row, strict=True))


def _uint64s(values: pa.Array) -> np.ndarray:
    """A null-free uint64 array's values, without a copy (``Array.to_numpy`` would import
    pandas on its first call: 0.2 s)."""
    start = values.offset
    return np.frombuffer(values.buffers()[1], dtype=np.uint64)[start : start + len(values)]


def _row_hashes(con: duckdb.DuckDBPyConnection, schema: pa.Schema, source: str) -> int:
    """Distinct row hashes of ``source``, counted by sorting one 64-bit hash per row.

    8 bytes a row, where ``count(DISTINCT ...)`` grows a hash table of several
    times that; one in-place sort (sorting pieces of a million rows, then merging,
    cost a third more CPU).
    """
    cols = ", ".join(_q(n) for n in schema.names)
    result = con.sql(f"SELECT hash({cols}) AS h FROM {source}").to_arrow_reader(1 << 20)
    pieces = [_uint64s(b.column(0)) for b in result]
    if not pieces:
        return 0
    hashes = np.concatenate(pieces)
    del pieces
    hashes.sort()
    return int(np.count_nonzero(hashes[1:] != hashes[:-1])) + 1


class TableScan:
    """The streaming form of :func:`validate_table`: record batches in, report and profile out.

    Each batch given to :meth:`add` goes to the DuckDB aggregate query
    (per-column statistics, one-hot checks), which reads the stream of batches on
    its own thread as they arrive. :meth:`finish` takes the whole table (the same
    rows) for what does not stream: quartiles of an evenly spaced sample, the label
    distribution, and the duplicate rows (:func:`_duplicates`: a key column proves
    there are none, else row hashes, and an exact ``DISTINCT`` when two rows share a
    hash). :func:`validate_table` is this scan over one table's
    batches, so both forms give the same report. Tables wider than
    :data:`WIDE_COLUMNS` columns are profiled by column in :meth:`finish` instead.
    """

    def __init__(
        self, schema: pa.Schema, *, label: LabelSpec | None = None, group_key: str | None = None
    ) -> None:
        self.schema, self.label, self.group_key = schema, label, group_key
        self.shifts: dict[int, float] | None = None
        self._feed: queue.Queue[pa.RecordBatch | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._aggregates: dict[str, Any] = {}
        self._failure: BaseException | None = None

    def add(self, batch: pa.RecordBatch) -> None:
        """Scan ``batch``, rows of the table (returns at once).

        The first call must give the table's first rows (the numeric shifts come from
        them); later batches may come in any order, from any thread.
        """
        if len(self.schema) > WIDE_COLUMNS:
            return
        if self.shifts is None:
            self.shifts = _shifts(batch)
            sql = _scan_sql(self.schema, self.label, self.shifts, "s")
            self._thread = threading.Thread(
                target=self._query, args=(sql,), name="scan-aggregates", daemon=True
            )
            self._thread.start()
        self._feed.put(batch)

    def _query(self, sql: str) -> None:
        """Run the aggregate query on a cursor that reads the fed batches as table ``s``."""
        con = _cursor()
        try:
            batches = iter(self._feed.get, None)
            con.register("s", pa.RecordBatchReader.from_batches(self.schema, batches))
            self._aggregates = _aggregate(con, sql)
        except BaseException as exc:  # raised again by finish()
            self._failure = exc
        finally:
            con.close()

    def close(self) -> None:
        """End the stream and wait for the query (its result is kept)."""
        if self._thread is not None:
            self._feed.put(None)
            self._thread.join()
            self._thread = None

    def _record(self, table: pa.Table, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        """The scan's record: aggregates by alias (a wide table's also ``row_hashes``)."""
        if len(self.schema) > WIDE_COLUMNS:
            self.shifts = _shifts(table)
            return _scan_wide(con, table, self.label, self.shifts)
        self.close()
        if self._failure is not None:
            raise self._failure
        return dict(self._aggregates)

    def finish(
        self, table: pa.Table, *, non_finite: str = "warn"
    ) -> tuple[ValidationReport, dict[str, Any]]:
        """The report and profile of ``table``, whose batches were all given to :meth:`add`.

        See :func:`validate_table` for what they hold.
        """
        report = ValidationReport(rows=table.num_rows)
        report.errors = shape_errors(table, label=self.label, group_key=self.group_key)
        if not report.ok:
            self.close()
            return report, {}
        quartiles = _all_quartiles(table)  # while the queries read their last batches
        con = _cursor()
        try:
            con.register("t", table)
            rec = self._record(table, con)
            report.duplicate_rows = _duplicates(con, table, rec)
        finally:
            con.close()
        assert self.shifts is not None
        _non_finite(report, rec, table, policy=non_finite)
        names = table.column_names
        label_dist = (
            _label_distribution(table, rec, names, self.label, report) if self.label else {}
        )
        stats = _column_stats(table, rec, self.shifts, quartiles)
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


def _arrow_aggregates(i: int, column: pa.ChunkedArray) -> dict[str, Any]:
    """The aggregates of :func:`_column_aggregates` for one non-numeric column (Arrow kernels)."""
    t = column.type
    out: dict[str, Any] = {f"c{i}_count": len(column) - column.null_count}
    if _is_nested(t) or pa.types.is_null(t):
        return out
    mm = pc.min_max(column)
    out[f"c{i}_min"] = mm["min"].as_py()
    out[f"c{i}_max"] = mm["max"].as_py()
    out[f"c{i}_distinct"] = pc.count_distinct(column, mode="only_valid").as_py()
    return out


def _numeric_block(
    table: pa.Table, idx: list[int], shifts: dict[int, float]
) -> tuple[dict[str, Any], np.ndarray]:
    """Aggregates of the numeric columns ``idx`` at once, on a rows x columns float matrix.

    Missing values and NaN both count as missing here. Returns the record and the
    matrix (missing as NaN) for the row hashes.
    """
    X = np.empty((table.num_rows, len(idx)), dtype=np.float64)
    for j, i in enumerate(idx):
        X[:, j] = table.column(i).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    infs = np.isinf(X).sum(axis=0)
    valid = ~np.isnan(X)
    counts = valid.sum(axis=0)
    shift = np.asarray([shifts.get(i, 0.0) for i in idx])
    D = np.where(valid, X - shift, 0.0)
    s1, s2 = D.sum(axis=0), (D * D).sum(axis=0)
    with np.errstate(invalid="ignore"):
        S = np.sort(X, axis=0)  # NaN last
    mins, maxs = S[0], S[np.maximum(counts - 1, 0), np.arange(len(idx))]
    changes = (np.diff(S, axis=0) != 0) & ~np.isnan(S[1:])
    distinct = np.where(counts > 0, 1 + changes.sum(axis=0), 0)
    rec: dict[str, Any] = {}
    for j, i in enumerate(idx):
        n = int(counts[j])
        integer = pa.types.is_integer(table.schema.field(i).type)
        lo, hi = (mins[j], maxs[j]) if n else (None, None)
        rec[f"c{i}_count"] = n
        rec[f"c{i}_min"] = (int(lo) if integer else float(lo)) if lo is not None else None
        rec[f"c{i}_max"] = (int(hi) if integer else float(hi)) if hi is not None else None
        rec[f"c{i}_distinct"] = int(distinct[j])
        rec[f"c{i}_s1"] = float(s1[j]) if n else None
        rec[f"c{i}_s2"] = float(s2[j]) if n else None
        if pa.types.is_floating(table.schema.field(i).type):
            rec[f"c{i}_nonfinite"] = int(infs[j])
    return rec, X


def _wide_row_hashes(table: pa.Table, numeric: np.ndarray, others: list[int]) -> int:
    """How many distinct row hashes the table has (64-bit, mixed column by column)."""
    import pandas as pd

    rng = np.random.default_rng(0)
    with np.errstate(over="ignore"):
        V = np.where(np.isnan(numeric), np.inf, numeric).view(np.uint64)
        V = (V ^ (V >> np.uint64(33))) * _MIX
        weights = rng.integers(1, 2**63, size=V.shape[1], dtype=np.uint64) | np.uint64(1)
        h = (V * weights).sum(axis=1, dtype=np.uint64)
        for i in others:
            column = table.column(i)
            values = np.asarray([str(v) for v in column.to_pylist()], dtype=object)
            h = (h * _MIX) ^ pd.util.hash_array(values, categorize=False)
    return len(np.unique(h))


def _scan_wide(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    label: LabelSpec | None,
    shifts: dict[int, float],
) -> dict[str, Any]:
    """:func:`_scan`'s record for a wide table, linear in the number of columns."""
    fields = list(table.schema)
    numeric = [i for i, f in enumerate(fields) if _is_numeric(f.type)]
    others = [i for i, f in enumerate(fields) if not _is_numeric(f.type)]
    rec, X = _numeric_block(table, numeric, shifts)
    for i in others:
        rec.update(_arrow_aggregates(i, table.column(i)))
    rec["row_hashes"] = _wide_row_hashes(table, X, others)
    if label is not None and label.kind is LabelKind.ONE_HOT:
        con.register("label_cols", table.select(list(label.columns)))
        cur = con.execute("SELECT " + ", ".join(_onehot_aggregates(label)) + " FROM label_cols")
        row = cur.fetchone() or ()
        names = [d[0] for d in cur.description or []]
        rec.update(zip(names, row, strict=True))
    return rec


def _key_values(column: pa.ChunkedArray) -> np.ndarray | None:
    """The values of an integer, date, time or timestamp column as integers (a copy),
    or ``None`` for other types."""
    t = column.type
    if pa.types.is_integer(t):
        storage = t
    elif pa.types.is_date32(t) or pa.types.is_time32(t):
        storage = pa.int32()
    elif (
        pa.types.is_date64(t)
        or pa.types.is_time64(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_duration(t)
    ):
        storage = pa.int64()
    else:
        return None
    dtype = np.dtype(storage.to_pandas_dtype())
    parts = [
        np.frombuffer(c.buffers()[1], dtype=dtype)[c.offset : c.offset + len(c)]
        for c in column.chunks
        if len(c)
    ]
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def _is_key(values: np.ndarray) -> bool:
    """Whether every value differs: at once when they strictly increase (row numbers,
    times), else a bitmap over the span when it is at most :data:`KEY_BITMAP_SPAN`
    values a row, else one sort."""
    if len(values) < 2 or bool(np.all(values[1:] > values[:-1])):
        return True
    lo, hi = int(values.min()), int(values.max())
    if hi - lo + 1 < len(values):
        return False
    if hi - lo + 1 <= KEY_BITMAP_SPAN * len(values):
        seen = np.zeros(hi - lo + 1, dtype=np.bool_)
        seen[(values - values.dtype.type(lo)).astype(np.int64, copy=False)] = True
        return int(np.count_nonzero(seen)) == len(values)
    values.sort()
    return not bool(np.any(values[1:] == values[:-1]))


def _has_key(table: pa.Table, rec: dict[str, Any]) -> bool:
    """Whether some column proves every row distinct: no missing value, an approximate
    distinct count of at least :data:`KEY_DISTINCT_SHARE` of the rows, and (checked
    exactly) a different value in every row."""
    rows = table.num_rows
    for i, column in enumerate(table.columns):
        if column.null_count or rec.get(f"c{i}_distinct", 0) < KEY_DISTINCT_SHARE * rows:
            continue
        values = _key_values(column)
        if values is not None and _is_key(values):
            return True
    return False


def _duplicates(con: duckdb.DuckDBPyConnection, table: pa.Table, rec: dict[str, Any]) -> int:
    """Duplicate rows of ``table`` (registered on ``con`` as ``t``).

    None when a key column proves every row distinct (:func:`_has_key`) or every
    row hashes differently; else an exact ``DISTINCT`` settles the count.
    """
    rows = table.num_rows
    if rows < 2 or _has_key(table, rec):
        return 0
    row_hashes = rec.get("row_hashes")
    if row_hashes is None:
        row_hashes = _row_hashes(con, table.schema, "t")
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


def _non_finite(
    report: ValidationReport, rec: dict[str, Any], table: pa.Table, *, policy: str
) -> None:
    if policy not in NON_FINITE_POLICIES:
        raise ValueError(f"non_finite policy must be one of {NON_FINITE_POLICIES}")
    report.non_finite = {
        f.name: int(rec[f"c{i}_nonfinite"])
        for i, f in enumerate(table.schema)
        if rec.get(f"c{i}_nonfinite")
    }
    if not report.non_finite:
        return
    total = sum(report.non_finite.values())
    cols = sorted(report.non_finite)[:5]
    message = f"{total} inf/-inf/NaN cells in column(s) {cols}"
    if policy == "reject":
        report.errors.append(message + " (this space rejects non-finite values)")
    else:
        report.warnings.append(message + " (kept)")


def _name_problem(names: list[str]) -> str | None:
    dupes = sorted(n for n, k in Counter(names).items() if k > 1)
    if dupes or any(not n.strip() for n in names):
        return f"column names must be unique and non-empty (duplicates: {dupes})"
    return None


def schema_errors(
    schema: pa.Schema, *, label: LabelSpec | None = None, group_key: str | None = None
) -> list[str]:
    """The errors visible in the schema alone: names, label columns, group key."""
    names = schema.names
    problem = _name_problem(names)
    if problem:
        return [problem]
    errors = []
    if group_key and group_key not in names:
        errors.append(f"group key column {group_key!r} is not in the file")
    if label is not None:
        errors += _label_problems(schema, label)
    return errors


def shape_errors(
    table: pa.Table, *, label: LabelSpec | None = None, group_key: str | None = None
) -> list[str]:
    """The errors visible without reading any value: names, label columns, group key, rows.

    Cheap (schema only); :func:`validate_table` starts with it.
    """
    errors = schema_errors(table.schema, label=label, group_key=group_key)
    if table.num_rows == 0 and not _name_problem(table.column_names):
        errors.append("the file holds no rows")
    return errors


NON_FINITE_POLICIES = ("warn", "reject")


def validate_table(
    table: pa.Table,
    *,
    label: LabelSpec | None = None,
    group_key: str | None = None,
    non_finite: str = "warn",
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
    non_finite:
        What inf, -inf and NaN cells of floating-point columns make: ``"warn"`` (kept,
        counted in ``non_finite`` and warned about) or ``"reject"`` (an error). Tables
        wider than :data:`WIDE_COLUMNS` count NaN as missing and only inf as non-finite.

    Returns
    -------
    (ValidationReport, dict)
        The report, and a profile: per-column statistics (``min``, ``max``,
        ``mean``, ``std``, quartiles, ``missing_share``, ``distinct_approx``; quartiles
        are exact up to ``QUARTILE_SAMPLE`` rows, else from an evenly spaced sample of
        that many rows, and ``quartile_sample`` says so)
        plus the label distribution.
    """
    scan = TableScan(table.schema, label=label, group_key=group_key)
    if not shape_errors(table, label=label, group_key=group_key):
        for batch in table.to_batches():
            scan.add(batch)
    return scan.finish(table, non_finite=non_finite)
