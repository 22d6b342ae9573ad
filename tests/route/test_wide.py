"""Current- and voltage-aware routing: wide wires, via arrays, voltage clearance.

Every result is re-checked by KLayout (route_cases: width, spacing,
enclosure, connectivity), and widths, cut counts and clearances are measured
on the drawn geometry with ``klayout.db.Region``.
"""

from __future__ import annotations

from dataclasses import replace

import klayout.db as kdb
import pytest
from route_cases import all_shapes, connectivity_problems, drc_violations, pin, rect_um, scene

from flow.route import Shape, route
from flow.route.netclass import limits, net_rules
from pdk.schema import Rule

REGION = rect_um(0, 0, 240, 240)


def check(kit, obstacles, terminals, result):
    assert drc_violations(kit, all_shapes(obstacles, result)) == []
    assert connectivity_problems(kit, obstacles, terminals, result) == []


def net_region(shapes, layer):
    r = kdb.Region()
    for s in shapes:
        if s.layer == layer:
            r.insert(kdb.Box(*s.rect))
    return r.merged()


def with_vs(kit):
    """``kit`` with these tests' voltage tables instead of its own."""
    return replace(
        kit,
        rules=tuple(r for r in kit.rules if r.kind != "voltage_spacing")
        + (
            Rule("MET1.VS.1", "voltage_spacing", "MET1", 0.0, table=((0.0, 3.0), (100.0, 5.0), (300.0, 8.0), (600.0, 13.0))),
            Rule("MET2.VS.1", "voltage_spacing", "MET2", 0.0, table=((0.0, 4.0), (300.0, 10.0), (600.0, 16.0))),
        ),
    )


def test_wide_net_width_and_via_arrays(gan650):
    """100 mA from a MET1 pin to a MET2 pin: every wire at least the width
    the current needs, each layer change an array with the cuts it needs."""
    obs, terms = scene(
        {"p": [pin("p", "MET1", 20, 20, 60, 60), pin("p", "MET2", 180, 180, 220, 220)]}
    )
    lim = limits(gan650)
    rules = net_rules(gan650, {"p": (48.0, 0.1)}, lim)
    need = rules["p"].need
    r = route(gan650, REGION, obs, terms, rules=rules)
    assert r.unrouted == {}
    drawn = r.drawn["p"]
    assert drawn["wide"] and drawn["scale"] == 1.0
    shapes = r.shapes["p"]
    for layer in ("MET1", "MET2"):
        reg = net_region(shapes, layer)
        if reg.is_empty():
            continue
        # KLayout: no part of the net's new metal narrower than the width the current needs
        assert reg.width_check(gan650.dbu(need[layer])).count() == 0, layer
        assert drawn["width_um"][layer] >= need[layer]
    cuts = [s for s in shapes if s.layer == "VIA1"]
    assert cuts, "the net changes layer"
    assert drawn["cuts"]["VIA1"] >= rules["p"].cuts["VIA1"] > 1
    assert len(cuts) == r.vias
    check(gan650, obs, terms, r)


def test_thin_nets_unchanged_without_classes(gan650):
    obs, terms = scene({"a": [pin("a", "MET1", 34, 118, 41, 125), pin("a", "MET1", 178, 118, 185, 125)]})
    plain = route(gan650, REGION, obs, terms)
    ruled = route(gan650, REGION, obs, terms, rules=net_rules(gan650, {"a": (5.0, None)}, limits(gan650)))
    assert plain.shapes == ruled.shapes
    assert ruled.drawn["a"]["width_um"] == {"MET1": 3.0} and not ruled.drawn["a"]["wide"]


def test_wide_net_keeps_spacing_to_neighbours(gan650):
    """A wide net between thin nets: the wider wire keeps the spacing to them."""
    obs, terms = scene(
        {
            "w": [pin("w", "MET2", 10, 100, 40, 140), pin("w", "MET2", 200, 100, 230, 140)],
            "a": [pin("a", "MET1", 100, 10, 106, 16), pin("a", "MET1", 100, 224, 106, 230)],
            "b": [pin("b", "MET2", 10, 200, 16, 206), pin("b", "MET2", 224, 200, 230, 206)],
        }
    )
    rules = net_rules(gan650, {"w": (None, 0.2)}, limits(gan650))
    r = route(gan650, REGION, obs, terms, rules=rules)
    assert r.unrouted == {}
    assert r.drawn["w"]["width_um"]["MET2"] >= rules["w"].need["MET2"]
    check(gan650, obs, terms, r)


