"""What every rule kind shares: markers, lazily merged layers, the kind registry.

A rule kind (``width``, ``notch``, ``density``, ...) is implemented once, in a
module of :mod:`flow.drc.kinds`, as a :class:`KindImpl` with three parts:

``check(rule, kit, layers, ctx) -> list[Violation]``
    the check itself, on the layout's (lazily merged) layers;
``selftests(rule, kit) -> list[SelfTest]``
    small generated layouts for ``pilotflow pdk check``: at least one that
    must pass (zero markers of ``rule``, e.g. exactly at the rule value) and
    one that must fail with a known number of markers (e.g. one dbu below);
``klayout(rule, kit, var) -> str | None``
    KLayout DRC-script (Ruby DSL) statements checking the same rule and
    writing markers to category ``rule.id`` (``var(name)`` is the Ruby
    variable holding PDK layer ``name``); ``None`` when the deck cannot
    express the kind (the exported deck then says so).

Modules register their kinds with :func:`register`; the engine dispatches on
:data:`IMPLS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Union

import numpy as np

from flow.drc import edges as E
from flow.geometry.gdsio import LayoutShapes
from pdk.schema import PDK, Rule

#: ((x0, y0, x1, y1), (x0, y0, x1, y1)) in dbu.
EdgePair = tuple[tuple[int, int, int, int], tuple[int, int, int, int]]
#: ((x, y), ...) in dbu, no closing vertex.
PolygonMarker = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Violation:
    """One marker of one rule.

    ``value_um`` is the rule value; ``measured_um`` the distance between the
    two marker edges (or the measured area, density, current ... of a polygon
    marker where the kind has one, else ``None``).  ``marker`` is in dbu.
    ``net`` names the net(s) involved for net-aware kinds.
    """

    rule_id: str
    kind: str
    layer: str
    other: str | None
    value_um: float
    measured_um: float | None
    marker: Union[EdgePair, PolygonMarker]
    net: str | None = None
    #: What the marker means in words, where the kind says more than the
    #: figures (e.g. a device terminal over its current rating).
    message: str | None = None

    @property
    def is_edge_pair(self) -> bool:
        return len(self.marker) == 2 and len(self.marker[0]) == 4


class Layers:
    """Lazily merged layers of one layout (shared by all rules of a run)."""

    def __init__(self, shapes: LayoutShapes):
        self.shapes = shapes
        self._merged: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.cache: dict[object, object] = {}
        #: Remarks a check makes (e.g. pairs it could not check); the engine
        #: moves them to :attr:`flow.drc.engine.DrcResult.notes` after each rule.
        self.notes: list[str] = []

    def polygons(self, name: str) -> list[np.ndarray]:
        """The drawn (unmerged) polygons of layer ``name`` (dbu)."""
        return list(self.shapes.polygons.get(name, ()))

    def merged(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Merged outline of ``name`` as (edges, polygon id), see :func:`edges.merge_edges`."""
        if name not in self._merged:
            self._merged[name] = E.merge_edges(self.polygons(name))
        return self._merged[name]


class NotChecked(Exception):
    """Raised by a kind's check when the rule cannot be run at all (e.g. the
    layer lacks the current-density limit); the engine lists the rule under
    ``not_checked`` with this message instead of reporting it clean."""


@dataclass(frozen=True)
class CheckContext:
    """What net-aware kinds need beyond geometry.

    ``voltages`` / ``currents``: net name -> V / A (from the design's net
    classes or the command line); ``temperature_c``: operating temperature
    for current-density derating.
    """

    voltages: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    currents: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    temperature_c: float | None = None


@dataclass(frozen=True)
class SelfTest:
    """A generated layout on which one rule must give exactly ``expected`` markers.

    ``shapes``: layer name -> polygons ((n, 2) int arrays, dbu);
    ``labels``: (layer, text, x, y) net labels (dbu); ``voltages`` /
    ``currents``: net classes for net-aware kinds.
    """

    name: str
    shapes: Mapping[str, list[np.ndarray]]
    expected: int
    doc: str = ""
    labels: tuple[tuple[str, str, int, int], ...] = ()
    voltages: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    currents: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


CheckFn = Callable[[Rule, PDK, Layers, CheckContext], list[Violation]]
SelfTestFn = Callable[[Rule, PDK], list[SelfTest]]
KLayoutFn = Callable[[Rule, PDK, Callable[[str], str]], Union[str, None]]


@dataclass(frozen=True)
class KindImpl:
    """The implementation of one rule kind (see the module docstring)."""

    name: str
    check: CheckFn
    selftests: SelfTestFn | None = None
    klayout: KLayoutFn | None = None
    #: True when the kind needs net connectivity (labels, voltages, currents).
    net_aware: bool = False
    #: True when the kind only means something on a whole chip (e.g.
    #: ``density`` over die windows): ``pdk check`` does not apply it to a
    #: device cell alone, and says so.
    chip_level: bool = False


