"""Registries of the action and report submissions in SQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from resonance.domain.national import ImportedBundle
from resonance.domain.registry import (
    CaseStatus,
    EntryStatus,
    HistoryEntry,
    HolderKind,
    KeyCity,
    KeyIndustry,
    LandingCase,
    ModelEntry,
    ModelKind,
    ResonanceSpaceEntry,
    ScenarioFile,
    ScenarioStatus,
)
from resonance.domain.reporting import ReportKind, ReportNote, ReportSubmission, SubjectKind
from resonance.storage.sql.base import SqlRepoBase
from resonance.storage.tables import metadata

# --- tables ---

registry_history = sa.Table(
    "registry_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("registry", sa.String(20), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("before", sa.JSON, nullable=False),
    sa.Column("after", sa.JSON, nullable=False),
    sa.Index("ix_registry_history_entry", "registry", "name"),
)

report_notes = sa.Table(
    "report_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("subject_kind", sa.String(20), nullable=False),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("written_at", sa.String(40), nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.UniqueConstraint("kind", "subject_kind", "subject", "version"),
)

national_bundles = sa.Table(
    "national_bundles",
    metadata,
    sa.Column("space", sa.String(64), primary_key=True),
    sa.Column("head_hash", sa.String(64), primary_key=True),
    sa.Column("head_seq", sa.Integer, nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("exported_at", sa.String(40), nullable=False),
    sa.Column("imported_at", sa.String(40), nullable=False),
    sa.Column("imported_by", sa.String(64), nullable=False),
    sa.Column("bundle", sa.JSON, nullable=False),
)


# --- tables ---

registry_scenarios = sa.Table(
    "registry_scenarios",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("industry", sa.String(64), nullable=False, index=True),
    sa.Column("title", sa.String(2000), nullable=False),
    sa.Column("problem", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("data_needed", sa.Text, nullable=False),
    sa.Column("model_needed", sa.Text, nullable=False),
    sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

registry_models = sa.Table(
    "registry_models",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("industry", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("owner", sa.String(64), sa.ForeignKey("organizations.name"), nullable=False),
    sa.Column("scenario", sa.String(64), sa.ForeignKey("registry_scenarios.name")),
    sa.Column("ref", sa.String(200)),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="listed"),  # 0011
)

registry_cases = sa.Table(
    "registry_cases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("model", sa.String(64), sa.ForeignKey("registry_models.name"), nullable=False),
    sa.Column("adopter", sa.String(200), nullable=False),
    sa.Column("region", sa.String(100), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("evidence", sa.String(300), nullable=False, server_default=""),  # 0011_authority
    sa.Column("status", sa.String(20), nullable=False, server_default="recorded"),
    sa.Index("ix_registry_cases_model", "model"),
)

registry_spaces = sa.Table(
    "registry_spaces",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder_kind", sa.String(20), nullable=False),
    sa.Column("holder", sa.String(100), nullable=False),
    sa.Column("industries", sa.JSON, nullable=False),
    sa.Column("operator", sa.String(64), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="listed"),  # 0011
)

registry_key_cities = sa.Table(
    "registry_key_cities",
    metadata,
    sa.Column("province", sa.String(100), primary_key=True),
    sa.Column("city", sa.String(100), primary_key=True),
    sa.Column("pilot_zone", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

registry_key_industries = sa.Table(
    "registry_key_industries",
    metadata,
    sa.Column("holder_kind", sa.String(20), primary_key=True),
    sa.Column("holder", sa.String(100), primary_key=True),
    sa.Column("industry", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.String(40), nullable=False),
)

report_submissions = sa.Table(
    "report_submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("subject_kind", sa.String(20), nullable=False),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("submitted_on", sa.String(10), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("format", sa.String(10), nullable=False),
    sa.Column("submitted_by", sa.String(64), nullable=False),
    sa.Index("ix_report_submissions_subject", "subject_kind", "subject"),
)


def _scenario(row: Any) -> ScenarioFile:
    return ScenarioFile(
        name=row.name,
        industry=row.industry,
        title=row.title,
        problem=row.problem,
        value=row.value,
        data_needed=row.data_needed,
        model_needed=row.model_needed,
        owner=row.owner,
        status=ScenarioStatus(row.status),
    )


def _model(row: Any) -> ModelEntry:
    return ModelEntry(
        name=row.name,
        industry=row.industry,
        kind=ModelKind(row.kind),
        owner=row.owner,
        scenario=row.scenario,
        ref=row.ref,
        description=row.description,
        status=EntryStatus(row.status),
    )


def _case(row: Any) -> LandingCase:
    return LandingCase(
        row.name,
        row.model,
        row.adopter,
        row.region,
        row.description,
        row.recorded_by,
        row.evidence,
        CaseStatus(row.status),
    )


def _space(row: Any) -> ResonanceSpaceEntry:
    return ResonanceSpaceEntry(
        name=row.name,
        holder_kind=HolderKind(row.holder_kind),
        holder=row.holder,
        industries=tuple(row.industries),
        operator=row.operator,
        description=row.description,
        status=EntryStatus(row.status),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict | list):
        return value
    return str(value)


class SqlRegistryRepo(SqlRepoBase):
    """:class:`resonance.storage.store.RegistryRepo` and ``TokenRepo`` in SQL."""

    # --- scenario files ---
    def add_scenario(self, scenario: ScenarioFile, *, created_at: str) -> None:
        self.conn.execute(
            registry_scenarios.insert().values(
                **{k: v for k, v in scenario.__dict__.items() if k != "status"},
                status=scenario.status.value,
                created_at=created_at,
                updated_at=created_at,
            )
        )

    def get_scenario(self, name: str) -> ScenarioFile | None:
        s = registry_scenarios
        row = self.conn.execute(sa.select(s).where(s.c.name == name)).first()
        return _scenario(row) if row else None

    def list_scenarios(self, *, industry: str | None = None) -> list[ScenarioFile]:
        s = registry_scenarios
        stmt = sa.select(s).order_by(s.c.industry, s.c.name)
        if industry:
            stmt = stmt.where(s.c.industry == industry)
        return [_scenario(x) for x in self.conn.execute(stmt)]

    def set_scenario_status(self, name: str, status: ScenarioStatus, *, updated_at: str) -> bool:
        s = registry_scenarios
        res = self.conn.execute(
            s.update().where(s.c.name == name).values(status=status.value, updated_at=updated_at)
        )
        return res.rowcount > 0

    # --- models and agents ---
    def add_model_entry(self, model: ModelEntry, *, created_at: str) -> None:
        self.conn.execute(
            registry_models.insert().values(
                **{k: v for k, v in model.__dict__.items() if k not in ("kind", "status")},
                kind=model.kind.value,
                status=model.status.value,
                created_at=created_at,
            )
        )

    def get_model_entry(self, name: str) -> ModelEntry | None:
        m = registry_models
        row = self.conn.execute(sa.select(m).where(m.c.name == name)).first()
        return _model(row) if row else None

    def list_model_entries(
        self, *, industry: str | None = None, kind: ModelKind | None = None
    ) -> list[ModelEntry]:
        m = registry_models
        stmt = sa.select(m).order_by(m.c.industry, m.c.name)
        if industry:
            stmt = stmt.where(m.c.industry == industry)
        if kind:
            stmt = stmt.where(m.c.kind == kind.value)
        return [_model(x) for x in self.conn.execute(stmt)]

    # --- landing cases ---
    def add_case(self, case: LandingCase, *, created_at: str) -> None:
        self.conn.execute(
            registry_cases.insert().values(
                **{**case.__dict__, "status": case.status.value}, created_at=created_at
            )
        )

    def get_case(self, name: str) -> LandingCase | None:
        c = registry_cases
        row = self.conn.execute(sa.select(c).where(c.c.name == name)).first()
        return _case(row) if row else None

    def list_cases(self, *, model: str | None = None) -> list[LandingCase]:
        c = registry_cases
        stmt = sa.select(c).order_by(c.c.model, c.c.name)
        if model:
            stmt = stmt.where(c.c.model == model)
        return [_case(x) for x in self.conn.execute(stmt)]

    # --- resonance spaces ---
    def add_space_entry(self, entry: ResonanceSpaceEntry, *, created_at: str) -> None:
        self.conn.execute(
            registry_spaces.insert().values(
                name=entry.name,
                holder_kind=entry.holder_kind.value,
                holder=entry.holder,
                industries=list(entry.industries),
                operator=entry.operator,
                description=entry.description,
                status=entry.status.value,
                created_at=created_at,
            )
        )

    # --- corrections, status steps and their history (0011_authority) ---
    def update_scenario(self, scenario: ScenarioFile, *, updated_at: str) -> None:
        s = registry_scenarios
        values = {k: v for k, v in scenario.__dict__.items() if k not in ("name", "status")}
        self.conn.execute(
            s.update()
            .where(s.c.name == scenario.name)
            .values(**values, status=scenario.status.value, updated_at=updated_at)
        )

    def update_model_entry(self, model: ModelEntry) -> None:
        m = registry_models
        self.conn.execute(
            m.update()
            .where(m.c.name == model.name)
            .values(
                scenario=model.scenario,
                ref=model.ref,
                description=model.description,
                status=model.status.value,
            )
        )

    def update_case(self, case: LandingCase) -> None:
        c = registry_cases
        self.conn.execute(
            c.update()
            .where(c.c.name == case.name)
            .values(
                adopter=case.adopter,
                region=case.region,
                description=case.description,
                evidence=case.evidence,
                status=case.status.value,
            )
        )

    def update_space_entry(self, entry: ResonanceSpaceEntry) -> None:
        s = registry_spaces
        self.conn.execute(
            s.update()
            .where(s.c.name == entry.name)
            .values(
                industries=list(entry.industries),
                description=entry.description,
                status=entry.status.value,
            )
        )

    def add_history(self, entry: HistoryEntry) -> None:
        self.conn.execute(
            registry_history.insert().values(
                registry=entry.registry,
                name=entry.name,
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                before=_jsonable(entry.before),
                after=_jsonable(entry.after),
            )
        )

    def list_history(self, *, registry: str, name: str) -> list[HistoryEntry]:
        h = registry_history
        stmt = sa.select(h).where(h.c.registry == registry, h.c.name == name).order_by(h.c.id)
        return [
            HistoryEntry(x.registry, x.name, x.at, x.actor, x.action, x.before, x.after)
            for x in self.conn.execute(stmt)
        ]

    # --- report notes (problems, next steps: versioned) ---
    def add_report_note(self, note: ReportNote) -> None:
        self.conn.execute(
            report_notes.insert().values(
                kind=note.kind.value,
                subject_kind=note.subject_kind.value,
                subject=note.subject,
                version=note.version,
                author=note.author,
                written_at=note.written_at,
                body=note.body(),
            )
        )

    def list_report_notes(
        self, *, kind: ReportKind, subject_kind: SubjectKind, subject: str
    ) -> list[ReportNote]:
        n = report_notes
        stmt = (
            sa.select(n)
            .where(
                n.c.kind == kind.value,
                n.c.subject_kind == subject_kind.value,
                n.c.subject == subject,
            )
            .order_by(n.c.version)
        )
        return [
            ReportNote.from_body(
                kind=kind,
                subject_kind=subject_kind,
                subject=subject,
                version=x.version,
                author=x.author,
                written_at=x.written_at,
                body=x.body,
            )
            for x in self.conn.execute(stmt)
        ]

    # --- national bundles ---
    def add_bundle(self, bundle: ImportedBundle) -> None:
        self.conn.execute(
            national_bundles.insert().values(
                space=bundle.space,
                head_hash=bundle.head_hash,
                head_seq=bundle.head_seq,
                key_id=bundle.key_id,
                exported_at=bundle.exported_at,
                imported_at=bundle.imported_at,
                imported_by=bundle.imported_by,
                bundle=bundle.document,
            )
        )

    def list_bundles(self) -> list[ImportedBundle]:
        b = national_bundles
        stmt = sa.select(b).order_by(b.c.space, b.c.head_seq)
        return [
            ImportedBundle(
                x.space,
                x.head_seq,
                x.head_hash,
                x.key_id,
                x.exported_at,
                x.imported_at,
                x.imported_by,
                x.bundle,
            )
            for x in self.conn.execute(stmt)
        ]

    def get_space_entry(self, name: str) -> ResonanceSpaceEntry | None:
        s = registry_spaces
        row = self.conn.execute(sa.select(s).where(s.c.name == name)).first()
        return _space(row) if row else None

    def list_space_entries(self) -> list[ResonanceSpaceEntry]:
        s = registry_spaces
        rows = self.conn.execute(sa.select(s).order_by(s.c.holder, s.c.name))
        return [_space(x) for x in rows]

    # --- key cities and key industries ---
    def add_key_city(self, city: KeyCity, *, created_at: str) -> None:
        self.conn.execute(
            registry_key_cities.insert().values(
                province=city.province,
                city=city.city,
                pilot_zone=city.pilot_zone,
                created_at=created_at,
            )
        )

    def list_key_cities(self, *, province: str | None = None) -> list[KeyCity]:
        k = registry_key_cities
        stmt = sa.select(k).order_by(k.c.province, k.c.city)
        if province:
            stmt = stmt.where(k.c.province == province)
        return [KeyCity(x.province, x.city, bool(x.pilot_zone)) for x in self.conn.execute(stmt)]

    def add_key_industry(self, key: KeyIndustry, *, created_at: str) -> None:
        self.conn.execute(
            registry_key_industries.insert().values(
                holder_kind=key.holder_kind.value,
                holder=key.holder,
                industry=key.industry,
                created_at=created_at,
            )
        )

    def list_key_industries(
        self, *, holder_kind: HolderKind | None = None, holder: str | None = None
    ) -> list[KeyIndustry]:
        k = registry_key_industries
        stmt = sa.select(k).order_by(k.c.holder_kind, k.c.holder, k.c.industry)
        if holder_kind:
            stmt = stmt.where(k.c.holder_kind == holder_kind.value)
        if holder:
            stmt = stmt.where(k.c.holder == holder)
        return [
            KeyIndustry(HolderKind(x.holder_kind), x.holder, x.industry)
            for x in self.conn.execute(stmt)
        ]

    # --- report submissions ---
    def add_report_submission(self, sub: ReportSubmission) -> None:
        self.conn.execute(
            report_submissions.insert().values(
                kind=sub.kind.value,
                subject_kind=sub.subject_kind.value,
                subject=sub.subject,
                submitted_on=sub.submitted_on.isoformat(),
                content_hash=sub.content_hash,
                format=sub.fmt,
                submitted_by=sub.submitted_by,
            )
        )

    def list_report_submissions(
        self, *, subject_kind: SubjectKind | None = None, subject: str | None = None
    ) -> list[ReportSubmission]:
        s = report_submissions
        stmt = sa.select(s).order_by(s.c.submitted_on, s.c.id)
        if subject_kind:
            stmt = stmt.where(s.c.subject_kind == subject_kind.value)
        if subject:
            stmt = stmt.where(s.c.subject == subject)
        return [
            ReportSubmission(
                ReportKind(x.kind),
                SubjectKind(x.subject_kind),
                x.subject,
                date.fromisoformat(x.submitted_on),
                x.content_hash,
                x.format,
                x.submitted_by,
            )
            for x in self.conn.execute(stmt)
        ]