def _parallel_scene():
    # hv runs left to right; lv has a pin 10.5 um above hv's straight path,
    # closer than the 13 um the table asks for 650 V (fine at 6 V)
    return scene(
        {
            "hv": [pin("hv", "MET1", 20, 100, 30, 110), pin("hv", "MET1", 210, 100, 220, 110)],
            "lv": [pin("lv", "MET1", 20, 135, 30, 145), pin("lv", "MET1", 112, 117, 120, 125)],
        }
    )


def _min_gap(kit, r, obs, layer):
    """Smallest distance between hv's and lv's metal (pins and routes) on ``layer``, dbu."""
    a = net_region(list(r.shapes.get("hv", ())) + [s for s in obs if s.net == "hv"], layer)
    b = net_region(list(r.shapes.get("lv", ())) + [s for s in obs if s.net == "lv"], layer)
    if a.is_empty() or b.is_empty():
        return None
    lo, hi = 0, 100_000
    while lo < hi:  # largest d with no separation marker below d
        mid = (lo + hi + 1) // 2
        if a.separation_check(b, mid).count() == 0:
            lo = mid
        else:
            hi = mid - 1
    return lo


def test_voltage_clearance_between_nets(gan650):
    obs, terms = _parallel_scene()
    vk = with_vs(gan650)
    lim = limits(vk)
    near = route(vk, REGION, obs, terms, rules=net_rules(vk, {"hv": (6.0, None), "lv": (0.0, None)}, lim))
    far = route(vk, REGION, obs, terms, rules=net_rules(vk, {"hv": (650.0, None), "lv": (0.0, None)}, lim))
    assert near.unrouted == {} and far.unrouted == {}
    # at 6 V the nets may come as close as the basic spacing ...
    gaps_near = [g for g in (_min_gap(vk, near, obs, m) for m in ("MET1", "MET2")) if g is not None]
    assert min(gaps_near) < vk.dbu(13.0)
    # ... at 650 V they keep the table's 13 um (MET1) / 16 um (MET2), measured by KLayout
    for layer, want in (("MET1", 13.0), ("MET2", 16.0)):
        g = _min_gap(vk, far, obs, layer)
        assert g is None or g >= vk.dbu(want), (layer, g)
    check(vk, obs, terms, far)


def test_voltage_clearance_to_fixed_metal(gan650):
    """Other nets' existing metal (device pins, buses) is kept at the voltage clearance too."""
    vk = with_vs(gan650)
    bus = Shape("MET1", rect_um(60, 0, 180, 110), "lv")
    obs, terms = scene(
        {"hv": [pin("hv", "MET1", 20, 120, 30, 130), pin("hv", "MET1", 210, 120, 220, 130)],
         "lv": [pin("lv", "MET1", 100, 200, 110, 210), pin("lv", "MET1", 100, 20, 110, 30)]},
        [bus],
    )
    r = route(vk, REGION, obs, terms, rules=net_rules(vk, {"hv": (650.0, None), "lv": (0.0, None)}, limits(vk)))
    assert "hv" in r.shapes
    hv = net_region(r.shapes["hv"], "MET1")
    fixed = kdb.Region(kdb.Box(*bus.rect))
    assert hv.separation_check(fixed, vk.dbu(13.0)).count() == 0
    check(vk, obs, terms, r)


def test_too_wide_for_its_pin_is_narrowed_and_reported(gan650):
    """A 2 A net cannot reach a small pin hemmed in by other metal at full
    width: it is routed narrower, and its current density shows the excess."""
    fence = [Shape("MET2", rect_um(100, 0, 106, 100), None), Shape("MET2", rect_um(100, 140, 106, 240), None)]
    obs, terms = scene(
        {"p": [pin("p", "MET1", 20, 115, 28, 123), pin("p", "MET1", 200, 115, 208, 123)]},
        fence + [Shape("MET1", rect_um(30, 100, 36, 140), None), Shape("MET1", rect_um(8, 100, 14, 140), None)],
    )
    lim = limits(gan650)
    rules = net_rules(gan650, {"p": (None, 2.0)}, lim)
    r = route(gan650, REGION, obs, terms, rules=rules)
    assert r.unrouted == {}
    d = r.drawn["p"]
    assert d["scale"] < 1.0
    assert any(w < rules["p"].need[m] for m, w in d["width_um"].items())
    check(gan650, obs, terms, r)


