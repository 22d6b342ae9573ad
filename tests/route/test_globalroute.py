"""Global router (flow/route/globalroute.py) on small synthetic grids.

Connectivity and capacity are checked here with the test's own code
(networkx over the segments' unit steps, usage counted edge by edge), not
with the engine's bookkeeping or :func:`evaluate`.
"""

from __future__ import annotations

import doctest
import itertools
import random

import networkx as nx
import numpy as np
import pytest

import flow.route.globalroute as gr_mod
from flow.errors import InputError
from flow.route.globalroute import GridGraph, GRNet, evaluate, global_route, steiner_tree


def unit_steps(seg):
    """The unit edges ((x,y,l),(x,y,l)) a straight segment covers; fails on a diagonal one."""
    (x1, y1, l1), (x2, y2, l2) = seg
    moved = [x1 != x2, y1 != y2, l1 != l2]
    assert sum(moved) == 1, f"segment {seg} is not straight along one axis"
    out = []
    if x1 != x2:
        for x in range(min(x1, x2), max(x1, x2)):
            out.append(((x, y1, l1), (x + 1, y1, l1)))
    elif y1 != y2:
        for y in range(min(y1, y2), max(y1, y2)):
            out.append(((x1, y, l1), (x1, y + 1, l1)))
    else:
        for l in range(min(l1, l2), max(l1, l2)):
            out.append(((x1, y1, l), (x1, y1, l + 1)))
    return out


def check(grid, nets, result):
    """Independent check: every net connected; returns (usage dicts, overflow total, wirelength)."""
    hu: dict = {}
    vu: dict = {}
    wl = 0
    assert len(result.routes) == len(nets)
    for net, segs in zip(nets, result.routes):
        g = nx.Graph()
        g.add_nodes_from(net.pins)
        dem = [max(net.width, grid.min_width[l]) + grid.spacing[l] for l in range(grid.nl)]
        for seg in segs:
            for a, b in unit_steps(seg):
                for x, y, l in (a, b):
                    assert 0 <= x < grid.nx and 0 <= y < grid.ny and 0 <= l < grid.nl
                g.add_edge(a, b)
                wl += 1
                if a[2] == b[2] and a[1] == b[1]:
                    key = (a[2], a[1], min(a[0], b[0]))
                    hu[key] = hu.get(key, 0) + dem[a[2]]
                elif a[2] == b[2]:
                    key = (a[2], min(a[1], b[1]), a[0])
                    vu[key] = vu.get(key, 0) + dem[a[2]]
        comp = nx.node_connected_component(g, net.pins[0])
        assert all(p in comp for p in net.pins), f"net {net.name} is not connected"
    over = sum(max(0, u - int(grid.hcap[k])) for k, u in hu.items()) + sum(max(0, u - int(grid.vcap[k])) for k, u in vu.items())
    return hu, vu, over, wl


def random_case(seed, nx_=12, ny_=12, nets=30, cap=3, layers=2):
    rng = random.Random(seed)
    hcap = [cap if l % 2 == 0 else 0 for l in range(layers)]
    vcap = [0 if l % 2 == 0 else cap for l in range(layers)]
    grid = GridGraph.uniform(nx_, ny_, hcap, vcap)
    out = []
    for i in range(nets):
        k = rng.choice([2, 2, 3, 4, 6])
        pins = tuple((rng.randrange(nx_), rng.randrange(ny_), 0) for _ in range(k))
        out.append(GRNet(f"n{i}", pins))
    return grid, out


@pytest.mark.parametrize("seed,layers", [(1, 2), (2, 2), (3, 4)])
def test_random_grids_connected_and_within_capacity(seed, layers):
    grid, nets = random_case(seed, layers=layers)
    res = global_route(grid, nets)
    hu, vu, over, wl = check(grid, nets, res)
    assert res.overflow_total == over == 0
    assert res.wirelength == wl  # wire steps + via steps, via cost 1
    # wirelength of a net is at least its pins' half perimeter
    for net, segs in zip(nets, res.routes):
        xs = [p[0] for p in net.pins]
        ys = [p[1] for p in net.pins]
        wire = sum(len(unit_steps(s)) for s in segs if s[0][2] == s[1][2])
        assert wire >= max(xs) - min(xs) + max(ys) - min(ys)


