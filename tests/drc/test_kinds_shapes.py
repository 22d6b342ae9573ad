"""notch, extension, overlap, must_overlap, not_overlap, area, hole
(flow/drc/kinds/shapes.py) against KLayout's own checks.

KLayout (``klayout.db.Region`` / ``Edges``) is the oracle: on hand-made,
random, hierarchical and real layouts each kind must give the same number of
markers and the same merged marker area as the KLayout check it documents.
"""

from __future__ import annotations

from pathlib import Path

import gdstk
import klayout.db as kdb
import numpy as np
import pytest
from click.testing import CliRunner

from flow.cli import cli
from flow.drc import edges as E
from flow.drc.core import IMPLS
from flow.drc.engine import run_drc
from flow.drc.kinds import shapes as S
from flow.errors import PDKError
from flow.geometry.gdsio import read_gds, shapes_from_library
from pdk.check import check_kit
from pdk.schema import load_rules_file

LAYERS = '[layers.A]\ngds = [1, 0]\npurpose = "routing"\n[layers.B]\ngds = [2, 0]\npurpose = "device"\n'
KINDS = ("notch", "extension", "overlap", "must_overlap", "not_overlap", "area", "hole")


def rules_file(tmp_path: Path, body: str, name: str = "r.toml") -> Path:
    p = tmp_path / name
    p.write_text(LAYERS + body)
    return p


def rule(rid: str, kind: str, value: float | None = None, other: str | None = None, layer: str = "A") -> str:
    s = f'[[rules]]\nid = "{rid}"\nkind = "{kind}"\nlayer = "{layer}"\ndoc = "{kind} test"\n'
    if value is not None:
        s += f"value = {value}\n"
    if other:
        s += f'other = "{other}"\n'
    return s


def all_kinds(d_um: float, area_um2: float) -> str:
    return (
        rule("N", "notch", d_um)
        + rule("X", "extension", d_um, "B")
        + rule("O", "overlap", d_um, "B")
        + rule("MO", "must_overlap", None, "B")
        + rule("NO", "not_overlap", None, "B")
        + rule("AR", "area", area_um2)
        + rule("H", "hole", area_um2)
    )


@pytest.fixture
def kit(tmp_path):
    return load_rules_file(rules_file(tmp_path, all_kinds(1.0, 4.0)))


def library(shapes: dict[str, list]) -> gdstk.Library:
    """One cell; items are (x0, y0, x1, y1) boxes or point lists, in um."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    for name, items in shapes.items():
        layer = {"A": 1, "B": 2}[name]
        for it in items:
            if len(it) == 4 and not isinstance(it[0], (tuple, list)):
                top.add(gdstk.rectangle(it[:2], it[2:], layer=layer))
            else:
                top.add(gdstk.Polygon(it, layer=layer))
    return lib


def counts(lib, kit, ids=None) -> dict[str, int]:
    rules = [r for r in kit.rules if ids is None or r.id in ids]
    return run_drc(shapes_from_library(lib, kit), kit, rules).counts()


# ------------------------------------------------------------- KLayout side --


def region(polys) -> kdb.Region:
    r = kdb.Region()
    for p in polys:
        r.insert(kdb.Polygon([kdb.Point(int(x), int(y)) for x, y in np.asarray(p).tolist()]))
    r.merge()
    return r


def klayout_markers(kind: str, a: kdb.Region, b: kdb.Region, d: int, area: int, metric: str = "euclidean"):
    """KLayout's result for ``kind`` (EdgePairs or Region), values in dbu."""
    m = kdb.Metrics.Projection if metric == "projection" else kdb.Metrics.Euclidian
    if kind == "notch":
        return a.notch_check(d, False, m)
    if kind == "extension":
        return a.edges().enclosing_check(b.edges().inside_part(a), d, False, m)
    if kind == "overlap":
        return a.overlap_check(b, d, False, m)
    if kind == "must_overlap":
        return a.not_overlapping(b)
    if kind == "not_overlap":
        return a & b
    if kind == "area":
        return a.with_area(None, area, False)
    if kind == "hole":
        return a.holes().with_area(None, area, False)
    raise AssertionError(kind)