def test_unroutable_wide_net_is_reported(gan650):
    wall = [Shape(layer, rect_um(60, 60, 180, 66), None) for layer in ("MET1", "MET2")]
    wall += [Shape(layer, rect_um(60, 174, 180, 180), None) for layer in ("MET1", "MET2")]
    wall += [Shape(layer, rect_um(60, 66, 66, 174), None) for layer in ("MET1", "MET2")]
    wall += [Shape(layer, rect_um(174, 66, 180, 174), None) for layer in ("MET1", "MET2")]
    obs, terms = scene({"p": [pin("p", "MET1", 110, 110, 130, 130), pin("p", "MET1", 10, 10, 30, 30)]}, wall)
    r = route(gan650, REGION, obs, terms, rules=net_rules(gan650, {"p": (None, 0.5)}, limits(gan650)))
    assert set(r.unrouted) == {"p"} and "p" not in r.shapes
    assert "blocked" in r.unrouted["p"]


@pytest.mark.parametrize("current", [0.02, 0.05, 0.2])
def test_random_currents_clean(gan650, current):
    obs, terms = scene(
        {
            "a": [pin("a", "MET1", 20, 20, 40, 40), pin("a", "MET2", 190, 30, 210, 50), pin("a", "MET1", 100, 200, 120, 220)],
            "b": [pin("b", "MET2", 20, 190, 30, 200), pin("b", "MET1", 200, 200, 210, 210)],
            "c": [pin("c", "MET1", 120, 20, 126, 26), pin("c", "MET1", 120, 120, 126, 126)],
        }
    )
    rules = net_rules(gan650, {"a": (None, current), "b": (None, current / 2)}, limits(gan650))
    r = route(gan650, REGION, obs, terms, rules=rules)
    assert r.unrouted == {}
    check(gan650, obs, terms, r)


def test_wide_net_lands_on_a_bus_through_a_cut_array(gan650):
    """A device-like MET1 bus with foreign MET1 fingers right above it: a
    wide MET1 square cannot land, so the net comes down from MET2 with an
    array of cuts inside the bus."""
    bus = pin("s", "MET1", 40, 40, 200, 50)
    fingers = [Shape("MET1", rect_um(x, 53, x + 4, 120), "d") for x in range(44, 196, 20)]
    drain = pin("d", "MET1", 40, 123, 200, 133)
    obs, terms = scene({"s": [bus, pin("s", "MET2", 100, 200, 140, 230)]}, fingers + [drain])
    rules = net_rules(gan650, {"s": (0.0, 0.5), "d": (650.0, None)}, limits(gan650))
    r = route(gan650, REGION, obs, terms, rules=rules)
    assert r.unrouted == {}
    cuts = [s.rect for s in r.shapes["s"] if s.layer == "VIA1"]
    inside_bus = [c for c in cuts if c[0] >= bus.rect[0] + 500 and c[2] <= bus.rect[2] - 500
                  and c[1] >= bus.rect[1] + 500 and c[3] <= bus.rect[3] - 500]
    assert len(inside_bus) >= 2 * 2  # two rows of cuts fit in the 10 um bus
    assert r.drawn["s"]["cuts"]["VIA1"] == min(len(inside_bus), r.drawn["s"]["cuts"]["VIA1"])
    assert not any(s.layer == "MET1" for s in r.shapes["s"])  # no MET1 added next to the fingers
    check(gan650, obs, terms, r)


