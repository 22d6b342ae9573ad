"""max_width, wide_spacing, density, grid, angle and the projection metric,
checked against KLayout (``klayout.db.Region``) on the same GDS.

Layouts are random Manhattan (and 45-degree) shapes, touching and
overlapping, drawn flat and through a hierarchy (references, rotated and
mirrored, arrays); pilotflow reads them with ``read_gds``, KLayout flattens
them with ``begin_shapes_rec``.  Per rule: the same marker count, and the
same markers (edge pairs, vertices, edges, windows) or the same merged
marker area.  A pixel oracle (no KLayout) checks the wide parts too.
"""

from __future__ import annotations

import random
from pathlib import Path

import gdstk
import klayout.db as kdb
import numpy as np
import pytest
from click.testing import CliRunner

from flow.cli import cli
from flow.drc import edges as E
from flow.drc.core import IMPLS, rect
from flow.drc.engine import run_drc
from flow.drc.kinds import tables as T
from flow.geometry.gdsio import read_gds
from pdk.schema import Rule, load_rules_file

DBU = 0.001

RULES = """
[layers.M]
gds = [1, 0]
purpose = "routing"
[layers.N]
gds = [2, 0]
purpose = "routing"
[layers.BND]
gds = [9, 0]
purpose = "boundary"
"""


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    p = tmp_path_factory.mktemp("kit") / "rules.toml"
    p.write_text(RULES)
    return load_rules_file(p)


# ------------------------------------------------------------------ layouts --


