"""Shared generators and oracles for the placement tests (not a test module)."""

from __future__ import annotations

import klayout.db as kdb
import numpy as np

from flow.place import NetPins, Obj

UM = 1000  # dbu per micron (1 nm dbu)


def mixed_case(
    seed: int,
    n: int = 60,
    die: int = 2000 * UM,
    pads: int = 12,
    halos: bool = True,
    max_w: int = 600,
    max_h: int = 400,
) -> tuple[list[Obj], list[NetPins], tuple[int, int, int, int]]:
    """Mixed-size objects (log-uniform 30 um .. max_w x max_h um), pads on the die edge."""
    rng = np.random.default_rng(seed)
    objs = []
    for i in range(n):
        w = int(np.exp(rng.uniform(np.log(30), np.log(max_w)))) * UM
        h = int(np.exp(rng.uniform(np.log(30), np.log(max_h)))) * UM
        halo = int(rng.choice([0, 0, 0, 4 * UM, 10 * UM])) if halos else 0
        objs.append(Obj(f"d{i}", w, h, halo=halo))
    pad = 80 * UM
    for k in range(pads):
        side, t = k % 4, (k // 4 + 1) * die // ((pads + 3) // 4 + 1)
        xy = [(t, -pad - 20 * UM), (die + 20 * UM, t), (t, die + 20 * UM), (-pad - 20 * UM, t)][side]
        objs.append(Obj(f"pad{k}", pad, pad, fixed=xy))
    nets = []
    for k in range(int(1.4 * n)):
        deg = int(rng.choice([2, 2, 2, 3, 4, 7]))
        members = rng.choice(len(objs), size=min(deg, len(objs)), replace=False)
        pins = tuple(
            (int(i), int(rng.integers(0, objs[i].w + 1)), int(rng.integers(0, objs[i].h + 1))) for i in members
        )
        nets.append(NetPins(f"n{k}", pins, weight=float(rng.choice([1.0, 2.0]))))
    return objs, nets, (0, 0, die, die)


def chain_case(n: int, size: int = 50 * UM) -> tuple[list[Obj], list[NetPins]]:
    """``n`` equal objects in a chain c0 - c1 - ... - c(n-1), pins at the centres."""
    objs = [Obj(f"c{i}", size, size) for i in range(n)]
    c = size // 2
    nets = [NetPins(f"n{i}", ((i, c, c), (i + 1, c, c))) for i in range(n - 1)]
    return objs, nets


def row_placement(
    objs: list[Obj], order: list[int], region: tuple[int, int, int, int], gap: int
) -> list[tuple[int, int]]:
    """Naive reference: objects in ``order`` left to right in rows (shelf packing)."""
    x0, y0, x1, _ = region
    pos: list[tuple[int, int]] = [(0, 0)] * len(objs)
    x, y, row_h = x0, y0, 0
    for i in order:
        o = objs[i]
        if o.fixed is not None:
            pos[i] = o.fixed
            continue
        if x + o.w > x1:
            x, y, row_h = x0, y + row_h + gap, 0
        pos[i] = (x, y)
        x += o.w + gap
        row_h = max(row_h, o.h)
    for i, o in enumerate(objs):
        if o.fixed is not None:
            pos[i] = o.fixed
    return pos


def klayout_legal(
    objs: list[Obj],
    positions,
    region: tuple[int, int, int, int],
    spacing: int,
    keepouts=(),
) -> bool:
    """Independent legality oracle (KLayout booleans) for objects that share one halo.

    Each box grown by half the required clearance ``g = spacing + halo`` must
    not overlap any other grown box (union area == sum of areas); movable
    boxes must lie inside the region, keep ``g`` from every keepout, and sit
    on integer coordinates.  Requires ``g`` even.
    """
    halos = {o.halo for o in objs}
    assert len(halos) <= 1
    g = spacing + (halos.pop() if halos else 0)
    assert g % 2 == 0
    grown = [
        kdb.Box(x, y, x + o.w, y + o.h).enlarged(g // 2, g // 2) for o, (x, y) in zip(objs, positions)
    ]
    union = kdb.Region()
    for b in grown:
        union.insert(b)
    total = sum(b.area() for b in grown)
    if union.area() != total:  # Region.area() merges first
        return False
    movable = kdb.Region()
    for o, (x, y) in zip(objs, positions):
        if o.fixed is None:
            movable.insert(kdb.Box(x, y, x + o.w, y + o.h))
    if not (movable - kdb.Region(kdb.Box(*region))).is_empty():
        return False
    for k in keepouts:
        grown_k = kdb.Region(kdb.Box(*k).enlarged(g, g))
        if (movable & grown_k).area() > 0:
            return False
    return True
