"""Placement figures for reports: bin density, overflow, a density-map picture.

Pure functions of boxes (dbu); the place stage writes the results into its
run folder (``place.json``, ``density.svg``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np

from flow.place.model import Rect


def default_bins(region: Rect, n_objs: int) -> tuple[int, int]:
    """Bins per side: about two per object along each side, 8..64, square bins."""
    x0, y0, x1, y1 = region
    per = int(np.clip(round(2 * math.sqrt(max(n_objs, 1))), 8, 64))
    aspect = (x1 - x0) / (y1 - y0)
    nx = int(np.clip(round(per * math.sqrt(aspect)), 4, 128))
    ny = int(np.clip(round(per / math.sqrt(aspect)), 4, 128))
    return nx, ny


def _overlap_1d(edges: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0, None)


def density_grid(
    region: Rect,
    pos: np.ndarray,
    w: np.ndarray,
    h: np.ndarray,
    blockers: Sequence[Rect] = (),
    bins: tuple[int, int] | None = None,
    weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Area of the boxes (or ``weight`` spread over each box) per bin.

    Parameters
    ----------
    region : rect
        Area the bins cover (dbu).
    pos : ndarray (m, 2)
        Lower-left corners (dbu) of the boxes.
    w, h : ndarray (m,)
        Box sizes (dbu).
    blockers : rects
        Removed from each bin's capacity (fixed objects, keepouts).
    bins : (nx, ny), optional
        Bin counts; :func:`default_bins` when omitted.
    weight : ndarray (m,), optional
        Spread this amount per box (e.g. power, W) evenly over the box, instead
        of the area itself (the share outside the bins is left out).

    Returns
    -------
    usage, capacity, x_edges, y_edges
        ``usage`` and ``capacity`` are (nx, ny): box area (or weight) and
        free area (dbu^2) per bin.
    """
    nx, ny = bins or default_bins(region, len(w))
    rx0, ry0, rx1, ry1 = region
    xe = np.linspace(rx0, rx1, nx + 1)
    ye = np.linspace(ry0, ry1, ny + 1)
    cap = np.outer(np.diff(xe), np.diff(ye))
    for bx0, by0, bx1, by1 in blockers:
        cap -= np.outer(_overlap_1d(xe, bx0, bx1), _overlap_1d(ye, by0, by1))
    cap = np.clip(cap, 0, None)
    use = np.zeros((nx, ny))
    pos = np.asarray(pos, dtype=float).reshape(-1, 2)
    wf = np.asarray(w, dtype=float)
    hf = np.asarray(h, dtype=float)
    # boxes that span at most two bins along each axis (standard cells):
    # four vectorised scatter-adds; larger boxes one by one below
    bw, bh = (rx1 - rx0) / nx, (ry1 - ry0) / ny
    small = (wf <= bw) & (hf <= bh)
    if small.any():
        x0s, y0s = pos[small, 0], pos[small, 1]
        x1s, y1s = x0s + wf[small], y0s + hf[small]
        ix = np.clip(np.floor((x0s - rx0) / bw).astype(np.int64), 0, nx - 1)
        iy = np.clip(np.floor((y0s - ry0) / bh).astype(np.int64), 0, ny - 1)
        wt = None
        if weight is not None:
            tot = wf[small] * hf[small]
            wt = np.where(tot > 0, np.asarray(weight, float)[small] / np.where(tot > 0, tot, 1.0), 0.0)
        for ddx in (0, 1):
            jx = np.minimum(ix + ddx, nx - 1)
            ox = np.clip(np.minimum(xe[jx + 1], x1s) - np.maximum(xe[jx], x0s), 0, None) * ((ix + ddx) < nx)
            for ddy in (0, 1):
                jy = np.minimum(iy + ddy, ny - 1)
                oy = np.clip(np.minimum(ye[jy + 1], y1s) - np.maximum(ye[jy], y0s), 0, None) * ((iy + ddy) < ny)
                share = ox * oy if wt is None else ox * oy * wt
                np.add.at(use, (jx, jy), share)
    for k in np.flatnonzero(~small):
        x0, y0 = float(pos[k, 0]), float(pos[k, 1])
        ox = _overlap_1d(xe, x0, x0 + float(w[k]))
        oy = _overlap_1d(ye, y0, y0 + float(h[k]))
        share = np.outer(ox, oy)
        if weight is not None:
            # spread over the whole box: the part outside the bins is lost
            tot = float(w[k]) * float(h[k])
            if tot > 0:
                use += share * (float(weight[k]) / tot)
        else:
            use += share
    return use, cap, xe, ye


def overflow(
    region: Rect,
    pos: np.ndarray,
    w: np.ndarray,
    h: np.ndarray,
    blockers: Sequence[Rect] = (),
    bins: tuple[int, int] | None = None,
    target_density: float = 1.0,
) -> float:
    """Density overflow: ``sum over bins max(0, usage - target * capacity)``
    over the total box area (0 = no bin over-full; ePlace's measure).

    Examples
    --------
    >>> overflow((0, 0, 10, 10), np.array([[0, 0], [0, 0]]), np.array([5, 5]), np.array([5, 5]), bins=(2, 2))
    0.5
    """
    total = float((np.asarray(w, float) * np.asarray(h, float)).sum())
    if total <= 0:
        return 0.0
    use, cap, _, _ = density_grid(region, pos, w, h, blockers, bins)
    return float(np.clip(use - target_density * cap, 0, None).sum() / total)


