"""Circuit extraction from a layout alone (the GDS, never the flow's data).

Interface (stable; the comparison and the reports build on it)::

    extract(library_or_path, kit, top=None) -> Extraction
    write_spice(extraction, path)

How it works
------------
1. **Shapes.**  The top cell is flattened (:mod:`flow.geometry.gdsio`).  The
   kit's ``[pdk.lvs] derived`` layers are computed from layer expressions
   (``"ACTIVE - POLY"``), and where a marker layer is a net tie
   (``net_tie = "MET1"``) its conductor is cut away under the marker, so
   the two terminals it joins inside a device stay two nets.
2. **Nets.**  :func:`flow.drc.nets.extract_nets` traces the kit's
   ``[pdk.connectivity]`` plus the ``[pdk.lvs] connect`` entries; text
   labels name nets, unlabelled nets get ``$LAYER(x,y)`` names.
3. **Devices.**  Every device model with an ``[devices.<model>.lvs]`` table
   is recognised by its *method* (see ``docs/pdk-authoring.md``):

   ``fet`` / ``diode``
       each polygon of ``recognize`` (e.g. ``GATE & MESA & PGAN``) is a
       finger; ``contacts`` polygons beside it (along the axis across the
       finger, inside the same ``group`` polygon) are its source and drain,
       the nearer one being the source; the ``gate`` conductor under it
       gives the gate net.  Fingers on one ``group`` polygon with the same
       gate, source and drain nets are one device (``nf`` fingers, ``w`` the
       sum of finger widths).  ``tie``: a net-tie marker touching the
       device's source metal gives the tie terminal (Kelvin source).
       ``absorb``: shapes of that layer on the source net near the device
       belong to it (a HEMT's own backside vias).
   ``resistor``
       each ``recognize`` polygon is a body between two ``contacts``;
       ``R = sheet_ohm * squares``: a straight body counts
       ``L / w`` (``L`` between the contacts' inner edges), a folded body
       ``A / w^2 - (1 - corner_squares) * bends`` with ``w`` from the
       body's area and perimeter.
   ``capacitor``
       each ``recognize`` polygon is a plate overlap: ``C = area * per_um2``.
   ``pad`` / ``gsg``
       each ``recognize`` polygon (a passivation opening) is a pad on the
       ``net`` metal under it; ``gsg``: a signal pad midway between two
       ground pads (pads with ``ground`` shapes under them) of one net.
   ``via``
       ``recognize`` shapes (backside vias) not absorbed by another device,
       clustered by net and distance (``cluster_um``).
   ``inductor``
       each ``recognize`` polygon (spiral metal) with its ``contacts``
       (inductor vias): outer and inner end; turns, width, spacing and inner
       opening from the crossings of the horizontal line through its middle.

Models sharing a recognition (``hemte`` and ``hemtek``) are tried in
``priority`` order; a model with ``tie`` only takes devices with a tie.

Parameters are returned in the units the SPICE reader gives for the
netlist: lengths (kit unit ``um``) in metres, ohms, farads, counts; a kit
parameter without unit keeps the kit's value (ganrf025's ``mim`` ``c`` in pF).

Complexity: one box join per layer pair for nets (O(n log n)); device
recognition is one boolean per expression and one box join per device family.

Example
-------
>>> import gdstk, pdk
>>> from pdk.base import generate
>>> kit = pdk.load("gan650")
>>> lib = gdstk.Library(unit=1e-6, precision=1e-9)
>>> top = lib.new_cell("TOP")
>>> cell = generate(kit, "hemte", {"w": 100, "nf": 4, "lgd": 3}).cell
>>> _ = lib.add(cell)
>>> _ = top.add(gdstk.Reference(cell))
>>> ex = extract(lib, kit)
>>> [(i.model, i.params["nf"], round(i.params["w"] * 1e6, 3)) for i in ex.netlist.instances]
[('hemte', 4, 100.0)]
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import gdstk
import numpy as np

from flow.drc.nets import Nets, box_pairs, boxes_of, extract_nets, point_in_polygon
from flow.errors import InputError
from flow.fileio import atomic_write_text
from flow.geometry.gdsio import LayoutShapes, read_gds, shapes_from_library
from flow.netlist.model import Instance, Netlist
from pdk.schema import PDK, Device, DeviceLvs, Layer

_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|[&|()\-])")
#: Half-length (um) of the window along a finger's axis in which ``reach``
#: looks for field plates.
_REACH_WINDOW_UM = 100.0
_METHOD_ORDER = ("fet", "diode", "gsg", "pad", "resistor", "capacitor", "inductor", "via", "none")
_OPS = {"&": "and", "|": "or", "-": "not"}


@dataclass(frozen=True)
class Extraction:
    """The circuit found in a layout.

    Attributes
    ----------
    netlist
        Devices as :class:`~flow.netlist.model.Instance`: ``model`` is the
        PDK device model, ``pins`` terminal -> net name, ``params`` measured
        values in SI units as the SPICE reader gives them (metres, ohms,
        farads, counts; a kit parameter without unit, e.g. ganrf025's
        ``mim`` ``c`` in pF, keeps the kit's unit).  ``ports`` are the nets
        of the kit's pad devices, sorted.
    net_locations
        net -> ``(layer, x_um, y_um)`` points on its conductors (label
        points first, then one vertex per layer the net uses), for reports.
    device_locations
        instance -> bounding box ``(x0, y0, x1, y1)`` in um of its
        recognition shapes.
    labels
        label text -> ``(layer, x_um, y_um)`` places where it was found.
    unlabelled_nets
        Nets with a generated name (``$LAYER(x,y)``, see
        :func:`flow.drc.nets.generated_name`): no text label reached them.
    measured
        model -> names of the parameters the extractor measured (others are
        not checked, never guessed).
    tolerances
        model -> parameter -> relative tolerance from the PDK.
    swappable
        model -> groups of interchangeable terminals (e.g. ``(("p", "n"),)``).
    notes
        Problems met (a label on no shape, a resistor body without two
        contacts ...), one line each.
    terminal_points
        instance -> terminal -> ``(layer, x_um, y_um)``: a point where the
        terminal meets its net's conductor (a contact, the gate over the
        channel, the pad opening); parasitic extraction attaches the device
        there.
    aliases
        net -> every label text found on it, when there are several (a
        short between labelled nets: the net is named by the first).
    kit
        The PDK extracted with.
    """

    netlist: Netlist
    net_locations: Mapping[str, tuple[tuple[str, float, float], ...]]
    device_locations: Mapping[str, tuple[float, float, float, float]]
    labels: Mapping[str, tuple[tuple[str, float, float], ...]]
    unlabelled_nets: frozenset[str] = frozenset()
    measured: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    tolerances: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: MappingProxyType({}))
    swappable: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=lambda: MappingProxyType({}))
    notes: tuple[str, ...] = ()
    terminal_points: Mapping[str, Mapping[str, tuple[str, float, float]]] = field(default_factory=lambda: MappingProxyType({}))
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    kit: PDK | None = field(default=None, compare=False, repr=False)
    nets: Nets | None = field(default=None, compare=False, repr=False)
    shapes: LayoutShapes | None = field(default=None, compare=False, repr=False)


# ---------------------------------------------------------------------------
# geometry helpers (dbu, int64 arrays)
# ---------------------------------------------------------------------------


def _gp(polys: Sequence[np.ndarray]) -> list[gdstk.Polygon]:
    return [gdstk.Polygon(np.asarray(p, np.float64)) for p in polys]


def _ints(gps: Sequence[gdstk.Polygon]) -> list[np.ndarray]:
    out = []
    for g in gps:
        q = np.rint(g.points).astype(np.int64)
        if len(q) >= 3 and abs(g.area()) > 0:
            out.append(q)
    return out


def boolean(a: Sequence[np.ndarray], b: Sequence[np.ndarray], op: str) -> list[np.ndarray]:
    """``op`` ("and", "or", "not") of two polygon lists (dbu); merged output."""
    if op == "and" and (not len(a) or not len(b)):
        return []
    if op == "not" and not len(a):
        return []
    if op == "not" and not len(b):
        op, b = "or", []
    return _ints(gdstk.boolean(_gp(a), _gp(b), op, precision=1.0))


def _area(p: np.ndarray) -> float:
    x, y = p[:, 0].astype(np.float64), p[:, 1].astype(np.float64)
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def inside_point(p: np.ndarray) -> np.ndarray:
    """A point strictly inside polygon ``p`` (dbu, float): its box centre when
    that is inside, else the middle of an edge nudged inwards."""
    lo, hi = p.min(axis=0), p.max(axis=0)
    c = (lo + hi) / 2.0
    if point_in_polygon(c[None, :], p)[0]:
        return c
    sign = 1.0 if _area(p) > 0 else -1.0
    q = np.roll(p, -1, axis=0)
    for a, b in zip(p.astype(np.float64), q.astype(np.float64)):
        d = b - a
        n = np.hypot(*d)
        if n < 2:
            continue
        m = (a + b) / 2 + sign * np.array([-d[1], d[0]]) / n * 0.5
        if point_in_polygon(m[None, :], p)[0]:
            return m
    return p[0].astype(np.float64)


def _bbox(p: np.ndarray) -> tuple[int, int, int, int]:
    return int(p[:, 0].min()), int(p[:, 1].min()), int(p[:, 0].max()), int(p[:, 1].max())


def _touching(a: Sequence[np.ndarray], b: Sequence[np.ndarray], *, closed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of polygons of ``a`` and ``b`` that overlap (``closed``:
    or touch); exact for rectangles, by boolean otherwise."""
    if not len(a) or not len(b):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ba, bb = boxes_of(a), boxes_of(b)
    i, j = box_pairs(ba, bb, closed=closed)
    keep = np.ones(len(i), bool)
    for k, (x, y) in enumerate(zip(i.tolist(), j.tolist())):
        p, q = a[x], b[y]
        if len(p) == 4 and len(q) == 4 and _is_rect(p) and _is_rect(q):
            continue
        if boolean([p], [q], "and"):
            continue
        keep[k] = closed and bool(point_in_polygon(p, q).any() or point_in_polygon(q, p).any())
    return i[keep], j[keep]


