"""DRC engine: hand-made violations, exact-value cases, KLayout cross-checks."""

from __future__ import annotations

import json
from pathlib import Path

import klayout.db as kdb
import numpy as np
import pytest

import pdk
from flow.drc import edges as E
from flow.drc.engine import DrcResult, run_drc
from flow.geometry.gdsio import LayoutShapes, read_gds, shapes_from_library
from pdk.schema import Rule, load_rules_file



def drc(lib, kit, rules=None) -> DrcResult:
    return run_drc(shapes_from_library(lib, kit), kit, rules)


# --------------------------------------------------------------- hand-made --


def test_narrow_wire_flagged_once(kit, layout):
    r = drc(layout({"M1": [(0, 0, 20, 0.8)]}), kit)
    assert r.counts() == {"M1.W": 1}
    v = r.violations[0]
    assert v.kind == "width" and v.measured_um == pytest.approx(0.8)
    # one marker for the two facing long edges (not one per direction)
    assert sorted(tuple(sorted((e[:2], e[2:]))) for e in v.marker) == [((0, 0), (20000, 0)), ((0, 800), (20000, 800))]
    assert not r.clean


def test_exact_width_and_space_not_flagged(kit, layout):
    lib = layout({"M1": [(0, 0, 20, 1.0), (0, 2.0, 20, 3.0)]})
    assert drc(lib, kit).clean


def test_too_close_pair(kit, layout):
    r = drc(layout({"M1": [(0, 0, 5, 5), (5.9, 0, 10, 5)]}), kit)
    assert r.counts() == {"M1.S": 1}
    assert r.violations[0].measured_um == pytest.approx(0.9)


def test_touching_and_overlapping_shapes_merge(kit, layout):
    lib = layout({"M1": [(0, 0, 5, 5), (5, 0, 10, 5), (8, 2, 12, 4), (11, 0, 15, 5)]})
    assert drc(lib, kit).clean


def test_notch_in_u_shape(kit, layout):
    u = [(0, 0), (5, 0), (5, 5), (3.4, 5), (3.4, 2), (2.6, 2), (2.6, 5), (0, 5)]
    r = drc(layout({"M1": [u]}), kit)
    assert r.counts() == {"M1.S": 1}
    assert r.violations[0].measured_um == pytest.approx(0.8)
    wide = [(0, 0), (5, 0), (5, 5), (3.5, 5), (3.5, 2), (2.5, 2), (2.5, 5), (0, 5)]
    assert drc(layout({"M1": [wide]}), kit).clean


def test_diagonal_corner_spacing_is_euclidean(kit, layout):
    # corners 0.6 x 0.6 apart: 0.85 um < 1 um, though each axis gap is < 1
    r = drc(layout({"M1": [(0, 0, 5, 5), (5.6, 5.6, 10, 10)]}), kit)
    assert r.counts() == {"M1.S": 1} or r.counts() == {"M1.S": 2}
    assert min(v.measured_um for v in r.violations) == pytest.approx(0.6 * 2**0.5, abs=1e-3)
    # 0.6 x 0.8 corner offset: exactly 1.0 apart -> clean
    assert drc(layout({"M1": [(0, 0, 5, 5), (5.6, 5.8, 10, 10)]}), kit).clean
    # 0.8 x 0.8 -> 1.13 apart -> clean (Manhattan projection would flag it)
    assert drc(layout({"M1": [(0, 0, 5, 5), (5.8, 5.8, 10, 10)]}), kit).clean


def test_general_angle_polygons(kit, layout):
    # a 45-degree strip 0.707 um wide is too narrow; a 1.414 um one is fine
    thin = [(0, 0), (1, 0), (11, 10), (10, 10)]
    thick = [(0, 0), (2, 0), (12, 10), (10, 10)]
    # the strip itself plus its two acute 45-degree ends (as KLayout: 3)
    assert drc(layout({"M1": [thin]}), kit).counts() == {"M1.W": 3}
    # the thick strip's acute ends are flagged (the corner is sharp), its body is not
    thick_result = drc(layout({"M1": [thick]}), kit)
    assert all(v.measured_um < 1.0 for v in thick_result.violations)
    assert not any(v.measured_um == pytest.approx(2**0.5) for v in thick_result.violations)


