"""Main job: the resonance loop on a steel consortium, end to end, in a fresh space.

Splits the real Steel Plates Faults data (UCI, CC BY 4.0): an evaluator keeps a
sealed suite (25 %); the rest goes to three member plants by steel type and
conveyor length (non-IID). Each plant contributes half of its rows and offers
the other half as a reserve pool (registered, policy grants train-pooled to the
model builder, not yet contributed). 15 % of plant-a's contributed labels are
flipped. The model builder then runs the loop: evaluate on the sealed suite →
diagnose → optimize the data (drop suspected label errors where the policy
allows auto-drop, propose relabels to the other owners, acquire reserve rows
for weak slices by Slice Tuner allocation) → retrain → re-evaluate, accepting a
new dataset version only when the suite's macro-F1 improves. Prints the
iterations, an HTML report (offline), the catalog, the policies and the
verified ledger.

Run: ``make demo`` (or ``python examples/resonance_loop.py --space demo-space --fresh``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

sys.path.insert(0, str(Path(__file__).resolve().parent))

from steel_consortium import DATA, LABELS, PLANTS, console, report

from resonance.cli.loop import _print_run
from resonance.cli.output import progress
from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec
from resonance.domain.modeling import ModelSpec
from resonance.domain.orgs import Role
from resonance.domain.policies import parse_grant
from resonance.reports.loop import render_html
from resonance.services import catalog, evaluation, orgs, policies
from resonance.services import loop as loops
from resonance.services.space import Space

BUILDER, EVALUATOR, NOISY = "steel-ai-lab", "steel-qa", "plant-a"
FLIP_SHARE = 0.15
SPEC = ModelSpec(
    "lightgbm",
    params={"n_estimators": 100, "num_leaves": 15, "min_child_samples": 10, "n_jobs": 1},
)


def flip_labels(table: pa.Table, share: float, rng: np.random.Generator) -> pa.Table:
    """Move the one-hot label of ``share`` of the rows to another class."""
    onehot = np.column_stack([table[c].to_numpy() for c in LABELS]).astype(int)
    y = onehot.argmax(axis=1)
    flip = rng.random(len(y)) < share
    y[flip] = (y[flip] + rng.integers(1, len(LABELS), flip.sum())) % len(LABELS)
    for j, col in enumerate(LABELS):
        table = table.set_column(
            table.column_names.index(col), col, pa.array((y == j).astype(np.int64))
        )
    return table


def split(path: Path, out: Path, seed: int = 0) -> dict[str, Path]:
    """Sealed suite, then per plant (non-IID) contributed and reserve halves; flip plant-a."""
    rng = np.random.default_rng(seed)
    table = pcsv.read_csv(path)
    sealed = rng.random(table.num_rows) < 0.25
    files = {"sealed": out / "sealed.csv"}
    pcsv.write_csv(table.filter(pa.array(sealed)), files["sealed"])
    rest = table.filter(pa.array(~sealed))
    a300 = pc.equal(rest["TypeOfSteel_A300"], 1).to_numpy(zero_copy_only=False)
    long_conv = pc.greater(rest["Length_of_Conveyer"], 1400).to_numpy(zero_copy_only=False)
    masks = {"plant-a": a300, "plant-b": ~a300 & long_conv, "plant-c": ~a300 & ~long_conv}
    for plant, mask in masks.items():
        mine = rest.filter(pa.array(mask))
        offered = rng.random(mine.num_rows) < 0.5
        given = mine.filter(pa.array(~offered))
        if plant == NOISY:
            given = flip_labels(given, FLIP_SHARE, rng)
        files[plant] = out / f"{plant}.csv"
        files[f"{plant}-reserve"] = out / f"{plant}-reserve.csv"
        pcsv.write_csv(given, files[plant])
        pcsv.write_csv(mine.filter(pa.array(offered)), files[f"{plant}-reserve"])
    return files


def build(space: Space, files: dict[str, Path]) -> None:
    """Members, evaluator, datasets, reserve pools, policies and the sealed suite."""
    orgs.register_organization(
        space, actor=None, name="operator", roles=frozenset({Role.OPERATOR}), region="Beijing"
    )
    for name, roles, region in [
        *((p, {Role.DATA_HOLDER}, r) for p, r in PLANTS.items()),
        (BUILDER, {Role.MODEL_BUILDER}, "Shanghai"),
        (EVALUATOR, {Role.EVALUATOR}, "Beijing"),
    ]:
        orgs.register_organization(
            space, actor="operator", name=name, roles=frozenset(roles), region=region
        )
    orgs.form_consortium(
        space,
        actor="operator",
        name="steel-consortium",
        industry="steel",
        members=[f"{p}:data" for p in PLANTS] + [f"{BUILDER}:model,compute"],
    )
    label = LabelSpec(LabelKind.ONE_HOT, LABELS)
    for plant in PLANTS:
        for suffix in ("", "-reserve"):
            ds = f"steel-{plant}{suffix}"
            catalog.ingest(
                space,
                actor=plant,
                path=files[f"{plant}{suffix}"],
                dataset=ds,
                new=catalog.NewDataset(
                    owner=plant,
                    kind=DatasetKind.COMMON,
                    industry="steel",
                    label=label,
                    description="offered, not yet contributed" if suffix else "",
                ),
            )
            policies.set_policy(
                space,
                actor=plant,
                dataset=ds,
                grants=[parse_grant(f"{BUILDER}:train-pooled")],
                allow_auto_drop=plant == NOISY,
            )
    catalog.ingest(
        space,
        actor=EVALUATOR,
        path=files["sealed"],
        dataset="steel-sealed",
        new=catalog.NewDataset(
            owner=EVALUATOR, kind=DatasetKind.EVALUATION, industry="steel", label=label
        ),
    )
    evaluation.register_suite(
        space, actor=EVALUATOR, name="steel-suite", dataset="steel-sealed", query_budget=20
    )


def run_loop(space: Space, out: Path) -> None:
    """The loop, with a progress bar, the final table and the HTML report."""
    request = loops.LoopRequest(
        name="steel-loop",
        spec=SPEC,
        datasets=[f"steel-{p}" for p in PLANTS],
        reserves=[f"steel-{p}-reserve" for p in PLANTS],
        budget=200,
        suite="steel-suite",
        iterations=3,
    )
    with progress("loop steel-loop: baseline", total=request.iterations + 1) as advance:
        run = loops.run(
            space,
            actor=BUILDER,
            request=request,
            progress=lambda msg, _d, _t: advance(1, description=f"loop steel-loop: {msg}"),
        )
    _print_run(run)
    out.write_text(render_html(run), encoding="utf-8")
    console.print(f"HTML report (works offline): {out}")


def main() -> None:
    """Parse arguments and run the demo."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--space", type=Path, default=Path("demo-space"))
    parser.add_argument("--fresh", action="store_true", help="delete the space folder first")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if args.fresh and args.space.exists():
        shutil.rmtree(args.space)
    space = Space.init(args.space)
    with tempfile.TemporaryDirectory() as tmp:
        build(space, split(args.data, Path(tmp)))
    run_loop(space, args.space / "loop-report.html")
    report(space)


if __name__ == "__main__":
    main()
