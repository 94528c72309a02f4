"""The catalog: datasets, versions, lineage, ingest by upload, and reads under policy."""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from resonance.api.deps import OrgDep, SpaceDep
from resonance.api.errors import ERROR_RESPONSES
from resonance.api.params import DatasetName, VersionRef
from resonance.domain import forms
from resonance.domain.datasets import DatasetKind, Task, make_label_spec
from resonance.domain.errors import FileTooLarge
from resonance.domain.policies import Purpose
from resonance.services import access, catalog, review
from resonance.services.files import write_csv
from resonance.services.space import Space

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=ERROR_RESPONSES)

_CHUNK = 1 << 20


@router.get("")
def list_datasets(
    space: SpaceDep,
    me: OrgDep,
    owner: str | None = None,
    kind: DatasetKind | None = None,
    industry: str | None = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """The catalog: every dataset with its latest version (no rows); ``limit``/``offset``
    page through it by dataset name."""
    items = catalog.list_datasets(
        space,
        owner=owner,
        kind=kind,
        industry=industry,
        limit=limit,
        offset=offset,
        viewer=me.name,
    )
    return [forms.dataset(d, v) for d, v in items]


@router.get("/{name}")
def show_dataset(name: DatasetName, space: SpaceDep, me: OrgDep) -> dict[str, Any]:
    """A dataset and its versions (the latest with schema, validation and profile).

    Each version's ``status`` says whether the process that made it accepted or
    rejected it (a rejected loop candidate is kept for audit, never the latest). A
    sealed dataset's profile and validation report go to its owner only; a derived
    dataset says where its rows came from and what every source allows.
    """
    ds, versions = catalog.show_dataset(space, name, viewer=me.name)
    marks = {n: m.status for n, m in review.version_marks(space, name).items()}
    kept = [v for v in versions if marks.get(v.number) != "rejected"]
    latest = kept[-1] if kept else None  # a rejected loop candidate is never the latest
    derived = access.derivation(space, latest) if latest else None
    return {
        **forms.dataset(ds, latest),
        "versions": [
            {**forms.version(v, full=v is latest), "status": marks.get(v.number)} for v in versions
        ],
        "derivation": derived.to_dict() if derived else None,
    }


@router.get("/{ref}/lineage")
def lineage(ref: VersionRef, space: SpaceDep, _: OrgDep) -> list[dict[str, Any]]:
    """A version (``NAME`` or ``NAME@N``) and its ancestors, nearest first."""
    return [forms.version(v) for v in catalog.lineage(space, ref)]


def _save_upload(space: Space, upload: UploadFile, folder: Path) -> Path:
    # Keep the file's name (its suffix tells the format) but nothing that could leave ``folder``.
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(upload.filename or "").name).lstrip(".")
    path = folder / (name[:120] or "upload.csv")
    limit = space.config.max_ingest_bytes
    size = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise FileTooLarge(
                    f"upload is above this space's ingest limit of {limit:,} bytes", limit=limit
                )
            out.write(chunk)
    return path


@router.post("/validate")
def validate(
    space: SpaceDep,
    _: OrgDep,
    file: Annotated[UploadFile, File(description="CSV or Parquet file")],
    label: Annotated[str | None, Form(max_length=200)] = None,
    label_onehot: Annotated[str | None, Form(max_length=4000)] = None,
    group_key: Annotated[str | None, Form(max_length=200)] = None,
    task: Annotated[Task | None, Form()] = None,
) -> dict[str, Any]:
    """Validate an uploaded file without storing anything (a dry run of ingest)."""
    spec = make_label_spec(label, label_onehot.split(",") if label_onehot else None, task=task)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=space.artifacts.tmp))
    try:
        path = _save_upload(space, file, folder)
        report = catalog.validate_file(
            path,
            label=spec,
            group_key=group_key,
            max_bytes=space.config.max_ingest_bytes,
            limits=space.config.limits,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return report.to_dict()


@router.post("/{name}/versions", status_code=201)
def ingest(
    name: DatasetName,
    space: SpaceDep,
    me: OrgDep,
    file: Annotated[UploadFile, File(description="CSV or Parquet file")],
    kind: Annotated[DatasetKind, Form()] = DatasetKind.COMMON,
    industry: Annotated[str | None, Form(max_length=64)] = None,
    scenario: Annotated[str | None, Form(max_length=200)] = None,
    label: Annotated[str | None, Form(max_length=200)] = None,
    label_onehot: Annotated[str | None, Form(max_length=4000)] = None,
    group_key: Annotated[str | None, Form(max_length=200)] = None,
    task: Annotated[Task | None, Form()] = None,
    time_column: Annotated[str | None, Form(max_length=200)] = None,
    description: Annotated[str, Form(max_length=4000)] = "",
) -> dict[str, Any]:
    """Ingest an uploaded file as a new immutable version (the acting organization owns it).

    Give ``industry`` (and kind, label...) to register a new dataset on its first ingest.
    """
    new = catalog.new_dataset(
        owner=me.name, industry=industry, kind=kind, scenario=scenario,
        description=description, label=label,
        label_onehot=label_onehot.split(",") if label_onehot else None, task=task,
        group_key=group_key, time_column=time_column,
    )  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=space.artifacts.tmp))
    try:
        path = _save_upload(space, file, folder)
        result = catalog.ingest(space, actor=me.name, path=path, dataset=name, new=new)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result.to_dict()


@router.get("/{ref}/rows", response_model=None)
def read_rows(
    ref: VersionRef,
    space: SpaceDep,
    me: OrgDep,
    purpose: Purpose,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
    fmt: Annotated[str, Query(alias="format", pattern="^(json|csv)$")] = "json",
) -> dict[str, Any] | Response:
    """Rows of a version under its usage policy; the use (or the denial) goes to the ledger."""
    version, rows = access.open_version(space, actor=me.name, ref=ref, purpose=purpose)
    batch = next(rows.iter_batches(batch_size=limit), None)  # the first rows only
    part = pa.Table.from_batches([batch]) if batch else rows.schema_arrow.empty_table()
    if fmt == "csv":
        buf = io.BytesIO()
        write_csv(part, buf)  # formula cells neutralised
        counts = {
            "X-Resonance-Ref": version.ref,
            "X-Resonance-Rows": str(rows.metadata.num_rows),
            "X-Resonance-Returned": str(part.num_rows),
        }  # what the JSON form says beside its data (the CLI's remote read checks them)
        return Response(buf.getvalue(), media_type="text/csv", headers=counts)
    return {
        "ref": version.ref,
        "rows": rows.metadata.num_rows,
        "returned": part.num_rows,
        "data": [forms.plain(row) for row in part.to_pylist()],
    }
