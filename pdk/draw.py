"""Drawing helpers shared by the kits' device generators (integer dbu).

Generators lay out rectangles in database units, where every rule value is
exact, and shift the finished cell so its bounding box starts at the origin:

>>> import pdk
>>> kit = pdk.load("gan650")
>>> s = DbuShapes()
>>> s.add("MET1", 1000, 1000, 11000, 5000)
(1000, 1000, 11000, 5000)
>>> _ = s.pin("a", "MET1", 1000, 1000, 5000, 5000)
>>> cell = s.build(kit, "demo", "pad", {})
>>> cell.cell.bounding_box()
((0.0, 0.0), (10.0, 4.0))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from pdk.base import CellBuilder, DeviceCell, Rect
from pdk.schema import PDK


class DbuShapes:
    """Rectangles (dbu) collected before drawing; :meth:`build` shifts them so
    the bounding box starts at (0, 0) and draws them with :class:`CellBuilder`."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Rect, str | None, bool]] = []
        #: terminal -> capacities the generator states (:mod:`pdk.rating`);
        #: terminals without get :func:`pdk.rating.default_paths`.
        self.paths: dict[str, list] = {}
        #: terminal -> the most current (mA) the device passes through it.
        self.bounds: dict[str, float] = {}

    def rate(self, terminal: str, *capacities, max_ma: float | None = None) -> None:
        """State the cross-sections ``terminal``'s current passes
        (:class:`pdk.rating.Capacity`, ``None`` entries ignored) and the
        most current the device passes through it (``max_ma``, mA)."""
        self.paths.setdefault(terminal, []).extend(capacities)
        if max_ma is not None:
            self.bounds[terminal] = max_ma

    @staticmethod
    def _norm(x0: int, y0: int, x1: int, y1: int) -> Rect:
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    def add(self, layer: str, x0: int, y0: int, x1: int, y1: int, terminal: str | None = None) -> Rect:
        """A drawn rectangle (optionally part of ``terminal``'s conductor)."""
        r = self._norm(x0, y0, x1, y1)
        self.items.append((layer, r, terminal, False))
        return r

    def pin(self, terminal: str, layer: str, x0: int, y0: int, x1: int, y1: int) -> Rect:
        """A pin rectangle of ``terminal`` (drawn, and where the router connects)."""
        r = self._norm(x0, y0, x1, y1)
        self.items.append((layer, r, terminal, True))
        return r

    def ring(self, layer: str, inner: Rect, width: int) -> None:
        """A rectangular ring of ``width`` around ``inner``, as four rectangles."""
        x0, y0, x1, y1 = inner
        self.add(layer, x0 - width, y0 - width, x1 + width, y0)
        self.add(layer, x0 - width, y1, x1 + width, y1 + width)
        self.add(layer, x0 - width, y0, x0, y1)
        self.add(layer, x1, y0, x1 + width, y1)

    def bbox(self) -> Rect:
        """Bounding box of everything added so far."""
        return (
            min(r[0] for _, r, _, _ in self.items),
            min(r[1] for _, r, _, _ in self.items),
            max(r[2] for _, r, _, _ in self.items),
            max(r[3] for _, r, _, _ in self.items),
        )

    def build(self, kit: PDK, name: str, model: str, params: Mapping[str, Any]) -> DeviceCell:
        """Draw every shape shifted so the bounding box starts at (0, 0)."""
        ox, oy, _, _ = self.bbox()
        u = kit.dbu_um
        b = CellBuilder(kit, name)
        for layer, (x0, y0, x1, y1), term, is_pin in self.items:
            c = ((x0 - ox) * u, (y0 - oy) * u, (x1 - ox) * u, (y1 - oy) * u)
            if is_pin:
                assert term is not None
                b.pin(term, layer, *c)
            else:
                b.rect(layer, *c, terminal=term)
        from pdk.rating import default_paths, ratings

        terms = {t for _, _, t, _ in self.items if t is not None}
        stated = {t: [c for c in cs if c is not None] for t, cs in self.paths.items()}
        stated = {t: cs for t, cs in stated.items() if cs}
        paths = default_paths(kit, self.items, terms - set(stated))
        paths.update(stated)
        return dataclasses.replace(b.build(model, params), ratings=ratings(paths, self.bounds))


