"""The streamed on-disk layout store (flow.geometry.store) against read_gds,
and a tiled DRC run from it against the whole-layout run and KLayout."""

from __future__ import annotations

import math

import gdstk
import numpy as np
import pytest

from benchdata import bench_path
from flow.drc.engine import run_drc
from flow.errors import InputError
from flow.geometry.gdsio import read_gds
from flow.geometry.store import Unsupported, build_store, open_layout
from pdk.schema import load_rules_file

RULES = """
[layers.M1]
gds = [1, 0]
label = [1, 10]
purpose = "routing"
[layers.M2]
gds = [2, 0]
purpose = "routing"
[[rules]]
id = "M1.S"
kind = "spacing"
layer = "M1"
value = 0.5
[[rules]]
id = "M1.W"
kind = "width"
layer = "M1"
value = 0.4
[[rules]]
id = "M2.ENC"
kind = "enclosure"
layer = "M2"
other = "M1"
value = 0.1
"""


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    p = tmp_path_factory.mktemp("store") / "rules.toml"
    p.write_text(RULES)
    return load_rules_file(p)


def _canon(polys) -> list:
    out = []
    for p in polys:
        p = np.asarray(p)
        i = int(np.lexsort((p[:, 1], p[:, 0]))[0])
        out.append(tuple(map(tuple, np.roll(p, -i, axis=0).tolist())))
    return sorted(out)


def _marker(v) -> tuple:
    """A violation with its polygon marker starting at its lowest vertex."""
    if v.is_edge_pair:
        return (v.rule_id, "e", v.marker, v.measured_um)
    pts = list(v.marker)
    k = pts.index(min(pts))
    return (v.rule_id, "p", tuple(pts[k:] + pts[:k]), v.measured_um)


def _same(store, shapes, kit) -> None:
    got = store.shapes()
    for n in kit.layers:
        assert _canon(got.polygons[n]) == _canon(shapes.polygons[n]), n
        assert sorted(got.labels[n]) == sorted(shapes.labels[n]), n
    assert got.unknown_layers == shapes.unknown_layers
    assert got.unknown_shapes == shapes.unknown_shapes
    assert got.top == shapes.top


def _hier_library(unit: float = 1e-6, precision: float = 1e-9) -> gdstk.Library:
    """References with rotation, reflection, magnification, arrays, nested
    cells, paths (flush, extended, custom ends), labels in a subcell, a
    polygon on a layer the kit does not know."""
    lib = gdstk.Library(unit=unit, precision=precision)
    leaf = lib.new_cell("LEAF")
    leaf.add(gdstk.rectangle((0, 0), (2, 1), layer=1))
    leaf.add(gdstk.Polygon([(0, 2), (3, 2), (3, 4), (1, 4), (1, 3), (0, 3)], layer=1))
    leaf.add(gdstk.rectangle((-0.2, -0.2), (2.2, 1.2), layer=2))
    leaf.add(gdstk.rectangle((0, 0), (1, 1), layer=7))
    leaf.add(gdstk.Label("VDD", (1, 0.5), layer=1, texttype=10))
    leaf.add(gdstk.FlexPath([(0, 5), (4, 5), (4, 8)], 0.5, ends="flush", simple_path=True, layer=1))
    leaf.add(gdstk.FlexPath([(5, 0), (5, 3)], 0.4, ends="extended", simple_path=True, layer=2))
    leaf.add(gdstk.FlexPath([(6, 0), (9, 0)], 0.3, ends=(0.1, 0.2), simple_path=True, layer=1))
    mid = lib.new_cell("MID")
    mid.add(gdstk.Reference(leaf, (0, 0)))
    mid.add(gdstk.Reference(leaf, (20, 0), rotation=math.pi / 2))
    mid.add(gdstk.Reference(leaf, (0, 20), x_reflection=True, magnification=2))
    mid.add(gdstk.Reference(leaf, (40, 0), rotation=math.pi, x_reflection=True))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(mid, (0, 0), columns=3, rows=2, spacing=(60, 50)))
    top.add(gdstk.Reference(mid, (300, 0), rotation=-math.pi / 2))
    top.add(gdstk.rectangle((0, -10), (100, -9), layer=1))
    return lib


def test_hierarchical_layout_equals_read_gds(kit, tmp_path):
    f = tmp_path / "h.gds"
    _hier_library().write_gds(str(f))
    st = build_store(f, kit, None, tmp_path)
    sh = read_gds(f, kit)
    _same(st, sh, kit)
    assert len(sh.labels["M1"]) == 6 * 4 + 4  # every placement of LEAF's label
    assert st.count("M1") == len(sh.polygons["M1"]) > 100
    # the cell context table knows every placement
    assert len(st.instances) == len(sh.instances)
    assert sorted(st.instances.names) == sorted(sh.instances.names)


