"""Device generators of the gan650 kit: HEMTs, Schottky diode, resistors, MIM, pad, seal ring.

Each generator is a plain function ``gen(kit, *, name, ...) -> DeviceCell``
named by the ``generator`` key of a ``[devices.*]`` table in ``pdk.toml``;
:func:`pdk.base.generate` validates the parameters against the kit's ranges,
names the cell and caches it.  Parameters are in microns and ohms.

Contract with the placer and the router (checked by
``tests/pdk/test_gan650_devices.py`` against KLayout):

* the cell's bounding box is ``(0, 0, W, H)`` in dbu;
* every pin of a HEMT or resistor is a MET1 rectangle of at least
  :data:`PIN_MIN_UM` x :data:`PIN_MIN_UM`; every MET1/MET2 shape is tagged
  with its terminal;
* HEMTs, diodes and resistors draw no VIA1 and no MET2 (the MIM capacitor,
  the pad and the seal ring do: their MET2 is tagged with their terminal);
* every cell is DRC-clean under all rules of the kit, also next to a copy of
  itself placed :data:`PLACER_HALO_UM` beyond its bounding box.

Geometry is computed in integer database units and drawn on the 1 nm grid;
the fixed dimensions below are multiples of 0.5 um, so only the parameters
(finger width ``w / nf``, ``l``, ``lgd``, the resistor body length) can put an
edge off the 0.5 um grid.

Examples
--------
>>> import pdk
>>> from pdk.base import generate
>>> kit = pdk.load("gan650")
>>> q = generate(kit, "hemte", {"w": 100, "nf": 4, "lgd": 3})
>>> sorted({p.terminal for p in q.pins}), q.bbox[:2]
(['d', 'g', 's'], (0, 0))
>>> [p.layer for p in generate(kit, "pad", {"size": 60}).pins]
['MET2', 'MET1']
"""

from __future__ import annotations

import math
from typing import Any

from flow.errors import InputError, PDKError
from pdk.base import DeviceCell
from pdk.draw import DbuShapes, finger_straps, grow_span, rate_fingers
from pdk.rating import channel_bound, cuts, metal, pad_paths
from pdk.schema import PDK

#: Smallest pin edge (um): the router needs a 6 um grid point inside a pin.
PIN_MIN_UM = 10.0
#: Clearance (um) the placer keeps around a device's bounding box: the largest
#: spacing rule of the layers devices draw (PASS excepted, see :func:`pad`).
PLACER_HALO_UM = 8.0
#: Gate-to-source distance of the HEMTs (um), raised to the GATE/PGAN to
#: OHMIC spacing rules if those are larger.
LGS_UM = 1.5
#: Width of HEMT source/drain ohmic fingers (um).
OHMIC_FINGER_UM = 4.0
#: Gate overhang beyond the mesa at the drain-bus end of a finger (um).
GATE_EXT_UM = 2.0
#: Width of the GATE-layer bus joining the gate fingers (um).
GATE_BUS_UM = 3.0
#: Edge of the HEMT gate pad (GATE + CONT + MET1, um).
GATE_PAD_UM = 12.0
#: Blocking voltage per um of gate-to-drain distance (V/um) used to size a
#: HEMT's drain-metal clearances from the kit's MET1 voltage_spacing table.
HEMT_V_PER_UM = 50.0
#: Least distance (um) from a source field plate to the drain ohmic.
FP_DRAIN_UM = 2.0
#: Length of the MET1 neck (under NETTIE) tying a Kelvin pin to the source bus (um).
KELVIN_NECK_UM = 3.0
#: Free gap (um) between a bus and the next structure (>= MET1 spacing).
GAP_UM = 3.0
#: Ohmic contact length of the 2DEG resistor, along the current (um).
RES_CONTACT_UM = 10.0
#: A 2DEG resistor body longer than this (um) is folded into a serpentine.
RES_RUN_MAX_UM = 200.0
#: Resistance of a 90-degree corner square of the resistor body, in squares.
CORNER_SQUARES = 0.56
#: Width of a Schottky anode finger (um).
ANODE_FINGER_UM = 4.0
#: Longest straight thin-film resistor body (um).
TFR_MAX_UM = 300.0
#: MIM capacitance per area (fF/um^2) of the thin SiN (about 0.2 um, er 7).
MIM_CPA_FF_UM2 = 0.3
#: MIM dielectric margin beyond the MET2 top plate (um).
MIM_MARGIN_UM = 1.0

Rect = tuple[int, int, int, int]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


#: Rectangles in dbu, shifted to the origin when built (shared with the other kits).
_Shapes = DbuShapes


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


def _spacing(kit: PDK, a: str, b: str) -> float:
    """Two-layer spacing rule between ``a`` and ``b`` (either order), um."""
    return max(kit.min_spacing(a, b), kit.min_spacing(b, a))


def drain_clearance(kit: PDK, lgd: float) -> float:
    """MET1 clearance (um) between a HEMT's drain metal and its other metal.

    The drift length ``lgd`` blocks about ``HEMT_V_PER_UM * lgd`` volts; the
    drain bus and fingers keep the largest MET1 ``voltage_spacing`` of the
    kit for that voltage (0 when the kit has none) from the source and gate
    metal, so a device is clean at its own rating.

    >>> import dataclasses, pdk
    >>> kit = pdk.load("gan650")
    >>> drain_clearance(kit, 15.0), drain_clearance(kit, 3.0)  # MET1.VS.1
    (13.0, 5.0)
    >>> bare = dataclasses.replace(kit, rules=tuple(r for r in kit.rules if r.kind != "voltage_spacing"))
    >>> drain_clearance(bare, 15.0)
    0.0
    """
    volts = HEMT_V_PER_UM * lgd
    return max([r.spacing_for(volts) for r in kit.rules_of("voltage_spacing", "MET1")] + [0.0])


