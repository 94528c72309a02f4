"""Issue 9: no API route gives a builder holding train-pooled/evaluate another member's rows.

Every GET route of ``/openapi.json`` (and the POSTs that return per-row work: an
evaluation with diagnosis, a valuation), every console page and every read CLI
command is called as the builder after it pooled three plants' rows in a loop
(whose relabel proposals went to the plants' review queues), trained, evaluated
with a diagnosis and valued; no response may hold a plant's (or the sealed
suite's) row, nor a per-row finding (a review item, a label issue) about another
member's rows.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from fastapi.testclient import TestClient

from resonance.domain.policies import Purpose
from resonance.domain.review import ReviewStatus
from resonance.server import create_app
from resonance.services import catalog, evaluation, review, tokens, training
from resonance.services import loop as loops
from resonance.services.space import Space
from tests.api.conftest import Api, open_api
from tests.loop_seed import PLANTS, request, seed_loop
from tests.web.conftest import console_login

STATUSES = [s.value for s in ReviewStatus]
MIN_SHARED = 8  # a response part holding this many distinctive values of one row holds the row
CHUNK = re.compile(r"\n|<tr|<p|<li|<h\d|\}")  # a line, a table row, a paragraph, an object
SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.DOTALL)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


class RowIndex:
    """Distinctive numeric values of every row the builder must never receive."""

    def __init__(self, tables: list[pa.Table]) -> None:
        self.by_value: dict[float, set[int]] = {}
        n = 0
        for table in tables:
            numeric = [
                c
                for c in table.column_names
                if pa.types.is_integer(table[c].type) or pa.types.is_floating(table[c].type)
            ]
            for row in zip(*(table[c].to_pylist() for c in numeric), strict=True):
                for v in {round(float(x), 6) for x in row if x is not None} - {0.0, 1.0}:
                    self.by_value.setdefault(v, set()).add(n)
                n += 1

    def holds_a_row(self, values: list[float]) -> bool:
        hits: Counter[int] = Counter()
        for v in {round(x, 6) for x in values}:
            hits.update(self.by_value.get(v, ()))
        return bool(hits) and max(hits.values()) >= MIN_SHARED


def _parts(data: Any) -> Iterator[Any]:
    """Every dict and list inside ``data`` (a row would be one of them)."""
    if isinstance(data, dict):
        yield data
        for v in data.values():
            yield from _parts(v)
    elif isinstance(data, list):
        yield data
        for v in data:
            yield from _parts(v)


def leaks(body: str, index: RowIndex, others: set[str]) -> list[str]:
    """Rows, or per-row findings about rows of ``others``' datasets, found in a response."""
    found = []
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if data is None:  # CSV, HTML, Markdown: a row would sit on one line
        # the embedded plotly.js library is code, not data (figures' scripts stay)
        body = SCRIPT.sub(lambda m: "" if len(m.group(0)) > 100_000 else m.group(0), body)
        for line in CHUNK.split(body):
            if index.holds_a_row([float(x) for x in NUMBER.findall(line)]):
                found.append(f"row in text: {line[:80]}")
        return found
    for part in _parts(data):
        values = part.values() if isinstance(part, dict) else part
        nums = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if index.holds_a_row(nums):
            found.append(f"row: {str(part)[:80]}")
        if isinstance(part, dict) and isinstance(part.get("row"), int):
            named = str(part.get("dataset") or part.get("source") or "").partition("@")[0]
            if named in others:
                found.append(f"per-row finding: {str(part)[:80]}")
    return found


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Space, Path]]:
    from tests.conftest import make_space

    tmp = tmp_path_factory.mktemp("pooled")
    space = make_space(tmp / "space")
    seed_loop(space, tmp / "data")
    run = loops.run(space, actor="builder", request=request(seed_loop_names(), budget=40))
    assert run.summary is not None and run.summary.final_model is not None
    evaluation.evaluate(space, actor="builder", model=run.summary.final_model, suite="steel-suite")
    assert review.list_items(space, actor="operator"), "the loop proposed fixes to the owners"
    yield space, tmp
    space.close()


def seed_loop_names() -> Any:
    from tests.loop_seed import LoopSeed

    return LoopSeed(
        [f"steel-{p}" for p in PLANTS], [f"steel-{p}-reserve" for p in PLANTS], "steel-suite"
    )