def random_polys(rng: random.Random, n: int, span: int, size: tuple[int, int], diag: bool = False) -> list[np.ndarray]:
    """``n`` random rectangles (dbu) in ``span``; with ``diag`` also 45-degree
    octagons and triangles.  Many touch or overlap."""
    out = []
    for k in range(n):
        x, y = rng.randint(0, span), rng.randint(0, span)
        w, h = rng.randint(*size), rng.randint(*size)
        if diag and k % 4 == 3:
            c = max(1, min(w, h) // 3)
            out.append(np.array([[x + c, y], [x + w - c, y], [x + w, y + c], [x + w, y + h - c], [x + w - c, y + h],
                                 [x + c, y + h], [x, y + h - c], [x, y + c]], dtype=np.int64))
        elif diag and k % 4 == 1:
            out.append(np.array([[x, y], [x + w, y], [x, y + h]], dtype=np.int64))
        else:
            out.append(rect(x, y, x + w, y + h))
    # an abutting pair and a pair overlapping along a side
    x, y = rng.randint(0, span), rng.randint(0, span)
    w, h = rng.randint(*size), rng.randint(*size)
    out += [rect(x, y, x + w, y + h), rect(x + w, y, x + 2 * w, y + h), rect(x, y + h - 1, x + w, y + 2 * h)]
    return out


def write_hier(path: Path, leaf: dict[int, list[np.ndarray]], top: dict[int, list[np.ndarray]], pitch: int) -> None:
    """LEAF shapes referenced by TOP: plain, rotated 90, mirrored, a 2 x 2 array
    (columns ``pitch`` apart: neighbours may touch or overlap)."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    c = lib.new_cell("LEAF")
    for layer, polys in leaf.items():
        for p in polys:
            c.add(gdstk.Polygon(p * DBU, layer=layer))
    t = lib.new_cell("TOP")
    for layer, polys in top.items():
        for p in polys:
            t.add(gdstk.Polygon(p * DBU, layer=layer))
    o = 6 * pitch * DBU
    t.add(gdstk.Reference(c, (0, 0)))
    t.add(gdstk.Reference(c, (o, 0), rotation=np.pi / 2))
    t.add(gdstk.Reference(c, (0, o), x_reflection=True))
    t.add(gdstk.Reference(c, (o, o), columns=2, rows=2, spacing=(pitch * DBU, pitch * DBU)))
    lib.write_gds(str(path))


def write_flat(path: Path, shapes: dict[int, list[np.ndarray]]) -> None:
    write_hier(path, {}, shapes, 1)


def kl_region(path: Path, layer: int) -> kdb.Region:
    ly = kdb.Layout()
    ly.read(str(path))
    top = ly.cell("TOP")
    r = kdb.Region(top.begin_shapes_rec(ly.layer(layer, 0)))
    assert abs(ly.dbu - DBU) < 1e-12
    return r.merged()


def ours(path: Path, kit, rule: Rule):
    res = run_drc(read_gds(path, kit, "TOP"), kit, rules=[rule])
    assert res.rules_checked == (rule.id,) and res.not_checked == ()
    return [v for v in res.violations if v.rule_id == rule.id]


def norm_edge(e) -> tuple:
    a, b = (e[0], e[1]), (e[2], e[3])
    return min(a, b) + max(a, b)


def norm_pair(p) -> tuple:
    a, b = norm_edge(p[0]), norm_edge(p[1])
    return (min(a, b), max(a, b))


def kl_pairs(ep: kdb.EdgePairs) -> list[tuple]:
    return sorted(norm_pair([(e.p1.x, e.p1.y, e.p2.x, e.p2.y) for e in (p.first, p.second)]) for p in ep.each())


def our_pairs(vs) -> list[tuple]:
    return sorted(norm_pair(v.marker) for v in vs)


def poly_area(vs) -> float:
    return float(sum(gdstk.Polygon(np.array(v.marker, float)).area() for v in vs))


def kl_wide(r: kdb.Region, w: int) -> kdb.Region:
    """KLayout's wide parts: even ``w`` with plain half sizing (independent of
    the doubled-coordinate construction), odd ``w`` on doubled coordinates;
    merged (the grown pieces of one part come back separate)."""
    if w % 2 == 0:
        return r.sized(-(w // 2)).sized(w // 2).merged()
    return r.transformed(kdb.ICplxTrans(2.0)).sized(-w).sized(w).transformed(kdb.ICplxTrans(0.5)).merged()


SEEDS = range(8)


def hier_layout(tmp_path: Path, seed: int, layer: int = 1, diag: bool = False, size=(200, 3000)) -> Path:
    rng = random.Random(seed)
    path = tmp_path / f"l{seed}.gds"
    leaf = {layer: random_polys(rng, 6, 4000, size, diag)}
    top = {layer: random_polys(rng, 6, 12000, size, diag)}
    write_hier(path, leaf, top, pitch=rng.choice([3000, 4500, 6000]))
    return path


# ------------------------------------------------------------------ max_width --


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("v", [1000, 1501, 2400])
def test_max_width_vs_klayout(tmp_path, kit, seed, v):
    path = hier_layout(tmp_path, seed)
    rule = Rule("M.MAXW", "max_width", "M", v * DBU)
    got = ours(path, kit, rule)
    kw = kl_wide(kl_region(path, 1), v)
    assert len(got) == kw.count()
    assert poly_area(got) == pytest.approx(kw.area(), abs=0.5)
    # each marker lies inside the layer
    layer = kl_region(path, 1)
    for m in got:
        poly = kdb.Region(kdb.Polygon([kdb.Point(x, y) for x, y in m.marker]))
        assert (poly - layer).is_empty()


def pixel_wide(polys: list[np.ndarray], v: int, n: int) -> np.ndarray:
    """Pixels (n x n grid, 1 dbu) covered by a (v+1) x (v+1) pixel square lying
    wholly inside the layer: the part wider than ``v`` (no geometry library)."""
    grid = np.zeros((n, n), bool)
    for p in polys:
        (x0, y0), (x1, y1) = p.min(axis=0), p.max(axis=0)
        grid[x0:x1, y0:y1] = True
    s = v + 1
    # squares fully inside: 2-D prefix sums
    c = np.zeros((n + 1, n + 1), int)
    c[1:, 1:] = grid.cumsum(0).cumsum(1)
    full = c[s:, s:] - c[:-s, s:] - c[s:, :-s] + c[:-s, :-s] == s * s
    out = np.zeros_like(grid)
    for i, j in zip(*np.nonzero(full)):
        out[i : i + s, j : j + s] = True
    return out


@pytest.mark.parametrize("seed", range(30))
def test_wide_parts_vs_pixels(seed):
    rng = random.Random(100 + seed)
    polys = [rect(x, y, x + rng.randint(2, 20), y + rng.randint(2, 20)) for x, y in
             ((rng.randint(0, 40), rng.randint(0, 40)) for _ in range(rng.randint(1, 7)))]
    v = rng.randint(1, 9)
    wide = T.wide_parts(polys, v)
    pix = pixel_wide(polys, v, 64)
    assert sum(gdstk.Polygon(p.astype(float)).area() for p in wide) == pix.sum()
    if wide:
        inside = gdstk.inside([(i + 0.5, j + 0.5) for i, j in zip(*np.nonzero(pix))], [gdstk.Polygon(p.astype(float)) for p in wide])
        assert all(inside)


def test_max_width_hand_made(kit, tmp_path):
    path = tmp_path / "h.gds"
    # a 3.0 bar, a 3.001 bar, two 3.0 bars abutting (6.0 wide), an L of 3.0 arms
    shapes = [rect(0, 0, 20000, 3000), rect(0, 10000, 20000, 13001), rect(0, 20000, 20000, 23000), rect(0, 23000, 20000, 26000),
              np.array([[30000, 0], [50000, 0], [50000, 3000], [33000, 3000], [33000, 20000], [30000, 20000]])]
    write_flat(path, {1: shapes})
    got = ours(path, kit, Rule("M.MAXW", "max_width", "M", 3.0))
    assert len(got) == 2
    assert sorted(poly_area([v]) for v in got) == [20000 * 3001, 20000 * 6000]
    assert all(v.measured_um is None and not v.is_edge_pair for v in got)


@pytest.mark.parametrize("v,n", [(2.9, 1), (3.1, 0)])
def test_max_width_measures_45_degree_bars_perpendicular(tmp_path, kit, v, n):
    """A 45-degree bar 3.0 um wide (perpendicular): wide at 2.9, not at 3.1
    (an axis-parallel square would only see 2.1), as KLayout's sizing."""
    path = tmp_path / "d.gds"
    write_flat(path, {1: [np.array([[0, 0], [4243, 0], [14243, 10000], [10000, 10000]])]})
    got = ours(path, kit, Rule("M.MAXW", "max_width", "M", v))
    assert len(got) == kl_wide(kl_region(path, 1), round(v / DBU)).count() == n


