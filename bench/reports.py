"""Benchmark: the authority's report and bulk import at the size of a real province.

Builds a fresh SQLite space for a province (Jiangsu) with 3 key industries, 31
scenario files per industry (93), a specialized model/agent per scenario with 3
confirmed landing cases each, key cities, resonance spaces and a consortium, then
times in the same run:

* report: ``resonance report midterm --province Jiangsu`` as a user runs it (a CLI
  subprocess, Markdown and HTML with plotly inlined), against a baseline of one
  registry snapshot read in-process (the data the report starts from), and against
  the figure's absolute target (5 s);
* bulk: ``resonance registry import scenarios FILE`` of 100 scenario files (one CSV,
  a CLI subprocess), against a baseline of one ``registry scenario-add`` subprocess
  (the cost of one single command), and the absolute target (10 s).

Prints a table of times and ratios; exits with status 1 when a target is missed.
Run: ``make bench-reports`` or ``python -m bench.reports [--repeat N]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from resonance.domain.orgs import Role
from resonance.domain.registry import (
    HolderKind,
    KeyCity,
    KeyIndustry,
    LandingCase,
    ModelEntry,
    ModelKind,
    ResonanceSpaceEntry,
    ScenarioFile,
)
from resonance.services import bulk, orgs, registry, registry_state, tokens
from resonance.services.space import Space

REPORT_TARGET_S = 5.0
BULK_TARGET_S = 10.0
INDUSTRIES = ("steel", "automobiles", "ships")
SCENARIOS_PER_INDUSTRY = 31


def scenario_rows(prefix: str, n: int, industry: str) -> list[dict[str, str]]:
    """``n`` valid scenario rows of ``industry``."""
    return [
        {
            "name": f"{prefix}-{i}",
            "industry": industry,
            "title": f"{industry} scenario {i}",
            "problem": "Unplanned stops and quality escapes on the line",
            "value": "Fewer stops, fewer claims",
            "data_needed": "Labelled sensor logs from three plants",
            "model_needed": "A classifier of fault types",
        }
        for i in range(n)
    ]


def as_csv(rows: list[dict[str, str]]) -> bytes:
    """Rows as CSV bytes with a header row."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def build_province(root: Path) -> Space:
    """A space holding a province with 3 industries and 93 scenarios, fully filled in."""
    space = Space.init(root)
    orgs.register_organization(
        space, actor=None, name="operator", roles=frozenset({Role.OPERATOR}), region="Jiangsu"
    )
    members = [
        ("apps", Role.APP_DEVELOPER),
        ("authority", Role.AUTHORITY),
        ("builder", Role.MODEL_BUILDER),
        ("plant", Role.DATA_HOLDER),
        ("compute", Role.COMPUTE),
        *[(f"mill-{i}", Role.APP_DEVELOPER) for i in range(3)],
    ]
    for name, role in members:
        orgs.register_organization(
            space, actor="operator", name=name, roles=frozenset({role}), region="Jiangsu"
        )
    for industry in INDUSTRIES:
        registry.designate_key_industry(
            space, actor="authority", key=KeyIndustry(HolderKind.PROVINCE, "Jiangsu", industry)
        )
        orgs.form_consortium(
            space,
            actor="operator",
            name=f"{industry}-c",
            industry=industry,
            members=["plant:data", "builder:model", "compute:compute", "apps:application"],
        )
        rows = scenario_rows(industry, SCENARIOS_PER_INDUSTRY, industry)
        bulk.bulk_import(space, actor="apps", registry="scenarios", content=as_csv(rows), fmt="csv")
        for row in rows:
            name = row["name"]
            registry.register_model(
                space,
                actor="builder",
                entry=ModelEntry(f"{name}-agent", industry, ModelKind.AGENT, "builder", name),
            )
            for k in range(3):
                case = LandingCase(
                    f"{name}-c{k}",
                    f"{name}-agent",
                    f"mill-{k}",
                    "Jiangsu",
                    "In use",
                    "",
                    f"deployment:{name}-{k}",
                )
                registry.record_case(space, actor="apps", case=case)
                registry_state.move(
                    space, actor=f"mill-{k}", registry="case", name=case.name, status="confirmed"
                )
    for city, pilot in (("Suzhou", True), ("Wuxi", False), ("Nanjing", False)):
        registry.add_key_city(space, actor="authority", city=KeyCity("Jiangsu", city, pilot))
    for i in range(3):
        registry.register_space(
            space,
            actor="operator",
            entry=ResonanceSpaceEntry(f"js-{i}", HolderKind.PROVINCE, "Jiangsu", INDUSTRIES, ""),
        )
    return space


_TOKENS: dict[tuple[Path, str], str] = {}


