"""Use cases of the agent factory: create (from a template), show, list, run, stop,
register sealed episodes, evaluate.

Every tool an agent calls goes through :class:`ToolGateway`: a tool its spec does not
give it, or a model version it does not list, is refused (RES-240 / RES-241) and the
refusal is on the ledger; ``observe`` is a policy-checked use of a dataset
(:func:`resonance.services.access.authorize`, purpose ``evaluate``: the rows are scored
inside the space and never leave it); ``predict`` loads only the spec's model versions
(:func:`resonance.services.training.load_model`); ``act`` writes an alarm to the
notification sink (an ``agent.acted`` entry), refused beyond the spec's limits
(RES-243, counted as a constraint violation); ``escalate`` puts a review item in the
row owner's queue (:func:`resonance.services.review.propose`). A run checks its kill
switch (:func:`stop`) between steps.

Sealed evaluation: an evaluator registers episodes over held-out history of one of its
datasets (:func:`register_episodes`); a builder's agent runs through them
(:func:`evaluate`, a job) and gets task metrics only, within the set's budget.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from resonance.domain.agents import (
    AgentEvaluation,
    AgentLimits,
    AgentRun,
    AgentSpec,
    Consultation,
    Decision,
    EnvironmentKind,
    Episode,
    EpisodeSet,
    Fault,
    FaultKind,
    LlmPlanner,
    ModelLineage,
    PlannerKind,
    PlannerParams,
    RulePlanner,
    RunStatus,
    Signal,
    Template,
    Tool,
    episode_metrics,
    make_episodes,
    make_sim_episodes,
    summarize,
    tune_planner,
)
from resonance.domain.datasets import Task
from resonance.domain.errors import (
    AgentStopped,
    AlreadyExists,
    EnvironmentUnavailable,
    EpisodeBudgetExhausted,
    InvalidInput,
    ModelNotAllowed,
    NotFound,
    RoleRequired,
    TaskNotSupported,
    ToolNotAllowed,
)
from resonance.domain.events import (
    AgentActed,
    AgentCreated,
    AgentEpisodesRegistered,
    AgentEvaluated,
    AgentPlannerConsulted,
    AgentRunFinished,
    AgentStopRequested,
    AgentToolDenied,
)
from resonance.domain.orgs import Role
from resonance.domain.policies import Purpose
from resonance.domain.refs import parse_ref
from resonance.services.orgs import require_org, require_role
from resonance.services.space import Space
from resonance.storage.store import Tx

if TYPE_CHECKING:
    import pyarrow as pa

    from resonance.domain.modeling import ModelVersion
    from resonance.training.trainers import FittedModel

TEMPLATE_TASK = {
    Template.ENERGY_ANOMALY: Task.REGRESSION,
    Template.FAULT_DETECTION: Task.CLASSIFICATION,
}
TEMPLATE_GOALS = {
    Template.ENERGY_ANOMALY: "alert on abnormal energy use early, without crying wolf",
    Template.FAULT_DETECTION: "detect process faults early and hand lasting ones to a person",
}
DEFAULT_TOOLS = frozenset(Tool)
SINK = "notification"


# --- reading ---


def require_agent(tx: Tx, ref: str) -> AgentSpec:
    """The agent version ``name@N`` (or the latest of ``name``), else ``NotFound``."""
    name, number = parse_ref(ref, what="agent")
    spec = tx.get_agent(name, number)
    if spec is None:
        raise NotFound(f"unknown agent {ref!r}", agent=ref)
    return spec


def get_agent(space: Space, ref: str) -> AgentSpec:
    """One agent version."""
    with space.work() as w:
        return require_agent(w.tx, ref)


def list_agents(space: Space, *, owner: str | None = None) -> list[AgentSpec]:
    """Every agent version (of one owner when given), by name and version."""
    with space.work() as w:
        return w.tx.list_agents(owner=owner)


def card(space: Space, ref: str) -> str:
    """The agent's card (Markdown): goal, tools, models and their datasets, planner,
    limits and its sealed scores."""
    with space.work() as w:
        spec = require_agent(w.tx, ref)
        evals = w.tx.list_agent_evaluations(agent=spec.name)
    lines = [
        f"# Agent card: {spec.ref}",
        "",
        f"- scenario: {spec.scenario} ({spec.industry or 'no industry'})",
        f"- template: {spec.template}",
        f"- goal: {spec.goal}",
        f"- owner: {spec.owner}; created {spec.created_at}",
        f"- tools: {', '.join(sorted(t.value for t in spec.tools))}",
        f"- observes: {', '.join(spec.observes) or '-'}",
        f"- step: {spec.step_minutes:g} minutes",
        "",
        "## Models and their data (lineage)",
        "",
    ]
    for m in spec.models:
        pairs = ", ".join(
            f"{d} ({h[:12]})" for d, h in zip(m.datasets, m.dataset_hashes, strict=True)
        )
        lines.append(f"- {m.model} (artifact {m.artifact_hash[:12]}): {pairs}")
    p, lim = spec.planner, spec.limits
    lines += [
        "",
        "## Decision policy",
        "",
        f"- planner: {spec.planner_kind.value}; signal: {spec.signal.kind} of {spec.signal.target}"
        f" (center {spec.signal.center:.4g}, scale {spec.signal.scale:.4g})",
        f"- alarm at |EWMA(alpha={p.alpha:g})| >= {p.on:.4g} for {p.persistence} step(s); "
        f"clear below {p.off:.4g}",
        f"- limits: {lim.actions_per_hour} actions per hour; escalate after "
        f"{lim.escalate_after or 'never'} alarmed steps",
    ]
    if spec.tuning:
        lines.append(f"- tuned on training episodes: {spec.tuning}")
    lines += ["", "## Sealed evaluations (task metrics only; lower = better)", ""]
    for e in evals:
        got = e.metrics
        lines.append(
            f"- {e.ref} on {e.episodes}: mean delay {got.get('mean_delay_hours')} h, "
            f"false alarms {got.get('false_alarm_rate_per_100h')}/100 h, missed "
            f"{got.get('missed')}/{got.get('faulty')}, violations {got.get('violations')}"
        )
    if not evals:
        lines.append("- none yet")
    return "\n".join(lines) + "\n"


# --- scoring (the predict tool's arithmetic) ---


def score_rows(fitted: FittedModel, signal: Signal, table: pa.Table) -> np.ndarray:
    """Anomaly scores of ``table``'s rows from a model's output (higher = more anomalous).

    A regression model gives the standardized residual of the target; a classifier
    gives ``1 - P(normal)`` standardized.
    """
    prepared = fitted.prepare(table)
    if signal.kind == "residual":
        pred = fitted.predict(prepared.X)
        actual = np.asarray(table.column(signal.target).to_numpy(zero_copy_only=False), float)
        raw = actual - pred
    else:
        proba = fitted.predict_proba(prepared.X)
        raw = 1.0 - proba[:, list(fitted.classes).index(str(signal.normal))]
    return np.asarray((raw - signal.center) / signal.scale, dtype=float)


# --- the tool gateway ---


@dataclass
class ToolGateway:
    """Every tool call of one run goes through here: spec check, policy check, ledger."""

    space: Space
    spec: AgentSpec
    actor: str
    run: str
    calls: Counter[str] = field(default_factory=Counter)
    _models: dict[str, FittedModel] = field(default_factory=dict)
    _acts: list[int] = field(default_factory=list)
    violations: int = 0

    def require(self, tool: Tool) -> None:
        """Refuse (and record) a tool the spec does not give."""
        if tool not in self.spec.tools:
            self._deny(tool.value, f"the spec of {self.spec.ref} does not give the tool")
            raise ToolNotAllowed(
                f"agent {self.spec.ref} may not {tool.value}: its spec gives "
                f"{', '.join(sorted(t.value for t in self.spec.tools))}",
                agent=self.spec.ref,
                tool=tool.value,
            )
        self.calls[tool.value] += 1

    def _deny(self, tool: str, reason: str) -> None:
        with self.space.work() as w:
            w.emit(
                AgentToolDenied(
                    actor=self.actor,
                    object_id=self.spec.ref,
                    run=self.run,
                    tool=tool,
                    reason=reason,
                )
            )

    def observe(self, ref: str, *, window: int) -> tuple[Any, pa.Table]:
        """The newest ``window`` rows of a dataset version the actor may use to ``evaluate``
        (policy-checked, on the ledger; the rows stay in the space)."""
        from resonance.services import access

        self.require(Tool.OBSERVE)
        grant = access.authorize(
            self.space,
            actor=self.actor,
            ref=ref,
            purpose=Purpose.EVALUATE,
            context={"agent": self.spec.ref, "run": self.run},
        )
        table = access.load_rows(self.space, grant.version)
        start = max(0, table.num_rows - window)
        return grant, table.slice(start)

    def observe_environment(self) -> None:
        """An observation of a sealed episode (the environment hands the row over)."""
        self.require(Tool.OBSERVE)

    def model(self, ref: str) -> FittedModel:
        """A model version the spec lists, loaded once per run (RES-241 otherwise)."""
        if ref not in self.spec.model_refs:
            self._deny(Tool.PREDICT.value, f"model {ref} is not in the spec")
            raise ModelNotAllowed(
                f"agent {self.spec.ref} may call {', '.join(self.spec.model_refs) or 'no model'}"
                f", not {ref}",
                agent=self.spec.ref,
                model=ref,
            )
        if ref not in self._models:
            from resonance.services import training

            with self.space.work() as w:
                version = training.require_model(w.tx, ref)
            self._models[ref] = training.load_model(self.space, version)
        return self._models[ref]

    def predict(self, table: pa.Table, *, model: str | None = None) -> np.ndarray:
        """Anomaly scores of ``table`` from the spec's (first, or named) model."""
        self.require(Tool.PREDICT)
        ref = model or self.spec.model_refs[0]
        return score_rows(self.model(ref), self.spec.signal, table)

    def allowed_act(self, step: int, value: float | None = None) -> str | None:
        """Why an action at ``step`` would break the spec's limits (None: allowed)."""
        lim: AgentLimits = self.spec.limits
        per_hour = max(1, round(60.0 / self.spec.step_minutes))
        recent = [s for s in self._acts if s > step - per_hour]
        if len(recent) >= lim.actions_per_hour:
            return f"more than {lim.actions_per_hour} actions per hour"
        if value is not None and not lim.value_min <= value <= lim.value_max:
            return f"value {value} outside [{lim.value_min}, {lim.value_max}]"
        return None

    def act(
        self,
        step: int,
        decision: Decision,
        *,
        score: float,
        record: bool,
        value: float | None = None,
    ) -> bool:
        """Send ``decision`` to the notification sink; ``False`` when the limits refuse it
        (a constraint violation, recorded). ``record`` puts it on the ledger (live runs)."""
        self.require(Tool.ACT)
        why = self.allowed_act(step, value)
        if why is not None:
            self.violations += 1
        else:
            self._acts.append(step)
        if record:
            with self.space.work() as w:
                w.emit(
                    AgentActed(
                        actor=self.actor,
                        object_id=self.spec.ref,
                        run=self.run,
                        step=step,
                        decision=decision.value,
                        sink=SINK,
                        score=round(float(score), 6) if math.isfinite(score) else None,
                        refused=why,
                    )
                )
        return why is None

    def escalate(
        self, step: int, *, grant: Any, row: int, table: pa.Table, score: float
    ) -> str | None:
        """A review item for the row's owner: check this row (a target fix or a relabel
        proposing the model's value). Returns the item id."""
        from resonance.domain.review import Evidence, Proposal, ProposalKind
        from resonance.services import review

        self.require(Tool.ESCALATE)
        fitted = self.model(self.spec.model_refs[0])
        one = table.slice(row - (grant.version.row_count - table.num_rows), 1)
        prepared = fitted.prepare(one)
        from resonance.training.features import label_values

        current = label_values(one, fitted.label)[0]
        current = current.item() if hasattr(current, "item") else current
        if self.spec.signal.kind == "residual":
            kind = ProposalKind.FIX_TARGET
            proposed: float | str = float(fitted.predict(prepared.X)[0])
        else:
            kind = ProposalKind.RELABEL
            proposed = fitted.classes[int(fitted.predict(prepared.X)[0])]
        result = review.propose(
            self.space,
            actor=self.actor,
            proposals=[
                Proposal(
                    owner=grant.dataset.owner,
                    dataset=grant.version.dataset,
                    version=grant.version.number,
                    row=row,
                    kind=kind,
                    current=current,
                    proposed=proposed,
                    evidence=Evidence(
                        loop=self.run,
                        iteration=step,
                        method=f"agent:{self.spec.ref}",
                        residual=float(score),
                    ),
                )
            ],
        )
        ids = result.created + result.updated + result.unchanged
        item = ids[0] if ids else None
        with self.space.work() as w:
            w.emit(
                AgentActed(
                    actor=self.actor,
                    object_id=self.spec.ref,
                    run=self.run,
                    step=step,
                    decision=Decision.ESCALATE.value,
                    sink="review",
                    score=round(float(score), 6),
                    review_item=item,
                )
            )
        return item


