"""Net-aware DRC: net extraction, net_spacing, voltage_spacing, current_density.

The done-when cases of issue 4: two nets at 0 V and 650 V closer than the
kit's table allows are flagged, the same geometry at 0 V / 5 V is not
(voltages from the design's net classes and from GDS labels); an
under-sized 10 A wire is flagged by the EM check, a properly sized one is
not; a via group with too few cuts is flagged.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from types import MappingProxyType

import gdstk
import numpy as np
import pytest
from click.testing import CliRunner

import pdk as pdks
from flow.cli import cli
from flow.config import ClassValues, NetClass, load_design
from flow.drc.core import CheckContext, Layers, rect
from flow.drc.engine import run_drc
from flow.drc.kinds.nets import BLACK_N, K_B, derate
from flow.drc.nets import box_pairs, extract_nets, point_in_polygon
from flow.geometry.gdsio import read_gds, shapes_from_library
from pdk.check import check_kit, selftest_cases, selftest_library
from pdk.export import export_klayout
from pdk.schema import Rule, load_rules_file

KLAYOUT = shutil.which("klayout")
needs_klayout = pytest.mark.skipif(KLAYOUT is None, reason="KLayout batch binary 'klayout' not on PATH")

KIT_TOML = """
[pdk]
name = "nettest"
dbu_um = 0.001
[pdk.connectivity]
connect = [["MET1", "VIA1", "MET2"]]
[layers.MET1]
gds = [10, 0]
label = [10, 10]
purpose = "routing"
jmax_ma_per_um = 5.0
jmax_ref_c = 105
em_ea_ev = 0.9
[layers.VIA1]
gds = [11, 0]
purpose = "cut"
imax_ma_per_cut = 20.0
jmax_ref_c = 105
em_ea_ev = 0.9
[layers.MET2]
gds = [12, 0]
label = [12, 10]
purpose = "routing"
jmax_ma_per_um = 20.0
[layers.MET3]
gds = [14, 0]
purpose = "routing"
[[rules]]
id = "M1.NS"
kind = "net_spacing"
layer = "MET1"
value = 2.0
doc = "MET1 spacing between different nets"
[[rules]]
id = "M2.NS"
kind = "net_spacing"
layer = "MET2"
value = 3.0
doc = "MET2 spacing between different nets"
[[rules]]
id = "M1M2.NS"
kind = "net_spacing"
layer = "MET1"
other = "MET2"
value = 1.5
doc = "MET1 to MET2 of different nets"
[[rules]]
id = "M1.VS"
kind = "voltage_spacing"
layer = "MET1"
table = [[0, 2.0], [100, 5.0], [300, 13.0]]
doc = "voltage spacing"
[[rules]]
id = "M1.EM"
kind = "current_density"
layer = "MET1"
doc = "MET1 current density"
[[rules]]
id = "M2.EM"
kind = "current_density"
layer = "MET2"
doc = "MET2 current density"
[[rules]]
id = "V1.EM"
kind = "current_density"
layer = "VIA1"
doc = "VIA1 current per cut"
"""


@pytest.fixture(scope="module")
def tkit(tmp_path_factory):
    p = tmp_path_factory.mktemp("kit") / "nettest.toml"
    p.write_text(KIT_TOML)
    return load_rules_file(p)


def layout(kit, shapes: dict, labels=(), top="TOP") -> gdstk.Library:
    """A library in microns: shapes = layer -> [(x0, y0, x1, y1) um or point lists]."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell(top)
    for name, items in shapes.items():
        lay = kit.layers[name]
        for it in items:
            if len(it) == 4 and not isinstance(it[0], (tuple, list)):
                cell.add(gdstk.rectangle(it[:2], it[2:], layer=lay.gds[0], datatype=lay.gds[1]))
            else:
                cell.add(gdstk.Polygon(it, layer=lay.gds[0], datatype=lay.gds[1]))
    for name, text, x, y in labels:
        lay = kit.layers[name]
        cell.add(gdstk.Label(text, (x, y), layer=lay.label[0], texttype=lay.label[1]))
    return lib


def rule(kit, rid):
    return next(r for r in kit.rules if r.id == rid)


def ctx(volts=None, amps=None, temp=None):
    return CheckContext(MappingProxyType(volts or {}), MappingProxyType(amps or {}), temp)


# ---------------------------------------------------------------- extraction --


def test_box_pairs_equal_brute_force():
    rng = np.random.default_rng(4)
    for _ in range(5):
        n, m = 150, 120
        # boxes of very different sizes, some touching exactly
        def boxes(k):
            xy = rng.integers(0, 2000, (k, 2))
            wh = rng.choice([1, 5, 40, 300, 1500], (k, 2))
            return np.hstack([xy, xy + wh]).astype(np.int64)

        a, b = boxes(n), boxes(m)
        b[:10, :2] = a[:10, 2:]  # corner contacts
        for closed in (True, False):
            i, j = box_pairs(a, b, closed=closed)
            got = set(zip(i.tolist(), j.tolist()))
            A, B = a[:, None, :], b[None, :, :]
            if closed:
                hit = (A[..., 0] <= B[..., 2]) & (B[..., 0] <= A[..., 2]) & (A[..., 1] <= B[..., 3]) & (B[..., 1] <= A[..., 3])
            else:
                hit = (A[..., 0] < B[..., 2]) & (B[..., 0] < A[..., 2]) & (A[..., 1] < B[..., 3]) & (B[..., 1] < A[..., 3])
            assert got == set(zip(*np.nonzero(hit)))
        i, j = box_pairs(a)
        self_hits = {(x, y) for x, y in itertools.combinations(range(n), 2)
                     if a[x, 0] <= a[y, 2] and a[y, 0] <= a[x, 2] and a[x, 1] <= a[y, 3] and a[y, 1] <= a[x, 3]}
        assert set(zip(i.tolist(), j.tolist())) == self_hits


def test_point_in_polygon_closed():
    ell = np.array([[0, 0], [10, 0], [10, 2], [2, 2], [2, 10], [0, 10]])
    pts = np.array([[1, 1], [5, 5], [10, 1], [2, 6], [0, 0], [3, 2], [11, 1], [1, 9.5]])
    assert point_in_polygon(pts, ell).tolist() == [True, False, True, True, True, True, False, True]


def test_nets_through_vias_labels_and_generated_names(tkit):
    lib = layout(
        tkit,
        {
            "MET1": [(0, 0, 10, 2), (20, 0, 30, 2), (40, 0, 50, 2), [(60, 0), (70, 0), (70, 10), (68, 10), (68, 2), (60, 2)]],
            "MET2": [(8, 0, 22, 2), (69, 9, 80, 12)],
            "VIA1": [(8.5, 0.5, 9.5, 1.5), (20.5, 0.5, 21.5, 1.5), (69, 9.5, 69.8, 9.9)],
        },
        labels=[("MET1", "VDD", 1, 1), ("MET2", "OUT", 75, 10)],
    )
    nets = extract_nets(shapes_from_library(lib, tkit), tkit)
    c1, c2 = nets.comp["MET1"], nets.comp["MET2"]
    # two MET1 bars strapped through VIA1/MET2 are one net named by the label
    assert c1[0] == c1[1] == c2[0] and nets.name(int(c1[0])) == "VDD"
    # the unlabelled bar gets a generated name from its lower-left corner
    assert nets.name(int(c1[2])) == "$MET1(40,0)"
    # an L-shaped (non-rectangular) MET1 joined to MET2 through a via
    assert c1[3] == c2[1] and nets.name(int(c1[3])) == "OUT"
    assert len(set(c1.tolist())) == 3 and nets.notes == ()


