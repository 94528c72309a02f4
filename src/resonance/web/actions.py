"""Console forms: each posts to the same service function as the matching API route.

Every form carries the session's CSRF token and must come from this origin
(:func:`resonance.web.app.checked`); role and policy checks are the services'
own, exactly as for the API. On success the browser is redirected (303) to the
page showing the result; a domain error renders the console's error page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from resonance.domain.datasets import DatasetKind, Task, make_label_spec
from resonance.domain.errors import InvalidInput
from resonance.domain.modeling import ModelSpec
from resonance.domain.policies import parse_grant
from resonance.services import catalog, policies, uploads
from resonance.services.space import Space
from resonance.web.app import PREFIX, Posted, page

router = APIRouter(prefix=PREFIX, include_in_schema=False)

Text = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=4000)]


def space_of(request: Request) -> Space:
    space: Space = request.app.state.space
    return space


def see(path: str) -> RedirectResponse:
    return RedirectResponse(PREFIX + path, status_code=303)


def listed(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]


def _int(text: str, what: str, *, lo: int, hi: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{what} must be a whole number") from None
    if not lo <= value <= hi:
        raise InvalidInput(f"{what} must be between {lo} and {hi}")
    return value


# --- data holder ---


@router.post("/datasets/validate", response_class=HTMLResponse)
def validate(
    request: Request,
    session: Posted,
    file: Annotated[UploadFile, File()],
    label: Text = "",
    label_onehot: LongText = "",
    group_key: Text = "",
) -> HTMLResponse:
    """Validate a file without storing anything: the validation report."""
    space = space_of(request)
    with uploads.received_file(space, file.file, file.filename) as path:
        report = catalog.validate_file(
            path,
            label=make_label_spec(label or None, listed(label_onehot) or None),
            group_key=group_key or None,
            max_bytes=space.config.max_ingest_bytes,
        )
    return page(request, "validation.html", session.organization, report=report, file=file.filename)


@router.post("/datasets/upload")
def upload(
    request: Request,
    session: Posted,
    file: Annotated[UploadFile, File()],
    dataset: Text = "",
    kind: Text = DatasetKind.COMMON.value,
    industry: Text = "",
    scenario: Text = "",
    label: Text = "",
    label_onehot: LongText = "",
    group_key: Text = "",
    task: Text = "",
    time_column: Text = "",
    description: LongText = "",
) -> RedirectResponse:
    """Ingest an upload as a new version (``catalog.ingest``, as the API's
    ``POST /datasets/{name}/versions``); the dataset page shows its validation report."""
    space, me = space_of(request), session.organization
    try:
        dataset_kind, dataset_task = DatasetKind(kind), Task(task) if task else None
    except ValueError:
        raise InvalidInput(f"unknown dataset kind {kind!r} or task {task!r}") from None
    new = catalog.new_dataset(
        owner=me.name, industry=industry, kind=dataset_kind, scenario=scenario,
        description=description, label=label, label_onehot=listed(label_onehot),
        task=dataset_task, group_key=group_key, time_column=time_column,
    )  # fmt: skip
    with uploads.received_file(space, file.file, file.filename) as path:
        result = catalog.ingest(space, actor=me.name, path=path, dataset=dataset, new=new)
    return see(f"/datasets/{quote(dataset)}?ingested={quote(result.version.ref)}")


@router.post("/datasets/{name}/policy")
def set_policy(
    request: Request,
    session: Posted,
    name: str,
    grants: LongText = "",
    allow_auto_drop: Text = "",
) -> RedirectResponse:
    """Replace a dataset's usage policy (``policies.set_policy``; the owner only)."""
    parsed = [parse_grant(line.strip()) for line in grants.splitlines() if line.strip()]
    policies.set_policy(
        space_of(request),
        actor=session.organization.name,
        dataset=name,
        grants=parsed,
        allow_auto_drop=allow_auto_drop == "on",
    )
    return see(f"/datasets/{quote(name)}")


# --- model builder ---


