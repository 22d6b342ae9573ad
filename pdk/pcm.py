"""Process-control monitors (PCMs) and reticle furniture, generated from kit data.

Every kit gets them, with no kit-specific code: the generators read the
kit's rules (widths, spacings, notches, holes, enclosures), its routing stack
(``[pdk.routing]``), its resistor devices (``kind = "resistor"`` with
``lvs.sheet`` naming the layer whose ``sheet_ohm`` they measure) and its pad
device (``pad_model``), and draw with the kit's own device generators where a
device exists, so the structures inherit the devices' sign-off.

Structures (all dimensions in um, snapped to the kit grid):

* :func:`tlm_ladder` -- transfer-length-method ladder per resistor device:
  the resistor at one width and 3-5 body lengths in series between probe
  pads; ``R(L) = 2 Rc + Rsh L / w`` gives the contact and sheet resistance.
* :func:`vdp_cross` -- van der Pauw (Greek) cross of a resistor's sheet
  layer, contacted at the four arm ends with the resistor's own heads.
* :func:`comb_serpentine` -- per routing metal: two interdigitated combs
  (shorts) and a serpentine (opens) at the layer's minimum width and spacing.
* :func:`seal_ring` -- the kit's seal-ring device, or a generic ring of every
  routing metal joined by via fences when the kit has none.
* :func:`alignment_mark` -- a cross per routing metal.
* :func:`text_label` -- text as polygons on the top routing metal, sized so
  strokes, gaps and glyph holes meet that layer's rules.

Every generator returns a :class:`PcmCell`: a gdstk cell, its bounding box
(dbu) and the probe pads (name -> rect, dbu) where there are any.  Cell
names derive from the kit and parameters, so the same call gives the same
cell.

Example
-------
>>> import pdk
>>> kit = pdk.load("gan650")
>>> sorted(c.cell.name for c in kit_pcms(kit))[:2]
['PCM_COMB_MET1', 'PCM_COMB_MET2']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import gdstk
import numpy as np

from flow.errors import InputError
from pdk.base import generate
from pdk.schema import PDK

Rect = tuple[int, int, int, int]

#: Body lengths (um) tried for the TLM ladder; at least three must fit the
#: resistor's parameter ranges.
TLM_LENGTHS_UM = (10.0, 20.0, 40.0, 80.0, 160.0)
#: Characters the label font draws clean at any size (the zero's slash is
#: trimmed, see :func:`text_label`); others are drawn as "_".
LABEL_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. "


@dataclass
class PcmCell:
    """A generated structure: ``cell``, ``bbox`` (dbu) and probe ``pads``."""

    cell: gdstk.Cell
    bbox: Rect
    pads: dict[str, Rect] = field(default_factory=dict)
    doc: str = ""

    @property
    def width(self) -> int:
        return self.bbox[2] - self.bbox[0]

    @property
    def height(self) -> int:
        return self.bbox[3] - self.bbox[1]


class _Draw:
    """Polygons on named layers in dbu, plus references to device cells."""

    def __init__(self, kit: PDK, name: str):
        self.kit = kit
        self.cell = gdstk.Cell(name)
        self.pads: dict[str, Rect] = {}

    def rect(self, layer: str, x0: int, y0: int, x1: int, y1: int) -> None:
        lay = self.kit.layer(layer)
        a, b = sorted((x0, x1))
        c, d = sorted((y0, y1))
        if a == b or c == d:
            raise ValueError(f"degenerate rectangle on {layer}")
        u = self.kit.dbu_um
        self.cell.add(gdstk.rectangle((a * u, c * u), (b * u, d * u), layer=lay.gds[0], datatype=lay.gds[1]))

    def poly(self, gds: tuple[int, int], pts: np.ndarray) -> None:
        self.cell.add(gdstk.Polygon(pts * self.kit.dbu_um, layer=gds[0], datatype=gds[1]))

    def ref(self, cell: gdstk.Cell, x: int, y: int) -> None:
        self.cell.add(gdstk.Reference(cell, (x * self.kit.dbu_um, y * self.kit.dbu_um)))

    def pad(self, name: str, x: int, y: int) -> Rect:
        """Place the kit's pad with its lower-left corner at (x, y)."""
        dc = generate(self.kit, _pad_model(self.kit))
        self.ref(dc.cell, x - dc.bbox[0], y - dc.bbox[1])
        r = (x, y, x + dc.width, y + dc.height)
        self.pads[name] = r
        return r

    def build(self, doc: str = "") -> PcmCell:
        bb = self.cell.bounding_box()
        if bb is None:
            raise ValueError(f"{self.cell.name}: empty cell")
        (x0, y0), (x1, y1) = bb
        d = self.kit.dbu
        return PcmCell(self.cell, (d(x0), d(y0), d(x1), d(y1)), dict(self.pads), doc)