def test_database_unit_is_converted(kit, tmp_path):
    # 0.5 nm database unit: coordinates are snapped to the kit's 1 nm grid as read_gds does
    f = tmp_path / "u.gds"
    _hier_library(unit=1e-6, precision=5e-10).write_gds(str(f))
    _same(build_store(f, kit, "TOP", tmp_path), read_gds(f, kit, "TOP"), kit)


def test_bench_layout_equals_read_gds(tmp_path):
    path = bench_path("drc", "sky130", "test_violators.gds")
    p = tmp_path / "r.toml"
    p.write_text(
        '[layers.li1]\ngds = [67, 20]\npurpose = "routing"\n[layers.mcon]\ngds = [67, 44]\npurpose = "cut"\n'
        '[layers.met1]\ngds = [68, 20]\npurpose = "routing"\n'
    )
    k = load_rules_file(p)
    _same(build_store(path, k, None, tmp_path), read_gds(path, k), k)


def test_tiled_run_from_store_equals_untiled_and_klayout(kit, tmp_path):
    """A grid of L shapes, enclosures and narrow wires crossing tiles: the tiled
    run reading tiles from the store gives the markers of the untiled run,
    and the same counts as KLayout."""
    import klayout.db as kdb

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    rng = np.random.default_rng(7)
    for i in range(12):
        for j in range(12):
            x, y = i * 5.0, j * 5.0
            top.add(gdstk.rectangle((x, y), (x + 2, y + 0.3 + 0.1 * rng.integers(0, 4)), layer=1))
            top.add(gdstk.rectangle((x, y + 1.0 + 0.1 * rng.integers(0, 5)), (x + 0.35, y + 3), layer=1))
            top.add(gdstk.rectangle((x - 0.05 * rng.integers(0, 4), y - 0.1), (x + 2.1, y + 0.9), layer=2))
    top.add(gdstk.rectangle((0, 62), (58, 62.3), layer=1))  # a long narrow wire across the tiles
    f = tmp_path / "t.gds"
    lib.write_gds(str(f))
    st = open_layout(f, kit, None)
    tiled = run_drc(st, kit, tile_um=10)
    assert any(n.startswith("tiled:") for n in tiled.notes)
    whole = run_drc(read_gds(f, kit), kit, tile_um=0)
    assert tiled.counts() == whole.counts() and sum(whole.counts().values()) > 50
    assert sorted(map(_marker, tiled.violations)) == sorted(map(_marker, whole.violations))
    # KLayout, flat and merged, same rule values
    ly = kdb.Layout()
    ly.read(str(f))
    c = ly.top_cell()
    m1 = kdb.Region(c.begin_shapes_rec(ly.layer(1, 0))).merged()
    m2 = kdb.Region(c.begin_shapes_rec(ly.layer(2, 0))).merged()
    # enclosure: KLayout's edge pairs, plus the parts of M1 outside M2 (polygon markers)
    theirs = {"M1.S": m1.space_check(500).count(), "M1.W": m1.width_check(400).count(),
              "M2.ENC": m2.enclosing_check(m1, 100).count() + (m1 - m2).count()}
    assert tiled.counts() == {k: v for k, v in theirs.items() if v}
    # the compact markers behave as a sequence of Violations
    v = tiled.violations
    assert len(v) == sum(1 for _ in v) and v[len(v) - 1] == list(v)[-1]


def test_unsupported_input_falls_back(kit, tmp_path):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    top.add(gdstk.FlexPath([(0, 0), (5, 0)], 1.0, ends="round", simple_path=True, layer=1))
    f = tmp_path / "round.gds"
    lib.write_gds(str(f))
    with pytest.raises(Unsupported):
        build_store(f, kit, None, tmp_path)
    got = open_layout(f, kit)
    assert _canon(got.polygons["M1"]) == _canon(read_gds(f, kit).polygons["M1"])


def test_bad_input(kit, tmp_path):
    f = tmp_path / "h.gds"
    _hier_library().write_gds(str(f))
    with pytest.raises(InputError, match="no cell named 'NOPE'; top cells are TOP"):
        build_store(f, kit, "NOPE", tmp_path)
    data = f.read_bytes()
    cut = tmp_path / "cut.gds"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="not a readable GDS file"):
        build_store(cut, kit, None, tmp_path)
    with pytest.raises(InputError, match="not a readable GDS file"):
        build_store(tmp_path / "missing.gds", kit, None, tmp_path)
    two = gdstk.Library()
    two.new_cell("A").add(gdstk.rectangle((0, 0), (1, 1), layer=1))
    two.new_cell("B").add(gdstk.rectangle((0, 0), (1, 1), layer=1))
    two.write_gds(str(tmp_path / "two.gds"))
    with pytest.raises(InputError, match="several top cells"):
        build_store(tmp_path / "two.gds", kit, None, tmp_path)
