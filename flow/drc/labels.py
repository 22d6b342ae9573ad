"""Connectivity labels of whole layers, computed tile by tile.

Some checks depend on what is connected over the whole layout: ``notch``
(two edges of *one* merged polygon: a U whose arms are millimetres long
still forms a notch where they meet), and the net-aware kinds (nets).  A
tiled run cannot see that inside one tile, but it does not need the
geometry for it either: a *label* per drawn polygon (one ``int64``, the
same for all polygons of one connected component) is enough.  Labels are
computed once, before the tiles are checked, by a streamed union-find:

* every tile (a half-open square of the run's grid, no halo) reads the
  drawn polygons whose bounding box meets it and returns the pairs of them
  that touch (same layer: overlap, a shared boundary stretch or a shared
  point, as KLayout merges them; two layers of ``connect``: overlap with a
  positive area); a pair is tested in one tile only, the one holding the
  lower-left corner of the intersection of the two boxes (both polygons
  meet it);
* the parent process unites the pairs into the labels (:class:`UnionFind`:
  the label array plus a bounded buffer of pairs, folded in with one
  connected-components pass whenever it fills).

Memory: the label array (8 bytes per polygon) and one tile's polygons; the
tiles run as jobs of the run's executor, like the checks.

The labels are the connected components of the "touch" relation, whichever
way the layout is cut into tiles; an untiled run computes them on the whole
layer at once (:func:`touch_labels`), so tiled and untiled runs agree.  A
merged polygon (:func:`flow.drc.edges.merge_edges`) never spans two labels;
:func:`edge_labels` gives each merged edge the label of its polygon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from flow.drc.nets import _overlap_area, _touch, box_pairs, boxes_of, point_in_polygon, rect_mask

#: Pairs buffered by :class:`UnionFind` before they are folded into the labels.
BUFFER_PAIRS = 1 << 20


class UnionFind:
    """Labels of ``n`` nodes, united pair by pair (batched).

    ``lab[i]`` is the label of node ``i``; two nodes are connected exactly
    when their labels are equal (after :meth:`result`).
    """

    def __init__(self, n: int):
        self.lab = np.arange(n, dtype=np.int64)
        self._buf: list[tuple[np.ndarray, np.ndarray]] = []
        self._nbuf = 0

    def add(self, i: np.ndarray, j: np.ndarray) -> None:
        if len(i) == 0:
            return
        self._buf.append((np.asarray(i, np.int64), np.asarray(j, np.int64)))
        self._nbuf += len(i)
        if self._nbuf >= BUFFER_PAIRS:
            self._fold()

    def _fold(self) -> None:
        if not self._buf:
            return
        lab = self.lab
        a = lab[np.concatenate([x for x, _ in self._buf])]
        b = lab[np.concatenate([y for _, y in self._buf])]
        self._buf, self._nbuf = [], 0
        keep = a != b
        a, b = a[keep], b[keep]
        if not len(a):
            return
        nodes = np.unique(np.concatenate([a, b]))
        ia, ib = np.searchsorted(nodes, a), np.searchsorted(nodes, b)
        m = len(nodes)
        g = coo_matrix((np.ones(len(ia), np.int8), (ia, ib)), shape=(m, m))
        _, comp = connected_components(g, directed=False)
        root = np.full(int(comp.max()) + 1, np.iinfo(np.int64).max, np.int64)
        np.minimum.at(root, comp, nodes)
        idx = np.searchsorted(nodes, lab)
        idx[idx >= m] = m - 1
        hit = nodes[idx] == lab
        lab[hit] = root[comp[idx[hit]]]

    def result(self) -> np.ndarray:
        self._fold()
        return self.lab


# ---------------------------------------------------------------------------
# Pairs of polygons that touch or overlap
# ---------------------------------------------------------------------------


def touching_pairs(polys: Sequence[np.ndarray], boxes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(i, j)`` (``i < j``) of polygons of one layer that overlap or touch
    (also at a single point)."""
    b = boxes_of(polys) if boxes is None else boxes
    i, j = box_pairs(b, closed=True)
    if not len(i):
        return i, j
    r = rect_mask(polys)
    keep = r[i] & r[j]
    for k in np.flatnonzero(~keep).tolist():
        keep[k] = _touch(polys[i[k]], polys[j[k]])
    return i[keep], j[keep]


