"""What each kind of job does: a typed parameter record per kind, registered by kind.

A record is parsed from the job's stored JSON parameters (unknown, missing or mistyped
fields are refused with RES-100 before the job is stored) and its ``run`` calls the same
service the API's synchronous route and the CLI call, as the submitting organization, so the
same role and policy checks apply. ``run`` returns references to what it produced, never rows.
The heavy services (scikit-learn, LightGBM, Flower) are imported inside ``run``: the worker
pays for them, not the CLI or API that only submits or lists jobs.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Protocol

from resonance.domain.acceptance import DEFAULT_CONFIDENCE, DEFAULT_MAX_SLICE_DROP, DEFAULT_MIN_GAIN
from resonance.domain.errors import InvalidInput
from resonance.domain.jobs import JobKind
from resonance.domain.loop_types import DEFAULT_QUERIES_PER_ITERATION
from resonance.services.space import Space


class Reporter(Protocol):
    """Progress channel of a running job."""

    def __call__(
        self, *, progress: float | None = None, message: str | None = None, log: str | None = None
    ) -> None:
        """Record progress (0..1), a message and/or a log line; raises when cancelled."""
        ...


class JobSpec(Protocol):
    """A kind's parameter record.

    A record may also define ``check(space, *, actor)``: checks cheap enough to run when the
    job is submitted (role, names, known inputs), so a bad job is refused at once with its
    coded error instead of failing later on a worker.
    """

    kind: ClassVar[JobKind]

    def run(self, space: Space, *, actor: str, report: Reporter) -> dict[str, Any]:
        """Do the work as ``actor``; return references to what was produced."""
        ...


JOB_SPECS: dict[JobKind, type[Any]] = {}


def job_spec(cls: type[Any]) -> type[Any]:
    """Class decorator registering a parameter record under its ``kind``."""
    JOB_SPECS[cls.kind] = cls
    return cls


def _matches(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin in (types.UnionType, typing.Union):
        return any(_matches(value, a) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if origin is list:
        (inner,) = typing.get_args(tp)
        return isinstance(value, list) and all(_matches(v, inner) for v in value)
    if origin is dict:
        key, val = typing.get_args(tp)
        return isinstance(value, dict) and all(
            _matches(k, key) and _matches(v, val) for k, v in value.items()
        )
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def parse_spec(kind: JobKind, params: dict[str, Any]) -> Any:
    """The typed record of ``kind`` built from ``params`` (RES-100 on any bad field)."""
    cls = JOB_SPECS[kind]
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise InvalidInput(
            f"unknown parameter(s) for a {kind.value} job: {', '.join(unknown)}; "
            f"known: {', '.join(sorted(fields))}",
            kind=kind.value,
            unknown=unknown,
        )
    missing = sorted(
        n
        for n, f in fields.items()
        if n not in params
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    )
    if missing:
        raise InvalidInput(
            f"missing parameter(s) for a {kind.value} job: {', '.join(missing)}",
            kind=kind.value,
            missing=missing,
        )
    for name, value in params.items():
        if not _matches(value, hints[name]):
            raise InvalidInput(
                f"parameter {name!r} of a {kind.value} job has the wrong type "
                f"(expected {hints[name]})",
                kind=kind.value,
                parameter=name,
            )
    return cls(**params)


def check_spec(spec: Any, space: Space, *, actor: str) -> None:
    """Run the record's submission checks, when it has any."""
    check = getattr(spec, "check", None)
    if check is not None:
        check(space, actor=actor)


def spec_params(spec: Any) -> dict[str, Any]:
    """The JSON parameters of a record (what the job row stores)."""
    return dataclasses.asdict(spec)


def _task(value: str) -> Any:
    from resonance.domain.modeling import Task

    try:
        return Task(value)
    except ValueError as exc:
        raise InvalidInput(f"unknown task {value!r}; use classification or regression") from exc