def marker_area(violations) -> int:
    """Merged area (dbu^2) of our markers, edge pairs as KLayout draws them."""
    ep, reg = kdb.EdgePairs(), kdb.Region()
    for v in violations:
        if v.is_edge_pair:
            ep.insert(kdb.EdgePair(kdb.Edge(*v.marker[0]), kdb.Edge(*v.marker[1])))
        else:
            reg.insert(kdb.Polygon([kdb.Point(x, y) for x, y in v.marker]))
    return (ep.polygons() + reg).merged().area()


def their_area(res) -> int:
    return (res.polygons() if isinstance(res, kdb.EdgePairs) else res).merged().area()


def compare(kit, a_polys, b_polys, kinds=KINDS) -> dict[str, tuple[int, int, int, int]]:
    """kind -> (ours, KLayout's, our marker area, KLayout's marker area)."""
    from types import MappingProxyType

    from flow.geometry.gdsio import LayoutShapes

    shapes = LayoutShapes(
        polygons=MappingProxyType({"A": [np.asarray(p, np.int64) for p in a_polys], "B": [np.asarray(p, np.int64) for p in b_polys]}),
        labels=MappingProxyType({"A": [], "B": []}), top="T", dbu_um=kit.dbu_um,
    )
    res = run_drc(shapes, kit)
    ra, rb = region(a_polys), region(b_polys)
    out = {}
    for r in kit.rules:
        if r.kind not in kinds:
            continue
        d = kit.dbu(r.value)
        area = round(S.area_dbu2(kit, r.value))
        theirs = klayout_markers(r.kind, ra, rb, d, area, r.metric)
        ours = [v for v in res.violations if v.rule_id == r.id]
        out[r.kind] = (len(ours), theirs.count(), marker_area(ours), their_area(theirs))
    return out


# ------------------------------------------------------------------ registry --


def test_kinds_registered_with_selftests_and_klayout():
    for k in KINDS:
        impl = IMPLS[k]
        assert impl.selftests is not None and impl.klayout is not None and not impl.net_aware


# ------------------------------------------------------------------ hand-made --


def test_notch_only_within_one_polygon(kit):
    u = [(0, 0), (5, 0), (5, 5), (3.4, 5), (3.4, 2), (2.6, 2), (2.6, 5), (0, 5)]
    r = run_drc(shapes_from_library(library({"A": [u]}), kit), kit, [kit.rule("N")] if hasattr(kit, "rule") else [r for r in kit.rules if r.id == "N"])
    assert r.counts() == {"N": 1}
    assert r.violations[0].measured_um == pytest.approx(0.8)
    # two separate bars 0.8 apart: a spacing problem, not a notch
    assert counts(library({"A": [(0, 0, 2, 5), (2.8, 0, 5, 5)]}), kit, {"N"}) == {}
    # the same bars joined by a touching base: one polygon, a notch
    assert counts(library({"A": [(0, 0, 2, 5), (2.8, 0, 5, 5), (0, -1, 5, 0)]}), kit, {"N"}) == {"N": 1}
    # exactly at value
    wide = [(0, 0), (5, 0), (5, 5), (3.5, 5), (3.5, 2), (2.5, 2), (2.5, 5), (0, 5)]
    assert counts(library({"A": [wide]}), kit, {"N"}) == {}


def test_notch_across_a_hole(kit):
    ring = [(0, 0, 10, 1), (0, 1.9, 10, 3), (0, 0, 1, 3), (9, 0, 10, 3)]  # slot 0.9 high, 8 long
    assert counts(library({"A": ring}), kit, {"N"}) == {"N": 1}


def test_extension_gate_past_mesa(kit):
    gate = (0, -1.0, 0.25, 11.0)
    mesa = (-5, 0, 5, 10)
    assert counts(library({"A": [gate], "B": [mesa]}), kit, {"X"}) == {}
    short = (0, -0.999, 0.25, 10.5)
    r = run_drc(shapes_from_library(library({"A": [short], "B": [mesa]}), kit), kit, [r for r in kit.rules if r.id == "X"])
    assert sorted(v.measured_um for v in r.violations) == [pytest.approx(0.5), pytest.approx(0.999)]
    # the mesa edge part inside the gate is the marker's other edge
    for v in r.violations:
        assert sorted(v.marker[1][::2]) == [0, 250]
    # ending inside the mesa: that end is not an extension; wholly outside: nothing
    assert counts(library({"A": [(0, 2, 0.25, 11), (20, 0, 20.25, 10)], "B": [mesa]}), kit, {"X"}) == {}
    # mesa wholly inside a bigger gate plate: every mesa edge is crossed
    assert counts(library({"A": [(-5.5, -0.5, 5.5, 10.5)], "B": [mesa]}), kit, {"X"}) == {"X": 4}


