"""Legalisation of mixed-size rectangles on an occupancy raster.

The region (plus a margin for halos) is rasterised into square cells of
``pitch`` dbu, a multiple of the placement grid.  Every placed object, fixed
object and keepout adds 1 to the cells its *obstacle* footprint touches; a
candidate position is free when its *claim* footprint touches only empty
cells.  With

* obstacle footprint of ``b``: its box grown by ``spacing + halo_b``
  (keepouts: grown by ``spacing``),
* claim footprint of ``a``: its box grown by ``halo_a``,

disjoint footprints imply (cells partition the plane) that the two open
rectangles are disjoint, hence a separation of at least
``spacing + halo_a + halo_b >= spacing + max(halo_a, halo_b)`` along x or y:
every position the raster accepts is legal in the sense of
:mod:`flow.place.model`.  The price is a little lost space (up to one pitch
per side, plus the smaller halo).

Objects are placed one by one at the free lattice position nearest (in
Euclidean distance) to their target, searching a window that doubles until a
position is found or the whole region has been searched.  The window search
is one summed-area table per attempt, so it is vectorised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from flow.place.model import Rect

#: The raster has at most about this many cells along its longer side.
MAX_CELLS_PER_SIDE = 2048


def _cdiv(a: int, b: int) -> int:
    return -((-a) // b)


class Occupancy:
    """Obstacle counts on a lattice of ``pitch``-sized cells.

    Parameters
    ----------
    region : (x0, y0, x1, y1)
        Placement area (dbu).
    pitch : int
        Cell size (dbu); a multiple of the placement grid.
    margin : int
        Extra border around the region (dbu), at least the largest halo, so
        claim footprints of objects at the region edge stay on the raster.
    """

    def __init__(self, region: Rect, pitch: int, margin: int):
        rx0, ry0, rx1, ry1 = region
        self.region = region
        self.pitch = p = pitch
        self.ox = ((rx0 - margin - p) // p) * p
        self.oy = ((ry0 - margin - p) // p) * p
        self.nx = _cdiv(rx1 + margin + p - self.ox, p)
        self.ny = _cdiv(ry1 + margin + p - self.oy, p)
        self.count = np.zeros((self.nx, self.ny), dtype=np.int32)

    def copy(self) -> Occupancy:
        """An independent copy (the counts are copied)."""
        new = Occupancy.__new__(Occupancy)
        new.__dict__.update(self.__dict__)
        new.count = self.count.copy()
        return new

    def free_area(self) -> float:
        """Approximate free area (dbu^2) inside the region: untouched cells' share of it."""
        rx0, ry0, rx1, ry1 = self.region
        i0, i1 = self._cells(rx0, rx1, self.ox, self.nx)
        j0, j1 = self._cells(ry0, ry1, self.oy, self.ny)
        cells = (i1 - i0) * (j1 - j0)
        free = int((self.count[i0:i1, j0:j1] == 0).sum())
        return float(rx1 - rx0) * float(ry1 - ry0) * free / cells if cells else 0.0

    # -- coordinates -------------------------------------------------------

    def _cells(self, lo: int, hi: int, origin: int, n: int) -> tuple[int, int]:
        """Cells touching the open interval (lo, hi), clipped to [0, n)."""
        p = self.pitch
        c0 = (lo - origin) // p
        c1 = _cdiv(hi - origin, p)
        return max(0, min(n, c0)), max(0, min(n, c1))

    def to_xy(self, i: int, j: int) -> tuple[int, int]:
        """Lower-left (dbu) of lattice anchor (i, j)."""
        return self.ox + i * self.pitch, self.oy + j * self.pitch

    def to_ij(self, x: int, y: int) -> tuple[int, int]:
        """Lattice anchor of lower-left (x, y); exact for lattice points."""
        return (x - self.ox) // self.pitch, (y - self.oy) // self.pitch

    # -- obstacles ---------------------------------------------------------

    def add_rect(self, rect: Rect, grow: int, delta: int = 1) -> None:
        """Add ``delta`` to the cells touching ``rect`` grown by ``grow`` (open)."""
        x0, y0, x1, y1 = rect
        i0, i1 = self._cells(x0 - grow, x1 + grow, self.ox, self.nx)
        j0, j1 = self._cells(y0 - grow, y1 + grow, self.oy, self.ny)
        if i0 < i1 and j0 < j1:
            self.count[i0:i1, j0:j1] += delta

    # -- search ------------------------------------------------------------

    def anchor_range(self, w: int, h: int) -> tuple[int, int, int, int]:
        """Anchors (i_min, i_max, j_min, j_max) that keep a w x h box in the region."""
        rx0, ry0, rx1, ry1 = self.region
        p = self.pitch
        return (
            _cdiv(rx0 - self.ox, p),
            (rx1 - w - self.ox) // p,
            _cdiv(ry0 - self.oy, p),
            (ry1 - h - self.oy) // p,
        )

    def claim(self, w: int, h: int, halo: int) -> tuple[int, int, int, int]:
        """Claim footprint relative to the anchor: cells [i - a0, i + a1) x [j - b0, j + b1)."""
        p = self.pitch
        return _cdiv(halo, p), _cdiv(w + halo, p), _cdiv(halo, p), _cdiv(h + halo, p)

    def is_free(self, i: int, j: int, w: int, h: int, halo: int) -> bool:
        """True when the claim footprint at anchor (i, j) touches no obstacle."""
        a0, a1, b0, b1 = self.claim(w, h, halo)
        return not self.count[max(0, i - a0) : i + a1, max(0, j - b0) : j + b1].any()

    def nearest_free(
        self, w: int, h: int, halo: int, tx: float, ty: float, radius: int | None = None
    ) -> tuple[int, int] | None:
        """Free anchor nearest to target lower-left (tx, ty) dbu, or None.

        Searches a square window of anchors around the target that doubles
        until a free anchor is found whose distance proves it is the nearest,
        or the window covers all anchors.  ``radius`` (cells) caps the search.
        """
        imin, imax, jmin, jmax = self.anchor_range(w, h)
        if imin > imax or jmin > jmax:
            return None
        p = self.pitch
        a0, a1, b0, b1 = self.claim(w, h, halo)
        fx, fy = (tx - self.ox) / p, (ty - self.oy) / p  # target in anchor units
        ti = int(np.clip(round(fx), imin, imax))
        tj = int(np.clip(round(fy), jmin, jmax))
        r = max(a0 + a1, b0 + b1, 4)
        while True:
            if radius is not None:
                r = min(r, radius)
            ia, ib = max(imin, ti - r), min(imax, ti + r)
            ja, jb = max(jmin, tj - r), min(jmax, tj + r)
            whole = ia == imin and ib == imax and ja == jmin and jb == jmax
            sub = self.count[ia - a0 : ib + a1, ja - b0 : jb + b1] > 0
            sat = np.zeros((sub.shape[0] + 1, sub.shape[1] + 1), dtype=np.int32)
            np.cumsum(np.cumsum(sub, axis=0, dtype=np.int32), axis=1, out=sat[1:, 1:])
            L, M = a0 + a1, b0 + b1
            ni, nj = ib - ia + 1, jb - ja + 1
            blocked = sat[L : L + ni, M : M + nj] - sat[:ni, M : M + nj] - sat[L : L + ni, :nj] + sat[:ni, :nj]
            free_i, free_j = np.nonzero(blocked == 0)
            if len(free_i):
                di = free_i + ia - fx
                dj = free_j + ja - fy
                d2 = di * di + dj * dj
                k = int(np.argmin(d2))
                # anything outside the window is farther than r - |target offset|
                reach = r - max(abs(ti - fx), abs(tj - fy))
                if whole or radius is not None and r >= radius or d2[k] <= reach * reach:
                    return int(free_i[k] + ia), int(free_j[k] + ja)
            if whole or (radius is not None and r >= radius):
                return None
            r *= 2


