"""The code-free model file gives back the model it was given: same encoder, same predictions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from resonance.domain.datasets import make_label_spec
from resonance.domain.errors import UnsafeModelFile
from resonance.domain.modeling import ModelSpec, Task
from resonance.training import model_format
from resonance.training.features import prepare_xy
from resonance.training.trainers import fit_model


def _table(n: int = 300) -> pa.Table:
    rng = np.random.default_rng(0)
    shift = rng.choice(["night", "day", "late"], n)  # first seen: not in sorted order
    zone = rng.choice(["z2", "z1"], n)
    x = rng.normal(size=n)
    y = 3 * x + (shift == "night") * 5.0 - (zone == "z1") * 2.0 + rng.normal(0, 0.1, n)
    return pa.table({"zone": zone, "shift": shift, "x": x, "y": y})


def test_categorical_columns_come_back_in_the_order_the_estimator_was_fitted_with() -> None:
    table = _table()
    label = make_label_spec("y", None, task=Task.REGRESSION)
    prepared = prepare_xy(table, label)
    spec = ModelSpec("sklearn-logreg", task=Task.REGRESSION)
    model = fit_model(spec, prepared, label=label, seed=0)
    assert list(model.encoder.categorical) != sorted(model.encoder.categorical)
    back = model_format.loads(model_format.dumps(model), error=UnsafeModelFile)
    assert list(back.encoder.categorical) == list(model.encoder.categorical)
    assert back.prepare(table).feature_names == model.prepare(table).feature_names
    X = model.prepare(table).X
    np.testing.assert_array_equal(back.predict(back.prepare(table).X), model.predict(X))
