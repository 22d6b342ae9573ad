"""Net extraction from a layout alone, for the net-aware DRC kinds.

The conducting layers are those of the PDK's ``[pdk.connectivity]``
(``connect``), plus any layer with a label datatype and any layer a caller
asks for.  Every drawn polygon of those layers is a node; two nodes are one
net when

* they are on the same layer and overlap or touch (also at a corner: the
  merged outline the DRC checks is then one polygon), or
* their layers are listed together in ``connect`` (``[a, b]``, or
  ``[lower, cut]`` / ``[cut, upper]`` of a ``[lower, cut, upper]`` entry)
  and they overlap with a positive area (touching is not enough).

A cut therefore joins whatever lower and upper shapes it overlaps, as
KLayout's ``connect(lower, cut); connect(cut, upper)`` does.  With
``net_ties=True`` (the net-aware DRC kinds) the conductor a net-tie marker
layer names (``net_tie = "MET1"``) is first cut away under the marker, as
LVS does, so the two terminals a tie joins inside a device are two nets.

Net names come from the text labels on each layer's label datatype: a label
names the net of the polygon(s) of its layer under its origin (boundary
included).  Nets without a label get a stable generated name from their
geometry, ``$LAYER(x,y)``: the lower-left corner (um) of the bounding box of
the net's first polygon, taking layers in kit order and then the lowest
``(x, y)``; it does not depend on the order of shapes in the file.  A label
that touches no shape, a name used on several unconnected nets and a net
carrying several names are reported in :attr:`Nets.notes` (never a crash);
such nets keep all their names (:attr:`Nets.aliases`), and voltage or current
look-ups use every one of them.  A label that is a voltage (``650V``,
``-3.3V``) names its net and gives it that voltage where the design does not
(:meth:`Nets.label_volts`).

Candidate pairs come from a box join (:func:`box_pairs`: k-d trees over box
centres in the Chebyshev metric, per size class), so extraction costs about
O(n log n) in the number of polygons plus the number of touching pairs;
exact polygon tests run only for pairs of non-rectangles.

Example
-------
>>> import gdstk, pdk
>>> from flow.geometry.gdsio import shapes_from_library
>>> kit = pdk.load("gan650")
>>> lib = gdstk.Library(unit=1e-6, precision=1e-9)
>>> top = lib.new_cell("TOP")
>>> _ = top.add(gdstk.rectangle((0, 0), (10, 2), layer=10))       # MET1
>>> _ = top.add(gdstk.rectangle((8, 0), (10, 20), layer=12))      # MET2
>>> _ = top.add(gdstk.rectangle((8.5, 0.5), (9.5, 1.5), layer=11))  # VIA1
>>> _ = top.add(gdstk.Label("VDD", (1, 1), layer=10, texttype=10))
>>> _ = top.add(gdstk.rectangle((0, 5), (4, 7), layer=10))        # unlabelled
>>> nets = extract_nets(shapes_from_library(lib, kit), kit)
>>> sorted(nets.names)
['$MET1(0,5)', 'VDD']
>>> nets.name(int(nets.comp["MET2"][0]))
'VDD'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import gdstk
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from flow.geometry.gdsio import LayoutShapes
from pdk.schema import PDK

_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.int64))
#: A label that is a voltage (``650V``, ``-3.3 V``) gives its net that voltage.
_VOLT = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*[vV]$")


# ---------------------------------------------------------------------------
# Boxes and exact tests
# ---------------------------------------------------------------------------


def boxes_of(polygons: Sequence[np.ndarray]) -> np.ndarray:
    """Bounding boxes ``(n, 4)`` ``x0, y0, x1, y1`` of polygons (dbu)."""
    if not len(polygons):
        return np.zeros((0, 4), np.int64)
    lens = np.fromiter((len(p) for p in polygons), np.int64, len(polygons))
    pts = np.concatenate(polygons).astype(np.int64)
    start = np.cumsum(lens) - lens
    lo = np.minimum.reduceat(pts, start, axis=0)
    hi = np.maximum.reduceat(pts, start, axis=0)
    return np.hstack([lo, hi])


def rect_mask(polygons: Sequence[np.ndarray]) -> np.ndarray:
    """True for axis-aligned rectangles (4 vertices, axis-parallel edges)."""
    out = np.zeros(len(polygons), bool)
    four = [k for k, p in enumerate(polygons) if len(p) == 4]
    if four:
        q = np.stack([polygons[k] for k in four]).astype(np.int64)  # (k, 4, 2)
        d = np.roll(q, -1, axis=1) - q
        ok = np.all((d[:, :, 0] == 0) | (d[:, :, 1] == 0), axis=1)
        ok &= np.all(np.any(d != 0, axis=2), axis=1)
        out[np.asarray(four)[ok]] = True
    return out


def box_pairs(a: np.ndarray, b: np.ndarray | None = None, *, closed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)`` of intersecting boxes of ``a`` and ``b``.

    ``closed``: touching boxes count; otherwise the intersection must have a
    positive area.  ``b=None``: pairs within ``a``, each once with ``i < j``.
    Boxes are grouped by size class (powers of two of the half size); per
    pair of classes a k-d tree join of box centres in the Chebyshev metric
    gives a superset, filtered exactly.
    """
    same = b is None
    b = a if b is None else b
    if len(a) == 0 or len(b) == 0:
        return _EMPTY
    af, bf = a.astype(np.float64), b.astype(np.float64)
    ca, cb = (af[:, :2] + af[:, 2:]) / 2, (bf[:, :2] + bf[:, 2:]) / 2
    ra = np.max(af[:, 2:] - af[:, :2], axis=1) / 2
    rb = np.max(bf[:, 2:] - bf[:, :2], axis=1) / 2
    ka = np.floor(np.log2(np.maximum(ra, 1.0))).astype(np.int64)
    kb = np.floor(np.log2(np.maximum(rb, 1.0))).astype(np.int64)
    groups_a = {k: np.nonzero(ka == k)[0] for k in np.unique(ka)}
    groups_b = groups_a if same else {k: np.nonzero(kb == k)[0] for k in np.unique(kb)}
    trees_a = {k: cKDTree(ca[s]) for k, s in groups_a.items()}
    trees_b = trees_a if same else {k: cKDTree(cb[s]) for k, s in groups_b.items()}
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    for k1, s1 in groups_a.items():
        for k2, s2 in groups_b.items():
            if same and k2 < k1:
                continue
            r = float(ra[s1].max() + rb[s2].max()) + 1e-6
            m = trees_a[k1].sparse_distance_matrix(trees_b[k2], r, p=np.inf, output_type="ndarray")
            if len(m):
                out_i.append(s1[m["i"]])
                out_j.append(s2[m["j"]])
    if not out_i:
        return _EMPTY
    i = np.concatenate(out_i).astype(np.int64)
    j = np.concatenate(out_j).astype(np.int64)
    if same:
        i, j = np.minimum(i, j), np.maximum(i, j)
        keep = i < j
        i, j = i[keep], j[keep]
        key = np.unique(i * len(a) + j)
        i, j = key // len(a), key % len(a)
    A, B = a[i], b[j]
    if closed:
        hit = (A[:, 0] <= B[:, 2]) & (B[:, 0] <= A[:, 2]) & (A[:, 1] <= B[:, 3]) & (B[:, 1] <= A[:, 3])
    else:
        hit = (A[:, 0] < B[:, 2]) & (B[:, 0] < A[:, 2]) & (A[:, 1] < B[:, 3]) & (B[:, 1] < A[:, 3])
    return i[hit], j[hit]