#: kind name -> implementation; filled by the modules of :mod:`flow.drc.kinds`.
IMPLS: dict[str, KindImpl] = {}


def register(impl: KindImpl) -> KindImpl:
    """Add ``impl`` to :data:`IMPLS` (one implementation per kind)."""
    if impl.name in IMPLS:
        raise ValueError(f"rule kind {impl.name!r} registered twice")
    IMPLS[impl.name] = impl
    return impl


# -- marker helpers -----------------------------------------------------------


def edge_pair_violations(rule: Rule, kit: PDK, markers: np.ndarray, dist: np.ndarray) -> list[Violation]:
    """Violations from ``facing_pairs`` output (markers (n, 2, 4), distances (n,))."""
    return [
        Violation(
            rule_id=rule.id,
            kind=rule.kind,
            layer=rule.layer,
            other=rule.other,
            value_um=rule.value,
            measured_um=kit.um(float(dd)),
            marker=(tuple(m[0]), tuple(m[1])),  # type: ignore[arg-type]
        )
        for m, dd in zip(markers.tolist(), dist.tolist())
    ]


def polygon_violation(rule: Rule, points, measured: float | None = None, net: str | None = None) -> Violation:
    """A polygon marker (points in dbu) of ``rule``."""
    pts = tuple((int(x), int(y)) for x, y in np.asarray(points).tolist())
    return Violation(rule.id, rule.kind, rule.layer, rule.other, rule.value, measured, pts, net)


def rect(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """An axis-aligned rectangle as an (4, 2) int64 polygon (dbu), for self-tests."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.int64)


# -- compact marker lists -------------------------------------------------------


class EdgePairArray(Sequence):
    """Edge-pair markers of one rule kept as numpy arrays (about 80 bytes a
    marker instead of ~900 for :class:`Violation` objects); a read-only
    sequence of :class:`Violation` made on access.

    ``marker`` (k, 2, 4) int64 dbu, ``measured`` (k,) um (NaN: none),
    ``value`` (k,) um; net-aware kinds: ``net`` (k,) int32 codes into
    ``net_names`` (the markers' net names, -1: none).
    """

    __slots__ = ("rule_id", "kind", "layer", "other", "marker", "measured", "value", "net", "net_names")

    def __init__(self, rule: Rule, marker: np.ndarray, measured: np.ndarray, value: np.ndarray,
                 net: np.ndarray | None = None, net_names: Sequence[str] = ()):
        self.rule_id, self.kind, self.layer, self.other = rule.id, rule.kind, rule.layer, rule.other
        self.marker = np.asarray(marker, np.int64).reshape(-1, 2, 4)
        self.measured = np.asarray(measured, np.float64)
        self.value = np.asarray(value, np.float64)
        self.net = None if net is None else np.asarray(net, np.int32)
        self.net_names = tuple(net_names)

    def __len__(self) -> int:
        return len(self.marker)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        m = self.marker[i].tolist()
        meas = float(self.measured[i])
        net = None
        if self.net is not None and self.net[i] >= 0:
            net = self.net_names[int(self.net[i])]
        return Violation(self.rule_id, self.kind, self.layer, self.other, float(self.value[i]),
                         None if meas != meas else meas, (tuple(m[0]), tuple(m[1])), net)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def sorted(self) -> "EdgePairArray":
        """The markers in :func:`flow.drc.engine` order (by marker coordinates)."""
        order = np.lexsort(self.marker.reshape(-1, 8).T[::-1])
        out = object.__new__(EdgePairArray)
        out.rule_id, out.kind, out.layer, out.other = self.rule_id, self.kind, self.layer, self.other
        out.marker, out.measured, out.value = self.marker[order], self.measured[order], self.value[order]
        out.net, out.net_names = (None if self.net is None else self.net[order]), self.net_names
        return out


class Markers(Sequence):
    """Several marker lists (lists of :class:`Violation`, :class:`EdgePairArray`)
    seen as one read-only sequence; equal to any sequence holding the same
    violations in the same order."""

    def __init__(self, blocks: Sequence[Sequence[Violation]] = ()):
        self.blocks = [b for b in blocks if len(b)]
        self._ends = np.cumsum([len(b) for b in self.blocks]).tolist()

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        import bisect

        b = bisect.bisect_right(self._ends, i)
        return self.blocks[b][i - (self._ends[b - 1] if b else 0)]

    def __iter__(self):
        for b in self.blocks:
            yield from b

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Markers({len(self)} markers)"

    def counts(self) -> dict[str, int]:
        """rule id -> number of markers (without making the markers)."""
        out: dict[str, int] = {}
        for b in self.blocks:
            if isinstance(b, EdgePairArray):
                out[b.rule_id] = out.get(b.rule_id, 0) + len(b)
            else:
                for v in b:
                    out[v.rule_id] = out.get(v.rule_id, 0) + 1
        return out