def test_enclosure_too_small_and_exact(kit, layout):
    r = drc(layout({"M2": [(0, 0, 2, 2)], "V1": [(0.1, 0.5, 1.5, 1.5)]}), kit)
    assert r.counts() == {"M2.EN.V1": 1}
    assert r.violations[0].measured_um == pytest.approx(0.1)
    ok = layout({"M2": [(0, 0, 2, 2)], "V1": [(0.2, 0.2, 1.8, 1.8)]})
    assert drc(ok, kit).clean


def test_enclosure_coincident_edge_is_violation(kit, layout):
    r = drc(layout({"M2": [(0, 0, 2, 2)], "V1": [(0, 0.5, 1, 1.5)]}), kit)
    assert r.counts() == {"M2.EN.V1": 1}
    assert r.violations[0].measured_um == 0.0


def test_via_outside_metal_gives_polygon_marker(kit, layout):
    r = drc(layout({"M2": [(0, 0, 2, 2)], "V1": [(5, 5, 6, 6), (1.5, 0.5, 2.5, 1.5)]}), kit)
    polys = [v for v in r.violations if not v.is_edge_pair]
    assert len(polys) == 2
    assert {len(v.marker) for v in polys} == {4}
    assert all(v.measured_um is None for v in polys)


def test_two_layer_spacing(kit, layout):
    r = drc(layout({"M1": [(0, 0, 5, 5)], "M2": [(5.3, 0, 10, 5)]}), kit)
    assert r.counts() == {"M1.S.M2": 1}
    assert drc(layout({"M1": [(0, 0, 5, 5)], "M2": [(5.5, 0, 10, 5)]}), kit).clean
    # overlapping shapes of two layers are not a spacing violation
    assert drc(layout({"M1": [(0, 0, 5, 5)], "M2": [(4, 0, 10, 5)]}), kit).clean


def test_shielded_pair_not_reported(kit, layout):
    # three 1.0-wide bars 0.9 apart: only neighbours are flagged, not 1 to 3
    lib = layout({"M1": [(0, 0, 1, 10), (1.9, 0, 2.9, 10), (3.8, 0, 4.8, 10)]})
    r = drc(lib, kit, [Rule("S3", "spacing", "M1", 3.0)])
    assert r.counts() == {"S3": 2}


def test_hole_ring_width(kit, layout):
    ring = layout({"M1": [(0, 0, 10, 0.5), (0, 9.5, 10, 10), (0, 0, 0.5, 10), (9.5, 0, 10, 10)]})
    r = drc(ring, kit)
    assert r.counts() == {"M1.W": 4}


def test_empty_layers_and_unsupported(kit, layout):
    r = drc(layout({"M1": [(0, 0, 5, 5)]}), kit, list(kit.rules) + [Rule("X", "no_such_kind", "M1", 1.0)])
    assert r.clean
    assert set(r.rules_checked) == {"M1.W", "M1.S", "M1.S.M2", "M2.EN.V1"}
    assert r.not_checked == ("X: rule kind 'no_such_kind' is not supported",)
    assert "M2.EN.V1: checked on empty layer M2" in r.notes
    assert "M1.S.M2: checked on empty layer M2" in r.notes


def test_no_shapes_at_all(kit, layout):
    assert drc(layout({}), kit).clean


def test_to_json_is_stable_and_in_microns(kit, layout):
    lib = layout({"M1": [(0, 0, 20, 0.8), (0, 1.5, 20, 2.5)], "M2": [(30, 0, 32, 2)]})
    r = drc(lib, kit)
    j = r.to_json(kit)
    assert j == drc(lib, kit).to_json(kit)
    json.dumps(j)
    assert j["violations"] == len(r.violations) == sum(x["count"] for x in j["rules"])
    w = next(x for x in j["rules"] if x["id"] == "M1.W")
    assert w["doc"] == "M1 width" and w["count"] == 1
    coords = [c for e in w["markers"][0]["edge_pair"] for c in e]
    assert max(coords) == pytest.approx(20.0)
    assert j["counts"] == r.counts()


def test_gan650_layout(tmp_path):
    kit = pdk.load("gan650")
    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    top.add(gdstk.rectangle((0, 0), (50, 1.5), layer=10))  # MET1 1.5 < 2
    top.add(gdstk.rectangle((0, 3), (50, 6), layer=10))  # 1.5 apart < 2
    top.add(gdstk.rectangle((100, 0), (110, 10), layer=12))  # MET2
    top.add(gdstk.rectangle((100.2, 4), (102.2, 6), layer=11))  # VIA1: MET2 encl 0.2 < 0.5, no MET1
    top.add(gdstk.rectangle((0, 0), (1, 1), layer=99))  # unknown layer
    r = run_drc(shapes_from_library(lib, kit), kit)
    c = r.counts()
    assert c["MET1.W.1"] == 1 and c["MET1.S.1"] == 1
    assert c["MET2.EN.VIA1"] == 1
    assert c["MET1.EN.VIA1"] == 1  # polygon: VIA1 not on MET1
    assert r.layers_ignored == ((99, 0),)