def test_bus_cover_carries_the_current(gan650):
    """0.5 A needs 100 um of MET1 (more than a quarter of the region) but 25 um
    of MET2: the net stays off MET1 and lands on the 160 um bus through a
    MET2 cover holding at least the 20 cuts it needs, every routed MET2 part
    at least 25 um wide (KLayout, projection width check)."""
    bus = pin("s", "MET1", 40, 40, 200, 50)
    fingers = [Shape("MET1", rect_um(x, 53, x + 4, 120), "d") for x in range(44, 196, 20)]
    drain = pin("d", "MET1", 40, 123, 200, 133)
    obs, terms = scene({"s": [bus, pin("s", "MET2", 100, 200, 140, 230)]}, fingers + [drain])
    rules = net_rules(gan650, {"s": (0.0, 0.5), "d": (650.0, None)}, limits(gan650))
    need_cuts = rules["s"].cuts["VIA1"]
    assert need_cuts == 20 and rules["s"].need["MET2"] == pytest.approx(25.0)
    r = route(gan650, REGION, obs, terms, rules=rules)
    assert r.unrouted == {}
    shapes = r.shapes["s"]
    assert not any(s.layer == "MET1" for s in shapes)
    cuts = [s.rect for s in shapes if s.layer == "VIA1"]
    inside_bus = [c for c in cuts if c[0] >= bus.rect[0] + 500 and c[2] <= bus.rect[2] - 500
                  and c[1] >= bus.rect[1] + 500 and c[3] <= bus.rect[3] - 500]
    assert len(inside_bus) == len(cuts) >= need_cuts
    assert r.drawn["s"]["cuts"]["VIA1"] >= need_cuts
    met2 = net_region(shapes, "MET2")
    assert met2.width_check(gan650.dbu(25.0), False, kdb.Metrics.Projection).count() == 0
    check(gan650, obs, terms, r)


def test_two_cuts_without_extra_width(gan650):
    """A current within the minimum widths but above one cut's limit still
    gets a cut array at every layer change (here VIA1 limited to 5 mA per cut:
    8 mA needs two cuts, 1.6 um of MET1 and 0.4 um of MET2)."""
    kit = replace(gan650, layers={**gan650.layers, "VIA1": replace(gan650.layers["VIA1"], imax_ma_per_cut=5.0)})
    obs, terms = scene({"p": [pin("p", "MET1", 20, 20, 40, 40), pin("p", "MET2", 180, 180, 200, 200)]})
    rules = net_rules(kit, {"p": (5.0, 0.008)}, limits(kit))
    assert not rules["p"].wide and rules["p"].cuts["VIA1"] == 2
    r = route(kit, REGION, obs, terms, rules=rules)
    assert r.unrouted == {}
    cuts = [s for s in r.shapes["p"] if s.layer == "VIA1"]
    assert r.drawn["p"]["cuts"]["VIA1"] >= 2
    # KLayout: the cuts under each piece of MET2 landing come in groups of two or more
    met2 = net_region(r.shapes["p"], "MET2")
    via = net_region(cuts, "VIA1")
    for poly in met2.each():
        n = via.inside(kdb.Region(poly)).count()
        assert n == 0 or n >= 2
    assert via.count() >= 2
    check(kit, obs, terms, r)


def test_wide_net_whose_pins_one_patch_reaches(gan650):
    """Two pins closer than the net's wire width: one access point of the
    wide wire reaches both.  The net is drawn there (it was left with no
    geometry at all, yet counted routed: an open only KLayout saw)."""
    obs, terms = scene({"p": [pin("p", "MET1", 60, 100, 100, 110), pin("p", "MET1", 120, 100, 160, 140)]})
    rules = net_rules(gan650, {"p": (5.0, 1.0)}, limits(gan650))
    assert rules["p"].need["MET1"] > 20.0  # wider than the gap between the pins
    r = route(gan650, REGION, obs, terms, rules=rules)
    assert r.unrouted == {}
    assert r.shapes.get("p"), "routed net without geometry"
    check(gan650, obs, terms, r)