def test_generated_names_do_not_depend_on_shape_order(tkit):
    boxes = [(0, 0, 5, 1), (3, 0.5, 8, 3), (20, 0, 21, 9), (20, 8, 30, 9), (50, 50, 51, 51)]
    seen = set()
    for perm in itertools.permutations(range(len(boxes)), len(boxes)):
        if random.Random(hash(perm)).random() > 0.1:
            continue
        nets = extract_nets(shapes_from_library(layout(tkit, {"MET1": [boxes[k] for k in perm]}), tkit), tkit)
        seen.add(tuple(sorted(nets.names)))
    assert seen == {("$MET1(0,0)", "$MET1(20,0)", "$MET1(50,50)")}


def test_touching_shapes_connect_but_overlap_is_needed_between_layers(tkit):
    lib = layout(
        tkit,
        {
            "MET1": [(0, 0, 5, 1), (5, 0, 10, 1), (10, 1, 12, 3), (30, 0, 31, 1)],  # abut, corner
            "MET2": [(31, 0, 40, 1)],  # touches MET1 edge-on, no overlap
            "VIA1": [(30.2, 0.2, 30.8, 0.8)],  # over MET1 only
        },
    )
    nets = extract_nets(shapes_from_library(lib, tkit), tkit)
    c1 = nets.comp["MET1"]
    assert c1[0] == c1[1] == c1[2]
    assert c1[3] != nets.comp["MET2"][0]


def test_label_conflicts_are_notes(tkit):
    lib = layout(
        tkit,
        {"MET1": [(0, 0, 10, 2), (20, 0, 30, 2), (40, 0, 50, 2)]},
        labels=[("MET1", "A", 1, 1), ("MET1", "A", 21, 1), ("MET1", "B", 41, 1), ("MET1", "C", 42, 1), ("MET1", "X", 100, 100)],
    )
    nets = extract_nets(shapes_from_library(lib, tkit), tkit)
    notes = " | ".join(nets.notes)
    assert "label 'A' names 2 unconnected nets" in notes
    assert "carries 2 names B, C" in notes
    assert "label 'X' on MET1 at (100, 100) um touches no MET1 shape" in notes
    assert nets.name(int(nets.comp["MET1"][2])) == "B" and nets.aliases[int(nets.comp["MET1"][2])] == ("B", "C")


def test_extraction_scales_to_many_shapes(tkit):
    """A 100 x 100 array of strapped bar pairs: 10,000 nets, found exactly."""
    n = 100
    polys = {"MET1": [], "VIA1": [], "MET2": []}
    for i in range(n):
        for j in range(n):
            x, y = i * 20_000, j * 10_000
            polys["MET1"] += [rect(x, y, x + 4000, y + 1000), rect(x + 8000, y, x + 12000, y + 1000)]
            polys["MET2"].append(rect(x + 3000, y, x + 9000, y + 1000))
            polys["VIA1"] += [rect(x + 3200, y + 200, x + 3800, y + 800), rect(x + 8200, y + 200, x + 8800, y + 800)]
    from pdk.check import selftest_shapes
    from flow.drc.core import SelfTest

    shapes = selftest_shapes(tkit, SelfTest("big", polys, 0))
    nets = extract_nets(shapes, tkit)
    assert len(nets.names) == n * n
    c = nets.comp["MET1"]
    assert np.all(c[0::2] == c[1::2])


# ---------------------------------------------------------------- net_spacing --


def test_net_spacing_only_between_different_nets(tkit):
    # two bars 1 um apart: different nets flagged; strapped (same net) not
    lib = layout(
        tkit,
        {
            "MET1": [(0, 0, 2, 10), (3, 0, 5, 10), (20, 0, 22, 10), (23, 0, 25, 10)],
            "MET2": [(20, 8, 25, 10)],
            "VIA1": [(20.5, 8.5, 21.5, 9.5), (23.5, 8.5, 24.5, 9.5)],
        },
        labels=[("MET1", "A", 1, 5), ("MET1", "B", 4, 5)],
    )
    res = run_drc(shapes_from_library(lib, tkit), tkit, rules=[rule(tkit, "M1.NS")])
    assert res.counts() == {"M1.NS": 1}
    (v,) = res.violations
    assert v.net == "A / B" and v.measured_um == pytest.approx(1.0)
    # the plain spacing check flags both pairs
    plain = Rule("M1.S", "spacing", "MET1", 2.0)
    assert run_drc(shapes_from_library(lib, tkit), tkit, rules=[plain]).counts() == {"M1.S": 2}


def test_selftests_of_every_net_kind_pass(tkit):
    report = check_kit(tkit, sections=("rules",))
    assert report.ok, [f.detail for f in report.findings if not f.ok]
    assert report.selftested == len(tkit.rules)