# ------------------------------------------------------------- kit data ----
def _rule_max(kit: PDK, kinds: tuple[str, ...], layer: str) -> float:
    vals = [r.value for r in kit.rules if r.kind in kinds and r.layer == layer and r.other in (None, layer)]
    return max(vals, default=0.0)


def line_rules(kit: PDK, layer: str) -> tuple[int, int]:
    """(width, spacing) in dbu for lines on ``layer``: the largest width rule,
    and the largest spacing or notch rule (a serpentine's facing edges are a
    notch of one polygon)."""
    w = kit.dbu(max(_rule_max(kit, ("width",), layer), kit.dbu_um))
    s = kit.dbu(max(_rule_max(kit, ("spacing", "notch"), layer), kit.dbu_um))
    return w, s


def clearance(kit: PDK) -> int:
    """Clearance (dbu) kept between unrelated structures: twice the kit's
    largest spacing rule, at least 20 um, rounded up to a whole micron."""
    sp = max((r.value for r in kit.rules if r.kind in ("spacing", "notch")), default=0.0)
    return kit.dbu(math.ceil(max(20.0, 2 * sp)))  # whole microns: placement stays on a 1 um grid


def _pad_model(kit: PDK) -> str:
    if kit.pad_model:
        return kit.pad_model
    pads = [m for m, d in kit.devices.items() if d.kind == "pad"]
    if not pads:
        raise InputError(f"PDK {kit.name}: no pad device (kind = \"pad\") for probe pads")
    return pads[0]


def resistor_models(kit: PDK) -> list[tuple[str, str]]:
    """(model, sheet layer) of every resistor device whose sheet layer has a
    ``sheet_ohm``, in kit order."""
    out = []
    for m, d in kit.devices.items():
        sheet = d.lvs.sheet if d.lvs is not None else None
        if d.kind == "resistor" and sheet in kit.layers and kit.layers[sheet].sheet_ohm and {"r", "w"} <= set(d.params):
            out.append((m, sheet))
    return out


def _metal_pin(dc, terminal: str, kit: PDK):
    pins = [p for p in dc.pins_of(terminal) if p.layer in kit.routing_metals]
    if not pins:
        raise InputError(f"{dc.model}: terminal {terminal} has no pin on a routing metal")
    return pins[0]


def _resistor(kit: PDK, model: str, sheet: str, length_um: float, w_um: float):
    rsh = kit.layers[sheet].sheet_ohm
    spec = kit.device(model).params["r"]
    r = float(f"{rsh * length_um / w_um:.6g}")
    if not spec.min <= r <= spec.max:
        return None
    try:
        return generate(kit, model, {"r": r, "w": w_um})
    except InputError:
        return None