def test_pin_too_close_for_its_voltage_says_so(gan650):
    """A pin that already lies closer to another net's metal than their
    voltage clearance (a netlist that puts 650 V on a terminal next to a 0 V
    bus: the sic1200_driver variant with the power MOSFET's drain and gate
    swapped) is reported unrouted with the neighbour, the gap and the
    clearance, not a bare "no access"; the other net still routes."""
    vk = with_vs(gan650)
    bus = Shape("MET1", rect_um(60, 90, 180, 110), "lv")
    obs, terms = scene(
        {"hv": [pin("hv", "MET1", 100, 114, 110, 120), pin("hv", "MET1", 210, 200, 220, 210)],
         "lv": [pin("lv", "MET1", 20, 20, 30, 30), pin("lv", "MET1", 200, 20, 210, 30)]},
        [bus],
    )
    r = route(vk, REGION, obs, terms, rules=net_rules(vk, {"hv": (650.0, None), "lv": (0.0, None)}, limits(vk)))
    assert set(r.unrouted) == {"hv"} and "hv" not in r.shapes
    why = r.unrouted["hv"]
    assert "pin at (105, 117) um on MET1" in why
    assert "lies 4 um from net lv's metal, closer than the 13 um clearance for 650 V" in why, why
    assert "lv" in r.shapes
    check(vk, obs, terms, r)


def test_net_wider_than_max_width_is_slotted_into_straps():
    """ganrf025's plated MET2 may be at most 160 um wide (MET2.MAXW.1).  A
    3.5 A net needs 233 um of MET2 (15 mA/um): it is drawn wider and slotted,
    so no part of it is wider than 160 um, the metal left across a row of
    slots still carries the current, every slot is a legal hole, and the cut
    arrays keep their enclosure of the slotted metal (KLayout)."""
    import pdk

    kit = pdk.load("ganrf025")
    region = rect_um(0, 0, 1200, 1200)
    obs, terms = scene(
        {"p": [pin("p", "MET2", 60, 60, 180, 140), pin("p", "MET2", 1000, 900, 1060, 960),
               pin("p", "MET1", 300, 950, 420, 1070)],
         "q": [pin("q", "MET1", 700, 100, 710, 110), pin("q", "MET1", 700, 600, 710, 610)]}
    )
    lim = limits(kit)
    rules = net_rules(kit, {"p": (28.0, 3.5), "q": (28.0, 0.01)}, lim)
    need = rules["p"].need["MET2"]
    assert need > 160.0
    r = route(kit, region, obs, terms, rules=rules)
    assert r.unrouted == {}
    d = r.drawn["p"]
    assert set(d["slotted"]) == {"MET2"}
    sl = d["slotted"]["MET2"]
    assert sl["max_width_um"] == 160.0 and sl["drawn_um"] > d["width_um"]["MET2"] >= need
    met2 = net_region(r.shapes["p"], "MET2")
    every = met2 + kdb.Region([kdb.Box(*p.rect) for p in obs if p.layer == "MET2"])
    every.merge()
    # no wide part: nothing survives shrinking by half the maximum width and growing back
    half = kit.dbu(160.0) // 2
    assert every.sized(-half).sized(half).is_empty()
    holes = list(met2.holes().each())
    assert holes, "the net is slotted"
    assert min(h.area() for h in holes) * kit.dbu_um**2 >= 25.0  # MET2.H.1
    # the straps: every cross-section of the wire (a line across it, full
    # drawn width with the slots filled) holds at least the width the
    # current needs in metal, slots subtracted; away from the landings on
    # the pins (where a ring of slots keeps the landing narrow and the
    # current enters the pin)
    ring = kit.dbu(sl["slot_um"]) + kit.dbu(kit.min_width("MET2")) + kit.dbu(1.0)
    landings = kdb.Region([kdb.Box(*p.rect).enlarged(ring, ring) for p in obs if p.net == "p"])
    filled = (met2 + met2.holes()).merged()
    box = filled.bbox()
    drawn_w = kit.dbu(sl["drawn_um"])
    measured = []
    for vertical in (True, False):
        lo, hi = (box.left, box.right) if vertical else (box.bottom, box.top)
        for c in range(lo + 500, hi, kit.dbu(7.0)):
            line = kdb.Box(c, box.bottom, c + 1, box.top) if vertical else kdb.Box(box.left, c, box.right, c + 1)
            for seg in (filled & kdb.Region(line)).each():
                b = seg.bbox()
                if (b.height() if vertical else b.width()) >= drawn_w and not kdb.Region(b).interacting(landings):
                    measured.append((met2 & kdb.Region(b)).area())
    assert measured and min(measured) >= kit.dbu(need), (min(measured), need)
    assert any(m < drawn_w for m in measured)  # some cross-sections do cross slots
    cuts = [s for s in r.shapes["p"] if s.layer == "VIA1"]
    assert cuts and r.drawn["p"]["cuts"]["VIA1"] >= 1
    check(kit, obs, terms, r)
    # the KLayout check above covers width, spacing and enclosure; add the notch rule
    notch = kit.dbu(max(x.value for x in kit.rules_of("notch", "MET2")))
    assert every.notch_check(notch).count() == 0