# --------------------------------------------------------------- wide_spacing --


def kl_wide_spacing(r: kdb.Region, rows: list[tuple[int, int]]) -> kdb.EdgePairs:
    e = r.edges()
    along = [e & kl_wide(r, w).edges() for w, _ in rows]

    def hit(ep, es):
        return not (kdb.Edges(ep.first) & es).is_empty() or not (kdb.Edges(ep.second) & es).is_empty()

    out = kdb.EdgePairs()
    for k, (_w, s) in enumerate(rows):
        for ep in r.space_check(s).each():
            if hit(ep, along[k]) and not any(hit(ep, a) for a in along[k + 1 :]):
                out.insert(ep)
    return out


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("table", [[(1.0, 0.8)], [(0.8, 0.5), (1.6, 1.2), (2.4, 1.601)]])
def test_wide_spacing_vs_klayout(tmp_path, kit, seed, table):
    path = hier_layout(tmp_path, seed, size=(200, 2500))
    rule = Rule("M.WS", "wide_spacing", "M", 0.0, table=tuple(table))
    got = ours(path, kit, rule)
    want = kl_wide_spacing(kl_region(path, 1), [(round(w / DBU), round(s / DBU)) for w, s in table])
    assert our_pairs(got) == kl_pairs(want)
    assert all(v.is_edge_pair and v.measured_um < v.value_um for v in got)


def test_wide_spacing_rows(kit, tmp_path):
    """A narrow line 1.5 from a 2.5-wide plate and 1.5 from a 6-wide plate:
    the first is judged by row 1 (1.0: clean), the second by row 2 (2.0)."""
    path = tmp_path / "w.gds"
    line = rect(0, 0, 500, 20000)
    shapes = [line, rect(2000, 0, 4500, 20000), rect(-7500, 0, -1500, 20000), rect(20000, 0, 20500, 20000), rect(21000, 0, 21500, 20000)]
    write_flat(path, {1: shapes})
    rule = Rule("M.WS", "wide_spacing", "M", 0.0, table=((2.0, 1.0), (5.0, 2.0)))
    got = ours(path, kit, rule)
    assert len(got) == 1
    v = got[0]
    assert v.value_um == 2.0 and v.measured_um == pytest.approx(1.5)
    assert sorted(norm_edge(e)[0] for e in v.marker) == [-1500, 0]


# -------------------------------------------------------------------- density --