def test_unavoidable_overflow_is_counted():
    # one horizontal edge of capacity 1 on the only horizontal layer, 3 nets across it
    grid = GridGraph.uniform(2, 1, hcap=[1, 0], vcap=[0, 0])
    nets = [GRNet(f"n{i}", ((0, 0, 0), (1, 0, 0))) for i in range(3)]
    res = global_route(grid, nets, max_rounds=5)
    _, _, over, _ = check(grid, nets, res)
    assert over == 2
    assert res.overflow_total == 2 and res.overflow_max == 2 and res.overflow_edges == 1


def test_negotiation_spreads_nets_over_rows():
    # four nets want row 2 (capacity 1 each edge); five rows exist: all must detour but one
    grid = GridGraph.uniform(8, 5, hcap=[1, 0], vcap=[0, 2])
    nets = [GRNet(f"n{i}", ((0, 2, 0), (7, 2, 0))) for i in range(4)]
    res = global_route(grid, nets)
    hu, vu, over, _ = check(grid, nets, res)
    assert over == 0 and res.overflow_total == 0
    rows_used = {y for (_, y, _) in hu}
    assert len(rows_used) == 4


def test_capacity_adjustment_blocks_an_edge():
    h = np.full((2, 3, 5), 2)
    h[1] = 0
    v = np.full((2, 2, 6), 2)
    v[0] = 0
    h[0, 1, 2] = 0  # the straight route's middle edge is gone
    grid = GridGraph(h, v)
    nets = [GRNet("a", ((0, 1, 0), (5, 1, 0)))]
    res = global_route(grid, nets)
    hu, _, over, _ = check(grid, nets, res)
    assert over == 0 and (0, 1, 2) not in hu
    assert res.wire == 7 and res.vias == 4  # detour over one row: 5 + 2 wire, 2 via stacks up and down


def test_net_width_uses_more_capacity():
    # min width 1, spacing 1: a width-3 wire uses 4 units; capacity 6 holds one such and one plain wire
    grid = GridGraph.uniform(4, 3, hcap=[6, 0], vcap=[0, 6], min_width=[1, 1], spacing=[1, 1])
    nets = [GRNet("wide", ((0, 1, 0), (3, 1, 0)), width=3), GRNet("a", ((0, 1, 0), (3, 1, 0))), GRNet("b", ((0, 1, 0), (3, 1, 0)))]
    res = global_route(grid, nets)
    hu, _, over, _ = check(grid, nets, res)
    assert over == res.overflow_total == 0
    assert all(u <= 6 for u in hu.values())
    # counted as one track each, all three would fit the straight row (3 tracks); in units they do not
    straight = [len(segs) == 1 and segs[0][0][1] == 1 for segs in res.routes]
    assert not all(straight)


def test_vias_and_layers():
    # 4 layers: H on 0 and 2, V on 1 and 3; pins on layer 0
    grid = GridGraph.uniform(6, 6, hcap=[2, 0, 2, 0], vcap=[0, 2, 0, 2])
    nets = [
        GRNet("h", ((0, 0, 0), (5, 0, 0))),  # straight on layer 0: no via
        GRNet("v", ((0, 5, 0), (0, 1, 0))),  # vertical: up to layer 1 and back
        GRNet("local", ((3, 3, 0), (3, 3, 2))),  # one tile, two layers: a via stack
    ]
    res = global_route(grid, nets)
    check(grid, nets, res)
    per_net = [sum(abs(a[2] - b[2]) for a, b in segs) for segs in res.routes]
    assert per_net == [0, 2, 2]
    assert res.wire == 5 + 4 and res.vias == 4 and res.wirelength == 13


