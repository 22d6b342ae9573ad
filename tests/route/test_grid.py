"""Routing grid derived from the kit's rules, and blockage labels."""

from __future__ import annotations

import numpy as np
import pytest
from route_cases import rect_um, um

from flow.errors import InputError
from flow.route import make_grid
from flow.route.grid import BLOCKED, FREE, Fabric


def test_gan650_grid_geometry(gan650):
    g = make_grid(gan650, rect_um(0, 0, 300, 120))
    assert g.pitch == um(6)  # max(3 + 2, 3 + 3, 2 + 2) um
    assert g.half == (um(1.5), um(1.5))  # VIA1 1 um half + 0.5 um enclosure
    assert g.metals == ("MET1", "MET2") and g.cuts == ("VIA1",)
    assert g.cut_size == (um(2),) and g.cut_spacing == (um(2),)
    assert g.origin == (um(1.5), um(1.5))
    assert g.size == (50, 20, 2)
    # every square lies inside the region; the next column would not
    _, last = g.square(g.flat(1, g.nx - 1, g.ny - 1))
    assert last[2] <= um(300) and last[3] <= um(120)
    assert g.centre(g.nx, 0)[0] + g.half[0] > um(300)
    # adjacent squares of different nets keep every metal's spacing
    for l in range(2):
        assert g.pitch - 2 * g.half[l] >= g.spacing[l]
    assert g.pitch - g.cut_size[0] >= g.cut_spacing[0]
    # a via's cut is enclosed by both landing squares by the rule
    cut = g.cut(0, 3, 4)
    for l in range(2):
        _, sq = g.square(g.flat(l, 3, 4))
        enc = min(cut[0] - sq[0], cut[1] - sq[1], sq[2] - cut[2], sq[3] - cut[3])
        assert enc >= um(0.5)


def test_grid_origin_rounds_inwards(gan650):
    g = make_grid(gan650, (1234, -5678, 100_000, 100_000))
    assert g.origin[0] - g.half[0] >= 1234 and g.origin[1] - g.half[0] >= -5678
    assert g.origin[0] % 500 == 0 and g.origin[1] % 500 == 0


@pytest.mark.parametrize(
    "region, match",
    [
        ((0, 0, 0, 10_000), "empty"),
        ((0, 0, 10_000, -5), "empty"),
        ((0, 0, 2_000, 2_000), "holds no point"),
        ((0, 0, 10**8, 10**8), "limit"),
        ("abc", "region must be"),
    ],
)
def test_bad_region(gan650, region, match):
    with pytest.raises(InputError, match=match):
        make_grid(gan650, region)


def test_labels_foreign_own_and_conflict(gan650):
    g = make_grid(gan650, rect_um(0, 0, 120, 120))
    # net 0 shape, net 1 shape close by, a foreign one far away
    a = rect_um(30, 30, 41, 40)
    b = rect_um(43, 30, 53, 40)
    f = rect_um(90, 90, 100, 100)
    fab = Fabric(g, [("MET1", a, 0), ("MET1", b, 1), ("MET2", f, -1), ("VIA1", rect_um(10, 10, 12, 12), -1)])
    node = fab.node
    # centre (31.5, 33.5) overlaps a only: reserved for net 0
    assert node[0, 5, 5] == 0
    # (43.5, 33.5): square 42..45 overlaps b and is 1 um from a -> nobody
    assert node[0, 5, 7] == BLOCKED
    # (49.5, 33.5): overlaps b, 7 um from a -> net 1
    assert node[0, 5, 8] == 1
    # MET2 untouched by MET1 shapes, blocked around the foreign block
    assert node[1, 5, 5] == FREE
    assert node[1, 15, 15] == BLOCKED
    # vias near the foreign cut are forbidden, far ones allowed
    assert not fab.via_ok[0, 1, 1] and not fab.via_ok[0, 2, 2]
    assert fab.via_ok[0, 5, 5]
    # brute-force check of the node labels against box distances on MET1
    for j in range(g.ny):
        for i in range(g.nx):
            x, y = g.centre(i, j)
            sq = (x - 1500, y - 1500, x + 1500, y + 1500)
            near = [
                k
                for k, r in ((0, a), (1, b))
                if max(r[0] - sq[2], sq[0] - r[2], r[1] - sq[3], sq[1] - r[3]) < um(2)
            ]
            expect = FREE if not near else (near[0] if len(near) == 1 else BLOCKED)
            assert node[0, j, i] == expect, (i, j)


def test_self_blocked_ring_avoids_notches(gan650):
    g = make_grid(gan650, rect_um(0, 0, 120, 120))
    pin = rect_um(30, 30, 40, 40)
    fab = Fabric(g, [("MET1", pin, 0)])
    ring_nodes, _, _ = fab.self_blocked(0)
    for v in range(g.nx * g.ny):  # MET1 only
        _, sq = g.square(v)
        gap = max(pin[0] - sq[2], sq[0] - pin[2], pin[1] - sq[3], sq[1] - pin[3])
        overlap = gap < 0
        if not overlap and gap < um(2):
            assert v in ring_nodes
        if gap >= um(2):
            assert v not in ring_nodes
    ids = fab.overlapping(0, pin)
    assert len(ids) > 0 and np.all(ids < g.nx * g.ny)
