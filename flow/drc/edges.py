"""Edge-level geometry kernels of the DRC engine (integer dbu in, numpy out).

Conventions
-----------
An *edge array* is an ``(n, 4)`` int64 array of directed edges
``x0, y0, x1, y1`` (dbu).  Merged polygons are oriented counter-clockwise, so
a polygon's interior lies on the *left* of each of its edges.  Every check is
reduced to one kernel, :func:`facing_pairs`, where both edge sets are oriented
so that the side to look at ("checked side") is on the left:

============  ===========================  ===========================
check         edges ``a``                  edges ``b``
============  ===========================  ===========================
width         layer, as is (interior)      same set, same polygon only
spacing       layer, reversed (exterior)   same set
separation    layer, reversed              other layer, reversed
enclosure     outer layer, as is           inner layer, reversed
============  ===========================  ===========================

Semantics follow KLayout's defaults (Euclidean metric, ``ignore_angle`` 90,
shielding on): a pair violates when the edges are anti-parallel-ish
(direction dot product < 0, i.e. edges meeting at >= 90 degrees are never
paired), each lies (at least partly) on the other's checked side, and the
part of each within Euclidean distance < ``d`` of the other is non-empty.
Collinear anti-parallel edges pair only when they touch or overlap
(distance 0).  A pair is dropped ("shielded") when one third edge meets
both sides joining the two near parts (an edge only partly in between does
not shield, as in KLayout); edges on the pair's own lines never shield.
Near parts are rounded to dbu and identical rounded pairs reported once.
In two-layer checks (given the first layer's polygon ids, ``pid_a``) the
edges of the first layer shield a pair only when they belong to the pair's
own polygon of that layer: KLayout checks each polygon of the first layer
against the shapes of the second, so another polygon of the first layer
(e.g. one that a shape of the second layer lies in, sharing its edge) never
hides a pair.  An edge of one layer lying on the line of the other
layer's pair edge does shield (e.g. ``overlap`` where ``other`` runs along
``layer``'s boundary), and collinear pairs touching end to end are never
shielded, as in KLayout.

Known differences from KLayout (tests compare counts exactly for width and
space on layouts without them):

* corner-to-corner contact of one layer's shapes ("kissing" corners):
  KLayout reports two zero-distance markers, we report none;
* two-layer checks: a corner-to-corner pair whose near part is only about
  1 dbu long can be cut off by the edge on the other side of the corner
  (KLayout keeps it; about 1 random layout in 100 has one);
  inner shapes partly outside ``outer``
  are skipped by KLayout's ``enclosing_check`` but may give us edge pairs
  for their inside part (the engine reports them as uncovered polygons
  anyway).
"""

from __future__ import annotations

import gdstk
import numpy as np

#: Distances are compared as ``dist < d - _EPS`` (dbu): exact-value cases
#: (distance == d) never violate despite floating-point rounding.
_EPS = 1e-6


# ---------------------------------------------------------------------------
# Merging
# ---------------------------------------------------------------------------


