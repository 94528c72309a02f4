"""Agents of the space: a versioned spec, a deterministic planner, sealed episodes and
their task metrics (pure: no I/O).

An agent is a declarative :class:`AgentSpec`: the scenario it serves, its goal, the
space's model versions it may call, the tools it may use (:class:`Tool`), its planner's
parameters (:class:`PlannerParams`) and its limits (:class:`AgentLimits`). The default
planner (:class:`RulePlanner`) turns one anomaly score per step into decisions: an
exponentially weighted average of the score, an alarm when it stays above ``on`` for
``persistence`` steps, cleared when it stays below ``off`` (hysteresis) for as long, a
hand-over to a person when an alarm lasts ``escalate_after`` steps. Its thresholds are
tuned on training episodes (:func:`tune_planner`).

An evaluator's sealed episodes (:class:`Episode`: start, length, seed, fault schedule)
are replayed by an environment; :func:`episode_metrics` turns the alarms an agent raised
into task metrics: detection delay, missed and false alarms, constraint violations.
Scores are **higher = more anomalous**; delays and alarm counts are **lower = better**.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np

from resonance.domain.errors import InvalidInput
from resonance.domain.orgs import check_slug


class Tool(StrEnum):
    """What an agent may do; a spec lists the tools it was given."""

    OBSERVE = "observe"  # read the newest window of a dataset or stream (under its policy)
    PREDICT = "predict"  # call one of the spec's model versions
    ACT = "act"  # an environment's action interface, or the notification sink
    ESCALATE = "escalate"  # hand over to a person: a review item in the owner's queue


class PlannerKind(StrEnum):
    """Which planner decides."""

    RULES = "rules"  # deterministic rules over model outputs (the default)
    #: the rules propose; an operator-configured OpenAI-compatible endpoint inside the
    #: space confirms or vetoes each proposal (optional; see :class:`LlmPlanner`)
    LLM = "llm"


class Template(StrEnum):
    """Scenario templates of the factory."""

    ENERGY_ANOMALY = "energy-anomaly"  # anomaly alerts on a regression model's residuals
    FAULT_DETECTION = "fault-detection"  # alarms on a classifier's fault probability


class Decision(StrEnum):
    """What the planner decided at one step."""

    NONE = "none"
    ALARM = "alarm"
    CLEAR = "clear"
    ESCALATE = "escalate"


class FaultKind(StrEnum):
    """How a replayed episode's fault changes the watched value from its onset."""

    STEP = "step"  # a constant offset
    DRIFT = "drift"  # an offset growing linearly to ``magnitude`` over ``ramp`` steps


@dataclass(frozen=True)
class PlannerParams:
    """Parameters of the rule planner.

    ``alpha`` is the weight of the newest score in the moving average (1 = no
    smoothing); an alarm is raised after ``persistence`` steps with the average at or
    above ``on`` and cleared after as many below ``off`` (``off <= on``: hysteresis).
    """

    on: float = 3.0
    off: float = 1.5
    persistence: int = 1
    alpha: float = 1.0

    def checked(self) -> PlannerParams:
        """Return self after validating the ranges."""
        if not (math.isfinite(self.on) and math.isfinite(self.off)) or self.off > self.on:
            raise InvalidInput("planner thresholds need off <= on (hysteresis)", field="planner")
        if not 1 <= self.persistence <= 1000:
            raise InvalidInput("planner persistence is 1..1000 steps", field="persistence")
        if not 0.0 < self.alpha <= 1.0:
            raise InvalidInput("planner alpha is in (0, 1]", field="alpha")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "on": self.on,
            "off": self.off,
            "persistence": self.persistence,
            "alpha": self.alpha,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> PlannerParams:
        """Inverse of :meth:`to_dict`."""
        return PlannerParams(
            on=float(data["on"]),
            off=float(data["off"]),
            persistence=int(data["persistence"]),
            alpha=float(data.get("alpha", 1.0)),
        )


