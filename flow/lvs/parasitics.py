"""Wiring parasitics of an extracted layout, as a post-layout SPICE netlist.

Model (an estimate for sign-off sanity and first simulations, not a field
solver; every number comes from the kit's layer data):

**Resistance.**  Every conductor polygon of a net is cut into rectangles
(horizontal slabs).  Each rectangle gets a node at its centre; every place
where it meets something else -- an overlapping or touching rectangle of
the same layer, a shape of a connected layer (a cut, a contact), a device
terminal -- is a *contact point* node.  Between a rectangle's centre and
each of its contact points sits a resistor ``sheet_ohm * (dx / h + dy / w)``
(``w`` x ``h`` the rectangle, ``dx, dy`` the distance): a star network
per rectangle, exact for a straight wire fed at its ends in the limit of
long rectangles and a documented estimate elsewhere.  Layers without a
``sheet_ohm`` (device layers, cuts: the kits give no contact or via
resistance) are ideal: their nodes merge.  A derived layer
(``[pdk.lvs] derived``) takes the sheet resistance of the first layer of
its expression (sic1200's gate poly ``GPOLY = POLY - RPOLY``: 50 ohm/sq).

**Capacitance.**  To the substrate (SPICE node ``0``): per net and layer,
the merged area times ``cap_area_ff_um2`` plus the merged outline length
times ``cap_fringe_ff_um``, spread over the net's rectangle nodes by area.
Coupling between nets: facing edges of rectangles of two nets on one layer,
at most :data:`COUPLING_MAX_UM` apart, ``cap_coupling_ff * length /
spacing`` (a sidewall parallel-plate estimate); summed per node pair.
Layers without the ``cap_*`` keys add no capacitance.

The deck (:func:`postlayout_spice`) is one ``.subckt`` named after the top
cell: ports are the pad nets (their pad terminal node), wiring ``R``/``C``
elements, and one ``X`` line per device on its terminal nodes with its
measured parameters.  Device models are the circuit's business: for a
smoke simulation, :func:`standin_library` writes behavioural stand-ins
(resistors as resistors, capacitors as capacitors, transistors as a
drain-source resistor with leaky gates ...), clearly not device models.

Example
-------
>>> import gdstk, pdk
>>> from pdk.base import generate
>>> from flow.lvs.extract import extract
>>> kit = pdk.load("gan650")
>>> lib = gdstk.Library(unit=1e-6, precision=1e-9)
>>> top = lib.new_cell("TOP")
>>> _ = top.add(gdstk.rectangle((0, 0), (1000, 2), layer=10))  # 1 mm x 2 um MET1
>>> _ = top.add(gdstk.Label("A", (1, 1), layer=10, texttype=10))
>>> par = parasitics(extract(lib, kit))
>>> round(par.nets["A"].c_ground_f * 1e15, 3)  # 2000 um2 * 0.015 + 2004 um * 0.02
70.08
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import spsolve

from flow.drc.nets import box_pairs
from flow.fileio import atomic_write_text
from flow.lvs.extract import Extraction, boolean

#: Largest edge-to-edge distance (um) at which two nets' shapes couple.
COUPLING_MAX_UM = 20.0
#: Resistances below this (ohm) merge their two nodes.
R_MIN_OHM = 1e-6
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class NetParasitics:
    """One net's wiring estimate.

    ``r_terminals``: ``"INSTANCE.TERMINAL"`` -> resistance (ohm) from the
    net's reference terminal (the first in instance order, 0 ohm) through
    the wiring; ``c_ground_f``: capacitance to the substrate (F);
    ``c_coupling_f``: other net -> coupling capacitance (F).
    """

    net: str
    resistors: int
    r_terminals: Mapping[str, float]
    c_ground_f: float
    c_coupling_f: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def r_max_ohm(self) -> float:
        """Largest terminal-to-reference wiring resistance (ohm)."""
        return max(self.r_terminals.values(), default=0.0)


@dataclass(frozen=True)
class Parasitics:
    """Per-net estimates (every net of the layout, devices or not) and the
    element list of the post-layout deck."""

    nets: Mapping[str, NetParasitics]
    #: (name, node a, node b, value) resistors (ohm) and capacitors (F)
    resistors: tuple[tuple[str, str, str, float], ...]
    capacitors: tuple[tuple[str, str, str, float], ...]
    #: instance -> terminal -> node
    device_nodes: Mapping[str, Mapping[str, str]]
    #: port net -> node
    port_nodes: Mapping[str, str]


# ---------------------------------------------------------------------------


def rectangles(poly: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Cut a polygon (dbu) into rectangles by horizontal slabs at its
    vertex heights (exact for Manhattan polygons; other edges are
    approximated at each slab's middle height).

    >>> rectangles(np.array([[0, 0], [4, 0], [4, 2], [2, 2], [2, 4], [0, 4]]))
    [(0, 0, 4, 2), (0, 2, 2, 4)]
    """
    if len(poly) == 4:
        xs, ys = poly[:, 0], poly[:, 1]
        if len(set(xs.tolist())) == 2 and len(set(ys.tolist())) == 2:
            return [(int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))]
    a = poly.astype(np.float64)
    b = np.roll(a, -1, axis=0)
    levels = np.unique(poly[:, 1])
    out = []
    for y0, y1 in zip(levels[:-1], levels[1:]):
        y = (y0 + y1) / 2.0
        cross = ((a[:, 1] <= y) & (b[:, 1] > y)) | ((b[:, 1] <= y) & (a[:, 1] > y))
        xs = np.sort(a[cross, 0] + (y - a[cross, 1]) * (b[cross, 0] - a[cross, 0]) / (b[cross, 1] - a[cross, 1]))
        for k in range(0, len(xs) - 1, 2):
            x0, x1 = int(round(xs[k])), int(round(xs[k + 1]))
            if x1 > x0:
                out.append((x0, int(y0), x1, int(y1)))
    return out