def kl_density(path: Path, layer: int, kit_layers: list[int], boundary: int | None, win: int, step: int, lo: float, hi):
    ly = kdb.Layout()
    ly.read(str(path))
    top = ly.cell("TOP")
    regs = {n: kdb.Region(top.begin_shapes_rec(ly.layer(n, 0))) for n in kit_layers}
    ext = kdb.Box()
    if boundary is not None:
        ext += regs[boundary].bbox()
    if ext.empty():
        for r in regs.values():
            ext += r.bbox()
    out = []
    nx = 1 + max(0, -((win - ext.width()) // step))
    ny = 1 + max(0, -((win - ext.height()) // step))
    for j in range(ny):
        for i in range(nx):
            x0, y0 = ext.left + i * step, ext.bottom + j * step
            b = kdb.Box(x0, y0, min(x0 + win, ext.right), min(y0 + win, ext.top))
            a = (regs[layer] & kdb.Region(b)).area()
            wa = b.width() * b.height()
            if a < lo * wa - 0.5 or (hi is not None and a > hi * wa + 0.5):
                out.append((b.left, b.bottom, b.right, b.top))
    return sorted(out)


def our_windows(vs) -> list[tuple]:
    out = []
    for v in vs:
        xs, ys = [p[0] for p in v.marker], [p[1] for p in v.marker]
        assert len(v.marker) == 4
        out.append((min(xs), min(ys), max(xs), max(ys)))
    return sorted(out)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("window,step,lo,hi", [(5.0, 5.0, 0.3, None), (6.0, 2.5, 0.2, 0.7), (40.0, 10.0, 0.05, 0.5)])
def test_density_vs_klayout(tmp_path, kit, seed, window, step, lo, hi):
    path = hier_layout(tmp_path, seed)
    rule = Rule("M.D", "density", "M", lo, max=hi, window=window, step=step)
    got = ours(path, kit, rule)
    want = kl_density(path, 1, [1, 2, 9], 9, round(window / DBU), round(step / DBU), lo, hi)
    assert our_windows(got) == want
    for v in got:
        assert v.measured_um < lo or (hi is not None and v.measured_um > hi)


@pytest.mark.parametrize("seed", range(4))
def test_density_boundary_cuts_shapes(tmp_path, kit, seed):
    """A die outline over part of the shapes: windows cover the outline only,
    shapes sticking out are clipped (same windows and densities as KLayout)."""
    rng = random.Random(seed)
    path = tmp_path / "b.gds"
    write_flat(path, {1: random_polys(rng, 40, 20000, (300, 6000)), 9: [rect(3000, 2000, 17500, 19000)]})
    rule = Rule("M.D", "density", "M", 0.25, max=0.45, window=4.0, step=1.5)
    got = ours(path, kit, rule)
    assert our_windows(got) == kl_density(path, 1, [1, 2, 9], 9, 4000, 1500, 0.25, 0.45)
    assert all(3000 <= v.marker[0][0] and v.marker[2][0] <= 17500 for v in got)


def test_density_uses_boundary_layer(tmp_path, kit):
    """With a boundary shape, windows cover it (empty windows there are too
    sparse); without, the extent of all shapes; N shapes count for the extent
    but not for the density of M."""
    path = tmp_path / "d.gds"
    m = [rect(0, 0, 10000, 10000)]
    write_flat(path, {1: m, 2: [rect(19000, 19000, 20000, 20000)], 9: [rect(0, 0, 30000, 10000)]})
    rule = Rule("M.D", "density", "M", 0.5, window=10.0, step=10.0)
    got = ours(path, kit, rule)
    assert our_windows(got) == [(10000, 0, 20000, 10000), (20000, 0, 30000, 10000)]
    assert [v.measured_um for v in got] == [0.0, 0.0]
    assert our_windows(got) == kl_density(path, 1, [1, 2, 9], 9, 10000, 10000, 0.5, None)
    write_flat(path, {1: m, 2: [rect(19000, 19000, 20000, 20000)]})
    got = ours(path, kit, rule)
    # extent 0..20 x 0..20: windows 2 x 2, only the lower left is filled
    assert len(got) == 3 and our_windows(got) == kl_density(path, 1, [1, 2, 9], 9, 10000, 10000, 0.5, None)


def test_density_no_shapes(tmp_path, kit):
    path = tmp_path / "e.gds"
    write_flat(path, {2: [rect(0, 0, 5000, 5000)]})
    got = ours(path, kit, Rule("M.D", "density", "M", 0.1, window=2.0, step=2.0))
    assert len(got) == 9 and all(v.measured_um == 0.0 for v in got)
    write_flat(path, {})
    assert ours(path, kit, Rule("M.D", "density", "M", 0.1, window=2.0, step=2.0)) == []


def test_windows_clip():
    assert T.windows((0, 0, 5, 5), 10, 4) == [(0, 0, 5, 5)]
    assert T.windows((0, 0, 14, 10), 10, 4) == [(0, 0, 10, 10), (4, 0, 14, 10)]
    assert T.windows((0, 0, 15, 10), 10, 4) == [(0, 0, 10, 10), (4, 0, 14, 10), (8, 0, 15, 10)]


# ----------------------------------------------------------------------- grid --


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("g", [5, 50, 250])
def test_grid_vs_klayout(tmp_path, kit, seed, g):
    path = hier_layout(tmp_path, seed, diag=True)
    got = ours(path, kit, Rule("M.G", "grid", "M", g * DBU))
    want = kl_region(path, 1).grid_check(g, g)
    assert our_pairs(got) == kl_pairs(want)
    for v in got:
        x, y = v.marker[0][:2]
        assert v.marker == ((x, y, x, y), (x, y, x, y)) and (x % g or y % g)


def test_grid_merged_outline(tmp_path, kit):
    """An off-grid shape wholly inside an on-grid one: the merged outline is
    on grid; one sticking out: its outside vertices (and the crossings) count."""
    path = tmp_path / "g.gds"
    write_flat(path, {1: [rect(0, 0, 1000, 1000), rect(3, 3, 503, 503)]})
    assert ours(path, kit, Rule("M.G", "grid", "M", 0.01)) == []
    write_flat(path, {1: [rect(0, 0, 1000, 1000), rect(503, 503, 1503, 1503)]})
    got = ours(path, kit, Rule("M.G", "grid", "M", 0.01))
    # (503, 1503), (1503, 1503), (1503, 503) and the crossings (503, 1000), (1000, 503)
    assert len(got) == 5
    assert our_pairs(got) == kl_pairs(kl_region(path, 1).grid_check(10, 10))


# ---------------------------------------------------------------------- angle --


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("value,kind", [(90, kdb.Edges.OrthoEdges), (45, kdb.Edges.OrthoDiagonalEdges)])
def test_angle_vs_klayout(tmp_path, kit, seed, value, kind):
    rng = random.Random(seed)
    path = tmp_path / "a.gds"
    polys = random_polys(rng, 10, 8000, (300, 3000), diag=True)
    # a few edges at other angles
    polys += [np.array([[0, 20000], [3000, 20000], [0, 21000]]), np.array([[5000, 20000], [6000, 23000], [4000, 22000]])]
    write_hier(path, {1: polys[:5]}, {1: polys[5:]}, pitch=4000)
    got = ours(path, kit, Rule("M.A", "angle", "M", value))
    want = kl_region(path, 1).edges().with_angle(kind, True)
    assert len(got) == want.count() >= 2
    # where slanted edges cross, the merged outline has a vertex off the dbu
    # grid: KLayout and pilotflow may round it 1 dbu apart
    a = np.array(sorted(norm_edge(v.marker[0]) for v in got))
    b = np.array(sorted(norm_edge((e.p1.x, e.p1.y, e.p2.x, e.p2.y)) for e in want.each()))
    assert np.abs(a - b).max() <= 1


def test_angle_markers_are_edges_in_lyrdb(tmp_path, kit):
    """Off-angle edges appear as edges in the marker database (KLayout reads
    them back as edges); off-grid vertices as degenerate edge pairs."""
    rdb = pytest.importorskip("klayout.rdb")
    from flow.drc.lyrdb import write_lyrdb

    path = tmp_path / "a.gds"
    write_flat(path, {1: [np.array([[0, 0], [3000, 0], [0, 1003]])]})
    rules = [Rule("M.A", "angle", "M", 90), Rule("M.G", "grid", "M", 0.005)]
    res = run_drc(read_gds(path, kit, "TOP"), kit, rules=rules)
    out = tmp_path / "a.lyrdb"
    write_lyrdb(res, kit, out, "TOP")
    db = rdb.ReportDatabase("x")
    db.load(str(out))
    kinds = {}
    for item in db.each_item():
        cat = db.category_by_id(item.category_id()).name()
        for val in item.each_value():
            kinds.setdefault(cat, []).append((val.is_edge(), val.is_edge_pair()))
    assert kinds == {"M.A": [(True, False)], "M.G": [(False, True)]}
    e = next(v for it in db.each_item() for v in it.each_value() if v.is_edge()).edge()
    assert sorted([(round(e.p1.x, 6), round(e.p1.y, 6)), (round(e.p2.x, 6), round(e.p2.y, 6))]) == [(0.0, 1.003), (3.0, 0.0)]


# ----------------------------------------------------------------- projection --


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("d", [300, 1000])
def test_projection_metric_vs_klayout(tmp_path, kit, seed, d):
    path = hier_layout(tmp_path, seed, size=(100, 2000))
    r = kl_region(path, 1)
    for kind, kl in (("width", r.width_check), ("spacing", r.space_check)):
        got = ours(path, kit, Rule("M.P", kind, "M", d * DBU, metric="projection"))
        want = kl(d, False, kdb.Metrics.Projection)
        assert our_pairs(got) == kl_pairs(want), kind
        euclid = ours(path, kit, Rule("M.E", kind, "M", d * DBU))
        assert len(got) <= len(euclid)


def test_projection_ignores_corner_to_corner(tmp_path, kit):
    """Two squares diagonally 0.5 apart: Euclidean spacing 1.0 flags them
    (twice, as KLayout), projection does not; side by side 0.5 apart both do."""
    path = tmp_path / "p.gds"
    write_flat(path, {1: [rect(0, 0, 2000, 2000), rect(2300, 2400, 4300, 4400), rect(10000, 0, 12000, 2000), rect(12500, 0, 14500, 2000)]})
    eu = ours(path, kit, Rule("M.S", "spacing", "M", 1.0))
    pr = ours(path, kit, Rule("M.S", "spacing", "M", 1.0, metric="projection"))
    assert len(eu) == 3 and len(pr) == 1  # Euclidean: two pairs at the corner
    assert pr[0].measured_um == pytest.approx(0.5)


def test_facing_pairs_rejects_unknown_metric():
    e, _ = E.merge_edges([rect(0, 0, 10, 10), rect(12, 0, 20, 10)])
    with pytest.raises(ValueError, match="unknown metric 'manhattan'"):
        E.facing_pairs(E.reverse(e), None, 5, metric="manhattan")


# ------------------------------------------------------------ registry, input --


def test_kinds_registered_with_selftests_and_deck():
    for name in ("max_width", "wide_spacing", "density", "grid", "angle"):
        impl = IMPLS[name]
        assert impl.selftests is not None and impl.klayout is not None and not impl.net_aware


@pytest.mark.parametrize(
    "rule,message",
    [
        ('kind = "density"\nlayer = "M"\nvalue = 0.2\nwindow = 10.0', "rules[0].step: missing required key"),
        ('kind = "density"\nlayer = "M"\nvalue = 0.5\nmax = 0.4\nwindow = 10.0\nstep = 5.0', "rules[0].max: must be a fraction between value"),
        ('kind = "wide_spacing"\nlayer = "M"\ntable = [[2.0, 1.0], [1.0, 2.0]]', "rules[0].table[1][0]: must be greater than the row before"),
        ('kind = "wide_spacing"\nlayer = "M"\nvalue = 1.0\ntable = [[2.0, 1.0]]', "rules[0].value: this rule kind takes no value"),
        ('kind = "grid"\nlayer = "M"\nvalue = 0.0005', "rules[0].value: 0.0005 is not on the 0.001 um grid"),
        ('kind = "angle"\nlayer = "M"\nvalue = 30', "rules[0].value: must be 45 or 90"),
        ('kind = "max_width"\nlayer = "M"\nvalue = 5.0\nmetric = "projection"', "rules[0].metric: a max_width rule takes no 'metric'"),
        ('kind = "width"\nlayer = "M"\nvalue = 1.0\nmetric = "manhattan"', "rules[0].metric: 'manhattan' is not a metric"),
    ],
)
def test_bad_rule_data_cli(tmp_path, rule, message):
    """``pilotflow drc --rules`` on bad rule data: exit 2, one ``Error:``
    line naming the key, no traceback, no report written."""
    rules = tmp_path / "bad.toml"
    rules.write_text(RULES + f'[[rules]]\nid = "X"\n{rule}\n')
    gds = tmp_path / "x.gds"
    write_flat(gds, {1: [rect(0, 0, 1000, 1000)]})
    out = tmp_path / "out.json"
    r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(rules), "--json", str(out)])
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error: ") and message in r.output
    assert "Traceback" not in r.output and not out.exists()


def test_cli_reports_new_kinds(tmp_path):
    """End to end through ``pilotflow drc --rules``: one marker per kind."""
    rules = tmp_path / "r.toml"
    rules.write_text(RULES + """
[[rules]]
id = "M.MAXW"
kind = "max_width"
layer = "M"
value = 5.0
doc = "slot wide M"
[[rules]]
id = "M.WS"
kind = "wide_spacing"
layer = "M"
table = [[5.0, 3.0]]
doc = "wide M spacing"
[[rules]]
id = "N.A"
kind = "angle"
layer = "N"
value = 90
doc = "Manhattan N"
[[rules]]
id = "N.G"
kind = "grid"
layer = "N"
value = 0.01
doc = "N on 10 nm"
[[rules]]
id = "M.D"
kind = "density"
layer = "M"
value = 0.05
window = 50.0
step = 50.0
doc = "M density"
""")
    gds = tmp_path / "x.gds"
    write_flat(gds, {1: [rect(0, 0, 6000, 20000), rect(8000, 0, 9000, 20000)],
                     2: [np.array([[20000, 0], [23000, 0], [20000, 1005]])],
                     9: [rect(0, 0, 100000, 50000)]})
    js = tmp_path / "r.json"
    r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(rules), "--json", str(js)])
    assert r.exit_code == 1, r.output
    import json

    data = json.loads(js.read_text())
    counts = data["counts"]
    dens = next(r for r in data["rules"] if r["id"] == "M.D")["markers"]
    assert dens == [{"polygon": [[50.0, 0.0], [100.0, 0.0], [100.0, 50.0], [50.0, 50.0]], "measured_um": 0.0}]
    # the window 0..50 holds 5.6 % M, the window 50..100 none: 1 density
    # marker; the triangle: one slanted edge, one vertex off the 10 nm grid
    assert counts == {"M.MAXW": 1, "M.WS": 1, "N.A": 1, "N.G": 1, "M.D": 1}