@job_spec
@dataclass(frozen=True)
class TrainJob:
    """Train the next version of ``name`` in the sandbox (``resonance model train``)."""

    kind: ClassVar[JobKind] = JobKind.TRAIN

    name: str
    datasets: list[str]
    trainer: str = "lightgbm"
    task: str | None = None  # a check: the datasets' label spec declares the task
    params: dict[str, Any] = field(default_factory=dict)
    features: list[str] | None = None
    exclude: list[str] = field(default_factory=list)
    seed: int = 0
    scenario: str | None = None
    time_features: dict[str, Any] | None = None  # TimeFeatures.to_dict()

    def check(self, space: Space, *, actor: str) -> None:
        """Name, task, time features and role at submission (data grants are checked when
        it runs)."""
        from resonance.domain.modeling import TimeFeatures
        from resonance.domain.orgs import Role, check_slug
        from resonance.services.orgs import require_role

        check_slug(self.name, what="model")
        if self.task is not None:
            _task(self.task)
        TimeFeatures.from_dict(self.time_features)
        with space.work() as w:
            require_role(w.tx, actor, Role.MODEL_BUILDER)

    def run(self, space: Space, *, actor: str, report: Reporter) -> dict[str, Any]:
        """Train; returns ``{"model": NAME@N}``."""
        from resonance.domain.modeling import ModelSpec, TimeFeatures
        from resonance.services import training

        spec = ModelSpec(
            trainer=self.trainer,
            task=_task(self.task) if self.task is not None else None,
            params=dict(self.params),
            feature_columns=tuple(self.features) if self.features else None,
            exclude_columns=tuple(self.exclude),
            time_features=TimeFeatures.from_dict(self.time_features),
        )
        report(progress=0.05, message="training", log=f"training {self.name} ({self.trainer})")
        model = training.train_model(
            space,
            actor=actor,
            name=self.name,
            spec=spec,
            datasets=list(self.datasets),
            seed=self.seed,
            scenario=self.scenario or None,
        )
        return {"model": model.ref}


@job_spec
@dataclass(frozen=True)
class LoopJob:
    """Run the resonance loop to the end (``resonance loop run``)."""

    kind: ClassVar[JobKind] = JobKind.LOOP

    name: str
    datasets: list[str]
    budget: int
    suite: str
    reserves: list[str] = field(default_factory=list)
    trainer: str = "lightgbm"
    iterations: int = 3
    params: dict[str, Any] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    seed: int = 0
    task: str | None = None  # a check: the datasets' label spec declares the task
    time_features: dict[str, Any] | None = None  # TimeFeatures.to_dict()
    confidence: float = DEFAULT_CONFIDENCE  # the paired test (resonance.domain.acceptance)
    min_gain: float = DEFAULT_MIN_GAIN
    max_slice_drop: float = DEFAULT_MAX_SLICE_DROP
    queries_per_iteration: int = DEFAULT_QUERIES_PER_ITERATION

    def request(self) -> Any:
        """The loop service's request."""
        from resonance.domain.modeling import ModelSpec, TimeFeatures
        from resonance.services.loop_data import LoopRequest

        return LoopRequest(
            name=self.name,
            spec=ModelSpec(
                trainer=self.trainer,
                task=_task(self.task) if self.task is not None else None,
                params=dict(self.params),
                exclude_columns=tuple(self.exclude),
                time_features=TimeFeatures.from_dict(self.time_features),
            ),
            datasets=list(self.datasets),
            reserves=list(self.reserves),
            budget=self.budget,
            suite=self.suite,
            iterations=self.iterations,
            seed=self.seed,
            confidence=float(self.confidence),
            min_gain=float(self.min_gain),
            max_slice_drop=float(self.max_slice_drop),
            queries_per_iteration=int(self.queries_per_iteration),
        )

    def check(self, space: Space, *, actor: str) -> None:
        """The loop's own checks (role, name, suite budget) at submission."""
        from resonance.services import loop as loops

        loops._check_request(space, actor, self.request())

    def run(self, space: Space, *, actor: str, report: Reporter) -> dict[str, Any]:
        """Run the loop, reporting each step; returns ``{"loop_run": NAME, ...}``."""
        from resonance.services import loop as loops

        def step(message: str, done: int, total: int) -> None:
            report(progress=done / max(total, 1), message=message, log=message)

        run = loops.run(space, actor=actor, request=self.request(), progress=step)
        return {
            "loop_run": run.name,
            "model": run.summary.final_model if run.summary else run.model,
            "dataset": run.summary.final_dataset if run.summary else run.dataset,
        }


