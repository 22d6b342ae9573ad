"""``pilotflow lvs``: exit codes 0 match, 1 mismatch, 2 bad input (one Error line)."""

from __future__ import annotations

import json
from pathlib import Path

import gdstk
import pytest
from click.testing import CliRunner

from flow.cli import cli
from flow.flow import run

DESIGN = Path(__file__).resolve().parents[2] / "designs" / "gan_ringosc"
NETLIST = DESIGN / "ringosc.sp"


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    out = tmp_path_factory.mktemp("lvs_cli")
    res = run(DESIGN, out, to_stage="route")
    from flow.geometry.layout import assemble, write_gds
    import pdk

    gds = out / "ringosc.gds"
    write_gds(assemble(res.design, pdk.load("gan650")), gds)
    return gds


@pytest.fixture
def runner():
    return CliRunner()


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


def test_match_exit_0_and_json(runner, layout, tmp_path):
    out = tmp_path / "lvs.json"
    html = tmp_path / "lvs.html"
    r = runner.invoke(cli, ["lvs", str(layout), str(NETLIST), "--pdk", "gan650", "--json", str(out), "--html", str(html)])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("LVS MATCH:")
    body = json.loads(out.read_text())
    assert body["status"] == "match" and body["summary"]["devices"]["matched"] == 14
    assert "MATCH" in html.read_text()


def test_post_layout_netlist_option(runner, layout, tmp_path):
    """--post-layout writes the devices with the wiring's R and C as one
    subcircuit named after the top cell."""
    post = tmp_path / "post.sp"
    r = runner.invoke(cli, ["lvs", str(layout), str(NETLIST), "--pdk", "gan650", "--post-layout", str(post)])
    assert r.exit_code == 0, r.output
    text = post.read_text().lower()
    assert ".subckt " in text and ".ends" in text
    lines = [l.split()[0][0] for l in text.splitlines() if l.strip() and not l.lstrip().startswith(("*", "."))]
    assert lines.count("r") > 0 and lines.count("c") > 0 and lines.count("x") >= 14


def test_mismatch_exit_1(runner, layout, tmp_path):
    lib = gdstk.read_gds(str(layout))
    (top,) = lib.top_level()
    ref = next(r for r in top.references if r.cell.name.startswith("hemte"))
    top.remove(ref)
    bad = tmp_path / "bad.gds"
    lib.write_gds(str(bad))
    out = tmp_path / "lvs.json"
    r = runner.invoke(cli, ["lvs", str(bad), str(NETLIST), "--pdk", "gan650", "--json", str(out)])
    assert r.exit_code == 1, r.output
    assert r.output.startswith("LVS MISMATCH:")
    assert "missing device:" in r.output
    body = json.loads(out.read_text())
    assert len(body["missing_devices"]) == 1 and body["missing_devices"][0]["model"] == "hemte"


def test_unreadable_gds(runner, tmp_path):
    junk = tmp_path / "junk.gds"
    junk.write_bytes(b"this is not a GDS file" * 10)
    r = runner.invoke(cli, ["lvs", str(junk), str(NETLIST), "--pdk", "gan650", "--json", str(tmp_path / "x.json")])
    assert r.exit_code == 2, r.output
    assert len(_errors(r.output)) == 1 and "junk.gds" in _errors(r.output)[0]
    assert "Traceback" not in r.output
    assert not (tmp_path / "x.json").exists()


def test_unknown_top_cell(runner, layout):
    r = runner.invoke(cli, ["lvs", str(layout), str(NETLIST), "--pdk", "gan650", "--top", "nosuchcell"])
    assert r.exit_code == 2, r.output
    (err,) = _errors(r.output)
    assert "nosuchcell" in err


def test_malformed_netlist(runner, layout, tmp_path):
    bad = tmp_path / "bad.sp"
    bad.write_text("* broken\n.subckt ringosc VDD GND OUT\nX1 a b nosuchmodel\n.ends\n")
    r = runner.invoke(cli, ["lvs", str(layout), str(bad), "--pdk", "gan650"])
    assert r.exit_code == 2, r.output
    (err,) = _errors(r.output)
    assert "bad.sp:3" in err


def test_missing_netlist_and_unknown_pdk(runner, layout, tmp_path):
    r = runner.invoke(cli, ["lvs", str(layout), str(tmp_path / "none.sp"), "--pdk", "gan650"])
    assert r.exit_code == 2 and len(_errors(r.output)) == 1 and "none.sp" in r.output
    r = runner.invoke(cli, ["lvs", str(layout), str(NETLIST), "--pdk", "nosuchkit"])
    assert r.exit_code == 2 and len(_errors(r.output)) == 1
