"""The router's public entry point: shapes in, wires out (all dbu).

:func:`route` builds the routing grid from the kit's rules
(:func:`flow.route.grid.make_grid`), marks obstacles on it, negotiates
congestion between nets (:class:`flow.route.search.Negotiator`) and turns
the grid paths into rectangles: one per straight run of wire, a cut square
and two landing squares per via.  The result is DRC-clean by construction for
the kit's width, spacing and enclosure rules on the routing layers, provided
the obstacles themselves are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from flow.errors import InputError
from flow.route.grid import BLOCKED, Fabric, RouteGrid, make_grid
from flow.route.junctions import junction_fills
from flow.route.netclass import NetRule, clearance, has_voltage_rules
from flow.route.search import NetJob, Negotiator
from pdk.schema import PDK

Rect = tuple[int, int, int, int]

#: A wide net that cannot be routed has its extra width multiplied by SHRINK,
#: and set to zero (minimum width) once it is at or below SHRINK_LAST.
SHRINK = 0.25
SHRINK_LAST = 0.25
#: Negotiation iterations while some net is wide (a round that fails narrows it).
WIDE_ITERATIONS = 4


@dataclass(frozen=True)
class Shape:
    """A rectangle on a PDK layer, dbu, owned by ``net`` (None: foreign to every net)."""

    layer: str
    rect: Rect
    net: str | None


@dataclass(frozen=True)
class RouteResult:
    """What :func:`route` produced.

    Attributes
    ----------
    shapes : Mapping[str, tuple[Shape, ...]]
        Routed net -> its new wires, via cuts and landing pads.  Only nets
        routed completely appear; nets in ``unrouted`` get no geometry.
    wirelength : int
        Sum of centre-line lengths of wire segments, dbu.
    vias : int
        Number of via cuts.
    unrouted : Mapping[str, str]
        Net -> why it was not routed, with a location in microns.
    grid : RouteGrid
        The routing grid used (pitch, origin, size).
    iterations : int
        Negotiation iterations run.
    """

    shapes: Mapping[str, tuple[Shape, ...]]
    wirelength: int
    vias: int
    unrouted: Mapping[str, str]
    grid: RouteGrid
    iterations: int
    #: Net -> what was drawn for it: ``width_um`` per metal (the metal that
    #: carries the current: for a slotted wire, what is left on its worst
    #: cross-section, a row of slots or the ring of slots around a pin),
    #: ``slotted`` (metal -> ``drawn_um``, ``slot_um``, ``pitch_um``,
    #: ``max_width_um`` of a wire wider than the metal's maximum width,
    #: ``short_um`` what its worst cross-section lacks of the current's need),
    #: ``cuts`` (fewest cuts at one layer change, per cut layer), ``wide``
    #: (sized by current).  Only routed nets.
    drawn: Mapping[str, Mapping[str, object]] = field(default_factory=lambda: MappingProxyType({}))


def _rect(value: object, what: str) -> Rect:
    try:
        x0, y0, x1, y1 = (int(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InputError(f"route: {what}: rect must be (x0, y0, x1, y1) integers in dbu, got {value!r}") from None
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"route: {what}: rect {(x0, y0, x1, y1)} is empty (need x0 < x1 and y0 < y1)")
    return (x0, y0, x1, y1)


def _check_inputs(
    kit: PDK, obstacles: Sequence[Shape], terminals: Mapping[str, Sequence[Sequence[Shape]]]
) -> None:
    metals = kit.routing_metals
    for n, s in enumerate(obstacles):
        if s.layer not in kit.layers:
            raise InputError(
                f"route: obstacle {n}: '{s.layer}' is not a layer of {kit.name}; layers are {', '.join(kit.layers)}"
            )
        _rect(s.rect, f"obstacle {n} on {s.layer}")
    for net, terms in terminals.items():
        for t, pins in enumerate(terms):
            if len(pins) == 0:
                raise InputError(f"route: net '{net}' terminal {t} has no access shapes")
            for p in pins:
                what = f"net '{net}' terminal {t}"
                if p.layer not in metals:
                    raise InputError(
                        f"route: {what}: pin on '{p.layer}' is not on a routing metal; routing metals are {', '.join(metals)}"
                    )
                if p.net != net:
                    raise InputError(f"route: {what}: pin on {p.layer} at {p.rect} belongs to net {p.net!r}, not '{net}'")
                _rect(p.rect, what)


def _centre(rect: Rect) -> tuple[float, float]:
    return ((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2)


def _contains(a: Rect, b: Rect) -> bool:
    """True when ``b`` lies inside ``a``."""
    return a[0] <= b[0] and a[1] <= b[1] and b[2] <= a[2] and b[3] <= a[3]


def _cut_array(grid: RouteGrid, c: int, i: int, j: int, extent: int) -> list[Rect]:
    """Cuts of layer ``c`` on the global cut lattice inside the square of half ``extent`` at ``(i, j)``.

    The lattice (pitch cut + cut spacing, anchored at the grid origin) is the
    same for every site, so arrays of nearby sites of one net coincide or keep
    the cut spacing.
    """
    cs, sp = grid.cut_size[c], grid.cut_spacing[c]
    cp = cs + sp
    x, y = grid.centre(i, j)
    ox, oy = grid.origin

    def axis(centre: int, origin: int) -> list[int]:
        lo, hi = centre - extent, centre + extent - cs
        first = origin + _ceil_div(lo - origin, cp) * cp
        return list(range(first, hi + 1, cp))

    return [(a, b, a + cs, b + cs) for b in axis(y, oy) for a in axis(x, ox)]


@dataclass(frozen=True)
class Slots:
    """How a net wider than a metal's ``max_width`` is slotted into straps (dbu).

    Square holes of side ``hole`` on a lattice of period ``pitch`` (anchored at
    ``origin``) leave bars (straps) ``pitch - hole`` wide between them; a hole
    keeps ``margin`` (the minimum width) of metal to the wire's edge, to
    other holes and to the net's existing metal, and every cut of the net
    keeps ``enclosure[cut index]`` from it.  ``pitch + margin < maxw``, so
    no square wider than the maximum width fits between the holes or
    between the holes and an edge.
    """

    maxw: int
    hole: int
    pitch: int
    margin: int
    origin: tuple[int, int]
    enclosure: Mapping[int, int]
    #: period of the ring of holes around the net's existing shapes (0: half
    #: the pitch; a density lattice rings at its own pitch, so the metal
    #: across the ring is at least what crosses a row of the lattice)
    ring: int = 0

    def effective(self, width: int) -> int:
        """Metal left across a ``width`` wide wire where a row of holes crosses it."""
        return width - _ceil_div(width, self.pitch) * self.hole


#: Periods of a density slot lattice per density window (a window inside
#: the lattice holds its density give or take part of one period).
DENSITY_PERIODS = 12


def _slotting(kit: PDK, grid: RouteGrid, l: int, self_space: Callable[[int, int], int]) -> Slots | None:
    """The slotting of metal ``l`` (:class:`Slots`), or None.

    With a ``max_width`` rule: the hole is at least the metal's spacing,
    notch and width-dependent spacing of the bars beside it and the side of
    the smallest ``hole`` area rule; the lattice pitch the largest (on the
    0.5 um grain) with ``pitch + margin < max width``.

    Without one, a maximum ``density`` (fraction ``d`` of every ``window``
    ``W``) slots the wires wider than ``d * W / 2`` (two such wires side by
    side could fill a window past ``d``): square holes on a lattice of pitch
    ``p`` about ``W /`` :data:`DENSITY_PERIODS` (0.5 um multiple), each hole
    so large that a window over a corner of the wire, with a solid border up
    to ``b = margin + p`` wide on two sides and the lattice elsewhere, stays
    within ``d``: lattice density ``1 - (hole / p)^2 <= 1 - (1 - d) / (1 -
    b / W)^2``; and at least the spacing and hole-area rules above.  The
    router draws such a wire wider so that the metal left across a row of
    holes (``1 - hole / p`` of it) carries the current.  None when the metal
    has neither rule.
    """
    m = grid.metals[l]
    vals = [kit.dbu(r.value) for r in kit.rules_of("max_width", m) if r.value]
    grain = max(kit.dbu(0.5), 2)
    margin = _ceil_div(grid.width[l], grain) * grain
    area = max((r.value for r in kit.rules_of("hole", m) if r.value), default=0.0)
    if vals:
        maxw = min(vals)
        pitch = (maxw - margin - 1) // grain * grain
        hole = max(self_space(l, pitch), kit.dbu(math.sqrt(area)) + (1 if area else 0))
    else:
        dens = [r for r in kit.rules_of("density", m) if r.max is not None and r.max < 1 and r.window]
        if not dens:
            return None
        rule = min(dens, key=lambda r: (r.max, r.window))
        win = kit.dbu(rule.window)
        maxw = kit.dbu(rule.max * rule.window / 2)
        pitch = (win // DENSITY_PERIODS) // grain * grain
        border = margin + pitch
        if border >= win:
            return None
        lattice = 1.0 - (1.0 - rule.max) / (1.0 - border / win) ** 2
        if lattice <= 0:
            return None
        hole = max(
            _ceil_div(int(math.ceil(pitch * math.sqrt(1.0 - lattice))), grain) * grain,
            kit.dbu(math.sqrt(area)) + (1 if area else 0),
        )
        hole = max(hole, self_space(l, pitch - hole))
    hole = _ceil_div(hole, grain) * grain
    if pitch - hole < margin:
        return None  # no room for straps at least the minimum width
    cuts = {c: kit.dbu(kit.enclosure(m, cut)) for c, cut in enumerate(grid.cuts) if l in (c, c + 1)}
    return Slots(maxw, hole, pitch, margin, grid.origin, MappingProxyType(cuts), 0 if vals else pitch)


def _slot_holes(sl: Slots, mine: Sequence[Rect], fixed: Sequence[Rect]) -> list[Rect]:
    """Holes slotting a net's new metal ``mine`` on one metal (see :class:`Slots`).

    Only rectangles wider than ``sl.maxw`` both ways get holes.  Around each
    of the net's existing shapes (``fixed``, kept whole) that such a
    rectangle overlaps, a ring of holes ``margin`` away comes first (the
    existing shape plus the metal around it stays no wider than it needs);
    then the lattice.  A hole lies inside one rectangle with ``margin`` to
    spare, keeps ``margin`` from every other hole and from ``fixed``.
    """
    big = [r for r in mine if min(r[2] - r[0], r[3] - r[1]) > sl.maxw]
    if not big:
        return []
    h, m, p = sl.hole, sl.margin, sl.pitch
    cands: list[Rect] = []
    for f in fixed:
        if not any(f[0] < r[2] and r[0] < f[2] and f[1] < r[3] and r[1] < f[3] for r in big):
            continue
        x0, y0, x1, y1 = f[0] - m - h, f[1] - m - h, f[2] + m, f[3] + m
        q = max(h + m, sl.ring or p // 2)
        ys = list(range(y0, y1 + 1, q)) + [y1]
        xs = list(range(x0, x1 + 1, q)) + [x1]
        cands += [(x0, y, x0 + h, y + h) for y in ys] + [(x1, y, x1 + h, y + h) for y in ys]
        cands += [(x, y0, x + h, y0 + h) for x in xs] + [(x, y1, x + h, y1 + h) for x in xs]
    off = (p - h) // 2
    out: list[Rect] = []
    seen: set[Rect] = set()
    fx = np.array(fixed, dtype=np.int64).reshape(-1, 4)
    for c in cands:
        if c in seen:
            continue
        seen.add(c)
        if not any(r[0] + m <= c[0] and r[1] + m <= c[1] and c[2] + m <= r[2] and c[3] + m <= r[3] for r in big):
            continue
        if len(fx) and _gaps(fx, c).min() < m:
            continue
        if out and _gaps(np.array(out, dtype=np.int64), c).min() < m:
            continue
        out.append(c)
    # the lattice: its holes keep ``pitch - hole >= margin`` from each other,
    # so each is checked against the ring and the fixed shapes only (at once)
    lat: dict[tuple[int, int], None] = {}  # in the order of the rectangles, rows, columns
    for r in big:
        lo_x, lo_y, hi_x, hi_y = r[0] + m, r[1] + m, r[2] - m - h, r[3] - m - h
        ax = sl.origin[0] + off + _ceil_div(lo_x - sl.origin[0] - off, p) * p
        ay = sl.origin[1] + off + _ceil_div(lo_y - sl.origin[1] - off, p) * p
        xs, ys = np.arange(ax, hi_x + 1, p), np.arange(ay, hi_y + 1, p)
        if len(xs) and len(ys):
            gx, gy = np.meshgrid(xs, ys)
            lat.update(dict.fromkeys(zip(gx.ravel().tolist(), gy.ravel().tolist())))
    if not lat:
        return out
    a = np.array(list(lat), dtype=np.int64)
    a = np.concatenate([a, a + h], axis=1)  # (x0, y0, x1, y1)
    ok = np.ones(len(a), dtype=bool)
    for obs in (fx, np.array(out, dtype=np.int64).reshape(-1, 4)):
        for s0 in range(0, len(obs), 256):
            o = obs[s0 : s0 + 256]
            gap = np.maximum(
                np.maximum(np.maximum(o[None, :, 0] - a[:, None, 2], a[:, None, 0] - o[None, :, 2]),
                           np.maximum(o[None, :, 1] - a[:, None, 3], a[:, None, 1] - o[None, :, 3])), 0)
            ok &= ~(gap < m).any(axis=1)
    ring = set(out)
    out.extend(c for c in map(tuple, a[ok].tolist()) if c not in ring)
    return out


def _hole_cover(holes: Sequence[Rect], w: int, axes: Sequence[int] = (0, 1)) -> int:
    """Most hole length that a straight segment ``w`` long crosses, along x or y.

    A cross-section of a slotted wire ``w`` wide is such a segment lying in
    the wire, so ``w - _hole_cover(holes, w)`` is at most the metal left on
    any of them: the lattice's rows, and the ring of holes around a pin
    together with the lattice beside it.  Segments along the wire count too
    (on a lattice they cross as many holes), so it errs on the safe side.
    """
    if not holes:
        return 0
    arr = np.array(holes, dtype=np.int64).reshape(-1, 4)
    best = 0
    for ax in axes:  # 0: horizontal segments (intervals in x, bands in y)
        lo, hi, b0, b1 = arr[:, ax], arr[:, ax + 2], arr[:, 1 - ax], arr[:, 3 - ax]
        edges = np.unique(np.concatenate([b0, b1]))
        for a, b in zip(edges[:-1], edges[1:]):
            on = (b0 < b) & (a < b1)  # holes crossing this band
            if not on.any():
                continue
            x0, x1 = lo[on], hi[on]
            # the best window starts at a hole's left edge or ends at a right edge
            starts = np.concatenate([x0, x1 - w])
            cover = np.clip(np.minimum(x1[None, :], starts[:, None] + w) - np.maximum(x0[None, :], starts[:, None]), 0, None).sum(axis=1)
            best = max(best, int(cover.max()))
    return best


def _subtract(rect: Rect, holes: Sequence[Rect]) -> list[Rect]:
    """``rect`` minus the ``holes``, as disjoint rectangles."""
    pieces = [rect]
    for hx0, hy0, hx1, hy1 in holes:
        if hx1 <= rect[0] or hx0 >= rect[2] or hy1 <= rect[1] or hy0 >= rect[3]:
            continue
        out = []
        for x0, y0, x1, y1 in pieces:
            if hx1 <= x0 or hx0 >= x1 or hy1 <= y0 or hy0 >= y1:
                out.append((x0, y0, x1, y1))
                continue
            if hy0 > y0:
                out.append((x0, y0, x1, hy0))
            if hy1 < y1:
                out.append((x0, hy1, x1, y1))
            ya, yb = max(y0, hy0), min(y1, hy1)
            if hx0 > x0:
                out.append((x0, ya, hx0, yb))
            if hx1 < x1:
                out.append((hx1, ya, x1, yb))
        pieces = out
    return pieces


def _subtract_many(rect: Rect, holes: np.ndarray) -> list[Rect]:
    """``rect`` minus many ``holes`` ((n, 4) array), as few rectangles, which may overlap.

    The same region as :func:`_subtract`, for a lattice of hundreds of
    holes: the holes' edges cut ``rect`` into a grid of cells; a column of
    cells with no hole becomes one bar the height of ``rect``, a row one bar
    its width (a slotted wire is its straps), and the metal cells no bar
    covers are added as runs along each row, runs equal in consecutive rows
    merged.  Overlapping bars rather than abutting pieces: polygon unions
    (the DRC's, gdstk's Clipper) are slow on thousands of shared edges.
    """
    x0, y0, x1, y1 = rect
    if len(holes):
        hit = (holes[:, 0] < x1) & (holes[:, 2] > x0) & (holes[:, 1] < y1) & (holes[:, 3] > y0)
        holes = holes[hit]
    if not len(holes):
        return [rect]
    hx0, hy0 = np.maximum(holes[:, 0], x0), np.maximum(holes[:, 1], y0)
    hx1, hy1 = np.minimum(holes[:, 2], x1), np.minimum(holes[:, 3], y1)
    xs = np.unique(np.concatenate([[x0, x1], hx0, hx1]))
    ys = np.unique(np.concatenate([[y0, y1], hy0, hy1]))
    air = np.zeros((len(ys) - 1, len(xs) - 1), dtype=bool)
    for a, b, c, d in zip(np.searchsorted(xs, hx0).tolist(), np.searchsorted(ys, hy0).tolist(),
                          np.searchsorted(xs, hx1).tolist(), np.searchsorted(ys, hy1).tolist()):
        air[b:d, a:c] = True
    metal = ~air
    out: list[Rect] = []

    def runs(flags: np.ndarray) -> list[tuple[int, int]]:
        idx = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
        return list(zip(idx[0::2].tolist(), idx[1::2].tolist()))

    cols, rows = metal.all(axis=0), metal.all(axis=1)
    out += [(int(xs[a]), y0, int(xs[b]), y1) for a, b in runs(cols)]
    out += [(x0, int(ys[a]), x1, int(ys[b])) for a, b in runs(rows)]
    rest = metal & ~cols[None, :] & ~rows[:, None]
    open_: dict[tuple[int, int], int] = {}  # cell run -> first row
    for j in range(rest.shape[0] + 1):
        now = set(runs(rest[j])) if j < rest.shape[0] else set()
        for key in [k for k in open_ if k not in now]:
            out.append((int(xs[key[0]]), int(ys[open_.pop(key)]), int(xs[key[1]]), int(ys[j])))
        for key in now:
            open_.setdefault(key, j)
    return sorted(out)


def _lattice_cuts(grid: RouteGrid, c: int, box: Rect) -> list[Rect]:
    """Cuts of layer ``c`` on the global cut lattice lying inside ``box``."""
    cs, cp = grid.cut_size[c], grid.cut_size[c] + grid.cut_spacing[c]

    def axis(lo: int, hi: int, origin: int) -> list[int]:
        first = origin + _ceil_div(lo - origin, cp) * cp
        return list(range(first, hi - cs + 1, cp))

    xs = axis(box[0], box[2], grid.origin[0])
    ys = axis(box[1], box[3], grid.origin[1])
    return [(a, b, a + cs, b + cs) for b in ys for a in xs]


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def _geometry(
    grid: RouteGrid,
    net: str,
    job: NetJob,
    patches: Mapping[int, Shape],
    half: Sequence[int] | None = None,
    via_extent: Sequence[int] | None = None,
    pin_vias: Mapping[int, Sequence[Rect]] | None = None,
    covers: Sequence[tuple[Shape, Sequence[Rect]]] = (),
    self_space: Callable[[int, int], int] | None = None,
    slots: Sequence[Slots | None] = (),
    fixed: Sequence[Sequence[Rect]] = (),
    min_cuts: Mapping[int, int] | None = None,
    slot_holes: dict[int, list[Rect]] | None = None,
    joined: Callable[[int, Rect], int] | None = None,
) -> tuple[list[Shape], int, int, dict[str, int]]:
    """Rectangles of a routed tree: merged straight runs, vias, pads, access patches.

    ``slots``: per metal, the slotting of a net wider than the metal's
    maximum width (see :func:`_slot_holes`; ``fixed``: the net's existing
    metal per metal, which stays whole); cuts in a slot are left out.
    ``slot_holes``, when given, receives the holes cut per metal index.

    ``half``: the net's wire half-width per metal (default the grid's);
    ``via_extent``: when given, every via is an array of cuts on the global
    cut lattice inside a square of that half size (per cut layer).  Returns
    the shapes, the wire length, the number of cuts and the fewest cuts of one
    via site per cut layer.  ``joined(c, rect)``: cuts of the net's existing
    metal (a device's strap vias) joining the same two shapes as a landing
    on a pin whose upper metal is ``rect``; they count with its cuts.
    """
    halves = tuple(grid.half) if half is None else tuple(half)
    nx, ny = grid.nx, grid.ny
    nxy = nx * ny
    p = grid.pitch
    runs_h: dict[tuple[int, int], list[int]] = {}
    runs_v: dict[tuple[int, int], list[int]] = {}
    vias: list[int] = []
    wired: set[int] = set()
    for a, b in sorted(job.edges):
        d = b - a
        l, i, j = grid.unflat(a)
        if d == nxy:
            vias.append(a)
        elif d == 1:
            runs_h.setdefault((l, j), []).append(i)
            wired.update((a, b))
        else:
            runs_v.setdefault((l, i), []).append(j)
            wired.update((a, b))
    shapes: list[Shape] = []
    wire_edges = 0

    def runs(idx: list[int]) -> list[tuple[int, int]]:
        """Maximal runs of consecutive edge indices, as (first point, last point)."""
        idx = sorted(idx)
        out = []
        start = prev = idx[0]
        for k in idx[1:]:
            if k != prev + 1:
                out.append((start, prev + 1))
                start = k
            prev = k
        out.append((start, prev + 1))
        return out

    for (l, j), idx in sorted(runs_h.items()):
        h = halves[l]
        wire_edges += len(idx)
        for a, b in runs(idx):
            (xa, y), (xb, _) = grid.centre(a, j), grid.centre(b, j)
            shapes.append(Shape(grid.metals[l], (xa - h, y - h, xb + h, y + h), net))
    for (l, i), idx in sorted(runs_v.items()):
        h = halves[l]
        wire_edges += len(idx)
        for a, b in runs(idx):
            (x, ya), (_, yb) = grid.centre(i, a), grid.centre(i, b)
            shapes.append(Shape(grid.metals[l], (x - h, ya - h, x + h, yb + h), net))
    def square(v: int) -> tuple[str, Rect]:
        l, i, j = grid.unflat(v)
        x, y = grid.centre(i, j)
        h = halves[l]
        return grid.metals[l], (x - h, y - h, x + h, y + h)

    groups: list[tuple[int, Sequence[Rect]]] = []  # (cut layer index, cuts of one layer change)
    for v in sorted(vias):
        l, i, j = grid.unflat(v)
        if via_extent is None:
            arr = [grid.cut(l, i, j)]
        else:
            arr = _cut_array(grid, l, i, j, via_extent[l])
        groups.append((l, arr))
        for w in (v, v + nxy):
            shapes.append(Shape(*square(w), net))
    n_wire_groups = len(groups)
    extra_cuts: dict[int, int] = {}  # group -> existing cuts of the net joining the same shapes
    for v in sorted(job.nodes & set(pin_vias or {})):
        c = grid.unflat(v)[0] - 1
        if joined is not None:
            extra_cuts[len(groups)] = joined(c, square(v)[1])
        groups.append((c, (pin_vias or {})[v]))
    for cover, arr in covers:
        c = grid.metals.index(cover.layer) - 1
        if joined is not None:
            extra_cuts[len(groups)] = joined(c, cover.rect)
        groups.append((c, arr))
        shapes.append(cover)
    via_points = {v for v in vias} | {v + nxy for v in vias}
    for v in sorted(job.nodes - wired - via_points):
        shapes.append(Shape(*square(v), net))
    shapes.extend(patches[v] for v in sorted(job.nodes) if v in patches)
    if self_space is not None:
        shapes.extend(_notch_fills(grid, net, shapes, self_space))
    holes: dict[int, list[Rect]] = {}
    for l, sl in enumerate(slots):
        if sl is not None:
            mine = [sh.rect for sh in shapes if sh.layer == grid.metals[l]]
            # the cuts landing on a pin (their number is what the pin holds)
            # stay whole with their enclosure, like the net's existing metal
            whole = list(fixed[l]) if l < len(fixed) else []
            for c, arr in groups[n_wire_groups:]:
                if arr and l in (c, c + 1):
                    e = sl.enclosure.get(c, 0)
                    whole.append((min(r[0] for r in arr) - e, min(r[1] for r in arr) - e,
                                  max(r[2] for r in arr) + e, max(r[3] for r in arr) + e))
            hs = _slot_holes(sl, mine, whole)
            if hs:
                holes[l] = hs
    fewest: dict[str, int] = {}
    cut_shapes: set[tuple[str, Rect]] = set()
    for g, (c, arr) in enumerate(groups):
        kept = list(arr)
        hits: list[tuple[int, int]] = []  # (metal, hole) the dropped cuts ran into
        for l in (c, c + 1):
            if l in holes and kept:
                # a cut keeps its enclosure clear of the slots on both metals
                e = slots[l].enclosure.get(c, 0)  # type: ignore[union-attr]
                a = np.array(kept, dtype=np.int64).reshape(-1, 4)
                hl = np.array(holes[l], dtype=np.int64)
                hit = (
                    (a[:, None, 0] - e < hl[None, :, 2]) & (hl[None, :, 0] < a[:, None, 2] + e)
                    & (a[:, None, 1] - e < hl[None, :, 3]) & (hl[None, :, 1] < a[:, None, 3] + e)
                )
                bad = hit.any(axis=1)
                hits.extend((l, h) for h in np.nonzero(hit.any(axis=0))[0].tolist())
                kept = [r for r, b in zip(kept, bad.tolist()) if not b]
        if len(kept) < min(len(arr), max(1, (min_cuts or {}).get(c, 1))):
            # too few cuts left: the layer change keeps its array, the slots there go
            drop = {(l, holes[l][h]) for l, h in hits}
            for l in {l for l, _ in drop}:
                holes[l] = [h for h in holes[l] if (l, h) not in drop]
            kept = list(arr)
        n_cuts = len(kept) + extra_cuts.get(g, 0)
        fewest[grid.cuts[c]] = min(fewest.get(grid.cuts[c], n_cuts), n_cuts)
        for r in kept:
            cut_shapes.add((grid.cuts[c], r))
    if slot_holes is not None:
        slot_holes.update({l: list(hs) for l, hs in holes.items() if hs})
    for l, hs in holes.items():
        if hs:
            m = grid.metals[l]
            keep = [sh for sh in shapes if sh.layer != m]
            arr = np.array(hs, dtype=np.int64)
            for r in sorted({sh.rect for sh in shapes if sh.layer == m}):
                pieces = _subtract(r, hs) if len(hs) <= 64 else _subtract_many(r, arr)
                keep.extend(Shape(m, piece, net) for piece in pieces)
            shapes = keep
    cuts = len(cut_shapes)
    shapes.extend(Shape(layer, r, net) for layer, r in sorted(cut_shapes))
    order = {name: n for n, name in enumerate(grid.metals + grid.cuts)}
    shapes = sorted(set(shapes), key=lambda s: (order[s.layer], s.rect))
    return shapes, wire_edges * p, cuts, fewest


def route(
    kit: PDK,
    region: Sequence[int],
    obstacles: Sequence[Shape],
    terminals: Mapping[str, Sequence[Sequence[Shape]]],
    *,
    max_iterations: int = 30,
    progress: Callable[[str, float], object] | None = None,
    rules: Mapping[str, NetRule] | None = None,
    guides: Mapping[str, Sequence[tuple[str, Sequence[int]]]] | None = None,
) -> RouteResult:
    """Route every net with two or more terminals on the kit's metal stack.

    Parameters
    ----------
    kit : PDK
        Supplies the routing stack (``kit.routing``) and its width, spacing,
        enclosure and voltage_spacing rules.
    region : (x0, y0, x1, y1)
        Routing area, dbu; every new shape lies inside it.
    obstacles : sequence of Shape
        Every existing shape on the routing metals and cuts (pins included),
        tagged with its net or None; and net-tie markers (shapes on a layer
        with ``net_tie``), which wires do not end on (see Notes).  Shapes on
        other layers are ignored.
    terminals : mapping net -> terminals
        Each terminal is a list of alternative access shapes (pins) on routing
        metals carrying the net; reaching any one of them connects the
        terminal.  Pins are also treated as obstacles of their net.
    max_iterations : int
        Negotiation iterations before leftover sharing is settled by dropping nets.
    progress : callable(message, fraction), optional
        Called after every iteration.
    rules : mapping net -> NetRule, optional
        Per-net sizing from the net classes (:func:`flow.route.netclass.net_rules`):
        a net whose current needs more than a metal's minimum width is drawn
        wide (see Notes), and nets keep the ``voltage_spacing`` clearance for
        their voltage difference from each other and from other nets' metal.
    guides : mapping net -> [(metal, rect)], optional
        Global-route guides (:func:`flow.route.globalroute.kit_guides`): a
        step of the net's search outside its guide costs
        :data:`flow.route.search.GUIDE_OUT` times more (a preference, never a
        wall: the detailed router still finds a path the guide misses).

    Returns
    -------
    RouteResult

    Raises
    ------
    InputError
        Malformed shapes, pins off the routing metals or of another net, an
        empty or oversized region.

    Notes
    -----
    A pin is reachable only where a grid square (pitch ``grid.pitch``)
    overlaps it with positive area and keeps the spacing to foreign metal;
    pins smaller than the gap between squares may get no access point.

    A wide net is routed on the same grid with a wider square per point:
    its width ``W`` on a metal is the width the current needs, raised to
    the next value with ``(n - 1) * pitch + min_width <= W <= n * pitch -
    spacing`` so that two of its own squares either overlap by at least the
    minimum width or keep the spacing (no notch, no neck), and to at least
    ``2 * half + cut pitch`` so every layer change holds an array of cuts on
    a lattice shared by all its vias.  Two nets ``a``, ``b`` keep their
    points ``ceil((W_a + W_b) / 2 + clearance) / pitch`` pitches apart.
    A net needing several cuts per layer change is sized even within the
    minimum widths; a sized net stays off a metal on which it would be wider
    than a quarter of the region while another metal carries it narrower,
    and gets *covers* over its pins (the metal above the whole pin, as many
    cuts as the pin holds, grown to the net's width where clear) when a
    cover holds the cuts it needs (see :func:`_make_covers`).
    A net wider than a metal's ``max_width`` rule is *slotted* there
    (:class:`Slots`): drawn wider still, with square holes on a lattice that
    leaves parallel straps no wider than the maximum width, so that the
    metal left across a row of holes carries the current; the net's pins and
    the cut arrays landing on them stay whole, ringed by holes.  The holes
    cut are measured (:func:`_hole_cover`): when a cross-section, e.g. one
    through a ring, holds less metal than the current needs, the net is
    drawn wider by the holes missing and everything is routed again (up to
    :data:`SLOT_RETRIES` times; what is still missing shows as ``short_um``).
    Where a wire meets the net's pins or other metal through a neck
    narrower than its current needs (a wide wire overlapping a pin's
    corner, two wires meeting off-centre), the junction is filled after
    routing (:mod:`flow.route.junctions`): the wire lands across the width
    its current needs or the pin's whole width, where that keeps every
    clearance; a wire ending over a net-tie marker is cut back to the
    tie's edge (the metal under a tie is cut out of the nets).
    When a wide net cannot be routed at its full width (no access at a pin,
    no path), its extra width is halved and the whole routing is redone,
    down to the minimum width: :attr:`RouteResult.drawn` then shows the
    narrower width, and the current-density report the excess.
    """
    if max_iterations < 1:
        raise InputError(f"route: max_iterations must be at least 1, got {max_iterations}")
    _check_inputs(kit, obstacles, terminals)
    # net-tie markers (a layer with ``net_tie = METAL``): the metal under
    # them is cut out of the nets, so wires are trimmed off them
    tie_layers = {n: lay.net_tie for n, lay in kit.layers.items() if lay.net_tie in kit.routing_metals}
    ties = tuple((tie_layers[s.layer], _rect(s.rect, s.layer)) for s in obstacles if s.layer in tie_layers)
    obstacles = [s for s in obstacles if s.layer not in tie_layers]
    grid = make_grid(kit, region)
    region_rect = _rect(region, "region")
    rules = dict(rules or {})
    # a net that needs more than a quarter of the region's shorter side on
    # every metal is not tried at full width (it cannot fit beside the others)
    quarter = min(region_rect[2] - region_rect[0], region_rect[3] - region_rect[1]) * kit.dbu_um / 4
    scale = {
        n: (SHRINK if min(r.need.values(), default=0.0) > quarter else 1.0)
        for n, r in rules.items()
        if (r.wide or any(c > 1 for c in r.cuts.values())) and n in terminals
    }
    extra: dict[tuple[str, int], int] = {}
    metal_at = {m: l for l, m in enumerate(grid.metals)}
    tries = 0
    while True:
        result = _route_once(kit, grid, region_rect, obstacles, terminals, rules, scale, max_iterations, progress, guides, extra_holes=extra, ties=ties)
        # a slotted wire whose worst cross-section (through the ring of
        # slots around a pin) holds less metal than the current needs: drawn
        # wider by the holes missing, and everything routed again
        short = {
            (n, metal_at[m]): math.ceil(sl["short_um"] / sl["slot_um"] - 1e-9)
            for n, d in result.drawn.items()
            for m, sl in d.get("slotted", {}).items()
            if sl.get("short_um", 0) > 0
        }
        if short and tries < SLOT_RETRIES:
            tries += 1
            for key, holes in short.items():
                extra[key] = extra.get(key, 0) + holes
            continue
        shrinkable = [n for n in scale if scale[n] > 0 and result.drawn.get(n, {}).get("wide", True)]
        if not result.unrouted or not shrinkable:
            return result
        failed = [n for n in result.unrouted if n in shrinkable and not result.unrouted[n].startswith("not routed:")]
        for n in failed or shrinkable:
            scale[n] = 0.0 if scale[n] <= SHRINK_LAST else scale[n] * SHRINK


#: times route() widens slotted wires whose ring of slots left a cross-section short
SLOT_RETRIES = 3


def planned_width(kit: PDK, rule: NetRule) -> tuple[int, str] | None:
    """Narrowest width (dbu) and metal the router would draw ``rule``'s net on.

    For floorplanning, before any placement: per routing metal, the width
    the net's current needs raised as :func:`route` raises it (the grid's
    width steps, and a slotted metal's extra width so the metal left across
    a row of slots carries the current); the narrowest over the metals.
    None for a net the router draws at the minimum width (no current, or
    one the minimum width carries).
    """
    if not rule.wide:
        return None
    probe = kit.dbu(1000.0)
    grid = make_grid(kit, (0, 0, probe, probe))
    u = grid.dbu_um
    wide_rows = [
        [(kit.dbu(w), kit.dbu(sp)) for r in kit.rules_of("wide_spacing", m) if r.other in (None, m) for w, sp in r.table]
        for m in grid.metals
    ]
    notch = [max((kit.dbu(r.value) for r in kit.rules_of("notch", m) if r.value), default=0) for m in grid.metals]

    def self_space(l: int, width: int) -> int:
        return max(grid.spacing[l], notch[l], max((sp for w, sp in wide_rows[l] if width > w), default=0))

    best: tuple[int, str] | None = None
    for l, m in enumerate(grid.metals):
        want = _ceil_div(int(round(rule.need.get(m, 0.0) / u * 1000)), 1000)
        w = _quantize(want, 2 * grid.half[l], grid.width[l], grid.spacing[l], grid.pitch)
        sl = _slotting(kit, grid, l, self_space)
        if sl is not None and w > sl.maxw:
            while sl.effective(w) < want:
                w = _quantize(w + sl.hole, 2 * grid.half[l], grid.width[l], grid.spacing[l], grid.pitch)
        elif sl is None and any(r.value for r in kit.rules_of("max_width", m)):
            if w > min(kit.dbu(r.value) for r in kit.rules_of("max_width", m) if r.value):
                continue  # the router keeps such a net off this metal
        if best is None or w < best[0]:
            best = (w, m)
    return best


def _quantize(want: int, low: int, w_min: int, s: int, p: int) -> int:
    """Smallest even width >= max(want, low) with ``(n-1) p + w_min <= W <= n p - s``."""
    w = max(want, low)
    n = max(1, _ceil_div(w + s, p))
    while True:
        c = max(w, (n - 1) * p + w_min)
        c += c % 2
        if c <= n * p - s:
            return c
        n += 1
        w = (n - 1) * p + w_min


def _route_once(
    kit: PDK,
    grid: RouteGrid,
    region_rect: Rect,
    obstacles: Sequence[Shape],
    terminals: Mapping[str, Sequence[Sequence[Shape]]],
    rules: Mapping[str, NetRule],
    scale: Mapping[str, float],
    max_iterations: int,
    progress: Callable[[str, float], object] | None,
    guides: Mapping[str, Sequence[tuple[str, Sequence[int]]]] | None = None,
    extra_holes: Mapping[tuple[str, int], int] | None = None,
    ties: Sequence[tuple[str, Rect]] = (),
) -> RouteResult:
    names = sorted({s.net for s in obstacles if s.net is not None} | set(terminals))
    index = {n: k for k, n in enumerate(names)}
    seen: set[tuple[str, Rect, int]] = set()
    marked: list[tuple[str, Rect, int]] = []
    for s in obstacles:
        key = (s.layer, _rect(s.rect, s.layer), -1 if s.net is None else index[s.net])
        if key not in seen:
            seen.add(key)
            marked.append(key)
    for net, terms in sorted(terminals.items()):
        for pins in terms:
            for p in pins:
                key = (p.layer, _rect(p.rect, p.layer), index[net])
                if key not in seen:
                    seen.add(key)
                    marked.append(key)
    # width-dependent spacing (wide_spacing tables): (width dbu, spacing dbu) rows per layer
    wide_rows = [
        [(kit.dbu(w), kit.dbu(sp)) for r in kit.rules_of("wide_spacing", m) if r.other in (None, m) for w, sp in r.table]
        for m in grid.metals
    ]

    def wide_space(l: int, width: int) -> int:
        return max((sp for w, sp in wide_rows[l] if width > w), default=0)

    shape_space = wide_space if any(wide_rows) else None
    # spacing between two parts of one net: notch rules and width-dependent spacing
    notch = [max((kit.dbu(r.value) for r in kit.rules_of("notch", m) if r.value), default=0) for m in grid.metals]

    def self_space(l: int, width: int) -> int:
        return max(grid.spacing[l], notch[l], wide_space(l, width))

    fabric = Fabric(grid, marked, shape_space=shape_space)
    metal_index = {m: l for l, m in enumerate(grid.metals)}
    u = grid.dbu_um
    L = len(grid.metals)
    P = grid.pitch

    # -- per-net profile: wire half-widths and voltage --------------------------

    # the widest fixed shape (device metal, pins) of each net per metal: a
    # wire of another net keeps that shape's wide_spacing too (a MIM plate
    # or a power bus can be wider than any wire the net gets)
    fixed_w = [[0] * len(grid.metals) for _ in names]
    for layer, r, k in marked:
        if k >= 0 and layer in metal_index:
            l = metal_index[layer]
            fixed_w[k][l] = max(fixed_w[k][l], min(r[2] - r[0], r[3] - r[1]))

    volt: list[float | None] = [rules[n].voltage if n in rules else None for n in names]
    slotting = [_slotting(kit, grid, l, self_space) for l in range(len(grid.metals))]
    # a metal whose max_width leaves no room for slots: nets wider stay off it
    unslotted = [
        min((kit.dbu(r.value) for r in kit.rules_of("max_width", m) if r.value), default=None)
        if slotting[l] is None else None
        for l, m in enumerate(grid.metals)
    ]
    # the nets' existing metal per metal (pins, device metal), before patches and covers
    fixed_own: dict[tuple[int, int], list[Rect]] = {}
    for layer, r, k in marked:
        if k >= 0 and layer in metal_index:
            fixed_own.setdefault((k, metal_index[layer]), []).append(r)
    cut_pitch = [grid.cut_size[c] + grid.cut_spacing[c] for c in range(len(grid.cuts))]
    halves: list[tuple[int, ...]] = []
    wide: list[bool] = []
    wants: list[tuple[int, ...]] = []  # the width each net's current needs per metal (dbu)
    # a wide net stays off a metal where it would be wider than a quarter of
    # the region while another metal carries it narrower (e.g. 2 A on a thin
    # MET1): it reaches such pins from above, through cut arrays
    quarter = min(region_rect[2] - region_rect[0], region_rect[3] - region_rect[1]) // 4
    off: list[frozenset[int]] = []
    cuts_of: list[tuple[int, ...]] = []
    for n in names:
        f = scale.get(n, 0.0)
        r = rules.get(n)
        want = [0] * L
        cuts_need = [1] * len(grid.cuts)
        if r is not None and f > 0:
            want = [_ceil_div(int(round(r.need.get(m, 0.0) * f / u * 1000)), 1000) for m in grid.metals]
            cuts_need = [max(1, math.ceil(r.cuts.get(cut, 1) * f - 1e-9)) for cut in grid.cuts]
        cuts_of.append(tuple(cuts_need))
        wants.append(tuple(want))
        if all(want[l] <= 2 * grid.half[l] for l in range(L)) and all(c <= 1 for c in cuts_need):
            halves.append(tuple(grid.half))
            wide.append(False)
            off.append(frozenset())
            continue
        banned = frozenset(
            l for l in range(L) if want[l] > quarter or (unslotted[l] is not None and want[l] > unslotted[l])
        )
        if len(banned) == L:
            banned = frozenset()
        off.append(banned)
        # every layer change holds the cuts the current needs: a square array
        # of side ``ceil(sqrt(cuts))`` on the cut lattice, whatever its offset
        low = [2 * grid.half[l] for l in range(L)]
        for c, cut in enumerate(grid.cuts):
            if c in banned or c + 1 in banned:
                continue
            side = math.isqrt(cuts_need[c] - 1) + 1
            extent = _ceil_div(side * cut_pitch[c] + grid.cut_size[c], 2)
            for l in (c, c + 1):
                low[l] = max(low[l], 2 * (extent + kit.dbu(kit.enclosure(grid.metals[l], cut))))
        hs = []
        for l in range(L):
            if l in banned:
                hs.append(grid.half[l])
                continue
            w = _quantize(want[l], low[l], grid.width[l], grid.spacing[l], P)
            sl = slotting[l]
            if sl is not None and w > sl.maxw:
                # wider than the metal allows: slotted into straps, drawn wider
                # so that the metal left across a row of slots carries the
                # current, and wider by the holes a cross-section through
                # the ring of slots around a pin crossed beyond that in an
                # earlier try (see route())
                more = (extra_holes or {}).get((n, l), 0) * sl.hole
                while sl.effective(w) - more < want[l]:
                    w = _quantize(w + sl.hole, low[l], grid.width[l], grid.spacing[l], P)
            hs.append(w // 2)
        halves.append(tuple(hs))
        wide.append(True)
    voltage_rules = has_voltage_rules(kit, grid.metals)
    special = any(wide) or (voltage_rules and any(v is not None for v in volt))
    clear_cache: dict[tuple[int, float | None, float | None], int] = {}

    def space(l: int, a: int, b: int) -> int:
        if b < 0 or a < 0:
            k = a if a >= 0 else b
            return max(grid.spacing[l], wide_space(l, 2 * halves[k][l]) if k >= 0 else 0)
        key = (l, volt[a], volt[b])
        c = clear_cache.get(key)
        if c is None:
            c = max(grid.spacing[l], clearance(kit, grid.metals[l], volt[a], volt[b]))
            clear_cache[key] = c
        return max(c, wide_space(l, 2 * max(halves[a][l], halves[b][l])), wide_space(l, max(fixed_w[a][l], fixed_w[b][l])))

    def distance(a: int, b: int) -> tuple[int, ...]:
        return tuple(max(1, _ceil_div(halves[a][l] + halves[b][l] + space(l, a, b), P)) for l in range(L))

    def via_extent(k: int) -> tuple[int, ...]:
        out = []
        for c, cut in enumerate(grid.cuts):
            lo, hi = grid.metals[c], grid.metals[c + 1]
            enc = max(kit.dbu(kit.enclosure(lo, cut)), kit.dbu(kit.enclosure(hi, cut)))
            out.append(min(halves[k][c], halves[k][c + 1]) - enc)
        return tuple(out)

    def pin_text(layer: str, rect: Rect) -> str:
        return f"pin at {grid.um(*_centre(rect))} um on {layer}"

    def _crowded(pin: tuple[str, Rect], k: int) -> str:
        """Why no wire can touch ``pin``: the other net's metal it already lies too close to, or ''."""
        layer, pr = pin
        l = metal_index[layer]
        worst: tuple[int, int, int] | None = None  # (shortfall, gap, owner)
        for layer2, r, o in marked:
            if layer2 != layer or o == k:
                continue
            g = max(r[0] - pr[2], pr[0] - r[2], r[1] - pr[3], pr[1] - r[3], 0)
            need = space(l, k, o) if o >= 0 else grid.spacing[l]
            if g < need and (worst is None or need - g > worst[0]):
                worst = (need - g, g, o)
        if worst is None:
            return ""
        _, g, o = worst
        who = f"net {names[o]}'s metal" if o >= 0 else "metal of no net"
        need = space(l, k, o) if o >= 0 else grid.spacing[l]
        why = "spacing"
        if o >= 0 and volt[k] is not None and volt[o] is not None and need > grid.spacing[l]:
            why = f"clearance for {round(abs(volt[k] - volt[o]), 3):g} V"
        return f"the pin itself lies {round(g * u, 3):g} um from {who}, closer than the {round(need * u, 3):g} um {why}"

    unrouted: dict[str, str] = {}
    nets = [n for n in sorted(terminals, key=lambda n: (_span(terminals[n]), n)) if len(terminals[n]) >= 2]

    def access_points(fab: Fabric, k: int, pins: Sequence[Shape], ring: Mapping[int, object]) -> set[int]:
        owner_flat = fab.node.ravel()
        pts: set[int] = set()
        for p in pins:
            ids = fab.overlapping(metal_index[p.layer], _rect(p.rect, p.layer))
            pts.update(v for v in ids.tolist() if owner_flat[v] in (-1, k) and v not in ring)
        return pts

    # Pass 1: terminals no grid square reaches cleanly get an off-grid patch,
    # marked as the net's metal before any net's access is final.
    patches: dict[str, dict[int, Shape]] = {}
    for net in nets:
        k = index[net]
        ring = fabric.self_blocked(k)[0]
        for pins in terminals[net]:
            if access_points(fabric, k, pins, ring):
                continue
            for p in pins:
                l = metal_index[p.layer]
                found = fabric.find_patch(l, _rect(p.rect, p.layer), k, region_rect)
                if found is not None:
                    v, patch = found
                    fabric.add_metal(l, patch, k)
                    marked.append((p.layer, patch, k))
                    patches.setdefault(net, {})[v] = Shape(p.layer, patch, net)
                    break

    # Pass 1b: a net that needs several cuts per layer change (or stays off
    # the pin's metal) gets a *cover* over each pin it can reach from the
    # metal above: that metal over the whole pin, joined to it by as many
    # cuts as the pin holds (a device's source or drain bus takes the current
    # along its whole length).  The cover is the net's metal before any net
    # is routed, so every other net keeps its clearance from it.
    covers = _make_covers(kit, grid, region_rect, marked, terminals, nets, index, wide, off, cuts_of, space, halves, shape_space)
    for net, items in covers.items():
        k = index[net]
        for t, cover, cuts in items:
            fabric.add_metal(metal_index[cover.layer], cover.rect, k)
            marked.append((cover.layer, cover.rect, k))
            c = metal_index[cover.layer] - 1
            for r in cuts:
                fabric._mark_cut(c, r)
                marked.append((grid.cuts[c], r, k))
    covered = {(net, t) for net, items in covers.items() for t, _, _ in items}
    terminals = {
        net: [list(pins) + [cv for t2, cv, _ in covers.get(net, ()) if t2 == t] for t, pins in enumerate(terms)]
        for net, terms in terminals.items()
    }

    # Nets with their own width or voltage get their own fabric (shared by equal profiles).
    fabrics: dict[tuple[tuple[int, ...], float | None], Fabric] = {}

    def fabric_of(k: int) -> Fabric:
        if not special or (not wide[k] and (volt[k] is None or not voltage_rules)):
            return fabric
        key = (halves[k], volt[k] if voltage_rules else None, off[k])
        fab = fabrics.get(key)
        if fab is None:
            fab = Fabric(
                grid, marked, half=halves[k], space=lambda l, o, k=k: space(l, k, o),
                cut_half=via_extent(k) if wide[k] else None, shape_space=shape_space,
            )
            fab.block_outside(region_rect)
            for l in off[k]:
                fab.node[l][...] = BLOCKED
            fabrics[key] = fab
        return fab

    # A wide net may also land on a pin from the metal above, through an
    # array of cuts inside the pin (a device's source or drain bus): the
    # square above overlaps the pin, the cuts lie on the shared lattice
    # inside both with their enclosures and keep the cut spacing to every
    # existing cut.  Only the squares giving the most cuts are offered.
    cut_obs: list[np.ndarray] = []
    for c, cut in enumerate(grid.cuts):
        rects = [r for layer, r, _ in marked if layer == cut]
        cut_obs.append(np.array(rects, dtype=np.int64).reshape(-1, 4))
    pin_vias: dict[str, dict[int, set[Rect]]] = {}

    def pin_via_access(fab: Fabric, k: int, pins: Sequence[Shape], ring: Mapping[int, object]) -> dict[int, list[Rect]]:
        owner_flat = fab.node.ravel()
        found: dict[int, list[Rect]] = {}
        layers = {metal_index[p.layer] for p in pins}
        for p in pins:
            l = metal_index[p.layer]
            if l + 1 >= L or l + 1 in layers:
                # the terminal is reached on the metal above directly (a pad)
                continue
            pr = _rect(p.rect, p.layer)
            up, cut = l + 1, grid.cuts[l]
            h = halves[k][up]
            e_up = kit.dbu(kit.enclosure(grid.metals[up], cut))
            e_lo = kit.dbu(kit.enclosure(grid.metals[l], cut))
            sp = grid.cut_spacing[l]
            obs = cut_obs[l]
            # only existing cuts near the pin can come too close to cuts inside it
            obs = obs[(obs[:, 0] < pr[2] + sp) & (obs[:, 2] > pr[0] - sp) & (obs[:, 1] < pr[3] + sp) & (obs[:, 3] > pr[1] - sp)]
            for v in fab.overlapping(up, pr).tolist():
                if owner_flat[v] not in (-1, k) or v in ring:
                    continue
                _, i, j = grid.unflat(v)
                x, y = grid.centre(i, j)
                box = (max(x - h + e_up, pr[0] + e_lo), max(y - h + e_up, pr[1] + e_lo),
                       min(x + h - e_up, pr[2] - e_lo), min(y + h - e_up, pr[3] - e_lo))
                if box[2] <= box[0] or box[3] <= box[1]:
                    continue
                cuts = _lattice_cuts(grid, l, box)
                if cuts and len(obs):
                    a = np.array(cuts, dtype=np.int64)
                    gap = np.maximum(
                        np.maximum(a[:, None, 0] - obs[None, :, 2], obs[None, :, 0] - a[:, None, 2]),
                        np.maximum(a[:, None, 1] - obs[None, :, 3], obs[None, :, 1] - a[:, None, 3]),
                    )
                    ok = (gap >= sp).all(axis=1)
                    cuts = [cr for cr, good in zip(cuts, ok.tolist()) if good]
                if cuts:
                    found[v] = found.get(v, []) + cuts
        # fewer cuts than the net needs: land on the pin's own metal instead,
        # unless the net stays off it
        found = {
            v: c for v, c in found.items()
            if len(c) >= cuts_of[k][grid.unflat(v)[0] - 1] or grid.unflat(v)[0] - 1 in off[k]
        }
        if not found:
            return {}
        most = max(len(c) for c in found.values())
        return {v: c for v, c in found.items() if len(c) == most}

    # Pass 2: access points of every terminal.
    jobs: list[NetJob] = []
    owner_base = fabric.node.ravel()
    arrays_cache: dict[int, tuple[list[int], list[int], list[bool], list[bool]]] = {}
    for net in nets:
        k = index[net]
        fab = fabric_of(k)
        ring = fab.self_blocked(k)
        access: list[list[int]] = []
        missing: tuple[str, Rect] | None = None
        own_patches = patches.get(net, {})
        owner_flat = fab.node.ravel()
        for t, pins in enumerate(terminals[net]):
            pts = access_points(fab, k, pins, ring[0])
            if wide[k] and (net, t) not in covered:
                vias_at = pin_via_access(fab, k, pins, ring[0])
                pts.update(vias_at)
                for v, cuts in vias_at.items():
                    pin_vias.setdefault(net, {}).setdefault(v, set()).update(cuts)
            for v, ps in own_patches.items():
                if owner_flat[v] == k and owner_base[v] == k and any(
                    _contains(ps.rect, _rect(p.rect, p.layer)) and p.layer == ps.layer for p in pins
                ):
                    pts.add(v)
            if not pts:
                missing = (pins[0].layer, _rect(pins[0].rect, pins[0].layer))
                break
            access.append(sorted(pts))
        if missing is not None:
            what = (
                f"{round(2 * max(halves[k]) * u, 3):g} um wide wire" if wide[k] else
                f"{round(grid.pitch * u, 3):g} um routing grid"
            )
            unrouted[net] = (
                f"{pin_text(*missing)} has no legal access point for its {what} "
                f"({_crowded(missing, k) or 'off the grid or too close to other metal'})"
            )
            continue
        job = NetJob(net, k, access, [(ps[0].layer, _rect(ps[0].rect, ps[0].layer)) for ps in terminals[net]], ring)
        if fab is not fabric:
            arr = arrays_cache.get(id(fab))
            if arr is None:
                arr = (fab.node.ravel().tolist(), fab.hedge.ravel().tolist(), fab.vedge.ravel().tolist(),
                       fab.via_ok.ravel().tolist())
                arrays_cache[id(fab)] = arr
            job.arrays = arr
        if wide[k]:
            job.lcost = tuple(max(1.0, 2 * halves[k][l] / P) for l in range(L))
        if guides and guides.get(net):
            job.guide = _guide_mask(grid, metal_index, guides[net])
        jobs.append(job)

    if any(wide[index[n]] for n in unrouted) and scale:
        # a wide net has no access at this width: it will be narrowed and
        # everything rerouted, so do not negotiate now
        for job in jobs:
            unrouted.setdefault(job.name, "not routed: another net is being narrowed")
        return RouteResult(MappingProxyType({}), 0, 0, MappingProxyType(dict(sorted(unrouted.items()))), grid, 0)
    if any(wide):
        max_iterations = min(max_iterations, WIDE_ITERATIONS)
    negotiator = Negotiator(grid, fabric, distance if special else None)
    iterations = negotiator.negotiate(jobs, max_iterations, progress) if jobs else 0
    if any(wide) and scale:
        # still congested with wide nets in the way: narrow them and route again
        # (cheaper than settling the congestion at this width)
        over = set(negotiator.overuse(jobs))
        stuck = [j for j in jobs if wide[j.index] and j.failed is None and not j.nodes.isdisjoint(over)]
        if stuck:
            for j in jobs:
                unrouted.setdefault(j.name, "not routed: another net is being narrowed")
            for j in stuck:
                unrouted[j.name] = f"congested after {iterations} iterations at its full width"
            return RouteResult(MappingProxyType({}), 0, 0, MappingProxyType(dict(sorted(unrouted.items()))), grid, iterations)
    congested = negotiator.resolve(jobs)
    # last guard: a net still too close to another is reported, never drawn
    left = set(negotiator.overuse([j for j in jobs if j.failed is None]))
    for job in jobs:
        if job.failed is None and not job.nodes.isdisjoint(left):
            job.failed = "congested"
            job.failed_terminal = 0
            congested.setdefault(job.name, min(job.nodes & left))
            negotiator.rip_up(job)
    # the cuts of a net's existing metal (a strapped device's VIA1 along its
    # MET2 straps) lying in its fixed metal both below and above: a landing
    # whose upper metal touches those straps changes layer through them too
    fixed_cuts = {
        c: np.array([s.rect for s in obstacles if s.layer == cut], dtype=np.int64).reshape(-1, 4)
        for c, cut in enumerate(grid.cuts)
    }

    def device_cuts(k: int, c: int, rect: Rect) -> int:
        cuts = fixed_cuts.get(c)
        straps = [r for r in fixed_own.get((k, c + 1), []) if _touches_rect(r, rect)]
        if cuts is None or not len(cuts) or not straps:
            return 0
        lower = np.array(fixed_own.get((k, c), []), dtype=np.int64).reshape(-1, 4)
        up = np.array(straps, dtype=np.int64)

        def inside(boxes: np.ndarray) -> np.ndarray:
            return ((cuts[:, None, 0] >= boxes[None, :, 0]) & (cuts[:, None, 2] <= boxes[None, :, 2])
                    & (cuts[:, None, 1] >= boxes[None, :, 1]) & (cuts[:, None, 3] <= boxes[None, :, 3])).any(axis=1)

        if not len(lower):
            return 0
        return int((inside(up) & inside(lower)).sum())

    shapes: dict[str, tuple[Shape, ...]] = {}
    drawn: dict[str, dict[str, object]] = {}
    wirelength = 0
    vias = 0
    for job in jobs:
        if job.failed is not None:
            t = job.failed_terminal
            text = f"no path from {pin_text(*job.pins[t])} to the rest of the net"
            if job.failed == "blocked":
                start = job.pins[0] if t != 0 else job.pins[1]
                text += f" (from {pin_text(*start)}): every way is blocked by other metal or the region edge"
            else:
                text += (
                    f" after {iterations} iterations (congested near {grid.point_um(congested.get(job.name, 0))} um)"
                )
            if wide[job.index]:
                text += f" (drawn {round(2 * max(halves[job.index]) * u, 3):g} um wide for its current)"
            unrouted[job.name] = text
            continue
        k = job.index
        cut_holes: dict[int, list[Rect]] = {}
        geo, wl, nv, fewest = _geometry(
            grid, job.name, job, patches.get(job.name, {}), halves[k], via_extent(k) if wide[k] else None,
            {v: sorted(c) for v, c in pin_vias.get(job.name, {}).items()},
            [(cv, cuts) for _, cv, cuts in covers.get(job.name, ())],
            self_space,
            [sl if sl is not None and 2 * halves[k][l] > sl.maxw else None for l, sl in enumerate(slotting)],
            [fixed_own.get((k, l), []) for l in range(L)],
            {c: cuts_of[k][c] for c in range(len(grid.cuts))},
            cut_holes,
            lambda c, rect, k=k: device_cuts(k, c, rect),
        )
        shapes[job.name] = tuple(geo)
        wirelength += wl
        vias += nv
        used = sorted({s.layer for s in geo if s.layer in metal_index}, key=metal_index.__getitem__)
        def carried(l: int) -> int:
            # a slotted wire: the metal left on its worst cross-section,
            # measured on the holes cut (the ring around a pin included)
            w, sl = 2 * halves[k][l], slotting[l]
            if sl is None or w <= sl.maxw:
                return w
            return min(sl.effective(w), w - _hole_cover(cut_holes.get(l, []), w))

        slotted = {
            m: {"drawn_um": round(2 * halves[k][l] * u, 6), "slot_um": round(sl.hole * u, 6),
                "pitch_um": round(sl.pitch * u, 6), "max_width_um": round(sl.maxw * u, 6),
                "short_um": round(max(0, wants[k][l] - carried(l)) * u, 6)}
            for m in used
            for l in [metal_index[m]]
            for sl in [slotting[l]]
            if sl is not None and 2 * halves[k][l] > sl.maxw
        }
        drawn[job.name] = {
            "width_um": {m: round(carried(metal_index[m]) * u, 6) for m in used},
            "slotted": slotted,
            "cuts": fewest,
            "wide": wide[k],
            "scale": scale.get(job.name, 0.0) if job.name in scale else None,
        }
    if ties:
        for name in list(shapes):
            shapes[name] = tuple(_off_ties(shapes[name], ties, grid))
    # where a wire meets the net's other metal narrower than its current
    # needs (a wide wire on a pin's corner), fill the junction to full width
    fills = _junctions(kit, grid, region_rect, marked, shapes, names, index, rules, fixed_own, space, wide_space, self_space, drawn)
    layer_order = {layer: n for n, layer in enumerate(grid.metals + grid.cuts)}
    for name, extra in fills.items():
        shapes[name] = tuple(sorted(set(shapes[name]) | set(extra), key=lambda s: (layer_order[s.layer], s.rect)))
    return RouteResult(
        shapes=MappingProxyType(dict(sorted(shapes.items()))),
        wirelength=wirelength,
        vias=vias,
        unrouted=MappingProxyType(dict(sorted(unrouted.items()))),
        grid=grid,
        iterations=iterations,
        drawn=MappingProxyType(dict(sorted(drawn.items()))),
    )


def _guide_mask(grid: RouteGrid, metal_index: Mapping[str, int], rects: Sequence[tuple[str, Sequence[int]]]) -> bytearray:
    """Per grid point (flat id): 1 where its centre lies in one of the guide ``rects`` on its metal."""
    mask = np.zeros((len(grid.metals), grid.ny, grid.nx), dtype=np.uint8)
    for metal, r in rects:
        l = metal_index.get(metal)
        if l is None:
            continue
        i0 = max(_ceil_div(int(r[0]) - grid.origin[0], grid.pitch), 0)
        i1 = min((int(r[2]) - grid.origin[0]) // grid.pitch + 1, grid.nx)
        j0 = max(_ceil_div(int(r[1]) - grid.origin[1], grid.pitch), 0)
        j1 = min((int(r[3]) - grid.origin[1]) // grid.pitch + 1, grid.ny)
        if i1 > i0 and j1 > j0:
            mask[l, j0:j1, i0:i1] = 1
    return bytearray(mask.tobytes())


def _notch_fills(grid: RouteGrid, net: str, shapes: Sequence[Shape], self_space: Callable[[int, int], int]) -> list[Shape]:
    """Metal filling the notches of one net narrower than its own spacing.

    ``self_space(l, width)``: the spacing two parts of one net keep on metal
    ``l`` when the wider is ``width`` (notch rules, width-dependent spacing).
    Two of the net's rectangles facing each other across a gap below that,
    over a common stretch at least the minimum width long, get the gap filled
    along that stretch.  The fill lies between the two, where no other net's
    metal fits (it would need twice the spacing plus its width).
    """
    out: list[Shape] = []
    for l, m in enumerate(grid.metals):
        rects = np.array(sorted({s.rect for s in shapes if s.layer == m}), dtype=np.int64).reshape(-1, 4)
        if len(rects) < 2:
            continue
        w = grid.width[l]
        small = np.minimum(rects[:, 2] - rects[:, 0], rects[:, 3] - rects[:, 1])
        for ax in (0, 1):
            lo, hi, plo, phi = (0, 2, 1, 3) if ax == 0 else (1, 3, 0, 2)
            gap = rects[None, :, lo] - rects[:, None, hi]  # a's high side to b's low side
            ov = np.minimum(rects[:, None, phi], rects[None, :, phi]) - np.maximum(rects[:, None, plo], rects[None, :, plo])
            ia, ib = np.nonzero((gap > 0) & (ov >= w))
            for a, b in zip(ia.tolist(), ib.tolist()):
                g = int(gap[a, b])
                if g >= self_space(l, int(max(small[a], small[b]))):
                    continue
                p0 = int(max(rects[a, plo], rects[b, plo]))
                p1 = int(min(rects[a, phi], rects[b, phi]))
                r = (int(rects[a, hi]), p0, int(rects[b, lo]), p1) if ax == 0 else (p0, int(rects[a, hi]), p1, int(rects[b, lo]))
                out.append(Shape(m, r, net))
    return out


def _centred_cuts(box: Rect, size: int, gap: int) -> list[Rect]:
    """The most cuts (``size`` squares ``gap`` apart) fitting in ``box``, centred."""

    def axis(lo: int, hi: int) -> list[int]:
        n = (hi - lo + gap) // (size + gap)
        if n < 1:
            return []
        start = lo + (hi - lo - (n * size + (n - 1) * gap)) // 2
        return [start + m * (size + gap) for m in range(n)]

    return [(a, b, a + size, b + size) for b in axis(box[1], box[3]) for a in axis(box[0], box[2])]


def _gaps(arr: np.ndarray, r: Rect) -> np.ndarray:
    """Box (Chebyshev) gap from ``r`` to each row of ``arr`` (0 where they touch or overlap)."""
    return np.maximum(
        np.maximum(np.maximum(arr[:, 0] - r[2], r[0] - arr[:, 2]), np.maximum(arr[:, 1] - r[3], r[1] - arr[:, 3])), 0
    )


def _make_covers(
    kit: PDK,
    grid: RouteGrid,
    region: Rect,
    marked: Sequence[tuple[str, Rect, int]],
    terminals: Mapping[str, Sequence[Sequence[Shape]]],
    nets: Sequence[str],
    index: Mapping[str, int],
    wide: Sequence[bool],
    off: Sequence[frozenset[int]],
    cuts_of: Sequence[tuple[int, ...]],
    space: Callable[[int, int, int], int],
    half: Sequence[Sequence[int]],
    shape_space: Callable[[int, int], int] | None = None,
) -> dict[str, list[tuple[int, Shape, list[Rect]]]]:
    """Covers of the pins of nets that need cut arrays (see :func:`_route_once`).

    Per such net and terminal: for a pin on metal ``l`` when the net may use
    metal ``l + 1``, needs more than one cut there or stays off ``l``, and the
    terminal has no pin on ``l + 1`` already: the cuts that fit in the pin
    (at least the cuts needed unless the net stays off ``l``)
    with their enclosure (centred; each keeps the cut spacing to every cut
    drawn so far), and the metal ``l + 1`` rectangle enclosing them, at least
    the minimum width and area, and grown to the net's wire width on ``l + 1``
    where that keeps clear (so the cover carries the current like the wire).  The cover is kept when it lies inside the
    region and keeps, on ``l + 1``, the net's clearance to other nets' metal
    and the spacing to (or a clean overlap with) the net's own.  Returns net
    -> ``(terminal, cover, cuts)``.
    """
    metal_index = {m: l for l, m in enumerate(grid.metals)}
    L = len(grid.metals)
    by_layer: dict[str, list[tuple[Rect, int]]] = {}
    for layer, r, o in marked:
        by_layer.setdefault(layer, []).append((r, o))
    out: dict[str, list[tuple[int, Shape, list[Rect]]]] = {}
    # the pins every such net will cover, on the metal above: a cover grown
    # beyond its own pin keeps the clearance to the others' (their covers
    # come later or were made already)
    claims: dict[str, list[tuple[Rect, int]]] = {}
    for net in nets:
        k = index[net]
        if not wide[k]:
            continue
        for pins in terminals[net]:
            for p in pins:
                l = metal_index[p.layer]
                if l + 1 < L and (l in off[k] or cuts_of[k][l] > 1):
                    claims.setdefault(grid.metals[l + 1], []).append((p.rect, k))
    # the nets needing the most cuts claim their pins first
    for net in sorted(nets, key=lambda n: (-max(cuts_of[index[n]], default=1), n)):
        k = index[net]
        if not wide[k]:
            continue
        for t, pins in enumerate(terminals[net]):
            layers = {metal_index[p.layer] for p in pins}
            best: tuple[int, Shape, list[Rect]] | None = None
            for p in pins:
                l = metal_index[p.layer]
                up = l + 1
                if up >= L or up in off[k] or up in layers or (l not in off[k] and cuts_of[k][l] <= 1):
                    continue
                cut, upper = grid.cuts[l], grid.metals[up]
                e_lo = kit.dbu(kit.enclosure(p.layer, cut))
                e_up = kit.dbu(kit.enclosure(upper, cut))
                x0, y0, x1, y1 = p.rect
                cuts = _centred_cuts((x0 + e_lo, y0 + e_lo, x1 - e_lo, y1 - e_lo), grid.cut_size[l], grid.cut_spacing[l])
                old = by_layer.get(cut, [])
                if cuts and old:
                    arr = np.array([r for r, _ in old], dtype=np.int64)
                    cuts = [c for c in cuts if _gaps(arr, c).min() >= grid.cut_spacing[l]]
                if not cuts or (len(cuts) < cuts_of[k][l] and l not in off[k]):
                    # too few cuts fit: land on the pin's own metal at full width
                    continue
                cx0 = min(c[0] for c in cuts) - e_up
                cy0 = min(c[1] for c in cuts) - e_up
                cx1 = max(c[2] for c in cuts) + e_up
                cy1 = max(c[3] for c in cuts) + e_up
                w = grid.width[up]
                if cx1 - cx0 < w:
                    cx0 -= (w - (cx1 - cx0)) // 2
                    cx1 = cx0 + w
                if cy1 - cy0 < w:
                    cy0 -= (w - (cy1 - cy0)) // 2
                    cy1 = cy0 + w
                area = max((r.value / kit.dbu_um**2 for r in kit.rules_of("area", upper) if r.value), default=0.0)
                if (cx1 - cx0) * (cy1 - cy0) < area:
                    continue
                # as wide as the net's wire on the upper metal where that is
                # clear (centred, or grown to one side), else the bare cover
                wn = 2 * half[k][up]
                found = None
                bare = (cx0, cy0, cx1, cy1)
                # (only those needing as many cuts: a smaller net's pin takes a
                # smaller cover, or none, where the big ones leave room)
                most = max(cuts_of[k], default=1)
                others = [(r, o) for r, o in claims.get(upper, []) if o != k and max(cuts_of[o], default=1) >= most]
                # of the clear ones, the growth leaving the most room to the
                # other nets' pins (a cover grows away from where they need theirs)
                oarr = np.array([r for r, _ in others], dtype=np.int64).reshape(-1, 4)
                room = -1
                for rect in _widened(bare, wn, region):
                    if rect[0] < region[0] or rect[1] < region[1] or rect[2] > region[2] or rect[3] > region[3]:
                        continue
                    if rect == bare and found is not None:
                        break
                    if _cover_clear(
                        grid, up, rect, k, by_layer.get(upper, []) + (others if rect != bare else []), space, shape_space
                    ):
                        gap = int(_gaps(oarr, rect).min()) if len(oarr) else 1 << 62
                        if found is None or gap > room:
                            found, room = rect, gap
                if found is None:
                    continue
                if best is None or len(cuts) > len(best[2]):
                    best = (t, Shape(upper, found, net), cuts)
            if best is not None:
                out.setdefault(net, []).append(best)
                by_layer.setdefault(best[1].layer, []).append((best[1].rect, k))
                by_layer.setdefault(grid.cuts[metal_index[best[1].layer] - 1], []).extend((c, k) for c in best[2])
    return out


def _widened(rect: Rect, w: int, region: Rect | None = None) -> list[Rect]:
    """``rect`` grown to at least ``w`` on each side: centred, then to either
    side, then (given the ``region``) as far to one side as the region
    allows and the rest to the other; ``rect`` last."""
    x0, y0, x1, y1 = rect
    dx, dy = max(0, w - (x1 - x0)), max(0, w - (y1 - y0))
    if dx == 0 and dy == 0:
        return [rect]
    sx = [(dx // 2, dx - dx // 2), (0, dx), (dx, 0)]
    sy = [(dy // 2, dy - dy // 2), (0, dy), (dy, 0)]
    if region is not None:
        for d, lo, hi, opts in ((dx, x0 - region[0], region[2] - x1, sx), (dy, y0 - region[1], region[3] - y1, sy)):
            if 0 < lo < d:
                opts.append((lo, d - lo))
            if 0 < hi < d:
                opts.append((d - hi, hi))
    out = []
    for fx in sx:
        for fy in sy:
            r = (x0 - fx[0], y0 - fy[0], x1 + fx[1], y1 + fy[1])
            if r not in out:
                out.append(r)
    return out + [rect]


def _cover_clear(
    grid: RouteGrid,
    l: int,
    rect: Rect,
    k: int,
    shapes: Sequence[tuple[Rect, int]],
    space: Callable[[int, int, int], int],
    shape_space: Callable[[int, int], int] | None = None,
) -> bool:
    """``rect`` on metal ``l`` keeps net ``k``'s clearance to others' shapes, and no notch or neck with its own."""
    if not shapes:
        return True
    arr = np.array([r for r, _ in shapes], dtype=np.int64)
    owners = [o for _, o in shapes]
    gap = _gaps(arr, rect)
    s, w = grid.spacing[l], grid.width[l]
    reach = max(s, max(space(l, k, o) for o in set(owners)))
    if shape_space is not None:
        reach = max(reach, shape_space(l, 1 << 60))
    for n in np.nonzero(gap < reach)[0].tolist():
        o, g = owners[n], int(gap[n])
        if o != k:
            a = arr[n]
            need = space(l, k, o)
            if shape_space is not None:
                need = max(need, shape_space(l, int(min(a[2] - a[0], a[3] - a[1]))))
            if g < need:
                return False
            continue
        if g >= s:
            continue
        a = arr[n]
        ovx = min(a[2], rect[2]) - max(a[0], rect[0])
        ovy = min(a[3], rect[3]) - max(a[1], rect[1])
        inside = (a[0] <= rect[0] and a[1] <= rect[1] and a[2] >= rect[2] and a[3] >= rect[3]) or (
            rect[0] <= a[0] and rect[1] <= a[1] and rect[2] >= a[2] and rect[3] >= a[3]
        )
        if not (ovx > 0 and ovy > 0 and (inside or ovx >= w or ovy >= w)):
            return False
    return True


def _span(terms: Sequence[Sequence[Shape]]) -> int:
    """Half-perimeter of the bounding box of a net's pins, dbu (routing order key)."""
    rects = [p.rect for pins in terms for p in pins]
    if not rects:
        return 0
    return max(r[2] for r in rects) - min(r[0] for r in rects) + max(r[3] for r in rects) - min(r[1] for r in rects)


def _junctions(
    kit: PDK,
    grid: RouteGrid,
    region: Rect,
    marked: Sequence[tuple[str, Rect, int]],
    shapes: Mapping[str, Sequence[Shape]],
    names: Sequence[str],
    index: Mapping[str, int],
    rules: Mapping[str, NetRule],
    fixed_own: Mapping[tuple[int, int], Sequence[Rect]],
    space: Callable[[int, int, int], int],
    wide_space: Callable[[int, int], int],
    self_space: Callable[[int, int], int],
    drawn: Mapping[str, Mapping[str, object]],
) -> dict[str, list[Shape]]:
    """Junction fills of every routed net with a current (:func:`flow.route.junctions.junction_fills`).

    Per metal, a net's own metal is its routed shapes and everything marked
    as its (pins, device metal, covers, patches); every other net's routed
    shapes, marked metal and fills drawn so far keep their clearance.  A
    net slotted on a metal (wider than its maximum width) gets no fills
    there: its straps are narrower than the current by design, and a fill
    would close the slots.
    """
    u = grid.dbu_um
    out: dict[str, list[Shape]] = {}
    todo = [n for n in shapes if n in rules and any(v > 0 for v in rules[n].need.values())]
    if not todo:
        return out
    for l, m in enumerate(grid.metals):
        rows = [(*r, o) for layer, r, o in marked if layer == m]
        rows += [(*s.rect, index[n]) for n, geo in shapes.items() for s in geo if s.layer == m]
        maxw = min((kit.dbu(r.value) for r in kit.rules_of("max_width", m) if r.value), default=None)
        for name in todo:
            k = index[name]
            width = _ceil_div(int(round(rules[name].need.get(m, 0.0) / u * 1000)), 1000)
            # a net drawn narrower than its current needs (narrowed to fit):
            # its junctions as wide as its wire (the wire is what falls short)
            carried = (drawn.get(name, {}).get("width_um") or {}).get(m)
            if carried is not None:
                width = min(width, _ceil_div(int(round(carried / u * 1000)), 1000))
            mine = [s.rect for s in shapes[name] if s.layer == m]
            if width <= 0 or not mine or m in (drawn.get(name, {}).get("slotted") or {}):
                continue
            own = mine + [r for layer, r, o in marked if layer == m and o == k]
            others = np.array([r for r in rows if r[4] != k], dtype=np.int64).reshape(-1, 5)
            owners = sorted(set(others[:, 4].tolist()))
            reach = max([space(l, k, o) for o in owners] + [grid.spacing[l]]) + wide_space(l, 1 << 60)

            def clearance(o: int, fw: int, l: int = l, k: int = k) -> int:
                return max(space(l, k, o), wide_space(l, fw))

            extra = junction_fills(
                own, fixed_own.get((k, l), []), width, others, clearance,
                lambda fw, l=l: self_space(l, fw), region, grid.width[l], maxw, reach,
            )
            if extra:
                out.setdefault(name, []).extend(Shape(m, f, name) for f in extra)
                rows += [(*f, k) for f in extra]
    return out


def _off_ties(geo: Sequence[Shape], ties: Sequence[tuple[str, Rect]], grid: RouteGrid) -> list[Shape]:
    """``geo`` with every wire overlapping a net tie cut back to the tie's edge.

    The metal under a net-tie marker is cut out of the nets it ties (LVS,
    net-aware DRC), so a wire reaching over the tie would leave a sliver
    of metal beside the cut.  A wire rectangle whose end overlaps a tie (it
    starts or stops inside the tie along one axis) is cut back to the tie's
    edge there (the cut removing the least metal that leaves the rectangle
    at least the metal's minimum width); a rectangle running across a tie,
    or one that cannot be cut back so, stays as drawn.
    """
    out: list[Shape] = []
    for s in geo:
        r = s.rect
        hits = [t for m, t in ties if m == s.layer and t[0] < r[2] and r[0] < t[2] and t[1] < r[3] and r[1] < t[3]]
        if not hits or s.layer not in grid.metals:
            out.append(s)
            continue
        w = grid.width[grid.metals.index(s.layer)]
        for t in hits:
            options = [
                o for o, end in (
                    ((t[2], r[1], r[2], r[3]), t[0] <= r[0] < t[2]), ((r[0], r[1], t[0], r[3]), t[0] < r[2] <= t[2]),
                    ((r[0], t[3], r[2], r[3]), t[1] <= r[1] < t[3]), ((r[0], r[1], r[2], t[1]), t[1] < r[3] <= t[3]),
                ) if end
            ]
            ok = [o for o in options if o[2] - o[0] >= w and o[3] - o[1] >= w]
            if ok:
                r = max(ok, key=lambda o: (o[2] - o[0]) * (o[3] - o[1]))
        out.append(Shape(s.layer, r, s.net))
    return out


def _touches_rect(a: Rect, b: Rect) -> bool:
    """The closed boxes ``a`` and ``b`` meet (overlap or touch)."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]
