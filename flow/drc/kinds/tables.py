"""``max_width``, ``wide_spacing``, ``density``, ``grid`` and ``angle``.

================  ============================================================
kind              what is flagged (marker)
================  ============================================================
``max_width``     the *wide parts* of ``layer``: what survives shrinking the
                  merged layer by ``value / 2`` and growing it back (an axis-
                  parallel square of side ``value`` cannot hold them); one
                  polygon per wide part, like KLayout's
                  ``layer.sized(-v/2).sized(v/2)`` idiom
``wide_spacing``  edge pairs of the ``layer`` space check (Euclidean,
                  shielded, notches included) closer than ``table[i][1]``
                  where one edge runs along a part of ``layer`` wider than
                  ``table[i][0]`` (wide parts as for ``max_width``)
``density``       every ``window`` x ``window`` um window, stepped by
                  ``step`` um over the layout extent, whose ``layer`` area
                  fraction is below ``value`` or above ``max`` (polygon: the
                  window box, ``measured_um`` = the density)
``grid``          every vertex of the merged ``layer`` not on a multiple of
                  ``value`` um (degenerate edge pair at the vertex, like
                  KLayout's ``ongrid``)
``angle``         every edge of the merged ``layer`` not at a multiple of
                  ``value`` degrees (90: Manhattan, 45: also diagonals); the
                  marker is the edge (as an edge pair of the edge with itself)
================  ============================================================

Notes
-----
*Wide parts.*  "Wider than ``w``" means "survives shrinking every edge by
``w / 2`` (perpendicular to the edge) and growing back": on Manhattan shapes
the morphological opening with a square of side ``w``; a 45-degree bar is
measured by its perpendicular width.  Both pilotflow and the exported
KLayout deck compute it on coordinates doubled, so that an odd ``w`` in dbu
still gives an exact half-width sizing.  Corners turning by up to 90 degrees
are mitred on growing, as KLayout's default size mode; sharper (acute)
corners are cut, pilotflow at the sizing distance from the corner, KLayout
a little further out, and on slanted edges the intermediate shrunk shape is
rounded differently: on layouts with slanted edges the wide parts may then
differ from KLayout's by a fraction of a dbu along an edge or near acute
corners.  On Manhattan layouts they are identical (tests compare them).

*wide_spacing rows.*  Each row ``[w, s]`` applies to pairs that touch a part
wider than ``w``; a pair is judged by the widest row whose wide parts it
touches (so a pair near a very wide plate is reported once, against that
row's spacing), as :meth:`pdk.schema.Rule.spacing_for` reads the table.

*Density extent.*  Windows cover the bounding box of the shapes on the
kit's ``boundary``-purpose layers (the die outline); when there are none,
the bounding box of every shape on the kit's layers.  Windows are stepped
from the lower left corner; the last column and row are clipped to the
extent, and density is taken over the clipped window's area.  A density is
too low when ``area < value * window_area - 0.5 dbu^2`` (too high when
``area > max * window_area + 0.5``): exact values pass.
"""

from __future__ import annotations

import math
from collections import defaultdict

import gdstk
import numpy as np

from flow.drc import edges as E
from flow.drc.core import (
    CheckContext,
    KindImpl,
    Layers,
    SelfTest,
    Violation,
    edge_pair_violations,
    polygon_violation,
    rect,
    register,
)
from flow.drc.kinds.basic import ruby_str, ruby_um
from pdk.schema import PDK, Rule

# ---------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------


def _clean(points: np.ndarray) -> np.ndarray | None:
    pts = np.rint(points).astype(np.int64)
    pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]
    return pts if len(pts) >= 3 else None


#: Miter limit of the sizing in :func:`wide_parts`: corners turning by up to
#: 90 degrees are mitred, sharper ones cut (KLayout's default size mode 2
#: also cuts exactly those).
MITER = 1.41422


def layer_union(layers: Layers, name: str) -> list[gdstk.Polygon]:
    """The union of layer ``name`` (gdstk polygons), computed once per run."""
    key = ("tables.union", name)
    if key not in layers.cache:
        layers.cache[key] = E.union(layers.polygons(name))
    return layers.cache[key]  # type: ignore[return-value]


