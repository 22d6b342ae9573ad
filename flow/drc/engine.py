"""The DRC engine: runs a PDK's rules on a flattened layout.

Every layer is merged (union) first; checks then run on the merged outlines
with KLayout's default semantics (see :mod:`flow.drc.edges`): Euclidean
metric, a violation when the distance is ``< value`` (equal is fine), edges
meeting at >= 90 degrees never checked against each other, shielding on.
The kinds themselves live in :mod:`flow.drc.kinds` (one registry entry per
kind, see :mod:`flow.drc.core`); a rule whose kind has no implementation is
listed under ``not_checked``, never silently passed.

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

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import flow.drc.kinds  # noqa: F401  (registers the kinds)
from flow.drc.core import IMPLS, CheckContext, EdgePair, Layers, Markers, NotChecked, PolygonMarker, Violation
from flow.geometry.gdsio import LayoutShapes
from pdk.schema import PDK, Rule

__all__ = ["CheckContext", "DrcResult", "EdgePair", "PolygonMarker", "Violation", "check_rule", "run_drc", "supported_kinds"]


def supported_kinds() -> tuple[str, ...]:
    """Rule kinds the engine implements."""
    return tuple(IMPLS)

@dataclass(frozen=True)
class DrcResult:
    """What :func:`run_drc` found.

    Attributes
    ----------
    violations
        All markers, ordered by rule (in rule order), then marker: a tuple,
        or after a tiled run a :class:`flow.drc.core.Markers` sequence
        keeping edge pairs compact (equal to the tuple of the same markers).
    rules_checked
        Ids of the rules that were run (including on empty layers).
    not_checked
        ``"ID: reason"`` for rules that could not be run (unsupported kind,
        layer not in the kit).
    layers_ignored
        GDS ``(layer, datatype)`` pairs in the layout the kit does not know.
    notes
        ``"ID: checked on empty layer NAME"`` and similar remarks.
    waived
        ``(marker, waiver)`` for markers a waiver accepted (see
        :mod:`flow.drc.waivers`); they are not in ``violations``.
    waivers_unused
        ``"file:line: rule"`` of waivers that matched no marker.
    """

    violations: Sequence[Violation]
    rules_checked: tuple[str, ...]
    not_checked: tuple[str, ...] = ()
    layers_ignored: tuple[tuple[int, int], ...] = ()
    notes: tuple[str, ...] = ()
    top: str = ""
    rules: tuple[Rule, ...] = field(default=(), repr=False)
    waived: tuple[tuple[Violation, Any], ...] = ()
    waivers_unused: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """No unwaived violation (rules not checked are listed in ``not_checked``)."""
        return not self.violations

    def waived_counts(self) -> dict[str, int]:
        """rule id -> number of waived markers, for rules with at least one."""
        out: dict[str, int] = {}
        for v, _ in self.waived:
            out[v.rule_id] = out.get(v.rule_id, 0) + 1
        return out

    def counts(self) -> dict[str, int]:
        """rule id -> number of markers, for rules with at least one."""
        if isinstance(self.violations, Markers):
            return self.violations.counts()
        out: dict[str, int] = {}
        for v in self.violations:
            out[v.rule_id] = out.get(v.rule_id, 0) + 1
        return out

    def to_json(self, kit: PDK) -> dict[str, Any]:
        """JSON-ready report; coordinates in microns, stable ordering."""
        um = kit.um

        def marker(v: Violation) -> dict[str, Any]:
            if v.is_edge_pair:
                out = {"edge_pair": [[um(c) for c in e] for e in v.marker], "measured_um": v.measured_um}
            else:
                out = {"polygon": [[um(x), um(y)] for x, y in v.marker]}
                if v.measured_um is not None:  # e.g. the density of a window, a net's mA/um
                    out["measured_um"] = v.measured_um
            if v.net is not None:
                out["net"] = v.net
            if v.message is not None:
                out["message"] = v.message
            return out

        by_rule: dict[str, list[Violation]] = {}
        for v in self.violations:
            by_rule.setdefault(v.rule_id, []).append(v)
        waived_by_rule: dict[str, list[dict[str, Any]]] = {}
        for v, w in self.waived:
            waived_by_rule.setdefault(v.rule_id, []).append(
                {**marker(v), "reason": w.reason, "author": w.author, "waiver": w.source}
            )
        rules = []
        for r in self.rules:
            if r.id not in self.rules_checked:
                continue
            markers = [marker(v) for v in by_rule.get(r.id, [])]
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
                    "waived_count": len(waived_by_rule.get(r.id, [])),
                    "waived": waived_by_rule.get(r.id, []),
                }
            )
        return {
            "pdk": kit.name,
            "pdk_version": kit.version,
            "top": self.top,
            "clean": self.clean,
            "violations": len(self.violations),
            "counts": dict(sorted(self.counts().items())),
            "waived": len(self.waived),
            "waived_counts": dict(sorted(self.waived_counts().items())),
            "waivers_unused": list(self.waivers_unused),
            "rules": rules,
            "rules_checked": list(self.rules_checked),
            "not_checked": list(self.not_checked),
            "layers_ignored": [list(x) for x in self.layers_ignored],
            "notes": list(self.notes),
        }


def check_rule(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext | None = None) -> list[Violation]:
    """Run one rule (of an implemented kind) on (lazily merged) layers."""
    impl = IMPLS.get(rule.kind)
    if impl is None:
        raise ValueError(f"unsupported rule kind {rule.kind!r}")
    return impl.check(rule, kit, layers, ctx or CheckContext())


def _check_one(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation] | NotChecked:
    """Sorted violations of ``rule``, or the :class:`NotChecked` it raised."""
    try:
        return sorted(check_rule(rule, kit, layers, ctx), key=_sort_key)
    except NotChecked as e:
        return e


def _sort_key(v: Violation) -> tuple:
    if v.is_edge_pair:
        return (0, v.marker)
    return (1, len(v.marker), v.marker)


def _rule_groups(rules: Sequence[Rule], shapes: LayoutShapes) -> list[list[int]]:
    """Rules (indices) grouped so that rules sharing a layer share a worker
    (each layer is merged once), largest estimated cost first.

    Net-aware rules form one group (they trace every conducting layer).
    """
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    keys = []
    for r in rules:
        impl = IMPLS[r.kind]
        names = ["<nets>"] if impl.net_aware else [n for n in (r.layer, r.other) if n is not None]
        for n in names[1:]:
            parent[find(n)] = find(names[0])
        keys.append(names[0])
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(find(k), []).append(i)

    def cost(idx: list[int]) -> int:
        names = {n for i in idx for n in (rules[i].layer, rules[i].other) if n is not None}
        pts = sum(len(p) for n in names for p in shapes.polygons.get(n, ()))
        return pts * len(idx)

    return sorted(groups.values(), key=cost, reverse=True)


#: Below this many polygon vertices a run stays in one process (starting
#: workers costs more than it saves on small layouts).
PARALLEL_MIN_POINTS = 200_000

# Fork-inherited state of a parallel run (see _run_group).
_PARALLEL: dict[str, Any] = {}


def _run_group(idx: list[int]) -> tuple[list[int], list[list[Violation]], list[str]]:
    """Worker: run the rules ``idx`` of the forked parent's run."""
    shapes, kit, rules, ctx = _PARALLEL["args"]
    layers = Layers(shapes)
    out = [_check_one(rules[i], kit, layers, ctx) for i in idx]
    return idx, out, list(getattr(layers, "notes", ()))


