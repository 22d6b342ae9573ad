"""The routing grid and its blockages, derived from the kit's rules.

One uniform grid serves every routing metal.  A grid point ``(l, i, j)`` sits
at ``origin + (i, j) * pitch`` on metal ``l``; a wire there is drawn as a
square of half-size ``half[l]``, wires between adjacent points as rectangles
of width ``2 * half[l]``, and a via as a cut square of ``cut_size[c]`` with a
landing square on both metals.  The pitch is chosen so that features of
different nets on adjacent points never violate spacing, so the router only
has to keep nets off each other's *points* (no geometry checks in the search).

Blockages are stored as *owner labels* (``int32`` arrays, one value per point
or edge): ``FREE`` (-1) usable by every net, ``BLOCKED`` (-2) usable by none,
``k >= 0`` usable only by net ``k`` (the point is near net ``k``'s metal).  On
top of that each net has a small set of *self-blocked* points and edges: near
one of its own shapes without overlapping it, where new metal would leave a
sub-spacing notch.  All distances are box (Chebyshev) distances, which are
never larger than Euclidean ones, so the test is conservative.

Flat ids: point ``(l, i, j)`` is ``(l * ny + j) * nx + i``; the horizontal edge
from ``(l, i, j)`` to ``(l, i + 1, j)`` and the vertical edge from
``(l, i, j)`` to ``(l, i, j + 1)`` carry the id of their lower-left point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from flow.errors import InputError, PDKError
from pdk.schema import PDK

Rect = tuple[int, int, int, int]

FREE = -1
BLOCKED = -2

#: Largest grid (points over all layers) the router accepts.
MAX_POINTS = 6_000_000


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


@dataclass(frozen=True)
class RouteGrid:
    """The routing grid: geometry of points, wires and vias (all dbu).

    Attributes
    ----------
    pitch : int
        Distance between adjacent grid points, dbu.
    origin : tuple[int, int]
        Centre of point ``(i, j) = (0, 0)``, dbu.
    nx, ny : int
        Number of points along x and y.
    metals, cuts : tuple[str, ...]
        Routing metals bottom up; ``cuts[c]`` joins ``metals[c]`` and ``metals[c + 1]``.
    half : tuple[int, ...]
        Half-size of a wire / landing pad per metal, dbu.
    spacing : tuple[int, ...]
        Minimum spacing per metal, dbu.
    width : tuple[int, ...]
        Minimum width per metal, dbu.
    cut_size, cut_spacing : tuple[int, ...]
        Via cut edge length and minimum cut spacing per cut layer, dbu.
    dbu_um : float
        Microns per dbu (for messages).
    """

    pitch: int
    origin: tuple[int, int]
    nx: int
    ny: int
    metals: tuple[str, ...]
    cuts: tuple[str, ...]
    half: tuple[int, ...]
    spacing: tuple[int, ...]
    width: tuple[int, ...]
    cut_size: tuple[int, ...]
    cut_spacing: tuple[int, ...]
    dbu_um: float

    @property
    def size(self) -> tuple[int, int, int]:
        """``(nx, ny, layers)``."""
        return (self.nx, self.ny, len(self.metals))

    @property
    def points(self) -> int:
        return self.nx * self.ny * len(self.metals)

    def centre(self, i: int, j: int) -> tuple[int, int]:
        """Centre of column ``i``, row ``j`` in dbu."""
        return (self.origin[0] + i * self.pitch, self.origin[1] + j * self.pitch)

    def unflat(self, v: int) -> tuple[int, int, int]:
        """Flat point id -> ``(layer, i, j)``."""
        l, rem = divmod(v, self.nx * self.ny)
        j, i = divmod(rem, self.nx)
        return l, i, j

    def flat(self, l: int, i: int, j: int) -> int:
        return (l * self.ny + j) * self.nx + i

    def square(self, v: int) -> tuple[str, Rect]:
        """Layer and landing square of point ``v``."""
        l, i, j = self.unflat(v)
        x, y = self.centre(i, j)
        h = self.half[l]
        return self.metals[l], (x - h, y - h, x + h, y + h)

    def cut(self, c: int, i: int, j: int) -> Rect:
        """Cut square of a via on cut layer ``c`` at column ``i``, row ``j``."""
        x, y = self.centre(i, j)
        a = self.cut_size[c] // 2
        b = self.cut_size[c] - a
        return (x - a, y - a, x + b, y + b)

    def um(self, x: float, y: float) -> str:
        """``'(x, y)'`` in microns, for messages."""
        return f"({round(x * self.dbu_um, 3):g}, {round(y * self.dbu_um, 3):g})"

    def point_um(self, v: int) -> str:
        _, i, j = self.unflat(v)
        return self.um(*self.centre(i, j))

    def to_json(self) -> dict[str, object]:
        return {
            "pitch_um": round(self.pitch * self.dbu_um, 6),
            "origin_um": [round(c * self.dbu_um, 6) for c in self.origin],
            "nx": self.nx,
            "ny": self.ny,
            "layers": list(self.metals),
        }


def make_grid(kit: PDK, region: Sequence[int], round_um: float = 0.5) -> RouteGrid:
    """Derive the routing grid for ``region`` (x0, y0, x1, y1 dbu) from ``kit``.

    Per metal ``m``: ``half = max(min_width(m) / 2, cut / 2 + enclosure(m, cut))``
    over the cuts touching ``m``; the pitch is the largest of
    ``2 * half + min_spacing(m)`` and ``cut + min_spacing(cut)``, rounded up to
    a multiple of ``round_um``.  The origin is the region's lower-left corner
    moved inwards by the largest half-size and rounded up to ``round_um``, so
    every square lies inside the region.

    Raises
    ------
    PDKError
        The kit has no routing metals or an inconsistent metal/cut stack.
    InputError
        The region is degenerate, smaller than one grid point, or too large.
    """
    metals = kit.routing_metals
    cuts = kit.routing_cuts
    if not metals:
        raise PDKError([f"{kit.name}: the kit declares no routing metals (pdk.routing)"])
    if len(cuts) != len(metals) - 1:
        raise PDKError(
            [f"{kit.name}: routing stack needs one cut between each pair of metals; got metals "
             f"{', '.join(metals)} and cuts {', '.join(cuts) or '(none)'}"]
        )
    try:
        x0, y0, x1, y1 = (int(v) for v in region)
    except (TypeError, ValueError):
        raise InputError(f"route: region must be (x0, y0, x1, y1) in dbu, got {region!r}") from None
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"route: region {tuple(region)} is empty (need x0 < x1 and y0 < y1, dbu)")

    cut_size = tuple(max(kit.dbu(kit.min_width(c)), 1) for c in cuts)
    cut_spacing = tuple(kit.dbu(kit.min_spacing(c)) for c in cuts)
    half: list[int] = []
    spacing: list[int] = []
    for l, m in enumerate(metals):
        h = _ceil_div(max(kit.dbu(kit.min_width(m)), 1), 2)
        for c in (l - 1, l):
            if 0 <= c < len(cuts):
                h = max(h, _ceil_div(cut_size[c], 2) + kit.dbu(kit.enclosure(m, cuts[c])))
        half.append(h)
        spacing.append(kit.dbu(kit.min_spacing(m)))
    pitch = max(2 * h + s for h, s in zip(half, spacing))
    pitch = max([pitch] + [c + s for c, s in zip(cut_size, cut_spacing)])
    grain = max(kit.dbu(round_um), 1)
    pitch = _ceil_div(pitch, grain) * grain
    hmax = max(half)
    ox = _ceil_div(x0 + hmax, grain) * grain
    oy = _ceil_div(y0 + hmax, grain) * grain
    nx = (x1 - hmax - ox) // pitch + 1 if x1 - hmax >= ox else 0
    ny = (y1 - hmax - oy) // pitch + 1 if y1 - hmax >= oy else 0
    um = kit.dbu_um
    if nx < 1 or ny < 1:
        raise InputError(
            f"route: region {round((x1 - x0) * um, 3):g} x {round((y1 - y0) * um, 3):g} um holds no point "
            f"of the {round(pitch * um, 3):g} um routing grid"
        )
    if nx * ny * len(metals) > MAX_POINTS:
        raise InputError(
            f"route: region {round((x1 - x0) * um, 3):g} x {round((y1 - y0) * um, 3):g} um needs "
            f"{nx} x {ny} x {len(metals)} grid points at pitch {round(pitch * um, 3):g} um; the limit is {MAX_POINTS}"
        )
    return RouteGrid(
        pitch=pitch,
        origin=(ox, oy),
        nx=int(nx),
        ny=int(ny),
        metals=metals,
        cuts=cuts,
        half=tuple(half),
        spacing=tuple(spacing),
        width=tuple(kit.dbu(kit.min_width(m)) for m in metals),
        cut_size=cut_size,
        cut_spacing=cut_spacing,
        dbu_um=kit.dbu_um,
    )


def _open_range(a: int, b: int, origin: int, pitch: int, n: int) -> tuple[int, int]:
    """Index slice ``[lo, hi)`` of grid coordinates strictly inside ``(a, b)``."""
    lo = max((a - origin) // pitch + 1, 0)
    hi = min(_ceil_div(b - origin, pitch), n)
    return lo, max(hi, lo)


def _closed_range(a: int, b: int, origin: int, pitch: int, n: int) -> tuple[int, int]:
    """Index slice ``[lo, hi)`` of grid coordinates inside ``[a, b]``."""
    lo = max(_ceil_div(a - origin, pitch), 0)
    hi = min((b - origin) // pitch + 1, n)
    return lo, max(hi, lo)


def _axis_overlap(a0: np.ndarray, a1: np.ndarray, b0: int, b1: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per interval ``[a0, a1]`` against ``[b0, b1]``: (overlap >= w, overlap > 0, one contains the other)."""
    ov = np.minimum(a1, b1) - np.maximum(a0, b0)
    contained = ((a0 >= b0) & (a1 <= b1)) | ((b0 >= a0) & (b1 <= a1))
    return ov >= w, ov > 0, contained


