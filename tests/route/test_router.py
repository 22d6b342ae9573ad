"""The router on hand-made scenes, checked by KLayout DRC and extraction."""

from __future__ import annotations

import re

import pytest
from route_cases import (
    all_shapes,
    connectivity_problems,
    drc_violations,
    pin,
    random_scene,
    rect_um,
    scene,
    um,
)

from flow.errors import InputError
from flow.route import Shape, route

LOCATION = re.compile(r"\(-?\d+(\.\d+)?, -?\d+(\.\d+)?\) um")
REGION = rect_um(0, 0, 240, 240)


def check(kit, obstacles, terminals, result):
    """Zero DRC violations and a clean extraction, by KLayout."""
    assert drc_violations(kit, all_shapes(obstacles, result)) == []
    assert connectivity_problems(kit, obstacles, terminals, result) == []


def contains(outer, inner) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def test_two_pins_straight_on_met1(gan650):
    # both pins are crossed by grid row y = 121.5 um; columns 37.5 and 181.5 um
    obs, terms = scene({"a": [pin("a", "MET1", 34, 118, 41, 125), pin("a", "MET1", 178, 118, 185, 125)]})
    r = route(gan650, REGION, obs, terms)
    assert r.unrouted == {} and list(r.shapes) == ["a"]
    assert r.vias == 0 and r.iterations == 1
    assert r.wirelength == um(181.5 - 37.5)  # one straight run between the access points
    wires = [s for s in r.shapes["a"] if s.layer == "MET1"]
    assert wires == [Shape("MET1", rect_um(36, 120, 183, 123), "a")]
    assert all(s.net == "a" for s in r.shapes["a"])
    check(gan650, obs, terms, r)


def test_multi_pin_net_on_both_metals(gan650):
    obs, terms = scene(
        {
            "n": [
                pin("n", "MET1", 20, 20, 30, 30),
                pin("n", "MET2", 200, 30, 212, 40),
                pin("n", "MET1", 110, 200, 120, 212),
                pin("n", "MET2", 30, 180, 40, 190),
                pin("n", "MET1", 120, 110, 130, 120),
            ]
        }
    )
    r = route(gan650, REGION, obs, terms)
    assert r.unrouted == {}
    assert r.vias >= 1  # MET1 and MET2 pins must meet through a via
    assert sum(s.layer == "VIA1" for s in r.shapes["n"]) == r.vias
    # a tree spanning the pins is at least as long as their bounding box's larger side
    assert r.wirelength >= um(180)
    check(gan650, obs, terms, r)


def test_crossing_nets_need_vias(gan650):
    # 'h' spans left to right, 'v' bottom to top: on one metal they would short
    obs, terms = scene(
        {
            "h": [pin("h", "MET1", 0, 110, 10, 130), pin("h", "MET1", 230, 110, 240, 130)],
            "v": [pin("v", "MET1", 110, 0, 130, 10), pin("v", "MET1", 110, 230, 130, 240)],
        }
    )
    r = route(gan650, REGION, obs, terms)
    assert r.unrouted == {} and set(r.shapes) == {"h", "v"}
    assert r.vias >= 2
    check(gan650, obs, terms, r)


def _ring(x0, y0, x1, y1, t, layers=("MET1", "MET2")):
    out = []
    for layer in layers:
        out += [
            Shape(layer, rect_um(x0, y0, x1, y0 + t), None),
            Shape(layer, rect_um(x0, y1 - t, x1, y1), None),
            Shape(layer, rect_um(x0, y0 + t, x0 + t, y1 - t), None),
            Shape(layer, rect_um(x1 - t, y0 + t, x1, y1 - t), None),
        ]
    return out


def test_net_walled_in_is_unrouted_with_location(gan650):
    wall = _ring(80, 80, 130, 130, 6)
    obs, terms = scene(
        {
            "a": [pin("a", "MET1", 100, 100, 110, 110), pin("a", "MET1", 200, 200, 210, 210)],
            "b": [pin("b", "MET2", 20, 200, 30, 210), pin("b", "MET1", 200, 20, 210, 30)],
        },
        wall,
    )
    r = route(gan650, REGION, obs, terms)
    assert set(r.unrouted) == {"a"} and "a" not in r.shapes
    reason = r.unrouted["a"]
    assert reason.startswith("no path from pin at") and "blocked" in reason
    assert LOCATION.search(reason)
    assert {"(105, 105) um", "(205, 205) um"} & set(re.findall(r"\([^)]*\) um", reason))
    assert "b" in r.shapes
    check(gan650, obs, terms, r)


