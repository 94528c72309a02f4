"""Model files that load without running code: no pickles.

A stored model is a zip archive holding ``manifest.json`` (spec, feature encoder,
classes, label and which estimator format follows) and the estimator in a format
that is data, not code:

* LightGBM: the booster's own model text (``estimator.lgb.txt``), loaded by
  ``lightgbm.Booster(model_str=...)`` and wrapped in :class:`BoosterModel`;
* scikit-learn: skops (``estimator.skops``), loaded only when every type in the
  file is on skops' default list or on :data:`SKOPS_TRUSTED` (an explicit
  allow-list); anything else is refused before a single object is built;
* parameter-exchange (federated) classifiers and regressors: their arrays in ``estimator.npz``,
  read with ``allow_pickle=False``.

Torch is never stored: the optional torch backend trains the same numpy
parameters, so federated models stored with it are plain arrays too. Should a
torch module be stored one day it must be a ``state_dict`` read with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from resonance.domain.datasets import LabelSpec
from resonance.domain.errors import ResonanceError
from resonance.domain.modeling import ModelSpec, Task
from resonance.training.features import FeatureEncoder, TimeSetup
from resonance.training.federated.models import ExchangedClassifier, ExchangedRegressor
from resonance.training.trainers import FittedModel

FORMAT = "resonance-model/1"
MODEL_SUFFIX = ".rmodel"
MAX_MEMBER_BYTES = 2 * 1024**3

# Types skops does not trust by default but that scikit-learn's own trainers need.
SKOPS_TRUSTED: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
)


@dataclass
class BoosterModel:
    """A LightGBM booster with the scikit-learn surface Resonance uses.

    ``classes_`` are the class indices the booster was fitted on (classification);
    ``predict_proba`` returns one column per entry of ``classes_``.
    """

    booster: Any
    task: Task
    classes_: np.ndarray

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (classification only)."""
        out = np.asarray(self.booster.predict(np.asarray(X, dtype=float)))
        if out.ndim == 1:  # binary objective: probability of the second class
            return np.column_stack([1.0 - out, out])
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Values (regression) or the most probable entry of ``classes_``."""
        if self.task is Task.REGRESSION:
            return np.asarray(self.booster.predict(np.asarray(X, dtype=float)), dtype=float)
        return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])


def encoder_to_dict(enc: FeatureEncoder) -> dict[str, Any]:
    """The encoder as plain JSON types."""
    return {
        "numeric": enc.numeric,
        # pairs, not a mapping: the manifest is written with sorted keys, and the one-hot
        # columns must come back in the order the estimator was fitted with
        "categorical": [[name, cats] for name, cats in enc.categorical.items()],
        "medians": enc.medians,
        "time": enc.time.to_dict() if enc.time is not None else None,
        "group_key": enc.group_key,
    }


def encoder_from_dict(data: dict[str, Any]) -> FeatureEncoder:
    """Inverse of :func:`encoder_to_dict`."""
    return FeatureEncoder(
        numeric=[str(c) for c in data["numeric"]],
        categorical={str(k): [str(c) for c in v] for k, v in _pairs(data["categorical"])},
        medians={str(k): float(v) for k, v in data["medians"].items()},
        time=TimeSetup.from_dict(data.get("time")),
        group_key=str(data["group_key"]) if data.get("group_key") else None,
    )


def _pairs(value: Any) -> list[tuple[Any, Any]]:
    """``[[name, categories], ...]`` (or a mapping, as some files hold it) as pairs, in order."""
    return list(value.items()) if isinstance(value, dict) else [(k, v) for k, v in value]


def _estimator_part(est: Any, task: Task) -> tuple[dict[str, Any], str, bytes]:
    """``(description, member name, bytes)`` of an estimator, without pickling it."""
    if isinstance(est, ExchangedClassifier):
        buf = io.BytesIO()
        arrays: dict[str, Any] = {f"param_{i}": p for i, p in enumerate(est.params)}
        arrays.update(mean=est.mean, scale=est.scale, classes=est.classes_)
        np.savez(buf, **arrays)
        return {"kind": "exchanged", "params": len(est.params)}, "estimator.npz", buf.getvalue()
    if isinstance(est, ExchangedRegressor):
        buf = io.BytesIO()
        arrays = {f"param_{i}": p for i, p in enumerate(est.params)}
        arrays.update(
            mean=est.mean,
            scale=est.scale,
            target=np.asarray([est.target_mean, est.target_scale], dtype=float),
        )
        np.savez(buf, **arrays)
        desc = {"kind": "exchanged-regressor", "params": len(est.params)}
        return desc, "estimator.npz", buf.getvalue()
    if isinstance(est, BoosterModel):
        booster, classes = est.booster, est.classes_
    elif type(est).__module__.startswith("lightgbm"):
        booster = est.booster_
        classes = getattr(est, "classes_", np.arange(0))
    else:
        booster = None
    if booster is not None:
        text = booster.model_to_string().encode()
        desc = {"kind": "lightgbm", "classes": np.asarray(classes).tolist()}
        return desc, "estimator.lgb.txt", text
    import skops.io as sio

    return {"kind": "skops"}, "estimator.skops", sio.dumps(est)


def dumps(model: FittedModel) -> bytes:
    """Serialize a fitted model to the archive's bytes (deterministic member order)."""
    task = model.spec.task
    assert task is not None, "a fitted model's spec has the task of its data"
    desc, member, data = _estimator_part(model.estimator, task)
    manifest = {
        "format": FORMAT,
        "spec": model.spec.to_dict(),
        "encoder": encoder_to_dict(model.encoder),
        "classes": list(model.classes),
        "label": model.label.to_dict(),
        "estimator": {**desc, "member": member},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in (
            ("manifest.json", json.dumps(manifest, sort_keys=True).encode()),
            (member, data),
        ):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return buf.getvalue()


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise ValueError(f"{name} is larger than {MAX_MEMBER_BYTES} bytes")
    return zf.read(name)


def loads(data: bytes, *, error: type[ResonanceError]) -> FittedModel:
    """Read an archive written by :func:`dumps`; nothing in it is executed.

    Raises
    ------
    error
        When the bytes are not a Resonance model archive, or a skops file holds
        a type outside the allow-list (nothing is constructed then).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest = json.loads(_read(zf, "manifest.json"))
            if manifest.get("format") != FORMAT:
                raise ValueError(f"unknown model format {manifest.get('format')!r}")
            desc = manifest["estimator"]
            raw = _read(zf, str(desc["member"]))
        spec = ModelSpec.from_dict(manifest["spec"])
        label = LabelSpec.from_dict(manifest["label"])
        encoder = encoder_from_dict(manifest["encoder"])
        classes = tuple(str(c) for c in manifest["classes"])
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise error(f"not a Resonance model file: {exc}") from None
    if label is None:
        raise error("the model file has no label spec")
    kind = desc.get("kind")
    if kind == "exchanged":
        est: Any = _load_exchanged(raw, int(desc["params"]), error=error)
    elif kind == "exchanged-regressor":
        est = _load_exchanged_regressor(raw, int(desc["params"]), error=error)
    elif kind == "lightgbm":
        import lightgbm as lgb

        try:
            booster = lgb.Booster(model_str=raw.decode())
        except Exception as exc:  # LightGBMError: the text is not a model
            raise error(f"the LightGBM model text does not load: {exc}") from None
        if spec.task is None:
            raise error("the model's spec names no task")
        est = BoosterModel(booster, spec.task, np.asarray(desc.get("classes", []), dtype=int))
    elif kind == "skops":
        est = _load_skops(raw, error=error)
    else:
        raise error(f"unknown estimator kind {kind!r} in the model file")
    return FittedModel(spec, encoder, est, classes, label)


def _load_exchanged_regressor(
    raw: bytes, n: int, *, error: type[ResonanceError]
) -> ExchangedRegressor:
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            target = np.asarray(npz["target"], dtype=float)
            return ExchangedRegressor(
                params=[np.asarray(npz[f"param_{i}"]) for i in range(n)],
                mean=np.asarray(npz["mean"]),
                scale=np.asarray(npz["scale"]),
                target_mean=float(target[0]),
                target_scale=float(target[1]),
            )
    except (ValueError, KeyError, OSError, IndexError) as exc:
        raise error(f"the model's arrays do not load: {exc}") from None


def _load_exchanged(raw: bytes, n: int, *, error: type[ResonanceError]) -> ExchangedClassifier:
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            return ExchangedClassifier(
                params=[np.asarray(npz[f"param_{i}"]) for i in range(n)],
                mean=np.asarray(npz["mean"]),
                scale=np.asarray(npz["scale"]),
                classes_=np.asarray(npz["classes"]),
            )
    except (ValueError, KeyError, OSError) as exc:
        raise error(f"the model's arrays do not load: {exc}") from None


def _load_skops(raw: bytes, *, error: type[ResonanceError]) -> Any:
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=raw)
    except Exception as exc:  # a malformed skops file
        raise error(f"the scikit-learn model file does not load: {exc}") from None
    refused = sorted(set(untrusted) - set(SKOPS_TRUSTED))
    if refused:
        raise error(
            "the scikit-learn model file holds types outside the allow-list; not loaded",
            types=refused,
        )
    try:
        return sio.loads(raw, trusted=list(untrusted))
    except Exception as exc:
        raise error(f"the scikit-learn model file does not load: {exc}") from None
