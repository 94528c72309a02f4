"""Reports follow the notice: seven key tasks, targets, named achievements, the authority's
versioned text; plan, mid-term and summary differ (issue 13)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from resonance.domain.errors import NotFound, OutsideRegion
from resonance.domain.orgs import Role
from resonance.domain.reporting import KEY_TASKS, ReportKind, TaskNote
from resonance.reports.render import render
from resonance.services import orgs, reports
from resonance.services.space import Space
from tests.registry_seed import seed


def test_three_kinds_follow_the_notice(lite_space: Space) -> None:
    seed(lite_space)
    reports.write_note(
        lite_space,
        actor="authority",
        kind=ReportKind.PLAN,
        province="Jiangsu",
        tasks=[TaskNote("spaces", measures="Open a third space with Suzhou's steel mills")],
    )
    plan = reports.build_report(lite_space, kind=ReportKind.PLAN, province="Jiangsu")
    assert [t.key for t in plan.tasks] == list(KEY_TASKS)
    md = render(plan, "md")
    assert md.count("**Measures.**") == 7
    assert "Open a third space with Suzhou's steel mills" in md
    assert "| target | required | baseline today |" in md and "**Done.**" not in md

    reports.write_note(
        lite_space,
        actor="authority",
        kind=ReportKind.MIDTERM,
        province="Jiangsu",
        tasks=[
            TaskNote(
                "specialized",
                progress="Three mills use the surface agent",
                problems="No <script>alert(1)</script> sealed suite yet",
                next_steps="Register a sealed suite",
                typical_cases=("case-0",),
            )
        ],
    )
    mid = reports.build_report(lite_space, kind=ReportKind.MIDTERM, province="Jiangsu")
    md = render(mid, "md")
    # named achievements with their refs and evidence, attributed to Jiangsu's organizations
    done = {a.name: a for t in mid.tasks for a in t.done}
    assert done["steel-a"].ref == "steel-a@1" and "1941 rows" in done["steel-a"].detail
    assert "surface-defects" in done and "steel-c" in done and "Suzhou" in done
    assert "steel-surface" not in done  # plant-b is in Hebei: not Jiangsu's achievement
    assert "**Problems.**" in md and "Register a sealed suite" in md and "`case:case-0`" in md
    html = render(mid, "html", plotly_src="/p.js")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert 'id="chart-tasks"' in html

    summary = reports.build_report(lite_space, kind=ReportKind.SUMMARY, province="Jiangsu")
    md = render(summary, "md")
    assert "**Results.**" in md and "**Problems.**" not in md and "**Measures.**" not in md
    spaces = next(t for t in summary.tasks if t.key == "spaces")
    assert spaces.completion == pytest.approx(2 / 3)


def test_notes_are_versioned_and_regional(lite_space: Space) -> None:
    seed(lite_space)
    for text in ("first draft", "second draft"):
        reports.write_note(
            lite_space,
            actor="authority",
            kind=ReportKind.MIDTERM,
            province="Jiangsu",
            tasks=[TaskNote("consortia", problems=text)],
        )
    reports.write_note(
        lite_space,
        actor="operator",
        kind=ReportKind.MIDTERM,
        province="Jiangsu",
        tasks=[TaskNote("spaces", next_steps="tender")],
    )
    notes = reports.list_notes(lite_space, kind=ReportKind.MIDTERM, province="Jiangsu")
    assert [n.version for n in notes] == [1, 2, 3]
    assert notes[0].task("consortia").problems == "first draft"
    # a later version keeps the other tasks' text
    assert notes[2].task("consortia").problems == "second draft"
    assert notes[2].task("spaces").next_steps == "tender"
    orgs.register_organization(
        lite_space,
        actor="operator",
        name="zj-authority",
        roles=frozenset({Role.AUTHORITY}),
        region="Zhejiang",
    )
    with pytest.raises(OutsideRegion):
        reports.write_note(
            lite_space,
            actor="zj-authority",
            kind=ReportKind.MIDTERM,
            province="Jiangsu",
            tasks=[TaskNote("spaces", problems="x")],
        )
    with pytest.raises(NotFound):
        reports.write_note(
            lite_space,
            actor="authority",
            kind=ReportKind.SUMMARY,
            province="Jiangsu",
            tasks=[TaskNote("spaces", typical_cases=("no-such-case",))],
        )
    # a preview of yesterday knows none of today's text
    yesterday = lite_space.today() - timedelta(days=1)
    old = reports.build_report(
        lite_space, kind=ReportKind.MIDTERM, province="Jiangsu", as_of=yesterday
    )
    assert old.note_version == 0 and old.preview
    assert all(not t.done for t in old.tasks)