def test_congestion_is_negotiated(gan650):
    # a foreign wall across the region on both metals with two one-track
    # gaps: y = 121.5 um (near the pins) and y = 217.5 um (far).  Three nets
    # want the near gap, which holds two (one per metal).
    near, far = 121.5, 217.5
    wall = []
    for layer in ("MET1", "MET2"):
        for y0, y1 in ((0, near - 5), (near + 5, far - 5), (far + 5, 240)):
            wall.append(Shape(layer, rect_um(110, y0, 130, y1), None))
    obs, terms = scene(
        {
            "a": [pin("a", "MET1", 40, 115, 50, 125), pin("a", "MET1", 190, 115, 200, 125)],
            "b": [pin("b", "MET1", 40, 95, 50, 105), pin("b", "MET1", 190, 95, 200, 105)],
            "c": [pin("c", "MET2", 40, 135, 50, 145), pin("c", "MET2", 190, 135, 200, 145)],
        },
        wall,
    )
    r = route(gan650, REGION, obs, terms)
    assert r.unrouted == {}
    assert r.iterations >= 2  # the first iteration shared the near gap
    detour = [n for n, shapes in r.shapes.items() if any(s.rect[3] > um(far - 5) for s in shapes)]
    assert len(detour) == 1
    check(gan650, obs, terms, r)


def test_congestion_left_after_max_iterations_is_reported(gan650):
    # one gap of two tracks (one per metal) and three nets: one must lose
    near = 121.5
    wall = [
        Shape(layer, rect_um(110, y0, 130, y1), None)
        for layer in ("MET1", "MET2")
        for y0, y1 in ((0, near - 5), (near + 5, 240))
    ]
    obs, terms = scene(
        {
            "a": [pin("a", "MET1", 40, 115, 50, 125), pin("a", "MET1", 190, 115, 200, 125)],
            "b": [pin("b", "MET1", 40, 95, 50, 105), pin("b", "MET1", 190, 95, 200, 105)],
            "c": [pin("c", "MET2", 40, 135, 50, 145), pin("c", "MET2", 190, 135, 200, 145)],
        },
        wall,
    )
    r = route(gan650, REGION, obs, terms, max_iterations=4)
    assert len(r.unrouted) == 1 and len(r.shapes) == 2
    (reason,) = r.unrouted.values()
    assert "after 4 iterations" in reason and "congested near" in reason
    assert len(LOCATION.findall(reason)) == 2
    check(gan650, obs, terms, r)


def test_met1_pin_fenced_by_foreign_met1_gets_a_via(gan650):
    # foreign MET1 ring 2 um around the pin: only the grid point (103.5, 103.5)
    # reaches the pin on MET1, and all its MET1 neighbours are blocked
    fence = _ring(96, 96, 114, 114, 2, layers=("MET1",))
    obs, terms = scene(
        {"a": [pin("a", "MET1", 100, 100, 110, 110), pin("a", "MET1", 200, 30, 210, 40)]},
        fence,
    )
    r = route(gan650, REGION, obs, terms)
    assert r.unrouted == {}
    cuts = [s.rect for s in r.shapes["a"] if s.layer == "VIA1"]
    assert any(contains(rect_um(100, 100, 110, 110), c) for c in cuts)
    check(gan650, obs, terms, r)


def test_pin_inside_own_conductor(gan650):
    # a small pin marks a large MET1 conductor of the same net (device metal)
    body = Shape("MET1", rect_um(40, 40, 100, 52), "a")
    obs, terms = scene(
        {"a": [pin("a", "MET1", 60, 44, 64, 48), pin("a", "MET2", 180, 180, 190, 190)]},
        [body, Shape("MET1", rect_um(40, 60, 100, 70), None)],
    )
    r = route(gan650, REGION, obs, terms)
    assert r.unrouted == {}
    check(gan650, obs, terms, r)


