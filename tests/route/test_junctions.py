"""Junction fills: a wire meeting its net's pin narrower than its current needs.

The necks are found as the ``current_density`` DRC finds them; every result
is re-measured with KLayout (``Region.width_check`` on the merged metal).
"""

from __future__ import annotations

import klayout.db as kdb
import numpy as np
import pytest

from flow.route.junctions import junction_fills, necks

UM = 1000
REGION = (-200 * UM, -200 * UM, 200 * UM, 200 * UM)
PIN = (0, 0, 15_500, 10_000)  # a device pin, 15.5 x 10 um
# a 14.5 um wire overlapping the pin's lower right corner (3 x 8.5 um)
GRAZE = (12_500, -6_000, 80_000, 8_500)
W = 10_000  # the current needs 10 um


def klayout_necks(rects, width, device):
    """KLayout's width check on the merged metal, without pairs wholly on ``device``."""
    reg = kdb.Region()
    for r in rects:
        reg.insert(kdb.Box(*r))
    dev = kdb.Region()
    for r in device:
        dev.insert(kdb.Box(*r))
    out = []
    for ep in reg.merged().width_check(width).each():
        pts = [ep.first.p1, ep.first.p2, ep.second.p1, ep.second.p2]
        if all(any(kdb.Box(*d).contains(p) for d in device) for p in pts):
            continue
        out.append(ep)
    return out


def fills(own, others=(), clearance=3 * UM, self_space=3 * UM, max_width=None):
    arr = np.array([(*r, o) for r, o in others], dtype=np.int64).reshape(-1, 5)
    return junction_fills(
        own, [PIN], W, arr, lambda o, fw: clearance, lambda fw: self_space, REGION, 2 * UM, max_width, clearance
    )


def test_neck_found_as_klayout_finds_it():
    assert len(necks([PIN, GRAZE], W, [PIN])) >= 1
    assert len(klayout_necks([PIN, GRAZE], W, [PIN])) >= 1
    # a wire landing across the whole pin height has no neck
    assert necks([PIN, (12_500, -2_000, 80_000, 12_500)], W, [PIN]) == []


def test_grazing_wire_filled_to_full_width():
    f = fills([PIN, GRAZE])
    assert f, "the corner junction is filled"
    assert necks([PIN, GRAZE, *f], W, [PIN]) == []
    assert klayout_necks([PIN, GRAZE, *f], W, [PIN]) == []
    # the fill joins pin and wire (it overlaps both)
    for g in f:
        assert g[0] < PIN[2] and g[2] > GRAZE[0]


def test_fill_keeps_clearance_to_other_nets():
    """Other metal below the pin (3 um clearance): the fill stays clear of it."""
    other = ((-20_000, -40_000, 11_000, -3_500), 7)
    f = fills([PIN, GRAZE], [other])
    assert f
    reg = kdb.Region()
    for g in f:
        reg.insert(kdb.Box(*g))
    o = kdb.Region(kdb.Box(*other[0]))
    assert reg.separation_check(o, 3 * UM).count() == 0
    assert (reg & o).is_empty()
    assert klayout_necks([PIN, GRAZE, *f], W, [PIN]) == []


def test_no_room_leaves_the_neck():
    """Other nets' metal hugging the junction on every side: no fill, the
    neck stays (the DRC then reports it)."""
    walls = [
        ((-30_000, -30_000, 100_000, -9_000), 1),  # below the wire
        ((-30_000, 13_000, 100_000, 40_000), 2),  # above the pin
        ((-30_000, -9_000, -3_000, 13_000), 3),  # left of the pin
        ((-3_000, -9_000, 9_500, -3_000), 4),  # under the pin, left of the wire
        ((18_500, 11_500, 100_000, 13_000), 5),  # over the wire, right of the pin
    ]
    assert fills([PIN, GRAZE], walls) == []
    assert necks([PIN, GRAZE], W, [PIN])


