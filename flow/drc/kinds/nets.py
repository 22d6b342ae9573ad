"""Net-aware kinds: ``net_spacing``, ``voltage_spacing``, ``current_density``.

Nets come from the layout alone (:mod:`flow.drc.nets`: connectivity of the
PDK, names from text labels); voltages and currents from the
:class:`~flow.drc.core.CheckContext` (the design's net classes).

===================  ==========================================================
kind                 what is flagged (marker)
===================  ==========================================================
``net_spacing``      edges of ``layer`` (or ``layer`` to ``other``) facing
                     each other through the outside closer than ``value``,
                     like ``spacing``, but only between *different* nets
                     (edge pair, with the two net names)
``voltage_spacing``  as ``net_spacing``, with the distance taken from
                     ``table`` for the voltage difference of the two nets
                     (edge pair); pairs with a net of unknown voltage are
                     listed as not checked in the notes
``current_density``  routing layers: parts of a net's wires narrower than
                     ``I / J(T)`` (polygon over the two facing edges; measured
                     mA/um); a net with holes (the slots of a slotted
                     wire) is checked on its outline at the width that keeps
                     I / J of metal past the slots across every
                     cross-section; cut layers: a group of cuts joining the same
                     lower and upper shape of a net with fewer than
                     ``I / Icut(T)`` cuts (polygon: the group's bounding box;
                     measured mA per cut)
===================  ==========================================================

Voltage table look-up is a *step* function, no interpolation: a row
``[volts, spacing_um]`` applies when the voltage difference is greater than
``volts``, and the last such row wins (:meth:`pdk.schema.Rule.spacing_for`),
so a difference between two rows takes the spacing of the row below it,
which is the rule for every difference up to the next row's voltage; a
difference at or below the first row's voltage needs no extra spacing.

Current-density limits are derated from the layer's reference temperature
``jmax_ref_c`` to the operating temperature with Black's law at constant
lifetime, current exponent ``n = 2``:
``J(T) = J_ref * exp(Ea / (n k) * (1/T - 1/T_ref))`` (T in kelvin, ``Ea`` =
``em_ea_ev``; :func:`pdk.schema.em_derating`, shared with the router).  Without an operating temperature the reference limit is
used, and the notes say so.  The check is conservative for routing: the
*whole* current of a net is taken to flow through every wire of the net on
the layer, and through every via group where the net changes layer (no
current division between parallel wires or via groups).  Metal and cuts
drawn inside device cells (a multi-finger transistor's fingers and buses,
where the current divides) are not checked wire by wire
(:class:`_DeviceMetal`) but through the device's terminal current ratings
(:mod:`pdk.rating`, computed by its generator from the metal it drew): the
rule of the layer of a terminal's first pin flags a terminal whose net
carries more than its rating (:func:`_check_terminals`,
:mod:`flow.drc.devices`).  Nets are traced with net ties cut
(:func:`flow.drc.nets.cut_net_ties`), so a Kelvin source carries its own
current, not its power source's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from flow.drc import edges as E
from flow.drc.core import (
    CheckContext,
    KindImpl,
    Layers,
    NotChecked,
    SelfTest,
    Violation,
    polygon_violation,
    rect,
    register,
)
from flow.drc.kinds.basic import ruby_merged, ruby_str, ruby_um
from flow.drc.nets import Nets, extract_nets, generated_name, net_layers, point_in_polygon
from pdk.schema import BLACK_N, K_B_EV, PDK, Layer, Rule, em_derating

#: Boltzmann constant, eV/K, and Black's exponent (see :func:`pdk.schema.em_derating`).
K_B = K_B_EV
#: Net pairs or nets listed by name in a note before "and N more".
_LIST = 5


def nets_of(layers: Layers, kit: PDK, *extra: str | None) -> Nets:
    """The nets of the run's layout (extracted once per set of layers); the
    extraction's label notes go to the run's notes once."""
    names = net_layers(kit, [x for x in extra if x])
    key = ("nets", names)
    if key not in layers.cache:
        nets = extract_nets(layers.shapes, kit, names, net_ties=True)
        layers.cache[key] = nets
        if not layers.cache.get("nets-noted"):
            layers.notes.extend(nets.notes)
            layers.cache["nets-noted"] = True
    return layers.cache[key]  # type: ignore[return-value]


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST])
    return shown + (f" and {len(items) - _LIST} more" if len(items) > _LIST else "")


def _edges(layers: Layers, nets: Nets, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """Merged outline edges of ``layer`` and the net of each (cached per run)."""
    key = ("edge-nets", layer, nets.layers)
    if key not in layers.cache:
        e, _ = layers.merged(layer)
        en = nets.edge_nets(layer, e)
        whole = layers.cache.get(("tie-edges", layer))
        if whole is not None and len(whole[0]) and len(e):
            # a tile: an edge running through a net tie (several nets) takes
            # the net its whole edge has in the layout, not its part's here
            en = _whole_edge_nets(e, en, *whole)  # type: ignore[misc]
        layers.cache[key] = (e, en)
    return layers.cache[key]  # type: ignore[return-value]


def _whole_edge_nets(e: np.ndarray, en: np.ndarray, g: np.ndarray, gn: np.ndarray) -> np.ndarray:
    """``en`` with each edge of ``e`` lying on an edge of ``g`` (same line and
    direction, within its extent) given that edge's net ``gn``."""
    i, j = E.candidate_pairs(e, g, 1.0)
    if not len(i):
        return en
    a, b = e[i], g[j]
    u = b[:, 2:] - b[:, :2]
    v = a[:, 2:] - a[:, :2]

    def cross(p: np.ndarray) -> np.ndarray:
        return u[:, 0] * (p[:, 1] - b[:, 1]) - u[:, 1] * (p[:, 0] - b[:, 0])

    def along(p: np.ndarray) -> np.ndarray:
        return u[:, 0] * (p[:, 0] - b[:, 0]) + u[:, 1] * (p[:, 1] - b[:, 1])

    L = u[:, 0] * u[:, 0] + u[:, 1] * u[:, 1]
    on = (cross(a[:, :2]) == 0) & (cross(a[:, 2:]) == 0) & ((u * v).sum(axis=1) > 0)
    t0, t1 = along(a[:, :2]), along(a[:, 2:])
    on &= (t0 >= 0) & (t0 <= L) & (t1 >= 0) & (t1 <= L)
    out = en.copy()
    out[i[on]] = gn[j[on]]
    return out


