"""Caps on the work one request may start (pure): file shape, cell length, trainer parameters.

Defaults are documented in ``docs/integrity.md``; the operator changes them in the
``[limits]`` table of ``resonance.toml``. Every check runs before the heavy work it
guards (reading every value, validating, fitting).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from resonance.domain.errors import InvalidInput, LimitExceeded


@dataclass(frozen=True)
class Limits:
    """The space's caps.

    Attributes
    ----------
    max_columns:
        Columns of an ingested or validated file (checked from the header alone).
    max_rows:
        Rows of an ingested or validated file.
    max_cell_chars:
        Characters of one text cell.
    max_estimators:
        ``n_estimators`` of tree ensembles (random forest, LightGBM).
    max_iter:
        ``max_iter`` of iterative trainers (logistic regression, MLP).
    max_leaves:
        ``num_leaves`` of LightGBM trees.
    max_hidden_units:
        Units of all hidden layers of an MLP together.
    max_n_jobs:
        Threads one fit may use (``n_jobs``); -1 ("all cores") is refused.
    """

    max_columns: int = 20_000
    max_rows: int = 20_000_000
    max_cell_chars: int = 65_536
    max_estimators: int = 5_000
    max_iter: int = 10_000
    max_leaves: int = 4_096
    max_hidden_units: int = 4_096
    max_n_jobs: int = 4

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Limits:
        """Read the ``[limits]`` table; unknown keys and non-positive values are ``RES-100``."""
        known = {f.name for f in fields(Limits)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(f"unknown [limits] setting(s) {unknown}", settings=unknown)
        values = {}
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InvalidInput(f"[limits] {key} must be a positive integer", setting=key)
            values[key] = value
        return Limits(**values)

    def to_dict(self) -> dict[str, int]:
        """The caps as plain JSON types."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def check_shape(*, columns: int | None = None, rows: int | None = None, limits: Limits) -> None:
    """Raise ``LimitExceeded`` (RES-116) when a file is wider or longer than the caps."""
    for what, found, cap in (
        ("columns", columns, limits.max_columns),
        ("rows", rows, limits.max_rows),
    ):
        if found is not None and found > cap:
            raise LimitExceeded(
                f"the file has {found:,} {what}, above this space's cap of {cap:,} "
                f"(max_{what} in resonance.toml [limits])",
                **{what: found},
                limit=cap,
            )


def check_cells(longest: dict[str, int], *, limits: Limits) -> None:
    """Raise ``LimitExceeded`` when a text column's longest cell is above the cap."""
    over = {c: n for c, n in longest.items() if n > limits.max_cell_chars}
    if over:
        raise LimitExceeded(
            f"text cells longer than {limits.max_cell_chars:,} characters in {sorted(over)[:5]} "
            "(max_cell_chars in resonance.toml [limits])",
            columns=over,
            limit=limits.max_cell_chars,
        )


@dataclass(frozen=True)
class Param:
    """One accepted trainer parameter: its type and, for numbers, its bounds.

    ``cap`` names the :class:`Limits` field bounding it from above (else ``high``).
    """

    kind: type
    low: float | None = None
    high: float | None = None
    cap: str | None = None


def check_params(
    trainer: str, params: dict[str, Any], accepted: dict[str, Param], *, limits: Limits
) -> None:
    """Refuse unknown parameters (RES-100) and values above the caps (RES-116)."""
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InvalidInput(
            f"unknown parameter(s) {unknown} for trainer {trainer}; accepted: "
            f"{', '.join(sorted(accepted))}",
            unknown=unknown,
            accepted=sorted(accepted),
        )
    for name, value in params.items():
        rule = accepted[name]
        if rule.kind is str:
            if not isinstance(value, str):
                raise InvalidInput(f"{trainer} parameter {name} must be text", param=name)
            continue
        if rule.kind is bool:
            if not isinstance(value, bool):
                raise InvalidInput(f"{trainer} parameter {name} must be true or false", param=name)
            continue
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (rule.kind is int and not float(value).is_integer()):
            what = "an integer" if rule.kind is int else "a number"
            raise InvalidInput(f"{trainer} parameter {name} must be {what}", param=name)
        high = getattr(limits, rule.cap) if rule.cap else rule.high
        if rule.low is not None and value < rule.low:
            raise InvalidInput(
                f"{trainer} parameter {name}={value} is below {rule.low}", param=name
            )
        if high is not None and value > high:
            raise LimitExceeded(
                f"{trainer} parameter {name}={value} is above this space's cap of {high}"
                + (f" ({rule.cap} in resonance.toml [limits])" if rule.cap else ""),
                param=name,
                limit=high,
            )