# --- create ---


def _lineage(version: ModelVersion) -> ModelLineage:
    return ModelLineage(
        model=version.ref,
        artifact_hash=version.artifact_hash,
        datasets=tuple(version.datasets),
        dataset_hashes=tuple(version.dataset_hashes),
    )


def _robust(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return 0.0, 1.0
    center = float(np.median(x))
    scale = 1.4826 * float(np.median(np.abs(x - center)))
    return center, scale if scale > 1e-12 else float(np.std(x)) or 1.0


def fault_unit(values: np.ndarray) -> float:
    """The unit of a replayed fault's magnitude: the watched value's step-to-step noise
    (robust standard deviation of first differences over the square root of two)."""
    d = np.diff(values[np.isfinite(values)])
    if len(d) == 0:
        return 1.0
    s = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2)
    return s if s > 1e-12 else float(np.std(values)) or 1.0


def with_fault(table: pa.Table, target: str, offset: np.ndarray) -> pa.Table:
    """``table`` with ``offset`` added to column ``target`` (a replayed fault)."""
    import pyarrow as pa

    i = table.column_names.index(target)
    values = np.asarray(table.column(target).to_numpy(zero_copy_only=False), float) + offset
    return table.set_column(i, target, pa.array(values))


@dataclass(frozen=True)
class TuneOptions:
    """How :func:`create` tunes thresholds on training episodes."""

    dataset: str
    episodes: int = 40
    length: int = 192
    seed: int = 0
    max_false_per_100h: float = 2.0
    magnitudes: tuple[float, float] = (2.0, 5.0)


