"""Turning Arrow tables into feature matrices and label vectors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from resonance.domain.datasets import LabelKind, LabelSpec, Task
from resonance.domain.errors import InvalidInput
from resonance.domain.modeling import TimeFeatures

MAX_CATEGORIES = 30


def label_values(table: pa.Table, label: LabelSpec) -> np.ndarray:
    """The label of each row as strings (one-hot specs give the hot column's name)."""
    missing = [c for c in label.columns if c not in table.column_names]
    if missing:
        raise InvalidInput(f"label column(s) {missing} are not in the data", columns=missing)
    if label.kind is LabelKind.COLUMN:
        col = table[label.columns[0]]
        return np.asarray(pc.cast(col, pa.string()).to_numpy(zero_copy_only=False), dtype=object)
    onehot = np.column_stack(
        [
            np.nan_to_num(table[c].to_numpy(zero_copy_only=False).astype(float))
            for c in label.columns
        ]
    )
    return np.asarray(label.columns, dtype=object)[onehot.argmax(axis=1)]


POSITION = "time position"  # a slice dimension: where in its group's time span a row lies


@dataclass(frozen=True)
class TimeSetup:
    """A time series: the dataset's time column and group key, the spec's time features."""

    time_column: str | None = None
    group_key: str | None = None
    features: TimeFeatures | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "time_column": self.time_column,
            "group_key": self.group_key,
            "features": self.features.to_dict() if self.features else None,
        }

    @staticmethod
    def from_dict(data: dict[str, Any] | None) -> TimeSetup | None:
        """Inverse of :meth:`to_dict`; ``None`` stays ``None``."""
        if not data:
            return None
        return TimeSetup(
            data.get("time_column"),
            data.get("group_key"),
            TimeFeatures.from_dict(data.get("features")),
        )

    def order(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """Rows sorted by group, then time, then file order; and each row's group code."""
        n = table.num_rows
        groups = _codes(table[self.group_key]) if self.group_key else np.zeros(n, dtype=np.int64)
        times = _codes(table[self.time_column]) if self.time_column else np.arange(n)
        return np.lexsort((np.arange(n), times, groups)), groups


def _codes(column: pa.ChunkedArray) -> np.ndarray:
    """Order-preserving integer codes of a column (numbers, or ISO 8601 text)."""
    values = column.to_numpy(zero_copy_only=False)
    if values.dtype == object:
        values = np.asarray(values, dtype=str)
    return np.unique(values, return_inverse=True)[1].astype(np.int64)


def add_time_features(table: pa.Table, setup: TimeSetup) -> pa.Table:
    """``table`` with the lag and rolling-mean columns of ``setup.features`` appended.

    Within each group, rows ordered by the time column (file order breaks ties, and
    is the order without one): ``COLUMN__lagK`` is the value ``K`` rows earlier and
    ``COLUMN__meanW`` the mean of the ``W`` previous rows (missing where the group
    has no such row yet). Only earlier rows are read: no look-ahead. Columns
    already present are kept (the function is idempotent).
    """
    tf = setup.features
    if tf is None or all(n in table.column_names for n in tf.names()):
        return table
    missing = [c for c in tf.columns if c not in table.column_names]
    if missing:
        raise InvalidInput(f"time feature column(s) {missing} are not in the data", columns=missing)
    order, groups = setup.order(table)
    frame = pd.DataFrame(
        {c: table[c].to_numpy(zero_copy_only=False).astype(float)[order] for c in tf.columns}
    )
    by = frame.groupby(groups[order], sort=False)
    added: dict[str, np.ndarray] = {}
    for c in tf.columns:
        for k in tf.lags:
            added[f"{c}__lag{k}"] = by[c].shift(k).to_numpy()
        previous = by[c].shift(1)
        for w in tf.windows:
            rolled = previous.groupby(groups[order], sort=False).rolling(w, min_periods=1).mean()
            added[f"{c}__mean{w}"] = rolled.reset_index(level=0, drop=True).sort_index().to_numpy()
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    for name in tf.names():
        if name not in table.column_names:
            table = table.append_column(name, pa.array(added[name][back]))
    return table


def time_position(table: pa.Table, setup: TimeSetup) -> np.ndarray:
    """Each row's place in its group's time order, 0 (first) to 1 (last)."""
    order, groups = setup.order(table)
    sorted_groups = groups[order]
    rank = pd.Series(sorted_groups).groupby(sorted_groups).cumcount().to_numpy()
    size = np.bincount(sorted_groups)[sorted_groups]
    position = np.empty(len(order))
    position[order] = rank / np.maximum(size - 1, 1)
    return position


def regression_targets(raw: np.ndarray, label: LabelSpec) -> np.ndarray:
    """Numeric targets of a regression label (missing values become NaN), or ``InvalidInput``."""
    out = np.empty(len(raw))
    for i, v in enumerate(raw):
        if v is None or v == "":
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"the regression label {label.columns[0]!r} holds a non-numeric value {v!r}",
                column=label.columns[0],
                value=str(v),
            ) from None
    return out


