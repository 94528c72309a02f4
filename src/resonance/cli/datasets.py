"""CLI: ingest, validate, browse and read datasets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from resonance.cli.output import console, ctx_of, print_table, progress, show
from resonance.domain import forms
from resonance.domain.datasets import DatasetKind, Task, make_label_spec
from resonance.domain.errors import InvalidInput
from resonance.domain.policies import parse_purposes
from resonance.services import catalog_read

if TYPE_CHECKING:  # heavy modules (pyarrow, duckdb) load only in the commands that need them
    from resonance.domain.validation import ValidationReport

dataset_app = typer.Typer(help="Datasets and their immutable versions.", no_args_is_help=True)


def _print_report(report: ValidationReport) -> None:
    print_table(
        f"Validation: {report.rows:,} rows, {report.duplicate_rows} duplicates",
        ["column", "type", "missing", "min", "max", "distinct≈"],
        [
            (
                c["name"],
                c["type"],
                f"{c['missing_share']:.1%}",
                c["min"],
                c["max"],
                c["distinct_approx"],
            )
            for c in report.columns
        ],
    )
    for e in report.errors:
        console.print(f"[red]error[/]: {e}")
    for w in report.warnings:
        console.print(f"[yellow]warning[/]: {w}")


@dataset_app.command("ingest")
def ingest(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="CSV or Parquet file."),
    name: str = typer.Option(..., "--name", "-n", help="Dataset name."),
    kind: DatasetKind = typer.Option(DatasetKind.COMMON, help="common, specialized, evaluation."),
    industry: str | None = typer.Option(None, help="Industry id (needed for a new dataset)."),
    scenario: str | None = typer.Option(None, help="Scenario this dataset serves."),
    label: str | None = typer.Option(None, help="Label column."),
    label_onehot: str | None = typer.Option(None, help="One-hot label columns, comma separated."),
    group_key: str | None = typer.Option(None, help="Group column (machine or unit id)."),
    task: Task | None = typer.Option(
        None, help="What the label asks for: classification (default) or regression."
    ),
    time_column: str | None = typer.Option(
        None, help="Time column: each group's rows form a time series ordered by it."
    ),
    description: str = typer.Option("", help="What the data is."),
    fmt: str | None = typer.Option(None, "--file-format", help="csv or parquet."),
) -> None:
    """Ingest a file as a new immutable version (owner: --as)."""
    c = ctx_of(ctx)
    actor = c.require_actor()
    from resonance.services import catalog

    new = catalog.new_dataset(
        owner=actor, industry=industry, kind=kind, scenario=scenario,
        description=description, label=label,
        label_onehot=label_onehot.split(",") if label_onehot else None, task=task,
        group_key=group_key, time_column=time_column,
    )  # fmt: skip
    with progress(f"ingesting {path.name}") as advance:
        result = catalog.ingest(c.space(), actor=actor, path=path, dataset=name, new=new, fmt=fmt)
        advance()

    def human() -> None:
        verb = "stored" if result.created else "unchanged (identical content)"
        console.print(
            f"[green]{result.version.ref}[/] {verb}: {result.version.row_count:,} rows, "
            f"sha256 {result.version.content_hash[:16]}…"
        )
        _print_report(result.report)

    show(c, result.to_dict(), human)


@dataset_app.command("validate")
def validate(
    ctx: typer.Context,
    path: Path = typer.Argument(...),
    label: str | None = typer.Option(None),
    label_onehot: str | None = typer.Option(None),
    group_key: str | None = typer.Option(None),
    task: Task | None = typer.Option(None, help="classification (default) or regression."),
) -> None:
    """Validate a file without storing it."""
    c = ctx_of(ctx)
    spec = make_label_spec(label, label_onehot.split(",") if label_onehot else None, task=task)
    from resonance.services import catalog

    report = catalog.validate_file(path, label=spec, group_key=group_key)
    show(c, report.to_dict(), lambda: _print_report(report))
    if not report.ok:
        raise typer.Exit(1)


@dataset_app.command("list")
def list_(
    ctx: typer.Context,
    owner: str | None = typer.Option(None),
    kind: DatasetKind | None = typer.Option(None),
    industry: str | None = typer.Option(None),
) -> None:
    """List datasets with their latest version."""
    c = ctx_of(ctx)
    items = catalog_read.list_datasets(
        c.space(), owner=owner, kind=kind, industry=industry, viewer=c.require_actor()
    )
    show(
        c,
        [forms.dataset(d, v) for d, v in items],
        lambda: print_table(
            "Catalog",
            ["dataset", "owner", "kind", "industry", "latest", "rows"],
            [
                (
                    d.name,
                    d.owner,
                    d.kind.value,
                    d.industry,
                    v.ref if v else "",
                    f"{v.row_count:,}" if v else "",
                )
                for d, v in items
            ],
        ),
    )


@dataset_app.command("show")
def show_(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """A dataset, its versions and the latest schema."""
    c = ctx_of(ctx)
    ds, versions = catalog_read.show_dataset(c.space(), name, viewer=c.require_actor())
    marks = {n: m.status for n, m in catalog_read.version_marks(c.space(), name).items()}
    kept = [v for v in versions if marks.get(v.number) != "rejected"]
    latest = kept[-1] if kept else None  # a rejected loop candidate is never the latest
    derived = None
    if latest is not None and latest.is_derived:
        from resonance.services import access  # pyarrow: only for a derived version

        derived = access.derivation(c.space(), latest)
    data = {
        **forms.dataset(ds, latest),
        "versions": [
            {**forms.version(v, full=v is latest), "status": marks.get(v.number)} for v in versions
        ],
        "derivation": derived.to_dict() if derived else None,
    }

    def human() -> None:
        who = f"registered by {ds.owner}" if ds.derived else f"owned by {ds.owner}"
        console.print(f"[bold]{ds.name}[/] {who} ({ds.kind.value}, {ds.industry})")
        if derived:
            console.print(derived.summary())
        print_table(
            "Versions",
            ["ref", "status", "rows", "sha256", "made by", "parents"],
            [
                (
                    v.ref + (" (latest)" if v is latest else ""),
                    marks.get(v.number, ""),
                    f"{v.row_count:,}",
                    v.content_hash[:16],
                    v.transformation.kind,
                    ", ".join(v.parents),
                )
                for v in versions
            ],
        )
        if latest:
            print_table(
                "Schema",
                ["column", "type"],
                [(col.name, col.type) for col in latest.schema.columns],
            )

    show(c, data, human)


@dataset_app.command("lineage")
def lineage(ctx: typer.Context, ref: str = typer.Argument(...)) -> None:
    """A version and its ancestors."""
    c = ctx_of(ctx)
    chain = catalog_read.lineage(c.space(), ref)
    show(
        c,
        [forms.version(v) for v in chain],
        lambda: print_table(
            f"Lineage of {ref}",
            ["ref", "transformation", "reason", "parents", "sha256"],
            [
                (
                    v.ref,
                    v.transformation.kind,
                    v.transformation.reason,
                    ", ".join(v.parents),
                    v.content_hash[:16],
                )
                for v in chain
            ],
        ),
    )


@dataset_app.command("read")
def read(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME or NAME@N"),
    purpose: str = typer.Option("download", help="Purpose of the use."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write (.csv or .parquet)."),
) -> None:
    """Read rows under the dataset's policy (recorded on the ledger) into a file."""
    c = ctx_of(ctx)
    (p,) = parse_purposes([purpose]) or [None]
    if p is None:
        raise InvalidInput("a purpose is required")
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise InvalidInput(f"write to a .csv or .parquet file, not {out.name!r}", out=str(out))
    if not out.parent.is_dir():  # checked before the read is authorized and recorded
        raise InvalidInput(f"no such folder: {out.parent}", out=str(out))
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from resonance.services import access
    from resonance.services.files import csv_safe

    version, rows = access.open_version(c.space(), actor=c.require_actor(), ref=ref, purpose=p)
    n = rows.metadata.num_rows
    try:  # record batch by record batch: the export never holds the whole table
        if suffix == ".csv":
            with pcsv.CSVWriter(out, rows.schema_arrow) as csv_writer:
                for batch in rows.iter_batches(batch_size=65_536):
                    # formula cells neutralised, batch by batch
                    csv_writer.write_table(csv_safe(pa.Table.from_batches([batch])))
        else:
            with pq.ParquetWriter(out, rows.schema_arrow) as pq_writer:
                for batch in rows.iter_batches(batch_size=65_536):
                    pq_writer.write_batch(batch)
    except OSError as exc:
        raise InvalidInput(f"cannot write {out}: {exc}", out=str(out)) from exc
    data = {"ref": version.ref, "rows": n, "out": str(out)}
    show(c, data, lambda: console.print(f"wrote {n:,} rows of {version.ref} to {out}"))


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.add_typer(dataset_app, name="dataset")