def _check_all(
    shapes: LayoutShapes, kit: PDK, rules: Sequence[Rule], ctx: CheckContext, jobs: int, progress: Any
) -> tuple[list[list[Violation] | NotChecked], list[str]]:
    """Violations of each rule (in order) and kind notes, on ``jobs`` processes."""
    import multiprocessing as mp

    n = len(rules)
    results: list[list[Violation] | NotChecked] = [[] for _ in rules]
    notes: list[str] = []
    groups = _rule_groups(rules, shapes) if n else []
    jobs = min(jobs, len(groups))
    size = sum(len(p) for polys in shapes.polygons.values() for p in polys) if jobs > 1 else 0
    if jobs > 1 and size >= PARALLEL_MIN_POINTS and "fork" in mp.get_all_start_methods():
        _PARALLEL["args"] = (shapes, kit, rules, ctx)
        try:
            with mp.get_context("fork").Pool(jobs) as pool:
                done = 0
                for idx, out, kind_notes in pool.imap_unordered(_run_group, groups):
                    for i, v in zip(idx, out):
                        results[i] = v
                    notes += kind_notes
                    done += len(idx)
                    if progress:
                        progress(f"{done}/{n} rules checked", done / n)
        finally:
            _PARALLEL.clear()
        return results, notes
    layers = Layers(shapes)
    for i, rule in enumerate(rules):
        if progress:
            progress(f"rule {rule.id} ({i + 1}/{n})", i / n)
        results[i] = _check_one(rule, kit, layers, ctx)
    notes += list(getattr(layers, "notes", ()))
    return results, notes