@dataclass(frozen=True)
class AgentLimits:
    """What the agent may do at most: actions per hour of process time, the range of an
    action's value, and when to hand over to a person (steps an alarm lasts; 0 = never)."""

    actions_per_hour: int = 12
    value_min: float = -math.inf
    value_max: float = math.inf
    escalate_after: int = 0

    def checked(self) -> AgentLimits:
        """Return self after validating the ranges."""
        if not 1 <= self.actions_per_hour <= 100_000:
            raise InvalidInput("actions per hour is 1..100000", field="actions_per_hour")
        if self.value_min > self.value_max:
            raise InvalidInput("value range needs min <= max", field="value_range")
        if self.escalate_after < 0:
            raise InvalidInput("escalate_after is 0 (never) or more steps", field="escalate")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types (infinite bounds as ``None``)."""
        return {
            "actions_per_hour": self.actions_per_hour,
            "value_min": self.value_min if math.isfinite(self.value_min) else None,
            "value_max": self.value_max if math.isfinite(self.value_max) else None,
            "escalate_after": self.escalate_after,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> AgentLimits:
        """Inverse of :meth:`to_dict`."""
        lo, hi = data.get("value_min"), data.get("value_max")
        return AgentLimits(
            actions_per_hour=int(data["actions_per_hour"]),
            value_min=-math.inf if lo is None else float(lo),
            value_max=math.inf if hi is None else float(hi),
            escalate_after=int(data.get("escalate_after", 0)),
        )


@dataclass(frozen=True)
class Signal:
    """How a model's output becomes an anomaly score.

    ``residual``: a regression model; the score is ``(observed - predicted) / scale`` of
    the ``target`` column (two-sided: the planner watches its magnitude).
    ``probability``: a classifier; the score is ``1 - P(normal)``, scaled by ``scale``.
    ``center`` is subtracted first (tuned on training episodes).
    """

    kind: str
    target: str
    normal: str | None = None
    center: float = 0.0
    scale: float = 1.0

    def checked(self) -> Signal:
        """Return self after validating."""
        if self.kind not in ("residual", "probability"):
            raise InvalidInput("signal kind is residual or probability", field="signal")
        if self.kind == "probability" and not self.normal:
            raise InvalidInput("a probability signal names the normal class", field="normal")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise InvalidInput("signal scale must be positive", field="scale")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "kind": self.kind,
            "target": self.target,
            "normal": self.normal,
            "center": self.center,
            "scale": self.scale,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Signal:
        """Inverse of :meth:`to_dict`."""
        return Signal(
            kind=str(data["kind"]),
            target=str(data["target"]),
            normal=data.get("normal"),
            center=float(data.get("center", 0.0)),
            scale=float(data.get("scale", 1.0)),
        )


@dataclass(frozen=True)
class ModelLineage:
    """A model version the agent may call and the dataset versions it was trained on."""

    model: str
    artifact_hash: str
    datasets: tuple[str, ...]
    dataset_hashes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "model": self.model,
            "artifact_hash": self.artifact_hash,
            "datasets": list(self.datasets),
            "dataset_hashes": list(self.dataset_hashes),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ModelLineage:
        """Inverse of :meth:`to_dict`."""
        return ModelLineage(
            model=str(data["model"]),
            artifact_hash=str(data["artifact_hash"]),
            datasets=tuple(data["datasets"]),
            dataset_hashes=tuple(data["dataset_hashes"]),
        )


@dataclass(frozen=True)
class AgentSpec:
    """One immutable version of an agent (``name@version``)."""

    name: str
    version: int
    owner: str
    scenario: str
    industry: str | None
    goal: str
    template: str
    models: tuple[ModelLineage, ...]
    observes: tuple[str, ...]
    tools: frozenset[Tool]
    signal: Signal
    planner: PlannerParams = field(default_factory=PlannerParams)
    limits: AgentLimits = field(default_factory=AgentLimits)
    planner_kind: PlannerKind = PlannerKind.RULES
    step_minutes: float = 15.0
    created_at: str = ""
    tuning: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """The version's reference, ``name@version``."""
        return f"{self.name}@{self.version}"

    @property
    def model_refs(self) -> tuple[str, ...]:
        """The model versions the agent may call."""
        return tuple(m.model for m in self.models)

    def checked(self) -> AgentSpec:
        """Return self after validating every field."""
        check_slug(self.name, what="agent")
        check_slug(self.scenario, what="scenario")
        if not self.goal.strip() or len(self.goal) > 500:
            raise InvalidInput("an agent states its goal (1..500 characters)", field="goal")
        if not self.models and Tool.PREDICT in self.tools:
            raise InvalidInput("an agent with the predict tool names a model", field="models")
        if not self.tools:
            raise InvalidInput("an agent is given at least one tool", field="tools")
        if not 0 < self.step_minutes <= 24 * 60:
            raise InvalidInput("a step is 0..1440 minutes", field="step_minutes")
        self.signal.checked()
        self.planner.checked()
        self.limits.checked()
        return self

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types (what the store keeps and the API shows)."""
        return {
            "name": self.name,
            "version": self.version,
            "ref": self.ref,
            "owner": self.owner,
            "scenario": self.scenario,
            "industry": self.industry,
            "goal": self.goal,
            "template": self.template,
            "models": [m.to_dict() for m in self.models],
            "observes": list(self.observes),
            "tools": sorted(t.value for t in self.tools),
            "signal": self.signal.to_dict(),
            "planner": self.planner.to_dict(),
            "planner_kind": self.planner_kind.value,
            "limits": self.limits.to_dict(),
            "step_minutes": self.step_minutes,
            "created_at": self.created_at,
            "tuning": dict(self.tuning),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> AgentSpec:
        """Inverse of :meth:`to_dict`."""
        return AgentSpec(
            name=str(data["name"]),
            version=int(data["version"]),
            owner=str(data["owner"]),
            scenario=str(data["scenario"]),
            industry=data.get("industry"),
            goal=str(data["goal"]),
            template=str(data["template"]),
            models=tuple(ModelLineage.from_dict(m) for m in data["models"]),
            observes=tuple(data["observes"]),
            tools=frozenset(Tool(t) for t in data["tools"]),
            signal=Signal.from_dict(data["signal"]),
            planner=PlannerParams.from_dict(data["planner"]),
            limits=AgentLimits.from_dict(data["limits"]),
            planner_kind=PlannerKind(data.get("planner_kind", "rules")),
            step_minutes=float(data.get("step_minutes", 15.0)),
            created_at=str(data.get("created_at", "")),
            tuning=dict(data.get("tuning", {})),
        )


def parse_tools(values: Sequence[str]) -> frozenset[Tool]:
    """Tool names to tools (``InvalidInput`` on an unknown one)."""
    out = set()
    for v in values:
        try:
            out.add(Tool(v.strip()))
        except ValueError:
            raise InvalidInput(
                f"unknown tool {v!r}; tools: {', '.join(t.value for t in Tool)}", tool=v
            ) from None
    return frozenset(out)


# --- the deterministic planner ---


@dataclass
class RulePlanner:
    """The rule planner's state over one run: feed it a score per step (:meth:`step`)."""

    params: PlannerParams
    escalate_after: int = 0
    level: float = 0.0
    above: int = 0
    below: int = 0
    alarmed: bool = False
    alarm_steps: int = 0
    escalated: bool = False
    started: bool = False

    def step(self, score: float) -> Decision:
        """The decision after one more score (a non-finite score counts as no evidence)."""
        p = self.params
        s = score if math.isfinite(score) else 0.0
        self.level = s if not self.started else p.alpha * s + (1 - p.alpha) * self.level
        self.started = True
        magnitude = abs(self.level)
        if not self.alarmed:
            self.above = self.above + 1 if magnitude >= p.on else 0
            if self.above >= p.persistence:
                self.alarmed, self.alarm_steps, self.below, self.escalated = True, 0, 0, False
                return Decision.ALARM
            return Decision.NONE
        self.alarm_steps += 1
        self.below = self.below + 1 if magnitude < p.off else 0
        if self.below >= p.persistence:
            self.alarmed, self.above = False, 0
            return Decision.CLEAR
        if self.escalate_after and not self.escalated and self.alarm_steps >= self.escalate_after:
            self.escalated = True
            return Decision.ESCALATE
        return Decision.NONE


