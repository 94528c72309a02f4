"""Server logic over any Flower grid, and the embedded in-process grid."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import numpy as np
from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.common.constant import SUPERLINK_NODE_ID
from flwr.serverapp import Grid
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

from resonance.domain.errors import InvalidInput, TrainingFailed
from resonance.training.federated.apps import (
    SCHEMA,
    FederationConfig,
    Plan,
    RoundRecorder,
    RoundSummary,
    _arrays,
    _params,
    build_strategy,
    gaussian_epsilon,
    merge_schemas,
)
from resonance.training.federated.models import (
    ExchangedClassifier,
    ExchangedRegressor,
    init_params,
)
from resonance.training.federated.newton import prior_logits
from resonance.training.federated.secagg import AppCallable, secure_rounds


class InProcessGrid(Grid):
    """A grid whose nodes are ClientApps called in this process, one after another.

    The embedded default: the same messages a SuperLink would carry, no network,
    no Ray, no threads.
    """

    def __init__(self, apps: dict[int, tuple[AppCallable, Context]]) -> None:
        self._apps = apps
        self._replies: dict[str, Message] = {}
        self._run: Run | None = Run.create_empty(1)
        # messages take their run and source node from the task identity of the process
        TaskIdentity.run_id = 1
        TaskIdentity.node_id = SUPERLINK_NODE_ID
        TaskIdentity.task_id = 1

    def set_run(self, run: Run) -> None:
        self._run = run

    @property
    def run(self) -> Run:
        assert self._run is not None
        return self._run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self._apps)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        ids = []
        for msg in messages:
            msg_id = str(uuid4())
            msg.metadata.__dict__["_message_id"] = msg_id
            app, context = self._apps[msg.metadata.dst_node_id]
            # a copy, as if it had crossed the wire: apps and mods may change what they get
            self._replies[msg_id] = app(copy.deepcopy(msg), context)
            ids.append(msg_id)
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._replies.pop(i) for i in message_ids if i in self._replies]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return self.pull_messages(self.push_messages(messages))


def in_process_grid(apps: Sequence[AppCallable]) -> InProcessGrid:
    """Number the apps as nodes 1001, 1002, ..., each with its own context."""
    nodes = {}
    for i, app in enumerate(apps, start=1001):
        ctx = Context(run_id=1, node_id=i, node_config={}, state=RecordDict(), run_config={})
        nodes[i] = (app, ctx)
    return InProcessGrid(nodes)


@dataclass
class FederatedResult:
    """What a federated run produced."""

    estimator: ExchangedClassifier | ExchangedRegressor
    plan: Plan
    members: dict[str, int]
    rounds: list[RoundSummary]
    details: dict[str, Any] = field(default_factory=dict)


def query_schemas(grid: Grid, *, timeout: float) -> list[dict[str, Any]]:
    """Ask every node for its schema summary (counts, sums, categories; no rows)."""
    nodes = list(grid.get_node_ids())
    msgs = [Message(RecordDict(), node, SCHEMA) for node in nodes]
    replies = list(grid.send_and_receive(msgs, timeout=timeout))
    bad = [r for r in replies if r.has_error()]
    if bad or len(replies) != len(nodes):
        reasons = [r.error.reason for r in bad]
        raise TrainingFailed(
            f"schema query failed on {len(nodes) - len(replies) + len(bad)} node(s)",
            reasons=reasons,
        )
    return [json.loads(str(r.content["schema"]["json"])) for r in replies]


def serve(
    grid: Grid, cfg: FederationConfig, on_round: Callable[[RoundSummary], None]
) -> FederatedResult:
    """Run the whole federation over ``grid``: schema, rounds of the strategy, the model."""
    started = time.perf_counter()
    with _quiet_flower():
        return _serve(grid, cfg, on_round, started)


@contextmanager
def _quiet_flower() -> Iterator[None]:
    logger = logging.getLogger("flwr")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _serve(
    grid: Grid, cfg: FederationConfig, on_round: Callable[[RoundSummary], None], started: float
) -> FederatedResult:
    schemas = query_schemas(grid, timeout=cfg.timeout)
    plan = merge_schemas(schemas, local=cfg.local, seed=cfg.seed)
    n_features = len(plan.mean)
    initial = init_params(cfg.kind, n_features, plan.n_outputs, hidden=cfg.hidden, seed=cfg.seed)
    if cfg.strategy == "fednewton" and cfg.kind == "linear" and not plan.regression:
        initial[1] = prior_logits(schemas, plan.classes)
    seen: list[RoundSummary] = []

    def note(summary: RoundSummary) -> None:
        seen.append(summary)
        on_round(summary)

    run_rounds = _secure if cfg.secure_aggregation else _plain
    params = run_rounds(grid, cfg, plan, initial, len(schemas), note)
    estimator: ExchangedClassifier | ExchangedRegressor
    if plan.regression:
        estimator = ExchangedRegressor(
            params,
            np.asarray(plan.mean),
            np.asarray(plan.scale),
            plan.target_mean,
            plan.target_scale,
        )
    else:
        estimator = ExchangedClassifier(
            params, np.asarray(plan.mean), np.asarray(plan.scale), np.arange(len(plan.classes))
        )
    details: dict[str, Any] = {
        "task": plan.task,
        "strategy": cfg.strategy,
        "model": cfg.kind,
        "rounds": cfg.rounds,
        "local": cfg.local,
        "members": {s["member"]: s["rows"] for s in schemas},
        "seconds": round(time.perf_counter() - started, 3),
    }
    details["rounds_run"] = len(seen)
    if cfg.backend != "numpy":
        details["backend"] = cfg.backend
    if cfg.strategy == "fedprox":
        details["proximal_mu"] = cfg.proximal_mu
    if cfg.strategy in ("fedadam", "fedyogi", "fedsgd"):
        details["server_lr"] = cfg.server_lr
    if cfg.strategy == "fednewton":
        details["newton"] = {"C": cfg.c, "tol": cfg.tol, "exchanged": "gradient and Hessian"}
    if cfg.secure_aggregation:
        details["secure_aggregation"] = "SecAgg+ (Flower), all members must answer"
    if cfg.dp_noise > 0:
        details["differential_privacy"] = {
            "mechanism": "server-side fixed clipping (Flower), Gaussian noise",
            "noise_multiplier": cfg.dp_noise,
            "clipping_norm": cfg.dp_clip,
            "delta": cfg.dp_delta,
            "epsilon": gaussian_epsilon(cfg.dp_noise, cfg.rounds, cfg.dp_delta),
            "unit": "one member's update per round",
        }
    members = {s["member"]: int(s["rows"]) for s in schemas}
    details["refs"] = {s["member"]: s["ref"] for s in schemas}
    return FederatedResult(estimator, plan, members, seen, details)


def _plain(
    grid: Grid,
    cfg: FederationConfig,
    plan: Plan,
    initial: list[np.ndarray],
    n_members: int,
    on_round: Callable[[RoundSummary], None],
) -> list[np.ndarray]:
    recorder = RoundRecorder(on_round)
    strategy = build_strategy(cfg, n_members, recorder, plan)
    result = strategy.start(
        grid,
        _arrays(initial),
        num_rounds=cfg.rounds,
        timeout=cfg.timeout,
        train_config=ConfigRecord({"plan": plan.to_json(), "backend": cfg.backend}),
        evaluate_fn=recorder.evaluate,
    )
    converged = getattr(strategy, "converged_at", None)
    expected = converged if converged is not None else cfg.rounds
    if len(recorder.rounds) != expected:
        raise TrainingFailed(f"only {len(recorder.rounds)} of {expected} rounds completed")
    return _params(result.arrays)


def _secure(
    grid: Grid,
    cfg: FederationConfig,
    plan: Plan,
    initial: list[np.ndarray],
    n_members: int,
    on_round: Callable[[RoundSummary], None],
) -> list[np.ndarray]:
    if cfg.strategy not in ("fedavg", "fedprox") or cfg.dp_noise > 0:
        raise InvalidInput("secure aggregation works with fedavg or fedprox and without DP noise")
    rounds: list[RoundSummary] = []

    def note(summary: RoundSummary) -> None:
        rounds.append(summary)
        on_round(summary)

    params = secure_rounds(grid, cfg, plan, initial, n_members, note)
    if len(rounds) != cfg.rounds:
        raise TrainingFailed(f"only {len(rounds)} of {cfg.rounds} secure rounds completed")
    return params
