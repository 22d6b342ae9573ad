"""Tiled checking: the layout in square tiles with a halo, over the cores.

Each tile ``C`` (a half-open square of side ``size``) is checked on its own
copy of the shapes meeting ``H = C`` grown by the *halo*, clipped to ``H``
(polygons wholly inside ``H`` are kept as drawn).  The halo is
``3 * r + 1 um`` where ``r`` is the largest interaction distance of the
tiled rules (a rule's ``value``; ``wide_spacing``: its largest spacing plus
``sqrt(2)`` times its largest width; ``max_width``: ``sqrt(2) * value``), so
everything a check sees within ``2 r + 1 um`` of ``C`` is exactly what the
untiled run sees.  Results equal the untiled run (same markers up to how a
long marker's coordinates are rounded); per kind:

*Edge-pair kinds* (``width``, ``spacing``, ``overlap``, ``extension``,
``wide_spacing``, ``grid``, ``angle`` and the edge pairs of ``enclosure``):
a tile keeps the markers whose bounding box meets its (closed) core ``C``.
Such a marker is exact where it lies within ``2 r`` of ``C``, and a subset
of the untiled marker elsewhere (edges are cut where they leave ``H``);
markers shorter than the halo therefore come out identical from every tile
that keeps them and are reported once.  A longer marker (a narrow wire
running across tiles) comes in pieces from several tiles, each exact over
its own core; pieces lying on the same two lines (within 1 dbu), in the same
directions and overlapping are *stitched* into one marker spanning them.

*Polygon kinds* (``area``, ``hole``, ``must_overlap``, ``not_overlap``,
``max_width`` and the uncovered parts of ``enclosure``) need whole merged
polygons: a tile computes the kind's polygons clipped to its core ``C``;
those not touching ``C``'s boundary are whole and reported by that tile
alone, the others (*border pieces*) are collected from all tiles, merged,
and checked once at the end (for ``must_overlap`` with the pieces of
``other`` meeting them).  Memory for this step grows with the polygons that
cross tile borders, not with the layout.

``density``: each tile adds the area of ``layer`` inside its core to every
window (areas are additive); windows are judged once at the end.

``notch`` is an edge-pair kind whose two edges must belong to *one*
merged polygon, which is global (a long U's arms meet far away, at any
distance): before the tiles are checked, a streamed pass over the same grid
gives every drawn polygon of the layer a connectivity label
(:mod:`flow.drc.labels`: a union-find over the pairs of touching polygons,
8 bytes per polygon, no geometry kept); each tile then gets its polygons'
labels and takes two edges as one polygon's when their labels are equal.
The untiled run uses the same labels (computed on the whole layer), so the
markers are the same.

``net_spacing`` and ``voltage_spacing`` are tiled the same way with the
nets of the whole layout: a streamed pass (:func:`flow.drc.labels.streamed_nets`)
traces the kit's conducting layers tile by tile (touching polygons of one
layer, overlapping polygons of connected layers, net ties cut as
:func:`flow.drc.nets.extract_nets` cuts them, text labels located in the
tile holding them) into one net index per polygon, numbered and named as
the untiled extraction does; each tile gets the nets and names of its
polygons.  Two things are whole-layout by nature and handled so: an edge
running through a net tie (so along two nets) takes the net its whole
edge has (the tie's conductor outline of the tied nets is kept whole), and
the pairs of nets whose voltage is unknown are joined over the tiles into
the untiled note (a tile counts a pair only from edges not made by cutting
it out of the layout).

``current_density`` still runs on the whole layout (the notes say so):
it leaves out metal drawn inside device cells, which only the whole
hierarchy read by :func:`flow.geometry.gdsio.read_gds` tells (the on-disk
store flattens it), and it counts the cuts of a via group (the cuts joining
the same two shapes of a net, wherever they are) over the whole layout.

Each tile is a :class:`TileJob` (picklable, self-contained: the tile's
polygons, or where to read them in a store) run by the top-level
:func:`run_tile_job`, which returns a :class:`TileResult` whose edge-pair
markers are numpy arrays (:class:`Pieces`); markers lying strictly inside
the tile's core are final (no other tile reports them), the others are
stitched at the end.

Known limits: a slanted edge cut where it leaves ``H`` gets its new end
rounded to the dbu grid, so where it crosses another edge inside the tile
the merged outline can move by 1 dbu (counts stay the same; Manhattan
layouts give identical markers); a pair of edges longer than the halo that an edge running
along part of it shields in the untiled run may be judged differently in a
tile (KLayout's shielding is decided per pair, over the whole pair); and
the two edges of a ``width`` pair are taken as one polygon only when they
are joined within the tile's halo; likewise, a two-layer pair is shielded
by an edge of its own first-layer polygon (see :mod:`flow.drc.edges`)
only when that edge is joined to it within the halo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import gdstk
import numpy as np

import flow.drc.kinds  # noqa: F401  (registers the kinds: a fresh Dask worker imports only this module)
from flow.drc import edges as E
from flow.drc.core import IMPLS, CheckContext, EdgePairArray, Layers, Markers, NotChecked, Violation, polygon_violation
from flow.geometry.gdsio import LayoutShapes
from pdk.schema import PDK, Rule

#: Kinds checked per tile with stitched edge-pair markers.
EDGE_KINDS = frozenset({"width", "spacing", "notch", "overlap", "extension", "wide_spacing", "grid", "angle", "enclosure",
                        "net_spacing", "voltage_spacing"})
#: Net-aware kinds checked per tile, with the nets of the whole layout
#: (:func:`flow.drc.labels.streamed_nets`).
NET_KINDS = frozenset({"net_spacing", "voltage_spacing"})
#: Kinds checked per tile on whole polygons (border pieces merged at the end).
POLYGON_KINDS = frozenset({"area", "hole", "must_overlap", "not_overlap", "max_width", "enclosure"})
#: Kinds whose marker is a whole window.
WINDOW_KINDS = frozenset({"density"})
#: Kinds that run on the whole layout even in a tiled run.
UNTILED_KINDS: frozenset[str] = frozenset()
#: Kinds whose tiles need the global connectivity labels of their layer
#: (:mod:`flow.drc.labels`).
LABEL_KINDS = frozenset({"notch"})

#: A tiled run is chosen automatically from this many polygons up.
AUTO_TILE_POLYGONS = 200_000
#: Automatic tiles hold about this many polygons each.
AUTO_TILE_TARGET = 25_000


def tileable(rule: Rule) -> bool:
    """Whether ``rule`` is checked per tile (else on the whole layout)."""
    impl = IMPLS.get(rule.kind)
    if impl is None or (impl.net_aware and rule.kind not in NET_KINDS) or rule.kind in UNTILED_KINDS:
        return False
    return rule.kind in EDGE_KINDS | POLYGON_KINDS | WINDOW_KINDS


def reach(rule: Rule, kit: PDK) -> int:
    """How far (dbu) geometry can influence ``rule``'s markers."""
    if rule.kind == "wide_spacing":
        w = max((kit.dbu(r[0]) for r in rule.table), default=0)
        s = max((kit.dbu(r[1]) for r in rule.table), default=0)
        return s + math.ceil(math.sqrt(2.0) * w)
    if rule.kind == "max_width":
        return math.ceil(math.sqrt(2.0) * kit.dbu(rule.value))
    if rule.kind == "voltage_spacing":
        return max((kit.dbu(r[1]) for r in rule.table), default=0)
    if rule.kind in ("area", "hole", "must_overlap", "not_overlap", "grid", "angle", "density"):
        return 0
    return max(0, kit.dbu(rule.value))


