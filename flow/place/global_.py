"""Global placement: quadratic wirelength minimisation plus spreading.

The scheme follows the lower-bound / upper-bound loop of SimPL-style
placers:

1. *Lower bound*: minimise the quadratic wirelength of a clique (small nets)
   or star (large nets) model with fixed objects as anchors; x and y are two
   independent sparse SPD systems.
2. *Upper bound*: spread that solution over the free capacity of the region
   by recursive bisection (:func:`spread`), so that no area is over-full.
3. Pull every movable object towards its spread position with a pseudo-net
   whose weight grows each round, and solve again.

The result is a target lower-left corner per object (floats, dbu) that the
legaliser turns into a legal placement.  The analytic core is isolated in
:class:`QuadraticModel` and :func:`spread` so an ePlace-style density solver
can replace steps 1-3 without touching the legaliser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from flow.place.model import PinArrays, Rect

#: Nets with more pins than this use a star (one extra variable) instead of a clique.
CLIQUE_MAX_PINS = 4


@dataclass
class QuadraticModel:
    """The net part of the quadratic system, built once and reused.

    Variables are the movable objects' lower-left coordinates (in the order of
    ``var_of``) followed by one star-centre per large net.
    """

    n_vars: int
    n_movable: int
    A: sp.csr_matrix  # SPD-ish Laplacian (same for x and y)
    bx: np.ndarray
    by: np.ndarray


def build_quadratic(
    pa: PinArrays,
    var_of: np.ndarray,
    fixed_pos: np.ndarray,
) -> QuadraticModel:
    """Assemble the clique/star quadratic model.

    Parameters
    ----------
    pa : PinArrays
        Nets as flat pin arrays (offsets in dbu).
    var_of : ndarray of int
        Per object: its variable index, or -1 if fixed.
    fixed_pos : ndarray (n, 2)
        Lower-left of every object (only fixed rows are read), dbu.

    Notes
    -----
    A two-point connection of weight ``c`` between pins ``u`` (offset ``du``)
    and ``v`` contributes ``c * (x_u + du - x_v - dv)^2``.  Clique edges of a
    ``p``-pin net get ``w / (p - 1)``; star edges get ``w``.
    """
    n_movable = int((var_of >= 0).sum())
    n_nets = len(pa.start) - 1
    sizes = pa.start[1:] - pa.start[:-1]
    star_nets = np.flatnonzero(sizes > CLIQUE_MAX_PINS)
    star_var = np.full(n_nets, -1, dtype=np.int64)
    star_var[star_nets] = n_movable + np.arange(len(star_nets))
    n_vars = n_movable + len(star_nets)

    # two-point connections: (pin u, pin v or star, weight)
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    cs: list[np.ndarray] = []
    for k in range(n_nets):
        s, e = int(pa.start[k]), int(pa.start[k + 1])
        p = e - s
        if p < 2:
            continue
        idx = np.arange(s, e)
        if star_var[k] >= 0:
            us.append(idx)
            vs.append(np.full(p, -1 - star_var[k]))  # negative: a star variable
            cs.append(np.full(p, pa.weight[k]))
        else:
            iu, iv = np.triu_indices(p, 1)
            us.append(idx[iu])
            vs.append(idx[iv])
            cs.append(np.full(len(iu), pa.weight[k] / (p - 1)))
    A = sp.csr_matrix((n_vars, n_vars))
    bx = np.zeros(n_vars)
    by = np.zeros(n_vars)
    if not us:
        return QuadraticModel(n_vars, n_movable, A, bx, by)
    u = np.concatenate(us)
    v = np.concatenate(vs)
    c = np.concatenate(cs)

    # endpoint u is always a pin; endpoint v is a pin (v >= 0) or a star (v < 0)
    u_obj = pa.obj[u]
    u_var = var_of[u_obj]
    u_dx, u_dy = pa.dx[u].astype(float), pa.dy[u].astype(float)
    is_star = v < 0
    v_pin = np.where(is_star, 0, v)
    v_var = np.where(is_star, -1 - v, var_of[pa.obj[v_pin]])
    v_dx = np.where(is_star, 0.0, pa.dx[v_pin])
    v_dy = np.where(is_star, 0.0, pa.dy[v_pin])
    # a fixed endpoint contributes its absolute pin position to the rhs
    u_fx = fixed_pos[u_obj, 0] + u_dx
    u_fy = fixed_pos[u_obj, 1] + u_dy
    v_obj = pa.obj[v_pin]
    v_fx = np.where(is_star, 0.0, fixed_pos[v_obj, 0] + v_dx)
    v_fy = np.where(is_star, 0.0, fixed_pos[v_obj, 1] + v_dy)

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    both = (u_var >= 0) & (v_var >= 0)
    uo = (u_var >= 0) & (v_var < 0)
    vo = (u_var < 0) & (v_var >= 0)
    # both movable
    rows += [u_var[both], v_var[both], u_var[both], v_var[both]]
    cols += [u_var[both], v_var[both], v_var[both], u_var[both]]
    vals += [c[both], c[both], -c[both], -c[both]]
    np.add.at(bx, u_var[both], c[both] * (v_dx[both] - u_dx[both]))
    np.add.at(bx, v_var[both], c[both] * (u_dx[both] - v_dx[both]))
    np.add.at(by, u_var[both], c[both] * (v_dy[both] - u_dy[both]))
    np.add.at(by, v_var[both], c[both] * (u_dy[both] - v_dy[both]))
    # only u movable: v is a fixed pin (stars are always variables)
    rows.append(u_var[uo])
    cols.append(u_var[uo])
    vals.append(c[uo])
    np.add.at(bx, u_var[uo], c[uo] * (v_fx[uo] - u_dx[uo]))
    np.add.at(by, u_var[uo], c[uo] * (v_fy[uo] - u_dy[uo]))
    # only v movable (or a star): u is a fixed pin
    rows.append(v_var[vo])
    cols.append(v_var[vo])
    vals.append(c[vo])
    np.add.at(bx, v_var[vo], c[vo] * (u_fx[vo] - v_dx[vo]))
    np.add.at(by, v_var[vo], c[vo] * (u_fy[vo] - v_dy[vo]))
    A = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_vars, n_vars)
    ).tocsr()
    return QuadraticModel(n_vars, n_movable, A, bx, by)


def solve(
    model: QuadraticModel,
    anchor_w: np.ndarray,
    anchor_x: np.ndarray,
    anchor_y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise net energy plus ``sum anchor_w * (x - anchor)^2`` over the movables.

    ``anchor_*`` have one entry per movable variable; star variables get a
    tiny anchor to the mean of the movable anchors so the system is always
    non-singular.  Returns the movable lower-left coordinates (x, y).
    """
    n, m = model.n_vars, model.n_movable
    d = np.zeros(n)
    ax = np.zeros(n)
    ay = np.zeros(n)
    d[:m] = anchor_w
    ax[:m] = anchor_x
    ay[:m] = anchor_y
    if n > m:
        eps = 1e-9 * (float(anchor_w.mean()) if m else 1.0)
        d[m:] = eps
        ax[m:] = float(anchor_x.mean()) if m else 0.0
        ay[m:] = float(anchor_y.mean()) if m else 0.0
    A = (model.A + sp.diags(d)).tocsc()
    lu = spla.splu(A)
    x = lu.solve(model.bx + d * ax)
    y = lu.solve(model.by + d * ay)
    return x[:m], y[:m]