def _facing(rule: Rule, kit: PDK, layers: Layers, nets: Nets, d: float, only: set[int] | None = None):
    """Facing edge pairs closer than ``d`` (dbu) between different nets:
    ``(markers, dist, net_a, net_b)``.  ``only``: consider edges of these
    nets only (every edge still shields)."""
    e, na = _edges(layers, nets, rule.layer)
    two = rule.other is not None and rule.other != rule.layer
    empty = (np.zeros((0, 2, 4), np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    if d <= 0 or len(e) == 0:
        return empty
    f, nb = _edges(layers, nets, rule.other) if two else (e, na)  # type: ignore[arg-type]
    if len(f) == 0:
        return empty
    ma = np.ones(len(e), bool) if only is None else np.isin(na, list(only))
    mb = np.ones(len(f), bool) if only is None else np.isin(nb, list(only))
    if not ma.any() or not mb.any():
        return empty
    if two:
        # shielded as ``spacing`` to another layer (KLayout's separation):
        # ``layer`` edges shield only within the pair's own polygon
        _, pid = layers.merged(rule.layer)
        sab = None if only is None else (E.reverse(e), pid, E.reverse(f))
        i, j, m, dist = E.facing_pairs(E.reverse(e[ma]), E.reverse(f[mb]), d, metric=rule.metric, pid_a=pid[ma], shields_ab=sab)
        ni, nj = na[ma][i], nb[mb][j]
    else:
        shields = None if only is None else E.reverse(e)
        i, j, m, dist = E.facing_pairs(E.reverse(e[ma]), None, d, shields=shields, metric=rule.metric)
        ni, nj = na[ma][i], na[ma][j]
    keep = (ni != nj) | (ni < 0)
    return m[keep], dist[keep], ni[keep], nj[keep]


def _near_net_pairs(rule: Rule, layers: Layers, nets: Nets, d: float) -> np.ndarray:
    """Unique ``(net_a, net_b)`` (``a <= b``) of different nets with edges
    closer than ``d`` (dbu), facing or not: a cheap superset of the pairs a
    spacing check at ``d`` can flag."""
    e, na = _edges(layers, nets, rule.layer)
    two = rule.other is not None and rule.other != rule.layer
    f, nb = _edges(layers, nets, rule.other) if two else (e, na)  # type: ignore[arg-type]
    box = layers.cache.get("tile-box")
    if box is not None:
        # a tile (flow.drc.tiles): edges made by cutting the layout at the
        # tile's haloed box are not the layout's (each real pair is found by
        # the tile whose core holds it, far from this box)
        e, na = _off_box(e, na, box)  # type: ignore[arg-type]
        f, nb = _off_box(f, nb, box) if two else (e, na)  # type: ignore[arg-type]
    if len(e) == 0 or len(f) == 0:
        return np.zeros((0, 2), np.int64)
    i, j = E.candidate_pairs(e, f if two else None, d)
    if len(i):
        near = E._segment_distance(e[i].astype(np.float64), f[j].astype(np.float64)) < d - 1e-6
        i, j = i[near], j[near]
    a, b = na[i], nb[j]
    keep = a != b
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    m = len(nets.names) + 1
    key = np.unique((lo + 1) * m + (hi + 1))  # -1 (no net found) kept apart
    return np.stack([key // m - 1, key % m - 1], axis=1)


def _off_box(e: np.ndarray, n: np.ndarray, box) -> tuple[np.ndarray, np.ndarray]:
    """Edges (and their nets) not lying on the boundary of ``box``."""
    x0, y0, x1, y1 = box
    on = ((e[:, 0] == e[:, 2]) & ((e[:, 0] == x0) | (e[:, 0] == x1))) | ((e[:, 1] == e[:, 3]) & ((e[:, 1] == y0) | (e[:, 1] == y1)))
    return e[~on], n[~on]


def unknown_voltage_note(rule: Rule, kit: PDK, pairs: list[str]) -> str:
    """The note of a ``voltage_spacing`` rule on the net pairs (names) it could not check."""
    dmax = max(kit.dbu(s) for _, s in rule.table)
    return (
        f"{rule.id}: not checked between {len(pairs)} pair(s) of nets within {kit.um(dmax):g} um "
        f"whose voltage is unknown: {_listing(sorted(pairs))} (give voltages in the design's net classes)"
    )


def _edge_violations(rule: Rule, kit: PDK, nets: Nets, m, dist, ni, nj, value: float) -> list[Violation]:
    return [
        Violation(
            rule.id, rule.kind, rule.layer, rule.other, value, kit.um(float(dd)),
            (tuple(mm[0]), tuple(mm[1])),  # type: ignore[arg-type]
            " / ".join(sorted((nets.name(a), nets.name(b)))),
        )
        for mm, dd, a, b in zip(m.tolist(), dist.tolist(), ni.tolist(), nj.tolist())
    ]


# -- net_spacing ----------------------------------------------------------------


def check_net_spacing(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    nets = nets_of(layers, kit, rule.layer, rule.other)
    m, dist, ni, nj = _facing(rule, kit, layers, nets, kit.dbu(rule.value))
    return _edge_violations(rule, kit, nets, m, dist, ni, nj, rule.value)


# -- voltage_spacing --------------------------------------------------------------


def _dv(nets: Nets, a: int, b: int, volts: Mapping[str, float]) -> float | None:
    va = nets.lookup(a, volts) or nets.label_volts(a)
    vb = nets.lookup(b, volts) or nets.label_volts(b)
    if not va or not vb:
        return None
    return max(abs(x - y) for x in va for y in vb)


def check_voltage_spacing(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    nets = nets_of(layers, kit, rule.layer, rule.other)
    if not rule.table:
        return []
    dmax = max(kit.dbu(s) for _, s in rule.table)
    # net pairs within the largest spacing of the table: their required
    # spacing, or unknown (a note); then one facing-pair pass per row value,
    # over the edges of the nets that need it
    need: dict[tuple[int, int], float] = {}
    unknown: dict[tuple[int, int], str] = {}
    for a, b in _near_net_pairs(rule, layers, nets, dmax).tolist():
        dv = _dv(nets, a, b, ctx.voltages)
        if dv is None:
            unknown[(a, b)] = " / ".join(sorted((nets.name(a), nets.name(b))))
        else:
            need[(a, b)] = rule.spacing_for(dv)
    if "tile-box" in layers.cache:
        # a tile: the run joins the pairs of all tiles into one note
        layers.cache[("unknown", rule.id)] = unknown
    elif unknown:
        layers.notes.append(unknown_voltage_note(rule, kit, list(unknown.values())))
    out: list[Violation] = []
    for s in sorted({v for v in need.values() if v > 0}):
        involved = {n for p, v in need.items() if v == s for n in p}
        mm, dd, a, b = _facing(rule, kit, layers, nets, kit.dbu(s), only=involved)
        keep = np.array([need.get((min(x, y), max(x, y))) == s for x, y in zip(a.tolist(), b.tolist())], bool)
        if len(keep):
            out += _edge_violations(rule, kit, nets, mm[keep], dd[keep], a[keep], b[keep], s)
    return out


def voltage_clearances(shapes, kit: PDK, ctx: CheckContext) -> list[dict]:
    """The smallest clearance found between every two nets near each other,
    against what the kit's ``voltage_spacing`` rules require (for reports).

    For each ``voltage_spacing`` rule, every pair of different nets whose
    edges on the rule's layers come closer than the rule's largest spacing
    gives one row: ``rule``, ``layer``, ``other``, ``nets`` (two names,
    sorted), ``dv_v`` (largest voltage difference; ``None`` when a voltage
    is unknown), ``required_um`` (the rule's spacing for ``dv_v``; ``None``
    when unknown) and ``found_um`` (smallest edge-to-edge distance, in any
    direction).  Pairs farther apart than the largest spacing meet every row
    of the table and are not listed.  ``shapes``: a
    :class:`flow.geometry.gdsio.LayoutShapes`; the DRC markers stay the
    verdict (this is a summary of the same geometry).
    """
    layers = Layers(shapes)
    out: list[dict] = []
    for rule in kit.rules_of("voltage_spacing"):
        if not rule.table or any(n is not None and n not in kit.layers for n in (rule.layer, rule.other)):
            continue
        nets = nets_of(layers, kit, rule.layer, rule.other)
        dmax = max(kit.dbu(s) for _, s in rule.table)
        e, na = _edges(layers, nets, rule.layer)
        two = rule.other is not None and rule.other != rule.layer
        f, nb = _edges(layers, nets, rule.other) if two else (e, na)  # type: ignore[arg-type]
        if len(e) == 0 or len(f) == 0:
            continue
        i, j = E.candidate_pairs(e, f if two else None, dmax)
        if not len(i):
            continue
        dist = E._segment_distance(e[i].astype(np.float64), f[j].astype(np.float64))
        a, b = na[i], nb[j]
        keep = (a != b) & (a >= 0) & (b >= 0) & (dist < dmax - 1e-6)
        a, b, dist = a[keep], b[keep], dist[keep]
        # the smallest distance per unordered net pair (numpy: sort by pair, then distance)
        lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
        key = lo_ * (len(nets.names) + 1) + hi_
        order = np.lexsort((dist, key))
        first = order[np.concatenate([[True], np.diff(key[order]) != 0])] if len(order) else order
        rows = sorted(
            (tuple(sorted((nets.name(x), nets.name(y)))), x, y, dd)
            for x, y, dd in zip(lo_[first].tolist(), hi_[first].tolist(), dist[first].tolist())
        )
        for (n1, n2), x, y, dd in rows:
            dv = _dv(nets, x, y, ctx.voltages)
            out.append({
                "rule": rule.id, "layer": rule.layer, "other": rule.other, "nets": [n1, n2],
                "dv_v": None if dv is None else round(dv, 6),
                "required_um": None if dv is None else rule.spacing_for(dv),
                "found_um": round(kit.um(float(dd)), 4),
            })
    return out


# -- current_density ----------------------------------------------------------------


def derate(limit: float, lay: Layer, temperature_c: float | None) -> tuple[float, str | None]:
    """``limit`` (at ``lay.jmax_ref_c``) at ``temperature_c``: ``(value, note)``.

    Raises :class:`NotChecked` when the limit cannot be derated safely (a
    temperature above the reference without an activation energy).
    """
    ref = lay.jmax_ref_c
    if temperature_c is None:
        at = f" ({ref:g} C)" if ref is not None else ""
        return limit, f"no operating temperature given: {lay.name} limit taken at its reference temperature{at}"
    if ref is None or temperature_c == ref:
        if ref is None:
            return limit, f"{lay.name} has no jmax_ref_c: limit used as given, not derated to {temperature_c:g} C"
        return limit, None
    if lay.em_ea_ev is None:
        if temperature_c > ref:
            raise NotChecked(
                f"cannot derate the {lay.name} limit from {ref:g} C to {temperature_c:g} C: the layer has no em_ea_ev"
            )
        return limit, f"{lay.name} has no em_ea_ev: reference limit ({ref:g} C) used at {temperature_c:g} C"
    return limit * em_derating(temperature_c, ref, lay.em_ea_ev), None


def _routed_nets(rule: Rule, layers: Layers, nets: Nets, present: list[int], ctx: CheckContext) -> list[int]:
    """``present`` without the nets that have no current and no metal on
    ``rule.layer`` outside device cells (e.g. the seal ring: a device with no
    terminals).  Such a net has no wire to check at a net current; its metal
    is the device's own (as device-internal metal of every net is, see
    :class:`_DeviceMetal`), so it is noted as left to the devices rather
    than as not checked."""
    inside = _DeviceMetal(layers, rule.layer)
    if not inside.polys:
        return present
    comp, polys = nets.comp[rule.layer], nets.polygons[rule.layer]
    keep: list[int] = []
    left: list[str] = []
    for n in present:
        idx = np.nonzero(comp == n)[0].tolist() if not nets.lookup(n, ctx.currents) else []
        if idx and all(inside.points(polys[i]) for i in idx):
            left.append(nets.name(n))
        else:
            keep.append(n)
    if left:
        layers.notes.append(
            f"{rule.id}: {len(left)} net(s) without a current drawn on {rule.layer} only inside device cells "
            f"(no routed metal there) left to the devices: {_listing(left)}"
        )
    return keep


def _currents(nets: Nets, present: list[int], ctx: CheckContext) -> tuple[dict[int, float], list[str]]:
    """Net -> current (mA) for nets with a known current; names of the others."""
    known: dict[int, float] = {}
    missing: list[str] = []
    for n in present:
        c = nets.lookup(n, ctx.currents)
        if c:
            known[n] = max(c) * 1000.0
        else:
            missing.append(nets.name(n))
    return known, missing


def check_current_density(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext) -> list[Violation]:
    lay = kit.layer(rule.layer)
    if lay.purpose == "cut":
        return _check_cuts(rule, kit, layers, ctx, lay)
    if lay.jmax_ma_per_um is None:
        raise NotChecked(f"layer {lay.name} has no jmax_ma_per_um (current-density limit) in the PDK")
    jmax, note = derate(lay.jmax_ma_per_um, lay, ctx.temperature_c)
    nets = nets_of(layers, kit, rule.layer)
    e, pid, en = _wire_edges(kit, layers, nets, rule.layer)
    present = _routed_nets(rule, layers, nets, sorted(set(en.tolist()) - {-1}), ctx)
    known, missing = _currents(nets, present, ctx)
    if note:
        layers.notes.append(f"{rule.id}: {note}")
    if missing:
        layers.notes.append(
            f"{rule.id}: not checked for {len(missing)} net(s) on {rule.layer} without a current: {_listing(missing)}"
        )
    out: list[Violation] = []
    inside = _DeviceMetal(layers, rule.layer)
    left = 0
    # a net with holes (the slots of a wire wider than the metal may be
    # drawn) is measured across its outline at the width that keeps the
    # current's need of metal across every cross-section (slotted_width)
    holes = E.hole_edges(e)
    slotted = sorted({nets.name(n) for n in known if (holes & (en == n)).any()})
    if slotted:
        layers.notes.append(
            f"{rule.id}: holes (slots) in the {rule.layer} of {len(slotted)} net(s) deducted: each outline is "
            f"checked at the width whose every cross-section keeps I / J of metal past the slots: {_listing(slotted)}"
        )
    for n, i_ma in known.items():
        w_um = i_ma / jmax
        mask = en == n
        en_, pn_ = e[mask], pid[mask]
        need = w_um / kit.dbu_um
        hull, hull_id, holes = _hull_and_holes(en_)
        covers = None
        needs = (need, need)
        if len(holes):
            # a slotted wire: its outline without the slots must be wide
            # enough that every cross-section keeps ``need`` of metal; a
            # cross-section between two facing edges runs across them
            # (horizontal edges: a vertical segment), so each direction
            # counts the slots a segment along it crosses
            from flow.route.router import _hole_cover

            hl = [tuple(h) for h in holes.tolist()]
            covers = tuple(
                (lambda length, ax=ax: _hole_cover(hl, int(math.ceil(length)), (ax,))) for ax in (0, 1)
            )
            needs = (slotted_width(need, covers[0]), slotted_width(need, covers[1]))
            en_, pn_ = hull, hull_id
        _, _, m, dist = E.facing_pairs(en_, None, max(needs), same_id=pn_)
        for mm, dd in zip(m.tolist(), dist.tolist()):
            (a0x, a0y, a1x, a1y), (b0x, b0y, b1x, b1y) = mm
            quad = [(a0x, a0y), (a1x, a1y), (b0x, b0y), (b1x, b1y)]
            # across horizontal edges the segment is vertical (axis 1)
            ax = 1 if a0y == a1y and b0y == b1y else 0 if a0x == a1x and b0x == b1x else -1
            if ax >= 0 and dd >= needs[ax]:
                continue
            if inside(quad) or inside.narrower(quad):
                left += 1
                continue
            cover = None if covers is None else (covers[ax] if ax >= 0 else (lambda d: max(c(d) for c in covers)))
            metal = float(dd) - (cover(dd) if cover is not None else 0)
            width = kit.um(metal)
            measured = round(i_ma / width, 6) if width > 0 else math.inf
            out.append(polygon_violation(rule, quad, measured, nets.name(n)))
    inside.note(rule, left, "narrow part(s)", layers)
    return out + _check_terminals(rule, kit, layers, ctx, nets)


def _hull_and_holes(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A net's merged outline split into its outer boundaries (edges and a
    polygon id per edge) and the bounding boxes of its holes ((n, 4), dbu).
    Without holes the hull is ``edges`` itself."""
    from flow.drc.kinds.shapes import loops

    rings = loops(edges)
    outer: list[np.ndarray] = []
    holes: list[tuple[int, int, int, int]] = []
    for ring in rings:
        x, y = ring[:, 0].astype(np.float64), ring[:, 1].astype(np.float64)
        area2 = float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
        if area2 < 0:
            holes.append((int(x.min()), int(y.min()), int(x.max()), int(y.max())))
        else:
            outer.append(ring)
    if not holes:
        return edges, np.zeros(len(edges), np.int64), np.zeros((0, 4), np.int64)
    hull = np.vstack([np.hstack([r, np.roll(r, -1, axis=0)]) for r in outer]).astype(np.int64)
    ids = np.concatenate([np.full(len(r), k, np.int64) for k, r in enumerate(outer)])
    return hull, ids, np.array(holes, np.int64)


def slotted_width(need: float, cover) -> float:
    """Outline width (dbu) a slotted wire needs so every cross-section keeps
    ``need`` of metal: the fixpoint of ``w = need + cover(w)``, where
    ``cover(w)`` is the most slot length a straight segment ``w`` long
    crosses.  ``w - cover(w)`` never decreases with ``w`` (a segment longer
    by d crosses at most d more slot), so any part of the outline at least
    that wide holds ``need`` of metal across it.

    >>> slotted_width(100.0, lambda w: 0)
    100.0
    >>> slotted_width(100.0, lambda w: (int(w) // 40 + 1) * 25)   # 25 wide slots every 40
    275.0
    """
    w = need
    for _ in range(64):
        nxt = need + cover(w)
        if nxt <= w:
            return w
        w = nxt
    return w


def _check_terminals(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext, nets: Nets) -> list[Violation]:
    """Device terminals whose first pin lies on ``rule.layer`` against their
    ratings (:mod:`flow.drc.devices`): a polygon marker over the pin where
    the terminal's net carries more than the terminal's rating at the
    operating temperature (``measured``: the net current, mA)."""
    from flow.drc.devices import fmt_amps, placed_terminals

    key = ("device-terminals",)
    if key not in layers.cache:
        terms, notes = placed_terminals(layers.shapes, kit)
        layers.notes.extend(notes)
        checked = {r.layer for r in kit.rules_of("current_density")} | {rule.layer}
        off = sorted({f"{t.model}.{t.terminal} ({t.layer})" for t in terms if t.layer not in checked})
        if off:
            layers.notes.append(
                f"device terminal ratings not checked on layers without a current_density rule: {_listing(off)}"
            )
        layers.cache[key] = terms
    terms = [t for t in layers.cache[key] if t.layer == rule.layer]  # type: ignore[attr-defined]
    if not terms:
        return []
    pins = np.array([t.pin for t in terms], np.int64)
    centres = np.stack([(pins[:, 0] + pins[:, 2]) // 2, (pins[:, 1] + pins[:, 3]) // 2], axis=1)
    poly = nets.locate(rule.layer, centres)
    comp = nets.comp.get(rule.layer)
    out: list[Violation] = []
    unknown: list[str] = []
    rated = 0
    for t, p in zip(terms, poly.tolist()):
        n = int(comp[p]) if p >= 0 and comp is not None else -1
        amps = nets.lookup(n, ctx.currents)
        if n < 0 or not amps:
            continue
        rated += 1
        limit, cap = t.rating.limiting(kit, ctx.temperature_c)  # type: ignore[attr-defined]
        i_net = max(amps)
        bound = t.rating.max_ma  # type: ignore[attr-defined]
        i = i_net if bound is None else min(i_net, bound / 1000.0)
        if math.isnan(limit):
            unknown.append(f"{t.cell}.{t.terminal}")
            continue
        if i > limit * (1 + 1e-9):
            x0, y0, x1, y1 = t.pin
            at = "" if ctx.temperature_c is None else f" at {ctx.temperature_c:g} C"
            through = "" if i == i_net else f", of which the device conducts at most {fmt_amps(i)}"
            msg = (f"device {t.cell} terminal {t.terminal} on net {nets.name(n)}: the net carries {fmt_amps(i_net)}"
                   f"{through}; the terminal is rated {fmt_amps(limit)}{at} ({cap.what})")  # type: ignore[attr-defined]
            v = polygon_violation(rule, rect(x0, y0, x1, y1), round(i * 1000.0, 6), nets.name(n))
            out.append(dataclasses.replace(v, message=msg))
    if unknown:
        layers.notes.append(f"{rule.id}: device terminal ratings cannot be derated to {ctx.temperature_c:g} C "
                            f"(a layer without em_ea_ev): {_listing(unknown)}")
    if rated:
        layers.notes.append(f"{rule.id}: {rated} device terminal(s) on {rule.layer} checked against their current ratings")
    return out


class _DeviceMetal:
    """Does a marker lie in metal drawn inside device cells?

    Device-internal metal (fingers, buses, contacts of a multi-finger
    transistor; a resistor's or inductor's body) carries a share of the net
    current that the net class does not give (a 100-finger HEMT's finger
    carries a hundredth of it); ``current_density`` checks it through the
    device's terminal ratings instead (:func:`_check_terminals`).

    Device metal is what the placed device cells draw on the layer
    (:attr:`flow.geometry.gdsio.LayoutShapes.device_polygons`).  A wire
    marker (two facing edges ``a``, ``b``) is device-internal when the end
    points and the midpoint (rounded down to dbu) of both edges lie in or
    on device polygons; a cut, when the corners of its bounding box do.  A
    wire is checked up to the pin it lands on, so a junction where a wire
    only grazes a pin stays a marker.  The exported deck tests the same
    points (``pfn_in_dev``)."""

    def __init__(self, layers: Layers, layer: str):
        self.polys = list(getattr(layers.shapes, "device_polygons", {}).get(layer, ()))
        self.boxes = (
            np.array([[p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()] for p in self.polys], np.int64)
            if self.polys else np.zeros((0, 4), np.int64)
        )

    def points(self, pts) -> bool:
        """All ``pts`` ((k, 2) dbu) in or on device polygons."""
        if not self.polys:
            return False
        p = np.asarray(pts, np.int64)
        left = np.ones(len(p), bool)
        x0, y0 = p.min(axis=0)
        x1, y1 = p.max(axis=0)
        b = self.boxes
        for k in np.nonzero((b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0))[0]:
            left[left] = ~point_in_polygon(p[left], self.polys[k])
            if not left.any():
                return True
        return False

    def __call__(self, quad) -> bool:
        """The marker ``quad`` = ``(a0, a1, b0, b1)`` of two facing edges."""
        (a0, a1, b0, b1) = [np.asarray(p, np.int64) for p in quad]
        return self.points([a0, a1, (a0 + a1) // 2, b0, b1, (b0 + b1) // 2])

    def narrower(self, quad) -> bool:
        """The marker ``quad`` is no narrower than device metal it joins:
        one of its edges (end points and midpoint) lies in or on one device
        polygon whose bounding box's smaller side is at most the marker's
        width (the distance of its two edges, rounded to dbu).  The junction
        then carries what that conductor carries (a wire landing across a
        pin's whole width; a narrow finger leaving a bus the wire covers)."""
        if not self.polys:
            return False
        q = np.asarray(quad, np.int64)
        d = round(float(E._segment_distance(q[:2].reshape(1, 4).astype(np.float64), q[2:].reshape(1, 4).astype(np.float64))[0]))
        b = self.boxes
        for e0, e1 in ((q[0], q[1]), (q[2], q[3])):
            pts = np.array([e0, e1, (e0 + e1) // 2])
            x0, y0 = pts.min(axis=0)
            x1, y1 = pts.max(axis=0)
            sel = (b[:, 0] <= x0) & (b[:, 2] >= x1) & (b[:, 1] <= y0) & (b[:, 3] >= y1)
            sel &= np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) <= d
            for k in np.nonzero(sel)[0]:
                if point_in_polygon(pts, self.polys[k]).all():
                    return True
        return False

    def cut(self, poly: np.ndarray) -> bool:
        x0, y0 = poly.min(axis=0)
        x1, y1 = poly.max(axis=0)
        return self.points([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])

    def note(self, rule: Rule, left: int, what: str, layers: Layers) -> None:
        if self.polys:
            layers.notes.append(
                f"{rule.id}: {rule.layer} drawn inside device cells is left to the devices' own sizing (their terminals' "
                f"current ratings), not checked at the net current" + (f" ({left} {what} there not reported)" if left else "")
            )


def _wire_edges(kit: PDK, layers: Layers, nets: Nets, layer: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged outline edges of ``layer`` as its nets trace it (cut under net
    ties, :func:`flow.drc.nets.cut_net_ties`), their polygon ids and nets."""
    key = ("wire-edges", layer, nets.layers)
    if key not in layers.cache:
        tied = any(lay.net_tie == layer and layers.shapes.polygons.get(n) for n, lay in kit.layers.items())
        e, pid = E.merge_edges(list(nets.polygons[layer])) if tied else layers.merged(layer)
        layers.cache[key] = (e, pid, nets.edge_nets(layer, e))
    return layers.cache[key]  # type: ignore[return-value]


def _cut_neighbours(kit: PDK, cut: str) -> list[tuple[str, str]]:
    """``(lower, upper)`` of every ``[lower, cut, upper]`` entry of ``cut``."""
    return [(g[0], g[2]) for g in kit.connect if len(g) == 3 and g[1] == cut]


def _check_cuts(rule: Rule, kit: PDK, layers: Layers, ctx: CheckContext, lay: Layer) -> list[Violation]:
    if lay.imax_ma_per_cut is None:
        raise NotChecked(f"cut layer {lay.name} has no imax_ma_per_cut (current per cut) in the PDK")
    ends = _cut_neighbours(kit, rule.layer)
    if not ends:
        raise NotChecked(f"cut layer {lay.name} joins no layers in [pdk.connectivity] ([lower, {lay.name}, upper])")
    imax, note = derate(lay.imax_ma_per_cut, lay, ctx.temperature_c)
    nets = nets_of(layers, kit, rule.layer)
    cuts = nets.polygons[rule.layer]
    if note:
        layers.notes.append(f"{rule.id}: {note}")
    if not cuts:
        return []
    below: list[set[int]] = [set() for _ in cuts]
    above: list[set[int]] = [set() for _ in cuts]
    for lo, up in ends:
        i, j = nets.links.get((lo, rule.layer), (np.zeros(0, np.int64),) * 2)
        for a, c in zip(i.tolist(), j.tolist()):
            below[c].add(int(nets.local[lo][a]))
        i, j = nets.links.get((rule.layer, up), (np.zeros(0, np.int64),) * 2)
        for c, b in zip(i.tolist(), j.tolist()):
            above[c].add(int(nets.local[up][b]))
    groups: dict[tuple, list[int]] = {}
    comp = nets.comp[rule.layer]
    for c in range(len(cuts)):
        if below[c] and above[c]:
            groups.setdefault((int(comp[c]), frozenset(below[c]), frozenset(above[c])), []).append(c)
    known, missing = _currents(nets, _routed_nets(rule, layers, nets, sorted({k[0] for k in groups}), ctx), ctx)
    if missing:
        layers.notes.append(
            f"{rule.id}: not checked for {len(missing)} net(s) changing layer through {rule.layer} without a current: {_listing(missing)}"
        )
    out: list[Violation] = []
    boxes = nets.boxes[rule.layer]
    local = nets.local[rule.layer]
    inside = _DeviceMetal(layers, rule.layer)
    left = 0
    for (n, _, _), members in groups.items():
        if n not in known:
            continue
        count = len({int(local[c]) for c in members})
        per_cut = known[n] / count
        if per_cut > imax * (1 + 1e-9):
            if all(inside.cut(cuts[c]) for c in members):
                left += 1
                continue
            b = boxes[members]
            x0, y0 = b[:, 0].min(), b[:, 1].min()
            x1, y1 = b[:, 2].max(), b[:, 3].max()
            out.append(polygon_violation(rule, rect(x0, y0, x1, y1), round(per_cut, 6), nets.name(n)))
    inside.note(rule, left, "cut group(s)", layers)
    return out


# -- self-tests -------------------------------------------------------------------


def _namer(kit: PDK, layer: str):
    """(labels for a net, its name): a label where ``layer`` has a label
    datatype, else the generated name of a one-polygon net."""

    def net(name: str, poly: np.ndarray, layer_: str = layer) -> tuple[tuple, str]:
        if kit.layers[layer_].label is not None:
            x0, y0 = poly.min(axis=0)
            x1, y1 = poly.max(axis=0)
            return ((layer_, name, int((x0 + x1) // 2), int((y0 + y1) // 2)),), name
        x0, y0 = poly.min(axis=0)
        return (), generated_name(kit, layer_, int(x0), int(y0))

    return net


def _net_name(kit: PDK, shapes: Mapping[str, list[np.ndarray]], name: str) -> tuple[tuple, str]:
    """(labels, net name) of a self-test net made of ``shapes``: a label
    ``name`` on the first of its layers with a label datatype, else the
    generated name extraction gives it (first layer in kit order, lowest
    bounding-box corner)."""
    order = [n for n in kit.layers if shapes.get(n)]
    for n in order:
        if kit.layers[n].label is not None:
            p = shapes[n][0]
            (x0, y0), (x1, y1) = p.min(axis=0), p.max(axis=0)
            return ((n, name, int((x0 + x1) // 2), int((y0 + y1) // 2)),), name
    first = [n for n in net_layers(kit, order) if shapes.get(n)][0]
    x0, y0 = min((int(p[:, 0].min()), int(p[:, 1].min())) for p in shapes[first])
    return (), generated_name(kit, first, x0, y0)


def _bridge(kit: PDK, layer: str) -> tuple[str, str] | None:
    """``(cut, other metal)`` of a ``[lower, cut, upper]`` entry with ``layer`` at one end."""
    for g in kit.connect:
        if len(g) == 3 and layer in (g[0], g[2]) and g[0] != g[2]:
            return g[1], g[2] if g[0] == layer else g[0]
    return None


def selftests_net_spacing(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``net_spacing``: bars of two nets exactly ``value`` apart pass, 1 dbu
    closer fail once; bars of one net 1 dbu closer (joined through another
    layer, or a U-shaped notch) never fail."""
    d = kit.dbu(rule.value)
    w = max(d, kit.dbu(1.0))
    L, g = 4 * w, 2 * d + kit.dbu(1.0)
    two = rule.other is not None and rule.other != rule.layer
    b_layer = rule.other if two else rule.layer
    net = _namer(kit, rule.layer)
    bnet = _namer(kit, b_layer)  # type: ignore[arg-type]
    bridge = None if two else _bridge(kit, rule.layer)

    def layout(gap: int) -> tuple[dict[str, list[np.ndarray]], tuple]:
        shapes: dict[str, list[np.ndarray]] = {rule.layer: [], b_layer: []}  # type: ignore[dict-item]
        labels: list = []
        a, b = rect(0, 0, w, L), rect(w + gap, 0, 2 * w + gap, L)
        shapes[rule.layer].append(a)
        shapes[b_layer].append(b)  # type: ignore[index]
        labels += net("A", a)[0] + bnet("B", b, b_layer)[0]  # type: ignore[arg-type]
        x = 2 * w + gap + g
        if not two:
            # the same net 1 dbu closer than the rule: a U (one polygon)...
            gp = max(d - 1, 1)
            shapes[rule.layer].append(np.array(
                [[x, 0], [x + 2 * w + gp, 0], [x + 2 * w + gp, L], [x + w + gp, L],
                 [x + w + gp, w], [x + w, w], [x + w, L], [x, L]], dtype=np.int64))
            x += 2 * w + gp + g
            if bridge is not None:
                # ... and two bars joined by a strap on another layer
                cut, metal = bridge
                c1, c2 = rect(x, 0, x + w, L), rect(x + w + gp, 0, x + 2 * w + gp, L)
                shapes[rule.layer] += [c1, c2]
                q = max(w // 4, 1)
                shapes[metal] = [rect(x, L - w, x + 2 * w + gp, L)]
                shapes[cut] = [rect(x + q, L - w + q, x + w - q, L - q), rect(x + w + gp + q, L - w + q, x + 2 * w + gp - q, L - q)]
                labels += net("C", c1)[0] + net("C", c2)[0]
        return shapes, tuple(labels)

    what = f"{rule.layer} to {rule.other} of two nets" if two else f"{rule.layer} bars of two nets"
    same = "" if two else ", beside shapes of one net 1 dbu closer"
    s0, l0 = layout(d)
    tests = [SelfTest("at value", s0, 0, f"{what} exactly {rule.value:g} um apart{same}", labels=l0)]
    if d >= 2:
        s1, l1 = layout(d - 1)
        tests.append(SelfTest("1 dbu below value", s1, 1, f"{what} 1 dbu closer than the rule{same}", labels=l1))
    return tests


def selftests_voltage_spacing(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``voltage_spacing``: per table row a pair of nets whose voltages differ
    by a little more than the row's voltage, exactly at the row's spacing
    (pass) and 1 dbu closer (fail, one marker per row); a pair at or below
    the first row's voltage difference and a pair of unknown voltage, both
    close, never fail (the second is noted as not checked)."""
    rows = list(rule.table)
    two = rule.other is not None and rule.other != rule.layer
    b_layer = rule.other if two else rule.layer
    net = _namer(kit, rule.layer)
    bnet = _namer(kit, b_layer)  # type: ignore[arg-type]
    dmax = max(kit.dbu(s) for _, s in rows)
    w = max(dmax, kit.dbu(1.0))
    L, g = 4 * w, 2 * dmax + kit.dbu(1.0)

    def diff(k: int) -> float:
        a = rows[k][0]
        return (a + rows[k + 1][0]) / 2 if k + 1 < len(rows) else a + max(1.0, a * 0.1)

    def layout(short: int) -> tuple[dict[str, list[np.ndarray]], tuple, dict[str, float]]:
        shapes: dict[str, list[np.ndarray]] = {rule.layer: [], b_layer: []}  # type: ignore[dict-item]
        labels: list = []
        volts: dict[str, float] = {}
        x = 0

        def pair(tag: str, gap: int, va: float | None, vb: float | None) -> None:
            nonlocal x, labels
            a, b = rect(x, 0, x + w, L), rect(x + w + gap, 0, x + 2 * w + gap, L)
            shapes[rule.layer].append(a)
            shapes[b_layer].append(b)  # type: ignore[index]
            la, na = net(f"LO{tag}", a)
            lb, nb = bnet(f"HI{tag}", b, b_layer)  # type: ignore[arg-type]
            labels += la + lb
            if va is not None:
                volts[na] = va
            if vb is not None:
                volts[nb] = vb
            x += 2 * w + gap + g

        for k, (_, s) in enumerate(rows):
            pair(str(k), kit.dbu(s) - short, 0.0, diff(k))
        near = max(kit.dbu(rows[0][1]) - 1, 1)
        pair("LOW", near, 0.0, rows[0][0])  # difference not above the first row
        pair("UNK", near, None, None)  # no voltage: noted, not checked
        return shapes, tuple(labels), volts

    s0, l0, v0 = layout(0)
    tests = [SelfTest("at value", s0, 0, "per row, two nets at the row's spacing; a low-voltage and an unknown-voltage pair closer", labels=l0, voltages=v0)]
    if all(kit.dbu(s) >= 2 for _, s in rows):
        s1, l1, v1 = layout(1)
        tests.append(SelfTest("1 dbu below value", s1, len(rows), "per row, two nets 1 dbu closer than the row's spacing (one marker per row)", labels=l1, voltages=v1))
    return tests


def selftests_current_density(rule: Rule, kit: PDK) -> list[SelfTest]:
    """``current_density``, wires: a bar exactly as wide as its current needs
    at the reference limit passes; 1 dbu narrower fails once; a narrow bar
    of a net without a current is not flagged (noted).  Cuts: a group of two
    cuts carrying exactly twice the per-cut limit passes; a little more
    current fails once."""
    lay = kit.layer(rule.layer)
    net = _namer(kit, rule.layer)
    if lay.purpose == "cut":
        ends = _cut_neighbours(kit, rule.layer)
        if lay.imax_ma_per_cut is None or not ends:
            return []
        lo, up = ends[0]
        s = max(kit.dbu(kit.min_width(rule.layer)), kit.dbu(1.0))
        W = 6 * s

        def group(x: int, name: str) -> tuple[dict[str, list[np.ndarray]], tuple, str]:
            cut_polys = [rect(x + s, 2 * s, x + 2 * s, 3 * s), rect(x + 4 * s, 2 * s, x + 5 * s, 3 * s)]
            shapes = {lo: [rect(x, 0, x + W, W)], up: [rect(x, s, x + W, W - s)], rule.layer: cut_polys}
            labels, nm = _net_name(kit, shapes, name)
            return shapes, labels, nm

        def layout(extra: float) -> tuple[dict[str, list[np.ndarray]], tuple, dict[str, float]]:
            sa, la, na = group(0, "I1")
            sb, lb, nb = group(W + kit.dbu(5.0), "I2")
            shapes = {k: sa.get(k, []) + sb.get(k, []) for k in set(sa) | set(sb)}
            limit = 2 * lay.imax_ma_per_cut / 1000.0
            return shapes, la + lb, {na: limit, nb: limit * extra}

        s0, l0, c0 = layout(1.0)
        s1, l1, c1 = layout(1.01)
        return [
            SelfTest("at value", s0, 0, "two groups of two cuts, each carrying exactly twice the per-cut limit", labels=l0, currents=c0),
            SelfTest("above limit", s1, 1, "the second group carries 1% more than its two cuts allow", labels=l1, currents=c1),
        ]
    if lay.jmax_ma_per_um is None:
        return []
    w = kit.dbu(10.0)
    i_a = lay.jmax_ma_per_um * 10.0 / 1000.0  # A through a 10 um wire at the limit
    g, L = kit.dbu(20.0), 4 * w

    def layout(narrow: int) -> tuple[dict[str, list[np.ndarray]], tuple, dict[str, float]]:
        a = rect(0, 0, L, w)
        b = rect(0, w + g, L, 2 * w + g - narrow)
        c = rect(0, 2 * (w + g), L, 2 * (w + g) + w // 2)
        (la, na), (lb, nb), (lc, _) = net("I1", a), net("I2", b), net("NOCURRENT", c)
        return {rule.layer: [a, b, c]}, la + lb + lc, {na: i_a, nb: i_a}

    s0, l0, c0 = layout(0)
    s1, l1, c1 = layout(1)
    return [
        SelfTest("at value", s0, 0, f"two nets of {i_a:g} A on 10 um wide bars ({lay.jmax_ma_per_um:g} mA/um); a narrow bar without a current", labels=l0, currents=c0),
        SelfTest("1 dbu below value", s1, 1, "the second bar 1 dbu narrower than its current needs", labels=l1, currents=c1),
    ]


# -- KLayout deck snippets ----------------------------------------------------------
#
# The exported deck traces the nets once, in its nets section (connect
# statements and the ``pfn_*`` Ruby helpers of
# ``pdk/templates/klayout.nets.drc.j2``, rendered by :mod:`pdk.export`
# whenever a net-aware rule is exported); the snippets below use them.  Each
# follows pilotflow's check step by step, so the marker counts agree.


def _ruby_pairs(rule: Rule, kit: PDK, var, d: int) -> str:
    """The DSL expression of the plain spacing (or separation) edge pairs of
    ``rule``'s layer(s) closer than ``d`` dbu, as the ``spacing`` kind."""
    v = ruby_um(kit, d)
    metric = "projection" if rule.metric == "projection" else "euclidian"
    if rule.other is not None and rule.other != rule.layer:
        return f"{ruby_merged(var, rule.layer)}.separation({ruby_merged(var, rule.other)}, {v}, {metric})"
    return f"{ruby_merged(var, rule.layer)}.space({v}, {metric})"


def klayout_net_spacing(rule: Rule, kit: PDK, var) -> str:
    """The layer's space (or separation to ``other``) edge pairs, kept where
    the two edges belong to different nets (or either to none), as pilotflow
    filters its facing pairs."""
    other = rule.other if rule.other is not None else rule.layer
    out = f".output({ruby_str(rule.id)}, {ruby_str(rule.doc or rule.id)})"
    return "\n".join([
        "pf_out = RBA::EdgePairs::new",
        f"{_ruby_pairs(rule, kit, var, kit.dbu(rule.value))}.data.each do |pf_ep|",
        f"  pf_a = pfn_edge_net.call({ruby_str(rule.layer)}, pf_ep.first)",
        f"  pf_b = pfn_edge_net.call({ruby_str(other)}, pf_ep.second)",
        "  pf_out.insert(pf_ep) if pf_a.nil? || pf_b.nil? || pf_a != pf_b",
        "end",
        f"DRC::DRCLayer::new(self, pf_out){out}",
    ])


def klayout_voltage_spacing(rule: Rule, kit: PDK, var) -> str | None:
    """Per distinct spacing of the table, the layer's space (or separation)
    edge pairs closer than it, kept where the two nets' voltage difference
    selects exactly that spacing (step look-up as
    :meth:`pdk.schema.Rule.spacing_for`); pairs with a net of unknown
    voltage are not flagged (pilotflow notes them as not checked)."""
    if not rule.table:
        return None
    other = rule.other if rule.other is not None else rule.layer
    rows = ", ".join(f"[{float(v)!r}, {kit.dbu(s)}]" for v, s in rule.table)
    spacings = sorted({kit.dbu(s) for _, s in rule.table if kit.dbu(s) > 0})
    checks = ", ".join(f"[{s}, {_ruby_pairs(rule, kit, var, s)}]" for s in spacings)
    out = f".output({ruby_str(rule.id)}, {ruby_str(rule.doc or rule.id)})"
    return "\n".join([
        f"pf_rows = [{rows}]",
        "pf_need = lambda { |dv| s = 0; pf_rows.each { |lo, sp| s = sp if dv > lo }; s }",
        "pf_recs = pfn_nets.call",
        "pf_out = RBA::EdgePairs::new",
        f"[{checks}].each do |pf_s, pf_pairs|",
        "  pf_pairs.data.each do |pf_ep|",
        f"    pf_a = pfn_edge_net.call({ruby_str(rule.layer)}, pf_ep.first)",
        f"    pf_b = pfn_edge_net.call({ruby_str(other)}, pf_ep.second)",
        "    next if pf_a.nil? || pf_b.nil? || pf_a == pf_b",
        "    pf_dv = pfn_dv.call(pf_recs[pf_a], pf_recs[pf_b])",
        "    pf_out.insert(pf_ep) if !pf_dv.nil? && pf_need.call(pf_dv) == pf_s",
        "  end",
        "end",
        f"DRC::DRCLayer::new(self, pf_out){out}",
    ])


def _ruby_num(x: float | None) -> str:
    return "nil" if x is None else repr(float(x))


def klayout_current_density(rule: Rule, kit: PDK, var) -> str | None:
    """Wires: per net with a current, the width check of the net's shapes on
    the layer at ``I / J(T)`` (a net with slots: of its outline without
    them, at the width :func:`slotted_width` gives, as pilotflow).  Cuts: per net with a current, its cuts
    grouped by the lower and upper shapes they join; a group with fewer
    cuts than ``I / Icut(T)`` is a marker (its bounding box).  ``None``
    where pilotflow cannot check the rule either (no limit in the kit).
    Markers lying wholly in metal drawn inside device cells are dropped, as
    pilotflow drops them (``pfn_in_dev``)."""
    lay = kit.layer(rule.layer)
    out = f".output({ruby_str(rule.id)}, {ruby_str(rule.doc or rule.id)})"
    if lay.purpose == "cut":
        ends = _cut_neighbours(kit, rule.layer)
        if lay.imax_ma_per_cut is None or not ends:
            return None
        lows = ", ".join(dict.fromkeys(ruby_str(lo) for lo, _ in ends))
        ups = ", ".join(dict.fromkeys(ruby_str(up) for _, up in ends))
        return "\n".join([
            f"pf_imax = pfn_derate.call({_ruby_num(lay.imax_ma_per_cut)}, {_ruby_num(lay.jmax_ref_c)}, {_ruby_num(lay.em_ea_ev)}, {ruby_str(rule.id)})",
            "pf_out = RBA::Region::new",
            "pf_out.merged_semantics = false",
            "pfn_nets.call.each do |pf_r|",
            "  next if pf_imax.nil? || pf_r['amps'].empty?",
            "  pf_groups = {}",
            f"  pfn_polys.call(pf_r, {ruby_str(rule.layer)}).each do |pf_c|",
            "    pf_key = [[], []]",
            f"    [[{lows}], [{ups}]].each_with_index do |pf_side, pf_k|",
            "      pf_side.each { |pf_n| pfn_polys.call(pf_r, pf_n).each_with_index { |pf_p, pf_i| pf_key[pf_k] << [pf_n, pf_i] if pfn_overlap.call(pf_p, pf_c) } }",
            "    end",
            "    (pf_groups[pf_key] ||= []) << pf_c unless pf_key[0].empty? || pf_key[1].empty?",
            "  end",
            "  pf_i = pf_r['amps'].max * 1000.0",
            "  pf_groups.each_value do |pf_m|",
            "    next unless pf_i / pf_m.size > pf_imax * (1 + 1e-9)",
            f"    next if pf_m.all? {{ |pf_c| pfn_cut_in_dev.call({ruby_str(rule.layer)}, pf_c) }}",
            "    pf_out.insert(pf_m.map(&:bbox).inject(:+))",
            "  end",
            "end",
            f"DRC::DRCLayer::new(self, pf_out){out}",
        ])
    if lay.jmax_ma_per_um is None:
        return None
    return "\n".join([
        f"pf_j = pfn_derate.call({_ruby_num(lay.jmax_ma_per_um)}, {_ruby_num(lay.jmax_ref_c)}, {_ruby_num(lay.em_ea_ev)}, {ruby_str(rule.id)})",
        "pf_out = RBA::EdgePairs::new",
        "pfn_nets.call.each do |pf_r|",
        "  next if pf_j.nil? || pf_r['amps'].empty?",
        "  pf_d = (pf_r['amps'].max * 1000.0 / pf_j / pfn_dbu).ceil",
        f"  pf_reg = pf_r['regs'][{ruby_str(rule.layer)}]",
        "  next if pf_d <= 0 || pf_reg.is_empty?",
        "  pf_holes = pf_reg.merged.holes",
        "  pf_dx = pf_dy = pf_d",
        "  unless pf_holes.is_empty?",
        "    # slotted: the outline without the slots, wide enough to keep pf_d of metal across",
        "    # (pf_dx across vertical edges: horizontal segments; pf_dy across horizontal ones)",
        "    pf_hb = pf_holes.each.map(&:bbox)",
        "    pf_dx = pfn_slot_width.call(pf_hb, pf_d, 0)",
        "    pf_dy = pfn_slot_width.call(pf_hb, pf_d, 1)",
        "    pf_reg = pf_reg.merged.hulls",
        "  end",
        "  pf_reg.width_check([pf_dx, pf_dy].max).each do |pf_ep|",
        "    pf_a, pf_b = pf_ep.first, pf_ep.second",
        "    next if pf_a.dy == 0 && pf_b.dy == 0 && (pf_a.p1.y - pf_b.p1.y).abs >= pf_dy",
        "    next if pf_a.dx == 0 && pf_b.dx == 0 && (pf_a.p1.x - pf_b.p1.x).abs >= pf_dx",
        f"    pf_out.insert(pf_ep) unless pfn_in_dev.call({ruby_str(rule.layer)}, pf_ep) || pfn_dev_narrow.call({ruby_str(rule.layer)}, pf_ep)",
        "  end",
        "end",
        f"DRC::DRCLayer::new(self, pf_out){out}",
    ])


NET_SPACING = register(KindImpl("net_spacing", check_net_spacing, selftests_net_spacing, klayout_net_spacing, net_aware=True))
VOLTAGE_SPACING = register(KindImpl("voltage_spacing", check_voltage_spacing, selftests_voltage_spacing, klayout_voltage_spacing, net_aware=True))
CURRENT_DENSITY = register(KindImpl("current_density", check_current_density, selftests_current_density, klayout_current_density, net_aware=True))