def halo(rules: Sequence[Rule], kit: PDK) -> int:
    """The halo (dbu) of a tiled run of ``rules``: ``3 * max reach + 1 um``."""
    r = max((reach(x, kit) for x in rules), default=0)
    return 3 * r + max(1, kit.dbu(1.0))


def _count(src: Any, name: str) -> int:
    if isinstance(src, LayoutShapes):
        return len(src.polygons.get(name, ()))
    return src.count(name)


def auto_tile(shapes: Any, kit: PDK, rules: Sequence[Rule]) -> float | None:
    """Tile side (um) for a layout, or ``None`` (small layouts run untiled).

    About :data:`AUTO_TILE_TARGET` polygons per tile, at least 20 halos.
    """
    names = {n for r in rules for n in (r.layer, r.other) if n is not None}
    n = sum(_count(shapes, x) for x in names)
    if n < AUTO_TILE_POLYGONS:
        return None
    ext = _extent_of(_source_boxes(shapes, x) for x in names)
    if ext is None:
        return None
    area = float(ext[2] - ext[0]) * float(ext[3] - ext[1])
    side = math.sqrt(area * AUTO_TILE_TARGET / n)
    return kit.um(max(side, 20 * halo(rules, kit)))


# ---------------------------------------------------------------------------
# The spatial index: polygon boxes, tiles
# ---------------------------------------------------------------------------


def _boxes(polys: Sequence[np.ndarray]) -> np.ndarray:
    if not polys:
        return np.zeros((0, 4), np.int64)
    pts = np.vstack(polys)
    lens = np.fromiter((len(p) for p in polys), np.int64, len(polys))
    at = np.cumsum(lens) - lens
    return np.hstack([np.minimum.reduceat(pts, at, axis=0), np.maximum.reduceat(pts, at, axis=0)])


