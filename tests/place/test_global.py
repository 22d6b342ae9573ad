"""flow.place.global_: the quadratic model and the spreading step."""

from __future__ import annotations

import numpy as np
import pytest

from flow.place.global_ import build_quadratic, capacity_map, global_place, solve, spread
from flow.place.model import NetPins, pin_arrays


def test_chain_between_two_pads_is_evenly_spaced():
    """pad0 - a - b - pad1 with 2-pin nets: the quadratic optimum divides the span in thirds."""
    # objects: 0 = pad at x=0, 1 = a, 2 = b, 3 = pad at x=300; pins at the lower-left
    nets = [
        NetPins("n0", ((0, 0, 0), (1, 0, 0))),
        NetPins("n1", ((1, 0, 0), (2, 0, 0))),
        NetPins("n2", ((2, 0, 0), (3, 0, 0))),
    ]
    var_of = np.array([-1, 0, 1, -1])
    fixed = np.array([[0.0, 0.0], [0, 0], [0, 0], [300.0, 60.0]])
    model = build_quadratic(pin_arrays(nets), var_of, fixed)
    x, y = solve(model, np.full(2, 1e-9), np.zeros(2), np.zeros(2))
    assert x == pytest.approx([100, 200], abs=1e-3)
    assert y == pytest.approx([20, 40], abs=1e-3)


def test_pin_offsets_and_star_nets():
    """A 6-pin net (star model) with all others fixed: the movable pin lands inside their span."""
    pins = [(0, 5, 7)] + [(k, 0, 0) for k in range(1, 6)]
    nets = [NetPins("big", tuple(pins))]
    var_of = np.array([0, -1, -1, -1, -1, -1])
    fixed = np.array([[0.0, 0.0]] + [[100.0 * k, 50.0] for k in range(1, 6)])
    model = build_quadratic(pin_arrays(nets), var_of, fixed)
    assert model.n_vars == 2  # one object + one star centre
    x, y = solve(model, np.full(1, 1e-9), np.zeros(1), np.zeros(1))
    # the pin (x + 5, y + 7) sits at the mean of the fixed pins
    assert x[0] + 5 == pytest.approx(300, abs=1e-3)
    assert y[0] + 7 == pytest.approx(50, abs=1e-3)


def test_spread_stack_over_free_capacity():
    """Objects stacked in one point are spread out, avoiding a blocked left half."""
    n = 64
    region = (0, 0, 800, 800)
    cap = capacity_map(region, [(0, 0, 400, 800)], (8, 8))
    assert cap.free[:4].sum() == 0 and cap.free[4:].sum() == pytest.approx(400 * 800)
    cx = np.full(n, 100.0)
    cy = np.full(n, 100.0)
    tb = np.random.default_rng(0).random(n)
    sx, sy = spread(cx, cy, np.full(n, 50.0 * 50.0), cap, tb)
    assert (sx >= 400).all() and (sx <= 800).all() and (sy >= 0).all() and (sy <= 800).all()
    # no 100 x 100 bin holds more than its capacity in object area (4 objects of 2500)
    hist, _, _ = np.histogram2d(sx, sy, bins=[np.linspace(0, 800, 9)] * 2)
    assert hist.max() <= 4
    assert len({(round(a), round(b)) for a, b in zip(sx, sy)}) == n


def test_spread_keeps_order_along_cut():
    n = 10
    cap = capacity_map((0, 0, 1000, 100), [], (10, 1))
    cx = np.linspace(400, 410, n)
    sx, _ = spread(cx, np.full(n, 50.0), np.full(n, 100.0), cap, np.zeros(n))
    assert (np.diff(sx) > 0).all()
    assert sx.min() < 150 and sx.max() > 850


def test_global_place_targets_inside_region_and_deterministic():
    m = 30
    rng = np.random.default_rng(3)
    w = rng.integers(10, 60, m)
    h = rng.integers(10, 60, m)
    nets = [NetPins(f"n{i}", ((i, 0, 0), ((i + 1) % m, 0, 0))) for i in range(m)]
    args = (w, h, np.arange(m), np.zeros((m, 2)), pin_arrays(nets), (0, 0, 1000, 500), [], (w * h).astype(float))
    t1, it1 = global_place(*args, seed=1)
    t2, it2 = global_place(*args, seed=1)
    assert np.array_equal(t1, t2) and it1 == it2 >= 1
    assert (t1[:, 0] >= 0).all() and (t1[:, 0] + w <= 1000).all()
    assert (t1[:, 1] >= 0).all() and (t1[:, 1] + h <= 500).all()
