"""Global routing on a 3-D grid graph with negotiated congestion.

Pure algorithm (no file I/O): :func:`global_route` takes a
:class:`GridGraph` (tiles ``nx`` x ``ny`` on ``nl`` metal layers, a capacity
per tile edge and layer) and :class:`GRNet` s (pins as ``(x, y, layer)``
tiles) and returns, per net, straight wire runs and via stacks on the 3-D
graph, plus the overflow and wirelength of the result.

The steps, in the spirit of FastRoute / NCTU-GR:

1. **Projection.**  Per tile edge the 2-D capacity is the number of minimum
   wires (``min_width + spacing``) all layers hold in that direction.
2. **Steiner trees.**  Each net's pin tiles get a rectilinear Steiner tree
   (iterated 1-Steiner on the Hanan grid, batch-evaluated with numpy, for
   nets up to :data:`STEINER_MAX_PINS` pins; a rectilinear MST above that),
   cut into 2-pin connections.
3. **Pattern routing.**  Every connection takes the cheapest L or Z shape
   under the congestion cost (prefix sums make all Z shapes one numpy
   expression).
4. **Negotiated rip-up and reroute** (PathFinder): while some edge carries
   more than its capacity, its history cost grows, and every net through an
   overflowing edge is ripped up and rerouted by a maze search (Dijkstra on
   a bounded box of a two-state -- horizontal / vertical -- grid graph, so a
   bend costs a via; ``scipy.sparse.csgraph``) with cost
   ``(1 + history) * (1 + present * overuse)``; ``present`` grows each round.
5. **Wirelength recovery.**  With no overflow left, each net is rerouted on
   the edges that still have room (maze and Steiner pattern candidates) and
   the cheapest of old and new is kept: wirelength only goes down, overflow
   stays zero.
6. **Layer assignment.**  Each net's 2-D tree is put on layers by dynamic
   programming over the tree (per node the via stack spans its edges' and
   pins' layers; an edge on a layer without room costs :data:`FULL_PENALTY`
   per unit of overflow), nets in order of size.

Wirelength follows the ISPD'08 convention: one per tile edge plus
``via_cost`` per layer a via crosses.

Examples
--------
>>> g = GridGraph.uniform(4, 4, hcap=[2, 0], vcap=[0, 2])
>>> r = global_route(g, [GRNet("a", ((0, 0, 0), (3, 2, 0)))])
>>> (r.overflow_total, r.wirelength, r.vias)
(0, 7, 2)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from flow.errors import InputError

Tile = tuple[int, int, int]
"""A 3-D grid node ``(x, y, layer)``; layers count from 0 (bottom)."""
Segment = tuple[Tile, Tile]
"""A straight wire run (same layer, same row or column) or a via stack (same x, y)."""

#: Nets with at most this many distinct pin tiles get an iterated 1-Steiner tree.
STEINER_MAX_PINS = 24
#: Layer assignment cost per unit of capacity exceeded on a layer's edge.
FULL_PENALTY = 1000.0
#: Rip-up and reroute: present-congestion factor at start and its growth per round.
PRESENT_START = 0.5
PRESENT_GROWTH = 1.5
#: History cost added per unit of overflow each round.
HISTORY_STEP = 1.0
#: Wirelength recovery grows maze trees from every pin of nets with at most this many pins.
RECOVERY_STARTS = 8
_EPS = 1e-9
_BIG = 1e9


@dataclass(frozen=True)
class GridGraph:
    """The 3-D global-routing graph: tiles ``nx`` x ``ny`` on ``nl`` layers.

    Attributes
    ----------
    hcap : numpy.ndarray
        ``(nl, ny, nx - 1)`` capacity of the edge from tile ``(x, y)`` to
        ``(x + 1, y)`` on each layer (capacity units, e.g. ISPD'08 length).
    vcap : numpy.ndarray
        ``(nl, ny - 1, nx)`` capacity of the edge from ``(x, y)`` to ``(x, y + 1)``.
    min_width, spacing : tuple[int, ...]
        Per layer; a wire of width ``w`` uses ``max(w, min_width) + spacing``
        capacity units of an edge (ISPD'08 rule).  Defaults 1 and 0: capacity
        counts tracks.
    """

    hcap: np.ndarray
    vcap: np.ndarray
    min_width: tuple[int, ...] = ()
    spacing: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        h = np.asarray(self.hcap, dtype=np.int64)
        v = np.asarray(self.vcap, dtype=np.int64)
        if h.ndim != 3 or v.ndim != 3:
            raise InputError("grid graph: hcap and vcap must be (layers, rows, columns) arrays")
        nl, ny, nx1 = h.shape
        if v.shape != (nl, ny - 1, nx1 + 1) or ny < 1 or nx1 < 0:
            raise InputError(f"grid graph: hcap {h.shape} and vcap {v.shape} do not describe one grid")
        if (h < 0).any() or (v < 0).any():
            raise InputError("grid graph: negative capacity")
        mw = tuple(self.min_width) or (1,) * nl
        sp = tuple(self.spacing) or (0,) * nl
        if len(mw) != nl or len(sp) != nl or min(mw) < 1 or min(sp) < 0:
            raise InputError(f"grid graph: min_width and spacing need {nl} values (width >= 1, spacing >= 0)")
        h.setflags(write=False)
        v.setflags(write=False)
        object.__setattr__(self, "hcap", h)
        object.__setattr__(self, "vcap", v)
        object.__setattr__(self, "min_width", mw)
        object.__setattr__(self, "spacing", sp)

    @classmethod
    def uniform(
        cls,
        nx: int,
        ny: int,
        hcap: Sequence[int],
        vcap: Sequence[int],
        min_width: Sequence[int] = (),
        spacing: Sequence[int] = (),
    ) -> GridGraph:
        """A grid with the same capacity on every edge of a layer (per direction)."""
        nl = len(hcap)
        if len(vcap) != nl or nx < 1 or ny < 1:
            raise InputError("grid graph: need nx, ny >= 1 and one horizontal and vertical capacity per layer")
        h = np.broadcast_to(np.asarray(hcap, dtype=np.int64)[:, None, None], (nl, ny, nx - 1)).copy()
        v = np.broadcast_to(np.asarray(vcap, dtype=np.int64)[:, None, None], (nl, ny - 1, nx)).copy()
        return cls(h, v, tuple(min_width), tuple(spacing))

    @property
    def nl(self) -> int:
        return int(self.hcap.shape[0])

    @property
    def ny(self) -> int:
        return int(self.hcap.shape[1])

    @property
    def nx(self) -> int:
        return int(self.hcap.shape[2]) + 1

    def demand(self, width: int = 1) -> np.ndarray:
        """Capacity a wire of ``width`` uses on each layer: ``max(width, min_width) + spacing``."""
        return np.maximum(width, np.asarray(self.min_width)) + np.asarray(self.spacing)

    def contains(self, t: Tile) -> bool:
        x, y, l = t
        return 0 <= x < self.nx and 0 <= y < self.ny and 0 <= l < self.nl


@dataclass(frozen=True)
class GRNet:
    """A net to route: ``pins`` are ``(x, y, layer)`` tiles; ``width`` its wire width."""

    name: str
    pins: tuple[Tile, ...]
    width: int = 1


@dataclass(frozen=True)
class Evaluation:
    """Usage and quality of a set of routes, recomputed from the segments alone.

    ``hused``/``vused`` are per-layer edge usages shaped like the grid's
    ``hcap``/``vcap``; ``disconnected`` names nets whose pins the routes do
    not join; ``bad`` lists malformed segments (diagonal, off-grid) as text.
    """

    hused: np.ndarray
    vused: np.ndarray
    overflow_total: int
    overflow_max: int
    overflow_edges: int
    wirelength: int
    vias: int
    disconnected: tuple[str, ...]
    bad: tuple[str, ...]


@dataclass(frozen=True)
class GRResult:
    """What :func:`global_route` returns.

    ``routes[i]`` are net ``i``'s segments; ``wirelength`` counts tile edges
    plus ``via_cost`` per via layer (ISPD'08 rule), ``wire`` and ``vias``
    separately.  ``overflow_*`` are over the 3-D edges (0: every edge within
    capacity).  ``stats`` records the figures of each step.
    """

    routes: tuple[tuple[Segment, ...], ...]
    overflow_total: int
    overflow_max: int
    overflow_edges: int
    wirelength: int
    wire: int
    vias: int
    iterations: int
    stats: dict[str, object] = field(default_factory=dict)


# -- evaluation (independent of the router's bookkeeping) ------------------------


def evaluate(grid: GridGraph, nets: Sequence[GRNet], routes: Sequence[Sequence[Segment]], via_cost: int = 1) -> Evaluation:
    """Usage, overflow, wirelength and connectivity of ``routes`` on ``grid``.

    Every segment's unit edges are charged to the edges' layer (a net that
    runs twice over an edge is charged twice, as ISPD'08's ``eval2008.pl``
    does); a net is connected when its pins and segments form one piece.
    """
    hu = np.zeros(grid.hcap.shape, dtype=np.int64)
    vu = np.zeros(grid.vcap.shape, dtype=np.int64)
    wire = vias = 0
    bad: list[str] = []
    disconnected: list[str] = []
    for net, segs in zip(nets, routes, strict=True):
        dem = grid.demand(net.width)
        parent: dict[Tile, Tile] = {}

        def find(a: Tile) -> Tile:
            root = a
            while parent.setdefault(root, root) != root:
                root = parent[root]
            while parent[a] != root:
                parent[a], a = root, parent[a]
            return root

        def join(a: Tile, b: Tile) -> None:
            parent[find(a)] = find(b)

        for a, b in segs:
            if not (grid.contains(a) and grid.contains(b)):
                bad.append(f"{net.name}: segment {a}-{b} leaves the grid")
                continue
            (x1, y1, l1), (x2, y2, l2) = a, b
            if (x1 != x2) + (y1 != y2) + (l1 != l2) != 1:
                bad.append(f"{net.name}: segment {a}-{b} is not straight along one axis")
                continue
            if x1 != x2:
                lo, hi = sorted((x1, x2))
                hu[l1, y1, lo:hi] += dem[l1]
                wire += hi - lo
                for x in range(lo, hi):
                    join((x, y1, l1), (x + 1, y1, l1))
            elif y1 != y2:
                lo, hi = sorted((y1, y2))
                vu[l1, lo:hi, x1] += dem[l1]
                wire += hi - lo
                for y in range(lo, hi):
                    join((x1, y, l1), (x1, y + 1, l1))
            else:
                lo, hi = sorted((l1, l2))
                vias += hi - lo
                for l in range(lo, hi):
                    join((x1, y1, l), (x1, y1, l + 1))
        roots = {find(p) for p in net.pins}
        if len(roots) > 1:
            disconnected.append(net.name)
    oh = np.maximum(hu - grid.hcap, 0)
    ov = np.maximum(vu - grid.vcap, 0)
    return Evaluation(
        hused=hu,
        vused=vu,
        overflow_total=int(oh.sum() + ov.sum()),
        overflow_max=int(max(oh.max(initial=0), ov.max(initial=0))),
        overflow_edges=int((oh > 0).sum() + (ov > 0).sum()),
        wirelength=wire + via_cost * vias,
        vias=vias,
        disconnected=tuple(disconnected),
        bad=tuple(bad),
    )


# -- rectilinear Steiner trees ---------------------------------------------------


def _mst_lengths(P: np.ndarray) -> np.ndarray:
    """Rectilinear MST length of each point set ``P[c]`` (``(C, m, 2)``), Prim's in batch."""
    C, m, _ = P.shape
    if m < 2:
        return np.zeros(C)
    D = np.abs(P[:, :, None, :] - P[:, None, :, :]).sum(-1).astype(float)
    rows = np.arange(C)
    done = np.zeros((C, m), dtype=bool)
    done[:, 0] = True
    best = D[:, 0, :].copy()
    total = np.zeros(C)
    for _ in range(m - 1):
        j = np.argmin(np.where(done, np.inf, best), axis=1)
        total += best[rows, j]
        done[rows, j] = True
        best = np.minimum(best, D[rows, j, :])
    return total


def _mst_edges(P: np.ndarray) -> list[tuple[int, int]]:
    """Edges of a rectilinear minimum spanning tree of the points ``P`` (``(m, 2)``)."""
    m = len(P)
    if m < 2:
        return []
    D = np.abs(P[:, None, :] - P[None, :, :]).sum(-1).astype(float)
    done = np.zeros(m, dtype=bool)
    done[0] = True
    best = D[0].copy()
    via = np.zeros(m, dtype=np.int64)
    edges = []
    for _ in range(m - 1):
        j = int(np.argmin(np.where(done, np.inf, best)))
        edges.append((int(via[j]), j))
        done[j] = True
        closer = D[j] < best
        best = np.where(closer, D[j], best)
        via = np.where(closer, j, via)
    return edges


def steiner_tree(points: Sequence[tuple[int, int]]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """A rectilinear Steiner tree of ``points``: ``(nodes, edges)``.

    ``nodes`` starts with the distinct input points (first-seen order), then
    the Steiner points; ``edges`` join node indices (each edge is routed
    later as an L or Z shape).  Iterated 1-Steiner: the Hanan-grid point that
    shortens the MST most is added while one does, Steiner points of degree
    two or less are dropped.  Above :data:`STEINER_MAX_PINS` points, the MST.

    >>> nodes, edges = steiner_tree([(0, 0), (4, 0), (2, 3)])
    >>> nodes[3], len(edges)
    ((2, 0), 3)
    """
    pins: list[tuple[int, int]] = list(dict.fromkeys((int(x), int(y)) for x, y in points))
    if len(pins) <= 2 or len(pins) > STEINER_MAX_PINS:
        return pins, _mst_edges(np.asarray(pins, dtype=np.int64).reshape(-1, 2))
    npin = len(pins)
    P = np.asarray(pins, dtype=np.int64)
    xs, ys = np.unique(P[:, 0]), np.unique(P[:, 1])
    cand = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1).reshape(-1, 2)
    cur = P
    cur_len = float(_mst_lengths(cur[None])[0])
    while True:
        taken = (cand[:, None, :] == cur[None, :, :]).all(-1).any(1)
        c = cand[~taken]
        if len(c) == 0:
            break
        batch = np.concatenate([np.broadcast_to(cur, (len(c),) + cur.shape), c[:, None, :]], axis=1)
        lens = _mst_lengths(batch)
        k = int(np.argmin(lens))
        if lens[k] >= cur_len - 1e-9:
            break
        cur = np.concatenate([cur, c[k : k + 1]])
        # drop Steiner points of degree <= 2 (never lengthens a rectilinear MST)
        while True:
            edges = _mst_edges(cur)
            deg = np.bincount(np.asarray(edges).ravel(), minlength=len(cur))
            weak = [i for i in range(npin, len(cur)) if deg[i] <= 2]
            if not weak:
                break
            cur = np.delete(cur, weak[0], axis=0)
        cur_len = float(_mst_lengths(cur[None])[0])
    nodes = [(int(x), int(y)) for x, y in cur]
    return nodes, _mst_edges(cur)


# -- the 2-D router ----------------------------------------------------------------


class _Router:
    """2-D negotiated-congestion routing of all nets on the projected grid."""

    def __init__(self, grid: GridGraph, nets: Sequence[GRNet], via_cost: float, progress: Callable[[str, float | None], None]):
        self.grid = grid
        self.nets = nets
        self.progress = progress
        nx, ny, nl = grid.nx, grid.ny, grid.nl
        self.nx, self.ny = nx, ny
        self.NH = ny * (nx - 1)
        self.NE = self.NH + (ny - 1) * nx
        unit = np.asarray(grid.min_width) + np.asarray(grid.spacing)
        tracks_h = (grid.hcap // unit[:, None, None]).sum(0)
        tracks_v = (grid.vcap // unit[:, None, None]).sum(0)
        self.cap = np.concatenate([tracks_h.ravel(), tracks_v.ravel()]).astype(float)
        self.use = np.zeros(self.NE)
        self.hist = np.zeros(self.NE)
        self.capH = self.cap[: self.NH].reshape(ny, nx - 1)
        self.capV = self.cap[self.NH :].reshape(ny - 1, nx)
        self.useH = self.use[: self.NH].reshape(ny, nx - 1)
        self.useV = self.use[self.NH :].reshape(ny - 1, nx)
        self.histH = self.hist[: self.NH].reshape(ny, nx - 1)
        self.histV = self.hist[self.NH :].reshape(ny - 1, nx)
        # layers per direction; a bend costs the via layers between the lowest of each
        h_layers = [l for l in range(nl) if grid.hcap[l].size and grid.hcap[l].max() > 0]
        v_layers = [l for l in range(nl) if grid.vcap[l].size and grid.vcap[l].max() > 0]
        self.h_layers = h_layers or list(range(nl))
        self.v_layers = v_layers or list(range(nl))
        self.via_cost = float(via_cost)
        self.bend = max(_EPS, via_cost * min(abs(a - b) for a in self.h_layers for b in self.v_layers))
        self.present = PRESENT_START
        # per net: distinct 2-D pin tiles, their layers, demand in tracks
        self.pins: list[list[tuple[int, int]]] = []
        self.pin_layers: list[dict[tuple[int, int], set[int]]] = []
        self.d: list[float] = []
        for net in nets:
            layers: dict[tuple[int, int], set[int]] = {}
            for x, y, l in net.pins:
                layers.setdefault((x, y), set()).add(l)
            self.pins.append(list(layers))
            self.pin_layers.append(layers)
            self.d.append(float(np.max(-(-grid.demand(net.width) // unit))))
        self.edges: list[set[int]] = [set() for _ in nets]

    # -- edge ids -------------------------------------------------------------
    def h_id(self, x: int, y: int) -> int:
        return y * (self.nx - 1) + x

    def v_id(self, x: int, y: int) -> int:
        return self.NH + y * self.nx + x

    def ends(self, e: int) -> tuple[tuple[int, int], tuple[int, int]]:
        if e < self.NH:
            y, x = divmod(e, self.nx - 1)
            return (x, y), (x + 1, y)
        y, x = divmod(e - self.NH, self.nx)
        return (x, y), (x, y + 1)

    # -- usage ------------------------------------------------------------------
    def commit(self, k: int, edges: set[int]) -> None:
        self.edges[k] = edges
        if edges:
            self.use[np.fromiter(edges, dtype=np.int64)] += self.d[k]

    def rip(self, k: int) -> set[int]:
        old = self.edges[k]
        if old:
            self.use[np.fromiter(old, dtype=np.int64)] -= self.d[k]
        self.edges[k] = set()
        return old

    def overflow(self) -> np.ndarray:
        return np.maximum(self.use - self.cap, 0.0)

    # -- costs ------------------------------------------------------------------
    def box_costs(self, box: tuple[int, int, int, int], d: float, hard: bool) -> tuple[np.ndarray, np.ndarray]:
        """Edge costs inside ``box = (x0, y0, x1, y1)`` (inclusive): ``(ch, cv)``.

        Soft: ``(1 + history) * (1 + present * overuse)``.  Hard: 1 where the
        edge has room for ``d`` more, infinity elsewhere.
        """
        x0, y0, x1, y1 = box
        sh = (slice(y0, y1 + 1), slice(x0, x1))
        sv = (slice(y0, y1), slice(x0, x1 + 1))
        out = []
        for use, cap, hist, s in ((self.useH, self.capH, self.histH, sh), (self.useV, self.capV, self.histV, sv)):
            over = use[s] + d - cap[s]
            if hard:
                c = np.where(over <= 0, 1.0, np.inf)
            else:
                c = (1.0 + hist[s]) * (1.0 + self.present * np.maximum(over, 0.0))
            out.append(c)
        return out[0], out[1]

    def box_of(self, k: int, margin: int) -> tuple[int, int, int, int]:
        p = np.asarray(self.pins[k])
        x0, y0 = p.min(0) - margin
        x1, y1 = p.max(0) + margin
        return (max(0, int(x0)), max(0, int(y0)), min(self.nx - 1, int(x1)), min(self.ny - 1, int(y1)))

    def pin_term(self, k: int, node: tuple[int, int]) -> tuple[float, float]:
        """Via cost to reach the pins at ``node`` from a horizontal / vertical wire."""
        ls = self.pin_layers[k].get(node)
        if not ls:
            return (0.0, 0.0)
        th = min(max(abs(p - h) for p in ls) for h in self.h_layers)
        tv = min(max(abs(p - v) for p in ls) for v in self.v_layers)
        return (self.via_cost * th, self.via_cost * tv)

    def route_cost(self, k: int, edges: set[int]) -> float:
        """Wire edges plus estimated vias of a 2-D route (lowest layer per direction)."""
        dirs: dict[tuple[int, int], int] = {}
        for e in edges:
            bit = 1 if e < self.NH else 2
            for n in self.ends(e):
                dirs[n] = dirs.get(n, 0) | bit
        lh, lv = min(self.h_layers), min(self.v_layers)
        vias = 0
        for n in set(dirs) | set(self.pin_layers[k]):
            ls = set(self.pin_layers[k].get(n, ()))
            b = dirs.get(n, 0)
            if b & 1:
                ls.add(lh)
            if b & 2:
                ls.add(lv)
            if ls:
                vias += max(ls) - min(ls)
        return len(edges) + self.via_cost * vias

    # -- pattern routing -------------------------------------------------------
    def pattern(self, k: int, hard: bool = False) -> set[int] | None:
        """Route net ``k``'s Steiner tree, each edge as the cheapest L or Z shape."""
        nodes, tree = self.steiner[k]
        if not tree:
            return set()
        box = self.box_of(k, 0)
        x0, y0, x1, y1 = box
        ch, cv = self.box_costs(box, self.d[k], hard)
        if hard:  # full edges: a finite stand-in keeps the prefix sums free of inf - inf
            ch, cv = np.minimum(ch, _BIG), np.minimum(cv, _BIG)
        PH = np.zeros((ch.shape[0], ch.shape[1] + 1))
        np.cumsum(ch, axis=1, out=PH[:, 1:])
        PV = np.zeros((cv.shape[0] + 1, cv.shape[1]))
        np.cumsum(cv, axis=0, out=PV[1:, :])
        out: set[int] = set()
        for i, j in tree:
            (ax, ay), (bx, by) = nodes[i], nodes[j]
            if ax > bx:
                ax, ay, bx, by = bx, by, ax, ay
            ax, bx, ay, by = ax - x0, bx - x0, ay - y0, by - y0
            best = np.inf
            shape = None
            # horizontal - vertical - horizontal, bend column xm
            xs = np.arange(ax, bx + 1)
            c1 = (PH[ay, xs] - PH[ay, ax]) + np.abs(PV[by, xs] - PV[ay, xs]) + (PH[by, bx] - PH[by, xs])
            if ay != by:
                c1 = c1 + self.bend * ((xs != ax).astype(float) + (xs != bx))
            m = int(np.argmin(c1))
            if c1[m] < best:
                best, shape = c1[m], ("hvh", int(xs[m]))
            if ay != by and ax != bx:
                lo, hi = min(ay, by), max(ay, by)
                ys = np.arange(lo, hi + 1)
                c2 = np.abs(PV[ys, ax] - PV[ay, ax]) + (PH[ys, bx] - PH[ys, ax]) + np.abs(PV[by, bx] - PV[ys, bx])
                c2 = c2 + self.bend * ((ys != ay).astype(float) + (ys != by))
                m = int(np.argmin(c2))
                if c2[m] < best:
                    best, shape = c2[m], ("vhv", int(ys[m]))
            if not best < _BIG:
                return None
            kind, t = shape  # type: ignore[misc]
            if kind == "hvh":
                out |= self._hrun(ax + x0, t + x0, ay + y0)
                out |= self._vrun(t + x0, ay + y0, by + y0)
                out |= self._hrun(t + x0, bx + x0, by + y0)
            else:
                out |= self._vrun(ax + x0, ay + y0, t + y0)
                out |= self._hrun(ax + x0, bx + x0, t + y0)
                out |= self._vrun(bx + x0, t + y0, by + y0)
        return self.prune(k, out)

    def _hrun(self, xa: int, xb: int, y: int) -> set[int]:
        lo, hi = min(xa, xb), max(xa, xb)
        return {self.h_id(x, y) for x in range(lo, hi)}

    def _vrun(self, x: int, ya: int, yb: int) -> set[int]:
        lo, hi = min(ya, yb), max(ya, yb)
        return {self.v_id(x, y) for y in range(lo, hi)}

    def prune(self, k: int, edges: set[int]) -> set[int]:
        """A tree out of ``edges``: break cycles (BFS from a pin), strip non-pin leaves."""
        if not edges:
            return edges
        adj: dict[tuple[int, int], list[tuple[tuple[int, int], int]]] = {}
        for e in edges:
            a, b = self.ends(e)
            adj.setdefault(a, []).append((b, e))
            adj.setdefault(b, []).append((a, e))
        start = self.pins[k][0]
        keep: set[int] = set()
        seen = {start}
        queue = [start]
        for n in queue:
            for m, e in sorted(adj.get(n, ()), key=lambda t: t[1]):
                if m not in seen:
                    seen.add(m)
                    keep.add(e)
                    queue.append(m)
        pins = set(self.pins[k])
        deg: dict[tuple[int, int], list[int]] = {}
        for e in keep:
            for n in self.ends(e):
                deg.setdefault(n, []).append(e)
        leaves = [n for n, es in deg.items() if len(es) == 1 and n not in pins]
        while leaves:
            n = leaves.pop()
            es = deg.get(n)
            if not es or len(es) != 1 or n in pins:
                continue
            e = es[0]
            keep.discard(e)
            del deg[n]
            for m in self.ends(e):
                if m != n and m in deg:
                    deg[m].remove(e)
                    if len(deg[m]) == 1 and m not in pins:
                        leaves.append(m)
        return keep

    # -- maze routing -------------------------------------------------------------
    def maze(self, k: int, margin: int, hard: bool = False, start: int = 0) -> set[int] | None:
        """Route net ``k`` by growing a tree with Dijkstra searches in its box.

        Nodes are ``(state, x, y)`` with state 0 on a horizontal and 1 on a
        vertical wire; a state change is a bend (cost ``self.bend``).  Each
        search starts from a virtual source joined to the current tree and
        ends at the cheapest unconnected pin; the tree starts at pin
        ``start``.  None: a pin is unreachable.
        """
        pins = self.pins[k]
        if len(pins) < 2:
            return set()
        box = self.box_of(k, margin)
        for _ in range(2):  # the box, then the whole grid
            got = self._maze_box(k, box, hard, start)
            if got is not None:
                return self.prune(k, got)
            full = (0, 0, self.nx - 1, self.ny - 1)
            if box == full:
                break
            box = full
        return None

    def _maze_box(self, k: int, box: tuple[int, int, int, int], hard: bool, start: int = 0) -> set[int] | None:
        x0, y0, x1, y1 = box
        bw, bh = x1 - x0 + 1, y1 - y0 + 1
        N = bw * bh
        S = 2 * N  # virtual source, joined to every node; only tree nodes get a finite weight
        ch, cv = self.box_costs(box, self.d[k], hard)
        idx = np.arange(N).reshape(bh, bw)
        ha, hb = idx[:, :-1].ravel(), idx[:, 1:].ravel()
        va, vb = idx[:-1, :].ravel() + N, idx[1:, :].ravel() + N
        a = np.arange(N)
        R = np.concatenate([ha, hb, va, vb, a, a + N, np.full(2 * N, S)])
        C = np.concatenate([hb, ha, vb, va, a + N, a, np.arange(2 * N)])
        hw, vw = ch.ravel(), cv.ravel()
        W = np.concatenate([hw, hw, vw, vw, np.full(2 * N, self.bend), np.full(2 * N, np.inf)])
        W = np.maximum(W, _EPS)
        G = csr_matrix((W, (R, C)), shape=(2 * N + 1, 2 * N + 1))
        G.sort_indices()
        src = G.data[G.indptr[S] : G.indptr[S + 1]]  # a view: column c is entry c
        assert len(src) == 2 * N

        def local(n: tuple[int, int]) -> int:
            return (n[1] - y0) * bw + (n[0] - x0)

        pins = self.pins[k]
        bits: dict[int, int] = {}  # local node -> direction bits of tree wires there

        def set_source(i: int, n: tuple[int, int]) -> None:
            b = bits.get(i, 0)
            th, tv = self.pin_term(k, n) if b == 0 else (0.0, 0.0)
            if b == 1:
                tv = self.bend
            elif b == 2:
                th = self.bend
            src[i] = max(th, _EPS)
            src[i + N] = max(tv, _EPS)

        set_source(local(pins[start]), pins[start])
        left = {local(n): n for i, n in enumerate(pins) if i != start}
        terms = {i: self.pin_term(k, n) for i, n in left.items()}
        edges: set[int] = set()
        while left:
            dist, pred = dijkstra(G, directed=True, indices=S, return_predecessors=True)
            li = np.fromiter(left, dtype=np.int64)
            th = np.array([terms[i][0] for i in li])
            tv = np.array([terms[i][1] for i in li])
            dh, dv = dist[li] + th, dist[li + N] + tv
            j = int(np.argmin(np.minimum(dh, dv)))
            if not np.isfinite(min(dh[j], dv[j])):
                return None
            target = int(li[j]) if dh[j] <= dv[j] else int(li[j]) + N
            path = [target]
            while pred[path[-1]] != S:
                path.append(int(pred[path[-1]]))
            for p, q in zip(path, path[1:]):
                ip, iq = p % N, q % N
                if ip == iq:
                    continue
                yp, xp = divmod(ip, bw)
                yq, xq = divmod(iq, bw)
                if yp == yq:
                    edges.add(self.h_id(min(xp, xq) + x0, yp + y0))
                else:
                    edges.add(self.v_id(xp + x0, min(yp, yq) + y0))
            for p in path:
                st, i = divmod(p, N)
                bits[i] = bits.get(i, 0) | (1 << st)
            for p in path:
                i = p % N
                yy, xx = divmod(i, bw)
                set_source(i, (xx + x0, yy + y0))
                left.pop(i, None)
        return edges

    # -- the whole run ------------------------------------------------------------
    def run(self, max_rounds: int, recovery_passes: int) -> dict[str, object]:
        order = sorted(range(len(self.nets)), key=lambda k: self._hpwl(k))
        self.steiner = [steiner_tree(p) for p in self.pins]
        for n, k in enumerate(order):
            self.progress("pattern routing", n / max(1, len(order)))
            r = self.pattern(k)
            self.commit(k, r if r is not None else set())
        stats: dict[str, object] = {"pattern_overflow": float(self.overflow().sum())}
        rounds = 0
        for rounds in range(1, max_rounds + 1):
            over = self.overflow()
            total = float(over.sum())
            if total == 0:
                rounds -= 1
                break
            self.hist += HISTORY_STEP * over
            self.present *= PRESENT_GROWTH
            hot = over > 0
            victims = [k for k in order if self.edges[k] and hot[np.fromiter(self.edges[k], dtype=np.int64)].any()]
            self.progress(f"rip-up and reroute round {rounds}: overflow {total:g}, {len(victims)} nets", rounds / max_rounds)
            margin = 2 + rounds // 3
            for k in victims:
                old = self.rip(k)
                new = self.maze(k, margin)
                self.commit(k, new if new is not None else old)
        stats["rounds"] = rounds
        stats["overflow_2d"] = float(self.overflow().sum())
        stats["wirelength_2d_before_recovery"] = sum(self.route_cost(k, self.edges[k]) for k in range(len(self.nets)))
        if stats["overflow_2d"] == 0:
            for p in range(recovery_passes):
                gained = 0.0
                for n, k in enumerate(order):
                    self.progress(f"wirelength recovery pass {p + 1}", n / max(1, len(order)))
                    old = self.rip(k)
                    best, best_cost = old, self.route_cost(k, old)
                    starts = range(len(self.pins[k])) if len(self.pins[k]) <= RECOVERY_STARTS else (0,)
                    cands = [self.maze(k, 2 + 2 * p, hard=True, start=i) for i in starts]
                    for cand in cands + [self.pattern(k, hard=True)]:
                        if cand is not None:
                            c = self.route_cost(k, cand)
                            if c < best_cost - 1e-9:
                                best, best_cost = cand, c
                    gained += self.route_cost(k, old) - best_cost
                    self.commit(k, best)
                if gained <= 0:
                    break
            stats["recovery_passes"] = p + 1 if recovery_passes else 0
        return stats

    def _hpwl(self, k: int) -> int:
        p = np.asarray(self.pins[k])
        return int((p.max(0) - p.min(0)).sum())


# -- layer assignment ----------------------------------------------------------------


def _assign_layers(
    grid: GridGraph,
    r: _Router,
    k: int,
    hu: np.ndarray,
    vu: np.ndarray,
    via_cost: float,
) -> list[Segment]:
    """Put net ``k``'s 2-D tree on layers (tree DP), charge ``hu``/``vu``, return segments."""
    dem = grid.demand(r.nets[k].width)
    nl = grid.nl
    layers = r.pin_layers[k]
    root = r.pins[k][0]
    edges = r.edges[k]
    if not edges:
        ls = sorted(layers[root])
        return [((root[0], root[1], ls[0]), (root[0], root[1], ls[-1]))] if ls[-1] > ls[0] else []
    adj: dict[tuple[int, int], list[tuple[tuple[int, int], int]]] = {}
    for e in edges:
        a, b = r.ends(e)
        adj.setdefault(a, []).append((b, e))
        adj.setdefault(b, []).append((a, e))
    order = [root]
    parent: dict[tuple[int, int], tuple[tuple[int, int], int] | None] = {root: None}
    for n in order:
        for m, e in adj[n]:
            if m not in parent:
                parent[m] = (n, e)
                order.append(m)
    children: dict[tuple[int, int], list[tuple[tuple[int, int], int]]] = {n: [] for n in order}
    for n in order[1:]:
        p, e = parent[n]  # type: ignore[misc]
        children[p].append((n, e))

    tie = 1e-6 * np.arange(nl)  # ties go to the lower layer
    h_ok = np.full(nl, np.inf)
    h_ok[r.h_layers] = 0.0
    v_ok = np.full(nl, np.inf)
    v_ok[r.v_layers] = 0.0

    def edge_cost(e: int) -> np.ndarray:
        (x, y), (x2, y2) = r.ends(e)
        if y == y2:
            cap, use, ok = grid.hcap[:, y, x], hu[:, y, x], h_ok
        else:
            cap, use, ok = grid.vcap[:, y, x], vu[:, y, x], v_ok
        return ok + FULL_PENALTY * np.maximum(use + dem - cap, 0) + tie

    lo_idx, hi_idx = np.triu_indices(nl)
    span_mask = (lo_idx[:, None] <= np.arange(nl)[None, :]) & (np.arange(nl)[None, :] <= hi_idx[:, None])
    span_cost = via_cost * (hi_idx - lo_idx)
    f: dict[tuple[int, int], np.ndarray] = {}  # node -> cost of its subtree per incoming layer
    choice: dict[tuple[int, int], tuple[np.ndarray, list[np.ndarray]]] = {}
    for n in reversed(order):
        kids = children[n]
        valid = np.ones(len(lo_idx), dtype=bool)
        if n in layers:
            pl = layers[n]
            valid &= (lo_idx <= min(pl)) & (hi_idx >= max(pl))
        S = span_cost.astype(float).copy()
        S[~valid] = np.inf
        kid_arg: list[np.ndarray] = []
        if kids:
            F = np.stack([f[m] + edge_cost(e) for m, e in kids])  # (children, layers): per layer of the edge
            V = np.where(span_mask[None, :, :], F[:, None, :], np.inf)  # (children, spans, layers)
            A = np.argmin(V, axis=2)
            S = S + np.take_along_axis(V, A[:, :, None], axis=2)[:, :, 0].sum(0)
            kid_arg = list(A)
        # incoming layer l: best span containing l
        Sl = np.where(span_mask.T, S[None, :], np.inf)
        span_of = np.argmin(Sl, axis=1)
        f[n] = Sl[np.arange(nl), span_of]
        choice[n] = (span_of, kid_arg)
    # root: no incoming edge, so its best span overall
    assign: dict[int, int] = {}
    spans: dict[tuple[int, int], tuple[int, int]] = {}
    best_span = int(np.argmin(f[root]))
    span_root = int(choice[root][0][best_span])
    stack = [(root, span_root)]
    while stack:
        n, s = stack.pop()
        spans[n] = (int(lo_idx[s]), int(hi_idx[s]))
        _, kid_arg = choice[n]
        for (m, e), A in zip(children[n], kid_arg):
            l = int(A[s])
            assign[e] = l
            stack.append((m, int(choice[m][0][l])))
    segs: list[Segment] = []
    for n, (lo, hi) in spans.items():
        if hi > lo:
            segs.append(((n[0], n[1], lo), (n[0], n[1], hi)))
    runs: dict[tuple[str, int, int], list[int]] = {}
    for e, l in assign.items():
        (x, y), (x2, y2) = r.ends(e)
        if y == y2:
            hu[l, y, x] += dem[l]
            runs.setdefault(("h", l, y), []).append(x)
        else:
            vu[l, y, x] += dem[l]
            runs.setdefault(("v", l, x), []).append(y)
    for (kind, l, c), ts in sorted(runs.items()):
        ts.sort()
        start = prev = ts[0]
        for t in ts[1:] + [None]:
            if t is not None and t == prev + 1:
                prev = t
                continue
            if kind == "h":
                segs.append(((start, c, l), (prev + 1, c, l)))
            else:
                segs.append(((c, start, l), (c, prev + 1, l)))
            if t is not None:
                start = prev = t
    return segs


# -- entry point -----------------------------------------------------------------------


def global_route(
    grid: GridGraph,
    nets: Sequence[GRNet],
    *,
    via_cost: int = 1,
    max_rounds: int = 60,
    recovery_passes: int = 3,
    progress: Callable[[str, float | None], None] | None = None,
) -> GRResult:
    """Route every net of ``nets`` on ``grid``; see the module docstring for the steps.

    Parameters
    ----------
    via_cost : int
        Wirelength charged per via layer (ISPD'08: 1).
    max_rounds : int
        Rip-up and reroute rounds at most; the result may keep overflow if
        they do not remove it (reported in ``overflow_total``, never hidden).
    recovery_passes : int
        Wirelength recovery passes once the overflow is zero (0: none).
    progress : callable, optional
        ``progress(message, fraction)``, e.g. a :class:`flow.progress.Progress`.

    Raises
    ------
    InputError
        A pin lies outside the grid or a net has no pins.
    """
    for net in nets:
        if not net.pins:
            raise InputError(f"net {net.name}: no pins")
        for p in net.pins:
            if not grid.contains(p):
                raise InputError(f"net {net.name}: pin {p} is outside the {grid.nx} x {grid.ny} x {grid.nl} grid")
    say = progress or (lambda message, fraction=None: None)
    r = _Router(grid, nets, via_cost, say)
    stats = r.run(max_rounds, recovery_passes)
    hu = np.zeros(grid.hcap.shape, dtype=np.int64)
    vu = np.zeros(grid.vcap.shape, dtype=np.int64)
    routes: list[tuple[Segment, ...]] = [()] * len(nets)
    la_order = sorted(range(len(nets)), key=lambda k: (len(r.edges[k]), k))
    for n, k in enumerate(la_order):
        say("layer assignment", n / max(1, len(nets)))
        routes[k] = tuple(_assign_layers(grid, r, k, hu, vu, via_cost))
    ev = evaluate(grid, nets, routes, via_cost)
    if ev.disconnected or ev.bad:  # a bug, not a user error: say it loudly
        raise AssertionError(f"global router produced broken routes: {(ev.disconnected + ev.bad)[:5]}")
    return GRResult(
        routes=tuple(routes),
        overflow_total=ev.overflow_total,
        overflow_max=ev.overflow_max,
        overflow_edges=ev.overflow_edges,
        wirelength=ev.wirelength,
        wire=ev.wirelength - via_cost * ev.vias,
        vias=ev.vias,
        iterations=int(stats["rounds"]),  # type: ignore[arg-type]
        stats=stats,
    )


# -- the grid graph of a kit's metal stack -------------------------------------------------


@dataclass(frozen=True)
class KitTiling:
    """A :class:`GridGraph` over a routing region of a kit, and how dbu map to it.

    ``metals`` are the kit's routing metals bottom up (graph layer ``l`` is
    ``metals[l]``); tile ``(x, y)`` covers ``origin + (x, y) * tile`` to
    ``origin + (x + 1, y + 1) * tile`` (dbu); ``pitch`` is the detailed
    router's track pitch (:func:`flow.route.grid.make_grid`).
    """

    grid: GridGraph
    metals: tuple[str, ...]
    origin: tuple[int, int]
    tile: int
    pitch: int

    def tile_of(self, x: int, y: int, metal: str) -> Tile:
        """The tile of the point ``(x, y)`` (dbu) on ``metal``, clamped to the grid."""
        if metal not in self.metals:
            raise InputError(f"{metal!r} is not a routing metal; routing metals are {', '.join(self.metals)}")
        tx = min(max((x - self.origin[0]) // self.tile, 0), self.grid.nx - 1)
        ty = min(max((y - self.origin[1]) // self.tile, 0), self.grid.ny - 1)
        return (int(tx), int(ty), self.metals.index(metal))


def kit_grid_graph(
    kit: object,
    region: Sequence[int],
    tile_tracks: int = 8,
    obstacles: Sequence[tuple[str, tuple[int, int, int, int]]] = (),
) -> KitTiling:
    """The global-routing graph of ``kit``'s metal stack over ``region`` (x0, y0, x1, y1 dbu).

    Tiles are ``tile_tracks`` detailed-router pitches square.  Metals take
    turns in preferred direction, the lowest horizontal; an edge's capacity
    is the number of tracks crossing the boundary between its two tiles
    (``tile_tracks``), less the tracks an obstacle on that metal covers where
    it spans the boundary.  Obstacles are ``(metal, rect)`` in dbu; other
    layers are ignored.
    """
    from flow.route.grid import make_grid

    if tile_tracks < 1:
        raise InputError(f"global route: tile_tracks must be at least 1, got {tile_tracks}")
    rg = make_grid(kit, region)  # type: ignore[arg-type]
    x0, y0, x1, y1 = (int(v) for v in region)
    tile = rg.pitch * tile_tracks
    nx = max(1, -(-(x1 - x0) // tile))
    ny = max(1, -(-(y1 - y0) // tile))
    metals = tuple(rg.metals)
    nl = len(metals)
    h = np.zeros((nl, ny, nx - 1), dtype=np.int64)
    v = np.zeros((nl, ny - 1, nx), dtype=np.int64)
    # track positions: pitch apart from the router grid's origin
    tx = rg.origin[0] + rg.pitch * np.arange(rg.nx)
    ty = rg.origin[1] + rg.pitch * np.arange(rg.ny)
    row_of = (ty - y0) // tile  # horizontal tracks per tile row
    col_of = (tx - x0) // tile
    rows = np.bincount(row_of[(row_of >= 0) & (row_of < ny)], minlength=ny)
    cols = np.bincount(col_of[(col_of >= 0) & (col_of < nx)], minlength=nx)
    for l in range(nl):
        if l % 2 == 0:
            h[l] = rows[:, None]
        else:
            v[l] = cols[None, :]
    for metal, rect in obstacles:
        if metal not in metals:
            continue
        l = metals.index(metal)
        rx0, ry0, rx1, ry1 = rect
        if l % 2 == 0:  # horizontal tracks at ty, boundaries at x = x0 + (i + 1) * tile
            bx = x0 + tile * np.arange(1, nx)
            span = (bx >= rx0) & (bx <= rx1)
            hit = (ty >= ry0) & (ty <= ry1) & (row_of >= 0) & (row_of < ny)
            blocked = np.bincount(row_of[hit], minlength=ny)
            h[l][:, span] -= blocked[:, None]
        else:
            by = y0 + tile * np.arange(1, ny)
            span = (by >= ry0) & (by <= ry1)
            hit = (tx >= rx0) & (tx <= rx1) & (col_of >= 0) & (col_of < nx)
            blocked = np.bincount(col_of[hit], minlength=nx)
            v[l][span, :] -= blocked[None, :]
    np.maximum(h, 0, out=h)
    np.maximum(v, 0, out=v)
    return KitTiling(GridGraph(h, v), metals, (x0, y0), int(tile), int(rg.pitch))


# -- guides for a detailed router ----------------------------------------------------------


def route_guides(grid: GridGraph, segments: Sequence[Segment], dilate: int = 0) -> np.ndarray:
    """Tiles a net's route covers: a ``(nl, ny, nx)`` boolean mask, grown by ``dilate`` tiles.

    Wire runs mark their tiles on their layer, via stacks their tile on each
    layer they cross.  A detailed router can restrict (or favour) its search
    to the mask; ``dilate`` leaves it room around the global route.

    >>> g = GridGraph.uniform(4, 3, hcap=[1, 0], vcap=[0, 1])
    >>> m = route_guides(g, [((0, 1, 0), (2, 1, 0)), ((2, 1, 0), (2, 1, 1))])
    >>> m[0].astype(int).tolist(), int(m[1].sum())
    ([[0, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0]], 1)
    """
    mask = np.zeros((grid.nl, grid.ny, grid.nx), dtype=bool)
    for (x1, y1, l1), (x2, y2, l2) in segments:
        mask[min(l1, l2) : max(l1, l2) + 1, min(y1, y2) : max(y1, y2) + 1, min(x1, x2) : max(x1, x2) + 1] = True
    if dilate > 0:
        from scipy.ndimage import binary_dilation

        mask = binary_dilation(mask, structure=np.ones((1, 2 * dilate + 1, 2 * dilate + 1), dtype=bool))
    return mask


def guide_rects(mask: np.ndarray, origin: tuple[int, int], tile: tuple[int, int]) -> list[tuple[int, tuple[int, int, int, int]]]:
    """A guide mask as ``(layer, (x0, y0, x1, y1))`` rectangles (tile rows merged into runs).

    ``origin`` is the lower-left corner of tile ``(0, 0)`` and ``tile`` the
    tile size, both in the caller's units (e.g. dbu).

    >>> m = np.zeros((1, 2, 3), dtype=bool); m[0, 1, :2] = True
    >>> guide_rects(m, (0, 0), (10, 10))
    [(0, (0, 10, 20, 20))]
    """
    out = []
    for l, y in zip(*np.nonzero(mask.any(axis=2))):
        row = np.concatenate([[False], mask[l, y], [False]])
        d = np.diff(row.astype(np.int8))
        for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
            out.append((int(l), (origin[0] + int(a) * tile[0], origin[1] + int(y) * tile[1], origin[0] + int(b) * tile[0], origin[1] + (int(y) + 1) * tile[1])))
    return out


def kit_guides(
    kit: object,
    region: Sequence[int],
    obstacles: Sequence[object],
    terminals: Mapping[str, Sequence[Sequence[object]]],
    *,
    tile_tracks: int = 8,
    dilate: int = 1,
    progress: Callable[[str, float | None], None] | None = None,
) -> tuple[GRResult, KitTiling, dict[str, list[tuple[str, tuple[int, int, int, int]]]]]:
    """Global routes and route guides for the detailed router's inputs.

    Takes what :func:`flow.route.router.route` takes (``obstacles``: shapes
    with ``layer``, ``rect``, ``net``; ``terminals``: net -> terminals, each a
    list of alternative shapes) and returns the global result, the tiling and,
    per net with two or more terminals, guide rectangles ``(metal, rect)`` in
    dbu: the tiles its global route covers, grown by ``dilate`` tiles.  A
    terminal's tile is that of the centre of its first shape on a routing
    metal (the lowest metal if it has none).  Obstacles on routing metals
    take the tracks they cover out of the capacity.
    """
    t = kit_grid_graph(kit, region, tile_tracks, [(s.layer, s.rect) for s in obstacles])  # type: ignore[attr-defined]
    names: list[str] = []
    nets: list[GRNet] = []
    for name, terms in terminals.items():
        pins = []
        for alternatives in terms:
            on_metal = [s for s in alternatives if s.layer in t.metals]  # type: ignore[attr-defined]
            if not alternatives:
                continue
            s = (on_metal or list(alternatives))[0]
            x0, y0, x1, y1 = s.rect  # type: ignore[attr-defined]
            metal = s.layer if on_metal else t.metals[0]  # type: ignore[attr-defined]
            pins.append(t.tile_of((x0 + x1) // 2, (y0 + y1) // 2, metal))
        if len(pins) >= 2:
            names.append(name)
            nets.append(GRNet(name, tuple(pins)))
    res = global_route(t.grid, nets, progress=progress)
    guides = {}
    for name, segs in zip(names, res.routes):
        mask = route_guides(t.grid, segs, dilate)
        for net_pin in nets[names.index(name)].pins:  # a route-less net still gets its pins' tiles
            mask[net_pin[2], net_pin[1], net_pin[0]] = True
        guides[name] = [(t.metals[l], r) for l, r in guide_rects(mask, t.origin, (t.tile, t.tile))]
    return res, t, guides
