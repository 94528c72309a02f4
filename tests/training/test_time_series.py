"""Per-group lag and rolling features without look-ahead; time-ordered holdouts; time position."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from resonance.domain.datasets import LabelKind, LabelSpec, Task
from resonance.domain.errors import InvalidInput
from resonance.domain.modeling import TimeFeatures
from resonance.training.features import (
    POSITION,
    TimeSetup,
    add_time_features,
    prepare_xy,
    time_position,
)
from resonance.training.trainers import split

LABEL = LabelSpec(LabelKind.COLUMN, ("y",), Task.REGRESSION)
SETUP = TimeSetup("t", "unit", TimeFeatures(("y",), lags=(1, 2), windows=(2,)))


def _table(seed: int = 0) -> pa.Table:
    """Two units, five time steps each, rows shuffled."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(["a", "b"], 5)
    t = np.tile(np.arange(5), 2)
    y = np.where(unit == "a", 1.0, 100.0) * (t + 1)
    order = rng.permutation(10)
    return pa.table({"unit": unit[order], "t": t[order], "x": t[order] * 0.5, "y": y[order]})


def _by_unit_time(table: pa.Table) -> dict[tuple[str, int], dict[str, float]]:
    rows = table.to_pylist()
    return {(r["unit"], r["t"]): r for r in rows}


def test_lags_and_means_use_only_earlier_rows_of_the_same_group() -> None:
    out = _by_unit_time(add_time_features(_table(), SETUP))
    assert np.isnan(out[("a", 0)]["y__lag1"]) and np.isnan(out[("b", 0)]["y__lag1"])
    assert out[("a", 3)]["y__lag1"] == 3.0 and out[("a", 3)]["y__lag2"] == 2.0
    assert out[("b", 1)]["y__lag1"] == 100.0  # never unit a's value
    assert out[("a", 4)]["y__mean2"] == pytest.approx((4.0 + 3.0) / 2)
    assert out[("b", 1)]["y__mean2"] == pytest.approx(100.0)  # one earlier row so far
    # no look-ahead: changing a later target never changes an earlier row's features
    table = _table()
    y = table["y"].to_numpy().copy()
    later = (table["unit"].to_numpy() == "a") & (table["t"].to_numpy() == 4)
    y[later] = -1e6
    changed = _by_unit_time(add_time_features(table.set_column(3, "y", pa.array(y)), SETUP))
    for key, row in out.items():
        if key != ("a", 4):
            assert changed[key]["y__lag1"] == row["y__lag1"] or np.isnan(row["y__lag1"])
            assert changed[key]["y__mean2"] == row["y__mean2"] or np.isnan(row["y__mean2"])


def test_features_do_not_depend_on_row_order() -> None:
    a = _by_unit_time(add_time_features(_table(0), SETUP))
    b = _by_unit_time(add_time_features(_table(1), SETUP))
    for key in a:
        for col in SETUP.features.names():  # type: ignore[union-attr]
            assert a[key][col] == b[key][col] or (np.isnan(a[key][col]) and np.isnan(b[key][col]))


def test_encoder_computes_the_same_features_at_prediction_time() -> None:
    prepared = prepare_xy(_table(), LABEL, group_key="unit", time=SETUP)
    assert {"y__lag1", "y__lag2", "y__mean2"} <= set(prepared.feature_names)
    assert "t" not in prepared.feature_names and "unit" not in prepared.feature_names
    other = _table(3)
    again = prepared.encoder.transform(other)
    direct = prepared.encoder.transform(add_time_features(other, SETUP))
    np.testing.assert_array_equal(again, direct)
    frame = prepared.encoder.frame(_table())
    assert POSITION in frame and frame[POSITION].min() == 0 and frame[POSITION].max() == 1


def test_time_position_is_early_to_late_within_a_group() -> None:
    table = _table()
    pos = time_position(table, SETUP)
    np.testing.assert_allclose(pos, table["t"].to_numpy() / 4)


def test_the_holdout_of_a_time_series_is_its_latest_groups() -> None:
    n_days, per_day = 20, 6
    day = np.repeat(np.arange(n_days), per_day)
    table = pa.table(
        {
            "day": day.astype(str),
            "t": np.arange(n_days * per_day),
            "x": np.arange(n_days * per_day) % 7,
            "y": np.arange(n_days * per_day) * 1.0,
        }
    )
    setup = TimeSetup("t", "day", None)
    prepared = prepare_xy(table, LABEL, group_key="day", time=setup)
    tr, te = split(prepared, test_size=0.2, seed=0)
    assert set(day[te].tolist()) == {16, 17, 18, 19}
    assert day[tr].max() < day[te].min()


def test_time_features_need_their_columns() -> None:
    with pytest.raises(InvalidInput):
        add_time_features(_table(), TimeSetup("t", "unit", TimeFeatures(("nope",), lags=(1,))))
    with pytest.raises(InvalidInput):
        TimeFeatures(("y",), lags=(0,))