def test_pins_on_met2(gan650):
    obs, terms = scene(
        {
            "p": [pin("p", "MET2", 20, 20, 32, 32), pin("p", "MET2", 200, 190, 212, 202)],
            "q": [pin("q", "MET2", 20, 190, 32, 202), pin("q", "MET2", 200, 20, 212, 32)],
        }
    )
    r = route(gan650, REGION, obs, terms)
    assert r.unrouted == {}
    assert r.vias >= 2  # the diagonals cross
    check(gan650, obs, terms, r)


def test_small_off_grid_pin_gets_an_access_patch(gan650):
    # 3 x 3 um MET2 pin between grid squares: no square overlaps it without a
    # thin neck, so the router joins it with a patch rectangle
    small = pin("s", "MET2", 4, 4, 7, 7)
    obs, terms = scene({"s": [small, pin("s", "MET2", 100, 100, 110, 110)]})
    r = route(gan650, REGION, obs, terms)
    assert r.unrouted == {}
    assert any(s.layer == "MET2" and contains(s.rect, small.rect) for s in r.shapes["s"])
    check(gan650, obs, terms, r)


def test_alternative_access_shapes(gan650):
    # terminal 0 may be reached at either of two pins; the near one is used
    near, far = pin("a", "MET1", 150, 110, 160, 120), pin("a", "MET1", 10, 10, 20, 20)
    obs, terms = scene({"a": [[far, near], pin("a", "MET1", 200, 110, 210, 120)]})
    r = route(gan650, REGION, obs, terms)
    assert r.unrouted == {}
    assert r.wirelength < um(80)
    check(gan650, obs, terms, r)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_scenes_are_drc_clean_and_connected(gan650, seed):
    (obs, terms), region = random_scene(seed)
    r = route(gan650, region, obs, terms)
    assert len(r.unrouted) <= 1
    assert r.vias == sum(s.layer == "VIA1" for shapes in r.shapes.values() for s in shapes)
    check(gan650, obs, terms, r)


def test_dense_scene_with_leftovers_stays_clean(gan650):
    (obs, terms), region = random_scene(3, cells=12, nets=40, cell_um=17)
    r = route(gan650, region, obs, terms, max_iterations=3)
    assert r.unrouted and r.shapes
    assert set(r.unrouted).isdisjoint(r.shapes)
    assert all(LOCATION.search(reason) for reason in r.unrouted.values())
    check(gan650, obs, terms, r)


def test_deterministic(gan650):
    (obs, terms), region = random_scene(4)
    first = route(gan650, region, obs, terms)
    again = route(gan650, region, obs, terms)
    shuffled = route(gan650, region, list(reversed(obs)), dict(reversed(list(terms.items()))))
    for other in (again, shuffled):
        assert dict(other.shapes) == dict(first.shapes)
        assert (other.wirelength, other.vias, other.iterations) == (first.wirelength, first.vias, first.iterations)
        assert dict(other.unrouted) == dict(first.unrouted)


def test_single_terminal_nets_need_nothing(gan650):
    obs, terms = scene({"lonely": [pin("lonely", "MET1", 10, 10, 20, 20)], "none": []})
    calls = []
    r = route(gan650, REGION, obs, terms, progress=lambda m, f: calls.append((m, f)))
    assert dict(r.shapes) == {} and dict(r.unrouted) == {}
    assert r.wirelength == 0 and r.vias == 0 and r.iterations == 0


def test_progress_reports_iterations(gan650):
    obs, terms = scene({"a": [pin("a", "MET1", 34, 118, 41, 125), pin("a", "MET1", 178, 118, 185, 125)]})
    calls = []
    route(gan650, REGION, obs, terms, max_iterations=10, progress=lambda m, f: calls.append((m, f)))
    assert calls == [("iteration 1: 0 overused nodes", 0.1)]


def test_unreachable_small_pin_reason(gan650):
    # a 1 x 1 um pin squeezed between foreign metal: neither grid nor patch access
    obs, terms = scene(
        {"a": [pin("a", "MET1", 50, 50, 51, 51), pin("a", "MET1", 200, 200, 210, 210)]},
        [Shape("MET1", rect_um(53, 40, 60, 60), None), Shape("MET1", rect_um(40, 40, 48, 60), None)],
    )
    r = route(gan650, REGION, obs, terms)
    assert "no legal access point" in r.unrouted["a"] and "(50.5, 50.5) um on MET1" in r.unrouted["a"]


