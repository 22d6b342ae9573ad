"""What each net's class asks of the router: widths, via cuts, clearances.

A design's net classes (``[[net_class]]`` in design.toml) give a net its
``current`` (A) and ``voltage`` (V).  From those and the kit this module
derives, per net:

* the **wire width per routing metal**: ``current / J`` where ``J`` is the
  metal's current-density limit (``jmax_ma_per_um``, mA per um of width)
  derated to the operating temperature, never below the metal's minimum
  width, rounded *up* to ``snap_um``;
* the **via cuts per layer change**: ``ceil(current / I_cut)`` with ``I_cut``
  the cut layer's per-cut limit (``imax_ma_per_cut``), at least one;
* the **clearance to another net** on a metal: the largest of the metal's
  ``spacing`` rules and the row of each of its ``voltage_spacing`` rules for
  ``|V1 - V2|`` (:meth:`pdk.schema.Rule.spacing_for`, step policy).

Derating (Black's law): above the reference temperature ``jmax_ref_c`` a
limit shrinks by ``exp(Ea / (2 k) * (1 / T - 1 / T_ref))`` (kelvin,
:func:`pdk.schema.em_derating`); below it no
credit is taken.  Where the kit leaves a figure out, a conservative default
is used and recorded in :attr:`Limits.notes` (shown in the route report):

* no ``jmax_ma_per_um``: 1 mA/um per um of ``thickness_um`` (0.1 MA/cm2, a
  tenth of a typical aluminium limit), 0.5 um thickness if that is missing too;
* no ``imax_ma_per_cut``: what a wire as wide as the cut carries on the
  weaker of the two metals it joins;
* no ``jmax_ref_c``: the limit is taken as holding at 25 C only;
* no ``em_ea_ev``: 0.9 eV (gold-like; a larger Ea derates harder above T_ref).

>>> import pdk
>>> kit = pdk.load("gan650")
>>> lim = limits(kit)
>>> rules = net_rules(kit, {"SW": (650.0, 10.0), "a": (None, None)}, lim)
>>> rules["a"].width == {"MET1": 2000, "MET2": 3000}
True
>>> rules["SW"].cuts["VIA1"] >= 1
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pdk.schema import PDK, em_derating

#: Boltzmann constant, eV/K.
K_B_EV = 8.617333262e-5
#: Defaults used where the kit is silent (see module docstring).
DEFAULT_J_PER_UM_THICK = 1.0
DEFAULT_THICKNESS_UM = 0.5
DEFAULT_REF_C = 25.0
DEFAULT_EA_EV = 0.9


@dataclass(frozen=True)
class Limits:
    """Derated current limits of a kit's routing stack at one temperature.

    Attributes
    ----------
    jmax : Mapping[str, float]
        Routing metal -> wire limit, mA per um of width.
    imax : Mapping[str, float]
        Routing cut layer -> limit per cut, mA.
    temperature_c : float | None
        Operating temperature; None: each layer at its reference (no derating).
    notes : tuple[str, ...]
        Every default assumed, one line each.
    """

    jmax: Mapping[str, float]
    imax: Mapping[str, float]
    temperature_c: float | None
    notes: tuple[str, ...] = ()


def derating(temperature_c: float | None, ref_c: float, ea_ev: float) -> float:
    """Factor (<= 1) applied to a limit that holds at ``ref_c``, at ``temperature_c``.

    >>> derating(None, 105.0, 0.9)
    1.0
    >>> derating(25.0, 105.0, 0.9)   # colder than the reference: no credit
    1.0
    >>> round(derating(125.0, 105.0, 0.9), 3)
    0.5
    """
    if temperature_c is None or temperature_c <= ref_c:
        return 1.0
    return em_derating(temperature_c, ref_c, ea_ev)


def limits(kit: PDK, temperature_c: float | None = None) -> Limits:
    """The derated wire and cut limits of ``kit``'s routing stack."""
    notes: list[str] = []
    jmax: dict[str, float] = {}
    imax: dict[str, float] = {}

    def factor(name: str) -> float:
        lay = kit.layers[name]
        ref = lay.jmax_ref_c
        ea = lay.em_ea_ev
        if temperature_c is not None and temperature_c > (ref if ref is not None else DEFAULT_REF_C):
            if ref is None:
                notes.append(f"{name}: no jmax_ref_c; the limit is taken as holding at {DEFAULT_REF_C:g} C")
            if ea is None:
                notes.append(f"{name}: no em_ea_ev; derating with {DEFAULT_EA_EV:g} eV")
        return derating(
            temperature_c, DEFAULT_REF_C if ref is None else ref, DEFAULT_EA_EV if ea is None else ea
        )

    for m in kit.routing_metals:
        lay = kit.layers[m]
        j = lay.jmax_ma_per_um
        if j is None:
            t = lay.thickness_um
            if t is None:
                t = DEFAULT_THICKNESS_UM
                notes.append(
                    f"{m}: no jmax_ma_per_um nor thickness_um; assumed {DEFAULT_J_PER_UM_THICK * t:g} mA/um "
                    f"({DEFAULT_J_PER_UM_THICK:g} mA/um per um of an assumed {t:g} um thickness)"
                )
            else:
                notes.append(
                    f"{m}: no jmax_ma_per_um; assumed {DEFAULT_J_PER_UM_THICK * t:g} mA/um "
                    f"({DEFAULT_J_PER_UM_THICK:g} mA/um per um of its {t:g} um thickness)"
                )
            j = DEFAULT_J_PER_UM_THICK * t
        jmax[m] = j * factor(m)
    metals = kit.routing_metals
    for c, cut in enumerate(kit.routing_cuts):
        lay = kit.layers[cut]
        i = lay.imax_ma_per_cut
        if i is None:
            size = kit.min_width(cut)
            weaker = min(metals[c], metals[c + 1], key=lambda m: jmax[m])
            i = jmax[weaker] * size
            notes.append(
                f"{cut}: no imax_ma_per_cut; assumed {i:g} mA per cut (a {size:g} um wide {weaker} wire)"
            )
            imax[cut] = i
        else:
            imax[cut] = i * factor(cut)
    return Limits(MappingProxyType(jmax), MappingProxyType(imax), temperature_c, tuple(notes))


