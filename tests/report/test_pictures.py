"""The report's pictures: layout (colours of the KLayout export, stacking
order, merging, bounded size, DRC markers) and the routing-usage map."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from flow.design import Wire
from flow.geometry.gdsio import LayoutShapes
from flow.report.pictures import _PAD, layout_picture, routing_usage
from pdk.export import render_lyp
from pdk.style import stack_order


def _shapes(kit, **layers):
    polys = {n: [] for n in kit.layers}
    for name, rects in layers.items():
        polys[name] = [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.int64) for x0, y0, x1, y1 in rects]
    return LayoutShapes(polys, {n: [] for n in kit.layers}, "top")


def _paths(svg: str) -> dict[str, dict[str, str]]:
    root = ET.fromstring(str(svg))
    ns = "{http://www.w3.org/2000/svg}"
    return {p.get("data-layer"): p.attrib for p in root.iter(f"{ns}path") if p.get("data-layer")}


def test_colours_are_the_klayout_exports(gan650):
    """Each layer is drawn in the colour the .lyp gives its drawing datatype."""
    lyp = ET.fromstring(render_lyp(gan650))
    lyp_colour = {}
    for p in lyp.iter("properties"):
        name = p.findtext("name")
        if "." not in name.split()[0]:
            lyp_colour[name.split()[0]] = p.findtext("fill-color")
    rect = (0, 0, 20000, 20000)
    shapes = _shapes(gan650, **{n: [rect] for n in gan650.layers})
    pic = layout_picture(shapes, gan650, (0, 0, 100000, 100000))
    paths = _paths(pic.svg)
    assert set(paths) == set(gan650.layers)
    for name, attrs in paths.items():
        colour = attrs.get("fill") if attrs.get("fill") != "none" else attrs.get("stroke")
        assert colour == lyp_colour[name], name
    # stacking order: document order of the paths is the kit's drawing order
    order = [p for p in re.findall(r'data-layer="([^"]+)"', str(pic.svg))]
    assert order == stack_order(gan650)
    assert [lay["name"] for lay in pic.layers] == order


def test_merge_per_layer_and_scale_bar(gan650):
    """Abutting rectangles become one outline; the scale bar is a 1-2-5 length
    whose drawn width matches the picture's scale."""
    shapes = _shapes(gan650, MET1=[(0, 0, 10000, 5000), (10000, 0, 20000, 5000), (50000, 50000, 60000, 60000)])
    pic = layout_picture(shapes, gan650, (0, 0, 100000, 100000), max_px=500)
    lay = pic.layers[0]
    assert (lay["name"], lay["shapes"], lay["polygons"]) == ("MET1", 3, 2)
    assert pic.um_per_px == pytest.approx(0.2)
    bar = re.search(r'<g class="scale-bar"><rect x="[^"]+" y="[^"]+" width="([^"]+)".*?>([\d.]+) µm<', str(pic.svg))
    assert float(bar.group(1)) == pytest.approx(float(bar.group(2)) / 0.2)
    assert float(bar.group(2)) in (1, 2, 5, 10, 20, 50)
    assert not pic.simplified


def test_bounded_size_says_it_is_simplified(gan650):
    """Sub-pixel shapes become whole pixels and the vertex budget keeps the
    largest outlines; the picture says so."""
    big = [(0, 0, 50000, 50000)]
    specks = [(60000 + 2000 * i, 60000, 60000 + 2000 * i + 100, 60100) for i in range(10)]  # 0.1 um at 1 um/px
    many = [(i * 1000, 80000, i * 1000 + 500, 81000) for i in range(80)]  # separate 0.5 x 1 um bars
    shapes = _shapes(gan650, MET1=big + specks, MET2=many)
    pic = layout_picture(shapes, gan650, (0, 0, 100000, 100000), max_px=100, max_points=100)
    assert pic.simplified
    assert any("10 shape(s) smaller than a pixel (1 µm) drawn as the whole pixel" in n for n in pic.notes)
    assert any("left out to keep the picture under 100 vertices" in n for n in pic.notes)
    pts = sum(len(re.findall(r"-?\d+ -?\d+", d)) for d in re.findall(r' d="([^"]+)"', str(pic.svg).split("drc-markers")[0]))
    assert pts <= 100
    assert "MET1" in _paths(pic.svg)  # the largest outline is kept
    unbounded = layout_picture(shapes, gan650, (0, 0, 100000, 100000), max_px=100)
    assert not any("vertices" in n for n in unbounded.notes)