def _cont_in(kit: PDK, r: Rect, inset: int) -> Rect:
    """A CONT inside ohmic ``r``, shrunk by ``inset`` per axis where the
    opening stays at least CONT.W.1 wide."""
    cw = kit.dbu(kit.min_width("CONT"))
    x0, y0, x1, y1 = r
    ix = inset if x1 - x0 - 2 * inset >= cw else 0
    iy = inset if y1 - y0 - 2 * inset >= cw else 0
    return (x0 + ix, y0 + iy, x1 - ix, y1 - iy)


# ---------------------------------------------------------------------------
# HEMT
# ---------------------------------------------------------------------------


def hemt(
    kit: PDK,
    *,
    name: str,
    mode: str,
    w: float = 50.0,
    l: float = 1.0,  # noqa: E741 -- the gate length's usual name
    nf: int = 2,
    lgd: float = 15.0,
    lfp: float = 0.0,
    lgfp: float = 0.0,
    kelvin: bool = False,
    wm2: float = 0.0,
) -> DeviceCell:
    """Multi-finger interdigitated GaN HEMT (e-mode p-GaN gate or d-mode).

    Parameters
    ----------
    kit : PDK
        The gan650 kit.
    name : str
        Cell name (from :func:`pdk.base.cell_name`).
    mode : {"e", "d"}
        ``"e"``: a PGAN stripe under every gate finger (normally-off);
        ``"d"``: Schottky gate straight on the barrier (normally-on).
    w : float
        Total gate width (um), split evenly over the fingers; each finger
        (``w / nf``, snapped to the dbu grid) is at least the MESA width rule
        (4 um), otherwise :class:`~flow.errors.InputError`.
    l : float
        Gate length (um).
    nf : int
        Number of gate fingers.
    lgd : float
        Gate-to-drain distance (um); the gate-to-source distance is fixed at
        :data:`LGS_UM`.
    lfp : float
        Source field plate (SFP) reach beyond the drain-side edge of each
        gate into the drift region (um); 0 draws no SFP.  The SFP covers the
        source ohmic finger and both of its gates and is contacted through
        the source finger's CONT.  At most ``lgd -`` :data:`FP_DRAIN_UM`.
    lgfp : float
        Gate field plate (GFP) reach beyond the drain-side edge of each gate
        (um); 0 draws no GFP.  At most ``lgd -`` the GFP.S.OHMIC rule.
    kelvin : bool
        Add a Kelvin source terminal ``ks``: a MET1 pin at the right end of
        the source bus, tied to it by a MET1 neck under NETTIE (see Notes).
    wm2 : float
        Width (um) of a thick MET2 strap over every source and drain finger
        and its bus, joined to the finger's MET1 by a row of VIA1 along its
        whole length; 0 draws none.  A strap carries the finger's current
        beside its 1 um MET1 (4 um of MET2 at 20 mA/um add 80 mA to the
        20 mA of a 4 um MET1 finger): what a power HEMT needs to pass its
        channel current (see the terminal ratings, :mod:`pdk.rating`).  At
        least the MET2 width rule, and neighbouring straps keep the drain
        metal's voltage clearance; at most 60 % of the finger pitch (MET2
        density).

    Returns
    -------
    DeviceCell
        Terminals ``d``, ``g``, ``s`` (and ``ks``).  Pins (MET1): the source
        bus (bottom), the drain bus (top), each spanning the mesa and
        :data:`PIN_MIN_UM` high, the gate pad (lower left,
        :data:`GATE_PAD_UM` square) and the Kelvin pin (lower right).

    Notes
    -----
    Vertical fingers, ohmics alternate S G D G S ... (``nf + 1`` ohmic
    fingers, :data:`OHMIC_FINGER_UM` wide, with CONT and MET1 on them).  The
    gate fingers cross the mesa completely, so the gate width over the mesa is
    exactly ``w / nf`` per finger.  The GATE-layer gate bus runs under the
    source MET1 fingers outside the mesa (MET1 meets GATE only through CONT)
    and ends in the gate pad::

          +----------------------------------+   drain bus (MET1, pin d)
          |    ||          ||          ||    |
          +----||----------||----------||----+
             : || :      : || :      : || :      gate fingers ':' overhang
          +--:-||-:------:-||-:------:-||-:--+
          |S : |D| :   S : |D| :  .. : |D| : |   MESA, ohmic fingers S/D,
          |  : | | :     : | | :     : | | : |   gate fingers ':' (GATE, and
          +--:-+-+-:-----:-+-+-:-----:-+-+-:-+   PGAN under them for "e")
        +-+  :     :     :     :     :     :
        |G+==:=====:=====:=====:=====:=====:     gate bus (GATE) under the
        +-+  |S|         |S|         |S|         source MET1 fingers
             +-------------------------------+   source bus (MET1, pin s)
        ^ gate pad (GATE+CONT+MET1, pin g)

    Field plates, seen along a finger (x to the right)::

            S ohmic   gate        drain ohmic
          +--------+  |==|                +-----+
          |  CONT  |  |==|======          |     |   GFP: gate + lgfp
          |========|==|==|=============   |     |   SFP: over the source
          +--------+                      +-----+   finger, gates + lfp

    Kelvin source (``kelvin=True``): the gate driver's return must not share
    the source bus with the load current, so ``ks`` is its own terminal and
    its own net in the netlist, joined to ``s`` only inside the device by a
    :data:`KELVIN_NECK_UM` wide MET1 neck at the source bus end, drawn under
    the NETTIE marker::

        ==== source bus (s) ====+--+----+
                                |NT| ks |   NT: neck under NETTIE
                                +--+    |
                                   +----+

    The router treats the neck and the ``ks`` pin as metal of the ``ks``
    net and the bus as metal of ``s``, so the two nets are routed apart; an
    LVS extractor removes MET1 under NETTIE (the device's net tie) before
    tracing nets, and compares ``s`` and ``ks`` as separate pins.

    Generation is linear in ``nf`` (about five rectangles per finger; 100 mm
    of gate, 100 fingers of 1 mm, takes about 20 ms).
    """
    if mode not in ("e", "d"):
        raise PDKError([f"{kit.path}: generator 'hemt' needs fixed mode 'e' or 'd', got {mode!r}"])
    model = _model_of(kit, "hemt", name, mode=mode)
    d = kit.dbu
    nf = int(nf)
    if nf < 1:
        raise InputError(f"{model}: nf={nf} must be at least 1")
    wf = round(d(w) / nf)  # finger width (dbu)
    lg, ld = d(l), d(lgd)
    en_mo = d(kit.enclosure("MESA", "OHMIC"))
    en_c = d(kit.enclosure("MET1", "CONT"))
    wo = max(d(OHMIC_FINGER_UM), d(kit.min_width("OHMIC")), d(kit.min_width("CONT")) + 2 * en_c)
    ls = max(d(LGS_UM), d(_spacing(kit, "GATE", "OHMIC")), d(_spacing(kit, "PGAN", "OHMIC")) if mode == "e" else 0)
    wf_min = max(
        d(kit.min_width("MESA")),
        2 * en_mo + max(d(kit.min_width("OHMIC")), d(kit.min_width("CONT"))),
    )
    if wf < wf_min:
        nf_max = max(1, int(d(w) // wf_min))
        raise InputError(
            f"{model}: finger width w/nf = {w:g}/{nf} = {kit.um(wf):g} um is below the "
            f"{kit.um(wf_min):g} um minimum (MESA width); use nf <= {nf_max}"
        )
    g_o = max(d(_spacing(kit, "GATE", "OHMIC")), d(_spacing(kit, "PGAN", "OHMIC")) if mode == "e" else 0)
    if ld < g_o:
        raise InputError(f"{model}: lgd={lgd:g} um is below the {kit.um(g_o):g} um gate-to-ohmic spacing")
    if lg < d(kit.min_width("GATE")) or (mode == "e" and lg < d(kit.min_width("PGAN"))):
        raise InputError(f"{model}: gate length l={l:g} um is below the GATE/PGAN width rule")
    lf, lgf = d(lfp), d(lgfp)
    if lf and ld - lf < d(FP_DRAIN_UM):
        raise InputError(
            f"{model}: source field plate lfp={lfp:g} um leaves less than {FP_DRAIN_UM:g} um to the drain; "
            f"use lfp <= lgd - {FP_DRAIN_UM:g} = {lgd - FP_DRAIN_UM:g} um"
        )
    gfp_o = d(_spacing(kit, "GFP", "OHMIC"))
    if lgf and ld - lgf < gfp_o:
        raise InputError(
            f"{model}: gate field plate lgfp={lgfp:g} um leaves less than {kit.um(gfp_o):g} um to the drain "
            f"(GFP.S.OHMIC); use lgfp <= {kit.um(ld - gfp_o):g} um"
        )

    pin = d(PIN_MIN_UM)
    gap = max(d(GAP_UM), d(kit.min_spacing("MET1")))
    pad = max(d(GATE_PAD_UM), pin)
    gbus = max(d(GATE_BUS_UM), d(kit.min_width("GATE")))
    pgan_ext = en_mo  # PGAN overhang beyond the mesa edges
    gate_ext = max(d(GATE_EXT_UM), pgan_ext)

    # -- x: gate pad column, then the mesa with its fingers
    xm0 = pad + gap
    pitch = wo + ls + lg + ld
    xo = [xm0 + en_mo + pitch * k for k in range(nf + 1)]  # ohmic finger left edges
    xm1 = xo[-1] + wo + en_mo
    # -- y: source bus, gate bus, mesa, drain bus; the drain metal keeps the
    # voltage clearance of the device's rating from the source metal
    clear = max(gap, d(drain_clearance(kit, lgd)))
    yg0 = pin + d(2.0)
    yg1 = yg0 + gbus
    ym0 = max(yg1 + d(2.0), pin + clear - en_mo)  # drain fingers end en_mo above ym0
    ym1 = ym0 + wf
    yd0 = max(ym1 + max(gap, gate_ext + d(1.0)), ym1 - en_mo + clear)
    yd1 = yd0 + pin

    s = _Shapes()
    s.add("MESA", xm0, ym0, xm1, ym1)
    s.pin("s", "MET1", xm0, 0, xm1, pin)
    s.pin("d", "MET1", xm0, yd0, xm1, yd1)
    fingers: dict[str, list[Rect]] = {"s": [], "d": []}
    conts: dict[str, list[Rect]] = {"s": [], "d": []}
    for k, x in enumerate(xo):
        ohm = (x, ym0 + en_mo, x + wo, ym1 - en_mo)
        c = _cont_in(kit, ohm, en_c)
        s.add("OHMIC", *ohm)
        s.add("CONT", *c)
        t = "s" if k % 2 == 0 else "d"
        conts[t].append(c)
        if t == "s":  # source finger: down to the source bus
            fingers[t].append(s.add("MET1", x, pin // 2, x + wo, c[3] + en_c, terminal="s"))
        else:  # drain finger: up to the drain bus
            fingers[t].append(s.add("MET1", x, c[1] - en_c, x + wo, yd0 + pin // 2, terminal="d"))
    # MET2 straps over the fingers and their buses, VIA1 along them
    straps: dict[str, list[Rect]] = {"s": [], "d": []}
    svias: dict[str, list[Rect]] = {"s": [], "d": []}
    if wm2 > 0:
        ws = d(wm2)
        v = d(kit.min_width("VIA1"))
        vsp = d(kit.min_spacing("VIA1"))
        en_v = max(d(kit.enclosure("MET1", "VIA1")), d(kit.enclosure("MET2", "VIA1")))
        clear2 = max([d(kit.min_spacing("MET2")), d(drain_clearance(kit, lgd))]
                     + [d(r.spacing_for(HEMT_V_PER_UM * lgd)) for r in kit.rules_of("voltage_spacing", "MET2")])
        if ws < max(d(kit.min_width("MET2")), v + 2 * en_v):
            raise InputError(f"{model}: wm2={wm2:g} um is below the MET2 width rule / a VIA1 with its enclosure; use wm2 >= "
                             f"{kit.um(max(d(kit.min_width('MET2')), v + 2 * en_v)):g} um")
        if pitch - ws < clear2 or ws * 10 > pitch * 6:
            top = min(pitch - clear2, pitch * 6 // 10)
            raise InputError(f"{model}: wm2={wm2:g} um leaves neighbouring straps less than {kit.um(clear2):g} um apart "
                             f"or covers more than 60 % of the {kit.um(pitch):g} um finger pitch; use wm2 <= {kit.um(top):g} um")
        straps, svias = finger_straps(s, xo, wo, ws, conts, en_c, pin, yd0, yd1, v, vsp, en_v)
    rate_fingers(s, kit, model, kit.um(wf) * nf, wo, d(wm2), fingers, straps, conts, svias)
    xg_last = 0
    xgs = []
    for k in range(nf):
        xg = xo[k] + wo + (ls if k % 2 == 0 else ld)
        xgs.append(xg)
        s.add("GATE", xg, yg0, xg + lg, ym1 + gate_ext)
        if mode == "e":
            s.add("PGAN", xg, ym0 - pgan_ext, xg + lg, ym1 + pgan_ext)
        if lgf:  # gate field plate toward the drain (right for even k)
            if k % 2 == 0:
                s.add("GFP", xg, ym0, xg + lg + lgf, ym1)
            else:
                s.add("GFP", xg - lgf, ym0, xg + lg, ym1)
        xg_last = xg + lg
    if lf:  # one source field plate per source finger, over its gates
        for k in range(0, nf + 1, 2):
            x0 = xgs[k - 1] - lf if k > 0 else xo[k]
            x1 = xgs[k] + lg + lf if k < nf else xo[k] + wo
            s.add("SFP", x0, ym0, x1, ym1)
    if kelvin:
        neck = max(d(KELVIN_NECK_UM), d(kit.min_spacing("MET1")), d(kit.min_width("MET1")))
        s.add("MET1", xm1, 0, xm1 + neck, pin, terminal="ks")
        s.add("NETTIE", xm1, 0, xm1 + neck, pin)
        s.pin("ks", "MET1", xm1 + neck, 0, xm1 + neck + pin, pin)
        # the gate-drive return crosses the neck along x: its height is the cross-section
        s.rate("ks", metal(kit, "MET1", pin, "Kelvin neck"))
    s.add("GATE", 0, yg0, xg_last, yg1)  # gate bus
    py0 = yg1 - pad
    s.add("GATE", 0, py0, pad, yg1)  # gate pad
    cin = max(en_c, d(1.0))
    gc = s.add("CONT", cin, py0 + cin, pad - cin, yg1 - cin)
    s.pin("g", "MET1", 0, py0, pad, yg1)
    s.rate("g", metal(kit, "MET1", pad, "gate pad"), cuts(kit, "CONT", [gc], "gate pad contact"))
    params: dict[str, Any] = {"w": w, "l": l, "nf": nf, "lgd": lgd}
    declared = kit.device(model).params
    params.update({k: v for k, v in (("lfp", lfp), ("lgfp", lgfp), ("wm2", wm2)) if k in declared})
    return s.build(kit, name, model, params)


# ---------------------------------------------------------------------------
# 2DEG resistor
# ---------------------------------------------------------------------------


def resistor_layout(kit: PDK, r: float, w: float) -> tuple[int, int, int]:
    """Fold a 2DEG resistor body: ``(runs, run_length, gap)`` in dbu.

    The body is ``runs`` straight runs of ``run_length`` joined by
    ``runs - 1`` U-bends (two corner squares plus a straight piece ``gap``
    long, ``gap`` being the MESA spacing), so in squares::

        r / sheet_ohm = runs * run_length / w + (runs - 1) * (2 * CORNER_SQUARES + gap / w)

    A body up to :data:`RES_RUN_MAX_UM` long stays straight (``runs == 1``).
    """
    rsh = kit.layer("MESA").sheet_ohm
    if rsh is None:
        raise PDKError([f"{kit.path}: layers.MESA.sheet_ohm is needed by the 2DEG resistor"])
    d = kit.dbu
    wd = d(w)
    squares = r / rsh
    length = squares * wd
    runs = max(1, math.ceil(length / d(RES_RUN_MAX_UM) - 1e-9))
    gap = d(kit.min_spacing("MESA"))
    bend = 2 * CORNER_SQUARES + gap / wd
    run = round((squares - (runs - 1) * bend) * wd / runs)
    return runs, run, gap


def resistor_2deg(kit: PDK, *, name: str, r: float = 2000.0, w: float = 10.0) -> DeviceCell:
    """2DEG (mesa) resistor between two ohmic contacts.

    Parameters
    ----------
    kit : PDK
        The gan650 kit; the sheet resistance is ``kit.layers["MESA"].sheet_ohm``.
    name : str
        Cell name.
    r : float
        Resistance (ohm) of the body: ``R = Rsh * L / w`` with ``L`` the body
        length between the inner edges of the two ohmic contacts.  Contact
        resistance (including the spreading from the ohmic, which sits
        ``MESA.EN.OHMIC`` inside the body edges) is ignored.
    w : float
        Body (mesa) width (um).

    Returns
    -------
    DeviceCell
        Terminals ``p`` (start contact) and ``n`` (end contact), each a MET1
        pin of at least :data:`PIN_MIN_UM` square over the ohmic contact.
        RESMK covers exactly the body.

    Notes
    -----
    A body longer than :data:`RES_RUN_MAX_UM` becomes a serpentine of equal
    runs spaced by the MESA spacing rule; each 90-degree corner square counts
    :data:`CORNER_SQUARES` squares (see :func:`resistor_layout`)::

        straight:   +----+==================+----+
                    | p  |    body (RESMK)  |  n |     MESA, OHMIC under
                    +----+==================+----+     the MET1 pins

        serpentine (3 runs; runs alternate direction, U-bends at the ends):
                    +======================+----+
                    |        run 3         |  n |
                    +==+===================+----+
                    |  |
                    +==+===================+==+
                       |     run 2         |  |
                    +--+===================+  |
                    | p|     run 1            |
                    +--+======================+

    A body shorter than the OHMIC spacing rule raises
    :class:`~flow.errors.InputError` (choose a wider body).
    """
    model = _model_of(kit, "resistor_2deg", name)
    d = kit.dbu
    wd = d(w)
    en_mo = d(kit.enclosure("MESA", "OHMIC"))
    en_c = d(kit.enclosure("MET1", "CONT"))
    if wd - 2 * en_mo < max(d(kit.min_width("OHMIC")), d(kit.min_width("CONT"))) or wd < d(kit.min_width("MESA")):
        raise InputError(f"{model}: body width w={w:g} um is too narrow for its ohmic contacts")
    runs, run, gap = resistor_layout(kit, r, w)
    lmin = max(d(kit.min_spacing("OHMIC")), d(kit.min_spacing("MET1")))
    if run < lmin:
        rsh = kit.layer("MESA").sheet_ohm or 1.0
        w_min = kit.um(lmin) * rsh / r
        raise InputError(
            f"{model}: r={r:g} ohm with w={w:g} um needs a {kit.um(run):g} um body, shorter than the "
            f"{kit.um(lmin):g} um ohmic spacing; use w >= {math.ceil(w_min * 2) / 2:g} um"
        )
    if runs > 1 and run < wd:
        raise InputError(f"{model}: r={r:g} ohm with w={w:g} um folds into runs shorter than the body width")
    lc = d(RES_CONTACT_UM)
    pin = d(PIN_MIN_UM)
    s = _Shapes()
    xa, xb = 0, run
    ys = [i * (wd + gap) for i in range(runs)]
    for i, y in enumerate(ys):
        s.add("MESA", xa, y, xb, y + wd)
        s.add("RESMK", xa, y, xb, y + wd)
        if i < runs - 1:
            bx = (xb, xb + wd) if i % 2 == 0 else (xa - wd, xa)
            s.add("MESA", bx[0], y, bx[1], ys[i + 1] + wd)
            s.add("RESMK", bx[0], y, bx[1], ys[i + 1] + wd)

    def contact(term: str, y: int, left: bool, grow: int) -> None:
        # grow: -1 down, +1 up, 0 both ways, for a MET1 pin below PIN_MIN
        x0, x1 = (xa - lc, xa) if left else (xb, xb + lc)
        s.add("MESA", x0 - en_mo if left else x0, y, x1 if left else x1 + en_mo, y + wd)
        ohm = (x0, y + en_mo, x1, y + wd - en_mo)
        s.add("OHMIC", *ohm)
        c = _cont_in(kit, ohm, en_c)
        s.add("CONT", *c)
        m0, m1 = grow_span(c[1] - en_c, c[3] + en_c, pin, grow)
        s.pin(term, "MET1", x0, m0, x1, m1)

    last_left = (runs - 1) % 2 == 1
    contact("p", ys[0], True, -1 if runs > 1 else 0)
    contact("n", ys[-1], last_left, 1 if runs > 1 else 0)
    # the saturated 2DEG body bounds the current through both ends
    for t in ("p", "n"):
        s.rate(t, max_ma=channel_bound(kit, model, w))
    return s.build(kit, name, model, {"r": r, "w": w})


# ---------------------------------------------------------------------------
# pad
# ---------------------------------------------------------------------------


def pad(kit: PDK, *, name: str, size: float = 80.0) -> DeviceCell:
    """Square bond/probe pad: MET1, a VIA1 array, MET2 and a PASS opening.

    Parameters
    ----------
    kit : PDK
        The gan650 kit.
    name : str
        Cell name.
    size : float
        Pad edge (um) of MET2 and MET1.

    Returns
    -------
    DeviceCell
        Terminal ``p`` with two pins: the whole MET2 square and the whole MET1
        square.

    Notes
    -----
    VIA1 cuts are VIA1.W.1 squares at VIA1.S.1 spacing, centred, kept the
    MET1/MET2 enclosure inside the pad.  The PASS opening keeps MET2.EN.PASS
    inside MET2, or more where needed so that two pads
    :data:`PLACER_HALO_UM` apart still respect PASS.S.1::

        +--------------------------+   MET2 = MET1 (pins p)
        |  +--------------------+  |
        |  | . . . . . . . . .  |  |   '.' VIA1 array under the whole pad
        |  | . . PASS opening . |  |
        |  | . . . . . . . . .  |  |
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
    m_pass = max(d(kit.enclosure("MET2", "PASS")), -(-(d(kit.min_spacing("PASS")) - halo) // 2))
    if sz - 2 * m_pass < d(kit.min_width("PASS")) or sz - 2 * en_v < v:
        raise InputError(f"{model}: size={size:g} um is too small for the pad opening")
    s = _Shapes()
    s.pin("p", "MET2", 0, 0, sz, sz)
    s.pin("p", "MET1", 0, 0, sz, sz)
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


# ---------------------------------------------------------------------------
# Schottky barrier diode
# ---------------------------------------------------------------------------


def sbd(kit: PDK, *, name: str, w: float = 200.0, nf: int = 2, lac: float = 10.0) -> DeviceCell:
    """Lateral multi-finger Schottky barrier diode on the 2DEG.

    Parameters
    ----------
    kit : PDK
        The gan650 kit.
    name : str
        Cell name.
    w : float
        Total anode width (um): ``nf`` anode fingers of ``w / nf`` each
        (snapped to the dbu grid), at least 4 um.
    nf : int
        Number of anode fingers; there are ``nf + 1`` cathode fingers.
    lac : float
        Anode-to-cathode distance (um), at least ANODE.S.OHMIC.

    Returns
    -------
    DeviceCell
        Terminals ``a`` (anode bus, top) and ``k`` (cathode bus, bottom),
        MET1 pins spanning the mesa, :data:`PIN_MIN_UM` high.

    Notes
    -----
    ``K A K A K`` fingers across one mesa: ohmic cathodes
    (:data:`OHMIC_FINGER_UM` wide) and Schottky anodes
    (:data:`ANODE_FINGER_UM` wide), each with CONT and a MET1 finger;
    cathode MET1 runs down to the cathode bus, anode MET1 up to the anode
    bus::

          +------------------------------+   anode bus (MET1, pin a)
          |     |A|         |A|          |
          +-----| |---------| |----------+
          +-----| |---------| |--------+     MESA
          | |K| |A|   |K|   |A|   |K|  |     lac between A and K
          +-| |-----------------| |----+
            | |       | |       | |
          +------------------------------+   cathode bus (MET1, pin k)
    """
    model = _model_of(kit, "sbd", name)
    d = kit.dbu
    nf = int(nf)
    if nf < 1:
        raise InputError(f"{model}: nf={nf} must be at least 1")
    wf = round(d(w) / nf)
    la = d(lac)
    en_mo = d(kit.enclosure("MESA", "OHMIC"))
    en_ma = d(kit.enclosure("MESA", "ANODE"))
    en_c = d(kit.enclosure("MET1", "CONT"))
    wo = max(d(OHMIC_FINGER_UM), d(kit.min_width("OHMIC")), d(kit.min_width("CONT")) + 2 * en_c)
    wa = max(d(ANODE_FINGER_UM), d(kit.min_width("ANODE")), d(kit.min_width("CONT")) + 2 * en_c)
    wf_min = max(d(4.0), d(kit.min_width("ANODE")), d(kit.min_width("MESA")) - 2 * en_ma)
    if wf < wf_min:
        raise InputError(
            f"{model}: finger width w/nf = {w:g}/{nf} = {kit.um(wf):g} um is below {kit.um(wf_min):g} um; "
            f"use nf <= {max(1, int(d(w) // wf_min))}"
        )
    if la < d(_spacing(kit, "ANODE", "OHMIC")):
        raise InputError(f"{model}: lac={lac:g} um is below the ANODE.S.OHMIC spacing")
    pin = d(PIN_MIN_UM)
    gap = max(d(GAP_UM), d(kit.min_spacing("MET1")))
    en = max(en_mo, en_ma)
    xm0 = 0
    pitch = wo + la + wa + la
    xk = [xm0 + en + pitch * i for i in range(nf + 1)]  # cathode left edges
    xm1 = xk[-1] + wo + en
    ym0 = pin + gap
    ym1 = ym0 + wf + 2 * en_ma
    ya0 = ym1 + gap
    s = _Shapes()
    s.add("MESA", xm0, ym0, xm1, ym1)
    s.pin("k", "MET1", xm0, 0, xm1, pin)
    s.pin("a", "MET1", xm0, ya0, xm1, ya0 + pin)
    for x in xk:
        ohm = (x, ym0 + en_mo, x + wo, ym1 - en_mo)
        c = _cont_in(kit, ohm, en_c)
        s.add("OHMIC", *ohm)
        s.add("CONT", *c)
        s.add("MET1", x, pin // 2, x + wo, c[3] + en_c, terminal="k")
    for x in xk[:-1]:
        xa = x + wo + la
        an = (xa, ym0 + en_ma, xa + wa, ym1 - en_ma)
        c = _cont_in(kit, an, en_c)
        s.add("ANODE", *an)
        s.add("CONT", *c)
        s.add("MET1", xa, c[1] - en_c, xa + wa, ya0 + pin // 2, terminal="a")
    # each anode finger reaches a cathode on either side through the 2DEG,
    # which saturates: the diode passes at most isat over twice its width
    for t in ("a", "k"):
        s.rate(t, max_ma=channel_bound(kit, model, 2 * w))
    return s.build(kit, name, model, {"w": w, "nf": nf, "lac": lac})


# ---------------------------------------------------------------------------
# thin-film resistor
# ---------------------------------------------------------------------------


def rtf(kit: PDK, *, name: str, r: float = 200.0, w: float = 6.0) -> DeviceCell:
    """Straight thin-film resistor with a TFRCON contact and a MET1 pin at each end.

    Parameters
    ----------
    kit : PDK
        The gan650 kit; sheet resistance ``kit.layers["TFR"].sheet_ohm``.
    name : str
        Cell name.
    r : float
        Resistance (ohm): ``R = Rsh * L / w`` with ``L`` between the inner
        edges of the two TFRCON contacts (contact resistance ignored).
    w : float
        Body width (um); the TFRCON contacts span it less the TFR.EN.TFRCON
        margin on both sides.

    Returns
    -------
    DeviceCell
        Terminals ``p`` (left) and ``n`` (right), MET1 pins of at least
        :data:`PIN_MIN_UM` square over the contacts.

    Notes
    -----
    ::

        +--------+                  +--------+
        | p  [C]=|==================|=[C]  n |   TFR body, L between the
        +--------+                  +--------+   TFRCON [C] inner edges

    ``L`` must lie between the MET1 spacing plus two MET1.EN.TFRCON and
    :data:`TFR_MAX_UM`, otherwise :class:`~flow.errors.InputError` names the
    usable widths.
    """
    model = _model_of(kit, "rtf", name)
    rsh = kit.layer("TFR").sheet_ohm
    if rsh is None:
        raise PDKError([f"{kit.path}: layers.TFR.sheet_ohm is needed by the thin-film resistor"])
    d = kit.dbu
    wd = d(w)
    en_t = d(kit.enclosure("TFR", "TFRCON"))
    en_m = d(kit.enclosure("MET1", "TFRCON"))
    cw = d(kit.min_width("TFRCON"))
    if wd - 2 * en_t < cw or wd < d(kit.min_width("TFR")):
        raise InputError(f"{model}: body width w={w:g} um is too narrow for its TFRCON contacts")
    length = round(r / rsh * wd)
    lmin = d(kit.min_spacing("MET1")) + 2 * en_m
    lmax = d(TFR_MAX_UM)
    if not lmin <= length <= lmax:
        lo, hi = kit.um(lmin) * rsh / r, TFR_MAX_UM * rsh / r
        wspec = kit.device(model).params.get("w")
        if wspec is not None:
            lo, hi = max(lo, wspec.min), min(hi, wspec.max)
        fix = f"use {lo:.3g} um <= w <= {hi:.3g} um" if lo <= hi else "no body width fits this r; use another resistor"
        raise InputError(
            f"{model}: r={r:g} ohm with w={w:g} um needs a {kit.um(length):g} um body, outside "
            f"[{kit.um(lmin):g}, {TFR_MAX_UM:g}] um; {fix}"
        )
    pin = d(PIN_MIN_UM)
    ph = max(pin, wd - 2 * en_t + 2 * en_m)
    yc = ph // 2
    y0 = yc - wd // 2
    s = _Shapes()
    s.add("TFR", -cw - en_t, y0, length + cw + en_t, y0 + wd)
    ca = s.add("TFRCON", -cw, y0 + en_t, 0, y0 + wd - en_t)
    cb = s.add("TFRCON", length, y0 + en_t, length + cw, y0 + wd - en_t)
    s.pin("p", "MET1", en_m - pin, 0, en_m, ph)
    s.pin("n", "MET1", length - en_m, 0, length - en_m + pin, ph)
    # the current runs along x: through the pin's height and its contact
    for t, c in (("p", ca), ("n", cb)):
        s.rate(t, metal(kit, "MET1", ph, "contact head"), cuts(kit, "TFRCON", [c], "contact"))
    return s.build(kit, name, model, {"r": r, "w": w})


# ---------------------------------------------------------------------------
# MIM capacitor
# ---------------------------------------------------------------------------


def mim_plate(kit: PDK, c: float) -> int:
    """Top-plate edge (dbu) of a ``c`` farad capacitor.

    The capacitor area is the MET2 over the MIM dielectric: the square top
    plate (edge ``a``) plus the part of its lead that crosses the dielectric
    margin, ``a^2 + MIM_MARGIN_UM * PIN_MIN_UM = c / MIM_CPA_FF_UM2`` (um^2).
    """
    area = c * 1e15 / MIM_CPA_FF_UM2 - MIM_MARGIN_UM * PIN_MIN_UM
    if area <= 0:
        raise InputError(f"mim: c={c:g} F is too small for the top-plate lead")
    return kit.dbu(math.sqrt(area))


def mim(kit: PDK, *, name: str, c: float = 1e-12) -> DeviceCell:
    """MIM capacitor: MET1 bottom plate, thin SiN (MIM), MET2 top plate.

    Parameters
    ----------
    kit : PDK
        The gan650 kit.
    name : str
        Cell name.
    c : float
        Capacitance (F) at :data:`MIM_CPA_FF_UM2`; fringe fields ignored.

    Returns
    -------
    DeviceCell
        Terminals ``p`` (top plate) and ``n`` (bottom plate), each a MET1
        pin of :data:`PIN_MIN_UM` square: ``n`` a tab on the bottom plate's
        left, ``p`` a pad to the right of the bottom plate, joined to the top
        plate by a MET2 lead and a VIA1 array (no via near the dielectric).

    Notes
    -----
    ::

               +----------------+      MET1 bottom plate (n)
               | +------------+ |      MIM dielectric, MIM_MARGIN_UM
          +----+ | +--------+ | |      beyond the MET2 top plate
          | n  | | |  MET2  |=|=|=======+------+
          +----+ | |  (p)   | | |  lead | [v]  |  MET1 pad p + MET2,
               | | +--------+ | |       +------+  VIA1 array [v]
               | +------------+ |
               +----------------+

    The capacitor area (MET2 over MIM over MET1) is ``c /``
    :data:`MIM_CPA_FF_UM2`, see :func:`mim_plate`.
    """
    model = _model_of(kit, "mim", name)
    d = kit.dbu
    a = mim_plate(kit, c)
    m = d(MIM_MARGIN_UM)
    en1 = d(kit.enclosure("MET1", "MIM"))
    pin = d(PIN_MIN_UM)
    if a + 2 * m < d(kit.min_width("MIM")) or a < pin:
        raise InputError(f"{model}: c={c:g} F gives a top plate below the minimum size")
    gap = max(d(GAP_UM), d(kit.min_spacing("MET1")), d(kit.min_spacing("MET2")))
    yc = a // 2
    s = _Shapes()
    b0, b1 = -m - en1, a + m + en1  # bottom plate
    s.add("MET1", b0, b0, b1, b1, terminal="n")
    s.pin("n", "MET1", b0 - pin, yc - pin // 2, b0, yc - pin // 2 + pin)
    s.add("MIM", -m, -m, a + m, a + m)
    s.add("MET2", 0, 0, a, a, terminal="p")
    xp0 = b1 + gap
    # the lead must keep MIM.S.VIA1 between the dielectric and the vias
    v = d(kit.min_width("VIA1"))
    sp = d(kit.min_spacing("VIA1"))
    en_v = max(d(kit.enclosure("MET1", "VIA1")), d(kit.enclosure("MET2", "VIA1")))
    xp0 = max(xp0, a + m + d(kit.min_spacing("MIM", "VIA1")) - en_v)
    s.add("MET2", a, yc - pin // 2, xp0 + pin, yc - pin // 2 + pin, terminal="p")
    s.pin("p", "MET1", xp0, yc - pin // 2, xp0 + pin, yc - pin // 2 + pin)
    n = (pin - 2 * en_v + sp) // (v + sp)
    off = en_v + (pin - 2 * en_v - (n * v + (n - 1) * sp)) // 2
    for i in range(n):
        for j in range(n):
            x = xp0 + off + i * (v + sp)
            y = yc - pin // 2 + off + j * (v + sp)
            s.add("VIA1", x, y, x + v, y + v)
    for t in ("p", "n"):  # a capacitor passes no DC: its plates carry no electromigration current
        s.rate(t, max_ma=0.0)
    return s.build(kit, name, model, {"c": c})


# ---------------------------------------------------------------------------
# seal ring
# ---------------------------------------------------------------------------


def sealring(kit: PDK, *, name: str, w: float = 1000.0, h: float = 1000.0, width: float = 20.0) -> DeviceCell:
    """Seal ring around a ``w`` x ``h`` um die: concentric MET1/VIA1/MET2.

    Parameters
    ----------
    kit : PDK
        The gan650 kit.
    name : str
        Cell name.
    w, h : float
        Die size (um): the ring's outer edge.
    width : float
        Band width (um) of the MET1 and MET2 rings.

    Returns
    -------
    DeviceCell
        Terminal ``r``: one MET1 pin, the ring's lower-left corner square.

    Notes
    -----
    Two continuous VIA1 trenches (VIA1.W.1 wide, VIA1.S.1 or more apart)
    run inside the band, kept the VIA1 enclosures from its edges, so MET1,
    the trenches and MET2 form a closed wall; SEAL marks the band::

        +------------------------------+
        | +--------------------------+ |   MET1 = MET2 band (SEAL)
        | | +----------------------+ | |   two VIA1 trenches '|'
        | | |                      | | |
        | | |        core          | | |
        | | +----------------------+ | |
        | +--------------------------+ |
        +------------------------------+
    """
    model = _model_of(kit, "sealring", name)
    d = kit.dbu
    W, H, b = d(w), d(h), d(width)
    v = d(kit.min_width("VIA1"))
    sp = d(kit.min_spacing("VIA1"))
    en_v = max(d(kit.enclosure("MET1", "VIA1")), d(kit.enclosure("MET2", "VIA1")))
    if 2 * en_v + 2 * v + sp > b:
        raise InputError(f"{model}: width={width:g} um is too narrow for two VIA1 trenches")
    # the core opening is a notch of the ring (one polygon): the spacing and
    # notch rules of both metals
    notch = [r.value for r in kit.rules if r.kind == "notch" and r.layer in ("MET1", "MET2") and r.value]
    inner = max(d(kit.min_spacing("MET1")), d(kit.min_spacing("MET2")), *(d(v) for v in notch))
    if min(W, H) - 2 * b < inner:
        raise InputError(
            f"{model}: a {w:g} x {h:g} um die leaves no core inside a {width:g} um ring "
            f"(the opening must be at least {kit.um(inner):g} um)"
        )
    s = _Shapes()

    def ring(layer: str, o: int, t: int, term: str | None) -> None:
        # band from inset o to o + t, as four rectangles (overlapping corners)
        s.add(layer, o, o, W - o, o + t, terminal=term)
        s.add(layer, o, H - o - t, W - o, H - o, terminal=term)
        s.add(layer, o, o, o + t, H - o, terminal=term)
        s.add(layer, W - o - t, o, W - o, H - o, terminal=term)

    ring("MET1", 0, b, "r")
    ring("MET2", 0, b, "r")
    ring("SEAL", 0, b, None)
    ring("VIA1", en_v, v, None)  # outer trench
    ring("VIA1", b - en_v - v, v, None)  # inner trench
    s.pin("r", "MET1", 0, 0, b, b)
    return s.build(kit, name, model, {"w": w, "h": h, "width": width})