# --- the optional LLM planner ---

LLM_SYSTEM = (
    "You supervise an industrial monitoring agent. Its rules propose a decision when the "
    "smoothed anomaly score of its model crosses a threshold. Confirm the proposal, or "
    'veto it with "none" when the evidence looks like a transient. Answer with one JSON '
    'object and nothing else: {"decision": "<one of the allowed decisions>", '
    '"reason": "<at most 200 characters>"}.'
)
LLM_HISTORY = 24  # smoothed scores shown to the model (the newest last)


@dataclass(frozen=True)
class Consultation:
    """One question to the LLM planner and its answer (what the ledger records)."""

    step: int
    proposed: Decision
    decision: Decision
    messages: tuple[dict[str, str], ...]
    answer: str
    reason: str


def llm_messages(
    *, goal: str, params: PlannerParams, step: int, proposed: Decision, levels: Sequence[float]
) -> list[dict[str, str]]:
    """The chat messages asking to confirm or veto ``proposed`` at ``step``.

    Only the agent's goal, its thresholds and its own smoothed scores are sent -- never a
    row, a column name or an identifier of the data.
    """
    shown = ", ".join(f"{x:.3f}" for x in list(levels)[-LLM_HISTORY:])
    user = (
        f"Goal: {goal}\n"
        f"Thresholds: alarm when |score| >= {params.on:g} for {params.persistence} steps; "
        f"clear when below {params.off:g} for {params.persistence} steps.\n"
        f"Smoothed scores, oldest first, up to step {step}: [{shown}]\n"
        f"Proposed decision: {proposed.value}. Allowed decisions: "
        f'"{proposed.value}" or "none".'
    )
    return [{"role": "system", "content": LLM_SYSTEM}, {"role": "user", "content": user}]