# ------------------------------------------------------ self-tests, any values --

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pdk.check import selftest_shapes  # noqa: E402

ANY = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
um = st.integers(min_value=2, max_value=40000).map(lambda n: n * DBU)


def run_selftests(kit, rule: Rule) -> list[str]:
    """Problems of the rule's self-tests: each must give its expected count,
    and there must be a pass and a fail case."""
    tests = IMPLS[rule.kind].selftests(rule, kit)
    bad = []
    if not any(t.expected == 0 for t in tests) or not any(t.expected > 0 for t in tests):
        bad.append(f"no pass and fail case: {[(t.name, t.expected) for t in tests]}")
    for t in tests:
        n = len(run_drc(selftest_shapes(kit, t), kit, rules=[rule]).violations)
        if n != t.expected:
            bad.append(f"{t.name}: {n} markers, expected {t.expected}")
    return bad


@ANY
@given(v=um)
def test_selftests_max_width_any_value(kit, v):
    assert run_selftests(kit, Rule("X", "max_width", "M", v)) == []


@ANY
@given(rows=st.lists(st.tuples(st.integers(0, 30000), st.integers(2, 20000)), min_size=1, max_size=4, unique_by=lambda r: r[0]))
def test_selftests_wide_spacing_any_table(kit, rows):
    table = tuple((w * DBU, s * DBU) for w, s in sorted(rows))
    assert run_selftests(kit, Rule("X", "wide_spacing", "M", 0.0, table=table)) == []


