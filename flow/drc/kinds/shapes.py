"""``notch``, ``extension``, ``overlap``, ``must_overlap``, ``not_overlap``,
``area`` and ``hole``: checks on the shape of merged polygons.

Layers are merged first, as in KLayout (polygons touching at a corner are
one polygon).  Each kind reproduces one KLayout check; the deck snippet of
each kind (``pilotflow pdk export-klayout``) is that check.

================  ============================================================
kind              what is flagged (marker), KLayout equivalent
================  ============================================================
``notch``         two edges of *one* merged polygon facing each other through
                  the outside closer than ``value`` (edge pair):
                  ``layer.notch(value)`` / ``Region.notch_check``
``extension``     the parts of ``other``'s boundary lying inside ``layer``
                  (where ``layer`` crosses an edge of ``other``) closer than
                  ``value`` to ``layer``'s boundary beyond them (edge pair):
                  ``layer.edges.enclosing(other.edges.inside_part(layer), value)``
``overlap``       an edge of ``layer`` and one of ``other`` facing each other
                  through the inside of both (where they overlap) closer than
                  ``value`` (edge pair): ``layer.overlap(other, value)`` /
                  ``Region.overlap_check``
``must_overlap``  a merged polygon of ``layer`` that does not overlap
                  ``other`` with a positive area (touching is not enough;
                  polygon marker): ``layer.not_overlapping(other)``
``not_overlap``   every merged polygon of ``layer & other`` (polygon marker):
                  ``layer & other``
``area``          a merged polygon of ``layer`` with an area (holes excluded)
                  below ``value`` um^2 (polygon marker):
                  ``layer.with_area(nil, value)``
``hole``          a hole of a merged polygon of ``layer`` whose area (the
                  hole's outline, islands inside it included) is below
                  ``value`` um^2 (polygon marker):
                  ``layer.holes.with_area(nil, value)``
================  ============================================================

Areas are compared in dbu^2: a polygon of area exactly ``value`` passes.
``notch``, ``extension`` and ``overlap`` honour ``metric = "projection"``
(KLayout's ``projection``); the default is Euclidean.
"""

from __future__ import annotations

import math

import gdstk
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from flow.drc import edges as E
from flow.drc.core import (
    CheckContext,
    KindImpl,
    Layers,
    SelfTest,
    Violation,
    edge_pair_violations,
    polygon_violation,
    rect,
    register,
)
from flow.drc.kinds.basic import _metric, _out, ruby_um
from pdk.schema import PDK, Rule

# ---------------------------------------------------------------------------
# Merged polygons (KLayout coherence), holes, edge clipping
# ---------------------------------------------------------------------------


def _area2(pts: np.ndarray) -> int:
    """Twice the signed area of a polygon (dbu^2), exact integers."""
    p = pts - pts[0]
    x, y = p[:, 0], p[:, 1]
    return int(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))


def _clean(poly: gdstk.Polygon) -> np.ndarray | None:
    """Integer CCW points without repeated vertices; None when degenerate."""
    pts = np.rint(poly.points).astype(np.int64)
    keep = np.empty(len(pts), bool)
    keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)
    keep[0] = len(pts) > 0 and bool(np.any(pts[0] != pts[-1]))
    pts = pts[keep]
    if len(pts) < 3:
        return None
    a2 = _area2(pts)
    if a2 == 0:
        return None
    return pts[::-1] if a2 < 0 else pts


def _poly_boxes(polys: list[np.ndarray]) -> np.ndarray:
    """Bounding boxes (n, 4) float of point arrays."""
    if not polys:
        return np.zeros((0, 4), np.float64)
    pts = np.vstack(polys)
    at = np.concatenate([[0], np.cumsum([len(p) for p in polys])[:-1]])
    lo = np.minimum.reduceat(pts, at, axis=0)
    hi = np.maximum.reduceat(pts, at, axis=0)
    return np.hstack([lo, hi]).astype(np.float64)


def _clean_all(result: list[gdstk.Polygon]) -> list[np.ndarray]:
    """:func:`_clean` of many polygons at once (vectorised)."""
    if not result:
        return []
    raw = [p.points for p in result]
    sizes = np.array([len(r) for r in raw])
    pts = np.rint(np.vstack(raw)).astype(np.int64)
    first = np.cumsum(sizes) - sizes
    owner = np.repeat(np.arange(len(raw)), sizes)
    prev = np.arange(len(pts)) - 1
    prev[first] = first + sizes - 1
    keep = np.any(pts != pts[prev], axis=1)
    pts, owner = pts[keep], owner[keep]
    counts = np.bincount(owner, minlength=len(raw))
    start = np.cumsum(counts) - counts
    nxt = np.arange(len(pts)) + 1
    ends = start + counts - 1
    valid = counts > 0
    nxt[ends[valid]] = start[valid]
    # twice the signed area, relative to each polygon's first vertex
    rel = pts - pts[start[owner]]
    cross = rel[:, 0] * rel[nxt, 1] - rel[nxt, 0] * rel[:, 1]
    a2 = np.bincount(owner, weights=cross.astype(np.float64), minlength=len(raw))
    out = []
    for k in np.nonzero((counts >= 3) & (a2 != 0))[0].tolist():
        q = pts[start[k] : start[k] + counts[k]]
        out.append(q[::-1] if a2[k] < 0 else q)
    return out


