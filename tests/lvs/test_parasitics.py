"""Wiring parasitics (flow/lvs/parasitics.py): analytic cases, and the
post-layout deck of a sample design solved by ngspice (operating point)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import gdstk
import numpy as np
import pytest

import pdk as pdks
from flow.flow import run
from flow.lvs.extract import extract
from flow.lvs.parasitics import parasitics, postlayout_spice, rectangles, standin_library, write_postlayout_spice
from pdk.base import generate

DESIGNS = Path(__file__).resolve().parents[2] / "designs"


def _two_resistors_and_wire(kit, length_um: float, width_um: float):
    """Two rtf resistors whose facing pins a MET1 wire joins (net W)."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    dev = generate(kit, "rtf", {"r": 300, "w": 8})
    lib.add(dev.cell)
    W = dev.bbox[2] / 1000
    gap = length_um
    top.add(gdstk.Reference(dev.cell, (0, 0)))
    top.add(gdstk.Reference(dev.cell, (W + gap, 0), x_reflection=False, rotation=0))
    n_pin = [p for p in dev.pins if p.terminal == "n"][0].rect
    p_pin = [p for p in dev.pins if p.terminal == "p"][0].rect
    yc = (n_pin[1] + n_pin[3]) / 2000
    x0 = n_pin[2] / 1000 - 1  # 1 um into the left device's n pin
    x1 = W + gap + p_pin[0] / 1000 + 1
    top.add(gdstk.rectangle((x0, yc - width_um / 2), (x1, yc + width_um / 2), layer=10))
    top.add(gdstk.Label("W", ((x0 + x1) / 2, yc), layer=10, texttype=10))
    return lib, x1 - x0


def test_wire_resistance_is_sheet_times_squares():
    kit = pdks.load("gan650")
    lib, wire_len = _two_resistors_and_wire(kit, 1000.0, 2.0)
    ex = extract(lib, kit)
    par = parasitics(ex)
    w = par.nets["W"]
    assert len(w.r_terminals) == 2
    r = max(w.r_terminals.values())
    # the wire between the two pin centres: MET1 0.03 ohm/sq, 2 um wide;
    # the two 10 um pins add about half a square each
    pin = 10.0
    expect = 0.03 * (1000.0 + pin) / 2.0
    assert r == pytest.approx(expect, rel=0.02)
    # twice as wide, half the resistance (the pins' part aside)
    lib2, _ = _two_resistors_and_wire(kit, 1000.0, 4.0)
    r2 = max(parasitics(extract(lib2, kit)).nets["W"].r_terminals.values())
    assert r2 == pytest.approx(0.03 * 1000.0 / 4.0, rel=0.03)


def test_capacitance_area_fringe_and_coupling():
    kit = pdks.load("gan650")
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    top.add(gdstk.rectangle((0, 0), (1000, 2), layer=10))
    top.add(gdstk.rectangle((0, 4), (1000, 6), layer=10))  # 2 um above
    top.add(gdstk.rectangle((0, 200), (500, 210), layer=12))  # far away, MET2
    top.add(gdstk.Label("A", (1, 1), layer=10, texttype=10))
    top.add(gdstk.Label("B", (1, 5), layer=10, texttype=10))
    top.add(gdstk.Label("C", (1, 205), layer=12, texttype=10))
    par = parasitics(extract(lib, kit))
    m1, m2 = kit.layers["MET1"], kit.layers["MET2"]
    assert par.nets["A"].c_ground_f == pytest.approx((2000 * m1.cap_area_ff_um2 + 2004 * m1.cap_fringe_ff_um) * 1e-15)
    assert par.nets["C"].c_ground_f == pytest.approx((5000 * m2.cap_area_ff_um2 + 1020 * m2.cap_fringe_ff_um) * 1e-15)
    # sidewall coupling: 1000 um facing at 2 um
    assert par.nets["A"].c_coupling_f["B"] == pytest.approx(m1.cap_coupling_ff * 1000 / 2 * 1e-15)
    assert par.nets["B"].c_coupling_f["A"] == par.nets["A"].c_coupling_f["B"]
    assert "C" not in par.nets["A"].c_coupling_f  # other layer, 194 um away


