"""Model cards: a model version, its data, metrics, evaluations and diagnosis as Markdown.

The card holds only what the space already keeps about the model: exact
dataset version references with their content hashes, trainer, parameters,
code version, holdout metrics, every evaluation run (scores and pass/fail)
and aggregate diagnoses. It never holds rows of a sealed evaluation set.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from resonance.domain.evaluation import METRIC_DIRECTIONS, EvaluationRun
from resonance.domain.modeling import ModelVersion
from resonance.services.space import Space
from resonance.services.training import require_model


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, default=str)
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A Markdown table (empty list when there are no rows)."""
    body = [f"| {' | '.join(_cell(v) for v in row)} |" for row in rows]
    if not body:
        return []
    return [f"| {' | '.join(columns)} |", f"|{'---|' * len(columns)}", *body, ""]


def _scalar_metrics(metrics: dict[str, Any]) -> list[tuple[str, Any, str]]:
    return [
        (k, v, METRIC_DIRECTIONS.get(k, ""))
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]


def _feature_line(model: ModelVersion) -> str:
    """The columns a model reads; a categorical column's values (ids, say) are only counted.

    The card goes to every organization: the encoded names (``Product ID=L47181``)
    would list values of the training rows.
    """
    columns: dict[str, int] = {}
    for name in model.feature_names:
        column, sep, _ = name.partition("=")
        columns[column] = columns.get(column, 0) + (1 if sep else 0)
    return ", ".join(f"{c} (categorical, {n} values)" if n else c for c, n in columns.items())


def _identity(model: ModelVersion) -> list[str]:
    spec = model.spec
    lines = [
        f"# Model card: {model.ref}",
        "",
        f"- **Trainer**: `{spec.trainer}` ({spec.task})",
        f"- **Task**: {spec.task or '—'} (declared by the training data's label spec)",
        f"- **Built by**: {model.created_by} at {model.created_at}",
        f"- **Industry**: {model.industry or '—'}; **scenario**: {model.scenario or '—'}",
        f"- **Code version**: `{model.code_version}`",
        f"- **Artifact** (sha256): `{model.artifact_hash}`",
        f"- **Classes**: {', '.join(model.classes) or '— (regression)'}",
        f"- **Features** ({len(model.feature_names)} encoded): {_feature_line(model)}",
    ]
    if spec.time_features:
        tf = spec.time_features
        lines.append(
            f"- **Time features** (per group, earlier rows only): lags {list(tf.lags)} and "
            f"means of the previous {list(tf.windows)} rows of {', '.join(tf.columns)}"
        )
    if spec.exclude_columns:
        lines.append(f"- **Excluded columns**: {', '.join(spec.exclude_columns)}")
    lines += ["", "## Parameters", ""]
    lines += table(["parameter", "value"], sorted(spec.params.items())) or ["Trainer defaults.", ""]
    lines += ["## Training data", ""]
    lines += table(
        ["dataset version", "content sha256"],
        zip(model.datasets, model.dataset_hashes, strict=True),
    )
    return lines


def _holdout(model: ModelVersion) -> list[str]:
    hold = model.metrics.get("holdout", {})
    lines = ["## Holdout metrics", ""]
    rows = model.metrics.get("rows")
    if rows is not None:
        lines += [f"Held out from {rows:,} training rows (groups never straddle the split).", ""]
    lines += table(["metric", "value", "better"], _scalar_metrics(hold)) or ["None recorded.", ""]
    lines += table(
        ["class", "recall", "support"],
        [
            (c, r, hold.get("support", {}).get(c))
            for c, r in hold.get("per_class_recall", {}).items()
        ],
    )
    return lines