@job_spec
@dataclass(frozen=True)
class FederateJob:
    """Federated co-training on Flower, embedded mode (``resonance federate run``)."""

    kind: ClassVar[JobKind] = JobKind.FEDERATE

    name: str
    datasets: list[str]
    strategy: str = "fedavg"
    model: str = "linear"
    rounds: int = 10
    mu: float = 0.01
    server_lr: float = 0.1
    hidden: int = 32
    epochs: int = 2
    lr: float = 0.02
    dp_noise: float = 0.0
    dp_clip: float = 1.0
    secure_aggregation: bool = False
    exclude: list[str] = field(default_factory=list)
    seed: int = 0
    backend: str = "numpy"
    time_features: dict[str, Any] | None = None  # TimeFeatures.to_dict(), embedded mode

    def check(self, space: Space, *, actor: str) -> None:
        """Name, role and members (known versions of distinct owners) at submission."""
        from resonance.domain.orgs import Role, check_slug
        from resonance.services import federation
        from resonance.services.orgs import require_role

        check_slug(self.name, what="model")
        with space.work() as w:
            require_role(w.tx, actor, Role.MODEL_BUILDER)
        federation.resolve_members(space, list(self.datasets))

    def run(self, space: Space, *, actor: str, report: Reporter) -> dict[str, Any]:
        """Federate; returns ``{"model": NAME@N}``."""
        from resonance.domain.modeling import TimeFeatures
        from resonance.services import federation
        from resonance.services.federation import FederationConfig

        cfg = FederationConfig(
            kind=self.model,
            strategy=self.strategy,
            rounds=self.rounds,
            proximal_mu=self.mu,
            server_lr=self.server_lr,
            hidden=self.hidden,
            local={"epochs": float(self.epochs), "lr": self.lr, "batch_size": 32.0},
            dp_noise=self.dp_noise,
            dp_clip=self.dp_clip,
            secure_aggregation=self.secure_aggregation,
            seed=self.seed,
            backend=self.backend,
        )
        report(progress=0.05, message="federating", log=f"{self.rounds} rounds, {self.strategy}")
        model = federation.federate(
            space,
            actor=actor,
            name=self.name,
            datasets=list(self.datasets),
            config=cfg,
            exclude=tuple(self.exclude),
            time_features=TimeFeatures.from_dict(self.time_features),
        )
        return {"model": model.ref}


@job_spec
@dataclass(frozen=True)
class DiagnoseJob:
    """Score a model on a sealed suite and diagnose it (``resonance eval run``)."""

    kind: ClassVar[JobKind] = JobKind.DIAGNOSE

    model: str
    suite: str
    label_issues: bool = True

    def run(self, space: Space, *, actor: str, report: Reporter) -> dict[str, Any]:
        """Evaluate with diagnosis; returns ``{"evaluation_run": ID, ...}``."""
        from resonance.services import evaluation

        report(progress=0.05, message="evaluating", log=f"{self.model} on {self.suite}")
        run = evaluation.evaluate(
            space,
            actor=actor,
            model=self.model,
            suite=self.suite,
            diagnose=True,
            label_issues=self.label_issues,
        )
        return {"evaluation_run": run.id, "model": run.model, "suite": run.suite}