@dataclass(frozen=True)
class NetRule:
    """What the router must draw for one net.

    Attributes
    ----------
    net : str
    voltage, current : float | None
        From the net's class (V, A); None when no class gives one.
    width : Mapping[str, int]
        Routing metal -> wire width to draw, dbu (>= min width, snapped up).
    need : Mapping[str, float]
        Routing metal -> width the current alone needs, um (0 without current).
    cuts : Mapping[str, int]
        Routing cut -> cuts needed wherever the net changes layer through it.
    """

    net: str
    voltage: float | None
    current: float | None
    width: Mapping[str, int]
    need: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    cuts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: Some width exceeds its metal's minimum (set by the current).
    wide: bool = False


def _snap_up(um: float, snap_um: float) -> float:
    steps = math.ceil(um / snap_um - 1e-9)
    return steps * snap_um


def net_rules(
    kit: PDK,
    nets: Mapping[str, tuple[float | None, float | None]],
    lim: Limits,
    snap_um: float = 0.5,
) -> dict[str, NetRule]:
    """Per net ``(voltage V, current A)``: the widths and cut counts to draw.

    Widths are ``max(min width, current / jmax)`` rounded up to ``snap_um``
    (a width the current needs is never rounded down); a net without a
    current gets each metal's minimum width and one cut.
    """
    out: dict[str, NetRule] = {}
    for net, (volt, amp) in nets.items():
        width: dict[str, int] = {}
        need: dict[str, float] = {}
        wider = False
        for m in kit.routing_metals:
            wmin = kit.min_width(m)
            n = 0.0 if not amp else amp * 1000.0 / lim.jmax[m]
            need[m] = n
            w = wmin if n <= wmin else max(wmin, _snap_up(n, snap_um))
            wider = wider or w > wmin
            width[m] = kit.dbu(w)
        cuts = {c: 1 if not amp else max(1, math.ceil(amp * 1000.0 / lim.imax[c] - 1e-9)) for c in kit.routing_cuts}
        out[net] = NetRule(
            net, volt, amp, MappingProxyType(width), MappingProxyType(need), MappingProxyType(cuts), wider
        )
    return out


