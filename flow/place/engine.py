"""The placement driver: validate, global place, legalise, improve, verify."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from flow.errors import InputError, StageError
from flow.place.check import check_legal
from flow.place.detail import improve
from flow.place.global_ import global_place
from flow.place.legalize import ClassedOccupancy, build_occupancy, legalize_classes
from flow.place.model import (
    NetPins,
    Obj,
    PairRules,
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
    rules: PairRules | None = None,
    method: str = "quadratic",
    pair_aware: bool = True,
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
    rules : PairRules, optional
        Voltage keep-outs and thermal margins between pairs of objects (rule
        7 of :mod:`flow.place.model`).  Global placement spreads power
        devices over their heat-spreading footprints; legalisation keeps
        every pair rule (one occupancy raster per clearance class).
    method : {"quadratic", "eplace", "auto"}
        Global placer: quadratic placement with spreading
        (:mod:`flow.place.global_`), electrostatic placement from a quadratic
        start (:mod:`flow.place.eplace`, objects inflated by their clearance
        and thermal footprint), or both, keeping the result with the lower
        final HPWL (``stats["global_method"]`` says which).
    pair_aware : bool
        Make global placement aware of the pair rules: spreading inflates
        an object with a voltage keep-out by half the largest keep-out to a
        class present on every side, and global placement ends by pushing
        apart the targets of objects that still break a voltage keep-out or
        thermal spacing (:func:`separate_pairs`), so legalisation displaces
        less; False leaves the keep-out to legalisation alone (for
        comparisons, bench/place_keepout.py).

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
       a power device claims its heat-spreading footprint while spreading,
       and targets are clipped into each object's fence;
    2. greedy nearest-free-position legalisation, largest objects first,
       falling back to bottom-left packing if that fails
       (:mod:`flow.place.legalize`), on one raster per clearance class;
    3. swaps and shifts that only lower HPWL (:mod:`flow.place.detail`),
       one clearance class at a time;
    4. a final :func:`check_legal` as a safety net.

    ``PlaceResult.stats`` holds ``hpwl_global`` (HPWL of the global
    placement's targets), ``overflow_global`` (density overflow of the
    targets, see :func:`flow.place.report.overflow`), ``displacement_mean``,
    ``displacement_max`` and ``displacement_total`` (Manhattan distance from
    target to legal position over the movables), ``hpwl_legal`` (after
    legalisation) and ``hpwl_detail`` (final), all in dbu but the overflow.

    Examples
    --------
    >>> objs = [Obj("a", 10, 10), Obj("b", 10, 10), Obj("pad", 10, 10, fixed=(0, 0))]
    >>> nets = [NetPins("n1", ((0, 5, 5), (1, 5, 5))), NetPins("n2", ((1, 5, 5), (2, 5, 5)))]
    >>> r = place(objs, nets, (0, 0, 100, 100), spacing=2, grid=1)
    >>> r.positions[2]
    (0, 0)
    """
    if method == "auto":
        kw = dict(spacing=spacing, grid=grid, keepouts=keepouts, seed=seed, progress=progress, rules=rules, pair_aware=pair_aware)
        results: list[PlaceResult] = []
        errors: list[StageError] = []
        for meth in ("quadratic", "eplace"):
            try:
                results.append(place(objs, nets, region, method=meth, **kw))
            except StageError as e:  # e.g. too full after this placer: the other may fit
                errors.append(e)
        if not results:
            raise errors[0]
        return min(results, key=lambda r: r.hpwl)
    if method not in ("quadratic", "eplace"):
        raise InputError(f"placement: method {method!r} is not 'quadratic', 'eplace' or 'auto'")
    check_objs(objs)
    check_nets(nets, len(objs))
    check_params(spacing, grid)
    region = check_rect(region, "region")
    keepouts = [check_rect(k, f"keepout #{i}") for i, k in enumerate(keepouts)]
    if rules is not None:
        rules.check(len(objs))
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
        bad = check_legal(
            sub, [tuple(pos[i]) for i in fixed_idx], region, spacing=spacing, grid=grid,
            rules=None if rules is None else _sub_rules(rules, fixed_idx),
        )
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
    cls_all, gap, fences = _clearance_classes(objs, rules)
    thermal_all = np.array(rules.thermal if rules is not None and rules.thermal else [0] * n, dtype=np.int64)
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
        h0 = int(net_hpwl(pa, pos).sum())
        return PlaceResult(tuple((int(x), int(y)) for x, y in pos), h0, 0, _stats(h0, 0.0, np.zeros((0, 2)), h0, h0))
    if obj_area > free_area:
        raise too_full()

    # -- 1. global -------------------------------------------------------------
    # each object claims its area grown by half the clearance on every side
    clear = spacing + mhalo
    inflated = (mw + clear).astype(float) * (mh + clear).astype(float)
    # a power device claims its heat-spreading footprint (box grown by the
    # thermal margin on every side)
    mth = thermal_all[mov_idx]
    inflated = np.maximum(inflated, (mw + 2 * mth).astype(float) * (mh + 2 * mth).astype(float))
    if pair_aware and gap.max() > 0:
        # an object with a voltage keep-out claims its box grown by half the
        # largest keep-out to a class present on every side, so spreading
        # makes room for it (two such objects then sit the keep-out apart)
        present = np.unique(cls_all)
        vk = gap[cls_all[mov_idx]][:, present].max(axis=1)
        inflated = np.maximum(inflated, (mw + vk).astype(float) * (mh + vk).astype(float))
    blockers = [r for r, _ in fixed_rects] + list(keepouts)
    report("global", 0.0)
    if method == "eplace":
        grow = np.sqrt(inflated / (mw.astype(float) * mh)) # keep the aspect ratio
        targets, iters = _eplace_global(
            mw, mh, mw * grow, mh * grow, var_of, pos, pa, region, blockers, mov_idx, fixed_idx, w_all, h_all,
            float(inflated.sum()) / max(free_area, 1.0), seed, lambda f: report("global", f),
        )
    else:
        targets, iters = global_place(
            mw, mh, var_of, pos.astype(float), pa, region, blockers, inflated, seed,
            progress=lambda f: report("global", f),
        )
    pushed = 0
    if pair_aware and rules is not None and len(mov_idx) <= SEPARATE_MAX:
        targets, pushed = separate_pairs(
            targets, mw, mh, mov_idx, pos, w_all, h_all, gap, cls_all, movable, region,
        )
    for k, i in enumerate(mov_idx):  # fences: clip targets into them
        f = objs[i].region
        if f is not None:
            targets[k, 0] = min(max(targets[k, 0], f[0]), f[2] - mw[k])
            targets[k, 1] = min(max(targets[k, 1], f[1]), f[3] - mh[k])
    gpos = pos.astype(float).copy()
    gpos[mov_idx] = targets
    hpwl_global = int(net_hpwl(pa, np.rint(gpos).astype(np.int64)).sum())
    from flow.place.report import overflow

    ovf = overflow(region, gpos[mov_idx], mw, mh, blockers)
    report("global", 1.0)

    # -- 2. legalise -----------------------------------------------------------
    report("legalize", 0.0)
    m = len(mov_idx)
    area = mw * mh
    # objects with pair rules first (they need the most room), then by area
    claim = area + (mw + 2 * mth) * (mh + 2 * mth) * (mth > 0)
    ruled = np.array([gap[cls_all[i]].max() > 0 or objs[i].region is not None for i in mov_idx], dtype=bool)
    order = sorted(range(m), key=lambda k: (not ruled[k], -int(claim[k]), float(targets[k, 0]), float(targets[k, 1]), k))
    mcls = cls_all[mov_idx]

    def fresh() -> ClassedOccupancy:
        base = build_occupancy(region, grid, spacing, int(halo_all.max(initial=0)), min_side, [], keepouts)
        co = ClassedOccupancy(base, gap, spacing, fences)
        for i in fixed_idx:
            x, y = int(pos[i, 0]), int(pos[i, 1])
            co.add((x, y, x + int(w_all[i]), y + int(h_all[i])), int(halo_all[i]), int(cls_all[i]))
        return co

    co = fresh()
    mpos, failed = legalize_classes(co, mw, mh, mhalo, mcls, targets, order, lambda f: report("legalize", 0.5 * f))
    if failed is not None:
        # fall back to bottom-left packing, ruled and tallest first
        corner = np.tile([float(rx0), float(ry0)], (m, 1))
        order = sorted(range(m), key=lambda k: (not ruled[k], -int(mh[k]), -int(mw[k]), k))
        co = fresh()
        mpos, failed = legalize_classes(co, mw, mh, mhalo, mcls, corner, order, lambda f: report("legalize", 0.5 + 0.5 * f))
        if failed is not None:
            raise too_full(f"; no room left for '{objs[mov_idx[failed]].name}'" + (
                " (with its voltage keep-out / thermal spacing / fence)" if ruled[failed] or gap.max() > 0 else ""))
    pos[mov_idx] = mpos
    hpwl_legal = int(net_hpwl(pa, pos).sum())
    report("legalize", 1.0)

    # -- 3. detailed: one clearance class at a time ------------------------------
    report("detail", 0.0)
    classes = sorted({int(c) for c in mcls})
    for n_c, c in enumerate(classes):
        sel = movable & (cls_all == c)
        pos = improve(
            co.view(c), pos, sel, w_all, h_all, halo_all, spacing, pa,
            progress=lambda f, n_c=n_c: report("detail", (n_c + f) / len(classes)),
        )
    report("detail", 1.0)

    # -- 4. verify -------------------------------------------------------------
    positions = tuple((int(x), int(y)) for x, y in pos)
    problems = check_legal(objs, positions, region, spacing=spacing, grid=grid, keepouts=keepouts, rules=rules)
    if problems:  # a bug, never expected: refuse to hand on an illegal result
        raise StageError(f"placement: internal error, result is not legal ({len(problems)} problems): {problems[0]}")
    final = int(net_hpwl(pa, pos).sum())
    disp = np.abs(mpos - targets).sum(axis=1)
    return PlaceResult(
        positions, final, iters,
        _stats(hpwl_global, ovf, disp, hpwl_legal, final) | {"global_method": method, "pair_pushes": pushed},
        tuple((int(round(x)), int(round(y))) for x, y in gpos),
    )


