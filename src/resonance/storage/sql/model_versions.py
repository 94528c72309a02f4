"""Model versions, evaluation suites and runs in SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from resonance.domain.evaluation import EvaluationRun, EvaluationSuite
from resonance.domain.modeling import ModelSpec, ModelVersion
from resonance.domain.refs import ref_name
from resonance.storage.sql.base import SqlRepoBase
from resonance.storage.tables import metadata

# --- tables ---

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("datasets", sa.JSON, nullable=False),
    sa.Column("dataset_hashes", sa.JSON, nullable=False),
    sa.Column("artifact_hash", sa.String(64), nullable=False),
    sa.Column("code_version", sa.String(100), nullable=False),
    sa.Column("created_by", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("classes", sa.JSON, nullable=False),
    sa.Column("feature_names", sa.JSON, nullable=False),
    sa.Column("industry", sa.String(64)),
    sa.Column("scenario", sa.String(200)),
    sa.Column("details", sa.JSON, nullable=False),
)

eval_suites = sa.Table(
    "eval_suites",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("dataset", sa.String(100), nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("thresholds", sa.JSON, nullable=False),
    sa.Column("scenario", sa.String(200)),
    sa.Column("query_budget", sa.Integer, nullable=False),
    sa.Column("primary_metric", sa.String(40), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

eval_runs = sa.Table(
    "eval_runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("model_name", sa.String(64), nullable=False, index=True),
    sa.Column("suite", sa.String(64), sa.ForeignKey("eval_suites.name"), nullable=False),
    sa.Column("dataset_hash", sa.String(64), nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("passed", sa.JSON, nullable=False),
    sa.Column("diagnosis", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)


def _model(row: Any) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        number=row.number,
        spec=ModelSpec.from_dict(row.spec),
        datasets=tuple(row.datasets),
        dataset_hashes=tuple(row.dataset_hashes),
        artifact_hash=row.artifact_hash,
        code_version=row.code_version,
        created_by=row.created_by,
        created_at=row.created_at,
        metrics=row.metrics,
        classes=tuple(row.classes),
        feature_names=tuple(row.feature_names),
        industry=row.industry,
        scenario=row.scenario,
        details=row.details,
    )


def _suite(row: Any) -> EvaluationSuite:
    return EvaluationSuite(
        name=row.name,
        owner=row.owner,
        dataset=row.dataset,
        metrics=tuple(row.metrics),
        thresholds=dict(row.thresholds),
        scenario=row.scenario,
        query_budget=row.query_budget,
        primary_metric=row.primary_metric,
    )


def _run(row: Any) -> EvaluationRun:
    return EvaluationRun(
        id=row.id,
        model=row.model,
        suite=row.suite,
        dataset_hash=row.dataset_hash,
        metrics=row.metrics,
        passed=row.passed,
        diagnosis=row.diagnosis,
        created_by=row.created_by,
        created_at=row.created_at,
    )


class SqlModelRepo(SqlRepoBase):
    """:class:`resonance.storage.store.ModelRepo` in SQL."""

    def add_model_version(self, model: ModelVersion) -> None:
        d = model.to_dict()
        for key in ("ref",):
            d.pop(key)
        self.conn.execute(model_versions.insert().values(**d))

    def get_model_version(self, name: str, number: int | None = None) -> ModelVersion | None:
        m = model_versions
        stmt = sa.select(m).where(m.c.name == name)
        stmt = stmt.where(m.c.number == number) if number is not None else stmt
        row = self.conn.execute(stmt.order_by(m.c.number.desc()).limit(1)).first()
        return _model(row) if row else None

    def set_model_artifact(self, name: str, number: int, artifact_hash: str) -> None:
        m = model_versions
        self.conn.execute(
            m.update()
            .where(m.c.name == name, m.c.number == number)
            .values(artifact_hash=artifact_hash)
        )

    def list_model_versions(
        self, *, name: str | None = None, created_by: str | None = None
    ) -> list[ModelVersion]:
        m = model_versions
        stmt = sa.select(m).order_by(m.c.name, m.c.number)
        if name:
            stmt = stmt.where(m.c.name == name)
        if created_by:
            stmt = stmt.where(m.c.created_by == created_by)
        return [_model(r) for r in self.conn.execute(stmt)]

    def add_suite(self, suite: EvaluationSuite, *, created_at: str) -> None:
        self.conn.execute(eval_suites.insert().values(**suite.to_dict(), created_at=created_at))

    def get_suite(self, name: str) -> EvaluationSuite | None:
        row = self.conn.execute(sa.select(eval_suites).where(eval_suites.c.name == name)).first()
        return _suite(row) if row else None

    def list_suites(self) -> list[EvaluationSuite]:
        rows = self.conn.execute(sa.select(eval_suites).order_by(eval_suites.c.name))
        return [_suite(r) for r in rows]

    def add_eval_run(self, run: EvaluationRun) -> None:
        self.conn.execute(
            eval_runs.insert().values(**run.to_dict(), model_name=ref_name(run.model))
        )

    def list_eval_runs(
        self, *, model: str | None = None, model_name: str | None = None, suite: str | None = None
    ) -> list[EvaluationRun]:
        r = eval_runs
        stmt = sa.select(r).order_by(r.c.created_at, r.c.id)
        if model:
            stmt = stmt.where(r.c.model == model)
        if model_name:
            stmt = stmt.where(r.c.model_name == model_name)
        if suite:
            stmt = stmt.where(r.c.suite == suite)
        return [_run(x) for x in self.conn.execute(stmt)]

    def count_eval_runs(self, *, model_name: str, suite: str) -> int:
        r = eval_runs
        stmt = (
            sa.select(sa.func.count())
            .select_from(r)
            .where(r.c.model_name == model_name, r.c.suite == suite)
        )
        return int(self.conn.execute(stmt).scalar_one())