def test_extension_with_coincident_edges(kit):
    """Other's edges on layer's boundary are not inside it (KLayout inside_part)."""
    a, b = [(0, 0, 4, 4)], [(0, 0, 4, 2)]  # b's bottom and sides lie on a's boundary
    assert counts(library({"A": a, "B": b}), kit, {"X"}) == {}
    a, b = [(0, 0, 4, 2.5)], [(0, 0, 4, 2)]
    assert counts(library({"A": a, "B": b}), kit, {"X"}) == {"X": 1}


def test_extension_edge_on_a_seam_between_drawn_shapes(kit):
    """`other`'s edge along the seam of two abutting `layer` rectangles is
    inside the merged layer (the seam is not a boundary)."""
    a = [(0, 0, 4, 0.5), (0, 0.5, 4, 4)]
    b = [(1, 0.5, 3, 10)]
    assert counts(library({"A": a, "B": b}), kit, {"X"}) == {"X": 1}
    assert compare(kit, [np.array(p) * 1000 for p in ([[0, 0], [4, 0], [4, 0.5], [0, 0.5]], [[0, 0.5], [4, 0.5], [4, 4], [0, 4]])],
                   [np.array([[1, 0.5], [3, 0.5], [3, 10], [1, 10]]) * 1000], kinds=("extension",))["extension"][:2] == (1, 1)


def test_overlap_width(kit):
    assert counts(library({"A": [(0, 0, 5, 10)], "B": [(4, -2, 9, 12)]}), kit, {"O"}) == {}
    r = run_drc(shapes_from_library(library({"A": [(0, 0, 5, 10)], "B": [(4.2, -2, 9, 12)]}), kit), kit,
                [r for r in kit.rules if r.id == "O"])
    assert r.counts() == {"O": 1} and r.violations[0].measured_um == pytest.approx(0.8)
    # no overlap at all: nothing to measure
    assert counts(library({"A": [(0, 0, 5, 10)], "B": [(6, -2, 9, 12)]}), kit, {"O"}) == {}


def test_must_overlap(kit):
    lib = library({"A": [(0, 0, 2, 2), (5, 0, 7, 2), (10, 0, 12, 2), (20, 0, 21, 1), (21, 0, 22, 1)],
                   "B": [(1.999, 0, 3, 2), (7, 0, 8, 2), (21.5, 0.5, 23, 3)]})
    r = run_drc(shapes_from_library(lib, kit), kit, [r for r in kit.rules if r.id == "MO"])
    # (5..7) only touches B, (10..12) is alone; the touching pair 20..22 is
    # one merged polygon that overlaps
    assert r.counts() == {"MO": 2}
    assert sorted(v.measured_um for v in r.violations) == [pytest.approx(4.0), pytest.approx(4.0)]


def test_not_overlap(kit):
    assert counts(library({"A": [(0, 0, 2, 2)], "B": [(2, 0, 4, 2), (0, 2, 2, 4)]}), kit, {"NO"}) == {}
    lib = library({"A": [(0, 0, 2, 2), (1, 1, 3, 3)], "B": [(1.5, 0, 4, 4), (-1, -1, 0.001, 0.5)]})
    r = run_drc(shapes_from_library(lib, kit), kit, [r for r in kit.rules if r.id == "NO"])
    assert r.counts() == {"NO": 2}
    assert sorted(v.measured_um for v in r.violations) == [pytest.approx(0.0005), pytest.approx(1.0 + 3.0 - 0.5)]


