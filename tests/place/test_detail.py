"""flow.place.detail: swaps and shifts only lower HPWL and keep legality."""

from __future__ import annotations

import numpy as np
import pytest
from place_cases import UM, chain_case, row_placement

from flow.place import Obj, check_legal, hpwl
from flow.place.detail import improve
from flow.place.legalize import build_occupancy
from flow.place.model import pin_arrays


def _setup(objs, pos, region, spacing, grid):
    occ = build_occupancy(region, grid, spacing, max(o.halo for o in objs), min(min(o.w, o.h) for o in objs), [], [])
    for o, (x, y) in zip(objs, pos):
        occ.add_rect((x, y, x + o.w, y + o.h), spacing + o.halo)
    arr = lambda attr: np.array([getattr(o, attr) for o in objs], dtype=np.int64)  # noqa: E731
    return occ, arr("w"), arr("h"), arr("halo")


@pytest.mark.parametrize("seed", range(4))
def test_improve_lowers_hpwl_and_stays_legal(seed):
    n = 36
    objs, nets = chain_case(n, size=40 * UM)
    # give a third of the objects a halo so swaps must respect footprints
    objs = [Obj(o.name, o.w, o.h, halo=(5 * UM if i % 3 == 0 else 0)) for i, o in enumerate(objs)]
    region = (0, 0, 800 * UM, 800 * UM)
    order = list(np.random.default_rng(seed).permutation(n))
    start = row_placement(objs, order, region, 20 * UM)
    assert check_legal(objs, start, region, spacing=10 * UM, grid=UM) == []
    occ, w, h, halo = _setup(objs, start, region, 10 * UM, UM)
    movable = np.ones(n, dtype=bool)
    movable[0] = False  # one object pinned: it must not move
    out = improve(occ, np.array(start, dtype=np.int64), movable, w, h, halo, 10 * UM, pin_arrays(nets))
    positions = [tuple(map(int, p)) for p in out]
    assert positions[0] == start[0]
    assert check_legal(objs, positions, region, spacing=10 * UM, grid=UM) == []
    assert hpwl(objs, positions, nets) < 0.6 * hpwl(objs, start, nets)


def test_improve_without_nets_changes_nothing():
    objs = [Obj("a", 10, 10), Obj("b", 10, 10)]
    start = np.array([[0, 0], [50, 50]])
    occ, w, h, halo = _setup(objs, start, (0, 0, 100, 100), 1, 1)
    out = improve(occ, start, np.ones(2, dtype=bool), w, h, halo, 1, pin_arrays([]))
    assert np.array_equal(out, start)
