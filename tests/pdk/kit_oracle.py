"""KLayout as the geometry oracle for device generators of any kit.

``kit_regions`` turns a generated cell into merged KLayout regions per layer
(asserting rectangles on the dbu grid), ``kit_drc`` checks every rule of the
kit on them, ``kit_two_copies`` places a second copy one halo away.
"""

from __future__ import annotations

import klayout.db as kdb
import numpy as np

from pdk.base import DeviceCell
from pdk.schema import PDK




def kit_regions(KIT: PDK, dc: DeviceCell) -> dict[str, kdb.Region]:
    """Merged KLayout region of every drawing layer of the kit (dbu)."""
    by_gds = {lay.gds: name for name, lay in KIT.layers.items()}
    pin_gds = {lay.pin for lay in KIT.layers.values() if lay.pin}
    out = {name: kdb.Region() for name in KIT.layers}
    for poly in dc.cell.get_polygons():
        key = (poly.layer, poly.datatype)
        assert key in by_gds or key in pin_gds, f"shape on unknown GDS layer {key}"
        if key in pin_gds:
            continue
        pts = np.asarray(poly.points) / KIT.dbu_um
        assert np.allclose(pts, np.round(pts), atol=1e-6), "shape off the dbu grid"
        pts = np.round(pts).astype(np.int64)
        # Manhattan rectangle
        assert len(pts) == 4
        xs, ys = sorted(set(pts[:, 0].tolist())), sorted(set(pts[:, 1].tolist()))
        assert len(xs) == 2 and len(ys) == 2, f"not an axis-aligned rectangle: {pts.tolist()}"
        out[by_gds[key]].insert(kdb.Box(xs[0], ys[0], xs[1], ys[1]))
    return {k: r.merged() for k, r in out.items()}


def kit_drc(KIT: PDK, regs: dict[str, kdb.Region]) -> list[str]:
    """Every rule of the kit, checked with KLayout; returns the violations."""
    bad: list[str] = []
    for rule in KIT.rules:
        v = KIT.dbu(rule.value)
        a = regs[rule.layer]
        if rule.kind == "width":
            ep = a.width_check(v)
            extra = kdb.Region()
        elif rule.kind == "spacing" and rule.other in (None, rule.layer):
            ep = a.space_check(v)
            extra = kdb.Region()
        elif rule.kind == "spacing":
            b = regs[rule.other]
            ep = a.separation_check(b, v)
            extra = a & b  # overlapping shapes violate a two-layer spacing too
        elif rule.kind == "enclosure":
            b = regs[rule.other]
            ep = a.enclosing_check(b, v)
            extra = b - a  # inner not fully inside outer
        elif rule.kind in SHAPE_KINDS:
            ep, extra = SHAPE_KINDS[rule.kind](KIT, rule, regs)
        else:  # pragma: no cover - a new rule kind needs a check here
            raise AssertionError(f"unchecked rule kind {rule.kind}")
        if not ep.is_empty() or not extra.is_empty():
            where = ep.bbox() if not ep.is_empty() else extra.bbox()
            bad.append(f"{rule.id}: {ep.count()} edge pairs, {extra.count()} polygons near {where}")
    return bad


def kit_two_copies(regs: dict[str, kdb.Region], dc: DeviceCell, horizontal: bool, mirror: bool, HALO: int) -> dict[str, kdb.Region]:
    """The cell plus a copy one halo beyond its bbox (right or above), the
    copy optionally mirrored so that equal sides face each other."""
    if horizontal:
        t = kdb.Trans(kdb.Trans.M90, 2 * dc.width + HALO, 0) if mirror else kdb.Trans(dc.width + HALO, 0)
    else:
        t = kdb.Trans(kdb.Trans.M0, 0, 2 * dc.height + HALO) if mirror else kdb.Trans(0, dc.height + HALO)
    return {k: (r + r.transformed(t)).merged() for k, r in regs.items()}




# -- shape and table kinds: (edge pairs, polygons) as KLayout finds them -------


def _area_dbu2(KIT: PDK, rule) -> float:
    return rule.value / KIT.dbu_um**2


def _extension(KIT, rule, regs):
    a, b = regs[rule.layer], regs[rule.other]
    return a.edges().enclosing_check(b.edges().inside_part(a), KIT.dbu(rule.value)), kdb.Region()


def _overlap(KIT, rule, regs):
    return regs[rule.layer].overlap_check(regs[rule.other], KIT.dbu(rule.value)), kdb.Region()


def _must_overlap(KIT, rule, regs):
    return kdb.EdgePairs(), regs[rule.layer].not_overlapping(regs[rule.other])


def _not_overlap(KIT, rule, regs):
    return kdb.EdgePairs(), regs[rule.layer] & regs[rule.other]


def _area(KIT, rule, regs):
    small = kdb.Region()
    for p in regs[rule.layer].each():
        if p.area() < _area_dbu2(KIT, rule):
            small.insert(p)
    return kdb.EdgePairs(), small


def _hole(KIT, rule, regs):
    small = kdb.Region()
    for p in regs[rule.layer].each():
        for h in range(p.holes()):
            hole = kdb.Polygon(list(p.each_point_hole(h)))
            if hole.area() < _area_dbu2(KIT, rule):
                small.insert(hole)
    return kdb.EdgePairs(), small


def _wide_spacing(KIT, rule, regs):
    """Space violations of each table row whose edge pair touches a part of
    the layer wider than the row's width (shrunk and grown back)."""
    a = regs[rule.layer]
    out = kdb.EdgePairs()
    for w, s in rule.table:
        half = KIT.dbu(w) // 2 + 1
        wide_edges = a.sized(-half).sized(half).edges()
        if wide_edges.is_empty():
            continue
        for ep in a.space_check(KIT.dbu(s)).each():
            if not kdb.Edges([ep.first, ep.second]).interacting(wide_edges).is_empty():
                out.insert(ep)
    return out, kdb.Region()


def _angle(KIT, rule, regs):
    e = regs[rule.layer].edges().with_angle(0, True).with_angle(90, True)
    if rule.value == 45:
        e = e.with_angle(45, True).with_angle(-45, True)
    eps = kdb.EdgePairs()
    for edge in e.each():  # one marker per off-angle edge
        eps.insert(edge, edge)
    return eps, kdb.Region()


SHAPE_KINDS = {
    "extension": _extension,
    "overlap": _overlap,
    "must_overlap": _must_overlap,
    "not_overlap": _not_overlap,
    "area": _area,
    "hole": _hole,
    "wide_spacing": _wide_spacing,
    "angle": _angle,
}