def _sheet(ex: Extraction, layer: str) -> float:
    kit = ex.kit
    assert kit is not None
    lay = kit.layers.get(layer)
    if lay is not None:
        return float(lay.sheet_ohm or 0.0) if lay.purpose != "cut" else 0.0
    expr = (kit.lvs.derived.get(layer) if kit.lvs else None) or ""
    m = _TOKEN.search(expr)
    return _sheet(ex, m.group(0)) if m else 0.0


class _Graph:
    """Nodes (union-find for ideal joins) and resistors of the whole layout."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.net: list[int] = []
        self.res: list[tuple[int, int, float]] = []

    def node(self, net: int) -> int:
        self.parent.append(len(self.parent))
        self.net.append(net)
        return len(self.parent) - 1

    def find(self, x: int) -> int:
        p = self.parent
        while p[x] != x:
            p[x] = p[p[x]]
            x = p[x]
        return x

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def resistor(self, a: int, b: int, r: float) -> None:
        if r < R_MIN_OHM:
            self.join(a, b)
        else:
            self.res.append((a, b, r))


def parasitics(ex: Extraction) -> Parasitics:
    """Wiring resistance and capacitance of every net of ``ex`` (see module notes).

    Cost: one box join per layer (same-layer contacts and coupling) and per
    connected layer pair, linear in the number of rectangles otherwise; one
    sparse solve per net terminal for the terminal resistances.
    """
    kit, nets = ex.kit, ex.nets
    assert kit is not None and nets is not None
    u = kit.dbu_um
    g = _Graph()
    rect: dict[str, np.ndarray] = {}  # layer -> (n, 4) rectangles
    rnet: dict[str, np.ndarray] = {}
    rnode: dict[str, np.ndarray] = {}
    for layer in nets.layers:
        rs, ns = [], []
        for k, poly in enumerate(nets.polygons[layer]):
            for r in rectangles(poly):
                rs.append(r)
                ns.append(int(nets.comp[layer][k]))
        rect[layer] = np.array(rs, np.int64).reshape(-1, 4)
        rnet[layer] = np.array(ns, np.int64)
        rnode[layer] = np.array([g.node(n) for n in ns], np.int64)

    def branch(layer: str, k: int, x: float, y: float) -> int:
        """A contact point on rectangle ``k`` of ``layer`` and its resistor."""
        x0, y0, x1, y1 = rect[layer][k]
        p = g.node(int(rnet[layer][k]))
        rsh = _sheet(ex, layer)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w, h = max(x1 - x0, 1), max(y1 - y0, 1)
        g.resistor(int(rnode[layer][k]), p, rsh * (abs(x - cx) / h + abs(y - cy) / w))
        return p

    def meet(la: str, i: np.ndarray, lb: str, j: np.ndarray) -> None:
        A, B = rect[la][i], rect[lb][j]
        mx = (np.maximum(A[:, 0], B[:, 0]) + np.minimum(A[:, 2], B[:, 2])) / 2
        my = (np.maximum(A[:, 1], B[:, 1]) + np.minimum(A[:, 3], B[:, 3])) / 2
        for a, b, x, y in zip(i.tolist(), j.tolist(), mx.tolist(), my.tolist()):
            pa = branch(la, a, x, y)
            pb = branch(lb, b, x, y)
            g.join(pa, pb)

    for layer in nets.layers:
        if len(rect[layer]):
            i, j = box_pairs(rect[layer], closed=True)
            # corner-only touches carry no current
            A, B = rect[layer][i], rect[layer][j]
            ov = (np.minimum(A[:, 2], B[:, 2]) > np.maximum(A[:, 0], B[:, 0])) | (np.minimum(A[:, 3], B[:, 3]) > np.maximum(A[:, 1], B[:, 1]))
            meet(layer, i[ov], layer, j[ov])
    xkit_connect = tuple(kit.connect) + tuple(kit.lvs.connect if kit.lvs else ())
    pairs = set()
    for group in xkit_connect:
        steps = [(group[0], group[1])] if len(group) == 2 else [(group[0], group[1]), (group[1], group[2])]
        for a, b in steps:
            if a in rect and b in rect and a != b:
                pairs.add((a, b))
    for a, b in sorted(pairs):
        if len(rect[a]) and len(rect[b]):
            i, j = box_pairs(rect[a], rect[b], closed=False)
            meet(a, i, b, j)

    # device terminals
    term_node: dict[str, dict[str, int]] = {}
    for inst in ex.netlist.instances:
        pts = ex.terminal_points.get(inst.name, {})
        term_node[inst.name] = {}
        for t, net in inst.pins.items():
            if t not in pts:
                continue
            layer, x, y = pts[t]
            x, y = x / u, y / u
            r = rect.get(layer)
            if r is None or not len(r):
                continue
            hit = np.nonzero((r[:, 0] <= x) & (r[:, 2] >= x) & (r[:, 1] <= y) & (r[:, 3] >= y))[0]
            if len(hit):
                term_node[inst.name][t] = branch(layer, int(hit[0]), x, y)

    # capacitance to the substrate: merged area and outline per net and layer
    cground: dict[int, float] = {}
    for layer in nets.layers:
        lay = kit.layers.get(layer)
        if lay is None or not (lay.cap_area_ff_um2 or lay.cap_fringe_ff_um) or not len(rect[layer]):
            continue
        by: dict[int, list[np.ndarray]] = {}
        for k, poly in enumerate(nets.polygons[layer]):
            by.setdefault(int(nets.comp[layer][k]), []).append(poly)
        for net, polys in by.items():
            merged = boolean(polys, [], "or")
            area = sum(abs(_area(m)) for m in merged) * u * u
            per = sum(_perimeter(m) for m in merged) * u
            c = (area * (lay.cap_area_ff_um2 or 0.0) + per * (lay.cap_fringe_ff_um or 0.0)) * 1e-15
            sel = np.nonzero(rnet[layer] == net)[0]
            ar = (rect[layer][sel, 2] - rect[layer][sel, 0]) * (rect[layer][sel, 3] - rect[layer][sel, 1]).astype(np.float64)
            share = ar / ar.sum() if ar.sum() > 0 else np.full(len(sel), 1.0 / len(sel))
            for k, s in zip(sel.tolist(), share.tolist()):
                n = int(rnode[layer][k])
                cground[n] = cground.get(n, 0.0) + c * s
    # coupling between nets on one layer
    ccoup: dict[tuple[int, int], float] = {}
    dmax = kit.dbu(COUPLING_MAX_UM)
    for layer in nets.layers:
        lay = kit.layers.get(layer)
        if lay is None or not lay.cap_coupling_ff or not len(rect[layer]):
            continue
        R = rect[layer]
        grown = R + np.array([-dmax // 2, -dmax // 2, dmax // 2, dmax // 2])
        i, j = box_pairs(grown, closed=False)
        diff = rnet[layer][i] != rnet[layer][j]
        i, j = i[diff], j[diff]
        A, B = R[i], R[j]
        ox = np.minimum(A[:, 2], B[:, 2]) - np.maximum(A[:, 0], B[:, 0])
        oy = np.minimum(A[:, 3], B[:, 3]) - np.maximum(A[:, 1], B[:, 1])
        # facing across y (x-overlap, y gap) or across x
        gy = -oy
        gx = -ox
        c = np.zeros(len(i))
        m1 = (ox > 0) & (gy > 0) & (gy <= dmax)
        c[m1] = ox[m1] / gy[m1]
        m2 = (oy > 0) & (gx > 0) & (gx <= dmax)
        c[m2] = oy[m2] / gx[m2]
        c *= lay.cap_coupling_ff * 1e-15
        for a, b, v in zip(i.tolist(), j.tolist(), c.tolist()):
            if v > 0:
                na, nb = int(rnode[layer][a]), int(rnode[layer][b])
                key = (min(na, nb), max(na, nb))
                ccoup[key] = ccoup.get(key, 0.0) + v
    return _finish(ex, g, term_node, cground, ccoup)


def _area(p: np.ndarray) -> float:
    x, y = p[:, 0].astype(np.float64), p[:, 1].astype(np.float64)
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _perimeter(p: np.ndarray) -> float:
    d = (np.roll(p, -1, axis=0) - p).astype(np.float64)
    return float(np.sum(np.hypot(d[:, 0], d[:, 1])))


def _safe(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return s if s and not s[0].isdigit() else "n" + s


def _finish(ex: Extraction, g: _Graph, term_node, cground, ccoup) -> Parasitics:
    nets = ex.nets
    assert nets is not None
    find = g.find
    # node names: <net>_<k>, the net's first terminal node is <net>
    names: dict[int, str] = {}
    used: set[str] = {"0"}
    net_base: dict[int, str] = {}

    def base(n: int) -> str:
        if n not in net_base:
            b = _safe(nets.name(n))
            while b in used:
                b += "_"
            used.add(b)
            net_base[n] = b
        return net_base[n]

    counter: dict[int, int] = {}
    for inst in ex.netlist.instances:
        for t in inst.pins:
            n = term_node.get(inst.name, {}).get(t)
            if n is None:
                continue
            r = find(n)
            if r not in names:
                net = g.net[r]
                b = base(net)
                if b not in names.values():
                    names[r] = b
                else:
                    counter[net] = counter.get(net, 0) + 1
                    names[r] = f"{b}_{counter[net]}"

    def name(n: int) -> str:
        r = find(n)
        if r not in names:
            net = g.net[r]
            counter[net] = counter.get(net, 0) + 1
            names[r] = f"{base(net)}_{counter[net]}"
        return names[r]

    res = []
    per_net_res: dict[int, list[tuple[int, int, float]]] = {}
    for a, b, r in g.res:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        res.append((f"R{len(res) + 1}", name(ra), name(rb), r))
        per_net_res.setdefault(g.net[ra], []).append((ra, rb, r))
    caps = []
    cg_net: dict[int, float] = {}
    merged_cg: dict[int, float] = {}
    for n, c in cground.items():
        r = find(n)
        merged_cg[r] = merged_cg.get(r, 0.0) + c
    for r, c in sorted(merged_cg.items()):
        caps.append((f"C{len(caps) + 1}", name(r), "0", c))
        cg_net[g.net[r]] = cg_net.get(g.net[r], 0.0) + c
    cc_net: dict[int, dict[int, float]] = {}
    merged_cc: dict[tuple[int, int], float] = {}
    for (a, b), c in ccoup.items():
        ra, rb = find(a), find(b)
        key = (min(ra, rb), max(ra, rb))
        merged_cc[key] = merged_cc.get(key, 0.0) + c
    for (a, b), c in sorted(merged_cc.items()):
        caps.append((f"C{len(caps) + 1}", name(a), name(b), c))
        na, nb = g.net[a], g.net[b]
        cc_net.setdefault(na, {})[nb] = cc_net.setdefault(na, {}).get(nb, 0.0) + c
        cc_net.setdefault(nb, {})[na] = cc_net.setdefault(nb, {}).get(na, 0.0) + c
    # per-net terminal resistances
    terms_of: dict[int, list[tuple[str, int]]] = {}
    for inst in ex.netlist.instances:
        for t in inst.pins:
            n = term_node.get(inst.name, {}).get(t)
            if n is not None:
                terms_of.setdefault(g.net[find(n)], []).append((f"{inst.name}.{t}", find(n)))
    out: dict[str, NetParasitics] = {}
    for n, net_name in enumerate(nets.names):
        if net_name in out:  # a name on several unconnected nets: the first
            continue
        terms = terms_of.get(n, [])
        rt = _terminal_resistances(per_net_res.get(n, []), terms)
        out[net_name] = NetParasitics(
            net=net_name,
            resistors=len(per_net_res.get(n, [])),
            r_terminals=MappingProxyType(rt),
            c_ground_f=cg_net.get(n, 0.0),
            c_coupling_f=MappingProxyType({nets.name(o): c for o, c in sorted(cc_net.get(n, {}).items())}),
        )
    device_nodes = {
        inst: MappingProxyType({t: name(n) for t, n in tn.items()}) for inst, tn in term_node.items()
    }
    ports = {}
    for inst in ex.netlist.instances:
        if ex.kit is not None and inst.model == ex.kit.pad_model:
            for t, net in inst.pins.items():
                if t in device_nodes.get(inst.name, {}):
                    ports.setdefault(net, device_nodes[inst.name][t])
    return Parasitics(
        nets=MappingProxyType(out),
        resistors=tuple(res),
        capacitors=tuple(caps),
        device_nodes=MappingProxyType(device_nodes),
        port_nodes=MappingProxyType(ports),
    )


def _terminal_resistances(res: list[tuple[int, int, float]], terms: list[tuple[str, int]]) -> dict[str, float]:
    """Resistance from the first terminal to each other one (sparse solves)."""
    if not terms:
        return {}
    nodes = sorted({a for a, _, _ in res} | {b for _, b, _ in res} | {n for _, n in terms})
    ix = {n: k for k, n in enumerate(nodes)}
    m = len(nodes)
    if not res:
        return {t: 0.0 for t, _ in terms}
    a = np.array([ix[x] for x, _, _ in res])
    b = np.array([ix[y] for _, y, _ in res])
    gval = 1.0 / np.array([r for _, _, r in res])
    L = coo_matrix(
        (np.concatenate([gval, gval, -gval, -gval]), (np.concatenate([a, b, a, b]), np.concatenate([a, b, b, a]))),
        shape=(m, m),
    ).tocsr()
    ref = ix[terms[0][1]]
    keep = np.array([k for k in range(m) if k != ref])
    out = {terms[0][0]: 0.0}
    if not len(keep):
        return {t: 0.0 for t, _ in terms}
    Lr = L[keep][:, keep].tocsc()
    pos = {k: q for q, k in enumerate(keep.tolist())}
    # nodes not connected to the reference would make Lr singular: tiny leak
    Lr = Lr + coo_matrix((np.full(len(keep), 1e-12), (np.arange(len(keep)), np.arange(len(keep)))), shape=Lr.shape).tocsc()
    for t, n in terms[1:]:
        k = ix[n]
        if k == ref:
            out[t] = 0.0
            continue
        rhs = np.zeros(len(keep))
        rhs[pos[k]] = 1.0
        v = spsolve(Lr, rhs)
        out[t] = float(v[pos[k]])
    return out


# ---------------------------------------------------------------------------
# decks
# ---------------------------------------------------------------------------


def _val(v: float) -> str:
    return f"{v:.6g}"


def postlayout_spice(ex: Extraction, par: Parasitics | None = None) -> str:
    """The post-layout netlist: one ``.subckt <top>`` with the pad nets as
    ports, the wiring R and C, and the devices on their terminal nodes."""
    kit = ex.kit
    assert kit is not None
    par = par or parasitics(ex)
    top = _safe(ex.netlist.top)
    ports = [par.port_nodes.get(p, _safe(p)) for p in ex.netlist.ports]
    lines = [
        f"* post-layout netlist of {ex.netlist.top}: extracted devices + wiring parasitics (pilotflow)",
        f"* PDK {kit.name} {kit.version}; resistance from sheet_ohm, capacitance from the cap_* layer estimates",
        f"* ports: {' '.join(f'{p}={n}' for p, n in zip(ex.netlist.ports, ports))}",
        f".subckt {top} {' '.join(ports)}".rstrip(),
    ]
    for nm, a, b, r in par.resistors:
        lines.append(f"{nm} {a} {b} {_val(r)}")
    for nm, a, b, c in par.capacitors:
        lines.append(f"{nm} {a} {b} {_val(c)}")
    for inst in ex.netlist.instances:
        dev = kit.devices[inst.model]
        nodes = []
        for t in dev.terminals:
            n = par.device_nodes.get(inst.name, {}).get(t)
            nodes.append(n if n is not None else _safe(inst.pins[t]))
        params = " ".join(f"{k}={_val(float(v))}" for k, v in inst.params.items())
        lines.append(f"X{_safe(inst.name)} {' '.join(nodes)} {inst.model} {params}".rstrip())
    lines.append(f".ends {top}")
    return "\n".join(lines) + "\n"


def standin_library(kit) -> str:
    """Behavioural stand-ins for every device of ``kit`` (NOT device models).

    For a smoke simulation of the wiring deck only: resistors are resistors
    of their ``r``, capacitors capacitors of their ``c`` (pF kits: ``c``
    times 1e-12), transistors and diodes a 1 kohm main path with 1 Gohm
    to their other terminals, pads and vias a 1 Gohm leak to ground,
    inductors a 1 mohm path.  Every parameter of the kit's device is
    declared so the ``X`` lines' parameters are accepted.
    """
    out = [f"* behavioural stand-ins for the devices of {kit.name} {kit.version} -- not device models"]
    for model, dev in kit.devices.items():
        t = list(dev.terminals)
        params = " ".join(f"{k}={_val(p.default * (1e-6 if p.unit == 'um' else 1.0))}" for k, p in dev.params.items())
        out.append(f".subckt {model} {' '.join(t)} {params}".rstrip())
        kind = dev.kind
        if kind == "resistor" and "r" in dev.params:
            out.append(f"R1 {t[0]} {t[1]} {{max(r, 1e-3)}}")
        elif kind == "capacitor" and "c" in dev.params:
            scale = "1e-12*" if dev.params["c"].unit == "" else ""
            out.append(f"C1 {t[0]} {t[1]} {{{scale}c}}")
            out.append(f"R1 {t[0]} {t[1]} 1e12")
        elif kind == "inductor":
            out.append(f"R1 {t[0]} {t[1]} 1e-3")
        elif len(t) >= 2:
            main = ("d", "s") if {"d", "s"} <= set(t) else (t[0], t[1])
            out.append(f"R1 {main[0]} {main[1]} 1k")
            for k, other in enumerate(x for x in t if x not in main):
                out.append(f"R{k + 2} {other} {main[1]} 1e9")
        else:
            out.append(f"R1 {t[0]} 0 1e9")
        out.append(f".ends {model}")
    return "\n".join(out) + "\n"


def write_postlayout_spice(ex: Extraction, path: str | Path, par: Parasitics | None = None) -> Parasitics:
    """Write :func:`postlayout_spice` to ``path`` atomically; returns the parasitics."""
    par = par or parasitics(ex)
    atomic_write_text(Path(path), postlayout_spice(ex, par))
    return par