def test_rectangles_cover_polygon():
    poly = np.array([[0, 0], [10, 0], [10, 3], [4, 3], [4, 8], [10, 8], [10, 10], [0, 10]])
    rs = rectangles(poly)
    assert sum((r[2] - r[0]) * (r[3] - r[1]) for r in rs) == 10 * 10 - 6 * 5
    klayout_db = pytest.importorskip("klayout.db")
    a = klayout_db.Region(klayout_db.Polygon([klayout_db.Point(int(x), int(y)) for x, y in poly]))
    b = klayout_db.Region()
    for r in rs:
        b.insert(klayout_db.Box(*r))
    assert (a ^ b).is_empty()


@pytest.fixture(scope="module")
def ringosc(tmp_path_factory):
    rundir = tmp_path_factory.mktemp("gan_ringosc")
    res = run(DESIGNS / "gan_ringosc", rundir)
    kit = pdks.load(res.design.pdk_name)
    return extract(rundir / res.design.outputs["gds"], kit), kit


def test_postlayout_deck_runs_in_ngspice(ringosc, tmp_path):
    """The post-layout netlist of gan_ringosc, with behavioural stand-ins for
    the devices, loads in ngspice and solves an operating point; the pad
    nodes sit at their sources' voltages and the supply delivers current."""
    ngspice = shutil.which("ngspice")
    if ngspice is None:
        pytest.skip("ngspice is not installed (Debian package ngspice)")
    ex, kit = ringosc
    deck = tmp_path / "post.sp"
    par = write_postlayout_spice(ex, deck)
    assert len(par.resistors) > 100 and len(par.capacitors) > 10
    ports = [par.port_nodes[p] for p in ex.netlist.ports]
    volts = {"VDD": 6.0, "GND": 0.0, "OUT": 3.0}
    tb = tmp_path / "tb.sp"
    tb.write_text(
        "* smoke test: post-layout deck with stand-in devices\n"
        + standin_library(kit)
        + deck.read_text()
        + f"XTOP {' '.join(ports)} {ex.netlist.top}\n"
        + "".join(f"V{p} {n} 0 DC {volts[p]}\n" for p, n in zip(ex.netlist.ports, ports))
        + ".op\n.end\n"
    )
    r = subprocess.run([ngspice, "-b", str(tb)], capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-2000:]
    assert "singular" not in out.lower() and "error" not in out.lower(), out[-2000:]
    assert re.search(r"^\s*Node\s+Voltage", r.stdout, re.M), out[-2000:]
    got = dict(re.findall(r"^\s+(\S+)\s+([-+0-9.]+e[-+]\d+)\s*$", r.stdout, re.M))
    for p, n in zip(ex.netlist.ports, ports):
        assert float(got[n.lower()]) == pytest.approx(volts[p], abs=1e-6)
    supply = float(got["vvdd#branch"])
    assert supply < -1e-4  # current flows out of the VDD source into the stand-ins
    # every device's terminals are nodes of the deck
    for inst in ex.netlist.instances:
        assert set(par.device_nodes[inst.name]) == set(inst.pins), inst.name


def test_every_net_has_an_estimate(ringosc):
    ex, _ = ringosc
    par = parasitics(ex)
    for net in ex.netlist.nets:
        p = par.nets[net]
        assert p.c_ground_f > 0
        assert all(v >= 0 for v in p.r_terminals.values())
        n_terms = sum(1 for i in ex.netlist.instances for t, nn in i.pins.items() if nn == net)
        assert len(p.r_terminals) == n_terms
    assert postlayout_spice(ex, par).count("\nX") == len(ex.netlist.instances)
