"""Pictures of a run for ``report.html``: the layout with DRC markers, and a
routing-usage (congestion) map.  Inline SVG, every text escaped.

The layout picture draws each kit layer in the colours of
:mod:`pdk.style` (those of the KLayout ``.lyp`` export), bottom layer first
(:func:`pdk.style.stack_order`).  Its size is bounded whatever the layout:

* shapes smaller than a pixel in both directions are drawn as the whole
  pixel they lie in (counted), so a dense field of small shapes stays
  visible while costing at most one outline per run of pixels;
* the shapes of a layer are merged (:func:`gdstk.boolean`) after snapping to
  a grid of :data:`SNAP_PX` pixel, so abutting pieces give one outline;
* at most ``max_points`` vertices are drawn: past that, sub-pixel shapes are
  drawn in coarser blocks (up to 16 x 16 pixels), then the largest outlines
  are kept (the rest is counted); the picture says it is simplified;
* at most ``max_markers`` DRC markers are drawn (the table counts them all).

>>> import pdk
>>> from flow.geometry.gdsio import LayoutShapes
>>> kit = pdk.load("gan650")
>>> polys = {n: [] for n in kit.layers}
>>> polys["MET1"] = [np.array([[0, 0], [10000, 0], [10000, 2000], [0, 2000]])]
>>> pic = layout_picture(LayoutShapes(polys, {n: [] for n in kit.layers}, "top"), kit, (0, 0, 10000, 10000))
>>> [(lay["name"], lay["polygons"]) for lay in pic.layers], pic.simplified
([('MET1', 1)], False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gdstk
import numpy as np
from markupsafe import Markup, escape

from flow.place.report import heat_colour
from pdk.style import layer_colours, stack_order

#: Snapping grid for merging, in pixels of the picture.
SNAP_PX = 0.25
#: Fill opacity by layer purpose (metals see-through so what lies under
#: them stays visible); boundary layers are drawn as outlines.
OPACITY = {"implant": 0.25, "device": 0.45, "routing": 0.5, "cut": 0.8, "pad": 0.3, "marker": 0.2}
#: Margin round the die (px) and height of the scale-bar strip (px).
_PAD = 10
_BAR = 34


@dataclass
class Picture:
    """An inline SVG and what it shows."""

    svg: Markup
    #: drawn layers, bottom first: name, gds, colour, purpose, polygons
    #: (merged outlines drawn), shapes (drawn polygons of the layout)
    layers: list[dict[str, Any]] = field(default_factory=list)
    #: how the picture was simplified (empty: every shape drawn as is)
    notes: list[str] = field(default_factory=list)
    markers_drawn: int = 0
    markers_total: int = 0
    um_per_px: float = 0.0

    @property
    def simplified(self) -> bool:
        return bool(self.notes)


def nice_length(target: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``target`` (> 0).

    >>> nice_length(730), nice_length(0.3), nice_length(2)
    (500.0, 0.2, 2.0)
    """
    k = math.floor(math.log10(target))
    for m in (5, 2, 1):
        v = m * 10.0**k
        if v <= target * (1 + 1e-9):
            return float(round(v, 12))
    return float(10.0**k)


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _path(polys: Sequence[np.ndarray]) -> str:  # markers
    """SVG path data of closed polygons, in integer tenths of a pixel (drawn
    inside a ``scale(0.1)`` group: integers keep the text short and fast)."""
    return "".join("M" + " ".join(map(str, np.rint(p * 10).astype(np.int64).ravel().tolist())) + "Z" for p in polys)


def _scale_bar(x: float, y: float, px_per_um: float, width_px: float) -> tuple[str, float]:
    length = nice_length(max(width_px / 5.0, 1.0) / px_per_um)
    w = length * px_per_um
    label = f"{length:g} µm" if length < 1000 else f"{length / 1000:g} mm"
    svg = (
        f'<g class="scale-bar"><rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(w)}" height="5" fill="#000"/>'
        f'<text x="{_fmt(x + w + 6)}" y="{_fmt(y + 6)}" font-size="12">{escape(label)}</text></g>'
    )
    return svg, length