def create(
    space: Space,
    *,
    actor: str,
    name: str,
    scenario: str,
    template: Template,
    models: list[str],
    observes: list[str] | None = None,
    goal: str | None = None,
    tools: frozenset[Tool] | None = None,
    normal: str | None = None,
    planner: PlannerParams | None = None,
    limits: AgentLimits | None = None,
    tune: TuneOptions | None = None,
    step_minutes: float = 15.0,
    planner_kind: PlannerKind = PlannerKind.RULES,
) -> AgentSpec:
    """Turn a scenario plus chosen model versions into the next version of an agent.

    ``energy-anomaly`` watches a regression model's standardized residual of its
    target; ``fault-detection`` watches a classifier's ``1 - P(normal)``. With ``tune``
    the signal's center and scale and the planner's thresholds are tuned on training
    episodes built from ``tune.dataset`` (a use for ``train-pooled``, on the ledger):
    faults of the template's kind injected into held-back history, the lowest mean
    delay within the false-alarm budget.

    Raises
    ------
    RoleRequired
        ``actor`` is not a model builder or the operator.
    TaskNotSupported
        RES-230: a model's task is not the template's (e.g. a classifier for
        ``energy-anomaly``).
    NotFound, InvalidInput
        An unknown model or dataset; bad fields. Nothing is stored.
    PlannerUnavailable
        RES-246: ``planner_kind`` ``llm`` without an ``[llm]`` endpoint inside the space.
    """
    from resonance.services import training

    with space.work() as w:
        require_role(w.tx, actor, Role.MODEL_BUILDER, Role.OPERATOR)
        if not models:
            raise InvalidInput("an agent calls at least one model version (--model)")
        versions = [training.require_model(w.tx, ref) for ref in models]
        scen = w.tx.get_scenario(scenario)
        industry = scen.industry if scen is not None else versions[0].industry
    if planner_kind is PlannerKind.LLM:  # refused before any tuning work
        from resonance.services import llm

        llm.require_inside(space.config.llm)
    want = TEMPLATE_TASK[template]
    for v in versions:
        if v.spec.task is not want:
            raise TaskNotSupported(
                f"template {template.value} needs a {want.value} model; {v.ref} is "
                f"{v.spec.task.value if v.spec.task else 'of no task'}",
                template=template.value,
                model=v.ref,
            )
    first = versions[0]
    target = training.load_model(space, first).label.columns[0]
    if want is Task.CLASSIFICATION and (not normal or normal not in first.classes):
        raise InvalidInput(
            f"fault-detection names the normal class of {first.ref} (--normal; classes: "
            f"{', '.join(first.classes)})",
            field="normal",
        )
    signal = Signal(
        kind="residual" if want is Task.REGRESSION else "probability",
        target=target,
        normal=normal if want is Task.CLASSIFICATION else None,
    )
    spec = AgentSpec(
        name=name,
        version=0,
        owner=actor,
        scenario=scenario,
        industry=industry,
        goal=goal or TEMPLATE_GOALS[template],
        template=template.value,
        models=tuple(_lineage(v) for v in versions),
        observes=tuple(observes or ()),
        tools=tools if tools is not None else DEFAULT_TOOLS,
        signal=signal,
        planner=planner or PlannerParams(),
        planner_kind=planner_kind,
        limits=limits or AgentLimits(escalate_after=8),
        step_minutes=step_minutes,
    ).checked()
    if tune is not None:
        spec = _tuned(space, spec, actor=actor, first=first, tune=tune)
    with space.work() as w:
        latest = w.tx.get_agent(name)
        if latest is not None and latest.owner != actor:
            raise AlreadyExists(f"agent {name!r} belongs to {latest.owner}", agent=name)
        spec = replace(spec, version=(latest.version + 1) if latest else 1, created_at=w.now)
        w.tx.add_agent(spec)
        w.emit(
            AgentCreated(
                actor=actor,
                object_id=spec.ref,
                scenario=spec.scenario,
                template=spec.template,
                models=list(spec.model_refs),
                observes=list(spec.observes),
                tools=sorted(t.value for t in spec.tools),
                planner=spec.planner.to_dict(),
                limits=spec.limits.to_dict(),
            )
        )
    return spec