def test_drc_markers_drawn_and_capped(gan650):
    shapes = _shapes(gan650, MET1=[(0, 0, 10000, 10000)])
    markers = [
        {"rule": "MET1.S.1", "title": "MET1.S.1: spacing", "waived": False, "edge_pair": [[1, 1, 1, 5], [2, 5, 2, 1]]},
        {"rule": "MET1.W.1", "title": "MET1.W.1: width <b>", "waived": True, "polygon": [[3, 3], [4, 3], [4, 4]]},
    ]
    pic = layout_picture(shapes, gan650, (0, 0, 10000, 10000), markers, max_px=100)
    svg = str(pic.svg)
    groups = re.findall(r'<g class="drc-marker( waived)?" data-rule="([^"]+)">', svg)
    assert groups == [("", "MET1.S.1"), (" waived", "MET1.W.1")]
    assert "MET1.W.1: width &lt;b&gt;" in svg
    # the edge-pair marker's centre: (1.5, 3) um -> px (10 + 15, 10 + 100 - 30), in tenths
    assert '<circle cx="250" cy="800"' in svg
    capped = layout_picture(shapes, gan650, (0, 0, 10000, 10000), markers * 3, max_px=100, max_markers=4)
    assert capped.markers_drawn == 4 and capped.markers_total == 6
    assert any("4 of 6 DRC markers drawn" in n for n in capped.notes)


def test_routing_usage_counts_overlaps_once():
    """Fractions per bin and metal; two overlapping wires count once; other
    layers (cuts) are ignored."""
    wires = {
        "a": (Wire("MET1", (0, 0, 50, 100)), Wire("MET1", (0, 0, 50, 100)), Wire("VIA1", (0, 0, 100, 100))),
        "b": (Wire("MET2", (100, 0, 200, 25)),),
    }
    usage, xe, ye = routing_usage(wires, ["MET1", "MET2"], (0, 0, 200, 100), (2, 1))
    assert usage["MET1"].tolist() == [[0.5], [0.0]]
    assert usage["MET2"].tolist() == [[0.0], [0.25]]
    assert xe.tolist() == [0, 100, 200]


def test_subpixel_shapes_become_pixel_runs(gan650):
    """Ten 0.1 um specks 0.5 um apart in one row of 1 um pixels: they fill
    five neighbouring pixels, drawn as one 5 x 1 px outline."""
    specks = [(60000 + 500 * i, 60200, 60000 + 500 * i + 100, 60300) for i in range(10)]
    pic = layout_picture(_shapes(gan650, MET1=specks), gan650, (0, 0, 100000, 100000), max_px=100)
    d = _paths(pic.svg)["MET1"]["d"]
    # pixels 60..64 in x, row 60 from the bottom: y from 10 + 100 - 61 = 49 px (tenths of px)
    assert d == "M700 490h50v10h-50Z"


def test_dense_subpixel_field_coarsened_not_dropped(gan650):
    """A field of specks too dense for the vertex budget is drawn in coarser
    blocks (nothing left out), and the picture says so."""
    specks = [(1000 * i + 100, 1000 * j + 100, 1000 * i + 200, 1000 * j + 200) for i in range(0, 100, 2) for j in range(100)]
    pic = layout_picture(_shapes(gan650, MET1=specks), gan650, (0, 0, 100000, 100000), max_px=100, max_points=4000)
    assert any("5000 shape(s) smaller than a pixel" in n and "2 x 2-pixel block" in n for n in pic.notes), pic.notes
    assert not any("left out" in n for n in pic.notes)
    d = _paths(pic.svg)["MET1"]["d"]
    assert d.count("M") * 4 <= 4000
    # every other column of 1 um pixels holds a speck: 2 x 2 blocks join into full rows of blocks
    assert d.count("M") == 50


def test_shapes_thinner_than_the_snap_grid_stay(gan650):
    """A long finger thinner than the picture's snap grid (0.25 um gate
    fingers in a 1.3 mm die: the grid is 0.37 um) was flattened to nothing
    and left out; it is drawn one grid step thick, where it lies."""
    fingers = [(620_750 + 10_250 * k, 432_000, 621_000 + 10_250 * k, 484_000) for k in range(8)]
    pic = layout_picture(_shapes(gan650, GATE=fingers), gan650, (0, 0, 1_318_000, 1_318_000))
    d = _paths(pic.svg)["GATE"]["d"]
    xy = np.array([int(v) for v in re.findall(r"-?\d+", d)]).reshape(-1, 2) / 10.0
    s = 900 / 1_318_000
    assert len(xy) == 4 * 8  # every finger, as a rectangle
    assert abs(xy[:, 0].min() - (_PAD + 620_750 * s)) <= 0.5 and abs(xy[:, 0].max() - (_PAD + 692_750 * s)) <= 0.5