def overlapping_pairs(pa: Sequence[np.ndarray], pb: Sequence[np.ndarray], ba: np.ndarray | None = None,
                      bb: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(i, j)`` of polygons of ``pa`` and ``pb`` overlapping with a positive area."""
    ba = boxes_of(pa) if ba is None else ba
    bb = boxes_of(pb) if bb is None else bb
    i, j = box_pairs(ba, bb, closed=False)
    if not len(i):
        return i, j
    keep = rect_mask(pa)[i] & rect_mask(pb)[j]
    for k in np.flatnonzero(~keep).tolist():
        keep[k] = _overlap_area(pa[i[k]], pb[j[k]]) > 0
    return i[keep], j[keep]


def touch_labels(polys: Sequence[np.ndarray]) -> np.ndarray:
    """Label of each polygon: its connected component under "touch" (whole layer at once)."""
    n = len(polys)
    if n == 0:
        return np.zeros(0, np.int64)
    i, j = touching_pairs(polys)
    g = coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n))
    return connected_components(g, directed=False)[1].astype(np.int64)


# ---------------------------------------------------------------------------
# Labels of merged edges
# ---------------------------------------------------------------------------


def locate(points: np.ndarray, polys: Sequence[np.ndarray], boxes: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Index of a polygon containing each point (boundary included), -1 if none."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    out = np.full(len(pts), -1, np.int64)
    if len(pts) == 0 or len(boxes) == 0:
        return out
    i, j = box_pairs(np.hstack([pts, pts]), boxes.astype(np.float64), closed=True)
    if not len(i):
        return out
    r = rects[j]
    out[i[r]] = j[r]
    for k, pj in zip(i[~r].tolist(), j[~r].tolist()):
        if out[k] < 0 and point_in_polygon(pts[k : k + 1], polys[pj])[0]:
            out[k] = pj
    return out


def edge_labels(edges: np.ndarray, pid: np.ndarray, polys: Sequence[np.ndarray], labels: np.ndarray) -> np.ndarray:
    """The label of each merged edge (``edges``, ``pid`` of
    :func:`flow.drc.edges.merge_edges` of some of ``polys``, possibly clipped):
    the label of a drawn polygon of ``polys`` touching its merged polygon.

    A drawn polygon containing a point of a merged polygon's outline
    touches a drawn polygon of it, so it has the merged polygon's label;
    one edge per merged polygon is located (its midpoint), others only
    where that fails.  A merged polygon located nowhere keeps a label of its
    own (``-1 - pid``)."""
    if len(edges) == 0:
        return np.zeros(0, np.int64)
    boxes = boxes_of(polys)
    rects = rect_mask(polys)
    mid = (edges[:, :2] + edges[:, 2:]).astype(np.float64) / 2
    npid = int(pid.max()) + 1
    per = np.full(npid, -1, np.int64)
    found = np.zeros(npid, bool)
    order = np.argsort(pid, kind="stable")
    first = order[np.r_[True, pid[order][1:] != pid[order][:-1]]]
    todo = first
    while len(todo):
        hit = locate(mid[todo], polys, boxes, rects)
        ok = hit >= 0
        per[pid[todo[ok]]] = labels[hit[ok]]
        found[pid[todo[ok]]] = True
        # the remaining edges of merged polygons not located yet
        rest = np.flatnonzero(~found[pid])
        rest = rest[~np.isin(rest, todo)]
        if not len(rest) or not (~ok).any():
            break
        todo = rest
    lost = ~found
    per[lost] = -1 - np.flatnonzero(lost)
    return per[pid]


# ---------------------------------------------------------------------------
# The streamed pass
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelJob:
    """One tile of the label pass (picklable).

    ``ids``: layer -> global polygon ids of the polygons given (in order) by
    ``polys`` (in memory) or ``reads`` (store vertex ranges, see
    :class:`flow.drc.tiles.TileJob`); ``offset``: layer -> node number of its
    polygon 0; ``same``: layers whose touching polygons are joined;
    ``links``: layer pairs whose overlapping polygons are joined.
    """

    k: int
    grid: Any
    ids: dict[str, np.ndarray]
    offset: dict[str, int]
    same: tuple[str, ...]
    links: tuple[tuple[str, str], ...] = ()
    polys: dict[str, list[np.ndarray]] | None = None
    reads: dict[str, tuple[str, np.ndarray, np.ndarray]] | None = None


def _owned(job: LabelJob, ba: np.ndarray, bb: np.ndarray) -> np.ndarray:
    """Pairs (boxes ``ba[i]``, ``bb[i]``) whose box intersection's lower-left corner lies in tile ``job.k``."""
    g = job.grid
    cx = np.maximum(ba[:, 0], bb[:, 0])
    cy = np.maximum(ba[:, 1], bb[:, 1])
    ti = np.clip((cx - g.x0) // g.size, 0, g.nx - 1)
    tj = np.clip((cy - g.y0) // g.size, 0, g.ny - 1)
    return tj * g.nx + ti == job.k


def run_label_job(job: LabelJob) -> tuple[np.ndarray, np.ndarray]:
    """Node pairs ``(i, j)`` joined in one tile (a top-level job function)."""
    from flow.drc.tiles import _read

    if job.polys is not None:
        polys = job.polys
    else:
        polys = {n: _read(f, a, b) for n, (f, a, b) in (job.reads or {}).items()}
    boxes = {n: boxes_of(p) for n, p in polys.items()}
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    for n in job.same:
        p = polys.get(n, [])
        if len(p) < 2:
            continue
        b = boxes[n]
        i, j = box_pairs(b, closed=True)
        own = _owned(job, b[i], b[j])
        i, j = i[own], j[own]
        if not len(i):
            continue
        r = rect_mask(p)
        keep = r[i] & r[j]
        for k in np.flatnonzero(~keep).tolist():
            keep[k] = _touch(p[i[k]], p[j[k]])
        ids = job.ids[n]
        out_i.append(ids[i[keep]] + job.offset[n])
        out_j.append(ids[j[keep]] + job.offset[n])
    for a, c in job.links:
        pa, pc = polys.get(a, []), polys.get(c, [])
        if not pa or not pc:
            continue
        ba, bc = boxes[a], boxes[c]
        i, j = box_pairs(ba, bc, closed=False)
        own = _owned(job, ba[i], bc[j])
        i, j = i[own], j[own]
        if not len(i):
            continue
        keep = rect_mask(pa)[i] & rect_mask(pc)[j]
        for k in np.flatnonzero(~keep).tolist():
            keep[k] = _overlap_area(pa[i[k]], pc[j[k]]) > 0
        out_i.append(job.ids[a][i[keep]] + job.offset[a])
        out_j.append(job.ids[c][j[keep]] + job.offset[c])
    if not out_i:
        z = np.zeros(0, np.int64)
        return z, z
    return np.concatenate(out_i), np.concatenate(out_j)


def streamed_labels(src: Any, grid: Any, same: Sequence[str], links: Sequence[tuple[str, str]] = (),
                    executor: Any = None, jobs: int = 1) -> dict[str, np.ndarray]:
    """Labels (one ``int64`` per drawn polygon) of layers ``same`` and of the
    layers of ``links``, tile by tile over ``grid`` (its halo is not used):
    polygons of a layer in ``same`` that touch, and polygons of two linked
    layers that overlap, get one label.  ``src``: a
    :class:`flow.geometry.gdsio.LayoutShapes` or a
    :class:`flow.geometry.store.ShapeStore`."""
    from flow.drc.tiles import _source_boxes
    from flow.executor import LocalExecutor
    from flow.geometry.gdsio import LayoutShapes

    names = list(dict.fromkeys([*same, *(n for ab in links for n in ab)]))
    offset: dict[str, int] = {}
    total = 0
    for n in names:
        offset[n] = total
        total += len(src.polygons.get(n, ())) if isinstance(src, LayoutShapes) else src.count(n)
    uf = UnionFind(total)
    g0 = replace(grid, halo=0)
    index = {n: g0.assign(_source_boxes(src, n)) for n in names}
    tiles = sorted({int(t) for n in names for t in np.unique(index[n][0]).tolist()})
    in_memory = isinstance(src, LayoutShapes)

    def work():
        for k in tiles:
            ids: dict[str, np.ndarray] = {}
            per: dict[str, Any] = {}
            for n, (t, o) in index.items():
                lo, hi = np.searchsorted(t, k, "left"), np.searchsorted(t, k, "right")
                sel = np.sort(o[lo:hi])
                ids[n] = sel
                if in_memory:
                    poly = src.polygons[n]
                    per[n] = [poly[i] for i in sel.tolist()]
                else:
                    st = src.starts[n]
                    per[n] = (str(src.files[n]), st[sel], st[sel + 1])
            yield LabelJob(k=k, grid=g0, ids=ids, offset=offset, same=tuple(same), links=tuple(links),
                           **({"polys": per} if in_memory else {"reads": per}))

    ex = executor if executor is not None else LocalExecutor(jobs)
    for _, (i, j) in ex.map(run_label_job, work(), labels=[f"labels, tile {k}" for k in tiles]):
        uf.add(i, j)
    lab = uf.result()
    return {n: lab[offset[n] : offset[n] + (len(src.polygons.get(n, ())) if in_memory else src.count(n))] for n in names}
