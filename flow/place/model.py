"""Inputs and outputs of the placement engine, and the legality rule.

All lengths are integers in database units (dbu).  An object is the bounding
box of one device, addressed by its lower-left corner.

Legality
--------
A placement (one lower-left corner per object) is *legal* when all of the
following hold (this is exactly what :func:`flow.place.check_legal` checks):

1. **Fixed objects stay put**: an object with ``fixed=(x, y)`` is at ``(x, y)``.
   Fixed objects may lie partly or wholly outside the region (pads on the die
   edge).
2. **Inside the region**: every movable object's box ``[x, x+w] x [y, y+h]``
   lies within ``region = (x0, y0, x1, y1)`` (edges may touch).
3. **On the grid**: every movable lower-left corner has ``x % grid == 0`` and
   ``y % grid == 0`` (the grid is anchored at the origin (0, 0)).
4. **Spacing between objects** (fixed ones included): for every pair ``a, b``
   let ``g = spacing + max(a.halo, b.halo)`` and let the separations be
   ``sx = max(xa, xb) - min(xa + wa, xb + wb)`` and likewise ``sy``
   (negative when the boxes overlap along that axis).  The pair is legal when
   ``sx >= g or sy >= g``.  Equivalently: box ``a`` grown by ``g`` on every
   side does not overlap the interior of box ``b``.  Two boxes that overlap
   have ``sx < 0`` and ``sy < 0``, so they always violate.
5. **Keepouts**: for every movable object and every keepout rectangle
   ``(x0, y0, x1, y1)`` the same rule holds with ``g = spacing + halo``
   (the halo is the object's wish for clearance around it, so it applies to
   keepouts too).  Fixed objects are exempt from keepouts.
6. **Fences**: a movable object with ``region=(x0, y0, x1, y1)`` lies inside
   that rectangle (as rule 2, and inside the placement region too).
7. **Pair rules** (optional :class:`PairRules`): the clearance ``g`` of rule 4
   grows to the *voltage keep-out* of the two objects' voltage classes
   (``vgap[ca][cb]``) and, for two power devices, to the sum of their
   *thermal margins* (``thermal[a] + thermal[b]``), whichever is largest.
   The thermal margin of a device is how far its heat-spreading footprint
   (the box grown by the margin, area = power / maximum power density)
   reaches beyond its box; disjoint footprints keep the average power
   density of every footprint at or below the limit.

Two fixed objects that violate rule 4 make the problem unsolvable;
:func:`flow.place.place` reports that as a :class:`~flow.errors.StageError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from flow.errors import InputError

Rect = tuple[int, int, int, int]


@dataclass(frozen=True)
class Obj:
    """One placeable object (a device bounding box), lower-left origin.

    Attributes
    ----------
    name : str
        Used in messages only.
    w, h : int
        Size in dbu (> 0).
    fixed : tuple[int, int] or None
        Lower-left corner (dbu) of an object that must not move (e.g. a pad).
    halo : int
        Extra clearance (dbu, >= 0) this object wants around it, on top of the
        global spacing.  Between two objects the larger halo counts.
    region : (x0, y0, x1, y1) or None
        Fence: the movable object stays inside this rectangle (dbu).
    """

    name: str
    w: int
    h: int
    fixed: tuple[int, int] | None = None
    halo: int = 0
    #: Fence (dbu): a movable object must lie inside it (and the region).
    region: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class NetPins:
    """The pins of one net.

    Attributes
    ----------
    name : str
        Used in messages only.
    pins : tuple[tuple[int, int, int], ...]
        ``(object index, dx, dy)``: the pin centre's offset (dbu) from that
        object's lower-left corner.
    weight : float
        Relative importance (> 0) for the optimiser; :func:`hpwl` ignores it.
    """

    name: str
    pins: tuple[tuple[int, int, int], ...]
    weight: float = 1.0


@dataclass(frozen=True)
class PairRules:
    """Pairwise clearances beyond ``spacing + halo`` (rule 7 above).

    Attributes
    ----------
    vclass : tuple[int, ...]
        Voltage class of every object (index into ``vgap``), -1 when the
        object has no terminal of known voltage (no voltage keep-out).
    vgap : tuple[tuple[int, ...], ...]
        ``K x K`` minimum edge-to-edge gap (dbu) between objects of two
        voltage classes (symmetric; 0 where the basic spacing suffices).
    dv : tuple[tuple[float, ...], ...]
        ``K x K`` voltage difference (V) behind each ``vgap`` (messages only).
    labels : tuple[str, ...]
        ``K`` class labels for messages, e.g. ``"0..650 V"``.
    thermal : tuple[int, ...]
        Thermal margin (dbu) of every object; 0 for objects without power.
    power : tuple[float, ...]
        Power (W) of every object, for messages and reports (0 when none).
    """

    vclass: tuple[int, ...]
    vgap: tuple[tuple[int, ...], ...] = ()
    dv: tuple[tuple[float, ...], ...] = ()
    labels: tuple[str, ...] = ()
    thermal: tuple[int, ...] = ()
    power: tuple[float, ...] = ()

    def check(self, n_objs: int) -> None:
        """Raise :class:`InputError` unless the arrays fit ``n_objs`` objects."""
        k = len(self.vgap)
        if len(self.vclass) != n_objs or any(len(a) not in (0, n_objs) for a in (self.thermal, self.power)):
            raise InputError(f"placement: pair rules describe {len(self.vclass)} objects, there are {n_objs}")
        if any(len(r) != k for r in self.vgap) or any(not -1 <= c < k for c in self.vclass):
            raise InputError(f"placement: pair rules need a {k} x {k} voltage gap table and classes in -1..{k - 1}")
        if any((not _is_int(v)) or v < 0 for r in self.vgap for v in r) or any((not _is_int(t)) or t < 0 for t in self.thermal):
            raise InputError("placement: voltage gaps and thermal margins must be integers >= 0 (dbu)")

    def need(self, a: int, b: int) -> tuple[int, str]:
        """Pair clearance (dbu) of objects ``a`` and ``b`` and which rule sets it.

        Returns ``(0, "")`` when neither rule applies."""
        best, why = 0, ""
        ca, cb = self.vclass[a], self.vclass[b]
        if ca >= 0 and cb >= 0 and self.vgap[ca][cb] > 0:
            best, why = self.vgap[ca][cb], "voltage"
        if self.thermal and self.thermal[a] > 0 and self.thermal[b] > 0:
            t = self.thermal[a] + self.thermal[b]
            if t > best:
                best, why = t, "thermal"
        return best, why


@dataclass(frozen=True)
class PlaceResult:
    """What :func:`flow.place.place` returns.

    Attributes
    ----------
    positions : tuple[tuple[int, int], ...]
        Lower-left corner (dbu) of every object, in input order; fixed objects
        unchanged.
    hpwl : int
        Unweighted half-perimeter wirelength of the result (dbu).
    iterations : int
        Global-placement iterations run (solve + spread rounds).
    stats : dict
        Figures for reports (see :func:`flow.place.place`): global-placement
        HPWL and density overflow, displacement by legalisation, HPWL after
        legalisation and after detailed placement (dbu).
    global_positions : tuple or None
        Lower-left corners (dbu, rounded) the global placement wanted.
    """

    positions: tuple[tuple[int, int], ...]
    hpwl: int
    iterations: int
    stats: dict = field(default_factory=dict, compare=False)
    global_positions: tuple[tuple[int, int], ...] | None = field(default=None, compare=False)


# --------------------------------------------------------------------------
# validation and array form


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def check_rect(r: Sequence[int], what: str) -> Rect:
    """Validate an ``(x0, y0, x1, y1)`` rectangle with ``x0 < x1, y0 < y1``."""
    if len(r) != 4 or not all(_is_int(v) for v in r):
        raise InputError(f"placement: {what} must be 4 integers (x0, y0, x1, y1) in dbu, got {r!r}")
    x0, y0, x1, y1 = (int(v) for v in r)
    if x0 >= x1 or y0 >= y1:
        raise InputError(f"placement: {what} {r!r} is empty (need x0 < x1 and y0 < y1)")
    return x0, y0, x1, y1


def check_objs(objs: Sequence[Obj]) -> None:
    """Raise :class:`InputError` for malformed objects."""
    for i, o in enumerate(objs):
        if not isinstance(o, Obj):
            raise InputError(f"placement: object #{i} is a {type(o).__name__}, not an Obj")
        if not (_is_int(o.w) and _is_int(o.h)) or o.w <= 0 or o.h <= 0:
            raise InputError(f"placement: object '{o.name}' has size {o.w!r} x {o.h!r}; need positive integers (dbu)")
        if not _is_int(o.halo) or o.halo < 0:
            raise InputError(f"placement: object '{o.name}' has halo {o.halo!r}; need an integer >= 0 (dbu)")
        if o.fixed is not None and (len(o.fixed) != 2 or not all(_is_int(v) for v in o.fixed)):
            raise InputError(f"placement: object '{o.name}' has fixed position {o.fixed!r}; need (x, y) integers (dbu)")
        if o.region is not None:
            r = check_rect(o.region, f"object '{o.name}' region")
            if o.fixed is None and (o.w > r[2] - r[0] or o.h > r[3] - r[1]):
                raise InputError(
                    f"placement: object '{o.name}' ({o.w} x {o.h} dbu) is larger than its region {r}"
                )


def check_nets(nets: Sequence[NetPins], n_objs: int) -> None:
    """Raise :class:`InputError` for malformed nets (bad index, weight)."""
    for net in nets:
        if not isinstance(net, NetPins):
            raise InputError(f"placement: net {net!r} is not a NetPins")
        w = net.weight
        if not isinstance(w, (int, float)) or not math.isfinite(w) or w <= 0:
            raise InputError(f"placement: net '{net.name}' has weight {w!r}; need a finite number > 0")
        for p in net.pins:
            if len(p) != 3 or not all(_is_int(v) for v in p):
                raise InputError(f"placement: net '{net.name}' pin {p!r} is not (object index, dx, dy) integers")
            if not 0 <= p[0] < n_objs:
                raise InputError(
                    f"placement: net '{net.name}' refers to object index {p[0]}; there are {n_objs} objects"
                )


def check_params(spacing: int, grid: int) -> None:
    """Raise :class:`InputError` unless ``spacing >= 0`` and ``grid >= 1``."""
    if not _is_int(spacing) or spacing < 0:
        raise InputError(f"placement: spacing {spacing!r} must be an integer >= 0 (dbu)")
    if not _is_int(grid) or grid < 1:
        raise InputError(f"placement: grid {grid!r} must be an integer >= 1 (dbu)")


@dataclass(frozen=True)
class PinArrays:
    """Nets flattened into numpy arrays (one entry per pin)."""

    obj: np.ndarray  # int64, object index
    dx: np.ndarray  # int64
    dy: np.ndarray  # int64
    net: np.ndarray  # int64, net index
    start: np.ndarray  # int64, CSR offsets into the pin arrays, len = nets + 1
    weight: np.ndarray  # float64, per net


def pin_arrays(nets: Sequence[NetPins]) -> PinArrays:
    """Flatten ``nets`` into :class:`PinArrays` (CSR layout by net)."""
    counts = np.array([len(n.pins) for n in nets], dtype=np.int64)
    start = np.zeros(len(nets) + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    flat = np.array([p for n in nets for p in n.pins], dtype=np.int64).reshape(-1, 3)
    return PinArrays(
        obj=flat[:, 0].copy(),
        dx=flat[:, 1].copy(),
        dy=flat[:, 2].copy(),
        net=np.repeat(np.arange(len(nets), dtype=np.int64), counts),
        start=start,
        weight=np.array([float(n.weight) for n in nets], dtype=np.float64),
    )


def net_hpwl(pa: PinArrays, pos: np.ndarray) -> np.ndarray:
    """Unweighted HPWL (dbu) of every net, given lower-left ``pos`` (n, 2)."""
    n_nets = len(pa.start) - 1
    out = np.zeros(n_nets, dtype=np.int64)
    if len(pa.obj) == 0:
        return out
    px = pos[pa.obj, 0] + pa.dx
    py = pos[pa.obj, 1] + pa.dy
    nonempty = pa.start[1:] > pa.start[:-1]
    starts = pa.start[:-1][nonempty]
    out[nonempty] = (
        np.maximum.reduceat(px, starts)
        - np.minimum.reduceat(px, starts)
        + np.maximum.reduceat(py, starts)
        - np.minimum.reduceat(py, starts)
    )
    return out