#: Cells across the smallest object side: coarser rasters lose space, finer ones time.
CELLS_PER_MIN_SIDE = 8


def choose_pitch(region: Rect, grid: int, min_side: int) -> int:
    """Raster pitch (dbu), a multiple of ``grid``.

    About ``min_side / CELLS_PER_MIN_SIDE`` (so rounding loses at most ~12 %
    of the smallest object's side), but never so fine that the region needs
    more than ``MAX_CELLS_PER_SIDE`` cells along a side.
    """
    rx0, ry0, rx1, ry1 = region
    span = max(rx1 - rx0, ry1 - ry0)
    return grid * max(1, _cdiv(span, grid * MAX_CELLS_PER_SIDE), min_side // (grid * CELLS_PER_MIN_SIDE))


def build_occupancy(
    region: Rect,
    grid: int,
    spacing: int,
    max_halo: int,
    min_side: int,
    fixed_rects: Sequence[tuple[Rect, int]],
    keepouts: Sequence[Rect],
) -> Occupancy:
    """Raster with fixed objects (rect, halo) and keepouts already added.

    ``min_side`` is the smallest side (dbu) of any movable object.
    """
    pitch = choose_pitch(region, grid, min_side)
    occ = Occupancy(region, pitch, max_halo + spacing + pitch)
    for rect, halo in fixed_rects:
        occ.add_rect(rect, spacing + halo)
    for k in keepouts:
        occ.add_rect(k, spacing)
    return occ


def legalize(
    occ: Occupancy,
    w: np.ndarray,
    h: np.ndarray,
    halo: np.ndarray,
    spacing: int,
    targets: np.ndarray,
    order: Sequence[int],
    progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, int | None]:
    """Place movable objects one by one at the nearest free lattice point.

    Parameters
    ----------
    occ : Occupancy
        Raster holding fixed obstacles; placed objects are added to it.
    w, h, halo : ndarray
        Per movable object (dbu).
    spacing : int
        Global spacing (dbu).
    targets : ndarray (m, 2)
        Desired lower-left corners (dbu, float).
    order : sequence of int
        Order in which to place the movables.

    Returns
    -------
    positions : ndarray (m, 2) int64
        Lower-left corners (valid only where placed).
    failed : int or None
        Index of the first object that found no free position, else None.
        On failure ``occ`` holds a partial placement.
    """
    m = len(w)
    pos = np.zeros((m, 2), dtype=np.int64)
    step = max(1, m // 20)
    for n_done, k in enumerate(order):
        wk, hk, hak = int(w[k]), int(h[k]), int(halo[k])
        ij = occ.nearest_free(wk, hk, hak, float(targets[k, 0]), float(targets[k, 1]))
        if ij is None:
            return pos, int(k)
        x, y = occ.to_xy(*ij)
        pos[k] = (x, y)
        occ.add_rect((x, y, x + wk, y + hk), spacing + hak)
        if progress and n_done % step == 0:
            progress(n_done / m)
    return pos, None


# --------------------------------------------------------------------------
# pair rules: one raster per clearance class


class ClassedOccupancy:
    """Occupancy rasters for objects whose clearance depends on the pair.

    Every object belongs to a clearance *class* ``c``; ``gap[c][d]`` is the
    smallest edge-to-edge gap (dbu) between an object of class ``c`` and one
    of class ``d`` (voltage keep-out, thermal margins), on top of which the
    usual ``spacing + halo`` applies (the larger wins).  Classes whose rows
    of ``gap`` are equal share one raster.  An obstacle of class ``d`` is
    added to the raster of class ``c`` grown by
    ``max(spacing + halo, gap[c][d])``; an object of class ``c`` looks for
    room in its own raster with its claim grown by its halo, so any free
    position keeps every pair rule.  With a single class and no gaps this is
    exactly :class:`Occupancy`.

    Parameters
    ----------
    base : Occupancy
        Raster with the keepouts already added (copied per raster).
    gap : ndarray (K, K) int
        Pair gaps between classes (dbu, symmetric).
    spacing : int
        Global spacing (dbu).
    fences : sequence of rect or None
        Per class, the rectangle its objects must stay in (None: the region).
    """

    def __init__(self, base: Occupancy, gap: np.ndarray, spacing: int, fences: Sequence[Rect | None] | None = None):
        self.gap = np.asarray(gap, dtype=np.int64).reshape(len(gap), len(gap))
        k = len(self.gap)
        self.spacing = spacing
        self.fences = list(fences) if fences is not None else [None] * k
        rows: dict[tuple[int, ...], int] = {}
        self.raster_of = np.array([rows.setdefault(tuple(int(v) for v in self.gap[c]), len(rows)) for c in range(k)], dtype=np.int64)
        self.rasters = [base.copy() for _ in rows]
        # one representative class per raster (its gap row)
        self._rep = [int(np.flatnonzero(self.raster_of == r)[0]) for r in range(len(rows))]
        self.pitch = base.pitch

    def add(self, rect: Rect, halo: int, cls: int, delta: int = 1) -> None:
        """Add (``delta=1``) or remove (``-1``) an object of class ``cls``."""
        base = self.spacing + halo
        for r, occ in enumerate(self.rasters):
            occ.add_rect(rect, max(base, int(self.gap[self._rep[r], cls])), delta)

    def nearest_free(self, w: int, h: int, halo: int, cls: int, tx: float, ty: float, radius: int | None = None):
        """As :meth:`Occupancy.nearest_free`, for an object of class ``cls``."""
        occ = self.rasters[int(self.raster_of[cls])]
        fence = self.fences[cls]
        if fence is None:
            return occ.nearest_free(w, h, halo, tx, ty, radius)
        saved = occ.region
        rx0, ry0, rx1, ry1 = saved
        fx0, fy0, fx1, fy1 = fence
        occ.region = (max(rx0, fx0), max(ry0, fy0), min(rx1, fx1), min(ry1, fy1))
        try:
            return occ.nearest_free(w, h, halo, tx, ty, radius)
        finally:
            occ.region = saved

    def to_xy(self, i: int, j: int) -> tuple[int, int]:
        return self.rasters[0].to_xy(i, j)

    def view(self, cls: int) -> _ClassView:
        """An :class:`Occupancy`-like view for moving objects of class ``cls``
        only (what :func:`flow.place.detail.improve` expects)."""
        return _ClassView(self, cls)


class _ClassView:
    """``add_rect`` / ``nearest_free`` of one class on a :class:`ClassedOccupancy`."""

    def __init__(self, co: ClassedOccupancy, cls: int):
        self.co, self.cls, self.pitch = co, cls, co.pitch

    def add_rect(self, rect: Rect, grow: int, delta: int = 1) -> None:
        self.co.add(rect, grow - self.co.spacing, self.cls, delta)

    def nearest_free(self, w: int, h: int, halo: int, tx: float, ty: float, radius: int | None = None):
        return self.co.nearest_free(w, h, halo, self.cls, tx, ty, radius)

    def to_xy(self, i: int, j: int) -> tuple[int, int]:
        return self.co.to_xy(i, j)


def legalize_classes(
    co: ClassedOccupancy,
    w: np.ndarray,
    h: np.ndarray,
    halo: np.ndarray,
    cls: np.ndarray,
    targets: np.ndarray,
    order: Sequence[int],
    progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, int | None]:
    """:func:`legalize` on a :class:`ClassedOccupancy`; ``cls`` per movable."""
    m = len(w)
    pos = np.zeros((m, 2), dtype=np.int64)
    step = max(1, m // 20)
    for n_done, k in enumerate(order):
        wk, hk, hak, ck = int(w[k]), int(h[k]), int(halo[k]), int(cls[k])
        ij = co.nearest_free(wk, hk, hak, ck, float(targets[k, 0]), float(targets[k, 1]))
        if ij is None:
            return pos, int(k)
        x, y = co.to_xy(*ij)
        pos[k] = (x, y)
        co.add((x, y, x + wk, y + hk), hak, ck)
        if progress and n_done % step == 0:
            progress(n_done / m)
    return pos, None