class Fabric:
    """Blockage labels of a grid for a set of shapes (see module docstring).

    Parameters
    ----------
    grid : RouteGrid
    shapes : iterable of (layer, rect, owner)
        ``owner`` is a net index ``>= 0`` or ``-1`` for shapes foreign to every net.
        Shapes on layers outside the routing stack are ignored.
    """

    def __init__(
        self,
        grid: RouteGrid,
        shapes: Iterable[tuple[str, Rect, int]],
        *,
        half: Sequence[int] | None = None,
        space: Callable[[int, int], int] | None = None,
        cut_half: Sequence[int] | None = None,
        shape_space: Callable[[int, int], int] | None = None,
    ):
        self.grid = grid
        #: Spacing (dbu) a shape of the given width (its shorter side) asks for on
        #: metal ``l`` whatever its owner (width-dependent spacing), or None.
        self.shape_space = shape_space
        #: Half-size of this fabric's wires per metal (a wide net's, or the grid's).
        self.half = tuple(grid.half if half is None else half)
        #: Spacing (dbu) on metal ``l`` to a shape of ``owner`` (-1: foreign to all nets).
        self.space = space if space is not None else (lambda l, owner: grid.spacing[l])
        #: Half extent of this fabric's via (array) per cut layer.
        self.cut_half = tuple(
            (c // 2 for c in grid.cut_size) if cut_half is None else cut_half
        )
        L, ny, nx = len(grid.metals), grid.ny, grid.nx
        self.node = np.full((L, ny, nx), FREE, dtype=np.int32)
        self.hedge = np.full((L, ny, nx), FREE, dtype=np.int32)
        self.vedge = np.full((L, ny, nx), FREE, dtype=np.int32)
        self.hedge[:, :, nx - 1] = BLOCKED
        self.vedge[:, ny - 1, :] = BLOCKED
        self.via_ok = np.ones((max(len(grid.cuts), 1), ny, nx), dtype=bool)
        self._own: dict[int, list[tuple[int, Rect]]] = {}
        self._metal: list[list[tuple[Rect, int]]] = [[] for _ in grid.metals]
        metal_index = {m: l for l, m in enumerate(grid.metals)}
        cut_index = {c: l for l, c in enumerate(grid.cuts)}
        for layer, rect, owner in shapes:
            if layer in metal_index:
                self.add_metal(metal_index[layer], rect, owner)
            elif layer in cut_index:
                self._mark_cut(cut_index[layer], rect)

    # -- ranges ---------------------------------------------------------------
    def _box(self, rect: Rect, grow: int, ext_x: int = 0, ext_y: int = 0, closed: bool = False) -> tuple[slice, slice]:
        """Points whose square (grown by ``grow``) meets ``rect``; see callers.

        For ``closed=False``: centres ``c`` with ``x0 - grow - ext < c < x1 + grow``.
        For ``closed=True``: centres with ``x0 + grow <= c <= x1 - grow - ext``
        (the square, extended by ``ext`` to the right/top, lies inside ``rect``).
        """
        g = self.grid
        x0, y0, x1, y1 = rect
        if closed:
            i0, i1 = _closed_range(x0 + grow, x1 - grow - ext_x, g.origin[0], g.pitch, g.nx)
            j0, j1 = _closed_range(y0 + grow, y1 - grow - ext_y, g.origin[1], g.pitch, g.ny)
        else:
            i0, i1 = _open_range(x0 - grow - ext_x, x1 + grow, g.origin[0], g.pitch, g.nx)
            j0, j1 = _open_range(y0 - grow - ext_y, y1 + grow, g.origin[1], g.pitch, g.ny)
        return slice(j0, j1), slice(i0, i1)

    @staticmethod
    def _label(view: np.ndarray, owner: int) -> None:
        if owner < 0:
            view[...] = BLOCKED
            return
        conflict = (view != FREE) & (view != owner)
        view[view == FREE] = owner
        view[conflict] = BLOCKED

    def add_metal(self, l: int, rect: Rect, owner: int) -> None:
        """Mark a shape on metal ``l`` owned by net ``owner`` (-1: foreign to all)."""
        self._mark_metal(l, rect, owner)
        self._metal[l].append((rect, owner))
        if owner >= 0:
            self._own.setdefault(owner, []).append((l, rect))

    def find_patch(self, l: int, pin: Rect, owner: int, region: Rect) -> tuple[int, Rect] | None:
        """An off-grid access patch for ``pin``: a grid point and a rectangle.

        The patch is the bounding box of the point's square and the pin, so it
        joins them with no neck or notch.  It must stay inside ``region``, keep
        the spacing to every foreign shape on the metal, and either keep the
        spacing to, or overlap without a thin neck, each of the net's own
        shapes.  The smallest valid patch among the points around the pin is
        returned (ties: lower point id), or None.
        """
        g = self.grid
        h, s, w = g.half[l], g.spacing[l], g.width[l]
        js, is_ = self._box(pin, h + g.pitch)
        shapes = self._metal[l]
        if not shapes:
            return None
        arr = np.array([r for r, _ in shapes], dtype=np.int64)
        own = np.array([o == owner for _, o in shapes])
        best: tuple[int, int, Rect] | None = None
        for j in range(js.start, js.stop):
            for i in range(is_.start, is_.stop):
                v = (l * g.ny + j) * g.nx + i
                if self.node.flat[v] not in (FREE, owner):
                    continue
                cx, cy = g.centre(i, j)
                patch = (min(cx - h, pin[0]), min(cy - h, pin[1]), max(cx + h, pin[2]), max(cy + h, pin[3]))
                if patch[0] < region[0] or patch[1] < region[1] or patch[2] > region[2] or patch[3] > region[3]:
                    continue
                area = (patch[2] - patch[0]) * (patch[3] - patch[1])
                if best is not None and (area, v) >= best[:2]:
                    continue
                p0 = np.array(patch[:2], dtype=np.int64)
                p1 = np.array(patch[2:], dtype=np.int64)
                gap = np.maximum(np.maximum(arr[:, :2] - p1, p0 - arr[:, 2:]), 0).max(axis=1)
                ov = np.minimum(arr[:, 2:], p1) - np.maximum(arr[:, :2], p0)
                inside = ((arr[:, :2] >= p0) & (arr[:, 2:] <= p1)) | ((arr[:, :2] <= p0) & (arr[:, 2:] >= p1))
                good = (ov > 0).all(axis=1) & (inside | (ov >= w)).any(axis=1)
                ok = (gap >= s) | (own & good)
                if ok.all():
                    best = (area, v, patch)
        return None if best is None else (best[1], best[2])

    def _mark_metal(self, l: int, rect: Rect, owner: int) -> None:
        g = self.grid
        sp = self.space(l, owner)
        if self.shape_space is not None:
            sp = max(sp, self.shape_space(l, min(rect[2] - rect[0], rect[3] - rect[1])))
        reach = self.half[l] + sp
        p = g.pitch
        self._label(self.node[l][self._box(rect, reach)], owner)
        self._label(self.hedge[l][self._box(rect, reach, ext_x=p)], owner)
        self._label(self.vedge[l][self._box(rect, reach, ext_y=p)], owner)

    def _mark_cut(self, c: int, rect: Rect) -> None:
        g = self.grid
        if self.cut_half[c] == g.cut_size[c] // 2:
            a = g.cut_size[c] // 2
            b = g.cut_size[c] - a
        else:
            a = b = self.cut_half[c]
        s = g.cut_spacing[c]
        x0, y0, x1, y1 = rect
        i0, i1 = _open_range(x0 - s - b, x1 + s + a, g.origin[0], g.pitch, g.nx)
        j0, j1 = _open_range(y0 - s - b, y1 + s + a, g.origin[1], g.pitch, g.ny)
        self.via_ok[c, j0:j1, i0:i1] = False

    # -- per net --------------------------------------------------------------
    def self_blocked(self, owner: int) -> tuple[frozenset[int], dict[int, frozenset[int]], dict[int, frozenset[int]]]:
        """Points, horizontal and vertical edges net ``owner`` must avoid.

        An element (point square or edge wire) is avoided when its metal would
        come closer than the spacing to one of the net's own shapes without
        overlapping it (a notch), or overlap it only at a corner by less than
        the minimum width (a thin neck), unless the metal lies entirely inside
        one of the net's own shapes (it then adds nothing).

        Returns
        -------
        points : frozenset[int]
            Avoided points: never a via or access point, entered only along
            an allowed edge (the square lies inside that edge's wire).
        hedges, vedges : dict[int, frozenset[int]]
            Avoided edge (id of its lower-left point) -> how it may still be
            drawn: ``+1`` / ``-1`` when walked up / down the ids right after
            the edge behind it, ``+2`` / ``-2`` when walked up / down the ids
            and followed at once by the edge ahead of it.
        """
        g = self.grid
        nx, ny = g.nx, g.ny
        p = g.pitch
        variants = ((0, 0), (p, 0), (0, p))
        rings: list[list[np.ndarray]] = [[], [], []]
        goods: list[list[set[int]]] = [[], []]  # per shape: edges overlapping it cleanly
        inside: list[list[np.ndarray]] = [[], [], []]
        for l, rect in self._own.get(owner, ()):
            h, s, w = self.half[l], g.spacing[l], g.width[l]
            if self.shape_space is not None:
                # a notch next to a wide part (the shape's or this wire's) keeps its wider spacing
                s = max(s, self.shape_space(l, min(rect[2] - rect[0], rect[3] - rect[1])), self.shape_space(l, 2 * h))
            for n, (ext_x, ext_y) in enumerate(variants):
                jn, in_ = self._box(rect, h + s, ext_x, ext_y)
                if jn.stop > jn.start and in_.stop > in_.start:
                    cx = g.origin[0] + p * np.arange(in_.start, in_.stop, dtype=np.int64)
                    cy = g.origin[1] + p * np.arange(jn.start, jn.stop, dtype=np.int64)
                    okx, ovx, conx = _axis_overlap(cx - h, cx + h + ext_x, rect[0], rect[2], w)
                    oky, ovy, cony = _axis_overlap(cy - h, cy + h + ext_y, rect[1], rect[3], w)
                    # overlap with positive area and no thin neck at a corner overlap
                    good = (ovy[:, None] & ovx[None, :]) & (cony[:, None] | conx[None, :] | oky[:, None] | okx[None, :])
                    jj, ii = np.nonzero(~good)
                    ids = ((l * ny + jj + jn.start) * nx + ii + in_.start).astype(np.int64)
                    if n > 0:
                        jj, ii = np.nonzero(good)
                        goods[n - 1].append(set(((l * ny + jj + jn.start) * nx + ii + in_.start).tolist()))
                else:
                    ids = np.empty(0, dtype=np.int64)
                    if n > 0:
                        goods[n - 1].append(set())
                rings[n].append(ids)
                js, is_ = self._box(rect, h, ext_x, ext_y, closed=True)
                if js.stop > js.start and is_.stop > is_.start:
                    jj, ii = np.mgrid[js, is_]
                    inside[n].append(((l * ny + jj) * nx + ii).ravel().astype(np.int64))
        out: list[np.ndarray] = []
        for n in range(3):
            r = np.unique(np.concatenate(rings[n])) if rings[n] else np.empty(0, dtype=np.int64)
            if inside[n] and r.size:
                r = np.setdiff1d(r, np.concatenate(inside[n]))
            out.append(r)
        # An avoided edge may still be drawn in line with the edge behind it
        # (or ahead of it) when that one overlaps, cleanly, every own shape the
        # edge alone would notch: the straight wire fills the gap.  The pitch
        # exceeds the spacing, so the next edge in line always reaches the shape.
        hedges: dict[int, frozenset[int]] = {}
        vedges: dict[int, frozenset[int]] = {}
        for n, (table, step, target) in enumerate(((goods[0], 1, hedges), (goods[1], nx, vedges)), start=1):
            blocked = out[n].tolist()
            causes: dict[int, list[int]] = {}
            for k, ids in enumerate(rings[n]):
                for e in np.intersect1d(ids, out[n]).tolist():
                    causes.setdefault(e, []).append(k)
            for e in blocked:
                l, i, j = g.unflat(e)
                along = i if step == 1 else j
                count = nx if step == 1 else ny
                dirs = []
                behind = along >= 1
                ahead = along + 1 <= count - 2
                for d, other, valid in (
                    (1, e - step, behind),
                    (-1, e + step, ahead),
                    (2, e + step, ahead),
                    (-2, e - step, behind),
                ):
                    if valid and all(other in table[k] for k in causes.get(e, ())):
                        dirs.append(d)
                target[e] = frozenset(dirs)
        return frozenset(out[0].tolist()), hedges, vedges

    def block_outside(self, region: Rect) -> None:
        """Block the points whose square (this fabric's half-size) leaves ``region``."""
        g = self.grid
        cx = g.origin[0] + g.pitch * np.arange(g.nx, dtype=np.int64)
        cy = g.origin[1] + g.pitch * np.arange(g.ny, dtype=np.int64)
        for l, h in enumerate(self.half):
            bad_x = (cx - h < region[0]) | (cx + h > region[2])
            bad_y = (cy - h < region[1]) | (cy + h > region[3])
            self.node[l][:, bad_x] = BLOCKED
            self.node[l][bad_y, :] = BLOCKED

    def overlapping(self, l: int, rect: Rect) -> np.ndarray:
        """Flat ids of points on metal ``l`` whose square overlaps ``rect`` (positive area)."""
        g = self.grid
        js, is_ = self._box(rect, self.half[l])
        if js.stop <= js.start or is_.stop <= is_.start:
            return np.empty(0, dtype=np.int64)
        jj, ii = np.mgrid[js, is_]
        return ((l * g.ny + jj) * g.nx + ii).ravel().astype(np.int64)
