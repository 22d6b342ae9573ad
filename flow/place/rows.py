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

    A cell must start on a row's y and site grid and end within that row,
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
            if (x - r.x) % r.site_w == 0 and r.x <= x and x + int(w[i]) <= r.x + r.n * r.site_w and int(h[i]) <= r.h:
                ok = True
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


class _RowNets:
    """Pins per net with orientation-aware offsets, for incremental HPWL."""

    def __init__(self, pa: PinArrays, n: int, w: np.ndarray, h: np.ndarray):
        self.w = [int(v) for v in w]
        self.h = [int(v) for v in h]
        n_nets = len(pa.start) - 1
        self.pins: list[list[tuple[int, int, int]]] = []
        self.weight = [float(v) for v in pa.weight]
        of: list[set[int]] = [set() for _ in range(n)]
        for k in range(n_nets):
            s, e = int(pa.start[k]), int(pa.start[k + 1])
            pins = [(int(pa.obj[i]), int(pa.dx[i]), int(pa.dy[i])) for i in range(s, e)]
            self.pins.append(pins)
            if len({p[0] for p in pins}) >= 2:
                for p in pins:
                    of[p[0]].add(k)
        self.of = [sorted(s) for s in of]

    def cost(self, nets, px, py, orient) -> float:
        total = 0.0
        for k in nets:
            xs = []
            ys = []
            for o, dx, dy in self.pins[k]:
                ox, oy = pin_offsets(orient[o], self.w[o], self.h[o], dx, dy) if orient[o] != "N" else (dx, dy)
                xs.append(px[o] + ox)
                ys.append(py[o] + oy)
            total += self.weight[k] * (max(xs) - min(xs) + max(ys) - min(ys))
        return total

    def optimal(self, a, px, py, orient) -> tuple[float, float] | None:
        """Median of the other pins' bounding-box ends over a's nets (lower-left of a)."""
        ex: list[float] = []
        ey: list[float] = []
        for k in self.of[a]:
            xs, ys = [], []
            own = []
            for o, dx, dy in self.pins[k]:
                ox, oy = pin_offsets(orient[o], self.w[o], self.h[o], dx, dy) if orient[o] != "N" else (dx, dy)
                if o == a:
                    own.append((ox, oy))
                else:
                    xs.append(px[o] + ox)
                    ys.append(py[o] + oy)
            if not xs:
                continue
            mx = sum(p[0] for p in own) / len(own)
            my = sum(p[1] for p in own) / len(own)
            ex += [min(xs) - mx, max(xs) - mx]
            ey += [min(ys) - my, max(ys) - my]
        if not ex:
            return None
        return float(np.median(ex)), float(np.median(ey))


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
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy HPWL improvement of a row-legal placement; returns (pos, seg_of).

    ``pos``/``w``/``h`` cover every object (fixed ones too: pins, macros);
    ``seg_of`` gives the segment of each movable cell (-1 for fixed objects).
    Every accepted move keeps the placement row-legal and lowers the weighted
    HPWL (pin offsets follow each row's orientation).
    """
    n = len(w)
    nets = _RowNets(pa, n, w, h)
    px = [int(v) for v in pos[:, 0]]
    py = [int(v) for v in pos[:, 1]]
    sego = [int(v) for v in seg_of]
    orient = ["N"] * n
    for i in range(n):
        if sego[i] >= 0:
            orient[i] = segs[sego[i]].orient
    site_w = segs[0].site_w if segs else 1
    wsite = [-(-int(v) // site_w) * site_w for v in w]  # widths rounded up to whole sites
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
    cells = [i for i in range(n) if movable[i] and sego[i] >= 0 and nets.of[i]]
    all_nets = range(len(nets.pins))

    def seg_bounds(k: int) -> tuple[int, int]:
        s = segs[k]
        return s.x_of(s.s0), s.x_of(s.s1)

    def gap_around(k: int, idx: int) -> tuple[int, int]:
        """Free x-range a cell at rows[k][idx] may occupy (its neighbours' edges)."""
        lo, hi = seg_bounds(k)
        r = rows[k]
        left = r[idx - 1][1] if idx > 0 else None
        right = r[idx + 1][1] if idx + 1 < len(r) else None
        a = px[left] + int(w[left]) if left is not None else lo
        b = px[right] if right is not None else hi
        return a, b

    def snap(k: int, x: float, wi: int, a: int, b: int) -> int | None:
        s = segs[k]
        lo = max(a, s.x_of(s.s0))
        hi = min(b, s.x_of(s.s1)) - wi
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
        old = sego[i]
        r = rows[old]
        del r[bisect.bisect_left(r, (px[i], i))]
        px[i], py[i], sego[i], orient[i] = x, segs[k].y, k, segs[k].orient
        bisect.insort(rows[k], (x, i))

    total = len(cells) * passes
    done = 0
    for _ in range(passes):
        before = nets.cost(all_nets, px, py, orient)
        # 1. move to a gap (or swap with a same-width cell) near the optimal point
        for a in cells:
            done += 1
            if progress and done % 200 == 0:
                progress(done / max(1, total))
            opt = nets.optimal(a, px, py, orient)
            if opt is None:
                continue
            ox, oy = opt
            wa = int(w[a])
            j = bisect.bisect_left(ys_sorted, oy)
            cand_y = [ys_sorted[t] for t in (j - 1, j, j + 1) if 0 <= t < len(ys_sorted)]
            cur = nets.cost(nets.of[a], px, py, orient)
            best = (0.0, None)
            for y in cand_y:
                for k in seg_y[y]:
                    lo, hi = seg_bounds(k)
                    if hi - lo < wa:
                        continue
                    r = rows[k]
                    t = bisect.bisect_left(r, (int(ox), -1))
                    for idx in range(max(0, t - 2), min(len(r), t + 2) + 1):
                        # gap before r[idx] (or after the last cell)
                        ga = px[r[idx - 1][1]] + int(w[r[idx - 1][1]]) if idx > 0 else lo
                        gb = px[r[idx][1]] if idx < len(r) else hi
                        if r and idx > 0 and r[idx - 1][1] == a:
                            ga = px[r[idx - 2][1]] + int(w[r[idx - 2][1]]) if idx > 1 else lo
                        if idx < len(r) and r[idx][1] == a:
                            gb = px[r[idx + 1][1]] if idx + 1 < len(r) else hi
                        x = snap(k, ox, wa, ga, gb)
                        if x is not None:
                            save = (px[a], py[a], orient[a])
                            px[a], py[a], orient[a] = x, segs[k].y, segs[k].orient
                            gain = cur - nets.cost(nets.of[a], px, py, orient)
                            px[a], py[a], orient[a] = save
                            if gain > best[0] + 1e-9:
                                best = (gain, ("move", k, x))
                        # swap with a same-width cell here
                        if idx < len(r):
                            b = r[idx][1]
                            if b != a and movable[b] and int(w[b]) == wa and nets.of[b]:
                                ns = set(nets.of[a]) | set(nets.of[b])
                                c0 = nets.cost(ns, px, py, orient)
                                sa = (px[a], py[a], orient[a])
                                sb = (px[b], py[b], orient[b])
                                px[a], py[a], orient[a] = sb
                                px[b], py[b], orient[b] = sa
                                gain = c0 - nets.cost(ns, px, py, orient)
                                px[a], py[a], orient[a] = sa
                                px[b], py[b], orient[b] = sb
                                if gain > best[0] + 1e-9:
                                    best = (gain, ("swap", b))
            if best[1] is not None:
                if best[1][0] == "move":
                    _, k, x = best[1]
                    set_pos(a, k, x)
                else:
                    b = best[1][1]
                    ka, kb, xa, xb = sego[a], sego[b], px[a], px[b]
                    r = rows[ka]
                    del r[bisect.bisect_left(r, (xa, a))]
                    r = rows[kb]
                    del r[bisect.bisect_left(r, (xb, b))]
                    px[a], py[a], sego[a], orient[a] = xb, segs[kb].y, kb, segs[kb].orient
                    px[b], py[b], sego[b], orient[b] = xa, segs[ka].y, ka, segs[ka].orient
                    bisect.insort(rows[kb], (xb, a))
                    bisect.insort(rows[ka], (xa, b))
        # 2. reorder windows of neighbouring cells, packed from the left edge
        for k, r in enumerate(rows):
            for s in range(0, max(0, len(r) - window + 1)):
                group = [c for _, c in r[s : s + window]]
                if not all(movable[c] for c in group):
                    continue
                start = px[group[0]]
                end = px[group[-1]] + int(w[group[-1]])
                ns = set().union(*(nets.of[c] for c in group))
                if not ns:
                    continue
                save = [(px[c]) for c in group]
                c0 = nets.cost(ns, px, py, orient)
                best_gain, best_perm = 0.0, None
                used = sum(wsite[c] for c in group)
                for perm in itertools.permutations(group):
                    if perm == tuple(group):
                        continue
                    x = start
                    for c in perm:
                        px[c] = x
                        x += wsite[c]
                    # keep the right end: spread the slack after the last cell
                    gain = c0 - nets.cost(ns, px, py, orient)
                    if gain > best_gain + 1e-9:
                        best_gain, best_perm = gain, perm
                for c, x in zip(group, save):
                    px[c] = x
                if best_perm is not None and start + used <= end:
                    x = start
                    for c in best_perm:
                        px[c] = x
                        x += wsite[c]
                    r[s : s + window] = sorted((px[c], c) for c in group)
        # 3. slide each cell to its optimal x within its gap
        for k, r in enumerate(rows):
            for idx in range(len(r)):
                a = r[idx][1]
                if not movable[a] or not nets.of[a]:
                    continue
                opt = nets.optimal(a, px, py, orient)
                if opt is None:
                    continue
                ga, gb = gap_around(k, idx)
                x = snap(k, opt[0], int(w[a]), ga, gb)
                if x is None or x == px[a]:
                    continue
                cur = nets.cost(nets.of[a], px, py, orient)
                old = px[a]
                px[a] = x
                if nets.cost(nets.of[a], px, py, orient) < cur - 1e-9:
                    r[idx] = (x, a)
                else:
                    px[a] = old
        after = nets.cost(all_nets, px, py, orient)
        if before - after < 1e-3 * max(before, 1.0):
            break
    out = pos.copy()
    out[:, 0] = px
    out[:, 1] = py
    return out, np.array(sego, dtype=np.int64)