def _splice(parts: list[np.ndarray]) -> np.ndarray:
    """Polygons (CCW) sharing vertices joined into one point sequence that
    passes through each shared vertex (as KLayout draws a polygon whose parts
    touch at a corner)."""
    out = [tuple(p) for p in parts[0].tolist()]
    rest = [[tuple(p) for p in q.tolist()] for q in parts[1:]]
    while rest:
        at = {v: i for i, v in enumerate(out)}
        for k, q in enumerate(rest):
            j = next((j for j, v in enumerate(q) if v in at), None)
            if j is not None:
                i = at[q[j]]
                out = out[: i + 1] + q[j + 1 :] + q[:j] + [q[j]] + out[i + 1 :]
                del rest[k]
                break
        else:  # pragma: no cover - a group always shares vertices
            out += [v for q in rest for v in q]
            break
    return np.array(out, dtype=np.int64)


def _groups(polys: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Polygons grouped where they touch (a shared vertex, or a vertex of one
    on an edge of another): KLayout's merged polygons join them.  Touch
    points are inserted as vertices, so the parts of a group share them."""
    if not polys:
        return []
    n = len(polys)
    # only polygons whose boxes meet another's can touch it
    bi, bj = E.box_pairs(_poly_boxes(polys), None)
    if len(bi) == 0:
        return [[p] for p in polys]
    involved = np.zeros(n, bool)
    involved[bi] = involved[bj] = True
    sub = np.nonzero(involved)[0]
    sizes = np.array([len(polys[k]) for k in sub])
    pts = np.vstack([polys[k] for k in sub])
    owner = np.repeat(sub, sizes)
    idx = np.arange(len(pts)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    nxt = np.arange(len(pts)) + 1
    ends = np.cumsum(sizes) - 1
    nxt[ends] = np.cumsum(sizes) - sizes
    edges = np.hstack([pts, pts[nxt]])
    lens = np.hypot(edges[:, 2] - edges[:, 0], edges[:, 3] - edges[:, 1])
    cell = 2.0 * float(np.median(lens)) if len(lens) else 1.0
    vi, ej = E.box_pairs(E._boxes(np.hstack([pts, pts]), 0.0), E._boxes(edges, 0.0), cell=cell)
    keep = owner[vi] != owner[ej]
    vi, ej = vi[keep], ej[keep]
    a, b, v = edges[ej, :2], edges[ej, 2:], pts[vi]
    u, w = b - a, v - a
    cross = u[:, 0] * w[:, 1] - u[:, 1] * w[:, 0]
    dot = u[:, 0] * w[:, 0] + u[:, 1] * w[:, 1]
    on = (cross == 0) & (dot >= 0) & (dot <= u[:, 0] * u[:, 0] + u[:, 1] * u[:, 1])
    vi, ej, dot = vi[on], ej[on], dot[on]
    rows = np.concatenate([owner[vi], np.arange(n)])
    cols = np.concatenate([owner[ej], np.arange(n)])
    g = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    # touch points strictly inside an edge become vertices of its polygon
    inner = np.any(pts[vi] != edges[ej, :2], axis=1) & np.any(pts[vi] != edges[ej, 2:], axis=1)
    extra: dict[int, list[tuple[int, int, tuple[int, int]]]] = {}
    for e, t, (x, y) in zip(ej[inner].tolist(), dot[inner].tolist(), pts[vi[inner]].tolist()):
        extra.setdefault(int(owner[e]), []).append((int(idx[e]), t, (x, y)))
    out_polys = list(polys)
    for k, ins in extra.items():
        p = [tuple(q) for q in polys[k].tolist()]
        res = []
        ins.sort()
        j = 0
        for i, q in enumerate(p):
            res.append(q)
            while j < len(ins) and ins[j][0] == i:
                if ins[j][2] != res[-1]:
                    res.append(ins[j][2])
                j += 1
        out_polys[k] = np.array(res, dtype=np.int64)
    by: dict[int, list[np.ndarray]] = {}
    for k in range(n):
        by.setdefault(int(comp[k]), []).append(out_polys[k])
    return list(by.values())


def merged_polygons(polys: list[np.ndarray]) -> list[tuple[np.ndarray, int]]:
    """Union of ``polys`` (dbu) as KLayout-coherent merged polygons.

    Returns ``(points, area)`` per merged polygon: ``points`` one CCW point
    sequence (holes joined by zero-width slits, parts touching at a corner
    joined at that corner), ``area`` in dbu^2 (holes excluded).
    """
    if not polys:
        return []
    merged = gdstk.boolean([gdstk.Polygon(p.astype(np.float64)) for p in polys], [], "or", precision=1.0)
    return _as_groups(merged)


def _as_groups(result: list[gdstk.Polygon]) -> list[tuple[np.ndarray, int]]:
    clean = _clean_all(result)
    out = []
    for grp in _groups(clean):
        area2 = sum(_area2(p) for p in grp)
        out.append((_splice(grp) if len(grp) > 1 else grp[0], area2 // 2 if area2 % 2 == 0 else area2 / 2))
    return out


def _layer_polygons(layers: Layers, name: str) -> list[tuple[np.ndarray, int]]:
    key = ("shapes.merged_polygons", name)
    if key not in layers.cache:
        layers.cache[key] = merged_polygons(layers.polygons(name))
    return layers.cache[key]  # type: ignore[return-value]


def loops(edges: np.ndarray) -> list[np.ndarray]:
    """The closed loops of a merged outline (edges from :func:`edges.merge_edges`).

    At a vertex with several outgoing edges (corner contacts) the loop takes
    the sharpest left turn, so that touching parts stay separate loops.
    Returns each loop's vertices in order (CCW outer boundaries, CW holes).
    """
    n = len(edges)
    if n == 0:
        return []
    _, vid = np.unique(np.vstack([edges[:, :2], edges[:, 2:]]), axis=0, return_inverse=True)
    vid = vid.ravel()
    v0, v1 = vid[:n], vid[n:]
    order = np.argsort(v0, kind="stable")
    first = np.searchsorted(v0[order], v1, side="left")
    last = np.searchsorted(v0[order], v1, side="right")
    nxt = order[np.minimum(first, n - 1)]
    for i in np.nonzero(last - first > 1)[0]:
        # incoming direction reversed; first outgoing edge clockwise from it
        back = math.atan2(edges[i, 1] - edges[i, 3], edges[i, 0] - edges[i, 2])
        best, key = None, None
        for j in order[first[i] : last[i]]:
            ang = math.atan2(edges[j, 3] - edges[j, 1], edges[j, 2] - edges[j, 0])
            cw = (back - ang) % (2 * math.pi)
            if cw == 0:
                cw = 2 * math.pi
            if key is None or cw < key:
                best, key = j, cw
        nxt[i] = best
    g = coo_matrix((np.ones(n), (np.arange(n), nxt)), shape=(n, n))
    ncomp, comp = connected_components(g, directed=False)
    out = []
    seen = np.zeros(n, bool)
    for start in np.unique(comp, return_index=True)[1]:
        pts = []
        i = int(start)
        while not seen[i]:
            seen[i] = True
            pts.append(edges[i, :2])
            i = int(nxt[i])
        out.append(np.array(pts, dtype=np.int64))
    return out


def holes(edges: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Holes of a merged outline: ``(points (CCW), area dbu^2)`` each."""
    out = []
    for lp in loops(edges):
        a2 = _area2(lp)
        if a2 < 0:
            out.append((lp[::-1], (-a2) // 2 if a2 % 2 == 0 else -a2 / 2))
    return out


def inside_part(edges: np.ndarray, region: np.ndarray, region_polys: list[np.ndarray]) -> np.ndarray:
    """The parts of ``edges`` lying strictly inside the region whose merged
    outline is ``region`` (parts on its boundary are not inside), like
    KLayout's ``Edges.inside_part``; end points rounded to dbu."""
    if len(edges) == 0 or len(region) == 0:
        return np.zeros((0, 4), np.int64)
    i, j = E.candidate_pairs(edges, region, 0.0)
    a = edges[i].astype(np.float64)
    b = region[j].astype(np.float64)
    p, r = a[:, :2], a[:, 2:] - a[:, :2]
    q, s = b[:, :2], b[:, 2:] - b[:, :2]
    rxs = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    qp = q - p
    qpxr = qp[:, 0] * r[:, 1] - qp[:, 1] * r[:, 0]
    rr = np.einsum("ij,ij->i", r, r)
    cuts_i: list[np.ndarray] = [np.arange(len(edges)), np.arange(len(edges))]
    cuts_t: list[np.ndarray] = [np.zeros(len(edges)), np.ones(len(edges))]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / rxs
        u = qpxr / rxs
    cross = (rxs != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    cuts_i.append(i[cross])
    cuts_t.append(t[cross])
    coll = (rxs == 0) & (qpxr == 0)
    # collinear: both ends of the region edge projected on the edge
    on_i, on_lo, on_hi = [], [], []
    if coll.any():
        t0 = np.einsum("ij,ij->i", qp[coll], r[coll]) / rr[coll]
        t1 = np.einsum("ij,ij->i", qp[coll] + s[coll], r[coll]) / rr[coll]
        ci = i[coll]
        for tt in (t0, t1):
            ok = (tt > 0) & (tt < 1)
            cuts_i.append(ci[ok])
            cuts_t.append(tt[ok])
        on_i, on_lo, on_hi = ci, np.minimum(t0, t1), np.maximum(t0, t1)
    ci = np.concatenate(cuts_i)
    ct = np.concatenate(cuts_t)
    o = np.lexsort((ct, ci))
    ci, ct = ci[o], ct[o]
    same = ci[1:] == ci[:-1]
    k = np.nonzero(same & (ct[1:] - ct[:-1] > 1e-12))[0]
    pe, plo, phi = ci[k], ct[k], ct[k + 1]
    mid = (plo + phi) / 2
    boundary = np.zeros(len(pe), bool)
    if len(on_i):
        # a piece is on the boundary when its midpoint lies on a collinear region edge
        key = np.argsort(on_i, kind="stable")
        oi, olo, ohi = on_i[key], on_lo[key], on_hi[key]
        a0 = np.searchsorted(oi, pe, "left")
        a1 = np.searchsorted(oi, pe, "right")
        for n in np.nonzero(a1 > a0)[0]:
            sl = slice(a0[n], a1[n])
            boundary[n] = bool(np.any((olo[sl] <= mid[n]) & (mid[n] <= ohi[sl])))
    ea = edges[pe].astype(np.float64)
    dv = ea[:, 2:] - ea[:, :2]
    # test a point just off the piece (left of it): never on a seam between
    # drawn polygons or on a line the piece runs along
    nrm = np.stack([-dv[:, 1], dv[:, 0]], axis=1) / np.hypot(dv[:, 0], dv[:, 1])[:, None]
    pts = ea[:, :2] + mid[:, None] * dv + 1e-3 * nrm
    inside = np.zeros(len(pe), bool)
    cand = np.nonzero(~boundary)[0]
    if len(cand):
        inside[cand] = _inside_any(pts[cand], region_polys)
    keep = inside & ~boundary
    ea = ea[keep]
    lo, hi = plo[keep], phi[keep]
    u = ea[:, 2:] - ea[:, :2]
    out = np.rint(np.hstack([ea[:, :2] + lo[:, None] * u, ea[:, :2] + hi[:, None] * u])).astype(np.int64)
    return out[np.any(out[:, :2] != out[:, 2:], axis=1)]


def _inside_any(pts: np.ndarray, polys: list[np.ndarray]) -> np.ndarray:
    """Whether each point lies inside any of ``polys`` (bounding-box pruned)."""
    out = np.zeros(len(pts), bool)
    if not polys or not len(pts):
        return out
    boxes = _poly_boxes(polys)
    size = float(np.median(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])))
    pi, qj = E.box_pairs(np.hstack([pts, pts]), boxes, cell=max(size, 1.0))
    if len(pi) == 0:
        return out
    order = np.argsort(qj, kind="stable")
    pi, qj = pi[order], qj[order]
    starts = np.flatnonzero(np.r_[True, qj[1:] != qj[:-1]])
    stops = np.r_[starts[1:], len(qj)]
    for a, b in zip(starts.tolist(), stops.tolist()):
        sel = pi[a:b]
        hit = np.asarray(gdstk.inside(pts[sel], [gdstk.Polygon(polys[int(qj[a])].astype(np.float64))]), bool)
        out[sel[hit]] = True
    return out


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def area_dbu2(kit: PDK, um2: float) -> float:
    """``um2`` square microns in dbu^2 (not rounded)."""
    return um2 / (kit.dbu_um * kit.dbu_um)


def _below(area: float, limit: float) -> bool:
    return area < limit - 1e-6


def polygon_labels(layers: Layers, name: str) -> np.ndarray:
    """The connectivity label of each merged edge of layer ``name``: edges
    with one label belong to one merged polygon of the whole layout.

    Polygons touching in any way (also at a single point) are one polygon,
    as KLayout merges them.  A tile of a tiled run gets the labels of its
    drawn polygons from the whole layer (``layers.cache[("labels", name)]``,
    see :mod:`flow.drc.labels`), so two edges whose polygon joins far
    outside the tile are still one polygon's; otherwise the layer's own
    polygons are labelled here."""
    from flow.drc.labels import edge_labels, touch_labels

    key = ("edge-labels", name)
    if key not in layers.cache:
        e, pid = layers.merged(name)
        given = layers.cache.get(("labels", name))
        if given is None:
            polys = layers.polygons(name)
            lab = touch_labels(polys)
        else:
            polys, lab = given  # type: ignore[misc]
        layers.cache[key] = edge_labels(e, pid, polys, lab)
    return layers.cache[key]  # type: ignore[return-value]


def check_notch(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    d = kit.dbu(rule.value)
    e, _ = layers.merged(rule.layer)
    if d <= 0 or len(e) == 0:
        return []
    same = polygon_labels(layers, rule.layer)
    _, _, m, dist = E.facing_pairs(E.reverse(e), None, d, same_id=same, metric=rule.metric)
    return edge_pair_violations(rule, kit, m, dist)


def check_extension(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    assert rule.other is not None
    d = kit.dbu(rule.value)
    outer, _ = layers.merged(rule.layer)
    other, _ = layers.merged(rule.other)
    if d <= 0 or len(outer) == 0 or len(other) == 0:
        return []
    crossing = inside_part(other, outer, layers.polygons(rule.layer))
    if len(crossing) == 0:
        return []
    # KLayout's edge-to-edge checks do not shield
    _, _, m, dist = E.facing_pairs(outer, E.reverse(crossing), d, shields=np.zeros((0, 4), np.int64), metric=rule.metric)
    return edge_pair_violations(rule, kit, m, dist)


def check_overlap(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    assert rule.other is not None
    d = kit.dbu(rule.value)
    a, pid = layers.merged(rule.layer)
    b, _ = layers.merged(rule.other)
    if d <= 0 or len(a) == 0 or len(b) == 0:
        return []
    _, _, m, dist = E.facing_pairs(a, b, d, metric=rule.metric, pid_a=pid)
    return edge_pair_violations(rule, kit, m, dist)


def _bbox(p: np.ndarray) -> tuple[int, int, int, int]:
    return int(p[:, 0].min()), int(p[:, 1].min()), int(p[:, 0].max()), int(p[:, 1].max())


def _rects(polys: list[np.ndarray], boxes: np.ndarray) -> np.ndarray:
    """Which polygons are axis-parallel rectangles (4 vertices on their box corners)."""
    if not polys:
        return np.zeros(0, bool)
    sizes = np.array([len(p) for p in polys])
    pts = np.vstack(polys).astype(np.float64)
    owner = np.repeat(np.arange(len(polys)), sizes)
    b = boxes[owner]
    corner = ((pts[:, 0] == b[:, 0]) | (pts[:, 0] == b[:, 2])) & ((pts[:, 1] == b[:, 1]) | (pts[:, 1] == b[:, 3]))
    return (sizes == 4) & (np.bincount(owner, weights=corner, minlength=len(polys)) == sizes)


def check_must_overlap(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    assert rule.other is not None
    mine = _layer_polygons(layers, rule.layer)
    if not mine:
        return []
    theirs = layers.polygons(rule.other)
    mboxes, tboxes = _poly_boxes([m[0] for m in mine]), _poly_boxes(theirs)
    mrect, trect = _rects([m[0] for m in mine], mboxes), _rects(theirs, tboxes)
    mi, tj = E.box_pairs(mboxes, tboxes)
    # two rectangles overlap with a positive area iff their boxes' interiors meet
    a, b = mboxes[mi], tboxes[tj]
    inner = (np.minimum(a[:, 2], b[:, 2]) > np.maximum(a[:, 0], b[:, 0])) & (np.minimum(a[:, 3], b[:, 3]) > np.maximum(a[:, 1], b[:, 1]))
    both = mrect[mi] & trect[tj]
    ok = np.zeros(len(mine), bool)
    ok[mi[both & inner]] = True
    # the rest (some shape not a rectangle): a boolean per polygon of `layer`
    rest = ~both & inner & ~ok[mi]
    mi, tj = mi[rest], tj[rest]
    starts = np.searchsorted(mi, np.arange(len(mine)), "left")
    stops = np.searchsorted(mi, np.arange(len(mine)), "right")
    out = []
    for k, (pts, area) in enumerate(mine):
        if not ok[k]:
            near = tj[starts[k] : stops[k]]
            if len(near):
                others = [gdstk.Polygon(theirs[j].astype(np.float64)) for j in near.tolist()]
                inter = gdstk.boolean([gdstk.Polygon(pts.astype(np.float64))], others, "and", precision=1.0)
                ok[k] = any(c is not None for c in (_clean(p) for p in inter))
        if not ok[k]:
            out.append(polygon_violation(rule, pts, area * kit.dbu_um**2))
    return out


def check_not_overlap(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    assert rule.other is not None
    a, b = layers.polygons(rule.layer), layers.polygons(rule.other)
    if not a or not b:
        return []
    inter = gdstk.boolean(
        [gdstk.Polygon(p.astype(np.float64)) for p in a], [gdstk.Polygon(p.astype(np.float64)) for p in b], "and", precision=1.0
    )
    return [polygon_violation(rule, pts, area * kit.dbu_um**2) for pts, area in _as_groups(inter)]


def check_area(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    limit = area_dbu2(kit, rule.value)
    return [
        polygon_violation(rule, pts, area * kit.dbu_um**2)
        for pts, area in _layer_polygons(layers, rule.layer)
        if _below(area, limit)
    ]


def check_hole(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    limit = area_dbu2(kit, rule.value)
    e, _ = layers.merged(rule.layer)
    return [polygon_violation(rule, pts, area * kit.dbu_um**2) for pts, area in holes(e) if _below(area, limit)]


# ---------------------------------------------------------------------------
# Self-tests
# ---------------------------------------------------------------------------
#
# Shapes of one self-test stand at least 2 * value + 1 um apart (``_gap``), so
# that only the intended shapes interact.  Expected counts are KLayout's too.


def _gap(d: int, kit: PDK) -> int:
    return 2 * d + kit.dbu(1.0)


def _u(x: int, w: int, gap: int, L: int) -> np.ndarray:
    """A U: two arms ``w`` wide and ``L`` high, ``gap`` apart, on a base ``w`` high."""
    return np.array(
        [[x, 0], [x + 2 * w + gap, 0], [x + 2 * w + gap, L], [x + w + gap, L],
         [x + w + gap, w], [x + w, w], [x + w, L], [x, L]],
        dtype=np.int64,
    )


def _ring(x: int, w: int, hw: int, hh: int) -> np.ndarray:
    """A frame ``w`` wide around an ``hw`` x ``hh`` hole, as one polygon (keyhole)."""
    outer = gdstk.rectangle((x, 0), (x + hw + 2 * w, hh + 2 * w))
    hole = gdstk.rectangle((x + w, w), (x + w + hw, w + hh))
    (p,) = gdstk.boolean(outer, hole, "not", precision=1.0)
    return np.rint(p.points).astype(np.int64)


def selftests_notch(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``notch``: U-shaped notches at value pass, as do two separate bars
    closer than value (a spacing, not a notch); a U 1 dbu narrower and a
    slot-shaped hole 1 dbu narrower fail once each."""
    d = kit.dbu(rule.value)
    w = max(d, kit.dbu(1.0))
    L, g = 4 * w + d, _gap(d, kit)
    apart = [rect(0, 0, w, L), rect(w + max(d - 1, 0), 0, 2 * w + max(d - 1, 0), L)]
    x = 2 * w + d + g
    ok = apart + [_u(x, w, d, L), _ring(x + 2 * w + d + g, w, d, L)]
    tests = [SelfTest("at value", {rule.layer: ok}, 0,
                      f"a U-shaped notch and a slot {rule.value:g} um wide; two separate bars closer than that (not a notch)")]
    if d >= 2:
        bad = [_u(0, w, d - 1, L), _u(2 * w + d + g, w, d, L), _ring(2 * (2 * w + d + g), w, d - 1, L)]
        tests.append(SelfTest("1 dbu below value", {rule.layer: bad}, 2,
                              "a U and a slot 1 dbu narrower than the rule (one marker each), next to a U at the rule value"))
    return tests


def selftests_extension(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``extension``: a bar of ``layer`` crossing ``other`` and extending
    exactly ``value`` beyond both of its edges passes, as do a bar ending
    inside ``other`` and one wholly outside; extending 1 dbu short at one end
    fails once."""
    assert rule.other is not None
    d = kit.dbu(rule.value)
    w = max(d, kit.dbu(1.0))
    H, g = 4 * w + 2 * d, _gap(d, kit)

    def crossing(x: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        return rect(x, -lo, x + w, H + hi), rect(x - g // 2, 0, x + w + g // 2, H)

    def shapes(*cells: tuple[np.ndarray, np.ndarray], extra: dict | None = None) -> dict[str, list[np.ndarray]]:
        out = {rule.layer: [c[0] for c in cells], rule.other: [c[1] for c in cells]}
        for k, v in (extra or {}).items():
            out[k] = out[k] + v
        return out

    step = w + 2 * g
    # a bar ending inside `other` (only its crossing end counts), one outside
    inside_end = (rect(2 * step, w, 2 * step + w, H + d), rect(2 * step - g // 2, 0, 2 * step + w + g // 2, H))
    alone = rect(3 * step, 0, 3 * step + w, H)
    tests = [SelfTest("at value", shapes(crossing(0, d, d), inside_end, extra={rule.layer: [alone]}), 0,
                      f"{rule.layer} extends {rule.value:g} um beyond {rule.other} at each crossing")]
    if d >= 1:
        tests.append(SelfTest("1 dbu below value", shapes(crossing(0, d, d - 1), crossing(step, d, d)), 1,
                              "one extension 1 dbu short, next to a crossing at the rule value"))
    return tests


def selftests_overlap(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``overlap``: ``layer`` and ``other`` overlapping by exactly ``value``
    pass; 1 dbu less fails once per pair."""
    assert rule.other is not None
    d = kit.dbu(rule.value)
    W = max(d, kit.dbu(1.0)) + d
    H, g = 4 * W, _gap(d, kit)

    def pair(x: int, ov: int) -> tuple[np.ndarray, np.ndarray]:
        # `other` taller than `layer`: no collinear edges
        return rect(x, 0, x + W, H), rect(x + W - ov, -g, x + 2 * W - ov, H + g)

    def shapes(*pairs: tuple[np.ndarray, np.ndarray]) -> dict[str, list[np.ndarray]]:
        return {rule.layer: [p[0] for p in pairs], rule.other: [p[1] for p in pairs]}

    step = 2 * W + g
    tests = [SelfTest("at value", shapes(pair(0, d)), 0, f"{rule.layer} overlaps {rule.other} by {rule.value:g} um")]
    if d >= 2:
        tests.append(SelfTest("1 dbu below value", shapes(pair(0, d - 1), pair(step, d)), 1,
                              "one overlap 1 dbu narrower than the rule, next to one at the rule value"))
    return tests


def selftests_must_overlap(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``must_overlap``: shapes of ``layer`` overlapping ``other`` (even by
    1 dbu) pass; one only touching ``other`` and one far from it fail once
    each."""
    assert rule.other is not None
    s = kit.dbu(2.0)
    g = kit.dbu(2.0)
    ok = {rule.layer: [rect(0, 0, s, s), rect(s + g, 0, 2 * s + g, s)],
          rule.other: [rect(s - 1, -g, s + g // 2, s + g), rect(2 * s + g - 1, 0, 3 * s + g, s)]}
    bad = {rule.layer: [rect(0, 0, s, s), rect(s + 3 * g, 0, 2 * s + 3 * g, s), rect(4 * s + 6 * g, 0, 5 * s + 6 * g, s)],
           rule.other: [rect(s, 0, 2 * s, s), rect(2 * s + 3 * g - 1, 0, 3 * s + 3 * g, s)]}
    return [
        SelfTest("overlapping", ok, 0, f"{rule.layer} shapes overlapping {rule.other} by 1 dbu or more"),
        SelfTest("touching or apart", bad, 2, f"a {rule.layer} shape only touching {rule.other} and one far from it (one marker each)"),
    ]


def selftests_not_overlap(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``not_overlap``: ``layer`` abutting ``other`` passes; two overlaps
    (one of 1 dbu) fail once each."""
    assert rule.other is not None
    s = kit.dbu(2.0)
    g = kit.dbu(2.0)
    ok = {rule.layer: [rect(0, 0, s, s)], rule.other: [rect(s, 0, 2 * s, s), rect(0, s, s, 2 * s)]}
    bad = {rule.layer: [rect(0, 0, s, s), rect(3 * s, 0, 4 * s, s)],
           rule.other: [rect(s - 1, 0, 2 * s, s), rect(3 * s + g // 2, -g, 3 * s + g, s + g)]}
    return [
        SelfTest("abutting", ok, 0, f"{rule.layer} touching {rule.other} along edges"),
        SelfTest("overlapping", bad, 2, f"{rule.layer} overlapping {rule.other} twice, once by 1 dbu (one marker each)"),
    ]


def _exact_area(x: int, y: int, A: int) -> np.ndarray:
    """A polygon of area exactly ``A`` dbu^2 (a near-square plus a 1 dbu step)."""
    w = max(1, math.isqrt(A))
    if w * w < A:
        w += 1
    h, r = divmod(A, w)
    if r == 0:
        return rect(x, y, x + w, y + h)
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x + r, y + h], [x + r, y + h + 1], [x, y + h + 1]], np.int64)


def _min_area(rule: Rule, kit: PDK) -> int:
    """The smallest whole area (dbu^2) that passes the rule."""
    lim = area_dbu2(kit, rule.value)
    return max(1, math.ceil(lim - 1e-6))


def selftests_area(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``area``: a polygon of exactly ``value`` passes, as do two halves
    touching along an edge (one merged polygon); a polygon 1 dbu^2 short
    fails once."""
    A = _min_area(rule, kit)
    side = math.isqrt(A) + 2
    g = side + kit.dbu(1.0)
    h = max(1, A // (2 * side)) + 1  # two touching halves, together >= A
    halves = [rect(2 * g, 0, 2 * g + side, h), rect(2 * g, h, 2 * g + side, 2 * h)]
    tests = [SelfTest("at value", {rule.layer: [_exact_area(0, 0, A)] + halves}, 0,
                      f"a polygon of exactly {rule.value:g} um^2; two smaller halves touching (merged)")]
    if A >= 2:
        tests.append(SelfTest("1 dbu2 below value", {rule.layer: [_exact_area(0, 0, A - 1), _exact_area(g, 0, A)]}, 1,
                              "a polygon 1 dbu^2 smaller than the rule next to one at the rule value"))
    return tests


def _frame(x: int, hole: np.ndarray, w: int) -> np.ndarray:
    """A frame ``w`` wide around ``hole`` (moved by ``x``), one keyhole polygon."""
    h = hole + [x + w, w]
    x0, y0, x1, y1 = _bbox(h)
    (p,) = gdstk.boolean(gdstk.rectangle((x0 - w, y0 - w), (x1 + w, y1 + w)), gdstk.Polygon(h.astype(np.float64)), "not", precision=1.0)
    return np.rint(p.points).astype(np.int64)


def selftests_hole(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``hole``: a hole of exactly ``value`` passes, as does an open U (not a
    hole); a hole 1 dbu^2 short fails once."""
    A = _min_area(rule, kit)
    w = kit.dbu(1.0)
    side = math.isqrt(A) + 2
    g = side + 3 * w
    u = _u(2 * g, w, side // 2 + 1, side // 2 + 1)
    tests = [SelfTest("at value", {rule.layer: [_frame(0, _exact_area(0, 0, A), w), u]}, 0,
                      f"a hole of exactly {rule.value:g} um^2; a U-shaped opening (not a hole)")]
    if A >= 2:
        tests.append(SelfTest("1 dbu2 below value",
                              {rule.layer: [_frame(0, _exact_area(0, 0, A - 1), w), _frame(g, _exact_area(0, 0, A), w)]}, 1,
                              "a hole 1 dbu^2 smaller than the rule next to one at the rule value"))
    return tests


# ---------------------------------------------------------------------------
# KLayout deck snippets
# ---------------------------------------------------------------------------


def ruby_um2(kit: PDK, rule: Rule) -> str:
    """The rule's area as a KLayout DSL area in um^2 (a float)."""
    s = f"{rule.value:.12f}".rstrip("0")
    return s + "0" if s.endswith(".") else s


def klayout_notch(rule: Rule, kit: PDK, var) -> str:
    return f"{var(rule.layer)}.notch({ruby_um(kit, kit.dbu(rule.value))}, {_metric(rule)}){_out(rule)}"


def klayout_extension(rule: Rule, kit: PDK, var) -> str:
    a, b = var(rule.layer), var(rule.other)
    return f"{a}.edges.enclosing({b}.edges.inside_part({a}), {ruby_um(kit, kit.dbu(rule.value))}, {_metric(rule)}){_out(rule)}"


def klayout_overlap(rule: Rule, kit: PDK, var) -> str:
    return f"{var(rule.layer)}.overlap({var(rule.other)}, {ruby_um(kit, kit.dbu(rule.value))}, {_metric(rule)}){_out(rule)}"


def klayout_must_overlap(rule: Rule, kit: PDK, var) -> str:
    return f"{var(rule.layer)}.not_overlapping({var(rule.other)}){_out(rule)}"


def klayout_not_overlap(rule: Rule, kit: PDK, var) -> str:
    return f"({var(rule.layer)} & {var(rule.other)}){_out(rule)}"


def klayout_area(rule: Rule, kit: PDK, var) -> str:
    return f"{var(rule.layer)}.with_area(nil, {ruby_um2(kit, rule)}){_out(rule)}"


def klayout_hole(rule: Rule, kit: PDK, var) -> str:
    return f"{var(rule.layer)}.holes.with_area(nil, {ruby_um2(kit, rule)}){_out(rule)}"


NOTCH = register(KindImpl("notch", check_notch, selftests_notch, klayout_notch))
EXTENSION = register(KindImpl("extension", check_extension, selftests_extension, klayout_extension))
OVERLAP = register(KindImpl("overlap", check_overlap, selftests_overlap, klayout_overlap))
MUST_OVERLAP = register(KindImpl("must_overlap", check_must_overlap, selftests_must_overlap, klayout_must_overlap))
NOT_OVERLAP = register(KindImpl("not_overlap", check_not_overlap, selftests_not_overlap, klayout_not_overlap))
AREA = register(KindImpl("area", check_area, selftests_area, klayout_area))
HOLE = register(KindImpl("hole", check_hole, selftests_hole, klayout_hole))
