"""Device generators of the ganrf025 kit (0.25 um GaN-on-SiC RF/MMIC).

Each generator is a plain function ``gen(kit, *, name, ...) -> DeviceCell``
named by the ``generator`` key of a ``[devices.*]`` table in ``pdk.toml``;
:func:`pdk.base.generate` validates the parameters against the kit's ranges,
names the cell and caches it.  Lengths are in microns, resistance in ohms,
capacitance in pF.

Contract with the placer and the router (checked by
``tests/pdk/test_ganrf025_devices.py`` against KLayout):

* the cell's bounding box is ``(0, 0, W, H)`` in dbu;
* every pin of a non-pad device is a MET1 rectangle of at least
  :data:`PIN_MIN_UM` square (routing pitch 7 um + 2 x 2 um half-width);
  every MET1/MET2 shape is tagged with its terminal;
* non-pad devices draw no VIA1 and no MET2;
* every cell is DRC-clean under all rules of the kit, also next to a copy of
  itself at a gap equal to the largest spacing rule among the layers it draws.

Geometry is computed in integer database units (:class:`_Shapes`) and then
shifted so the bounding box starts at the origin.

Examples
--------
>>> import pdk
>>> from pdk.base import generate
>>> kit = pdk.load("ganrf025")
>>> q = generate(kit, "hemt", {"w": 200, "nf": 4})
>>> sorted({p.terminal for p in q.pins}), q.bbox[:2]
(['d', 'g', 's'], (0, 0))
>>> [p.terminal for p in generate(kit, "gsg").pins]
['g', 'g', 's', 's', 'g', 'g']
"""

from __future__ import annotations

import math
from typing import Any

from flow.errors import InputError, PDKError
from pdk.base import DeviceCell
from pdk.draw import DbuShapes, finger_straps, rate_fingers
from pdk.rating import cuts, metal, pad_paths
from pdk.schema import PDK

#: Smallest pin edge (um): a 7 um routing-grid square of half-width 2 um
#: always fits in a 12 um pin.
PIN_MIN_UM = 12.0
#: Width of HEMT source/drain ohmic fingers (um).
OHMIC_FINGER_UM = 4.0
#: Gate-foot-to-source-ohmic distance (um).
LGS_UM = 0.75
#: Gate head overhang of the foot on each side (um), at least GHEAD.EN.GATE.
HEAD_OVERHANG_UM = 0.25
#: Least gate foot extension beyond the mesa (um, top and bottom); the
#: kit's GATE-past-MESA ``extension`` rule raises it (:func:`foot_extension`).
FOOT_EXT_UM = 1.0
#: Width of the GHEAD gate bus (um).
GATE_BUS_UM = 2.0
#: Gap (um) between a HEMT bus and the next structure (>= MET1 spacing).
GAP_UM = 3.0
#: Length of TFR under each MET1 contact (um).
TFR_CONTACT_UM = 4.0
#: Longest straight TFR body (um).
TFR_MAX_UM = 400.0
#: MIM bottom plate margin beyond the top plate (um).
MIM_MARGIN_UM = 2.0
#: Height of the MIM top-plate tab that carries the air-bridge post (um).
MIM_TAB_UM = 8.0
#: Free margin (um) between an inductor's outer turn and its MET1 pads.
IND_PAD_GAP_UM = 4.0
#: Modified-Wheeler coefficients of a square spiral (Mohan et al., 1999).
WHEELER_K1, WHEELER_K2 = 2.34, 2.75

Rect = tuple[int, int, int, int]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


#: Rectangles in dbu, shifted to the origin when built (shared with the other kits).
_Shapes = DbuShapes


def _model_of(kit: PDK, generator: str, name: str) -> str:
    """The model whose ``generator`` is ``generator`` (cell ``name`` decides ties)."""
    found = [m for m, d in kit.devices.items() if d.generator == generator]
    for m in found:
        if name == m or name.startswith(m + "_"):
            return m
    if found:
        return found[0]
    raise PDKError([f"{kit.path}: no device of kit '{kit.name}' uses generator '{generator}'"])


def _centred(c: int, size: int) -> tuple[int, int]:
    """Interval of length ``size`` centred on ``c`` (dbu)."""
    a = c - size // 2
    return a, a + size


def _via_row(kit: PDK, s: _Shapes, x0: int, y0: int, n: int) -> tuple[int, int]:
    """``n`` backside vias in a row from ``(x0, y0)``: BSV in BSVPAD.  Returns
    the (width, height) in dbu of the MET1 plate the caller draws over them
    (MET1.EN.BSVPAD around the landing pads)."""
    d = kit.dbu
    v = d(kit.min_width("BSV"))
    ep = d(kit.enclosure("BSVPAD", "BSV"))
    em = d(kit.enclosure("MET1", "BSVPAD"))
    padw = v + 2 * ep
    pitch = max(v + d(kit.min_spacing("BSV")), padw + d(kit.min_spacing("BSVPAD")))
    for k in range(n):
        px = x0 + em + k * pitch
        s.add("BSVPAD", px, y0 + em, px + padw, y0 + em + padw)
        s.add("BSV", px + ep, y0 + em + ep, px + ep + v, y0 + em + ep + v)
    return 2 * em + padw + (n - 1) * pitch, 2 * em + padw