def test_steiner_tree_beats_spanning_tree():
    pts = [(0, 1), (2, 1), (1, 0), (1, 2)]
    nodes, edges = steiner_tree(pts)
    assert nodes[:4] == pts
    length = sum(abs(nodes[a][0] - nodes[b][0]) + abs(nodes[a][1] - nodes[b][1]) for a, b in edges)
    assert length == 4  # the plus: one Steiner point at (1, 1); any spanning tree of the pins needs 6
    g = nx.Graph(edges)
    assert nx.is_tree(g) and set(g) == set(range(len(nodes)))


def test_steiner_tree_never_longer_than_mst():
    rng = random.Random(7)
    for _ in range(20):
        pts = [(rng.randrange(20), rng.randrange(20)) for _ in range(rng.randrange(2, 9))]
        nodes, edges = steiner_tree(pts)
        uniq = list(dict.fromkeys(pts))
        st = sum(abs(nodes[a][0] - nodes[b][0]) + abs(nodes[a][1] - nodes[b][1]) for a, b in edges)
        g = nx.Graph()
        for (i, p), (j, q) in itertools.combinations(enumerate(uniq), 2):
            g.add_edge(i, j, weight=abs(p[0] - q[0]) + abs(p[1] - q[1]))
        mst = sum(d["weight"] for *_, d in nx.minimum_spanning_edges(g, data=True)) if len(uniq) > 1 else 0
        assert st <= mst
        assert nx.is_connected(nx.Graph(edges)) if edges else len(uniq) == 1


def test_evaluate_reports_broken_routes():
    grid = GridGraph.uniform(4, 4, hcap=[2, 0], vcap=[0, 2])
    nets = [GRNet("a", ((0, 0, 0), (3, 0, 0))), GRNet("b", ((0, 0, 0), (0, 3, 0)))]
    routes = [[((0, 0, 0), (2, 0, 0))], [((0, 0, 0), (1, 1, 0))]]
    ev = evaluate(grid, nets, routes)
    assert ev.disconnected == ("a", "b")
    assert len(ev.bad) == 1 and "not straight" in ev.bad[0]


def test_bad_input():
    grid = GridGraph.uniform(4, 4, hcap=[2, 0], vcap=[0, 2])
    with pytest.raises(InputError, match="outside"):
        global_route(grid, [GRNet("a", ((0, 0, 0), (4, 0, 0)))])
    with pytest.raises(InputError, match="no pins"):
        global_route(grid, [GRNet("a", ())])
    with pytest.raises(InputError, match="do not describe one grid"):
        GridGraph(np.zeros((2, 4, 3)), np.zeros((2, 4, 4)))
    with pytest.raises(InputError, match="negative"):
        GridGraph.uniform(3, 3, hcap=[-1], vcap=[1])


def test_quiet_by_default(capsys):
    grid, nets = random_case(4, nets=5)
    global_route(grid, nets)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_progress_callback_is_called():
    seen = []
    grid, nets = random_case(5, nets=5)
    global_route(grid, nets, progress=lambda m, f=None: seen.append(m))
    assert any("pattern" in m for m in seen) and any("layer assignment" in m for m in seen)


def test_docstring_examples():
    assert doctest.testmod(gr_mod).failed == 0


def test_route_guides_cover_the_route():
    grid, nets = random_case(6, nets=8)
    res = global_route(grid, nets)
    for net, segs in zip(nets, res.routes):
        m = gr_mod.route_guides(grid, segs)
        for seg in segs:
            for a, b in unit_steps(seg):
                assert m[a[2], a[1], a[0]] and m[b[2], b[1], b[0]]
        for x, y, l in net.pins:
            assert m[l, y, x]
        grown = gr_mod.route_guides(grid, segs, dilate=1)
        assert (grown >= m).all() and grown.sum() > m.sum()
        # the rectangles cover exactly the mask's tiles
        back = np.zeros_like(grown)
        for l, (x0, y0, x1, y1) in gr_mod.guide_rects(grown, (0, 0), (1, 1)):
            assert not back[l, y0:y1, x0:x1].any()
            back[l, y0:y1, x0:x1] = True
        assert (back == grown).all()


