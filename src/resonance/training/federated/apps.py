"""Flower apps: the per-member ClientApp, the server logic and an in-process grid.

The ClientApp never sees another member's rows: it is built around one
``loader`` that reads (and records) its member's own dataset version. The
server logic speaks only Flower messages, so the same code drives the
embedded in-process grid and a real SuperLink (deployment mode).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp.strategy import FedAdam, FedAvg, FedAvgM, FedProx, FedYogi, Strategy
from flwr.serverapp.strategy.dp_fixed_clipping import DifferentialPrivacyServerSideFixedClipping
from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords

from resonance.domain.datasets import LabelSpec, Task
from resonance.domain.errors import InvalidInput, TrainingFailed
from resonance.training.features import (
    FeatureEncoder,
    TimeSetup,
    encode_labels,
    label_values,
    regression_targets,
)
from resonance.training.federated.fedsgd import FedSgd, gradient_step
from resonance.training.federated.models import BACKENDS, LocalConfig, local_train
from resonance.training.federated.newton import FedNewton, l2_for, newton_statistics

SCHEMA = "query.schema"


@dataclass
class MemberData:
    """What a member's loader returns: its rows, label spec and columns to skip."""

    member: str
    table: pa.Table
    label: LabelSpec
    exclude: tuple[str, ...] = ()
    ref: str = ""
    time: TimeSetup | None = None  # a time series: features computed on the member's own rows


Loader = Callable[[], MemberData]


def _time_dict(setup: TimeSetup | None) -> dict[str, Any] | None:
    return setup.to_dict() if setup is not None else None


def _time_setup(data: dict[str, Any] | None) -> TimeSetup | None:
    return TimeSetup.from_dict(data)


def _schema_of(data: MemberData) -> dict[str, Any]:
    enc = FeatureEncoder.fit(data.table, label=data.label, exclude=data.exclude, time=data.time)
    table = enc.augment(data.table)
    stats = {}
    for name in enc.numeric:
        x = table[name].to_numpy(zero_copy_only=False).astype(float)
        x = np.where(np.isnan(x), enc.medians[name], x)
        stats[name] = [len(x), float(x.sum()), float((x * x).sum()), enc.medians[name]]
    raw = label_values(data.table, data.label)
    summary: dict[str, Any] = {
        "member": data.member,
        "ref": data.ref,
        "rows": data.table.num_rows,
        "numeric": stats,
        "categorical": enc.categorical,
        "task": data.label.task.value,
        "time": _time_dict(data.time),
    }
    if data.label.task is Task.REGRESSION:  # the target's count, sum and sum of squares
        y = regression_targets(raw, data.label)
        y = y[np.isfinite(y)]
        summary["classes"] = {}
        summary["target"] = [len(y), float(y.sum()), float((y * y).sum())]
        return summary
    classes, counts = np.unique(raw.astype(str), return_counts=True)
    summary["classes"] = dict(zip(classes.tolist(), counts.tolist(), strict=True))
    return summary


def _arrays(params: list[np.ndarray]) -> ArrayRecord:
    return ArrayRecord([np.ascontiguousarray(p) for p in params])


def _params(record: ArrayRecord) -> list[np.ndarray]:
    return list(record.to_numpy_ndarrays())


def make_client_app(loader: Loader) -> ClientApp:
    """A ClientApp that trains on the rows ``loader`` returns (read once, on first use)."""
    app = ClientApp()
    cache: dict[str, MemberData] = {}
    encoded: dict[str, Any] = {}

    def data() -> MemberData:
        if "d" not in cache:
            cache["d"] = loader()
        return cache["d"]

    @app.query("schema")
    def schema(msg: Message, context: Context) -> Message:
        summary = json.dumps(_schema_of(data()))
        return Message(RecordDict({"schema": ConfigRecord({"json": summary})}), reply_to=msg)

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        d = data()
        cfg = msg.content.config_records["config"]
        text = str(cfg["plan"])
        if encoded.get("plan") != text:  # the plan is fixed for a run: encode once
            encoded.clear()
            encoded["plan"] = text
            encoded["xy"] = Plan.from_json(text).encode(d.table, d.label)
        plan = Plan.from_json(text)
        X, y = encoded["xy"]
        params = member_update(_params(msg.content.array_records["arrays"]), X, y, plan, cfg)
        content = RecordDict(
            {
                "arrays": _arrays(params),
                "metrics": MetricRecord({"num-examples": len(y)}),
                "member": ConfigRecord({"name": d.member}),
            }
        )
        return Message(content, reply_to=msg)

    return app


