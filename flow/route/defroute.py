"""Track-based detailed router for LEF/DEF designs (``pilotflow route --lef --def``).

Pure algorithm on a :class:`~flow.lefdef.routedb.RouteDB` (no file I/O).

**Grid.**  Wires run on the tracks of each routing layer in its preferred
direction; a layer that uses every base track across its direction may also
jog from one track to the next (wrong way, at ``WRONG_WAY_COST`` times the
length cost) where the jog's wire keeps the spacing to everything the halos
of its two end nodes keep free (checked per layer from the LEF rules, see
:meth:`DefRouter._wrong_way_layers`) and to the static shapes: a jog often
saves the two vias of a detour through the next layer.  The stations along a track are the tracks of the lowest
layer of the other direction (the *base grid*), so every via sits where a
track of the layer below crosses one of the layer above.  A layer whose
pitch is not a multiple of the base pitch uses every ``stride``-th base
track, ``stride = ceil(pitch / base pitch)`` (never closer than its own
pitch).  The bottom routing layer (metal1: cell pins, power rails) is wired
only by straight wires between two pins of a net on one of its tracks (see
:meth:`DefRouter._bottom_links`); otherwise pins there are reached by a via
straight up from a track crossing.

**Clean by construction.**  Each node has one owner.  A node of one net
forbids other nets the nodes whose shapes (wire end or via pad, whichever
is larger) would come closer than the layer's spacing (end-of-line spacing
along the track); two vias of any nets keep the cut spacing.  Static shapes
(cell pins and obstructions, DEF pins, special wiring, blockages) forbid
the node centres where a wire end, or a via pad below or above, would
violate the spacing to them (width-dependent spacing from the LEF spacing
table, worst parallel run length); a net's own pin shapes do not block it.
Pin access on the bottom layer: a track crossing where the via's bottom pad
lies inside the pin's shapes, or sticks out by at most ``PAD_OUT`` with room
to spare (else, where it keeps the spacing to every other net's shape); and
a via beside the pin joined to it by a bottom-layer wire (see
:meth:`DefRouter._side_access`).

**Search.**  Each net grows a tree from one terminal: A* from the whole tree
to the nearest unconnected terminal's access points, inside the net's
global-routing guide (see :func:`route`), widened when that fails.  The
first route of a net of three or more terminals is tried from up to
``STARTS`` terminals and the cheapest tree kept.  The A* estimate counts
the length, the vias to the target layer and, on the target layer, the
wrong-way or two-via cost of a distance across its direction.

**Negotiation** (PathFinder): nets may share or crowd nodes at a price that
grows each round (present factor) plus a history cost on nodes that were
over-used; nets in conflict are ripped up and rerouted until no conflict is
left.  Nets still in conflict after the last round are rerouted with
conflicts forbidden; a net that then finds no path is reported unrouted
with the reason and the place, never dropped silently.

**Refinement.**  Once no net conflicts, each net is routed once more around
the others (their shapes forbidden) and the new route kept when it is
shorter (wirelength plus vias): detours left by the negotiation go.
"""

from __future__ import annotations

import heapq
import math
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from flow.lefdef.routedb import Rect, RouteDB, Terminal

VIA_COST = 3.5  # in base pitches
HIST_STEP = 1.0
PRESENT_START = 1.0
PRESENT_GROWTH = 1.8
RESERVE_COST = 0.5  # per base pitch, on another net's pin access point
MAX_ROUNDS = 30
WRONG_WAY_COST = 2.0
STARTS = 3  # terminals a multi-terminal net's first route is tried from
REFINE_PASSES = 1  # rip-up-and-reroute passes over the conflict-free routing that keep shorter routes
BOTTOM_LINKS = True  # join pin pairs by straight bottom-layer (metal1) wires where they fit
SIDE_ACCESS = True  # access vias beside bottom-layer pins, joined by a bottom-layer wire
SIDE_REACH = 2  # track crossings past a pin's edge tried for them
SIDE_COST = 2.0  # search cost per unit length of their bottom-layer wire
PAD_OUT = 20  # dbu an access via's bottom pad may stick out of the pin when the pin has room for one inside  # per unit length, times the layer cost, for a jog across a layer's direction
GR_TILE = 15  # base tracks per global-routing tile side


@dataclass
class Access:
    node: int  # node on a routed layer
    kind: str  # "via" (down to the bottom layer pin), "direct", "stub"
    stub: tuple[int, int, int, int] | None = None  # wire (x0, y0, x1, y1) on the node's layer for "stub"
    via: str = ""  # the via down to the bottom layer ("via")
    patch: tuple[int, int, int, int] | None = None  # metal filling the pin, the node's wire end and the stub ("direct", "stub")
    m1: tuple[int, int, int, int] | None = None  # "via" beside the pin: bottom-layer wire (x0, y0, x1, y1) from the via into the pin


@dataclass
class NetRoute:
    name: str
    index: int
    terms: list[Terminal]
    access: list[list[Access]]
    nodes: set[int] = field(default_factory=set)
    edges: set[tuple[int, int]] = field(default_factory=set)
    used: dict[int, Access] = field(default_factory=dict)  # terminal -> access taken
    failed: str | None = None
    bbox: tuple[int, int, int, int] = (0, 0, 0, 0)  # base-grid index box of the access points
    guide: bytearray | None = None  # per tile: 1 where the global route (grown by a tile) lets the net go
    cost: float = 0.0  # search cost of the last route
    start: int | None = None  # the terminal the tree grows from (None: the one with the fewest access points)


@dataclass
class RouteResult:
    """Geometry per net and the figures of the run."""

    wires: dict[str, list[tuple[str, tuple[int, int, int, int]]]]  # net -> (layer, (x0, y0, x1, y1)) centre lines
    vias: dict[str, list[tuple[str, int, int]]]  # net -> (via name, x, y)
    unrouted: dict[str, str]  # net -> reason and place
    wirelength: int  # dbu, centre lines
    via_count: int
    rounds: int
    seconds: dict[str, float]
    notes: list[str]
    widths: dict[str, int]  # layer -> wire width
    patches: dict[str, list[tuple[str, tuple[int, int, int, int]]]] = field(default_factory=dict)  # net -> (layer, box) at pins