# ---------------------------------------------------------- KLayout oracle --


def _region(polys: list[np.ndarray]) -> kdb.Region:
    reg = kdb.Region()
    for p in polys:
        reg.insert(kdb.Polygon([kdb.Point(int(x), int(y)) for x, y in p]))
    reg.merge()
    return reg


def _box(x0, y0, x1, y1) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.int64)


def _random_layer(rng: np.random.Generator, n: int, size: int = 100, grid: int = 10) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        x, y = rng.integers(0, size, 2) * grid
        w, h = rng.integers(1, 30, 2) * grid
        out.append(_box(x, y, x + w, y + h))
        if rng.random() < 0.3:  # L shape: a second leg
            lw = rng.integers(1, 30) * grid
            out.append(_box(x, y, x + lw, y + rng.integers(1, 8) * grid))
    return out


def _kissing(polys: list[np.ndarray]) -> bool:
    """Merged outline touches itself at a vertex (corner-to-corner contact)."""
    e, _ = E.merge_edges(polys)
    _, counts = np.unique(e[:, :2], axis=0, return_counts=True)
    return bool((counts > 1).any())


def _cases(seed: int, count: int):
    rng = np.random.default_rng(seed)
    made = 0
    while made < count:
        a = _random_layer(rng, int(rng.integers(2, 10)))
        b = _random_layer(rng, int(rng.integers(2, 8)), grid=5)
        if _kissing(a) or _kissing(b):
            continue  # KLayout flags corner contacts; see flow.drc.edges notes
        made += 1
        yield a, b, int(rng.integers(1, 12)) * 10 + int(rng.integers(0, 2)) * 5


KL_SEEDS = list(range(6))


@pytest.mark.parametrize("seed", KL_SEEDS)
def test_random_layouts_match_klayout(seed):
    """Same-layer width/space: exact count equality with KLayout.

    Two-layer separation/enclosing: equal on the large majority of cases.
    Known differences (documented in flow.drc.edges): point contacts between
    the two layers (KLayout reports zero-distance collinear pairs of either
    direction), inner shapes partly outside ``outer`` (KLayout skips them;
    we may report the inside part's edge pairs), and 1-dbu corner pairs.
    """
    per_kind = {k: [0, 0] for k in ("width", "space", "separation", "enclosing", "overlap")}
    total = 0
    for a, b, d in _cases(seed, 25):
        ra, rb = _region(a), _region(b)
        ea, pa = E.merge_edges(a)
        eb, _ = E.merge_edges(b)
        ours = {
            "width": len(E.facing_pairs(ea, None, d, same_id=pa)[2]),
            "space": len(E.facing_pairs(E.reverse(ea), None, d)[2]),
            "separation": len(E.facing_pairs(E.reverse(ea), E.reverse(eb), d, pid_a=pa)[2]),
            "enclosing": len(E.facing_pairs(ea, E.reverse(eb), d, pid_a=pa)[2]),
            "overlap": len(E.facing_pairs(ea, eb, d, pid_a=pa)[2]),
        }
        theirs = {
            "width": ra.width_check(d).count(),
            "space": ra.space_check(d).count(),
            "separation": ra.separation_check(rb, d).count(),
            "enclosing": ra.enclosing_check(rb, d).count(),
            "overlap": ra.overlap_check(rb, d).count(),
        }
        for k in ours:
            total += theirs[k]
            per_kind[k][0] += 1
            per_kind[k][1] += ours[k] == theirs[k]
        assert ours["width"] == theirs["width"], (seed, d)
        assert ours["space"] == theirs["space"], (seed, d)
    assert total > 50  # the cases do exercise the checks
    # two layers: the remaining known difference (corner pairs whose near
    # parts KLayout reduces to single points) shows up about once in 600 cases
    for k in ("separation", "enclosing", "overlap"):
        n, equal = per_kind[k]
        assert equal >= n - 1, (k, equal, n)