def member_update(
    current: list[np.ndarray], X: np.ndarray, y: np.ndarray, plan: Plan, cfg: ConfigRecord
) -> list[np.ndarray]:
    """What a member sends back for one train message, by the strategy's ``method``.

    ``newton``: gradient and Hessian at ``current``; ``gradient``: one full-batch
    gradient step; otherwise the parameters after local epochs (FedProx: proximal term).
    """
    method = str(cfg.get("method", "local"))
    if method == "newton":
        return newton_statistics(current, X, y, plan.n_outputs, regression=plan.regression)
    if method == "gradient":
        return gradient_step(current, X, y, plan.n_outputs, regression=plan.regression)
    local = LocalConfig(
        epochs=int(plan.local["epochs"]),
        lr=float(plan.local["lr"]),
        batch_size=int(plan.local["batch_size"]),
        proximal_mu=float(str(cfg.get("proximal-mu", 0.0))),
        seed=int(str(cfg["server-round"])) * 7919 + plan.seed,
        backend=str(cfg.get("backend", "numpy")),
        regression=plan.regression,
    )
    return local_train(current, X, y, plan.n_outputs, local)


@dataclass
class Plan:
    """The shared encoding (merged from member schemas) and local-training settings.

    Regression plans have no classes; their target is standardized with the
    pooled ``target_mean`` and ``target_scale`` (from members' sums).
    """

    numeric: list[str]
    medians: dict[str, float]
    categorical: dict[str, list[str]]
    mean: list[float]
    scale: list[float]
    classes: list[str]
    local: dict[str, float]
    seed: int = 0
    rows: int = 0
    task: str = Task.CLASSIFICATION.value
    target_mean: float = 0.0
    target_scale: float = 1.0
    time: dict[str, Any] | None = None  # time column, group key and time features

    @property
    def regression(self) -> bool:
        """Whether the plan trains a regression."""
        return self.task == Task.REGRESSION.value

    @property
    def n_outputs(self) -> int:
        """Output columns of the model: one per class, or one for regression."""
        return 1 if self.regression else len(self.classes)

    def to_json(self) -> str:
        """Serialize for the train config."""
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Inverse of :meth:`to_json`."""
        return cls(**json.loads(text))

    @property
    def encoder(self) -> FeatureEncoder:
        """The shared feature encoder."""
        return FeatureEncoder(
            list(self.numeric), dict(self.categorical), dict(self.medians), _time_setup(self.time)
        )

    def encode(self, table: pa.Table, label: LabelSpec) -> tuple[np.ndarray, np.ndarray]:
        """Standardized features and class indices of rows with a known class (regression:
        standardized targets of rows with a target)."""
        X = (self.encoder.transform(table) - np.asarray(self.mean)) / np.asarray(self.scale)
        if self.regression:
            t = regression_targets(label_values(table, label), label)
            keep = np.isfinite(t)
            return X[keep], (t[keep] - self.target_mean) / self.target_scale
        y = encode_labels(label_values(table, label), tuple(self.classes))
        return X[y >= 0], y[y >= 0]


def merge_schemas(schemas: list[dict[str, Any]], *, local: dict[str, float], seed: int) -> Plan:
    """One encoding for all members from their summaries (counts, sums, categories).

    Numeric columns every member has are kept; categories are the union;
    medians are row-weighted means of member medians; one-hot columns are not scaled.
    """
    if not schemas:
        raise TrainingFailed("no member answered the schema query")
    numeric = [c for c in schemas[0]["numeric"] if all(c in s["numeric"] for s in schemas)]
    cat_names = sorted({c for s in schemas for c in s["categorical"]})
    categorical = {
        c: sorted({v for s in schemas for v in s["categorical"].get(c, [])}) for c in cat_names
    }
    medians, mean, scale = {}, [], []
    for c in numeric:
        n = sum(s["numeric"][c][0] for s in schemas)
        total = sum(s["numeric"][c][1] for s in schemas)
        sq = sum(s["numeric"][c][2] for s in schemas)
        medians[c] = sum(s["numeric"][c][0] * s["numeric"][c][3] for s in schemas) / n
        mu = total / n
        mean.append(mu)
        scale.append(float(np.sqrt(max(sq / n - mu * mu, 0.0))) or 1.0)
    width = sum(len(v) for v in categorical.values())
    if len({json.dumps(s.get("time"), sort_keys=True) for s in schemas}) != 1:
        raise TrainingFailed("members' time series (time column, group key, features) differ")
    tasks = {str(s.get("task", Task.CLASSIFICATION.value)) for s in schemas}
    if len(tasks) != 1:
        raise TrainingFailed("members' label specs declare different tasks", tasks=sorted(tasks))
    task = tasks.pop()
    target = [0.0, 1.0]
    if task == Task.REGRESSION.value:
        n = sum(s["target"][0] for s in schemas)
        if n < 2:
            raise TrainingFailed("federated regression needs at least two targets across members")
        mu = sum(s["target"][1] for s in schemas) / n
        var = sum(s["target"][2] for s in schemas) / n - mu * mu
        target = [mu, float(np.sqrt(max(var, 0.0))) or 1.0]
        classes: list[str] = []
    else:
        classes = sorted({k for s in schemas for k in s["classes"]})
        if len(classes) < 2:
            raise TrainingFailed("federated training needs at least two classes across members")
    return Plan(
        numeric,
        medians,
        categorical,
        mean + [0.0] * width,
        scale + [1.0] * width,
        classes,
        local,
        seed,
        sum(int(s["rows"]) for s in schemas),
        task,
        target[0],
        target[1],
        schemas[0].get("time"),
    )


def params_digest(params: Iterable[np.ndarray]) -> list[dict[str, Any]]:
    """Shape and SHA-256 of each parameter array (what goes on the ledger)."""
    return [
        {
            "shape": list(p.shape),
            "sha256": hashlib.sha256(np.ascontiguousarray(p).tobytes()).hexdigest(),
        }
        for p in params
    ]


@dataclass
class RoundSummary:
    """One aggregation round: who took part with how many rows, what came out."""

    round: int
    participants: dict[str, int]
    parameters: list[dict[str, Any]]


@dataclass
class RoundRecorder:
    """Collects participants from train replies and reports each round to ``on_round``."""

    on_round: Callable[[RoundSummary], None]
    pending: dict[str, int] = field(default_factory=dict)
    rounds: list[RoundSummary] = field(default_factory=list)

    def aggregate_metrics(self, records: list[RecordDict], key: str) -> MetricRecord:
        """FedAvg's metric aggregation hook: note who replied with how many rows."""
        self.pending = {
            str(r.config_records["member"]["name"]): int(
                str(r.metric_records["metrics"]["num-examples"])
            )
            for r in records
        }
        return aggregate_metricrecords(records, key)

    def evaluate(self, server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
        """Called after each round with the aggregated arrays."""
        if server_round > 0 and self.pending:  # none after an early stop (FedNewton)
            summary = RoundSummary(server_round, self.pending, params_digest(_params(arrays)))
            self.pending = {}
            self.rounds.append(summary)
            self.on_round(summary)
        return None


STRATEGIES: dict[str, type[FedAvg]] = {
    "fedavg": FedAvg,
    "fedprox": FedProx,
    "fedavgm": FedAvgM,
    "fedadam": FedAdam,
    "fedyogi": FedYogi,
    "fednewton": FedNewton,
    "fedsgd": FedSgd,
}


@dataclass
class FederationConfig:
    """Server-side settings of a federated run."""

    kind: str = "linear"
    strategy: str = "fedavg"
    rounds: int = 10
    proximal_mu: float = 0.01
    server_momentum: float = 0.9
    server_lr: float = 0.1
    c: float = 1.0
    tol: float = 1e-6
    hidden: int = 32
    local: dict[str, float] = field(
        default_factory=lambda: {"epochs": 2.0, "lr": 0.02, "batch_size": 32.0}
    )
    dp_noise: float = 0.0
    secure_aggregation: bool = False
    dp_clip: float = 1.0
    dp_delta: float = 1e-5
    seed: int = 0
    timeout: float = 600.0
    backend: str = "numpy"  # members' local epochs: "numpy" or "torch" (the optional extra)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise InvalidInput(
                f"unknown backend {self.backend!r}; choose from {', '.join(BACKENDS)}",
                backend=self.backend,
            )