def test_kit_grid_graph(gan650):
    from flow.route.grid import make_grid

    region = (0, 0, 480_000, 240_000)
    pitch = make_grid(gan650, region).pitch
    t = gr_mod.kit_grid_graph(gan650, region, tile_tracks=8)
    g = t.grid
    assert t.metals == gan650.routing_metals and g.nl == len(t.metals)
    assert t.tile == 8 * pitch and g.nx == -(-480_000 // t.tile) and g.ny == -(-240_000 // t.tile)
    # lowest metal horizontal, next vertical; an inner tile edge holds tile / pitch tracks
    assert (g.vcap[0] == 0).all() and (g.hcap[1] == 0).all()
    assert g.hcap[0, 1, 1] == 8 and g.vcap[1, 1, 1] == 8
    # an obstacle across the boundary between tiles (1, 1) and (2, 1) on MET1, covering 3 tracks
    bx = 2 * t.tile
    ty0 = make_grid(gan650, region).origin[1] + pitch * 8 + pitch  # a track inside tile row 1
    rect = (bx - 100, ty0 - 10, bx + 100, ty0 + 2 * pitch + 10)
    tb = gr_mod.kit_grid_graph(gan650, region, tile_tracks=8, obstacles=[("MET1", rect), ("MET9", rect)])
    diff = g.hcap - tb.grid.hcap
    assert diff.sum() == 3 and diff[0, 1, 1] == 3
    assert t.tile_of(2 * t.tile + 5, t.tile + 5, "MET2") == (2, 1, 1)
    with pytest.raises(InputError, match="not a routing metal"):
        t.tile_of(0, 0, "POLY")
    # a net across the region routes with no overflow on the kit's graph
    nets = [GRNet("a", (t.tile_of(1000, 1000, "MET1"), t.tile_of(470_000, 230_000, "MET1")))]
    res = global_route(tb.grid, nets)
    check(tb.grid, nets, res)
    assert res.overflow_total == 0


def test_kit_guides(gan650):
    from flow.route.router import Shape

    region = (0, 0, 480_000, 240_000)
    terminals = {
        "A": [[Shape("MET1", (5_000, 5_000, 9_000, 9_000), "A")], [Shape("MET2", (400_000, 200_000, 404_000, 204_000), "A")]],
        "B": [[Shape("MET1", (5_000, 200_000, 9_000, 204_000), "B")], [Shape("MET1", (300_000, 5_000, 304_000, 9_000), "B")],
              [Shape("MET2", (100_000, 100_000, 104_000, 104_000), "B")]],
        "single": [[Shape("MET1", (50_000, 50_000, 52_000, 52_000), "single")]],
    }
    obstacles = [Shape("MET1", (230_000, 0, 250_000, 140_000), None)]  # a wall over tile rows 0-2 on MET1
    res, t, guides = gr_mod.kit_guides(gan650, region, obstacles, terminals)
    assert set(guides) == {"A", "B"} and res.overflow_total == 0
    b = 240_000 // t.tile - 1  # the wall spans the boundary between tile columns b and b + 1
    assert (t.grid.hcap[0, :3, b] == 0).all() and (t.grid.hcap[0, 3:, b] > 0).all()
    for name, rects in guides.items():
        assert {m for m, _ in rects} <= set(gan650.routing_metals)
        for term in terminals[name]:
            s = term[0]
            cx, cy = (s.rect[0] + s.rect[2]) // 2, (s.rect[1] + s.rect[3]) // 2
            assert any(m == s.layer and r[0] <= cx < r[2] and r[1] <= cy < r[3] for m, r in rects)
    # the global routes cross the wall's boundary only above it
    for segs in res.routes:
        for (x1, y1, l1), (x2, y2, l2) in segs:
            if l1 == l2 == 0 and y1 == y2 and min(x1, x2) <= b < max(x1, x2):
                assert y1 >= 3
