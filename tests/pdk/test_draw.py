"""pdk.draw: the dbu shape collector and span growth used by every kit."""

from __future__ import annotations

import doctest

import gdstk
import klayout.db as kdb
import pytest

import pdk
import pdk.draw as draw
from pdk.draw import DbuShapes, grow_span


def test_doctests():
    assert doctest.testmod(draw).failed == 0


def test_build_shifts_to_origin_and_keeps_pins(tmp_path):
    kit = pdk.load("gan650")
    s = DbuShapes()
    s.add("MET1", -5000, 2000, 5000, 8000, terminal="a")
    s.ring("MET2", (-4000, 3000, 4000, 7000), 500)
    assert s.bbox() == (-5000, 2000, 5000, 8000)
    s.pin("a", "MET1", -5000, 2000, -1000, 8000)
    cell = s.build(kit, "t", "pad", {"size": 1.0})
    (x0, y0), (x1, y1) = cell.cell.bounding_box()
    assert (x0, y0, x1, y1) == (0.0, 0.0, 10.0, 6.0)
    assert [p.terminal for p in cell.pins] == ["a"]
    # the ring is four rectangles that merge into one frame with one hole
    path = tmp_path / "t.gds"
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    lib.add(cell.cell)
    lib.write_gds(str(path))
    ly = kdb.Layout()
    ly.read(str(path))
    met2 = kit.layers["MET2"].gds
    r = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*met2))).merged()
    assert r.count() == 1 and r.holes().count() == 1
    assert r.area() == (9000 * 5000 - 8000 * 4000)


@pytest.mark.parametrize(
    "lo, hi, minimum, direction, want",
    [(0, 10, 5, 0, (0, 10)), (0, 4, 10, -1, (-6, 4)), (0, 4, 10, 1, (0, 10)), (0, 4, 9, 0, (-2, 7))],
)
def test_grow_span(lo, hi, minimum, direction, want):
    assert grow_span(lo, hi, minimum, direction) == want