def test_slotted_cross_section_through_the_ring_of_slots_carries_the_current():
    """The same 3.5 A net: every cross-section of its MET2, the ones through
    the ring of slots around the MET2 pins included (the pins count as metal:
    the current enters them there), holds at least the width the current
    needs (KLayout).  The ring's holes and the lattice's beside them crossed
    one line 3 holes deep on 262 um (232 um of metal for 233.3 um needed);
    the router measures its holes, widens the wire and routes again.  The
    width route.json reports is at most what KLayout finds."""
    import pdk

    kit = pdk.load("ganrf025")
    region = rect_um(0, 0, 1200, 1200)
    obs, terms = scene(
        {"p": [pin("p", "MET2", 60, 60, 180, 140), pin("p", "MET2", 1000, 900, 1060, 960),
               pin("p", "MET1", 300, 950, 420, 1070)],
         "q": [pin("q", "MET1", 700, 100, 710, 110), pin("q", "MET1", 700, 600, 710, 610)]}
    )
    rules = net_rules(kit, {"p": (28.0, 3.5), "q": (28.0, 0.01)}, limits(kit))
    need = kit.dbu(rules["p"].need["MET2"])
    r = route(kit, region, obs, terms, rules=rules)
    assert r.unrouted == {}
    sl = r.drawn["p"]["slotted"]["MET2"]
    met2 = net_region(r.shapes["p"], "MET2")
    assert not met2.holes().is_empty(), "the net is slotted"
    pins = kdb.Region([kdb.Box(*p.rect) for p in obs if p.net == "p" and p.layer == "MET2"])
    metal = (met2 + pins).merged()
    filled = (metal + metal.holes()).merged()
    box = filled.bbox()
    drawn_w = kit.dbu(sl["drawn_um"])
    ring = kit.dbu(sl["slot_um"]) + kit.dbu(kit.min_width("MET2")) + kit.dbu(1.0)
    landings = kdb.Region([kdb.Box(*p.rect).enlarged(ring, ring) for p in obs if p.net == "p" and p.layer == "MET2"])
    worst, worst_ring = None, None
    for vertical in (True, False):
        lo, hi = (box.left, box.right) if vertical else (box.bottom, box.top)
        for c in range(lo + 1, hi, kit.dbu(1.0)):
            line = kdb.Box(c, box.bottom, c + 1, box.top) if vertical else kdb.Box(box.left, c, box.right, c + 1)
            for seg in (filled & kdb.Region(line)).each():
                b = seg.bbox()
                if (b.height() if vertical else b.width()) < drawn_w:
                    continue
                m = (metal & kdb.Region(b)).area()  # 1 dbu thick: the metal length on the line
                worst = m if worst is None else min(worst, m)
                if kdb.Region(b).interacting(landings).count():
                    worst_ring = m if worst_ring is None else min(worst_ring, m)
    assert worst_ring is not None and worst_ring < drawn_w  # lines through the ring were measured
    assert worst >= need, (worst, need)
    assert kit.dbu(r.drawn["p"]["width_um"]["MET2"]) <= worst
    assert sl.get("short_um") == 0.0
    # still no part wider than the maximum width, the pins included
    half = kit.dbu(160.0) // 2
    assert metal.sized(-half).sized(half).is_empty()
    check(kit, obs, terms, r)


def test_hole_cover_counts_the_worst_segment():
    """_hole_cover: the most hole length a segment of a given length crosses."""
    from flow.route.router import _hole_cover

    row = [(0, 0, 10, 10), (30, 0, 40, 10), (60, 0, 70, 10)]
    assert _hole_cover([], 100) == 0
    assert _hole_cover(row, 100) == 30  # the whole row
    assert _hole_cover(row, 40) == 20  # two holes at most
    assert _hole_cover(row, 15) == 10
    # holes in different rows never share a horizontal segment; a column does vertically
    col = [(0, 0, 10, 10), (0, 20, 10, 30), (100, 5, 110, 15)]
    assert _hole_cover(col, 200) == 20
    assert _hole_cover([(0, 0, 10, 10), (15, 5, 25, 15)], 100) == 20  # bands overlapping in y


