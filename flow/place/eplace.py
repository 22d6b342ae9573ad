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

    def field(self, rho: np.ndarray, potential: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """Potential and field (Ex, Ey) per bin from the charge density per bin.

        With ``potential=False`` the potential is not computed (None): the
        placer only needs the field.

        Cosine transform of the density, divide by the squared frequency,
        inverse cosine (potential) and sine (field) transforms; with scipy's
        FFT-based DCT/DST, O(m^2 log m).  :meth:`field_dense` is the same with
        explicit basis matrices (the reference the tests compare against).
        """
        a = _fft.dct(_fft.dct(rho, type=2, axis=0), type=2, axis=1) / 4.0 * self.norm
        a[0, 0] = 0.0
        b = a / self.den
        psi = _cos_sum(_cos_sum(b, 0), 1) if potential else None
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


class _Stamper:
    """Which bins each object's (smoothed) box overlaps, and by how much.

    Objects are grouped by how many bins they can span (``ceil(w / bin) + 1``
    per axis, 3 x 3 for everything up to 2 bins wide); per group the (bin,
    weight) pairs are ``(kx, ky, objects)`` arrays, so the density is one
    ``bincount`` and a field look-up one gather per group, without Python
    loops over objects.
    """

    def __init__(self, grid: _Grid, w: np.ndarray, h: np.ndarray, scale: np.ndarray):
        self.grid = grid
        self.n = len(w)
        self.w = w / grid.bw  # sizes in bins
        self.h = h / grid.bh
        self.scale = scale * (grid.bw * grid.bh)
        kx = np.ceil(self.w).astype(np.int64) + 1
        ky = np.ceil(self.h).astype(np.int64) + 1
        key = kx * 1_000_003 + ky
        self.groups: list[tuple[slice | np.ndarray, int, int]] = []
        for kk in np.unique(key):
            sel = np.flatnonzero(key == kk)
            gx, gy = int(kk // 1_000_003), int(kk % 1_000_003)
            self.groups.append((slice(None) if len(sel) == self.n else sel, gx, gy))

    def stamp(self, cx: np.ndarray, cy: np.ndarray) -> list[tuple[slice | np.ndarray, np.ndarray, np.ndarray]]:
        """Per group: (objects, flat bin indices, overlap areas times scale), both (kx * ky * objects)."""
        g = self.grid
        m = g.m
        out = []
        for sel, kx, ky in self.groups:
            w, h = self.w[sel], self.h[sel]
            lx = (cx[sel] - g.x0) / g.bw - w / 2
            ly = (cy[sel] - g.y0) / g.bh - h / 2
            bx = np.floor(lx)[None, :] + np.arange(kx, dtype=float)[:, None]
            by = np.floor(ly)[None, :] + np.arange(ky, dtype=float)[:, None]
            ox = np.minimum(lx + w, bx + 1) - np.maximum(lx, bx)
            oy = np.minimum(ly + h, by + 1) - np.maximum(ly, by)
            np.maximum(ox, 0, out=ox)
            np.maximum(oy, 0, out=oy)
            # area outside the grid (an object wider than the region) counts nowhere
            ox[(bx < 0) | (bx >= m)] = 0.0
            oy[(by < 0) | (by >= m)] = 0.0
            ox *= self.scale[sel]
            ibx = np.clip(bx, 0, m - 1).astype(np.int64)
            ibx *= m
            iby = np.clip(by, 0, m - 1).astype(np.int64)
            idx = ibx[:, None, :] + iby[None, :, :]
            wgt = ox[:, None, :] * oy[None, :, :]
            out.append((sel, idx.reshape(-1), wgt.reshape(-1)))
        return out

    def density(self, stamps) -> np.ndarray:
        """Area per bin (m, m) of the stamped objects."""
        mm = self.grid.m * self.grid.m
        rho = np.zeros(mm)
        for _, idx, wgt in stamps:
            rho += np.bincount(idx, weights=wgt, minlength=mm)
        return rho.reshape(self.grid.m, self.grid.m)

    def gather(self, stamps, f: np.ndarray) -> np.ndarray:
        """Per object: sum over its bins of overlap area times ``f`` (m, m)."""
        out = np.zeros(self.n)
        flat = f.reshape(-1)
        for sel, idx, wgt in stamps:
            out[sel] = (wgt * flat[idx]).reshape(-1, _count(sel, self.n)).sum(axis=0)
        return out


def _count(sel, n: int) -> int:
    return n if isinstance(sel, slice) else len(sel)


class _NetGroups:
    """Nets grouped by pin count, for per-net max / min / sums without ``reduceat``.

    Each group is a ``(degree, nets)`` matrix of pin indices: per-net
    reductions run over its short first axis, many times faster than
    ``ufunc.reduceat`` over many small segments.  Nets with more than
    :data:`_EXACT_DEG` pins share power-of-two sized groups, padded with
    copies of their first pin that are masked out of the sums.
    """

    def __init__(self, starts: np.ndarray, counts: np.ndarray, weight: np.ndarray):
        self.groups: list[tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]] = []
        size = np.where(counts <= _EXACT_DEG, counts, 2 ** np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64))
        for d in np.unique(size):
            sel = np.flatnonzero(size == d)
            k = np.arange(int(d))[:, None]
            idx = starts[sel][None, :] + k
            mask = None
            if (counts[sel] != d).any():
                mask = k < counts[sel][None, :]
                idx = np.where(mask, idx, starts[sel][None, :])
            pins = idx[mask] if mask is not None else idx.reshape(-1)
            self.groups.append((idx, mask, weight[sel], pins))

    def hpwl(self, px: np.ndarray, py: np.ndarray) -> float:
        total = 0.0
        for idx, _, w, _ in self.groups:
            a = px[idx]
            b = py[idx]
            total += float(((a.max(0) - a.min(0) + b.max(0) - b.min(0)) * w).sum())
        return total

    def wa_grad(self, px: np.ndarray, gamma: float) -> np.ndarray:
        """Gradient of the weighted WA wirelength along one axis, per pin.

        Exponents are taken from each net's max / min, so they never overflow.
        """
        g = np.empty(len(px))
        for idx, mask, w, pins in self.groups:
            a = px[idx]
            ep = np.exp((a - a.max(0)) / gamma)
            em = np.exp((a.min(0) - a) / gamma)
            if mask is not None:
                ep *= mask
                em *= mask
            sp = ep.sum(0)
            sm = em.sum(0)
            xp = (a * ep).sum(0) / sp
            xm = (a * em).sum(0) / sm
            gg = (ep / sp * (1 + (a - xp) / gamma) - em / sm * (1 - (a - xm) / gamma)) * w
            g[pins] = gg[mask] if mask is not None else gg.reshape(-1)
        return g


