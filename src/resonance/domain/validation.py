"""Validation reports and profiles of tabular data (pure computation).

Computed with DuckDB over an in-memory Arrow table: one pass for the summary
statistics, one for duplicate rows, one for label checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from resonance.domain.datasets import ColumnSchema, LabelKind, LabelSpec, Schema

HIGH_MISSING_SHARE = 0.5


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


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _num(value: Any) -> Any:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _summarize(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = con.execute("SUMMARIZE t").fetchall()
    names = [d[0] for d in con.description or []]
    out = []
    for row in rows:
        rec = dict(zip(names, row, strict=True))
        out.append(
            {
                "name": rec["column_name"],
                "type": rec["column_type"],
                "min": _num(rec["min"]),
                "max": _num(rec["max"]),
                "distinct_approx": int(rec["approx_unique"] or 0),
                "mean": _num(rec["avg"]),
                "std": _num(rec["std"]),
                "q25": _num(rec["q25"]),
                "q50": _num(rec["q50"]),
                "q75": _num(rec["q75"]),
                "missing_share": float(str(rec["null_percentage"]).rstrip("%") or 0) / 100.0,
            }
        )
    return out


def _label_checks(
    con: duckdb.DuckDBPyConnection, names: list[str], label: LabelSpec, report: ValidationReport
) -> dict[str, int]:
    missing = [c for c in label.columns if c not in names]
    if missing:
        report.errors.append(f"label column(s) not in the file: {missing}")
        return {}
    cols = [_q(c) for c in label.columns]
    if label.kind is LabelKind.COLUMN:
        nulls = con.execute(f"SELECT count(*) FROM t WHERE {cols[0]} IS NULL").fetchone()
        if nulls and nulls[0]:
            report.errors.append(f"label column {label.columns[0]!r} has {nulls[0]} missing values")
        counts = con.execute(
            f"SELECT CAST({cols[0]} AS VARCHAR), count(*) FROM t "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 50"
        ).fetchall()
        return {str(k): int(v) for k, v in counts}
    total = " + ".join(f"coalesce(CAST({c} AS DOUBLE), 0)" for c in cols)
    bad = con.execute(f"SELECT count(*) FROM t WHERE ({total}) <> 1").fetchone()
    if bad and bad[0]:
        report.errors.append(
            f"{bad[0]} rows do not have exactly one of the one-hot label columns set to 1"
        )
    sums = con.execute("SELECT " + ", ".join(f"sum(CAST({c} AS DOUBLE))" for c in cols) + " FROM t")
    row = sums.fetchone() or ()
    return {name: int(v or 0) for name, v in zip(label.columns, row, strict=True)}


def validate_table(
    table: pa.Table, *, label: LabelSpec | None = None, group_key: str | None = None
) -> tuple[ValidationReport, dict[str, Any]]:
    """Validate ``table`` and profile it.

    Parameters
    ----------
    table:
        The rows to check.
    label:
        The label spec to check (columns exist, no missing labels, one-hot rows sum to 1).
    group_key:
        A column that must exist (used later for leak-free splits).

    Returns
    -------
    (ValidationReport, dict)
        The report, and a profile: per-column statistics plus the label distribution.
    """
    report = ValidationReport(rows=table.num_rows)
    names = table.column_names
    if table.num_rows == 0:
        report.errors.append("the file holds no rows")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes or any(not n.strip() for n in names):
        report.errors.append(f"column names must be unique and non-empty (duplicates: {dupes})")
        return report, {}
    con = duckdb.connect()
    try:
        con.register("t", table)
        stats = _summarize(con) if table.num_rows else []
        distinct = con.execute("SELECT count(*) FROM (SELECT DISTINCT * FROM t)").fetchone()
        report.duplicate_rows = table.num_rows - int(distinct[0] if distinct else 0)
        label_dist = _label_checks(con, names, label, report) if label else {}
    finally:
        con.close()
    for col in stats:
        report.columns.append(
            {k: col[k] for k in ("name", "type", "min", "max", "missing_share", "distinct_approx")}
        )
        if col["missing_share"] > HIGH_MISSING_SHARE:
            report.warnings.append(f"column {col['name']!r} is {col['missing_share']:.0%} missing")
        if col["distinct_approx"] <= 1 and table.num_rows > 1:
            report.warnings.append(f"column {col['name']!r} is constant")
    if report.duplicate_rows:
        report.warnings.append(f"{report.duplicate_rows} duplicate rows")
    if group_key and group_key not in names:
        report.errors.append(f"group key column {group_key!r} is not in the file")
    profile = {"columns": stats, "label_distribution": label_dist}
    return report, profile
