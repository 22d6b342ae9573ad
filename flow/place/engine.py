"""The placement driver: validate, global place, legalise, improve, verify."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from flow.errors import StageError
from flow.place.check import check_legal
from flow.place.detail import improve
from flow.place.global_ import global_place
from flow.place.legalize import build_occupancy, legalize
from flow.place.model import (
    NetPins,
    Obj,
    PlaceResult,
    Rect,
    check_nets,
    check_objs,
    check_params,
    check_rect,
    net_hpwl,
    pin_arrays,
)

Progress = Callable[[str, float], None]


def _fmt_area(a: float) -> str:
    return f"{a:.4g} dbu^2"


def place(
    objs: Sequence[Obj],
    nets: Sequence[NetPins],
    region: Rect,
    *,
    spacing: int,
    grid: int,
    keepouts: Sequence[Rect] = (),
    seed: int = 0,
    progress: Progress | None = None,
) -> PlaceResult:
    """Place objects legally inside ``region`` with short wires.

    Parameters
    ----------
    objs : sequence of Obj
        Objects (device boxes, dbu); ``fixed`` ones are never moved.
    nets : sequence of NetPins
        Connectivity; pin offsets from the object's lower-left (dbu).
    region : (x0, y0, x1, y1)
        Area the movable objects must lie in (dbu).
    spacing : int
        Minimum clearance between any two objects (dbu), plus the larger halo.
    grid : int
        Movable lower-left corners are multiples of ``grid`` (dbu).
    keepouts : sequence of (x0, y0, x1, y1)
        Rectangles (dbu) movable objects keep ``spacing + halo`` away from.
    seed : int
        Seeds tie-breaking; equal inputs and seed give equal results.
    progress : callable(phase, fraction), optional
        Called now and then with phase ``"global"``, ``"legalize"`` or
        ``"detail"`` and the fraction (0..1) of that phase done.

    Returns
    -------
    PlaceResult
        Lower-left corners satisfying every rule of :mod:`flow.place.model`.

    Raises
    ------
    InputError
        Malformed objects, nets, region, keepouts or parameters.
    StageError
        The objects cannot be placed (too large, too full, or fixed objects
        that already violate the spacing).

    Notes
    -----
    1. quadratic global placement with spreading (:mod:`flow.place.global_`);
    2. greedy nearest-free-position legalisation, largest objects first,
       falling back to bottom-left packing if that fails
       (:mod:`flow.place.legalize`);
    3. swaps and shifts that only lower HPWL (:mod:`flow.place.detail`);
    4. a final :func:`check_legal` as a safety net.

    Examples
    --------
    >>> objs = [Obj("a", 10, 10), Obj("b", 10, 10), Obj("pad", 10, 10, fixed=(0, 0))]
    >>> nets = [NetPins("n1", ((0, 5, 5), (1, 5, 5))), NetPins("n2", ((1, 5, 5), (2, 5, 5)))]
    >>> r = place(objs, nets, (0, 0, 100, 100), spacing=2, grid=1)
    >>> r.positions[2]
    (0, 0)
    """
    check_objs(objs)
    check_nets(nets, len(objs))
    check_params(spacing, grid)
    region = check_rect(region, "region")
    keepouts = [check_rect(k, f"keepout #{i}") for i, k in enumerate(keepouts)]
    report = progress or (lambda phase, frac: None)
    n = len(objs)
    rx0, ry0, rx1, ry1 = region

    w_all = np.array([o.w for o in objs], dtype=np.int64)
    h_all = np.array([o.h for o in objs], dtype=np.int64)
    halo_all = np.array([o.halo for o in objs], dtype=np.int64)
    movable = np.array([o.fixed is None for o in objs], dtype=bool)
    pos = np.zeros((n, 2), dtype=np.int64)
    for i, o in enumerate(objs):
        if o.fixed is not None:
            pos[i] = o.fixed
    mov_idx = np.flatnonzero(movable)
    var_of = np.full(n, -1, dtype=np.int64)
    var_of[mov_idx] = np.arange(len(mov_idx))
    pa = pin_arrays(nets)

    # -- problems no algorithm can solve --------------------------------------
    fixed_idx = np.flatnonzero(~movable)
    if len(fixed_idx) > 1:
        sub = [objs[i] for i in fixed_idx]
        bad = check_legal(sub, [tuple(pos[i]) for i in fixed_idx], region, spacing=spacing, grid=grid)
        if bad:
            raise StageError(f"placement: fixed objects already violate the spacing: {bad[0]}")
    for i in mov_idx:
        o = objs[i]
        if o.w > rx1 - rx0 or o.h > ry1 - ry0:
            raise StageError(
                f"placement: '{o.name}' ({o.w} x {o.h} dbu) is larger than the region {region} "
                f"({rx1 - rx0} x {ry1 - ry0} dbu)"
            )
    mw, mh, mhalo = w_all[mov_idx], h_all[mov_idx], halo_all[mov_idx]
    obj_area = float((mw * mh).sum())
    fixed_rects = [
        ((int(pos[i, 0]), int(pos[i, 1]), int(pos[i, 0] + w_all[i]), int(pos[i, 1] + h_all[i])), int(halo_all[i]))
        for i in fixed_idx
    ]
    min_side = int(np.minimum(w_all, h_all)[mov_idx].min()) if len(mov_idx) else grid
    occ0 = build_occupancy(region, grid, spacing, int(halo_all.max(initial=0)), min_side, fixed_rects, keepouts)
    free_area = occ0.free_area()

    def too_full(extra: str = "") -> StageError:
        util = 100.0 * obj_area / free_area if free_area > 0 else float("inf")
        return StageError(
            f"placement: {len(mov_idx)} objects of total area {_fmt_area(obj_area)} do not fit in the region "
            f"{region} (free area {_fmt_area(free_area)}, utilisation {util:.1f}%){extra}"
        )

    if len(mov_idx) == 0:
        return PlaceResult(tuple((int(x), int(y)) for x, y in pos), int(net_hpwl(pa, pos).sum()), 0)
    if obj_area > free_area:
        raise too_full()

    # -- 1. global -------------------------------------------------------------
    # each object claims its area grown by half the clearance on every side
    clear = spacing + mhalo
    inflated = (mw + clear).astype(float) * (mh + clear).astype(float)
    blockers = [r for r, _ in fixed_rects] + list(keepouts)
    report("global", 0.0)
    targets, iters = global_place(
        mw, mh, var_of, pos.astype(float), pa, region, blockers, inflated, seed,
        progress=lambda f: report("global", f),
    )
    report("global", 1.0)

    # -- 2. legalise -----------------------------------------------------------
    report("legalize", 0.0)
    m = len(mov_idx)
    area = mw * mh
    order = sorted(range(m), key=lambda k: (-int(area[k]), float(targets[k, 0]), float(targets[k, 1]), k))
    occ = occ0.copy()
    mpos, failed = legalize(occ, mw, mh, mhalo, spacing, targets, order, lambda f: report("legalize", 0.5 * f))
    if failed is not None:
        # fall back to bottom-left packing, tallest first
        corner = np.tile([float(rx0), float(ry0)], (m, 1))
        order = sorted(range(m), key=lambda k: (-int(mh[k]), -int(mw[k]), k))
        occ = occ0.copy()
        mpos, failed = legalize(occ, mw, mh, mhalo, spacing, corner, order, lambda f: report("legalize", 0.5 + 0.5 * f))
        if failed is not None:
            raise too_full(f"; no room left for '{objs[mov_idx[failed]].name}'")
    pos[mov_idx] = mpos
    report("legalize", 1.0)

    # -- 3. detailed -----------------------------------------------------------
    report("detail", 0.0)
    pos = improve(occ, pos, movable, w_all, h_all, halo_all, spacing, pa, progress=lambda f: report("detail", f))
    report("detail", 1.0)

    # -- 4. verify -------------------------------------------------------------
    positions = tuple((int(x), int(y)) for x, y in pos)
    problems = check_legal(objs, positions, region, spacing=spacing, grid=grid, keepouts=keepouts)
    if problems:  # a bug, never expected: refuse to hand on an illegal result
        raise StageError(f"placement: internal error, result is not legal ({len(problems)} problems): {problems[0]}")
    return PlaceResult(positions, int(net_hpwl(pa, pos).sum()), iters)

