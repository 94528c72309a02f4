"""Use case: bulk import of scenario files, landing cases and model entries from CSV/YAML.

Every row is checked as its single-entry command would check it (same functions),
in one transaction: the file is imported whole or not at all. The answer is a
per-row report; when any row fails, ``BulkRejected`` (RES-196) carries that report
in its details and nothing of the file is stored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from resonance.domain.errors import BulkRejected, InvalidInput, MalformedFile, ResonanceError
from resonance.domain.registry import (
    LandingCase,
    ModelEntry,
    ModelKind,
    ScenarioFile,
    ScenarioStatus,
    parse_enum,
)
from resonance.services.registry import file_scenario_in, record_case_in, register_model_in
from resonance.services.space import Space, Work

MAX_ROWS = 10_000
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class RowResult:
    """What became of one row (1-based, header excluded)."""

    row: int
    name: str
    ok: bool
    code: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return dict(self.__dict__)


def parse_rows(content: bytes, *, fmt: str) -> list[dict[str, str]]:
    """Rows of a CSV (header row) or YAML (a list of mappings) file, as text fields."""
    if len(content) > MAX_BYTES:
        raise MalformedFile(f"a bulk file is at most {MAX_BYTES} bytes")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedFile("a bulk file is UTF-8 text") from None
    if fmt == "csv":
        try:
            rows: Any = list(csv.DictReader(io.StringIO(text)))
        except csv.Error as exc:
            raise MalformedFile(f"not CSV: {exc}") from None
    elif fmt in ("yaml", "yml"):
        try:
            rows = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise MalformedFile(f"not YAML: {exc}") from None
        if isinstance(rows, dict):  # {"rows": [...]} or {"scenarios": [...]}
            rows = next(iter(rows.values()), []) if len(rows) == 1 else rows
    else:
        raise InvalidInput(f"unknown bulk format {fmt!r}; use csv or yaml", format=fmt)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise MalformedFile("a bulk file holds a list of rows (mappings of field to value)")
    if len(rows) > MAX_ROWS:
        raise MalformedFile(f"a bulk file holds at most {MAX_ROWS} rows")
    if any(None in r for r in rows):
        raise MalformedFile("a CSV row has more fields than the header")
    return [{str(k).strip(): "" if v is None else str(v) for k, v in r.items()} for r in rows]


def _need(row: dict[str, str], *fields: str) -> list[str]:
    missing = [f for f in fields if not row.get(f, "").strip()]
    if missing:
        raise InvalidInput(f"missing {', '.join(missing)}", field=missing[0])
    return [row[f].strip() for f in fields]


def _scenario(w: Work, actor: str, row: dict[str, str]) -> str:
    name, industry, title, problem, value, data_needed, model_needed = _need(
        row, "name", "industry", "title", "problem", "value", "data_needed", "model_needed"
    )
    s = ScenarioFile(
        name,
        industry,
        title,
        problem,
        value,
        data_needed,
        model_needed,
        actor,
        ScenarioStatus.PROPOSED,
    ).checked()
    file_scenario_in(w, actor, s)
    return name


def _case(w: Work, actor: str, row: dict[str, str]) -> str:
    name, model, adopter, region, description, evidence = _need(
        row, "name", "model", "adopter", "region", "description", "evidence"
    )
    case = LandingCase(name, model, adopter, region, description, actor, evidence).checked()
    record_case_in(w, actor, case)
    return name


def _model(w: Work, actor: str, row: dict[str, str]) -> str:
    name, industry = _need(row, "name", "industry")
    entry = ModelEntry(
        name,
        industry,
        parse_enum(ModelKind, row.get("kind") or "industry", what="kind"),
        row.get("owner", "").strip() or actor,
        row.get("scenario", "").strip() or None,
        row.get("ref", "").strip() or None,
        row.get("description", "").strip(),
    )
    register_model_in(w, actor, entry)
    return name


IMPORTERS: dict[str, Callable[[Work, str, dict[str, str]], str]] = {
    "scenarios": _scenario,
    "cases": _case,
    "models": _model,
}


def bulk_import(
    space: Space, *, actor: str, registry: str, content: bytes, fmt: str
) -> list[RowResult]:
    """Import every row of a file into ``registry`` (scenarios, cases or models), all or
    nothing.

    Returns
    -------
    list[RowResult]
        One result per row, all ok.

    Raises
    ------
    BulkRejected
        (RES-196) some row failed; ``details["rows"]`` is the per-row report and nothing
        of the file was stored.
    """
    importer = IMPORTERS.get(registry)
    if importer is None:
        raise InvalidInput(f"bulk import goes to one of {', '.join(IMPORTERS)}", registry=registry)
    rows = parse_rows(content, fmt=fmt)
    if not rows:
        raise MalformedFile("the file holds no rows")
    results: list[RowResult] = []

    class _Rejected(Exception):
        pass

    try:
        with space.work() as w:
            for i, row in enumerate(rows, start=1):
                try:
                    # each importer checks before it writes: a failing row writes nothing,
                    # and later rows see the earlier ones (duplicates within the file)
                    results.append(RowResult(i, importer(w, actor, row), True))
                except ResonanceError as err:
                    results.append(RowResult(i, row.get("name", ""), False, err.code, err.message))
            if not all(r.ok for r in results):
                raise _Rejected  # rolls the whole file back
    except _Rejected:
        failed = [r for r in results if not r.ok]
        raise BulkRejected(
            f"{len(failed)} of {len(rows)} rows are invalid; nothing was imported",
            rows=[r.to_dict() for r in results],
        ) from None
    return results
