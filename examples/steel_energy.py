"""Second job: a regression on time series, the energy use of a steel plant, end to end.

The real Steel Industry Energy Consumption data (UCI: 35,040 quarter-hours of 2018,
target ``Usage_kWh``) is split across three member sites by season (non-IID: the
thirds of the year, Jan-Apr, May-Aug, Sep-Dec), each day a group (the dataset's group key) and the
quarter-hour index its time column. Every fourth week is the evaluator's sealed
suite (RMSE, lower is better); 15 % of plant-b's targets are corrupted. As a new
user would, in a fresh space:

1. ingest each site's days (half contributed, half offered as a reserve pool) with
   ``task=regression``, group key ``day`` and time column ``t``;
2. train LightGBM with per-day lag features of the target, and compare its sealed
   RMSE with an independent pandas + LightGBM fit on the same rows;
3. run the resonance loop (RMSE; worst slice = the highest-RMSE slice; target
   errors from out-of-fold residuals; fixes proposed to plant-b's review queue)
   and score the proposals against the known corruption;
4. federate linear least squares (FedNewton: the pooled ridge, exactly) and value
   the members (Shapley on the suite's RMSE, KNN-Shapley for KNN regression).

Run: ``python examples/steel_energy.py --space energy-space --fresh`` (``--days 120`` for a
quick look).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from rich.console import Console

from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec, Task
from resonance.domain.modeling import ModelSpec, TimeFeatures
from resonance.domain.orgs import Role
from resonance.domain.policies import parse_grant
from resonance.domain.review import ProposalKind
from resonance.services import (
    catalog,
    evaluation,
    federation,
    orgs,
    policies,
    review,
    training,
    valuation,
)
from resonance.services import loop as loops
from resonance.services.loop_data import LoopRequest
from resonance.services.space import Space
from resonance.training.federated.apps import FederationConfig

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("RESONANCE_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
DATA = SHARED / "steel-energy" / "Steel_industry_data.csv"
TARGET = "Usage_kWh"
LABEL = LabelSpec(LabelKind.COLUMN, (TARGET,), Task.REGRESSION)
EXCLUDE = ("CO2(tCO2)", "date", "t")  # CO2 is kWh times an emission factor: a leak
SITES = {"plant-a": "Jiangsu", "plant-b": "Hebei", "plant-c": "Liaoning"}
NOISY, CORRUPT_SHARE = "plant-b", 0.15
BUILDER, EVALUATOR = "builder", "evaluator"
PARAMS = {"n_estimators": 150, "learning_rate": 0.05, "num_leaves": 31, "n_jobs": 1}
LAGS = TimeFeatures((TARGET,), lags=(1, 2, 4), windows=(4,))
console = Console()


def read(days: int | None) -> pa.Table:
    """The rows with ``day`` (group key), ``month``, ``week`` and ``t`` (time order)."""
    table = pcsv.read_csv(DATA)
    table = table.rename_columns([c.lstrip("\ufeff") for c in table.column_names])
    day = [f"{d[6:10]}-{d[3:5]}-{d[0:2]}" for d in table["date"].to_pylist()]  # DD/MM/YYYY
    ordinal = np.unique(day, return_inverse=True)[1]
    table = table.append_column("day", pa.array(day))
    table = table.append_column("month", pa.array([int(d[5:7]) for d in day]))
    table = table.append_column("week", pa.array(ordinal // 7 + 1))
    table = table.append_column("t", pa.array(np.arange(table.num_rows)))
    return table if days is None else table.filter(pc.less(pa.array(ordinal), days))


def split(table: pa.Table, out: Path, seed: int = 0) -> tuple[dict[str, Path], np.ndarray]:
    """Sealed weeks; per site (by season) contributed and reserve days; corrupt plant-b.

    Returns the files and the corrupted rows of plant-b's contributed file.
    """
    rng = np.random.default_rng(seed)
    sealed = table["week"].to_numpy() % 4 == 0
    files = {"sealed": out / "sealed.csv"}
    pcsv.write_csv(table.filter(pa.array(sealed)), files["sealed"])
    rest = table.filter(pa.array(~sealed))
    days = np.asarray(rest["day"].to_pylist())
    ordinal = np.unique(days, return_inverse=True)[1]  # thirds of the year: seasons
    site = np.minimum(ordinal * 3 // (ordinal.max() + 1), 2)
    offered_days = {d for d in np.unique(days) if rng.random() < 0.5}
    offered = np.isin(days, list(offered_days))
    corrupted = np.empty(0, dtype=np.int64)
    for i, plant in enumerate(SITES):
        given = rest.filter(pa.array((site == i) & ~offered))
        if plant == NOISY:
            y = given[TARGET].to_numpy().astype(float)
            corrupted = np.sort(rng.choice(len(y), int(CORRUPT_SHARE * len(y)), replace=False))
            y[corrupted] = y[corrupted] * rng.uniform(2.5, 4.0, len(corrupted)) + 20.0
            given = given.set_column(given.column_names.index(TARGET), TARGET, pa.array(y))
        files[plant] = out / f"{plant}.csv"
        files[f"{plant}-reserve"] = out / f"{plant}-reserve.csv"
        pcsv.write_csv(given, files[plant])
        pcsv.write_csv(rest.filter(pa.array((site == i) & offered)), files[f"{plant}-reserve"])
    return files, corrupted


def build(space: Space, files: dict[str, Path]) -> None:
    """Members, evaluator, datasets (regression, group key, time column), policies, suite."""
    orgs.register_organization(
        space, actor=None, name="operator", roles=frozenset({Role.OPERATOR}), region="Beijing"
    )
    for name, roles, region in [
        *((p, {Role.DATA_HOLDER}, r) for p, r in SITES.items()),
        (BUILDER, {Role.MODEL_BUILDER}, "Shanghai"),
        (EVALUATOR, {Role.EVALUATOR}, "Beijing"),
    ]:
        orgs.register_organization(
            space, actor="operator", name=name, roles=frozenset(roles), region=region
        )
    for plant in SITES:
        for suffix in ("", "-reserve"):
            name = f"energy-{plant}{suffix}"
            catalog.ingest(
                space,
                actor=plant,
                path=files[f"{plant}{suffix}"],
                dataset=name,
                new=catalog.NewDataset(
                    plant, DatasetKind.COMMON, "steel", label=LABEL, group_key="day",
                    time_column="t",
                ),
            )  # fmt: skip
            policies.set_policy(
                space,
                actor=plant,
                dataset=name,
                grants=[
                    parse_grant(f"{BUILDER}:train-pooled"),
                    parse_grant(f"{BUILDER}:train-federated"),
                ],
            )
    catalog.ingest(
        space,
        actor=EVALUATOR,
        path=files["sealed"],
        dataset="energy-sealed",
        new=catalog.NewDataset(
            EVALUATOR, DatasetKind.EVALUATION, "steel", label=LABEL, group_key="day",
            time_column="t",
        ),
    )  # fmt: skip
    evaluation.register_suite(
        space,
        actor=EVALUATOR,
        name="energy-weeks",
        dataset="energy-sealed",
        metrics=("rmse", "mae", "r2"),
        query_budget=40,
    )


def pandas_rmse(files: dict[str, Path], datasets: list[str]) -> float:
    """An independent pandas + LightGBM fit on the same files, with the same lag features."""
    import lightgbm as lgb
    import pandas as pd

    def frame(path: Path) -> pd.DataFrame:
        df = pd.read_csv(path).sort_values("t")
        by = df.groupby("day")[TARGET]
        for k in LAGS.lags:
            df[f"lag{k}"] = by.shift(k)
        df["mean4"] = by.transform(lambda s: s.shift(1).rolling(4, min_periods=1).mean())
        return df

    train = pd.concat([frame(files[d]) for d in datasets], ignore_index=True)
    test = frame(files["sealed"])
    drop = [TARGET, *EXCLUDE, "day"]
    cats = ["WeekStatus", "Day_of_week", "Load_Type"]
    X = pd.get_dummies(train.drop(columns=drop), columns=cats, dtype=float)
    Xt = pd.get_dummies(test.drop(columns=drop), columns=cats, dtype=float)
    X = X.fillna(X.median())
    Xt = Xt.reindex(columns=X.columns, fill_value=0.0).fillna(X.median())
    model = lgb.LGBMRegressor(random_state=0, verbose=-1, **PARAMS).fit(X, train[TARGET])
    return float(np.sqrt(np.mean((model.predict(Xt) - test[TARGET].to_numpy()) ** 2)))


def main() -> None:
    """Run the job and print what each step found."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", type=Path, default=None)
    parser.add_argument("--fresh", action="store_true", help="delete --space first")
    parser.add_argument("--days", type=int, default=None, help="only the first N days")
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    root = args.space or Path(tempfile.mkdtemp(prefix="energy-space-"))
    if args.fresh and root.exists():
        shutil.rmtree(root)
    data_dir = root.parent / f"{root.name}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    files, corrupted = split(read(args.days), data_dir)
    space = Space.init(root)
    build(space, files)
    members = [f"energy-{p}" for p in SITES]
    reserves = [f"energy-{p}-reserve" for p in SITES]

    spec = ModelSpec("lightgbm", params=PARAMS, exclude_columns=EXCLUDE, time_features=LAGS)
    mv = training.train_model(space, actor=BUILDER, name="kwh", spec=spec, datasets=members)
    run = evaluation.evaluate(space, actor=BUILDER, model=mv.ref, suite="energy-weeks")
    baseline = pandas_rmse(files, list(SITES))
    console.rule("2. train (task from the label spec: regression)")
    console.print(
        f"{mv.ref}: sealed RMSE {run.metrics['rmse']:.3f} kWh (MAE {run.metrics['mae']:.3f}); "
        f"independent pandas + LightGBM {baseline:.3f} kWh: ratio "
        f"{run.metrics['rmse'] / baseline:.4f}"
    )
    worst = run.diagnosis["slices"][0]
    console.print(f"weakest slice: {worst['slice']} (RMSE {worst['rmse']:.2f} kWh)")
    issues = run.diagnosis["label_issues"]
    console.print(f"target issues ({issues['method']}): {issues['per_dataset']}")

    console.rule("3. the resonance loop (RMSE, lower is better)")
    request = LoopRequest(
        name="kwh-loop",
        spec=spec,
        datasets=members,
        reserves=reserves,
        budget=2000,
        suite="energy-weeks",
        iterations=args.iterations,
    )
    result = loops.run(space, actor=BUILDER, request=request)
    s = result.summary
    assert s is not None
    console.print(
        f"RMSE {s.baseline:.3f} → {s.final:.3f} kWh (lift {s.lift:+.3f}); worst slice RMSE "
        f"{s.baseline_worst_slice:.3f} → {s.final_worst_slice:.3f}; rows taken {s.rows_taken}"
    )
    items = review.list_items(space, actor=NOISY)
    fixes = [
        i for i in items if i.kind is ProposalKind.FIX_TARGET and i.dataset == "energy-plant-b"
    ]
    hit = len({i.row for i in fixes} & set(corrupted.tolist()))
    console.print(
        f"{len(fixes)} target fixes proposed to {NOISY}: precision "
        f"{hit / max(1, len(fixes)):.1%}, recall {hit / max(1, len(corrupted)):.1%} "
        f"of its {len(corrupted)} corrupted targets"
    )

    console.rule("4. federation and valuation")
    pooled = training.train_model(
        space,
        actor=BUILDER,
        name="kwh-ridge",
        spec=ModelSpec("sklearn-logreg", exclude_columns=EXCLUDE),
        datasets=members,
    )
    fed = federation.federate(
        space,
        actor=BUILDER,
        name="kwh-fed",
        datasets=members,
        config=FederationConfig(kind="linear", strategy="fednewton", rounds=5),
        exclude=EXCLUDE,
    )
    rmse = {
        m.ref: evaluation.evaluate(space, actor=BUILDER, model=m.ref, suite="energy-weeks").metrics[
            "rmse"
        ]
        for m in (pooled, fed)
    }
    console.print(
        f"pooled ridge {rmse[pooled.ref]:.4f} kWh, federated least squares "
        f"{rmse[fed.ref]:.4f} kWh ({fed.details['federated']['rounds_run']} rounds): gap "
        f"{rmse[fed.ref] / rmse[pooled.ref] - 1:+.4%}"
    )
    value = valuation.value_model(space, actor=BUILDER, model=pooled.ref, suite="energy-weeks")
    for name, m in value.members.items():
        console.print(
            f"{name}: Shapley ({value.metric}) {m['shapley']:+.3f}, share {m['share']:.1%}, "
            f"KNN-Shapley {m['knn_shapley']:+.3f}"
        )
    console.print(f"space: {root}")
    space.close()


if __name__ == "__main__":
    main()