def test_area_merges_touching_and_corner_shapes(kit):
    # 4 um^2 limit: 2x2 passes, 2x1.999 fails, two 1x2 halves touching pass
    assert counts(library({"A": [(0, 0, 2, 2), (5, 0, 6, 2), (6, 0, 7, 2)]}), kit, {"AR"}) == {}
    r = run_drc(shapes_from_library(library({"A": [(0, 0, 2, 1.999)]}), kit), kit, [r for r in kit.rules if r.id == "AR"])
    assert r.counts() == {"AR": 1} and r.violations[0].measured_um == pytest.approx(3.998)
    # corner-touching squares are one polygon in KLayout: 2 + 2 um^2 = ok
    kiss = [(0, 0, 2, 1), (2, 1, 4, 2)]
    assert counts(library({"A": kiss}), kit, {"AR"}) == {}
    assert counts(library({"A": kiss[:1]}), kit, {"AR"}) == {"AR": 1}
    # a ring: its area excludes the hole
    ring = [(0, 0, 3, 0.5), (0, 2.5, 3, 3), (0, 0, 0.5, 3), (2.5, 0, 3, 3)]  # 9 - 4 = 5 um^2
    assert counts(library({"A": ring}), kit, {"AR"}) == {}
    ring = [(0, 0, 2.9, 0.5), (0, 2.4, 2.9, 2.9), (0, 0, 0.5, 2.9), (2.4, 0, 2.9, 2.9)]  # 8.41 - 3.61 = 4.8
    assert counts(library({"A": ring}), kit, {"AR"}) == {}
    ring = [(0, 0, 2.7, 0.4), (0, 2.3, 2.7, 2.7), (0, 0, 0.4, 2.7), (2.3, 0, 2.7, 2.7)]  # 7.29 - 3.61 = 3.68
    assert counts(library({"A": ring}), kit, {"AR"}) == {"AR": 1}


def test_hole_area(kit):
    def frame(x, hw, hh):
        return [(x, 0, x + hw + 2, 1), (x, hh + 1, x + hw + 2, hh + 2), (x, 0, x + 1, hh + 2), (x + hw + 1, 0, x + hw + 2, hh + 2)]

    lib = library({"A": frame(0, 2, 2) + frame(10, 2, 1.999) + frame(20, 1, 1)})
    r = run_drc(shapes_from_library(lib, kit), kit, [r for r in kit.rules if r.id == "H"])
    assert r.counts() == {"H": 2}
    assert sorted(v.measured_um for v in r.violations) == [pytest.approx(1.0), pytest.approx(3.998)]
    # an open U is no hole; an island inside a hole does not shrink the hole
    u = [(0, 0, 3, 1), (0, 0, 1, 3), (2, 0, 3, 3)]
    island = frame(10, 2, 2) + [(11.5, 1.5, 12.5, 2.5)]
    assert counts(library({"A": u + island}), kit, {"H"}) == {}


# ------------------------------------------------------- random vs KLayout --


def _box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.int64)


def _random_layer(rng, n: int, grid: int, rings: bool) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        x, y = rng.integers(0, 100, 2) * grid
        w, h = rng.integers(1, 30, 2) * grid
        out.append(_box(x, y, x + w, y + h))
        if rng.random() < 0.3:  # L shape
            out.append(_box(x, y, x + rng.integers(1, 30) * grid, y + rng.integers(1, 8) * grid))
        if rings and rng.random() < 0.4:  # a frame: a hole (maybe split by other shapes)
            t = int(rng.integers(1, 4)) * grid
            W, H = int(rng.integers(3, 25)) * grid, int(rng.integers(3, 25)) * grid
            out += [_box(x, y, x + W, y + t), _box(x, y + H - t, x + W, y + H), _box(x, y, x + t, y + H), _box(x + W - t, y, x + W, y + H)]
    return out


