"""Electrostatic global placement (ePlace / RePlAce style) for standard cells.

Objects are charges; the density penalty is the energy of the electric field
they create over the placement region, found by solving Poisson's equation
with cosine transforms (Neumann boundary).  Wirelength is the weighted-average
(WA) smooth HPWL.  The objective ``W + lambda * N`` is minimised by Nesterov's
method with a Lipschitz-predicted step and a diagonal preconditioner; lambda
grows until the density overflow drops below the target.  Filler charges (no
nets) take up the area the target density leaves free, so the cells settle at
that density instead of spreading over the whole region.

Reference: J. Lu et al., "ePlace: Electrostatics-Based Placement Using Fast
Fourier Transform and Nesterov's Method", ACM TODAES 2015; C.-K. Cheng et al.,
"RePlAce", IEEE TCAD 2019.  Written from the papers' equations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.fft as _fft

from flow.place.model import PinArrays, Rect


#: Average movable cells per bin when the bin count is chosen automatically.
BIN_CELLS = 1.0

#: Relative HPWL growth per iteration at which the density penalty stops growing.
DH_REF = 0.03


@dataclass
class EPlaceResult:
    """Centres of the movable objects (float dbu), iterations, final overflow."""

    cx: np.ndarray
    cy: np.ndarray
    iterations: int
    overflow: float


class _Grid:
    """Bins over the region and the Poisson solver on them."""

    def __init__(self, region: Rect, m: int):
        x0, y0, x1, y1 = region
        self.x0, self.y0 = float(x0), float(y0)
        self.m = m
        self.bw = (x1 - x0) / m
        self.bh = (y1 - y0) / m
        k = np.arange(m)
        i = np.arange(m) + 0.5
        # cos / sin bases: C[u, i] = cos(pi u (i + 1/2) / m)
        ang = np.pi * np.outer(k, i) / m
        self.C = np.cos(ang)
        self.S = np.sin(ang)
        w = np.pi * k / m  # frequency per bin
        wu = w[:, None] / self.bw
        wv = w[None, :] / self.bh
        den = wu**2 + wv**2
        den[0, 0] = 1.0
        self.wu, self.wv, self.den = wu, wv, den
        scale = np.full(m, 2.0 / m)
        scale[0] = 1.0 / m
        self.norm = np.outer(scale, scale)

    def field(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Potential and field (Ex, Ey) per bin from the charge density per bin.

        Cosine transform of the density, divide by the squared frequency,
        inverse cosine (potential) and sine (field) transforms; with scipy's
        FFT-based DCT/DST, O(m^2 log m).  :meth:`field_dense` is the same with
        explicit basis matrices (the reference the tests compare against).
        """
        a = _fft.dct(_fft.dct(rho, type=2, axis=0), type=2, axis=1) / 4.0 * self.norm
        a[0, 0] = 0.0
        b = a / self.den
        psi = _cos_sum(_cos_sum(b, 0), 1)
        ex = _cos_sum(_sin_sum(b * self.wu, 0), 1)
        ey = _sin_sum(_cos_sum(b * self.wv, 0), 1)
        return psi, ex, ey

    def field_dense(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`field` by matrix products (O(m^3)); for tests."""
        a = self.C @ rho @ self.C.T * self.norm
        a[0, 0] = 0.0
        b = a / self.den
        psi = self.C.T @ b @ self.C
        ex = self.S.T @ (b * self.wu) @ self.C
        ey = self.C.T @ (b * self.wv) @ self.S
        return psi, ex, ey


def _cos_sum(b: np.ndarray, axis: int) -> np.ndarray:
    """sum_u b[u] cos(pi u (i + 1/2) / m) along ``axis`` (an unnormalised DCT-III)."""
    first = np.take(b, [0], axis=axis)
    return (_fft.dct(b, type=3, axis=axis) + first) / 2.0


def _sin_sum(b: np.ndarray, axis: int) -> np.ndarray:
    """sum_u b[u] sin(pi u (i + 1/2) / m) along ``axis`` (an unnormalised DST-III)."""
    shifted = np.roll(b, -1, axis=axis)
    idx = [slice(None)] * b.ndim
    idx[axis] = -1
    shifted[tuple(idx)] = 0.0
    return _fft.dst(shifted, type=3, axis=axis) / 2.0


def _overlaps(grid: _Grid, cx, cy, w, h, kmax_x: int, kmax_y: int):
    """Yield (bin_ix, bin_iy, overlap area) arrays for every object, window by window."""
    m = grid.m
    lx = cx - w / 2 - grid.x0
    ly = cy - h / 2 - grid.y0
    ix0 = np.floor(lx / grid.bw).astype(np.int64)
    iy0 = np.floor(ly / grid.bh).astype(np.int64)
    for kx in range(kmax_x):
        bx = ix0 + kx
        ox = np.minimum(lx + w, (bx + 1) * grid.bw) - np.maximum(lx, bx * grid.bw)
        ox = np.clip(ox, 0, None)
        validx = (bx >= 0) & (bx < m) & (ox > 0)
        for ky in range(kmax_y):
            by = iy0 + ky
            oy = np.minimum(ly + h, (by + 1) * grid.bh) - np.maximum(ly, by * grid.bh)
            oy = np.clip(oy, 0, None)
            ok = validx & (by >= 0) & (by < m) & (oy > 0)
            if ok.any():
                yield np.flatnonzero(ok), bx[ok], by[ok], (ox * oy)[ok]


def _wa(pa: PinArrays, px: np.ndarray, gamma: float, starts: np.ndarray, counts: np.ndarray):
    """WA wirelength along one axis and its gradient per pin."""
    xmax = np.maximum.reduceat(px, starts)
    xmin = np.minimum.reduceat(px, starts)
    rmax = np.repeat(xmax, counts)
    rmin = np.repeat(xmin, counts)
    ep = np.exp((px - rmax) / gamma)
    em = np.exp((rmin - px) / gamma)
    sp = np.add.reduceat(ep, starts)
    sm = np.add.reduceat(em, starts)
    xp = np.add.reduceat(px * ep, starts) / sp
    xm = np.add.reduceat(px * em, starts) / sm
    rxp = np.repeat(xp, counts)
    rxm = np.repeat(xm, counts)
    g = ep / np.repeat(sp, counts) * (1 + (px - rxp) / gamma) - em / np.repeat(sm, counts) * (1 - (px - rxm) / gamma)
    return xp - xm, g


def eplace(
    w: np.ndarray,
    h: np.ndarray,
    cx0: np.ndarray,
    cy0: np.ndarray,
    fixed_c: np.ndarray,
    pa: PinArrays,
    region: Rect,
    blockers: Sequence[Rect],
    *,
    target_density: float = 1.0,
    target_overflow: float = 0.1,
    max_iter: int = 2000,
    init_penalty: float = 1e-3,
    seed: int = 1,
    bins: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> EPlaceResult:
    """Electrostatic global placement of ``m`` movable objects.

    Parameters
    ----------
    w, h : ndarray (m,)
        Movable object sizes (dbu).
    cx0, cy0 : ndarray (m,)
        Starting centres (e.g. a quadratic placement).
    fixed_c : ndarray (n_fixed, 2)
        Centres of the fixed objects, indexed in ``pa`` after the movables
        (pin object ``i >= m`` is fixed object ``i - m``).
    pa : PinArrays
        Nets; pin offsets ``dx, dy`` are from each object's *centre*.
    region : rect
        Placement region (dbu); movable centres stay inside it.
    blockers : rects
        Fixed blockages (macros), charged as fully occupied area.
    target_density : float
        Density (0..1] the cells settle at; fillers take the rest.
    target_overflow : float
        Stop when the overflow (movable area above the target, per bin,
        over the total movable area) is below this.
    """
    rng = np.random.default_rng(seed)
    m = len(w)
    x0, y0, x1, y1 = (float(v) for v in region)
    area_region = (x1 - x0) * (y1 - y0)
    # blocked area
    cell_area = float((w * h).sum())
    if bins is None:
        # about BIN_CELLS average cells per bin, a power of two per side
        per_bin = BIN_CELLS * cell_area / max(m, 1)
        bins = int(np.clip(2 ** round(math.log2(max(4.0, math.sqrt(area_region / max(1.0, per_bin))))), 8, 512))
    grid_m = bins
    grid = _Grid(region, grid_m)
    bin_area = grid.bw * grid.bh
    fixed_rho = np.zeros((grid_m, grid_m))
    for bx0, by0, bx1, by1 in blockers:
        xe = x0 + grid.bw * np.arange(grid_m + 1)
        ye = y0 + grid.bh * np.arange(grid_m + 1)
        ox = np.clip(np.minimum(xe[1:], bx1) - np.maximum(xe[:-1], bx0), 0, None)
        oy = np.clip(np.minimum(ye[1:], by1) - np.maximum(ye[:-1], by0), 0, None)
        fixed_rho += np.outer(ox, oy)
    fixed_rho = np.minimum(fixed_rho, bin_area)
    free_area = area_region - float(fixed_rho.sum())
    # fillers: same size as the typical cell
    filler_area = max(0.0, target_density * free_area - cell_area)
    if m:
        order = np.argsort(w * h)
        mid = order[int(0.1 * m) : max(int(0.9 * m), int(0.1 * m) + 1)]
        fw, fh = float(w[mid].mean()), float(h[mid].mean())
    else:
        fw, fh = grid.bw, grid.bh
    n_fill = int(filler_area // (fw * fh)) if fw * fh > 0 else 0
    n = m + n_fill
    W = np.concatenate([w, np.full(n_fill, fw)]).astype(float)
    H = np.concatenate([h, np.full(n_fill, fh)]).astype(float)
    # local smoothing: objects smaller than a bin are spread over a bin-sized box
    sw = np.maximum(W, math.sqrt(2) * grid.bw)
    sh = np.maximum(H, math.sqrt(2) * grid.bh)
    dscale = (W * H) / (sw * sh)
    kx = int(math.ceil(sw.max() / grid.bw)) + 1
    ky = int(math.ceil(sh.max() / grid.bh)) + 1
    lo_x, hi_x = x0 + sw / 2, x1 - sw / 2
    lo_y, hi_y = y0 + sh / 2, y1 - sh / 2
    hi_x = np.maximum(hi_x, lo_x)
    hi_y = np.maximum(hi_y, lo_y)
    fx = rng.uniform(x0 + fw / 2, x1 - fw / 2, n_fill)
    fy = rng.uniform(y0 + fh / 2, y1 - fh / 2, n_fill)
    X = np.concatenate([cx0, fx]).astype(float)
    Y = np.concatenate([cy0, fy]).astype(float)
    charge = W * H

    # nets: pins of movables point into X/Y, fixed pins are constants
    counts = (pa.start[1:] - pa.start[:-1]).astype(np.int64)
    keep = counts >= 2
    starts = pa.start[:-1][keep]
    cnt = counts[keep]
    sel = np.concatenate([np.arange(s, s + c) for s, c in zip(starts, cnt)]) if len(starts) else np.zeros(0, np.int64)
    pobj = pa.obj[sel]
    pdx = pa.dx[sel].astype(float)
    pdy = pa.dy[sel].astype(float)
    pw = np.repeat(pa.weight[keep], cnt)
    pstart = np.concatenate([[0], np.cumsum(cnt)[:-1]]).astype(np.int64)
    is_mov = pobj < m
    fixed_px = np.where(is_mov, 0.0, fixed_c[np.clip(pobj - m, 0, max(len(fixed_c) - 1, 0)), 0] + pdx if len(fixed_c) else 0.0)
    fixed_py = np.where(is_mov, 0.0, fixed_c[np.clip(pobj - m, 0, max(len(fixed_c) - 1, 0)), 1] + pdy if len(fixed_c) else 0.0)
    mov_obj = np.where(is_mov, pobj, 0)
    n_pins_per_obj = np.bincount(mov_obj[is_mov], minlength=n).astype(float)

    def pins_xy(Xv, Yv):
        px = np.where(is_mov, Xv[mov_obj] + pdx, fixed_px)
        py = np.where(is_mov, Yv[mov_obj] + pdy, fixed_py)
        return px, py

    def hpwl(Xv, Yv) -> float:
        if not len(pstart):
            return 0.0
        px, py = pins_xy(Xv, Yv)
        return float(((np.maximum.reduceat(px, pstart) - np.minimum.reduceat(px, pstart)
                       + np.maximum.reduceat(py, pstart) - np.minimum.reduceat(py, pstart)) * pa.weight[keep]).sum())

    def density(Xv, Yv):
        rho = np.zeros((grid_m, grid_m))
        for idx, bx, by, ov in _overlaps(grid, Xv, Yv, sw, sh, kx, ky):
            rho += np.bincount(bx * grid_m + by, weights=ov * dscale[idx], minlength=grid_m * grid_m).reshape(grid_m, grid_m)
        return rho

    def mov_overflow(Xv, Yv) -> float:
        rho = np.zeros((grid_m, grid_m))
        for idx, bx, by, ov in _overlaps(grid, Xv[:m], Yv[:m], sw[:m], sh[:m], kx, ky):
            rho += np.bincount(bx * grid_m + by, weights=ov * dscale[idx], minlength=grid_m * grid_m).reshape(grid_m, grid_m)
        cap = target_density * (bin_area - fixed_rho)
        return float(np.clip(rho - cap, 0, None).sum() / max(cell_area, 1.0))

    def grads(Xv, Yv, gamma, lam):
        gx = np.zeros(n)
        gy = np.zeros(n)
        if len(pstart):
            px, py = pins_xy(Xv, Yv)
            _, gpx = _wa(pa, px, gamma, pstart, cnt)
            _, gpy = _wa(pa, py, gamma, pstart, cnt)
            gx += np.bincount(mov_obj[is_mov], weights=(gpx * pw)[is_mov], minlength=n)
            gy += np.bincount(mov_obj[is_mov], weights=(gpy * pw)[is_mov], minlength=n)
        rho = density(Xv, Yv) + fixed_rho * target_density
        _, ex, ey = grid.field(rho / bin_area)
        dx = np.zeros(n)
        dy = np.zeros(n)
        for idx, bx, by, ov in _overlaps(grid, Xv, Yv, sw, sh, kx, ky):
            # idx is unique within one window offset: plain fancy-index add
            dx[idx] += ov * dscale[idx] * ex[bx, by]
            dy[idx] += ov * dscale[idx] * ey[bx, by]
        # the density energy decreases along the field: gradient is -q E
        return gx, gy, -dx, -dy

    def clamp(Xv, Yv):
        return np.clip(Xv, lo_x, hi_x), np.clip(Yv, lo_y, hi_y)

    X, Y = clamp(X, Y)
    gwx, gwy, gdx, gdy = grads(X, Y, 8 * grid.bw, 0.0)
    wl_norm = np.abs(gwx[:m]).sum() + np.abs(gwy[:m]).sum()
    d_norm = np.abs(gdx).sum() + np.abs(gdy).sum()
    lam = init_penalty * (wl_norm / d_norm if d_norm > 0 else 1.0)
    if lam == 0:
        lam = init_penalty

    def full_grad(Xv, Yv, gamma, lam):
        gwx, gwy, gdx, gdy = grads(Xv, Yv, gamma, lam)
        pre = np.maximum(1.0, n_pins_per_obj + lam * charge / bin_area)
        return (gwx + lam * gdx / bin_area) / pre, (gwy + lam * gdy / bin_area) / pre

    ovf = mov_overflow(X, Y)
    gamma = 8 * grid.bw * 10 ** ((ovf - 0.1) * 20 / 9 - 1)
    # Nesterov with Lipschitz step prediction
    ux, uy = X.copy(), Y.copy()  # major solution
    vx, vy = X.copy(), Y.copy()  # reference solution
    gvx, gvy = full_grad(vx, vy, gamma, lam)
    step = 0.1 * grid.bw / max(np.abs(gvx).max(), np.abs(gvy).max(), 1e-12)
    a = 1.0
    prev_hpwl = hpwl(ux, uy)
    it = 0
    for it in range(1, max_iter + 1):
        # backtracking on the predicted step
        for _ in range(10):
            nux, nuy = clamp(vx - step * gvx, vy - step * gvy)
            a_new = (1 + math.sqrt(4 * a * a + 1)) / 2
            coef = (a - 1) / a_new
            nvx, nvy = clamp(nux + coef * (nux - ux), nuy + coef * (nuy - uy))
            ngx, ngy = full_grad(nvx, nvy, gamma, lam)
            dv = math.sqrt(float(((nvx - vx) ** 2).sum() + ((nvy - vy) ** 2).sum()))
            dg = math.sqrt(float(((ngx - gvx) ** 2).sum() + ((ngy - gvy) ** 2).sum()))
            new_step = dv / dg if dg > 0 else step
            if new_step >= 0.95 * step:
                break
            step = new_step
        ux, uy, vx, vy, gvx, gvy, a = nux, nuy, nvx, nvy, ngx, ngy, a_new
        step = new_step
        if it % 5 == 0 or it == 1:
            ovf = mov_overflow(ux, uy)
            if progress:
                progress(min(1.0, max(0.0, 1.0 - (ovf - target_overflow) / max(1e-9, 1.0 - target_overflow))))
            if ovf <= target_overflow:
                break
        cur = hpwl(ux, uy)
        # penalty schedule (RePlAce): grow fast while wirelength is stable
        dh = (cur - prev_hpwl) / max(prev_hpwl, 1.0)
        mu = 1.1 ** max(-1.0, min(1.0, 1.0 - dh / DH_REF))
        lam *= max(0.95, min(1.1, mu))
        prev_hpwl = cur
        gamma = 8 * grid.bw * 10 ** ((ovf - 0.1) * 20 / 9 - 1)
    return EPlaceResult(ux[:m].copy(), uy[:m].copy(), it, mov_overflow(ux, uy))