# ------------------------------------------------------------------ TLM ----
def tlm_ladder(kit: PDK, model: str, sheet: str) -> PcmCell | None:
    """TLM ladder of resistor ``model``: resistors of one width (the
    device's default) and increasing body length in series between probe
    pads; pad k and k+1 measure resistor k::

        [P0]     [P1]     [P2]     [P3]       probe pads (kit pad device)
         |________|  |_____|  |_______|        MET wires
          [=R 10=]  [==R 20==] [===R 40===]    resistors, lengths in um

    Returns ``None`` when fewer than three lengths fit the device's ranges.
    """
    w_um = kit.device(model).params["w"].default
    devs = [(L, dc) for L in TLM_LENGTHS_UM if (dc := _resistor(kit, model, sheet, L, w_um)) is not None]
    devs = devs[:4]
    if len(devs) < 3:
        return None
    c = clearance(kit)
    pad = generate(kit, _pad_model(kit))
    P = pad.width
    pitch = max(P + c, max(dc.width for _, dc in devs) + c)
    h = max(dc.height for _, dc in devs)
    pin0 = _metal_pin(devs[0][1], "p", kit)
    ww = min(pin0.rect[2] - pin0.rect[0], pin0.rect[3] - pin0.rect[1], kit.dbu(20.0))
    y_w = h + c
    y_pad = y_w + ww + c
    name = f"PCM_TLM_{model.upper()}"
    g = _Draw(kit, name)
    for k in range(len(devs) + 1):
        g.pad(f"P{k}", k * pitch, y_pad)
    for i, (L, dc) in enumerate(devs):
        cx = i * pitch + P // 2 + pitch // 2
        x = cx - dc.width // 2 - dc.bbox[0]
        y = -dc.bbox[1]
        g.ref(dc.cell, x, y)
        for term, k in (("p", i), ("n", i + 1)):
            pin = _metal_pin(dc, term, kit)
            px0, py0, px1 = pin.rect[0] + x, pin.rect[1] + y, pin.rect[2] + x
            pc = k * pitch + P // 2
            g.rect(pin.layer, px0, py0, px1, y_w + ww)  # up from the pin
            g.rect(pin.layer, min(px0, pc - ww // 2), y_w, max(px1, pc + ww // 2), y_w + ww)  # across
            g.rect(pin.layer, pc - ww // 2, y_w, pc + ww // 2, y_pad + ww)  # up into the pad
    lengths = ", ".join(f"{L:g}" for L, _ in devs)
    return g.build(f"TLM ladder of {model} on {sheet} ({kit.layers[sheet].sheet_ohm:g} ohm/sq), w = {w_um:g} um, L = {lengths} um")


# ---------------------------------------------------------- van der Pauw ---
def _flat(cell: gdstk.Cell, kit: PDK) -> list[tuple[tuple[int, int], np.ndarray]]:
    d = 1.0 / kit.dbu_um
    return [((p.layer, p.datatype), np.rint(p.points * d).astype(np.int64)) for p in cell.get_polygons()]


def vdp_cross(kit: PDK, model: str, sheet: str) -> PcmCell | None:
    """Van der Pauw cross of ``sheet`` contacted with resistor ``model``'s heads.

    The resistor is generated straight and cut at its middle; the half with
    the ``p`` head is drawn four times, turned by 0, 90, 180 and 270 degrees
    about the cut's centre, so the four half-bodies form a Greek cross of the
    device's default width and each arm ends in a real contact head, wired
    to a probe pad (pinwheel)::

                   [P1]
            [P0]    |
             |     =H=
             H=====+=====H
                   =H=    |
                    |    [P2]
                   [P3]

    Returns ``None`` when no straight resistor of the needed length fits.
    """
    dev = kit.device(model)
    w_um = dev.params["w"].default
    c = clearance(kit)
    pad = generate(kit, _pad_model(kit))
    P = pad.width
    length = 2 * max(3 * w_um, 20.0)
    for _ in range(8):
        dc = _resistor(kit, model, sheet, length, w_um)
        if dc is None:
            return None
        pin = _metal_pin(dc, "p", kit)
        sheet_polys = [pts for gds, pts in _flat(dc.cell, kit) if gds == kit.layers[sheet].gds]
        ys = np.concatenate([p[:, 1] for p in sheet_polys])
        if ys.max() - ys.min() > dc.height:  # folded body: not a straight strip
            return None
        xmid = (dc.bbox[0] + dc.bbox[2]) // 2
        # the body's centre line: the sheet layer where the cut crosses it
        probe = gdstk.rectangle((xmid - 1, int(ys.min()) - 1), (xmid + 1, int(ys.max()) + 1))
        cut = gdstk.boolean([gdstk.Polygon(p.astype(float)) for p in sheet_polys], probe, "and")
        if not cut:
            return None
        (_, by0), (_, by1) = gdstk.Cell("probe").add(*cut).bounding_box()
        ymid = int(round((by0 + by1) / 2))
        E = xmid - dc.bbox[0]
        hh = max(ymid - dc.bbox[1], dc.bbox[3] - ymid)
        pw = pin.rect[2] - pin.rect[0]
        need = P // 2 + hh + c + pw
        if E >= need:
            break
        length += 2 * kit.um(need - E) + 1.0
    else:
        return None
    # the p half, moved so the cross centre is the origin
    half: list[tuple[tuple[int, int], np.ndarray]] = []
    for gds, pts in _flat(dc.cell, kit):
        lay = next((l for l in kit.layers.values() if l.gds == gds), None)
        if lay is not None and lay.purpose == "marker":
            continue  # resistor markers would mark the cross as a device body
        poly = gdstk.Polygon(pts.astype(float))
        left = gdstk.slice(poly, float(xmid), "x")[0]
        for q in left:
            half.append((gds, np.rint(q.points).astype(np.int64) - np.array([xmid, ymid])))
    prect = (pin.rect[0] - xmid, pin.rect[1] - ymid, pin.rect[2] - xmid, pin.rect[3] - ymid)

    def rot(pts: np.ndarray, k: int) -> np.ndarray:
        for _ in range(k):
            pts = np.stack([-pts[:, 1], pts[:, 0]], axis=1)
        return pts

    def rot_rect(r: Rect, k: int) -> Rect:
        pts = rot(np.array([[r[0], r[1]], [r[2], r[3]]]), k)
        return (int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()), int(pts[:, 1].max()))

    g = _Draw(kit, f"PCM_VDP_{model.upper()}")
    # arm 0 points -x; its pad sits above its pin (then the pinwheel turns)
    px0, py0, px1, py1 = prect
    pc = (px0 + px1) // 2
    pad0 = (pc - P // 2, hh + c, pc - P // 2 + P, hh + c + P)
    wire0 = (px0, py0, px1, pad0[1] + pw)
    for k in range(4):
        for gds, pts in half:
            g.poly(gds, rot(pts, k))
        r = rot_rect(pad0, k)
        g.pad(f"P{k}", r[0], r[1])
        g.rect(pin.layer, *rot_rect(wire0, k))
    rsh = kit.layers[sheet].sheet_ohm
    return g.build(f"van der Pauw cross of {sheet} ({rsh:g} ohm/sq nominal), arm width {w_um:g} um, {model} contact heads")


# ------------------------------------------------------ comb/serpentine ----
def comb_serpentine(kit: PDK, layer: str, height_um: float = 100.0) -> PcmCell:
    """Shorts and opens monitor for routing metal ``layer`` at its minimum
    width ``w`` and spacing ``s`` (spacing or notch rule, whichever is
    larger)::

        [A]   [B]   [S1]  [S2]       probe pads
        |=====  |   |_   _|
        | =====|    | |_| |  ...     A-B: interdigitated combs (shorts)
        |=====  |                    S1-S2: serpentine (opens)

    A-B must read open (no short between the combs); S1-S2 must read the
    serpentine's ``Rsh * length / w`` (no open).
    """
    w, s = line_rules(kit, layer)
    c = clearance(kit)
    pad = generate(kit, _pad_model(kit))
    P = pad.width
    pitch = P + c
    Hc = max(kit.dbu(height_um), 4 * (w + s))
    nf = max(1, (Hc + s) // (2 * (w + s)))
    Hc = nf * 2 * (w + s) - s
    y_pad = Hc + c
    g = _Draw(kit, f"PCM_COMB_{layer}")
    for k, name in enumerate(("A", "B", "S1", "S2")):
        g.pad(name, k * pitch, y_pad)
    # combs under pads A and B
    Wc = pitch + P
    g.rect(layer, 0, 0, w, y_pad + w)  # spine A, up into pad A
    g.rect(layer, Wc - w, 0, Wc, y_pad + w)  # spine B, up into pad B
    for k in range(nf):
        y = k * 2 * (w + s)
        g.rect(layer, w, y, Wc - w - s, y + w)  # finger of A
        g.rect(layer, w + s, y + w + s, Wc - w, y + 2 * w + s)  # finger of B
    # serpentine under pads S1 and S2
    x0 = 2 * pitch
    m = (pitch + P + s) // (w + s)
    m -= m % 2
    if m < 2:
        raise InputError(f"{layer}: pads too small for a serpentine")
    for j in range(m):
        x = x0 + j * (w + s)
        top = y_pad + w if j in (0, m - 1) else Hc
        g.rect(layer, x, 0, x + w, top)
        if j < m - 1:
            yb = 0 if j % 2 == 0 else Hc - w
            g.rect(layer, x, yb, x + 2 * w + s, yb + w)
    length = kit.um(m * Hc + (m - 1) * (w + s))
    return g.build(f"{layer} combs (A-B shorts, {nf} finger pairs) and serpentine (S1-S2 opens, {length:g} um long) at w = {kit.um(w):g} um, s = {kit.um(s):g} um")


# -------------------------------------------------------------- furniture --
def seal_ring(kit: PDK, w_um: float, h_um: float, width_um: float | None = None) -> PcmCell:
    """A seal ring whose outer edge is a ``w_um`` x ``h_um`` rectangle at (0, 0).

    The kit's own seal-ring device (kind ``sealring``) when it has one;
    otherwise a band of every routing metal joined by two staggered fences
    of minimum cuts on every routing cut layer.
    """
    ring_dev = [m for m, d in kit.devices.items() if d.kind == "sealring"]
    if ring_dev:
        m = ring_dev[0]
        params = {"w": w_um, "h": h_um}
        if width_um is not None:
            params["width"] = width_um
        dc = generate(kit, m, params)
        return PcmCell(dc.cell, dc.bbox, {}, f"{m} device of {kit.name}")
    b = kit.dbu(width_um if width_um is not None else 20.0)
    W, H = kit.dbu(w_um), kit.dbu(h_um)
    g = _Draw(kit, f"SEALRING_{kit.name}_{kit.dbu(w_um)}x{kit.dbu(h_um)}_{b}")

    def ring(layer: str, o: int, t: int) -> None:
        g.rect(layer, o, o, W - o, o + t)
        g.rect(layer, o, H - o - t, W - o, H - o)
        g.rect(layer, o, o + t, o + t, H - o - t)
        g.rect(layer, W - o - t, o + t, W - o, H - o - t)

    for metal in kit.routing_metals:
        ring(metal, 0, b)
    stack = list(kit.routing)
    for i, cut in enumerate(stack):
        if cut not in kit.routing_cuts:
            continue
        below, above = stack[i - 1], stack[i + 1]
        v = kit.dbu(kit.min_width(cut))
        sp = kit.dbu(kit.min_spacing(cut))
        en = kit.dbu(max(kit.enclosure(below, cut), kit.enclosure(above, cut)))
        if 2 * en + 2 * v + sp > b:
            raise InputError(f"PDK {kit.name}: a {kit.um(b):g} um seal ring is too narrow for two {cut} fences")
        pitch = v + sp
        for o in (en, b - en - v):  # outer and inner fence, offset by half a pitch
            shift = 0 if o == en else pitch // 2
            for y in (o, H - o - v):
                for x in range(o + shift, W - o - v + 1, pitch):
                    g.rect(cut, x, y, x + v, y + v)
            for x in (o, W - o - v):
                for y in range(o + pitch + shift, H - o - v - pitch + 1, pitch):
                    g.rect(cut, x, y, x + v, y + v)
    return g.build(f"generic seal ring of {kit.name}")


def alignment_mark(kit: PDK, arm_um: float = 100.0) -> PcmCell:
    """One cross per routing metal, side by side (arm ``arm_um`` long, 10
    minimum widths wide): the stepper's and the metal layers' alignment."""
    c = clearance(kit)
    L = kit.dbu(arm_um)
    g = _Draw(kit, f"ALIGN_{kit.name}")
    x = 0
    for metal in kit.routing_metals:
        w, _ = line_rules(kit, metal)
        a = max(10 * w, kit.dbu(5.0))
        g.rect(metal, x, L // 2 - a // 2, x + L, L // 2 - a // 2 + a)
        g.rect(metal, x + L // 2 - a // 2, 0, x + L // 2 - a // 2 + a, L)
        x += L + c
    return g.build("alignment crosses on " + ", ".join(kit.routing_metals))


def label_layer(kit: PDK) -> str:
    """The layer die labels are drawn on: the top routing metal."""
    return kit.routing_metals[-1]


def text_label(kit: PDK, text: str, name: str) -> PcmCell:
    """``text`` as polygons on :func:`label_layer`, sized from its rules:
    the font's stroke (size / 16) is at least the layer's width, spacing and
    notch rules, and its smallest glyph hole (2 x 2 strokes) meets the hole
    rule.  Characters outside :data:`LABEL_SAFE` are drawn as ``_``."""
    layer = label_layer(kit)
    w, s = line_rules(kit, layer)
    hole = _rule_max(kit, ("hole",), layer)
    stroke = max(w, s, kit.dbu(math.sqrt(hole) / 2) if hole else 0)
    stroke = kit.dbu(math.ceil(kit.um(stroke) - 1e-9))  # whole um
    size = 16 * kit.um(stroke)
    shown = "".join(ch if ch in LABEL_SAFE else "_" for ch in text)
    g = _Draw(kit, name)
    gds = kit.layers[layer].gds
    polys = list(gdstk.text(shown.replace("0", " "), size, (0, 0)))
    # the font's zero has a pixel slash whose middle pixel touches its
    # neighbours only at corners: drop that pixel (the two ticks left on the
    # walls still tell 0 from O)
    adv = size * 9 / 16  # the font is monospaced
    for i, ch in enumerate(shown):
        if ch == "0":
            polys += [p for p in gdstk.text("0", size, (i * adv, 0)) if abs(p.area() - (size / 16) ** 2) > 1e-9]
    for p in polys:
        g.poly(gds, np.rint(p.points / kit.dbu_um).astype(np.int64))
    return g.build(f"label '{shown}' on {layer}, {size:g} um high")


def kit_pcms(kit: PDK, skipped: list[str] | None = None) -> list[PcmCell]:
    """Every PCM the kit's data allows: a TLM ladder and a van der Pauw cross
    per resistor device, a comb/serpentine per routing metal.

    A structure the kit cannot make (no pad device, no resistor length that
    fits, ...) is left out and, when ``skipped`` is given, named there with
    the reason."""
    out: list[PcmCell] = []
    jobs = [(f"PCM_{kind}_{model.upper()}", gen, (kit, model, sheet)) for model, sheet in resistor_models(kit) for kind, gen in (("TLM", tlm_ladder), ("VDP", vdp_cross))]
    jobs += [(f"PCM_COMB_{metal}", comb_serpentine, (kit, metal)) for metal in kit.routing_metals]
    for name, gen, args in jobs:
        try:
            pc = gen(*args)
        except (InputError, ValueError) as e:
            pc, why = None, str(e)
        else:
            why = "no straight body of a usable length fits the device's parameter ranges"
        if pc is not None:
            out.append(pc)
        elif skipped is not None:
            skipped.append(f"{name}: {why}")
    return out
