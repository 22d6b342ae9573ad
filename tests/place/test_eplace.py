"""flow.place.eplace: the Poisson solver and electrostatic global placement."""

from __future__ import annotations

import numpy as np
import pytest

from flow.place.eplace import _Grid, eplace
from flow.place.model import NetPins, net_hpwl, pin_arrays


def test_poisson_single_mode_is_exact():
    g = _Grid((0, 0, 1000, 1000), 16)
    i = np.arange(16) + 0.5
    u, v = 3, 2
    rho = np.outer(np.cos(np.pi * u * i / 16), np.cos(np.pi * v * i / 16))
    psi, ex, ey = g.field(rho)
    k2 = (np.pi * u / 16 / g.bw) ** 2 + (np.pi * v / 16 / g.bh) ** 2
    assert np.allclose(psi, rho / k2)
    # E = -grad psi: check against the analytic derivative
    ex_true = np.outer(np.sin(np.pi * u * i / 16), np.cos(np.pi * v * i / 16)) * (np.pi * u / 16 / g.bw) / k2
    assert np.allclose(ex, ex_true)


def test_field_pushes_away_from_a_charge_pile():
    g = _Grid((0, 0, 1600, 1600), 16)
    rho = np.zeros((16, 16))
    rho[7:9, 7:9] = 1.0
    _, ex, ey = g.field(rho)
    assert ex[10, 8] > 0 and ex[5, 8] < 0  # right of the pile points right, left points left
    assert ey[8, 10] > 0 and ey[8, 5] < 0


def _netlist(seed, m=200):
    rng = np.random.default_rng(seed)
    nets = []
    # two pads: object m (left) and m + 1 (right); cells 0..99 hang off the
    # left pad in a chain, cells 100..199 off the right pad
    for k in range(m):
        nxt = k + 1 if (k + 1) % 100 else (m if k < 100 else m + 1)
        nets.append(NetPins(f"n{k}", ((k, 0, 0), (nxt, 0, 0))))
    for k in range(0, m, 7):
        o = int(rng.integers(0, m))
        if (o < 100) == (k < 100) and o != k:
            nets.append(NetPins(f"x{k}", ((k, 0, 0), (o, 0, 0))))
    return nets


@pytest.mark.parametrize("seed", [1, 2])
def test_eplace_spreads_to_the_target_and_follows_the_nets(seed):
    m = 200
    rng = np.random.default_rng(seed)
    w = np.full(m, 400.0)
    h = np.full(m, 1000.0)
    region = (0, 0, 20000, 20000)
    fixed_c = np.array([[0.0, 10000.0], [20000.0, 10000.0]])
    nets = _netlist(seed, m)
    pa = pin_arrays(nets)
    start = np.full(m, 10000.0) + rng.normal(0, 10, m)
    res = eplace(w, h, start, start.copy(), fixed_c, pa, region, [], target_density=0.8, seed=seed)
    assert res.overflow <= 0.1 + 1e-9
    assert (res.cx - w / 2 >= 0).all() and (res.cx + w / 2 <= 20000).all()
    assert (res.cy - h / 2 >= 0).all() and (res.cy + h / 2 <= 20000).all()
    # the left chain sits left of the right chain
    assert res.cx[:100].mean() < res.cx[100:].mean() - 2000
    # far better wirelength than a random spread at the same density
    pos = np.vstack([np.column_stack([res.cx, res.cy]), fixed_c]).round().astype(np.int64)
    rnd = np.vstack([np.column_stack([rng.uniform(200, 19800, m), rng.uniform(500, 19500, m)]), fixed_c]).round().astype(np.int64)
    assert net_hpwl(pa, pos).sum() < 0.5 * net_hpwl(pa, rnd).sum()


def test_blockage_stays_empty():
    m = 150
    w = np.full(m, 500.0)
    h = np.full(m, 500.0)
    region = (0, 0, 10000, 10000)
    block = (3000, 3000, 7000, 7000)
    nets = [NetPins(f"n{k}", ((k, 0, 0), ((k + 1) % m, 0, 0))) for k in range(m)]
    start = np.full(m, 5000.0) + np.random.default_rng(0).normal(0, 5, m)
    res = eplace(w, h, start, start[::-1].copy(), np.zeros((0, 2)), pin_arrays(nets), region, [block], target_density=0.9)
    inside = (res.cx > 3500) & (res.cx < 6500) & (res.cy > 3500) & (res.cy < 6500)
    assert inside.sum() <= 0.05 * m


def test_same_seed_same_result():
    m = 60
    w = np.full(m, 300.0)
    h = np.full(m, 1000.0)
    nets = _netlist(0, 200)[:50]
    nets = [n for n in nets if all(p[0] < m for p in n.pins)]
    pa = pin_arrays(nets)
    s = np.full(m, 5000.0)
    a = eplace(w, h, s, s, np.zeros((0, 2)), pa, (0, 0, 10000, 10000), [], seed=4)
    b = eplace(w, h, s, s, np.zeros((0, 2)), pa, (0, 0, 10000, 10000), [], seed=4)
    assert np.array_equal(a.cx, b.cx) and np.array_equal(a.cy, b.cy)


@pytest.mark.parametrize("m", [8, 32])
def test_fast_transforms_equal_the_dense_basis(m):
    g = _Grid((0, 0, 1000, 1700), m)
    rho = np.random.default_rng(m).random((m, m))
    for fast, dense in zip(g.field(rho), g.field_dense(rho)):
        assert np.allclose(fast, dense, rtol=1e-10, atol=1e-12 * np.abs(dense).max())