@dataclass(frozen=True)
class Grid:
    """Tiles of side ``size`` (dbu) from ``(x0, y0)``: ``nx`` x ``ny``, halo ``halo``."""

    x0: int
    y0: int
    size: int
    nx: int
    ny: int
    halo: int

    def core(self, k: int) -> tuple[int, int, int, int]:
        j, i = divmod(k, self.nx)
        x, y = self.x0 + i * self.size, self.y0 + j * self.size
        return x, y, x + self.size, y + self.size

    def haloed(self, k: int) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = self.core(k)
        h = self.halo
        return x0 - h, y0 - h, x1 + h, y1 + h

    def assign(self, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(tile, polygon) of every polygon box meeting a tile's haloed box,
        sorted by tile."""
        if len(boxes) == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        s, h = self.size, self.halo

        def col(c: int) -> np.ndarray:
            return boxes[:, c].astype(np.int64)

        i0 = np.clip((col(0) - h - self.x0) // s, 0, self.nx - 1)
        i1 = np.clip((col(2) + h - self.x0) // s, 0, self.nx - 1)
        j0 = np.clip((col(1) - h - self.y0) // s, 0, self.ny - 1)
        j1 = np.clip((col(3) + h - self.y0) // s, 0, self.ny - 1)
        w = i1 - i0 + 1
        k = w * (j1 - j0 + 1)
        owner = np.repeat(np.arange(len(boxes), dtype=np.int64), k)
        local = np.arange(len(owner), dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
        ww = w[owner]
        tile = (j0[owner] + local // ww) * self.nx + i0[owner] + local % ww
        del local, ww, i0, i1, j0, j1, w, k
        order = np.argsort(tile, kind="stable")
        # int32 (4 bytes an entry each) when tiles and polygons fit
        dt = np.int32 if max(self.nx * self.ny, len(boxes)) < 2**31 else np.int64
        return tile[order].astype(dt), owner[order].astype(dt)


def make_grid(extent: tuple[int, int, int, int], size: int, h: int) -> Grid:
    x0, y0, x1, y1 = extent
    size = max(1, size)
    return Grid(x0, y0, size, max(1, -(-(x1 - x0 + 1) // size)), max(1, -(-(y1 - y0 + 1) // size)), h)


# ---------------------------------------------------------------------------
# Clipping
# ---------------------------------------------------------------------------


def _within(b: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    return (b[:, 0] >= box[0]) & (b[:, 1] >= box[1]) & (b[:, 2] <= box[2]) & (b[:, 3] <= box[3])


def _ints(polys: list[gdstk.Polygon]) -> list[np.ndarray]:
    out = []
    for p in polys:
        pts = np.rint(p.points).astype(np.int64)
        pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]
        if len(pts) >= 3 and abs(p.area()) > 0.5:
            out.append(pts)
    return out


def clip(polys: Sequence[np.ndarray], box: tuple[int, int, int, int], boxes: np.ndarray | None = None) -> list[np.ndarray]:
    """``polys`` (dbu) cut to ``box``: those inside it as drawn, the others
    clipped (the clipped ones come back merged with one another)."""
    if not polys:
        return []
    b = _boxes(polys) if boxes is None else boxes
    inside = _within(b, box)
    out = [p for p, ok in zip(polys, inside.tolist()) if ok]
    cross = [gdstk.Polygon(p.astype(np.float64)) for p, ok in zip(polys, inside.tolist()) if not ok]
    if cross:
        rect = gdstk.rectangle((box[0], box[1]), (box[2], box[3]))
        out += _ints(gdstk.boolean(cross, [rect], "and", precision=1.0))
    return out


def _touches_border(pts: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    return bool(pts[:, 0].min() <= box[0] or pts[:, 1].min() <= box[1] or pts[:, 0].max() >= box[2] or pts[:, 1].max() >= box[3])


# ---------------------------------------------------------------------------
# One tile
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pieces:
    """Edge-pair markers of one rule, compact: ``marker`` (k, 2, 4) int64
    (dbu), ``measured`` (k,) um (NaN: none), ``value`` (k,) um."""

    marker: np.ndarray
    measured: np.ndarray
    value: np.ndarray
    #: net-aware kinds: the net names of each marker (object array), else None
    net: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.marker)

    def take(self, sel: np.ndarray) -> "Pieces":
        return Pieces(self.marker[sel], self.measured[sel], self.value[sel], None if self.net is None else self.net[sel])


def pack(vs: Sequence[Violation]) -> Pieces:
    """Edge-pair violations (of one rule) as :class:`Pieces`."""
    if not vs:
        return Pieces(np.zeros((0, 2, 4), np.int64), np.zeros(0), np.zeros(0))
    net = None
    if any(v.net is not None for v in vs):
        net = np.empty(len(vs), object)
        net[:] = [v.net for v in vs]
    return Pieces(
        np.array([v.marker for v in vs], np.int64).reshape(-1, 2, 4),
        np.array([np.nan if v.measured_um is None else v.measured_um for v in vs], np.float64),
        np.array([v.value_um for v in vs], np.float64),
        net,
    )


def _concat(ps: Sequence[Pieces]) -> Pieces:
    ps = [p for p in ps if len(p)]
    if not ps:
        return pack([])
    if len(ps) == 1:
        return ps[0]
    net = None
    if any(p.net is not None for p in ps):
        code = any(p.net is not None and p.net.dtype != object for p in ps)
        net = np.concatenate([p.net if p.net is not None else np.full(len(p), -1 if code else None, np.int32 if code else object)
                              for p in ps])
    return Pieces(*(np.concatenate([getattr(p, f) for p in ps]) for f in ("marker", "measured", "value")), net)


@dataclass
class TileResult:
    """What one tile hands back: edge-pair pieces (compact, :class:`Pieces`)
    and whole polygon markers per rule index, border pieces (layer name ->
    polygons) per rule index, window areas per rule index, notes."""

    pieces: dict[int, Pieces]
    polys: dict[int, list[Violation]]
    border: dict[int, dict[str, list[np.ndarray]]]
    areas: dict[int, np.ndarray]
    not_checked: dict[int, str]
    notes: list[str]
    #: edge-pair markers lying strictly inside the tile's core: whole and
    #: reported by no other tile, so final as they are (not stitched)
    done: dict[int, Pieces] = field(default_factory=dict)
    #: ``voltage_spacing``: net pairs (global net indices -> names) near
    #: each other in this tile whose voltage is unknown
    unknown: dict[int, dict[tuple[int, int], str]] = field(default_factory=dict)


def _split_pieces(p: Pieces, core: tuple[int, int, int, int]) -> tuple[Pieces, Pieces]:
    """(pieces touching or crossing the core's boundary, markers strictly inside it)."""
    if not len(p):
        return p, p
    xs, ys = p.marker[:, :, [0, 2]], p.marker[:, :, [1, 3]]
    inside = (xs.min(axis=(1, 2)) > core[0]) & (xs.max(axis=(1, 2)) < core[2]) & (ys.min(axis=(1, 2)) > core[1]) & (ys.max(axis=(1, 2)) < core[3])
    out = ~inside
    return p.take(out), p.take(inside)


def _meets(v: Violation, core: tuple[int, int, int, int]) -> bool:
    (a, b) = v.marker  # type: ignore[misc]
    xs = (a[0], a[2], b[0], b[2])
    ys = (a[1], a[3], b[1], b[3])
    return min(xs) <= core[2] and max(xs) >= core[0] and min(ys) <= core[3] and max(ys) >= core[1]


def _groups_of(polys: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Merged polygons of ``polys`` grouped as KLayout joins them (corner contacts)."""
    from flow.drc.kinds.shapes import _clean_all, _groups

    if not polys:
        return []
    return _groups(_clean_all(E.union(polys)))


def _split(polys: list[np.ndarray], core) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Merged parts of ``polys`` (clipped to ``core``): (whole, border)."""
    whole: list[np.ndarray] = []
    border: list[np.ndarray] = []
    for grp in _groups_of(polys):
        if any(_touches_border(p, core) for p in grp):
            border += grp
        else:
            whole += grp
    return whole, border


def _shapes(polys: dict[str, list[np.ndarray]], dbu_um: float, top: str) -> LayoutShapes:
    return LayoutShapes(
        polygons=MappingProxyType(polys),
        labels=MappingProxyType({n: [] for n in polys}),
        top=top,
        dbu_um=dbu_um,
    )


@dataclass(frozen=True)
class TileJob:
    """Everything one tile's check needs, self-contained and picklable (so a
    tile can run in this process, a forked worker, or any executor).

    ``polys``: layer name -> the polygons (dbu) meeting the tile's haloed box,
    for in-memory layouts; ``reads``: layer name -> ``(file, first, end)``
    vertex ranges in a :class:`flow.geometry.store.ShapeStore` layer file,
    read by the worker.  Exactly one of them is set.
    """

    k: int
    grid: Grid
    kit: PDK
    rules: tuple[Rule, ...]
    ctx: CheckContext
    density_extent: tuple[int, int, int, int] | None
    top: str
    polys: dict[str, list[np.ndarray]] | None = None
    reads: dict[str, tuple[str, np.ndarray, np.ndarray]] | None = None
    #: layer -> the global connectivity label (:mod:`flow.drc.labels`) of
    #: each polygon given, for the kinds in :data:`LABEL_KINDS`
    labels: dict[str, np.ndarray] | None = None
    #: the nets of the tile's polygons, for the kinds in :data:`NET_KINDS`
    nets: Any = None


def _read(path: str, a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Polygons with vertex ranges ``[a, b)`` of a store layer file (runs read at once)."""
    if len(a) == 0:
        return []
    out: list[np.ndarray] = []
    brk = np.flatnonzero(a[1:] != b[:-1]) + 1
    r0 = np.r_[0, brk].tolist()
    r1 = np.r_[brk, len(a)].tolist()
    with open(path, "rb") as fh:
        for i0, i1 in zip(r0, r1):
            v0, v1 = int(a[i0]), int(b[i1 - 1])
            fh.seek(v0 * 8)
            pts = np.fromfile(fh, "<i4", count=2 * (v1 - v0)).reshape(-1, 2).astype(np.int64)
            out.extend(np.split(pts, (a[i0 + 1 : i1] - v0).tolist()))
    return out


def run_tile_job(job: TileJob) -> TileResult:
    """Check one tile (a top-level function: the unit of work of a tiled run)."""
    import flow.drc.kinds  # noqa: F401  (registers the kinds in a fresh worker)

    if job.polys is not None:
        polys = job.polys
    else:
        polys = {n: _read(f, a, b) for n, (f, a, b) in (job.reads or {}).items()}
    return check_tile(job.k, job.grid, polys, job.kit, job.rules, job.ctx, job.density_extent, job.top, job.labels, job.nets)


def check_tile(
    k: int, grid: Grid, polys: dict[str, list[np.ndarray]],
    kit: PDK, rules: Sequence[Rule], ctx: CheckContext, density_extent, top: str = "",
    labels: dict[str, np.ndarray] | None = None, nets: Any = None,
) -> TileResult:
    """Run the tiled ``rules`` on tile ``k``, given the polygons of each layer
    meeting its haloed box (see the module notes)."""
    core = grid.core(k)
    hbox = grid.haloed(k)
    names = sorted({n for r in rules for n in (r.layer, r.other) if n is not None})
    hview: dict[str, list[np.ndarray]] = {n: clip(polys.get(n, []), hbox) for n in names}
    cview: dict[str, list[np.ndarray]] = {}

    def cv(n: str) -> list[np.ndarray]:
        if n not in cview:
            cview[n] = clip(hview[n], core)
        return cview[n]

    res = TileResult({}, {}, {}, {}, {}, [])
    hlayers = Layers(_shapes(hview, kit.dbu_um, top))
    for n, lab in (labels or {}).items():
        # the drawn (unclipped) polygons and their global labels: notch
        # edges take them (see flow.drc.kinds.shapes.check_notch)
        hlayers.cache[("labels", n)] = (polys.get(n, []), lab)
    if nets is not None:
        # the nets of the whole layout, for the tile's polygons: every
        # net-aware rule's extraction (flow.drc.kinds.nets.nets_of) is this one
        from flow.drc.nets import net_layers

        tn = nets.nets(polys)
        for r in rules:
            if r.kind in NET_KINDS:
                hlayers.cache[("nets", net_layers(kit, [x for x in (r.layer, r.other) if x]))] = tn
        for n, te in nets.tie_edges.items():
            hlayers.cache[("tie-edges", n)] = te
        hlayers.cache["nets-noted"] = True  # the run notes the labels' problems once
        hlayers.cache["tile-box"] = hbox
    for ri, rule in enumerate(rules):
        kind = rule.kind
        try:
            if kind in EDGE_KINDS:
                if kind == "enclosure":
                    from flow.drc.kinds.basic import enclosure_pairs

                    got = enclosure_pairs(rule, kit, hlayers)
                else:
                    got = IMPLS[kind].check(rule, kit, hlayers, ctx)
                res.pieces[ri], res.done[ri] = _split_pieces(pack([v for v in got if v.is_edge_pair and _meets(v, core)]), core)
                if kind == "voltage_spacing":
                    res.unknown[ri] = hlayers.cache.get(("unknown", rule.id), {})  # type: ignore[assignment]
            if kind == "enclosure":
                from flow.drc.kinds.basic import uncovered

                whole, border = [], []
                for p in uncovered(cv(rule.other), cv(rule.layer)):
                    pts = np.array(p, np.int64)
                    (border if _touches_border(pts, core) else whole).append(pts)
                res.polys[ri] = [polygon_violation(rule, p) for p in whole]
                res.border[ri] = {rule.other: border}
            elif kind == "max_width":
                from flow.drc.kinds.tables import wide_parts

                wide = wide_parts(hview[rule.layer], kit.dbu(rule.value))
                whole, border = [], []
                for pts in clip(wide, core):
                    (border if _touches_border(pts, core) else whole).append(pts)
                res.polys[ri] = [polygon_violation(rule, p) for p in whole]
                res.border[ri] = {rule.layer: border}
            elif kind in ("area", "hole", "must_overlap"):
                whole, border = _split(cv(rule.layer), core)
                local = {rule.layer: whole}
                if kind == "must_overlap":
                    local[rule.other] = cv(rule.other)
                got = IMPLS[kind].check(rule, kit, Layers(_shapes(local, kit.dbu_um, top)), ctx)
                res.polys[ri] = got
                bd = {rule.layer: border}
                if kind == "must_overlap":
                    theirs = cv(rule.other)
                    if border and theirs:
                        bb, tb = _boxes(border).astype(np.float64), _boxes(theirs).astype(np.float64)
                        _, tj = E.box_pairs(bb, tb)
                        bd[rule.other] = [theirs[j] for j in np.unique(tj).tolist()]
                    else:
                        bd[rule.other] = []
                res.border[ri] = bd
            elif kind == "not_overlap":
                a, b = cv(rule.layer), cv(rule.other)
                inter = []
                if a and b:
                    inter = _ints(gdstk.boolean([gdstk.Polygon(p.astype(np.float64)) for p in a],
                                                [gdstk.Polygon(p.astype(np.float64)) for p in b], "and", precision=1.0))
                whole, border = _split(inter, core)
                res.polys[ri] = _not_overlap_markers(rule, kit, whole)
                res.border[ri] = {rule.layer: border}
            elif kind == "density":
                from flow.drc.kinds.tables import window_areas

                win, step = max(1, kit.dbu(rule.window)), max(1, kit.dbu(rule.step))
                polys = cv(rule.layer)
                union = E.union(polys) if polys else []
                _, areas = window_areas(union, density_extent, win, step)
                res.areas[ri] = areas
        except NotChecked as e:
            res.not_checked[ri] = str(e)
    res.notes = list(hlayers.notes)
    return res


def _not_overlap_markers(rule: Rule, kit: PDK, polys: list[np.ndarray]) -> list[Violation]:
    from flow.drc.kinds.shapes import _as_groups

    if not polys:
        return []
    merged = gdstk.boolean([gdstk.Polygon(p.astype(np.float64)) for p in polys], [], "or", precision=1.0)
    return [polygon_violation(rule, pts, area * kit.dbu_um**2) for pts, area in _as_groups(merged)]


# ---------------------------------------------------------------------------
# Putting tiles together
# ---------------------------------------------------------------------------


def finish_border(rule: Rule, kit: PDK, pieces: dict[str, list[np.ndarray]], ctx: CheckContext, top: str) -> list[Violation]:
    """Markers of the polygons that crossed tile borders (their pieces merged)."""
    kind = rule.kind
    main = pieces.get(rule.layer, []) if kind != "enclosure" else pieces.get(rule.other, [])
    if not main:
        return []
    if kind == "enclosure":
        from flow.drc.kinds.basic import uncovered

        return [polygon_violation(rule, p) for p in uncovered(main, [])]
    if kind == "max_width":
        return [polygon_violation(rule, p) for p in _ints(E.union(main))]
    if kind == "not_overlap":
        return _not_overlap_markers(rule, kit, main)
    local = {rule.layer: main}
    if kind == "must_overlap":
        local[rule.other] = pieces.get(rule.other, [])
    return IMPLS[kind].check(rule, kit, Layers(_shapes(local, kit.dbu_um, top)), ctx)


def _angle(e: np.ndarray) -> np.ndarray:
    a = np.arctan2(e[:, 3] - e[:, 1], e[:, 2] - e[:, 0])
    return np.where(a < 0, a + 2 * np.pi, a)


def stitch(rule: Rule, kit: PDK, pieces: Pieces | Sequence[Violation]) -> EdgePairArray:
    """One marker per distinct edge pair from the pieces of all tiles: exact
    duplicates once, pieces of one long pair (same lines within 1 dbu, same
    directions, overlapping; for net-aware kinds the same nets) joined into
    the pair spanning them."""
    p = stitch_pieces(rule, kit, pieces)
    return EdgePairArray(rule, p.marker, p.measured, p.value)


def stitch_pieces(rule: Rule, kit: PDK, pieces: Pieces | Sequence[Violation]) -> Pieces:
    """:func:`stitch`, as :class:`Pieces` (keeping the markers' nets)."""
    if not isinstance(pieces, Pieces):
        pieces = pack(pieces)
    if not len(pieces):
        return pieces
    unordered = rule.other is None or rule.other == rule.layer
    m = pieces.marker.copy()  # (k, 2, 4)
    a, b = m[:, 0], m[:, 1]
    la = np.hypot(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1])
    lb = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    if unordered:
        ka = np.where(la > 0, _angle(a), 10.0)
        kb = np.where(lb > 0, _angle(b), 10.0)
        swap = (ka > kb) | ((ka == kb) & _lex_gt(a, b))
        m[swap] = m[swap][:, ::-1]
        a, b = m[:, 0], m[:, 1]
        la, lb = np.where(swap, lb, la), np.where(swap, la, lb)
    vals = pieces.value
    meas = pieces.measured
    # net-aware kinds: pieces of one marker have the same nets
    if pieces.net is not None and pieces.net.dtype != object:
        code = pieces.net.astype(np.int64)
    elif pieces.net is not None:
        _, code = np.unique(pieces.net.astype(str), return_inverse=True)
    else:
        code = np.zeros(len(m), np.int64)
    # exact duplicates
    keyrows = np.hstack([m.reshape(len(m), 8), vals.view(np.int64)[:, None], code.reshape(-1, 1)])
    _, first = np.unique(keyrows, axis=0, return_index=True)
    first.sort()
    m, vals, meas, la, lb, code = m[first], vals[first], meas[first], la[first], lb[first], code[first]
    nets = None if pieces.net is None else pieces.net[first]
    n = len(m)
    comp = np.arange(n)
    long = np.nonzero((la >= 1) & (lb >= 1))[0]
    if len(long) > 1:
        mm = m[long]
        box = np.stack([mm[:, :, [0, 2]].min(axis=(1, 2)), mm[:, :, [1, 3]].min(axis=(1, 2)),
                        mm[:, :, [0, 2]].max(axis=(1, 2)), mm[:, :, [1, 3]].max(axis=(1, 2))], axis=1).astype(np.float64)
        i, j = E.box_pairs(box, None)
        ok = (vals[long[i]] == vals[long[j]]) & (code[long[i]] == code[long[j]]) & _same_part(mm[i, 0], mm[j, 0]) & _same_part(mm[i, 1], mm[j, 1])
        i, j = long[i[ok]], long[j[ok]]
        if len(i):
            from scipy.sparse import coo_matrix
            from scipy.sparse.csgraph import connected_components

            g = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
            _, comp = connected_components(g, directed=False)
    order = np.argsort(comp, kind="stable")
    cs = comp[order]
    starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
    stops = np.r_[starts[1:], len(cs)]
    first_of = order[starts]
    out_m, out_meas, out_val = m[first_of].copy(), meas[first_of].copy(), vals[first_of]
    for g in np.flatnonzero(stops - starts > 1).tolist():
        idx = order[starts[g] : stops[g]]
        mk = np.array([_span(m[idx, 0], la[idx]), _span(m[idx, 1], lb[idx])])
        out_m[g] = mk
        if rule.kind not in ("grid", "angle") and not np.isnan(out_meas[g]):
            out_meas[g] = kit.um(float(E._segment_distance(mk[0].astype(np.float64)[None], mk[1].astype(np.float64)[None])[0]))
    return Pieces(out_m, out_meas, out_val, None if nets is None else nets[first_of])


def _lex_gt(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise ``tuple(a) > tuple(b)``."""
    diff = a != b
    first = np.argmax(diff, axis=1)
    r = np.arange(len(a))
    return diff.any(axis=1) & (a[r, first] > b[r, first])


def _same_part(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Segments on one line (within 1 dbu), same direction, overlapping by >= 1 dbu."""
    s = s.astype(np.float64)
    t = t.astype(np.float64)
    u = s[:, 2:] - s[:, :2]
    L = np.hypot(u[:, 0], u[:, 1])
    u = u / L[:, None]
    w = t[:, 2:] - t[:, :2]
    same_dir = (u * w).sum(axis=1) > 0

    def off(p: np.ndarray) -> np.ndarray:
        r = p - s[:, :2]
        return np.abs(r[:, 0] * u[:, 1] - r[:, 1] * u[:, 0]), r[:, 0] * u[:, 0] + r[:, 1] * u[:, 1]

    d0, p0 = off(t[:, :2])
    d1, p1 = off(t[:, 2:])
    on = (d0 <= 1.0) & (d1 <= 1.0)
    overlap = np.minimum(L, np.maximum(p0, p1)) - np.maximum(0.0, np.minimum(p0, p1))
    return same_dir & on & (overlap >= 1.0)


def _span(parts: np.ndarray, lens: np.ndarray) -> list[int]:
    """The segment spanning collinear ``parts`` (k, 4), in their direction."""
    ref = parts[int(np.argmax(lens))].astype(np.float64)
    u = ref[2:] - ref[:2]
    pts = np.vstack([parts[:, :2], parts[:, 2:]])
    proj = (pts - ref[:2]) @ u
    lo, hi = pts[int(np.argmin(proj))], pts[int(np.argmax(proj))]
    return [int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])]


def _source_boxes(src: Any, name: str) -> np.ndarray:
    """Bounding boxes (int64, dbu) of layer ``name``'s polygons in a
    :class:`LayoutShapes` or :class:`flow.geometry.store.ShapeStore`."""
    if isinstance(src, LayoutShapes):
        return _boxes(src.polygons.get(name, ()))
    b = src.boxes.get(name)
    return np.zeros((0, 4), np.int64) if b is None else b.astype(np.int64)


def _tile_part(src: Any, name: str, index: tuple[np.ndarray, np.ndarray], k: int) -> tuple[np.ndarray, Any]:
    """Layer ``name``'s polygons assigned to tile ``k`` (``index``: the
    ``(tiles, ids)`` of :meth:`Grid.assign`): their ids, sorted, and what a
    job needs of them: the polygons (a :class:`LayoutShapes`), else
    ``(file, starts, ends)`` for :func:`_read` (a store)."""
    t, o = index
    lo, hi = np.searchsorted(t, k, "left"), np.searchsorted(t, k, "right")
    ids = np.sort(o[lo:hi])
    if isinstance(src, LayoutShapes):
        poly = src.polygons[name]
        return ids, [poly[i] for i in ids.tolist()]
    st = src.starts[name]
    return ids, (str(src.files[name]), st[ids], st[ids + 1])


def _own_boxes(src: Any, name: str) -> np.ndarray:
    """Bounding boxes of a layer: a store's own array (int32, not copied)."""
    if isinstance(src, LayoutShapes):
        return _boxes(src.polygons.get(name, ()))
    b = src.boxes.get(name)
    return np.zeros((0, 4), np.int32) if b is None else b


def _jobs(src: Any, grid: Grid, index: dict[str, tuple[np.ndarray, np.ndarray]], tiles: list[int], base: dict[str, Any],
          labels: dict[str, np.ndarray] | None = None, nets: Any = None, net_names: Sequence[str] = ()):
    """One :class:`TileJob` per tile, made as they are consumed."""
    in_memory = isinstance(src, LayoutShapes)
    for k in tiles:
        per: dict[str, Any] = {}
        lab: dict[str, np.ndarray] = {}
        tile_ids: dict[str, np.ndarray] = {}
        for n in index:
            ids, per[n] = _tile_part(src, n, index[n], k)
            tile_ids[n] = ids
            if labels and n in labels:
                lab[n] = labels[n][ids]
        info = None if nets is None else nets.tile_info(net_names, tile_ids, grid.haloed(k))
        yield TileJob(k=k, grid=grid, **base, **({"polys": per} if in_memory else {"reads": per}), labels=lab or None, nets=info)


def run_tiled(
    shapes: Any, kit: PDK, rules: Sequence[Rule], ctx: CheckContext, tile_um: float, jobs: int, progress: Any = None,
    executor: Any = None,
) -> tuple[list[list[Violation] | NotChecked], list[str], Grid | None]:
    """Markers of each (tileable) rule, in order, from a tiled run (sorted as
    the engine sorts them; edge pairs kept compact, see
    :class:`flow.drc.core.EdgePairArray`); kind notes; the grid.

    ``shapes``: a :class:`LayoutShapes` (in memory) or a
    :class:`flow.geometry.store.ShapeStore` (tiles read from disk: memory
    bounded by the tile size).  Each tile is a :class:`TileJob` run by
    :func:`run_tile_job`, as jobs of ``executor`` (a
    :class:`flow.executor.Executor`, e.g. a Dask cluster; store-based jobs
    then need the store's folder on a file system the workers share), by
    default ``jobs`` local processes.
    """
    from flow.drc.kinds.tables import density_extent

    names = sorted({n for r in rules for n in (r.layer, r.other) if n is not None})
    results: list[list[Violation] | NotChecked] = [[] for _ in rules]
    # the store's own int32 boxes (no int64 copy of every layer at once)
    boxes = {n: _own_boxes(shapes, n) for n in names}
    ext = _extent_of(boxes.values())
    if ext is None or not rules:
        return results, [], None
    h = halo(rules, kit)
    grid = make_grid(ext, max(kit.dbu(tile_um), 1), h)
    index = {n: grid.assign(boxes[n]) for n in names}
    del boxes
    dext = None
    if any(r.kind == "density" for r in rules):
        if isinstance(shapes, LayoutShapes):
            dext = density_extent(kit, Layers(shapes))
        else:
            bnd = [n for n, lay in kit.layers.items() if lay.purpose == "boundary"]
            for group in (bnd, list(kit.layers)):
                dext = _extent_of(_source_boxes(shapes, n) for n in group)
                if dext is not None:
                    break
    tiles = sorted({int(t) for n in names for t in np.unique(index[n][0]).tolist()})
    pieces: dict[int, list[Pieces]] = {}
    final: dict[int, list[Pieces]] = {}
    polys: dict[int, list[Violation]] = {}
    border: dict[int, dict[str, list[np.ndarray]]] = {}
    areas: dict[int, np.ndarray] = {}
    failed: dict[int, str] = {}
    notes: list[str] = []
    unknown: dict[int, dict[tuple[int, int], str]] = {}

    net_code: dict[str, int] = {}

    def coded(p: Pieces) -> Pieces:
        """Net names as int32 codes (about 4 bytes a marker instead of a string each)."""
        if p.net is None or p.net.dtype != object:
            return p
        c = np.fromiter((-1 if x is None else net_code.setdefault(x, len(net_code)) for x in p.net.tolist()), np.int32, len(p))
        return Pieces(p.marker, p.measured, p.value, c)

    def take(r: TileResult) -> None:
        for ri, vs in r.pieces.items():
            if len(vs):
                pieces.setdefault(ri, []).append(coded(vs))
        for ri, vs in r.done.items():
            if len(vs):
                final.setdefault(ri, []).append(coded(vs))
        for ri, vs in r.polys.items():
            polys.setdefault(ri, []).extend(vs)
        for ri, bd in r.border.items():
            dst = border.setdefault(ri, {})
            for n, ps in bd.items():
                dst.setdefault(n, []).extend(ps)
        for ri, a in r.areas.items():
            areas[ri] = areas[ri] + a if ri in areas else a
        failed.update(r.not_checked)
        notes.extend(x for x in r.notes if x not in notes)
        for ri, u in r.unknown.items():
            unknown.setdefault(ri, {}).update(u)

    total = len(tiles)
    base = {"kit": kit, "rules": tuple(rules), "ctx": ctx, "density_extent": dext, "top": shapes.top}
    from flow.executor import LocalExecutor

    # jobs are made lazily; the executor keeps a few per worker in flight
    ex = executor if executor is not None else LocalExecutor(jobs)
    labels = None
    lnames = sorted({r.layer for r in rules if r.kind in LABEL_KINDS})
    if lnames:
        from flow.drc.labels import streamed_labels

        if progress:
            progress("connectivity labels", 0.0)
        labels = streamed_labels(shapes, grid, lnames, executor=ex)
    nets = None
    net_names = sorted({n for r in rules if r.kind in NET_KINDS for n in (r.layer, r.other) if n is not None})
    if net_names:
        from flow.drc.labels import streamed_nets

        if progress:
            progress("nets", 0.0)
        nets = streamed_nets(shapes, kit, net_names, grid, executor=ex)
        notes.extend(nets.notes)
    work = _jobs(shapes, grid, index, tiles, base, labels, nets, net_names)
    for done, (_, r) in enumerate(ex.map(run_tile_job, work, labels=[f"tile {k}" for k in tiles]), 1):
        take(r)
        if progress:
            progress(f"tile {done}/{total}", done / total)
    del index
    for ri, rule in enumerate(rules):
        if ri in failed:
            results[ri] = NotChecked(failed[ri])
            continue
        pairs = None
        out: list[Violation] = list(polys.pop(ri, []))
        if rule.kind in NET_KINDS:
            # compact markers with their nets (int32 codes into the names)
            whole = _concat(final.pop(ri, []) + [stitch_pieces(rule, kit, _concat(pieces.pop(ri, [])))])
            names = sorted(net_code, key=net_code.__getitem__)
            net = whole.net if whole.net is not None else np.full(len(whole), -1, np.int32)
            pairs = EdgePairArray(rule, whole.marker, whole.measured, whole.value, net, names).sorted()
            if unknown.get(ri):
                from flow.drc.kinds.nets import unknown_voltage_note

                notes.append(unknown_voltage_note(rule, kit, list(unknown[ri].values())))
        elif rule.kind in EDGE_KINDS:
            st = stitch(rule, kit, _concat(pieces.pop(ri, [])))
            whole = _concat(final.pop(ri, []) + [Pieces(st.marker, st.measured, st.value)])
            pairs = EdgePairArray(rule, whole.marker, whole.measured, whole.value).sorted()
        if ri in border:
            out += finish_border(rule, kit, border[ri], ctx, shapes.top)
        if rule.kind == "density" and dext is not None and ri in areas:
            out += _density_markers(rule, kit, dext, areas[ri])
        from flow.drc.engine import _sort_key

        out.sort(key=_sort_key)
        results[ri] = Markers([pairs, out]) if pairs is not None and len(pairs) else out
    return results, notes, grid


def _extent_of(boxes) -> tuple[int, int, int, int] | None:
    bs = [b for b in boxes if len(b)]
    if not bs:
        return None
    lo = np.min([b[:, :2].min(axis=0) for b in bs], axis=0)
    hi = np.max([b[:, 2:].max(axis=0) for b in bs], axis=0)
    return int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])


def _density_markers(rule: Rule, kit: PDK, extent, areas: np.ndarray) -> list[Violation]:
    from flow.drc.kinds.tables import too_high, too_low, windows

    win, step = max(1, kit.dbu(rule.window)), max(1, kit.dbu(rule.step))
    out = []
    for box, a in zip(windows(extent, win, step), areas.tolist()):
        wa = float(box[2] - box[0]) * float(box[3] - box[1])
        if too_low(a, wa, rule.value) or too_high(a, wa, rule.max):
            x0, y0, x1, y1 = box
            out.append(polygon_violation(rule, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], measured=round(a / wa, 9)))
    return out
