"""Device generators of the sic1200 kit: SiC CMOS, power MOSFETs, poly resistor, pad.

Each generator is a plain function ``gen(kit, *, name, ...) -> DeviceCell``
named by the ``generator`` key of a ``[devices.*]`` table in ``pdk.toml``;
:func:`pdk.base.generate` validates the parameters against the kit's ranges,
names the cell and caches it.  Parameters are in microns and ohms.

Contract with the placer and the router (checked by
``tests/pdk/test_sic1200_devices.py`` against KLayout):

* the cell's bounding box is ``(0, 0, W, H)`` in dbu;
* every front-side pin is a MET1 rectangle of at least :data:`PIN_MIN_UM` x
  :data:`PIN_MIN_UM` (pads also pin their MET2); every MET1/MET2 shape is
  tagged with its terminal;
* transistors and resistors draw no VIA1 and no MET2;
* the one back-side pin, the drain of ``vmos``, is the BACKMET rectangle
  under the whole device: the substrate carries the drain current, front-side
  routing never reaches it (see :func:`vmos`);
* every cell is DRC-clean under all rules of the kit, also next to a copy of
  itself placed :data:`PLACER_HALO_UM` beyond its bounding box.

Geometry is computed in integer database units; the fixed dimensions below
are multiples of 0.5 um, so only the parameters (finger width ``w / nf``,
``l``, ``ldrift``, the resistor body length) put an edge off that grid.

Examples
--------
>>> import pdk
>>> from pdk.base import generate
>>> kit = pdk.load("sic1200")
>>> q = generate(kit, "nmos", {"w": 40, "nf": 2})
>>> sorted({p.terminal for p in q.pins}), q.bbox[:2]
(['d', 'g', 's'], (0, 0))
>>> sorted({p.layer for p in generate(kit, "vmos").pins})
['BACKMET', 'MET1']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flow.errors import InputError, PDKError
from pdk.base import DeviceCell
from pdk.draw import DbuShapes, grow_span
from pdk.rating import pad_paths
from pdk.schema import PDK

#: Smallest front-side pin edge (um): the router needs an 8 um grid point inside a pin.
PIN_MIN_UM = 10.0
#: Clearance (um) the placer keeps around a device's bounding box at least:
#: the largest spacing rule of the layers devices draw (DRIFT, JTE, PASS).
PLACER_HALO_UM = 20.0
#: Free gap (um) between a bus or gate pad and the next structure (>= MET1 spacing).
GAP_UM = 3.0
#: Edge of a gate pad (POLY + CONT + MET1, um).
GATE_PAD_UM = 10.0
#: Height of a POLY gate bus (um).
GATE_BUS_UM = 2.0
#: Poly end cap beyond the active area (um).
POLY_ENDCAP_UM = 2.0
#: Margin (um) of a contact stripe inside the device layer it contacts.
CONT_IN_UM = 1.0
#: nmos/pmos: source/drain diffusion finger width (um); the 2 um contact
#: stripe in its middle keeps 1.5 um from the gates.
MOS_SD_UM = 5.0
#: nmos/pmos: well enclosure of the active areas (um).
WELL_EN_UM = 3.0
#: Implant enclosure of the active area it dopes (um).
IMPLANT_EN_UM = 1.0
#: Smallest finger width (um) of nmos/pmos: a 2 um contact 1 um inside the active.
MOS_WF_MIN_UM = 4.0
#: Power MOSFETs: source finger n+ | p+ | n+ widths (um); one butted contact
#: stripe over all three ties the p-body to the source.
SRC_NPLUS_UM = 2.0
SRC_PPLUS_UM = 3.0
#: lmos: drain n+ finger width (um).
DRAIN_UM = 5.0
#: lmos: poly field-plate overlap onto the drift region (um).
FIELD_PLATE_UM = 2.0
#: Smallest finger width (um) of lmos: the DRIFT marker (finger + 2 x
#: :data:`DRIFT_EN_UM`) must meet DRIFT.W.1.
LMOS_WF_MIN_UM = 10.0
#: DRIFT marker margin around a power device's active area (um).
DRIFT_EN_UM = 5.0
#: vmos: channel length (p-body overlap under the gate, um) and JFET gap
#: between neighbouring p-bodies (um).
VMOS_CHANNEL_UM = 1.0
VMOS_JFET_UM = 3.0
#: vmos: floating guard ring width (um); ring ``i`` keeps
#: ``RING_GAP_UM + i * RING_GAP_STEP_UM`` to the one inside it.
RING_W_UM = 4.0
RING_GAP_UM = 3.0
RING_GAP_STEP_UM = 1.0
#: vmos: n+ channel stopper ring: gap beyond the JTE and width (um).
STOPPER_GAP_UM = 10.0
STOPPER_W_UM = 4.0
#: rpoly: head length along the body (um): a 10 um MET1 pin 1 um inside it.
RES_HEAD_UM = 12.0
#: A resistor body longer than this (um) is folded into a serpentine.
RES_RUN_MAX_UM = 400.0
#: Resistance of a 90-degree corner square of the resistor body, in squares.
CORNER_SQUARES = 0.56

Rect = tuple[int, int, int, int]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _model_of(kit: PDK, generator: str, name: str, **fixed: Any) -> str:
    """The model a generator call draws (several models may share one)."""
    found = [
        m
        for m, d in kit.devices.items()
        if d.generator == generator and all(d.fixed.get(k) == v for k, v in fixed.items())
    ]
    for m in found:
        if name == m or name.startswith(m + "_"):
            return m
    if found:
        return found[0]
    raise PDKError([f"{kit.path}: no device of kit '{kit.name}' uses generator '{generator}' with {fixed}"])


def _gate_pad(kit: PDK, s: DbuShapes, x1: int, y1: int) -> None:
    """Gate pad (POLY + CONT + MET1 pin ``g``) with its upper-right corner at (x1, y1)."""
    d = kit.dbu
    pad = max(d(GATE_PAD_UM), d(PIN_MIN_UM))
    x0, y0 = x1 - pad, y1 - pad
    cin = max(d(kit.enclosure("MET1", "CONT")), d(CONT_IN_UM))
    s.add("POLY", x0, y0, x1, y1)
    s.add("CONT", x0 + cin, y0 + cin, x1 - cin, y1 - cin)
    s.pin("g", "MET1", x0, y0, x1, y1)


def _check_rules(kit: PDK, model: str) -> None:
    """The fixed dimensions above must meet the kit's rules (a forked kit may
    tighten them): fail loudly rather than draw a dirty device."""
    d = kit.dbu
    need = {
        "CONT": d(2.0), "POLY": d(GATE_BUS_UM), "NPLUS": d(SRC_NPLUS_UM), "PPLUS": d(SRC_NPLUS_UM),
    }
    for layer, have in need.items():
        if d(kit.min_width(layer)) > have:
            raise PDKError([f"{kit.path}: {model}: {layer} width rule {kit.min_width(layer):g} um exceeds the generator's {kit.um(have):g} um"])


# ---------------------------------------------------------------------------
# nmos / pmos
# ---------------------------------------------------------------------------


def mos(
    kit: PDK,
    *,
    name: str,
    polarity: str,
    w: float = 20.0,
    l: float = 2.0,  # noqa: E741 -- the gate length's usual name
    nf: int = 1,
) -> DeviceCell:
    """Multi-finger SiC CMOS transistor (nMOS in PWELL or pMOS in NWELL).

    Parameters
    ----------
    kit : PDK
        The sic1200 kit.
    name : str
        Cell name (from :func:`pdk.base.cell_name`).
    polarity : {"n", "p"}
        ``"n"``: PWELL, NPLUS source/drain, PPLUS body tap; ``"p"``: NWELL,
        PPLUS source/drain, NPLUS body tap.
    w : float
        Total gate width (um), split evenly over the fingers; each finger
        (``w / nf``, snapped to the dbu grid) is at least
        :data:`MOS_WF_MIN_UM`, otherwise :class:`~flow.errors.InputError`.
    l : float
        Gate length (um).
    nf : int
        Number of gate fingers.

    Returns
    -------
    DeviceCell
        Terminals ``d``, ``g``, ``s`` (the body is tied to the source).  Pins
        (MET1): the source bus (bottom, over the body tap), the drain bus
        (top), each spanning the active area and :data:`PIN_MIN_UM` high,
        and the gate pad (lower left, :data:`GATE_PAD_UM` square).

    Notes
    -----
    Vertical fingers; source/drain diffusions alternate S D S ... (``nf + 1``
    fingers :data:`MOS_SD_UM` wide with a contact stripe and MET1 each).  The
    poly gates cross the active area and end on a poly bus below it, which
    runs under the source MET1 fingers to the gate pad::

          +--------------------------------+   drain bus (MET1, pin d)
          |    |D|          |D|            |
          +----| |----------| |------------+
             : | | :      : | | :            poly end caps ':'
          +--:-+-+-:------:-+-+-:-----+      ACTIVE (NPLUS for nmos),
          |S : |D| :  S   : |D| :  S  |      S/D fingers with CONT + MET1,
          |  : | | :      : | | :     |      gates ':' (POLY)
          +--:-----:------:-----:-----+
        +-+  :     :      :     :
        |G+==:=====:======:=====:            poly bus under the source fingers
        +-+ |S|          |S|        |S|
            +----------------------------+   source bus (MET1, pin s) over the
            |  [ body tap: ACTIVE+PPLUS ] |  body tap, all inside the PWELL
            +----------------------------+
        ^ gate pad (POLY+CONT+MET1, pin g)
    """
    if polarity not in ("n", "p"):
        raise PDKError([f"{kit.path}: generator 'mos' needs fixed polarity 'n' or 'p', got {polarity!r}"])
    model = _model_of(kit, "mos", name, polarity=polarity)
    _check_rules(kit, model)
    d = kit.dbu
    nf = int(nf)
    if nf < 1:
        raise InputError(f"{model}: nf={nf} must be at least 1")
    wf = round(d(w) / nf)
    lg = d(l)
    wf_min = max(d(MOS_WF_MIN_UM), d(kit.min_width("ACTIVE")), d(kit.min_width("CONT")) + 2 * d(CONT_IN_UM))
    if wf < wf_min:
        nf_max = max(1, int(d(w) // wf_min))
        raise InputError(
            f"{model}: finger width w/nf = {w:g}/{nf} = {kit.um(wf):g} um is below the "
            f"{kit.um(wf_min):g} um minimum; use nf <= {nf_max}"
        )
    if lg < d(kit.min_width("POLY")):
        raise InputError(f"{model}: gate length l={l:g} um is below the POLY width rule")
    well, main, tap = ("PWELL", "NPLUS", "PPLUS") if polarity == "n" else ("NWELL", "PPLUS", "NPLUS")
    pin = d(PIN_MIN_UM)
    gap = max(d(GAP_UM), d(kit.min_spacing("MET1")))
    wsd = d(MOS_SD_UM)
    cw = max(d(2.0), d(kit.min_width("CONT")))
    en_c = d(kit.enclosure("MET1", "CONT"))
    imp = d(IMPLANT_EN_UM)
    cin = d(CONT_IN_UM)
    pad = max(d(GATE_PAD_UM), pin)
    gbus = max(d(GATE_BUS_UM), d(kit.min_width("POLY")))

    # x: gate pad column, then the active area
    xa0 = pad + gap
    pitch = wsd + lg
    xs = [xa0 + k * pitch for k in range(nf + 1)]
    xa1 = xs[-1] + wsd
    # y: source bus (with the body tap under it), poly bus, active, drain bus
    yt0, yt1 = (pin - d(4.0)) // 2, (pin + d(4.0)) // 2  # body tap active, 4 um high
    yg0 = pin + d(2.0)
    yg1 = yg0 + gbus
    ym0 = yg1 + d(2.0)
    ym1 = ym0 + wf
    yd0 = ym1 + max(gap, d(POLY_ENDCAP_UM) + d(1.0))
    yd1 = yd0 + pin

    s = DbuShapes()
    s.add("ACTIVE", xa0, ym0, xa1, ym1)
    s.add(main, xa0 - imp, ym0 - imp, xa1 + imp, ym1 + imp)
    s.add("ACTIVE", xa0, yt0, xa1, yt1)
    s.add(tap, xa0 - imp, yt0 - imp, xa1 + imp, yt1 + imp)
    s.add("CONT", xa0 + cin, yt0 + cin, xa1 - cin, yt1 - cin)
    wen = d(WELL_EN_UM)
    s.add(well, xa0 - wen, yt0 - wen, xa1 + wen, ym1 + wen)
    s.pin("s", "MET1", xa0, 0, xa1, pin)
    s.pin("d", "MET1", xa0, yd0, xa1, yd1)
    c_in = (wsd - cw) // 2
    for k, x in enumerate(xs):
        c = (x + c_in, ym0 + cin, x + c_in + cw, ym1 - cin)
        s.add("CONT", *c)
        if k % 2 == 0:  # source finger: down to the source bus
            s.add("MET1", c[0] - en_c, pin // 2, c[2] + en_c, c[3] + en_c, terminal="s")
        else:  # drain finger: up to the drain bus
            s.add("MET1", c[0] - en_c, c[1] - en_c, c[2] + en_c, yd0 + pin // 2, terminal="d")
    for k in range(nf):
        xg = xs[k] + wsd
        s.add("POLY", xg, yg0, xg + lg, ym1 + d(POLY_ENDCAP_UM))
    s.add("POLY", xa0 - gap, yg0, xs[-1], yg1)  # poly bus
    _gate_pad(kit, s, pad, yg1)
    return s.build(kit, name, model, {"w": w, "l": l, "nf": nf})


# ---------------------------------------------------------------------------
# power MOSFETs
# ---------------------------------------------------------------------------


def _source_finger(kit: PDK, s: DbuShapes, x: int, y0: int, y1: int) -> tuple[int, int]:
    """n+ | p+ | n+ source finger at ``x`` over ``[y0, y1]`` with one butted
    contact stripe over all three; returns the contact's x range."""
    d = kit.dbu
    n, p = d(SRC_NPLUS_UM), d(SRC_PPLUS_UM)
    s.add("NPLUS", x, y0, x + n, y1)
    s.add("PPLUS", x + n, y0, x + n + p, y1)
    s.add("NPLUS", x + n + p, y0, x + 2 * n + p, y1)
    cin = d(CONT_IN_UM)
    s.add("CONT", x + cin, y0 + cin, x + 2 * n + p - cin, y1 - cin)
    return x + cin, x + 2 * n + p - cin


