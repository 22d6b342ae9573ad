"""Device generators of the gan650 kit: HEMTs, 2DEG resistor, bond pad.

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
* HEMTs and resistors draw no VIA1 and no MET2;
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
from collections.abc import Mapping
from typing import Any

from flow.errors import InputError, PDKError
from pdk.base import CellBuilder, DeviceCell
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
#: Free gap (um) between a bus and the next structure (>= MET1 spacing).
GAP_UM = 3.0
#: Ohmic contact length of the 2DEG resistor, along the current (um).
RES_CONTACT_UM = 10.0
#: A 2DEG resistor body longer than this (um) is folded into a serpentine.
RES_RUN_MAX_UM = 200.0
#: Resistance of a 90-degree corner square of the resistor body, in squares.
CORNER_SQUARES = 0.56

Rect = tuple[int, int, int, int]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


class _Shapes:
    """Rectangles in dbu, collected before drawing so the cell can be shifted
    to put its bounding box at the origin."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Rect, str | None, bool]] = []

    def add(self, layer: str, x0: int, y0: int, x1: int, y1: int, terminal: str | None = None) -> None:
        self.items.append((layer, (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), terminal, False))

    def pin(self, terminal: str, layer: str, x0: int, y0: int, x1: int, y1: int) -> None:
        self.items.append((layer, (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), terminal, True))

    def build(self, kit: PDK, name: str, model: str, params: Mapping[str, Any]) -> DeviceCell:
        """Draw every shape shifted so the bounding box starts at (0, 0)."""
        ox = min(r[0] for _, r, _, _ in self.items)
        oy = min(r[1] for _, r, _, _ in self.items)
        u = kit.dbu_um
        b = CellBuilder(kit, name)
        for layer, (x0, y0, x1, y1), term, is_pin in self.items:
            c = ((x0 - ox) * u, (y0 - oy) * u, (x1 - ox) * u, (y1 - oy) * u)
            if is_pin:
                assert term is not None
                b.pin(term, layer, *c)
            else:
                b.rect(layer, *c, terminal=term)
        return b.build(model, params)


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

    Returns
    -------
    DeviceCell
        Terminals ``d``, ``g``, ``s``.  Pins (MET1): the source bus (bottom),
        the drain bus (top), each spanning the mesa and :data:`PIN_MIN_UM`
        high, and the gate pad (lower left, :data:`GATE_PAD_UM` square).

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

    Generation is linear in ``nf`` (about five rectangles per finger).
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
    # -- y: source bus, gate bus, mesa, drain bus
    yg0 = pin + d(2.0)
    yg1 = yg0 + gbus
    ym0 = yg1 + d(2.0)
    ym1 = ym0 + wf
    yd0 = ym1 + max(gap, gate_ext + d(1.0))
    yd1 = yd0 + pin

    s = _Shapes()
    s.add("MESA", xm0, ym0, xm1, ym1)
    s.pin("s", "MET1", xm0, 0, xm1, pin)
    s.pin("d", "MET1", xm0, yd0, xm1, yd1)
    for k, x in enumerate(xo):
        ohm = (x, ym0 + en_mo, x + wo, ym1 - en_mo)
        c = _cont_in(kit, ohm, en_c)
        s.add("OHMIC", *ohm)
        s.add("CONT", *c)
        if k % 2 == 0:  # source finger: down to the source bus
            s.add("MET1", x, pin // 2, x + wo, c[3] + en_c, terminal="s")
        else:  # drain finger: up to the drain bus
            s.add("MET1", x, c[1] - en_c, x + wo, yd0 + pin // 2, terminal="d")
    xg_last = 0
    for k in range(nf):
        xg = xo[k] + wo + (ls if k % 2 == 0 else ld)
        s.add("GATE", xg, yg0, xg + lg, ym1 + gate_ext)
        if mode == "e":
            s.add("PGAN", xg, ym0 - pgan_ext, xg + lg, ym1 + pgan_ext)
        xg_last = xg + lg
    s.add("GATE", 0, yg0, xg_last, yg1)  # gate bus
    py0 = yg1 - pad
    s.add("GATE", 0, py0, pad, yg1)  # gate pad
    cin = max(en_c, d(1.0))
    s.add("CONT", cin, py0 + cin, pad - cin, yg1 - cin)
    s.pin("g", "MET1", 0, py0, pad, yg1)
    return s.build(kit, name, model, {"w": w, "l": l, "nf": nf, "lgd": lgd})


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
        m0, m1 = c[1] - en_c, c[3] + en_c
        short = pin - (m1 - m0)
        if short > 0:
            if grow < 0:
                m0 -= short
            elif grow > 0:
                m1 += short
            else:
                m0 -= short // 2
                m1 += short - short // 2
        s.pin(term, "MET1", x0, m0, x1, m1)

    last_left = (runs - 1) % 2 == 1
    contact("p", ys[0], True, -1 if runs > 1 else 0)
    contact("n", ys[-1], last_left, 1 if runs > 1 else 0)
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
    for i in range(n):
        for j in range(n):
            x = x0 + i * (v + sp)
            y = x0 + j * (v + sp)
            s.add("VIA1", x, y, x + v, y + v)
    s.add("PASS", m_pass, m_pass, sz - m_pass, sz - m_pass)
    return s.build(kit, name, model, {"size": size})
