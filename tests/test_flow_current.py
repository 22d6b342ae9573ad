"""``pilotflow run`` treats a routed net's current density over its limit as
a violation: metrics.json counts it, the report shows it, the exit code is 1
and tapeout refuses the run (never "clean")."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from flow.cli import cli
from flow.flow import FlowResult
from flow.flow import run as run_flow

DESIGN = Path(__file__).resolve().parents[1] / "designs" / "gan_ringosc"


def _design_with_vdd_current(tmp_path: Path, amps: float) -> Path:
    """gan_ringosc with its supply net class carrying ``amps``."""
    d = tmp_path / "gan_ringosc"
    shutil.copytree(DESIGN, d)
    toml = (d / "design.toml").read_text()
    new, n = re.subn(r'(nets = \["VDD"\]\nvoltage = 6.0\ncurrent = )0.05', rf"\g<1>{amps}", toml)
    assert n == 1
    # the die gan_ringosc has at its own currents (the floorplan would grow
    # it for a supply of many amps): the current cannot fit, as these tests need
    new, n = re.subn(r"utilization = 0.4\n", "die = [834.0, 834.0]\n", new)
    assert n == 1
    (d / "design.toml").write_text(new)
    return d


def _drc_current_findings(rundir: Path) -> set[tuple[str, str]]:
    """(net, layer) of every DRC marker, after checking each is one of the
    kit's current_density rules (no other kind of violation in the run)."""
    drc = json.loads((rundir / "drc.json").read_text())
    kinds = {r["id"]: (r["kind"], r["layer"]) for r in drc["rules"]}
    found = set()
    for r in drc["rules"]:
        for mk in r.get("markers", []):
            assert kinds[r["id"]][0] == "current_density", (r["id"], mk)
            found.add((mk["net"], kinds[r["id"]][1]))
    assert len(found) and sum(len(r.get("markers", [])) for r in drc["rules"]) == drc["violations"]
    return found


@pytest.fixture(scope="module")
def over_run(tmp_path_factory):
    """VDD at 20 A: 4 mm of MET1 at gan650's 5 mA/um, far beyond what the
    router can draw on this die (it narrows the net and routes it)."""
    tmp = tmp_path_factory.mktemp("over")
    d = _design_with_vdd_current(tmp, 20.0)
    r = CliRunner().invoke(cli, ["run", str(d), "-o", str(tmp / "run")])
    return r, tmp / "run"


def test_current_over_limit_exits_1(over_run):
    r, rundir = over_run
    assert r.exit_code == 1, r.output
    m = json.loads((rundir / "metrics.json").read_text())
    route = json.loads((rundir / "route.json").read_text())["nets"]
    # the precondition: the route really is over the limit (narrowed)
    vdd = route["VDD"]
    assert vdd["current_a"] == 20.0
    assert vdd["width_um"]["MET1"] < vdd["need_width_um"]["MET1"]
    # ... while routing and LVS are fine: only the current fails
    assert m["nets_unrouted"] == 0 and m["lvs_status"] == "match"
    # one violation per metal and cut layer of the net over its limit
    over = {layer: d["ratio"] for layer, d in vdd["current_density"]["layers"].items() if d["ratio"] > 1}
    over |= {cut: d["ratio"] for cut, d in vdd["current_density"]["vias"].items() if d["ratio"] > 1}
    assert "MET1" in over and m["current_density_over"] == {"VDD": over}
    # the DRC finds the same on its own (gan650's current_density rules):
    # markers of those rules only, on VDD only, on exactly those layers
    assert m["drc_violations"] > 0
    assert _drc_current_findings(rundir) == {("VDD", layer) for layer in over}
    assert m["current_density_violations"] == len(over) >= 2
    # the other nets are within their limits and not listed
    for net, c in m["current_density_worst"].items():
        if net != "VDD":
            assert c["ratio"] <= 1 and (c["via_ratio"] or 0) <= 1, net
    assert f"current density: {len(over)} violations" in r.output and "on 1 nets: VDD MET1" in r.output