def _is_rect(p: np.ndarray) -> bool:
    d = np.roll(p, -1, axis=0) - p
    return len(p) == 4 and bool(np.all((d[:, 0] == 0) | (d[:, 1] == 0)))


def trace_layout(shapes: LayoutShapes, kit: PDK):
    """The layout's nets exactly as extraction traces them (net ties cut,
    the kit's ``[pdk.lvs]`` derived layers and extra connections, backside
    conductors as nets of their own), with the connectivity used: returns
    ``(nets, connect)``. Tools that locate LVS findings use this so a piece
    there is a net here."""
    ctx = _Ctx(shapes, kit)
    return ctx.nets, ctx.xkit.connect


# ---------------------------------------------------------------------------
# the extraction context: layers, expressions, nets
# ---------------------------------------------------------------------------


class _Ctx:
    def __init__(self, shapes: LayoutShapes, kit: PDK):
        self.kit = kit
        self.raw = shapes
        self.cache: dict[str, list[np.ndarray]] = {}
        self.notes: list[str] = []
        lvs = kit.lvs
        derived = dict(lvs.derived) if lvs else {}
        polys = {n: list(v) for n, v in shapes.polygons.items()}
        # net ties: cut the tied conductor under the marker
        for name, lay in kit.layers.items():
            if lay.net_tie and polys.get(name) and polys.get(lay.net_tie):
                marks, cond = polys[name], polys[lay.net_tie]
                i, j = box_pairs(boxes_of(cond), boxes_of(marks), closed=False)
                hit = sorted(set(i.tolist()))
                if hit:
                    kept = [p for k, p in enumerate(cond) if k not in set(hit)]
                    cut = boolean([cond[k] for k in hit], marks, "not")
                    polys[lay.net_tie] = kept + cut
        self.polys = polys
        for name, expr in derived.items():
            polys[name] = self.expr(expr)
        layers = dict(kit.layers)
        for k, name in enumerate(derived):
            layers[name] = Layer(name=name, gds=(65535, k), purpose="device", doc=f"derived: {derived[name]}")
        self.xkit = dataclasses.replace(
            kit, layers=MappingProxyType(layers), connect=tuple(kit.connect) + tuple(lvs.connect if lvs else ())
        )
        xshapes = LayoutShapes(
            polygons=MappingProxyType(polys), labels=shapes.labels, top=shapes.top, dbu_um=shapes.dbu_um
        )
        # backside conductors (a vertical device's drain) are nets of their own
        extra = {d.lvs.backside for d in kit.devices.values() if d.lvs and d.lvs.backside}
        self.nets = extract_nets(xshapes, self.xkit, sorted(extra))
        self.claimed: dict[str, set[int]] = {}

    # -- layers -------------------------------------------------------------
    def layer(self, name: str) -> list[np.ndarray]:
        """Polygons of a kit or derived layer (as drawn / as computed)."""
        if name not in self.polys:
            raise InputError(f"{self.kit.name}: LVS names layer '{name}', which the kit lacks")
        return self.polys[name]

    def expr(self, text: str) -> list[np.ndarray]:
        """Evaluate a layer expression, left to right; merged polygons."""
        if text in self.cache:
            return self.cache[text]
        tokens = []
        pos = 0
        s = text.rstrip()
        while pos < len(s):
            m = _TOKEN.match(s, pos)
            if not m:
                raise InputError(f"{self.kit.name}: bad layer expression {text!r}")
            tokens.append(m.group(1))
            pos = m.end()
        k = 0

        def term() -> list[np.ndarray]:
            nonlocal k
            t = tokens[k]
            k += 1
            if t == "(":
                v = run()
                k += 1  # ')'
                return v
            return boolean(self.layer(t), [], "or")

        def run() -> list[np.ndarray]:
            nonlocal k
            v = term()
            while k < len(tokens) and tokens[k] in _OPS:
                op = _OPS[tokens[k]]
                k += 1
                v = boolean(v, term(), op)
            return v

        out = run()
        self.cache[text] = out
        return out

    def is_net_layer(self, name: str) -> bool:
        return name in self.nets.comp

    # -- nets ---------------------------------------------------------------
    def net_at(self, layer: str, point: np.ndarray) -> int:
        """Net index of the ``layer`` conductor at ``point`` (-1: none)."""
        if layer not in self.nets.comp:
            return -1
        k = int(self.nets.locate(layer, np.asarray(point, np.float64)[None, :])[0])
        return int(self.nets.comp[layer][k]) if k >= 0 else -1

    def net_under(self, layer: str, poly: np.ndarray) -> int:
        """Net of the ``layer`` conductor under polygon ``poly``: at an inside
        point, else any ``layer`` polygon overlapping it."""
        n = self.net_at(layer, inside_point(poly))
        if n >= 0 or layer not in self.nets.comp:
            return n
        cand = self.nets.polygons[layer]
        i, j = _touching([poly], cand, closed=False)
        return int(self.nets.comp[layer][j[0]]) if len(j) else -1

    def name(self, net: int) -> str:
        return self.nets.name(net)

    def um(self, v: float) -> float:
        return self.kit.um(v)


