"""Tiled DRC (flow.drc.tiles) gives the markers of the untiled run.

Layouts are random shapes over several tiles, plus long wires, rings, plates
and slanted shapes crossing tile borders, with every rule kind; the tiled
run must give the same markers (same count per rule, same merged marker
area, and on Manhattan layouts the very same markers).
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import klayout.db as kdb
import numpy as np
import pytest

from flow.drc import tiles as T
from flow.drc.core import rect
from flow.drc.engine import run_drc
from flow.geometry.gdsio import LayoutShapes
from pdk.schema import load_rules_file

KIT = """
[layers.A]
gds = [1, 0]
purpose = "routing"
[layers.B]
gds = [2, 0]
purpose = "routing"
[layers.C]
gds = [3, 0]
purpose = "cut"

[[rules]]
id = "A.W"
kind = "width"
layer = "A"
value = 1.0
[[rules]]
id = "A.S"
kind = "spacing"
layer = "A"
value = 1.0
[[rules]]
id = "A.N"
kind = "notch"
layer = "A"
value = 1.2
[[rules]]
id = "AB.S"
kind = "spacing"
layer = "A"
other = "B"
value = 0.8
[[rules]]
id = "B.EN.C"
kind = "enclosure"
layer = "B"
other = "C"
value = 0.3
[[rules]]
id = "A.EX.B"
kind = "extension"
layer = "A"
other = "B"
value = 0.7
[[rules]]
id = "A.OV.B"
kind = "overlap"
layer = "A"
other = "B"
value = 1.1
[[rules]]
id = "C.MO.B"
kind = "must_overlap"
layer = "C"
other = "B"
[[rules]]
id = "A.NO.C"
kind = "not_overlap"
layer = "A"
other = "C"
[[rules]]
id = "A.A"
kind = "area"
layer = "A"
value = 6.0
[[rules]]
id = "B.H"
kind = "hole"
layer = "B"
value = 100.0
[[rules]]
id = "B.MW"
kind = "max_width"
layer = "B"
value = 4.0
[[rules]]
id = "A.WS"
kind = "wide_spacing"
layer = "A"
table = [[3.0, 1.6], [6.0, 2.2]]
[[rules]]
id = "A.D"
kind = "density"
layer = "A"
value = 0.2
max = 0.6
window = 9.0
step = 4.5
[[rules]]
id = "A.G"
kind = "grid"
layer = "A"
value = 0.005
[[rules]]
id = "B.ANG"
kind = "angle"
layer = "B"
value = 90
"""

U = 1000  # dbu per um


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    p = Path(tmp_path_factory.mktemp("kit")) / "rules.toml"
    p.write_text(KIT)
    return load_rules_file(p)


def _shapes(polys: dict[str, list[np.ndarray]]) -> LayoutShapes:
    return LayoutShapes(MappingProxyType(polys), MappingProxyType({n: [] for n in polys}), "TOP", dbu_um=0.001)


def _layout(seed: int, span: int = 60 * U, n: int = 500, slanted: bool = False) -> LayoutShapes:
    rng = np.random.default_rng(seed)
    out: dict[str, list[np.ndarray]] = {"A": [], "B": [], "C": []}
    for _ in range(n):
        layer = ("A", "B", "C")[rng.integers(0, 3)]
        x, y = (rng.integers(0, span // 5, 2) * 5).tolist()
        w, h = (rng.integers(1, 800 if layer != "C" else 120, 2) * 5).tolist()
        out[layer].append(rect(x, y, x + w, y + h))
    # long narrow wires (width markers across many tiles), one 1 dbu off grid
    out["A"].append(rect(0, 20 * U, span, 20 * U + 700))
    out["A"].append(rect(0, 21 * U, span, 21 * U + 2000))  # 0.3 um from the one above
    out["A"].append(rect(31 * U + 3, 0, 31 * U + 900, span))
    # a long hairpin (U) whose arms form a notch far from its base
    out["A"] += [rect(5 * U, 40 * U, 55 * U, 41 * U), rect(5 * U, 42 * U, 55 * U, 43 * U), rect(54 * U, 40 * U, 55 * U, 43 * U)]
    # a big B ring with a small hole, a big plate (max_width), C over it and partly off
    ring = [rect(10 * U, 10 * U, 40 * U, 12 * U), rect(10 * U, 15 * U, 40 * U, 17 * U),
            rect(10 * U, 10 * U, 12 * U, 17 * U), rect(38 * U, 10 * U, 40 * U, 17 * U)]
    out["B"] += ring + [rect(44 * U, 5 * U, 58 * U, 30 * U)]
    out["C"] += [rect(45 * U, 6 * U, 45 * U + 200, 6 * U + 200), rect(57 * U + 900, 29 * U, 58 * U + 300, 29 * U + 300)]
    if slanted:
        tri = np.array([[2 * U, 50 * U], [52 * U, 53 * U], [2 * U, 54 * U]], np.int64)
        out["B"].append(tri)
        out["A"].append(np.array([[8 * U, 2 * U], [50 * U, 30 * U], [50 * U, 33 * U], [8 * U, 5 * U]], np.int64))
    return _shapes(out)


def _canon(v) -> tuple:
    if v.is_edge_pair:
        a, b = v.marker
        pair = (a, b) if v.other not in (None, v.layer) else tuple(sorted((a, b)))
        return (v.rule_id, "e", pair)
    pts = list(v.marker)
    k = pts.index(min(pts))
    return (v.rule_id, "p", tuple(pts[k:] + pts[:k]))


def _area(vs, rid: str) -> float:
    """Merged area of a rule's markers (edge pairs as polygons, like KLayout's
    EdgePairs.polygons), in dbu^2."""
    r = kdb.Region()
    for v in vs:
        if v.rule_id != rid:
            continue
        if v.is_edge_pair:
            (a, b) = v.marker
            ep = kdb.EdgePair(kdb.Edge(*a), kdb.Edge(*b))
            r.insert(ep.polygon(1))
        else:
            r.insert(kdb.Polygon([kdb.Point(x, y) for x, y in v.marker]))
    return r.merged().area()


#: Rules with a small reach (halo 3 * 1.2 + 1 = 4.6 um): tiles then see
#: little beyond their core, so clipping and stitching are exercised hard.
NEAR = ("A.WS", "B.MW")


def _compare(kit, shapes, tile_um, jobs=1, exact=True, near=False, rel=1e-6):
    rules = [r for r in kit.rules if not (near and r.id in NEAR)]
    ref = run_drc(shapes, kit, rules=rules, tile_um=0)
    got = run_drc(shapes, kit, rules=rules, tile_um=tile_um, jobs=jobs)
    assert any(n.startswith("tiled:") for n in got.notes)
    assert ref.rules_checked == got.rules_checked
    assert ref.counts() == got.counts()
    for rid in ref.counts():
        assert _area(ref.violations, rid) == pytest.approx(_area(got.violations, rid), rel=rel, abs=4), rid
    if exact:
        assert sorted(map(_canon, ref.violations)) == sorted(map(_canon, got.violations))
    return ref


@pytest.mark.parametrize("near", [True, False])
@pytest.mark.parametrize("seed, tile_um", [(1, 7.0), (2, 11.5), (3, 20.0)])
def test_tiled_equals_untiled(kit, seed, tile_um, near):
    ref = _compare(kit, _layout(seed), tile_um, near=near)
    # the layout exercises every kind but angle (no slanted edges): none vacuous
    kinds = {r.id for r in kit.rules} - {"B.ANG"} - (set(NEAR) if near else set())
    assert set(ref.counts()) == kinds


# Slanted edges cut at a tile's halo get a vertex rounded to the dbu grid, so
# where they cross other edges the merged outline can move by 1 dbu: counts
# stay equal, marker areas agree to a few dbu^2 per marker.
@pytest.mark.parametrize("near", [True, False])
def test_tiled_equals_untiled_slanted(kit, near):
    ref = _compare(kit, _layout(4, slanted=True), 9.0, exact=False, near=near, rel=3e-5)
    assert "B.ANG" in ref.counts()


def test_tiled_parallel(kit):
    _compare(kit, _layout(5), 13.0, jobs=2)


def test_long_marker_is_stitched(kit):
    """A 0.5 um wire across 10 tiles: one width marker, as untiled."""
    shapes = _shapes({"A": [rect(0, 0, 100 * U, 500)], "B": [], "C": []})
    got = run_drc(shapes, kit, rules=[r for r in kit.rules if r.id == "A.W"], tile_um=10.0)
    assert got.counts() == {"A.W": 1}
    (v,) = got.violations
    xs = sorted({c for e in v.marker for c in (e[0], e[2])})
    assert xs == [0, 100 * U]


def test_polygon_across_tiles_is_whole(kit):
    """Area is judged on whole merged polygons: a thin L across four tiles
    (area 5.4 um^2 < 6) is one marker; a big one is none."""
    small = [rect(9 * U, 9 * U + 900, 12 * U, 10 * U + 800), rect(9 * U, 9 * U, 9 * U + 900, 12 * U)]
    shapes = _shapes({"A": small, "B": [], "C": []})
    rules = [r for r in kit.rules if r.id == "A.A"]
    got = run_drc(shapes, kit, rules=rules, tile_um=10.0)
    assert got.counts() == {"A.A": 1}
    assert got.violations[0].measured_um == pytest.approx(run_drc(shapes, kit, rules=rules, tile_um=0).violations[0].measured_um)


def test_halo_and_auto(kit, monkeypatch):
    # the largest reach: wide_spacing 2.2 + sqrt(2) * 6 um
    assert T.halo(kit.rules, kit) == 3 * (2200 + 8486) + 1000
    small = _layout(6, n=50)
    assert T.auto_tile(small, kit, kit.rules) is None
    monkeypatch.setattr(T, "AUTO_TILE_POLYGONS", 10)
    side = T.auto_tile(small, kit, kit.rules)
    assert side is not None and side >= 20 * kit.um(T.halo(kit.rules, kit))
    res = run_drc(small, kit)
    # every kind is tiled (notch with the layer's global connectivity labels)
    assert any(n.startswith("tiled:") for n in res.notes)
    assert not any("on the whole layout" in n for n in res.notes)


def test_cli_tile(kit, tmp_path):
    """``pilotflow drc --tile``: the same counts as untiled, the tiling in a
    note; a negative size is a usage error (exit 2, one line)."""
    import json

    import gdstk
    from click.testing import CliRunner

    from flow.cli import cli

    shapes = _layout(7, n=200)
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    for name, polys in shapes.polygons.items():
        for p in polys:
            top.add(gdstk.Polygon(p / 1000.0, layer=kit.layers[name].gds[0], datatype=kit.layers[name].gds[1]))
    gds = tmp_path / "x.gds"
    lib.write_gds(str(gds))
    rules = tmp_path / "rules.toml"
    rules.write_text(KIT)
    outs = []
    for tile in ("0", "12.5"):
        j = tmp_path / f"d{tile}.json"
        r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(rules), "--tile", tile, "--jobs", "2", "--json", str(j)])
        assert r.exit_code == 1, r.output
        outs.append(json.loads(j.read_text()))
        assert ("note: tiled:" in r.output) == (tile != "0")
    assert outs[0]["counts"] == outs[1]["counts"] and outs[0]["counts"]
    r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(rules), "--tile", "-3"])
    assert r.exit_code == 2 and "Traceback" not in r.output and "--tile" in r.output


SKY130 = """
[layers.li1]
gds = [67, 20]
purpose = "routing"
[layers.mcon]
gds = [67, 44]
purpose = "cut"
[layers.met1]
gds = [68, 20]
purpose = "routing"
[[rules]]
id = "li.1"
kind = "width"
layer = "li1"
value = 0.17
[[rules]]
id = "li.3"
kind = "spacing"
layer = "li1"
value = 0.3
[[rules]]
id = "m1.1"
kind = "width"
layer = "met1"
value = 0.3
[[rules]]
id = "m1.2"
kind = "spacing"
layer = "met1"
value = 0.14
[[rules]]
id = "m1.4"
kind = "enclosure"
layer = "met1"
other = "mcon"
value = 0.06
[[rules]]
id = "li.m1.sep"
kind = "spacing"
layer = "li1"
other = "met1"
value = 0.2
[[rules]]
id = "li.ov.m1"
kind = "overlap"
layer = "li1"
other = "met1"
value = 0.3
[[rules]]
id = "m1.a"
kind = "area"
layer = "met1"
value = 0.2
[[rules]]
id = "li.h"
kind = "hole"
layer = "li1"
value = 1.0
[[rules]]
id = "m1.mw"
kind = "max_width"
layer = "met1"
value = 0.6
[[rules]]
id = "mcon.mo"
kind = "must_overlap"
layer = "mcon"
other = "li1"
[[rules]]
id = "li.no.m1"
kind = "not_overlap"
layer = "li1"
other = "met1"
[[rules]]
id = "li.d"
kind = "density"
layer = "li1"
value = 0.3
max = 0.5
window = 2.0
step = 1.0
"""


def _sky130_array(cells_dir: Path, copies: int):
    """The sky130 cells side by side, the row arrayed ``copies`` times (hierarchical)."""
    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    row = gdstk.Cell("ROW")
    x = 0.0
    for f in sorted(cells_dir.glob("*.gds")):
        src = gdstk.read_gds(str(f))
        for c in src.top_level():
            if c.name in {k.name for k in lib.cells}:
                continue
            for dep in [c, *c.dependencies(True)]:
                if dep.name not in {k.name for k in lib.cells}:
                    lib.add(dep)
            (x0, _), (x1, _) = c.bounding_box()
            row.add(gdstk.Reference(c, (x - x0, 0)))
            x += x1 - x0 + 0.5
    lib.add(row)
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(row, (0, 0), columns=1, rows=copies, spacing=(0, 3.5)))
    return lib


def test_bench_layouts_tiled_equal_untiled(tmp_path):
    """On real layouts (sky130 cells arrayed, hierarchical; test_violators):
    tiles a few cells wide give the untiled markers, every kind."""
    from benchdata import bench_path

    from flow.geometry.gdsio import read_gds, shapes_from_library

    cells = bench_path("drc", "sky130", "cells")
    p = tmp_path / "sky.toml"
    p.write_text(SKY130)
    sky = load_rules_file(p)
    layouts = [shapes_from_library(_sky130_array(cells, 3), sky, "TOP"),
               read_gds(bench_path("drc", "sky130", "test_violators.gds"), sky)]
    fired: set[str] = set()
    for shapes in layouts:
        ref = run_drc(shapes, sky, tile_um=0)
        got = run_drc(shapes, sky, tile_um=4.0, jobs=2)
        assert any(n.startswith("tiled:") for n in got.notes)
        assert ref.counts() == got.counts()
        assert sorted(map(_canon, ref.violations)) == sorted(map(_canon, got.violations))
        fired |= set(ref.counts())
    # every rule but the hole rule finds markers on one of the two layouts
    assert fired == {r.id for r in sky.rules} - {"li.h"}


# -- notch: tiled with the layer's global connectivity labels ---------------------


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two labelings put the same elements together."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def _notch_layout(kissing: bool = True) -> LayoutShapes:
    A = [
        # a hairpin: arms 0.8 um apart over 80 um, joined only at x = 80 um
        rect(0, 0, 80 * U, 1 * U), rect(0, 1800, 80 * U, 2800), rect(79 * U, 0, 80 * U, 2800),
        # two bars 0.8 um apart, never joined: spacing, not a notch
        rect(0, 10 * U, 80 * U, 11 * U), rect(0, 11800, 80 * U, 12800),
        # two bars joined far away by a T: a thin triangle's tip on the upper bar's lower edge
        rect(0, 30 * U, 60 * U, 31 * U), rect(0, 31800, 60 * U, 32800),
        np.array([[55 * U, 31 * U], [57 * U, 31 * U], [56 * U, 31800]], np.int64),
    ]
    if kissing:
        # two bars joined far away by point contacts (corner to corner)
        A += [rect(0, 20 * U, 70 * U, 21 * U), rect(0, 21800, 70 * U, 22800), rect(70 * U, 21 * U, 71 * U, 21800)]
    return _shapes({"A": A, "B": [], "C": []})


def test_notch_across_tiles(kit):
    """Arms of one polygon 0.8 um apart whose join lies 16 tiles away are a
    notch in every tile (one stitched marker, as untiled); bars never joined
    are not; bars joined by a T or by corner points are one polygon."""
    rules = [r for r in kit.rules if r.id == "A.N"]
    for kissing in (True, False):
        shapes = _notch_layout(kissing)
        ref = run_drc(shapes, kit, rules=rules, tile_um=0)
        for tile, jobs in ((5.0, 1), (3.3, 2)):
            got = run_drc(shapes, kit, rules=rules, tile_um=tile, jobs=jobs)
            assert any(n.startswith("tiled:") for n in got.notes)
            assert sorted(map(_canon, ref.violations)) == sorted(map(_canon, got.violations))
        # the long markers between the arms: the hairpin, the T-joined and the
        # corner-joined pair, not the separate bars
        ys = sorted(min(v.marker[0][1], v.marker[1][1]) for v in ref.violations if abs(v.marker[0][0] - v.marker[0][2]) > 40 * U)
        assert [y // U for y in ys] == ([1, 21, 31] if kissing else [1, 31])
    # KLayout: notch_check on the merged layer (one polygon with the T), less
    # the zero-distance markers it adds where shapes touch at a point (kissing
    # corners, the T's tip: a known difference, see flow.drc.edges)
    reg = kdb.Region()
    for p in shapes.polygons["A"]:
        reg.insert(kdb.Polygon([kdb.Point(int(x), int(y)) for x, y in p.tolist()]))
    assert reg.merged().count() == 4
    theirs = kdb.EdgePairs()
    for ep in reg.merged().notch_check(1200).each():
        if ep.first.length() > 0 and ep.second.length() > 0:
            theirs.insert(ep)
    assert ref.counts() == {"A.N": theirs.count()}
    their_area = kdb.Region([ep.polygon(1) for ep in theirs.each()]).merged().area()
    assert _area(ref.violations, "A.N") == their_area


def test_notch_tiled_from_store(kit, tmp_path):
    """The same from a GDS streamed to the on-disk store (labels from the store's layer file)."""
    import gdstk

    from flow.geometry.store import build_store

    shapes = _notch_layout()
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    for p in shapes.polygons["A"]:
        top.add(gdstk.Polygon(p / 1000.0, layer=1))
    gds = tmp_path / "n.gds"
    lib.write_gds(str(gds))
    rules = [r for r in kit.rules if r.id == "A.N"]
    ref = run_drc(shapes, kit, rules=rules, tile_um=0)
    got = run_drc(build_store(gds, kit, None), kit, rules=rules, tile_um=4.0, jobs=2)
    assert sorted(map(_canon, ref.violations)) == sorted(map(_canon, got.violations)) and len(ref.violations) >= 3


@pytest.mark.parametrize("buffer", [3, 1 << 20])
def test_streamed_labels_equal_whole_layer(kit, monkeypatch, buffer):
    """Labels from the tile-by-tile pass (pairs folded in batches of
    ``buffer``) group the polygons as the whole-layer pass does."""
    from flow.drc import labels as L

    monkeypatch.setattr(L, "BUFFER_PAIRS", buffer)
    shapes = _layout(8, n=600, slanted=True)
    whole = {n: L.touch_labels(list(shapes.polygons[n])) for n in ("A", "B")}
    grid = T.make_grid((0, 0, 60 * U, 60 * U), 7 * U, 0)
    got = L.streamed_labels(shapes, grid, ["A", "B"])
    for n in ("A", "B"):
        assert _same_partition(whole[n], got[n]), n
        assert len(set(got[n].tolist())) < len(got[n])  # some polygons do touch


def test_union_find_batches():
    from flow.drc.labels import BUFFER_PAIRS, UnionFind

    uf = UnionFind(10)
    for i, j in [(0, 1), (2, 3), (1, 3), (7, 8)]:
        uf.add(np.array([i]), np.array([j]))
    uf._fold()
    uf.add(np.array([8]), np.array([9]))
    lab = uf.result()
    groups = {}
    for k, v in enumerate(lab.tolist()):
        groups.setdefault(v, []).append(k)
    assert sorted(groups.values()) == [[0, 1, 2, 3], [4], [5], [6], [7, 8, 9]]
    assert BUFFER_PAIRS > 0