def _runs(runs: list[EvaluationRun]) -> list[str]:
    lines = ["## Evaluations on sealed suites", ""]
    if not runs:
        return [*lines, "Not evaluated yet.", ""]
    rows = []
    for run in runs:
        scores = ", ".join(f"{k}={_cell(v)}" for k, v, _ in _scalar_metrics(run.metrics))
        verdict = "pass" if run.passed and all(run.passed.values()) else "fail"
        checks = ", ".join(f"{k}: {'pass' if ok else 'fail'}" for k, ok in run.passed.items())
        rows.append(
            (run.created_at, run.suite, run.dataset_hash[:16], scores, checks or "—", verdict)
        )
    return lines + table(["at", "suite", "sealed sha256", "metrics", "thresholds", "result"], rows)


def diagnosis_lines(run: EvaluationRun) -> list[str]:
    """Markdown sections of one run's diagnosis."""
    diag = run.diagnosis
    lines = [f"## Diagnosis (suite {run.suite}, run {run.id})", "", "### Per class", ""]
    m = run.metrics
    lines += table(
        ["class", "recall", "support"],
        [(c, r, m.get("support", {}).get(c)) for c, r in m.get("per_class_recall", {}).items()],
    ) or ["No per-class metrics (regression).", ""]
    lines += ["### Weak slices (score = extra errors; higher = worse)", ""]
    slices = diag.get("slices", [])
    extra = [k for k in ("accuracy", "macro_f1", "mae", "rmse") if slices and k in slices[0]]
    lines += table(
        ["slice", "rows", "error", "score", *extra],
        [
            (s["slice"], s["size"], s["error_rate"], s["score"], *(s[k] for k in extra))
            for s in slices
        ],
    ) or ["No slice is worse than the whole set.", ""]
    unavailable = diag.get("unavailable", {})
    lines += _label_issue_lines(diag.get("label_issues"), unavailable.get("label_issues"))
    lines += ["### Coverage gaps (evaluation regions rare in training data)", ""]
    if "coverage_gaps" in unavailable:
        return [*lines, f"Not computed: {unavailable['coverage_gaps']}.", ""]
    lines += table(
        ["region", "evaluation rows", "training rows"],
        [(g["region"], g["eval_rows"], g["train_rows"]) for g in diag.get("coverage_gaps", [])],
    ) or ["None found.", ""]
    return lines


def _label_issue_lines(issues: dict[str, Any] | None, why_not: str | None = None) -> list[str]:
    method = issues.get("method", "cleanlab") if issues else "cleanlab"
    lines = [f"### Suspected label errors in the training data ({method})", ""]
    if issues is None:
        return [*lines, f"Not computed: {why_not}." if why_not else "Not computed.", ""]
    lines += [f"{issues['count']} rows ({issues['share']:.1%}) look mislabeled.", ""]
    lines += table(["dataset version", "suspected rows"], sorted(issues["per_dataset"].items()))
    if issues["top"] and "z" in issues["top"][0]:  # regression: out-of-fold residuals
        return lines + table(
            ["dataset version", "row", "given", "out-of-fold prediction", "robust z"],
            [(t["dataset"], t["row"], t["given"], t["suggested"], t["z"]) for t in issues["top"]],
        )
    lines += table(
        ["member", "suspected rows (listed to their owner only)"],
        sorted(issues.get("per_member", {}).items()),
    )
    return lines


def _details(model: ModelVersion) -> list[str]:
    if not model.details:
        return []
    return [
        "## Details",
        "",
        *table(["key", "value"], sorted(model.details.items())),
    ]


def render_card(model: ModelVersion, runs: list[EvaluationRun]) -> str:
    """The Markdown card of ``model`` given its evaluation runs (oldest first)."""
    lines = _identity(model) + _holdout(model) + _runs(runs) + _details(model)
    diagnosed = [r for r in runs if r.diagnosis]
    if diagnosed:
        lines += diagnosis_lines(diagnosed[-1])
    return "\n".join(lines).rstrip() + "\n"


def model_card(space: Space, ref: str) -> str:
    """Render the card of model version ``ref`` (``NAME@N`` or the latest ``NAME``)."""
    with space.work() as w:
        model = require_model(w.tx, ref)
        runs = w.tx.list_eval_runs(model=model.ref)
    return render_card(model, runs)