def _colour(t: float) -> str:
    """0 -> pale blue, 0.5 -> yellow, 1 -> red, above 1 -> dark red."""
    t = max(0.0, t)
    stops = [(0.0, (235, 242, 250)), (0.5, (250, 220, 90)), (1.0, (220, 50, 40)), (2.0, (110, 0, 20))]
    for (a, ca), (b, cb) in zip(stops, stops[1:]):
        if t <= b:
            f = (t - a) / (b - a)
            return "#%02x%02x%02x" % tuple(int(ca[i] + f * (cb[i] - ca[i])) for i in range(3))
    return "#%02x%02x%02x" % stops[-1][1]


#: Public name of the density colour scale (the run report's maps use it too).
heat_colour = _colour


def density_svg(
    die: Rect,
    region: Rect,
    boxes: Sequence[tuple[str, Rect, str]],
    usage: np.ndarray,
    capacity: np.ndarray,
    x_edges: np.ndarray,
    y_edges: np.ndarray,
    *,
    title: str = "",
    footprints: Sequence[Rect] = (),
    power: np.ndarray | None = None,
    power_limit: float | None = None,
    dbu_um: float = 0.001,
) -> str:
    """An SVG picture: bins shaded by density (usage / capacity), object boxes
    on top (``boxes``: name, rect, stroke colour), heat-spreading footprints
    dashed.  With ``power`` (W per bin) and ``power_limit`` (W/mm^2), a
    second panel shades the power density against the limit.
    """
    dx0, dy0, dx1, dy1 = die
    W, H = dx1 - dx0, dy1 - dy0
    scale = 480.0 / max(W, H)
    pw, ph = W * scale, H * scale
    panels = 2 if power is not None else 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{panels * (pw + 20) + 20:.0f}" height="{ph + 70:.0f}" '
        f'font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]

    def X(x: float, off: float) -> float:
        return off + (x - dx0) * scale

    def Y(y: float) -> float:
        return 40 + (dy1 - y) * scale

    def panel(off: float, ratio: np.ndarray, heading: str) -> None:
        out.append(f'<text x="{off:.1f}" y="16">{escape(heading)}</text>')
        out.append(f'<rect x="{off:.1f}" y="40" width="{pw:.1f}" height="{ph:.1f}" fill="white" stroke="black"/>')
        for i in range(len(x_edges) - 1):
            for j in range(len(y_edges) - 1):
                r = ratio[i, j]
                if not np.isfinite(r) or r <= 0:
                    continue
                x, y = X(x_edges[i], off), Y(y_edges[j + 1])
                out.append(
                    f'<rect x="{x:.2f}" y="{y:.2f}" width="{(x_edges[i + 1] - x_edges[i]) * scale:.2f}" '
                    f'height="{(y_edges[j + 1] - y_edges[j]) * scale:.2f}" fill="{_colour(float(r))}"/>'
                )
        rx0, ry0, rx1, ry1 = region
        out.append(
            f'<rect x="{X(rx0, off):.1f}" y="{Y(ry1):.1f}" width="{(rx1 - rx0) * scale:.1f}" '
            f'height="{(ry1 - ry0) * scale:.1f}" fill="none" stroke="#888" stroke-dasharray="4 2"/>'
        )
        for fx0, fy0, fx1, fy1 in footprints:
            out.append(
                f'<rect x="{X(fx0, off):.1f}" y="{Y(fy1):.1f}" width="{(fx1 - fx0) * scale:.1f}" '
                f'height="{(fy1 - fy0) * scale:.1f}" fill="none" stroke="#c00" stroke-dasharray="3 2"/>'
            )
        for name, (bx0, by0, bx1, by1), colour in boxes:
            out.append(
                f'<rect x="{X(bx0, off):.1f}" y="{Y(by1):.1f}" width="{(bx1 - bx0) * scale:.1f}" '
                f'height="{(by1 - by0) * scale:.1f}" fill="none" stroke="{colour}"><title>{escape(name)}</title></rect>'
            )

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(capacity > 0, usage / capacity, np.where(usage > 0, np.inf, 0))
    panel(20, ratio, "cell density (area / free area per bin; red = full)")
    if power is not None:
        bin_mm2 = np.outer(np.diff(x_edges), np.diff(y_edges)) * (dbu_um * 1e-3) ** 2
        dens = power / bin_mm2
        lim = power_limit or (float(dens.max()) or 1.0)
        panel(40 + pw, dens / lim, f"power density (red = {lim:g} W/mm^2; peak bin {float(dens.max()):.3g})")
    out.append(
        f'<text x="20" y="{ph + 60:.0f}">{escape(title)}: {len(boxes)} objects; '
        f"scale 1 px = {1 / scale * dbu_um:.3g} um; dashed red: heat-spreading footprints</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"
