"""Junction fills: where a routed wire meets the net's other metal, the full width.

The router draws a net's wires as rectangles on a grid and lands them on the
pins it reaches (device terminals, buses, covers).  A wide wire that reaches
a pin where the two only overlap at a corner, or a wire whose end meets
another of its own rectangles off-centre, leaves a *neck*: a cross-section
of the merged metal narrower than the width the net's current needs, which
the ``current_density`` check flags (two facing edges of the merged outline
closer than ``I / J``).

:func:`junction_fills` finds those necks with the same facing-edge test the
DRC uses (:func:`flow.drc.edges.facing_pairs` on the merged outline of the
net's metal), leaving out necks lying wholly in the net's fixed metal
(device metal: the devices size it themselves), and fills each neck that
lies on a junction (the neck is not inside one rectangle): the bounding box
of the net's metal within reach of the neck, clipped to a window around it
(the needed width, then half of it, on every side), so the wire lands across
its full width, or across the pin's whole width when the pin is narrower.  A
fill is drawn only where it keeps each other net's clearance (its voltage
spacing, width-dependent spacing of either side) and the spacing to the
net's own metal it does not join, stays inside the routing region and below
the metal's maximum width; otherwise the neck stays and the DRC reports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from flow.drc import edges as E

Rect = tuple[int, int, int, int]

#: Rounds of check-and-fill per net and metal (a fill can reveal a neck next to it).
ROUNDS = 3


def _poly(r: Rect) -> np.ndarray:
    x0, y0, x1, y1 = r
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.int64)


def _on_rects(pts: np.ndarray, rects: np.ndarray) -> bool:
    """Every point of ``pts`` in or on one of ``rects``."""
    if not len(rects):
        return False
    inside = (
        (pts[:, None, 0] >= rects[None, :, 0]) & (pts[:, None, 0] <= rects[None, :, 2])
        & (pts[:, None, 1] >= rects[None, :, 1]) & (pts[:, None, 1] <= rects[None, :, 3])
    )
    return bool(inside.any(axis=1).all())


def necks(rects: Sequence[Rect], width: int, device: Sequence[Rect] = ()) -> list[Rect]:
    """Bounding boxes of the parts of ``rects`` (one net, one metal) narrower than ``width``.

    The merged outline's facing edge pairs closer than ``width`` within one
    polygon, as :func:`flow.drc.kinds.nets.check_current_density` finds
    them; a pair whose end points and midpoints all lie in or on ``device``
    is left out (device metal), as the DRC leaves it out.
    """
    if width <= 0 or not rects:
        return []
    e, pid = E.merge_edges([_poly(r) for r in rects])
    _, _, m, _ = E.facing_pairs(e, None, float(width), same_id=pid)
    dev = np.array(device, dtype=np.int64).reshape(-1, 4)
    out: list[Rect] = []
    for (a0x, a0y, a1x, a1y), (b0x, b0y, b1x, b1y) in m.tolist():
        pts = np.array([[a0x, a0y], [a1x, a1y], [b0x, b0y], [b1x, b1y]], dtype=np.int64)
        mids = np.array([(pts[0] + pts[1]) // 2, (pts[2] + pts[3]) // 2])
        if _on_rects(np.vstack([pts, mids]), dev):
            continue
        out.append((int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()), int(pts[:, 1].max())))
    return out


def _gap(a: np.ndarray, r: Rect) -> np.ndarray:
    return np.maximum(
        np.maximum(np.maximum(a[:, 0] - r[2], r[0] - a[:, 2]), np.maximum(a[:, 1] - r[3], r[1] - a[:, 3])), 0
    )


def _clip(r: Rect, w: Rect) -> Rect | None:
    c = (max(r[0], w[0]), max(r[1], w[1]), min(r[2], w[2]), min(r[3], w[3]))
    return c if c[2] > c[0] and c[3] > c[1] else None


def _touches(r: Rect, b: Rect) -> bool:
    """``r`` and ``b`` overlap or share a boundary stretch (closed boxes meet)."""
    return r[0] <= b[2] and b[0] <= r[2] and r[1] <= b[3] and b[1] <= r[3]


def junction_fills(
    own: Sequence[Rect],
    device: Sequence[Rect],
    width: int,
    others: np.ndarray,
    clearance: Callable[[int, int], int],
    self_space: Callable[[int], int],
    region: Rect,
    min_width: int,
    max_width: int | None = None,
    reach: int = 0,
) -> list[Rect]:
    """Fills of one net's necks on one metal (see the module notes).

    Parameters
    ----------
    own
        The net's metal on the layer: its routed rectangles and its fixed
        shapes (pins, device metal, covers, patches), dbu.
    device
        The net's device metal (a neck wholly on it is the device's).
    width
        Width the net's current needs on the layer, dbu.
    others
        ``(n, 5)`` int64: rectangles of every other net's metal on the layer
        with the index of their owner in column 4 (passed to ``clearance``).
    clearance
        ``clearance(owner, fill_width)``: how far a fill of the net whose
        narrower side is ``fill_width`` keeps from that owner's metal.
    self_space
        ``self_space(fill_width)``: the gap a fill keeps from the net's own
        metal it does not overlap (spacing, notch, wide spacing).
    region
        Every fill lies inside it.
    min_width
        A fill overlaps the net's own metal it touches by at least this much
        (or touches it not at all).
    max_width
        The metal's maximum width (no fill wider both ways).
    reach
        At least the largest ``clearance`` (other metal farther than this
        is not looked at).

    Returns
    -------
    list of Rect
        The fills, in the order drawn.
    """
    rects = list(dict.fromkeys(own))
    base = list(rects)
    # other nets' metal grown by its clearance to a fill of the minimum width
    blocked = np.zeros((0, 4), np.int64)
    if len(others):
        owners, inv = np.unique(others[:, 4], return_inverse=True)
        c = np.array([clearance(int(o), min_width) for o in owners.tolist()], np.int64)[inv]
        blocked = np.stack([others[:, 0] - c, others[:, 1] - c, others[:, 2] + c, others[:, 3] + c], axis=1)
    fills: list[Rect] = []
    dev = np.array(device, dtype=np.int64).reshape(-1, 4)

    def local(n: Rect, extra: Sequence[Rect]) -> list[Rect]:
        """Junction necks near ``n`` with ``extra`` metal drawn."""
        g = 2 * width
        win = (n[0] - g, n[1] - g, n[2] + g, n[3] + g)
        near = [r for r in list(rects) + list(extra) if _touches(r, win)]
        d = dev[(dev[:, 0] <= win[2]) & (dev[:, 2] >= win[0]) & (dev[:, 1] <= win[3]) & (dev[:, 3] >= win[1])]
        return [m for m in _junction_necks(near, width, d, base) if _touches(m, (n[0] - width, n[1] - width, n[2] + width, n[3] + width))]

    for _ in range(ROUNDS):
        found = _junction_necks(rects, width, dev, base)
        added = False
        for n in found:
            before = len(local(n, ()))
            if not before:
                continue
            best: tuple[int, Rect] | None = None
            tried: set[Rect] = set()
            for f in _candidates(n, rects, width, region) + _boxes(n, rects, width, region, blocked):
                if f in tried:
                    continue
                tried.add(f)
                if any(r[0] <= f[0] and r[1] <= f[1] and f[2] <= r[2] and f[3] <= r[3] for r in rects):
                    continue
                if max_width is not None and min(f[2] - f[0], f[3] - f[1]) > max_width:
                    continue
                if not _clear(f, rects, others, clearance, self_space, min_width, reach):
                    continue
                rest = local(n, [f])
                if any(f[0] <= m[0] and f[1] <= m[1] and m[2] <= f[2] and m[3] <= f[3] for m in rest):
                    continue  # the fill itself is narrower than the current needs
                left = len(rest)
                if best is None or left < best[0]:
                    best = (left, f)
                if left == 0:
                    break
            if best is not None and best[0] < before:
                fills.append(best[1])
                rects.append(best[1])
                added = True
        if not added:
            break
    return fills


def _junction_necks(rects: Sequence[Rect], width: int, device: np.ndarray, base: Sequence[Rect]) -> list[Rect]:
    """:func:`necks` of ``rects`` not lying inside one of ``base`` (the
    net's metal before any fill): a junction, not a narrow wire."""
    return [n for n in necks(rects, width, device) if not any(
        r[0] <= n[0] and r[1] <= n[1] and n[2] <= r[2] and n[3] <= r[3] for r in base
    )]


def _boxes(n: Rect, rects: Sequence[Rect], width: int, region: Rect, blocked: np.ndarray | None = None) -> list[Rect]:
    """More fills tried at the neck ``n`` when :func:`_candidates` leave it:
    every box holding ``n`` whose sides lie on a side of the net's metal
    touching ``n``, ``width`` beyond ``n``, or as far as other nets' metal
    allows (``blocked``: ``(k, 4)`` other metal grown by its clearance),
    within ``width`` of ``n`` (the landing grown along the pin to whichever
    side is free), smallest first, inside ``region``."""
    near = [r for r in rects if _touches(r, n)]
    b = np.zeros((0, 4), np.int64) if blocked is None else blocked
    b = b[(b[:, 0] <= n[2] + width) & (b[:, 2] >= n[0] - width) & (b[:, 1] <= n[3] + width) & (b[:, 3] >= n[1] - width)]
    xs0 = sorted({v for v in [n[0] - width] + [r[0] for r in near] + b[:, 2].tolist() if n[0] - width <= v <= n[0]} | {n[0]})
    ys0 = sorted({v for v in [n[1] - width] + [r[1] for r in near] + b[:, 3].tolist() if n[1] - width <= v <= n[1]} | {n[1]})
    xs1 = sorted({v for v in [n[2] + width] + [r[2] for r in near] + b[:, 0].tolist() if n[2] <= v <= n[2] + width} | {n[2]})
    ys1 = sorted({v for v in [n[3] + width] + [r[3] for r in near] + b[:, 1].tolist() if n[3] <= v <= n[3] + width} | {n[3]})
    out = np.array([(x0, y0, x1, y1) for x0 in xs0 for y0 in ys0 for x1 in xs1 for y1 in ys1], np.int64).reshape(-1, 4)
    out[:, 0] = np.maximum(out[:, 0], region[0])
    out[:, 1] = np.maximum(out[:, 1], region[1])
    out[:, 2] = np.minimum(out[:, 2], region[2])
    out[:, 3] = np.minimum(out[:, 3], region[3])
    out = out[(out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])]
    if len(b) and len(out):
        # boxes running into other metal (closer than its clearance) go first
        hit = ((out[:, None, 0] < b[None, :, 2]) & (b[None, :, 0] < out[:, None, 2])
               & (out[:, None, 1] < b[None, :, 3]) & (b[None, :, 1] < out[:, None, 3])).any(axis=1)
        out = out[~hit]
    area = (out[:, 2] - out[:, 0]) * (out[:, 3] - out[:, 1])
    order = np.lexsort((out[:, 3], out[:, 2], out[:, 1], out[:, 0], area))
    return [tuple(int(v) for v in out[k]) for k in order]  # type: ignore[misc]