def lmos(
    kit: PDK,
    *,
    name: str,
    w: float = 200.0,
    l: float = 2.0,  # noqa: E741 -- the channel length's usual name
    nf: int = 2,
    ldrift: float = 20.0,
) -> DeviceCell:
    """Lateral 1200 V power MOSFET (RESURF drift region), multi-finger.

    Parameters
    ----------
    kit : PDK
        The sic1200 kit.
    name : str
        Cell name.
    w : float
        Total channel width (um), split evenly over the ``nf`` gate fingers;
        each finger (``w / nf``) is at least :data:`LMOS_WF_MIN_UM`.
    l : float
        Channel length (um): the p-body (PWELL) overlap under the gate.
    nf : int
        Number of gate fingers.
    ldrift : float
        Drift length (um) from the p-body edge to the drain n+; the gate
        poly overlaps its first :data:`FIELD_PLATE_UM` as a field plate.

    Returns
    -------
    DeviceCell
        Terminals ``d``, ``g``, ``s``.  Pins (MET1): the source bus (bottom),
        the drain bus (top), each spanning the device and :data:`PIN_MIN_UM`
        high, and the gate pad (lower left).

    Notes
    -----
    One ACTIVE area holds ``nf + 1`` fingers alternating source, drain,
    source ...  A source finger is n+ | p+ | n+ (:data:`SRC_NPLUS_UM`,
    :data:`SRC_PPLUS_UM`) in a PWELL body stripe reaching ``l`` under the
    gates on both sides, with one butted contact tying body and source.  A
    drain finger is n+ (:data:`DRAIN_UM`).  Between them: channel ``l``,
    drift ``ldrift``; the DRIFT marker covers the whole active area plus
    :data:`DRIFT_EN_UM`.  Buses and gate pad as in :func:`mos`, except that
    drain metal keeps at least ``ldrift`` from source metal everywhere
    (fingers side by side, finger ends to the opposite bus), so the device's
    own MET1 meets the voltage-spacing rules at the voltage its drift length
    is rated for::

         |<-S->|<l>|<--- ldrift --->|<D>|<--- ldrift --->|<l>|<-S->|
         n+p+n+ ===poly===:           n+           :===poly=== n+p+n+
         PWELL-->|                                          |<--PWELL

    Generation is linear in ``nf`` (about ten rectangles per finger).
    """
    model = _model_of(kit, "lmos", name)
    _check_rules(kit, model)
    d = kit.dbu
    nf = int(nf)
    if nf < 1:
        raise InputError(f"{model}: nf={nf} must be at least 1")
    wf = round(d(w) / nf)
    lch, ldr = d(l), d(ldrift)
    den = d(DRIFT_EN_UM)
    wf_min = max(d(LMOS_WF_MIN_UM), d(kit.min_width("DRIFT")) - 2 * den)
    if wf < wf_min:
        nf_max = max(1, int(d(w) // wf_min))
        raise InputError(
            f"{model}: finger width w/nf = {w:g}/{nf} = {kit.um(wf):g} um is below the "
            f"{kit.um(wf_min):g} um minimum; use nf <= {nf_max}"
        )
    fp = d(FIELD_PLATE_UM)
    if ldr < fp + d(kit.min_spacing("NPLUS")):
        raise InputError(f"{model}: ldrift={ldrift:g} um leaves no room between the field plate and the drain")
    pin = d(PIN_MIN_UM)
    gap = max(d(GAP_UM), d(kit.min_spacing("MET1")))
    pad = max(d(GATE_PAD_UM), pin)
    gbus = max(d(GATE_BUS_UM), d(kit.min_width("POLY")))
    ws = 2 * d(SRC_NPLUS_UM) + d(SRC_PPLUS_UM)
    wd = d(DRAIN_UM)
    en_c = d(kit.enclosure("MET1", "CONT"))
    cin = d(CONT_IN_UM)
    endcap = d(POLY_ENDCAP_UM)

    # x: finger left edges
    xa0 = pad + gap + den
    xs: list[int] = []
    x = xa0
    for k in range(nf + 1):
        xs.append(x)
        x += (ws if k % 2 == 0 else wd) + lch + ldr
    xa1 = xs[-1] + (ws if nf % 2 == 0 else wd)
    # y: as mos (no separate body tap), but drain metal keeps ``ldrift``
    # from source metal: the drain fingers' ends from the source bus, the
    # drain bus from the source fingers' ends (the metal gaps hold the drain
    # voltage like the drift region under them)
    yg0 = pin + d(2.0)
    yg1 = yg0 + gbus
    ym0 = max(yg1 + max(d(2.0), d(kit.min_spacing("PWELL"))), pin + ldr - cin + en_c)
    ym1 = ym0 + wf
    yd0 = max(ym1 + max(gap, endcap + d(1.0), d(2.0) + d(1.0)), ym1 - cin + en_c + ldr)
    yd1 = yd0 + pin

    s = DbuShapes()
    s.add("ACTIVE", xa0, ym0, xa1, ym1)
    s.add("DRIFT", xa0 - den, ym0 - den, xa1 + den, ym1 + den)
    s.pin("s", "MET1", xa0, 0, xa1, pin)
    s.pin("d", "MET1", xa0, yd0, xa1, yd1)
    pw = d(2.0)  # PWELL beyond the active area's top and bottom
    gates: list[tuple[int, int]] = []
    for k, x in enumerate(xs):
        if k % 2 == 0:
            c0, c1 = _source_finger(kit, s, x, ym0, ym1)
            s.add("PWELL", x - lch, ym0 - pw, x + ws + lch, ym1 + pw)
            s.add("MET1", c0 - en_c, pin // 2, c1 + en_c, ym1 - cin + en_c, terminal="s")
            if k > 0:
                gates.append((x - lch - fp, x))
            if k < nf:
                gates.append((x + ws, x + ws + lch + fp))
        else:
            s.add("NPLUS", x, ym0, x + wd, ym1)
            c0, c1 = x + (wd - d(2.0)) // 2, x + (wd - d(2.0)) // 2 + d(2.0)
            s.add("CONT", c0, ym0 + cin, c1, ym1 - cin)
            s.add("MET1", c0 - en_c, ym0 + cin - en_c, c1 + en_c, yd0 + pin // 2, terminal="d")
    for g0, g1 in gates:
        s.add("POLY", g0, yg0, g1, ym1 + endcap)
    s.add("POLY", xa0 - den - gap, yg0, max(g1 for _, g1 in gates), yg1)  # poly bus
    _gate_pad(kit, s, xa0 - den - gap, yg1)
    return s.build(kit, name, model, {"w": w, "l": l, "nf": nf, "ldrift": ldrift})


def ring_offsets(kit: PDK, nrings: int) -> list[tuple[int, int]]:
    """Inner and outer offset (dbu) of each floating guard ring from the
    device core: ring ``i`` keeps ``RING_GAP_UM + i * RING_GAP_STEP_UM`` to
    the structure inside it (spacing grows outwards, as the field falls)."""
    d = kit.dbu
    rw = max(d(RING_W_UM), d(kit.min_width("PWELL")))
    out = []
    at = 0
    for i in range(nrings):
        g = max(d(RING_GAP_UM), d(kit.min_spacing("PWELL"))) + i * d(RING_GAP_STEP_UM)
        out.append((at + g, at + g + rw))
        at += g + rw
    return out


def vmos(
    kit: PDK,
    *,
    name: str,
    ncell: int = 8,
    lcell: float = 100.0,
    jte: float = 60.0,
    nrings: int = 3,
) -> DeviceCell:
    """Vertical 1200 V DMOS power MOSFET: stripe cells with edge termination.

    Parameters
    ----------
    kit : PDK
        The sic1200 kit.
    name : str
        Cell name.
    ncell : int
        Number of poly gate stripes; ``ncell + 1`` source stripes flank
        them, so the channel width is ``2 * ncell * lcell``.
    lcell : float
        Stripe length (um).
    jte : float
        Width (um) of the JTE ring around the device core.
    nrings : int
        Floating PWELL guard rings inside the JTE (see :func:`ring_offsets`);
        they must fit in the JTE, otherwise :class:`~flow.errors.InputError`
        names the largest ``nrings`` that does.

    Returns
    -------
    DeviceCell
        Terminals ``d``, ``g``, ``s``.  Pins: ``s`` the MET1 source sheet over
        the whole cell array, ``g`` the MET1 gate pad (lower left), ``d`` the
        BACKMET rectangle under the whole device.

    Notes
    -----
    The drain of a vertical MOSFET is the n+ substrate and its backside
    metal.  The kit models it as a pin on BACKMET (purpose ``pad``), a layer
    outside the routing stack and joined to nothing in the connectivity:
    the flow places and draws it but never routes to it, exactly as the
    die attach, not a front-side wire, carries the drain current.  A design
    gives the drain a net of its own (every vertical device on one die shares
    the substrate, so they all share that net).

    Cell array: source stripes n+ | p+ | n+ with a butted contact in PWELL
    bodies reaching :data:`VMOS_CHANNEL_UM` under the gates; gate stripes of
    poly over the channel and the :data:`VMOS_JFET_UM` JFET gap (exactly
    PWELL.S.1 between bodies); the poly stripes end on a poly bus below the
    array, contacted at the gate pad.  Termination around the core::

        +---------------------------------------+  NPLUS channel stopper
        |  +---------------------------------+  |
        |  | JTE  [ring][ring] [ring]        |  |  floating PWELL rings in
        |  |   +-------------------------+   |  |  the JTE, gaps growing
        |  |   | ||S|| ||S|| ||S|| ||S|| |   |  |  outwards
        |  |   | source sheet (MET1, s)  |   |  |
        |  |   | G+===poly bus=======    |   |  |  BACKMET (pin d) under
        |  |   +-------------------------+   |  |  everything
        |  +---------------------------------+  |
        +---------------------------------------+
    """
    model = _model_of(kit, "vmos", name)
    _check_rules(kit, model)
    d = kit.dbu
    ncell, nrings = int(ncell), int(nrings)
    if ncell < 1:
        raise InputError(f"{model}: ncell={ncell} must be at least 1")
    lc, jt = d(lcell), d(jte)
    if jt < d(kit.min_width("JTE")):
        raise InputError(f"{model}: jte={jte:g} um is below the JTE width rule")
    rings = ring_offsets(kit, nrings)
    if rings and rings[-1][1] > jt - d(RING_GAP_UM):
        fit = 0
        while fit < nrings and ring_offsets(kit, fit + 1)[-1][1] <= jt - d(RING_GAP_UM):
            fit += 1
        raise InputError(f"{model}: {nrings} guard rings do not fit in jte={jte:g} um; use nrings <= {fit}")
    pin = d(PIN_MIN_UM)
    gap = max(d(GAP_UM), d(kit.min_spacing("MET1")))
    pad = max(d(GATE_PAD_UM), pin)
    gbus = max(d(GATE_BUS_UM), d(kit.min_width("POLY")))
    ws = 2 * d(SRC_NPLUS_UM) + d(SRC_PPLUS_UM)
    lch, ljf = d(VMOS_CHANNEL_UM), max(d(VMOS_JFET_UM), d(kit.min_spacing("PWELL")))
    wg = 2 * lch + ljf  # gate stripe
    en_c = d(kit.enclosure("MET1", "CONT"))
    den = d(DRIFT_EN_UM)
    endcap = d(POLY_ENDCAP_UM)
    pw = d(2.0)

    xa0 = pad + gap + den
    xs = [xa0 + k * (ws + wg) for k in range(ncell + 1)]
    xa1 = xs[-1] + ws
    yg0 = 0
    yg1 = yg0 + gbus
    ya0 = yg1 + max(pw, d(kit.min_spacing("PWELL")))
    ya1 = ya0 + lc

    s = DbuShapes()
    s.add("ACTIVE", xa0, ya0, xa1, ya1)
    s.add("DRIFT", xa0 - den, ya0 - den, xa1 + den, ya1 + den)
    for x in xs:
        _source_finger(kit, s, x, ya0, ya1)
        s.add("PWELL", x - lch, ya0 - pw, x + ws + lch, ya1 + pw)
    for k in range(ncell):
        xg = xs[k] + ws
        s.add("POLY", xg, yg0, xg + wg, ya1 + endcap)
    s.add("POLY", xa0 - den - gap, yg0, xs[-1], yg1)  # poly bus
    _gate_pad(kit, s, xa0 - den - gap, yg1)
    cin = d(CONT_IN_UM)
    s.pin("s", "MET1", xa0 + cin - en_c, ya0 + cin - en_c, xa1 - cin + en_c, ya1 - cin + en_c)
    core = s.bbox()
    for r0, r1 in rings:
        s.ring("PWELL", (core[0] - r0, core[1] - r0, core[2] + r0, core[3] + r0), r1 - r0)
    s.ring("JTE", core, jt)
    st0 = jt + d(STOPPER_GAP_UM)
    stw = max(d(STOPPER_W_UM), d(kit.min_width("NPLUS")))
    s.ring("NPLUS", (core[0] - st0, core[1] - st0, core[2] + st0, core[3] + st0), stw)
    outer = s.bbox()
    s.pin("d", "BACKMET", *outer)
    return s.build(kit, name, model, {"ncell": ncell, "lcell": lcell, "jte": jte, "nrings": nrings})


# ---------------------------------------------------------------------------
# poly resistor
# ---------------------------------------------------------------------------


def resistor_layout(kit: PDK, r: float, w: float) -> tuple[int, int, int]:
    """Fold a poly resistor body: ``(runs, run_length, gap)`` in dbu.

    The body is ``runs`` straight runs of ``run_length`` joined by
    ``runs - 1`` U-bends (two corner squares plus a straight piece ``gap``
    long, ``gap`` being the POLY spacing or the MET1 spacing plus two
    contact enclosures, whichever is larger), so in squares::

        r / sheet_ohm = runs * run_length / w + (runs - 1) * (2 * CORNER_SQUARES + gap / w)

    A body up to :data:`RES_RUN_MAX_UM` long stays straight (``runs == 1``).
    """
    rsh = kit.layer("POLY").sheet_ohm
    if rsh is None:
        raise PDKError([f"{kit.path}: layers.POLY.sheet_ohm is needed by the poly resistor"])
    d = kit.dbu
    wd = d(w)
    squares = r / rsh
    length = squares * wd
    runs = max(1, math.ceil(length / d(RES_RUN_MAX_UM) - 1e-9))
    # runs keep the POLY spacing, and the two heads' MET1 pins (side by side
    # when the run count is even) the MET1 spacing
    gap = max(d(kit.min_spacing("POLY")), d(kit.min_spacing("MET1")) + 2 * d(kit.enclosure("MET1", "CONT")))
    bend = 2 * CORNER_SQUARES + gap / wd
    run = round((squares - (runs - 1) * bend) * wd / runs)
    return runs, run, gap


def rpoly(kit: PDK, *, name: str, r: float = 1000.0, w: float = 4.0) -> DeviceCell:
    """n+ poly resistor between two contacted poly heads.

    Parameters
    ----------
    kit : PDK
        The sic1200 kit; the sheet resistance is ``kit.layers["POLY"].sheet_ohm``.
    name : str
        Cell name.
    r : float
        Resistance (ohm) of the body (``R = Rsh * L / w``, ``L`` between the
        heads); head and contact resistance are ignored.
    w : float
        Body width (um); the heads are as wide as the body.

    Returns
    -------
    DeviceCell
        Terminals ``p`` (start head) and ``n`` (end head), each a MET1 pin of
        at least :data:`PIN_MIN_UM` square over the head's contact.  RPOLY
        covers exactly the body.

    Notes
    -----
    Heads are :data:`RES_HEAD_UM` long; their contacts keep RPOLY.S.CONT
    from the body.  Bodies longer than :data:`RES_RUN_MAX_UM` fold into a
    serpentine of equal runs spaced by POLY.S.1, each 90-degree corner
    square counting :data:`CORNER_SQUARES` squares::

        +------+==================+------+
        | p    |   body (RPOLY)   |    n |   POLY; MET1 pins over the heads
        +------+==================+------+

    A body shorter than the POLY width rule raises
    :class:`~flow.errors.InputError` (choose a narrower body).
    """
    model = _model_of(kit, "rpoly", name)
    d = kit.dbu
    wd = d(w)
    if wd < d(kit.min_width("POLY")):
        raise InputError(f"{model}: body width w={w:g} um is below the POLY width rule")
    runs, run, gap = resistor_layout(kit, r, w)
    lmin = d(kit.min_width("POLY"))
    rsh = kit.layer("POLY").sheet_ohm or 1.0
    if run < lmin:
        w_min = kit.um(lmin) * rsh / r  # L = r w / rsh >= lmin
        raise InputError(
            f"{model}: r={r:g} ohm with w={w:g} um needs a {kit.um(run):g} um body, shorter than the "
            f"{kit.um(lmin):g} um POLY width; use w >= {math.ceil(w_min * 2) / 2:g} um"
        )
    if runs > 1 and run < wd:
        raise InputError(f"{model}: r={r:g} ohm with w={w:g} um folds into runs shorter than the body width")
    lc = d(RES_HEAD_UM)
    pin = d(PIN_MIN_UM)
    en_c = d(kit.enclosure("MET1", "CONT"))
    sp_c = d(kit.min_spacing("RPOLY", "CONT"))
    cw = max(d(2.0), d(kit.min_width("CONT")))
    s = DbuShapes()
    xa, xb = 0, run
    ys = [i * (wd + gap) for i in range(runs)]
    for i, y in enumerate(ys):
        s.add("POLY", xa, y, xb, y + wd)
        s.add("RPOLY", xa, y, xb, y + wd)
        if i < runs - 1:
            bx = (xb, xb + wd) if i % 2 == 0 else (xa - wd, xa)
            s.add("POLY", bx[0], y, bx[1], ys[i + 1] + wd)
            s.add("RPOLY", bx[0], y, bx[1], ys[i + 1] + wd)

    def head(term: str, y: int, left: bool, grow: int) -> None:
        # grow: -1 down, +1 up, 0 both ways, for a MET1 pin below PIN_MIN
        x0, x1 = (xa - lc, xa) if left else (xb, xb + lc)
        s.add("POLY", x0, y, x1, y + wd)
        iy = min(d(0.5), (wd - cw) // 2)
        m0x, m1x = (x0 + d(1.0), x1 - max(sp_c, d(1.0)) + en_c) if left else (x0 + max(sp_c, d(1.0)) - en_c, x1 - d(1.0))
        cx0, cx1 = m0x + en_c, m1x - en_c
        c = (cx0, y + iy, cx1, y + wd - iy)
        s.add("CONT", *c)
        m0, m1 = grow_span(c[1] - en_c, c[3] + en_c, pin, grow)
        s.pin(term, "MET1", m0x, m0, m1x, m1)

    last_left = (runs - 1) % 2 == 1
    head("p", ys[0], True, -1 if runs > 1 else 0)
    head("n", ys[-1], last_left, 1 if runs > 1 else 0)
    return s.build(kit, name, model, {"r": r, "w": w})


# ---------------------------------------------------------------------------
# pad
# ---------------------------------------------------------------------------


def pad(kit: PDK, *, name: str, size: float = 100.0) -> DeviceCell:
    """Square bond/probe pad: MET1, a VIA1 array, MET2, PAD marker and a PASS opening.

    Parameters
    ----------
    kit : PDK
        The sic1200 kit.
    name : str
        Cell name.
    size : float
        Pad edge (um) of MET2, MET1 and the PAD marker.

    Returns
    -------
    DeviceCell
        Terminal ``p`` with two pins: the whole MET2 square and the whole MET1
        square.

    Notes
    -----
    VIA1 cuts are VIA1.W.1 squares at VIA1.S.1 spacing, centred, kept the
    MET1/MET2 enclosure inside the pad.  The PASS opening keeps MET2.EN.PASS
    and PAD.EN.PASS inside the pad, or more where needed so that two pads
    :data:`PLACER_HALO_UM` apart still respect PASS.S.1::

        +--------------------------+   MET2 = MET1 = PAD (pins p)
        |  +--------------------+  |
        |  | . . . . . . . . .  |  |   '.' VIA1 array under the whole pad
        |  | . . PASS opening . |  |
        |  +--------------------+  |
        +--------------------------+
    """
    model = _model_of(kit, "pad", name)
    d = kit.dbu
    sz = d(size)
    v = d(kit.min_width("VIA1"))
    sp = d(kit.min_spacing("VIA1"))
    en_v = max(d(kit.enclosure("MET1", "VIA1")), d(kit.enclosure("MET2", "VIA1")))
    halo = d(PLACER_HALO_UM)
    m_pass = max(
        d(kit.enclosure("MET2", "PASS")), d(kit.enclosure("PAD", "PASS")),
        -(-(d(kit.min_spacing("PASS")) - halo) // 2),
    )
    if sz - 2 * m_pass < d(kit.min_width("PASS")) or sz - 2 * en_v < v or sz < d(kit.min_width("PAD")):
        raise InputError(f"{model}: size={size:g} um is too small for the pad opening")
    s = DbuShapes()
    s.pin("p", "MET2", 0, 0, sz, sz)
    s.pin("p", "MET1", 0, 0, sz, sz)
    s.add("PAD", 0, 0, sz, sz)
    inner = sz - 2 * en_v
    n = (inner + sp) // (v + sp)
    x0 = en_v + (inner - (n * v + (n - 1) * sp)) // 2
    vias = []
    for i in range(n):
        for j in range(n):
            x = x0 + i * (v + sp)
            y = x0 + j * (v + sp)
            vias.append(s.add("VIA1", x, y, x + v, y + v))
    s.add("PASS", m_pass, m_pass, sz - m_pass, sz - m_pass)
    s.rate("p", *pad_paths(kit, sz, ("MET2", "MET1"), "VIA1", vias))
    return s.build(kit, name, model, {"size": size})
