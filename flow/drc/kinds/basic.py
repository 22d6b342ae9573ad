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
    SelfTest,
    Violation,
    edge_pair_violations,
    rect,
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
    _, _, m, dist = E.facing_pairs(e, None, d, same_id=pid, metric=rule.metric)
    return edge_pair_violations(rule, kit, m, dist)


def check_spacing(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    d = kit.dbu(rule.value)
    e, pid = layers.merged(rule.layer)
    if d <= 0 or len(e) == 0:
        return []
    if rule.other is None or rule.other == rule.layer:
        _, _, m, dist = E.facing_pairs(E.reverse(e), None, d, metric=rule.metric)
    else:
        f, _ = layers.merged(rule.other)
        if len(f) == 0:
            return []
        _, _, m, dist = E.facing_pairs(E.reverse(e), E.reverse(f), d, metric=rule.metric, pid_a=pid)
    return edge_pair_violations(rule, kit, m, dist)


def enclosure_pairs(rule: Rule, kit: PDK, layers: Layers) -> list[Violation]:
    """The edge-pair markers of an ``enclosure`` rule (margins below value)."""
    assert rule.other is not None
    d = kit.dbu(rule.value)
    outer, pid = layers.merged(rule.layer)
    inner, _ = layers.merged(rule.other)
    if d > 0 and len(outer) and len(inner):
        _, _, m, dist = E.facing_pairs(outer, E.reverse(inner), d, metric=rule.metric, pid_a=pid)
        return edge_pair_violations(rule, kit, m, dist)
    return []


def check_enclosure(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    assert rule.other is not None
    out = enclosure_pairs(rule, kit, layers)
    for poly in uncovered(layers.polygons(rule.other), layers.polygons(rule.layer)):
        out.append(Violation(rule.id, rule.kind, rule.layer, rule.other, rule.value, None, poly))
    return out


# -- self-tests ----------------------------------------------------------------
#
# Shapes of one self-test stand at least 2 * value + 1 um apart, so that only
# the intended pairs can be closer than the rule value.  Expected counts are
# the same in KLayout (the exported deck is compared on these layouts).


def _gap(d: int, kit: PDK) -> int:
    """Distance between unrelated shapes of one self-test (dbu)."""
    return 2 * d + kit.dbu(1.0)


def _bar(d: int) -> int:
    """Length of a test bar of width ``d``: long enough to face along a line."""
    return 4 * max(d, 1)


def selftests_width(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``width``: bars and an L exactly ``value`` wide pass; a bar 1 dbu narrower fails once."""
    d = kit.dbu(rule.value)
    L, g = _bar(d), _gap(d, kit)
    ell = np.array([[0, 0], [L, 0], [L, d], [d, d], [d, L], [0, L]], dtype=np.int64)
    ok = [rect(0, 0, L, d), rect(L + g, 0, L + g + d, L), ell + [2 * (L + g), 0]]
    tests = [SelfTest("at value", {rule.layer: ok}, 0, f"a bar, a column and an L, all {rule.value:g} um wide")]
    if d >= 2:
        bad = [rect(0, 0, L, d - 1), rect(0, d - 1 + g, L, 2 * d - 1 + g)]
        tests.append(SelfTest("1 dbu below value", {rule.layer: bad}, 1, "a bar 1 dbu narrower than the rule next to one at the rule value"))
    return tests


def selftests_spacing(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``spacing``: pairs (and for one layer a U-shaped notch) exactly ``value``
    apart pass; 1 dbu closer fails once per pair."""
    d = kit.dbu(rule.value)
    w = max(d, kit.dbu(1.0))
    L, g = _bar(w), _gap(d, kit)
    two = rule.other is not None and rule.other != rule.layer
    b_layer = rule.other if two else rule.layer

    def pair(x: int, gap: int) -> tuple[np.ndarray, np.ndarray]:
        return rect(x, 0, x + w, L), rect(x + w + gap, 0, x + 2 * w + gap, L)

    def notch(x: int, gap: int) -> np.ndarray:
        # a U: two arms of width w, ``gap`` apart, on a base w high
        return np.array(
            [[x, 0], [x + 2 * w + gap, 0], [x + 2 * w + gap, L], [x + w + gap, L],
             [x + w + gap, w], [x + w, w], [x + w, L], [x, L]],
            dtype=np.int64,
        )

    def layout(gaps: list[int]) -> dict[str, list[np.ndarray]]:
        shapes: dict[str, list[np.ndarray]] = {rule.layer: [], b_layer: []}
        x = 0
        for gap in gaps:
            a, b = pair(x, gap)
            shapes[rule.layer].append(a)
            shapes[b_layer].append(b)
            x += 2 * w + gap + g
        if not two:
            for gap in gaps:
                shapes[rule.layer].append(notch(x, gap))
                x += 2 * w + gap + g
        return shapes

    what = f"{rule.layer} to {rule.other}" if two else f"{rule.layer} pairs and a U-shaped notch"
    tests = [SelfTest("at value", layout([d]), 0, f"{what} exactly {rule.value:g} um apart")]
    if d >= 2:
        tests.append(
            SelfTest("1 dbu below value", layout([d - 1, d]), 1 if two else 2,
                     f"{what}: once 1 dbu closer than the rule, once at the rule value")
        )
    return tests


def selftests_enclosure(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``enclosure``: ``other`` inside ``layer`` with exactly ``value`` margin
    passes; a margin 1 dbu short on one side fails once; ``other`` wholly or
    partly outside ``layer`` fails once per uncovered part."""
    assert rule.other is not None
    d = kit.dbu(rule.value)
    s = max(d, kit.dbu(1.0))  # inner size
    g = _gap(d, kit) + s

    def cell(x: int, right: int) -> tuple[np.ndarray, np.ndarray]:
        inner = rect(x + d, d, x + d + s, d + s)
        return rect(x, 0, x + d + s + right, 2 * d + s), inner

    def shapes(*cells: tuple[np.ndarray, np.ndarray], extra: list[np.ndarray] = ()) -> dict[str, list[np.ndarray]]:
        return {rule.layer: [c[0] for c in cells], rule.other: [c[1] for c in cells] + list(extra)}

    tests = [SelfTest("at value", shapes(cell(0, d)), 0, f"{rule.other} inside {rule.layer} with {rule.value:g} um margin all round")]
    if d >= 1:
        tests.append(
            SelfTest("1 dbu below value", shapes(cell(0, d - 1), cell(2 * d + s + g, d)), 1,
                     "one margin 1 dbu short, next to a cell at the rule value")
        )
    # uncovered: one inner shape far from any outer, one straddling the outer's
    # right edge (its inside part keeps the margin, so only the outside part
    # is a marker)
    W = 2 * d + s
    outer = rect(0, 0, W + s, 2 * d + s)
    straddle = rect(W + s - (d + s), d, W + 2 * s, d + s)
    alone = rect(2 * (W + s) + g, 0, 2 * (W + s) + g + s, s)
    tests.append(
        SelfTest("uncovered", {rule.layer: [outer], rule.other: [straddle, alone]}, 2,
                 f"{rule.other} partly and wholly outside {rule.layer}: one polygon marker each")
    )
    return tests


# -- KLayout deck snippets -------------------------------------------------------


def ruby_str(text: str) -> str:
    """``text`` as a Ruby single-quoted string literal (one line)."""
    one = " ".join(str(text).split())
    return "'" + one.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ruby_um(kit: PDK, d: int) -> str:
    """``d`` dbu as a KLayout DSL length, e.g. ``2.0.um``."""
    s = f"{kit.um(d):.9f}".rstrip("0")
    return (s + "0" if s.endswith(".") else s) + ".um"


def _metric(rule: Rule) -> str:
    return "projection" if rule.metric == "projection" else "euclidian"


def _out(rule: Rule, extra: str = "") -> str:
    doc = (rule.doc or rule.id) + extra
    return f".output({ruby_str(rule.id)}, {ruby_str(doc)})"


def ruby_merged(var, name: str) -> str:
    """Layer ``name`` merged, for the two-edge checks of the deck.

    KLayout's ``space``, ``separation`` and ``enclosing`` on a layer's raw
    shapes report an edge pair once per drawn edge where overlapping shapes
    share an edge (two wires drawn over each other, a pin under its wire, two
    differently named shapes of one shorted net), though they merge the
    polygons first; pilotflow checks the merged outline, so the deck merges
    the layers of these checks explicitly (``layer.merged``) and its counts
    per rule equal pilotflow's."""
    return f"{var(name)}.merged"


def klayout_width(rule: Rule, kit: PDK, var) -> str:
    return f"{var(rule.layer)}.width({ruby_um(kit, kit.dbu(rule.value))}, {_metric(rule)}){_out(rule)}"


def klayout_spacing(rule: Rule, kit: PDK, var) -> str:
    v = ruby_um(kit, kit.dbu(rule.value))
    if rule.other is None or rule.other == rule.layer:
        return f"{ruby_merged(var, rule.layer)}.space({v}, {_metric(rule)}){_out(rule)}"
    return f"{ruby_merged(var, rule.layer)}.separation({ruby_merged(var, rule.other)}, {v}, {_metric(rule)}){_out(rule)}"


def klayout_enclosure(rule: Rule, kit: PDK, var) -> str:
    """Edge pairs like ``enclosing``, plus (as pilotflow) every part of
    ``other`` outside ``layer`` as a polygon in the same category (KLayout's
    ``enclosing`` alone skips shapes that stick out)."""
    assert rule.other is not None
    d = kit.dbu(rule.value)
    lines = []
    if d > 0:
        lines.append(f"{ruby_merged(var, rule.layer)}.enclosing({ruby_merged(var, rule.other)}, {ruby_um(kit, d)}, {_metric(rule)}){_out(rule)}")
    lines.append(f"({var(rule.other)} - {var(rule.layer)}){_out(rule, f' ({rule.other} outside {rule.layer})')}")
    return "\n".join(lines)


WIDTH = register(KindImpl("width", check_width, selftests_width, klayout_width))
SPACING = register(KindImpl("spacing", check_spacing, selftests_spacing, klayout_spacing))
ENCLOSURE = register(KindImpl("enclosure", check_enclosure, selftests_enclosure, klayout_enclosure))