def parse_llm_answer(text: str, *, proposed: Decision) -> tuple[Decision, str]:
    """The decision in an LLM's answer: ``proposed`` or ``NONE`` (a veto).

    Anything else -- not JSON, another decision, a missing field -- is a veto with the
    reason saying why: a planner's bad answer never makes the agent act.
    """
    body = text.strip()
    if body.startswith("```"):  # a fenced block: keep what is inside
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except ValueError:
        return Decision.NONE, "unreadable answer (not JSON): vetoed"
    if not isinstance(data, dict) or not isinstance(data.get("decision"), str):
        return Decision.NONE, "answer without a decision: vetoed"
    reason = str(data.get("reason", ""))[:200]
    said = data["decision"].strip().lower()
    if said == proposed.value:
        return proposed, reason
    if said == Decision.NONE.value:
        return Decision.NONE, reason or "vetoed"
    return Decision.NONE, f"decision {said[:20]!r} is not allowed here: vetoed"


@dataclass
class LlmPlanner:
    """The rules propose, the LLM decides: :meth:`step` asks ``ask`` (messages in, the
    answer's text out) whenever the rule planner proposes an alarm, a clear or an
    escalation, and keeps the rules' state in line with the answer (a vetoed alarm is not
    raised, a vetoed clear keeps the alarm). Steps without a proposal never call it.
    Each question and answer is kept in :attr:`consulted` for the ledger.
    """

    rules: RulePlanner
    goal: str
    ask: Callable[[list[dict[str, str]]], str]
    levels: list[float] = field(default_factory=list)  # the rules' level after each step
    consulted: list[Consultation] = field(default_factory=list)

    @property
    def alarmed(self) -> bool:
        """Whether an alarm is held."""
        return self.rules.alarmed

    def step(self, score: float) -> Decision:
        """The decision after one more score."""
        proposed = self.rules.step(score)
        self.levels.append(self.rules.level)
        if proposed is Decision.NONE:
            return proposed
        step = len(self.levels) - 1
        messages = llm_messages(
            goal=self.goal, params=self.rules.params, step=step, proposed=proposed,
            levels=self.levels,
        )  # fmt: skip
        answer = self.ask(messages)
        decision, reason = parse_llm_answer(answer, proposed=proposed)
        if decision is Decision.NONE:  # a veto: undo the rules' change of state
            if proposed is Decision.ALARM:
                self.rules.alarmed, self.rules.above = False, 0
            elif proposed is Decision.CLEAR:
                self.rules.alarmed, self.rules.below = True, 0
        self.consulted.append(
            Consultation(step, proposed, decision, tuple(messages), answer, reason)
        )
        return decision