def build_strategy(
    cfg: FederationConfig, n_nodes: int, recorder: RoundRecorder, plan: Plan | None = None
) -> Strategy:
    """The registered strategy, wrapped in server-side DP clipping when noise is asked for.

    ``fednewton`` needs the ``plan`` (total rows and classes set its L2 weight),
    the linear model and no DP noise.
    """
    if cfg.strategy not in STRATEGIES:
        raise InvalidInput(
            f"unknown strategy {cfg.strategy!r}; choose from {', '.join(STRATEGIES)}"
        )

    if cfg.strategy == "fednewton" and (cfg.kind != "linear" or cfg.dp_noise > 0 or not plan):
        raise InvalidInput("fednewton trains the linear model only, without DP noise")
    common: dict[str, Any] = {
        "fraction_evaluate": 0.0,
        "min_train_nodes": n_nodes,
        "min_available_nodes": n_nodes,
        "train_metrics_aggr_fn": recorder.aggregate_metrics,
    }
    if cfg.strategy == "fedprox":
        common["proximal_mu"] = cfg.proximal_mu
    if cfg.strategy == "fedavgm":
        common["server_momentum"] = cfg.server_momentum
    if cfg.strategy in ("fedadam", "fedyogi", "fedsgd"):
        common["eta"] = cfg.server_lr
    if cfg.strategy == "fednewton" and plan:
        common["l2"] = l2_for(cfg.c, plan.rows, len(plan.classes), regression=plan.regression)
        common["tol"] = cfg.tol
        common["full_steps"] = plan.regression
    strategy: Strategy = STRATEGIES[cfg.strategy](**common)
    if cfg.dp_noise > 0:
        strategy = DifferentialPrivacyServerSideFixedClipping(
            strategy, cfg.dp_noise, cfg.dp_clip, n_nodes
        )
    return strategy


def gaussian_epsilon(noise_multiplier: float, rounds: int, delta: float) -> float:
    """Epsilon of ``rounds`` Gaussian releases (RDP accounting, no subsampling amplification)."""
    orders = np.concatenate([np.linspace(1.1, 10.9, 99), np.arange(11, 512)])
    rdp = rounds * orders / (2 * noise_multiplier**2)
    eps = rdp + np.log(1 / delta) / (orders - 1)
    return float(eps.min())