@job_spec
@dataclass(frozen=True)
class ValuateJob:
    """Value each member's contribution to a model (``resonance value``)."""

    kind: ClassVar[JobKind] = JobKind.VALUATE

    model: str
    suite: str
    k: int = 5
    permutations: int = 100
    seed: int = 0

    def run(self, space: Space, *, actor: str, report: Reporter) -> dict[str, Any]:
        """Value; returns the model, the suite and the per-member values (aggregates only)."""
        from resonance.services import valuation

        report(progress=0.05, message="valuing", log=f"{self.model} on {self.suite}")
        result = valuation.value_model(
            space,
            actor=actor,
            model=self.model,
            suite=self.suite,
            k=self.k,
            permutations=self.permutations,
            seed=self.seed,
        )
        return {"valuation_of": result.model, "suite": result.suite, "valuation": result.to_dict()}


@job_spec
@dataclass(frozen=True)
class ReportJob:
    """Build, render and hand in a report (``resonance report submit``)."""

    kind: ClassVar[JobKind] = JobKind.REPORT

    report: str
    province: str | None = None
    enterprise: str | None = None
    as_of: str | None = None
    format: str = "md"

    def run(self, space: Space, *, actor: str, report: Reporter) -> dict[str, Any]:
        """Build and submit; returns the submission's content hash."""
        from resonance.domain.reporting import ReportKind
        from resonance.reports.render import render
        from resonance.services import reports

        try:
            kind = ReportKind(self.report)
            as_of = date.fromisoformat(self.as_of) if self.as_of else None
        except ValueError as exc:
            raise InvalidInput(f"bad report job: {exc}") from exc
        report(progress=0.1, message="building", log=f"building the {kind.value} report")
        data = reports.build_report(
            space, kind=kind, province=self.province, enterprise=self.enterprise, as_of=as_of
        )
        content = render(data, self.format).encode()
        sub = reports.submit_report(space, actor=actor, data=data, content=content, fmt=self.format)
        return {"report": sub.kind.value, "subject": sub.subject, "content_hash": sub.content_hash}


__all__: list[str] = [
    "JOB_SPECS",
    "DiagnoseJob",
    "FederateJob",
    "JobSpec",
    "LoopJob",
    "ReportJob",
    "Reporter",
    "TrainJob",
    "ValuateJob",
    "parse_spec",
    "spec_params",
]


@job_spec
@dataclass(frozen=True)
class AgentRunJob:
    """Run an agent over the newest window of a dataset (``resonance agent run``)."""

    kind: ClassVar[JobKind] = JobKind.AGENT_RUN

    agent: str
    dataset: str | None = None
    window: int = 96

    def run(self, space: Space, *, actor: str, report: Reporter) -> dict[str, Any]:
        """Run it; returns ``{"run": ID, "status": ...}`` (the job's cancel stops it too)."""
        from resonance.services import agents

        def step(done: int, total: int) -> None:
            report(progress=done / max(total, 1), message=f"step {done}/{total}")

        result = agents.run(
            space,
            actor=actor,
            agent=self.agent,
            dataset=self.dataset,
            window=self.window,
            on_step=step,
        )
        return {"run": result.id, "status": result.status.value, "result": result.result}


@job_spec
@dataclass(frozen=True)
class AgentEvalJob:
    """Run an agent through a sealed episode set (``resonance agent evaluate``)."""

    kind: ClassVar[JobKind] = JobKind.AGENT_EVAL

    agent: str
    episodes: str

    def run(self, space: Space, *, actor: str, report: Reporter) -> dict[str, Any]:
        """Evaluate; returns ``{"evaluation": ID, "metrics": {...}}`` (task metrics only)."""
        from resonance.services import agents

        def episode(done: int, total: int) -> None:
            report(progress=done / max(total, 1), message=f"episode {done}/{total}")

        ev = agents.evaluate(
            space, actor=actor, agent=self.agent, episodes=self.episodes, on_episode=episode
        )
        return {"evaluation": ev.id, "agent": ev.ref, "metrics": ev.metrics}