def _check_maybe_tiled(
    shapes: LayoutShapes, kit: PDK, rules: Sequence[Rule], ctx: CheckContext, jobs: int, progress: Any,
    tile_um: float | None, notes: list[str], executor: Any = None,
) -> tuple[list[list[Violation] | NotChecked], list[str]]:
    """:func:`_check_all`, or a tiled run of the rules that can be tiled
    (the others on the whole layout); the tiling goes to ``notes``."""
    from flow.drc import tiles as T

    tiled_idx = [i for i, r in enumerate(rules) if T.tileable(r)]
    if tile_um is None and tiled_idx:
        tile_um = T.auto_tile(shapes, kit, [rules[i] for i in tiled_idx])
    if not tile_um or not tiled_idx:
        # untiled: the whole layout (density windows span the boundary layer's extent)
        return _check_all(_in_memory(shapes, None), kit, rules, ctx, jobs, progress)
    rest = [i for i in range(len(rules)) if i not in set(tiled_idx)]
    out: list[list[Violation] | NotChecked] = [[] for _ in rules]
    got, kind_notes, grid = T.run_tiled(shapes, kit, [rules[i] for i in tiled_idx], ctx, tile_um, jobs, progress, executor=executor)
    for i, g in zip(tiled_idx, got):
        out[i] = g
    if grid is not None:
        notes.append(
            f"tiled: {grid.nx} x {grid.ny} tiles of {kit.um(grid.size):g} um, halo {kit.um(grid.halo):g} um"
            + (f"; on the whole layout: {', '.join(rules[i].id for i in rest)}" if rest else "")
        )
    if rest:
        rr = [rules[i] for i in rest]
        got2, notes2 = _check_all(_in_memory(shapes, rr), kit, rr, ctx, jobs, progress)
        for i, g in zip(rest, got2):
            out[i] = g
        # the nets' label notes come from both parts when net-aware rules are on both sides
        kind_notes = kind_notes + [n for n in notes2 if n not in kind_notes]
    return out, kind_notes


def _in_memory(shapes: Any, rules: Sequence[Rule] | None) -> LayoutShapes:
    """``shapes`` as :class:`LayoutShapes`: a :class:`flow.geometry.store.ShapeStore`
    is loaded, with only the layers ``rules`` use; for net-aware rules (which
    trace all conducting layers and leave out device-internal metal) and for
    ``rules=None`` the whole file is read as :func:`read_gds` reads it."""
    if isinstance(shapes, LayoutShapes):
        return shapes
    if rules is None or any(IMPLS[r.kind].net_aware for r in rules):
        # as read_gds gives it (net-aware kinds also use the polygons drawn in device cells)
        return shapes.full()
    return shapes.shapes({n for r in rules for n in (r.layer, r.other) if n is not None})


def _layer_count(shapes: Any, name: str) -> int:
    if isinstance(shapes, LayoutShapes):
        return len(shapes.polygons.get(name, ()))
    return shapes.count(name)