def _tuned(
    space: Space, spec: AgentSpec, *, actor: str, first: ModelVersion, tune: TuneOptions
) -> AgentSpec:
    from resonance.services import access, training

    grant = access.authorize(
        space,
        actor=actor,
        ref=tune.dataset,
        purpose=Purpose.TRAIN_POOLED,
        context={"agent": spec.name, "use": "tune agent thresholds"},
    )
    table = access.load_rows(space, grant.version)
    fitted = training.load_model(space, first)
    unit_signal = replace(spec.signal, center=0.0, scale=1.0)
    training_eps: list[tuple[np.ndarray, Fault]]
    if spec.signal.kind == "residual":
        raw = score_rows(fitted, unit_signal, table)
        center, scale = _robust(raw)
        signal = replace(spec.signal, center=center, scale=scale)
        clean = (raw - center) / scale
        episodes = make_episodes(
            rows=table.num_rows,
            count=tune.episodes,
            length=min(tune.length, table.num_rows),
            seed=tune.seed,
            fault_share=1.0,
            magnitudes=tune.magnitudes,
        )
        unit = _unit_for(table, spec.signal, fitted)
        training_eps = []
        for ep in episodes:
            assert ep.fault is not None
            part = table.slice(ep.start, ep.length)
            part = with_fault(part, spec.signal.target, ep.fault.offset(ep.length) * unit)
            training_eps.append((score_rows(fitted, signal, part), ep.fault))
    else:  # a classifier's faults come with the data: each group is a recorded episode
        raw_clean, raw_eps = _recorded_episodes(grant.dataset, table, fitted, unit_signal)
        center, scale = _robust(raw_clean)
        signal = replace(spec.signal, center=center, scale=max(scale, 1e-3))
        clean = (raw_clean - center) / signal.scale
        training_eps = [((x - center) / signal.scale, f) for x, f in raw_eps]
    params, info = tune_planner(
        clean,
        training_eps,
        max_false_per_100h=tune.max_false_per_100h,
        step_minutes=spec.step_minutes,
    )
    info.update(dataset=grant.version.ref, max_false_per_100h=tune.max_false_per_100h)
    info["episodes"] = len(training_eps)
    return replace(spec, signal=signal, planner=params, tuning=info)