def point_in_polygon(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Closed point-in-polygon test (boundary included) of ``points`` (k, 2)."""
    p = np.asarray(points, np.float64)
    v = np.asarray(poly, np.float64)
    x0, y0 = v[:, 0][None, :], v[:, 1][None, :]
    x1, y1 = np.roll(v[:, 0], -1)[None, :], np.roll(v[:, 1], -1)[None, :]
    px, py = p[:, 0][:, None], p[:, 1][:, None]
    cross = (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)
    on = (np.abs(cross) <= 1e-9 * np.maximum(1.0, np.hypot(x1 - x0, y1 - y0))) & (
        (np.minimum(x0, x1) - 1e-9 <= px) & (px <= np.maximum(x0, x1) + 1e-9)
        & (np.minimum(y0, y1) - 1e-9 <= py) & (py <= np.maximum(y0, y1) + 1e-9)
    )
    up = (y0 <= py) & (y1 > py)
    down = (y1 <= py) & (y0 > py)
    wind = np.sum(np.where(up & (cross > 0), 1, 0) - np.where(down & (cross < 0), 1, 0), axis=1)
    return on.any(axis=1) | (wind != 0)


#: Point-polygon vertex pairs tested at once by :func:`points_in_polygons`.
PIP_BATCH = 4_000_000


def locate(points: np.ndarray, polys: Sequence[np.ndarray], boxes: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Index of a polygon (``polys``, their ``boxes``; ``rects``: which are
    rectangles, where box containment is exact) containing each point
    (boundary included), -1 if none."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    out = np.full(len(pts), -1, np.int64)
    if len(pts) == 0 or len(boxes) == 0:
        return out
    i, j = box_pairs(np.hstack([pts, pts]), boxes.astype(np.float64), closed=True)
    if not len(i):
        return out
    r = rects[j]
    out[i[r]] = j[r]
    ni, nj = i[~r], j[~r]
    sel = out[ni] < 0
    ni, nj = ni[sel], nj[sel]
    if len(ni):
        hit, _ = points_in_polygons(pts, polys, ni, nj)
        ni, nj = ni[hit], nj[hit]
        first = np.unique(ni, return_index=True)[1]
        out[ni[first]] = nj[first]
    return out


def points_in_polygons(points: np.ndarray, polygons: Sequence[np.ndarray], i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each pair ``(points[i[k]], polygons[j[k]])``: (inside or on the
    boundary, on the boundary), as :func:`point_in_polygon` tests one
    point, all pairs at once (vectorised over every vertex of each pair)."""
    n = len(i)
    inside = np.zeros(n, bool)
    on_b = np.zeros(n, bool)
    if n == 0:
        return inside, on_b
    uj, inv = np.unique(j, return_inverse=True)
    lens = np.fromiter((len(polygons[k]) for k in uj.tolist()), np.int64, len(uj))
    verts = np.concatenate([np.asarray(polygons[k], np.float64) for k in uj.tolist()])
    starts = np.cumsum(lens) - lens
    nxt = np.arange(1, len(verts) + 1)
    nxt[starts + lens - 1] = starts
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    cnt = lens[inv]
    ends = np.cumsum(cnt)
    lo = 0
    while lo < n:
        hi = int(np.searchsorted(ends, ends[lo] - cnt[lo] + PIP_BATCH, "right"))
        hi = max(hi, lo + 1)
        c = cnt[lo:hi]
        tot = int(c.sum())
        owner = np.repeat(np.arange(hi - lo), c)
        first = np.cumsum(c) - c
        vidx = np.repeat(starts[inv[lo:hi]], c) + (np.arange(tot) - np.repeat(first, c))
        x0, y0 = verts[vidx, 0], verts[vidx, 1]
        x1, y1 = verts[nxt[vidx], 0], verts[nxt[vidx], 1]
        p = pts[i[lo:hi]][owner]
        px, py = p[:, 0], p[:, 1]
        cross = (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)
        on = (np.abs(cross) <= 1e-9 * np.maximum(1.0, np.hypot(x1 - x0, y1 - y0))) & (
            (np.minimum(x0, x1) - 1e-9 <= px) & (px <= np.maximum(x0, x1) + 1e-9)
            & (np.minimum(y0, y1) - 1e-9 <= py) & (py <= np.maximum(y0, y1) + 1e-9)
        )
        up = (y0 <= py) & (y1 > py) & (cross > 0)
        down = (y1 <= py) & (y0 > py) & (cross < 0)
        wind = np.bincount(owner, weights=up.astype(np.float64) - down.astype(np.float64), minlength=hi - lo)
        onb = np.bincount(owner, weights=on, minlength=hi - lo) > 0
        on_b[lo:hi] = onb
        inside[lo:hi] = onb | (wind != 0)
        lo = hi
    return inside, on_b


def touch_pairs(polys_a: Sequence[np.ndarray], polys_b: Sequence[np.ndarray], i: np.ndarray, j: np.ndarray,
                boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """:func:`_touch` of each pair ``(polys_a[i[k]], polys_b[j[k]])``
    (vectorised: a vertex of one in or on the other; otherwise, where the
    boxes overlap with a positive area, the exact overlap)."""
    n = len(i)
    out = np.zeros(n, bool)
    if n == 0:
        return out
    for pa, pb, ii, jj in ((polys_a, polys_b, i, j), (polys_b, polys_a, j, i)):
        left = np.flatnonzero(~out)
        if not len(left):
            break
        la = np.fromiter((len(pa[k]) for k in ii[left].tolist()), np.int64, len(left))
        verts = np.concatenate([pa[k] for k in ii[left].tolist()])
        owner = np.repeat(left, la)
        hit, _ = points_in_polygons(verts, pb, np.arange(len(verts)), jj[owner])
        out[np.unique(owner[hit])] = True
    A, B = boxes_a[i], boxes_b[j]
    open_ = (A[:, 0] < B[:, 2]) & (B[:, 0] < A[:, 2]) & (A[:, 1] < B[:, 3]) & (B[:, 1] < A[:, 3])
    for k in np.flatnonzero(~out & open_).tolist():
        out[k] = _overlap_area(polys_a[i[k]], polys_b[j[k]]) > 0
    return out


def overlap_pairs(polys_a: Sequence[np.ndarray], polys_b: Sequence[np.ndarray], i: np.ndarray, j: np.ndarray,
                  rect_b: np.ndarray) -> np.ndarray:
    """``_overlap_area(...) > 0`` of each pair; a rectangle of ``b`` whose
    centre lies strictly inside the polygon of ``a`` overlaps it (no
    polygon clipping for the usual via in metal)."""
    n = len(i)
    out = np.zeros(n, bool)
    if n == 0:
        return out
    r = np.flatnonzero(rect_b[j])
    if len(r):
        cen = np.array([polys_b[k].mean(axis=0) for k in j[r].tolist()], np.float64).reshape(-1, 2)
        ins, onb = points_in_polygons(cen, polys_a, np.arange(len(r)), i[r])
        out[r[ins & ~onb]] = True
    for k in np.flatnonzero(~out).tolist():
        out[k] = _overlap_area(polys_a[i[k]], polys_b[j[k]]) > 0
    return out


def _overlap_area(p: np.ndarray, q: np.ndarray) -> float:
    res = gdstk.boolean(gdstk.Polygon(p.astype(np.float64)), gdstk.Polygon(q.astype(np.float64)), "and", precision=1e-3)
    return float(sum(abs(r.area()) for r in res))


def _touch(p: np.ndarray, q: np.ndarray) -> bool:
    """Same-layer contact of two polygons: overlap, a shared boundary
    stretch or a shared corner (a vertex of one on the other's boundary)."""
    if _overlap_area(p, q) > 0:
        return True
    return bool(point_in_polygon(p, q).any() or point_in_polygon(q, p).any())


# ---------------------------------------------------------------------------
# The extracted nets
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Nets:
    """Nets of one layout.

    Attributes
    ----------
    layers
        The layers in the connectivity graph (kit order).
    comp
        layer -> net index of each drawn polygon (``shapes.polygons[layer]``).
    local
        layer -> index of the same-layer group (touching polygons) of each
        drawn polygon; groups are numbered per layer.
    names
        net index -> display name (a label, the alphabetically first one when
        the net carries several; else a generated ``$LAYER(x,y)``).
    aliases
        net index -> every label name of the net (empty for unlabelled nets).
    links
        ``(layer_a, layer_b)`` -> (i, j) polygon index pairs of overlapping
        shapes of connected layers (as in ``connect``).
    notes
        Label problems, as ``"nets: ..."`` lines.
    """

    layers: tuple[str, ...]
    comp: Mapping[str, np.ndarray]
    local: Mapping[str, np.ndarray]
    names: tuple[str, ...]
    aliases: tuple[tuple[str, ...], ...]
    links: Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray]]
    polygons: Mapping[str, Sequence[np.ndarray]] = field(repr=False, default_factory=dict)
    boxes: Mapping[str, np.ndarray] = field(repr=False, default_factory=dict)
    rects: Mapping[str, np.ndarray] = field(repr=False, default_factory=dict)
    notes: tuple[str, ...] = ()
    ties: Mapping[str, tuple[Sequence[np.ndarray], np.ndarray]] = field(repr=False, default_factory=dict)

    def name(self, net: int) -> str:
        """Display name of net ``net`` (``"?"`` for -1: no net found)."""
        return self.names[net] if net >= 0 else "?"

    def lookup(self, net: int, values: Mapping[str, float]) -> list[float]:
        """The values (voltage, current ...) given for net ``net`` under any
        of its names; empty when none is known."""
        if net < 0:
            return []
        keys = self.aliases[net] or (self.names[net],)
        return [float(values[k]) for k in keys if k in values]

    def label_volts(self, net: int) -> list[float]:
        """Voltages written as a net's label, e.g. ``650V``, ``-3.3V``, ``0 V``."""
        if net < 0:
            return []
        return [float(m.group(1)) for k in self.aliases[net] if (m := _VOLT.match(k.strip()))]

    def locate(self, layer: str, points: np.ndarray) -> np.ndarray:
        """Index of a drawn polygon of ``layer`` containing each point (closed), -1 if none."""
        boxes = self.boxes.get(layer)
        if boxes is None:
            return np.full(len(np.asarray(points).reshape(-1, 2)), -1, np.int64)
        return locate(points, self.polygons[layer], boxes, self.rects[layer])

    def edge_nets(self, layer: str, edges: np.ndarray) -> np.ndarray:
        """Net index of each merged outline edge of ``layer`` (interior on the
        edge's left, as from :func:`flow.drc.edges.merge_edges`); -1 if none."""
        if len(edges) == 0:
            return np.zeros(0, np.int64)
        e = edges.astype(np.float64)
        mid = (e[:, :2] + e[:, 2:]) / 2
        u = e[:, 2:] - e[:, :2]
        L = np.maximum(np.hypot(u[:, 0], u[:, 1]), 1e-12)
        inward = np.stack([-u[:, 1] / L, u[:, 0] / L], axis=1) * 0.25
        poly = self.locate(layer, mid + inward)
        miss = poly < 0
        if miss.any():
            poly[miss] = self.locate(layer, mid[miss])
        comp = self.comp.get(layer)
        if comp is None:
            return np.full(len(edges), -1, np.int64)
        out = np.where(poly >= 0, comp[np.maximum(poly, 0)], -1)
        miss = np.nonzero(out < 0)[0]
        if len(miss) and layer in self.ties:
            pieces, net = self.ties[layer]
            for k in miss.tolist():
                for p, c in zip(pieces, net.tolist()):
                    if point_in_polygon((mid[k] + inward[k])[None], p)[0] or point_in_polygon(mid[k][None], p)[0]:
                        out[k] = c
                        break
        return out