# ---------------------------------------------------------------------------
# devices found (before naming)
# ---------------------------------------------------------------------------


@dataclass
class _Found:
    model: str
    pins: dict[str, int]  # terminal -> net index
    params: dict[str, float]  # measured, in the kit's units (um, ohm, ...)
    bbox: tuple[int, int, int, int]
    sym: tuple[str, ...] = ()  # terminals whose order the geometry cannot tell
    #: terminal -> (layer, x, y) dbu: where the terminal meets its net's conductor
    points: dict[str, tuple[str, float, float]] = field(default_factory=dict)


def _union_box(boxes: Sequence[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    b = np.asarray(boxes)
    return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())


# -- fet / diode --------------------------------------------------------------


@dataclass
class _Finger:
    poly: np.ndarray
    box: tuple[int, int, int, int]
    group: int
    gate: int
    axis: int  # 0: current along x, 1: along y
    sides: tuple[int, int]  # net left/below, right/above (-1 none)
    gaps: tuple[float, float]  # gap to the contact on each side (dbu)
    width: float
    length: float
    side_pts: tuple[Any, Any] = (None, None)  # point on each side's contact (dbu)


def _fingers(ctx: _Ctx, lv: DeviceLvs) -> list[_Finger]:
    chans = ctx.expr(lv.recognize)
    if not chans:
        return []
    groups = ctx.expr(lv.group) if lv.group else []
    contacts = ctx.layer(lv.contacts) if lv.contacts and lv.contacts in ctx.polys and ctx.is_net_layer(lv.contacts) else (
        ctx.expr(lv.contacts) if lv.contacts else []
    )
    cbox = boxes_of(contacts) if contacts else np.zeros((0, 4), np.int64)
    cnet = np.array([_contact_net(ctx, lv, c) for c in contacts], np.int64)
    gi, gj = _touching(chans, groups, closed=False) if groups else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    group_of = np.full(len(chans), -1, np.int64)
    group_of[gi] = gj
    gbox = boxes_of(groups) if groups else np.zeros((0, 4), np.int64)
    out: list[_Finger] = []
    for k, ch in enumerate(chans):
        x0, y0, x1, y1 = _bbox(ch)
        g = int(group_of[k])
        if g >= 0:
            gb = gbox[g]
            inside = (cbox[:, 0] >= gb[0]) & (cbox[:, 2] <= gb[2]) & (cbox[:, 1] >= gb[1]) & (cbox[:, 3] <= gb[3])
        else:
            inside = np.ones(len(cbox), bool)
        best: tuple[int, list[tuple[int, float]]] | None = None
        for axis in (0, 1):
            a0, a1 = (x0, x1) if axis == 0 else (y0, y1)
            b0, b1 = (y0, y1) if axis == 0 else (x0, x1)
            c_a0, c_a1 = cbox[:, axis], cbox[:, axis + 2]
            c_b0, c_b1 = cbox[:, 1 - axis], cbox[:, 3 - axis]
            over = inside & (np.minimum(c_b1, b1) - np.maximum(c_b0, b0) > 0)
            found: list[tuple[int, float]] = []
            lo = np.nonzero(over & (c_a1 <= a0))[0]
            hi = np.nonzero(over & (c_a0 >= a1))[0]
            if len(lo):
                j = lo[np.argmax(c_a1[lo])]
                found.append((int(cnet[j]), float(a0 - c_a1[j]), int(j)))
            else:
                found.append((-1, float("inf"), -1))
            if len(hi):
                j = hi[np.argmin(c_a0[hi])]
                found.append((int(cnet[j]), float(c_a0[j] - a1), int(j)))
            else:
                found.append((-1, float("inf"), -1))
            nfound = sum(1 for n, _, _ in found if n >= 0)
            if best is None or nfound > best[0]:
                best = (nfound, found, axis)  # type: ignore[assignment]
        assert best is not None
        _, found, axis = best  # type: ignore[misc]
        along = (x1 - x0) if axis == 0 else (y1 - y0)
        area = abs(_area(ch))
        gate = ctx.net_under(lv.gate, ch) if lv.gate else -1
        out.append(
            _Finger(
                ch, (x0, y0, x1, y1), g, gate, axis,
                (found[0][0], found[1][0]), (found[0][1], found[1][1]),
                area / along if along else 0.0, float(along),
                tuple(inside_point(contacts[j]) if j >= 0 else None for _, _, j in found),  # type: ignore[arg-type]
            )
        )
    return out


def _contact_net(ctx: _Ctx, lv: DeviceLvs, c: np.ndarray) -> int:
    if lv.contact_net:
        return ctx.net_under(lv.contact_net, c)
    if lv.contacts and ctx.is_net_layer(lv.contacts):
        return ctx.net_under(lv.contacts, c)
    return -1


def _side_measure(ctx: _Ctx, f: _Finger, drain_side: int, layer: str, kind: str, ref: str | None) -> float:
    """``gap``: distance from the finger's drain-side edge to the nearest
    ``layer`` shape beyond it; ``reach``: how far ``layer`` shapes over the
    finger extend beyond its drain-side edge (or ``ref``'s), 0 if none."""
    polys = ctx.expr(layer)
    if not polys:
        return float("nan") if kind == "gap" else 0.0
    b = boxes_of(polys)
    x0, y0, x1, y1 = f.box
    ax = f.axis
    a0, a1 = (x0, x1) if ax == 0 else (y0, y1)
    b0, b1 = (y0, y1) if ax == 0 else (x0, x1)
    over = np.minimum(b[:, 3 - ax], b1) - np.maximum(b[:, 1 - ax], b0) > 0
    if kind == "gap":
        if drain_side == 1:
            c = np.nonzero(over & (b[:, ax] >= a1))[0]
            return float(b[c, ax].min() - a1) if len(c) else float("nan")
        c = np.nonzero(over & (b[:, ax + 2] <= a0))[0]
        return float(a0 - b[c, ax + 2].max()) if len(c) else float("nan")
    # reach: clip to the finger's band across the axis (merged combs such as
    # a gate bus with its heads fall apart into the finger's own piece)
    span = ctx.kit.dbu(_REACH_WINDOW_UM)
    window = (a0 - span, b0, a1 + span, b1) if ax == 0 else (b0, a0 - span, b1, a1 + span)

    def clip(ps: list[np.ndarray]) -> np.ndarray:
        if not ps:
            return np.zeros((0, 4), np.int64)
        bx = boxes_of(ps)
        sel = (bx[:, 0] < window[2]) & (bx[:, 2] > window[0]) & (bx[:, 1] < window[3]) & (bx[:, 3] > window[1])
        rect = np.array([[window[0], window[1]], [window[2], window[1]], [window[2], window[3]], [window[0], window[3]]], np.int64)
        got = boolean([ps[k] for k in np.nonzero(sel)[0]], [rect], "and")
        if not got:
            return np.zeros((0, 4), np.int64)
        gb = boxes_of(got)
        return gb[(gb[:, ax] < a1) & (gb[:, ax + 2] > a0)]

    hit = clip(polys)
    if not len(hit):
        return 0.0
    edge = a1 if drain_side == 1 else a0
    if ref:
        rb = clip(ctx.expr(ref))
        if len(rb):
            edge = rb[:, ax + 2].max() if drain_side == 1 else rb[:, ax].min()
    if drain_side == 1:
        return max(0.0, float(hit[:, ax + 2].max() - edge))
    return max(0.0, float(edge - hit[:, ax].min()))


def _fet_family(ctx: _Ctx, models: list[tuple[str, Device]]) -> list[_Found]:
    lv = models[0][1].lvs
    assert lv is not None
    fingers = _fingers(ctx, lv)
    diode = lv.method == "diode"
    # orient: source = nearer contact (fet); diode: both sides are cathode
    devs: dict[tuple, list[tuple[_Finger, int]]] = {}
    for f in fingers:
        (na, nb), (ga, gb) = f.sides, f.gaps
        if lv.backside:  # vertical device: both sides are source, the drain is below
            src = [n for n in (na, nb) if n >= 0]
            key = (f.group, f.gate, (src[0] if src else -1, ctx.net_under(lv.backside, f.poly)), "asym")
            devs.setdefault(key, []).append((f, 1 if nb < 0 else 0))
            continue
        if diode:
            key = (f.group, f.gate, tuple(sorted({na, nb})))
            devs.setdefault(key, []).append((f, 1 if gb >= ga else 0))
            continue
        if abs(ga - gb) <= 1:
            pair = tuple(sorted((na, nb), key=lambda n: ctx.name(n)))
            key = (f.group, f.gate, pair, "sym")
            drain = 1 if (na, nb) == pair else 0
        else:
            s, d = (na, nb) if ga < gb else (nb, na)
            key = (f.group, f.gate, (s, d), "asym")
            drain = 1 if ga < gb else 0
        devs.setdefault(key, []).append((f, drain))
    ties = _ties(ctx, lv) if any(d.lvs.tie for _, d in models) else []  # type: ignore[union-attr]
    cands = []
    for key, fl in sorted(devs.items(), key=lambda kv: _union_box([f.box for f, _ in kv[1]])[:2][::-1]):
        fs = [f for f, _ in fl]
        box = _union_box([f.box for f in fs])
        if diode:
            cath = [n for n in key[2] if n >= 0]
            pins = {"anode": key[1], "cathode": cath[0] if cath else -1}
            if len(cath) > 1:
                ctx.notes.append(
                    f"lvs: diode fingers at {_fmt_box(ctx, box)} touch cathodes of {len(cath)} nets ({', '.join(ctx.name(n) for n in cath)})"
                )
            sym: tuple[str, ...] = ()
        else:
            s, d = key[2]
            pins = {"gate": key[1], "source": s, "drain": d}
            sym = ("source", "drain") if key[3] == "sym" else ()
        cands.append((fl, fs, box, pins, sym))
    # each tie marker goes to the nearest device whose source it touches
    tie_of: dict[int, int] = {}
    tie_pt: dict[int, tuple[str, float, float]] = {}
    for a, b, poly, where in ties:
        tb = _bbox(poly)
        best, bd = None, None
        for k, (_, _, box, pins, _) in enumerate(cands):
            if k in tie_of or pins.get("source", -1) not in (a, b):
                continue
            dx = max(0, box[0] - tb[2], tb[0] - box[2])
            dy = max(0, box[1] - tb[3], tb[1] - box[3])
            if bd is None or dx * dx + dy * dy < bd:
                best, bd = k, dx * dx + dy * dy
        if best is not None:
            src = cands[best][3]["source"]
            tie_of[best] = b if a == src else a
            tie_pt[best] = where[tie_of[best]]
    found: list[_Found] = []
    for k, (fl, fs, box, pins, sym) in enumerate(cands):
        # model choice: by priority; a tie model needs a tie marker on its source metal
        chosen = None
        for model, dev in models:
            dl = dev.lvs
            assert dl is not None
            if dl.tie and k not in tie_of:
                continue
            chosen = (model, dev)
            break
        if chosen is None:
            continue
        model, dev = chosen
        dl = dev.lvs
        assert dl is not None
        if dl.tie:
            pins["tie"] = tie_of[k]
        params: dict[str, float] = {}
        absorbed = _absorb(ctx, dl, pins.get("source", -1), box)
        for prm, m in dl.measure.items():
            parts = m.split(":")
            kind = parts[0]
            if kind == "width":
                params[prm] = sum(f.width for f in fs) * ctx.kit.dbu_um
            elif kind == "length":
                params[prm] = float(np.mean([f.length for f in fs])) * ctx.kit.dbu_um
            elif kind == "fingers":
                params[prm] = len(fs) / (int(parts[1]) if len(parts) > 1 else 1)
            elif kind == "finger_width":
                params[prm] = float(np.mean([f.width for f in fs])) * ctx.kit.dbu_um
            elif kind in ("gap", "reach"):
                vals = [_side_measure(ctx, f, dr, parts[1], kind, parts[2] if len(parts) > 2 else None) for f, dr in fl]
                vals = [v for v in vals if v == v]
                if vals:
                    params[prm] = float(np.median(vals)) * ctx.kit.dbu_um
            elif kind in ("ring", "rings"):
                v = _rings(ctx, parts[1], box, kind)
                if v is not None:
                    params[prm] = v * (ctx.kit.dbu_um if kind == "ring" else 1)
            elif kind == "present":
                params[prm] = 1 if absorbed else 0
            elif kind == "count":
                params[prm] = absorbed
        term_pins = {t: pins.get(role, -1) for t, role in dl.terminals.items()}
        symt = tuple(t for t, role in dl.terminals.items() if role in sym)
        f0, dr0 = fl[0]
        clayer = dl.contact_net or dl.contacts or ""
        rpts: dict[str, tuple[str, float, float]] = {}
        if dl.gate:
            q = inside_point(f0.poly)
            rpts["gate" if not diode else "anode"] = (dl.gate, float(q[0]), float(q[1]))
        if dl.backside:
            q = inside_point(f0.poly)
            rpts["drain"] = (dl.backside, float(q[0]), float(q[1]))
        for role, side in (("source", 1 - dr0), ("drain", dr0), ("cathode", 0), ("cathode", 1), ("source", dr0)):
            q = f0.side_pts[side]
            if q is not None and role not in rpts:
                rpts[role] = (clayer, float(q[0]), float(q[1]))
        if "tie" in pins and k in tie_pt:
            rpts["tie"] = tie_pt[k]
        points = {t: rpts[role] for t, role in dl.terminals.items() if role in rpts}
        found.append(_Found(model, term_pins, params, box, symt, points))
    return found


def _rings(ctx: _Ctx, layer: str, box, kind: str) -> float | None:
    """Rings of ``layer`` around a device box: ``ring``, the width (dbu) of
    the innermost one (from its area and outer box: a rectangular band);
    ``rings``, how many there are."""
    polys = ctx.expr(layer)
    around = []
    for p in polys:
        b = _bbox(p)
        if b[0] < box[0] and b[1] < box[1] and b[2] > box[2] and b[3] > box[3]:
            a = abs(_area(p))
            if a < 0.9 * (b[2] - b[0]) * (b[3] - b[1]):  # a band, not a sheet under the device
                around.append((a, b))
    if kind == "rings":
        return float(len(around))
    if not around:
        return None
    a, b = min(around, key=lambda ab: (ab[1][2] - ab[1][0]) * (ab[1][3] - ab[1][1]))
    s = (b[2] - b[0]) + (b[3] - b[1])
    return (s - np.sqrt(max(s * s - 4 * a, 0.0))) / 4


def _fmt_box(ctx: _Ctx, b: Sequence[int]) -> str:
    return f"({ctx.um(b[0]):g}, {ctx.um(b[1]):g})-({ctx.um(b[2]):g}, {ctx.um(b[3]):g}) um"


def _ties(ctx: _Ctx, lv: DeviceLvs) -> list[tuple[int, int, np.ndarray, dict]]:
    """Net-tie markers: (net a, net b, marker polygon, net -> point on its
    conductor) for markers touching exactly two nets of their tied conductor."""
    out = []
    lay = ctx.kit.layers.get(lv.tie or "")
    cond = lay.net_tie if lay else None
    if not lay or not cond:
        return out
    marks = ctx.layer(lay.name)
    cpolys = ctx.nets.polygons.get(cond, [])
    i, j = _touching(marks, cpolys, closed=True)
    by: dict[int, set[int]] = {}
    pts: dict[int, dict[int, tuple[str, float, float]]] = {}
    for a, b in zip(i.tolist(), j.tolist()):
        n = int(ctx.nets.comp[cond][b])
        by.setdefault(a, set()).add(n)
        q = inside_point(cpolys[b])
        pts.setdefault(a, {}).setdefault(n, (cond, float(q[0]), float(q[1])))
    for a, nets in sorted(by.items()):
        if len(nets) == 2:
            x, y = sorted(nets)
            out.append((x, y, marks[a], pts[a]))
        else:
            ctx.notes.append(f"lvs: net-tie marker {lay.name} at {_fmt_box(ctx, _bbox(marks[a]))} touches {len(nets)} nets of {cond}, not 2")
    return out


def _absorb(ctx: _Ctx, lv: DeviceLvs, source: int, box) -> int:
    """Claim ``absorb`` shapes on the source net within ``absorb_um`` of the
    device's box; returns how many."""
    if not lv.absorb or source < 0 or not ctx.is_net_layer(lv.absorb):
        return 0
    polys = ctx.nets.polygons[lv.absorb]
    if not polys:
        return 0
    b = boxes_of(polys)
    m = ctx.kit.dbu(lv.absorb_um)
    near = (b[:, 0] >= box[0] - m) & (b[:, 2] <= box[2] + m) & (b[:, 1] >= box[1] - m) & (b[:, 3] <= box[3] + m)
    near &= ctx.nets.comp[lv.absorb] == source
    taken = ctx.claimed.setdefault(lv.absorb, set())
    idx = [k for k in np.nonzero(near)[0].tolist() if k not in taken]
    taken.update(idx)
    return len(idx)


# -- resistor ---------------------------------------------------------------


def _resistors(ctx: _Ctx, model: str, dev: Device) -> list[_Found]:
    lv = dev.lvs
    assert lv is not None
    bodies = ctx.expr(lv.recognize)
    contacts = ctx.layer(lv.contacts) if lv.contacts in ctx.polys else ctx.expr(lv.contacts or "")
    i, j = _touching(bodies, contacts, closed=True)
    by: dict[int, list[int]] = {}
    for a, b in zip(i.tolist(), j.tolist()):
        by.setdefault(a, []).append(b)
    sheet = ctx.kit.layers[lv.sheet].sheet_ohm if lv.sheet and lv.sheet in ctx.kit.layers else None
    out = []
    for k, body in enumerate(bodies):
        bb = _bbox(body)
        ends = _contact_clusters(ctx, lv, body, [contacts[c] for c in by.get(k, [])])
        if len(ends) != 2:
            ctx.notes.append(f"lvs: {model} body at {_fmt_box(ctx, bb)} has {len(ends)} contacts, not 2; not extracted")
            continue
        (n1, b1, q1), (n2, b2, q2) = ends
        sq, w, length = _squares(body, b1, b2, lv.corner_squares)
        params: dict[str, float] = {}
        for prm, m in lv.measure.items():
            if m == "value" and sheet is not None:
                params[prm] = sheet * sq
            elif m == "width":
                params[prm] = w * ctx.kit.dbu_um
            elif m == "length":
                params[prm] = length * ctx.kit.dbu_um
        roles = list(lv.terminals)
        pins = {roles[0]: n1, roles[1]: n2} if len(roles) == 2 else {}
        points = {roles[0]: q1, roles[1]: q2} if len(roles) == 2 else {}
        out.append(_Found(model, pins, params, bb, tuple(roles), points))
    return out


def _contact_clusters(ctx: _Ctx, lv: DeviceLvs, body: np.ndarray, cs: list[np.ndarray]) -> list[tuple[int, tuple[int, int, int, int], tuple[str, float, float]]]:
    """The resistor's ends: contacts touching the body, grouped when they
    touch each other (a wire landing on a contact pad); (net, box of the
    part over or beside the body) per end."""
    if not cs:
        return []
    parent = list(range(len(cs)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    i, j = _touching(cs, cs, closed=True)
    for a, b in zip(i.tolist(), j.tolist()):
        if a != b:
            parent[find(a)] = find(b)
    groups: dict[int, list[int]] = {}
    for k in range(len(cs)):
        groups.setdefault(find(k), []).append(k)
    out = []
    bb = _bbox(body)
    for members in groups.values():
        # the member overlapping the body most is the contact proper
        def overlap(k: int) -> float:
            got = boolean([cs[k]], [body], "and")
            return sum(abs(_area(g)) for g in got)

        main = max(members, key=lambda k: (overlap(k), -abs(_area(cs[k]))))
        cb = _bbox(cs[main])
        if overlap(main) == 0 and len(members) > 1:
            # all beside the body (adjacent contacts): the one nearest the body
            main = min(members, key=lambda k: _box_gap(_bbox(cs[k]), bb))
            cb = _bbox(cs[main])
        q = inside_point(cs[main])
        out.append((_contact_net(ctx, lv, cs[main]), cb, (lv.contact_net or lv.contacts or "", float(q[0]), float(q[1]))))
    return out


def _box_gap(a, b) -> float:
    dx = max(0, a[0] - b[2], b[0] - a[2])
    dy = max(0, a[1] - b[3], b[1] - a[3])
    return float(np.hypot(dx, dy))


def _squares(body: np.ndarray, c1, c2, corner: float) -> tuple[float, float, float]:
    """(squares, width, length) of a resistor body between contact boxes."""
    if _is_rect(body):
        x0, y0, x1, y1 = _bbox(body)
        dx = abs((c1[0] + c1[2]) - (c2[0] + c2[2]))
        dy = abs((c1[1] + c1[3]) - (c2[1] + c2[3]))
        ax = 0 if dx >= dy else 1
        lo, hi = (c1, c2) if c1[ax] + c1[ax + 2] <= c2[ax] + c2[ax + 2] else (c2, c1)
        length = float(hi[ax] - lo[ax + 2])
        w = float((y1 - y0) if ax == 0 else (x1 - x0))
        return (length / w if w else 0.0), w, length
    # folded body: path of width w, centre-line length L: A = w L, P = 2 L + 2 w
    a = abs(_area(body))
    per = float(np.sum(np.hypot(*(np.roll(body, -1, axis=0) - body).T.astype(np.float64))))
    h = per / 2
    disc = max(h * h - 4 * a, 0.0)
    w = (h - np.sqrt(disc)) / 2
    bends = (len(body) - 4) / 2
    sq = a / (w * w) - (1 - corner) * bends if w else 0.0
    return float(sq), float(w), float(a / w if w else 0.0)


# -- capacitor ---------------------------------------------------------------


def _capacitors(ctx: _Ctx, model: str, dev: Device) -> list[_Found]:
    lv = dev.lvs
    assert lv is not None
    out = []
    roles = {r: t for t, r in lv.terminals.items()}
    for plate in ctx.expr(lv.recognize):
        a_um2 = abs(_area(plate)) * ctx.kit.dbu_um**2
        params = {p: a_um2 * (lv.per_um2 or 0.0) for p, m in lv.measure.items() if m == "value"}
        pins = {
            roles.get("top", "p"): ctx.net_under(lv.top, plate) if lv.top else -1,
            roles.get("bottom", "n"): ctx.net_under(lv.bottom, plate) if lv.bottom else -1,
        }
        q = inside_point(plate)
        points = {roles.get("top", "p"): (lv.top or "", float(q[0]), float(q[1])), roles.get("bottom", "n"): (lv.bottom or "", float(q[0]), float(q[1]))}
        out.append(_Found(model, pins, params, _bbox(plate), (), points))
    return out


# -- pads ---------------------------------------------------------------------


def _pad_info(ctx: _Ctx, lv: DeviceLvs, opening: np.ndarray) -> tuple[int, float, tuple[int, int, int, int]]:
    """(net, size dbu, metal box) of the pad under a passivation opening."""
    pt = inside_point(opening)
    net = ctx.net_at(lv.net or "", pt)
    metal = ctx.nets.polygons.get(lv.net or "", [])
    best = None
    if metal:
        b = boxes_of(metal)
        c = np.nonzero((b[:, 0] <= pt[0]) & (b[:, 2] >= pt[0]) & (b[:, 1] <= pt[1]) & (b[:, 3] >= pt[1]))[0]
        c = [k for k in c.tolist() if point_in_polygon(pt[None, :], metal[k])[0]]
        if c:
            best = min(c, key=lambda k: abs(_area(metal[k])))
    if best is None:
        ob = _bbox(opening)
        return net, float("nan"), ob
    mb = _bbox(metal[best])
    return net, ((mb[2] - mb[0]) + (mb[3] - mb[1])) / 2.0, mb


def _pads(ctx: _Ctx, model: str, dev: Device) -> list[_Found]:
    lv = dev.lvs
    assert lv is not None
    openings = ctx.expr(lv.recognize)
    taken = ctx.claimed.setdefault("pad:" + lv.recognize, set())
    out = []
    for k, o in enumerate(openings):
        if k in taken:
            continue
        taken.add(k)
        net, size, mb = _pad_info(ctx, lv, o)
        params = {p: size * ctx.kit.dbu_um for p, m in lv.measure.items() if m == "size" and size == size}
        t = next(iter(lv.terminals))
        q = inside_point(o)
        out.append(_Found(model, {t: net}, params, mb, (), {t: (lv.net or "", float(q[0]), float(q[1]))}))
    return out


def _gsgs(ctx: _Ctx, model: str, dev: Device) -> list[_Found]:
    lv = dev.lvs
    assert lv is not None
    openings = ctx.expr(lv.recognize)
    taken = ctx.claimed.setdefault("pad:" + lv.recognize, set())
    info = [_pad_info(ctx, lv, o) for o in openings]
    ground_layer = lv.ground or ""
    gpolys = ctx.nets.polygons.get(ground_layer) if ctx.is_net_layer(ground_layer) else ctx.expr(ground_layer)
    gbox = boxes_of(gpolys) if gpolys else np.zeros((0, 4), np.int64)
    under: list[list[int]] = []
    for net, size, mb in info:
        inside = (gbox[:, 0] >= mb[0]) & (gbox[:, 2] <= mb[2]) & (gbox[:, 1] >= mb[1]) & (gbox[:, 3] <= mb[3])
        under.append(np.nonzero(inside)[0].tolist())
    centre = [((mb[0] + mb[2]) / 2, (mb[1] + mb[3]) / 2) for _, _, mb in info]
    roles = {r: t for t, r in lv.terminals.items()}
    out = []
    for s, (snet, ssize, smb) in enumerate(info):
        if under[s] or s in taken:
            continue
        grounds = [g for g in range(len(info)) if under[g] and g not in taken and g != s]
        pair = None
        for a in grounds:
            for b in grounds:
                if a < b and info[a][0] == info[b][0] >= 0:
                    mx = (centre[a][0] + centre[b][0]) / 2 - centre[s][0]
                    my = (centre[a][1] + centre[b][1]) / 2 - centre[s][1]
                    if abs(mx) <= ctx.kit.dbu(1.0) and abs(my) <= ctx.kit.dbu(1.0):
                        pair = (a, b)
        if pair is None:
            continue
        a, b = pair
        taken.update({s, a, b})
        claim = ctx.claimed.setdefault(ground_layer, set())
        claim.update(under[a] + under[b])
        pitch = float(np.hypot(centre[a][0] - centre[s][0], centre[a][1] - centre[s][1]))
        params: dict[str, float] = {}
        for p, m in lv.measure.items():
            if m == "size" and ssize == ssize:
                params[p] = ssize * ctx.kit.dbu_um
            elif m == "pitch":
                params[p] = pitch * ctx.kit.dbu_um
        box = _union_box([smb, info[a][2], info[b][2]])
        qs, qg = inside_point(openings[s]), inside_point(openings[a])
        points = {roles.get("signal", "s"): (lv.net or "", float(qs[0]), float(qs[1])), roles.get("ground", "g"): (lv.net or "", float(qg[0]), float(qg[1]))}
        out.append(_Found(model, {roles.get("signal", "s"): snet, roles.get("ground", "g"): info[a][0]}, params, box, (), points))
    return out


# -- via ---------------------------------------------------------------------


def _vias(ctx: _Ctx, model: str, dev: Device) -> list[_Found]:
    lv = dev.lvs
    assert lv is not None
    name = lv.recognize.strip()
    if not ctx.is_net_layer(name):
        ctx.notes.append(f"lvs: {model}: via layer {name} is not a conductor; not extracted")
        return []
    polys = ctx.nets.polygons[name]
    taken = ctx.claimed.get(name, set())
    idx = [k for k in range(len(polys)) if k not in taken]
    if not idx:
        return []
    b = boxes_of([polys[k] for k in idx])
    net = ctx.nets.comp[name][idx]
    m = ctx.kit.dbu(lv.cluster_um)
    grow = b + np.array([-m, -m, m, m]) // 2 * np.array([1, 1, 1, 1])
    i, j = box_pairs(grow, closed=True)
    same = net[i] == net[j]
    parent = list(range(len(idx)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, c in zip(i[same].tolist(), j[same].tolist()):
        parent[find(a)] = find(c)
    clusters: dict[int, list[int]] = {}
    for k in range(len(idx)):
        clusters.setdefault(find(k), []).append(k)
    t = next(iter(lv.terminals))
    out = []
    for members in clusters.values():
        box = _union_box([tuple(b[k]) for k in members])
        params = {p: len(members) for p, mm in lv.measure.items() if mm == "count"}
        q = inside_point(polys[idx[members[0]]])
        out.append(_Found(model, {t: int(net[members[0]])}, params, box, (), {t: (name, float(q[0]), float(q[1]))}))
    return out


# -- inductor ------------------------------------------------------------------


def _inductors(ctx: _Ctx, model: str, dev: Device) -> list[_Found]:
    lv = dev.lvs
    assert lv is not None
    bodies = ctx.expr(lv.recognize)
    vias = ctx.layer(lv.contacts) if lv.contacts in ctx.polys else ctx.expr(lv.contacts or "")
    i, j = _touching(bodies, vias, closed=False)
    by: dict[int, list[int]] = {}
    for a, b in zip(i.tolist(), j.tolist()):
        by.setdefault(a, []).append(b)
    roles = {r: t for t, r in lv.terminals.items()}
    out = []
    for k, body in enumerate(bodies):
        bb = _bbox(body)
        vs = by.get(k, [])
        yc = (bb[1] + bb[3]) / 2.0
        xs = _crossings(body, yc)
        centre_x = (xs[0][0] + xs[-1][1]) / 2 if xs else (bb[0] + bb[2]) / 2
        # the end vias form two groups (an end may land through an array of
        # vias): the one farthest from the centre is the outer end, the
        # nearest the inner; every via joins the nearer of the two
        pts = {v: inside_point(vias[v]) for v in vs}
        dist = {v: float(np.hypot(*(pts[v] - np.array([centre_x, yc])))) for v in vs}
        groups: list[list[int]] = []
        if len(vs) >= 2:
            far, near = max(vs, key=lambda v: (dist[v], v)), min(vs, key=lambda v: (dist[v], v))
            groups = [[], []]
            for v in vs:
                groups[0 if np.hypot(*(pts[v] - pts[far])) <= np.hypot(*(pts[v] - pts[near])) else 1].append(v)
        if len(vs) < 2 or not all(groups) or any(len({_contact_net(ctx, lv, vias[v]) for v in g}) != 1 for g in groups):
            ctx.notes.append(f"lvs: {model} at {_fmt_box(ctx, bb)} has {len(vs)} end vias, not two ends; not extracted")
            continue
        ends = [far, near]
        nets = [_contact_net(ctx, lv, vias[v]) for v in ends]
        params: dict[str, float] = {}
        n = len(xs) // 2
        if n:
            widths = [b - a for a, b in xs]
            left, right = xs[:n], xs[n:]
            gaps = [left[q + 1][0] - left[q][1] for q in range(n - 1)] + [right[q + 1][0] - right[q][1] for q in range(n - 1)]
            for p, m in lv.measure.items():
                if m == "turns":
                    params[p] = n
                elif m == "width":
                    params[p] = float(np.mean(widths)) * ctx.kit.dbu_um
                elif m == "spacing" and gaps:
                    params[p] = float(np.mean(gaps)) * ctx.kit.dbu_um
                elif m == "inner":
                    params[p] = (right[0][0] - left[-1][1]) * ctx.kit.dbu_um
        qo, qi = inside_point(vias[ends[0]]), inside_point(vias[ends[1]])
        cl = lv.contact_net or lv.contacts or ""
        points = {roles.get("outer", "p"): (cl, float(qo[0]), float(qo[1])), roles.get("inner", "n"): (cl, float(qi[0]), float(qi[1]))}
        out.append(_Found(model, {roles.get("outer", "p"): nets[0], roles.get("inner", "n"): nets[1]}, params, bb, (), points))
    return out


def _crossings(poly: np.ndarray, y: float) -> list[tuple[float, float]]:
    """x intervals where the horizontal line at ``y`` is inside ``poly``."""
    a = poly.astype(np.float64)
    b = np.roll(a, -1, axis=0)
    cross = ((a[:, 1] <= y) & (b[:, 1] > y)) | ((b[:, 1] <= y) & (a[:, 1] > y))
    xs = a[cross, 0] + (y - a[cross, 1]) * (b[cross, 0] - a[cross, 0]) / (b[cross, 1] - a[cross, 1])
    xs = np.sort(xs)
    return [(float(xs[k]), float(xs[k + 1])) for k in range(0, len(xs) - 1, 2)]


# ---------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------


def extract_shapes(shapes: LayoutShapes, kit: PDK) -> Extraction:
    """Extract the circuit of already flattened ``shapes`` (see :func:`extract`)."""
    ctx = _Ctx(shapes, kit)
    with_lvs = [(m, d) for m, d in kit.devices.items() if d.lvs is not None]
    missing = [m for m, d in kit.devices.items() if d.lvs is None]
    if missing:
        ctx.notes.append(f"lvs: kit {kit.name} has no LVS description for {', '.join(missing)}; such devices are not extracted")
    # families: fet/diode models sharing one recognition are tried together
    order = sorted(
        with_lvs, key=lambda md: (-md[1].lvs.priority, _METHOD_ORDER.index(md[1].lvs.method), list(kit.devices).index(md[0]))  # type: ignore[union-attr]
    )
    found: list[_Found] = []
    done: set[str] = set()
    for model, dev in order:
        lv = dev.lvs
        assert lv is not None
        if model in done:
            continue
        if lv.method in ("fet", "diode"):
            sig = (lv.method, lv.recognize, lv.group, lv.gate, lv.contacts)
            fam = [
                (m, d) for m, d in order
                if d.lvs and (d.lvs.method, d.lvs.recognize, d.lvs.group, d.lvs.gate, d.lvs.contacts) == sig
            ]
            done.update(m for m, _ in fam)
            found += _fet_family(ctx, fam)
        elif lv.method == "resistor":
            found += _resistors(ctx, model, dev)
        elif lv.method == "capacitor":
            found += _capacitors(ctx, model, dev)
        elif lv.method == "pad":
            found += _pads(ctx, model, dev)
        elif lv.method == "gsg":
            found += _gsgs(ctx, model, dev)
        elif lv.method == "via":
            found += _vias(ctx, model, dev)
        elif lv.method == "inductor":
            found += _inductors(ctx, model, dev)
        done.add(model)
    return _assemble(ctx, found)


def _si(kit: PDK, model: str, prm: str, v: float) -> float:
    spec = kit.devices[model].params.get(prm)
    if spec is not None and spec.integer:
        return int(round(v))
    if spec is not None and spec.unit == "um":
        return float(f"{v * 1e-6:.9g}")
    return float(f"{v:.9g}")


def _assemble(ctx: _Ctx, found: list[_Found]) -> Extraction:
    kit = ctx.kit
    nets = ctx.nets
    found.sort(key=lambda f: (f.model, f.bbox[1], f.bbox[0]))
    counter: dict[str, int] = {}
    insts: list[Instance] = []
    locs: dict[str, tuple[float, float, float, float]] = {}
    tpoints: dict[str, Mapping[str, tuple[str, float, float]]] = {}
    floating = 0
    for f in found:
        counter[f.model] = counter.get(f.model, 0) + 1
        name = f"X{f.model}_{counter[f.model]}"
        pins: dict[str, str] = {}
        for t in kit.devices[f.model].terminals:
            n = f.pins.get(t, -1)
            if n < 0:
                floating += 1
                pins[t] = f"$nc({name}.{t})"
                ctx.notes.append(f"lvs: {name} ({f.model}) at {_fmt_box(ctx, f.bbox)}: terminal {t} reaches no conductor")
            else:
                pins[t] = nets.name(n)
        params = {p: _si(kit, f.model, p, v) for p, v in f.params.items()}
        insts.append(Instance(name, f.model, pins, params))
        locs[name] = tuple(kit.um(v) for v in f.bbox)  # type: ignore[assignment]
        tpoints[name] = MappingProxyType({t: (lay, kit.um(x), kit.um(y)) for t, (lay, x, y) in f.points.items()})
    ports = sorted({i.pins[t] for i in insts if i.model == kit.pad_model for t in i.pins})
    netlist = Netlist(ctx.raw.top, tuple(insts), tuple(ports))
    # labels and locations
    labels: dict[str, list[tuple[str, float, float]]] = {}
    for layer, labs in ctx.raw.labels.items():
        for text, x, y in labs:
            labels.setdefault(text, []).append((layer, kit.um(x), kit.um(y)))
    used = set(netlist.nets)
    where: dict[str, list[tuple[str, float, float]]] = {}
    for text, places in labels.items():
        if text in used:
            where.setdefault(text, []).extend(places)
    for layer in nets.layers:
        comp = nets.comp[layer]
        if not len(comp):
            continue
        _, first = np.unique(comp, return_index=True)
        for k in first.tolist():
            nm = nets.names[int(comp[k])]
            if nm in used:
                p = nets.polygons[layer][k][0]
                where.setdefault(nm, []).append((layer, kit.um(int(p[0])), kit.um(int(p[1]))))
    measured = {m: tuple(d.lvs.measure) for m, d in kit.devices.items() if d.lvs}
    tols = {m: MappingProxyType(dict(d.lvs.tolerance)) for m, d in kit.devices.items() if d.lvs}
    swaps = {m: d.lvs.swap for m, d in kit.devices.items() if d.lvs and d.lvs.swap}
    return Extraction(
        netlist=netlist,
        net_locations=MappingProxyType({k: tuple(v) for k, v in where.items()}),
        device_locations=MappingProxyType(locs),
        labels=MappingProxyType({k: tuple(v) for k, v in labels.items()}),
        unlabelled_nets=frozenset(n for n in used if n.startswith("$")),
        measured=MappingProxyType(measured),
        tolerances=MappingProxyType(tols),
        swappable=MappingProxyType(swaps),
        notes=tuple(list(nets.notes) + ctx.notes),
        terminal_points=MappingProxyType(tpoints),
        aliases=MappingProxyType({nets.names[k]: al for k, al in enumerate(nets.aliases) if len(al) > 1 and nets.names[k] in used}),
        kit=kit,
        nets=nets,
        shapes=ctx.raw,
    )


def extract(library_or_path: Any, kit: PDK, top: str | None = None) -> Extraction:
    """Extract the circuit of cell ``top`` (or the only top cell).

    Parameters
    ----------
    library_or_path
        A ``gdstk.Library``, a :class:`~flow.geometry.gdsio.LayoutShapes`,
        or a GDS/OASIS file path.
    kit
        The PDK: layers, connectivity and the devices' LVS descriptions.
    top
        Cell to flatten; ``None`` picks the single top-level cell.

    Raises
    ------
    InputError
        Unreadable layout, no or several top cells, bad cell name.
    """
    if isinstance(library_or_path, LayoutShapes):
        shapes = library_or_path
    elif isinstance(library_or_path, gdstk.Library):
        shapes = shapes_from_library(library_or_path, kit, top)
    else:
        shapes = read_gds(library_or_path, kit, top)
    return extract_shapes(shapes, kit)


def spice_text(extraction: Extraction) -> str:
    """The extracted netlist as a SPICE deck (see :func:`write_spice`)."""
    from flow.netlist.spice import write_spice as _write

    if extraction.kit is None:
        raise ValueError("extraction carries no kit")
    head = [f"* extracted from layout cell {extraction.netlist.top} by pilotflow (LVS extraction)"]
    for note in extraction.notes:
        head.append(f"* note: {note}")
    return "\n".join(head) + "\n" + _write(extraction.netlist, extraction.kit)


def write_spice(extraction: Extraction, path: str | os.PathLike[str]) -> None:
    """Write the extracted netlist as SPICE that
    :func:`flow.netlist.spice.read_spice` reads back (``top`` = the cell
    name), atomically."""
    atomic_write_text(Path(path), spice_text(extraction))