def _recorded_episodes(
    dataset: Any, table: pa.Table, fitted: FittedModel, signal: Signal
) -> tuple[np.ndarray, list[tuple[np.ndarray, Fault]]]:
    """The scores of a labelled history's normal rows, and one training episode per group
    (run) with a fault: onset at its first row not labelled normal."""
    from resonance.training.features import label_values

    if not dataset.group_key:
        raise InvalidInput(
            "tuning a fault-detection agent needs a history with a group key (one run each)",
            dataset=dataset.name,
        )
    scores = score_rows(fitted, signal, table)
    labels = np.asarray([str(v) for v in label_values(table, fitted.label)])
    groups = np.asarray(table.column(dataset.group_key).to_pylist())
    normal = labels == str(signal.normal)
    eps: list[tuple[np.ndarray, Fault]] = []
    for g in dict.fromkeys(groups.tolist()):
        idx = np.flatnonzero(groups == g)
        bad = np.flatnonzero(~normal[idx])
        if len(bad):
            eps.append((scores[idx], Fault(FaultKind.STEP, onset=int(bad[0]), magnitude=1.0)))
    return scores[normal], eps


def _unit_for(table: pa.Table, signal: Signal, fitted: FittedModel) -> float:
    if signal.kind != "residual":
        return 1.0
    return fault_unit(np.asarray(table.column(signal.target).to_numpy(zero_copy_only=False), float))


# --- run and the kill switch ---


def _finish_run(
    space: Space, run: AgentRun, gw: ToolGateway, status: RunStatus, **result: Any
) -> AgentRun:
    with space.work() as w:
        done = replace(
            run,
            status=status,
            finished_at=w.now,
            result={**result, "tool_calls": dict(gw.calls), "violations": gw.violations},
            stop_requested=w.tx.agent_stop_requested(run.id),
        )
        w.tx.update_agent_run(done)
        w.emit(
            AgentRunFinished(
                actor=run.organization,
                object_id=gw.spec.ref,
                run=run.id,
                status=status.value,
                steps=int(result.get("steps", 0)),
                tool_calls=dict(gw.calls),
                alarms=int(result.get("alarms", 0)),
                escalations=int(result.get("escalations", 0)),
                violations=gw.violations,
            )
        )
    return done