def _contacts(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    """Either layer touches itself, or the two touch each other, at a single
    point (KLayout reports zero-distance pairs there; see flow.drc.edges)."""
    ea, _ = E.merge_edges(a)
    eb, _ = E.merge_edges(b)
    for e in (ea, eb):
        _, c = np.unique(e[:, :2], axis=0, return_counts=True)
        if (c > 1).any():
            return True
    pa = {tuple(p) for p in ea[:, :2].tolist()}
    pb = {tuple(p) for p in eb[:, :2].tolist()}
    return bool(pa & pb)


@pytest.mark.parametrize("seed", range(5))
def test_random_layouts_match_klayout(tmp_path, seed):
    rng = np.random.default_rng(seed)
    tally = {k: [0, 0] for k in KINDS}
    fired = {k: 0 for k in KINDS}
    for case in range(30):
        d = int(rng.integers(1, 12)) * 10 + int(rng.integers(0, 2)) * 5
        area = int(rng.integers(1, 40)) * 100 * 100
        kit = load_rules_file(rules_file(tmp_path, all_kinds(d / 1000, area / 1e6), f"r{case}.toml"))
        a = _random_layer(rng, int(rng.integers(2, 10)), 10, rings=True)
        b = _random_layer(rng, int(rng.integers(2, 8)), 5, rings=False)
        contact = _contacts(a, b)
        for kind, (ours, theirs, our_area, their_area) in compare(kit, a, b).items():
            fired[kind] += theirs
            if kind == "overlap" or (contact and kind in ("notch", "extension")):
                # known differences (flow.drc.edges): point contacts; for
                # overlap, a corner-to-corner pair whose near part is about
                # 1 dbu long, cut off by the edge on the other side of the
                # corner (KLayout keeps it); counted, not asserted
                tally[kind][0] += 1
                tally[kind][1] += ours == theirs
                continue
            assert (ours, our_area) == (theirs, their_area), (seed, case, kind)
    assert all(fired[k] > 0 for k in ("notch", "extension", "overlap", "must_overlap", "not_overlap", "area")), fired
    n, same = tally["overlap"]
    assert same >= 0.95 * n, tally


@pytest.mark.parametrize("seed", range(2))
def test_random_layouts_projection_metric(tmp_path, seed):
    """metric = "projection": notch, extension and overlap equal KLayout's
    projection checks."""
    rng = np.random.default_rng(100 + seed)
    fired = 0
    for case in range(30):
        d = int(rng.integers(1, 12)) * 10 + 5
        body = "".join(rule(k[0], k, d / 1000, "B" if k != "notch" else None) + 'metric = "projection"\n'
                       for k in ("notch", "extension", "overlap"))
        kit = load_rules_file(rules_file(tmp_path, body, f"p{case}.toml"))
        assert {r.metric for r in kit.rules} == {"projection"}
        a = _random_layer(rng, 8, 10, rings=True)
        b = _random_layer(rng, 6, 5, rings=False)
        if _contacts(a, b):
            continue
        for kind, (ours, theirs, our_area, their_area) in compare(kit, a, b).items():
            fired += theirs
            assert (ours, our_area) == (theirs, their_area), (seed, case, kind)
    assert fired > 20


def test_random_holes_match_klayout(tmp_path):
    """Frames split and filled by other frames and islands: hole count and
    area per threshold as KLayout's holes.with_area."""
    rng = np.random.default_rng(7)
    found = 0
    for case in range(20):
        a = _random_layer(rng, 8, 10, rings=True)
        e, _ = E.merge_edges(a)
        ours = S.holes(e)
        theirs = region(a).holes()
        assert len(ours) == theirs.count()
        assert sum(ar for _, ar in ours) == theirs.area()
        found += len(ours)
        for limit in (100, 2500, 40000):
            small = [p for p, ar in ours if S._below(ar, limit)]
            assert len(small) == theirs.with_area(None, limit, False).count()
            assert region(small).area() == theirs.with_area(None, limit, False).area()
    assert found > 10


# --------------------------------------------------------- hierarchical input --


def test_hierarchical_gds_matches_klayout(tmp_path):
    """References, rotated references and arrays: pilotflow reads them flat;
    KLayout checks the same cells through a recursive shape iterator."""
    kit = load_rules_file(rules_file(tmp_path, all_kinds(0.5, 3.0)))
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    leaf = lib.new_cell("LEAF")
    # a U with a 0.4 notch, a small square, a frame with a 1 um^2 hole
    leaf.add(gdstk.Polygon([(0, 0), (3, 0), (3, 3), (1.7, 3), (1.7, 1), (1.3, 1), (1.3, 3), (0, 3)], layer=1))
    leaf.add(gdstk.rectangle((4, 0), (5, 1), layer=1))
    for r in [(6, 0, 9, 1), (6, 2, 9, 3), (6, 0, 7, 3), (8, 0, 9, 3)]:
        leaf.add(gdstk.rectangle(r[:2], r[2:], layer=1))
    # a gate crossing B with 0.3 extension on top, B overlapping the U by 0.2
    leaf.add(gdstk.rectangle((10, -0.6), (10.25, 3.3), layer=1))
    leaf.add(gdstk.rectangle((9.5, 0), (11, 3), layer=2))
    leaf.add(gdstk.rectangle((2.8, -1), (3.6, 0.5), layer=2))
    mid = lib.new_cell("MID")
    mid.add(gdstk.Reference(leaf, (0, 0)))
    mid.add(gdstk.Reference(leaf, (30, 0), rotation=np.pi / 2))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(mid, (0, 0), columns=3, rows=2, spacing=(60, 20)))
    top.add(gdstk.Reference(leaf, (0, -20), x_reflection=True))
    path = tmp_path / "hier.gds"
    lib.write_gds(str(path))

    res = run_drc(read_gds(path, kit, top="TOP"), kit)
    ly = kdb.Layout()
    ly.read(str(path))
    cell = ly.cell("TOP")
    ra = kdb.Region(cell.begin_shapes_rec(ly.find_layer(1, 0))).merged()
    rb = kdb.Region(cell.begin_shapes_rec(ly.find_layer(2, 0))).merged()
    copies = 3 * 2 + 1
    for r in kit.rules:
        theirs = klayout_markers(r.kind, ra, rb, kit.dbu(r.value), round(S.area_dbu2(kit, r.value)))
        ours = [v for v in res.violations if v.rule_id == r.id]
        assert (len(ours), marker_area(ours)) == (theirs.count(), their_area(theirs)), r.kind
        assert len(ours) >= copies, (r.kind, len(ours))


