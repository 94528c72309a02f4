"""Model versions, evaluation suites and runs in SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from resonance.domain.evaluation import EvaluationRun, EvaluationSuite
from resonance.domain.modeling import ModelSpec, ModelVersion
from resonance.domain.refs import ref_name
from resonance.storage import tables_models as t
from resonance.storage.sql.base import SqlRepoBase


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
        self.conn.execute(t.model_versions.insert().values(**d))

    def get_model_version(self, name: str, number: int | None = None) -> ModelVersion | None:
        m = t.model_versions
        stmt = sa.select(m).where(m.c.name == name)
        stmt = stmt.where(m.c.number == number) if number is not None else stmt
        row = self.conn.execute(stmt.order_by(m.c.number.desc()).limit(1)).first()
        return _model(row) if row else None

    def set_model_artifact(self, name: str, number: int, artifact_hash: str) -> None:
        m = t.model_versions
        self.conn.execute(
            m.update()
            .where(m.c.name == name, m.c.number == number)
            .values(artifact_hash=artifact_hash)
        )

    def list_model_versions(
        self, *, name: str | None = None, created_by: str | None = None
    ) -> list[ModelVersion]:
        m = t.model_versions
        stmt = sa.select(m).order_by(m.c.name, m.c.number)
        if name:
            stmt = stmt.where(m.c.name == name)
        if created_by:
            stmt = stmt.where(m.c.created_by == created_by)
        return [_model(r) for r in self.conn.execute(stmt)]

    def add_suite(self, suite: EvaluationSuite, *, created_at: str) -> None:
        self.conn.execute(t.eval_suites.insert().values(**suite.to_dict(), created_at=created_at))

    def get_suite(self, name: str) -> EvaluationSuite | None:
        row = self.conn.execute(
            sa.select(t.eval_suites).where(t.eval_suites.c.name == name)
        ).first()
        return _suite(row) if row else None

    def list_suites(self) -> list[EvaluationSuite]:
        rows = self.conn.execute(sa.select(t.eval_suites).order_by(t.eval_suites.c.name))
        return [_suite(r) for r in rows]

    def add_eval_run(self, run: EvaluationRun) -> None:
        self.conn.execute(
            t.eval_runs.insert().values(**run.to_dict(), model_name=ref_name(run.model))
        )

    def list_eval_runs(
        self, *, model: str | None = None, model_name: str | None = None, suite: str | None = None
    ) -> list[EvaluationRun]:
        r = t.eval_runs
        stmt = sa.select(r).order_by(r.c.created_at, r.c.id)
        if model:
            stmt = stmt.where(r.c.model == model)
        if model_name:
            stmt = stmt.where(r.c.model_name == model_name)
        if suite:
            stmt = stmt.where(r.c.suite == suite)
        return [_run(x) for x in self.conn.execute(stmt)]

    def count_eval_runs(self, *, model_name: str, suite: str) -> int:
        r = t.eval_runs
        stmt = (
            sa.select(sa.func.count())
            .select_from(r)
            .where(r.c.model_name == model_name, r.c.suite == suite)
        )
        return int(self.conn.execute(stmt).scalar_one())
