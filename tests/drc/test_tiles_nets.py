"""Net-aware DRC in tiles: ``net_spacing`` and ``voltage_spacing`` checked per
tile with the nets of the whole layout (flow.drc.labels.streamed_nets) give
the markers (with their net names) and the notes of the untiled run.

Layouts: random wires on two metals joined by vias, nets named by labels at
far ends (so a tile rarely holds a net's label), repeated and conflicting
names, a net tie, voltages for some nets only; and the sample designs' GDS.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import gdstk
import numpy as np
import pytest

from flow.drc.core import CheckContext, rect
from flow.drc.engine import run_drc
from flow.drc.labels import streamed_nets
from flow.drc.nets import boxes_of, extract_nets
from flow.drc import tiles as T
from flow.geometry.gdsio import read_gds, shapes_from_library
from flow.geometry.store import build_store
from pdk.schema import Rule, load_rules_file

KIT = """
[pdk]
name = "tilenets"
dbu_um = 0.001
[pdk.connectivity]
connect = [["MET1", "VIA1", "MET2"]]
[layers.MET1]
gds = [10, 0]
label = [10, 10]
purpose = "routing"
[layers.VIA1]
gds = [11, 0]
purpose = "cut"
[layers.MET2]
gds = [12, 0]
label = [12, 10]
purpose = "routing"
[layers.TIE]
gds = [20, 0]
purpose = "marker"
net_tie = "MET1"
[[rules]]
id = "M1.NS"
kind = "net_spacing"
layer = "MET1"
value = 1.0
[[rules]]
id = "M1M2.NS"
kind = "net_spacing"
layer = "MET1"
other = "MET2"
value = 0.6
[[rules]]
id = "M1.VS"
kind = "voltage_spacing"
layer = "MET1"
table = [[0, 0.8], [100, 1.5], [300, 2.5]]
[[rules]]
id = "M2.VS"
kind = "voltage_spacing"
layer = "MET2"
table = [[0, 0.8], [200, 2.0]]
[[rules]]
id = "M1.S"
kind = "spacing"
layer = "MET1"
value = 0.5
"""

U = 1000


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    p = tmp_path_factory.mktemp("kit") / "k.toml"
    p.write_text(KIT)
    return load_rules_file(p)


def _library(seed: int, span: int = 60) -> gdstk.Library:
    """Random MET1 (horizontal) and MET2 (vertical) wires, vias where they
    cross (some), labels at one end of some wires; a net tie cutting one
    wire in two.

    Wires are shorter than the halo: a pair of edges longer than the halo
    with an edge partly between them is a known limit of tiling (see
    flow.drc.tiles), for every edge-pair kind."""
    rng = np.random.default_rng(seed)
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    names = ["A", "B", "C", "D", "E", "650V", "5V", "0V"]
    h, v = [], []
    for _ in range(150):
        y = float(rng.integers(0, span * 4)) / 4
        x0 = float(rng.integers(0, span))
        x1 = x0 + float(rng.integers(3, 12))
        w = float(rng.integers(2, 8)) / 10
        h.append((x0, y, x1, y + w))
        top.add(gdstk.rectangle((x0, y), (x1, y + w), layer=10))
        if rng.random() < 0.4:
            top.add(gdstk.Label(str(rng.choice(names)), (x0 + 0.05, y + w / 2), layer=10, texttype=10))
    for _ in range(90):
        x = float(rng.integers(0, span * 4)) / 4
        y0 = float(rng.integers(0, span))
        y1 = y0 + float(rng.integers(3, 12))
        w = float(rng.integers(3, 9)) / 10
        v.append((x, y0, x + w, y1))
        top.add(gdstk.rectangle((x, y0), (x + w, y1), layer=12))
        if rng.random() < 0.3:
            top.add(gdstk.Label(str(rng.choice(names)), (x + w / 2, y1 - 0.05), layer=12, texttype=10))
    for (hx0, hy0, hx1, hy1) in h:
        for (vx0, vy0, vx1, vy1) in v:
            ox0, oy0, ox1, oy1 = max(hx0, vx0), max(hy0, vy0), min(hx1, vx1), min(hy1, vy1)
            if ox1 - ox0 > 0.2 and oy1 - oy0 > 0.2 and rng.random() < 0.3:
                top.add(gdstk.rectangle((ox0 + 0.05, oy0 + 0.05), (ox1 - 0.05, oy1 - 0.05), layer=11))
    # a net tie: a long MET1 wire, cut under the marker into two nets
    top.add(gdstk.rectangle((0, span + 2), (span, span + 3), layer=10))
    top.add(gdstk.rectangle((span / 2, span + 1.5), (span / 2 + 1, span + 3.5), layer=20))
    top.add(gdstk.Label("TL", (0.5, span + 2.5), layer=10, texttype=10))
    top.add(gdstk.Label("TR", (span - 0.5, span + 2.5), layer=10, texttype=10))
    top.add(gdstk.rectangle((0, span + 3.6), (span, span + 4.6), layer=10))  # 0.6 um above: near both
    top.add(gdstk.Label("nowhere", (-5.0, -5.0), layer=10, texttype=10))  # a label on no shape
    return lib


def _ctx() -> CheckContext:
    return CheckContext(MappingProxyType({"A": 0.0, "B": 650.0, "C": 5.0, "TL": 0.0, "TR": 400.0}), MappingProxyType({}), None)


def _key(v):
    return (v.rule_id, v.marker, v.net, v.value_um, v.measured_um)


def _assert_same(ref, got):
    assert ref.counts() == got.counts()
    assert sorted(map(_key, ref.violations)) == sorted(map(_key, got.violations))
    assert sorted(ref.notes) == sorted(n for n in got.notes if not n.startswith("tiled:"))
    assert ref.rules_checked == got.rules_checked and ref.not_checked == got.not_checked


@pytest.mark.parametrize("seed, tile", [(1, 6.0), (2, 9.5), (3, 15.0)])
def test_net_kinds_tiled_equal_untiled(kit, seed, tile, tmp_path):
    lib = _library(seed)
    gds = tmp_path / "n.gds"
    lib.write_gds(str(gds))
    shapes = read_gds(gds, kit)
    ref = run_drc(shapes, kit, ctx=_ctx(), tile_um=0)
    # every net kind fires, and the run has label and voltage notes to match
    assert {"M1.NS", "M1M2.NS", "M1.VS", "M2.VS"} <= set(ref.counts())
    assert any("touches no MET1 shape" in n for n in ref.notes)
    assert any("M1.VS: not checked between" in n for n in ref.notes)
    # the net tie splits the wire in two nets (else one net with two names)
    tied = {x for v in ref.violations if v.rule_id == "M1.NS" for x in (v.net or "").split(" / ")}
    assert "TL" in tied and not any("TL, TR" in n for n in ref.notes)
    for src, jobs in ((shapes, 1), (build_store(gds, kit, None), 2)):
        got = run_drc(src, kit, ctx=_ctx(), tile_um=tile, jobs=jobs)
        (note,) = [n for n in got.notes if n.startswith("tiled:")]
        assert "whole layout" not in note  # no rule left untiled
        _assert_same(ref, got)


def test_streamed_nets_equal_extracted(kit, tmp_path):
    """The nets of the streamed pass: the same net (by name) for every
    polygon, the same notes and tie metal, as extract_nets."""
    lib = _library(4)
    shapes = shapes_from_library(lib, kit)
    ref = extract_nets(shapes, kit, (), net_ties=True)
    grid = T.make_grid((0, 0, 80 * U, 80 * U), 7 * U, 0)
    gn = streamed_nets(shapes, kit, (), grid)
    assert gn.count == len(ref.names)
    assert sorted(gn.notes) == sorted(ref.notes)
    for n in ref.layers:
        ours = [(tuple(b), gn.name(int(k))) for b, k in zip(boxes_of(list(shapes.polygons[n])).tolist(), gn.net[n].tolist()) if k >= 0]
        if n in gn.cut:
            ours += [(tuple(b), gn.name(int(k))) for b, k in zip(gn.cut[n][1].tolist(), gn.cut[n][2].tolist())]
        theirs = [(tuple(b), ref.name(int(k))) for b, k in zip(boxes_of(list(ref.polygons[n])).tolist(), ref.comp[n].tolist())]
        assert sorted(ours) == sorted(theirs), n
    assert gn.cut["MET1"][0] and sorted(gn.name(int(k)) for k in gn.cut["MET1"][2]) == ["TL", "TR"]
    assert [ref.name(int(k)) for k in ref.ties["MET1"][1]] == [gn.name(int(k)) for k in gn.ties["MET1"][1]]


DESIGNS = Path(__file__).resolve().parents[2] / "designs"


@pytest.mark.parametrize("design", ["gan_kelvin"])
def test_sample_design_tiled_equal_untiled(design, tmp_path):
    """A sample design's GDS from ``pilotflow run``, with its net classes and
    with harsher voltages (so markers and unknown pairs appear)."""
    from click.testing import CliRunner

    import pdk as pdks
    from flow.cli import cli
    from flow.config import load_design
    from flow.stages.drc import design_context

    r = CliRunner().invoke(cli, ["run", str(DESIGNS / design), "-o", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    gds = next((tmp_path / "run").rglob("*.gds"))
    cfg = load_design(DESIGNS / design)
    kit = pdks.load(cfg.pdk)
    base = design_context(cfg.net_classes, cfg.temperature_c)
    names = sorted(base.voltages)
    harsh = CheckContext(MappingProxyType({n: (1000.0 if i % 3 == 0 else 0.0) for i, n in enumerate(names) if i % 4}),
                         base.currents, base.temperature_c)
    rules = [x for x in kit.rules if x.kind in ("net_spacing", "voltage_spacing")]
    rules += [Rule("X.NS1", "net_spacing", "MET1", 6.0), Rule("X.NS12", "net_spacing", "MET1", 4.0, other="MET2")]
    shapes = read_gds(gds, kit)
    fired = set()
    for c in (base, harsh):
        ref = run_drc(shapes, kit, rules=rules, ctx=c, tile_um=0)
        got = run_drc(build_store(gds, kit, None), kit, rules=rules, ctx=c, tile_um=20.0, jobs=2)
        _assert_same(ref, got)
        fired |= set(ref.counts())
    assert {"X.NS1", "X.NS12", "MET1.VS.1"} <= fired


def test_vectorised_polygon_tests_equal_per_pair():
    """points_in_polygons, touch_pairs and overlap_pairs (all pairs at once)
    give what point_in_polygon, _touch and _overlap_area give pair by pair,
    on random (also non-convex, self-touching) polygons and rectangles."""
    from flow.drc.nets import (_overlap_area, _touch, point_in_polygon, points_in_polygons, overlap_pairs, rect_mask,
                               touch_pairs)

    rng = np.random.default_rng(0)
    polys = []
    for _ in range(200):
        k = int(rng.integers(3, 9))
        polys.append((rng.integers(0, 100, 2) + rng.integers(-20, 20, (k, 2))).astype(np.int64))
    for _ in range(60):
        x, y = rng.integers(0, 100, 2).tolist()
        w, h = rng.integers(1, 15, 2).tolist()
        polys.append(rect(x, y, x + w, y + h))
    pts = rng.integers(-10, 110, (500, 2)).astype(np.float64)
    pts[:200] = np.vstack(polys)[:200]  # vertices: on boundaries
    i, j = rng.integers(0, len(pts), 5000), rng.integers(0, len(polys), 5000)
    inside, _ = points_in_polygons(pts, polys, i, j)
    assert inside.tolist() == [bool(point_in_polygon(pts[a : a + 1], polys[b])[0]) for a, b in zip(i.tolist(), j.tolist())]
    assert 0 < inside.sum() < len(inside)
    i, j = rng.integers(0, len(polys), 3000), rng.integers(0, len(polys), 3000)
    bx = boxes_of(polys)
    t = touch_pairs(polys, polys, i, j, bx, bx)
    assert t.tolist() == [_touch(polys[a], polys[b]) for a, b in zip(i.tolist(), j.tolist())]
    o = overlap_pairs(polys, polys, i, j, rect_mask(polys))
    assert o.tolist() == [_overlap_area(polys[a], polys[b]) > 0 for a, b in zip(i.tolist(), j.tolist())]
    assert 0 < o.sum() < t.sum() < len(t)


def test_current_density_runs_on_the_whole_layout(kit, tmp_path):
    """current_density is not tiled (device metal, via groups): the tiling
    note names it, and its markers are the untiled ones."""
    p = tmp_path / "em.toml"
    p.write_text(KIT.replace('[layers.VIA1]', 'jmax_ma_per_um = 1.0\n[layers.VIA1]', 1)
                 + '[[rules]]\nid = "M1.EM"\nkind = "current_density"\nlayer = "MET1"\n')
    k2 = load_rules_file(p)
    gds = tmp_path / "n.gds"
    _library(5).write_gds(str(gds))
    c = CheckContext(MappingProxyType({"A": 0.0, "B": 650.0}), MappingProxyType({"A": 0.001, "B": 0.0005}), None)
    ref = run_drc(read_gds(gds, k2), k2, ctx=c, tile_um=0)
    got = run_drc(build_store(gds, k2, None), k2, ctx=c, tile_um=8.0)
    assert ref.counts().get("M1.EM", 0) > 0
    (note,) = [n for n in got.notes if n.startswith("tiled:")]
    assert note.endswith("on the whole layout: M1.EM")
    _assert_same(ref, got)