def run(
    space: Space,
    *,
    actor: str,
    agent: str,
    dataset: str | None = None,
    window: int = 96,
    on_step: Callable[[int, int], None] | None = None,
) -> AgentRun:
    """Run an agent over the newest ``window`` rows of a dataset it observes: observe →
    predict → plan → act (alarms to the notification sink) or escalate (a review item in
    the owner's queue), step by step; the kill switch is checked between steps.

    ``on_step(step, steps)`` is called after each step (a job's progress).

    Raises
    ------
    RoleRequired
        Only the agent's owner (or the operator) runs it.
    ToolNotAllowed, ModelNotAllowed, PolicyDenied
        RES-240 / RES-241 / RES-120 (each recorded; the run is marked failed).
    """
    with space.work() as w:
        org = require_org(w.tx, actor)
        spec = require_agent(w.tx, agent)
        if spec.owner != actor and not org.has_role(Role.OPERATOR):
            raise RoleRequired(f"only {spec.owner} (or the operator) runs {spec.ref}")
        ref = dataset or (spec.observes[0] if spec.observes else None)
        if ref is None:
            raise InvalidInput(f"agent {spec.ref} observes no dataset; name one (--dataset)")
        if window < 1 or window > 100_000:
            raise InvalidInput("the window is 1..100000 rows", field="window")
        record = AgentRun(
            id=f"agr-{uuid.uuid4().hex[:12]}",
            agent=spec.name,
            version=spec.version,
            organization=actor,
            status=RunStatus.RUNNING,
            started_at=w.now,
        )
        w.tx.add_agent_run(record)
    gw = ToolGateway(space, spec, actor, record.id)
    planner = new_planner(space, spec)
    consulted = 0
    alarms = escalations = steps = 0
    items: list[str] = []
    try:
        grant, table = gw.observe(ref, window=window)
        scores = gw.predict(table)
        first_row = grant.version.row_count - table.num_rows
        for i, score in enumerate(scores):
            with space.work() as w:
                if w.tx.agent_stop_requested(record.id):
                    raise AgentStopped(f"agent {spec.ref} was stopped at step {i}", run=record.id)
            decision = planner.step(float(score))
            if isinstance(planner, LlmPlanner) and len(planner.consulted) > consulted:
                _record_consultations(space, gw, planner.consulted[consulted:])
                consulted = len(planner.consulted)
            if decision in (Decision.ALARM, Decision.CLEAR):
                if (
                    gw.act(i, decision, score=float(score), record=True)
                    and decision is Decision.ALARM
                ):
                    alarms += 1
            elif decision is Decision.ESCALATE:
                item = gw.escalate(
                    i, grant=grant, row=first_row + i, table=table, score=float(score)
                )
                escalations += 1
                if item:
                    items.append(item)
            steps = i + 1
            if on_step is not None:
                on_step(steps, len(scores))
    except AgentStopped:
        return _finish_run(
            space, record, gw, RunStatus.STOPPED, steps=steps, alarms=alarms,
            escalations=escalations, review_items=items,
        )  # fmt: skip
    except BaseException as exc:
        code = getattr(exc, "code", type(exc).__name__)
        _finish_run(
            space, record, gw, RunStatus.FAILED, steps=steps, alarms=alarms,
            escalations=escalations, review_items=items, error=str(code),
        )  # fmt: skip
        raise
    return _finish_run(
        space, record, gw, RunStatus.FINISHED, steps=steps, alarms=alarms,
        escalations=escalations, review_items=items, dataset=grant.version.ref,
    )  # fmt: skip


def _record_consultations(space: Space, gw: ToolGateway, asked: list[Consultation]) -> None:
    model = space.config.llm.model if space.config.llm else ""
    with space.work() as w:
        for c in asked:
            w.emit(
                AgentPlannerConsulted(
                    actor=gw.actor,
                    object_id=gw.spec.ref,
                    run=gw.run,
                    step=c.step,
                    proposed=c.proposed.value,
                    decision=c.decision.value,
                    reason=c.reason,
                    model=model,
                    prompt=c.messages[-1]["content"][:4000],
                    answer=c.answer[:4000],
                )
            )


def stop(space: Space, *, actor: str, agent: str) -> list[str]:
    """Pull the kill switch: every running run of ``agent`` stops before its next step.

    Returns the ids of the runs told to stop. Only the owner or the operator may.
    """
    with space.work() as w:
        org = require_org(w.tx, actor)
        spec = require_agent(w.tx, agent)
        if spec.owner != actor and not org.has_role(Role.OPERATOR):
            raise RoleRequired(f"only {spec.owner} (or the operator) stops {spec.name}")
        runs = w.tx.request_agent_stop(spec.name)
        w.emit(AgentStopRequested(actor=actor, object_id=spec.name, runs=runs))
    return runs


def list_runs(space: Space, *, agent: str | None = None) -> list[AgentRun]:
    """Runs, oldest first."""
    with space.work() as w:
        return w.tx.list_agent_runs(agent=agent)


# --- sealed episodes and evaluation ---


