"""Main job: the resonance loop on a steel consortium, end to end, in a fresh space.

Splits the real Steel Plates Faults data (UCI, CC BY 4.0): an evaluator keeps a
sealed suite (25 %); the rest goes to three member plants by steel type and
conveyor length (non-IID). Each plant contributes half of its rows and offers
the other half as a reserve pool (policy grants train-pooled to the model
builder). 15 % of plant-a's contributed labels are flipped.

The story: the model builder runs the loop (evaluate on the sealed suite →
diagnose → optimize the data → retrain → re-evaluate, a new version kept only
when the suite improves). The loop flags plant-a's suspicious rows; they land
in plant-a's review queue. plant-a (simulated: it checks each proposed row
against its own records, i.e. the true label) accepts the right proposals and
rejects the wrong ones; the accepted fixes make a new version of its dataset,
which later training picks up. The final table shows the flipped labels found,
fixed and the score lift from the review.

Run: ``make demo`` (or ``python examples/resonance_loop.py --space demo-space --fresh``).
The whole ledger stays one command away, in the operator's administrative mode (recorded on
the ledger): ``resonance --space demo-space --admin ledger show``; an
organization sees its own part with its token (``resonance token create ORG``, then
``resonance login``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

sys.path.insert(0, str(Path(__file__).resolve().parent))

from steel_consortium import DATA, LABELS, PLANTS, console

from resonance.cli.output import print_table, progress
from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec
from resonance.domain.modeling import ModelSpec
from resonance.domain.orgs import Role
from resonance.domain.policies import parse_grant
from resonance.domain.review import Decision, ReviewItem
from resonance.reports.loop import render_html
from resonance.services import catalog, evaluation, ledger, my_data, orgs, policies, training
from resonance.services import loop as loops
from resonance.services import review as rv
from resonance.services.space import Space

BUILDER, EVALUATOR, NOISY = "steel-ai-lab", "steel-qa", "plant-a"
FLIP_SHARE = 0.15
SPEC = ModelSpec(
    "lightgbm",
    params={"n_estimators": 100, "num_leaves": 15, "min_child_samples": 10, "n_jobs": 1},
)


def flip_labels(
    table: pa.Table, share: float, rng: np.random.Generator
) -> tuple[pa.Table, list[str]]:
    """Move the one-hot label of ``share`` of the rows to another class; also return the
    true class of every row (what the owner's records say)."""
    onehot = np.column_stack([table[c].to_numpy() for c in LABELS]).astype(int)
    y = onehot.argmax(axis=1)
    truth = [LABELS[i] for i in y]
    flip = rng.random(len(y)) < share
    y[flip] = (y[flip] + rng.integers(1, len(LABELS), flip.sum())) % len(LABELS)
    for j, col in enumerate(LABELS):
        table = table.set_column(
            table.column_names.index(col), col, pa.array((y == j).astype(np.int64))
        )
    return table, truth, int(flip.sum())


def split(path: Path, out: Path, seed: int = 0) -> tuple[dict[str, Path], list[str], int]:
    """Sealed suite, then per plant (non-IID) contributed and reserve halves; flip plant-a.

    Returns the files, the true class of each of plant-a's contributed rows and the
    number of flipped ones.
    """
    rng = np.random.default_rng(seed)
    table = pcsv.read_csv(path)
    sealed = rng.random(table.num_rows) < 0.25
    files = {"sealed": out / "sealed.csv"}
    pcsv.write_csv(table.filter(pa.array(sealed)), files["sealed"])
    rest = table.filter(pa.array(~sealed))
    a300 = pc.equal(rest["TypeOfSteel_A300"], 1).to_numpy(zero_copy_only=False)
    long_conv = pc.greater(rest["Length_of_Conveyer"], 1400).to_numpy(zero_copy_only=False)
    masks = {"plant-a": a300, "plant-b": ~a300 & long_conv, "plant-c": ~a300 & ~long_conv}
    truth: list[str] = []
    flips = 0
    for plant, mask in masks.items():
        mine = rest.filter(pa.array(mask))
        offered = rng.random(mine.num_rows) < 0.5
        given = mine.filter(pa.array(~offered))
        if plant == NOISY:
            given, truth, flips = flip_labels(given, FLIP_SHARE, rng)
        files[plant] = out / f"{plant}.csv"
        files[f"{plant}-reserve"] = out / f"{plant}-reserve.csv"
        pcsv.write_csv(given, files[plant])
        pcsv.write_csv(mine.filter(pa.array(offered)), files[f"{plant}-reserve"])
    return files, truth, flips


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
            policies.set_policy(  # no auto-drop: suspected rows go to the owner's review
                space, actor=plant, dataset=ds, grants=[parse_grant(f"{BUILDER}:train-pooled")]
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


def say(text: str) -> None:
    """One line of the narrative."""
    console.print(text, highlight=False)


def run_loop(space: Space, out: Path) -> loops.LoopRun:
    """The loop, with a progress bar, a short account and the HTML report."""
    request = loops.LoopRequest(
        name="steel-loop",
        spec=SPEC,
        datasets=[f"steel-{p}" for p in PLANTS],
        reserves=[f"steel-{p}-reserve" for p in PLANTS],
        budget=200,
        suite="steel-suite",
        iterations=3,
    )
    say(f"[bold]1. {BUILDER} runs the loop[/] on the plants' data (sealed suite steel-suite)")
    with progress("loop steel-loop: baseline", total=request.iterations + 1) as advance:
        run = loops.run(
            space,
            actor=BUILDER,
            request=request,
            progress=lambda msg, _d, _t: advance(1, description=f"loop steel-loop: {msg}"),
        )
    for it in run.iterations:
        verdict = "baseline" if it.number == 0 else ("accepted" if it.accepted else "rejected")
        taken = sum(it.taken.values())
        say(
            f"   iteration {it.number}: macro-F1 {it.primary or 0:.3f}, {verdict}"
            + (f", took {taken} reserve rows" if taken else "")
        )
    out.write_text(render_html(run), encoding="utf-8")
    say(f"   HTML report (works offline): {out}")
    return run


@dataclass
class Review:
    """What plant-a's review did, against the truth the demo knows."""

    flips: int
    proposed: int
    found: int
    right_class: int
    accepted: int
    rejected: int
    versions: list[str]


def review_as_owner(space: Space, truth: list[str], flips: int) -> Review:
    """plant-a checks each proposed row against its records (the true label) and decides."""
    counts = rv.counts(space, actor=BUILDER, loop="steel-loop")
    say(f"[bold]2. Proposed fixes go to the rows' owners[/] ({BUILDER} sees only counts):")
    say("   " + ", ".join(f"{o} {sum(c.values())}" for o, c in counts.items()))
    items: list[ReviewItem] = rv.list_items(
        space, actor=NOISY, where=rv.ReviewFilter(owner=NOISY, loop="steel-loop")
    )
    flipped = {i.id for i in items if i.dataset == f"steel-{NOISY}" and i.current != truth[i.row]}
    lines = []
    for i in items:  # (its reserve pool's labels were not flipped: the records confirm them)
        true = truth[i.row] if i.id in flipped else str(i.current)
        if i.id in flipped:  # the records say otherwise: accept, with the recorded class
            lines.append(
                rv.DecisionLine(
                    i.id,
                    Decision.ACCEPT,
                    "checked against our records",
                    None if i.proposed == true else true,
                )
            )
        else:
            lines.append(rv.DecisionLine(i.id, Decision.REJECT, f"our records confirm {true}"))
    say(f"[bold]3. {NOISY} checks its {len(items)} proposals[/] against its records, row by row")
    result = rv.decide_items(space, actor=NOISY, lines=lines)
    found = len(flipped)
    right = sum(1 for i in items if i.id in flipped and i.proposed == truth[i.row])
    accepted = sum(1 for d in result.decided if d.status.value == "accepted")
    for ref in result.versions:
        with space.work() as w:
            v = catalog.resolve_version(w.tx, ref)
        say(f"   {ref}: {v.transformation.reason}")
    return Review(flips, len(items), found, right, accepted, len(items) - accepted, result.versions)


Score = tuple[float | None, float]
"""Sealed macro-F1 as the builder is shown it (``None``: the Ladder released nothing new), and
the worst slice's macro-F1."""


def use_reviewed(space: Space) -> tuple[Score, Score]:
    """Train on the unreviewed and on the reviewed version; score both on the sealed suite.

    The builder sees a sealed score only when it beats its best so far by the Ladder's margin
    (issue 9): a model no better than the loop's final one is "not released".
    """
    say("[bold]4. Later training uses the reviewed version[/] (steel-plant-a names it now)")
    scores: list[Score] = []
    for name, plant_a in (
        ("steel-unreviewed", "steel-plant-a@1"),
        ("steel-reviewed", "steel-plant-a"),
    ):
        mv = training.train_model(
            space,
            actor=BUILDER,
            name=name,
            spec=SPEC,
            datasets=[plant_a, "steel-plant-b", "steel-plant-c"],
        )
        run = evaluation.evaluate(
            space, actor=BUILDER, model=mv.ref, suite="steel-suite", label_issues=False
        )
        slices = [float(s["macro_f1"]) for s in run.diagnosis.get("slices", []) if "macro_f1" in s]
        shown = run.metrics.get("macro_f1")
        score = float(shown) if shown is not None else None
        scores.append((score, min(slices) if slices else float("nan")))
        said = f"macro-F1 {score:.3f}" if score is not None else "not released (no better)"
        say(f"   {mv.ref} on {', '.join(mv.datasets)}: {said}")
    return scores[0], scores[1]


def _change(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return f"{_shown(before)} → {_shown(after)}"
    return f"{before:.3f} → {after:.3f} ({after - before:+.3f})"


def _shown(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "not released"


def final_table(r: Review, before: Score, after: Score) -> None:
    """Flipped labels found, fixed, and the score lift, in 80 columns."""
    precision = r.found / r.proposed if r.proposed else float("nan")
    recall = r.found / r.flips if r.flips else float("nan")
    effort = r.proposed / r.accepted if r.accepted else float("nan")
    print_table(
        "Closing the loop: plant-a's flipped labels",
        ["", "value"],
        [
            ("labels flipped in plant-a's data", r.flips),
            ("rows the loop proposed to plant-a", r.proposed),
            ("... of which flipped (found)", f"{r.found}: precision {precision:.2f}, "
             f"recall {recall:.2f}"),
            ("... with the right class proposed", r.right_class),
            ("fixed after plant-a's review", f"{r.accepted} accepted, {r.rejected} rejected"),
            ("review effort", f"{effort:.2f} rows looked at per fix"),
            ("flipped labels left", r.flips - r.accepted),
            ("macro-F1 on the sealed suite", _change(before[0], after[0])),
            ("worst-slice macro-F1", _change(before[1], after[1])),
        ],
    )  # fmt: skip


def owner_view(space: Space) -> None:
    """What plant-a sees about its data (``resonance my-data``), in three lines."""
    seen = my_data.my_data(space, actor=NOISY)
    uses = seen.uses_by_org()
    say(f"[bold]5. {NOISY} sees every use of its data[/] (resonance --as {NOISY} my-data):")
    say(
        "   "
        + ", ".join(f"{n} uses by {o}" for o, n in uses.items())
        + f"; {len(seen.models)} model versions built on it"
    )
    check = ledger.verify(space)
    say(
        f"   ledger {'intact' if check.ok else 'TAMPERED'}: {check.entries} entries "
        "(resonance --admin ledger show)"
    )


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
        files, truth, flips = split(args.data, Path(tmp))
        build(space, files)
    run_loop(space, args.space / "loop-report.html")
    review = review_as_owner(space, truth, flips)
    before, after = use_reviewed(space)
    owner_view(space)
    final_table(review, before, after)


if __name__ == "__main__":
    main()