def _calls(api: Api) -> list[tuple[str, str]]:
    """Every GET route with each plausible value of its path and required query parameters."""
    spec = api.get("/openapi.json", org="builder").json()
    datasets = [d["name"] for d in api.get("/datasets", org="builder").json()]
    models = sorted({m["ref"] for m in api.get("/models", org="builder").json()})
    items = [i["id"] for s in STATUSES for i in api.get(f"/reviews?status={s}").json()]
    names = {
        "name": [*datasets, "loop-1", "builder", "plant-a"],
        "ref": [*datasets, *(f"{d}@1" for d in datasets), *models],
        "dataset": datasets,
        "suite": ["steel-suite"],
        "registry": list(api.get("/registries", org="builder").json()),
        "kind": ["plan", "midterm", "summary"],
        "item_id": items[:5],
    }
    query = {"purpose": [p.value for p in Purpose], "organization": ["builder"],
             "model": models, "suite": ["steel-suite"]}  # fmt: skip
    calls = []
    for path, ops in spec["paths"].items():
        if "get" not in ops:
            continue
        params = ops["get"].get("parameters", [])
        urls = [path]
        for p in params:
            if p["in"] == "path":  # an id this test does not seed (a job, a negotiation): unknown
                values = names.get(p["name"], ["unknown"])
                urls = [u.replace("{" + p["name"] + "}", v) for u in urls for v in values]
        required = [p["name"] for p in params if p["in"] == "query" and p.get("required")]
        for name in required:
            values = query.get(name, ["unknown"])
            urls = [f"{u}{'&' if '?' in u else '?'}{name}={v}" for u in urls for v in values]
        calls += [(path, u) for u in urls]
    # the review queue and my-data asked for another owner's items, every status
    calls += [("/reviews", f"/reviews?owner={p}&status={s}") for p in PLANTS for s in STATUSES]
    calls += [("/reviews", f"/reviews?status={s}") for s in STATUSES]
    calls += [("/my-data", "/my-data?owner=plant-a")]
    return calls


def test_no_api_route_gives_the_builder_another_members_rows(
    pooled: tuple[Space, Path],
) -> None:
    space, tmp = pooled
    tables = [pcsv.read_csv(p) for p in sorted((tmp / "data").glob("*.csv"))]
    index = RowIndex(tables)
    others = {p.stem for p in (tmp / "data").glob("*.csv")} | {"loop-1-data"}
    with open_api(space, ("builder", "operator")) as api:
        calls = _calls(api)
        routes = {path for path, _ in calls}
        assert {"/datasets/{ref}/rows", "/ledger", "/evaluations", "/loop/runs/{name}",
                "/models/{ref}/card", "/datasets/{name}", "/reviews", "/reviews/{item_id}",
                "/my-data"} <= routes  # fmt: skip
        problems = {}
        ok_rows = 0
        for path, url in calls:
            resp = api.get(url, org="builder")
            if path == "/datasets/{ref}/rows" and resp.status_code == 200:
                ok_rows += 1
            found = leaks(resp.text, index, others)
            if found:
                problems[url] = found[:3]
        diagnosed = api.post("/evaluations", org="builder",
                             json={"model": "loop-1", "suite": "steel-suite"})  # fmt: skip
        for found in [leaks(diagnosed.text, index, others)]:
            if found:
                problems["POST /evaluations"] = found[:3]
        assert ok_rows == 0, "a row read succeeded without a download grant"
        assert not problems, problems
        # the detector does find rows: the operator's own view of the ledger holds row lists
        assert leaks(api.get("/ledger?limit=1000", org="operator").text, index, others)
        # ... and review items (per-row findings) are found where their owner looks
        assert leaks(api.get("/reviews", org="operator").text, index, others)


def test_no_console_page_gives_the_builder_another_members_rows(
    pooled: tuple[Space, Path],
) -> None:
    from fastapi.routing import APIRoute

    space, tmp = pooled
    index = RowIndex([pcsv.read_csv(p) for p in sorted((tmp / "data").glob("*.csv"))])
    others = {p.stem for p in (tmp / "data").glob("*.csv")} | {"loop-1-data"}
    builder, _ = tokens.create_token(space, actor="operator", organization="builder")
    owner, _ = tokens.create_token(space, actor="operator", organization="plant-c")
    datasets = [d.name for d, _ in catalog.list_datasets(space)]
    models = sorted({m.name for m in training.list_models(space)})
    runs = [r.id for r in evaluation.list_runs(space)]
    names = {
        "/console/datasets/{name}": datasets,
        "/console/reports/{name}": ["plan", "summary"],
        "/console/models/{name}": models,
        "/console/evaluations/{name}": runs,
    }
    app = create_app(space.root)

    def routes(items: list[Any]) -> Iterator[APIRoute]:  # included routers hold their routes
        for r in items:
            if isinstance(r, APIRoute):
                yield r
            elif hasattr(r, "original_router") or hasattr(r, "routes"):
                yield from routes(list(getattr(r, "original_router", r).routes))

    with TestClient(app) as client:
        pages = sorted(
            {
                r.path
                for r in routes(app.routes)
                if "GET" in r.methods and r.path.startswith("/console")
            }
        )
        assert {"/console/reviews", "/console/my-data", "/console/ledger"} <= set(pages)
        urls = [u for p in pages for u in ([p.replace("{name}", n) for n in names.get(p, ["x"])]
                                           if "{" in p else [p])]  # fmt: skip
        urls += ["/console/reviews?status=", "/console/reviews?owner=plant-a&status="]
        console_login(client, builder)
        problems = {}
        for url in urls:
            if url.endswith(("/login", "/logout", ".js")):
                continue
            found = leaks(client.get(url).text, index, others)
            if found:
                problems[url] = found[:3]
        assert not problems, problems
    with TestClient(app) as client:
        console_login(client, owner)  # the detector works
        assert leaks(client.get("/console/reviews?status=").text, index, others)


