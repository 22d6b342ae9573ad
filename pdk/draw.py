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