def _two_layer_counts(a: list[np.ndarray], b: list[np.ndarray], d: int) -> tuple[dict[str, int], dict[str, int]]:
    ra, rb = _region(a), _region(b)
    ea, pa = E.merge_edges(a)
    eb, _ = E.merge_edges(b)
    ours = {
        "separation": len(E.facing_pairs(E.reverse(ea), E.reverse(eb), d, pid_a=pa)[2]),
        "enclosing": len(E.facing_pairs(ea, E.reverse(eb), d, pid_a=pa)[2]),
        "overlap": len(E.facing_pairs(ea, eb, d, pid_a=pa)[2]),
    }
    theirs = {
        "separation": ra.separation_check(rb, d).count(),
        "enclosing": ra.enclosing_check(rb, d).count(),
        "overlap": ra.overlap_check(rb, d).count(),
    }
    return ours, theirs


def test_two_layer_pairs_not_shielded_by_other_polygons_of_first_layer():
    """Regression (randomized comparison, seeds 100-160): in two-layer checks
    KLayout looks at each first-layer polygon with the second layer's
    polygons near it, so an edge of *another* first-layer polygon lying
    between the pair does not shield it (it did in our kernel)."""
    # a1's right edge faces b's left edge 50 apart; a2 (first layer) lies in between
    a = [_box(0, 0, 100, 100), _box(120, -50, 130, 150)]
    b = [_box(150, 0, 250, 100)]
    ours, theirs = _two_layer_counts(a, b, 60)
    assert ours == theirs
    assert theirs["separation"] == 2  # a1-b and a2-b
    # second layer shape inside a first-layer L, facing the next polygon's
    # edge through the L's own edge (seed 118): the L's edge shields, the
    # other polygon's collinear edge does not
    a = [np.array([[370, 230], [510, 230], [510, 250], [460, 250], [460, 510], [370, 510]], np.int64), _box(470, 470, 520, 660)]
    b = [_box(470, 475, 565, 510)]
    ours, theirs = _two_layer_counts(a, b, 30)
    assert ours == theirs and theirs["separation"] >= 1
    # the same geometry with the in-between polygon made part of a1 (one
    # merged polygon): now it does shield, in KLayout and here
    a = [_box(0, 0, 100, 100), _box(120, -50, 130, 150), _box(100, 40, 120, 60)]
    ours, theirs = _two_layer_counts(a, b=[_box(150, 0, 250, 100)], d=60)
    assert ours == theirs
    assert theirs["separation"] == 1


#: Random layouts (seed, case of :func:`_cases`) where separation used to
#: miss KLayout's markers: a shape of ``b`` inside one polygon of ``a``,
#: sharing its edge, faces another polygon of ``a``.
SEPARATION_REGRESSIONS = [(1, 11), (1, 16), (6, 23), (10, 17), (14, 5), (29, 22), (35, 21)]


@pytest.mark.parametrize("seed,case", SEPARATION_REGRESSIONS)
def test_separation_shielding_regressions(seed, case):
    a, b, d = next(c for k, c in enumerate(_cases(seed, case + 1)) if k == case)
    ra, rb = _region(a), _region(b)
    ea, pa = E.merge_edges(a)
    eb, pb = E.merge_edges(b)
    assert len(E.facing_pairs(E.reverse(ea), E.reverse(eb), d, pid_a=pa)[2]) == ra.separation_check(rb, d).count()
    assert len(E.facing_pairs(E.reverse(eb), E.reverse(ea), d, pid_a=pb)[2]) == rb.separation_check(ra, d).count()


def test_separation_shielded_only_by_own_polygon(tmp_path):
    """Two-layer spacing (KLayout's separation): an edge of another polygon
    of ``layer`` lying on ``other``'s edge does not shield the pair (KLayout
    checks each polygon of ``layer`` against ``other`` alone); the same rule
    through the engine, the kind and the exported-deck statement agree."""
    a = [_box(210, 390, 280, 660), _box(290, 380, 490, 570)]  # two A polygons 10 apart
    b = [_box(160, 475, 280, 505)]  # inside the first, on its right edge
    ra, rb = _region(a), _region(b)
    assert ra.separation_check(rb, 15).count() == 1
    ea, pa = E.merge_edges(a)
    eb, _ = E.merge_edges(b)
    assert len(E.facing_pairs(E.reverse(ea), E.reverse(eb), 15, pid_a=pa)[2]) == 1
    # without the polygon ids (every A edge shields) the pair is lost
    assert len(E.facing_pairs(E.reverse(ea), E.reverse(eb), 15)[2]) == 0
    # through run_drc with a spacing rule to another layer
    rules = tmp_path / "r.toml"
    rules.write_text(
        '[layers.A]\ngds = [1, 0]\npurpose = "routing"\n[layers.B]\ngds = [2, 0]\npurpose = "routing"\n'
        '[[rules]]\nid = "AB.S"\nkind = "spacing"\nlayer = "A"\nother = "B"\nvalue = 0.015\ndoc = "A to B"\n'
    )
    kit = load_rules_file(rules)
    shapes = LayoutShapes(polygons={"A": a, "B": b}, labels={"A": [], "B": []}, top="T", dbu_um=0.001)
    res = run_drc(shapes, kit, kit.rules)
    assert res.counts() == {"AB.S": 1}
    assert res.violations[0].measured_um == pytest.approx(0.010)