def test_current_over_limit_in_report(over_run):
    _, rundir = over_run
    html = (rundir / "report.html").read_text()
    line = re.search(r'<li class="(\w+)" id="status-current">([^<]*)</li>', html)
    assert line is not None and line.group(1) == "bad"
    assert "violation(s)" in line.group(2) and "VDD on MET1" in line.group(2)
    assert re.search(r"<th>current_density_violations</th><td[^>]*>[1-9]", html)


def test_current_over_limit_refuses_tapeout(over_run, tmp_path):
    _, rundir = over_run
    r = CliRunner().invoke(cli, ["tapeout", str(rundir), "-o", str(tmp_path / "bundle")])
    assert r.exit_code == 1, r.output
    assert "current density over the limit: VDD on MET1/" in r.output
    assert not (tmp_path / "bundle").exists()
    # a run directory written before the key existed: the worst figures decide
    m = json.loads((rundir / "metrics.json").read_text())
    del m["current_density_over"], m["current_density_violations"]
    old = tmp_path / "old"
    shutil.copytree(rundir, old)
    (old / "metrics.json").write_text(json.dumps(m))
    r = CliRunner().invoke(cli, ["tapeout", str(old), "-o", str(tmp_path / "bundle")])
    assert r.exit_code == 1 and "current density over the limit: VDD on MET1" in r.output
    assert not (tmp_path / "bundle").exists()


def test_minimum_widths_over_limit_not_clean(tmp_path):
    """[route] size_for_current = false with the shipped currents: the
    50 mA supplies on minimum-width wires and single cuts are over the
    limits; the run is not clean (exit code 1), through the API too."""
    res = run_flow(DESIGN, tmp_path / "run", overrides={"route.size_for_current": False})
    m = res.metrics
    assert set(m["current_density_over"]) == {"GND", "VDD"}
    for net in ("GND", "VDD"):
        assert m["current_density_over"][net]["MET1"] > 1
    assert m["current_density_violations"] == sum(len(v) for v in m["current_density_over"].values())
    assert m["nets_unrouted"] == 0
    # the DRC's current_density rules flag the same nets and layers, nothing else
    assert m["drc_violations"] > 0
    assert _drc_current_findings(tmp_path / "run") == {(n, x) for n, v in m["current_density_over"].items() for x in v}
    assert res.exit_code == 1
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["current_density_violations"] == m["current_density_violations"]


def test_shipped_currents_clean(tmp_path):
    """The same design as shipped: 0 violations, exit code 0, a good line."""
    res = run_flow(DESIGN, tmp_path / "run", to_stage="route")
    assert res.metrics["current_density_violations"] == 0 and res.metrics["current_density_over"] == {}
    assert res.exit_code == 0
    html = (tmp_path / "run" / "report.html").read_text()
    assert re.search(r'<li class="good" id="status-current">', html)


def test_exit_code_counts_current_violations():
    base = {"nets_unrouted": 0, "drc_violations": 0, "lvs_status": "match", "current_density_violations": 0}
    assert FlowResult(None, base, Path(".")).exit_code == 0
    assert FlowResult(None, {**base, "current_density_violations": 2}, Path(".")).exit_code == 1
    assert FlowResult(None, {**base, "current_density_violations": None}, Path(".")).exit_code == 0


def test_route_alone_over_limit_exits_1(tmp_path):
    """Where no DRC ran (``--to route``; or a kit without current_density
    rules), the route's own figures fail the run: exit code 1 and the
    violations in metrics.json (it was 0 before)."""
    d = _design_with_vdd_current(tmp_path, 20.0)
    r = CliRunner().invoke(cli, ["run", str(d), "-o", str(tmp_path / "run"), "--to", "route"])
    assert r.exit_code == 1, r.output
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["drc_violations"] is None and m["nets_unrouted"] == 0
    assert m["current_density_violations"] >= 2 and "MET1" in m["current_density_over"]["VDD"]
    assert "DRC: not run" in r.output and "current density: " in r.output