def test_max_width_too_small_to_slot_keeps_the_net_off_that_metal(gan650):
    """A MET2 max_width of 8 um leaves no room for slots between straps at
    least the minimum width (8 < pitch + margin with a hole of the spacing):
    a net needing 10 um of MET2 stays off MET2 and is carried by MET1."""
    kit = replace(gan650, rules=gan650.rules + (Rule("MET2.MAXW.T", "max_width", "MET2", 8.0),))
    obs, terms = scene({"p": [pin("p", "MET1", 20, 20, 60, 60), pin("p", "MET1", 180, 180, 220, 220)]})
    rules = net_rules(kit, {"p": (None, 0.2)}, limits(kit))
    assert rules["p"].need["MET2"] > 8.0
    r = route(kit, REGION, obs, terms, rules=rules)
    assert r.unrouted == {}
    assert not any(s.layer == "MET2" for s in r.shapes["p"])
    assert "MET2" not in r.drawn["p"]["width_um"] and not r.drawn["p"]["slotted"]
    assert r.drawn["p"]["width_um"]["MET1"] >= rules["p"].need["MET1"]
    check(kit, obs, terms, r)


def test_density_slots_a_net_wider_than_half_the_density_window(gan650):
    """gan650 has no max_width rule, but plated MET2 may cover at most 70 %
    of every 500 um window (MET2.DEN.1): a solid wire wider than 175 um
    (0.7 x 500 / 2) would fill windows past that with a neighbour.  A 4 A
    net needs 200 um of MET2: it is drawn wider and slotted with a lattice
    of square holes sparse enough that a window over a corner of the wire
    (solid borders on two sides) keeps the limit, so every window of the
    rule is within it (KLayout), the metal left across a row of slots still
    carries the current, and every slot is a legal hole."""
    kit = gan650
    region = rect_um(0, 0, 2000, 2000)
    obs, terms = scene(
        {"p": [pin("p", "MET2", 100, 100, 300, 300), pin("p", "MET2", 1600, 1500, 1800, 1700)]}
    )
    rules = net_rules(kit, {"p": (0.0, 4.0)}, limits(kit))
    need = rules["p"].need["MET2"]
    assert need == 200.0
    r = route(kit, region, obs, terms, rules=rules)
    assert r.unrouted == {}
    d = r.drawn["p"]
    assert set(d["slotted"]) == {"MET2"}
    sl = d["slotted"]["MET2"]
    assert sl["max_width_um"] == 175.0
    border = sl["pitch_um"] + kit.min_width("MET2")
    assert (1 - (sl["slot_um"] / sl["pitch_um"]) ** 2) <= 1 - 0.3 / (1 - border / 500.0) ** 2
    assert sl["drawn_um"] > d["width_um"]["MET2"] >= need
    met2 = net_region(r.shapes["p"], "MET2")
    every = (met2 + kdb.Region([kdb.Box(*p.rect) for p in obs if p.layer == "MET2"])).merged()
    holes = list(met2.holes().each())
    assert len(holes) > 50
    assert min(h.area() for h in holes) * kit.dbu_um**2 >= 100.0  # MET2.H.1
    # MET2.DEN.1 as the rule states it: 500 um windows stepped by 250 um
    win, step = kit.dbu(500.0), kit.dbu(250.0)
    worst = 0.0
    for x in range(0, kit.dbu(2000.0) - win + 1, step):
        for y in range(0, kit.dbu(2000.0) - win + 1, step):
            w = kdb.Box(x, y, x + win, y + win)
            worst = max(worst, (every & kdb.Region(w)).area() / w.area())
    assert 0.5 < worst <= 0.7, worst
    # every cross-section of the straight runs holds the metal the current needs
    filled = (met2 + met2.holes()).merged()
    drawn_w = kit.dbu(sl["drawn_um"])
    landings = kdb.Region([kdb.Box(*p.rect).enlarged(kit.dbu(60.0), kit.dbu(60.0)) for p in obs])
    box = filled.bbox()
    measured = []
    for vertical in (True, False):
        lo, hi = (box.left, box.right) if vertical else (box.bottom, box.top)
        for c in range(lo + 500, hi, kit.dbu(11.0)):
            line = kdb.Box(c, box.bottom, c + 1, box.top) if vertical else kdb.Box(box.left, c, box.right, c + 1)
            for seg in (filled & kdb.Region(line)).each():
                b = seg.bbox()
                if (b.height() if vertical else b.width()) == drawn_w and not kdb.Region(b).interacting(landings):
                    measured.append((met2 & kdb.Region(b)).area())
    assert measured and min(measured) >= kit.dbu(need), (min(measured), need)
    assert any(m < drawn_w for m in measured)
    check(kit, obs, terms, r)
    notch = kit.dbu(max(x.value for x in kit.rules_of("notch", "MET2")))
    assert every.notch_check(notch).count() == 0


