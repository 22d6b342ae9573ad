"""Row-based (standard-cell) legalisation and detailed placement.

Standard cells sit in rows of sites: a cell's lower-left corner is on a row's
y and on that row's site grid, the whole cell within the row, no two cells
overlapping, none overlapping a fixed blockage (macro).  This module works in
integer dbu on plain arrays; :mod:`flow.lefdef.placer` turns a LEF/DEF design
into them.

* :func:`segments` cuts rows into free *segments* around blockages;
* :func:`legalize_rows` is Abacus (Spindler, Schlichtmann, Johannes, ISPD
  2008) on the site grid: cells in order of target x, each tried in the rows
  nearest its target and put where its quadratic displacement is smallest,
  clusters of abutting cells shifted together to their optimal site;
* :func:`improve_rows` lowers HPWL without breaking legality: each cell moves
  to a free gap (or swaps with a same-width cell) near its optimal point, then
  windows of three neighbours are reordered, then cells slide within their gaps.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from flow.errors import StageError
from flow.place.model import PinArrays, Rect

#: Row orientations supported for standard cells (no rotated rows).
ROW_ORIENTS = ("N", "FS", "FN", "S")


@dataclass(frozen=True)
class RowSpec:
    """One row of sites: lower-left (x, y), ``n`` sites of ``site_w`` dbu, height ``h``."""

    x: int
    y: int
    n: int
    site_w: int
    h: int
    orient: str = "N"


@dataclass(frozen=True)
class Segment:
    """A free stretch of one row: sites ``[s0, s1)`` of row ``row``."""

    row: int
    y: int
    x_origin: int  # the row's x (site 0)
    site_w: int
    s0: int
    s1: int
    orient: str

    def x_of(self, site: int) -> int:
        return self.x_origin + site * self.site_w


def segments(rows: Sequence[RowSpec], blockages: Sequence[Rect]) -> list[Segment]:
    """Rows minus the sites any blockage overlaps (touching edges do not block)."""
    out: list[Segment] = []
    for ri, r in enumerate(rows):
        cuts: list[tuple[int, int]] = []
        for bx0, by0, bx1, by1 in blockages:
            if by1 <= r.y or by0 >= r.y + r.h:
                continue
            a = max(0, (bx0 - r.x) // r.site_w)  # first site touched
            b = min(r.n, -((-(bx1 - r.x)) // r.site_w))  # one past the last
            if a < b:
                cuts.append((a, b))
        cuts.sort()
        s = 0
        for a, b in cuts:
            if a > s:
                out.append(Segment(ri, r.y, r.x, r.site_w, s, a, r.orient))
            s = max(s, b)
        if s < r.n:
            out.append(Segment(ri, r.y, r.x, r.site_w, s, r.n, r.orient))
    return out


# --------------------------------------------------------------------------
# Abacus


class _SegState:
    """Clusters of one segment, in site units relative to ``s0``."""

    __slots__ = ("seg", "length", "used", "cells", "cl")

    def __init__(self, seg: Segment):
        self.seg = seg
        self.length = seg.s1 - seg.s0
        self.used = 0
        self.cells: list[int] = []
        # clusters: [first index into cells, e, q, w, x]
        self.cl: list[list[float]] = []

    def _collapse(self, cl: list[list[float]]) -> None:
        """Place the last cluster optimally, merging backwards while it overlaps."""
        while True:
            c = cl[-1]
            x = int(round(c[2] / c[1]))
            x = min(max(x, 0), self.length - int(c[3]))
            c[4] = x
            if len(cl) >= 2 and cl[-2][4] + cl[-2][3] > x:
                p = cl[-2]
                p[1] += c[1]
                p[2] += c[2] - c[1] * p[3]
                p[3] += c[3]
                cl.pop()
                continue
            return

    def trial(self, t: float, w: int) -> int | None:
        """Site (relative) the new cell would get, or None when it does not fit.

        Simulates :meth:`add` on the trailing clusters without changing them.
        """
        if self.used + w > self.length:
            return None
        cl = self.cl
        x = min(max(int(round(t)), 0), self.length - w)
        e, q, wc = 1.0, t, w
        k = len(cl) - 1
        if k >= 0 and cl[k][4] + cl[k][3] > x:
            e, q, wc = cl[k][1] + 1.0, cl[k][2] + t - cl[k][3], int(cl[k][3]) + w
            k -= 1
        while True:
            x = min(max(int(round(q / e)), 0), self.length - wc)
            if k >= 0 and cl[k][4] + cl[k][3] > x:
                e, q, wc = cl[k][1] + e, cl[k][2] + q - e * cl[k][3], int(cl[k][3]) + wc
                k -= 1
                continue
            return x + wc - w

    def _add(self, cl: list[list[float]], t: float, w: int, first: int) -> None:
        x = min(max(int(round(t)), 0), self.length - w)
        if cl and cl[-1][4] + cl[-1][3] > x:
            c = cl[-1]
            c[2] += t - c[3]
            c[1] += 1.0
            c[3] += w
        else:
            cl.append([first, 1.0, t, w, x])
        self._collapse(cl)

    def add(self, cell: int, t: float, w: int) -> None:
        self._add(self.cl, t, w, len(self.cells))
        self.cells.append(cell)
        self.used += w

    def sites(self, wsites: np.ndarray) -> list[tuple[int, int]]:
        """(cell, absolute site) of every cell."""
        out = []
        for ci, c in enumerate(self.cl):
            end = self.cl[ci + 1][0] if ci + 1 < len(self.cl) else len(self.cells)
            s = int(c[4])
            for k in range(int(c[0]), int(end)):
                cell = self.cells[k]
                out.append((cell, self.seg.s0 + s))
                s += int(wsites[cell])
        return out


def legalize_rows(
    segs: Sequence[Segment],
    w: np.ndarray,
    targets: np.ndarray,
    *,
    progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Abacus legalisation.  Returns (lower-left positions (m, 2) int64, segment index per cell).

    Parameters
    ----------
    segs : sequence of Segment
        Free row stretches (all rows of one height).
    w : ndarray of int
        Cell widths (dbu); each is rounded up to whole sites.
    targets : ndarray (m, 2)
        Desired lower-left corners (dbu, float).

    Raises
    ------
    StageError
        A cell fits in no segment (the rows are too full or too short).

    Examples
    --------
    >>> segs = segments([RowSpec(0, 0, 10, 100, 500), RowSpec(0, 500, 10, 100, 500)], [])
    >>> pos, _ = legalize_rows(segs, np.array([300, 300, 300]), np.array([[0.0, 0], [10, 10], [20, 0]]))
    >>> sorted(map(tuple, pos.tolist()))
    [(0, 0), (0, 500), (300, 0)]
    """
    m = len(w)
    pos = np.zeros((m, 2), dtype=np.int64)
    seg_of = np.full(m, -1, dtype=np.int64)
    if m == 0:
        return pos, seg_of
    if not segs:
        raise StageError("placement: the design has no free row to place standard cells in")
    site_w = segs[0].site_w
    wsites = -(-np.asarray(w, dtype=np.int64) // site_w)
    states = [_SegState(s) for s in segs]
    # segments grouped by row y, rows sorted by y
    by_y: dict[int, list[int]] = {}
    for k, s in enumerate(segs):
        by_y.setdefault(s.y, []).append(k)
    ys = np.array(sorted(by_y), dtype=np.float64)
    order = np.lexsort((targets[:, 1], targets[:, 0]))
    step = max(1, m // 50)
    for n_done, i in enumerate(order):
        tx, ty = float(targets[i, 0]), float(targets[i, 1])
        wi = int(wsites[i])
        best = (math.inf, -1, 0)
        # rows outwards from the target y; stop when the y cost alone exceeds the best
        j = int(np.searchsorted(ys, ty))
        lo, hi = j - 1, j
        while lo >= 0 or hi < len(ys):
            if hi < len(ys) and (lo < 0 or ys[hi] - ty <= ty - ys[lo]):
                y = ys[hi]
                hi += 1
            else:
                y = ys[lo]
                lo -= 1
            dy2 = (y - ty) ** 2
            if dy2 >= best[0]:
                break
            for k in by_y[int(y)]:
                st = states[k]
                seg = st.seg
                t = (tx - seg.x_of(seg.s0)) / site_w
                s = st.trial(t, wi)
                if s is None:
                    continue
                dx = seg.x_of(seg.s0 + s) - tx
                cost = dx * dx + dy2
                if cost < best[0]:
                    best = (cost, k, t)
        if best[1] < 0:
            raise StageError(
                f"placement: no row has room for cell #{int(i)} ({int(w[i])} dbu wide); the rows are too full"
            )
        states[best[1]].add(int(i), best[2], wi)
        seg_of[i] = best[1]
        if progress and n_done % step == 0:
            progress(n_done / m)
    for st in states:
        for cell, s in st.sites(wsites):
            pos[cell] = (st.seg.x_of(s), st.seg.y)
    return pos, seg_of


def place_tall(
    rows: Sequence[RowSpec],
    blockages: Sequence[Rect],
    w: np.ndarray,
    h: np.ndarray,
    targets: np.ndarray,
) -> tuple[np.ndarray, list[str]]:
    """Cells taller than a row, each on the nearest free stack of rows.

    Greedy, biggest first: a cell goes where its squared displacement from
    its target (lower-left) is smallest among the site-aligned x positions
    of every stack of abutting rows tall enough for it, clear of the
    blockages and of the tall cells placed before.  Returns lower-left
    corners (k, 2) and the orientation of each cell's bottom row; the caller
    then treats them as blockages for the single-row cells.

    Raises
    ------
    StageError
        A cell fits nowhere.
    """
    by_y: dict[int, list[RowSpec]] = {}
    for r in rows:
        by_y.setdefault(r.y, []).append(r)
    ys = np.array(sorted(by_y), dtype=np.float64)
    placed = [tuple(int(v) for v in b) for b in blockages]
    out = np.zeros((len(w), 2), dtype=np.int64)
    orient = ["N"] * len(w)
    for i in np.argsort(-(np.asarray(w, float) * np.asarray(h, float)), kind="stable"):
        wi, hi_ = int(w[i]), int(h[i])
        tx, ty = float(targets[i, 0]), float(targets[i, 1])
        best: tuple[float, tuple[int, int, str] | None] = (math.inf, None)
        for y in ys[np.argsort(np.abs(ys - ty), kind="stable")]:
            y = int(y)
            dy2 = (y - ty) ** 2
            if dy2 >= best[0]:
                break
            for r in by_y[y]:
                lo, hi = r.x, r.x + r.n * r.site_w
                yy = y + r.h
                ok = True
                while yy < y + hi_:
                    above = [q for q in by_y.get(yy, []) if q.x < hi and q.x + q.n * q.site_w > lo]
                    if not above:
                        ok = False
                        break
                    lo, hi = max(lo, above[0].x), min(hi, above[0].x + above[0].n * above[0].site_w)
                    yy += above[0].h
                if not ok or hi - lo < wi:
                    continue
                cuts = sorted((b[0], b[2]) for b in placed if b[1] < y + hi_ and b[3] > y and b[2] > lo and b[0] < hi)
                gaps = []
                s = lo
                for a, b in cuts:
                    if a > s:
                        gaps.append((s, a))
                    s = max(s, b)
                if s < hi:
                    gaps.append((s, hi))
                sw = r.site_w
                for a, b in gaps:
                    xa = r.x + -(-(a - r.x) // sw) * sw
                    xb = r.x + ((b - wi - r.x) // sw) * sw
                    if xa > xb:
                        continue
                    x = min(max(r.x + int(round((tx - r.x) / sw)) * sw, xa), xb)
                    cost = (x - tx) ** 2 + dy2
                    if cost < best[0]:
                        best = (cost, (x, y, r.orient))
        if best[1] is None:
            raise StageError(f"placement: no stack of rows has room for multi-row cell #{int(i)} ({wi} x {hi_} dbu)")
        x, y, o = best[1]
        out[i] = (x, y)
        orient[i] = o
        placed.append((x, y, x + wi, y + hi_))
    return out, orient


# --------------------------------------------------------------------------
# legality


def check_rows(
    pos: np.ndarray,
    w: np.ndarray,
    h: np.ndarray,
    rows: Sequence[RowSpec],
    blockages: Sequence[Rect],
    names: Sequence[str] | None = None,
) -> list[str]:
    """Every row-legality problem of standard cells at ``pos``; ``[]`` when legal.

    A cell must start on a row's y and site grid and end within that row
    (a cell taller than its row: within abutting rows stacked above it),
    overlap no other cell and no blockage (touching is fine).  Rows are
    assumed not to overlap each other.  Every cell involved in an overlap is
    named at least once (not every overlapping pair).
    """
    m = len(w)
    nm = (lambda i: names[i]) if names is not None else (lambda i: f"#{i}")
    problems: list[str] = []
    row_at: dict[int, list[RowSpec]] = {}
    for r in rows:
        row_at.setdefault(r.y, []).append(r)
    for i in range(m):
        x, y = int(pos[i, 0]), int(pos[i, 1])
        ok = False
        for r in row_at.get(y, []):
            if (x - r.x) % r.site_w == 0 and r.x <= x and x + int(w[i]) <= r.x + r.n * r.site_w:
                ok = int(h[i]) <= r.h or _stacked(row_at, x, y + r.h, x + int(w[i]), y + int(h[i]))
                if ok:
                    break
        if not ok:
            problems.append(f"cell '{nm(i)}' at ({x}, {y}) is not on a row's site grid within the row")
    # overlaps.  Cells whose box lies within one row band (the usual case)
    # only meet cells starting on the same y: compare x-neighbours there
    # (vectorised).  The rest (off-row or taller cells) are swept along x
    # against everything.
    x0, y0 = pos[:, 0].astype(np.int64), pos[:, 1].astype(np.int64)
    x1, y1 = x0 + w, y0 + h
    band_h = min((r.h for r in rows), default=0)
    in_band = np.array([int(y0[i]) in row_at for i in range(m)], dtype=bool) & (h <= band_h) if m else np.zeros(0, bool)
    if m:
        idx = np.flatnonzero(in_band)
        order = idx[np.lexsort((x0[idx], y0[idx]))]
        same = y0[order[1:]] == y0[order[:-1]]
        hit = same & (x1[order[:-1]] > x0[order[1:]])
        # a cell overlapping a farther cell also overlaps its x-neighbour, so
        # every overlapping cell is reported at least once
        for a, b in zip(order[:-1][hit], order[1:][hit]):
            problems.append(f"cells '{nm(int(a))}' and '{nm(int(b))}' overlap")
    rest = np.flatnonzero(~in_band) if m else np.zeros(0, np.int64)
    if len(rest):
        order = np.argsort(x0, kind="stable")
        active: list[int] = []
        restset = set(int(i) for i in rest)
        for i in order:
            i = int(i)
            active = [a for a in active if x1[a] > x0[i]]
            for a in active:
                if (a in restset or i in restset) and y0[a] < y1[i] and y0[i] < y1[a]:
                    problems.append(f"cells '{nm(int(a))}' and '{nm(int(i))}' overlap")
            active.append(i)
    for k, (bx0, by0, bx1, by1) in enumerate(blockages):
        hit = (x0 < bx1) & (bx0 < x1) & (y0 < by1) & (by0 < y1)
        for i in np.flatnonzero(hit):
            problems.append(f"cell '{nm(int(i))}' overlaps blockage #{k} {(bx0, by0, bx1, by1)}")
    return problems


def _stacked(row_at: dict[int, list[RowSpec]], x0: int, y: int, x1: int, top: int) -> bool:
    """Rows abut from ``y`` up to ``top``, each spanning [x0, x1]."""
    while y < top:
        r = next((r for r in row_at.get(y, []) if r.x <= x0 and x1 <= r.x + r.n * r.site_w), None)
        if r is None:
            return False
        y += r.h
    return True


# --------------------------------------------------------------------------
# detailed placement


def pin_offsets(orient: str, w: int, h: int, dx: int, dy: int) -> tuple[int, int]:
    """Pin offset from the lower-left of a cell placed with a row orientation."""
    if orient == "N":
        return dx, dy
    if orient == "FS":
        return dx, h - dy
    if orient == "FN":
        return w - dx, dy
    if orient == "S":
        return w - dx, h - dy
    raise ValueError(f"row orientation {orient!r} is not one of {ROW_ORIENTS}")


#: Row orientation -> index into the per-orientation pin offset tables.
_ORI = {o: k for k, o in enumerate(ROW_ORIENTS)}


class _RowNets:
    """Absolute pin positions kept up to date as cells move, for incremental HPWL.

    The pins of net ``k`` are the slice ``start[k]:start[k + 1]`` of the pin
    coordinate lists ``X``/``Y``, so a net's HPWL is a max/min over a list
    slice.  Moving an object (:meth:`put`) rewrites its few pins with the
    offsets of its new orientation (precomputed for all four).
    """

    def __init__(self, pa: PinArrays, n: int, w: np.ndarray, h: np.ndarray, px: list[int], py: list[int], oi: list[int]):
        obj = pa.obj.astype(np.int64)
        self.start = [int(v) for v in pa.start]
        self.weight = [float(v) for v in pa.weight]
        self.pobj = obj.tolist()
        wo = np.asarray(w, dtype=np.int64)[obj] if len(obj) else np.zeros(0, np.int64)
        ho = np.asarray(h, dtype=np.int64)[obj] if len(obj) else np.zeros(0, np.int64)
        dx, dy = pa.dx.astype(np.int64), pa.dy.astype(np.int64)
        # ROW_ORIENTS order: N, FS, FN, S (see pin_offsets)
        ox = np.stack([dx, dx, wo - dx, wo - dx])
        oy = np.stack([dy, ho - dy, dy, ho - dy])
        self.offx = [r.tolist() for r in ox]
        self.offy = [r.tolist() for r in oy]
        oiv = np.asarray(oi, dtype=np.int64)[obj] if len(obj) else np.zeros(0, np.int64)
        pxa = np.asarray(px, dtype=np.int64)
        pya = np.asarray(py, dtype=np.int64)
        self.X = (pxa[obj] + ox[oiv, np.arange(len(obj))]).tolist() if len(obj) else []
        self.Y = (pya[obj] + oy[oiv, np.arange(len(obj))]).tolist() if len(obj) else []
        order = np.argsort(obj, kind="stable")
        bounds = np.searchsorted(obj[order], np.arange(n + 1))
        ol = order.tolist()
        self.pins_of: list[list[int]] = [ol[bounds[i] : bounds[i + 1]] for i in range(n)]
        # nets of each object, only nets joining >= 2 distinct objects
        n_nets = len(self.start) - 1
        net = pa.net.astype(np.int64)
        pair = np.unique(net * max(n, 1) + obj) if len(obj) else np.zeros(0, np.int64)
        pn, po = pair // max(n, 1), pair % max(n, 1)
        distinct = np.bincount(pn, minlength=n_nets)
        ok = distinct[pn] >= 2
        pn, po = pn[ok], po[ok]
        o2 = np.lexsort((pn, po))
        pn, po = pn[o2], po[o2]
        b2 = np.searchsorted(po, np.arange(n + 1))
        pnl = pn.tolist()
        self.of: list[list[int]] = [pnl[b2[i] : b2[i + 1]] for i in range(n)]

    def put(self, o: int, x: int, y: int, oi: int) -> None:
        """Move object ``o``'s pins to lower-left ``(x, y)`` in orientation ``oi``."""
        X, Y, fx, fy = self.X, self.Y, self.offx[oi], self.offy[oi]
        for p in self.pins_of[o]:
            X[p] = x + fx[p]
            Y[p] = y + fy[p]

    def cost(self, nets) -> float:
        """Weighted HPWL of ``nets`` at the current pin positions."""
        X, Y, st, wt = self.X, self.Y, self.start, self.weight
        total = 0.0
        for k in nets:
            s, e = st[k], st[k + 1]
            xs = X[s:e]
            ys = Y[s:e]
            total += wt[k] * (max(xs) - min(xs) + max(ys) - min(ys))
        return total

    def model(self, a: int) -> list[tuple[float, int, int, int, int, list[int]]]:
        """Per net of ``a``: (weight, bounding box of the other pins, a's pins).

        With the other objects standing still, :meth:`at` then scores any
        position of ``a`` in O(its nets), without touching the pin lists.
        """
        X, Y, st, pobj, wt = self.X, self.Y, self.start, self.pobj, self.weight
        terms = []
        for k in self.of[a]:
            own = []
            lx = ly = math.inf
            hx = hy = -math.inf
            for p in range(st[k], st[k + 1]):
                if pobj[p] == a:
                    own.append(p)
                else:
                    x, y = X[p], Y[p]
                    if x < lx:
                        lx = x
                    if x > hx:
                        hx = x
                    if y < ly:
                        ly = y
                    if y > hy:
                        hy = y
            if own and lx != math.inf:
                terms.append((wt[k], lx, hx, ly, hy, own))
        return terms

    def at(self, terms, x: int, y: int, oi: int) -> float:
        """Weighted HPWL of the nets in ``terms`` (see :meth:`model`) with the cell at (x, y, oi)."""
        fx, fy = self.offx[oi], self.offy[oi]
        total = 0.0
        for wk, lx, hx, ly, hy, own in terms:
            for p in own:
                u = x + fx[p]
                v = y + fy[p]
                if u < lx:
                    lx = u
                if u > hx:
                    hx = u
                if v < ly:
                    ly = v
                if v > hy:
                    hy = v
            total += wk * (hx - lx + hy - ly)
        return total

    def group_model(self, group: Sequence[int]) -> list[tuple[float, float, float, float, float, list[tuple[int, int]]]]:
        """:meth:`model` for several cells at once: own pins are (pin, cell) pairs."""
        X, Y, st, pobj, wt = self.X, self.Y, self.start, self.pobj, self.weight
        gs = set(group)
        ns: set[int] = set()
        for c in group:
            ns.update(self.of[c])
        terms = []
        for k in sorted(ns):
            own = []
            lx = ly = math.inf
            hx = hy = -math.inf
            for p in range(st[k], st[k + 1]):
                o = pobj[p]
                if o in gs:
                    own.append((p, o))
                else:
                    x, y = X[p], Y[p]
                    if x < lx:
                        lx = x
                    if x > hx:
                        hx = x
                    if y < ly:
                        ly = y
                    if y > hy:
                        hy = y
            terms.append((wt[k], lx, hx, ly, hy, own))
        return terms

    def group_at(self, terms, xs: dict[int, int], y: int, oi: int) -> float:
        """Weighted HPWL of a :meth:`group_model` with the cells at x ``xs[cell]``, all on one row."""
        fx, fy = self.offx[oi], self.offy[oi]
        total = 0.0
        for wk, lx, hx, ly, hy, own in terms:
            for p, o in own:
                u = xs[o] + fx[p]
                v = y + fy[p]
                if u < lx:
                    lx = u
                if u > hx:
                    hx = u
                if v < ly:
                    ly = v
                if v > hy:
                    hy = v
            total += wk * (hx - lx + hy - ly)
        return total

    def optimal(self, terms, a: int, px: list[int], py: list[int]) -> tuple[float, float] | None:
        """Median of the other pins' bounding-box ends over a's nets (lower-left of a)."""
        r = self.optimal_range(terms, a, px, py)
        return None if r is None else (0.5 * (r[0] + r[1]), 0.5 * (r[2] + r[3]))

    def optimal_range(self, terms, a: int, px: list[int], py: list[int]) -> tuple[float, float, float, float] | None:
        """Optimal region of a's lower-left: ``(xlo, xhi, ylo, yhi)``, the two
        middle values of the other pins' bounding-box ends over a's nets
        (each net's pins of ``a`` taken at their mean offset).  With equal
        net weights every point of it minimises a's HPWL."""
        if not terms:
            return None
        X, Y = self.X, self.Y
        ex: list[float] = []
        ey: list[float] = []
        xa, ya = px[a], py[a]
        for _, lx, hx, ly, hy, own in terms:
            c = len(own)
            mx = sum(X[p] for p in own) / c - xa
            my = sum(Y[p] for p in own) / c - ya
            ex += (lx - mx, hx - mx)
            ey += (ly - my, hy - my)
        ex.sort()
        ey.sort()
        k = len(ex) // 2  # an even count: two ends per net
        return float(ex[k - 1]), float(ex[k]), float(ey[k - 1]), float(ey[k])


def improve_rows(
    segs: Sequence[Segment],
    pos: np.ndarray,
    seg_of: np.ndarray,
    movable: np.ndarray,
    w: np.ndarray,
    h: np.ndarray,
    pa: PinArrays,
    *,
    passes: int = 3,
    window: int = 3,
    progress: Callable[[float], None] | None = None,
    skip_optimal: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy HPWL improvement of a row-legal placement; returns (pos, seg_of).

    ``pos``/``w``/``h`` cover every object (fixed ones too: pins, macros);
    ``seg_of`` gives the segment of each movable cell (-1 for fixed objects).
    Every accepted move keeps the placement row-legal and lowers the weighted
    HPWL (pin offsets follow each row's orientation).  Each pass is linear in
    the number of cells: every candidate move is scored on the few nets it
    touches, from pin positions kept up to date (:class:`_RowNets`).
    """
    n = len(w)
    px = [int(v) for v in pos[:, 0]]
    py = [int(v) for v in pos[:, 1]]
    sego = [int(v) for v in seg_of]
    seg_oi = [_ORI[s.orient] for s in segs]
    oi = [seg_oi[s] if s >= 0 else 0 for s in sego]
    wl = [int(v) for v in w]
    mov = [bool(v) for v in movable]
    nets = _RowNets(pa, n, w, h, px, py, oi)
    # the optimal-region shortcut holds for equal net weights only
    skip_optimal = skip_optimal and len(set(nets.weight)) <= 1
    put = nets.put
    cost = nets.cost
    at = nets.at
    site_w = segs[0].site_w if segs else 1
    wsite = [-(-v // site_w) * site_w for v in wl]  # widths rounded up to whole sites
    # per segment: sorted list of (x, cell)
    rows: list[list[tuple[int, int]]] = [[] for _ in segs]
    for i in range(n):
        if sego[i] >= 0:
            rows[sego[i]].append((px[i], i))
    for r in rows:
        r.sort()
    seg_y: dict[int, list[int]] = {}
    for k, s in enumerate(segs):
        seg_y.setdefault(s.y, []).append(k)
    ys_sorted = sorted(seg_y)
    seg_lo = [s.x_of(s.s0) for s in segs]
    seg_hi = [s.x_of(s.s1) for s in segs]
    cells = [i for i in range(n) if mov[i] and sego[i] >= 0 and nets.of[i]]
    all_nets = range(len(nets.start) - 1)

    def setc(i: int, x: int, y: int, o: int) -> None:
        px[i], py[i], oi[i] = x, y, o
        put(i, x, y, o)

    def gap_around(k: int, idx: int) -> tuple[int, int]:
        """Free x-range a cell at rows[k][idx] may occupy (its neighbours' edges)."""
        r = rows[k]
        a = px[r[idx - 1][1]] + wl[r[idx - 1][1]] if idx > 0 else seg_lo[k]
        b = px[r[idx + 1][1]] if idx + 1 < len(r) else seg_hi[k]
        return a, b

    def snap(k: int, x: float, wi: int, a: int, b: int) -> int | None:
        s = segs[k]
        lo = max(a, seg_lo[k])
        hi = min(b, seg_hi[k]) - wi
        if hi < lo:
            return None
        site = round((min(max(x, lo), hi) - s.x_origin) / site_w)
        xs = s.x_origin + site * site_w
        if xs < lo:
            xs += site_w
        if xs > hi:
            xs -= site_w
        return xs if lo <= xs <= hi else None

    def set_pos(i: int, k: int, x: int) -> None:
        r = rows[sego[i]]
        del r[bisect.bisect_left(r, (px[i], i))]
        sego[i] = k
        setc(i, x, segs[k].y, seg_oi[k])
        bisect.insort(rows[k], (x, i))

    total = len(cells) * passes
    done = 0
    for _ in range(passes):
        before = cost(all_nets)
        # 1. move to a gap (or swap with a same-width cell) near the optimal point
        for a in cells:
            done += 1
            if progress and done % 2000 == 0:
                progress(done / max(1, total))
            terms = nets.model(a)
            rng_ = nets.optimal_range(terms, a, px, py)
            if rng_ is None:
                continue
            xlo, xhi, ylo, yhi = rng_
            if skip_optimal and xlo <= px[a] <= xhi and ylo <= py[a] <= yhi:
                # already where its own nets are shortest: no move of a can
                # gain, and a swap that helps the other cell is found on
                # that cell's turn
                continue
            ox, oy = 0.5 * (xlo + xhi), 0.5 * (ylo + yhi)
            wa = wl[a]
            nets_a = nets.of[a]
            j = bisect.bisect_left(ys_sorted, oy)
            cand_y = [ys_sorted[t] for t in (j - 1, j, j + 1) if 0 <= t < len(ys_sorted)]
            sa = (px[a], py[a], oi[a])
            cur = at(terms, *sa)
            set_a = set(nets_a)
            best_gain, best = 0.0, None
            for y in cand_y:
                for k in seg_y[y]:
                    lo, hi = seg_lo[k], seg_hi[k]
                    if hi - lo < wa:
                        continue
                    r = rows[k]
                    t = bisect.bisect_left(r, (int(ox), -1))
                    ok_ = seg_oi[k]
                    for idx in range(max(0, t - 2), min(len(r), t + 2) + 1):
                        # gap before r[idx] (or after the last cell)
                        ga = px[r[idx - 1][1]] + wl[r[idx - 1][1]] if idx > 0 else lo
                        gb = px[r[idx][1]] if idx < len(r) else hi
                        if r and idx > 0 and r[idx - 1][1] == a:
                            ga = px[r[idx - 2][1]] + wl[r[idx - 2][1]] if idx > 1 else lo
                        if idx < len(r) and r[idx][1] == a:
                            gb = px[r[idx + 1][1]] if idx + 1 < len(r) else hi
                        x = snap(k, ox, wa, ga, gb)
                        if x is not None:
                            gain = cur - at(terms, x, y, ok_)
                            if gain > best_gain + 1e-9:
                                best_gain, best = gain, ("move", k, x)
                        # swap with a same-width cell here
                        if idx < len(r):
                            b = r[idx][1]
                            if b != a and mov[b] and wl[b] == wa and nets.of[b]:
                                sb = (px[b], py[b], oi[b])
                                if set_a.isdisjoint(nets.of[b]):
                                    # no shared net: each side scores alone
                                    tb = nets.model(b)
                                    gain = cur - at(terms, *sb) + at(tb, *sb) - at(tb, *sa)
                                else:
                                    ns = set_a.union(nets.of[b])
                                    c0 = cost(ns)
                                    setc(a, *sb)
                                    setc(b, *sa)
                                    gain = c0 - cost(ns)
                                    setc(a, *sa)
                                    setc(b, *sb)
                                if gain > best_gain + 1e-9:
                                    best_gain, best = gain, ("swap", b)
            if best is not None:
                if best[0] == "move":
                    set_pos(a, best[1], best[2])
                else:
                    b = best[1]
                    ka, kb, xa, xb = sego[a], sego[b], px[a], px[b]
                    r = rows[ka]
                    del r[bisect.bisect_left(r, (xa, a))]
                    r = rows[kb]
                    del r[bisect.bisect_left(r, (xb, b))]
                    sego[a], sego[b] = kb, ka
                    setc(a, xb, segs[kb].y, seg_oi[kb])
                    setc(b, xa, segs[ka].y, seg_oi[ka])
                    bisect.insort(rows[kb], (xb, a))
                    bisect.insort(rows[ka], (xa, b))
        # 2. reorder windows of neighbouring cells, packed from the left edge
        for k, r in enumerate(rows):
            yk, ok_ = segs[k].y, seg_oi[k]
            for s in range(0, max(0, len(r) - window + 1)):
                group = [c for _, c in r[s : s + window]]
                if not all(mov[c] for c in group):
                    continue
                start = px[group[0]]
                end = px[group[-1]] + wl[group[-1]]
                used = sum(wsite[c] for c in group)
                if start + used > end:
                    continue
                terms = nets.group_model(group)
                if not terms:
                    continue
                c0 = nets.group_at(terms, {c: px[c] for c in group}, yk, ok_)
                best_gain, best_xs = 0.0, None
                for perm in itertools.permutations(group):
                    if perm == tuple(group):
                        continue
                    x = start
                    xs = {}
                    for c in perm:
                        xs[c] = x
                        x += wsite[c]
                    gain = c0 - nets.group_at(terms, xs, yk, ok_)
                    if gain > best_gain + 1e-9:
                        best_gain, best_xs = gain, xs
                if best_xs is not None:
                    for c, x in best_xs.items():
                        setc(c, x, yk, ok_)
                    r[s : s + window] = sorted((px[c], c) for c in group)
        # 3. slide each cell to its optimal x within its gap
        for k, r in enumerate(rows):
            yk, ok_ = segs[k].y, seg_oi[k]
            for idx in range(len(r)):
                a = r[idx][1]
                if not mov[a] or not nets.of[a]:
                    continue
                terms = nets.model(a)
                rng_ = nets.optimal_range(terms, a, px, py)
                if rng_ is None or (skip_optimal and rng_[0] <= px[a] <= rng_[1]):
                    continue  # no net of a or already at its best x
                opt = (0.5 * (rng_[0] + rng_[1]), 0.5 * (rng_[2] + rng_[3]))
                ga, gb = gap_around(k, idx)
                x = snap(k, opt[0], wl[a], ga, gb)
                if x is None or x == px[a]:
                    continue
                if at(terms, x, yk, ok_) < at(terms, px[a], yk, ok_) - 1e-9:
                    setc(a, x, yk, ok_)
                    r[idx] = (x, a)
        after = cost(all_nets)
        if before - after < 1e-3 * max(before, 1.0):
            break
    out = pos.copy()
    out[:, 0] = px
    out[:, 1] = py
    return out, np.array(sego, dtype=np.int64)