def test_fill_never_wider_than_max_width():
    f = fills([PIN, GRAZE], max_width=5_000)
    assert all(min(g[2] - g[0], g[3] - g[1]) <= 5_000 for g in f)


@pytest.mark.parametrize("dx", [0, 1_500, 4_000])
def test_corner_joins_of_two_wires(dx):
    """Two wires of the net meeting at an offset corner (no pin): filled."""
    a = (0, 0, 40_000, 12_000)
    b = (40_000 - 6_000 + dx, 6_000, 52_000 + dx, 60_000)
    f = junction_fills([a, b], [], W, np.zeros((0, 5), np.int64), lambda o, fw: 0, lambda fw: 3 * UM, REGION, 2 * UM)
    assert klayout_necks([a, b, *f], W, []) == []


@pytest.mark.parametrize("dx", [0.3, 2.7, 4.9])
def test_router_lands_a_wide_wire_across_its_pins(gan650, monkeypatch, dx):
    """A 50 mA net (10 um of MET1) between two 15.5 x 10 um pins off the
    routing grid, beside a logic net: routed without fills, the wire meets
    a pin through a neck; with them, KLayout finds no part of the net's
    merged metal narrower than 10 um except within the pins, and the
    routing stays clean (width, spacing, enclosure, connectivity)."""
    from route_cases import all_shapes, connectivity_problems, drc_violations, pin, rect_um, scene

    from flow.route import route, router
    from flow.route.netclass import limits, net_rules

    obs, terms = scene({
        "p": [pin("p", "MET1", 20 + dx, 20 + dx, 35.5 + dx, 30 + dx), pin("p", "MET1", 180 + dx, 150, 195.5 + dx, 160)],
        "q": [pin("q", "MET1", 20, 60, 30, 70), pin("q", "MET1", 200, 60, 210, 70)],
    })
    rules = net_rules(gan650, {"p": (6.0, 0.05), "q": (6.0, 0.005)}, limits(gan650))
    width = gan650.dbu(rules["p"].need["MET1"])
    pins = [p.rect for p in obs if p.net == "p" and p.layer == "MET1"]
    region = rect_um(0, 0, 240, 240)

    def metal(r):
        return [s.rect for s in r.shapes["p"] if s.layer == "MET1"] + pins

    r = route(gan650, region, obs, terms, rules=rules)
    assert r.unrouted == {}
    assert klayout_necks(metal(r), width, pins) == []
    assert drc_violations(gan650, all_shapes(obs, r)) == []
    assert connectivity_problems(gan650, obs, terms, r) == []
    monkeypatch.setattr(router, "junction_fills", lambda *a, **k: [])
    bare = route(gan650, region, obs, terms, rules=rules)
    assert klayout_necks(metal(bare), width, pins), "without fills the wire meets a pin through a neck"


def test_wires_are_cut_back_off_net_ties():
    """A wire rectangle overlapping a net-tie marker is cut back to the
    tie's edge along the axis that removes the least metal (gan_halfbridge's
    Kelvin wire reached 0.5 um over the hemtek tie and left a sliver once
    the tie's metal was cut out of the nets); one that would fall below
    the minimum width stays."""
    import pdk

    from flow.route import Shape
    from flow.route.grid import make_grid
    from flow.route.router import _off_ties

    kit = pdk.load("gan650")
    grid = make_grid(kit, REGION)
    tie = ("MET1", (-3_000, 0, 0, 5_000))  # a 3 x 5 um tie left of a pin at x >= 0
    wire = Shape("MET1", (-500, -32_000, 13_500, 5_500), "KS")
    other = Shape("MET2", (-500, -32_000, 13_500, 5_500), "KS")  # another metal: untouched
    thin = Shape("MET1", (-2_500, 1_000, -1_000, 4_000), "KS")  # inside the tie, 1.5 um: stays
    (w, o, t) = _off_ties([wire, other, thin], [tie], grid)
    assert w.rect == (0, -32_000, 13_500, 5_500)
    assert o == other and t == thin