READS = {"list", "show", "card", "lineage", "read", "history", "check", "verify", "report",
         "plan", "midterm", "summary", "diagnose", "value", "counts", "my-data"}  # fmt: skip
"""Commands (by last word) that return data; every other command changes the space."""


def _cli_commands() -> list[tuple[str, ...]]:
    import click
    import typer

    from resonance.cli.app import app

    def walk(c: click.Command, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        if isinstance(c, click.Group):  # the root loads its command groups lazily: ask it
            ctx = click.Context(c)
            for n in c.list_commands(ctx):
                sub = c.get_command(ctx, n)
                if sub is not None:
                    yield from walk(sub, (*prefix, n))
        else:
            yield prefix

    return [c for c in walk(typer.main.get_command(app), ()) if c[-1] in READS]


def test_no_cli_command_gives_the_builder_another_members_rows(
    pooled: tuple[Space, Path], tmp_path: Path
) -> None:
    from tests.cli.test_cli_foundation import Cli

    space, tmp = pooled
    index = RowIndex([pcsv.read_csv(p) for p in sorted((tmp / "data").glob("*.csv"))])
    others = {p.stem for p in (tmp / "data").glob("*.csv")} | {"loop-1-data"}
    cli = Cli(space.root)
    datasets = [d["name"] for d in cli.json("dataset", "list", actor="builder")]
    args: dict[tuple[str, ...], list[list[str]]] = {
        ("dataset", "show"): [[d] for d in datasets],
        ("dataset", "lineage"): [[d] for d in datasets],
        ("dataset", "read"): [[d, "--purpose", p.value] for d in datasets for p in Purpose],
        ("policy", "show"): [[d] for d in datasets],
        ("policy", "history"): [[d] for d in datasets],
        ("policy", "check"): [[d, "--org", "builder", "--purpose", "download"] for d in datasets],
        ("model", "show"): [["loop-1"]],
        ("model", "card"): [["loop-1"]],
        ("eval", "diagnose"): [["loop-1", "--suite", "steel-suite"]],
        ("loop", "show"): [["loop-1"]],
        ("loop", "report"): [["loop-1"]],
        ("value",): [["loop-1", "--suite", "steel-suite"]],
        ("registry", "show"): [["models"]],
        ("review", "list"): [["--status", ""], ["--owner", "plant-a", "--status", ""]],
        ("review", "show"): [[i.id] for i in review.list_items(space, actor="operator")[:5]],
        ("my-data",): [[], ["--owner", "plant-a"]],
    }
    commands = _cli_commands()
    assert {("dataset", "read"), ("ledger", "show"), ("review", "list"), ("review", "show"),
            ("my-data",)} <= set(commands)  # fmt: skip
    problems: dict[str, list[str]] = {}
    ran: set[tuple[str, ...]] = set()
    for i, command in enumerate(commands):
        for extra in args.get(command, [[]]):
            out = tmp_path / f"out{i}"
            files = ["-o", str(out.with_suffix(".csv"))] if command == ("dataset", "read") else []
            files += (
                ["--out", str(out.with_suffix(".html"))]
                if command[-1] == "report" and len(command) == 2 and command[0] == "loop"
                else []
            )
            result = cli("--format", "json", *command, *extra, *files, actor="builder", ok=False)
            if result.exit_code == 0:
                ran.add(command)
            texts = [result.stdout] + [p.read_text() for p in tmp_path.glob(f"out{i}.*")]
            for text in texts:
                found = leaks(text, index, others)
                if found:
                    problems[" ".join((*command, *extra))] = found[:3]
    assert not problems, problems
    must_run = {("ledger", "show"), ("dataset", "show"), ("model", "card"), ("loop", "show"),
                ("eval", "diagnose"), ("eval", "list")}  # fmt: skip
    assert must_run <= ran, must_run - ran