# ---------------------------------------------------------------------------
# HEMT
# ---------------------------------------------------------------------------


def foot_extension(kit: PDK) -> float:
    """Gate foot extension beyond the mesa (um): the kit's GATE past MESA
    ``extension`` rule, at least :data:`FOOT_EXT_UM`.

    >>> import dataclasses, pdk
    >>> kit = pdk.load("ganrf025")
    >>> foot_extension(kit)
    1.0
    >>> rules = tuple(dataclasses.replace(r, value=1.5) if r.kind == "extension" and r.layer == "GATE" else r for r in kit.rules)
    >>> foot_extension(dataclasses.replace(kit, rules=rules))
    1.5
    """
    return max([r.value for r in kit.rules_of("extension", "GATE", "MESA")] + [FOOT_EXT_UM])


def hemt(
    kit: PDK,
    *,
    name: str,
    w: float = 200.0,
    nf: int = 4,
    l: float = 0.25,  # noqa: E741 -- the gate length's usual name
    lgd: float = 3.0,
    lfp: float = 0.8,
    bsv: int = 0,
    lsfp: float = 0.0,
    wm2: float = 0.0,
) -> DeviceCell:
    """Multi-finger 0.25 um T-gate GaN-on-SiC HEMT.

    Parameters
    ----------
    kit : PDK
        The ganrf025 kit.
    name : str
        Cell name (from :func:`pdk.base.cell_name`).
    w : float
        Total gate width (um), split evenly over the fingers; each finger
        (``w / nf``) must be at least the MESA width rule, otherwise
        :class:`~flow.errors.InputError`.
    nf : int
        Number of gate fingers.
    l : float
        Gate foot length (um); the GHEAD head overhangs it by
        :data:`HEAD_OVERHANG_UM` on each side.
    lgd : float
        Gate-foot-to-drain-ohmic distance (um); foot-to-source is
        :data:`LGS_UM`.
    lfp : float
        Gate-connected field plate (GFP) extension beyond the head toward the
        drain (um); the plate starts at the foot's source edge.  0: none.
    bsv : {0, 1}
        1: a row of backside vias (BSV in BSVPAD) under a MET1 extension of
        the source bus, grounding the source on the die.
    lsfp : float
        Source-connected field plate (SFP, over the second SiN) reach beyond
        the gate head toward the drain (um); 0: none.  Each source finger's
        plate covers the finger and the heads of its two gates and is
        contacted through the finger's CONT (``[SFP, CONT, MET1]``).
    wm2 : float
        Width (um) of a plated MET2 strap over every source and drain finger
        and its bus, joined to the finger's MET1 by a row of VIA1 along its
        whole length; 0: none.  It carries the finger's current beside the
        1 um MET1 (4.5 um of MET2 at 15 mA/um add 67.5 mA to a 4 um MET1
        finger's 20 mA; see the terminal ratings, :mod:`pdk.rating`).  At
        least the MET2 width rule and a VIA1 with its enclosure; neighbours
        keep MET2.S.1 (the fingers' own MET1 spacing holds up to 50 V, as
        the straps'); at most 60 % of the finger pitch.

    Returns
    -------
    DeviceCell
        Terminals ``d``, ``g``, ``s``.  Pins (MET1): the source bus
        (bottom), the drain bus (top), each at least :data:`PIN_MIN_UM` square,
        and the gate pad (lower left).

    Notes
    -----
    Vertical fingers, ohmics alternate S D S ... (``nf + 1`` ohmic fingers
    with CONT and MET1); gate foot (GATE) and head (GHEAD) between them, the
    head crossing the mesa and joining the GHEAD gate bus below it, which
    ends in the gate pad (GHEAD + CONT + MET1)::

          +---------------------------------+   drain bus (MET1, pin d)
          |     |D|           |D|           |
          +-----| |-----------| |-----------+
           : ]  | |  [ :    : ] | |  [ :         GATE foot ':' in GHEAD head,
          +:-]--+-+--[-:----:-]-+-+--[-:---+    GFP ']' '[' toward the drain
                                                (lsfp > 0: SFP over each S finger and
                                                its two heads, lsfp beyond them)
          |S:]  |D|  [:S    :]  |D|  [:S   |    MESA, ohmic fingers S / D
          +:-]--+-+--[-:----:-]-+-+--[-:---+
        +-+:===========:====:===========:        gate bus (GHEAD) under the
        |G+ |S|          |S|            |S|      source MET1 fingers
        +-+ +--------------------------------+  source bus (MET1, pin s)
                 [BSV]    [BSV]    [BSV]         (bsv = 1) vias under the bus

    Generation is linear in ``nf``.
    """
    model = _model_of(kit, "hemt", name)
    d = kit.dbu
    nf = int(nf)
    if nf < 1:
        raise InputError(f"{model}: nf={nf} must be at least 1")
    wf = round(d(w) / nf)
    lg, ld, lf = d(l), d(lgd), d(lfp)
    en_mo = d(kit.enclosure("MESA", "OHMIC"))
    en_c = d(kit.enclosure("MET1", "CONT"))
    cw = d(kit.min_width("CONT"))
    wo = max(d(OHMIC_FINGER_UM), d(kit.min_width("OHMIC")), cw + 2 * en_c)
    ov = max(d(HEAD_OVERHANG_UM), d(kit.enclosure("GHEAD", "GATE")))
    ls = max(d(LGS_UM), d(kit.min_spacing("GATE", "OHMIC")), ov + d(kit.min_spacing("GHEAD", "OHMIC")))
    wf_min = max(d(kit.min_width("MESA")), 2 * en_mo + max(d(kit.min_width("OHMIC")), cw + 2 * en_c))
    if wf < wf_min:
        raise InputError(
            f"{model}: finger width w/nf = {w:g}/{nf} = {kit.um(wf):g} um is below the "
            f"{kit.um(wf_min):g} um minimum (MESA width); use nf <= {max(1, int(d(w) // wf_min))}"
        )
    if lg < d(kit.min_width("GATE")):
        raise InputError(f"{model}: gate length l={l:g} um is below the GATE width rule")
    gfp_o = d(kit.min_spacing("GFP", "OHMIC"))
    if ld - ov < d(kit.min_spacing("GHEAD", "OHMIC")) or ld < d(kit.min_spacing("GATE", "OHMIC")):
        raise InputError(f"{model}: lgd={lgd:g} um leaves the gate head too close to the drain ohmic")
    if lf > 0 and (ld - ov - lf < gfp_o or ls < gfp_o):
        raise InputError(
            f"{model}: field plate lfp={lfp:g} um comes closer than {kit.um(gfp_o):g} um to an ohmic; "
            f"use lfp <= {kit.um(ld - ov - gfp_o):g}"
        )
    lsf = d(lsfp)
    if lsf > 0 and ld - ov - lsf < gfp_o:
        raise InputError(
            f"{model}: source field plate lsfp={lsfp:g} um comes closer than {kit.um(gfp_o):g} um to the drain ohmic; "
            f"use lsfp <= {kit.um(ld - ov - gfp_o):g}"
        )

    pin = d(PIN_MIN_UM)
    gap = max(d(GAP_UM), d(kit.min_spacing("MET1")))
    gbus = max(d(GATE_BUS_UM), d(kit.min_width("GHEAD")))
    fext = d(foot_extension(kit))

    # x: gate pad column, then the mesa with its fingers
    xm0 = pin + gap
    pitch = wo + ls + lg + ld
    xo = [xm0 + en_mo + pitch * k for k in range(nf + 1)]
    xm1 = xo[-1] + wo + en_mo
    xb1 = max(xm1, xm0 + pin)  # bus right end: a pin at least PIN_MIN wide
    # y: source bus, gate bus, mesa, drain bus
    yg0 = pin + d(2.0)
    yg1 = yg0 + gbus
    ym0 = yg1 + max(d(2.0), fext + ov + d(0.5))
    ym1 = ym0 + wf
    yd0 = ym1 + max(gap, fext + ov + d(1.0))
    yd1 = yd0 + pin

    s = _Shapes()
    s.add("MESA", xm0, ym0, xm1, ym1)
    s.pin("s", "MET1", xm0, 0, xb1, pin)
    s.pin("d", "MET1", xm0, yd0, xb1, yd1)
    fingers: dict[str, list[Rect]] = {"s": [], "d": []}
    conts: dict[str, list[Rect]] = {"s": [], "d": []}
    for k, x in enumerate(xo):
        ohm = (x, ym0 + en_mo, x + wo, ym1 - en_mo)
        s.add("OHMIC", *ohm)
        c = (ohm[0] + en_c, ohm[1] + en_c, ohm[2] - en_c, ohm[3] - en_c)
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
    ws = d(wm2)
    if ws > 0:
        v = d(kit.min_width("VIA1"))
        vsp = d(kit.min_spacing("VIA1"))
        en_v = max(d(kit.enclosure("MET1", "VIA1")), d(kit.enclosure("MET2", "VIA1")))
        wmin = max(d(kit.min_width("MET2")), v + 2 * en_v)
        if ws < wmin:
            raise InputError(f"{model}: wm2={wm2:g} um is below the MET2 width rule / a VIA1 with its enclosure; "
                             f"use wm2 >= {kit.um(wmin):g} um")
        clear2 = d(kit.min_spacing("MET2"))
        if pitch - ws < clear2 or ws * 10 > pitch * 6:
            top = min(pitch - clear2, pitch * 6 // 10)
            raise InputError(f"{model}: wm2={wm2:g} um leaves neighbouring straps less than {kit.um(clear2):g} um apart "
                             f"or covers more than 60 % of the {kit.um(pitch):g} um finger pitch; use wm2 <= {kit.um(top):g} um")
        if wo < v + 2 * en_v:
            raise InputError(f"{model}: the {kit.um(wo):g} um fingers are too narrow for VIA1 with its enclosure")
        straps, svias = finger_straps(s, xo, wo, ws, conts, en_c, pin, yd0, yd1, v, vsp, en_v)
    rate_fingers(s, kit, model, kit.um(wf) * nf, wo, ws, fingers, straps, conts, svias)
    xh_last = 0
    xgs = []
    for k in range(nf):
        src_left = k % 2 == 0
        xg = xo[k] + wo + (ls if src_left else ld)  # foot left edge
        xgs.append(xg)
        s.add("GATE", xg, ym0 - fext, xg + lg, ym1 + fext)
        s.add("GHEAD", xg - ov, yg0, xg + lg + ov, ym1 + fext + ov)
        if lf > 0:
            if src_left:  # drain to the right
                s.add("GFP", xg, ym0, xg + lg + ov + lf, ym1)
            else:
                s.add("GFP", xg - ov - lf, ym0, xg + lg, ym1)
        xh_last = xg + lg + ov
    if lsf > 0:  # one source field plate per source finger, over its gates' heads
        for k in range(0, nf + 1, 2):
            x0 = xgs[k - 1] - ov - lsf if k > 0 else xo[k]
            x1 = xgs[k] + lg + ov + lsf if k < nf else xo[k] + wo
            s.add("SFP", x0, ym0, x1, ym1)
    s.add("GHEAD", 0, yg0, xh_last, yg1)  # gate bus
    py0 = yg1 - pin
    s.add("GHEAD", 0, py0, pin, yg1)  # gate pad
    cin = max(en_c, d(1.0))
    gc = s.add("CONT", cin, py0 + cin, pin - cin, yg1 - cin)
    s.pin("g", "MET1", 0, py0, pin, yg1)
    s.rate("g", metal(kit, "MET1", pin, "gate pad"), cuts(kit, "CONT", [gc], "gate pad contact"))
    if bsv:
        nv = 1
        while True:  # as many vias as fit under the source bus width
            pw, _ = _via_row(kit, _Shapes(), 0, 0, nv + 1)
            if pw > xb1 - xm0:
                break
            nv += 1
        pw, ph = _via_row(kit, s, xm0, -_bsv_plate_height(kit), nv)
        s.add("MET1", xm0, -ph, xm0 + pw, pin // 2, terminal="s")
        if xm0 + pw > xb1:  # the bus follows a via row wider than the mesa
            s.add("MET1", xm0, 0, xm0 + pw, pin, terminal="s")
    params = {"w": w, "nf": nf, "l": l, "lgd": lgd, "lfp": lfp, "bsv": bsv}
    if "lsfp" in kit.device(model).params:
        params["lsfp"] = lsfp
    if "wm2" in kit.device(model).params:
        params["wm2"] = wm2
    return s.build(kit, name, model, params)


def _bsv_plate_height(kit: PDK) -> int:
    """Height (dbu) of a BSV row's MET1 plate (see :func:`_via_row`)."""
    d = kit.dbu
    return 2 * d(kit.enclosure("MET1", "BSVPAD")) + d(kit.min_width("BSV")) + 2 * d(kit.enclosure("BSVPAD", "BSV"))


# ---------------------------------------------------------------------------
# NiCr thin-film resistor
# ---------------------------------------------------------------------------


def tfr(kit: PDK, *, name: str, r: float = 500.0, w: float = 4.0) -> DeviceCell:
    """Straight NiCr thin-film resistor with MET1 contacts over both ends.

    Parameters
    ----------
    kit : PDK
        The ganrf025 kit; sheet resistance ``kit.layers["TFR"].sheet_ohm``.
    name : str
        Cell name.
    r : float
        Resistance (ohm): ``R = Rsh * L / w`` with ``L`` the TFR length
        between the inner edges of the two MET1 contacts (contact resistance
        ignored).
    w : float
        Body width (um).

    Returns
    -------
    DeviceCell
        Terminals ``p`` (left) and ``n`` (right): MET1 pads of at least
        :data:`PIN_MIN_UM` square, each covering :data:`TFR_CONTACT_UM` of
        the TFR end.

    Notes
    -----
    ::

        +------+                +------+
        |  p  =|================|=  n  |    TFR body L long, w wide;
        +------+                +------+    MET1 pads over its ends

    A body shorter than the MET1 spacing or longer than :data:`TFR_MAX_UM`
    raises :class:`~flow.errors.InputError` (choose another ``w``).
    """
    model = _model_of(kit, "tfr", name)
    rsh = kit.layer("TFR").sheet_ohm
    if rsh is None:
        raise PDKError([f"{kit.path}: layers.TFR.sheet_ohm is needed by the TFR resistor"])
    d = kit.dbu
    wd = d(w)
    length = round(r / rsh * wd)
    lmin = max(d(kit.min_spacing("MET1")), d(kit.min_width("TFR")))
    if length < lmin or length > d(TFR_MAX_UM):
        lo = kit.um(lmin) * rsh / r
        hi = TFR_MAX_UM * rsh / r
        raise InputError(
            f"{model}: r={r:g} ohm with w={w:g} um needs a {kit.um(length):g} um body, outside "
            f"[{kit.um(lmin):g}, {TFR_MAX_UM:g}] um; use {lo:.3g} um <= w <= {hi:.3g} um"
        )
    pin = d(PIN_MIN_UM)
    lc = d(TFR_CONTACT_UM)
    ph = max(pin, wd + 2 * d(1.0))
    s = _Shapes()
    y0, y1 = _centred(ph // 2, wd)
    s.add("TFR", -lc, y0, length + lc, y1)
    s.pin("p", "MET1", -pin, 0, 0, ph)
    s.pin("n", "MET1", length, 0, length + pin, ph)
    return s.build(kit, name, model, {"r": r, "w": w})


# ---------------------------------------------------------------------------
# MIM capacitor
# ---------------------------------------------------------------------------


def mim_plate(kit: PDK, c: float, cpa: float) -> int:
    """Top-plate edge (dbu) of a ``c`` pF capacitor at ``cpa`` fF/um^2.

    The capacitor area is the top plate (square, edge ``a``) plus the part of
    its tab over the bottom-plate margin: ``a^2 + MIM_TAB_UM * MIM_MARGIN_UM
    = 1000 * c / cpa`` (um^2).
    """
    area = 1000.0 * c / cpa - MIM_TAB_UM * MIM_MARGIN_UM
    if area <= 0:
        raise InputError(f"mim: c={c:g} pF is too small for the top-plate tab")
    return kit.dbu(math.sqrt(area))


def mim(kit: PDK, *, name: str, c: float = 1.0, cpa: float = 0.4) -> DeviceCell:
    """SiN MIM capacitor: MET1 bottom plate, MIM dielectric, MIMTOP top plate.

    Parameters
    ----------
    kit : PDK
        The ganrf025 kit.
    name : str
        Cell name.
    c : float
        Capacitance (pF).
    cpa : float
        Capacitance per area (fF/um^2), fixed by the kit (0.4: about 0.17 um
        of SiN).  Fringe fields are ignored.

    Returns
    -------
    DeviceCell
        Terminals ``p`` (top plate) and ``n`` (bottom plate).  Pin ``n`` is a
        MET1 tab on the bottom plate's left side, pin ``p`` a MET1 pad to the
        right, joined to the top plate by an air bridge (POST on the top
        plate's tab, which reaches beyond the bottom plate, POST on the pad).

    Notes
    -----
    The capacitor area (MIMTOP over the bottom plate) is ``1000 c / cpa``
    um^2 (:func:`mim_plate`)::

               +-------------+
               | +---------+ |      MET1 bottom plate, margin MIM_MARGIN_UM
          +----+ |  MIMTOP | |  ==========      BRIDGE
          | n  | |         +-+-[P]-+ gap +-[P]-+
          +----+ |         | |     |     |  p  |   MET1 pad (pin p)
               | +---------+ |  ==========
               +-------------+     MIM dielectric under all MIMTOP
    """
    model = _model_of(kit, "mim", name)
    d = kit.dbu
    a = mim_plate(kit, c, cpa)
    mb = d(MIM_MARGIN_UM)
    ht = d(MIM_TAB_UM)
    pin = d(PIN_MIN_UM)
    en_d = d(kit.enclosure("MIM", "MIMTOP"))
    post = d(kit.min_width("POST"))
    en_b = d(kit.enclosure("BRIDGE", "POST"))
    if a < d(kit.min_width("MIMTOP")):
        raise InputError(f"{model}: c={c:g} pF gives a top plate below the minimum size")
    big = a + 2 * mb  # bottom plate edge
    yc = big // 2
    s = _Shapes()
    s.add("MET1", 0, 0, big, big, terminal="n")
    s.pin("n", "MET1", -pin, yc - pin // 2, 0, yc - pin // 2 + pin)
    s.add("MIMTOP", mb, mb, mb + a, mb + a)
    t0, t1 = _centred(yc, ht)
    # tab: from the plate's right edge past the bottom plate, carrying a post
    gap_post = max(d(1.0), d(kit.min_spacing("MET1")))
    px0 = big + gap_post
    tx1 = px0 + post + d(1.0)
    s.add("MIMTOP", mb + a, t0, tx1, t1)
    s.add("MIM", mb - en_d, mb - en_d, mb + a + en_d, mb + a + en_d)
    s.add("MIM", mb + a, t0 - en_d, tx1 + en_d, t1 + en_d)
    q0, q1 = _centred(yc, post)
    s.add("POST", px0, q0, px0 + post, q1)
    # the pin pad: one bridge width beyond the tab (and the dielectric)
    xp0 = tx1 + en_d + max(d(kit.min_spacing("MIM")), gap_post)
    s.pin("p", "MET1", xp0, yc - pin // 2, xp0 + pin, yc - pin // 2 + pin)
    pp0 = xp0 + (pin - post) // 2
    s.add("POST", pp0, q0, pp0 + post, q1)
    b0, b1 = _centred(yc, max(post + 2 * en_b, d(kit.min_width("BRIDGE"))))
    s.add("BRIDGE", px0 - en_b, b0, pp0 + post + en_b, b1)
    for t in ("p", "n"):  # a capacitor passes no DC: its plates carry no electromigration current
        s.rate(t, max_ma=0.0)
    return s.build(kit, name, model, {"c": c})


# ---------------------------------------------------------------------------
# spiral inductor
# ---------------------------------------------------------------------------


def spiral_path(n: int, w: int, s: int, din: int) -> tuple[list[tuple[int, int]], int]:
    """Centre line of a square spiral (dbu): points and outer half-size ``R``.

    The path starts at the top-left corner ``(-R, R)``, runs clockwise
    ``4 n`` segments of lengths ``2R, 2R, 2R, 2R-p, 2R-p, 2R-2p, ...``
    (``p = w + s``) and ends with a stub to the centre line ``x = 0``; the
    innermost turn's inner edges are ``din / 2`` from the centre.
    """
    p = w + s
    R = din // 2 + (n - 1) * p + w // 2
    pts = [(-R, R)]
    dirs = [(1, 0), (0, -1), (-1, 0), (0, 1)]
    for i in range(4 * n):
        length = 2 * R - ((i - 1) // 2 if i >= 1 else 0) * p
        dx, dy = dirs[i % 4]
        x, y = pts[-1]
        pts.append((x + dx * length, y + dy * length))
    x, y = pts[-1]
    pts.append((0, y))
    return pts, R


def spiral_inductance_nh(n: int, w: float, s: float, din: float) -> float:
    """Modified-Wheeler estimate of a square spiral's inductance (nH).

    ``L = K1 mu0 n^2 d_avg / (1 + K2 rho)`` with ``d_avg = (dout + din) / 2``
    and fill ratio ``rho = (dout - din) / (dout + din)``; lengths in um.
    """
    dout = din + 2 * n * w + 2 * (n - 1) * s
    davg = (dout + din) / 2
    rho = (dout - din) / (dout + din)
    mu0 = 4e-7 * math.pi
    return WHEELER_K1 * mu0 * n * n * davg * 1e-6 / (1 + WHEELER_K2 * rho) * 1e9


def spiral(
    kit: PDK, *, name: str, n: int = 3, w: float = 10.0, s: float = 5.0, din: float = 80.0, wu: float = 12.0
) -> DeviceCell:
    """Square spiral inductor on IND with a MET1 underpass from the centre.

    Parameters
    ----------
    kit : PDK
        The ganrf025 kit.
    name : str
        Cell name.
    n : int
        Number of turns.
    w, s : float
        Trace width and turn-to-turn spacing (um).
    din : float
        Inner opening (um, edge to edge); at least ``w + s + 5`` so the
        inner stub clears the innermost turn.
    wu : float
        Width (um) of the MET1 underpass and of both MET1 pads (at least
        :data:`PIN_MIN_UM`, and enough to enclose the INDV arrays): the
        underpass carries the inductor's whole current on 1 um of MET1, so a
        choke feeding a drain needs it wide (60 um for 300 mA at 5 mA/um;
        see the terminal ratings).  Each end lands on MET1 through as many
        INDV as fit in the trace's ``w x w`` end.

    Returns
    -------
    DeviceCell
        Terminals ``p`` (outer end: MET1 pad left of the top-left corner,
        joined to IND by INDV) and ``n`` (inner end: INDV down to a MET1
        underpass that runs below the turns to a pad under the spiral).

    Notes
    -----
    Inductance estimate: :func:`spiral_inductance_nh`::

        p[v]=============================+
            |  +---------------------+   |     IND turns (n = 2 shown)
            |  |  ======[v]          |   |     [v]: INDV to the underpass
            |  |          :          |   |
            |  +----------:----------+   |
            +=============:==============+     ':' MET1 underpass
                       [  n  ]                 MET1 pad (pin n)
    """
    model = _model_of(kit, "spiral", name)
    d = kit.dbu
    n = int(n)
    wd, sd, dd = d(w), d(s), d(din)
    need = wd + sd + max(d(kit.min_spacing("IND")), d(5.0))
    if dd < need:
        raise InputError(f"{model}: din={din:g} um is below w + s + 5 = {kit.um(need):g} um; enlarge din")
    if sd < d(kit.min_spacing("IND")) or wd < d(kit.min_width("IND")):
        raise InputError(f"{model}: w={w:g} um / s={s:g} um break the IND width/spacing rules")
    v = d(kit.min_width("INDV"))
    en_i = d(kit.enclosure("IND", "INDV"))
    if wd < v + 2 * en_i:
        raise InputError(f"{model}: w={w:g} um is too narrow for an inductor via")
    gap = d(IND_PAD_GAP_UM)
    en_m = d(kit.enclosure("MET1", "INDV"))
    vsp = d(kit.min_spacing("INDV"))
    k = max(1, (wd - 2 * en_i + vsp) // (v + vsp))  # INDV per row / column at each end
    span = k * v + (k - 1) * vsp
    pin = max(d(PIN_MIN_UM), d(wu), span + 2 * en_m)
    pts, R = spiral_path(n, wd, sd, dd)
    # the underpass (centred on x = 0) keeps MET1 spacing from the p pad
    # (left of the outer corner)
    room = 2 * (R + wd // 2 + gap - d(kit.min_spacing("MET1")))
    if pin > room:
        raise InputError(f"{model}: wu={wu:g} um does not fit beside the p pad of this spiral; use wu <= "
                         f"{kit.um(room):g} um or a larger din / more turns")
    lead = wd // 2 + gap + pin // 2
    pts[0] = (-R - lead, R)
    h = wd // 2
    sh = _Shapes()
    for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
        sh.add("IND", min(xa, xb) - h, min(ya, yb) - h, max(xa, xb) + wd - h, max(ya, yb) + wd - h)
    def vias(cx: int, cy: int) -> list[Rect]:
        a0, _ = _centred(cx, span)
        b0, _ = _centred(cy, span)
        return [sh.add("INDV", a0 + i * (v + vsp), b0 + j * (v + vsp), a0 + i * (v + vsp) + v, b0 + j * (v + vsp) + v)
                for i in range(k) for j in range(k)]

    # outer end: INDV on the pad p
    sx, sy = pts[0]
    ends = vias(sx, sy)
    sh.pin("p", "MET1", sx - pin // 2, sy - pin // 2, sx - pin // 2 + pin, sy - pin // 2 + pin)
    # inner end: INDV down to the underpass and pad n
    ex, ey = pts[-1]
    vias(ex, ey)
    _, u1 = _centred(ey, span)
    x0 = ex - pin // 2
    ybot = -R - h - gap
    sh.add("MET1", x0, ybot, x0 + pin, u1 + en_m, terminal="n")
    sh.pin("n", "MET1", x0, ybot - pin, x0 + pin, ybot)
    # one series path from p to n: the p pad, the vias, the turns, the vias,
    # the underpass and the n pad carry the whole current
    path = [metal(kit, "MET1", pin, "MET1 pads and underpass"), metal(kit, "IND", wd, "turns"),
            cuts(kit, "INDV", ends, "INDV at each end")]
    for t in ("p", "n"):
        sh.rate(t, *path)
    params = {"n": n, "w": w, "s": s, "din": din}
    if "wu" in kit.device(model).params:
        params["wu"] = wu
    return sh.build(kit, name, model, params)


# ---------------------------------------------------------------------------
# backside-via ground
# ---------------------------------------------------------------------------


def bsv_ground(kit: PDK, *, name: str, n: int = 1) -> DeviceCell:
    """Ground a net through ``n`` backside vias under one MET1 plate.

    Parameters
    ----------
    kit : PDK
        The ganrf025 kit.
    name : str
        Cell name.
    n : int
        Number of BSVs in a row.

    Returns
    -------
    DeviceCell
        Terminal ``g``: the MET1 plate (pin) over ``n`` BSVPAD landing pads,
        each around one BSV::

            +-------------------------+   MET1 (pin g)
            | +-------+   +-------+   |   BSVPAD
            | | [BSV] |   | [BSV] |   |
            | +-------+   +-------+   |
            +-------------------------+
    """
    model = _model_of(kit, "bsv_ground", name)
    s = _Shapes()
    pw, ph = _via_row(kit, s, 0, 0, int(n))
    s.pin("g", "MET1", 0, 0, pw, ph)
    # a wire lands along the plate and the current goes down into the BSVs
    # under it: the plate's length is the cross-section (BSV has no limit)
    s.rate("g", metal(kit, "MET1", pw, f"MET1 plate over {int(n)} BSV(s)"))
    return s.build(kit, name, model, {"n": n})


# ---------------------------------------------------------------------------
# pads
# ---------------------------------------------------------------------------


def _pad_at(kit: PDK, s: _Shapes, x0: int, y0: int, sz: int, term: str, halo: int) -> None:
    """One probe pad at ``(x0, y0)``: MET1 + MET2 pins, VIA1 array, PASS."""
    d = kit.dbu
    v = d(kit.min_width("VIA1"))
    sp = d(kit.min_spacing("VIA1"))
    en_v = max(d(kit.enclosure("MET1", "VIA1")), d(kit.enclosure("MET2", "VIA1")))
    m_pass = max(d(kit.enclosure("MET2", "PASS")), -(-(d(kit.min_spacing("PASS")) - halo) // 2))
    if sz - 2 * m_pass < d(kit.min_width("PASS")) or sz - 2 * en_v < v:
        raise InputError(f"pad: size={kit.um(sz):g} um is too small for the pad opening")
    s.pin(term, "MET2", x0, y0, x0 + sz, y0 + sz)
    s.pin(term, "MET1", x0, y0, x0 + sz, y0 + sz)
    inner = sz - 2 * en_v
    k = (inner + sp) // (v + sp)
    off = en_v + (inner - (k * v + (k - 1) * sp)) // 2
    vias = []
    for i in range(k):
        for j in range(k):
            x = x0 + off + i * (v + sp)
            y = y0 + off + j * (v + sp)
            vias.append(s.add("VIA1", x, y, x + v, y + v))
    s.add("PASS", x0 + m_pass, y0 + m_pass, x0 + sz - m_pass, y0 + sz - m_pass)
    s.rate(term, *pad_paths(kit, sz, ("MET2", "MET1"), "VIA1", vias))


def pad(kit: PDK, *, name: str, size: float = 80.0) -> DeviceCell:
    """Square DC probe / bond pad: MET1, VIA1 array, MET2, PASS opening.

    Parameters
    ----------
    kit : PDK
        The ganrf025 kit.
    name : str
        Cell name.
    size : float
        Pad edge (um) of MET1 and MET2.

    Returns
    -------
    DeviceCell
        Terminal ``p`` with two pins: the MET2 and the MET1 square::

            +----------------------+   MET2 = MET1 (pins p)
            |  +----------------+  |
            |  | . . PASS . . . |  |   '.' VIA1 array
            |  +----------------+  |
            +----------------------+
    """
    model = _model_of(kit, "pad", name)
    s = _Shapes()
    _pad_at(kit, s, 0, 0, kit.dbu(size), "p", kit.dbu(kit.min_spacing("PASS")))
    return s.build(kit, name, model, {"size": size})


def gsg(kit: PDK, *, name: str, size: float = 60.0, pitch: float = 100.0) -> DeviceCell:
    """Ground-signal-ground RF probe pad.

    Parameters
    ----------
    kit : PDK
        The ganrf025 kit.
    name : str
        Cell name.
    size : float
        Edge (um) of each of the three pads.
    pitch : float
        Probe pitch (um, centre to centre).

    Returns
    -------
    DeviceCell
        Terminals ``s`` (middle pad: MET2 and MET1 pins) and ``g`` (both
        outer pads, MET2 and MET1 pins each).  Each ground pad sits on as many
        backside vias as fit; a MET1 strap under the row joins the two ground
        pads around the signal pad, which stays open to the top::

            +----+   +----+   +----+
            | G  |   | S  |   | G  |      G: BSV below, PASS opening,
            |(v) |   |    |   |(v) |      S: PASS opening
            |    |   +----+   |    |
            |    +------------+    |      MET1 strap (g)
            +----------------------+
    """
    model = _model_of(kit, "gsg", name)
    d = kit.dbu
    sz, pt = d(size), d(pitch)
    strap = d(PIN_MIN_UM)
    gap = max(d(GAP_UM), d(kit.min_spacing("MET1")))
    halo = d(kit.min_spacing("PASS"))
    if pt - sz < max(d(kit.min_spacing("MET2")), d(kit.min_spacing("PASS")), 2 * gap + d(kit.min_width("MET1"))):
        raise InputError(f"{model}: pitch={pitch:g} um leaves too little room between pads of size={size:g} um")
    y0 = strap + gap  # pads above the strap
    s = _Shapes()
    _pad_at(kit, s, 0, y0, sz, "g", halo)
    _pad_at(kit, s, pt, y0, sz, "s", halo)
    _pad_at(kit, s, 2 * pt, y0, sz, "g", halo)
    # ground strap: under the row, up into both ground pads
    s.add("MET1", 0, 0, 2 * pt + sz, strap, terminal="g")
    s.add("MET1", 0, 0, sz, y0 + sz // 2, terminal="g")
    s.add("MET1", 2 * pt, 0, 2 * pt + sz, y0 + sz // 2, terminal="g")
    # backside vias centred under each ground pad
    em = d(kit.enclosure("MET1", "BSVPAD"))
    for gx in (0, 2 * pt):
        nv = 1
        while _via_row(kit, _Shapes(), 0, 0, nv + 1)[0] <= sz - 2 * em:
            nv += 1
        pw, ph = _via_row(kit, _Shapes(), 0, 0, nv)
        _via_row(kit, s, gx + (sz - pw) // 2, y0 + (sz - ph) // 2, nv)
    return s.build(kit, name, model, {"size": size, "pitch": pitch})
