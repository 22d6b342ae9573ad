"""The DRC engine: width, spacing (one or two layers) and enclosure rules.

Every layer is merged (union) first; checks then run on the merged outlines
with KLayout's default semantics (see :mod:`flow.drc.edges`): Euclidean
metric, a violation when the distance is ``< value`` (equal is fine), edges
meeting at >= 90 degrees never checked against each other, shielding on.

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

Example
-------
>>> import gdstk, pdk
>>> from flow.geometry.gdsio import shapes_from_library
>>> kit = pdk.load("gan650")
>>> lib = gdstk.Library(unit=1e-6, precision=1e-9)
>>> top = lib.new_cell("TOP")
>>> _ = top.add(gdstk.rectangle((0, 0), (50, 1.5), layer=10))   # MET1, 1.5 um wide
>>> result = run_drc(shapes_from_library(lib, kit), kit)
>>> result.counts()
{'MET1.W.1': 1}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import gdstk
import numpy as np

from flow.drc import edges as E
from flow.geometry.gdsio import LayoutShapes
from pdk.schema import PDK, Rule

#: ((x0, y0, x1, y1), (x0, y0, x1, y1)) in dbu.
EdgePair = tuple[tuple[int, int, int, int], tuple[int, int, int, int]]
#: ((x, y), ...) in dbu, no closing vertex.
PolygonMarker = tuple[tuple[int, int], ...]

SUPPORTED_KINDS = ("width", "spacing", "enclosure")


@dataclass(frozen=True)
class Violation:
    """One marker of one rule.

    ``value_um`` is the rule value; ``measured_um`` the distance between the
    two marker edges (``None`` for a polygon marker, e.g. ``other`` not
    covered by ``layer`` in an enclosure rule).  ``marker`` is in dbu.
    """

    rule_id: str
    kind: str
    layer: str
    other: str | None
    value_um: float
    measured_um: float | None
    marker: Union[EdgePair, PolygonMarker]

    @property
    def is_edge_pair(self) -> bool:
        return len(self.marker) == 2 and len(self.marker[0]) == 4


@dataclass(frozen=True)
class DrcResult:
    """What :func:`run_drc` found.

    Attributes
    ----------
    violations
        All markers, ordered by rule (in rule order), then marker.
    rules_checked
        Ids of the rules that were run (including on empty layers).
    not_checked
        ``"ID: reason"`` for rules that could not be run (unsupported kind,
        layer not in the kit).
    layers_ignored
        GDS ``(layer, datatype)`` pairs in the layout the kit does not know.
    notes
        ``"ID: checked on empty layer NAME"`` and similar remarks.
    """

    violations: tuple[Violation, ...]
    rules_checked: tuple[str, ...]
    not_checked: tuple[str, ...] = ()
    layers_ignored: tuple[tuple[int, int], ...] = ()
    notes: tuple[str, ...] = ()
    top: str = ""
    rules: tuple[Rule, ...] = field(default=(), repr=False)

    @property
    def clean(self) -> bool:
        """No violation (rules not checked are listed in ``not_checked``)."""
        return not self.violations

    def counts(self) -> dict[str, int]:
        """rule id -> number of markers, for rules with at least one."""
        out: dict[str, int] = {}
        for v in self.violations:
            out[v.rule_id] = out.get(v.rule_id, 0) + 1
        return out

    def to_json(self, kit: PDK) -> dict[str, Any]:
        """JSON-ready report; coordinates in microns, stable ordering."""
        um = kit.um
        by_rule: dict[str, list[Violation]] = {}
        for v in self.violations:
            by_rule.setdefault(v.rule_id, []).append(v)
        rules = []
        for r in self.rules:
            if r.id not in self.rules_checked:
                continue
            markers = []
            for v in by_rule.get(r.id, []):
                if v.is_edge_pair:
                    markers.append(
                        {
                            "edge_pair": [[um(c) for c in e] for e in v.marker],
                            "measured_um": v.measured_um,
                        }
                    )
                else:
                    markers.append({"polygon": [[um(x), um(y)] for x, y in v.marker]})
            rules.append(
                {
                    "id": r.id,
                    "kind": r.kind,
                    "layer": r.layer,
                    "other": r.other,
                    "value_um": r.value,
                    "doc": r.doc,
                    "count": len(markers),
                    "markers": markers,
                }
            )
        return {
            "pdk": kit.name,
            "pdk_version": kit.version,
            "top": self.top,
            "clean": self.clean,
            "violations": len(self.violations),
            "counts": dict(sorted(self.counts().items())),
            "rules": rules,
            "rules_checked": list(self.rules_checked),
            "not_checked": list(self.not_checked),
            "layers_ignored": [list(x) for x in self.layers_ignored],
            "notes": list(self.notes),
        }


class _Layers:
    """Lazily merged layers of one layout."""

    def __init__(self, shapes: LayoutShapes):
        self.shapes = shapes
        self._merged: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def polygons(self, name: str) -> list[np.ndarray]:
        return list(self.shapes.polygons.get(name, ()))

    def merged(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in self._merged:
            self._merged[name] = E.merge_edges(self.polygons(name))
        return self._merged[name]


def _edge_pair_violations(rule: Rule, kit: PDK, markers: np.ndarray, dist: np.ndarray) -> list[Violation]:
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


def _uncovered(inner: list[np.ndarray], outer: list[np.ndarray]) -> list[PolygonMarker]:
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


def check_rule(rule: Rule, kit: PDK, layers: _Layers) -> list[Violation]:
    """Run one supported rule on (lazily merged) layers."""
    d = kit.dbu(rule.value)
    if rule.kind == "width":
        e, pid = layers.merged(rule.layer)
        if d <= 0 or len(e) == 0:
            return []
        _, _, m, dist = E.facing_pairs(e, None, d, same_id=pid)
        return _edge_pair_violations(rule, kit, m, dist)
    if rule.kind == "spacing":
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
        return _edge_pair_violations(rule, kit, m, dist)
    if rule.kind == "enclosure":
        assert rule.other is not None
        out: list[Violation] = []
        outer, _ = layers.merged(rule.layer)
        inner, _ = layers.merged(rule.other)
        if d > 0 and len(outer) and len(inner):
            _, _, m, dist = E.facing_pairs(outer, E.reverse(inner), d)
            out += _edge_pair_violations(rule, kit, m, dist)
        for poly in _uncovered(layers.polygons(rule.other), layers.polygons(rule.layer)):
            out.append(
                Violation(rule.id, rule.kind, rule.layer, rule.other, rule.value, None, poly)
            )
        return out
    raise ValueError(f"unsupported rule kind {rule.kind!r}")


def _sort_key(v: Violation) -> tuple:
    if v.is_edge_pair:
        return (0, v.marker)
    return (1, len(v.marker), v.marker)


def run_drc(shapes: LayoutShapes, kit: PDK, rules: Sequence[Rule] | None = None) -> DrcResult:
    """Check ``shapes`` against ``rules`` (default: every rule of ``kit``).

    Parameters
    ----------
    shapes
        Flattened layout (dbu), e.g. from :func:`flow.geometry.gdsio.read_gds`.
    kit
        The PDK (layer names, ``dbu_um``); rule values are in microns.
    rules
        Rules to run; default ``kit.rules``.

    Returns
    -------
    DrcResult
        A rule whose layer has no shapes is checked and not violated, with a
        note ``"ID: checked on empty layer NAME"``.

    Notes
    -----
    Complexity is about O(n log n) in the number of edges ``n`` (merging with
    Clipper, candidate pairs from a k-d tree over edge pieces), plus the
    number of candidate pairs within ``value`` of each other.
    """
    rules = tuple(kit.rules if rules is None else rules)
    layers = _Layers(shapes)
    violations: list[Violation] = []
    checked: list[str] = []
    not_checked: list[str] = []
    notes: list[str] = []
    for rule in rules:
        if rule.kind not in SUPPORTED_KINDS:
            not_checked.append(f"{rule.id}: rule kind '{rule.kind}' is not supported")
            continue
        missing = [n for n in (rule.layer, rule.other) if n is not None and n not in kit.layers]
        if missing:
            not_checked.append(f"{rule.id}: layer {', '.join(missing)} is not in PDK {kit.name}")
            continue
        if rule.kind == "enclosure" and rule.other is None:
            not_checked.append(f"{rule.id}: an enclosure rule needs a second layer 'other'")
            continue
        checked.append(rule.id)
        for name in dict.fromkeys(n for n in (rule.layer, rule.other) if n is not None):
            if not shapes.polygons.get(name):
                notes.append(f"{rule.id}: checked on empty layer {name}")
        violations += sorted(check_rule(rule, kit, layers), key=_sort_key)
    return DrcResult(
        violations=tuple(violations),
        rules_checked=tuple(checked),
        not_checked=tuple(not_checked),
        layers_ignored=tuple(shapes.unknown_layers),
        notes=tuple(notes),
        top=shapes.top,
        rules=rules,
    )