#: Nets of up to this many pins are grouped by their exact pin count.
_EXACT_DEG = 8


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
    pstart = np.concatenate([[0], np.cumsum(cnt)[:-1]]).astype(np.int64)
    groups = _NetGroups(pstart, cnt, pa.weight[keep].astype(float))
    is_mov = pobj < m
    fixed_px = np.where(is_mov, 0.0, fixed_c[np.clip(pobj - m, 0, max(len(fixed_c) - 1, 0)), 0] + pdx if len(fixed_c) else 0.0)
    fixed_py = np.where(is_mov, 0.0, fixed_c[np.clip(pobj - m, 0, max(len(fixed_c) - 1, 0)), 1] + pdy if len(fixed_c) else 0.0)
    mov_obj = np.where(is_mov, pobj, 0)
    mov_pin_obj = mov_obj[is_mov]
    n_pins_per_obj = np.bincount(mov_pin_obj, minlength=n).astype(float)

    def pins_xy(Xv, Yv):
        px = np.where(is_mov, Xv[mov_obj] + pdx, fixed_px)
        py = np.where(is_mov, Yv[mov_obj] + pdy, fixed_py)
        return px, py

    def hpwl(Xv, Yv) -> float:
        if not len(pstart):
            return 0.0
        return groups.hpwl(*pins_xy(Xv, Yv))

    stamper = _Stamper(grid, sw, sh, dscale)
    mov_stamper = _Stamper(grid, sw[:m], sh[:m], dscale[:m])

    def mov_overflow(Xv, Yv) -> float:
        rho = mov_stamper.density(mov_stamper.stamp(Xv[:m], Yv[:m]))
        cap = target_density * (bin_area - fixed_rho)
        return float(np.clip(rho - cap, 0, None).sum() / max(cell_area, 1.0))

    def grads(Xv, Yv, gamma, lam):
        gx = np.zeros(n)
        gy = np.zeros(n)
        if len(pstart):
            px, py = pins_xy(Xv, Yv)
            gx += np.bincount(mov_pin_obj, weights=groups.wa_grad(px, gamma)[is_mov], minlength=n)
            gy += np.bincount(mov_pin_obj, weights=groups.wa_grad(py, gamma)[is_mov], minlength=n)
        stamps = stamper.stamp(Xv, Yv)
        rho = stamper.density(stamps) + fixed_rho * target_density
        _, ex, ey = grid.field(rho / bin_area, potential=False)
        # the density energy decreases along the field: gradient is -q E
        return gx, gy, -stamper.gather(stamps, ex), -stamper.gather(stamps, ey)

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