@ANY
@given(lo=st.floats(0.0, 0.9), span=st.floats(0.01, 1.0), has_max=st.booleans(), window=st.integers(2, 500), step=st.integers(1, 500))
def test_selftests_density_any_values(kit, lo, span, has_max, window, step):
    hi = min(1.0, lo + span) if has_max else None
    lo = round(lo, 3)
    hi = None if hi is None else max(lo, round(hi, 3))
    rule = Rule("X", "density", "M", lo, max=hi, window=float(window), step=float(min(step, window)))
    tests = IMPLS["density"].selftests(rule, kit)
    if lo == 0 and (hi is None or hi >= 1):
        return  # no bound can fail: pdk check reports the missing fail case
    assert run_selftests(kit, rule) == []
    assert tests


@ANY
@given(g=st.integers(2, 5000), a=st.sampled_from([45, 90]))
def test_selftests_grid_and_angle_any_value(kit, g, a):
    assert run_selftests(kit, Rule("X", "grid", "M", g * DBU)) == []
    assert run_selftests(kit, Rule("Y", "angle", "M", a)) == []


@ANY
@given(v=st.integers(2, 20000), kind=st.sampled_from(["width", "spacing"]))
def test_selftests_projection_any_value(kit, v, kind):
    assert run_selftests(kit, Rule("X", kind, "M", v * DBU, metric="projection")) == []