def wide_parts(polygons: list[np.ndarray], w: int, union: list[gdstk.Polygon] | None = None) -> list[np.ndarray]:
    """Parts of the union of ``polygons`` (dbu) wider than ``w`` dbu.

    The opening with a square of side ``w``: shrink by ``w / 2``, grow back
    by ``w / 2`` (mitred corners), computed on doubled coordinates so that
    the half width stays an integer.  ``w <= 0``: the merged polygons.
    ``union``: the union of ``polygons`` when already known.

    An L of a bar 3 high and a column 4 wide: only the column is wider than 3.

    >>> from flow.drc.core import rect
    >>> [p.tolist() for p in wide_parts([rect(0, 0, 10, 3), rect(0, 3, 4, 9)], 3)]
    [[[4, 9], [0, 9], [0, 0], [4, 0]]]
    >>> wide_parts([rect(0, 0, 10, 3)], 3)
    []
    """
    if union is None:
        union = E.union(polygons) if polygons else []
    out = []
    # Components are opened one by one (the opening of a union of disjoint
    # parts is the union of their openings); a component no wider than ``w``
    # in x or y has no wide part.
    for comp in union:
        (x0, y0), (x1, y1) = comp.bounding_box()
        if w > 0 and (x1 - x0 <= w or y1 - y0 <= w):
            continue
        src = [gdstk.Polygon(2.0 * np.asarray(comp.points))]
        if w > 0:
            shrunk = gdstk.offset(src, -float(w), join="miter", tolerance=MITER, precision=0.01, use_union=True)
            if not shrunk:
                continue
            grown = gdstk.offset(shrunk, float(w), join="miter", tolerance=MITER, precision=0.01, use_union=True)
        else:
            grown = gdstk.boolean(src, [], "or", precision=0.01)
        for poly in grown:
            pts = _clean(np.asarray(poly.points) / 2.0)
            if pts is not None and abs(poly.area()) > 2.0:
                out.append(pts)
    return out


def _line_keys(e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per edge: reduced direction (cx, cy) with cx > 0 or (cx == 0, cy > 0),
    line offset, as one (k, 3) key array, and the direction for projections."""
    d = e[:, 2:] - e[:, :2]
    g = np.gcd(np.abs(d[:, 0]), np.abs(d[:, 1]))
    g = np.where(g == 0, 1, g)
    c = d // g[:, None]
    flip = (c[:, 0] < 0) | ((c[:, 0] == 0) & (c[:, 1] < 0))
    c = np.where(flip[:, None], -c, c)
    off = c[:, 0] * e[:, 1] - c[:, 1] * e[:, 0]
    return np.stack([c[:, 0], c[:, 1], off], axis=1), c[:, 0], c[:, 1]


def _intervals(e: np.ndarray) -> dict[tuple[int, int, int], list[tuple[int, int]]]:
    """Edges grouped by supporting line: line key -> [(lo, hi)] along it."""
    out: dict[tuple[int, int, int], list[tuple[int, int]]] = defaultdict(list)
    if len(e) == 0:
        return out
    key, cx, cy = _line_keys(e)
    t0 = cx * e[:, 0] + cy * e[:, 1]
    t1 = cx * e[:, 2] + cy * e[:, 3]
    for k, a, b in zip(map(tuple, key.tolist()), t0.tolist(), t1.tolist()):
        out[k].append((min(a, b), max(a, b)))
    return out


def along_parts(e: np.ndarray, we: np.ndarray) -> dict[int, list[tuple[int, int]]]:
    """Parts (positive length) of the edges ``e`` lying on edges ``we``, by
    index into ``e``, as intervals of ``dot(c, p)`` along the edge's line (see
    :func:`_line_keys`); like KLayout's ``Edges & Edges``."""
    out: dict[int, list[tuple[int, int]]] = {}
    if len(e) == 0 or len(we) == 0:
        return out
    lines = _intervals(we)
    key, cx, cy = _line_keys(e)
    wkey, _, _ = _line_keys(we)
    _, inv = np.unique(np.vstack([key, wkey]), axis=0, return_inverse=True)
    inv = inv.ravel()
    cand = np.nonzero(np.isin(inv[: len(e)], inv[len(e) :]))[0]  # edges on a line of ``we``
    ec = e[cand]
    t0 = cx[cand] * ec[:, 0] + cy[cand] * ec[:, 1]
    t1 = cx[cand] * ec[:, 2] + cy[cand] * ec[:, 3]
    for n, k, a, b in zip(cand.tolist(), map(tuple, key[cand].tolist()), t0.tolist(), t1.tolist()):
        on = lines.get(k)
        if not on:
            continue
        lo, hi = min(a, b), max(a, b)
        parts = [(max(lo, q0), min(hi, q1)) for q0, q1 in on if min(hi, q1) > max(lo, q0)]
        if parts:
            out[n] = parts
    return out