def plan_alarms(scores: np.ndarray, params: PlannerParams) -> np.ndarray:
    """Whether the rule planner holds an alarm after each score (vectorized helper for
    tuning and baselines; the same rules as :class:`RulePlanner`)."""
    planner = RulePlanner(params)
    out = np.zeros(len(scores), dtype=bool)
    for i, s in enumerate(scores):
        planner.step(float(s))
        out[i] = planner.alarmed
    return out


# --- episodes and their metrics ---


@dataclass(frozen=True)
class Fault:
    """A fault of an episode: from step ``onset`` (relative to the episode's start) the
    watched value moves by ``magnitude`` (in units of its scale), for ``duration`` steps
    (0 = to the end)."""

    kind: FaultKind
    onset: int
    magnitude: float
    duration: int = 0
    ramp: int = 8
    idv: int = 0
    """A simulator's disturbance number (TEP's IDV); 0 for a replayed offset."""

    def offset(self, n: int) -> np.ndarray:
        """The fault's offset at each of ``n`` steps (in units of the scale)."""
        out = np.zeros(n)
        end = n if self.duration <= 0 else min(n, self.onset + self.duration)
        if self.onset >= n:
            return out
        k = np.arange(end - self.onset, dtype=float)
        if self.kind is FaultKind.DRIFT:
            out[self.onset : end] = self.magnitude * np.minimum(1.0, (k + 1) / max(1, self.ramp))
        else:
            out[self.onset : end] = self.magnitude
        return out

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "kind": self.kind.value,
            "onset": self.onset,
            "magnitude": self.magnitude,
            "duration": self.duration,
            "ramp": self.ramp,
            "idv": self.idv,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Fault:
        """Inverse of :meth:`to_dict`."""
        return Fault(
            kind=FaultKind(data["kind"]),
            onset=int(data["onset"]),
            magnitude=float(data["magnitude"]),
            duration=int(data.get("duration", 0)),
            ramp=int(data.get("ramp", 8)),
            idv=int(data.get("idv", 0)),
        )


@dataclass(frozen=True)
class Episode:
    """One sealed episode: where it starts in the environment's history, how long it
    runs, its seed and its fault (``None``: a fault-free episode)."""

    start: int
    length: int
    seed: int
    fault: Fault | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "start": self.start,
            "length": self.length,
            "seed": self.seed,
            "fault": None if self.fault is None else self.fault.to_dict(),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Episode:
        """Inverse of :meth:`to_dict`."""
        fault = data.get("fault")
        return Episode(
            start=int(data["start"]),
            length=int(data["length"]),
            seed=int(data["seed"]),
            fault=None if fault is None else Fault.from_dict(fault),
        )


