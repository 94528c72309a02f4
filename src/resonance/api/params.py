"""Typed path and query parameters with limits and examples (the examples also seed the
explicit phase of the schemathesis run, so it reaches existing resources)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, Field

from resonance.domain.modeling import TimeFeatures, parse_time_features

SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"


def slug(example: str) -> Any:
    """A body field holding an identifier (the same rule as ``domain.orgs.check_slug``)."""
    return Field(max_length=63, pattern=SLUG_PATTERN, examples=[example])


def text(example: str, *, required: bool = True) -> Any:
    """A body field holding free text (at most 2000 characters)."""
    return Field(min_length=1 if required else 0, max_length=2000, examples=[example])


DatasetName = Annotated[str, Path(max_length=63, examples=["steel-a"])]
VersionRef = Annotated[str, Path(max_length=80, examples=["steel-a@1", "steel-a"])]
OrgName = Annotated[str, Path(max_length=63, examples=["plant-a"])]
ConsortiumName = Annotated[str, Path(max_length=63, examples=["steel-c"])]
RegistryName = Annotated[str, Path(max_length=40, examples=["scenarios"])]
ScenarioName = Annotated[str, Path(max_length=63, examples=["surface-defects"])]
Province = Annotated[str | None, Query(max_length=100, examples=["Jiangsu"])]
Enterprise = Annotated[str | None, Query(max_length=100, examples=["sinosteel"])]
Industry = Annotated[str | None, Query(max_length=64, examples=["steel"])]
Scenario = Annotated[str | None, Query(max_length=63, examples=["surface-defects"])]


Column = Annotated[str, Field(min_length=1, max_length=200)]
"""A column name in a body."""


class TimeSeriesOptions(BaseModel):
    """Per-group lag and rolling-mean features of a body that trains (``--lag-column`` ...)."""

    lag_columns: list[Column] = Field(default_factory=list, max_length=50)
    lags: list[Annotated[int, Field(ge=1, le=10_000)]] = Field(default_factory=list, max_length=20)
    windows: list[Annotated[int, Field(ge=1, le=10_000)]] = Field(
        default_factory=list, max_length=20
    )

    def time_features(self) -> TimeFeatures | None:
        """The spec's time features (``None`` when no column is lagged)."""
        return parse_time_features(list(self.lag_columns), self.lags, self.windows)

    def job_params(self) -> dict[str, Any]:
        """The body as a job's parameters: the lag options become ``time_features``."""
        params = self.model_dump(mode="json", exclude={"lag_columns", "lags", "windows"})
        tf = self.time_features()
        params["time_features"] = tf.to_dict() if tf else None
        return params