def grow_span(lo: int, hi: int, minimum: int, direction: int) -> tuple[int, int]:
    """Widen ``[lo, hi]`` to at least ``minimum``: downwards (``direction``
    < 0), upwards (> 0) or evenly both ways (0).

    >>> grow_span(0, 4, 10, -1), grow_span(0, 4, 10, 1), grow_span(0, 4, 9, 0)
    ((-6, 4), (0, 10), (-2, 7))
    """
    short = minimum - (hi - lo)
    if short <= 0:
        return lo, hi
    if direction < 0:
        return lo - short, hi
    if direction > 0:
        return lo, hi + short
    return lo - short // 2, hi + short - short // 2


def finger_straps(
    s: DbuShapes, xo: list[int], wo: int, ws: int, conts: dict[str, list[Rect]], en_c: int,
    pin: int, yd0: int, yd1: int, v: int, vsp: int, en_v: int,
) -> tuple[dict[str, list[Rect]], dict[str, list[Rect]]]:
    """MET2 straps ``ws`` wide over a HEMT's ohmic fingers (at ``xo``,
    ``wo`` wide; even ones source, odd ones drain, with their contacts
    ``conts``), from the source bus (``y = 0``, ``pin`` high) or to the drain
    bus (``yd0`` to ``yd1``), and VIA1 (``v`` wide, ``vsp`` apart, ``en_v``
    enclosed) along the finger only: the bus stays free for the router's own
    via cover (the strap's end over the bus meets the cover's MET2
    directly).  Returns the straps and the vias per terminal."""
    straps: dict[str, list[Rect]] = {"s": [], "d": []}
    svias: dict[str, list[Rect]] = {"s": [], "d": []}
    for k, x in enumerate(xo):
        t = "s" if k % 2 == 0 else "d"
        xc = x + wo // 2
        c = conts[t][k // 2]
        y0, y1 = (0, c[3] + en_c) if t == "s" else (c[1] - en_c, yd1)
        straps[t].append(s.add("MET2", xc - ws // 2, y0, xc - ws // 2 + ws, y1, terminal=t))
        f0, f1 = (pin, y1) if t == "s" else (y0, yd0)
        n = (f1 - f0 - 2 * en_v + vsp) // (v + vsp)
        yv = f0 + (f1 - f0 - (n * v + (n - 1) * vsp)) // 2
        for j in range(n):
            svias[t].append(s.add("VIA1", xc - v // 2, yv + j * (v + vsp), xc - v // 2 + v, yv + j * (v + vsp) + v))
    return straps, svias


def rate_fingers(
    s: DbuShapes, kit: PDK, model: str, width_um: float, wo: int, ws: int, fingers: dict[str, list[Rect]],
    straps: dict[str, list[Rect]], conts: dict[str, list[Rect]], svias: dict[str, list[Rect]],
) -> None:
    """Ratings of a HEMT's drain and source: each finger carries its share
    between its bus (the pin, landed across its whole length) and its
    contact, so the fingers side by side (MET1 ``wo`` wide, with their MET2
    straps ``ws`` wide) and their contacts and strap vias are the
    cross-sections the whole current passes, bounded by the channel of
    ``width_um`` of gate (:func:`pdk.rating.channel_bound`)."""
    from pdk.rating import channel_bound, cuts, metal, parallel

    sat = channel_bound(kit, model, width_um)
    for t, name_ in (("d", "drain"), ("s", "source")):
        cap = metal(kit, "MET1", sum(r[2] - r[0] for r in fingers[t]), f"{len(fingers[t])} {name_} finger(s) {kit.um(wo):g} um wide")
        if straps[t]:
            cap = parallel(f"{name_} fingers and straps", cap,
                           metal(kit, "MET2", sum(r[2] - r[0] for r in straps[t]), f"{len(straps[t])} MET2 strap(s) {kit.um(ws):g} um wide"))
        s.rate(t, cap, cuts(kit, "CONT", conts[t], f"{name_} contacts"),
               cuts(kit, "VIA1", svias[t], f"{name_} strap vias"), max_ma=sat)
