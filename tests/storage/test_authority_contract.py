"""Contract tests of the authority's repository methods on every backend: status and
corrections of entries, their history, versioned report notes, national bundles."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from resonance.domain.errors import Conflict
from resonance.domain.national import ImportedBundle
from resonance.domain.orgs import Organization, Role
from resonance.domain.registry import (
    CaseStatus,
    EntryStatus,
    HistoryEntry,
    HolderKind,
    LandingCase,
    ModelEntry,
    ModelKind,
    ResonanceSpaceEntry,
    ScenarioFile,
    ScenarioStatus,
)
from resonance.domain.reporting import ReportKind, ReportNote, SubjectKind, TaskNote
from resonance.storage.sql import SqlStore

NOW = "2026-11-22T00:00:00+00:00"
DUPLICATE = (sa.exc.IntegrityError, Conflict)


@pytest.fixture
def store(db_url: str):
    s = SqlStore(db_url)
    s.migrate()
    with s.transaction() as tx:
        tx.add_organization(Organization("op", frozenset({Role.OPERATOR}), "Hebei"), created_at=NOW)
    yield s
    s.close()


def test_entries_are_updated_and_their_history_kept(store: SqlStore) -> None:
    scen = ScenarioFile("s", "steel", "t", "p", "v", "d", "m", "op")
    model = ModelEntry("m", "steel", ModelKind.AGENT, "op", "s")
    case = LandingCase("c", "m", "op", "Hebei", "d", "op", "deployment:x")
    space = ResonanceSpaceEntry("sp", HolderKind.PROVINCE, "Hebei", ("steel",), "op")
    with store.transaction() as tx:
        tx.add_scenario(scen, created_at=NOW)
        tx.add_model_entry(model, created_at=NOW)
        tx.add_case(case, created_at=NOW)
        tx.add_space_entry(space, created_at=NOW)
    with store.transaction() as tx:
        assert tx.get_case("c") == case and tx.get_case("c").status is CaseStatus.RECORDED
        tx.update_scenario(
            replace(scen, title="t2", status=ScenarioStatus.APPROVED), updated_at=NOW
        )
        tx.update_model_entry(replace(model, status=EntryStatus.SUSPENDED, description="x"))
        tx.update_case(replace(case, status=CaseStatus.CONFIRMED, evidence="deployment:y"))
        tx.update_space_entry(replace(space, status=EntryStatus.RETIRED))
        for i in range(2):
            tx.add_history(
                HistoryEntry("case", "c", NOW, "op", "status", {"status": i}, {"status": i + 1})
            )
    with store.transaction() as tx:
        s = tx.get_scenario("s")
        assert s is not None and s.title == "t2" and s.status is ScenarioStatus.APPROVED
        m = tx.get_model_entry("m")
        assert m is not None and m.status is EntryStatus.SUSPENDED and m.description == "x"
        c = tx.get_case("c")
        assert c is not None and c.status is CaseStatus.CONFIRMED and c.evidence == "deployment:y"
        sp = tx.get_space_entry("sp")
        assert sp is not None and sp.status is EntryStatus.RETIRED
        hist = tx.list_history(registry="case", name="c")
        assert [h.after for h in hist] == [{"status": 1}, {"status": 2}]
        assert tx.list_history(registry="case", name="other") == []


def test_notes_and_bundles(store: SqlStore) -> None:
    def note(version: int) -> ReportNote:
        tasks = (TaskNote("spaces", problems=f"p{version}", typical_cases=("c",)),)
        return ReportNote(
            ReportKind.MIDTERM, SubjectKind.PROVINCE, "Hebei", version, "op", NOW, tasks
        )

    bundle = ImportedBundle("a", 3, "h" * 64, "k", NOW, NOW, "op", {"manifest": {"x": [1]}})
    with store.transaction() as tx:
        tx.add_report_note(note(1))
        tx.add_report_note(note(2))
        tx.add_bundle(bundle)
    with store.transaction() as tx:
        notes = tx.list_report_notes(
            kind=ReportKind.MIDTERM, subject_kind=SubjectKind.PROVINCE, subject="Hebei"
        )
        assert notes == [note(1), note(2)]
        assert (
            tx.list_report_notes(
                kind=ReportKind.PLAN, subject_kind=SubjectKind.PROVINCE, subject="Hebei"
            )
            == []
        )
        assert tx.list_bundles() == [bundle]
    # the same version twice violates the unique key
    with pytest.raises(DUPLICATE), store.transaction() as tx:
        tx.add_report_note(note(2))