# ---------------------------------------------------------- real layouts --

BENCH = Path(__file__).parents[2].parent / "shared" / "bench" / "drc"

SKY130 = """
[layers.diff]
gds = [65, 20]
purpose = "device"
[layers.poly]
gds = [66, 20]
purpose = "device"
[layers.licon]
gds = [66, 44]
purpose = "cut"
[layers.li1]
gds = [67, 20]
purpose = "routing"
[layers.mcon]
gds = [67, 44]
purpose = "cut"
[layers.met1]
gds = [68, 20]
purpose = "routing"
"""


def _sky130_rules() -> str:
    r = ""
    for layer, v in (("li1", 0.17), ("li1", 0.5), ("met1", 0.14), ("met1", 0.5)):
        r += rule(f"{layer}.notch.{v}", "notch", v, layer=layer)
    r += rule("poly.ext.diff", "extension", 0.13, "diff", layer="poly")
    r += rule("poly.ext.diff.big", "extension", 0.3, "diff", layer="poly")
    r += rule("li1.ovl.met1", "overlap", 0.3, "met1", layer="li1")
    r += rule("mcon.on.met1", "must_overlap", None, "met1", layer="mcon")
    r += rule("licon.on.poly", "must_overlap", None, "poly", layer="licon")
    r += rule("licon.poly.diff", "not_overlap", None, "diff", layer="poly")
    r += rule("li1.area", "area", 0.0561, layer="li1")
    r += rule("met1.area", "area", 0.2, layer="met1")
    r += rule("li1.hole", "hole", 0.5, layer="li1")
    r += rule("met1.hole", "hole", 0.5, layer="met1")
    return r


def _bench() -> list[Path]:
    return sorted((BENCH / "sky130").rglob("*.gds")) if BENCH.is_dir() else []


def _layer_region(ly: kdb.Layout, cell: kdb.Cell, gds: tuple[int, int], dbu_um: float = 0.001) -> kdb.Region:
    """Merged shapes of one layer, in ``dbu_um`` units (the kit's dbu; the
    sky130 files use 5 nm)."""
    li = ly.find_layer(*gds)
    reg = (kdb.Region(cell.begin_shapes_rec(li)) if li is not None else kdb.Region()).merged()
    mag = ly.dbu / dbu_um
    assert abs(mag - round(mag)) < 1e-9
    return reg.transformed(kdb.ICplxTrans(round(mag))) if round(mag) != 1 else reg


@pytest.mark.skipif(not BENCH.is_dir(), reason=f"benchmark data not found at {BENCH}")
@pytest.mark.parametrize("tile", [0.0, 1.0], ids=["untiled", "tiled"])
@pytest.mark.parametrize("path", _bench() or [None], ids=lambda p: p.name if p else "none")
def test_sky130_layouts_match_klayout(path, tile, tmp_path):
    """Untiled, and tiled from the on-disk store in 1 um tiles (notches
    then span tiles: each tile takes its polygons' labels from the whole
    layer, flow.drc.labels)."""
    if path is None:
        pytest.skip(f"no sky130 layouts under {BENCH}")
    p = tmp_path / "sky.toml"
    p.write_text(SKY130 + _sky130_rules())
    kit = load_rules_file(p)
    if tile:
        from flow.geometry.store import build_store

        res = run_drc(build_store(path, kit, None), kit, tile_um=tile)
        assert any(n.startswith("tiled:") and "whole layout" not in n for n in res.notes), res.notes
    else:
        res = run_drc(read_gds(path, kit), kit, tile_um=0)
    ly = kdb.Layout()
    ly.read(str(path))
    top = ly.top_cell()
    regs = {n: _layer_region(ly, top, lay.gds, kit.dbu_um) for n, lay in kit.layers.items()}
    for r in kit.rules:
        theirs = klayout_markers(r.kind, regs[r.layer], regs.get(r.other) if r.other else None,
                                 kit.dbu(r.value), round(S.area_dbu2(kit, r.value)))
        ours = [v for v in res.violations if v.rule_id == r.id]
        assert (len(ours), marker_area(ours)) == (theirs.count(), their_area(theirs)), (path.name, r.id)