# ------------------------------------------- the exported deck, odd values --

ODD_RULES = RULES + """
[[rules]]
id = "M.MAXW.ODD"
kind = "max_width"
layer = "M"
value = 2.001
[[rules]]
id = "M.WS3"
kind = "wide_spacing"
layer = "M"
table = [[0.5, 0.501], [1.001, 1.0], [2.0, 1.503]]
[[rules]]
id = "M.WS0"
kind = "wide_spacing"
layer = "M"
table = [[0.0, 1.0], [7.001, 3.003]]
[[rules]]
id = "M.DEN"
kind = "density"
layer = "M"
value = 0.2
max = 0.8
window = 20.0
step = 7.5
[[rules]]
id = "M.DEN.MIN"
kind = "density"
layer = "M"
value = 0.35
window = 15.0
step = 15.0
[[rules]]
id = "M.GRID"
kind = "grid"
layer = "M"
value = 0.007
[[rules]]
id = "M.ANG45"
kind = "angle"
layer = "M"
value = 45
[[rules]]
id = "N.ANG90"
kind = "angle"
layer = "N"
value = 90
[[rules]]
id = "M.W.P"
kind = "width"
layer = "M"
value = 1.001
metric = "projection"
[[rules]]
id = "M.S.P"
kind = "spacing"
layer = "M"
value = 0.999
metric = "projection"
"""


