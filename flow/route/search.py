"""Negotiated-congestion (PathFinder) search on a :class:`~flow.route.grid.Fabric`.

Each net is routed as a tree: it starts from the access points of its first
terminal and repeatedly joins the nearest unconnected terminal with an A*
search from the whole current tree to that terminal's access points.  The
cost of entering a point is ``base * (1 + history) * (1 + present * users)``
where ``base`` is 1 per pitch in a layer's preferred direction,
:data:`WRONG_WAY` against it and :data:`VIA_COST` for a via; ``users`` counts
the other nets on the point.  After each iteration points used by more than
one net get more history, and the nets on them are ripped up and rerouted
with a larger present factor, until no point is shared.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import maximum_filter
from scipy.spatial import cKDTree

from flow.route.grid import FREE, Fabric, RouteGrid

VIA_COST = 3.0
WRONG_WAY = 1.5
PRESENT_START = 0.5
PRESENT_GROWTH = 1.6
HISTORY_STEP = 1.0
#: Extra cost factor of a step outside a net's guide (global route).
GUIDE_OUT = 1.0


@dataclass
class NetJob:
    """One net to route and its state.

    ``access[t]`` lists the point ids through which terminal ``t`` is reached
    (sorted); ``pins[t]`` is a (layer, rect) of the terminal for messages.
    """

    name: str
    index: int
    access: list[list[int]]
    pins: list[tuple[str, tuple[int, int, int, int]]]
    ring: tuple[frozenset[int], Mapping[int, frozenset[int]], Mapping[int, frozenset[int]]] = field(
        default_factory=lambda: (frozenset(), {}, {})
    )
    nodes: set[int] = field(default_factory=set)
    edges: set[tuple[int, int]] = field(default_factory=set)
    failed: str | None = None
    failed_terminal: int = -1
    #: The net's own blockage labels (owner, hedge, vedge, via_ok as flat
    #: lists) when it has its own fabric (wide or voltage-spaced), else None.
    arrays: tuple[list[int], list[int], list[int], list[bool]] | None = None
    #: Cost factor per metal (a wide wire costs more where it is wider).
    lcost: tuple[float, ...] = ()
    #: Per point (flat id): 1 inside the net's global-route guide, else 0;
    #: None: no guide.  A step outside costs :data:`GUIDE_OUT` times more.
    guide: bytearray | None = None


class Negotiator:
    """Routes :class:`NetJob` s on ``fabric`` by negotiated congestion."""

    def __init__(
        self,
        grid: RouteGrid,
        fabric: Fabric,
        distance: Callable[[int, int], Sequence[int]] | None = None,
    ):
        self.grid = grid
        n = grid.points
        self.owner = fabric.node.ravel().tolist()
        self.hown = fabric.hedge.ravel().tolist()
        self.vown = fabric.vedge.ravel().tolist()
        self.via = fabric.via_ok.ravel().tolist()
        self.hist = [0.0] * n
        self.occ = [0] * n
        self.present = PRESENT_START
        #: ``distance(k, b)``: per metal, the Chebyshev distance in pitches net
        #: ``k`` must keep from net ``b``'s points (1: only not the same
        #: point).  None: every pair 1 (plain point sharing).
        self.distance = distance
        self._jobs: Sequence[NetJob] = ()
        self._masks: dict[int, np.ndarray] = {}
        self._grow_cache: dict[tuple[int, int, int], np.ndarray] = {}

    # -- conflicts between nets kept apart by more than one point ----------------
    def _mask(self, job: NetJob) -> np.ndarray:
        m = self._masks.get(job.index)
        if m is None:
            g = self.grid
            m = np.zeros(g.points, dtype=bool)
            if job.nodes:
                m[np.fromiter(job.nodes, dtype=np.int64)] = True
            m = m.reshape(len(g.metals), g.ny, g.nx)
            self._masks[job.index] = m
        return m

    def conflicts(self, job: NetJob) -> np.ndarray:
        """Per point: how many other nets ``job`` would come too close to there."""
        g = self.grid
        out = np.zeros((len(g.metals), g.ny, g.nx), dtype=np.int32)
        assert self.distance is not None
        for other in self._jobs:
            if other is job or not other.nodes:
                continue
            dist = self.distance(job.index, other.index)
            for l in range(len(g.metals)):
                out[l] += self._grown(other, l, int(dist[l]) - 1)
        return out.ravel()

    def _grown(self, job: NetJob, l: int, r: int) -> np.ndarray:
        """``job``'s points on metal ``l`` grown by ``r`` pitches (cached until it changes)."""
        key = (job.index, l, r)
        m = self._grow_cache.get(key)
        if m is None:
            mask = self._mask(job)[l]
            if r <= 0 or not mask.any():
                m = mask
            else:
                m = maximum_filter(mask, size=2 * r + 1, mode="constant", cval=False)
            self._grow_cache[key] = m
        return m

    def _forget(self, job: NetJob) -> None:
        self._masks.pop(job.index, None)
        for key in [k for k in self._grow_cache if k[0] == job.index]:
            del self._grow_cache[key]

    # -- one connection --------------------------------------------------------
    def astar(
        self,
        k: int,
        ring: tuple[frozenset[int], Mapping[int, frozenset[int]], Mapping[int, frozenset[int]]],
        sources: Sequence[int],
        targets: set[int],
        hard: bool = False,
        drawn: set[tuple[int, int]] | frozenset[tuple[int, int]] = frozenset(),
        arrays: tuple[list[int], list[int], list[int], list[bool]] | None = None,
        occ: Sequence[int] | None = None,
        lcost: Sequence[float] = (),
        guide: bytearray | None = None,
    ) -> list[int] | None:
        """Cheapest path (point ids, source first) from any source to any target.

        ``hard`` forbids points used by other nets instead of pricing them.
        ``ring`` is the net's self-blocked points and edges
        (:meth:`~flow.route.grid.Fabric.self_blocked`): such a point is entered
        only along a wire, such an edge only as the straight continuation of
        the edge behind it, which must be on the path or already ``drawn``
        (edges of the net's tree, as sorted point pairs).
        Returns None when no target can be reached.
        """
        g = self.grid
        nx, ny = g.nx, g.ny
        nxy = nx * ny
        L = len(g.metals)
        owner, hown, vown, via = arrays if arrays is not None else (self.owner, self.hown, self.vown, self.via)
        hist, pres = self.hist, self.present
        if occ is None:
            occ = self.occ
        ring_n, ring_h, ring_v = ring
        ti = [t % nxy % nx for t in targets]
        tj = [t % nxy // nx for t in targets]
        ti0, ti1, tj0, tj1 = min(ti), max(ti), min(tj), max(tj)

        lc = tuple(lcost) or (1.0,) * L
        hscale = min(lc)  # every step costs at least this: the estimate stays a lower bound

        def heur(v: int) -> float:
            rem = v % nxy
            j, i = divmod(rem, nx)
            return hscale * (max(ti0 - i, 0, i - ti1) + max(tj0 - j, 0, j - tj1))

        best: dict[int, float] = {}
        parent: dict[int, int] = {}
        mid: dict[int, int] = {}  # point reached by two edges in line -> the point between
        heap: list[tuple[float, int, int]] = []
        for s in sources:
            # a source another net uses (or comes too close to) is never a
            # start in hard mode, and costs its congestion otherwise
            if occ[s] and hard:
                continue
            c0 = pres * occ[s] * (1.0 + hist[s])
            best[s] = c0
            parent[s] = -1
            hs = heur(s)
            heap.append((c0 + hs, hs, s))
        heapq.heapify(heap)
        closed: set[int] = set()
        push = heapq.heappush
        pop = heapq.heappop
        while heap:
            _, _, v = pop(heap)
            if v in closed:
                continue
            closed.add(v)
            if v in targets:
                path = [v]
                while parent[v] >= 0:
                    if v in mid:
                        path.append(mid[v])
                    v = parent[v]
                    path.append(v)
                path.reverse()
                return path
            gv = best[v]
            l, rem = divmod(v, nxy)
            j, i = divmod(rem, nx)
            f = lc[l]
            hcost, vcost = (f, f * WRONG_WAY) if l % 2 == 0 else (f * WRONG_WAY, f)
            cand: list[tuple[int, float, bool, int]] = []
            pv = mid.get(v, parent[v])
            for step, cost, own, ring_e, ok_ahead in (
                (1, hcost, hown, ring_h, i + 2 < nx),
                (-1, hcost, hown, ring_h, i >= 2),
                (nx, vcost, vown, ring_v, j + 2 < ny),
                (-nx, vcost, vown, ring_v, j >= 2),
            ):
                e = v if step > 0 else v + step  # edge id: its lower-left point
                if (step == -1 and i == 0) or (step == -nx and j == 0):
                    continue
                o = own[e]
                if o != FREE and o != k:
                    continue
                d = 1 if step > 0 else -1
                dirs = ring_e.get(e)
                if dirs is None:
                    cand.append((v + step, cost, False, -1))
                    continue
                behind = (v - step, v) if step > 0 else (v, v - step)
                if d in dirs and (pv == v - step or behind in drawn):
                    cand.append((v + step, cost, False, -1))
                elif 2 * d in dirs and ok_ahead:
                    # draw this edge and the next one in line, which reaches the shape
                    e2 = e + step
                    o = own[e2]
                    d2 = ring_e.get(e2)
                    if (o == FREE or o == k) and (d2 is None or d in d2):
                        cand.append((v + 2 * step, cost, False, v + step))
            if l + 1 < L and via[l * nxy + rem]:
                cand.append((v + nxy, VIA_COST, True, -1))
            if l > 0 and via[(l - 1) * nxy + rem]:
                cand.append((v - nxy, VIA_COST, True, -1))
            for u, base, is_via, m in cand:
                if u in closed:
                    continue
                o = owner[u]
                if o != FREE and o != k:
                    continue
                if is_via and u in ring_n:
                    continue
                users = occ[u]
                if hard and users:
                    continue
                c = gv + base * (1.0 + hist[u]) * (1.0 + pres * users)
                if guide is not None and not guide[u]:
                    c += base * GUIDE_OUT
                if m >= 0:  # two edges in line through m
                    o = owner[m]
                    if m == pv or (o != FREE and o != k) or (hard and occ[m]):
                        continue
                    c += base * (1.0 + hist[m]) * (1.0 + pres * occ[m])
                if c < best.get(u, 1e300):
                    best[u] = c
                    parent[u] = v
                    if m >= 0:
                        mid[u] = m
                    else:
                        mid.pop(u, None)
                    hu = heur(u)
                    push(heap, (c + hu, hu, u))
        return None

    # -- one net ---------------------------------------------------------------
    def rip_up(self, job: NetJob) -> None:
        occ = self.occ
        for v in job.nodes:
            occ[v] -= 1
        job.nodes = set()
        job.edges = set()
        self._forget(job)

    def route_net(self, job: NetJob, hard: bool = False) -> int | None:
        """Route ``job`` as a tree; returns None, or the terminal that could not be reached."""
        g = self.grid
        nxy = g.nx * g.ny
        term_of: dict[int, list[int]] = {}
        for t, pts in enumerate(job.access):
            for v in pts:
                term_of.setdefault(v, []).append(t)
        connected = [False] * len(job.access)
        occ = self.conflicts(job).tolist() if self.distance is not None else None
        tree: set[int] = set()
        nodes: set[int] = set()
        edges: set[tuple[int, int]] = set()

        def join(points: Sequence[int]) -> None:
            for v in points:
                for t in term_of.get(v, ()):
                    if not connected[t]:
                        connected[t] = True
                        tree.update(job.access[t])

        start = job.access[0][:1]
        shared = [v for v in job.access[0] if len(term_of.get(v, ())) > 1]
        if shared:
            # an access point reaching several terminals (a wide wire's
            # square over two of its pins): of those reaching the most, the
            # one nearest the rest of the net's terminals, so the square is
            # drawn where the wire goes on (not at the end of the pins)
            most = max(len(term_of[v]) for v in shared)
            shared = [v for v in shared if len(term_of[v]) == most]
            reached = set(term_of[shared[0]])
            rest = [v for t in range(len(job.access)) if t not in reached for v in job.access[t]]
            if rest:
                r = np.array(rest, dtype=np.int64) % nxy
                cx, cy = float(np.mean(r % g.nx)), float(np.mean(r // g.nx))
                start = [min(shared, key=lambda v: (abs(v % nxy % g.nx - cx) + abs(v % nxy // g.nx - cy), v))]
            else:
                start = shared[:1]
        join(start)
        if sum(connected) > 1:
            # that one access point reaches several terminals (a wide wire's
            # patch there touches them all): it is geometry of the net, not
            # a free connection
            nodes.update(start)
        while not all(connected):
            todo = [t for t in range(len(job.access)) if not connected[t]]
            tree_list = sorted(tree)
            tarr = np.array(tree_list, dtype=np.int64) % nxy
            kd = cKDTree(np.column_stack((tarr % g.nx, tarr // g.nx)))
            best_t, best_d = todo[0], np.inf
            for t in todo:
                a = np.array(job.access[t], dtype=np.int64) % nxy
                d, _ = kd.query(np.column_stack((a % g.nx, a // g.nx)), p=1)
                dm = float(np.min(d))
                if dm < best_d:
                    best_t, best_d = t, dm
            path = self.astar(
                job.index, job.ring, tree_list, set(job.access[best_t]), hard, edges, job.arrays, occ, job.lcost,
                job.guide,
            )
            if path is None:
                self._commit(job, set(), set())
                return best_t
            nodes.update(path)
            tree.update(path)
            for a, b in zip(path, path[1:]):
                edges.add((a, b) if a < b else (b, a))
            join(path)
        self._commit(job, nodes, edges)
        return None

    def _commit(self, job: NetJob, nodes: set[int], edges: set[tuple[int, int]]) -> None:
        occ = self.occ
        for v in nodes:
            occ[v] += 1
        job.nodes = nodes
        job.edges = edges
        self._forget(job)

    # -- negotiation -------------------------------------------------------------
    def overuse(self, jobs: Sequence[NetJob]) -> dict[int, int]:
        """Point -> how many nets too many use it (or come too close to it)."""
        if self.distance is None:
            occ = self.occ
            return {v: occ[v] - 1 for job in jobs for v in job.nodes if occ[v] > 1}
        out: dict[int, int] = {}
        for job in jobs:
            if not job.nodes:
                continue
            c = self.conflicts(job)
            ids = np.fromiter(job.nodes, dtype=np.int64)
            hit = ids[c[ids] > 0]
            for v in hit.tolist():
                out[v] = max(out.get(v, 0), int(c[v]))
        return out

    def overused(self, jobs: Sequence[NetJob]) -> list[int]:
        return sorted(self.overuse(jobs))

    def negotiate(
        self,
        jobs: Sequence[NetJob],
        max_iterations: int,
        progress: Callable[[str, float], object] | None = None,
    ) -> int:
        """Route all ``jobs``; returns the number of iterations run.

        Jobs with a terminal that cannot be reached at all get ``failed`` set
        to ``"blocked"`` and ``failed_terminal`` to that terminal's index.
        """
        self._jobs = jobs
        active = [j for j in jobs if j.failed is None]
        redo = list(active)
        iterations = 0
        for it in range(1, max_iterations + 1):
            iterations = it
            for job in redo:
                self.rip_up(job)
                t = self.route_net(job)
                if t is not None:
                    job.failed = "blocked"
                    job.failed_terminal = t
            active = [j for j in active if j.failed is None]
            over = self.overuse(active)
            if progress is not None:
                progress(f"iteration {it}: {len(over)} overused nodes", it / max_iterations)
            if not over:
                break
            hist = self.hist
            for v, extra in over.items():
                hist[v] += HISTORY_STEP * extra
            self.present *= PRESENT_GROWTH
            overset = set(over)
            redo = [j for j in active if not j.nodes.isdisjoint(overset)]
        return iterations

    def resolve(self, jobs: Sequence[NetJob]) -> dict[str, int]:
        """Drop nets until no point is shared; returns dropped net -> a congested point.

        Greedy: the net on the most overused points goes first (ties: the
        later name).  Each dropped net is then retried with every point of
        the remaining nets forbidden; those that fit are kept.
        """
        self._jobs = jobs
        active = [j for j in jobs if j.failed is None]
        dropped: dict[str, int] = {}
        while True:
            over = set(self.overused(active))
            if not over:
                break
            counts = [(len(j.nodes & over), j.name, j) for j in active]
            _, _, worst = max(counts, key=lambda c: (c[0], c[1]))
            dropped[worst.name] = min(worst.nodes & over)
            self.rip_up(worst)
            active.remove(worst)
        for job in jobs:
            if job.name in dropped:
                t = self.route_net(job, hard=True)
                if t is None:
                    del dropped[job.name]
                else:
                    job.failed = "congested"
                    job.failed_terminal = t
        return dropped
