"""Current ratings of device terminals, from the metal a generator draws.

A device's own metal (a power HEMT's fingers and buses, a resistor's contact
head, a pad's plate) carries the current of the net on each of its
terminals.  The routing is checked against the net current by the
``current_density`` rule kind; the metal inside a device cell is checked
through the device's *rating*: every generator reports, per terminal, the
cross-sections the terminal's whole current passes (:class:`Capacity`),
each computed from the geometry it drew and the kit's limits:

* metal: the total width the current crosses (e.g. the drain fingers of a
  HEMT side by side: ``fingers x finger width``) x the layer's
  ``jmax_ma_per_um``;
* cuts: the number of cuts x the layer's ``imax_ma_per_cut``, a cut larger
  than the layer's minimum cut counting as ``floor(area / min_cut_area)``
  cuts (a long contact stripe carries as much as the square contacts that
  fit in it; ``min_cut_area`` is the square of the layer's width rule).

The terminal's rating at an operating temperature is the smallest capacity,
each derated to that temperature with its own layer's Black's-law factor
(:func:`pdk.schema.em_derating`).  Layers without a limit give no capacity.

>>> import pdk
>>> from pdk.base import generate
>>> kit = pdk.load("gan650")
>>> r2 = generate(kit, "hemte", {"w": 200, "nf": 2}).rating("d")
>>> r8 = generate(kit, "hemte", {"w": 200, "nf": 8}).rating("d")
>>> round(r2.amps(kit), 3), round(r8.amps(kit), 3)  # 1 and 4 drain fingers
(0.02, 0.08)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from pdk.schema import PDK, em_derating

Rect = tuple[int, int, int, int]


@dataclass(frozen=True)
class Capacity:
    """One cross-section a terminal's whole current passes: ``parts``
    ``(layer, mA at the layer's reference temperature jmax_ref_c)`` side by
    side (several parts where metals of two layers run in parallel, e.g. a
    finger's MET1 and its MET2 strap); ``what`` says which drawn metal it
    is, in words."""

    parts: tuple[tuple[str, float], ...]
    what: str

    @property
    def ma(self) -> float:
        """The capacity at the layers' reference temperatures (mA)."""
        return sum(m for _, m in self.parts)

    def at(self, kit: PDK, temperature_c: float | None) -> float:
        """The capacity (mA) at ``temperature_c`` (deg C; ``None``: the
        references), each part derated with its own layer's factor.

        Above a layer's reference without an activation energy the capacity
        is unknown: ``nan``."""
        total = 0.0
        for layer, ma in self.parts:
            lay = kit.layer(layer)
            if temperature_c is None or lay.jmax_ref_c is None or temperature_c == lay.jmax_ref_c:
                total += ma
            elif lay.em_ea_ev is None:
                if temperature_c > lay.jmax_ref_c:
                    return math.nan
                total += ma
            else:
                total += ma * em_derating(temperature_c, lay.jmax_ref_c, lay.em_ea_ev)
        return total


def parallel(what: str, *caps: "Capacity | None") -> Capacity | None:
    """Cross-sections side by side (e.g. MET1 fingers and their MET2
    straps): one capacity with all their parts; ``None`` when none."""
    got = [c for c in caps if c is not None]
    if not got:
        return None
    return Capacity(tuple(p for c in got for p in c.parts), f"{what}: " + " + ".join(c.what for c in got))


@dataclass(frozen=True)
class Rating:
    """The current rating of one terminal: the smallest of its ``paths``.

    ``max_ma``: the most current the device itself passes through the
    terminal (mA; a transistor's saturated channel, ``isat_ma_per_mm`` x its
    width; 0 for a capacitor, which passes no DC); ``None``: unbounded.  The
    check takes the smaller of the net's current and ``max_ma`` through the
    terminal."""

    terminal: str
    paths: tuple[Capacity, ...]
    max_ma: float | None = None

    def limiting(self, kit: PDK, temperature_c: float | None = None) -> tuple[float, Capacity]:
        """``(amps, capacity)``: the rating at ``temperature_c`` and the
        cross-section that sets it (``nan`` amps when it cannot be derated)."""
        at = [(c.at(kit, temperature_c), k) for k, c in enumerate(self.paths)]
        bad = [k for v, k in at if math.isnan(v)]
        if bad:
            return math.nan, self.paths[bad[0]]
        v, k = min(at)
        return v / 1000.0, self.paths[k]

    def amps(self, kit: PDK, temperature_c: float | None = None) -> float:
        """The rating (A) at ``temperature_c`` (``None``: reference temperatures)."""
        return self.limiting(kit, temperature_c)[0]


def metal(kit: PDK, layer: str, width_dbu: int, what: str) -> Capacity | None:
    """``width_dbu`` of ``layer`` side by side across the current; ``None``
    when the layer has no current-density limit."""
    j = kit.layer(layer).jmax_ma_per_um
    if j is None:
        return None
    w = kit.um(width_dbu)
    return Capacity(((layer, w * j),), f"{what}: {w:g} um of {layer} at {j:g} mA/um")


def cut_count(kit: PDK, layer: str, rects: Iterable[Rect]) -> int:
    """Equivalent number of minimum cuts in ``rects`` (dbu): each counts
    ``floor(area / min_cut_area)``, at least 1."""
    a = kit.dbu(kit.min_width(layer)) ** 2 if kit.min_width(layer) else 0
    n = 0
    for x0, y0, x1, y1 in rects:
        area = (x1 - x0) * (y1 - y0)
        n += max(1, area // a) if a > 0 else 1
    return int(n)


def cuts(kit: PDK, layer: str, rects: Iterable[Rect], what: str) -> Capacity | None:
    """The cuts ``rects`` of ``layer`` in parallel; ``None`` when the layer
    has no current limit per cut or ``rects`` is empty."""
    imax = kit.layer(layer).imax_ma_per_cut
    rects = list(rects)
    if imax is None or not rects:
        return None
    n = cut_count(kit, layer, rects)
    return Capacity(((layer, n * imax),), f"{what}: {n} {layer} cut(s) at {imax:g} mA")


def ratings(paths: dict[str, list[Capacity | None]], bounds: dict[str, float] | None = None) -> tuple[Rating, ...]:
    """Terminal -> capacities (``None`` entries dropped) as ratings, with
    ``bounds`` (terminal -> ``max_ma``); a terminal left with no capacity
    has no rating."""
    b = bounds or {}
    return tuple(
        Rating(t, tuple(c for c in cs if c is not None), b.get(t))
        for t, cs in sorted(paths.items()) if any(c is not None for c in cs)
    )


def channel_bound(kit: PDK, model: str, width_um: float) -> float | None:
    """The most current (mA) device ``model`` conducts over ``width_um`` of
    channel: its ``isat_ma_per_mm`` x the width; ``None`` when the kit gives
    no ``isat_ma_per_mm`` for it."""
    isat = kit.device(model).isat_ma_per_mm
    return None if isat is None else isat * width_um / 1000.0


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def default_paths(kit: PDK, items, terminals: Iterable[str]) -> dict[str, list[Capacity | None]]:
    """Capacities of each terminal from drawn rectangles alone, for a
    generator that states none: ``items`` are ``(layer, rect, terminal,
    is_pin)`` (:class:`pdk.draw.DbuShapes`).

    Per conducting layer with a limit, the terminal's metal other than its
    pins (fingers, straps, necks) is taken as parallel paths, each as wide
    as its narrow side; a terminal whose only metal on the layer is its pins
    is taken by the pins' narrow sides.  Per cut layer with a limit, the
    cuts overlapping the terminal's metal (:func:`cut_count`)."""
    out: dict[str, list[Capacity | None]] = {}
    cut_rects: dict[str, list[Rect]] = {}
    for layer, r, term, _ in items:
        if term is None and kit.layer(layer).purpose == "cut":
            cut_rects.setdefault(layer, []).append(r)
    for t in sorted(set(terminals)):
        caps: list[Capacity | None] = []
        mine = [(layer, r, pin) for layer, r, term, pin in items if term == t]
        for layer in dict.fromkeys(layer for layer, _, _ in mine):
            if kit.layer(layer).jmax_ma_per_um is None:
                continue
            body = [r for ly, r, pin in mine if ly == layer and not pin] or [r for ly, r, _ in mine if ly == layer]
            w = sum(min(r[2] - r[0], r[3] - r[1]) for r in body)
            what = f"{len(body)} {'pin' if all(pin for ly, _, pin in mine if ly == layer) else 'shape'}(s) side by side"
            caps.append(metal(kit, layer, w, what))
        for layer, rects in cut_rects.items():
            hit = [c for c in rects if any(_overlap(c, r) for _, r, _ in mine)]
            caps.append(cuts(kit, layer, hit, "cuts under its metal"))
        out[t] = caps
    return out


def pad_paths(kit: PDK, side_dbu: int, plates: Iterable[str], via_layer: str, vias: Iterable[Rect]) -> list[Capacity | None]:
    """A pad's stacked plates (each ``side_dbu`` wide, joined over their
    whole area by the via array ``vias``): the plates side by side (a route
    on either layer spreads into both through the array) and the array."""
    return [
        parallel("plates", *(metal(kit, n, side_dbu, f"{n} plate") for n in plates)),
        cuts(kit, via_layer, vias, "via array"),
    ]
