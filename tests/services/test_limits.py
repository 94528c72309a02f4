"""Caps checked before heavy work: columns, rows, cell length, trainer parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from resonance.domain.datasets import DatasetKind
from resonance.domain.errors import InvalidInput, LimitExceeded
from resonance.domain.limits import Limits
from resonance.domain.modeling import ModelSpec
from resonance.services import catalog, training
from resonance.services.space import CONFIG_NAME, Space
from tests.model_seed import seed


def _wide_csv(path: Path, *, rows: int, columns: int) -> Path:
    header = ",".join(f"c{i}" for i in range(columns))
    line = ",".join("1" for _ in range(columns))
    path.write_text(header + "\n" + "\n".join(line for _ in range(rows)) + "\n")
    return path


def _ingest(space: Space, path: Path, name: str = "wide") -> catalog.IngestResult:
    return catalog.ingest(
        space,
        actor="plant-a",
        path=path,
        dataset=name,
        new=catalog.NewDataset("plant-a", DatasetKind.COMMON, "steel"),
    )


def test_the_probes_wide_csv_is_refused_from_its_header(lite_space: Space, tmp_path: Path) -> None:
    path = _wide_csv(tmp_path / "wide.csv", rows=20, columns=20_001)
    with pytest.raises(LimitExceeded) as err:
        _ingest(lite_space, path)
    assert err.value.code == "RES-116" and err.value.details["columns"] == 20_001
    with pytest.raises(LimitExceeded):
        catalog.validate_file(path)
    assert catalog.list_datasets(lite_space) == []


def test_operator_caps_in_resonance_toml(lite_space: Space, tmp_path: Path) -> None:
    config = lite_space.root / CONFIG_NAME
    config.write_text(
        config.read_text() + "\n[limits]\nmax_columns = 50\nmax_rows = 100\nmax_cell_chars = 10\n"
    )
    space = Space.open(lite_space.root)
    assert space.config.limits == Limits(max_columns=50, max_rows=100, max_cell_chars=10)
    with pytest.raises(LimitExceeded, match="columns"):
        _ingest(space, _wide_csv(tmp_path / "a.csv", rows=5, columns=51))
    with pytest.raises(LimitExceeded, match="rows"):
        _ingest(space, _wide_csv(tmp_path / "b.csv", rows=101, columns=3))
    long = tmp_path / "c.csv"
    long.write_text("a,b\n1,short\n2," + "x" * 11 + "\n")
    with pytest.raises(LimitExceeded, match="text cells"):
        _ingest(space, long)
    assert _ingest(space, _wide_csv(tmp_path / "d.csv", rows=100, columns=50)).created
    config.write_text(config.read_text() + "max_bogus = 3\n")
    with pytest.raises(InvalidInput):
        Space.open(lite_space.root)


@pytest.mark.parametrize(
    ("trainer", "params", "error"),
    [
        ("lightgbm", {"n_estimators": 1_000_000_000}, LimitExceeded),
        ("lightgbm", {"bogus_param": 1}, InvalidInput),
        ("lightgbm", {"n_jobs": -1}, InvalidInput),
        ("lightgbm", {"n_jobs": 64}, LimitExceeded),
        ("sklearn-rf", {"n_estimators": "many"}, InvalidInput),
        ("sklearn-mlp", {"hidden_layer_sizes": "4096-4096"}, LimitExceeded),
        ("sklearn-logreg", {"max_iter": 10**9}, LimitExceeded),
    ],
)
def test_trainer_parameters_are_checked_before_any_read(
    lite_space: Space, tmp_path: Path, trainer: str, params: dict[str, object], error: type
) -> None:
    seeded = seed(lite_space, tmp_path / "data")
    with lite_space.work() as w:
        before = w.tx.recorded_head()
    with pytest.raises(error):
        training.train_model(
            lite_space,
            actor="builder",
            name="m",
            spec=ModelSpec(trainer, params=params),
            datasets=[seeded.train],
        )
    with lite_space.work() as w:
        assert w.tx.recorded_head() == before  # no read was recorded: nothing ran


def test_the_llm_endpoint_in_resonance_toml(lite_space: Space) -> None:
    from resonance.domain.errors import InvalidInput
    from resonance.domain.llm import LlmSettings

    config = lite_space.root / CONFIG_NAME
    base = config.read_text()
    assert Space.open(lite_space.root).config.llm is None  # rule planners only by default
    config.write_text(base + '\n[llm]\nurl = "http://127.0.0.1:8000/v1"\nmodel = "qwen"\n')
    assert Space.open(lite_space.root).config.llm == LlmSettings("http://127.0.0.1:8000/v1", "qwen")
    config.write_text(base + '\n[llm]\nurl = "http://127.0.0.1:8000/v1"\nmodel = "q"\nkey = "x"\n')
    with pytest.raises(InvalidInput, match="unknown"):  # a secret belongs in the environment
        Space.open(lite_space.root)