def _export_test_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_export_tests", Path(__file__).parents[1] / "pdk" / "test_klayout_export.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_deck_matches_on_odd_values(tmp_path):
    """The exported deck, run by the KLayout batch binary on every self-test
    of rules with odd values (in dbu), gives pilotflow's and the expected
    counts; and the same on a hierarchical random layout for the kinds whose
    semantics hold there in both tools."""
    import shutil
    import subprocess

    from pdk.check import selftest_cases, selftest_library
    from pdk.export import export_klayout

    if shutil.which("klayout") is None:
        pytest.skip("KLayout batch binary 'klayout' not on PATH")
    X = _export_test_module()
    rules = tmp_path / "odd.toml"
    rules.write_text(ODD_RULES)
    kit = load_rules_file(rules)
    res = export_klayout(kit, tmp_path / "k")
    assert len(res.exported) == len(kit.rules) and res.not_exported == ()
    cases = selftest_cases(kit)
    gds = tmp_path / "st.gds"
    selftest_library(kit, cases).write_gds(str(gds))
    decks = X.deck_per_rule(X.deck_script(res.lydrc), list(res.exported))
    plan, runs = [], []
    for i, rid in enumerate(decks):
        deck = tmp_path / f"rule{i}.rb"
        deck.write_text(decks[rid])
        for c in cases:
            if c.rule.id == rid:
                rep = tmp_path / f"{c.cell}.lyrdb"
                plan.append(f"{gds}\t{c.cell}\t{deck}\t{rep}")
                runs.append((c, rep))
    # a hierarchical random layout through the whole deck
    hier = hier_layout(tmp_path, 3)
    whole = tmp_path / "whole.rb"
    whole.write_text(X.deck_script(res.lydrc))
    plan.append(f"{hier}\tTOP\t{whole}\t{tmp_path / 'hier.lyrdb'}")
    (tmp_path / "plan.txt").write_text("\n".join(plan))
    (tmp_path / "driver.rb").write_text(X.DRIVER)
    r = subprocess.run(["klayout", "-b", "-r", "driver.rb", "-rd", "pf_plan=plan.txt"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "ERROR" not in r.stdout + r.stderr, r.stdout + r.stderr
    bad = []
    for c, rep in runs:
        kl = X.lyrdb_counts(rep)[c.rule.id]
        got = len(run_drc(read_gds(gds, kit, c.cell), kit, rules=[c.rule]).violations)
        if not kl == got == c.test.expected:
            bad.append(f"{c.rule.id} '{c.test.name}': KLayout {kl}, pilotflow {got}, expected {c.test.expected}")
    assert bad == []
    kl = X.lyrdb_counts(tmp_path / "hier.lyrdb")
    ours_all = run_drc(read_gds(hier, kit, "TOP"), kit).counts()
    for rid in ("M.MAXW.ODD", "M.DEN", "M.DEN.MIN", "M.GRID", "M.ANG45", "N.ANG90", "M.WS3"):
        assert kl.get(rid, 0) == ours_all.get(rid, 0), rid
    assert sum(ours_all.values()) > 0
