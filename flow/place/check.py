"""Legality check and wirelength of a placement (see :mod:`flow.place.model`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from flow.place.model import NetPins, Obj, PairRules, Rect, check_nets, check_objs, check_params, check_rect, net_hpwl, pin_arrays

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
    rules: PairRules | None = None,
    off_grid: Collection[int] = (),
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
    rules : PairRules, optional
        Voltage keep-outs and thermal margins (rule 7 of
        :mod:`flow.place.model`); their violations are listed by
        :func:`check_pairs` and reported here as one line each.
    off_grid : collection of int
        Objects exempt from the grid rule: members of a mirror-symmetry group,
        placed exactly symmetric about the group's axis rather than on the
        grid (:func:`check_symmetry` checks them instead).

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
    for i, o in enumerate(objs):
        if o.region is not None and o.fixed is None:
            fx0, fy0, fx1, fy1 = o.region
            if x0[i] < fx0 or y0[i] < fy0 or x1[i] > fx1 or y1[i] > fy1:
                problems.append(
                    f"'{o.name}' at ({x0[i]}, {y0[i]})-({x1[i]}, {y1[i]}) is outside its region {tuple(o.region)}"
                )
    off = movable & ((x0 % grid != 0) | (y0 % grid != 0))
    if len(off_grid):
        off[np.asarray(list(off_grid), dtype=np.int64)] = False
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
    if rules is not None:
        problems += [v.message() for v in check_pairs(objs, positions, rules)]
    return problems


@dataclass(frozen=True)
class PairViolation:
    """Two objects closer than a pair rule (voltage keep-out or thermal) allows.

    ``gap`` is the edge-to-edge separation along the axis that separates the
    boxes most (negative when they overlap), ``need`` the rule's minimum,
    both in dbu; ``detail`` says why (voltage classes, or powers).
    """

    kind: str  # "voltage" | "thermal"
    a: str
    b: str
    gap: int
    need: int
    detail: str

    def message(self, unit: float = 1.0, name: str = "dbu") -> str:
        """One line, lengths divided by ``unit`` and suffixed ``name``."""
        def f(v: int) -> str:
            return f"{v / unit:g} {name}"

        what = "voltage keep-out" if self.kind == "voltage" else "thermal spacing"
        return f"{what}: '{self.a}' and '{self.b}' are {f(self.gap)} apart, need {f(self.need)} ({self.detail})"

    def to_json(self, unit: float = 1.0) -> dict:
        return {"kind": self.kind, "a": self.a, "b": self.b, "gap": self.gap / unit, "need": self.need / unit, "detail": self.detail}


def check_pairs(objs: Sequence[Obj], positions: Sequence[tuple[int, int]], rules: PairRules) -> list[PairViolation]:
    """Every pair of objects that breaks a voltage keep-out or thermal margin.

    A pair keeps its rule when the boxes are at least ``need`` apart along x
    or along y (as rule 4 of :mod:`flow.place.model`); the gap reported is
    the larger of the two separations.  Fixed objects are checked too.

    Examples
    --------
    >>> objs = [Obj("hv", 10, 10), Obj("lv", 10, 10)]
    >>> rules = PairRules(vclass=(0, 1), vgap=((0, 50), (50, 0)), dv=((0, 600), (600, 0)), labels=("600 V", "0 V"))
    >>> [v.message() for v in check_pairs(objs, [(0, 0), (30, 0)], rules)]
    ["voltage keep-out: 'hv' and 'lv' are 20 dbu apart, need 50 dbu (600 V vs 0 V: 600 V difference)"]
    """
    n = len(objs)
    rules.check(n)
    out: list[PairViolation] = []
    if n < 2:
        return out
    pos = np.asarray(positions, dtype=np.int64).reshape(n, 2)
    w = np.array([o.w for o in objs], dtype=np.int64)
    h = np.array([o.h for o in objs], dtype=np.int64)
    x0, y0 = pos[:, 0], pos[:, 1]
    x1, y1 = x0 + w, y0 + h
    k = len(rules.vgap)
    vc = np.array(rules.vclass, dtype=np.int64)
    vg = np.zeros((k + 1, k + 1), dtype=np.int64)  # row/col k: no class
    if k:
        vg[:k, :k] = np.array(rules.vgap, dtype=np.int64)
    vc = np.where(vc < 0, k, vc)
    th = np.array(rules.thermal, dtype=np.int64) if rules.thermal else np.zeros(n, dtype=np.int64)
    for lo in range(0, n, _BLOCK):
        hi = min(n, lo + _BLOCK)
        sx = _separation(x0[lo:hi, None], x1[lo:hi, None], x0[None, :], x1[None, :])
        sy = _separation(y0[lo:hi, None], y1[lo:hi, None], y0[None, :], y1[None, :])
        gap = np.maximum(sx, sy)
        need_v = vg[vc[lo:hi, None], vc[None, :]]
        need_t = np.where((th[lo:hi, None] > 0) & (th[None, :] > 0), th[lo:hi, None] + th[None, :], 0)
        upper = np.arange(n)[None, :] > np.arange(lo, hi)[:, None]
        for kind, need in (("voltage", need_v), ("thermal", need_t)):
            bad = upper & (need > 0) & (gap < need)
            for bi, j in zip(*np.nonzero(bad)):
                i, j = lo + int(bi), int(j)
                if kind == "voltage":
                    ca, cb = rules.vclass[i], rules.vclass[j]
                    detail = f"{rules.labels[ca]} vs {rules.labels[cb]}: {rules.dv[ca][cb]:g} V difference"
                else:
                    pa = rules.power[i] if rules.power else 0.0
                    pb = rules.power[j] if rules.power else 0.0
                    detail = f"{pa:g} W and {pb:g} W: heat-spreading footprints overlap"
                out.append(PairViolation(kind, objs[i].name, objs[j].name, int(gap[bi, j]), int(need[bi, j]), detail))
    return out


def check_symmetry(
    names: Sequence[str],
    sizes: Sequence[tuple[int, int]],
    positions: Sequence[tuple[int, int]],
    orients: Sequence[str],
    groups: Sequence[tuple[Sequence[tuple[int, int]], Sequence[int], str]],
) -> list[str]:
    """Problems of mirror-symmetry groups; ``[]`` when every group holds.

    A group is ``(pairs, selfs, axis)``: object index pairs ``(a, b)``,
    self-symmetric objects, and ``"vertical"`` (``b`` is ``a`` mirrored
    left-right) or ``"horizontal"`` (upside down).  For a vertical axis at
    ``x = X`` a group holds when every pair has equal sizes, the same ``y``,
    centres at ``X - d`` and ``X + d``, and ``b``'s orientation is ``a``'s
    mirrored left-right (R0 <-> MY, MX <-> R180); every self-symmetric
    object is centred on ``x = X``.  ``X`` is one for the whole group.  A
    horizontal axis swaps x and y (mirror R0 <-> MX, MY <-> R180).
    Coordinates are compared exactly (doubled centres, integers).

    Examples
    --------
    >>> names, sizes = ["a", "b", "t"], [(4, 2), (4, 2), (4, 2)]
    >>> check_symmetry(names, sizes, [(0, 0), (6, 0), (3, 5)], ["R0", "MY", "R0"], [([(0, 1)], [2], "vertical")])
    []
    >>> check_symmetry(names, sizes, [(0, 0), (7, 0), (3, 5)], ["R0", "MY", "R0"], [([(0, 1)], [2], "vertical")])[0]
    "symmetry[0]: 't' is centred at x = 5, the axis of the pairs is at x = 5.5"
    """
    from pdk.base import MIRROR_X, MIRROR_Y

    out: list[str] = []
    for g, (pairs, selfs, axis) in enumerate(groups):
        a_ = 0 if axis == "vertical" else 1  # mirrored coordinate
        o_ = 1 - a_
        xy = "xy"[a_]
        mirror = MIRROR_Y if axis == "vertical" else MIRROR_X
        axes: list[tuple[int, int | None]] = []  # doubled axis position, self-symmetric object or None (a pair)
        for a, b in pairs:
            if tuple(sizes[a]) != tuple(sizes[b]):
                out.append(f"symmetry[{g}]: '{names[a]}' {tuple(sizes[a])} and '{names[b]}' {tuple(sizes[b])} differ in size")
                continue
            if positions[a][o_] != positions[b][o_]:
                out.append(
                    f"symmetry[{g}]: '{names[b]}' at {'xy'[o_]} = {positions[b][o_]} is not level with '{names[a]}' "
                    f"at {positions[a][o_]}"
                )
            if orients[b] != mirror[orients[a]]:
                out.append(
                    f"symmetry[{g}]: '{names[b]}' is {orients[b]}, the mirror image of '{names[a]}' ({orients[a]}) "
                    f"is {mirror[orients[a]]}"
                )
            s = sizes[a][a_]
            axes.append((positions[a][a_] + positions[b][a_] + s, None))
        for k in selfs:
            axes.append((2 * positions[k][a_] + sizes[k][a_], k))
        if not axes:
            continue
        # the first pair (or self-symmetric object) sets the axis
        ref, k0 = axes[0]
        who = "the pairs" if k0 is None else f"'{names[k0]}'"
        for d, k in axes[1:]:
            if d == ref:
                continue
            if k is None:
                out.append(f"symmetry[{g}]: the pairs are mirrored about different axes ({xy} = {ref / 2:g} and {d / 2:g})")
            else:
                out.append(f"symmetry[{g}]: '{names[k]}' is centred at {xy} = {d / 2:g}, the axis of {who} is at {xy} = {ref / 2:g}")
    return out