@pytest.mark.skipif(not BENCH.is_dir(), reason=f"benchmark data not found at {BENCH}")
def test_sky130_notches_found():
    """The met1 notch rule does find a notch (in test_violators.gds): the
    comparison above is not only on empty results."""
    if not _bench():
        pytest.skip("no sky130 layouts")
    total = 0
    for path in _bench():
        ly = kdb.Layout()
        ly.read(str(path))
        total += _layer_region(ly, ly.top_cell(), (68, 20)).notch_check(140).count()  # met1 notch 0.14 um
    assert total > 0


@pytest.mark.skipif(not (BENCH / "klayout" / "drctest.gds").is_file(), reason="KLayout's drctest.gds not found")
@pytest.mark.parametrize("tile", [0.0, 6.0], ids=["untiled", "tiled"])
def test_klayout_drctest_matches(tmp_path, tile):
    cell = "TOPTOP_SMALL"  # TOPTOP_BIG: the same, arrayed (minutes to run)
    body = "".join(rule(f"N{v}", "notch", v) for v in (0.2, 0.5, 1.0)) + rule("AR", "area", 1.0) + rule("H", "hole", 2.0)
    body += rule("X", "extension", 0.5, "B") + rule("O", "overlap", 0.5, "B") + rule("NO", "not_overlap", None, "B")
    kit = load_rules_file(rules_file(tmp_path, body))
    path = BENCH / "klayout" / "drctest.gds"
    res = run_drc(read_gds(path, kit, top=cell), kit, tile_um=tile)
    assert any(n.startswith("tiled:") for n in res.notes) == bool(tile)
    ly = kdb.Layout()
    ly.read(str(path))
    c = ly.cell(cell)
    ra, rb = _layer_region(ly, c, (1, 0), kit.dbu_um), _layer_region(ly, c, (2, 0), kit.dbu_um)
    for r in kit.rules:
        theirs = klayout_markers(r.kind, ra, rb, kit.dbu(r.value), round(S.area_dbu2(kit, r.value)))
        ours = [v for v in res.violations if v.rule_id == r.id]
        assert (len(ours), marker_area(ours)) == (theirs.count(), their_area(theirs)), r.id


# ------------------------------------------------------------- self-tests --


def test_selftests_pass_for_many_values(tmp_path):
    body = ""
    for i, v in enumerate((0.002, 0.25, 1.0, 3.333, 20.0)):
        body += (rule(f"N{i}", "notch", v) + rule(f"X{i}", "extension", v, "B") + rule(f"O{i}", "overlap", v, "B")
                 + rule(f"AR{i}", "area", v) + rule(f"H{i}", "hole", v))
    body += rule("MO", "must_overlap", None, "B") + rule("NO", "not_overlap", None, "B")
    kit = load_rules_file(rules_file(tmp_path, body))
    report = check_kit(kit, standalone=True, sections=["rules"])
    assert report.ok, [f.detail for f in report.findings if not f.ok]
    assert report.selftested == len(kit.rules)


def test_selftest_fail_cases_have_exact_counts(tmp_path):
    kit = load_rules_file(rules_file(tmp_path, all_kinds(1.0, 4.0)))
    from pdk.check import selftest_cases, selftest_shapes

    seen = set()
    for c in selftest_cases(kit):
        got = run_drc(selftest_shapes(kit, c.test), kit, rules=[c.rule]).counts().get(c.rule.id, 0)
        assert got == c.test.expected, (c.rule.id, c.test.name)
        if c.test.expected:
            seen.add(c.rule.kind)
    assert seen == set(KINDS)


# ---------------------------------------------------------------- bad data --