def _fmt_um(kit: PDK, v: int) -> str:
    return f"{kit.um(v):g}"


def generated_name(kit: PDK, layer: str, x: int, y: int) -> str:
    """The name of an unlabelled net whose first polygon (see the module
    notes) is on ``layer`` with bounding-box lower-left corner ``x, y`` (dbu)."""
    return f"${layer}({_fmt_um(kit, x)},{_fmt_um(kit, y)})"


def net_layers(kit: PDK, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Layers taking part in net extraction, in kit order."""
    want = {n for group in kit.connect for n in group}
    want |= {n for n, lay in kit.layers.items() if lay.label is not None}
    want |= set(extra)
    return tuple(n for n in kit.layers if n in want)


def cut_net_ties(polys: dict[str, list[np.ndarray]], shapes: LayoutShapes, kit: PDK) -> dict[str, list[np.ndarray]]:
    """Cut each tied conductor away under its net-tie markers (a marker layer
    with ``net_tie = "MET1"``), in place: the two terminals a net tie joins
    inside a device (a Kelvin source tap) trace as two nets, as LVS traces
    them.  Polygons the markers do not touch keep their order; cut ones
    follow them.  Returns the pieces cut away (the tie metal), by conductor
    layer."""
    ties: dict[str, list[np.ndarray]] = {}
    for name, lay in kit.layers.items():
        cond = lay.net_tie
        marks = list(shapes.polygons.get(name, ()))
        if not cond or cond not in polys or not marks or not polys[cond]:
            continue
        i, _ = box_pairs(boxes_of(polys[cond]), boxes_of(marks), closed=False)
        hit = sorted(set(i.tolist()))
        if not hit:
            continue
        a = [gdstk.Polygon(polys[cond][k].astype(np.float64)) for k in hit]
        b = [gdstk.Polygon(m.astype(np.float64)) for m in marks]
        cut = []
        for q in gdstk.boolean(a, b, "not", precision=1e-3):
            pts = np.rint(q.points).astype(np.int64)
            pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]
            if len(pts) >= 3:
                cut.append(pts)
        drop = set(hit)
        polys[cond] = [p for k, p in enumerate(polys[cond]) if k not in drop] + cut
        for q in gdstk.boolean(a, b, "and", precision=1e-3):
            pts = np.rint(q.points).astype(np.int64)
            pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]
            if len(pts) >= 3:
                ties.setdefault(cond, []).append(pts)
    return ties


def extract_nets(shapes: LayoutShapes, kit: PDK, extra_layers: Iterable[str] = (), *, net_ties: bool = False) -> Nets:
    """Extract the nets of ``shapes`` through ``kit.connect`` (see module notes).

    ``net_ties``: cut tied conductors under net-tie markers first
    (:func:`cut_net_ties`); :attr:`Nets.polygons` then holds the cut
    polygons, and ``comp`` / ``local`` index them.
    """
    layers = net_layers(kit, extra_layers)
    polys = {n: list(shapes.polygons.get(n, ())) for n in layers}
    tie_pieces: dict[str, list[np.ndarray]] = {}
    if net_ties:
        tie_pieces = cut_net_ties(polys, shapes, kit)
    boxes = {n: boxes_of(polys[n]) for n in layers}
    rects = {n: rect_mask(polys[n]) for n in layers}
    offset: dict[str, int] = {}
    total = 0
    for n in layers:
        offset[n] = total
        total += len(polys[n])
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    local_rows: list[np.ndarray] = []
    local_cols: list[np.ndarray] = []

    # same layer: overlap or touch
    for n in layers:
        i, j = box_pairs(boxes[n], closed=True)
        if len(i) == 0:
            continue
        both = rects[n][i] & rects[n][j]
        keep = both.copy()
        nr = np.flatnonzero(~both)
        keep[nr] = touch_pairs(polys[n], polys[n], i[nr], j[nr], boxes[n], boxes[n])
        i, j = i[keep], j[keep]
        local_rows.append(i + offset[n])
        local_cols.append(j + offset[n])

    # connected layers: positive-area overlap
    pairs: set[tuple[str, str]] = set()
    for group in kit.connect:
        steps = [(group[0], group[1])] if len(group) == 2 else [(group[0], group[1]), (group[1], group[2])]
        for a, b in steps:
            if a in offset and b in offset and a != b:
                pairs.add((a, b))
    links: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for a, b in sorted(pairs, key=lambda ab: (layers.index(ab[0]), layers.index(ab[1]))):
        i, j = box_pairs(boxes[a], boxes[b], closed=False)
        if len(i):
            both = rects[a][i] & rects[b][j]
            keep = both.copy()
            nr = np.flatnonzero(~both)
            keep[nr] = overlap_pairs(polys[a], polys[b], i[nr], j[nr], rects[b])
            i, j = i[keep], j[keep]
        links[(a, b)] = (i, j)
        rows.append(i + offset[a])
        cols.append(j + offset[b])

    def components(r: list[np.ndarray], c: list[np.ndarray]) -> np.ndarray:
        rr = np.concatenate(r) if r else np.zeros(0, np.int64)
        cc = np.concatenate(c) if c else np.zeros(0, np.int64)
        g = coo_matrix((np.ones(len(rr), np.int8), (rr, cc)), shape=(total, total))
        return connected_components(g, directed=False)[1].astype(np.int64)

    local_all = components(local_rows, local_cols)
    comp_all = components(local_rows + rows, local_cols + cols)
    # renumber nets in a stable geometric order: first polygon by (layer rank, x0, y0)
    rank = np.concatenate([np.full(len(polys[n]), k, np.int64) for k, n in enumerate(layers)]) if total else np.zeros(0, np.int64)
    allbox = np.vstack([boxes[n] for n in layers]) if total else np.zeros((0, 4), np.int64)
    order = np.lexsort((allbox[:, 1], allbox[:, 0], rank, comp_all)) if total else np.zeros(0, np.int64)
    firsts = order[np.r_[True, comp_all[order][1:] != comp_all[order][:-1]]] if total else order
    firsts = firsts[np.lexsort((allbox[firsts, 1], allbox[firsts, 0], rank[firsts]))]
    renum = np.full(int(comp_all.max()) + 1 if total else 0, -1, np.int64)
    renum[comp_all[firsts]] = np.arange(len(firsts))
    comp_all = renum[comp_all]
    node_layer = np.concatenate([np.full(len(polys[n]), k, np.int64) for k, n in enumerate(layers)]) if total else rank

    # labels
    notes: list[str] = []
    label_names: list[set[str]] = [set() for _ in range(len(firsts))]
    seen_at: dict[str, set[int]] = {}
    nets_tmp = Nets(layers, {}, {}, (), (), {}, polys, boxes, rects)
    for n in layers:
        labs = list(shapes.labels.get(n, ()))
        if not labs:
            continue
        pts = np.array([[x, y] for _, x, y in labs], np.float64)
        hit = nets_tmp.locate(n, pts)
        for (text, x, y), h in zip(labs, hit.tolist()):
            if h < 0:
                notes.append(f"nets: label '{text}' on {n} at ({_fmt_um(kit, x)}, {_fmt_um(kit, y)}) um touches no {n} shape; ignored")
                continue
            net = int(comp_all[offset[n] + h])
            label_names[net].add(text)
            seen_at.setdefault(text, set()).add(net)
    names: list[str] = []
    aliases: list[tuple[str, ...]] = []
    for k, f in enumerate(firsts.tolist()):
        al = tuple(sorted(label_names[k]))
        aliases.append(al)
        if al:
            names.append(al[0])
        else:
            lay = layers[int(node_layer[f])]
            names.append(generated_name(kit, lay, int(allbox[f, 0]), int(allbox[f, 1])))
    for text, where in sorted(seen_at.items()):
        if len(where) > 1:
            notes.append(f"nets: label '{text}' names {len(where)} unconnected nets (checked as different nets; each takes the voltage and current of '{text}')")
    for al in aliases:
        if len(al) > 1:
            notes.append(f"nets: one net carries {len(al)} names {', '.join(al)} (shorted?); checked with every voltage and current given for them")
    comp = {n: comp_all[offset[n] : offset[n] + len(polys[n])] for n in layers}
    local = {n: local_all[offset[n] : offset[n] + len(polys[n])] for n in layers}
    # the metal under a net tie belongs to the nets it ties (one node
    # electrically); its edges take the lowest-numbered of them
    ties: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}
    for n, pieces in tie_pieces.items():
        if n not in comp:
            continue
        tb = boxes_of(pieces)
        i, j = box_pairs(tb, boxes[n], closed=True)
        net = np.full(len(pieces), -1, np.int64)
        for a, b in zip(i.tolist(), j.tolist()):
            if _touch(pieces[a], polys[n][b]):
                c = int(comp[n][b])
                net[a] = c if net[a] < 0 else min(net[a], c)
        ties[n] = (pieces, net)
    return Nets(
        layers=layers,
        comp=comp,
        local=local,
        names=tuple(names),
        aliases=tuple(aliases),
        links=links,
        polygons=polys,
        boxes=boxes,
        rects=rects,
        notes=tuple(notes),
        ties=ties,
    )
