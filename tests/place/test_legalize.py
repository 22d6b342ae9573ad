"""flow.place.legalize: the occupancy raster and the greedy legaliser."""

from __future__ import annotations

import numpy as np
import pytest

from flow.place import Obj, check_legal
from flow.place.legalize import Occupancy, build_occupancy, choose_pitch, legalize


@pytest.mark.parametrize("grid", [1, 7, 1000])
def test_pitch_is_a_grid_multiple(grid):
    for span, side in [(2_000_000, 30_000), (100, 5), (10**9, 10)]:
        p = choose_pitch((0, 0, span, span // 2), grid, side)
        assert p % grid == 0 and p >= grid
        assert span / p <= 2048 + 1


def test_nearest_free_on_empty_raster_is_the_snapped_target():
    occ = Occupancy((0, 0, 1000, 1000), 10, 20)
    ij = occ.nearest_free(100, 100, 0, 333.0, 418.0)
    assert occ.to_xy(*ij) == (330, 420)
    # clamped into the region
    assert occ.to_xy(*occ.nearest_free(100, 100, 0, 5000.0, -300.0)) == (900, 0)


def test_nearest_free_avoids_obstacles_and_reports_full():
    occ = Occupancy((0, 0, 1000, 1000), 10, 20)
    occ.add_rect((0, 0, 1000, 600), grow=10)  # blocks y < 610
    x, y = occ.to_xy(*occ.nearest_free(100, 100, 0, 500.0, 100.0))
    assert (x, y) == (500, 610)
    assert occ.nearest_free(100, 500, 0, 0.0, 0.0) is None  # too tall for the rest
    assert occ.nearest_free(100, 100, 0, 0.0, 0.0, radius=3) is None  # too far within radius


def test_object_larger_than_region_has_no_anchor():
    occ = Occupancy((0, 0, 100, 100), 10, 0)
    assert occ.nearest_free(110, 10, 0, 0.0, 0.0) is None


@pytest.mark.parametrize("seed", range(8))
def test_legalize_random_mixed_sizes_is_legal(seed):
    rng = np.random.default_rng(seed)
    region = (-3000, 1000, 97_000, 81_000)
    spacing, grid = int(rng.choice([0, 300, 1000])), int(rng.choice([1, 100, 250]))
    m = 40
    w = rng.integers(1000, 15_000, m)
    h = rng.integers(1000, 10_000, m)
    halo = rng.choice([0, 0, 500, 1200], m)
    pads = [Obj("p0", 5000, 5000, fixed=(-8000, 20_000), halo=400), Obj("p1", 4000, 4000, fixed=(40_000, 79_000))]
    keepouts = [(50_000, 30_000, 60_000, 50_000)]
    occ = build_occupancy(
        region, grid, spacing, int(halo.max()), int(min(w.min(), h.min())),
        [((p.fixed[0], p.fixed[1], p.fixed[0] + p.w, p.fixed[1] + p.h), p.halo) for p in pads], keepouts,
    )
    # all targets in one corner: the worst case for the search
    targets = np.tile([0.0, 1000.0], (m, 1)) + rng.random((m, 2)) * 5000
    order = list(np.argsort(-(w * h), kind="stable"))
    pos, failed = legalize(occ, w, h, halo, spacing, targets, order)
    assert failed is None
    objs = [Obj(f"o{i}", int(w[i]), int(h[i]), halo=int(halo[i])) for i in range(m)] + pads
    positions = [tuple(map(int, p)) for p in pos] + [p.fixed for p in pads]
    assert check_legal(objs, positions, region, spacing=spacing, grid=grid, keepouts=keepouts) == []


def test_legalize_reports_the_object_that_does_not_fit():
    occ = Occupancy((0, 0, 100, 100), 10, 10)
    w = np.array([60, 60])
    h = np.array([60, 60])
    pos, failed = legalize(occ, w, h, np.zeros(2, dtype=int), 0, np.zeros((2, 2)), [0, 1])
    assert failed == 1 and tuple(pos[0]) == (0, 0)