def make_episodes(
    *,
    rows: int,
    count: int,
    length: int,
    seed: int,
    fault_share: float = 0.75,
    magnitudes: tuple[float, float] = (2.0, 5.0),
) -> list[Episode]:
    """``count`` episodes over a history of ``rows`` steps: random starts, faults in
    ``fault_share`` of them (step or drift, onset in the middle half, magnitude drawn
    from ``magnitudes``, in units of the watched value's scale).

    Raises
    ------
    InvalidInput
        The history is shorter than one episode, or the numbers are out of range.
    """
    if length < 8 or rows < length or count < 1 or not 0 <= fault_share <= 1:
        raise InvalidInput(
            f"episodes need 1+ of 8+ steps within the history ({rows} rows, length {length})",
            rows=rows,
            length=length,
        )
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        start = int(rng.integers(0, rows - length + 1))
        fault = None
        if rng.random() < fault_share:
            fault = Fault(
                kind=FaultKind.STEP if rng.random() < 0.5 else FaultKind.DRIFT,
                onset=int(rng.integers(length // 4, length // 2 + 1)),
                magnitude=float(rng.uniform(*magnitudes)) * (1 if rng.random() < 0.5 else -1),
                ramp=int(rng.integers(4, 13)),
            )
        out.append(Episode(start=start, length=length, seed=seed * 1000 + i, fault=fault))
    return out


def make_sim_episodes(
    *, count: int, length: int, seed: int, idvs: Sequence[int], fault_share: float = 0.75
) -> list[Episode]:
    """``count`` simulator episodes of ``length`` steps: their own seeds, a disturbance from
    ``idvs`` in ``fault_share`` of them, switched on in the episode's middle half."""
    if length < 8 or count < 1 or not idvs or not 0 <= fault_share <= 1:
        raise InvalidInput("simulator episodes need 1+ of 8+ steps and 1+ disturbance")
    if any(not 1 <= i <= 28 for i in idvs):
        raise InvalidInput("a disturbance is one of IDV 1..28", idvs=list(idvs))
    rng = np.random.default_rng(seed)
    out = []
    for _i in range(count):
        fault = None
        if rng.random() < fault_share:
            fault = Fault(
                kind=FaultKind.STEP,
                onset=int(rng.integers(length // 4, length // 2 + 1)),
                magnitude=1.0,
                idv=int(rng.choice(np.asarray(idvs))),
            )
        out.append(
            Episode(start=0, length=length, seed=int(rng.integers(1, 2**31 - 1)), fault=fault)
        )
    return out


@dataclass(frozen=True)
class EpisodeOutcome:
    """Task metrics of one episode (lower = better for every count and delay)."""

    faulty: bool
    detected: bool
    delay_steps: int | None
    false_alarms: int
    missed: bool
    violations: int
    actions: int
    escalations: int
    steps: int

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "faulty": self.faulty,
            "detected": self.detected,
            "delay_steps": self.delay_steps,
            "false_alarms": self.false_alarms,
            "missed": self.missed,
            "violations": self.violations,
            "actions": self.actions,
            "escalations": self.escalations,
            "steps": self.steps,
        }


def episode_metrics(
    alarmed: np.ndarray,
    fault: Fault | None,
    *,
    violations: int = 0,
    actions: int = 0,
    escalations: int = 0,
) -> EpisodeOutcome:
    """Detection delay, missed and false alarms of one episode from the per-step alarm state.

    An alarm raised (a rising edge) before the fault's onset, or in a fault-free
    episode, is a false alarm; the delay is the steps from the onset to the first step
    alarmed at or after it (an alarm already on at the onset counts as delay 0); a fault
    never alarmed on is missed.
    """
    a = np.asarray(alarmed, dtype=bool)
    rising = np.flatnonzero(a & ~np.concatenate([[False], a[:-1]]))
    onset = len(a) if fault is None else min(fault.onset, len(a))
    false_alarms = int(np.sum(rising < onset))
    delay: int | None = None
    if fault is not None and onset < len(a):
        after = np.flatnonzero(a[onset:])
        if len(after):
            delay = int(after[0])
    return EpisodeOutcome(
        faulty=fault is not None,
        detected=delay is not None,
        delay_steps=delay,
        false_alarms=false_alarms,
        missed=fault is not None and delay is None,
        violations=violations,
        actions=actions,
        escalations=escalations,
        steps=len(a),
    )


@dataclass(frozen=True)
class TaskMetrics:
    """What a sealed evaluation hands back: aggregates over the episodes, never an
    episode's start, seed or fault. Delays in steps and hours; rates per 100 hours of
    process time without a fault (lower = better everywhere)."""

    episodes: int
    faulty: int
    detected: int
    missed: int
    false_alarms: int
    false_alarm_rate: float
    mean_delay_steps: float | None
    mean_delay_hours: float | None
    censored_delay_hours: float | None
    violations: int
    escalations: int
    hours: float

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "episodes": self.episodes,
            "faulty": self.faulty,
            "detected": self.detected,
            "missed": self.missed,
            "false_alarms": self.false_alarms,
            "false_alarm_rate_per_100h": self.false_alarm_rate,
            "mean_delay_steps": self.mean_delay_steps,
            "mean_delay_hours": self.mean_delay_hours,
            "censored_delay_hours": self.censored_delay_hours,
            "violations": self.violations,
            "escalations": self.escalations,
            "hours": self.hours,
        }


def summarize(
    outcomes: Sequence[EpisodeOutcome], fault_onsets: Sequence[int | None], *, step_minutes: float
) -> TaskMetrics:
    """Aggregate episode outcomes: the false-alarm rate is per 100 fault-free hours (the
    steps before each onset, and whole fault-free episodes); the mean delay is over
    detected faults, the censored delay over every fault, a missed one counting as the
    steps from its onset to the episode's end."""
    h = step_minutes / 60.0
    clean_steps = sum(
        o.steps if onset is None else min(onset, o.steps)
        for o, onset in zip(outcomes, fault_onsets, strict=True)
    )
    delays = [o.delay_steps for o in outcomes if o.delay_steps is not None]
    fa = sum(o.false_alarms for o in outcomes)
    mean = float(np.mean(delays)) if delays else None
    censored = [
        (o.delay_steps if o.delay_steps is not None else o.steps - min(onset, o.steps)) * h
        for o, onset in zip(outcomes, fault_onsets, strict=True)
        if onset is not None
    ]
    return TaskMetrics(
        episodes=len(outcomes),
        faulty=sum(o.faulty for o in outcomes),
        detected=sum(o.detected for o in outcomes),
        missed=sum(o.missed for o in outcomes),
        false_alarms=fa,
        false_alarm_rate=round(100.0 * fa / max(clean_steps * h, 1e-9), 4),
        mean_delay_steps=None if mean is None else round(mean, 4),
        mean_delay_hours=None if mean is None else round(mean * h, 4),
        censored_delay_hours=round(float(np.mean(censored)), 4) if censored else None,
        violations=sum(o.violations for o in outcomes),
        escalations=sum(o.escalations for o in outcomes),
        hours=round(sum(o.steps for o in outcomes) * h, 4),
    )


# --- tuning on training episodes ---


def tune_planner(
    clean: np.ndarray,
    episodes: Sequence[tuple[np.ndarray, Fault]],
    *,
    max_false_per_100h: float,
    step_minutes: float,
    alphas: Sequence[float] = (1.0, 0.5, 0.3, 0.2),
    persistences: Sequence[int] = (1, 2, 3),
) -> tuple[PlannerParams, dict[str, Any]]:
    """The planner parameters with the lowest mean detection delay on training fault
    episodes whose false-alarm rate on the fault-free training scores ``clean`` stays at
    or below ``max_false_per_100h``.

    For each smoothing weight and persistence, ``on`` is the smallest threshold (a
    quantile of the smoothed clean scores' magnitudes) meeting the false-alarm budget;
    ``off`` is half of it. Missed faults count as the episode's length.
    """
    hours = len(clean) * step_minutes / 60.0
    best: tuple[float, PlannerParams, dict[str, Any]] | None = None
    for alpha in alphas:
        level = _ewma(clean, alpha)
        mags = np.sort(np.abs(level))[::-1]
        for persistence in persistences:
            params = _lowest_within(clean, mags, alpha, persistence, max_false_per_100h, hours)
            if params is None:
                continue
            delays = []
            for scores, fault in episodes:
                out = episode_metrics(plan_alarms(scores, params), fault)
                delays.append(out.delay_steps if out.delay_steps is not None else len(scores))
            mean = float(np.mean(delays)) if delays else 0.0
            if best is None or mean < best[0]:
                best = (mean, params, {"training_mean_delay_steps": round(mean, 4)})
    if best is None:
        raise InvalidInput("no planner setting meets the false-alarm budget on training data")
    return best[1], best[2]


def fixed_threshold(clean: np.ndarray, *, max_false_per_100h: float, step_minutes: float) -> float:
    """The lowest threshold on the raw score magnitude (no smoothing, no persistence) whose
    alarms on ``clean`` stay within the false-alarm budget (the no-planning baseline)."""
    hours = len(clean) * step_minutes / 60.0
    for q in np.sort(np.abs(clean))[::-1]:
        alarms = np.abs(clean) >= q
        if 100.0 * _rising(alarms) / max(hours, 1e-9) > max_false_per_100h:
            return float(np.nextafter(q, np.inf))
    return float(np.min(np.abs(clean)))


def _lowest_within(
    clean: np.ndarray,
    mags: np.ndarray,
    alpha: float,
    persistence: int,
    budget: float,
    hours: float,
) -> PlannerParams | None:
    """Bisect the (descending) magnitudes for the lowest ``on`` within the false-alarm budget."""

    def params(i: int) -> PlannerParams:
        q = float(mags[i]) if i >= 0 else float(mags[0]) + 1e-9
        return PlannerParams(on=q, off=q / 2, persistence=persistence, alpha=alpha)

    def ok(i: int) -> bool:
        return 100.0 * _rising(plan_alarms(clean, params(i))) / max(hours, 1e-9) <= budget

    lo, hi = -1, len(mags) - 1  # ok(lo) holds (nothing reaches the top + eps)
    if not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return params(lo)


def _rising(a: np.ndarray) -> int:
    a = np.asarray(a, dtype=bool)
    return int(np.sum(a & ~np.concatenate([[False], a[:-1]])))


def _ewma(x: np.ndarray, alpha: float) -> np.ndarray:
    out = np.empty(len(x))
    level = 0.0
    for i, v in enumerate(x):
        level = float(v) if i == 0 else alpha * float(v) + (1 - alpha) * level
        out[i] = level
    return out


def next_version(spec: AgentSpec, number: int, *, created_at: str) -> AgentSpec:
    """``spec`` as version ``number`` created at ``created_at``."""
    return replace(spec, version=number, created_at=created_at)


# --- stored records: runs, sealed episode sets, evaluations ---


class RunStatus(StrEnum):
    """Where an agent's run stands."""

    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class AgentRun:
    """One run of an agent version; ``stop_requested`` is its kill switch."""

    id: str
    agent: str
    version: int
    organization: str
    status: RunStatus
    started_at: str
    finished_at: str | None = None
    stop_requested: bool = False
    result: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "id": self.id,
            "agent": self.agent,
            "version": self.version,
            "organization": self.organization,
            "status": self.status.value,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "stop_requested": self.stop_requested,
            "result": dict(self.result),
        }


class EnvironmentKind(StrEnum):
    """Where sealed episodes run."""

    REPLAY = "replay"  # held-out history of a dataset, with scheduled faults
    TEP = "tep"  # the Tennessee Eastman process (tep-studio, optional)


@dataclass(frozen=True)
class EpisodeSet:
    """An evaluator's sealed episodes (never shown to a builder) and its query budget per
    builder organization."""

    name: str
    owner: str
    environment: EnvironmentKind
    dataset: str | None
    episodes: tuple[Episode, ...]
    budget: int
    created_at: str
    step_minutes: float = 15.0

    def checked(self) -> EpisodeSet:
        """Return self after validating."""
        check_slug(self.name, what="episode set")
        if not self.episodes:
            raise InvalidInput("an episode set holds at least one episode", field="episodes")
        if not 1 <= self.budget <= 10_000:
            raise InvalidInput("an episode set's budget is 1..10000", field="budget")
        if self.environment is EnvironmentKind.REPLAY and not self.dataset:
            raise InvalidInput("a replay episode set names its dataset", field="dataset")
        return self

    def summary(self) -> dict[str, Any]:
        """What anyone may see: no start, seed or fault."""
        return {
            "name": self.name,
            "owner": self.owner,
            "environment": self.environment.value,
            "dataset": self.dataset,
            "episodes": len(self.episodes),
            "budget": self.budget,
            "created_at": self.created_at,
            "step_minutes": self.step_minutes,
        }


@dataclass(frozen=True)
class AgentEvaluation:
    """The task metrics of one agent version on one sealed episode set."""

    id: str
    agent: str
    version: int
    episodes: str
    organization: str
    created_at: str
    metrics: dict[str, Any]

    @property
    def ref(self) -> str:
        """The agent version's reference."""
        return f"{self.agent}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """Serialize to plain JSON types."""
        return {
            "id": self.id,
            "agent": self.ref,
            "episodes": self.episodes,
            "organization": self.organization,
            "created_at": self.created_at,
            "metrics": dict(self.metrics),
        }