def _pixel_runs(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """Horizontal runs of the occupied pixels ``(ix, iy)``: rows of
    ``(row, first column, last column)``."""
    if not len(ix):
        return np.zeros((0, 3), np.int64)
    key = np.unique(np.stack([iy, ix], axis=1), axis=0)  # sorted by row, then column
    row, col = key[:, 0], key[:, 1]
    brk = np.flatnonzero((np.diff(row) != 0) | (np.diff(col) != 1)) + 1
    first = np.concatenate([[0], brk])
    last = np.concatenate([brk, [len(key)]]) - 1
    return np.stack([row[first], col[first], col[last]], axis=1)


def _snapped(p: np.ndarray, snap: float) -> np.ndarray:
    """``p`` (dbu) on the ``snap`` grid; a shape thinner than the grid (a
    0.25 um gate finger in a millimetre die), which snapping flattens to
    nothing, becomes its box one grid step thick, so it stays in the picture.

    >>> _snapped(np.array([[0, 0], [25, 0], [25, 500], [0, 500]]), 36.0).tolist()
    [[0.0, 0.0], [36.0, 0.0], [36.0, 504.0], [0.0, 504.0]]
    """
    q = np.round(np.asarray(p, np.float64) / snap) * snap
    x, y = q[:, 0], q[:, 1]
    if abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) > 0:
        return q
    lo = np.floor(np.asarray(p, np.float64).min(axis=0) / snap) * snap
    hi = np.maximum(np.round(np.asarray(p, np.float64).max(axis=0) / snap) * snap, lo + snap)
    return np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])