GOOD = pin("a", "MET1", 10, 10, 20, 20)


@pytest.mark.parametrize(
    "obstacles, terminals, kwargs, match",
    [
        ([], {"a": [[GOOD], [pin("a", "VIA1", 50, 50, 52, 52)]]}, {}, "not on a routing metal"),
        ([], {"a": [[GOOD], [pin("b", "MET1", 50, 50, 60, 60)]]}, {}, "belongs to net 'b'"),
        ([], {"a": [[GOOD], []]}, {}, "terminal 1 has no access shapes"),
        ([], {"a": [[GOOD], [Shape("MET1", (5, 5, 5, 9), "a")]]}, {}, "is empty"),
        ([Shape("MET9", (0, 0, 10, 10), None)], {}, {}, "'MET9' is not a layer"),
        ([Shape("MET1", (0, 0, 10), None)], {}, {}, "rect must be"),
        ([], {"a": [[GOOD]]}, {"max_iterations": 0}, "max_iterations"),
    ],
)
def test_bad_input(gan650, obstacles, terminals, kwargs, match):
    with pytest.raises(InputError, match=match) as err:
        route(gan650, REGION, obstacles, terminals, **kwargs)
    assert str(err.value).startswith("route: ") and "\n" not in str(err.value)


@pytest.mark.parametrize("layer, w, h", [("MET1", 2, 2), ("MET1", 5, 4), ("MET2", 3, 3), ("MET2", 3, 8), ("MET2", 10, 10)])
def test_pin_offsets_sweep_is_clean(gan650, layer, w, h):
    # every offset of the pin against the 6 um grid, with the net's own metal
    # abutting the pin and a foreign pin 4 um away: clean, connected, routed
    for dx in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5):
        for dy in (0.0, 2.5):
            x, y = 60 + dx, 60 + dy
            obs, terms = scene(
                {
                    "a": [pin("a", layer, x, y, x + w, y + h), pin("a", "MET1", 150, 150, 160, 160)],
                    "b": [pin("b", layer, x + w + 4, y - 10, x + w + 8, y + 20), pin("b", "MET2", 20, 150, 30, 160)],
                },
                [Shape(layer, rect_um(x - 1, y + h, x + w + 1, y + h + 3), "a")],
            )
            r = route(gan650, rect_um(0, 0, 200, 200), obs, terms)
            assert r.unrouted == {}, (dx, dy)
            check(gan650, obs, terms, r)


def test_global_guides_steer_but_never_block(gan650, monkeypatch):
    """A guide is a preference: with a high price outside it, the net follows
    a guide that detours above the straight line; a guide that misses the
    pins altogether still lets the net route (plain search, just dearer)."""
    from flow.route import search

    obs, terms = scene({"a": [pin("a", "MET1", 34, 118, 41, 125), pin("a", "MET1", 178, 118, 185, 125)]})
    plain = route(gan650, REGION, obs, terms)
    monkeypatch.setattr(search, "GUIDE_OUT", 5.0)
    detour = [("MET1", rect_um(20, 110, 60, 200)), ("MET1", rect_um(20, 160, 200, 200)),
              ("MET1", rect_um(160, 110, 200, 200)), ("MET2", rect_um(20, 160, 200, 200))]
    guided = route(gan650, REGION, obs, terms, guides={"a": detour})
    assert plain.unrouted == {} and guided.unrouted == {}
    ys = [s.rect[3] for s in guided.shapes["a"] if s.layer in ("MET1", "MET2")]
    assert max(ys) > um(160)  # went up through the guide
    assert max(s.rect[3] for s in plain.shapes["a"]) < um(130)  # the plain route goes straight
    assert guided.wirelength > plain.wirelength
    check(gan650, obs, terms, guided)
    elsewhere = route(gan650, REGION, obs, terms, guides={"a": [("MET2", rect_um(100, 20, 110, 30))]})
    assert elsewhere.unrouted == {}
    check(gan650, obs, terms, elsewhere)