def clearance(kit: PDK, layer: str, v1: float | None, v2: float | None) -> int:
    """Spacing (dbu) two different nets at ``v1``, ``v2`` volts keep on ``layer``.

    The largest ``spacing`` rule of the layer and, when both voltages are
    known, every ``voltage_spacing`` row for ``|v1 - v2|``.  An unknown voltage
    gets the basic spacing (the DRC reports such pairs as not checked).
    """
    s = kit.min_spacing(layer)
    if v1 is not None and v2 is not None:
        dv = abs(v1 - v2)
        for r in kit.rules_of("voltage_spacing", layer):
            if r.other in (None, layer):
                s = max(s, r.spacing_for(dv))
    return kit.dbu(s)


def has_voltage_rules(kit: PDK, layers: Iterable[str]) -> bool:
    """True when ``kit`` has a voltage_spacing rule on one of ``layers``."""
    names = set(layers)
    return any(r.layer in names and r.other in (None, r.layer) for r in kit.rules_of("voltage_spacing"))


def density(
    kit: PDK, rule: NetRule, lim: Limits, drawn: Mapping[str, int], cuts: Mapping[str, int]
) -> dict[str, object]:
    """Worst current density of a routed net, against the limits.

    ``drawn``: metal -> narrowest wire width drawn (dbu); ``cuts``: cut
    layer -> fewest cuts at one layer change.  Returns a JSON-ready dict:
    ``layer`` and ``ma_per_um`` / ``limit_ma_per_um`` of the worst metal
    (``ratio`` = density / limit; above 1 is over the limit), ``layers``
    the same per metal (with the ``width_um`` it was computed from), ``vias``
    per cut layer (``ma_per_cut``, ``limit_ma_per_cut``, ``ratio``).
    Without a current everything is None.
    """
    amp = rule.current
    out: dict[str, object] = {"current_a": amp, "voltage_v": rule.voltage}
    if not amp:
        out.update(layer=None, ma_per_um=None, limit_ma_per_um=None, ratio=None, layers={}, vias={})
        return out
    worst: tuple[float, str, float] | None = None
    layers: dict[str, object] = {}
    for m, w in sorted(drawn.items()):
        j = amp * 1000.0 / (w * kit.dbu_um)
        r = j / lim.jmax[m]
        layers[m] = {"width_um": round(w * kit.dbu_um, 6), "ma_per_um": round(j, 3),
                     "limit_ma_per_um": round(lim.jmax[m], 3), "ratio": round(r, 3)}
        if worst is None or r > worst[0]:
            worst = (r, m, j)
    vias: dict[str, object] = {}
    for c, n in sorted(cuts.items()):
        i = amp * 1000.0 / n
        vias[c] = {"cuts": n, "ma_per_cut": round(i, 3), "limit_ma_per_cut": round(lim.imax[c], 3),
                   "ratio": round(i / lim.imax[c], 3)}
    if worst is None:
        out.update(layer=None, ma_per_um=None, limit_ma_per_um=None, ratio=None, layers=layers, vias=vias)
    else:
        r, m, j = worst
        out.update(layer=m, ma_per_um=round(j, 3), limit_ma_per_um=round(lim.jmax[m], 3), ratio=round(r, 3),
                   layers=layers, vias=vias)
    return out