@needs_klayout
def test_net_spacing_deck_agrees_with_klayout(tkit, tmp_path):
    """The exported deck (its nets section + the space / separation check
    filtered by net) gives the same marker count as pilotflow on every
    net_spacing self-test, one- and two-layer, and on a layout of many
    strapped and unstrapped bar pairs.  Every net kind is in the deck
    (tests/pdk/test_klayout_export.py compares the voltage_spacing and
    current_density ones)."""
    res = export_klayout(tkit, tmp_path / "k")
    assert set(res.exported) == {r.id for r in tkit.rules} and res.not_exported == ()

    def klayout_counts(gds: Path) -> dict:
        rep = gds.with_suffix(".lyrdb")
        r = subprocess.run([KLAYOUT, "-b", "-r", str(res.lydrc), "-rd", f"input={gds}", "-rd", f"report={rep}"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0 and "ERROR" not in r.stdout + r.stderr, r.stdout + r.stderr
        out: dict = {}
        for item in ET.parse(rep).getroot().iter("item"):
            name = item.findtext("category").strip("'")
            out[name] = out.get(name, 0) + 1
        return out

    n = 0
    for c in selftest_cases(tkit):
        if c.rule.kind != "net_spacing":
            continue
        gds = tmp_path / f"{c.cell}.gds"
        selftest_library(tkit, [c]).write_gds(str(gds))  # one top cell: KLayout's connect needs it
        ours = run_drc(read_gds(gds, tkit), tkit, rules=[c.rule]).counts().get(c.rule.id, 0)
        assert klayout_counts(gds).get(c.rule.id, 0) == ours == c.test.expected, (c.rule.id, c.test.name)
        n += 1
    assert n == 6
    # a bigger mixed layout
    rng = random.Random(7)
    m1, m2, v1 = [], [], []
    for k in range(60):
        x, y = (k % 10) * 30, (k // 10) * 20
        gap = rng.choice([1.0, 1.5, 2.5, 3.5])
        m1 += [(x, y, x + 2, y + 10), (x + 2 + gap, y, x + 4 + gap, y + 10)]
        m2.append((x, y + 12, x + 4 + gap, y + 15) if rng.random() < 0.5 else (x, y + 12, x + 1.5, y + 15))
        if rng.random() < 0.5:
            m2.append((x, y + 8, x + 4 + gap, y + 10))
            v1 += [(x + 0.5, y + 8.5, x + 1.5, y + 9.5), (x + 2.5 + gap, y + 8.5, x + 3.5 + gap, y + 9.5)]
    gds = tmp_path / "mixed.gds"
    layout(tkit, {"MET1": m1, "MET2": m2, "VIA1": v1}).write_gds(str(gds))
    ours = run_drc(read_gds(gds, tkit), tkit, rules=[rule(tkit, "M1.NS"), rule(tkit, "M2.NS")]).counts()
    theirs = klayout_counts(gds)
    assert ours.get("M1.NS", 0) > 0
    assert {k: theirs.get(k, 0) for k in ("M1.NS", "M2.NS")} == {k: ours.get(k, 0) for k in ("M1.NS", "M2.NS")}



@needs_klayout
def test_deck_counts_shorted_overlapping_shapes_once(tkit, tmp_path):
    """Differently named shapes of one layer drawn over each other (a
    shorted net: A at 0 V over B at 400 V, sharing their long edges; D over
    E, sharing their bottom edge in part) beside other nets: pilotflow
    checks the merged outline, one marker per facing pair.  KLayout's
    ``space`` / ``separation`` / ``enclosing`` on the raw shapes report a
    pair once per drawn edge (the exported deck counted 4 voltage-spacing
    pairs here, pilotflow 2); the deck merges those layers first, so its
    counts per rule equal pilotflow's, run by ``klayout -b``."""
    import dataclasses

    extra = (Rule("M1.S", "spacing", "MET1", 5.0, doc="plain MET1 spacing"),
             Rule("M1.WS", "wide_spacing", "MET1", 0.0, table=((8.0, 6.0),), doc="wide MET1 spacing"),
             Rule("M2.EN", "enclosure", "MET2", 1.5, other="VIA1", doc="MET2 encloses VIA1"))
    kit = dataclasses.replace(tkit, rules=tuple(tkit.rules) + extra)
    res = export_klayout(kit, tmp_path / "k")
    assert set(res.exported) == {r.id for r in kit.rules}
    m1 = [(0, 0, 10, 40), (0, 20, 10, 60),  # A, B: one polygon, shared x = 0 and x = 10 edges
          (14, 0, 20, 60),  # C, 4 um right of A/B
          (70, 0, 80, 20), (75, 0, 90, 20),  # D, E: shared bottom edge 35..40, shared top edge
          (70, -6, 90, -2)]  # F, 2 um below D/E
    m2 = [(160, 0, 170, 5), (160, 0, 165, 10)]  # two MET2 shapes over one via, shared left / bottom edges
    v1 = [(161, 1, 162, 2)]
    m1.append((159, 0, 171, 11))  # MET1 under the via (net G)
    labels = [("MET1", "A", 2, 10), ("MET1", "B", 2, 50), ("MET1", "C", 16, 30), ("MET1", "D", 71, 10),
              ("MET1", "E", 88, 10), ("MET1", "F", 80, -4), ("MET1", "G", 170, 10)]
    volts = {"A": 0.0, "B": 400.0, "C": 0.0, "D": 0.0, "E": 5.0, "F": 400.0, "G": 0.0}
    gds = tmp_path / "short.gds"
    layout(kit, {"MET1": m1, "MET2": m2, "VIA1": v1}, labels).write_gds(str(gds))
    classes = tmp_path / "nc.toml"
    classes.write_text("".join(f'[[net_class]]\nnets = ["{n}"]\nvoltage = {v!r}\n' for n, v in volts.items()))
    ours = run_drc(read_gds(gds, kit), kit, ctx=ctx(volts=volts)).counts()
    # A/B (400 V) to C (0 V): 4 um < 13 um, one pair; D/E to F: 2 um < 13 um, one pair
    assert ours.get("M1.VS") == 2 and ours.get("M1.S") == 2 and ours.get("M2.EN") == 2, ours
    assert ours.get("M1.WS") == 2, ours  # the wide A/B to C (4 um < 6 um), D/E to F (2 um)
    rep = tmp_path / "short.lyrdb"
    r = subprocess.run([KLAYOUT, "-b", "-r", str(res.lydrc), "-rd", f"input={gds}", "-rd", f"report={rep}",
                        "-rd", f"netclasses={classes}"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "ERROR" not in r.stdout + r.stderr, r.stdout + r.stderr
    theirs: dict = {}
    for item in ET.parse(rep).getroot().iter("item"):
        name = item.findtext("category").strip("'")
        theirs[name] = theirs.get(name, 0) + 1
    assert theirs == ours
    # KLayout's raw-shape space check does count the shared edges twice (why the deck merges)
    kdb = pytest.importorskip("klayout.db")
    ly = kdb.Layout()
    ly.read(str(gds))
    raw = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(10, 0)))
    assert raw.space_check(kit.dbu(13.0)).count() > raw.merged().space_check(kit.dbu(13.0)).count()

# ------------------------------------------------------------ voltage_spacing --


def _two_nets(kit, layer: str, gap_um: float, names=("LO", "HI"), labels=True):
    w = 10.0
    shapes = {layer: [(0, 0, w, 50), (w + gap_um, 0, 2 * w + gap_um, 50)]}
    labs = [(layer, names[0], 1, 1), (layer, names[1], w + gap_um + 1, 1)] if labels else []
    return layout(kit, shapes, labs)


@pytest.mark.parametrize("layer", ["MET1", "MET2"])
def test_done_when_650v_flagged_5v_not_ganrf025(layer, tmp_path):
    """ganrf025: two nets 20 um apart.  0 V / 650 V needs 60 um (flagged);
    0 V / 5 V the same geometry is clean.  Voltages from the design's net
    classes, net names from the GDS labels written to a file."""
    kit = pdks.load("ganrf025")
    rid = f"{layer}.VS.1"
    gds = tmp_path / "two.gds"
    _two_nets(kit, layer, 20.0).write_gds(str(gds))
    shapes = read_gds(gds, kit)
    rules = [rule(kit, rid)]
    hv = [NetClass("gnd", ("LO",), 0.0), NetClass("bus", ("H*",), 650.0)]
    res = run_drc(shapes, kit, rules=rules, ctx=CheckContext(ClassValues(tuple(hv), "voltage")))
    assert res.counts() == {rid: 1}
    (v,) = res.violations
    assert v.net == "HI / LO" and v.value_um == 60.0 and v.measured_um == pytest.approx(20.0)
    lv = [NetClass("gnd", ("LO",), 0.0), NetClass("logic", ("H*",), 5.0)]
    res = run_drc(shapes, kit, rules=rules, ctx=CheckContext(ClassValues(tuple(lv), "voltage")))
    assert res.counts() == {} and res.clean and not [n for n in res.notes if "not checked" in n]
    # no voltages at all: not flagged, but said to be not checked
    res = run_drc(shapes, kit, rules=rules)
    assert res.counts() == {}
    assert any(n.startswith(f"{rid}: not checked between 1 pair(s)") and "HI / LO" in n for n in res.notes)


def test_voltages_from_gds_labels(tmp_path):
    """Labels that are voltages (0V, 650V) give the nets their voltages."""
    kit = pdks.load("ganrf025")
    for hv, count in (("650V", 1), ("5V", 0), ("-650 V", 1)):
        gds = tmp_path / f"l{count}.gds"
        _two_nets(kit, "MET1", 20.0, names=("0V", hv)).write_gds(str(gds))
        res = run_drc(read_gds(gds, kit), kit, rules=[rule(kit, "MET1.VS.1")])
        assert res.counts().get("MET1.VS.1", 0) == count, hv
        assert not [n for n in res.notes if "not checked" in n]


def test_voltage_table_is_a_step(tkit):
    """[[0, 2], [100, 5], [300, 13]]: a row holds above its voltage up to the
    next row; the pair is flagged exactly when closer than that row's value."""
    r = rule(tkit, "M1.VS")
    for dv, gap, flagged in [
        (0.0, 0.5, False),  # no difference: nothing beyond other rules
        (50, 1.999, True), (50, 2.0, False),
        (100, 4.0, False), (100.5, 4.999, True), (100.5, 5.0, False),
        (300, 12.0, False), (650, 12.999, True), (650, 13.0, False),
    ]:
        lib = _two_nets(tkit, "MET1", gap)
        res = run_drc(shapes_from_library(lib, tkit), tkit, rules=[r], ctx=ctx({"LO": 0.0, "HI": dv}))
        assert (res.counts().get("M1.VS", 0) == 1) is flagged, (dv, gap)


def test_voltage_spacing_with_negative_and_aliased_nets(tkit):
    # -200 V to +150 V: 350 V difference -> 13 um
    lib = _two_nets(tkit, "MET1", 10.0)
    res = run_drc(shapes_from_library(lib, tkit), tkit, rules=[rule(tkit, "M1.VS")], ctx=ctx({"LO": -200.0, "HI": 150.0}))
    assert res.counts() == {"M1.VS": 1}


def test_voltage_clearances_summary(tkit):
    """The report's summary: per near pair the smallest distance, the voltage
    difference and the table's spacing for it; a pair of unknown voltage
    has none; a pair beyond the table's largest spacing is not listed."""
    from flow.drc.kinds.nets import voltage_clearances

    for dv, gap in ((50, 1.5), (100.5, 6.0), (650, 12.5)):
        lib = _two_nets(tkit, "MET1", gap)
        rows = [r for r in voltage_clearances(shapes_from_library(lib, tkit), tkit, ctx({"LO": 0.0, "HI": dv})) if r["rule"] == "M1.VS"]
        assert rows == [{"rule": "M1.VS", "layer": "MET1", "other": None, "nets": ["HI", "LO"], "dv_v": dv,
                         "required_um": rule(tkit, "M1.VS").spacing_for(dv), "found_um": gap}]
        # the DRC verdict agrees with found < required
        res = run_drc(shapes_from_library(lib, tkit), tkit, rules=[rule(tkit, "M1.VS")], ctx=ctx({"LO": 0.0, "HI": dv}))
        assert (res.counts().get("M1.VS", 0) > 0) is (gap < rows[0]["required_um"])
    lib = _two_nets(tkit, "MET1", 5.0)
    rows = [r for r in voltage_clearances(shapes_from_library(lib, tkit), tkit, ctx({"LO": 0.0})) if r["rule"] == "M1.VS"]
    assert rows[0]["dv_v"] is None and rows[0]["required_um"] is None and rows[0]["found_um"] == 5.0
    far = _two_nets(tkit, "MET1", 14.0)  # beyond the largest row (13 um)
    assert not [r for r in voltage_clearances(shapes_from_library(far, tkit), tkit, ctx({"LO": 0.0, "HI": 650})) if r["rule"] == "M1.VS"]


# ------------------------------------------------------------ current_density --


def test_done_when_10a_wire_flagged_ganrf025():
    """ganrf025 MET2: 15 mA/um, so 10 A needs 666.67 um.  A 600 um wire is
    flagged (measured 16.67 mA/um), a 700 um one is not."""
    kit = pdks.load("ganrf025")
    em = Rule("MET2.EM", "current_density", "MET2", 0.0, doc="EM")
    lib = layout(kit, {"MET2": [(0, 0, 2000, 600), (0, 1000, 2000, 1700)]}, [("MET2", "SW", 10, 10), ("MET2", "BUS", 10, 1010)])
    res = run_drc(shapes_from_library(lib, kit), kit, rules=[em], ctx=ctx(amps={"SW": 10.0, "BUS": 10.0}))
    assert res.counts() == {"MET2.EM": 1}
    (v,) = res.violations
    assert v.net == "SW" and not v.is_edge_pair
    assert v.measured_um == pytest.approx(10000 / 600, rel=1e-6)
    xs = [p[0] for p in v.marker]
    ys = [p[1] for p in v.marker]
    assert (min(ys), max(ys)) == (0, 600_000) and max(xs) - min(xs) == 2_000_000
    # the KLayout oracle: the marker covers exactly the 600 um wire
    kdb = pytest.importorskip("klayout.db")
    marker = kdb.Region(kdb.Polygon([kdb.Point(x, y) for x, y in v.marker]))
    wire = kdb.Region(kdb.Box(0, 0, 2_000_000, 600_000))
    assert (marker ^ wire).is_empty()


def test_em_derating_with_temperature(tkit):
    """MET1 5 mA/um at 105 C, Ea 0.9 eV: a 10 um wire at exactly 50 mA passes at
    105 C and fails at 150 C (Black's law, n = 2), passes again at 25 C with
    more current."""
    lay = tkit.layers["MET1"]
    j150, note = derate(5.0, lay, 150.0)
    assert note is None
    want = 5.0 * math.exp(0.9 / (BLACK_N * K_B) * (1 / (150 + 273.15) - 1 / (105 + 273.15)))
    assert j150 == pytest.approx(want) and j150 < 5.0
    lib = layout(tkit, {"MET1": [(0, 0, 100, 10)]}, [("MET1", "I", 1, 1)])
    shapes = shapes_from_library(lib, tkit)
    r = rule(tkit, "M1.EM")
    assert run_drc(shapes, tkit, rules=[r], ctx=ctx(amps={"I": 0.05}, temp=105)).clean
    hot = run_drc(shapes, tkit, rules=[r], ctx=ctx(amps={"I": 0.05}, temp=150))
    assert hot.counts() == {"M1.EM": 1} and hot.violations[0].measured_um == pytest.approx(5.0)
    j25, _ = derate(5.0, lay, 25.0)
    assert run_drc(shapes, tkit, rules=[r], ctx=ctx(amps={"I": j25 * 10 / 1000 * 0.999}, temp=25)).clean
    # without a temperature: the reference limit, and a note saying so
    res = run_drc(shapes, tkit, rules=[r], ctx=ctx(amps={"I": 0.05}))
    assert res.clean and any("no operating temperature given" in n for n in res.notes)


def test_em_not_checked_without_limits(tkit):
    """MET3 has no jmax; MET2 has no em_ea_ev, so it cannot be derated above
    its reference... (MET2 has no jmax_ref_c: used as given, noted)."""
    em3 = Rule("M3.EM", "current_density", "MET3", 0.0)
    lib = layout(tkit, {"MET3": [(0, 0, 10, 1)], "MET2": [(0, 5, 200, 6)]}, [("MET2", "I", 1, 5.5)])
    res = run_drc(shapes_from_library(lib, tkit), tkit, rules=[em3, rule(tkit, "M2.EM")], ctx=ctx(amps={"I": 1.0}, temp=150))
    assert res.not_checked == ("M3.EM: layer MET3 has no jmax_ma_per_um (current-density limit) in the PDK",)
    assert res.rules_checked == ("M2.EM",) and res.counts() == {"M2.EM": 1}
    assert any("MET2 has no jmax_ref_c" in n for n in res.notes)


def test_via_count_against_current(tkit):
    """VIA1 20 mA per cut: 100 mA through 4 cuts fails (25 mA/cut), 5 pass;
    cuts over only one metal are not a group."""
    def lib(cuts: int):
        vias = [(1 + 2 * k, 1, 2 + 2 * k, 2) for k in range(cuts)]
        return layout(tkit, {"MET1": [(0, 0, 12, 3), (40, 0, 52, 3)], "MET2": [(0, 0, 12, 3)], "VIA1": vias + [(41, 1, 42, 2)]}, [("MET1", "I", 0.5, 0.5)])

    r = rule(tkit, "V1.EM")
    bad = run_drc(shapes_from_library(lib(4), tkit), tkit, rules=[r], ctx=ctx(amps={"I": 0.1}))
    assert bad.counts() == {"V1.EM": 1}
    (v,) = bad.violations
    assert v.measured_um == pytest.approx(25.0) and v.net == "I"
    assert sorted(set(v.marker)) == sorted({(1000, 1000), (8000, 1000), (8000, 2000), (1000, 2000)})
    assert run_drc(shapes_from_library(lib(5), tkit), tkit, rules=[r], ctx=ctx(amps={"I": 0.1})).clean


# ------------------------------------------------------------ reports and CLI --


def _pair_gds(tmp_path, kit, gap=20.0):
    gds = tmp_path / "pair.gds"
    _two_nets(kit, "MET1", gap).write_gds(str(gds))
    return gds


def test_cli_net_classes_json_and_lyrdb(tmp_path):
    kit = pdks.load("ganrf025")
    gds = _pair_gds(tmp_path, kit)
    nc = tmp_path / "nets.toml"
    nc.write_text('temperature_c = 125\n[[net_class]]\nnets = ["LO"]\nvoltage = 0\n[[net_class]]\nnets = ["HI"]\nvoltage = 650\ncurrent = 1.0\n')
    r = CliRunner().invoke(cli, ["drc", str(gds), "--pdk", "ganrf025", "--net-classes", str(nc), "--json", str(tmp_path / "d.json"), "--lyrdb", str(tmp_path / "d.lyrdb")])
    assert r.exit_code == 1, r.output
    assert "MET1.VS.1: 1" in r.output
    data = json.loads((tmp_path / "d.json").read_text())
    (entry,) = [x for x in data["rules"] if x["id"] == "MET1.VS.1"]
    assert entry["count"] == 1 and entry["markers"][0]["net"] == "HI / LO"
    rdb = pytest.importorskip("klayout.rdb")
    db = rdb.ReportDatabase("x")
    db.load(str(tmp_path / "d.lyrdb"))
    cat = db.category_by_path("'MET1.VS.1'") or db.category_by_path("MET1.VS.1")
    assert cat is not None and cat.num_items() == 1
    texts = [v.string() for it in db.each_item_per_category(cat.rdb_id()) for v in it.each_value() if v.is_string()]
    assert "net: HI / LO" in texts
    # 0 / 5 V: clean
    nc.write_text('[[net_class]]\nnets = ["LO"]\nvoltage = 0\n[[net_class]]\nnets = ["HI"]\nvoltage = 5\n')
    r = CliRunner().invoke(cli, ["drc", str(gds), "--pdk", "ganrf025", "--net-classes", str(nc)])
    assert r.exit_code == 0, r.output


def test_cli_design_and_temperature(tmp_path):
    kit = pdks.load("ganrf025")
    gds = _pair_gds(tmp_path, kit)
    d = tmp_path / "des"
    d.mkdir()
    (d / "n.sp").write_text(".subckt top a\n.ends\n")
    (d / "design.toml").write_text('[design]\npdk = "ganrf025"\nnetlist = "n.sp"\ntemperature_c = 150\n[[net_class]]\nnets = ["LO"]\nvoltage = 0\n[[net_class]]\nnets = ["H?"]\nvoltage = -650\n')
    assert load_design(d).temperature_c == 150.0
    r = CliRunner().invoke(cli, ["drc", str(gds), "--pdk", "ganrf025", "--design", str(d)])
    assert r.exit_code == 1 and "MET1.VS.1: 1" in r.output, r.output
    r = CliRunner().invoke(cli, ["drc", str(gds), "--pdk", "ganrf025", "--temperature", "125"])
    assert r.exit_code == 0 and "MET1.VS.1: not checked between 1 pair(s)" in r.output, r.output


@pytest.mark.parametrize(
    "args, text, message",
    [
        (["--net-classes", "{d}/nc.toml"], '[[net_class]]\nnets = ["A"]\nvoltage = "high"\ncurrent = -1\nfoo = 1\n', "3 problems: net_class[0].foo: unknown key"),
        (["--net-classes", "{d}/nc.toml"], "temperature_c = -300\n", "temperature_c: must be a temperature"),
        (["--net-classes", "{d}/nc.toml"], "[[net_class]\n", "not valid TOML"),
        (["--net-classes", "{d}/missing.toml"], None, "missing.toml: file not found"),
        (["--temperature", "-500"], None, "--temperature: must be a temperature"),
        (["--net-classes", "{d}/nc.toml", "--design", "{d}"], "", "give at most one of --net-classes"),
        (["--design", "{d}/nope"], None, "not a design folder"),
        (["--design", "{d}"], None, "design.toml: file not found"),
    ],
)
def test_cli_bad_net_input(tmp_path, args, text, message):
    kit = pdks.load("ganrf025")
    gds = _pair_gds(tmp_path, kit)
    if text is not None:
        (tmp_path / "nc.toml").write_text(text)
    r = CliRunner().invoke(cli, ["drc", str(gds), "--pdk", "ganrf025", *[a.format(d=tmp_path) for a in args]])
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert message in r.output and "Traceback" not in r.output
    assert lines[-1].startswith("Error: ")


def test_sample_design_context_from_design_toml():
    """The flow's DRC stage builds its CheckContext from design.toml: the
    half-bridge's classes give VBUS 650 V and PGND 0 V, patterns resolve."""
    from flow.stages.drc import design_context

    cfg = load_design(Path(__file__).resolve().parents[2] / "designs" / "gan_halfbridge")
    c = design_context(cfg.net_classes, cfg.temperature_c)
    sw = next(nc for nc in cfg.net_classes if nc.matches("SW"))
    assert c.voltages["VBUS"] == 650.0 and c.voltages["PGND"] == 0.0 and c.currents["SW"] == sw.current > 0
    assert c.voltages["XH/n3"] == 656.0 and c.voltages["KSL"] == 0.0 and "nothing" not in c.voltages
    assert "VBUS" in list(c.voltages)


def test_parallel_run_equals_serial(tkit, monkeypatch):
    """Net-aware rules in worker processes: same markers, notes and not
    checked rules as one process."""
    import flow.drc.engine as engine

    lib = layout(
        tkit,
        {"MET1": [(0, 0, 2, 100), (3, 0, 5, 100), (16, 0, 18, 100), (26, 0, 28, 100)], "MET2": [(0, 200, 100, 201)], "MET3": [(0, 300, 10, 301)]},
        [("MET1", "A", 1, 1), ("MET1", "B", 4, 1), ("MET1", "C", 17, 1), ("MET2", "I", 1, 200.5)],
    )
    shapes = shapes_from_library(lib, tkit)
    rules = list(tkit.rules) + [Rule("M3.EM", "current_density", "MET3", 0.0), Rule("M1.S", "spacing", "MET1", 2.0)]
    c = ctx({"A": 0.0, "B": 650.0}, {"I": 1.0})
    serial = run_drc(shapes, tkit, rules=rules, ctx=c)
    monkeypatch.setattr(engine, "PARALLEL_MIN_POINTS", 0)
    par = run_drc(shapes, tkit, rules=rules, ctx=c, jobs=3)
    assert par.violations == serial.violations
    assert sorted(par.notes) == sorted(serial.notes)
    assert par.not_checked == serial.not_checked == ("M3.EM: layer MET3 has no jmax_ma_per_um (current-density limit) in the PDK",)
    assert par.rules_checked == serial.rules_checked and "M3.EM" not in serial.rules_checked
    assert serial.counts()["M1.VS"] == 1 and serial.counts()["M2.EM"] == 1
    (note,) = [n for n in serial.notes if n.startswith("M1.VS: not checked")]
    assert note.startswith("M1.VS: not checked between 2 pair(s) of nets within 13 um whose voltage is unknown: $MET1(26,0) / C, B / C")


def test_flow_drc_stage_uses_the_design_net_classes(tmp_path):
    """ganrf025_pa runs clean with every pair checked; without its ground
    and source classes, its voltage rules still know the classed nets (no
    'not checked' pair of two classed nets), and name the others."""
    src = Path(__file__).resolve().parents[2] / "designs" / "ganrf025_pa"
    r = CliRunner().invoke(cli, ["run", str(src), "-o", str(tmp_path / "full")])
    assert r.exit_code == 0, r.output
    assert "DRC: 0 violations" in r.output and "not checked" not in r.output
    d = tmp_path / "ganrf025_pa"
    shutil.copytree(src, d)
    text = (d / "design.toml").read_text()
    cut = text.index("# DC ground")
    assert 'name = "ground"' in text[cut:] and 'name = "source"' in text[cut:]
    (d / "design.toml").write_text(text[:cut])
    r = CliRunner().invoke(cli, ["run", str(d), "-o", str(tmp_path / "pa")])
    assert r.exit_code == 0, r.output
    assert "DRC: 0 violations" in r.output
    # the run's summary says what the voltage rules could not check
    assert "partly not checked: MET1.VS.1: not checked between" in r.output
    data = json.loads((tmp_path / "pa" / "drc.json").read_text())
    assert {"MET1.VS.1", "MET2.VS.1"} <= set(data["rules_checked"])
    cfg = load_design(d)
    classed = {n for nc in cfg.net_classes for n in nc.patterns}
    notes = [n for n in data["notes"] if ".VS.1: not checked between" in n]
    assert notes
    for n in notes:
        listed = n.split("unknown: ", 1)[1].split(" (give")[0].split(" and ")[0]
        for pair in listed.split(", "):
            a, b = pair.split(" / ")
            assert not (a in classed and b in classed), pair


def test_waived_markers_keep_their_net(tkit, tmp_path):
    from flow.drc.lyrdb import write_lyrdb
    from flow.drc.waivers import load_waivers

    lib = layout(tkit, {"MET1": [(0, 0, 2, 10), (3, 0, 5, 10)]}, [("MET1", "A", 1, 5), ("MET1", "B", 4, 5)])
    w = tmp_path / "w.toml"
    w.write_text('[[waiver]]\nrule = "M1.NS"\nregion = [0, 0, 10, 10]\nreason = "reviewed"\nauthor = "me"\n')
    res = run_drc(shapes_from_library(lib, tkit), tkit, rules=[rule(tkit, "M1.NS")], waivers=load_waivers(w))
    assert res.clean and len(res.waived) == 1
    write_lyrdb(res, tkit, tmp_path / "x.lyrdb", "TOP")
    assert "net: A / B" in (tmp_path / "x.lyrdb").read_text()
    assert res.to_json(tkit)["rules"][0]["waived"][0]["net"] == "A / B"


def test_voltage_spacing_agrees_with_klayout_net_extraction(tkit, tmp_path):
    """KLayout as the oracle: its LayoutToNetlist (connect + text labels)
    names the nets, and per pair of nets ``Region.separation_check`` at the
    table spacing for their voltage difference gives the markers.  Random
    bar pairs, nets strapped through VIA1/MET2 or not, voltages from classes
    and from voltage labels; the counts must equal pilotflow's."""
    kdb = pytest.importorskip("klayout.db")
    rng = random.Random(11)
    volts = {f"N{k}": rng.choice([0.0, 5.0, 48.0, 100.0, 150.0, 299.0, 301.0, 650.0, -200.0]) for k in range(10)}
    volts["NX"] = None  # unknown
    m1, m2, v1, labels = [], [], [], []
    for k in range(120):
        x, y = (k % 12) * 60.0, (k // 12) * 40.0
        gap = rng.choice([1.0, 1.999, 2.0, 4.5, 5.0, 8.0, 12.999, 13.0])
        a, b = (x, y, x + 3, y + 20), (x + 3 + gap, y, x + 6 + gap, y + 20)
        m1 += [a, b]
        na, nb = rng.sample(sorted(volts), 2)
        if rng.random() < 0.3:
            # b joins a third bar through VIA1/MET2 (one net of two MET1 shapes)
            c = (x + 30, y, x + 33, y + 20)
            m1.append(c)
            m2.append((b[0], y + 22, x + 33, y + 25))
            m2 += [(b[0], y + 15, b[2], y + 25), (c[0], y + 15, c[2], y + 25)]
            v1 += [(b[0] + 0.5, y + 16, b[2] - 0.5, y + 18), (c[0] + 0.5, y + 16, c[2] - 0.5, y + 18)]
        for name, box in ((na, a), (nb, b)):
            text = f"{volts[name]:g}V" if (volts[name] is not None and rng.random() < 0.2) else f"{name}_{k}_{box[0]}"
            labels.append(("MET1", text, box[0] + 1, y + 1))
    lib = layout(tkit, {"MET1": m1, "MET2": m2, "VIA1": v1}, labels)
    gds = tmp_path / "v.gds"
    lib.write_gds(str(gds))

    def voltage(name: str):
        m = re.fullmatch(r"(-?[0-9.]+)V", name)
        if m:
            return float(m.group(1))
        return volts[name.split("_")[0]]

    classes = tuple(NetClass(n, (f"{n}_*",), v) for n, v in volts.items() if v is not None)
    r = rule(tkit, "M1.VS")
    ours = run_drc(read_gds(gds, tkit), tkit, rules=[r], ctx=CheckContext(ClassValues(classes, "voltage")))

    ly = kdb.Layout()
    ly.read(str(gds))
    ly.dbu = 0.001
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, ly.top_cell(), []))
    L = {n: l2n.make_layer(ly.layer(*tkit.layers[n].gds), n) for n in ("MET1", "VIA1", "MET2")}
    text = l2n.make_text_layer(ly.layer(*tkit.layers["MET1"].label), "t1")
    for n in L.values():
        l2n.connect(n)
    l2n.connect(L["MET1"], L["VIA1"])
    l2n.connect(L["VIA1"], L["MET2"])
    l2n.connect(L["MET1"], text)
    l2n.extract_netlist()
    circuit = l2n.netlist().circuit_by_name(ly.top_cell().name)
    regions = []
    for net in circuit.each_net():
        reg = l2n.shapes_of_net(net, L["MET1"], True)
        if not reg.is_empty():
            regions.append((voltage(net.name) if net.name else None, reg.merged()))
    expected = 0
    for (va, ra), (vb, rb) in itertools.combinations(regions, 2):
        if va is None or vb is None:
            continue
        s = r.spacing_for(abs(va - vb))
        if s > 0:
            expected += ra.separation_check(rb, tkit.dbu(s)).count()
    assert expected > 10, expected
    assert sum(v is not None for v, _ in regions) > 150  # KLayout named the nets from the labels
    assert ours.counts().get("M1.VS", 0) == expected
    assert any("not checked between" in n for n in ours.notes)  # the NX nets


# ------------------------------------- current_density: devices and net ties --


def _hemtek_layout(kit, device_cell: bool = True, graze: bool = False, end_on: bool = False) -> gdstk.Library:
    """A gan650 Kelvin HEMT (hemtek, 10 fingers of 40 um with 4 um MET1
    ohmic fingers) with routing on MET1 for nets of 50 mA (10 um at the
    reference limit): a drain wire covering the drain pin, 50 um deep, with
    a 5 um tail beside it (too narrow); a source wire 110 um wide under the
    source pin; a 4 um Kelvin wire on the ``ks`` pin (10 mA needs 2 um),
    which the device ties to the source bus under NETTIE.  ``graze``: the
    drain wire instead joins the drain pin only at its corner (2 x 3 um).
    ``end_on``: the drain wire (12 um, for 60 mA) instead lands on the
    drain pin's end from the side, across the pin's whole 10 um height.
    ``device_cell=False`` renames the device cell: no device of the kit."""
    from pdk.base import generate

    dev = generate(kit, "hemtek", {"w": 400, "nf": 10})
    assert [(p.terminal, p.rect) for p in dev.pins if p.terminal in ("d", "s", "ks")] == [
        ("s", (15000, 0, 236000, 10000)), ("d", (15000, 74000, 236000, 84000)), ("ks", (239000, 0, 249000, 10000))
    ]  # the geometry the wires below are drawn for
    drain = [(234, 81, 400, 131)] if graze else [(15, 74, 236, 124), (236, 74, 300, 79)]
    d_label = (300 if graze else 100, 100)
    if end_on:
        drain, d_label = [(-60, 72, 20, 84)], (-30, 78)
    lib = layout(kit, {"MET1": drain + [(70, -30, 180, 5), (242, -60, 246, 5)]},
                 [("MET1", "D", *d_label), ("MET1", "S", 100, -20), ("MET1", "KS", 244, -50)])
    cell = dev.cell if device_cell else dev.cell.copy("blob")
    lib.add(cell)
    lib.cells[0].add(gdstk.Reference(cell, (0, 0)))
    return lib


HEMTEK_AMPS = {"D": 0.05, "S": 0.05, "KS": 0.01}


def test_current_density_leaves_device_metal_to_the_device():
    """Device fingers (4 um, below the 10 um a 50 mA net needs on MET1) are
    left to the device; the routing is checked at the net current: one
    marker, on the drain's 5 um tail (10 mA/um), none on the wires that
    cover the pins.  The Kelvin wire is checked at its own 10 mA because
    the device's net tie (NETTIE over the MET1 neck) separates ``KS`` from
    ``S``, as LVS separates them.  The same layout with the device cell
    renamed (no device of the kit): the fingers are flagged."""
    kit = pdks.load("gan650")
    em = Rule("MET1.EMX", "current_density", "MET1", 0.0, doc="EM")
    shapes = shapes_from_library(_hemtek_layout(kit), kit)
    assert len(shapes.device_polygons["MET1"]) > 10
    res = run_drc(shapes, kit, rules=[em], ctx=ctx(amps=HEMTEK_AMPS))
    assert res.counts() == {"MET1.EMX": 1}, [(v.net, v.marker) for v in res.violations]
    (v,) = res.violations
    assert v.net == "D" and v.measured_um == pytest.approx(50 / 5)
    assert max(x for x, _ in v.marker) == 300_000 and max(y for _, y in v.marker) == 79_000
    assert any("left to the devices' own sizing" in n for n in res.notes)
    # KS and S are two nets (net tie cut), so KS carries its own current
    nets = extract_nets(shapes, kit, net_ties=True)
    assert {"KS", "S", "D"} <= {n for al in nets.aliases for n in al}
    assert not any({"KS", "S"} <= set(al) for al in nets.aliases)
    assert any({"KS", "S"} <= set(al) for al in extract_nets(shapes, kit).aliases)
    # no device of the kit: its fingers carry the whole net current
    blob = run_drc(shapes_from_library(_hemtek_layout(kit, device_cell=False), kit), kit, rules=[em], ctx=ctx(amps=HEMTEK_AMPS))
    assert blob.counts()["MET1.EMX"] > 5


def test_net_tie_metal_belongs_to_the_tied_nets():
    """The MET1 neck under NETTIE is cut out of the nets (KS and S are two
    nets), but its edges are still metal of the nets it ties: every merged
    MET1 edge has a net, and voltage spacing names no pair with metal of no
    net (the neck once showed as net '?' beside KS and S; the unlabelled
    gate net is reported by its generated name)."""
    from flow.drc.edges import merge_edges

    kit = pdks.load("gan650")
    shapes = shapes_from_library(_hemtek_layout(kit), kit)
    nets = extract_nets(shapes, kit, net_ties=True)
    (pieces, tied), = nets.ties.values()
    assert len(pieces) == 1 and nets.name(int(tied[0])) in ("KS", "S")
    e, _ = merge_edges(list(shapes.polygons["MET1"]))
    assert (nets.edge_nets("MET1", e) >= 0).all()
    vs = [r for r in kit.rules if r.kind == "voltage_spacing" and r.layer == "MET1"]
    res = run_drc(shapes, kit, rules=vs, ctx=ctx(volts={"D": 5.0, "S": 0.0, "KS": 0.0}, amps=HEMTEK_AMPS))
    unknown = [n for n in res.notes if "unknown" in n]
    assert unknown and not [n for n in unknown if re.search(r"(^|[ :,]) ?\? /|/ \?", n)], res.notes


def test_current_density_flags_a_wire_grazing_a_pin():
    """A wire as wide as its current needs that joins the drain pin only at
    the pin's corner (2 x 3 um of overlap) leaves a neck the whole current
    passes: flagged, though one edge of the neck is the pin's."""
    kit = pdks.load("gan650")
    em = Rule("MET1.EMX", "current_density", "MET1", 0.0, doc="EM")
    res = run_drc(shapes_from_library(_hemtek_layout(kit, graze=True), kit), kit, rules=[em], ctx=ctx(amps=HEMTEK_AMPS))
    assert res.counts().get("MET1.EMX", 0) >= 1
    for v in res.violations:
        xs = [x for x, _ in v.marker]
        assert v.net == "D" and v.measured_um > 5.0 and min(xs) <= 236_000 and max(xs) >= 234_000, v


def test_current_density_wire_across_a_whole_pin_is_the_pins():
    """A 12 um drain wire (60 mA) landing on the end of the 10 um drain pin
    across its whole height: the merged metal is narrower than 12 um only
    where the pin's own edge faces the wire's (the pin is the narrower
    conductor), so nothing is flagged and the note counts the parts left to
    the device; the same wire meeting the pin over 6 um of its height (a
    neck narrower than the pin) is flagged."""
    kit = pdks.load("gan650")
    em = Rule("MET1.EMX", "current_density", "MET1", 0.0, doc="EM")
    amps = dict(HEMTEK_AMPS, D=0.06)
    shapes = shapes_from_library(_hemtek_layout(kit, end_on=True), kit)
    res = run_drc(shapes, kit, rules=[em], ctx=ctx(amps=amps))
    assert res.counts() == {}, [(v.net, v.marker) for v in res.violations]
    (note,) = [n for n in res.notes if "left to the devices' own sizing" in n]
    assert re.search(r"\((\d+) narrow part", note) and int(re.search(r"\((\d+) narrow part", note)[1]) >= 1
    # the wire 6 um lower: it meets only the pin's lower 6 um (a 6 x 5 um corner)
    lib = _hemtek_layout(kit, end_on=True)
    top = lib.cells[0]
    (wire,) = [p for p in top.polygons if p.layer == kit.layers["MET1"].gds[0] and min(x for x, _ in p.points) < -50]
    top.remove(wire)
    top.add(gdstk.rectangle((-60, 62), (20, 80), layer=kit.layers["MET1"].gds[0], datatype=kit.layers["MET1"].gds[1]))
    low = run_drc(shapes_from_library(lib, kit), kit, rules=[em], ctx=ctx(amps=amps))
    assert low.counts().get("MET1.EMX", 0) >= 1 and {v.net for v in low.violations} == {"D"}


@needs_klayout
def test_current_density_devices_and_ties_in_the_deck(tmp_path):
    """The exported deck leaves device metal and cuts to the device and
    traces the tied conductor cut under NETTIE, as pilotflow: equal marker
    counts on the layouts above (device, grazing wire, no device, a wire
    across the pin's whole height: parts no narrower than the pin left to it)."""
    import dataclasses

    kit = pdks.load("gan650")
    extra = (Rule("MET1.EMX", "current_density", "MET1", 0.0, doc="EM"),
             Rule("CONT.EMX", "current_density", "CONT", 0.0, doc="EM cuts"))
    kit = dataclasses.replace(kit, rules=tuple(kit.rules) + extra)
    res = export_klayout(kit, tmp_path / "k")
    script = ET.parse(res.lydrc).getroot().findtext("text")
    head, _, body = script.partition("# ---- rules ----\n")
    keep = [blk for blk in re.split(r"(?m)^(?=# \S+ \()", body) if blk.startswith(("# MET1.EMX (", "# CONT.EMX ("))]
    assert len(keep) == 2
    deck = tmp_path / "em.drc"
    deck.write_text(head + "".join(keep))
    classes = tmp_path / "nc.toml"
    seen = []
    for k, (dev, graze, end_on) in enumerate(((True, False, False), (True, True, False), (False, False, False), (True, False, True))):
        amps = dict(HEMTEK_AMPS, D=0.06) if end_on else HEMTEK_AMPS
        classes.write_text("".join(f'[[net_class]]\nnets = ["{n}"]\ncurrent = {a!r}\n' for n, a in amps.items()))
        gds = tmp_path / f"l{k}.gds"
        _hemtek_layout(kit, device_cell=dev, graze=graze, end_on=end_on).write_gds(str(gds))
        rep = tmp_path / f"l{k}.lyrdb"
        r = subprocess.run([KLAYOUT, "-b", "-r", str(deck), "-rd", f"input={gds}", "-rd", f"report={rep}",
                            "-rd", f"netclasses={classes}", "-rd", "topcell=TOP"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0 and "ERROR" not in r.stdout + r.stderr, r.stdout + r.stderr
        theirs: dict = {}
        for item in ET.parse(rep).getroot().iter("item"):
            name = item.findtext("category").strip("'")
            theirs[name] = theirs.get(name, 0) + 1
        ours = run_drc(read_gds(gds, kit, "TOP"), kit, rules=list(extra), ctx=ctx(amps=amps)).counts()
        assert theirs == ours, (dev, graze, end_on, theirs, ours)
        seen.append(ours.get("MET1.EMX", 0))
    assert seen[0] == 1 and seen[1] >= 1 and seen[2] > 5 and seen[3] == 0


def _slotted_layout(kit, narrow: bool = False) -> gdstk.Library:
    """Net W (labelled) on gan650 MET2: a 400 x 120 um wire with two rows of
    5 x 5 um slots (the router's slotting of a wire wider than a metal may
    be drawn: 2000 slot edges); ``narrow``: a 30 um tail beside it, too
    narrow for the current (W carries 2 A: 100 um of MET2 at 20 mA/um)."""
    holes = [(x, y, x + 5, y + 5) for x in range(10, 390, 8) for y in (30, 85)] * 1
    holes += [(x, y, x + 5, y + 5) for x in range(14, 386, 8) for y in (50, 65)]
    wire = gdstk.boolean(gdstk.rectangle((0, 0), (400, 120)),
                         [gdstk.rectangle(h[:2], h[2:]) for h in holes], "not")
    lib = layout(kit, {"MET2": [p.points.tolist() for p in wire] + ([(400, 0, 700, 30)] if narrow else [])},
                 [("MET2", "W", 200, 10)])
    return lib


def test_current_density_measures_a_slotted_wire_across_its_outline():
    """The slots of a wide wire are deducted from its width (its outline is
    checked at the width that keeps the current's need of metal across every
    cross-section), and the check does not pair every slot edge with every
    other one (it once ran out of memory on a 10 A wire): the slotted wire
    passes with a note naming it, the narrow tail beside it is flagged once."""
    kit = pdks.load("gan650")
    em = Rule("MET2.EMX", "current_density", "MET2", 0.0, doc="EM")
    amps = {"W": 2.0}
    res = run_drc(shapes_from_library(_slotted_layout(kit), kit), kit, rules=[em], ctx=ctx(amps=amps))
    assert res.counts() == {}
    assert any("holes (slots)" in n and "W" in n for n in res.notes), res.notes
    tail = run_drc(shapes_from_library(_slotted_layout(kit, narrow=True), kit), kit, rules=[em], ctx=ctx(amps=amps))
    assert tail.counts() == {"MET2.EMX": 1}
    (v,) = tail.violations
    # measured: the current over the metal left after the worst slot crossing
    # a cross-section of the net may meet (conservative: at least 2000 / 30)
    assert v.net == "W" and v.measured_um >= 2000 / 30
    assert max(x for x, _ in v.marker) > 400_000 and {y for _, y in v.marker} <= {0, 30_000}  # the tail's two sides


def test_hole_edges_are_the_clockwise_rings():
    from flow.drc.edges import hole_edges, merge_edges

    kit = pdks.load("gan650")
    shapes = shapes_from_library(_slotted_layout(kit), kit)
    e, _ = merge_edges(list(shapes.polygons["MET2"]))
    h = hole_edges(e)
    assert h.sum() == 4 * (2 * len(range(10, 390, 8)) + 2 * len(range(14, 386, 8)))
    assert (~h).sum() == 4  # the wire's outline


@needs_klayout
def test_current_density_slotted_wire_in_the_deck(tmp_path):
    """The exported deck measures a slotted wire across its outline too:
    equal marker counts (0 without the tail, 1 with it)."""
    import dataclasses

    kit = pdks.load("gan650")
    extra = (Rule("MET2.EMX", "current_density", "MET2", 0.0, doc="EM"),)
    kit = dataclasses.replace(kit, rules=tuple(r for r in kit.rules if r.kind != "current_density") + extra)
    res = export_klayout(kit, tmp_path / "k")
    script = ET.parse(res.lydrc).getroot().findtext("text")
    head, _, body = script.partition("# ---- rules ----\n")
    keep = [blk for blk in re.split(r"(?m)^(?=# \S+ \()", body) if blk.startswith("# MET2.EMX (")]
    deck = tmp_path / "em.drc"
    deck.write_text(head + "".join(keep))
    classes = tmp_path / "nc.toml"
    classes.write_text('[[net_class]]\nnets = ["W"]\ncurrent = 2.0\n')
    for narrow, expect in ((False, 0), (True, 1)):
        gds = tmp_path / f"s{int(narrow)}.gds"
        _slotted_layout(kit, narrow=narrow).write_gds(str(gds))
        rep = tmp_path / f"s{int(narrow)}.lyrdb"
        r = subprocess.run([KLAYOUT, "-b", "-r", str(deck), "-rd", f"input={gds}", "-rd", f"report={rep}",
                            "-rd", f"netclasses={classes}", "-rd", "topcell=TOP"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0 and "ERROR" not in r.stdout + r.stderr, r.stdout + r.stderr
        theirs = sum(1 for item in ET.parse(rep).getroot().iter("item") if item.findtext("category").strip("'") == "MET2.EMX")
        ours = run_drc(read_gds(gds, kit, "TOP"), kit, rules=list(extra), ctx=ctx(amps={"W": 2.0})).counts().get("MET2.EMX", 0)
        assert theirs == ours == expect, (narrow, theirs, ours)