# --------------------------------------------------------------------------
# spreading


@dataclass(frozen=True)
class CapacityMap:
    """Free area (dbu^2) per bin of a regular grid over the region."""

    x_edges: np.ndarray  # bin boundaries, len nx + 1
    y_edges: np.ndarray
    free: np.ndarray  # (nx, ny) float


def _overlap_1d(edges: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0, None)


def capacity_map(region: Rect, blockers: Sequence[Rect], n_bins: tuple[int, int]) -> CapacityMap:
    """Free area per bin: bin area minus the (clipped) area of ``blockers``.

    Overlapping blockers are subtracted twice; the result is clipped at 0.
    """
    rx0, ry0, rx1, ry1 = region
    xe = np.linspace(rx0, rx1, n_bins[0] + 1)
    ye = np.linspace(ry0, ry1, n_bins[1] + 1)
    free = np.outer(np.diff(xe), np.diff(ye))
    for bx0, by0, bx1, by1 in blockers:
        ox = _overlap_1d(xe, bx0, bx1)
        oy = _overlap_1d(ye, by0, by1)
        if ox.any() and oy.any():
            free -= np.outer(ox, oy)
    return CapacityMap(xe, ye, np.clip(free, 0, None))


def spread(
    cx: np.ndarray,
    cy: np.ndarray,
    area: np.ndarray,
    cap: CapacityMap,
    tiebreak: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Spread object centres over free capacity by recursive bisection.

    Each step cuts the current bin window across its longer side where the
    free capacity is halved, and splits the objects (sorted along that axis)
    so each side's share of object area matches its share of capacity.  A
    window of one bin (or one object) spreads its objects evenly along its
    longer side, keeping their order.  Returns new centres (dbu, float).

    Notes
    -----
    O(n log^2 n); the ``tiebreak`` values (small, seeded) order objects that
    share a coordinate so the result is deterministic and symmetric stacks
    are broken up.
    """
    n = len(cx)
    out_x = cx.astype(float).copy()
    out_y = cy.astype(float).copy()
    if n == 0:
        return out_x, out_y
    xe, ye, free = cap.x_edges, cap.y_edges, cap.free
    # 2-D prefix sums of free capacity for O(1) window sums
    S = np.zeros((free.shape[0] + 1, free.shape[1] + 1))
    S[1:, 1:] = free.cumsum(0).cumsum(1)

    def window(i0: int, i1: int, j0: int, j1: int) -> float:
        return float(S[i1, j1] - S[i0, j1] - S[i1, j0] + S[i0, j0])

    stack = [(np.arange(n), 0, free.shape[0], 0, free.shape[1])]
    while stack:
        idx, i0, i1, j0, j1 = stack.pop()
        if len(idx) == 0:
            continue
        wx = xe[i1] - xe[i0]
        wy = ye[j1] - ye[j0]
        if len(idx) == 1 or (i1 - i0 == 1 and j1 - j0 == 1):
            # leaf: spread along the longer side, keep order
            if wx >= wy:
                order = idx[np.lexsort((tiebreak[idx], cx[idx]))]
                k = len(order)
                out_x[order] = xe[i0] + wx * (np.arange(k) + 0.5) / k
                out_y[order] = 0.5 * (ye[j0] + ye[j1])
            else:
                order = idx[np.lexsort((tiebreak[idx], cy[idx]))]
                k = len(order)
                out_y[order] = ye[j0] + wy * (np.arange(k) + 0.5) / k
                out_x[order] = 0.5 * (xe[i0] + xe[i1])
            continue
        cut_x = (wx >= wy and i1 - i0 > 1) or j1 - j0 == 1
        if cut_x:
            cols = S[i0 + 1 : i1 + 1, j1] - S[i0 + 1 : i1 + 1, j0] - S[i0, j1] + S[i0, j0]
            total = cols[-1]
            if total <= 0:  # fully blocked window: fall back to geometry
                cols = xe[i0 + 1 : i1 + 1] - xe[i0]
                total = cols[-1]
            k = int(np.clip(np.argmin(np.abs(cols[:-1] - total / 2)) + 1, 1, i1 - i0 - 1))
            left_cap = cols[k - 1]
            coord = cx
        else:
            rows_ = S[i1, j0 + 1 : j1 + 1] - S[i0, j0 + 1 : j1 + 1] - S[i1, j0] + S[i0, j0]
            total = rows_[-1]
            if total <= 0:
                rows_ = ye[j0 + 1 : j1 + 1] - ye[j0]
                total = rows_[-1]
            k = int(np.clip(np.argmin(np.abs(rows_[:-1] - total / 2)) + 1, 1, j1 - j0 - 1))
            left_cap = rows_[k - 1]
            coord = cy
        order = idx[np.lexsort((tiebreak[idx], coord[idx]))]
        cum0 = np.concatenate([[0.0], np.cumsum(area[order])])
        # number of objects going to the low side: area share nearest to capacity share
        split = int(np.argmin(np.abs(cum0 - (left_cap / total) * cum0[-1])))
        if cut_x:
            stack.append((order[:split], i0, i0 + k, j0, j1))
            stack.append((order[split:], i0 + k, i1, j0, j1))
        else:
            stack.append((order[:split], i0, i1, j0, j0 + k))
            stack.append((order[split:], i0, i1, j0 + k, j1))
    return out_x, out_y


def spread_window(
    cx: np.ndarray, cy: np.ndarray, need: float, region: Rect, blockers: Sequence[Rect]
) -> Rect:
    """Smallest box (grown from the centres' bounding box) with free area >= ``need``.

    The box grows about its centre by 15 % per step, clipped to ``region``;
    the whole region is returned when nothing smaller suffices.
    """
    rx0, ry0, rx1, ry1 = region
    x0, x1 = float(cx.min()), float(cx.max())
    y0, y1 = float(cy.min()), float(cy.max())
    mx, my = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    hw = max(0.5 * (x1 - x0), 1.0)
    hh = max(0.5 * (y1 - y0), 1.0)
    # start from a box of the needed area with the solution's aspect ratio
    grow = max(1.0, np.sqrt(need / (4 * hw * hh)))
    hw, hh = hw * grow, hh * grow
    while True:
        bx0, bx1 = max(rx0, mx - hw), min(rx1, mx + hw)
        by0, by1 = max(ry0, my - hh), min(ry1, my + hh)
        if (bx0, by0, bx1, by1) == (rx0, ry0, rx1, ry1):
            return region
        if bx1 - bx0 > 0 and by1 - by0 > 0:
            cap = capacity_map((bx0, by0, bx1, by1), blockers, (16, 16))  # type: ignore[arg-type]
            if cap.free.sum() >= need:
                return (bx0, by0, bx1, by1)  # type: ignore[return-value]
        hw, hh = hw * 1.15, hh * 1.15


def global_place(
    w: np.ndarray,
    h: np.ndarray,
    var_of: np.ndarray,
    fixed_pos: np.ndarray,
    pa: PinArrays,
    region: Rect,
    blockers: Sequence[Rect],
    inflated_area: np.ndarray,
    seed: int,
    *,
    max_iter: int = 12,
    target_density: float = 0.7,
    progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Target lower-left corners (float dbu, one row per movable) and rounds run.

    Parameters
    ----------
    w, h : ndarray
        Sizes of the movable objects (dbu), in variable order.
    var_of, fixed_pos, pa
        See :func:`build_quadratic`.
    region : (x0, y0, x1, y1)
        Placement area (dbu).
    blockers : sequence of rects
        Fixed objects and keepouts (dbu), removed from the capacity.
    inflated_area : ndarray
        Area each movable claims when spreading (dbu^2; includes clearance).
    seed : int
        Seeds the tie-breaking jitter.
    max_iter : int
        Maximum solve + spread rounds.
    target_density : float
        Spreading uses a window whose free area is at least the inflated
        object area divided by this (or the whole region).
    """
    m = len(w)
    rx0, ry0, rx1, ry1 = region
    rng = np.random.default_rng(seed)
    tiebreak = rng.random(m)
    if m == 0:
        return np.zeros((0, 2)), 0
    model = build_quadratic(pa, var_of, fixed_pos)
    diag = model.A.diagonal()[:m]
    scale = float(diag[diag > 0].mean()) if (diag > 0).any() else 1.0
    # weak pull to the region centre keeps unconnected objects defined;
    # seeded jitter breaks ties between identically connected objects
    span = min(rx1 - rx0, ry1 - ry0)
    cxr = 0.5 * (rx0 + rx1) + (rng.random(m) - 0.5) * 1e-3 * span
    cyr = 0.5 * (ry0 + ry1) + (rng.random(m) - 0.5) * 1e-3 * span
    aw = np.full(m, 1e-3 * scale)
    ax, ay = cxr - w / 2, cyr - h / 2

    n_b = int(np.clip(np.ceil(np.sqrt(m) * 1.5), 4, 128))
    need = float(inflated_area.sum()) / target_density

    x, y = solve(model, aw, ax, ay)
    sx, sy = x, y
    prev = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        # upper bound: spread the current solution over a window just large
        # enough for it (low utilisation must not scatter objects over the die)
        window = spread_window(x + w / 2, y + h / 2, need, region, blockers)
        aspect = (window[2] - window[0]) / (window[3] - window[1])
        nbx = int(np.clip(round(n_b * np.sqrt(aspect)), 2, 256))
        nby = int(np.clip(round(n_b / np.sqrt(aspect)), 2, 256))
        cap = capacity_map(window, blockers, (nbx, nby))
        scx, scy = spread(x + w / 2, y + h / 2, inflated_area, cap, tiebreak)
        sx = np.clip(scx - w / 2, rx0, rx1 - w)
        sy = np.clip(scy - h / 2, ry0, ry1 - h)
        if progress:
            progress(it / max_iter)
        # convergence: lower and upper bound close (relative displacement)
        disp = float(np.mean(np.abs(sx - x) + np.abs(sy - y)))
        if disp < 0.01 * span or abs(prev - disp) < 1e-3 * span:
            break
        prev = disp
        # lower bound: pull towards the spread positions, harder each round
        aw = np.full(m, scale * 0.02 * (1.8**it))
        x, y = solve(model, aw, sx, sy)
    return np.column_stack([sx, sy]), it