#: Options for :func:`flow.place.eplace.eplace` on free-form (mixed-size)
#: designs: a few tens of objects from 10 um to mm.  A big device keeps the
#: overflow from dropping much below 0.15, so stop there (legalisation
#: resolves the rest) and bound the iterations; 16 x 16 bins keep the
#: per-iteration cost of mm-sized objects low (bench/place_power.py).
EPLACE_OPTIONS: dict = {"target_overflow": 0.15, "max_iter": 400, "bins": 16}


def _eplace_global(mw, mh, iw, ih, var_of, pos, pa, region, blockers, mov_idx, fixed_idx, w_all, h_all, util, seed, progress):
    """Quadratic start, then :func:`flow.place.eplace.eplace` on the movables
    inflated to ``iw x ih``; lower-left targets (float dbu) and iterations."""
    from flow.place.eplace import eplace
    from flow.place.global_ import build_quadratic, solve
    from flow.place.model import PinArrays

    m = len(mov_idx)
    n = len(w_all)
    model = build_quadratic(pa, var_of, pos.astype(float))
    diag = model.A.diagonal()[:m]
    scale = float(diag[diag > 0].mean()) if (diag > 0).any() else 1.0
    rx0, ry0, rx1, ry1 = region
    rng = np.random.default_rng(seed)
    span = min(rx1 - rx0, ry1 - ry0)
    ax = 0.5 * (rx0 + rx1) + (rng.random(m) - 0.5) * 1e-2 * span - mw / 2
    ay = 0.5 * (ry0 + ry1) + (rng.random(m) - 0.5) * 1e-2 * span - mh / 2
    x, y = solve(model, np.full(m, 1e-3 * scale), ax, ay)
    # eplace wants movables first, then fixed, and pin offsets from centres
    new = np.empty(n, dtype=np.int64)
    new[mov_idx] = np.arange(m)
    new[fixed_idx] = m + np.arange(len(fixed_idx))
    cpa = PinArrays(
        new[pa.obj], pa.dx - (w_all[pa.obj] // 2), pa.dy - (h_all[pa.obj] // 2), pa.net, pa.start, pa.weight
    )
    fixed_c = (
        np.column_stack([pos[fixed_idx, 0] + w_all[fixed_idx] / 2, pos[fixed_idx, 1] + h_all[fixed_idx] / 2])
        if len(fixed_idx) else np.zeros((0, 2))
    )
    res = eplace(
        iw.astype(float), ih.astype(float), x + mw / 2, y + mh / 2, fixed_c, cpa, region, blockers,
        target_density=float(min(1.0, max(0.7, util))), seed=seed + 1, progress=progress,
        **EPLACE_OPTIONS,
    )
    cx = np.clip(res.cx, rx0 + mw / 2, rx1 - mw / 2)
    cy = np.clip(res.cy, ry0 + mh / 2, ry1 - mh / 2)
    return np.column_stack([cx - mw / 2, cy - mh / 2]), res.iterations


#: Largest number of movable objects :func:`separate_pairs` works on (its
#: cost is quadratic in the objects that carry a pair rule).
SEPARATE_MAX = 4000


def separate_pairs(targets, mw, mh, mov_idx, pos, w_all, h_all, gap, cls_all, movable, region, rounds: int = 300):
    """Push apart global-placement targets that break a pair rule.

    Every two objects whose clearance classes need a gap ``g > 0`` (voltage
    keep-out, thermal spacing; ``gap[cls_a, cls_b]``) and whose boxes, grown
    by ``g``, overlap are moved apart along the axis of the smaller overlap,
    each by its share (the smaller object moves more; a fixed one not at
    all), clipped into the region; repeated until no pair overlaps or
    ``rounds`` run out.  Pairs without a rule are left to the density
    spreading and legalisation.  Returns the new targets (lower-left, float
    dbu) and the number of pushes.

    Notes
    -----
    O(r^2) per round for the ``r`` objects that carry a pair rule,
    vectorised with numpy.
    """
    n_all = len(w_all)
    cx = pos[:, 0].astype(float) + w_all / 2
    cy = pos[:, 1].astype(float) + h_all / 2
    cx[mov_idx] = targets[:, 0] + mw / 2
    cy[mov_idx] = targets[:, 1] + mh / 2
    ruled = np.flatnonzero(gap.max(axis=1)[cls_all] > 0)
    if len(ruled) < 2:
        return targets, 0
    c = cls_all[ruled]
    g = gap[c[:, None], c[None, :]].astype(float)
    iu, ju = np.nonzero(np.triu(g > 0, 1))
    if len(iu) == 0:
        return targets, 0
    a, b, gp = ruled[iu], ruled[ju], g[iu, ju]
    w = w_all.astype(float)
    h = h_all.astype(float)
    area = w * h
    mob = np.where(movable, 1.0, 0.0)
    # share of a push each side takes: the smaller moves more, a fixed one not
    sa = mob[a] * area[b] / (area[a] + area[b])
    sb = mob[b] * area[a] / (area[a] + area[b])
    tot = sa + sb
    ok = tot > 0
    a, b, gp, sa, sb = a[ok], b[ok], gp[ok], sa[ok] / tot[ok], sb[ok] / tot[ok]
    needx = (w[a] + w[b]) / 2 + gp
    needy = (h[a] + h[b]) / 2 + gp
    rx0, ry0, rx1, ry1 = region
    lox, hix = rx0 + w / 2, rx1 - w / 2
    loy, hiy = ry0 + h / 2, ry1 - h / 2
    pushes = 0
    for _ in range(rounds):
        dx = cx[b] - cx[a]
        dy = cy[b] - cy[a]
        ox = needx - np.abs(dx)
        oy = needy - np.abs(dy)
        bad = (ox > 0) & (oy > 0)
        if not bad.any():
            break
        pushes += int(bad.sum())
        alongx = bad & (ox <= oy)
        alongy = bad & ~alongx
        # direction: away from each other (ties broken by index order)
        sx = np.where(dx >= 0, 1.0, -1.0)
        sy = np.where(dy >= 0, 1.0, -1.0)
        mx = np.zeros(n_all)
        my = np.zeros(n_all)
        np.add.at(mx, a[alongx], -sx[alongx] * ox[alongx] * sa[alongx])
        np.add.at(mx, b[alongx], sx[alongx] * ox[alongx] * sb[alongx])
        np.add.at(my, a[alongy], -sy[alongy] * oy[alongy] * sa[alongy])
        np.add.at(my, b[alongy], sy[alongy] * oy[alongy] * sb[alongy])
        # an object in several bad pairs takes the average push (stable)
        cnt = np.bincount(np.r_[a[bad], b[bad]], minlength=n_all).astype(float)
        cnt[cnt == 0] = 1.0
        cx = np.where(movable, np.clip(cx + mx / np.sqrt(cnt), lox, hix), cx)
        cy = np.where(movable, np.clip(cy + my / np.sqrt(cnt), loy, hiy), cy)
    out = np.column_stack([cx[mov_idx] - mw / 2, cy[mov_idx] - mh / 2])
    return out, pushes


def _stats(hpwl_global: int, ovf: float, disp: np.ndarray, hpwl_legal: int, hpwl_detail: int) -> dict:
    return {
        "hpwl_global": hpwl_global,
        "overflow_global": round(float(ovf), 6),
        "displacement_mean": float(disp.mean()) if len(disp) else 0.0,
        "displacement_max": float(disp.max()) if len(disp) else 0.0,
        "displacement_total": float(disp.sum()),
        "hpwl_legal": hpwl_legal,
        "hpwl_detail": hpwl_detail,
    }


def _sub_rules(rules: PairRules, idx: np.ndarray) -> PairRules:
    """``rules`` restricted to the objects ``idx`` (in that order)."""
    sel = [int(i) for i in idx]
    return PairRules(
        vclass=tuple(rules.vclass[i] for i in sel),
        vgap=rules.vgap,
        dv=rules.dv,
        labels=rules.labels,
        thermal=tuple(rules.thermal[i] for i in sel) if rules.thermal else (),
        power=tuple(rules.power[i] for i in sel) if rules.power else (),
    )


def _clearance_classes(objs: Sequence[Obj], rules: PairRules | None) -> tuple[np.ndarray, np.ndarray, list]:
    """Clearance class of every object, the class gap table and class fences.

    Objects share a class when they have the same voltage class, thermal
    margin and fence; ``gap[c][d]`` is the largest pair rule between the
    classes (voltage keep-out, or the sum of the thermal margins of two
    power devices).
    """
    n = len(objs)
    keys: dict[tuple, int] = {}
    cls = np.zeros(n, dtype=np.int64)
    # voltage classes with equal gap rows behave alike: merge them (no gaps
    # at all -> one class, and the plain single-raster placement)
    same: dict[int, int] = {}
    if rules is not None:
        first: dict[tuple[int, ...], int] = {}
        for v, row in enumerate(rules.vgap):
            same[v] = -1 if not any(row) else first.setdefault(tuple(row), v)
    for i, o in enumerate(objs):
        v = same.get(rules.vclass[i], -1) if rules is not None else -1
        t = rules.thermal[i] if rules is not None and rules.thermal else 0
        f = tuple(o.region) if o.region is not None and o.fixed is None else None
        cls[i] = keys.setdefault((v, t, f), len(keys))
    k = len(keys)
    gap = np.zeros((k, k), dtype=np.int64)
    key_list = list(keys)
    for a, (va, ta, _) in enumerate(key_list):
        for b, (vb, tb, _) in enumerate(key_list):
            g = 0
            if rules is not None and va >= 0 and vb >= 0:
                g = int(rules.vgap[va][vb])
            if ta > 0 and tb > 0:
                g = max(g, int(ta + tb))
            gap[a, b] = g
    return cls, gap, [key[2] for key in key_list]

