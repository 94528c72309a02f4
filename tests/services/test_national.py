"""The national view: three spaces made in one run export signed bundles; an aggregator
verifies, merges and de-duplicates them; tampered or unsigned bundles are refused."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from resonance.cli.app import app
from resonance.domain.errors import AlreadyExists, BundleInvalid
from resonance.domain.orgs import Role
from resonance.domain.registry import HolderKind, KeyCity, KeyIndustry, ResonanceSpaceEntry
from resonance.services import national, orgs, registry
from resonance.services.space import Space
from tests.conftest import make_space, org_token
from tests.registry_seed import seed


def _authority(space: Space, name: str, region: str) -> None:
    orgs.register_organization(
        space, actor="operator", name=name, roles=frozenset({Role.AUTHORITY}), region=region
    )


def three_spaces(tmp: Path) -> tuple[Space, Space, Space]:
    a = make_space(tmp / "space-a")
    seed(a)
    b = make_space(tmp / "space-b")
    _authority(b, "zj", "Zhejiang")
    registry.designate_key_industry(
        b, actor="zj", key=KeyIndustry(HolderKind.PROVINCE, "Zhejiang", "ships")
    )
    registry.add_key_city(b, actor="zj", city=KeyCity("Zhejiang", "Ningbo"))
    c = make_space(tmp / "space-c")
    _authority(c, "js", "Jiangsu")
    # claims two achievements space-a claims too: a key city and a resonance space
    registry.add_key_city(c, actor="js", city=KeyCity("Jiangsu", "Suzhou", True))
    registry.register_space(
        c,
        actor="operator",
        entry=ResonanceSpaceEntry("js-space-0", HolderKind.PROVINCE, "Jiangsu", ("steel",), ""),
    )
    return a, b, c


def test_three_spaces_merge_into_one_national_view(tmp_path: Path) -> None:
    a, b, c = three_spaces(tmp_path)
    bundles = [national.export_bundle(s, actor="operator") for s in (a, b, c)]
    assert [bn["manifest"]["space"] for bn in bundles] == ["space-a", "space-b", "space-c"]
    agg = make_space(tmp_path / "national")
    _authority(agg, "ndac", "Beijing")
    try:
        for bn in bundles:
            national.import_bundle(agg, actor="ndac", document=bn)
        with pytest.raises(AlreadyExists):
            national.import_bundle(agg, actor="ndac", document=bundles[0])
        view = national.national_view(agg)
        totals = view.totals()
        assert totals["key_cities"] == 3  # Suzhou claimed twice, counted once
        assert totals["spaces"] == 2  # js-space-0 claimed twice
        dup = {d.achievement.name: sorted(d.spaces) for d in view.duplicates()}
        assert dup == {"Suzhou": ["space-a", "space-c"], "js-space-0": ["space-a", "space-c"]}
        per = view.by_province()
        assert per["Jiangsu"]["key_cities"] == 2 and per["Zhejiang"]["key_cities"] == 1
        assert per["Jiangsu"]["common_datasets"] == 1  # steel-a of plant-a (Jiangsu)
        assert per["Hebei"]["specialized_datasets"] == 1  # steel-surface of plant-b (Hebei)
        assert [s["space"] for s in view.to_dict()["spaces"]] == ["space-a", "space-b", "space-c"]
        quotas = view.to_dict()["spaces"][0]["quotas"]
        assert quotas["provinces"]["Jiangsu"]["items"]["resonance_spaces"]["actual"] == 2

        # tampered, unsigned, or re-signed by another key under a known space's name
        tampered = copy.deepcopy(bundles[1])
        tampered["manifest"]["achievements"][0]["name"] = "Hangzhou"
        unsigned = {k: v for k, v in bundles[1].items() if k != "signature"}
        forged = copy.deepcopy(bundles[1])
        forged["manifest"]["space"] = "space-a"
        forged["signature"] = b.keys.sign_json(forged["manifest"])
        for bad in (tampered, unsigned, forged, {"manifest": "x"}):
            with pytest.raises(BundleInvalid) as err:
                national.import_bundle(agg, actor="ndac", document=bad)
            assert err.value.code == "RES-194"
        with pytest.raises(BundleInvalid):
            national.parse_bundle(b"{not json")
    finally:
        for s in (a, b, c, agg):
            s.close()


def test_national_cli_and_api_share_the_path(tmp_path: Path) -> None:
    a, b, c = three_spaces(tmp_path)
    agg = make_space(tmp_path / "national")
    runner = CliRunner()

    def cli(space: Space, *args: str, code: int = 0) -> str:
        res = runner.invoke(
            app,
            ["--space", str(space.root), "--as", "operator", "--format", "json", *args],
            env={
                "RESONANCE_ACTOR": "",
                "RESONANCE_TOKEN": org_token(space.root, "operator") or "",
            },
        )
        assert res.exit_code == code, res.output
        return res.stdout

    try:
        files = []
        for s in (a, b, c):
            f = tmp_path / f"{s.config.name}.json"
            cli(s, "national", "export", "--out", str(f))
            files.append(str(f))
        bad = tmp_path / "bad.json"
        doc = json.loads(Path(files[1]).read_text())
        doc["manifest"]["quotas"] = {}
        bad.write_text(json.dumps(doc))
        err = json.loads(cli(agg, "national", "import", str(bad), code=1))
        assert err["error"]["code"] == "RES-194"
        rows = json.loads(cli(agg, "national", "import", *files))
        assert [r["space"] for r in rows] == ["space-a", "space-b", "space-c"]
        shown = json.loads(cli(agg, "national", "show"))
        assert shown["totals"]["key_cities"] == 3
        out = tmp_path / "national.md"
        cli(agg, "national", "report", "--out", str(out))
        text = out.read_text()
        assert "# National overview" in text and "Suzhou" in text and "space-a, space-c" in text
        html = tmp_path / "national.html"
        cli(agg, "national", "report", "--format", "html", "--out", str(html))
        assert 'id="chart-national"' in html.read_text()
    finally:
        for s in (a, b, c, agg):
            s.close()
