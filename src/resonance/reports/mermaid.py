"""Charts for Markdown reports as Mermaid ``xychart-beta`` blocks.

GitHub, GitLab, Gitea, Obsidian and most Markdown previewers draw these
blocks as bar and line charts; any other reader still sees the numbers. No
image files, no network.
"""

from __future__ import annotations

from collections.abc import Sequence

from resonance.domain.quotas import QuotaReport


def _label(text: str, width: int = 28) -> str:
    clean = " ".join(text.replace('"', "'").split())
    return '"' + (clean if len(clean) <= width else clean[: width - 1] + "…") + '"'


def _number(value: float) -> str:
    return f"{value:g}"


def xychart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    y_label: str = "",
) -> str:
    """A fenced ``mermaid`` block with one x-axis of ``labels`` and ``series``.

    Parameters
    ----------
    series:
        ``(kind, values)`` pairs, ``kind`` being ``"bar"`` or ``"line"``; each
        has one value per label.

    Returns
    -------
    str
        The block, or an empty string when there is nothing to draw.
    """
    if not labels or not series:
        return ""
    top = max((v for _, values in series for v in values), default=0.0)
    lines = [
        "```mermaid",
        "xychart-beta",
        f"    title {_label(title, 80)}",
        f"    x-axis [{', '.join(_label(x) for x in labels)}]",
        f"    y-axis {_label(y_label, 40)} 0 --> {_number(max(1.0, top * 1.1))}",
    ]
    for kind, values in series:
        if kind not in ("bar", "line") or len(values) != len(labels):
            raise ValueError(f"bad series {kind!r} with {len(values)} values for {len(labels)}")
        lines.append(f"    {kind} [{', '.join(_number(v) for v in values)}]")
    return "\n".join([*lines, "```"])


def quota_chart(report: QuotaReport) -> str:
    """Actual (bars) against required (line) for the subject's own numbers."""
    items = report.items
    return xychart(
        f"Quota status: {report.scope} {report.subject} (bars actual, line required)",
        [i.label for i in items],
        [("bar", [i.actual for i in items]), ("line", [i.required for i in items])],
        y_label="count",
    )


def progress_chart(report: QuotaReport) -> str:
    """Progress (percent of the numbers met) of each child, e.g. each key industry."""
    kids = report.children
    return xychart(
        "Progress per key industry (% of its numbers)",
        [c.subject for c in kids],
        [("bar", [round(100 * c.progress()) for c in kids])],
        y_label="%",
    )


def activity_chart(activity: dict[str, dict[str, int]]) -> str:
    """Ledger entries per month."""
    months = sorted(activity)
    return xychart(
        "Activity recorded on the ledger (entries per month)",
        months,
        [("line", [sum(activity[m].values()) for m in months])],
        y_label="entries",
    )