@dataclass
class FeatureEncoder:
    """Column selection and encoding learned on training data, reused at prediction time.

    Numeric columns pass through (missing values imputed with the training
    median); string columns are one-hot encoded over the training categories
    (at most :data:`MAX_CATEGORIES`, unseen values encode as all zeros).
    """

    numeric: list[str] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)
    medians: dict[str, float] = field(default_factory=dict)
    time: TimeSetup | None = None
    group_key: str | None = None  # never a feature; a slice dimension ("unit 17")

    def augment(self, table: pa.Table) -> pa.Table:
        """``table`` with the time features the encoder was fitted with (if any)."""
        setup = getattr(self, "time", None)  # encoders stored before time series had none
        return add_time_features(table, setup) if setup is not None else table

    @classmethod
    def fit(
        cls,
        table: pa.Table,
        *,
        label: LabelSpec,
        feature_columns: tuple[str, ...] | None = None,
        exclude: tuple[str, ...] = (),
        time: TimeSetup | None = None,
    ) -> FeatureEncoder:
        """Choose feature columns (all but label, excluded and group columns by default).

        With ``time``: the time features are computed first (and are features; a
        ``feature_columns`` selection keeps them too), the time column is not one.
        """
        drop = set(label.columns) | set(exclude)
        if time is not None:
            table = add_time_features(table, time)
            drop |= {time.time_column} - {None}  # type: ignore[arg-type]
            if feature_columns and time.features:
                feature_columns = (*feature_columns, *time.features.names())
        names = list(feature_columns) if feature_columns else table.column_names
        unknown = [n for n in names if n not in table.column_names]
        if unknown:
            raise InvalidInput(f"feature column(s) {unknown} are not in the data", columns=unknown)
        enc = cls()
        for name in (n for n in names if n not in drop):
            col = table[name]
            if (
                pa.types.is_integer(col.type)
                or pa.types.is_floating(col.type)
                or pa.types.is_boolean(col.type)
            ):
                values = col.to_numpy(zero_copy_only=False).astype(float)
                enc.numeric.append(name)
                med = np.nanmedian(values) if np.isfinite(values).any() else 0.0
                enc.medians[name] = float(med)
            elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                counts = pc.value_counts(col.drop_null()).to_pylist()
                top = sorted(counts, key=lambda d: -d["counts"])[:MAX_CATEGORIES]
                enc.categorical[name] = sorted(str(d["values"]) for d in top)
        if not enc.numeric and not enc.categorical:
            raise InvalidInput("no usable feature columns (numeric or string)")
        enc.time = time
        return enc

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns."""
        names = list(self.numeric)
        for col, cats in self.categorical.items():
            names.extend(f"{col}={c}" for c in cats)
        return names

    @property
    def source_columns(self) -> list[str]:
        """The table columns the encoder reads."""
        return self.numeric + list(self.categorical)

    def transform(self, table: pa.Table) -> np.ndarray:
        """Encode ``table`` into a float matrix (time features computed on it first)."""
        table = self.augment(table)
        missing = [c for c in self.source_columns if c not in table.column_names]
        if missing:
            raise InvalidInput(f"feature column(s) {missing} are missing", columns=missing)
        parts = []
        for name in self.numeric:
            values = table[name].to_numpy(zero_copy_only=False).astype(float)
            parts.append(np.where(np.isnan(values), self.medians[name], values))
        for name, cats in self.categorical.items():
            values = np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=object)
            parts.extend((values == c).astype(float) for c in cats)
        return np.column_stack(parts) if parts else np.empty((table.num_rows, 0))

    def frame(self, table: pa.Table) -> pd.DataFrame:
        """The source columns as a DataFrame (strings as categories), for slicing; for a
        time series also each row's :data:`POSITION` in its group (early/late life), and
        the group key (a slice dimension, never a feature) when the table has it."""
        table = self.augment(table)
        data = {}
        for name in self.numeric:
            data[name] = table[name].to_numpy(zero_copy_only=False).astype(float)
        for name in self.categorical:
            data[name] = pd.Categorical(table[name].to_numpy(zero_copy_only=False))
        setup = getattr(self, "time", None)
        if setup is not None and setup.time_column in table.column_names:
            data[POSITION] = time_position(table, setup)
        key = getattr(self, "group_key", None)
        if key and key in table.column_names and key not in data:
            values = pc.cast(table[key], pa.string()).to_numpy(zero_copy_only=False)
            data[key] = pd.Categorical(values)
        return pd.DataFrame(data)


@dataclass
class Prepared:
    """Features, labels and groups of one table."""

    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    feature_names: list[str]
    groups: np.ndarray | None
    encoder: FeatureEncoder
    times: np.ndarray | None = None  # time order codes (time series): holdouts come last


def encode_labels(values: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """Map label strings to indices into ``classes`` (-1 for an unseen class)."""
    index = {c: i for i, c in enumerate(classes)}
    return np.fromiter((index.get(str(v), -1) for v in values), dtype=np.int64, count=len(values))


def prepare_xy(
    table: pa.Table,
    label: LabelSpec,
    *,
    encoder: FeatureEncoder | None = None,
    classes: tuple[str, ...] | None = None,
    feature_columns: tuple[str, ...] | None = None,
    exclude: tuple[str, ...] = (),
    group_key: str | None = None,
    time: TimeSetup | None = None,
) -> Prepared:
    """Encode a table for training (fit the encoder) or prediction (reuse ``encoder``).

    Parameters
    ----------
    label:
        The dataset's label spec: its task says whether ``y`` holds class indices
        (one-hot specs become one class per column) or numeric targets.
    encoder, classes:
        From the training data when preparing evaluation data, so columns and
        class indices line up.
    exclude:
        Columns never used as features (ids, leaking flags); the group key is
        always excluded.
    time:
        A time series (time column, group key, time features): the features are
        computed per group without look-ahead, ``times`` orders the rows.
    """
    skip = tuple(exclude) + ((group_key,) if group_key else ())
    enc = encoder
    if enc is None:
        enc = FeatureEncoder.fit(
            table, label=label, feature_columns=feature_columns, exclude=skip, time=time
        )
        enc.group_key = group_key
    X = enc.transform(table)
    raw = label_values(table, label)
    if label.task is Task.REGRESSION:
        y = regression_targets(raw, label)
        classes = ()
    else:
        classes = classes or tuple(sorted({str(v) for v in raw}))
        y = encode_labels(raw, classes)
    groups = None
    if group_key:
        if group_key not in table.column_names:
            raise InvalidInput(f"group key {group_key!r} is not in the data")
        groups = np.asarray(table[group_key].to_numpy(zero_copy_only=False))
    times = None
    if time is not None and time.time_column and time.time_column in table.column_names:
        times = _codes(table[time.time_column])
    return Prepared(X, y, classes, enc.feature_names, groups, enc, times)