@router.post("/models/train")
def train(
    request: Request,
    session: Posted,
    name: Text = "",
    trainer: Text = "sklearn-logreg",
    datasets: LongText = "",
    scenario: Text = "",
    exclude: LongText = "",
    seed: Text = "0",
) -> RedirectResponse:
    """Train the next version of a model (``training.train_model``, as ``POST /models``)."""
    from resonance.services import training

    model = training.train_model(
        space_of(request),
        actor=session.organization.name,
        name=name,
        spec=ModelSpec(trainer=trainer, exclude_columns=tuple(listed(exclude))),
        datasets=listed(datasets),
        seed=_int(seed, "seed", lo=0, hi=2**31 - 1),
        scenario=scenario or None,
    )
    return see(f"/models/{quote(model.ref)}?trained=1")


@router.post("/evaluations/run")
def evaluate(
    request: Request,
    session: Posted,
    model: Text = "",
    suite: Text = "",
    diagnose: Text = "",
) -> RedirectResponse:
    """Score a model version on a sealed suite (``evaluation.evaluate``); spends one query."""
    from resonance.services import evaluation

    run = evaluation.evaluate(
        space_of(request),
        actor=session.organization.name,
        model=model,
        suite=suite,
        diagnose=diagnose == "on",
        label_issues=False,
    )
    return see(f"/evaluations/{quote(run.id)}")


@router.post("/loop/run")
def loop_run(
    request: Request,
    session: Posted,
    name: Text = "",
    trainer: Text = "sklearn-logreg",
    datasets: LongText = "",
    reserves: LongText = "",
    suite: Text = "",
    budget: Text = "100",
    iterations: Text = "2",
    exclude: LongText = "",
    seed: Text = "0",
) -> RedirectResponse:
    """Run the resonance loop (``loop.run``, as ``POST /loop/runs``)."""
    from resonance.services import loop as loops

    req = loops.LoopRequest(
        name=name,
        spec=ModelSpec(trainer=trainer, exclude_columns=tuple(listed(exclude))),
        datasets=listed(datasets),
        reserves=listed(reserves),
        budget=_int(budget, "budget", lo=0, hi=10_000_000),
        suite=suite,
        iterations=_int(iterations, "iterations", lo=1, hi=20),
        seed=_int(seed, "seed", lo=0, hi=2**31 - 1),
    )
    run = loops.run(space_of(request), actor=session.organization.name, request=req)
    return see(f"/loop?run={quote(run.name)}")


@router.post("/federation/run")
def federate(
    request: Request,
    session: Posted,
    name: Text = "",
    datasets: LongText = "",
    strategy: Text = "fedavg",
    model: Text = "linear",
    rounds: Text = "5",
    exclude: LongText = "",
) -> RedirectResponse:
    """Federated training on Flower (``federation.federate``, as ``POST /federation/runs``)."""
    from resonance.services import federation
    from resonance.services.federation import KINDS, STRATEGIES, FederationConfig

    if strategy not in STRATEGIES or model not in KINDS:
        raise InvalidInput(f"strategy must be one of {sorted(STRATEGIES)}, model one of {KINDS}")
    version = federation.federate(
        space_of(request),
        actor=session.organization.name,
        name=name,
        datasets=listed(datasets),
        config=FederationConfig(
            kind=model, strategy=strategy, rounds=_int(rounds, "rounds", lo=1, hi=1000)
        ),
        exclude=tuple(listed(exclude)),
    )
    return see(f"/models/{quote(version.ref)}?trained=1")


# --- evaluator ---


@router.post("/suites")
def register_suite(
    request: Request,
    session: Posted,
    name: Text = "",
    dataset: Text = "",
    metrics: LongText = "",
    thresholds: LongText = "",
    scenario: Text = "",
    query_budget: Text = "20",
) -> RedirectResponse:
    """Register a sealed suite (``evaluation.register_suite``); thresholds as ``metric=value``."""
    from resonance.services import evaluation

    limits: dict[str, float] = {}
    for item in listed(thresholds):
        metric, _, value = item.partition("=")
        try:
            limits[metric.strip()] = float(value)
        except ValueError:
            raise InvalidInput(f"bad threshold {item!r}; use metric=value") from None
    chosen = tuple(listed(metrics))
    evaluation.register_suite(
        space_of(request),
        actor=session.organization.name,
        name=name,
        dataset=dataset,
        **({"metrics": chosen} if chosen else {}),  # type: ignore[arg-type]
        thresholds=limits,
        scenario=scenario or None,
        query_budget=_int(query_budget, "query budget", lo=1, hi=1_000_000),
    )
    return see("/evaluator")