def _candidates(n: Rect, rects: Sequence[Rect], width: int, region: Rect) -> list[Rect]:
    """Fills tried at the neck ``n``: the bounding box of the net's metal
    around it (window of ``width``, then half of it, on every side), then
    bars ``width`` wide across the neck spanning that box the other way, at
    a few offsets; all clipped to ``region``."""
    out: list[Rect] = []
    for grow in (width, width // 2):
        win = (max(n[0] - grow, region[0]), max(n[1] - grow, region[1]),
               min(n[2] + grow, region[2]), min(n[3] + grow, region[3]))
        parts = [c for r in rects if _touches(r, n) for c in [_clip(r, win)] if c is not None]
        if not parts:
            continue
        u = (min(p[0] for p in parts), min(p[1] for p in parts), max(p[2] for p in parts), max(p[3] for p in parts))
        out.append(u)
        for ax in (0, 1):
            lo, hi = u[ax], u[ax + 2]
            if hi - lo <= width:
                continue
            c = (n[ax] + n[ax + 2]) // 2
            for a in (c - width // 2, n[ax], n[ax + 2] - width, lo, hi - width):
                a = min(max(a, lo), hi - width)
                f = (a, u[1], a + width, u[3]) if ax == 0 else (u[0], a, u[2], a + width)
                out.append(f)
    return list(dict.fromkeys(out))


def _clear(
    f: Rect,
    rects: Sequence[Rect],
    others: np.ndarray,
    clearance: Callable[[int, int], int],
    self_space: Callable[[int], int],
    min_width: int,
    reach: int,
) -> bool:
    fw = min(f[2] - f[0], f[3] - f[1])
    if len(others):
        g = _gap(others[:, :4], f)
        for n in np.nonzero(g < reach)[0].tolist():
            if g[n] < clearance(int(others[n, 4]), fw):
                return False
    mine = np.array(rects, dtype=np.int64).reshape(-1, 4)
    g = _gap(mine, f)
    s = self_space(fw)
    for n in np.nonzero(g < s)[0].tolist():
        a = mine[n]
        if g[n] > 0:
            return False
        ovx = min(a[2], f[2]) - max(a[0], f[0])
        ovy = min(a[3], f[3]) - max(a[1], f[1])
        if max(ovx, ovy) < min_width:
            return False  # a corner or a stretch shorter than the minimum width joins them
    return True