def layout_picture(
    shapes: Any,
    kit: Any,
    die: tuple[int, int, int, int] | None,
    markers: Sequence[Mapping[str, Any]] = (),
    *,
    max_px: int = 900,
    max_points: int = 200_000,
    max_markers: int = 2000,
) -> Picture:
    """The layout of ``shapes`` (a :class:`flow.geometry.gdsio.LayoutShapes`,
    dbu) as inline SVG about ``max_px`` pixels on its longer side, with DRC
    ``markers`` drawn over it.

    ``die``: the area shown (dbu); ``None``: the shapes' bounding box.
    ``markers``: dicts with ``rule``, ``title`` (tooltip text), ``waived``
    (bool) and ``polygon`` ([[x, y], ...]) or ``edge_pair``
    ([[x1, y1, x2, y2], [...]]) in microns, as in ``drc.json``.
    """
    dbu_um = kit.dbu_um
    if die is None:
        pts = [p for ps in shapes.polygons.values() for p in ps]
        if not pts:
            die = (0, 0, 1, 1)
        else:
            allp = np.vstack(pts)
            die = (int(allp[:, 0].min()), int(allp[:, 1].min()), int(allp[:, 0].max()), int(allp[:, 1].max()))
    x0, y0, x1, y1 = die
    span = max(x1 - x0, y1 - y0, 1)
    s = max_px / span  # px per dbu
    pw, ph = (x1 - x0) * s, (y1 - y0) * s
    W, H = pw + 2 * _PAD, ph + 2 * _PAD + _BAR

    def to_px(p: np.ndarray) -> np.ndarray:
        q = np.empty(p.shape, dtype=np.float64)
        q[:, 0] = _PAD + (p[:, 0] - x0) * s
        q[:, 1] = _PAD + (y1 - p[:, 1]) * s
        return q

    colours = layer_colours(kit)
    snap = SNAP_PX / s  # dbu
    notes: list[str] = []
    dropped_small = 0
    # per layer: (name, merged outlines (dbu), pixel runs of sub-pixel shapes, shapes)
    merged: list[tuple[str, list[np.ndarray], np.ndarray, int]] = []
    for name in stack_order(kit):
        polys = shapes.polygons.get(name) or []
        if not polys:
            continue
        lens = np.fromiter((len(p) for p in polys), dtype=np.int64, count=len(polys))
        allp = np.concatenate(polys)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        lo = np.minimum.reduceat(allp, starts, axis=0)
        ext = np.maximum.reduceat(allp, starts, axis=0) - lo
        big = ext.max(axis=1) * s >= 1.0
        outlines: list[np.ndarray] = []
        if big.any():
            snapped = [gdstk.Polygon(_snapped(p, snap)) for p, b in zip(polys, big.tolist()) if b]
            outlines = [np.asarray(q.points) for q in gdstk.boolean(snapped, [], "or", precision=max(snap / 10, 1e-3))]
        runs = np.zeros((0, 2), np.int64)
        if not big.all():
            # sub-pixel shapes: the pixels their centres fall in, as runs
            small = ~big
            dropped_small += int(small.sum())
            cx = np.clip(((lo[small, 0] + ext[small, 0] / 2 - x0) * s).astype(np.int64), 0, max(int(pw) - 1, 0))
            cy = np.clip(((lo[small, 1] + ext[small, 1] / 2 - y0) * s).astype(np.int64), 0, max(int(ph) - 1, 0))
            runs = np.stack([cx, cy], axis=1)  # pixels for now; runs below
        merged.append((name, outlines, runs, len(polys)))

    # sub-pixel shapes as runs of pixels; while over the vertex budget, in
    # coarser blocks (2 x 2, 4 x 4 ... up to 16 x 16 pixels)
    block = 1
    pixels = [r for _, _, r, _ in merged]
    outline_verts = sum(len(p) for _, ps, _, _ in merged for p in ps)
    while True:
        runs_all = [_pixel_runs(px[:, 0] // block, px[:, 1] // block) for px in pixels]
        fits = outline_verts + 4 * sum(len(r) for r in runs_all) <= max_points
        if fits or block >= 16 or outline_verts >= max_points:  # coarser blocks cannot help
            break
        block *= 2
    merged = [(name, ps, r, n) for (name, ps, _, n), r in zip(merged, runs_all)]

    # the vertex budget: the largest items (outlines by box area, pixel runs
    # by length) first, over all layers; a run costs 4 vertices
    nverts = np.array([len(p) for _, ps, _, _ in merged for p in ps] + [4] * sum(len(r) for _, _, r, _ in merged), dtype=np.int64)
    budget_cut = 0
    if nverts.sum() > max_points:
        areas = []
        for _, ps, _, _ in merged:
            areas += [float(np.prod(p.max(axis=0) - p.min(axis=0))) * s * s for p in ps]
        for _, _, r, _ in merged:
            areas += (r[:, 2] - r[:, 1] + 1).astype(float).tolist()
        order = np.argsort(-np.asarray(areas), kind="stable")
        ok = np.zeros(len(order), bool)
        ok[order] = np.cumsum(nverts[order]) <= max_points
        budget_cut = int((~ok).sum())
        k = 0
        kept = []
        for name, ps, r, n in merged:
            kept_ps = [p for j, p in enumerate(ps) if ok[k + j]]
            k += len(ps)
            kept.append([name, kept_ps, None, n])
        for item, (_, _, r, _) in zip(kept, merged):
            item[2] = r[ok[k:k + len(r)]]
            k += len(r)
        merged = [tuple(x) for x in kept]  # type: ignore[misc]
    if dropped_small:
        where = "the whole pixel they lie in" if block == 1 else (
            f"the {block} x {block}-pixel block they lie in (to keep the picture under {max_points} vertices)")
        notes.append(f"{dropped_small} shape(s) smaller than a pixel ({1 / s * dbu_um:.3g} µm) drawn as {where}")
    if budget_cut:
        notes.append(f"{budget_cut} of the smallest outline(s) left out to keep the picture under {max_points} vertices")

    out_svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="layout-picture" class="layout" viewBox="0 0 {_fmt(W)} {_fmt(H)}" '
        f'width="{_fmt(W)}" height="{_fmt(H)}" role="img" aria-label="layout of {escape(shapes.top)}">',
        f'<rect x="0" y="0" width="{_fmt(W)}" height="{_fmt(H)}" fill="#fff"/>',
        f'<rect x="{_PAD}" y="{_PAD}" width="{_fmt(pw)}" height="{_fmt(ph)}" fill="none" stroke="#bbb" stroke-dasharray="4 3"/>',
    ]
    out_svg.append('<g transform="scale(0.1)">')
    layers: list[dict[str, Any]] = []
    for name, ps, runs, n in merged:
        if not ps and not len(runs):
            continue
        lay = kit.layers[name]
        c = colours[name]
        d = ""
        if ps:
            q = to_px(np.concatenate(ps))
            tenths = np.rint(q * 10).astype(np.int64)
            cuts = np.cumsum([len(p) for p in ps])[:-1]
            d = "".join("M" + " ".join(map(str, t.ravel().tolist())) + "Z" for t in np.split(tenths, cuts))
        if len(runs):
            ytop = _PAD + int(round(ph * 10)) / 10 - (runs[:, 0] + 1) * block
            rx = ((_PAD + runs[:, 1] * block) * 10).tolist()
            ry = np.rint(ytop * 10).astype(np.int64).tolist()
            rw = ((runs[:, 2] - runs[:, 1] + 1) * block * 10).tolist()
            bh = 10 * block
            d += "".join(f"M{x} {y}h{w}v{bh}h-{w}Z" for x, y, w in zip(rx, ry, rw))
        if lay.purpose == "boundary":
            style = f'fill="none" stroke="{c}" stroke-width="15"'
        else:
            style = f'fill="{c}" fill-opacity="{OPACITY.get(lay.purpose, 0.3)}" stroke="{c}" stroke-width="6"'
        out_svg.append(f'<path class="layer" data-layer="{escape(name)}" d="{d}" {style} fill-rule="nonzero"><title>{escape(name)}</title></path>')
        layers.append({"name": name, "gds": f"{lay.gds[0]}/{lay.gds[1]}", "colour": c, "purpose": lay.purpose,
                       "polygons": len(ps) + len(runs), "shapes": n})

    drawn = 0
    if markers:
        out_svg.append('<g class="drc-markers">')
        for mk in markers[:max_markers]:
            if "polygon" in mk:
                pts = np.asarray(mk["polygon"], dtype=np.float64) / dbu_um
            elif "edge_pair" in mk:
                (a, b) = mk["edge_pair"]
                pts = np.array([[a[0], a[1]], [a[2], a[3]], [b[0], b[1]], [b[2], b[3]]], dtype=np.float64) / dbu_um
            else:
                continue
            q = to_px(pts)
            cx, cy = q.mean(axis=0)
            colour = "#ff8c00" if mk.get("waived") else "#e00000"
            dash = ' stroke-dasharray="30 20"' if mk.get("waived") else ""
            out_svg.append(
                f'<g class="drc-marker{" waived" if mk.get("waived") else ""}" data-rule="{escape(mk.get("rule", ""))}">'
                f'<title>{escape(mk.get("title", ""))}</title>'
                f'<path d="{_path([q])}" fill="none" stroke="{colour}" stroke-width="15"{dash}/>'
                f'<circle cx="{round(cx * 10)}" cy="{round(cy * 10)}" r="80" fill="none" stroke="{colour}" stroke-width="20"{dash}/></g>'
            )
            drawn += 1
        out_svg.append("</g>")
        if len(markers) > max_markers:
            notes.append(f"{max_markers} of {len(markers)} DRC markers drawn (the table counts them all)")
    out_svg.append("</g>")
    bar, _ = _scale_bar(_PAD, ph + 2 * _PAD + 8, s / dbu_um, pw)
    out_svg.append(bar)
    out_svg.append("</svg>")
    return Picture(Markup("".join(out_svg)), layers, notes, drawn, len(markers), 1 / s * dbu_um)


def routing_usage(wires: Mapping[str, Sequence[Any]], metals: Sequence[str], die: tuple[int, int, int, int],
                  bins: tuple[int, int]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Fraction of each bin's area covered by routed metal, per routing metal.

    ``wires``: net -> :class:`flow.design.Wire` s (dbu).  The wires of every
    net on a metal are rasterised on a grid of :data:`_SUB` x :data:`_SUB`
    samples per bin (a sample is covered when its centre lies in a wire; a
    wire narrower than a sample still marks the sample it crosses), so
    overlapping pieces count once.  Returns metal -> (nx, ny) array of
    fractions in [0, 1], and the bin edges (dbu).
    """
    nx, ny = bins
    x0, y0, x1, y1 = die
    xe = np.linspace(x0, x1, nx + 1)
    ye = np.linspace(y0, y1, ny + 1)
    sx, sy = nx * _SUB, ny * _SUB
    dx, dy = (x1 - x0) / sx, (y1 - y0) / sy
    out: dict[str, np.ndarray] = {}
    by_metal: dict[str, list[tuple[int, int, int, int]]] = {m: [] for m in metals}
    for ws in wires.values():
        for w in ws:
            if w.layer in by_metal:
                by_metal[w.layer].append(w.rect)
    for m, rects in by_metal.items():
        grid = np.zeros((sx, sy), dtype=bool)
        for rx0, ry0, rx1, ry1 in rects:
            i0 = max(0, int(round((rx0 - x0) / dx)))
            i1 = min(sx, max(i0 + 1, int(round((rx1 - x0) / dx))))
            j0 = max(0, int(round((ry0 - y0) / dy)))
            j1 = min(sy, max(j0 + 1, int(round((ry1 - y0) / dy))))
            if i0 < sx and j0 < sy:
                grid[i0:i1, j0:j1] = True
        out[m] = grid.reshape(nx, _SUB, ny, _SUB).mean(axis=(1, 3))
    return out, xe, ye


#: Raster samples per bin side for :func:`routing_usage`.
_SUB = 8


def heat_map(ratio: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray, die: tuple[int, int, int, int],
             *, dbu_um: float, title: str, px: int = 480, element_id: str = "congestion-map",
             labels: np.ndarray | None = None) -> Markup:
    """A grid of bins shaded by ``ratio`` (0 pale, 0.5 yellow, 1 red) as
    inline SVG, with a colour key and a scale bar.  ``labels``: optional
    (nx, ny) strings for each bin's tooltip."""
    dx0, dy0, dx1, dy1 = die
    s = px / max(dx1 - dx0, dy1 - dy0, 1)
    pw, ph = (dx1 - dx0) * s, (dy1 - dy0) * s
    W, H = pw + 2 * _PAD + 70, ph + 2 * _PAD + _BAR
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(element_id)}" class="heat-map" viewBox="0 0 {_fmt(W)} {_fmt(H)}" '
        f'width="{_fmt(W)}" height="{_fmt(H)}" role="img" aria-label="{escape(title)}">',
        f'<rect x="{_PAD}" y="{_PAD}" width="{_fmt(pw)}" height="{_fmt(ph)}" fill="#fff" stroke="#000"/>',
    ]
    for i in range(len(x_edges) - 1):
        for j in range(len(y_edges) - 1):
            r = float(ratio[i, j])
            if not np.isfinite(r) or r <= 0:
                continue
            x = _PAD + (x_edges[i] - dx0) * s
            y = _PAD + (dy1 - y_edges[j + 1]) * s
            tip = f"<title>{escape(labels[i, j])}</title>" if labels is not None else ""
            out.append(f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt((x_edges[i + 1] - x_edges[i]) * s + 0.05)}" '
                       f'height="{_fmt((y_edges[j + 1] - y_edges[j]) * s + 0.05)}" fill="{heat_colour(r)}">{tip}</rect>')
    # colour key: 0 .. 1
    kx = pw + 2 * _PAD + 10
    for k in range(11):
        t = k / 10
        out.append(f'<rect x="{_fmt(kx)}" y="{_fmt(_PAD + (1 - t) * (ph - 12))}" width="14" height="{_fmt((ph - 12) / 10 + 0.5)}" fill="{heat_colour(t)}"/>')
    out.append(f'<text x="{_fmt(kx + 18)}" y="{_PAD + 8}" font-size="11">100%</text>')
    out.append(f'<text x="{_fmt(kx + 18)}" y="{_fmt(_PAD + ph - 4)}" font-size="11">0%</text>')
    bar, _ = _scale_bar(_PAD, ph + 2 * _PAD + 8, s / dbu_um, pw)
    out.append(bar)
    out.append("</svg>")
    return Markup("".join(out))
