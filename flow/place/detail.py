"""Detailed placement: greedy HPWL improvement that keeps legality.

Two kinds of move, each accepted only when it lowers the weighted HPWL of
the nets it touches:

* **swap** two movable objects with identical footprint (size and halo):
  the occupancy raster is unchanged, so legality is preserved for free;
* **shift** one object to the free lattice position nearest its *optimal
  point* (the median of the bounding-box ends of its nets, other pins only),
  searched on the :class:`~flow.place.legalize.Occupancy` raster with the
  object itself removed.

Wirelength is evaluated per net in plain Python: the nets of one object are
few and small, where numpy's per-call overhead would dominate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np
from scipy.spatial import cKDTree

from flow.place.legalize import Occupancy
from flow.place.model import PinArrays


class _Nets:
    """Per-net pin lists and per-object net lists for incremental HPWL."""

    def __init__(self, pa: PinArrays, n_objs: int):
        n_nets = len(pa.start) - 1
        self.pins: list[list[tuple[int, int, int]]] = []
        self.weight = [float(v) for v in pa.weight]
        obj_nets: list[set[int]] = [set() for _ in range(n_objs)]
        for k in range(n_nets):
            s, e = int(pa.start[k]), int(pa.start[k + 1])
            pins = [(int(pa.obj[i]), int(pa.dx[i]), int(pa.dy[i])) for i in range(s, e)]
            self.pins.append(pins)
            if len({p[0] for p in pins}) >= 2:
                for p in pins:
                    obj_nets[p[0]].add(k)
        self.of: list[list[int]] = [sorted(s) for s in obj_nets]

    def cost(self, nets: list[int] | set[int], px: list[int], py: list[int]) -> float:
        """Weighted HPWL (dbu) of ``nets`` with lower-left corners ``px, py``."""
        total = 0.0
        for k in nets:
            pins = self.pins[k]
            xs = [px[o] + dx for o, dx, _ in pins]
            ys = [py[o] + dy for o, _, dy in pins]
            total += self.weight[k] * (max(xs) - min(xs) + max(ys) - min(ys))
        return total

    def optimal_point(self, a: int, px: list[int], py: list[int]) -> tuple[float, float] | None:
        """Median of the ends of each net's other-pin bbox, as a lower-left corner."""
        ends_x: list[float] = []
        ends_y: list[float] = []
        for k in self.of[a]:
            pins = self.pins[k]
            own = [(dx, dy) for o, dx, dy in pins if o == a]
            xs = [px[o] + dx for o, dx, _ in pins if o != a]
            ys = [py[o] + dy for o, _, dy in pins if o != a]
            if not xs:
                continue
            mdx = sum(d[0] for d in own) / len(own)
            mdy = sum(d[1] for d in own) / len(own)
            ends_x += [min(xs) - mdx, max(xs) - mdx]
            ends_y += [min(ys) - mdy, max(ys) - mdy]
        if not ends_x:
            return None
        return float(np.median(ends_x)), float(np.median(ends_y))


def improve(
    occ: Occupancy,
    pos: np.ndarray,
    movable: np.ndarray,
    w: np.ndarray,
    h: np.ndarray,
    halo: np.ndarray,
    spacing: int,
    pa: PinArrays,
    *,
    passes: int = 3,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Greedy swaps and shifts; returns improved lower-left corners (n, 2).

    Parameters
    ----------
    occ : Occupancy
        Raster holding every object's obstacle footprint (kept up to date).
    pos : ndarray (n, 2) int
        Legal lower-left corners of all objects (dbu); movable ones on the
        raster lattice.
    movable : ndarray of bool
        Which objects may move.
    w, h, halo : ndarray
        Per object (dbu).
    spacing : int
        Global spacing (dbu).
    pa : PinArrays
        Nets.
    passes : int
        At most this many rounds; stops early when a round gains < 0.1 %.
    """
    n = len(w)
    nets = _Nets(pa, n)
    px = [int(v) for v in pos[:, 0]]
    py = [int(v) for v in pos[:, 1]]
    mov = [int(i) for i in np.flatnonzero(movable) if nets.of[int(i)]]
    if not mov:
        return pos.copy()
    all_nets = range(len(nets.pins))
    groups: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for i in mov:
        groups[(int(w[i]), int(h[i]), int(halo[i]))].append(i)
    p = occ.pitch

    for rnd in range(passes):
        before = nets.cost(all_nets, px, py)
        # -- swaps among identical footprints --------------------------------
        for members in groups.values():
            if len(members) < 2:
                continue
            slots = np.array([(px[i], py[i]) for i in members], dtype=float)
            owner = list(members)
            slot_of = {i: s for s, i in enumerate(members)}
            tree = cKDTree(slots)
            kq = min(6, len(members))
            for a in members:
                t = nets.optimal_point(a, px, py)
                if t is None:
                    continue
                _, cand = tree.query(t, k=kq)
                best, best_b = -1e-9, -1
                for s in np.atleast_1d(cand):
                    b = owner[int(s)]
                    if b == a:
                        continue
                    touched = set(nets.of[a]) | set(nets.of[b])
                    old = nets.cost(touched, px, py)
                    px[a], px[b] = px[b], px[a]
                    py[a], py[b] = py[b], py[a]
                    delta = nets.cost(touched, px, py) - old
                    px[a], px[b] = px[b], px[a]
                    py[a], py[b] = py[b], py[a]
                    if delta < best:
                        best, best_b = delta, b
                if best_b >= 0:
                    b = best_b
                    px[a], px[b] = px[b], px[a]
                    py[a], py[b] = py[b], py[a]
                    sa, sb = slot_of[a], slot_of[b]
                    owner[sa], owner[sb] = b, a
                    slot_of[a], slot_of[b] = sb, sa
        # -- shifts towards the optimal point --------------------------------
        for cnt, a in enumerate(mov):
            t = nets.optimal_point(a, px, py)
            if t is None or (abs(t[0] - px[a]) < p and abs(t[1] - py[a]) < p):
                continue
            wa, ha, hla = int(w[a]), int(h[a]), int(halo[a])
            rect = (px[a], py[a], px[a] + wa, py[a] + ha)
            occ.add_rect(rect, spacing + hla, -1)
            reach = max(
                int(abs(t[0] - px[a]) // p), int(abs(t[1] - py[a]) // p), 4
            ) + 2
            ij = occ.nearest_free(wa, ha, hla, t[0], t[1], radius=reach)
            if ij is not None:
                nx_, ny_ = occ.to_xy(*ij)
                if (nx_, ny_) != (px[a], py[a]):
                    old = nets.cost(nets.of[a], px, py)
                    ox_, oy_ = px[a], py[a]
                    px[a], py[a] = nx_, ny_
                    if nets.cost(nets.of[a], px, py) < old - 1e-9:
                        rect = (nx_, ny_, nx_ + wa, ny_ + ha)
                    else:
                        px[a], py[a] = ox_, oy_
            occ.add_rect(rect, spacing + hla, +1)
            if progress and cnt % max(1, len(mov) // 10) == 0:
                progress((rnd + cnt / len(mov)) / passes)
        after = nets.cost(all_nets, px, py)
        if before - after < 1e-3 * max(before, 1.0):
            break
    return np.column_stack([np.array(px, dtype=np.int64), np.array(py, dtype=np.int64)])