def _touches(part: np.ndarray, edge: np.ndarray, owner: np.ndarray, parts: dict[int, list[tuple[int, int]]]) -> np.ndarray:
    """For each marker edge ``part`` (k, 4) lying on edge number ``edge[k]``
    (coordinates ``owner[k]``): does it overlap one of that edge's ``parts``
    with positive length?"""
    out = np.zeros(len(part), bool)
    cand = np.nonzero(np.fromiter((int(x) in parts for x in edge.tolist()), bool, len(edge)))[0]
    if len(cand) == 0:
        return out
    _, cx, cy = _line_keys(owner[cand])
    p = part[cand]
    t0 = cx * p[:, 0] + cy * p[:, 1]
    t1 = cx * p[:, 2] + cy * p[:, 3]
    for n, k, a, b in zip(cand.tolist(), edge[cand].tolist(), t0.tolist(), t1.tolist()):
        lo, hi = min(a, b), max(a, b)
        out[n] = any(min(hi, q1) - max(lo, q0) > 0 for q0, q1 in parts[k])
    return out


def windows(extent: tuple[int, int, int, int], win: int, step: int) -> list[tuple[int, int, int, int]]:
    """Density windows (dbu) over ``extent``: origins stepped by ``step`` from
    the lower left, the last column and row clipped to the extent.

    >>> windows((0, 0, 25, 10), 10, 10)
    [(0, 0, 10, 10), (10, 0, 20, 10), (20, 0, 25, 10)]
    """
    x0, y0, x1, y1 = extent

    def count(span: int) -> int:
        return 1 + max(0, -((win - span) // step))

    out = []
    for j in range(count(y1 - y0)):
        for i in range(count(x1 - x0)):
            ax, ay = x0 + i * step, y0 + j * step
            out.append((ax, ay, min(ax + win, x1), min(ay + win, y1)))
    return out


def density_extent(kit: PDK, layers: Layers) -> tuple[int, int, int, int] | None:
    """Bounding box (dbu) of the boundary layers' shapes, else of all shapes."""
    for names in ([n for n, lay in kit.layers.items() if lay.purpose == "boundary"], list(kit.layers)):
        pts = [p for n in names for p in layers.polygons(n)]
        if pts:
            allp = np.vstack(pts)
            return (int(allp[:, 0].min()), int(allp[:, 1].min()), int(allp[:, 0].max()), int(allp[:, 1].max()))
    return None


def too_low(area: float, win_area: float, lo: float) -> bool:
    return area < lo * win_area - 0.5


def too_high(area: float, win_area: float, hi: float | None) -> bool:
    return hi is not None and area > hi * win_area + 0.5


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def check_max_width(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    d = kit.dbu(rule.value)
    return [polygon_violation(rule, p) for p in wide_parts(layers.polygons(rule.layer), d, layer_union(layers, rule.layer))]


def _rows(rule: Rule, kit: PDK) -> list[tuple[int, int]]:
    """Table rows in dbu: (width, spacing), narrowest first."""
    return [(kit.dbu(w), kit.dbu(s)) for w, s in rule.table]


def check_wide_spacing(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    e, _ = layers.merged(rule.layer)
    rows = _rows(rule, kit)
    if len(e) == 0 or not rows:
        return []
    polys = layers.polygons(rule.layer)
    # boundary parts of the layer along its wide parts, per row
    along = []
    for w, _s in rows:
        we, _ = E.merge_edges(wide_parts(polys, w, layer_union(layers, rule.layer)))
        along.append(along_parts(e, we))
    out: list[Violation] = []
    rev = E.reverse(e)
    for k, (_w, s) in enumerate(rows):
        if not along[k] or s <= 0:
            continue
        i, j, m, dist = E.facing_pairs(rev, None, s)
        if len(m) == 0:
            continue
        a, b = m[:, 0], m[:, 1]

        def hits(parts: dict) -> np.ndarray:
            return _touches(a, i, e[i], parts) | _touches(b, j, e[j], parts)

        keep = hits(along[k])
        for wider in along[k + 1 :]:
            keep &= ~hits(wider)
        vs = edge_pair_violations(rule, kit, m[keep], dist[keep])
        out += [Violation(v.rule_id, v.kind, v.layer, v.other, kit.um(s), v.measured_um, v.marker) for v in vs]
    return out


def window_areas(polys: list[gdstk.Polygon], extent: tuple[int, int, int, int], win: int, step: int) -> tuple[list[tuple[int, int, int, int]], np.ndarray]:
    """The windows of :func:`windows` and the area of ``polys`` (merged,
    non-overlapping, dbu) inside each.

    Each polygon visits only the windows its bounding box meets (computed
    from the step), so the cost grows with the number of (polygon, window)
    contacts, not polygons times windows; polygons wholly inside a window
    add their area, the others are clipped to the window.
    """
    boxes = windows(extent, win, step)
    x0, y0, x1, y1 = extent
    nx = 1 + max(0, -((win - (x1 - x0)) // step))
    area = np.zeros(len(boxes))
    for p in polys:
        (bx0, by0), (bx1, by1) = p.bounding_box()
        i0 = max(0, math.floor((bx0 - win - x0) / step) + 1)
        i1 = min(nx - 1, math.ceil((bx1 - x0) / step) - 1)
        j0 = max(0, math.floor((by0 - win - y0) / step) + 1)
        j1 = min(len(boxes) // nx - 1, math.ceil((by1 - y0) / step) - 1)
        pa = None
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                k = j * nx + i
                wx0, wy0, wx1, wy1 = boxes[k]
                if bx0 >= wx0 and bx1 <= wx1 and by0 >= wy0 and by1 <= wy1:
                    pa = p.area() if pa is None else pa
                    area[k] += pa
                elif bx0 < wx1 and bx1 > wx0 and by0 < wy1 and by1 > wy0:
                    cut = gdstk.boolean([p], [gdstk.rectangle((wx0, wy0), (wx1, wy1))], "and", precision=1e-3)
                    area[k] += sum(q.area() for q in cut)
    return boxes, area


def check_density(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    extent = density_extent(kit, layers)
    if extent is None or extent[2] <= extent[0] or extent[3] <= extent[1]:
        return []
    assert rule.window is not None and rule.step is not None
    win, step = max(1, kit.dbu(rule.window)), max(1, kit.dbu(rule.step))
    boxes, areas = window_areas(layer_union(layers, rule.layer), extent, win, step)
    out = []
    for box, a in zip(boxes, areas.tolist()):
        wa = float(box[2] - box[0]) * float(box[3] - box[1])
        if too_low(a, wa, rule.value) or too_high(a, wa, rule.max):
            x0, y0, x1, y1 = box
            out.append(polygon_violation(rule, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], measured=round(a / wa, 9)))
    return out


def _vertex_markers(rule: Rule, pts: np.ndarray) -> list[Violation]:
    return [
        Violation(rule.id, rule.kind, rule.layer, rule.other, rule.value, None, ((x, y, x, y), (x, y, x, y)))
        for x, y in pts.tolist()
    ]


def check_grid(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    g = kit.dbu(rule.value)
    e, _ = layers.merged(rule.layer)
    if g <= 1 or len(e) == 0:
        return []
    pts = e[:, :2]
    bad = (pts[:, 0] % g != 0) | (pts[:, 1] % g != 0)
    return _vertex_markers(rule, pts[bad])


def off_angle(e: np.ndarray, step_deg: float) -> np.ndarray:
    """Edges (k, 4) not at a multiple of ``step_deg`` (90 or 45) degrees."""
    dx, dy = e[:, 2] - e[:, 0], e[:, 3] - e[:, 1]
    ok = (dx == 0) | (dy == 0)
    if step_deg == 45:
        ok |= np.abs(dx) == np.abs(dy)
    return ~ok


def check_angle(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    e, _ = layers.merged(rule.layer)
    if len(e) == 0:
        return []
    bad = e[off_angle(e, rule.value)]
    return [
        Violation(rule.id, rule.kind, rule.layer, rule.other, rule.value, None, (tuple(r), tuple(r)))
        for r in bad.tolist()
    ]


# ---------------------------------------------------------------------------
# Self-tests
# ---------------------------------------------------------------------------


def _um1(kit: PDK) -> int:
    return max(1, kit.dbu(1.0))


def selftests_max_width(rule: Rule, kit: PDK) -> list[SelfTest]:
    """A bar, a square and an L exactly ``value`` wide pass; a bar 1 dbu
    wider fails once; two bars at the value abutting side by side (merged:
    twice as wide) fail once more."""
    d = kit.dbu(rule.value)
    L, g = 4 * d, d + _um1(kit)
    ell = np.array([[0, 0], [L, 0], [L, d], [d, d], [d, L], [0, L]], dtype=np.int64)
    ok = [rect(0, 0, L, d), rect(L + g, 0, L + g + d, d), ell + [L + 2 * g + d, 0]]
    tests = [SelfTest("at value", {rule.layer: ok}, 0, f"a bar, a square and an L, all {rule.value:g} um wide")]
    bad = [rect(0, 0, L, d + 1), rect(L + g, 0, 2 * L + g, d), rect(L + g, d, 2 * L + g, 2 * d)]
    tests.append(SelfTest("1 dbu above value", {rule.layer: bad}, 2,
                          "a bar 1 dbu wider than the rule; two bars at the rule abutting (merged, twice as wide)"))
    return tests


def selftests_wide_spacing(rule: Rule, kit: PDK) -> list[SelfTest]:
    """Per table row: a plate 1 dbu wider than the row's width exactly the
    row's spacing from a narrow line passes, 1 dbu closer fails once; a plate
    exactly the row's width (not wide for that row) 1 dbu closer than the row
    spacing is judged by the row below; narrow lines close together never
    count; a plate's own narrow arm folding back (a notch) counts."""
    rows = _rows(rule, kit)
    smax = max(s for _, s in rows)
    u = _um1(kit)
    # the narrow line: not wide for any row (or, when row 0 takes every
    # width, for any row but row 0)
    t = rows[0][0] if rows[0][0] > 0 else min(u, rows[1][0]) if len(rows) > 1 else u
    G = 2 * smax + 2 * u + t

    def group(x: int, pw: int, gap: int, h: int) -> list[np.ndarray]:
        return [rect(x, 0, x + pw, h), rect(x + pw + gap, 0, x + pw + gap + t, h)]

    def below_row(k: int, dist: int) -> int:
        """Markers for a plate exactly row k's width at ``dist`` from the line."""
        return 1 if k > 0 and dist < rows[k - 1][1] else 0

    ok: list[np.ndarray] = []
    bad: list[np.ndarray] = []
    nbad = 0
    x = 0
    for k, (w, s) in enumerate(rows):
        pw = w + 1
        h = 2 * pw + t
        ok += group(x, pw, s, h)
        if s >= 2:  # 1 dbu closer still leaves a gap
            bad += group(x, pw, s - 1, h)
            nbad += 1
        x += pw + s + t + G
        if w > 0 and s >= 2:
            bad += group(x, w, s - 1, 2 * w + t)
            nbad += below_row(k, s - 1)
            x += w + s + t + G
    if rows[0][0] > 0:
        # narrow lines closer than any row: never wide_spacing
        ok += [rect(x, 0, x + t, 4 * t), rect(x + t + 1, 0, x + 2 * t + 1, 4 * t)]
        x += 2 * t + 1 + G
    # a wide plate with its own narrow arm folding back along it (U shape)
    w, s = rows[-1]
    pw = w + 1
    arm = max(1, min(t, w))
    gap = s - 1
    H = 2 * pw + arm + gap + arm
    u_shape = [rect(x, 0, x + pw, H), rect(x + pw, H - arm, x + pw + gap + arm, H),
               rect(x + pw + gap, 0, x + pw + gap + arm, H)]
    if gap >= 1:
        bad += u_shape
        nbad += 1
    tests = [SelfTest("at value", {rule.layer: ok}, 0,
                      "per row a plate just wider than the row's width at exactly the row's spacing; narrow lines 1 dbu apart")]
    tests.append(SelfTest("1 dbu below value", {rule.layer: bad}, nbad,
                          "per row: the wide plate 1 dbu too close (a marker), a plate at the row's width 1 dbu too close "
                          "(judged by the row below); a wide plate's own arm folding back 1 dbu too close"))
    return tests


def _fill(wdt: int, hgt: int, area: int) -> list[np.ndarray]:
    """Rectangles spanning the box (0, 0, wdt, hgt) and covering exactly
    ``area`` dbu^2 (2 <= area <= wdt * hgt): a full column at the right edge
    (or, for small areas, a 1 x 1 dbu square in the top right corner and a
    1 dbu column from the bottom left), then full columns from the left and
    one partial column."""
    assert 2 <= area <= wdt * hgt
    if area < hgt:
        return [rect(wdt - 1, hgt - 1, wdt, hgt), rect(0, 0, 1, area - 1)]
    out = [rect(wdt - 1, 0, wdt, hgt)]
    cols, rem = divmod(area - hgt, hgt)
    if cols:
        out.append(rect(0, 0, cols, hgt))
    if rem:
        out.append(rect(cols, 0, cols + 1, rem))
    return out


def _rect_area(rects: list[np.ndarray], box: tuple[int, int, int, int]) -> int:
    """Area of non-overlapping rectangles inside ``box`` (for expected counts)."""
    return sum(
        max(0, min(int(r[2, 0]), box[2]) - max(int(r[0, 0]), box[0])) * max(0, min(int(r[2, 1]), box[3]) - max(int(r[0, 1]), box[1]))
        for r in rects
    )


def selftests_density(rule: Rule, kit: PDK) -> list[SelfTest]:
    """One window filled exactly at ``value`` (and at ``max``) passes; one
    dbu^2 less (more) fails once; a layout one step wider than a window,
    filled in its first window only, fails in the windows past it."""
    assert rule.window is not None and rule.step is not None
    win, step = max(2, kit.dbu(rule.window)), max(1, kit.dbu(rule.step))
    A = win * win
    hi = rule.max
    lo_ok = max(2, math.ceil(rule.value * A - 0.5))  # least area that passes
    hi_ok = min(A, math.floor(hi * A + 0.5)) if hi is not None else A  # most area that passes
    tests: list[SelfTest] = []
    if lo_ok <= hi_ok:
        tests.append(SelfTest("at value", {rule.layer: _fill(win, win, lo_ok)}, 0,
                              f"one {rule.window:g} um window filled to exactly {rule.value:g}"))
    if lo_ok - 1 >= 2 and too_low(lo_ok - 1, A, rule.value):
        tests.append(SelfTest("1 dbu^2 below value", {rule.layer: _fill(win, win, lo_ok - 1)}, 1,
                              "one window filled 1 dbu^2 short of the minimum"))
    if hi is not None and 2 <= hi_ok:
        tests.append(SelfTest("at max", {rule.layer: _fill(win, win, hi_ok)}, 0 if hi_ok >= lo_ok else 1,
                              f"one window filled to exactly {hi:g}"))
        if hi_ok < A and too_high(hi_ok + 1, A, hi):
            tests.append(SelfTest("1 dbu^2 above max", {rule.layer: _fill(win, win, hi_ok + 1)}, 1,
                                  "one window filled 1 dbu^2 past the maximum"))
    # stepping: extent (win + step) x win, the first window filled half way
    # between the limits, a 1 x 1 dbu square in the far corner
    mid = max(2, min(A, (lo_ok + hi_ok) // 2))
    shapes = _fill(win, win, mid) + [rect(win + step - 1, win - 1, win + step, win)]
    boxes = windows((0, 0, win + step, win), win, step)
    expected = 0
    for bx in boxes:
        a, wa = _rect_area(shapes, bx), (bx[2] - bx[0]) * (bx[3] - bx[1])
        expected += bool(too_low(a, wa, rule.value) or too_high(a, wa, hi))
    if expected:
        tests.append(SelfTest("stepped windows", {rule.layer: shapes}, expected,
                              f"{len(boxes)} windows stepped by {rule.step:g} um, clipped to the extent; only the first is filled"))
    return tests


def selftests_grid(rule: Rule, kit: PDK) -> list[SelfTest]:
    """Shapes on the grid pass, also with an off-grid shape hidden inside
    one (the merged outline is on grid); a rectangle with one side 1 dbu off
    the grid fails at its two vertices there."""
    g = kit.dbu(rule.value)
    n = 4 * g
    ok = {rule.layer: [rect(0, 0, n, n), rect(g + 1, g + 1, 2 * g + 1, 2 * g + 1), rect(2 * n, 0, 3 * n, 2 * n)]}
    tests = [SelfTest("on grid", ok, 0, f"rectangles on the {rule.value:g} um grid; an off-grid one inside another")]
    if g >= 2:
        bad = {rule.layer: [rect(0, 0, n + 1, n), rect(2 * n, 0, 3 * n, n)]}
        tests.append(SelfTest("1 dbu off grid", bad, 2, "one rectangle side 1 dbu off the grid: its two vertices"))
    return tests


def selftests_angle(rule: Rule, kit: PDK) -> list[SelfTest]:
    """Manhattan shapes (and for 45, an octagon) pass; a triangle with one
    edge off the allowed angles fails once; for 90 a diamond fails 4 times."""
    a = 10 * _um1(kit)
    ok_shapes = [rect(0, 0, a, a), np.array([[2 * a, 0], [4 * a, 0], [4 * a, a], [3 * a, a], [3 * a, 2 * a], [2 * a, 2 * a]], dtype=np.int64)]
    if rule.value == 45:
        ok_shapes.append(np.array([[6 * a, 0], [7 * a, 0], [8 * a, a], [8 * a, 2 * a], [7 * a, 3 * a], [6 * a, 3 * a],
                                   [5 * a, 2 * a], [5 * a, a]], dtype=np.int64))
    tests = [SelfTest("allowed angles", {rule.layer: ok_shapes}, 0,
                      "Manhattan shapes" + (" and an octagon" if rule.value == 45 else ""))]
    tri = np.array([[0, 0], [2 * a, 0], [0, a]], dtype=np.int64)  # hypotenuse at about 153 degrees
    bad = [tri]
    n = 1
    if rule.value == 90:
        bad.append(np.array([[4 * a, 0], [5 * a, a], [4 * a, 2 * a], [3 * a, a]], dtype=np.int64))
        n += 4
    tests.append(SelfTest("off angle", {rule.layer: bad}, n,
                          "a triangle with one edge off the angles" + ("; a 45-degree diamond" if rule.value == 90 else "")))
    return tests


# ---------------------------------------------------------------------------
# KLayout deck snippets (Ruby DSL; ``pf_`` variables are local to one rule)
# ---------------------------------------------------------------------------


def _out(rule: Rule) -> str:
    return f".output({ruby_str(rule.id)}, {ruby_str(rule.doc or rule.id)})"


def _ruby_wide(src: str, w: int) -> str:
    """Ruby expression: the wide parts (opening by ``w`` dbu) of Region ``src``,
    merged (KLayout leaves the grown pieces of one part separate)."""
    if w <= 0:
        return f"{src}.merged"
    return (f"{src}.transformed(RBA::ICplxTrans::new(2.0)).sized(-{w}).sized({w})"
            f".transformed(RBA::ICplxTrans::new(0.5)).merged")


def klayout_max_width(rule: Rule, kit: PDK, var) -> str:
    d = kit.dbu(rule.value)
    return (f"# wide parts: {var(rule.layer)} shrunk by {ruby_um(kit, d)}/2 and grown back (on doubled coordinates)\n"
            f"DRC::DRCLayer::new(self, {_ruby_wide(var(rule.layer) + '.data', d)}){_out(rule)}")


def klayout_wide_spacing(rule: Rule, kit: PDK, var) -> str:
    rows = _rows(rule, kit)
    lines = [
        # merged first: a raw-shape space check reports a pair once per
        # drawn edge where overlapping shapes share one (see ruby_merged)
        f"pf_l = {var(rule.layer)}.data.merged",
        "pf_e = pf_l.edges",
        "# per row: boundary parts of the layer along its parts wider than the row's width",
        "pf_along = [" + ", ".join(f"pf_e & {_ruby_wide('pf_l', w)}.edges" for w, _ in rows) + "]",
        "pf_rows = [" + ", ".join(str(s) for _, s in rows) + "]",
        "pf_hit = lambda { |ep, es| !(RBA::Edges::new(ep.first) & es).is_empty? || !(RBA::Edges::new(ep.second) & es).is_empty? }",
        "pf_out = RBA::EdgePairs::new",
        "pf_rows.each_with_index do |pf_s, pf_k|",
        "  next if pf_along[pf_k].is_empty?",
        "  pf_l.space_check(pf_s).each do |pf_ep|",
        "    next unless pf_hit.call(pf_ep, pf_along[pf_k])",
        "    next if pf_along[(pf_k + 1)..-1].any? { |pf_w| pf_hit.call(pf_ep, pf_w) }",
        "    pf_out.insert(pf_ep)",
        "  end",
        "end",
        f"DRC::DRCLayer::new(self, pf_out){_out(rule)}",
    ]
    return "\n".join(lines)


def klayout_density(rule: Rule, kit: PDK, var) -> str:
    assert rule.window is not None and rule.step is not None
    win, step = max(1, kit.dbu(rule.window)), max(1, kit.dbu(rule.step))
    boundary = [var(n) for n, lay in kit.layers.items() if lay.purpose == "boundary"]
    every = [var(n) for n in kit.layers]
    hi = "nil" if rule.max is None else repr(float(rule.max))
    lines = [
        f"pf_l = {var(rule.layer)}.data",
        "pf_ext = RBA::Box::new",
        f"[{', '.join(boundary)}].each {{ |pf_x| pf_ext += pf_x.data.bbox }}",
        f"[{', '.join(every)}].each {{ |pf_x| pf_ext += pf_x.data.bbox }} if pf_ext.empty?",
        f"pf_win, pf_step, pf_lo, pf_hi = {win}, {step}, {float(rule.value)!r}, {hi}",
        "pf_out = RBA::Region::new",
        "if !pf_ext.empty? && pf_ext.width > 0 && pf_ext.height > 0",
        "  pf_n = lambda { |span| 1 + [0, -((pf_win - span).div(pf_step))].max }",
        "  pf_n.call(pf_ext.height).times do |pf_j|",
        "    pf_n.call(pf_ext.width).times do |pf_i|",
        "      pf_x0 = pf_ext.left + pf_i * pf_step",
        "      pf_y0 = pf_ext.bottom + pf_j * pf_step",
        "      pf_b = RBA::Box::new(pf_x0, pf_y0, [pf_x0 + pf_win, pf_ext.right].min, [pf_y0 + pf_win, pf_ext.top].min)",
        "      pf_a = (pf_l & RBA::Region::new(pf_b)).area.to_f",
        "      pf_wa = pf_b.width.to_f * pf_b.height.to_f",
        "      pf_out.insert(pf_b) if pf_a < pf_lo * pf_wa - 0.5 || (pf_hi && pf_a > pf_hi * pf_wa + 0.5)",
        "    end",
        "  end",
        "end",
        "pf_out.merged_semantics = false",
        f"DRC::DRCLayer::new(self, pf_out){_out(rule)}",
    ]
    return "\n".join(lines)


def klayout_grid(rule: Rule, kit: PDK, var) -> str:
    g = kit.dbu(rule.value)
    return f"DRC::DRCLayer::new(self, {var(rule.layer)}.data.grid_check({g}, {g})){_out(rule)}"


def klayout_angle(rule: Rule, kit: PDK, var) -> str:
    angles = "[0, 90, 45, -45]" if rule.value == 45 else "[0, 90]"
    return "\n".join([
        f"pf_e = {var(rule.layer)}.edges",
        f"{angles}.each {{ |pf_a| pf_e = pf_e.without_angle(pf_a) }}",
        f"pf_e{_out(rule)}",
    ])


MAX_WIDTH = register(KindImpl("max_width", check_max_width, selftests_max_width, klayout_max_width))
WIDE_SPACING = register(KindImpl("wide_spacing", check_wide_spacing, selftests_wide_spacing, klayout_wide_spacing))
DENSITY = register(KindImpl("density", check_density, selftests_density, klayout_density, chip_level=True))
GRID = register(KindImpl("grid", check_grid, selftests_grid, klayout_grid))
ANGLE = register(KindImpl("angle", check_angle, selftests_angle, klayout_angle))