def register_episodes(
    space: Space,
    *,
    actor: str,
    name: str,
    dataset: str | None,
    count: int,
    length: int,
    seed: int,
    budget: int = 5,
    fault_share: float = 0.75,
    magnitudes: tuple[float, float] = (2.0, 5.0),
    step_minutes: float = 15.0,
    environment: EnvironmentKind = EnvironmentKind.REPLAY,
    idvs: tuple[int, ...] = (),
) -> EpisodeSet:
    """An evaluator's sealed episodes: REPLAY over one of its own datasets, or TEP runs
    (tep-studio) with disturbances drawn from ``idvs``.

    Starts, seeds and fault schedules are drawn from ``seed`` and stored; only the
    set's summary (count, budget) is ever shown to others.
    """
    from resonance.services.catalog import require_dataset, resolve_version

    with space.work() as w:
        require_role(w.tx, actor, Role.EVALUATOR, Role.OPERATOR)
        if w.tx.get_episode_set(name) is not None:
            raise AlreadyExists(f"episode set {name!r} exists", episodes=name)
        if environment is EnvironmentKind.TEP:
            from resonance.services import tep

            # the request is checked first: a bad one is a 4xx whether or not the
            # optional simulator is installed
            episodes = make_sim_episodes(
                count=count, length=length, seed=seed, idvs=idvs, fault_share=fault_share
            )
            if not tep.available():
                raise EnvironmentUnavailable(
                    "TEP episodes need tep-studio: pip install 'resonance[agents]'"
                )
            ref = None
            step_minutes = tep.STEP_HOURS * 60
        else:
            if not dataset:
                raise InvalidInput("replay episodes name the dataset to replay (--dataset)")
            version = resolve_version(w.tx, dataset)
            ds = require_dataset(w.tx, version.dataset)
            if ds.owner != actor:
                raise RoleRequired(f"{actor} registers episodes over its own datasets only")
            ref = version.ref
            episodes = make_episodes(
                rows=version.row_count,
                count=count,
                length=length,
                seed=seed,
                fault_share=fault_share,
                magnitudes=magnitudes,
            )
        es = EpisodeSet(
            name=name,
            owner=actor,
            environment=environment,
            dataset=ref,
            episodes=tuple(episodes),
            budget=budget,
            created_at=w.now,
            step_minutes=step_minutes,
        ).checked()
        w.tx.add_episode_set(es)
        w.emit(
            AgentEpisodesRegistered(
                actor=actor,
                object_id=name,
                environment=es.environment.value,
                dataset=es.dataset,
                episodes=len(es.episodes),
                budget=budget,
            )
        )
    return es


def list_episode_sets(space: Space) -> list[dict[str, Any]]:
    """Summaries of the sealed episode sets (no episode's contents)."""
    with space.work() as w:
        return [s.summary() for s in w.tx.list_episode_sets()]


@dataclass(frozen=True)
class EpisodeRun:
    """One agent's per-step alarm states and counts on one episode (kept inside the space)."""

    alarmed: np.ndarray
    actions: int
    escalations: int
    violations: int


def new_planner(space: Space, spec: AgentSpec) -> RulePlanner | LlmPlanner:
    """The planner of ``spec`` for one run or episode: the rules, or (``llm``) the rules
    proposing and the operator's endpoint deciding.

    Raises
    ------
    PlannerUnavailable
        RES-246: ``llm`` without an ``[llm]`` endpoint inside the space.
    """
    rules = RulePlanner(spec.planner, escalate_after=spec.limits.escalate_after)
    if spec.planner_kind is PlannerKind.RULES:
        return rules
    from resonance.services import llm

    settings = llm.require_inside(space.config.llm)
    return LlmPlanner(rules, goal=spec.goal, ask=lambda messages: llm.chat(settings, messages))


def run_episode(gw: ToolGateway, scores: np.ndarray) -> EpisodeRun:
    """The agent's closed loop over one episode's scores: plan each step, act within limits.

    On a sealed episode an LLM planner's questions are not ledgered one by one (their
    scores come from sealed rows); like every step there, only task metrics leave."""
    planner = new_planner(gw.space, gw.spec)
    alarmed = np.zeros(len(scores), dtype=bool)
    before = gw.violations
    actions = escalations = 0
    gw._acts.clear()
    for i, s in enumerate(scores):
        d = planner.step(float(s))
        if d in (Decision.ALARM, Decision.CLEAR):
            if gw.act(i, d, score=float(s), record=False):
                actions += 1
        elif d is Decision.ESCALATE:
            gw.require(Tool.ESCALATE)  # a sealed row is never put in a queue: counted only
            escalations += 1
        alarmed[i] = planner.alarmed
    return EpisodeRun(alarmed, actions, escalations, gw.violations - before)


