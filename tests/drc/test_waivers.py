"""DRC waivers: file validation, matching, and every report showing waived markers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import klayout.rdb as rdb
import pytest
from click.testing import CliRunner

from flow.cli import cli
from flow.config import load_design
from flow.drc.engine import run_drc
from flow.drc.lyrdb import write_lyrdb
from flow.drc.waivers import Waiver, apply_waivers, load_waivers
from flow.errors import InputError
from flow.geometry.gdsio import shapes_from_library

DESIGNS = Path(__file__).resolve().parents[2] / "designs"

# Two M1 width violations (0.8 um wide bars, M1.W = 1.0) far apart, and one
# M1 spacing violation between x=30 and x=30.5.
SHAPES = {"M1": [(0, 0, 20, 0.8), (100, 0, 120, 0.8), (25, 10, 30, 15), (30.5, 10, 36, 15)]}


def _waiver_file(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "waivers.toml"
    p.write_text(body)
    return p


GOOD = """
# reviewed markers
[[waiver]]
rule = "M1.W"
region = [-1.0, -1.0, 21.0, 2.0]
reason = "Test structure: narrow line on purpose"
author = "A. Designer"

[[waiver]]
rule = "M2.*"
region = [0.0, 0.0, 5.0, 5.0]
reason = "Nothing here any more"
author = "B. Reviewer"
"""


def test_load_waivers(tmp_path):
    ws = load_waivers(_waiver_file(tmp_path, GOOD))
    assert [w.rule for w in ws] == ["M1.W", "M2.*"]
    assert ws[0].region == (-1.0, -1.0, 21.0, 2.0)
    assert ws[0].author == "A. Designer"
    assert ws[0].source.endswith("waivers.toml:3") and ws[1].source.endswith("waivers.toml:9")


@pytest.mark.parametrize(
    "body, expected",
    [
        ('[[waiver]]\nrule = "M1.W"\nregion = [0, 0, 1, 1]\nauthor = "x"\n', ":1: waiver 1: missing 'reason'"),
        ('[[waiver]]\nrule = "M1.W"\nregion = [0, 0, 1]\nreason = "r"\nauthor = "x"\n', "'region' must be [x0, y0, x1, y1]"),
        ('[[waiver]]\nrule = "M1.W"\nregion = [5, 0, 1, 1]\nreason = "r"\nauthor = "x"\n', "x0 < x1"),
        ('[[waiver]]\nrule = ""\nregion = [0, 0, 1, 1]\nreason = "r"\nauthor = "x"\n', "'rule' must be a non-empty string"),
        ('[[waiver]]\nrule = "M1.W"\nregion = [0, 0, 1, 1]\nreason = "r"\nauthor = "x"\nwhy = 1\n', "unknown key 'why'"),
        ("[waiver\n", "not valid TOML"),
        ('waivers = 1\n', "unknown key 'waivers'"),
    ],
)
def test_bad_waiver_files(tmp_path, body, expected):
    with pytest.raises(InputError) as e:
        load_waivers(_waiver_file(tmp_path, body))
    assert expected in str(e.value)
    assert "\n" not in str(e.value)


def test_all_problems_listed(tmp_path):
    body = (
        '[[waiver]]\nrule = "M1.W"\nregion = [0, 0, 1, 1]\nauthor = "x"\n\n'
        '[[waiver]]\nrule = "M1.S"\nregion = "everywhere"\nreason = "r"\nauthor = "y"\n'
    )
    with pytest.raises(InputError) as e:
        load_waivers(_waiver_file(tmp_path, body))
    msg = str(e.value)
    assert msg.startswith("2 problems:") and ":1: waiver 1: missing 'reason'" in msg and ":6: waiver 2: 'region'" in msg


def test_missing_waiver_file(tmp_path):
    with pytest.raises(InputError, match="waiver file not found"):
        load_waivers(tmp_path / "nope.toml")


def test_apply_moves_matching_markers(kit, layout, tmp_path):
    result = run_drc(shapes_from_library(layout(SHAPES), kit), kit)
    assert result.counts() == {"M1.W": 2, "M1.S": 1}
    ws = load_waivers(_waiver_file(tmp_path, GOOD))
    out = apply_waivers(result, ws, kit)
    # only the marker wholly inside the first region is waived
    assert out.counts() == {"M1.W": 1, "M1.S": 1}
    assert out.waived_counts() == {"M1.W": 1}
    (v, w), = out.waived
    assert v.rule_id == "M1.W" and w.reason.startswith("Test structure")
    assert out.waivers_unused == (f"{ws[1].source}: M2.*",)
    assert not out.clean
    # the same through run_drc
    assert run_drc(shapes_from_library(layout(SHAPES), kit), kit, waivers=ws).counts() == out.counts()


def test_waiver_needs_whole_marker_inside(kit, layout):
    result = run_drc(shapes_from_library(layout(SHAPES), kit), kit)
    # covers half of the first bar only
    w = Waiver("M1.W", (-1.0, -1.0, 10.0, 2.0), "half", "me", "w:1")
    out = apply_waivers(result, (w,), kit)
    assert out.waived == () and out.counts() == result.counts()


def test_pattern_and_everything_waived_is_clean(kit, layout):
    result = run_drc(shapes_from_library(layout(SHAPES), kit), kit)
    w = Waiver("M1.*", (-10.0, -10.0, 200.0, 200.0), "all reviewed", "me", "w:1")
    out = apply_waivers(result, (w,), kit)
    assert out.clean and len(out.waived) == 3 and out.waivers_unused == ()
    data = out.to_json(kit)
    assert data["clean"] is True and data["violations"] == 0 and data["waived"] == 3
    assert data["waived_counts"] == {"M1.S": 1, "M1.W": 2}
    by_id = {r["id"]: r for r in data["rules"]}
    assert by_id["M1.W"]["count"] == 0 and by_id["M1.W"]["waived_count"] == 2
    m = by_id["M1.S"]["waived"][0]
    assert m["reason"] == "all reviewed" and m["author"] == "me" and "edge_pair" in m


def test_lyrdb_marks_waived_items(kit, layout, tmp_path):
    result = run_drc(shapes_from_library(layout(SHAPES), kit), kit)
    w = Waiver("M1.W", (-1.0, -1.0, 21.0, 2.0), "it's \\ fine <really>", "me", "w:1")
    out = apply_waivers(result, (w,), kit)
    path = tmp_path / "drc.lyrdb"
    write_lyrdb(out, kit, path, "TOP")
    db = rdb.ReportDatabase("")
    db.load(str(path))
    waived_tag = db.tag_id("waived")
    items = list(db.each_item())
    assert len(items) == 3
    waived = [i for i in items if i.has_tag(waived_tag)]
    assert len(waived) == 1
    texts = [v.string() for v in waived[0].each_value() if v.is_string()]
    assert texts == ["waived: it's \\ fine <really> (me; w:1)"]
    cats = {c.name(): c.num_items() for c in db.each_category()}
    assert cats["M1.W"] == 2 and cats["M1.S"] == 1


def _gds(layout, tmp_path) -> Path:
    lib = layout(SHAPES)
    p = tmp_path / "x.gds"
    lib.write_gds(str(p))
    return p


def test_cli_waivers(kit, layout, tmp_path):
    gds = _gds(layout, tmp_path)
    rules = tmp_path / "rules.toml"
    wf = _waiver_file(tmp_path, GOOD)
    r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(rules), "--waivers", str(wf), "--json", str(tmp_path / "d.json")])
    assert r.exit_code == 1, r.output
    assert "2 violations, 1 waived" in r.output
    assert "waived M1.W: Test structure: narrow line on purpose (A. Designer;" in r.output
    assert "unused waiver:" in r.output and "M2.*" in r.output
    data = json.loads((tmp_path / "d.json").read_text())
    assert data["waived"] == 1 and data["violations"] == 2

    allw = _waiver_file(tmp_path, '[[waiver]]\nrule = "M1.*"\nregion = [-10, -10, 200, 200]\nreason = "r"\nauthor = "a"\n')
    r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(rules), "--waivers", str(allw)])
    assert r.exit_code == 0, r.output
    assert "0 violations, 3 waived" in r.output


def test_cli_bad_waivers_exit_2_nothing_written(kit, layout, tmp_path):
    gds = _gds(layout, tmp_path)
    bad = _waiver_file(tmp_path, '[[waiver]]\nrule = "M1.W"\n')
    out = tmp_path / "d.json"
    r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(tmp_path / "rules.toml"), "--waivers", str(bad), "--json", str(out)])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "missing 'reason'" in lines[0]
    assert "Traceback" not in r.output and not out.exists()


def test_design_toml_waivers(tmp_path):
    dst = tmp_path / "gan_ringosc"
    shutil.copytree(DESIGNS / "gan_ringosc", dst)
    toml = dst / "design.toml"
    base = toml.read_text()
    # outside the folder
    toml.write_text(base + '\n[drc]\nwaivers = "../w.toml"\n')
    with pytest.raises(InputError, match="drc.waivers: '../w.toml' is outside the design folder"):
        load_design(dst)
    toml.write_text(base + '\n[drc]\nwaivers = "w.toml"\n')
    with pytest.raises(InputError, match="drc.waivers: 'w.toml' not found"):
        load_design(dst)
    toml.write_text(base + '\n[drc]\nwaiver = "w.toml"\n')
    with pytest.raises(InputError, match="drc.waiver: unknown key"):
        load_design(dst)
    (dst / "w.toml").write_text(GOOD)
    toml.write_text(base + '\n[drc]\nwaivers = "w.toml"\n')
    assert load_design(dst).waivers == (dst / "w.toml").resolve()


def test_flow_reports_unused_waivers(tmp_path):
    dst = tmp_path / "gan_ringosc"
    shutil.copytree(DESIGNS / "gan_ringosc", dst)
    (dst / "w.toml").write_text(
        '[[waiver]]\nrule = "MET1.*"\nregion = [0, 0, 10, 10]\nreason = "old"\nauthor = "a"\n'
    )
    with (dst / "design.toml").open("a") as f:
        f.write('\n[drc]\nwaivers = "w.toml"\n')
    rundir = tmp_path / "run"
    r = CliRunner().invoke(cli, ["run", str(dst), "-o", str(rundir)])
    assert r.exit_code == 0, r.output
    assert "unused waiver: gan_ringosc/w.toml:1: MET1.*" in r.output
    m = json.loads((rundir / "metrics.json").read_text())
    assert m["drc_violations"] == 0 and m["drc_waived"] == 0
    d = json.loads((rundir / "drc.json").read_text())
    assert d["waivers_unused"] == ["gan_ringosc/w.toml:1: MET1.*"]