def run_drc(
    shapes: LayoutShapes | Any,
    kit: PDK,
    rules: Sequence[Rule] | None = None,
    ctx: CheckContext | None = None,
    waivers: Sequence[Any] = (),
    jobs: int = 1,
    progress: Any = None,
    tile_um: float | None = None,
    executor: Any = None,
) -> DrcResult:
    """Check ``shapes`` against ``rules`` (default: every rule of ``kit``).

    Parameters
    ----------
    shapes
        Flattened layout (dbu), e.g. from :func:`flow.geometry.gdsio.read_gds`,
        or a :class:`flow.geometry.store.ShapeStore` (a GDS streamed to disk,
        see :func:`read_layout`): a tiled run then reads each tile's shapes
        from disk, so its memory depends on the tile size, not the layout's;
        rules that run on the whole layout (``current_density``, or
        all of them when not tiled) load the layers they use.
    kit
        The PDK (layer names, ``dbu_um``); rule values are in microns.
    rules
        Rules to run; default ``kit.rules``.
    ctx
        Net voltages, currents and temperature for net-aware kinds.
    waivers
        :class:`flow.drc.waivers.Waiver` s; matching markers move to
        ``waived`` (see :func:`flow.drc.waivers.apply_waivers`).
    jobs
        Worker processes (``0``: one per core).  Rules sharing a layer run in
        the same worker, so each layer is merged once; the result is the same
        as with one job.  Layouts under :data:`PARALLEL_MIN_POINTS` vertices
        run in one process.
    progress
        Optional ``callable(message, fraction)`` for a progress display.
    tile_um
        Tile side (um) of a tiled run (see :mod:`flow.drc.tiles`): tiles
        with a halo, checked on ``jobs`` processes, memory bounded by the
        tile size; the markers are the same as untiled.  ``None``: tiled
        automatically from :data:`flow.drc.tiles.AUTO_TILE_POLYGONS`
        polygons up; ``0``: never tiled.
    executor
        Where the tiles of a tiled run are checked (a
        :class:`flow.executor.Executor`, e.g. a Dask cluster); default
        ``jobs`` local processes.  Untiled rules run here, on ``jobs``.

    Returns
    -------
    DrcResult
        A rule whose layer has no shapes is checked and not violated, with a
        note ``"ID: checked on empty layer NAME"``.

    Notes
    -----
    Complexity is about O(n log n) in the number of edges ``n`` (merging with
    Clipper in tiles, candidate pairs from a uniform grid of edge boxes), plus the
    number of candidate pairs within ``value`` of each other.
    """
    rules = tuple(kit.rules if rules is None else rules)
    ctx = ctx or CheckContext()
    if jobs <= 0:
        jobs = os.cpu_count() or 1
    checked: list[str] = []
    not_checked: list[str] = []
    notes: list[str] = []
    runnable: list[Rule] = []
    for rule in rules:
        if rule.kind not in IMPLS:
            not_checked.append(f"{rule.id}: rule kind '{rule.kind}' is not supported")
            continue
        missing = [n for n in (rule.layer, rule.other) if n is not None and n not in kit.layers]
        if missing:
            not_checked.append(f"{rule.id}: layer {', '.join(missing)} is not in PDK {kit.name}")
            continue
        checked.append(rule.id)
        runnable.append(rule)
        for name in dict.fromkeys(n for n in (rule.layer, rule.other) if n is not None):
            if not _layer_count(shapes, name):
                notes.append(f"{rule.id}: checked on empty layer {name}")
    per_rule, kind_notes = _check_maybe_tiled(shapes, kit, runnable, ctx, jobs, progress, tile_um, notes, executor)
    # a rule whose check could not run at all (NotChecked) is not checked
    for rule, got in zip(runnable, per_rule):
        if isinstance(got, NotChecked):
            checked.remove(rule.id)
            not_checked.append(f"{rule.id}: {got}")
            notes = [n for n in notes if not n.startswith(f"{rule.id}: checked on empty layer ")]
    notes += kind_notes
    blocks = [vs for vs in per_rule if not isinstance(vs, NotChecked)]
    violations = Markers([b for vs in blocks for b in (vs.blocks if isinstance(vs, Markers) else [vs])])
    result = DrcResult(
        violations=violations if any(not isinstance(b, list) for b in violations.blocks) else tuple(violations),
        rules_checked=tuple(checked),
        not_checked=tuple(not_checked),
        layers_ignored=tuple(shapes.unknown_layers),
        notes=tuple(notes),
        top=shapes.top,
        rules=rules,
    )
    if waivers:
        from flow.drc.waivers import apply_waivers

        result = apply_waivers(result, tuple(waivers), kit)
    return result
