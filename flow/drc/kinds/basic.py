"""``width``, ``spacing`` (one or two layers) and ``enclosure``.

=============  ===============================================================
kind           what is flagged (marker)
=============  ===============================================================
``width``      two edges of one polygon facing each other through the inside
               closer than ``value`` (edge pair), like ``Region.width_check``
``spacing``    edges facing each other through the outside closer than
               ``value``: between polygons and within one (notches), like
               ``Region.space_check``; with ``other``: ``layer`` to ``other``
               like ``Region.separation_check`` (overlapping shapes are not a
               spacing violation)
``enclosure``  an edge of ``other`` inside ``layer`` closer than ``value`` to
               ``layer``'s boundary (edge pair), like
               ``Region.enclosing_check``; **and**, stricter than KLayout's
               check (which ignores shapes wholly or partly outside), every
               part of ``other`` not covered by ``layer`` (polygon marker)
=============  ===============================================================
"""

from __future__ import annotations

import gdstk
import numpy as np

from flow.drc import edges as E
from flow.drc.core import (
    CheckContext,
    KindImpl,
    Layers,
    PolygonMarker,
    Violation,
    edge_pair_violations,
    register,
)
from pdk.schema import PDK, Rule


def uncovered(inner: list[np.ndarray], outer: list[np.ndarray]) -> list[PolygonMarker]:
    """Parts of ``inner`` not covered by ``outer`` (dbu polygons)."""
    if not inner:
        return []
    a = [gdstk.Polygon(p.astype(np.float64)) for p in inner]
    b = [gdstk.Polygon(p.astype(np.float64)) for p in outer]
    out: list[PolygonMarker] = []
    for poly in gdstk.boolean(a, b, "not", precision=1.0):
        pts = np.rint(poly.points).astype(np.int64)
        pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]
        if len(pts) >= 3 and abs(poly.area()) > 0.5:
            out.append(tuple((int(x), int(y)) for x, y in pts.tolist()))
    return out


def check_width(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    d = kit.dbu(rule.value)
    e, pid = layers.merged(rule.layer)
    if d <= 0 or len(e) == 0:
        return []
    _, _, m, dist = E.facing_pairs(e, None, d, same_id=pid)
    return edge_pair_violations(rule, kit, m, dist)


def check_spacing(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    d = kit.dbu(rule.value)
    e, _ = layers.merged(rule.layer)
    if d <= 0 or len(e) == 0:
        return []
    if rule.other is None or rule.other == rule.layer:
        _, _, m, dist = E.facing_pairs(E.reverse(e), None, d)
    else:
        f, _ = layers.merged(rule.other)
        if len(f) == 0:
            return []
        _, _, m, dist = E.facing_pairs(E.reverse(e), E.reverse(f), d)
    return edge_pair_violations(rule, kit, m, dist)


def check_enclosure(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    assert rule.other is not None
    d = kit.dbu(rule.value)
    out: list[Violation] = []
    outer, _ = layers.merged(rule.layer)
    inner, _ = layers.merged(rule.other)
    if d > 0 and len(outer) and len(inner):
        _, _, m, dist = E.facing_pairs(outer, E.reverse(inner), d)
        out += edge_pair_violations(rule, kit, m, dist)
    for poly in uncovered(layers.polygons(rule.other), layers.polygons(rule.layer)):
        out.append(Violation(rule.id, rule.kind, rule.layer, rule.other, rule.value, None, poly))
    return out


WIDTH = register(KindImpl("width", check_width))
SPACING = register(KindImpl("spacing", check_spacing))
ENCLOSURE = register(KindImpl("enclosure", check_enclosure))