def test_uncovered_matches_klayout_not():
    rng = np.random.default_rng(42)
    kit_rule = Rule("EN", "enclosure", "M2", 0.02, other="V1")
    from flow.drc.kinds.basic import uncovered as _uncovered

    for _ in range(20):
        outer = _random_layer(rng, 5)
        inner = _random_layer(rng, 5, grid=5)
        ours = _uncovered(inner, outer)
        theirs = _region(inner) - _region(outer)
        assert len(ours) == theirs.count()
        area = sum(abs(kdb.Polygon([kdb.Point(*p) for p in poly]).area()) for poly in ours)
        assert area == theirs.area()
    assert kit_rule.other == "V1"


# ------------------------------------------------------ real GDS benchmarks --

BENCH = Path(__file__).parents[2].parent / "shared" / "bench" / "drc"

SKY130_RULES = """
[layers.li1]
gds = [67, 20]
purpose = "routing"
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
value = 0.17
[[rules]]
id = "m1.1"
kind = "width"
layer = "met1"
value = 0.14
[[rules]]
id = "m1.2"
kind = "spacing"
layer = "met1"
value = 0.14
"""


def _bench_files() -> list[Path]:
    if not BENCH.is_dir():
        return []
    return sorted((BENCH / "sky130").rglob("*.gds"))


@pytest.mark.skipif(not BENCH.is_dir(), reason=f"benchmark data not found at {BENCH}")
@pytest.mark.parametrize("path", _bench_files() or [None], ids=lambda p: p.name if p else "none")
def test_sky130_matches_klayout(path, tmp_path):
    rules = tmp_path / "sky130.toml"
    rules.write_text(SKY130_RULES)
    kit = load_rules_file(rules)
    shapes = read_gds(path, kit)
    result = run_drc(shapes, kit)
    layout_ = kdb.Layout()
    layout_.read(str(path))
    top = layout_.top_cell()
    expected = {}
    for rule in kit.rules:
        gl, gd = kit.layers[rule.layer].gds
        li = layout_.find_layer(gl, gd)
        reg = kdb.Region(top.begin_shapes_rec(li)) if li is not None else kdb.Region()
        reg.merge()
        d = int(round(rule.value / layout_.dbu))  # layout dbu (1 nm here too)
        n = (reg.width_check(d) if rule.kind == "width" else reg.space_check(d)).count()
        if n:
            expected[rule.id] = n
    assert result.counts() == expected
    if "violators" in path.name:
        assert expected  # the file is meant to violate


KL_RULES = """
[layers.L1]
gds = [1, 0]
purpose = "routing"
[[rules]]
id = "L1.S"
kind = "spacing"
layer = "L1"
value = 0.5
"""


@pytest.mark.skipif(not BENCH.is_dir(), reason=f"benchmark data not found at {BENCH}")
def test_klayout_drctest_space(tmp_path):
    """KLayout's own test layout: space(0.5) on TOPTOP_SMALL 1/0 gives 3."""
    rules = tmp_path / "kl.toml"
    rules.write_text(KL_RULES)
    kit = load_rules_file(rules)
    path = BENCH / "klayout" / "drctest.gds"
    with pytest.raises(Exception, match="several top cells"):
        read_gds(path, kit)
    result = run_drc(read_gds(path, kit, top="TOPTOP_SMALL"), kit)
    assert result.counts() == {"L1.S": 3}
    ly = kdb.Layout()
    ly.read(str(path))
    reg = kdb.Region(ly.cell("TOPTOP_SMALL").begin_shapes_rec(ly.find_layer(1, 0)))
    reg.merge()
    assert reg.space_check(500).count() == 3