def merge_edges(polygons: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Union ``polygons`` (dbu) and return the merged outline as edges.

    Returns
    -------
    edges
        ``(n, 4)`` int64, counter-clockwise outer boundaries and clockwise
        holes (interior on the left), collinear runs joined into one edge.
    poly_id
        ``(n,)`` int64 index of the merged polygon each edge belongs to.

    Notes
    -----
    gdstk (Clipper) returns holes joined to their outer boundary by a
    zero-width "keyhole" slit and may leave touching boundaries as
    overlapping opposite edges; :func:`_normalise` nets these out and joins
    the boundary edges they split.
    """
    if not polygons:
        return np.zeros((0, 4), np.int64), np.zeros(0, np.int64)
    merged = union(polygons)
    if not merged:
        return np.zeros((0, 4), np.int64), np.zeros(0, np.int64)
    # All merged polygons at once: vertex i's successor is i + 1, wrapping
    # to the first vertex of its polygon.
    pts = np.rint(np.vstack([p.points for p in merged])).astype(np.int64)
    lens = np.fromiter((len(p.points) for p in merged), np.int64, len(merged))
    starts = np.cumsum(lens) - lens
    pid = np.repeat(np.arange(len(merged), dtype=np.int64), lens)
    nxt = np.arange(1, len(pts) + 1)
    nxt[starts + lens - 1] = starts
    x, y = pts[:, 0], pts[:, 1]
    area2 = np.add.reduceat(x * y[nxt] - x[nxt] * y, starts)
    edges = np.hstack([pts, pts[nxt]])
    # clockwise polygons are reversed (interior on the left); degenerate
    # ones (zero area) and zero-length edges dropped.  Collinear vertices
    # need no removal here: _normalise joins contiguous pieces of one line.
    cw = (area2 < 0)[pid]
    edges[cw] = edges[cw][:, [2, 3, 0, 1]]
    keep = (area2 != 0)[pid] & np.any(edges[:, :2] != edges[:, 2:], axis=1)
    if not keep.any():
        return np.zeros((0, 4), np.int64), np.zeros(0, np.int64)
    return _normalise(edges[keep], pid[keep])


#: Polygons per tile in :func:`union` (Clipper's union grows faster than
#: linearly with the number of edges in its sweep; small tiles keep it fast).
UNION_TILE_POLYGONS = 1500


def union(polygons: list[np.ndarray]) -> list[gdstk.Polygon]:
    """The union of ``polygons`` (dbu) as gdstk polygons, computed in tiles.

    The same result as one ``gdstk.boolean(..., "or")`` call (up to vertex
    order and how polygons touching at a single point are split), in about
    linear time: polygons whose bounding box lies inside one tile (half-open)
    are merged per tile; the polygons crossing or touching a tile line are
    then merged together with those tile results whose boxes meet theirs
    (tile results never touch one another, so nothing else can join).
    """
    n = len(polygons)
    if n == 0:
        return []
    src = [gdstk.Polygon(p.astype(np.float64)) for p in polygons]
    if n <= 2 * UNION_TILE_POLYGONS:
        return gdstk.boolean(src, [], "or", precision=1.0)
    pts = np.vstack(polygons)
    lens = np.fromiter((len(p) for p in polygons), np.int64, n)
    starts = np.cumsum(lens) - lens
    x0 = np.minimum.reduceat(pts[:, 0], starts)
    y0 = np.minimum.reduceat(pts[:, 1], starts)
    x1 = np.maximum.reduceat(pts[:, 0], starts)
    y1 = np.maximum.reduceat(pts[:, 1], starts)
    ox, oy = int(x0.min()), int(y0.min())
    w, h = int(x1.max()) - ox + 1, int(y1.max()) - oy + 1
    t = max(1, int(np.sqrt(w * h * UNION_TILE_POLYGONS / n)))
    nx = -(-w // t)
    tx0, tx1 = (x0 - ox) // t, (x1 - ox) // t
    ty0, ty1 = (y0 - oy) // t, (y1 - oy) // t
    clean = (tx0 == tx1) & (ty0 == ty1)
    out: list[gdstk.Polygon] = []
    # phase 1: per tile, the polygons wholly inside it
    tile = ty0 * nx + tx0
    ci = np.nonzero(clean)[0]
    ci = ci[np.argsort(tile[ci], kind="stable")]
    tiles, first = np.unique(tile[ci], return_index=True)
    bounds = np.append(first, len(ci))
    results: dict[int, list[gdstk.Polygon]] = {}
    for k, tid in enumerate(tiles.tolist()):
        results[tid] = gdstk.boolean([src[i] for i in ci[bounds[k]:bounds[k + 1]]], [], "or", precision=1.0)
    cross = np.nonzero(~clean)[0]
    if len(cross) == 0:
        for r in results.values():
            out += r
        return out
    # phase 2: crossing polygons with the tile results their boxes meet
    involved: list[gdstk.Polygon] = [src[i] for i in cross.tolist()]
    cb = np.stack([x0[cross], y0[cross], x1[cross], y1[cross]], axis=1)
    touched: dict[int, np.ndarray] = {}
    for tid, r in results.items():
        if not r:
            continue
        ty, tx = divmod(tid, nx)
        near = (tx0[cross] <= tx) & (tx <= tx1[cross]) & (ty0[cross] <= ty) & (ty <= ty1[cross])
        if not near.any():
            continue
        c = cb[near]
        rb = np.array([[*p.bounding_box()[0], *p.bounding_box()[1]] for p in r])
        hit = (
            (rb[:, None, 0] <= c[None, :, 2])
            & (c[None, :, 0] <= rb[:, None, 2])
            & (rb[:, None, 1] <= c[None, :, 3])
            & (c[None, :, 1] <= rb[:, None, 3])
        ).any(axis=1)
        touched[tid] = hit
    for tid, r in results.items():
        hit = touched.get(tid)
        for j, p in enumerate(r):
            (involved if hit is not None and hit[j] else out).append(p)
    out += gdstk.boolean(involved, [], "or", precision=1.0)
    return out


def unique_ints(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a 1-D integer array (sort-based: several
    times faster than ``np.unique``'s hash path on millions of keys)."""
    if len(a) == 0:
        return a
    s = np.sort(a)
    keep = np.empty(len(s), bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def _group_ids(*cols: np.ndarray) -> np.ndarray:
    """Dense ids of equal rows of the columns ``cols`` (faster than
    ``np.unique(axis=0)``: one lexsort, no structured views)."""
    n = len(cols[0])
    if n == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort(cols[::-1])
    new = np.zeros(n, bool)
    new[0] = True
    for c in cols:
        cs = c[order]
        new[1:] |= cs[1:] != cs[:-1]
    ids = np.empty(n, np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids


def _normalise(edges: np.ndarray, pid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Net out collinear edges: on each supporting line, opposite overlapping
    edges cancel (keyhole slits, touching artefacts) and contiguous edges of
    the same direction are joined into one.

    Every edge gets a line key (reduced direction ``c`` and offset
    ``cross(c, p0)``) and an interval of ``dot(c, p)``; a sweep over sorted
    interval ends per line gives the net winding of each elementary piece.
    """
    d = edges[:, 2:] - edges[:, :2]
    g = np.gcd(np.abs(d[:, 0]), np.abs(d[:, 1]))
    c = d // g[:, None]
    flip = (c[:, 0] < 0) | ((c[:, 0] == 0) & (c[:, 1] < 0))
    sign = np.where(flip, -1, 1)
    c = np.where(flip[:, None], -c, c)
    off = c[:, 0] * edges[:, 1] - c[:, 1] * edges[:, 0]
    t0 = c[:, 0] * edges[:, 0] + c[:, 1] * edges[:, 1]
    t1 = c[:, 0] * edges[:, 2] + c[:, 1] * edges[:, 3]
    lo, hi = np.minimum(t0, t1), np.maximum(t0, t1)
    grp = _group_ids(c[:, 0], c[:, 1], off)
    n = len(edges)
    ev_g = np.concatenate([grp, grp])
    ev_t = np.concatenate([lo, hi])
    ev_w = np.concatenate([sign, -sign])
    ev_e = np.concatenate([np.arange(n), np.arange(n)])
    order = np.lexsort((ev_t, ev_g))
    ev_g, ev_t, ev_w, ev_e = ev_g[order], ev_t[order], ev_w[order], ev_e[order]
    # net winding after each event, restarted per line (groups sum to 0)
    net = np.cumsum(ev_w)
    # pid: the edge of the most recent opening event of each sign
    idx = np.arange(len(ev_w))
    last_pos = np.maximum.accumulate(np.where(ev_w > 0, idx, 0))
    last_neg = np.maximum.accumulate(np.where(ev_w < 0, idx, 0))
    same = ev_g[:-1] == ev_g[1:]
    seg = same & (ev_t[1:] > ev_t[:-1]) & (net[:-1] != 0)
    k = np.nonzero(seg)[0]
    s_g, s_lo, s_hi, s_net = ev_g[k], ev_t[k], ev_t[k + 1], net[k]
    s_pid = pid[ev_e[np.where(s_net > 0, last_pos[k], last_neg[k])]]
    if len(k) == 0:
        return np.zeros((0, 4), np.int64), np.zeros(0, np.int64)
    # join contiguous pieces of one line with the same winding
    new_run = np.ones(len(k), bool)
    new_run[1:] = ~((s_g[1:] == s_g[:-1]) & (s_lo[1:] == s_hi[:-1]) & (np.sign(s_net[1:]) == np.sign(s_net[:-1])))
    run = np.cumsum(new_run) - 1
    first = np.nonzero(new_run)[0]
    last = np.append(first[1:] - 1, len(k) - 1)
    r_lo, r_hi, r_net, r_g, r_pid = s_lo[first], s_hi[last], s_net[first], s_g[first], s_pid[first]
    del run
    # representative direction and offset of each line
    rep = np.zeros(grp.max() + 1, np.int64)
    rep[grp] = np.arange(n)
    cx, cy, of = c[rep[r_g], 0], c[rep[r_g], 1], off[rep[r_g]]
    n2 = cx * cx + cy * cy

    def point(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (t * cx - of * cy) // n2, (t * cy + of * cx) // n2

    ax, ay = point(r_lo)
    bx, by = point(r_hi)
    fwd = r_net > 0
    out = np.stack([np.where(fwd, ax, bx), np.where(fwd, ay, by), np.where(fwd, bx, ax), np.where(fwd, by, ay)], axis=1)
    out = out.astype(np.int64)
    return out, _connected_ids(out, r_pid.astype(np.int64))


def _connected_ids(edges: np.ndarray, pid: np.ndarray) -> np.ndarray:
    """Polygon ids made consistent: ids whose edges share a vertex are one
    polygon (gdstk may return touching parts separately)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(edges) == 0:
        return pid
    pts = np.vstack([edges[:, :2], edges[:, 2:]])
    vid = _group_ids(pts[:, 0], pts[:, 1])
    npid = int(pid.max()) + 1
    rows = np.concatenate([pid, pid])
    cols = npid + vid
    size = npid + int(vid.max()) + 1
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    _, comp = connected_components(graph, directed=False)
    return comp[pid].astype(np.int64)


def hole_edges(edges: np.ndarray) -> np.ndarray:
    """Mask of the edges of merged outlines (:func:`merge_edges`) that bound
    holes: the rings (chains of edges sharing vertices) whose signed area
    is negative (clockwise)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(edges)
    if n == 0:
        return np.zeros(0, bool)
    pts = np.vstack([edges[:, :2], edges[:, 2:]])
    vid = _group_ids(pts[:, 0], pts[:, 1])
    size = int(vid.max()) + 1
    graph = coo_matrix((np.ones(n), (vid[:n], vid[n:])), shape=(size, size))
    _, comp = connected_components(graph, directed=False)
    ring = comp[vid[:n]]
    e = edges.astype(np.float64)
    area = np.bincount(ring, weights=e[:, 0] * e[:, 3] - e[:, 2] * e[:, 1])
    return area[ring] < 0


def reverse(edges: np.ndarray) -> np.ndarray:
    """The same edges traversed the other way (checked side flips)."""
    return edges[:, [2, 3, 0, 1]]


# ---------------------------------------------------------------------------
# Spatial pre-filter
# ---------------------------------------------------------------------------


#: Candidate pairs are produced in batches of about this many (bounds memory).
PAIR_BATCH = 4_000_000


def _boxes(e: np.ndarray, grow: float) -> np.ndarray:
    """Bounding boxes ``(n, 4)`` float (x0, y0, x1, y1) of edges, grown by ``grow``."""
    b = np.empty((len(e), 4), np.float64)
    b[:, 0] = np.minimum(e[:, 0], e[:, 2]) - grow
    b[:, 1] = np.minimum(e[:, 1], e[:, 3]) - grow
    b[:, 2] = np.maximum(e[:, 0], e[:, 2]) + grow
    b[:, 3] = np.maximum(e[:, 1], e[:, 3]) + grow
    return b


def _cell_entries(box: np.ndarray, ox: float, oy: float, c: float, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """(cell id, edge index) of every grid cell each box overlaps, sorted by cell."""
    cx0 = np.floor((box[:, 0] - ox) / c).astype(np.int64)
    cy0 = np.floor((box[:, 1] - oy) / c).astype(np.int64)
    cx1 = np.floor((box[:, 2] - ox) / c).astype(np.int64)
    cy1 = np.floor((box[:, 3] - oy) / c).astype(np.int64)
    w = cx1 - cx0 + 1
    k = w * (cy1 - cy0 + 1)
    owner = np.repeat(np.arange(len(box), dtype=np.int64), k)
    local = np.arange(len(owner), dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
    ww = w[owner]
    cell = (cy0[owner] + local // ww) * nx + cx0[owner] + local % ww
    order = np.argsort(cell, kind="stable")
    return cell[order], owner[order]


def _expand(lo: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows r with partner range [lo[r], lo[r] + counts[r]): (row, partner) pairs."""
    rows = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    off = np.arange(len(rows), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, lo[rows] + off


def _batches(counts: np.ndarray) -> list[tuple[int, int]]:
    """Split rows into consecutive ranges of about PAIR_BATCH pairs each."""
    cum = np.cumsum(counts)
    out, start, base = [], 0, 0
    while start < len(counts):
        stop = int(np.searchsorted(cum, base + PAIR_BATCH, side="right"))
        stop = max(stop, start + 1)
        out.append((start, stop))
        base = int(cum[stop - 1])
        start = stop
    return out


def candidate_pairs(ea: np.ndarray, eb: np.ndarray | None, d: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)`` of edges that may lie closer than ``d`` (or
    touch, for ``d = 0``), sorted by ``(i, j)``.

    ``eb=None`` means pairs within ``ea`` itself, each unordered pair once
    (``i < j``).  A superset of the true pairs: the edges' bounding boxes,
    each grown by ``d / 2``, meet (closed).  Boxes are hashed into a uniform
    grid; a pair is produced only in the grid cell holding the lower-left
    corner of the two grown boxes' intersection, so each pair comes once and
    no de-duplication is needed.  Pairs are built in batches (memory bounded
    by :data:`PAIR_BATCH`), in time linear in the number of (cell, edge)
    entries and pairs.
    """
    if len(ea) == 0 or (eb is not None and len(eb) == 0):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ba = _boxes(ea, d / 2.0)
    return box_pairs(ba, None if eb is None else _boxes(eb, d / 2.0), cell=2.0 * d)


def box_pairs(ba: np.ndarray, bb: np.ndarray | None, cell: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)`` of boxes ``ba[i]`` and ``bb[j]`` (float
    ``x0, y0, x1, y1``) that meet (closed), sorted by ``(i, j)``;
    ``bb=None``: pairs within ``ba``, ``i < j``.  Grid cells are at least
    ``cell`` wide (see :func:`candidate_pairs`)."""
    eb = bb
    bb = ba if bb is None else bb
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    if len(ba) == 0 or len(bb) == 0:
        return empty
    lens = np.concatenate([ba[:, 2] - ba[:, 0], ba[:, 3] - ba[:, 1], bb[:, 2] - bb[:, 0], bb[:, 3] - bb[:, 1]])
    # not below half a typical box's larger side: Manhattan edges' boxes have
    # one side 0, so the median over both sides can be 0 (cells of 1 dbu: a
    # long edge in thousands of cells)
    big = np.concatenate([np.maximum(ba[:, 2] - ba[:, 0], ba[:, 3] - ba[:, 1]), np.maximum(bb[:, 2] - bb[:, 0], bb[:, 3] - bb[:, 1])])
    c = float(max(cell, np.median(lens) * 2.0, np.median(big) * 0.5, 1.0))
    ox = float(min(ba[:, 0].min(), bb[:, 0].min()))
    oy = float(min(ba[:, 1].min(), bb[:, 1].min()))
    nx = int((max(ba[:, 2].max(), bb[:, 2].max()) - ox) // c) + 1
    cell_a, own_a = _cell_entries(ba, ox, oy, c, nx)
    if eb is None:
        cell_b, own_b = cell_a, own_a
        # partners of entry p: the later entries of its cell
        hi = np.searchsorted(cell_a, cell_a, side="right")
        lo = np.arange(len(cell_a), dtype=np.int64) + 1
    else:
        cell_b, own_b = _cell_entries(bb, ox, oy, c, nx)
        lo = np.searchsorted(cell_b, cell_a, side="left")
        hi = np.searchsorted(cell_b, cell_a, side="right")
    counts = hi - lo
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    for s0, s1 in _batches(counts):
        rows, q = _expand(lo[s0:s1], counts[s0:s1])
        rows += s0
        i, j = own_a[rows], own_b[q]
        cell = cell_a[rows]
        x0 = np.maximum(ba[i, 0], bb[j, 0])
        y0 = np.maximum(ba[i, 1], bb[j, 1])
        meet = (x0 <= np.minimum(ba[i, 2], bb[j, 2])) & (y0 <= np.minimum(ba[i, 3], bb[j, 3]))
        ref = np.floor((y0 - oy) / c).astype(np.int64) * nx + np.floor((x0 - ox) / c).astype(np.int64)
        keep = meet & (ref == cell)
        i, j = i[keep], j[keep]
        if eb is None:
            i, j = np.minimum(i, j), np.maximum(i, j)
        out_i.append(i)
        out_j.append(j)
    if not out_i:
        return empty
    i = np.concatenate(out_i)
    j = np.concatenate(out_j)
    m = len(bb)
    key = np.sort(i * m + j)
    return key // m, key % m


# ---------------------------------------------------------------------------
# The facing-pair kernel
# ---------------------------------------------------------------------------


def _lin(lo: np.ndarray, hi: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intersect [lo, hi] with {w : c0 + c1 w > 0}."""
    with np.errstate(divide="ignore", invalid="ignore"):
        root = -c0 / c1
    pos = c1 > 0
    neg = c1 < 0
    zero = ~(pos | neg)
    lo = np.where(pos, np.maximum(lo, root), lo)
    hi = np.where(neg, np.minimum(hi, root), hi)
    dead = zero & (c0 <= 0)
    hi = np.where(dead, -np.inf, hi)
    return lo, hi


def near_part(a: np.ndarray, b: np.ndarray, d: float, metric: str = "euclidean") -> tuple[np.ndarray, np.ndarray]:
    """Parameter interval ``[lo, hi]`` (along ``b``, 0..1) of the part of edge
    ``b`` lying strictly on the left of ``a`` and closer than ``d`` to ``a``.

    ``a``, ``b``: ``(k, 4)`` float arrays; empty when ``hi - lo`` is not
    positive.  The region is the open "stadium" of radius ``d`` around ``a``
    cut by ``a``'s line: a convex set, so the result is one interval.  With
    ``metric="projection"`` (KLayout's ``projection``) the disks around
    ``a``'s ends are left out: only the band over ``a`` (``0 <= t <= L``,
    perpendicular distance below ``d``) counts.
    """
    d = d - _EPS
    p0, p1 = a[:, :2], a[:, 2:]
    u = p1 - p0
    L = np.hypot(u[:, 0], u[:, 1])
    ux, uy = u[:, 0] / L, u[:, 1] / L
    q0, q1 = b[:, :2], b[:, 2:]
    w = q1 - q0
    # local coordinates of b's ends: t along a, s to the left of a
    r0 = q0 - p0
    t0 = r0[:, 0] * ux + r0[:, 1] * uy
    s0 = -r0[:, 0] * uy + r0[:, 1] * ux
    dt = w[:, 0] * ux + w[:, 1] * uy
    ds = -w[:, 0] * uy + w[:, 1] * ux
    zero = np.zeros(len(a))
    one = np.ones(len(a))
    # half-plane s > 0
    hlo, hhi = _lin(zero, one, s0 - _EPS, ds)
    # band: 0 <= t <= L, s < d
    # projection: only strictly over a (a part touching a's end line alone
    # has no projected length)
    te = -_EPS if metric == "projection" else _EPS
    blo, bhi = _lin(hlo, hhi, t0 + te, dt)
    blo, bhi = _lin(blo, bhi, L - t0 + te, -dt)
    blo, bhi = _lin(blo, bhi, d - s0, -ds)
    lo = np.where(bhi > blo, blo, np.inf)
    hi = np.where(bhi > blo, bhi, -np.inf)
    if metric == "projection":
        return lo, hi
    # disks around a's ends
    A = w[:, 0] ** 2 + w[:, 1] ** 2
    for c in (p0, p1):
        rc = q0 - c
        B = 2 * (rc[:, 0] * w[:, 0] + rc[:, 1] * w[:, 1])
        C = rc[:, 0] ** 2 + rc[:, 1] ** 2 - d * d
        disc = B * B - 4 * A * C
        ok = disc > 0
        sq = np.sqrt(np.where(ok, disc, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            dlo = np.maximum((-B - sq) / (2 * A), hlo)
            dhi = np.minimum((-B + sq) / (2 * A), hhi)
        ok &= dhi > dlo
        lo = np.where(ok, np.minimum(lo, dlo), lo)
        hi = np.where(ok, np.maximum(hi, dhi), hi)
    return lo, hi


def _segment_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance between segments (rows of (k, 4) float arrays)."""

    def pt_seg(p: np.ndarray, s: np.ndarray) -> np.ndarray:
        s0, v = s[:, :2], s[:, 2:] - s[:, :2]
        vv = np.einsum("ij,ij->i", v, v)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(vv > 0, np.einsum("ij,ij->i", p - s0, v) / vv, 0.0)
        t = np.clip(t, 0.0, 1.0)
        c = s0 + t[:, None] * v
        return np.hypot(*(p - c).T)

    return np.min(
        np.stack([pt_seg(a[:, :2], b), pt_seg(a[:, 2:], b), pt_seg(b[:, :2], a), pt_seg(b[:, 2:], a)]),
        axis=0,
    )


def facing_pairs(
    ea: np.ndarray,
    eb: np.ndarray | None,
    d: float,
    *,
    same_id: np.ndarray | None = None,
    shields: np.ndarray | None = None,
    metric: str = "euclidean",
    pid_a: np.ndarray | None = None,
    shields_ab: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Violating edge pairs between ``ea`` and ``eb`` (``None``: within ``ea``).

    Parameters
    ----------
    ea, eb
        Edge arrays (dbu), checked side on the left (see module notes).
    d
        Minimum distance (dbu); pairs closer than ``d`` violate.
    same_id
        Optional per-edge polygon ids of ``ea``: only pairs within one
        polygon are considered (the width check).
    shields
        Edges that may shield a pair (default: ``ea`` and ``eb``).
    pid_a
        Optional per-edge polygon ids of ``ea`` in a two-layer check: edges
        of ``ea``'s layer then shield a pair only when they belong to the
        pair's own polygon of that layer, as in KLayout (its two-layer
        checks run per polygon of the first layer against the shapes of
        the second; other polygons of the first layer are not seen).
    shields_ab
        Two-layer checks on a subset of the edges: ``(sa, sa_pid, sb)``,
        all edges of the two layers that may shield (``sa_pid``: polygon
        ids of ``sa``; ``pid_a`` must then be given); replaces ``shields``.
    metric
        ``"euclidean"`` (default) or ``"projection"`` (KLayout's metrics):
        with ``projection`` only the parts of each edge lying over the
        other (perpendicular projection) are measured, so edges that do not
        overlap in projection (e.g. corner to corner) never pair.

    Returns
    -------
    i, j
        Indices into ``ea`` and ``eb`` (or ``ea``) of each violating pair.
    markers
        ``(k, 2, 4)`` int64 near parts ``(a_part, b_part)`` rounded to dbu;
        pairs whose rounded markers coincide are reported once.
    dist
        ``(k,)`` float distance between the two near parts (dbu).
    """
    other = ea if eb is None else eb
    i, j = candidate_pairs(ea, eb, d)
    if same_id is not None and len(i):
        keep = same_id[i] == same_id[j]
        i, j = i[keep], j[keep]
    a = ea[i]
    b = other[j]
    ua = a[:, 2:] - a[:, :2]
    ub = b[:, 2:] - b[:, :2]
    dot = ua[:, 0] * ub[:, 0] + ua[:, 1] * ub[:, 1]
    keep = dot < 0
    i, j, a, b, ua = i[keep], j[keep], a[keep], b[keep], ua[keep]
    # collinear anti-parallel pairs: violate only when touching/overlapping
    c0 = ua[:, 0] * (b[:, 1] - a[:, 1]) - ua[:, 1] * (b[:, 0] - a[:, 0])
    c1 = ua[:, 0] * (b[:, 3] - a[:, 1]) - ua[:, 1] * (b[:, 2] - a[:, 0])
    coll = (c0 == 0) & (c1 == 0)
    af, bf = a.astype(np.float64), b.astype(np.float64)
    if metric not in ("euclidean", "projection"):
        raise ValueError(f"unknown metric {metric!r}; metrics are euclidean, projection")
    blo, bhi = near_part(af, bf, float(d), metric)
    alo, ahi = near_part(bf, af, float(d), metric)
    hit = (bhi - blo > 1e-12) & (ahi - alo > 1e-12) & ~coll
    if coll.any():
        clo_b, chi_b, clo_a, chi_a, touch = _collinear(af[coll], bf[coll], 0.0 if metric == "projection" else float(d))
        hit[coll] = touch
        blo[coll], bhi[coll], alo[coll], ahi[coll] = clo_b, chi_b, clo_a, chi_a
    i, j, af, bf, coll = i[hit], j[hit], af[hit], bf[hit], coll[hit]
    apart = _sub(af, alo[hit], ahi[hit])
    bpart = _sub(bf, blo[hit], bhi[hit])
    if metric == "projection" and len(i):
        # both parts must have a projected length (not a touching point)
        la = np.hypot(apart[:, 2] - apart[:, 0], apart[:, 3] - apart[:, 1])
        lb = np.hypot(bpart[:, 2] - bpart[:, 0], bpart[:, 3] - bpart[:, 1])
        keep = (la > 1e-3) & (lb > 1e-3)
        i, j, af, bf, apart, bpart, coll = i[keep], j[keep], af[keep], bf[keep], apart[keep], bpart[keep], coll[keep]
    side = None
    spid = None
    if shields_ab is not None:
        sa, sa_pid, sb = shields_ab
        shields = np.vstack([sa, sb])
        side = np.concatenate([np.zeros(len(sa), np.int8), np.ones(len(sb), np.int8)])
        spid = np.concatenate([sa_pid, np.full(len(sb), -1, sa_pid.dtype)])
    elif shields is None:
        shields = ea if eb is None else np.vstack([ea, eb])
        if eb is not None:
            side = np.concatenate([np.zeros(len(ea), np.int8), np.ones(len(eb), np.int8)])
            if pid_a is not None:
                spid = np.concatenate([pid_a, np.full(len(eb), -1, pid_a.dtype)])
    if len(i):
        own = [ea[i], other[j]]
        keep = ~_shielded(apart, bpart, shields, own, float(d), side,
                          None if spid is None else (spid, pid_a[i]))  # type: ignore[index]
        if side is not None:
            # two layers: collinear pairs (touching end to end) are not
            # shielded, as in KLayout (an edge meeting the contact point
            # would otherwise cut off their degenerate quadrilateral)
            keep |= coll
        i, j, apart, bpart = i[keep], j[keep], apart[keep], bpart[keep]
    dist = _segment_distance(apart, bpart)
    markers = np.rint(np.stack([apart, bpart], axis=1)).astype(np.int64)
    if len(markers):
        markers, i, j, dist = _dedupe(markers, i, j, dist)
    return i, j, markers, dist


def _sub(e: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    p0, u = e[:, :2], e[:, 2:] - e[:, :2]
    return np.hstack([p0 + lo[:, None] * u, p0 + hi[:, None] * u])


def _collinear(a: np.ndarray, b: np.ndarray, d: float):
    """Collinear anti-parallel pairs: intervals of each within ``d`` of the
    other along the common line, and whether they touch (distance 0)."""
    u = a[:, 2:] - a[:, :2]
    L2 = np.einsum("ij,ij->i", u, u)
    # project onto a's parameter
    pb0 = np.einsum("ij,ij->i", b[:, :2] - a[:, :2], u) / L2
    pb1 = np.einsum("ij,ij->i", b[:, 2:] - a[:, :2], u) / L2
    dd = d / np.sqrt(L2)
    bmin, bmax = np.minimum(pb0, pb1), np.maximum(pb0, pb1)
    touch = (bmin <= 1.0) & (bmax >= 0.0)
    # part of a (0..1) within d of b's span, and of b within d of a's span
    alo, ahi = np.clip(bmin - dd, 0, 1), np.clip(bmax + dd, 0, 1)
    # b parameter: along b, where a's span [0,1] +- dd lies
    lo_a, hi_a = -dd, 1.0 + dd
    with np.errstate(divide="ignore", invalid="ignore"):
        w0 = (lo_a - pb0) / (pb1 - pb0)
        w1 = (hi_a - pb0) / (pb1 - pb0)
    blo, bhi = np.clip(np.minimum(w0, w1), 0, 1), np.clip(np.maximum(w0, w1), 0, 1)
    return blo, bhi, alo, ahi, touch


def _shielded(
    apart: np.ndarray, bpart: np.ndarray, shields: np.ndarray, own: list[np.ndarray], d: float, side: np.ndarray | None = None,
    polys: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """True where one edge of ``shields`` (other than the pair's own edges)
    cuts the pair off: it meets both sides ``a1-b0`` and ``b1-a0`` of the
    quadrilateral ``a0, a1, b0, b1`` (closed segments).

    This is KLayout's shielding as observed: an edge that only partly hides
    one edge from the other does not shield."""
    k = len(apart)
    out = np.zeros(k, bool)
    if len(shields) == 0:
        return out
    quad = np.stack([apart[:, :2], apart[:, 2:], bpart[:, :2], bpart[:, 2:]], axis=1)  # (k,4,2)
    qbox = np.concatenate([quad.min(axis=1), quad.max(axis=1)], axis=1)
    qk, se = box_pairs(qbox, _boxes(shields, 0.0))
    if len(qk) == 0:
        return out
    if polys is not None:
        # two layers: edges of ``ea``'s layer shield only within the pair's
        # own polygon of that layer
        spid, ppid = polys
        mine = (spid[se] < 0) | (spid[se] == ppid[qk])
        qk, se = qk[mine], se[mine]
    s = shields[se]
    sd = None if side is None else side[se]
    not_own = ~(np.all(s == own[0][qk], axis=1) | np.all(s == own[1][qk], axis=1))
    not_own &= ~(np.all(s == own[0][qk][:, [2, 3, 0, 1]], axis=1) | np.all(s == own[1][qk][:, [2, 3, 0, 1]], axis=1))
    qk, s = qk[not_own], s[not_own]
    if sd is not None:
        sd = sd[not_own]
    # an edge lying on the line of the pair's own edges does not shield it,
    # unless (two-layer checks, ``side`` given) it is an edge of the *other*
    # layer lying on that line: KLayout's two-layer checks are shielded by
    # it (e.g. an ``overlap`` pair whose edge of ``other`` runs along the
    # boundary of ``layer``)
    for k, o in enumerate(own):
        oe = o[qk]
        ov = oe[:, 2:] - oe[:, :2]
        c0 = ov[:, 0] * (s[:, 1] - oe[:, 1]) - ov[:, 1] * (s[:, 0] - oe[:, 0])
        c1 = ov[:, 0] * (s[:, 3] - oe[:, 1]) - ov[:, 1] * (s[:, 2] - oe[:, 0])
        keep = ~((c0 == 0) & (c1 == 0))
        if sd is not None:
            keep |= sd == 1 - k
            sd = sd[keep]
        qk, s = qk[keep], s[keep]
    s = s.astype(np.float64)
    if len(qk) == 0:
        return out
    q = quad[qk]
    # sides joining the two near parts: a1 -> b0 and b1 -> a0
    crosses = _seg_intersect(s, q[:, 1], q[:, 2]) & _seg_intersect(s, q[:, 3], q[:, 0])
    np.logical_or.at(out, qk[crosses], True)
    return out


def _seg_intersect(s: np.ndarray, p: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Closed intersection test of segments ``s`` (k, 4) and ``p``-``r`` (k, 2 each)."""
    s0, s1 = s[:, :2], s[:, 2:]

    def orient(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        v = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        scale = np.maximum(1.0, np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]))
        v = v / scale
        return np.where(np.abs(v) < 1e-6, 0.0, np.sign(v))

    o1, o2 = orient(s0, s1, p), orient(s0, s1, r)
    o3, o4 = orient(p, r, s0), orient(p, r, s1)

    def on(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        return (
            (np.minimum(a[:, 0], b[:, 0]) - 1e-6 <= c[:, 0])
            & (c[:, 0] <= np.maximum(a[:, 0], b[:, 0]) + 1e-6)
            & (np.minimum(a[:, 1], b[:, 1]) - 1e-6 <= c[:, 1])
            & (c[:, 1] <= np.maximum(a[:, 1], b[:, 1]) + 1e-6)
        )

    proper = (o1 * o2 < 0) & (o3 * o4 < 0)
    touch = (
        ((o1 == 0) & on(s0, s1, p))
        | ((o2 == 0) & on(s0, s1, r))
        | ((o3 == 0) & on(p, r, s0))
        | ((o4 == 0) & on(p, r, s1))
    )
    return proper | touch


def _dedupe(markers: np.ndarray, i: np.ndarray, j: np.ndarray, dist: np.ndarray):
    """One marker per distinct (unordered) rounded edge pair."""
    a = markers[:, 0]
    b = markers[:, 1]
    # canonical orientation of each edge and of the pair
    def canon(e: np.ndarray) -> np.ndarray:
        flip = (e[:, 0] > e[:, 2]) | ((e[:, 0] == e[:, 2]) & (e[:, 1] > e[:, 3]))
        return np.where(flip[:, None], e[:, [2, 3, 0, 1]], e)

    ca, cb = canon(a), canon(b)
    ka = [tuple(r) for r in ca.tolist()]
    kb = [tuple(r) for r in cb.tolist()]
    seen: set = set()
    keep = np.zeros(len(markers), bool)
    for n, (x, y) in enumerate(zip(ka, kb)):
        key = (x, y) if x <= y else (y, x)
        if key not in seen:
            seen.add(key)
            keep[n] = True
    return markers[keep], i[keep], j[keep], dist[keep]