def evaluate(
    space: Space,
    *,
    actor: str,
    agent: str,
    episodes: str,
    on_episode: Callable[[int, int], None] | None = None,
) -> AgentEvaluation:
    """Run an agent through a sealed episode set; only task metrics come back.

    The set's owner reads its rows for the evaluation (``evaluate``, on the ledger on the
    builder's behalf); each episode replays ``length`` rows from its start with its
    fault added to the watched column; the agent observes, predicts and acts through its
    gateway. One evaluation spends one of the builder organization's ``budget``.

    Raises
    ------
    EpisodeBudgetExhausted
        RES-244 when the organization spent the set's budget.
    """

    with space.work() as w:
        org = require_org(w.tx, actor)
        spec = require_agent(w.tx, agent)
        if spec.owner != actor and not org.has_role(Role.OPERATOR):
            raise RoleRequired(f"only {spec.owner} (or the operator) evaluates {spec.ref}")
        es = w.tx.get_episode_set(episodes)
        if es is None:
            raise NotFound(f"unknown episode set {episodes!r}", episodes=episodes)
        spent = len(w.tx.list_agent_evaluations(episodes=es.name, organization=actor))
        if spent >= es.budget:
            raise EpisodeBudgetExhausted(
                f"{actor} spent its {es.budget} evaluations on {es.name}",
                episodes=es.name,
                budget=es.budget,
            )
    run_id = f"agev-{uuid.uuid4().hex[:12]}"
    gw = ToolGateway(space, spec, actor, run_id)
    episode_rows = _environment(space, es, spec, actor)
    outcomes, onsets = [], []
    for k, ep in enumerate(es.episodes):
        part = episode_rows(ep)
        gw.observe_environment()
        scores = gw.predict(part)
        r = run_episode(gw, scores)
        outcomes.append(
            episode_metrics(
                r.alarmed, ep.fault, violations=r.violations, actions=r.actions,
                escalations=r.escalations,
            )
        )  # fmt: skip
        onsets.append(None if ep.fault is None else ep.fault.onset)
        if on_episode is not None:
            on_episode(k + 1, len(es.episodes))
    metrics = summarize(outcomes, onsets, step_minutes=es.step_minutes).to_dict()
    metrics["tool_calls"] = dict(gw.calls)
    with space.work() as w:
        spent = len(w.tx.list_agent_evaluations(episodes=es.name, organization=actor))
        if spent >= es.budget:
            raise EpisodeBudgetExhausted(
                f"{actor} spent its {es.budget} evaluations on {es.name}", episodes=es.name
            )
        ev = AgentEvaluation(
            id=run_id,
            agent=spec.name,
            version=spec.version,
            episodes=es.name,
            organization=actor,
            created_at=w.now,
            metrics=metrics,
        )
        w.tx.add_agent_evaluation(ev)
        w.emit(
            AgentEvaluated(
                actor=actor, object_id=spec.ref, episodes=es.name, evaluation=ev.id, metrics=metrics
            )
        )
    return ev


def _environment(
    space: Space, es: EpisodeSet, spec: AgentSpec, actor: str
) -> Callable[[Episode], pa.Table]:
    """What the agent observes in each episode of ``es``: replayed rows with the fault
    added (read by the set's owner, on the ledger), or a fresh TEP run."""
    from resonance.services import access

    if es.environment is EnvironmentKind.TEP:
        from resonance.services import tep

        def simulated(ep: Episode) -> pa.Table:
            idv = 0 if ep.fault is None else ep.fault.idv
            onset = 0 if ep.fault is None else ep.fault.onset
            return tep.simulate(seed=ep.seed, steps=ep.length, idv=idv, onset=onset)

        return simulated
    assert es.dataset is not None
    grant = access.authorize(
        space,
        actor=es.owner,
        ref=es.dataset,
        purpose=Purpose.EVALUATE,
        context={"on_behalf_of": actor, "agent": spec.ref, "episodes": es.name},
    )
    table = access.load_rows(space, grant.version)
    target = spec.signal.target
    if target not in table.column_names:
        raise InvalidInput(
            f"agent {spec.ref} watches {target!r}, which {es.dataset} does not hold",
            agent=spec.ref,
        )
    unit = fault_unit(np.asarray(table.column(target).to_numpy(zero_copy_only=False), float))
    return lambda ep: _episode_rows(table, ep, target, unit)


def _episode_rows(table: pa.Table, ep: Episode, target: str, unit: float) -> pa.Table:
    part = table.slice(ep.start, ep.length)
    if ep.fault is None:
        return part
    return with_fault(part, target, ep.fault.offset(part.num_rows) * unit)


def evaluations(space: Space, *, agent: str | None = None) -> list[AgentEvaluation]:
    """Sealed evaluations (task metrics only), oldest first."""
    with space.work() as w:
        return w.tx.list_agent_evaluations(agent=agent)


def list_in_registry(space: Space, *, actor: str, agent: str, evaluation: str | None = None) -> Any:
    """Enter an evaluated agent in the Specialized Model/Agent list (kind ``agent``) with
    its sealed scores; landing cases then attach to it by name as to models."""
    from resonance.domain.registry import ModelEntry, ModelKind
    from resonance.services import registry

    with space.work() as w:
        spec = require_agent(w.tx, agent)
        evals = [
            e for e in w.tx.list_agent_evaluations(agent=spec.name) if e.version == spec.version
        ]
        if evaluation is not None:
            evals = [e for e in evals if e.id == evaluation]
        if not evals:
            raise InvalidInput(
                f"agent {spec.ref} has no sealed evaluation yet: run `resonance agent evaluate`",
                agent=spec.ref,
            )
        if not spec.industry:
            raise InvalidInput(f"agent {spec.ref} serves no industry's scenario", agent=spec.ref)
        m = evals[-1].metrics
        desc = (
            f"agent {spec.ref} ({spec.template}); sealed {evals[-1].episodes}: mean delay "
            f"{m.get('mean_delay_hours')} h, false alarms {m.get('false_alarm_rate_per_100h')}"
            f"/100 h, missed {m.get('missed')}/{m.get('faulty')}, violations {m.get('violations')}"
        )
        entry = ModelEntry(
            name=spec.name,
            industry=spec.industry,
            kind=ModelKind.AGENT,
            owner=spec.owner,
            scenario=spec.scenario,
            description=desc[:300],
        )
        return registry.register_model_in(w, actor, entry)