def _token(root: Path, actor: str) -> str:
    """An API token of ``actor`` (issued once per space, as a member would be given one)."""
    if (root, actor) not in _TOKENS:
        space = Space.open(root)
        try:
            plain, _ = tokens.create_token(space, actor=actor, organization=actor, label="bench")
        finally:
            space.close()
        _TOKENS[(root, actor)] = plain
    return _TOKENS[(root, actor)]


def cli(root: Path, *args: str, actor: str = "authority") -> None:
    """Run the ``resonance`` CLI as a user would (a fresh process, with ``actor``'s token)."""
    env = {**os.environ, "RESONANCE_ACTOR": "", "RESONANCE_TOKEN": _token(root, actor)}
    boot = "import sys; from resonance.cli.app import main; sys.argv[0] = 'resonance'; main()"
    cmd = [sys.executable, "-c", boot, "--space", str(root), "--as", actor, *args]
    subprocess.run(cmd, check=True, env=env, capture_output=True)


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    from resonance.domain.reporting import ReportKind
    from resonance.reports.render import preview

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        space = build_province(Path(tmp) / "space")
        setup = time.perf_counter() - t0
        snap = registry.snapshot(space)
        print(
            f"province Jiangsu: {len(INDUSTRIES)} industries, {len(snap.scenarios)} scenarios, "
            f"{len(snap.models)} agents, {len(snap.cases)} confirmed cases "
            f"(set up in {setup:.1f} s)"
        )
        root, out = space.root, Path(tmp)

        def report(fmt: str) -> None:
            preview(
                space,
                kind=ReportKind.MIDTERM,
                province="Jiangsu",
                enterprise=None,
                as_of=None,
                fmt=fmt,
            )

        t_snap = best(lambda: registry.snapshot(space), args.repeat)
        t_md = best(lambda: report("md"), args.repeat)
        t_html = best(lambda: report("html"), args.repeat)
        t_noop = best(lambda: cli(root, "registry", "show", "key_cities"), args.repeat)
        t_cli = best(
            lambda: cli(
                root,
                "report",
                "midterm",
                "--province",
                "Jiangsu",
                "--format",
                "html",
                "--out",
                str(out / "m.html"),
            ),
            args.repeat,
        )
        counter = iter(range(100_000))

        def singles() -> None:  # 100 scenarios filed one by one (in-process)
            for r in scenario_rows(f"single{next(counter)}", 100, "ships"):
                registry.file_scenario(
                    space,
                    actor="apps",
                    scenario=ScenarioFile(
                        r["name"],
                        "ships",
                        r["title"],
                        r["problem"],
                        r["value"],
                        r["data_needed"],
                        r["model_needed"],
                        "apps",
                    ),
                )

        def one_bulk() -> None:
            rows = scenario_rows(f"bulk{next(counter)}", 100, "steel")
            bulk.bulk_import(
                space, actor="apps", registry="scenarios", content=as_csv(rows), fmt="csv"
            )

        t_single = best(singles, args.repeat)
        t_bulk = best(one_bulk, args.repeat)
        files = []
        for k in range(args.repeat):
            f = out / f"bulk{k}.csv"
            f.write_bytes(as_csv(scenario_rows(f"cli{k}", 100, "automobiles")))
            files.append(f)
        it = iter(files)
        t_bulk_cli = best(
            lambda: cli(root, "registry", "import", "scenarios", str(next(it)), actor="apps"),
            args.repeat,
        )
        space.close()
    table = [
        ("registry snapshot (baseline)", t_snap, ""),
        ("report midterm, Markdown", t_md, f"{t_md / t_snap:.1f}x snapshot"),
        ("report midterm, HTML + plotly", t_html, f"{t_html / t_snap:.1f}x snapshot"),
        ("CLI no-op: registry show key_cities (baseline)", t_noop, ""),
        ("CLI: report midterm --format html", t_cli, f"{t_cli / t_noop:.2f}x CLI no-op"),
        ("100 scenarios filed one by one (baseline)", t_single, ""),
        ("bulk import of 100 scenarios", t_bulk, f"{t_bulk / t_single:.2f}x one by one"),
        (
            "CLI: registry import scenarios (100 rows)",
            t_bulk_cli,
            f"{t_bulk_cli / t_noop:.2f}x CLI no-op",
        ),
    ]
    print(f"{'what (best of ' + str(args.repeat) + ')':50} {'seconds':>9}  ratio")
    for what, sec, ratio in table:
        print(f"{what:50} {sec:9.3f}  {ratio}")
    ok_report = max(t_md, t_html) < REPORT_TARGET_S
    ok_bulk = t_bulk < BULK_TARGET_S
    print(
        f"report builds in < {REPORT_TARGET_S} s: {'met' if ok_report else 'MISSED'}; "
        f"bulk import of 100 in < {BULK_TARGET_S} s: {'met' if ok_bulk else 'MISSED'} "
        "(CLI rows add the interpreter's start-up, shown by the no-op baseline)"
    )
    return 0 if ok_report and ok_bulk else 1


if __name__ == "__main__":
    sys.exit(main())
