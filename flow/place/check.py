"""Legality check and wirelength of a placement (see :mod:`flow.place.model`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flow.place.model import NetPins, Obj, Rect, check_nets, check_objs, check_params, check_rect, net_hpwl, pin_arrays

#: Pairs are compared in blocks of this many rows to bound memory.
_BLOCK = 512


def hpwl(objs: Sequence[Obj], positions: Sequence[tuple[int, int]], nets: Sequence[NetPins]) -> int:
    """Total unweighted half-perimeter wirelength (dbu).

    For each net: (max - min) of the pin x coordinates plus the same for y,
    where a pin sits at ``position[obj] + (dx, dy)``.  Net weights are ignored.

    Examples
    --------
    >>> objs = [Obj("a", 10, 10), Obj("b", 10, 10)]
    >>> hpwl(objs, [(0, 0), (100, 50)], [NetPins("n", ((0, 5, 5), (1, 0, 5)))])
    145
    """
    check_objs(objs)
    check_nets(nets, len(objs))
    if len(positions) != len(objs):
        raise ValueError(f"hpwl: {len(positions)} positions for {len(objs)} objects")
    if not nets:
        return 0
    pos = np.asarray(positions, dtype=np.int64).reshape(-1, 2)
    return int(net_hpwl(pin_arrays(nets), pos).sum())


def _separation(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    """Signed separation of intervals [a0, a1] and [b0, b1] (negative = overlap)."""
    return np.maximum(a0, b0) - np.minimum(a1, b1)


def check_legal(
    objs: Sequence[Obj],
    positions: Sequence[tuple[int, int]],
    region: Rect,
    *,
    spacing: int,
    grid: int,
    keepouts: Sequence[Rect] = (),
) -> list[str]:
    """List every legality problem of a placement; ``[]`` when it is legal.

    The rules are defined in :mod:`flow.place.model` (fixed objects unmoved,
    movable objects inside ``region`` and on ``grid``, pairwise clearance
    ``spacing + max(halo_a, halo_b)`` in x or in y, keepout clearance
    ``spacing + halo``).

    Parameters
    ----------
    objs : sequence of Obj
    positions : sequence of (x, y)
        Lower-left corner of every object (dbu), in ``objs`` order.
    region : (x0, y0, x1, y1)
        Placement area (dbu).
    spacing : int
        Minimum gap between objects (dbu).
    grid : int
        Placement grid pitch (dbu), anchored at (0, 0).
    keepouts : sequence of (x0, y0, x1, y1)
        Rectangles (dbu) that movable objects must keep ``spacing + halo`` from.

    Returns
    -------
    list of str
        One human-readable line per problem.

    Notes
    -----
    Pairs are tested with numpy in blocks: O(n^2) work, O(n * 512) memory;
    a few thousand objects take well under a second.
    """
    check_objs(objs)
    check_params(spacing, grid)
    region = check_rect(region, "region")
    keepouts = [check_rect(k, f"keepout #{i}") for i, k in enumerate(keepouts)]
    n = len(objs)
    if len(positions) != n:
        return [f"{len(positions)} positions given for {n} objects"]
    problems: list[str] = []
    if n == 0:
        return problems
    pos = np.asarray(positions, dtype=np.int64).reshape(n, 2)
    w = np.array([o.w for o in objs], dtype=np.int64)
    h = np.array([o.h for o in objs], dtype=np.int64)
    halo = np.array([o.halo for o in objs], dtype=np.int64)
    movable = np.array([o.fixed is None for o in objs])
    x0, y0 = pos[:, 0], pos[:, 1]
    x1, y1 = x0 + w, y0 + h

    for i, o in enumerate(objs):
        if o.fixed is not None and (int(x0[i]), int(y0[i])) != (int(o.fixed[0]), int(o.fixed[1])):
            problems.append(f"fixed '{o.name}' moved from {tuple(o.fixed)} to ({x0[i]}, {y0[i]})")

    rx0, ry0, rx1, ry1 = region
    outside = movable & ((x0 < rx0) | (y0 < ry0) | (x1 > rx1) | (y1 > ry1))
    for i in np.flatnonzero(outside):
        problems.append(
            f"'{objs[i].name}' at ({x0[i]}, {y0[i]})-({x1[i]}, {y1[i]}) is outside the region {region}"
        )
    off = movable & ((x0 % grid != 0) | (y0 % grid != 0))
    for i in np.flatnonzero(off):
        problems.append(f"'{objs[i].name}' lower-left ({x0[i]}, {y0[i]}) is not on the {grid} dbu grid")

    for lo in range(0, n, _BLOCK):
        hi = min(n, lo + _BLOCK)
        sx = _separation(x0[lo:hi, None], x1[lo:hi, None], x0[None, :], x1[None, :])
        sy = _separation(y0[lo:hi, None], y1[lo:hi, None], y0[None, :], y1[None, :])
        need = spacing + np.maximum(halo[lo:hi, None], halo[None, :])
        bad = (sx < need) & (sy < need)
        # each unordered pair once: j > i
        bad &= np.arange(n)[None, :] > np.arange(lo, hi)[:, None]
        for bi, j in zip(*np.nonzero(bad)):
            i = lo + int(bi)
            a, b = objs[i], objs[int(j)]
            if sx[bi, j] < 0 and sy[bi, j] < 0:
                problems.append(f"'{a.name}' and '{b.name}' overlap")
            else:
                gap = int(max(sx[bi, j], sy[bi, j]))
                problems.append(
                    f"'{a.name}' and '{b.name}' are {gap} dbu apart; spacing needs {int(need[bi, j])}"
                )

    for k, (kx0, ky0, kx1, ky1) in enumerate(keepouts):
        sx = _separation(x0, x1, np.int64(kx0), np.int64(kx1))
        sy = _separation(y0, y1, np.int64(ky0), np.int64(ky1))
        need = spacing + halo
        bad = movable & (sx < need) & (sy < need)
        for i in np.flatnonzero(bad):
            if sx[i] < 0 and sy[i] < 0:
                problems.append(f"'{objs[i].name}' overlaps keepout #{k} {keepouts[k]}")
            else:
                gap = int(max(sx[i], sy[i]))
                problems.append(
                    f"'{objs[i].name}' is {gap} dbu from keepout #{k} {keepouts[k]}; spacing needs {int(need[i])}"
                )
    return problems
