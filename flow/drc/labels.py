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
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from flow.drc.nets import _touch, box_pairs, boxes_of, locate, overlap_pairs, points_in_polygons, rect_mask, touch_pairs

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
    nr = np.flatnonzero(~keep)
    keep[nr] = touch_pairs(polys, polys, i[nr], j[nr], b, b)
    return i[keep], j[keep]


def overlapping_pairs(pa: Sequence[np.ndarray], pb: Sequence[np.ndarray], ba: np.ndarray | None = None,
                      bb: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(i, j)`` of polygons of ``pa`` and ``pb`` overlapping with a positive area."""
    ba = boxes_of(pa) if ba is None else ba
    bb = boxes_of(pb) if bb is None else bb
    i, j = box_pairs(ba, bb, closed=False)
    if not len(i):
        return i, j
    ra, rb = rect_mask(pa), rect_mask(pb)
    keep = ra[i] & rb[j]
    nr = np.flatnonzero(~keep)
    keep[nr] = overlap_pairs(pa, pb, i[nr], j[nr], rb)
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
    ``drop``: layer -> polygons (of ``ids``) left out; ``extra``: layer ->
    ``(polygons, node numbers)`` added (net ties: a conductor cut under
    its tie markers, :func:`flow.drc.nets.cut_net_ties`).  ``points``:
    layer -> ``(label index, points (k, 2))`` of the text labels lying in
    this tile, located on the layer's polygons.
    """

    k: int
    grid: Any
    ids: dict[str, np.ndarray]
    offset: dict[str, int]
    same: tuple[str, ...]
    links: tuple[tuple[str, str], ...] = ()
    polys: dict[str, list[np.ndarray]] | None = None
    reads: dict[str, tuple[str, np.ndarray, np.ndarray]] | None = None
    drop: dict[str, np.ndarray] | None = None
    extra: dict[str, tuple[list[np.ndarray], np.ndarray]] | None = None
    points: dict[str, tuple[np.ndarray, np.ndarray]] | None = None


def _owned(job: LabelJob, ba: np.ndarray, bb: np.ndarray) -> np.ndarray:
    """Pairs (boxes ``ba[i]``, ``bb[i]``) whose box intersection's lower-left corner lies in tile ``job.k``."""
    return tile_of(job.grid, np.maximum(ba[:, 0], bb[:, 0]), np.maximum(ba[:, 1], bb[:, 1])) == job.k


def tile_of(g: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The tile (of grid ``g``) whose half-open core holds each point (clipped to the grid)."""
    ti = np.clip((np.asarray(x) - g.x0) // g.size, 0, g.nx - 1)
    tj = np.clip((np.asarray(y) - g.y0) // g.size, 0, g.ny - 1)
    return tj * g.nx + ti


@dataclass
class LabelResult:
    """Node pairs joined in one tile, and the node each located text label lies on."""

    i: np.ndarray
    j: np.ndarray
    #: layer -> (label index, node number; -1: on no polygon)
    located: dict[str, tuple[np.ndarray, np.ndarray]]


def run_label_job(job: LabelJob) -> LabelResult:
    """Node pairs ``(i, j)`` joined in one tile (a top-level job function)."""
    from flow.drc.tiles import _read

    if job.polys is not None:
        raw = job.polys
    else:
        raw = {n: _read(f, a, b) for n, (f, a, b) in (job.reads or {}).items()}
    polys: dict[str, list[np.ndarray]] = {}
    nodes: dict[str, np.ndarray] = {}
    for n, ps in raw.items():
        node = job.ids[n].astype(np.int64) + job.offset[n]
        drop = (job.drop or {}).get(n)
        if drop is not None and drop.any():
            ps = [p for p, d in zip(ps, drop.tolist()) if not d]
            node = node[~drop]
        ex = (job.extra or {}).get(n)
        if ex is not None and len(ex[1]):
            ps = list(ps) + list(ex[0])
            node = np.concatenate([node, ex[1]])
        polys[n], nodes[n] = list(ps), node
    boxes = {n: boxes_of(p) for n, p in polys.items()}
    rects = {n: rect_mask(p) for n, p in polys.items()}
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
        r = rects[n]
        keep = r[i] & r[j]
        nr = np.flatnonzero(~keep)
        keep[nr] = touch_pairs(p, p, i[nr], j[nr], b, b)
        out_i.append(nodes[n][i[keep]])
        out_j.append(nodes[n][j[keep]])
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
        keep = rects[a][i] & rects[c][j]
        nr = np.flatnonzero(~keep)
        keep[nr] = overlap_pairs(pa, pc, i[nr], j[nr], rects[c])
        out_i.append(nodes[a][i[keep]])
        out_j.append(nodes[c][j[keep]])
    located: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for n, (idx, pts) in (job.points or {}).items():
        hit = locate(pts, polys.get(n, []), boxes.get(n, np.zeros((0, 4), np.int64)), rects.get(n, np.zeros(0, bool)))
        located[n] = (idx, np.where(hit >= 0, nodes[n][np.maximum(hit, 0)] if len(nodes.get(n, ())) else -1, -1))
    z = np.zeros(0, np.int64)
    return LabelResult(np.concatenate(out_i) if out_i else z, np.concatenate(out_j) if out_j else z, located)


def streamed_labels(src: Any, grid: Any, same: Sequence[str], links: Sequence[tuple[str, str]] = (),
                    executor: Any = None, jobs: int = 1) -> dict[str, np.ndarray]:
    """Labels (one ``int64`` per drawn polygon) of layers ``same`` and of the
    layers of ``links``, tile by tile over ``grid`` (its halo is not used):
    polygons of a layer in ``same`` that touch, and polygons of two linked
    layers that overlap, get one label.  ``src``: a
    :class:`flow.geometry.gdsio.LayoutShapes` or a
    :class:`flow.geometry.store.ShapeStore`."""
    from flow.drc.tiles import _source_boxes, _tile_part
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
            for n in index:
                ids[n], per[n] = _tile_part(src, n, index[n], k)
            yield LabelJob(k=k, grid=g0, ids=ids, offset=offset, same=tuple(same), links=tuple(links),
                           **({"polys": per} if in_memory else {"reads": per}))

    ex = executor if executor is not None else LocalExecutor(jobs)
    for _, r in ex.map(run_label_job, work(), labels=[f"labels, tile {k}" for k in tiles]):
        uf.add(r.i, r.j)
    lab = uf.result()
    return {n: lab[offset[n] : offset[n] + (len(src.polygons.get(n, ())) if in_memory else src.count(n))] for n in names}


# ---------------------------------------------------------------------------
# Nets of a whole layout, streamed
# ---------------------------------------------------------------------------


class _Lookup(dict):
    """net index -> value for the nets a tile holds; ``len`` is the number of
    nets of the whole layout (as :class:`flow.drc.nets.Nets` ``names``)."""

    def __init__(self, items: dict, total: int, default: Any = None):
        super().__init__(items)
        self.total = total
        self.default = default

    def __len__(self) -> int:
        return self.total

    def __missing__(self, k):
        if self.default is None:
            raise KeyError(k)
        return self.default


@dataclass
class GlobalNets:
    """The nets of a whole layout as :func:`flow.drc.nets.extract_nets` traces
    them (``net_ties=True``), kept as one net index per stored polygon.

    ``net``: layer -> net of each polygon of the source (-1: cut away under a
    net tie, replaced by the pieces in ``cut``); ``cut``: layer -> (pieces,
    their boxes, their nets); ``ties``: layer -> (tie metal pieces, net).
    ``first``: net -> (layer rank, x0, y0) of its first polygon (its
    generated name); ``aliases``: net -> label names (labelled nets only).
    """

    layers: tuple[str, ...]
    net: dict[str, np.ndarray]
    cut: dict[str, tuple[list[np.ndarray], np.ndarray, np.ndarray]]
    ties: dict[str, tuple[list[np.ndarray], np.ndarray]]
    first: np.ndarray
    aliases: dict[int, tuple[str, ...]]
    notes: tuple[str, ...]
    kit: Any
    #: layer -> (edges, nets) of the merged outline of the conductor's nets
    #: that meet net-tie metal: an edge running through a tie belongs to
    #: several nets, and takes the net of its midpoint in the whole layout
    tie_edges: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.first)

    def name(self, k: int) -> str:
        from flow.drc.nets import generated_name

        al = self.aliases.get(k)
        if al:
            return al[0]
        r, x, y = self.first[k].tolist()
        return generated_name(self.kit, self.layers[r], int(x), int(y))

    def tile_info(self, layers: Sequence[str], ids: dict[str, np.ndarray], box: tuple[int, int, int, int]) -> "TileNetInfo":
        """What one tile needs of the nets: the net of each of its polygons
        (``ids``: layer -> global polygon ids, for ``layers``), the cut
        pieces and tie metal meeting ``box``, the names of the nets present."""

        def meets(b: np.ndarray) -> np.ndarray:
            return (b[:, 0] <= box[2]) & (b[:, 2] >= box[0]) & (b[:, 1] <= box[3]) & (b[:, 3] >= box[1])

        comp: dict[str, np.ndarray] = {}
        cut: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}
        for n in layers:
            if n not in self.net:
                continue
            comp[n] = self.net[n][ids[n]]
            if n in self.cut and self.cut[n][0]:
                pieces, pb, pn = self.cut[n]
                m = meets(pb)
                cut[n] = ([p for p, k in zip(pieces, m.tolist()) if k], pn[m])
        ties: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}
        for n, (pieces, pn) in self.ties.items():
            if pieces and n in comp:
                m = meets(boxes_of(pieces))
                ties[n] = ([p for p, k in zip(pieces, m.tolist()) if k], pn[m])
        tie_edges: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for n, (e, en) in self.tie_edges.items():
            if n in comp:
                lo, hi = np.minimum(e[:, :2], e[:, 2:]), np.maximum(e[:, :2], e[:, 2:])
                m = meets(np.hstack([lo, hi]))
                tie_edges[n] = (e[m], en[m])
        present = {int(x) for c in comp.values() for x in np.unique(c).tolist()}
        present |= {int(x) for d in (cut, ties, tie_edges) for _, pn in d.values() for x in pn.tolist()}
        present.discard(-1)
        return TileNetInfo(self.layers, comp, cut, ties, {k: self.name(k) for k in present},
                           {k: self.aliases[k] for k in present if k in self.aliases}, self.count, tie_edges)


@dataclass(frozen=True)
class TileNetInfo:
    """The nets of one tile's polygons (picklable; see :meth:`GlobalNets.tile_info`)."""

    layers: tuple[str, ...]
    comp: dict[str, np.ndarray]
    cut: dict[str, tuple[list[np.ndarray], np.ndarray]]
    ties: dict[str, tuple[list[np.ndarray], np.ndarray]]
    names: dict[int, str]
    aliases: dict[int, tuple[str, ...]]
    total: int
    tie_edges: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def nets(self, polys: dict[str, list[np.ndarray]]):
        """A :class:`flow.drc.nets.Nets` of the tile's drawn polygons ``polys``
        (as given with :attr:`comp`): net ties cut, names of its nets."""
        from flow.drc.nets import Nets

        out_p: dict[str, list[np.ndarray]] = {}
        comp: dict[str, np.ndarray] = {}
        for n, c in self.comp.items():
            ps = polys.get(n, [])
            keep = c >= 0
            ps2 = [p for p, k in zip(ps, keep.tolist()) if k]
            c2 = c[keep]
            if n in self.cut:
                ps2 += list(self.cut[n][0])
                c2 = np.concatenate([c2, self.cut[n][1]])
            out_p[n], comp[n] = ps2, c2
        return Nets(
            layers=self.layers, comp=comp, local={}, links={}, polygons=out_p,
            names=_Lookup(self.names, self.total),  # type: ignore[arg-type]
            aliases=_Lookup(self.aliases, self.total, ()),  # type: ignore[arg-type]
            boxes={n: boxes_of(p) for n, p in out_p.items()}, rects={n: rect_mask(p) for n, p in out_p.items()},
            ties=self.ties,
        )


class _Polys:
    """``.polygons`` of some layers (what :func:`flow.drc.nets.cut_net_ties` reads)."""

    def __init__(self, polygons: dict[str, list[np.ndarray]]):
        self.polygons = polygons


def _all(src: Any, name: str) -> list[np.ndarray]:
    from flow.geometry.gdsio import LayoutShapes

    if isinstance(src, LayoutShapes):
        return list(src.polygons.get(name, ()))
    return src.fetch(name, np.arange(src.count(name))) if src.count(name) else []


def _some(src: Any, name: str, ids: np.ndarray) -> list[np.ndarray]:
    from flow.geometry.gdsio import LayoutShapes

    if isinstance(src, LayoutShapes):
        p = src.polygons.get(name, ())
        return [p[i] for i in ids.tolist()]
    return src.fetch(name, ids)


def streamed_nets(src: Any, kit: Any, extra: Sequence[str], grid: Any, executor: Any = None, jobs: int = 1) -> GlobalNets:
    """The nets of ``src`` (as :func:`flow.drc.nets.extract_nets` with
    ``net_ties=True`` gives them: same nets, names and notes), tile by tile
    over ``grid``: memory is one net index per polygon plus one tile's
    polygons (and the shapes under net-tie markers, few)."""
    from flow.drc.nets import _fmt_um, cut_net_ties, net_layers
    from flow.drc.tiles import _source_boxes, _tile_part
    from flow.executor import LocalExecutor
    from flow.geometry.gdsio import LayoutShapes

    layers = net_layers(kit, extra)
    in_memory = isinstance(src, LayoutShapes)
    count = {n: (len(src.polygons.get(n, ())) if in_memory else src.count(n)) for n in layers}
    offset: dict[str, int] = {}
    total = 0
    for n in layers:
        offset[n] = total
        total += count[n]
    # net ties: the conductor polygons under tie markers, cut as extract_nets cuts them
    dropped: dict[str, np.ndarray] = {}
    cut: dict[str, list[np.ndarray]] = {}
    tie_pieces: dict[str, list[np.ndarray]] = {}
    conds = {lay.net_tie for lay in kit.layers.values() if lay.net_tie and lay.net_tie in count}
    for cond in sorted(conds, key=layers.index):
        marks = {m: _all(src, m) for m, lay in kit.layers.items() if lay.net_tie == cond}
        mb = [boxes_of(ps) for ps in marks.values() if ps]
        if not mb or not count[cond]:
            continue
        i, _ = box_pairs(_source_boxes(src, cond), np.vstack(mb), closed=False)
        cand = np.unique(i)
        if not len(cand):
            continue
        cp = _some(src, cond, cand)
        work = {cond: list(cp)}
        ties = cut_net_ties(work, _Polys(marks), kit)  # type: ignore[arg-type]
        kept = {id(p) for p in work[cond]}
        hit = np.array([id(p) not in kept for p in cp], bool)
        dropped[cond] = cand[hit]
        cut[cond] = [p for p in work[cond] if id(p) not in {id(q) for q in cp}]
        if ties.get(cond):
            tie_pieces[cond] = ties[cond]
    cut_off: dict[str, int] = {}
    for n in layers:
        if cut.get(n):
            cut_off[n] = total
            total += len(cut[n])
    uf = UnionFind(total)
    g0 = replace(grid, halo=0)
    index = {n: g0.assign(_source_boxes(src, n)) for n in layers}
    cut_boxes = {n: boxes_of(ps) for n, ps in cut.items() if ps}
    cut_index = {n: g0.assign(b) for n, b in cut_boxes.items()}
    lab_pts = {n: np.array([[x, y] for _, x, y in src.labels.get(n, ())], np.int64).reshape(-1, 2) for n in layers}
    lab_tile = {n: tile_of(g0, p[:, 0], p[:, 1]) for n, p in lab_pts.items() if len(p)}
    tiles = sorted({int(t) for n in layers for t in np.unique(index[n][0]).tolist()}
                   | {int(t) for t_, _ in cut_index.values() for t in np.unique(t_).tolist()}
                   | {int(t) for t in (np.concatenate(list(lab_tile.values())) if lab_tile else np.zeros(0, np.int64)).tolist()})
    links: set[tuple[str, str]] = set()
    for group in kit.connect:
        steps = [(group[0], group[1])] if len(group) == 2 else [(group[0], group[1]), (group[1], group[2])]
        for a, b in steps:
            if a in offset and b in offset and a != b:
                links.add((a, b))

    def work_items():
        for k in tiles:
            ids: dict[str, np.ndarray] = {}
            per: dict[str, Any] = {}
            drop: dict[str, np.ndarray] = {}
            ext: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}
            pts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for n in index:
                sel, per[n] = _tile_part(src, n, index[n], k)
                ids[n] = sel
                if n in dropped:
                    drop[n] = np.isin(sel, dropped[n])
                if n in cut_index:
                    t2, o2 = cut_index[n]
                    lo, hi = np.searchsorted(t2, k, "left"), np.searchsorted(t2, k, "right")
                    s2 = np.sort(o2[lo:hi])
                    ext[n] = ([cut[n][i] for i in s2.tolist()], s2.astype(np.int64) + cut_off[n])
                if n in lab_tile:
                    li = np.flatnonzero(lab_tile[n] == k)
                    if len(li):
                        pts[n] = (li, lab_pts[n][li])
            yield LabelJob(k=k, grid=g0, ids=ids, offset=offset, same=tuple(layers), links=tuple(sorted(links)),
                           drop=drop or None, extra=ext or None, points=pts or None,
                           **({"polys": per} if in_memory else {"reads": per}))

    ex = executor if executor is not None else LocalExecutor(jobs)
    on: dict[str, np.ndarray] = {n: np.full(len(p), -1, np.int64) for n, p in lab_pts.items()}
    for _, r in ex.map(run_label_job, work_items(), labels=[f"nets, tile {k}" for k in tiles]):
        uf.add(r.i, r.j)
        for n, (li, node) in r.located.items():
            on[n][li] = node
    lab = uf.result()
    # nets numbered as extract_nets numbers them: by their first polygon
    # (layer rank, x0, y0), in kit order
    valid = np.ones(total, bool)
    rank = np.zeros(total, np.int16)
    x0 = np.zeros(total, np.int64)
    y0 = np.zeros(total, np.int64)
    for r_, n in enumerate(layers):
        sl = slice(offset[n], offset[n] + count[n])
        b = _source_boxes(src, n)
        rank[sl], x0[sl], y0[sl] = r_, b[:, 0], b[:, 1]
        if n in dropped:
            valid[offset[n] + dropped[n]] = False
        if n in cut_off:
            sl2 = slice(cut_off[n], cut_off[n] + len(cut[n]))
            rank[sl2], x0[sl2], y0[sl2] = r_, cut_boxes[n][:, 0], cut_boxes[n][:, 1]
    v = np.flatnonzero(valid)
    order = v[np.lexsort((y0[v], x0[v], rank[v], lab[v]))]
    firsts = order[np.r_[True, lab[order][1:] != lab[order][:-1]]] if len(order) else order
    firsts = firsts[np.lexsort((lab[firsts], y0[firsts], x0[firsts], rank[firsts]))]
    renum = np.full(total, -1, np.int64)
    renum[lab[firsts]] = np.arange(len(firsts))
    netof = np.where(valid, renum[lab], -1)
    first = np.stack([rank[firsts].astype(np.int64), x0[firsts], y0[firsts]], axis=1) if len(firsts) else np.zeros((0, 3), np.int64)
    del rank, x0, y0, renum, order, lab
    # labels: names, notes as extract_nets gives them
    notes: list[str] = []
    names_of: dict[int, set[str]] = {}
    seen_at: dict[str, set[int]] = {}
    for n in layers:
        labs = list(src.labels.get(n, ()))
        for (text, x, y), node in zip(labs, on.get(n, np.zeros(0, np.int64)).tolist()):
            if node < 0:
                notes.append(f"nets: label '{text}' on {n} at ({_fmt_um(kit, x)}, {_fmt_um(kit, y)}) um touches no {n} shape; ignored")
                continue
            k = int(netof[node])
            names_of.setdefault(k, set()).add(text)
            seen_at.setdefault(text, set()).add(k)
    aliases = {k: tuple(sorted(s)) for k, s in names_of.items()}
    for text, where in sorted(seen_at.items()):
        if len(where) > 1:
            notes.append(f"nets: label '{text}' names {len(where)} unconnected nets (checked as different nets; each takes the voltage and current of '{text}')")
    for k in sorted(aliases):
        al = aliases[k]
        if len(al) > 1:
            notes.append(f"nets: one net carries {len(al)} names {', '.join(al)} (shorted?); checked with every voltage and current given for them")
    net = {n: netof[offset[n] : offset[n] + count[n]].copy() for n in layers}
    cut_t = {n: (cut[n], cut_boxes[n], netof[cut_off[n] : cut_off[n] + len(cut[n])].copy()) for n in cut_off}
    del netof
    # tie metal takes the lowest-numbered net of the conductor it touches
    ties_t: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}
    for n, pieces in tie_pieces.items():
        tb = boxes_of(pieces)
        pn = np.full(len(pieces), -1, np.int64)
        b = _source_boxes(src, n)
        for a, pb in enumerate(tb.tolist()):
            ids = np.flatnonzero((b[:, 0] <= pb[2]) & (b[:, 2] >= pb[0]) & (b[:, 1] <= pb[3]) & (b[:, 3] >= pb[1]))
            cands = [(q, int(net[n][i])) for q, i in zip(_some(src, n, ids), ids.tolist()) if net[n][i] >= 0]
            if n in cut_t:
                cands += [(q, int(c)) for q, c in zip(cut_t[n][0], cut_t[n][2].tolist())]
            for q, c in cands:
                qb = (q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max())
                if qb[0] <= pb[2] and qb[2] >= pb[0] and qb[1] <= pb[3] and qb[3] >= pb[1] and _touch(pieces[a], q):
                    pn[a] = c if pn[a] < 0 else min(pn[a], c)
        ties_t[n] = (pieces, pn)
    # the outline of the tied nets on the conductor, whole (see GlobalNets.tie_edges)
    tie_edges: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for n, (pieces, pn) in ties_t.items():
        from flow.drc.edges import merge_edges
        from flow.drc.nets import Nets

        tied = set(pn.tolist()) - {-1}
        if n in cut_t:
            tied |= set(cut_t[n][2].tolist())
        ids = np.union1d(np.flatnonzero(np.isin(net[n], list(tied))), dropped.get(n, np.zeros(0, np.int64)))
        drawn = _some(src, n, ids)
        e, _ = merge_edges(drawn)
        keep = net[n][ids] >= 0
        polys_c = [p for p, k in zip(drawn, keep.tolist()) if k] + (list(cut_t[n][0]) if n in cut_t else [])
        comp_c = np.concatenate([net[n][ids][keep]] + ([cut_t[n][2]] if n in cut_t else []))
        nn = Nets(layers=layers, comp={n: comp_c}, local={}, names=(), aliases=(), links={}, polygons={n: polys_c},
                  boxes={n: boxes_of(polys_c)}, rects={n: rect_mask(polys_c)}, ties={n: (pieces, pn)})
        tie_edges[n] = (e, nn.edge_nets(n, e))
    return GlobalNets(layers=layers, net=net, cut=cut_t, ties=ties_t, first=first, aliases=aliases, notes=tuple(notes), kit=kit,
                      tie_edges=tie_edges)