@pytest.mark.parametrize(
    "body, message",
    [
        (rule("N", "notch", None), "rules[0].value: missing required key"),
        (rule("N", "notch", 1.0, "B"), "rules[0].other: a notch rule takes no second layer"),
        (rule("N", "notch", -1.0), "rules[0].value"),
        (rule("X", "extension", 0.5), "rules[0].other: a extension rule needs a second layer 'other'"),
        (rule("X", "extension", 0.0005, "B"), "is not on the 0.001 um grid"),
        (rule("O", "overlap", 0.0, "B"), "rules[0].value"),
        (rule("MO", "must_overlap", 1.0, "B"), "rules[0].value: this rule kind takes no value"),
        (rule("NO", "not_overlap", None, "C"), "rules[0].other: 'C' is not a layer; layers are A, B"),
        (rule("AR", "area", 1.0, "B"), "rules[0].other: a area rule takes no second layer"),
        (rule("H", "hole", 0.0), "rules[0].value"),
        (rule("H", "hole", None), "rules[0].value: missing required key"),
    ],
)
def test_bad_rules_rejected(tmp_path, body, message):
    with pytest.raises(PDKError) as e:
        load_rules_file(rules_file(tmp_path, body))
    assert message in str(e.value)


def test_bad_rules_through_cli_list_every_problem(tmp_path):
    body = rule("N", "notch", 1.0, "B") + rule("MO", "must_overlap", 2.0, "B") + rule("AR", "area", -3.0)
    p = rules_file(tmp_path, body)
    gds = tmp_path / "x.gds"
    library({"A": [(0, 0, 1, 1)]}).write_gds(str(gds))
    r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(p)])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    for frag in ("rules[0].other", "rules[1].value", "rules[2].value"):
        assert frag in r.output
    assert r.output.startswith("Error: ")


def test_clean_layout_through_cli(tmp_path):
    p = rules_file(tmp_path, all_kinds(1.0, 4.0))
    gds = tmp_path / "ok.gds"
    library({"A": [(0, 0, 3, 3)], "B": [(1, -2, 5, 5)]}).write_gds(str(gds))
    # A overlaps B by 2 um; but A & B is not empty: one not_overlap marker
    r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(p)])
    assert r.exit_code == 1, r.output
    assert "NO" in r.output


@pytest.mark.parametrize(
    "name, a, b",
    [
        # `other` inside `layer` with one edge on `layer`'s boundary: that
        # edge of `layer` shields the pair across the 10 dbu wide overlap
        ("other on layer's edge", [(600, 200, 610, 400)], [(475, 215, 610, 260)]),
        ("other abutting layer", [(300, 300, 420, 430)], [(360, 415, 460, 475)]),
        # corners touching: the collinear pair touching end to end is reported
        ("corners touching", [(20, 170, 160, 320)], [(160, 100, 285, 170)]),
        ("corners touching, covered", [(20, 170, 160, 320), (100, 100, 300, 171)], [(160, 100, 285, 170)]),
    ],
)
@pytest.mark.parametrize("kind", ["overlap", "separation", "enclosing"])
def test_two_layer_shielding_like_klayout(name, a, b, kind):
    """The cases behind overlap's earlier ~98% agreement: an edge of one
    layer lying on the line of the other layer's pair edge shields the pair
    (KLayout's two-layer checks), and collinear pairs touching end to end
    are never shielded.  Markers equal klayout.db's, edge for edge."""
    pa = [_box(*r) for r in a]
    pb = [_box(*r) for r in b]
    ea, _ = E.merge_edges(pa)
    eb, _ = E.merge_edges(pb)
    m = kdb.Metrics.Euclidian
    ra, rb = region(pa), region(pb)
    if kind == "overlap":
        theirs, (x, y) = ra.overlap_check(rb, 80, False, m), (ea, eb)
    elif kind == "separation":
        theirs, (x, y) = ra.separation_check(rb, 80, False, m), (E.reverse(ea), E.reverse(eb))
    else:
        theirs, (x, y) = ra.enclosing_check(rb, 80, False, m), (ea, E.reverse(eb))
    _, _, ours, _ = E.facing_pairs(x, y, 80)

    def canon(e):
        e = tuple(int(v) for v in e)
        return e if e[:2] <= e[2:] else e[2:] + e[:2]

    got = sorted((canon(p[0]), canon(p[1])) for p in ours.tolist())
    want = sorted((canon((ep.first.p1.x, ep.first.p1.y, ep.first.p2.x, ep.first.p2.y)),
                   canon((ep.second.p1.x, ep.second.p1.y, ep.second.p2.x, ep.second.p2.y))) for ep in theirs.each())
    assert got == want