class _Grid:
    """The base grid and the per-layer track sets."""

    def __init__(self, db: RouteDB, top: int):
        self.db = db
        self.layers = db.layers[1 : top + 1]  # routed layers
        L0 = db.layers
        vert = next((lay for lay in L0[1:] if not lay.horizontal), None)
        hor = next((lay for lay in L0 if lay.horizontal), None)
        if vert is None or hor is None:
            raise ValueError("the routed layers need both a horizontal and a vertical layer")
        die = db.die
        self.x0, self.px, nx = self._axis(vert.tracks, vert.pitch, die[0], die[2])
        self.y0, self.py, ny = self._axis(hor.tracks, hor.pitch, die[1], die[3])
        self.nx, self.ny = nx, ny
        self.np_ = nx * ny
        self.nl = len(self.layers)
        self.stride: list[int] = []
        self.offset: list[int] = []
        valid = np.zeros((self.nl, ny, nx), dtype=bool)
        for l, lay in enumerate(self.layers):
            base0, bstep, n = (self.y0, self.py, ny) if lay.horizontal else (self.x0, self.px, nx)
            tr = lay.tracks or (base0, lay.pitch, n)
            need = max(tr[1], lay.width + lay.spacing)
            stride = max(1, -(-need // bstep))
            off = max(0, -(-(tr[0] - base0) // bstep))
            self.stride.append(stride)
            self.offset.append(off)
            idx = np.arange(off, n, stride)
            if lay.horizontal:
                valid[l, idx, :] = True
            else:
                valid[l, :, idx] = True
        self.valid = valid

    @staticmethod
    def _axis(tracks, pitch, lo, hi):
        if tracks is not None:
            start, step, count = tracks
        else:
            step = pitch
            start = lo + pitch // 2
            count = (hi - start) // step + 1
        return start, step, count

    def x(self, i: int) -> int:
        return self.x0 + i * self.px

    def y(self, j: int) -> int:
        return self.y0 + j * self.py

    def unflat(self, v: int) -> tuple[int, int, int]:
        l, r = divmod(v, self.np_)
        j, i = divmod(r, self.nx)
        return l, j, i

    def flat(self, l: int, j: int, i: int) -> int:
        return (l * self.ny + j) * self.nx + i

    def xy(self, v: int) -> tuple[int, int]:
        _, j, i = self.unflat(v)
        return self.x(i), self.y(j)

    def span(self, lo: float, hi: float, x0: int, p: int, n: int) -> tuple[int, int]:
        """Index range [a, b) of grid positions strictly inside (lo, hi)."""
        a = max(0, math.floor((lo - x0) / p) + 1)
        b = min(n, math.ceil((hi - x0) / p))
        return a, max(a, b)


def _covered(r: Rect, shapes: Sequence[Rect]) -> bool:
    """Whether rectangle ``r`` lies inside the union of ``shapes``."""
    cand = [s for s in shapes if s[0] < r[2] and s[2] > r[0] and s[1] < r[3] and s[3] > r[1]]
    if not cand:
        return False
    xs = sorted({r[0], r[2], *[min(max(s[0], r[0]), r[2]) for s in cand], *[min(max(s[2], r[0]), r[2]) for s in cand]})
    ys = sorted({r[1], r[3], *[min(max(s[1], r[1]), r[3]) for s in cand], *[min(max(s[3], r[1]), r[3]) for s in cand]})
    for xa, xb in zip(xs, xs[1:]):
        for ya, yb in zip(ys, ys[1:]):
            cx, cy = (xa + xb) / 2, (ya + yb) / 2
            if not any(s[0] <= cx <= s[2] and s[1] <= cy <= s[3] for s in cand):
                return False
    return True


def _m1_len(a: "Access") -> float:
    """Length of an access's bottom-layer wire (0 without one)."""
    if a.m1 is None:
        return 0.0
    return float(abs(a.m1[2] - a.m1[0]) + abs(a.m1[3] - a.m1[1]))


def _rect_gap(a: Rect, b: Rect) -> float:
    dx = max(0, b[0] - a[2], a[0] - b[2])
    dy = max(0, b[1] - a[3], a[1] - b[3])
    return math.hypot(dx, dy)


class DefRouter:
    def __init__(self, db: RouteDB, *, top_layer: str | None = None, progress: Callable[[str, float | None], None] | None = None):
        t0 = time.perf_counter()
        self.db = db
        self.say = progress or (lambda m, f=None: None)
        top = len(db.layers) - 1
        if top_layer is not None:
            if top_layer not in db.layer_index:
                raise ValueError(f"--top-layer {top_layer}: not a routing layer ({', '.join(l.name for l in db.layers)})")
            top = min(top, db.layer_index[top_layer])
        if top < 2:
            raise ValueError("the router needs at least three routing layers (the bottom one for pin access, two to wire)")
        self.g = g = _Grid(db, top)
        self.nets = list(db.nets)
        self.net_id = {n: k for k, n in enumerate(self.nets)}
        self.notes: list[str] = []
        n = g.nl * g.np_
        self.n = n
        self.valid = array("b", g.valid.ravel().astype(np.int8).tobytes())
        # static blocks: -1 free, k only net k, -2 nobody
        self.blk_node, self.blk_dn, self.blk_up, self.blk_cut = self._static_blocks()
        self.hocc = array("i", bytes(4 * n))
        self.cocc = array("i", bytes(4 * n))  # per lower node: vias (of other nets) within cut spacing
        self.hist = array("f", bytes(4 * n))
        self.cand_owner = array("i", [-1]) * n
        self._stencils()
        self.wrong_way = self._wrong_way_layers()
        self.blk_jog = self._jog_blocks()
        self.seconds = {"setup": time.perf_counter() - t0}

    # -- static obstacles -------------------------------------------------------------------

    def _static_blocks(self):
        g, db = self.g, self.db
        shape = (g.nl, g.ny, g.nx)
        node = np.full(shape, -1, dtype=np.int32)
        dn = np.full(shape, -1, dtype=np.int32)
        up = np.full(shape, -1, dtype=np.int32)
        cut = np.zeros(shape, dtype=bool)  # via from layer l to l+1 at (j, i) forbidden
        li = {lay.name: l for l, lay in enumerate(g.layers)}
        cut_of = {db.vias[l + 1].cut_layer: l for l in range(g.nl - 1)}  # cut between routed l and l+1
        cut0 = db.vias[0].cut_layer
        self.bottom_cut_block: list[Rect] = []
        self.cut0_obs: list[Rect] = []
        w = [lay.width for lay in g.layers]

        def mark(arr, l, rect, grow, kind, owner):
            x0 = rect[0] - grow - kind[2]
            x1 = rect[2] + grow - kind[0]
            y0 = rect[1] - grow - kind[3]
            y1 = rect[3] + grow - kind[1]
            a, b = g.span(x0, x1, g.x0, g.px, g.nx)
            c, d = g.span(y0, y1, g.y0, g.py, g.ny)
            if a >= b or c >= d:
                return
            view = arr[l, c:d, a:b]
            if owner < 0:
                view[...] = -2
            else:
                view[(view != -1) & (view != owner)] = -2
                view[view == -1] = owner

        for s in db.obstacles:
            owner = self.net_id.get(s.net, -2) if s.net is not None else -2
            if s.layer in li:
                l = li[s.layer]
                lay = g.layers[l]
                r = s.rect
                sw = min(r[2] - r[0], r[3] - r[1])
                sp = lay.spacing_to(sw)
                h = w[l] // 2
                mark(node, l, r, sp, (-h, -h, h, h), owner)
                mark(dn, l, r, sp, db.vias[l].top, owner)
                if l + 1 < g.nl:
                    mark(up, l, r, sp, db.vias[l + 1].bottom, owner)
                # the wire's end-of-line rule against static shapes along the track
                if lay.end_spacing > sp:
                    if lay.horizontal:
                        mark(node, l, (r[0], r[1] + 1, r[2], r[3] - 1) if r[3] - r[1] > 2 else r, lay.end_spacing, (-h, -h, h, h), owner)
                    else:
                        mark(node, l, (r[0] + 1, r[1], r[2] - 1, r[3]) if r[2] - r[0] > 2 else r, lay.end_spacing, (-h, -h, h, h), owner)
            elif s.layer in cut_of:
                l = cut_of[s.layer]
                sp = g.layers[l].cut_spacing_above
                tmp = np.full(shape, -1, dtype=np.int32)
                mark(tmp, l, s.rect, sp, db.vias[l + 1].cut, -2)
                cut[l] |= tmp[l] == -2
            elif s.layer == cut0:
                self.cut0_obs.append(s.rect)
        return (array("i", node.ravel().tobytes()), array("i", dn.ravel().tobytes()), array("i", up.ravel().tobytes()),
                array("b", cut.ravel().astype(np.int8).tobytes()))

    # -- wrong-way jogs --------------------------------------------------------------------------

    def _node_box(self, l: int) -> Rect:
        """The metal of a node on routed layer ``l`` about its centre: wire end and via pads."""
        g, db = self.g, self.db
        lay = g.layers[l]
        pads = [db.vias[l].top] + ([db.vias[l + 1].bottom] if l + 1 < g.nl else [])
        if l == 0:
            pads += [v.top for v in db.access_vias]
        h = lay.width // 2
        return (min([-h] + [p[0] for p in pads]), min([-h] + [p[1] for p in pads]),
                max([h] + [p[2] for p in pads]), max([h] + [p[3] for p in pads]))

    def _wrong_way_layers(self) -> list[bool]:
        """Layers that may carry a jog of one track across their direction.

        Allowed where the layer uses every base track across its direction
        (stride 1) and the jog's wire is spaced from every node of another
        net that the halos of its two ends leave free: then the node
        occupancy keeps jogs clean as it keeps ordinary wires clean."""
        g = self.g
        out = []
        for l, lay in enumerate(g.layers):
            ok = g.stride[l] == 1
            if ok:
                h = lay.width // 2
                if lay.horizontal:  # a vertical jog from (i, j) to (i, j + 1)
                    jog = (-h, -h, h, g.py + h)
                    ends = {(0, 0), (0, 1)}
                else:
                    jog = (-h, -h, g.px + h, h)
                    ends = {(0, 0), (1, 0)}
                nb = self._node_box(l)
                halo = {(di, dj) for _, di, dj in self.halo[l]} | {(0, 0)}
                covered = {(ei + di, ej + dj) for ei, ej in ends for di, dj in halo}
                sp = max(lay.spacing, lay.spacing_to(lay.width))
                for dj in range(-5, 6):
                    for di in range(-5, 6):
                        if (di, dj) in covered:
                            continue
                        other = (nb[0] + di * g.px, nb[1] + dj * g.py, nb[2] + di * g.px, nb[3] + dj * g.py)
                        if _rect_gap(jog, other) < max(sp, lay.end_spacing):
                            ok = False
                # another net's jog, both of its ends outside the halos of this jog's ends
                for dj in range(-5, 6):
                    for di in range(-5, 6):
                        if any((di + ei, dj + ej) in covered for ei, ej in ends):
                            continue
                        other = (jog[0] + di * g.px, jog[1] + dj * g.py, jog[2] + di * g.px, jog[3] + dj * g.py)
                        if _rect_gap(jog, other) < max(sp, lay.end_spacing):
                            ok = False
            out.append(ok)
        return out

    def _jog_blocks(self) -> array:
        """Per node: -1 where the jog from it to the next track (``+1`` row on a
        horizontal layer, ``+1`` column on a vertical one) passes no static shape
        too closely, k where only net k's own shapes are near, -2 where blocked."""
        g, db = self.g, self.db
        blk = np.full((g.nl, g.ny, g.nx), -1, dtype=np.int32)
        li = {lay.name: l for l, lay in enumerate(g.layers)}
        for s in db.obstacles:
            l = li.get(s.layer)
            if l is None or not self.wrong_way[l]:
                continue
            lay = g.layers[l]
            r = s.rect
            sp = max(lay.spacing_to(min(r[2] - r[0], r[3] - r[1])), lay.end_spacing)
            h = lay.width // 2
            jog = (-h, -h, h, g.py + h) if lay.horizontal else (-h, -h, g.px + h, h)
            a, b = g.span(r[0] - sp - jog[2], r[2] + sp - jog[0], g.x0, g.px, g.nx)
            c, d = g.span(r[1] - sp - jog[3], r[3] + sp - jog[1], g.y0, g.py, g.ny)
            if a >= b or c >= d:
                continue
            owner = self.net_id.get(s.net, -2) if s.net is not None else -2
            view = blk[l, c:d, a:b]
            if owner < 0:
                view[...] = -2
            else:
                view[(view != -1) & (view != owner)] = -2
                view[view == -1] = owner
        for l in range(g.nl):  # the last track has no jog onwards
            if g.layers[l].horizontal:
                blk[l, g.ny - 1, :] = -2
            else:
                blk[l, :, g.nx - 1] = -2
        return array("i", blk.ravel().tobytes())

    # -- spacing stencils ---------------------------------------------------------------------

    def _stencils(self):
        """Per layer, the node offsets (flat) another net must not occupy; per cut, the via offsets."""
        g, db = self.g, self.db
        self.halo: list[list[int]] = []
        self.cut_halo: list[list[int]] = []
        for l, lay in enumerate(g.layers):
            pads = [db.vias[l].top]
            if l + 1 < g.nl:
                pads.append(db.vias[l + 1].bottom)
            h = lay.width // 2
            ax0 = min([-h] + [p[0] for p in pads]); ax1 = max([h] + [p[2] for p in pads])
            ay0 = min([-h] + [p[1] for p in pads]); ay1 = max([h] + [p[3] for p in pads])
            out = []
            for dj in range(-4, 5):
                for di in range(-4, 5):
                    other = (ax0 + di * g.px, ay0 + dj * g.py, ax1 + di * g.px, ay1 + dj * g.py)
                    gap = _rect_gap((ax0, ay0, ax1, ay1), other)
                    along = (dj == 0) if lay.horizontal else (di == 0)
                    need = lay.end_spacing if along else lay.spacing
                    if gap < need:
                        out.append((dj * g.nx + di, di, dj))
            self.halo.append(out)
            cs = []
            if l + 1 < g.nl:
                c = db.vias[l + 1].cut
                sp = lay.cut_spacing_above
                for dj in range(-4, 5):
                    for di in range(-4, 5):
                        if (di or dj) and _rect_gap(c, (c[0] + di * g.px, c[1] + dj * g.py, c[2] + di * g.px, c[3] + dj * g.py)) < sp:
                            cs.append((dj * g.nx + di, di, dj))
            self.cut_halo.append(cs)
        # bottom-layer (access) vias among themselves
        c = db.vias[0].cut
        sp = db.layers[0].cut_spacing_above
        self.cut0_halo = [(dj * g.nx + di, di, dj) for dj in range(-4, 5) for di in range(-4, 5)
                          if (di or dj) and _rect_gap(c, (c[0] + di * g.px, c[1] + dj * g.py, c[2] + di * g.px, c[3] + dj * g.py)) < sp]
        # flat offsets only, for the search's own-cut test (its false hits across a row end are harmless)
        self.cut_halo_flat = [[d for d, _, _ in cs] for cs in self.cut_halo]
        self.cut0_flat = [d for d, _, _ in self.cut0_halo]
        self.cut_sets = [set(x) | {0} for x in self.cut_halo_flat]

    # -- pin access ------------------------------------------------------------------------------

    def access_points(self, k: int, term: Terminal) -> list[Access]:
        g, db = self.g, self.db
        bottom = db.layers[0]
        via0 = db.vias[0]
        out: list[Access] = []
        li = {lay.name: l for l, lay in enumerate(g.layers)}
        own = [r for lay, r in term.shapes if lay == bottom.name]
        if own:
            others = None
            good: list[Access] = []  # the via's bottom pad inside the pin
            fair: list[Access] = []  # the pad a little out of the pin, far from other shapes
            poor: list[Access] = []  # the pad out of the pin, spaced from other shapes (when nothing else)
            poor_pads: list[Rect] = []
            bx0 = min(r[0] for r in own); by0 = min(r[1] for r in own)
            bx1 = max(r[2] for r in own); by1 = max(r[3] for r in own)
            a, b = g.span(bx0 - 1, bx1 + 1, g.x0, g.px, g.nx)
            c, d = g.span(by0 - 1, by1 + 1, g.y0, g.py, g.ny)
            for j in range(c, d):
                for i in range(a, b):
                    v = g.flat(0, j, i)
                    if not self.valid[v] or self.blk_node[v] not in (-1, k) or self.blk_dn[v] not in (-1, k):
                        continue
                    x, y = g.x(i), g.y(j)
                    cutr = (x + via0.cut[0], y + via0.cut[1], x + via0.cut[2], y + via0.cut[3])
                    if any(_rect_gap(cutr, o) < bottom.cut_spacing_above for o in self.cut0_obs):
                        continue
                    cut_in = _covered(cutr, own)
                    found = False
                    for av in self.db.access_vias if cut_in else ():
                        pad = (x + av.bottom[0], y + av.bottom[1], x + av.bottom[2], y + av.bottom[3])
                        if _covered(pad, own):
                            good.append(Access(v, "via", via=av.name))
                            found = True
                            break
                    if found:
                        continue
                    if others is None:
                        others = self._bottom_neighbours(term, (bx0, by0, bx1, by1))
                    for av in self.db.access_vias:
                        pad = (x + av.bottom[0], y + av.bottom[1], x + av.bottom[2], y + av.bottom[3])
                        # a pad sticking out of the pin by at most PAD_OUT keeps the spacing plus
                        # 1.5 PAD_OUT to every other shape: then it keeps the spacing to another
                        # net's pad sticking out of that net's pin as well
                        out_by = min((max(0, r[0] - pad[0], pad[2] - r[2], r[1] - pad[1], pad[3] - r[3])
                                      for r in own if r[0] < pad[2] and r[2] > pad[0] and r[1] < pad[3] and r[3] > pad[1]), default=None)
                        if out_by is None or out_by > PAD_OUT:
                            continue
                        if all(_rect_gap(pad, o) >= bottom.spacing_to(min(o[2] - o[0], o[3] - o[1])) + 1.5 * PAD_OUT for o in others):
                            fair.append(Access(v, "via", via=av.name))
                            break
                    else:
                        if not good and cut_in:
                            for av in self.db.access_vias:
                                pad = (x + av.bottom[0], y + av.bottom[1], x + av.bottom[2], y + av.bottom[3])
                                if all(_rect_gap(pad, o) >= bottom.spacing_to(min(o[2] - o[0], o[3] - o[1])) for o in others):
                                    poor.append(Access(v, "via", via=av.name))
                                    poor_pads.append(pad)
                                    break
            out += (good + fair) or poor
            if not (good + fair):
                self._poor_pads.extend((pad, id(term)) for pad in poor_pads)
        for lay_name, r in term.shapes:
            if lay_name not in li:
                continue
            l = li[lay_name]
            lay = g.layers[l]
            h = lay.width // 2
            a, b = g.span(r[0] - h, r[2] + h, g.x0, g.px, g.nx)
            c, d = g.span(r[1] - h, r[3] + h, g.y0, g.py, g.ny)
            for j in range(c, d):
                for i in range(a, b):
                    v = g.flat(l, j, i)
                    if self.valid[v] and self.blk_node[v] in (-1, k):
                        out.append(Access(v, "direct", patch=self._patch(r, g.x(i), g.y(j), h, None)))
            if any(acc.kind == "direct" for acc in out):
                continue
            # a pin between stations: a stub along a track that crosses it
            if lay.horizontal:
                c, d = g.span(r[1] - 1, r[3] + 1, g.y0, g.py, g.ny)
                cx = (r[0] + r[2]) // 2
                for j in range(c, d):
                    for i in (math.floor((cx - g.x0) / g.px), math.ceil((cx - g.x0) / g.px)):
                        if 0 <= i < g.nx:
                            v = g.flat(l, j, i)
                            if self.valid[v] and self.blk_node[v] in (-1, k):
                                out.append(Access(v, "stub", (g.x(i), g.y(j), cx, g.y(j)), patch=self._patch(r, g.x(i), g.y(j), h, (cx, g.y(j)))))
            else:
                a, b = g.span(r[0] - 1, r[2] + 1, g.x0, g.px, g.nx)
                cy = (r[1] + r[3]) // 2
                for i in range(a, b):
                    for j in (math.floor((cy - g.y0) / g.py), math.ceil((cy - g.y0) / g.py)):
                        if 0 <= j < g.ny:
                            v = g.flat(l, j, i)
                            if self.valid[v] and self.blk_node[v] in (-1, k):
                                out.append(Access(v, "stub", (g.x(i), g.y(j), g.x(i), cy), patch=self._patch(r, g.x(i), g.y(j), h, (g.x(i), cy))))
            if any(acc.kind != "via" and acc.node // g.np_ == l for acc in out):
                continue
            # no track of the layer crosses the pin: a short stub across the
            # direction, from the nearest track (less than a pitch away) into the pin
            stride = g.stride[l]
            if lay.horizontal:
                cy = (r[1] + r[3]) // 2
                a, b = g.span(r[0] + h - 1, r[2] - h + 1, g.x0, g.px, g.nx)
                j0 = round((cy - g.y0) / g.py)
                for i in sorted(range(a, b), key=lambda i: abs(g.x(i) - (r[0] + r[2]) // 2))[:3]:
                    for j in range(j0 - stride, j0 + stride + 1):
                        if 0 <= j < g.ny and abs(g.y(j) - cy) < stride * g.py:
                            v = g.flat(l, j, i)
                            if self.valid[v] and self.blk_node[v] in (-1, k):
                                out.append(Access(v, "stub", (g.x(i), g.y(j), g.x(i), cy), patch=self._patch(r, g.x(i), g.y(j), h, (g.x(i), cy))))
            else:
                cx = (r[0] + r[2]) // 2
                c, d = g.span(r[1] + h - 1, r[3] - h + 1, g.y0, g.py, g.ny)
                i0 = round((cx - g.x0) / g.px)
                for j in sorted(range(c, d), key=lambda j: abs(g.y(j) - (r[1] + r[3]) // 2))[:3]:
                    for i in range(i0 - stride, i0 + stride + 1):
                        if 0 <= i < g.nx and abs(g.x(i) - cx) < stride * g.px:
                            v = g.flat(l, j, i)
                            if self.valid[v] and self.blk_node[v] in (-1, k):
                                out.append(Access(v, "stub", (g.x(i), g.y(j), cx, g.y(j)), patch=self._patch(r, g.x(i), g.y(j), h, (cx, g.y(j)))))
        seen = set()
        uniq = []
        for acc in out:
            if acc.node not in seen:
                seen.add(acc.node)
                uniq.append(acc)
        return uniq

    @staticmethod
    def _patch(pin: Rect, x: int, y: int, h: int, end: tuple[int, int] | None) -> Rect:
        """The box holding the pin shape, the node's wire end and the stub: one
        rectangle of metal, so pin and wire never meet in a narrow neck."""
        xs = [pin[0], pin[2], x - h, x + h]
        ys = [pin[1], pin[3], y - h, y + h]
        if end is not None:
            xs += [end[0] - h, end[0] + h]
            ys += [end[1] - h, end[1] + h]
        return (min(xs), min(ys), max(xs), max(ys))

    def _bottom_links(self) -> None:
        """Straight wires on the bottom layer (metal1) between two pins of a net.

        A pair of a net's pins next to each other in a minimum spanning tree of
        the net's pins, crossed by one track of the bottom layer, with
        nothing of another net or an obstruction within the spacing of the
        wire between them, is joined by a wire along that track from inside
        one pin to inside the other (the wire's sides within both pins): no
        via, and usually shorter than the way over the layers above.  Pairs
        are taken shortest first; a wire keeps the spacing to the wires taken
        before it; joined pins become one terminal (the wire one of its
        shapes, so vias may land on it), and the wires are obstacles for the
        other nets' pin access.  ``self.links``: net -> wire centre lines."""
        db = self.db
        bottom = db.layers[0]
        self.links: dict[str, list[tuple[int, int, int, int]]] = {}
        self.link_terms: dict[str, list[Terminal]] = {}
        self._link_shapes: list[tuple[Rect, str]] = []
        if not BOTTOM_LINKS or bottom.tracks is None:
            return
        t0, tstep, tcount = bottom.tracks
        h = bottom.width // 2
        hor = bottom.horizontal
        index: dict[tuple[int, int], list[tuple[Rect, str | None]]] = {}
        for s in db.obstacles:
            if s.layer == bottom.name:
                for key in self._buckets(s.rect):
                    index.setdefault(key, []).append((s.rect, s.net))
        cands = []
        for name in self.nets:
            terms = db.nets[name]
            for a, b in self._mst_pairs(terms):
                if True:
                    best = None
                    for la, ra in terms[a].shapes:
                        if la != bottom.name:
                            continue
                        for lb, rb in terms[b].shapes:
                            if lb != bottom.name:
                                continue
                            # across the track direction: both pins hold the wire's width
                            if hor:
                                lo, hi = max(ra[1], rb[1]) + h, min(ra[3], rb[3]) - h
                                (p, q) = (ra, rb) if ra[2] < rb[0] else ((rb, ra) if rb[2] < ra[0] else (None, None))
                            else:
                                lo, hi = max(ra[0], rb[0]) + h, min(ra[2], rb[2]) - h
                                (p, q) = (ra, rb) if ra[3] < rb[1] else ((rb, ra) if rb[3] < ra[1] else (None, None))
                            if p is None or lo > hi:
                                continue
                            k0 = max(0, -(-(lo - t0) // tstep))
                            k1 = min(tcount - 1, (hi - t0) // tstep)
                            for kk in range(k0, k1 + 1):
                                c = t0 + kk * tstep
                                if hor:
                                    line = (p[2] - h, c, q[0] + h, c)
                                else:
                                    line = (c, p[3] - h, c, q[1] + h)
                                length = abs(line[2] - line[0]) + abs(line[3] - line[1])
                                if best is None or length < best[0]:
                                    own = {r for lay, r in terms[a].shapes + terms[b].shapes if lay == bottom.name}
                                    if self._link_free(line, h, own, index, bottom):
                                        best = (length, line)
                    if best is not None:
                        cands.append((best[0], name, a, b, best[1]))
        cands.sort()
        parent: dict[tuple[str, int], tuple[str, int]] = {}

        def find(x):
            while parent.get(x, x) != x:
                x = parent[x]
            return x

        taken: dict[tuple[int, int], list[tuple[Rect, str]]] = {}
        accepted: dict[str, list[tuple[int, tuple[int, int, int, int]]]] = {}
        for length, name, a, b, line in cands:
            if find((name, a)) == find((name, b)):
                continue
            wire = (line[0] - h, line[1] - h, line[2] + h, line[3] + h)
            near = {(r, n) for key in self._buckets(wire) for r, n in taken.get(key, ())}
            if any(_rect_gap(wire, r) < bottom.end_spacing for r, n in near):
                continue
            parent[find((name, a))] = find((name, b))
            self.links.setdefault(name, []).append(line)
            accepted.setdefault(name, []).append((a, line))
            self._link_shapes.append((wire, name))
            for key in self._buckets(wire):
                taken.setdefault(key, []).append((wire, name))
        for name, lst in accepted.items():
            terms = db.nets[name]
            groups: dict[tuple[str, int], list[int]] = {}
            for t in range(len(terms)):
                groups.setdefault(find((name, t)), []).append(t)
            merged = []
            for root, members in groups.items():
                shapes = [sh for t in members for sh in terms[t].shapes]
                shapes += [(bottom.name, (ln[0] - h, ln[1] - h, ln[2] + h, ln[3] + h)) for a, ln in lst if find((name, a)) == root]
                merged.append(Terminal(" + ".join(terms[t].label for t in members), shapes))
            self.link_terms[name] = merged
        n = sum(len(v) for v in self.links.values())
        if n:
            self.notes.append(f"{n} pin pair(s) joined on {bottom.name} by a straight wire (no via)")

    def _side_access(self, routes: list[NetRoute]) -> None:
        """Access vias beside a bottom-layer pin, joined to it by a wire along a
        bottom-layer track (the way qrouter often reaches a pin).

        For each pin shape and each bottom-layer track whose wire lies within
        the pin's height: the first track crossing past the pin's left and
        right edges (up to ``SIDE_REACH`` crossings out) where the via fits;
        the wire runs from inside the pin to the via.  Wire and via pad keep
        the spacing (end-of-line spacing where larger) plus 1.5 ``PAD_OUT`` to every other shape (pins, cell
        obstructions, rails, bottom-layer wires, pads of pins without a
        via inside); two such candidates of different pins that come closer
        than the spacing are both dropped, so whichever ones the nets take
        stay apart.  The search pays the wire's length."""
        g, db = self.g, self.db
        bottom = db.layers[0]
        if not bottom.horizontal or SIDE_REACH <= 0:
            return
        via0 = db.vias[0]
        pad = via0.bottom
        h = bottom.width // 2
        # wire, pad and pin together may be wider than any of them: the clearance
        # of a shape as wide as the pad is long, at least the end-of-line spacing
        clear = max(bottom.end_spacing, bottom.spacing_to(max(pad[2] - pad[0], pad[3] - pad[1], bottom.width)))
        cands = []
        for nr in routes:
            k = nr.index
            for t, term in enumerate(nr.terms):
                own = [r for lay, r in term.shapes if lay == bottom.name]
                if not own:
                    continue
                have = {a.node for a in nr.access[t]}
                bb = (min(r[0] for r in own), min(r[1] for r in own), max(r[2] for r in own), max(r[3] for r in own))
                others = self._bottom_neighbours(term, bb)
                poor = [p_ for p_, tid in self._poor_pads if tid != id(term)]
                for r in own:
                    c, d = g.span(r[1] + h - 1, r[3] - h + 1, g.y0, g.py, g.ny)
                    for j in range(c, d):
                        y = g.y(j)
                        for sign in (-1, 1):
                            first = math.floor((r[2] - g.x0) / g.px) + 1 if sign > 0 else math.ceil((r[0] - g.x0) / g.px) - 1
                            for n_ in range(SIDE_REACH):
                                i = first + sign * n_
                                if not 0 <= i < g.nx:
                                    break
                                v = g.flat(0, j, i)
                                if v in have or not self.valid[v] or self.blk_node[v] not in (-1, k) or self.blk_dn[v] not in (-1, k):
                                    continue
                                x = g.x(i)
                                cutr = (x + via0.cut[0], y + via0.cut[1], x + via0.cut[2], y + via0.cut[3])
                                if any(_rect_gap(cutr, o) < bottom.cut_spacing_above for o in self.cut0_obs):
                                    continue
                                x_in = r[2] - h if sign > 0 else r[0] + h
                                line = (min(x_in, x), y, max(x_in, x), y)
                                box = (min(line[0] - h, x + pad[0]), min(y - h, y + pad[1]), max(line[2] + h, x + pad[2]), max(y + h, y + pad[3]))
                                if any(_rect_gap(box, o) < max(bottom.spacing_to(min(o[2] - o[0], o[3] - o[1])), clear) + 1.5 * PAD_OUT
                                       for o in others):
                                    continue
                                # the wire and the pad against the pin's own shapes: overlapping, or spaced
                                # (a pad a little beside the pin would leave a notch above and below the wire)
                                wire_r = (line[0] - h, y - h, line[2] + h, y + h)
                                pad_r = (x + pad[0], y + pad[1], x + pad[2], y + pad[3])
                                if any(not (rr[0] < o[2] and o[0] < rr[2] and rr[1] < o[3] and o[1] < rr[3])
                                       and _rect_gap(rr, o) < max(bottom.spacing_to(min(o[2] - o[0], o[3] - o[1])), bottom.end_spacing)
                                       for o in own for rr in (wire_r, pad_r) if not (rr is wire_r and o == r)):
                                    continue
                                if any(_rect_gap(box, o) < clear for o in poor):
                                    continue
                                cands.append(((k, t), v, line, box, nr))
                                break
        index: dict[tuple[int, int], list[int]] = {}
        for n_, cd in enumerate(cands):
            for key in self._buckets(cd[3]):
                index.setdefault(key, []).append(n_)
        drop = set()
        for n_, cd in enumerate(cands):
            for key in self._buckets(cd[3]):
                for m in index.get(key, ()):
                    if m != n_ and cands[m][0] != cd[0] and _rect_gap(cd[3], cands[m][3]) < clear:
                        drop.add(n_)
                        drop.add(m)
        added = 0
        for n_, (key, v, line, _box, nr) in enumerate(cands):
            if n_ in drop:
                continue
            t = key[1]
            if any(a.node == v for a in nr.access[t]):
                continue
            nr.access[t].append(Access(v, "via", via=via0.name, m1=line))
            added += 1
        self.side_access_points = added

    @staticmethod
    def _mst_pairs(terms: list[Terminal]) -> list[tuple[int, int]]:
        """The terminal pairs of a minimum spanning tree over the terminals' centres (Manhattan)."""
        pts = []
        for t in terms:
            xs = [r[0] + r[2] for _, r in t.shapes]
            ys = [r[1] + r[3] for _, r in t.shapes]
            pts.append((sum(xs) / (2 * len(xs)), sum(ys) / (2 * len(ys))))
        n = len(pts)
        if n < 2:
            return []
        best = {t: (abs(pts[t][0] - pts[0][0]) + abs(pts[t][1] - pts[0][1]), 0) for t in range(1, n)}
        out = []
        while best:
            t = min(best, key=lambda u: best[u][0])
            out.append((min(t, best[t][1]), max(t, best[t][1])))
            del best[t]
            for u in best:
                d = abs(pts[u][0] - pts[t][0]) + abs(pts[u][1] - pts[t][1])
                if d < best[u][0]:
                    best[u] = (d, t)
        return out

    def _link_free(self, line: tuple[int, int, int, int], h: int, own: set[Rect], index, bottom) -> bool:
        """Whether a bottom-layer wire on ``line`` keeps the spacing to every
        shape (``own`` shapes, the two pins it joins, it may also touch)."""
        wire = (line[0] - h, line[1] - h, line[2] + h, line[3] + h)
        seen = set()
        for key in self._buckets(wire):
            for r, _net in index.get(key, ()):
                if r in seen:
                    continue
                seen.add(r)
                gap = _rect_gap(wire, r)
                if r in own and gap == 0:
                    continue
                if gap < max(bottom.spacing_to(min(r[2] - r[0], r[3] - r[1])), bottom.end_spacing):
                    return False
        return True

    def _bottom_neighbours(self, term: Terminal, box: Rect) -> list[Rect]:
        if not hasattr(self, "_bottom_index"):
            bottom = self.db.layers[0].name
            self._bottom_index: dict[tuple[int, int], list[tuple[Rect, str | None]]] = {}
            for s in self.db.obstacles:
                if s.layer == bottom:
                    for key in self._buckets(s.rect):
                        self._bottom_index.setdefault(key, []).append((s.rect, s.net))
            for r, net in getattr(self, "_link_shapes", ()):
                for key in self._buckets(r):
                    self._bottom_index.setdefault(key, []).append((r, net))
        own = {r for _, r in term.shapes}
        out = []
        seen = set()
        for key in self._buckets((box[0] - 2000, box[1] - 2000, box[2] + 2000, box[3] + 2000)):
            for r, _net in self._bottom_index.get(key, ()):
                if r not in own and r not in seen:
                    seen.add(r)
                    out.append(r)
        return out

    @staticmethod
    def _buckets(r: Rect, size: int = 5000):
        for bx in range(r[0] // size, r[2] // size + 1):
            for by in range(r[1] // size, r[3] // size + 1):
                yield (bx, by)

    # -- occupancy ---------------------------------------------------------------------------------

    def _vias_of(self, net: NetRoute) -> list[int]:
        """Lower nodes of the net's vias between routed layers."""
        np_ = self.g.np_
        return [min(a, b) for a, b in net.edges if abs(a - b) == np_]

    def _around(self, v: int, offsets) -> list[int]:
        """``v`` and the nodes at ``offsets`` ((flat, di, dj) triples) that lie on the grid."""
        g = self.g
        r = v % g.np_
        j, i = divmod(r, g.nx)
        out = [v]
        for d, di, dj in offsets:
            if (di or dj) and 0 <= i + di < g.nx and 0 <= j + dj < g.ny:
                out.append(v + d)
        return out

    def _commit(self, net: NetRoute, sign: int) -> None:
        np_ = self.g.np_
        hocc, halo = self.hocc, self.halo
        for v in net.nodes:
            for u in self._around(v, halo[v // np_]):
                hocc[u] += sign
        cocc = self.cocc
        for v in self._vias_of(net):
            for u in self._around(v, self.cut_halo[v // np_]):
                cocc[u] += sign
        # access vias down to the bottom layer: their own cut layer
        for acc in net.used.values():
            if acc.kind == "via":
                for u in self._around(acc.node, self.cut0_halo):
                    self.c0occ[u] += sign

    def conflicts(self, net: NetRoute) -> list[int]:
        """Nodes where ``net`` meets another net (crowding or sharing, wires or cuts)."""
        np_ = self.g.np_
        own = Counter()
        for v in net.nodes:
            for u in self._around(v, self.halo[v // np_]):
                own[u] += 1
        bad = [v for v in net.nodes if self.hocc[v] > own[v]]
        ownc = Counter()
        vias = self._vias_of(net)
        for v in vias:
            for u in self._around(v, self.cut_halo[v // np_]):
                ownc[u] += 1
        bad += [v for v in vias if self.cocc[v] > ownc[v]]
        own0 = Counter()
        acc_nodes = [a.node for a in net.used.values() if a.kind == "via"]
        for v in acc_nodes:
            for u in self._around(v, self.cut0_halo):
                own0[u] += 1
        bad += [v for v in acc_nodes if self.c0occ[v] > own0[v]]
        return bad

    # -- search --------------------------------------------------------------------------------------

    def _astar(self, net: NetRoute, sources: dict[int, float], targets: dict[int, int], box: tuple[int, int, int, int],
               pf: float, hard: bool, own_cuts: set[int], own_cut0: set[int], guide: bytearray | None = None,
               bound: float = math.inf) -> tuple[int, list[int]] | None:
        """The cheapest path from ``sources`` to a target, or None; None too,
        with ``self._bounded`` set, when every path would cost more than ``bound``."""
        self._bounded = False
        g = self.g
        nx, np_, nl = g.nx, g.np_, g.nl
        i0, j0, i1, j1 = box
        k = net.index
        valid, blk_node, blk_dn, blk_up, blk_cut = self.valid, self.blk_node, self.blk_dn, self.blk_up, self.blk_cut
        hocc, cocc, hist, cand = self.hocc, self.cocc, self.hist, self.cand_owner
        px, py = g.px, g.py
        unit = min(px, py)
        lcost = self.lcost
        via_cost = VIA_COST * unit
        horiz = [lay.horizontal for lay in g.layers]
        ww, blk_jog = self.wrong_way, self.blk_jog
        cut_sets = self.cut_sets
        gtx, gty, gntx, _ = getattr(self, "tile", (1, 1, 1, 1))
        c0occ = self.c0occ
        # heuristic towards the targets' box
        tj = [divmod(t % np_, nx) for t in targets]
        tx0 = min(i for _, i in tj); tx1 = max(i for _, i in tj)
        ty0 = min(j for j, _ in tj); ty1 = max(j for j, _ in tj)
        hmin = min(lcost)
        # and the vias down or up to the nearest target layer
        tls = {t // np_ for t in targets}
        hl = [via_cost * min(abs(l - t) for t in tls) for l in range(nl)]
        # on the one target layer, a distance across its direction is run wrong way or
        # left through two vias
        tl = next(iter(tls)) if len(tls) == 1 else -1
        perp_unit = (lcost[tl] * WRONG_WAY_COST - hmin) if tl >= 0 and ww[tl] else math.inf
        tl_h = tl >= 0 and horiz[tl]

        def h(v: int) -> float:
            l, r = divmod(v, np_)
            j, i = divmod(r, nx)
            dx = tx0 - i if i < tx0 else (i - tx1 if i > tx1 else 0)
            dy = ty0 - j if j < ty0 else (j - ty1 if j > ty1 else 0)
            e = (dx * px + dy * py) * hmin + hl[l]
            if l == tl:
                perp = dy * py if tl_h else dx * px
                if perp:
                    e += min(perp * perp_unit, 2 * via_cost)
            return e

        dist: dict[int, float] = {}
        prev: dict[int, int] = {}
        heap: list[tuple[float, float, int]] = []
        for s, c in sources.items():
            dist[s] = c
            prev[s] = -1
            heapq.heappush(heap, (c + h(s), c, s))
        done = set()
        tcost = getattr(self, "_tcost", {})
        while heap:
            f, c, v = heapq.heappop(heap)
            if f > bound:
                self._bounded = True
                return None
            side = False
            if v < 0:  # a target reached, with its bottom-layer wire paid
                v = -v - 1
                side = True
            elif v in done or c > dist.get(v, 1e30):
                continue
            else:
                done.add(v)
            if v in targets and v not in sources:
                if not side and tcost.get(v):
                    # reached: accepted once its bottom-layer wire is paid too
                    heapq.heappush(heap, (c + tcost[v], c + tcost[v], -v - 1))
                else:
                    ok = True
                    if targets[v] == 1:  # an access via down to the bottom layer: cut spacing
                        ok = v not in own_cut0 and not (hard and c0occ[v] > 0)
                    if ok:
                        path = [v]
                        while prev[path[-1]] != -1:
                            path.append(prev[path[-1]])
                        self._last_cost = c
                        return v, path
            if side:
                continue
            l, r = divmod(v, np_)
            j, i = divmod(r, nx)
            moves = []
            if horiz[l]:
                if i > i0:
                    moves.append((v - 1, px * lcost[l], 0))
                if i < i1:
                    moves.append((v + 1, px * lcost[l], 0))
            else:
                if j > j0:
                    moves.append((v - nx, py * lcost[l], 0))
                if j < j1:
                    moves.append((v + nx, py * lcost[l], 0))
            if ww[l]:  # a jog of one track across the layer's direction
                if horiz[l]:
                    if j > j0 and blk_jog[v - nx] in (-1, k):
                        moves.append((v - nx, py * lcost[l] * WRONG_WAY_COST, 2))
                    if j < j1 and blk_jog[v] in (-1, k):
                        moves.append((v + nx, py * lcost[l] * WRONG_WAY_COST, 2))
                else:
                    if i > i0 and blk_jog[v - 1] in (-1, k):
                        moves.append((v - 1, px * lcost[l] * WRONG_WAY_COST, 2))
                    if i < i1 and blk_jog[v] in (-1, k):
                        moves.append((v + 1, px * lcost[l] * WRONG_WAY_COST, 2))
            if l + 1 < nl:
                moves.append((v + np_, via_cost, 1))
            if l > 0:
                moves.append((v - np_, via_cost, -1))
            for u, step, kind in moves:
                if not valid[u] or u in done:
                    continue
                via = kind if kind != 2 else 0
                if guide is not None and not via:
                    ru = u % np_
                    if not guide[(ru // nx) // gty * gntx + (ru % nx) // gtx]:
                        continue
                b = blk_node[u]
                if b != -1 and b != k:
                    continue
                extra = 0.0
                if via:
                    lo, hi = (v, u) if via > 0 else (u, v)
                    b1, b2 = blk_up[lo], blk_dn[hi]
                    if (b1 != -1 and b1 != k) or (b2 != -1 and b2 != k) or blk_cut[lo]:
                        continue
                    if lo in own_cuts:
                        continue
                    # cut spacing to the vias earlier on this path (a jog through the layer below)
                    w_, n_, near = v, 0, False
                    cs = cut_sets[lo // np_]
                    while n_ < 8:
                        p_ = prev.get(w_, -1)
                        if p_ == -1:
                            break
                        if (p_ - w_ == np_ or w_ - p_ == np_) and (min(p_, w_) - lo) in cs:
                            near = True
                            break
                        w_ = p_
                        n_ += 1
                    if near:
                        continue
                    if cocc[lo]:
                        if hard:
                            continue
                        extra += pf * cocc[lo] * unit
                o = hocc[u]
                if o:
                    if hard:
                        continue
                    extra += pf * o * unit
                co = cand[u]
                if co != -1 and co != k:
                    extra += RESERVE_COST * unit
                nc = c + step + extra + hist[u] * unit
                if nc < dist.get(u, 1e30):
                    dist[u] = nc
                    prev[u] = v
                    heapq.heappush(heap, (nc + h(u), nc, u))
        return None

    def _route_first(self, net: NetRoute, pf: float, margin: int) -> bool:
        """The first route of a net.  A tree grown terminal by terminal
        (each time to the pending terminal nearest the tree) depends on the
        terminal it starts from: a net of three or more terminals is routed
        from up to ``STARTS`` of them (the one with the fewest access points
        and the outermost ones), the cheapest tree is kept, and its start is
        kept for the rip-up rounds."""
        T = len(net.terms)
        if T < 3 or any(not acc for acc in net.access):
            return self.route_net(net, pf, False, margin)
        g = self.g
        pts = [g.xy(acc[0].node) for acc in net.access]
        cands = [min(range(T), key=lambda t: len(net.access[t])),
                 min(range(T), key=lambda t: pts[t][0]), max(range(T), key=lambda t: pts[t][0]),
                 min(range(T), key=lambda t: pts[t][1]), max(range(T), key=lambda t: pts[t][1])]
        cands = list(dict.fromkeys(range(T) if T <= STARTS else cands))[:STARTS]
        best = None
        for st in cands:
            if self.route_net(net, pf, False, margin, start=st, limit=None if best is None else best[0]):
                best = (net.cost, st, net.nodes, net.edges, net.used)
            elif net.failed is not None:
                return False
        if best is None:
            return False
        net.cost, net.start, net.nodes, net.edges, net.used = best
        return True

    def route_net(self, net: NetRoute, pf: float, hard: bool, margin: int, start: int | None = None,
                  limit: float | None = None) -> bool:
        """Route ``net`` (its tree grown from terminal ``start``); False when no
        path is found (``net.failed`` says why) or, with ``limit``, as soon as
        the tree costs more (``net.failed`` stays None)."""
        g = self.g
        np_, nx = g.np_, g.nx
        net.nodes, net.edges, net.used = set(), set(), {}
        net.cost = 0.0
        T = len(net.terms)
        if T < 2:
            return True  # pins all joined on the bottom layer
        for t, acc in enumerate(net.access):
            if not acc:
                net.failed = f"no pin access: {net.terms[t].label} at {self._where(net.terms[t])} has no track crossing with room for a via or wire"
                return False
        # start from the terminal with the fewest access points
        if start is None:
            start = net.start
        t0 = min(range(T), key=lambda t: len(net.access[t])) if start is None else start
        connected = {t0}
        tree_nodes: set[int] = set()
        own_cuts: set[int] = set()
        own_cut0: set[int] = set()
        sources = {a.node: SIDE_COST * _m1_len(a) for a in net.access[t0]}
        first = True
        while len(connected) < T:
            owner_t: dict[int, tuple[int, Access]] = {}
            for t in range(T):
                if t in connected:
                    continue
                for a in net.access[t]:
                    if a.node not in owner_t:
                        owner_t[a.node] = (t, a)
            # a tree node that is an access point of a pending terminal: joined for free
            hit = next((v for v in tree_nodes if v in owner_t), None)
            if hit is not None:
                t, a = owner_t[hit]
                net.used[t] = a
                connected.add(t)
                if a.kind == "via":
                    own_cut0.update(hit + d for d in self.cut0_flat + [0])
                continue
            # the pending terminal nearest to the tree (Prim's order), searched for alone
            src = np.array([g.xy(v) for v in sources], dtype=np.int64)
            best_t, best_d = -1, None
            for t in range(T):
                if t in connected:
                    continue
                x, y = g.xy(net.access[t][0].node)
                dd = int(np.min(np.abs(src[:, 0] - x) + np.abs(src[:, 1] - y)))
                if best_d is None or dd < best_d:
                    best_t, best_d = t, dd
            targets = {a.node: (1 if a.kind == "via" else 0) for a in net.access[best_t]}
            self._tcost = {a.node: SIDE_COST * _m1_len(a) for a in net.access[best_t] if a.m1 is not None}
            # search box: access points of the tree and the nearest pending terminal, plus margin
            pts = list(sources) + list(targets)
            js = [(p % np_) // nx for p in pts]
            is_ = [p % nx for p in pts]
            res = None
            tries = [(margin, net.guide)] if net.guide is not None else []
            tries += [(margin, None), (margin * 4, None), (max(g.nx, g.ny), None)]
            for m, guide in tries:
                box = (max(0, min(is_) - m), max(0, min(js) - m), min(g.nx - 1, max(is_) + m), min(g.ny - 1, max(js) + m))
                if guide is not None:
                    box = (0, 0, g.nx - 1, g.ny - 1)
                res = self._astar(net, sources, targets, box, pf, hard, own_cuts, own_cut0, guide,
                                  math.inf if limit is None else limit - net.cost)
                if res is not None:
                    break
                if self._bounded:
                    return False
            if res is None:
                pend = [net.terms[t].label for t in range(T) if t not in connected]
                net.failed = (f"no {'conflict-free ' if hard else ''}path from {net.terms[t0].label} at {self._where(net.terms[t0])} "
                              f"to {', '.join(pend[:3])}{' ...' if len(pend) > 3 else ''}")
                return False
            end, path = res
            net.cost += self._last_cost
            if limit is not None and net.cost >= limit:
                return False
            t, a = owner_t[end]
            net.used[t] = a
            connected.add(t)
            if a.kind == "via":
                own_cut0.update(end + d for d in self.cut0_flat + [0])
            start = path[-1]
            if first:
                a0 = next(x for x in net.access[t0] if x.node == start)
                net.used[t0] = a0
                if a0.kind == "via":
                    own_cut0.update(start + d for d in self.cut0_flat + [0])
                first = False
                sources = {}
            for p in path:
                tree_nodes.add(p)
                sources[p] = 0.0
            for a_, b_ in zip(path, path[1:]):
                net.edges.add((min(a_, b_), max(a_, b_)))
                if abs(a_ - b_) == np_:
                    lo_ = min(a_, b_)
                    own_cuts.update(lo_ + d for d in self.cut_sets[lo_ // np_])
        net.nodes = tree_nodes | {a.node for a in net.used.values()}
        return True

    def _where(self, term: Terminal) -> str:
        x0, y0, x1, y1 = term.shapes[0][1]
        um = self.db.dbu
        return f"({(x0 + x1) / 2 / um:.3f}, {(y0 + y1) / 2 / um:.3f}) um on {term.shapes[0][0]}"

    # -- the whole design ------------------------------------------------------------------------------

    def run(self, max_rounds: int = MAX_ROUNDS, margin: int = 6) -> RouteResult:
        g, db = self.g, self.db
        t0 = time.perf_counter()
        self.c0occ = array("i", bytes(4 * g.np_))
        self.lcost = [1.0 + 0.15 * l for l in range(g.nl)]
        routes: list[NetRoute] = []
        self._bottom_links()
        self._poor_pads: list[Rect] = []
        for k, name in enumerate(self.nets):
            terms = self.link_terms.get(name, db.nets[name])
            acc = [self.access_points(k, t) for t in terms]
            routes.append(NetRoute(name, k, terms, acc))
        if SIDE_ACCESS:
            self._side_access(routes)
        for nr in routes:
            k = nr.index
            for lst in nr.access:
                for a in lst:
                    cur = self.cand_owner[a.node]
                    self.cand_owner[a.node] = k if cur in (-1, k) else -2
        self.seconds["pin access"] = time.perf_counter() - t0
        tg = time.perf_counter()
        self._global_guides(routes)
        self.seconds["global route"] = time.perf_counter() - tg
        t1 = time.perf_counter()

        def hpwl(nr: NetRoute) -> int:
            pts = [g.xy(a.node) for lst in nr.access for a in lst[:1]]
            if not pts:
                return 0
            return max(p[0] for p in pts) - min(p[0] for p in pts) + max(p[1] for p in pts) - min(p[1] for p in pts)

        order = sorted(routes, key=lambda r: (hpwl(r), r.index))
        pf = PRESENT_START
        failed: dict[str, str] = {}
        for n_, nr in enumerate(order):
            self.say(f"route {n_}/{len(order)} nets", n_ / max(1, len(order)))
            if self._route_first(nr, pf, margin):
                self._commit(nr, +1)
        rounds = 0
        for rounds in range(1, max_rounds + 1):
            bad = [nr for nr in routes if nr.failed is None and nr.nodes and self.conflicts(nr)]
            self.say(f"rip-up and reroute round {rounds}: {len(bad)} nets in conflict", None)
            if not bad:
                break
            for nr in bad:
                for v in self.conflicts(nr):
                    self.hist[v] += HIST_STEP
            pf *= PRESENT_GROWTH
            for nr in bad:
                self._commit(nr, -1)
                if self.route_net(nr, pf, False, margin):
                    self._commit(nr, +1)
        # what is still in conflict: rerouted with conflicts forbidden
        bad = [nr for nr in routes if nr.failed is None and nr.nodes and self.conflicts(nr)]
        for nr in bad:
            if not self.conflicts(nr):
                continue
            self._commit(nr, -1)
            if self.route_net(nr, pf, True, margin):
                self._commit(nr, +1)
            else:
                nr.nodes, nr.edges, nr.used = set(), set(), {}
        for nr in routes:
            if nr.failed is not None and not nr.nodes:
                failed[nr.name] = nr.failed
        tr = time.perf_counter()
        for _ in range(REFINE_PASSES):
            self._refine([nr for nr in routes if nr.name not in failed], margin)
        self.seconds["refine"] = time.perf_counter() - tr
        self._min_area([nr for nr in routes if nr.name not in failed])
        self.seconds["route"] = time.perf_counter() - t1
        return self._result(routes, failed, rounds)

    # -- refinement --------------------------------------------------------------------------------

    def _metric(self, net: NetRoute) -> float:
        """Wirelength plus ``VIA_COST`` base pitches per via (access vias included)."""
        g = self.g
        np_ = g.np_
        unit = min(g.px, g.py)
        total = 0.0
        for a, b in net.edges:
            d = b - a
            total += VIA_COST * unit if d == np_ else (g.px if d == 1 else g.py)
        for a in net.used.values():
            if a.kind == "via":
                total += VIA_COST * unit + _m1_len(a)
            elif a.kind == "stub" and a.stub is not None:
                total += abs(a.stub[2] - a.stub[0]) + abs(a.stub[3] - a.stub[1])
        return total

    def _refine(self, routes: list[NetRoute], margin: int) -> None:
        """Once no net conflicts: each net is ripped up and routed again around
        the others (their shapes forbidden, no history cost); the new route is
        kept when it is shorter (wirelength plus vias) and conflicts with no
        net, else the old one is put back.  This takes out detours the
        negotiation left where the congestion that caused them is gone."""
        saved = self.hist
        self.hist = array("f", bytes(4 * self.n))
        try:
            for nr in sorted(routes, key=lambda r: -len(r.terms)):
                if nr.failed is not None or not nr.nodes or self.conflicts(nr):
                    continue
                old = (nr.nodes, nr.edges, nr.used, nr.cost)
                before = self._metric(nr)
                self._commit(nr, -1)
                if self.route_net(nr, 1.0, True, margin) and self._metric(nr) < before:
                    self._commit(nr, +1)
                    if not self.conflicts(nr):
                        continue
                    self._commit(nr, -1)
                nr.failed = None
                nr.nodes, nr.edges, nr.used, nr.cost = old
                self._commit(nr, +1)
        finally:
            self.hist = saved

    # -- global routing --------------------------------------------------------------------------------

    def _global_guides(self, routes: list[NetRoute]) -> None:
        """Global routing on tiles of ``TILE`` x ``TILE`` base tracks (the
        capacity of a tile edge: the free tracks crossing it, per layer), then
        each net's guide: the tiles of its global route grown by one tile."""
        from flow.route.globalroute import GridGraph, GRNet, global_route, route_guides

        g = self.g
        tx = ty = GR_TILE
        ntx, nty = -(-g.nx // tx), -(-g.ny // ty)
        self.tile = (tx, ty, ntx, nty)
        if ntx < 2 and nty < 2:
            return
        free = (np.frombuffer(self.valid, dtype=np.int8).reshape(g.nl, g.ny, g.nx) > 0) & (
            np.frombuffer(self.blk_node, dtype=np.int32).reshape(g.nl, g.ny, g.nx) == -1)
        hcap = np.zeros((g.nl, nty, max(ntx - 1, 0)), dtype=np.int64)
        vcap = np.zeros((g.nl, max(nty - 1, 0), ntx), dtype=np.int64)
        for l, lay in enumerate(g.layers):
            if lay.horizontal:
                for x in range(ntx - 1):
                    col = free[l, :, (x + 1) * tx]
                    hcap[l, :, x] = np.add.reduceat(col.astype(np.int64), np.arange(0, g.ny, ty))[:nty]
            else:
                for y in range(nty - 1):
                    row = free[l, (y + 1) * ty, :]
                    vcap[l, y, :] = np.add.reduceat(row.astype(np.int64), np.arange(0, g.nx, tx))[:ntx]
        grid = GridGraph(hcap, vcap)
        nets, owners = [], []
        for nr in routes:
            pins = set()
            for acc in nr.access:
                if acc:
                    _, j, i = g.unflat(acc[0].node)
                    pins.add((i // tx, j // ty, 0))
            if len(pins) >= 2:
                nets.append(GRNet(nr.name, tuple(sorted(pins))))
                owners.append(nr)
            elif pins:
                (px, py, _), = pins
                mask = bytearray(ntx * nty)
                for yy in range(max(0, py - 1), min(nty, py + 2)):
                    for xx in range(max(0, px - 1), min(ntx, px + 2)):
                        mask[yy * ntx + xx] = 1
                nr.guide = mask
        if not nets:
            return
        res = global_route(grid, nets, progress=lambda m, f=None: self.say(f"global route: {m}", f))
        self.gr_overflow = res.overflow_total
        for nr, segs in zip(owners, res.routes):
            m = route_guides(grid, segs, dilate=1).any(axis=0)
            nr.guide = bytearray(m.astype(np.uint8).ravel().tobytes())

    # -- minimum area --------------------------------------------------------------------------------

    def _min_area(self, routes: list[NetRoute]) -> None:
        """Lengthen wire pieces below a layer's minimum area along their track
        (onto free stations only, keeping every spacing); the nets a piece cannot
        grow for are listed in the notes."""
        g, db = self.g, self.db
        np_, nx = g.np_, g.nx
        if not any(lay.area > 0 for lay in g.layers):
            return
        owner: dict[int, int] = {}
        for nr in routes:
            for v in nr.nodes:
                owner[v] = nr.index
        pad_of = {v.name: v.top for v in db.access_vias}
        short: list[str] = []
        for nr in routes:
            k = nr.index
            adj: dict[int, set[int]] = {}
            for a, b in nr.edges:
                adj.setdefault(a, set()).add(b)
                adj.setdefault(b, set()).add(a)
            access = {a.node: a for a in nr.used.values()}
            for l, lay in enumerate(g.layers):
                if lay.area <= 0:
                    continue
                step = 1 if lay.horizontal else nx
                pitch = g.px if lay.horizontal else g.py
                h = lay.width // 2

                def ext(v: int) -> int:
                    e = h
                    for u in adj.get(v, ()):
                        if u == v - np_:
                            p = db.vias[l].top
                            e = max(e, (p[2] - p[0]) // 2 if lay.horizontal else (p[3] - p[1]) // 2)
                        elif u == v + np_:
                            p = db.vias[l + 1].bottom
                            e = max(e, (p[2] - p[0]) // 2 if lay.horizontal else (p[3] - p[1]) // 2)
                    a = access.get(v)
                    if a is not None and a.kind == "via":
                        p = pad_of.get(a.via, db.vias[0].top)
                        e = max(e, (p[2] - p[0]) // 2 if lay.horizontal else (p[3] - p[1]) // 2)
                    return e

                nodes = sorted(v for v in nr.nodes if v // np_ == l)
                seen: set[int] = set()
                for v0 in nodes:
                    if v0 in seen:
                        continue
                    run = [v0]
                    while run[-1] + step in adj.get(run[-1], ()):
                        run.append(run[-1] + step)
                    seen.update(run)
                    lo_e, hi_e = ext(run[0]), ext(run[-1])
                    length = (len(run) - 1) * pitch + lo_e + hi_e
                    grow_ok = True
                    while lay.width * length < lay.area and grow_ok:
                        grow_ok = False
                        for end, d in ((run[-1], step), (run[0], -step)):
                            u = end + d
                            if not (0 <= u < self.n) or u // np_ != l or (step == 1 and (u % nx) != (end % nx) + (1 if d > 0 else -1)):
                                continue
                            if not self.valid[u] or self.blk_node[u] not in (-1, k) or owner.get(u, k) != k:
                                continue
                            if any(owner.get(w, k) != k for w in self._around(u, self.halo[l])):
                                continue
                            nr.edges.add((min(end, u), max(end, u)))
                            nr.nodes.add(u)
                            owner[u] = k
                            for w in self._around(u, self.halo[l]):
                                self.hocc[w] += 1
                            if d > 0:
                                run.append(u)
                                hi_e = h if not adj.get(u) else hi_e
                            else:
                                run.insert(0, u)
                                lo_e = h
                            length += pitch
                            grow_ok = True
                            break
                    if lay.width * length < lay.area:
                        x, y = g.xy(run[0])
                        short.append(f"{nr.name} at ({x / db.dbu:.3f}, {y / db.dbu:.3f}) um on {lay.name}")
        if short:
            self.notes.append(f"minimum area not reached for {len(short)} wire piece(s) (no free station to lengthen them): " + "; ".join(short[:5]))

    # -- geometry ------------------------------------------------------------------------------------

    def _result(self, routes: list[NetRoute], failed: dict[str, str], rounds: int) -> RouteResult:
        g, db = self.g, self.db
        np_ = g.np_
        wires: dict[str, list] = {}
        vias: dict[str, list] = {}
        patches: dict[str, list] = {}
        wl = 0
        nv = 0
        for nr in routes:
            if nr.name in failed:
                continue
            ws: list[tuple[str, tuple[int, int, int, int]]] = []
            vs: list[tuple[str, int, int]] = []
            ps: list[tuple[str, tuple[int, int, int, int]]] = []
            # merge along-track edges into runs
            runs: dict[tuple[int, bool, int], list[int]] = {}
            for a, b in nr.edges:
                if b - a == np_:
                    l = a // np_
                    x, y = g.xy(a)
                    vs.append((db.vias[l + 1].name, x, y))
                    continue
                l, j, i = g.unflat(a)
                lay = g.layers[l]
                along_x = b - a == 1  # else along y (a jog when the layer is horizontal)
                key = (l, along_x, j if along_x else i)
                runs.setdefault(key, []).append(a)
            for (l, along_x, _), starts in runs.items():
                lay = g.layers[l]
                step = 1 if along_x else g.nx
                starts.sort()
                seg_start = starts[0]
                last = starts[0]
                for s in starts[1:] + [None]:
                    if s is not None and s == last + step:
                        last = s
                        continue
                    xa, ya = g.xy(seg_start)
                    xb, yb = g.xy(last + step)
                    ws.append((lay.name, (xa, ya, xb, yb)))
                    wl += abs(xb - xa) + abs(yb - ya)
                    if s is not None:
                        seg_start = last = s
            for a in nr.used.values():
                if a.kind == "via":
                    x, y = g.xy(a.node)
                    vs.append((a.via or db.vias[0].name, x, y))
                    if a.m1 is not None:
                        ws.append((db.layers[0].name, a.m1))
                        wl += abs(a.m1[2] - a.m1[0]) + abs(a.m1[3] - a.m1[1])
                else:
                    l = a.node // np_
                    if a.kind == "stub" and a.stub is not None:
                        ws.append((g.layers[l].name, a.stub))
                        wl += abs(a.stub[2] - a.stub[0]) + abs(a.stub[3] - a.stub[1])
                    if a.patch is not None:
                        ps.append((g.layers[l].name, a.patch))
            for line in self.links.get(nr.name, ()):
                ws.append((db.layers[0].name, line))
                wl += abs(line[2] - line[0]) + abs(line[3] - line[1])
            # a lone access node (terminal joined without wire on that layer) still needs its pad: the via has it
            nv += len(vs)
            wires[nr.name] = ws
            vias[nr.name] = vs
            patches[nr.name] = ps
        return RouteResult(wires, vias, failed, wl, nv, rounds, dict(self.seconds), self.notes,
                           {lay.name: lay.width for lay in g.layers}, patches)


def route(db: RouteDB, *, top_layer: str | None = None, max_rounds: int = MAX_ROUNDS,
          progress: Callable[[str, float | None], None] | None = None) -> RouteResult:
    """Route every signal net of ``db``; see the module docstring."""
    r = DefRouter(db, top_layer=top_layer, progress=progress)
    return r.run(max_rounds=max_rounds)
