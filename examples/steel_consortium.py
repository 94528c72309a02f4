"""Main job: a steel consortium of three member plants pools data in a fresh space.

Splits the real Steel Plates Faults data (UCI, CC BY 4.0) across three plants by
steel type and conveyor length (non-IID), ingests each share as the plant's own
dataset, sets usage policies, shows an allowed and a denied read, then prints the
catalog, the policies and the verified ledger.

Run: ``make demo`` (or ``python examples/steel_consortium.py --space demo-space --fresh``).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.csv as pcsv
from rich.console import Console

from resonance.domain.datasets import DatasetKind, LabelKind, LabelSpec
from resonance.domain.errors import PolicyDenied
from resonance.domain.orgs import Role
from resonance.domain.policies import Purpose, parse_grant
from resonance.services import access, catalog, ledger, orgs, policies
from resonance.services.space import Space

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "steel-plates-faults" / "steel_plates_faults.csv"
LABELS = (
    "Pastry_Fault",
    "Z_Scratch_Fault",
    "K_Scatch_Fault",
    "Stains_Fault",
    "Dirtiness_Fault",
    "Bumps_Fault",
    "Other_Faults",
)
PLANTS = {"plant-a": "Jiangsu", "plant-b": "Hebei", "plant-c": "Liaoning"}
console = Console()


def split_by_plant(path: Path, out: Path) -> dict[str, Path]:
    """Non-IID split: A300 steel to plant-a; A400 by conveyor length to plant-b / plant-c."""
    table = pcsv.read_csv(path)
    a300 = pc.equal(table["TypeOfSteel_A300"], 1)
    long_conv = pc.greater(table["Length_of_Conveyer"], 1400)
    masks = {
        "plant-a": a300,
        "plant-b": pc.and_(pc.invert(a300), long_conv),
        "plant-c": pc.and_(pc.invert(a300), pc.invert(long_conv)),
    }
    files = {}
    for plant, mask in masks.items():
        files[plant] = out / f"{plant}.csv"
        pcsv.write_csv(table.filter(mask), files[plant])
    return files


def build(space: Space, files: dict[str, Path]) -> None:
    """Register members, ingest their data and set policies."""
    orgs.register_organization(
        space, actor=None, name="operator", roles=frozenset({Role.OPERATOR}), region="Beijing"
    )
    for plant, region in PLANTS.items():
        orgs.register_organization(
            space, actor="operator", name=plant, roles=frozenset({Role.DATA_HOLDER}), region=region
        )
    orgs.register_organization(
        space,
        actor="operator",
        name="steel-ai-lab",
        roles=frozenset({Role.MODEL_BUILDER}),
        region="Shanghai",
    )
    orgs.form_consortium(
        space,
        actor="operator",
        name="steel-consortium",
        industry="steel",
        members=[f"{p}:data" for p in PLANTS] + ["steel-ai-lab:model,compute"],
    )
    label = LabelSpec(LabelKind.ONE_HOT, LABELS)
    for plant, path in files.items():
        result = catalog.ingest(
            space,
            actor=plant,
            path=path,
            dataset=f"steel-{plant}",
            new=catalog.NewDataset(
                owner=plant, kind=DatasetKind.COMMON, industry="steel", label=label
            ),
        )
        console.print(
            f"{plant}: [green]{result.version.ref}[/] {result.version.row_count} rows, "
            f"sha256 {result.version.content_hash[:12]}"
        )
        again = catalog.ingest(space, actor=plant, path=path, dataset=f"steel-{plant}")
        assert not again.created, "identical content must not create a copy"
    policies.set_policy(
        space,
        actor="plant-a",
        dataset="steel-plant-a",
        grants=[parse_grant("steel-ai-lab:train-pooled,train-federated")],
    )
    policies.set_policy(
        space,
        actor="plant-b",
        dataset="steel-plant-b",
        grants=[parse_grant("steel-ai-lab:train-federated:2027-12-31")],
    )


def demo_reads(space: Space) -> None:
    """One in-space use the policy allows, one it denies, and a denied hand-over of rows.

    ``train-pooled`` lets the builder run the platform's work on plant-a's rows inside
    the space; rows themselves leave only under a ``download`` grant. All three land on
    the ledger.
    """
    grantee = access.authorize(
        space, actor="steel-ai-lab", ref="steel-plant-a", purpose=Purpose.TRAIN_POOLED
    )
    console.print(
        f"steel-ai-lab may train on {grantee.version.ref} inside the space "
        f"({grantee.version.row_count} rows, none handed over)"
    )
    try:
        access.authorize(
            space, actor="steel-ai-lab", ref="steel-plant-b", purpose=Purpose.TRAIN_POOLED
        )
    except PolicyDenied as exc:
        console.print(f"[red]denied ({exc.code})[/]: {exc.message}")
    try:
        access.read_version(space, actor="steel-ai-lab", ref="steel-plant-a")
    except PolicyDenied as exc:
        console.print(f"[red]rows stay in the space ({exc.code})[/]: {exc.message}")


def report(space: Space) -> None:
    """Print catalog, policies and ledger."""
    from resonance.cli.output import print_table

    items = catalog.list_datasets(space)
    print_table(
        "Catalog",
        ["dataset", "owner", "kind", "latest", "rows", "label"],
        [
            (
                d.name,
                d.owner,
                d.kind.value,
                v.ref if v else "",
                v.row_count if v else "",
                d.label.kind.value if d.label else "",
            )
            for d, v in items
        ],
    )
    rows = []
    for d, _ in items:
        p = policies.get_policy(space, d.name)
        for g in p.grants if p else ():
            rows.append(
                (
                    d.name,
                    g.organization,
                    ", ".join(sorted(x.value for x in g.purposes)),
                    g.until or "",
                )
            )
    print_table("Policies", ["dataset", "grantee", "purposes", "until"], rows)
    entries = ledger.entries(space, limit=None)
    print_table(
        "Ledger",
        ["seq", "actor", "action", "object", "hash"],
        [(e.seq, e.actor, e.action, e.object_id, e.hash[:12]) for e in entries],
    )
    result = ledger.verify(space)
    console.print(
        f"ledger verify: [{'green' if result.ok else 'red'}]"
        f"{'intact' if result.ok else 'TAMPERED'}[/] ({result.entries} entries)"
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
        build(space, split_by_plant(args.data, Path(tmp)))
    demo_reads(space)
    report(space)


if __name__ == "__main__":
    main()