def test_planned_width_is_what_the_router_draws(gan650):
    """The floorplan's estimate (planned_width) equals the width the router
    draws: unslotted below the slotting threshold, slotted above it, and
    None for a net the minimum width carries."""
    from flow.route.router import planned_width

    rules = net_rules(gan650, {"a": (0.0, 4.0), "b": (0.0, 2.0), "c": (0.0, 0.005)}, limits(gan650))
    assert planned_width(gan650, rules["c"]) is None
    wb, mb = planned_width(gan650, rules["b"])
    assert mb == "MET2" and gan650.dbu(100.0) <= wb < gan650.dbu(175.0)
    obs, terms = scene({"a": [pin("a", "MET2", 100, 100, 300, 300), pin("a", "MET2", 1600, 1500, 1800, 1700)]})
    r = route(gan650, rect_um(0, 0, 2000, 2000), obs, terms, rules={"a": rules["a"]})
    wa, ma = planned_width(gan650, rules["a"])
    assert ma == "MET2" and wa == gan650.dbu(r.drawn["a"]["slotted"]["MET2"]["drawn_um"])


def test_subtract_many_equals_subtract():
    """The subtraction used for large slot lattices covers exactly what the
    piecewise one does (KLayout), with bars instead of pieces: a full lattice
    is its straps, one rectangle per row and column of them."""
    import random

    import numpy as np

    from flow.route.router import _subtract, _subtract_many

    rng = random.Random(7)
    for _ in range(200):
        rect = (0, 0, rng.randint(50, 300), rng.randint(50, 300))
        holes = []
        for _ in range(rng.randint(0, 40)):
            x, y = rng.randint(-30, 300), rng.randint(-30, 300)
            holes.append((x, y, x + rng.randint(1, 50), y + rng.randint(1, 50)))
        a = kdb.Region([kdb.Box(*p) for p in _subtract(rect, holes)]).merged()
        pieces = _subtract_many(rect, np.array(holes, dtype=np.int64).reshape(-1, 4))
        b = kdb.Region([kdb.Box(*p) for p in pieces])
        assert (a ^ b.merged()).is_empty()
        assert all(rect[0] <= p[0] < p[2] <= rect[2] and rect[1] <= p[1] < p[3] <= rect[3] for p in pieces)
    # a 20 x 20 lattice of 29 um holes at 50 um: 21 + 21 straps
    holes = np.array([(10 + 50 * i, 10 + 50 * j, 39 + 50 * i, 39 + 50 * j) for i in range(20) for j in range(20)])
    pieces = _subtract_many((0, 0, 1020, 1020), holes)
    assert len(pieces) == 42
    merged = kdb.Region([kdb.Box(*p) for p in pieces]).merged()
    assert merged.area() == 1020 * 1020 - 400 * 29 * 29 and len(list(merged.holes().each())) == 400


def test_cover_grows_as_far_as_the_region_allows():
    """A cover grown to the wire width near the region edge takes what room
    there is on that side and the rest on the other."""
    from flow.route.router import _widened

    opts = _widened((100, 50, 900, 60), 500, (0, 0, 1000, 2000))
    assert (100, 0, 900, 500) in opts  # 50 down to the edge, 440 up
    assert opts[-1] == (100, 50, 900, 60)
    assert all(r[3] - r[1] >= 500 for r in opts[:-1])
