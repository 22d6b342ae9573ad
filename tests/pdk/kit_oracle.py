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
            ep, extra = klayout_shape_check(KIT, rule, regs)
        else:  # pragma: no cover - a new rule kind needs a check here
            raise AssertionError(f"unchecked rule kind {rule.kind}")
        if not ep.is_empty() or not extra.is_empty():
            where = ep.bbox() if not ep.is_empty() else extra.bbox()
            bad.append(f"{rule.id}: {ep.count()} edge pairs, {extra.count()} polygons near {where}")
    return bad


#: Kinds of flow/drc/kinds/shapes.py, checked by :func:`klayout_shape_check`.
SHAPE_KINDS = ("notch", "extension", "overlap", "must_overlap", "not_overlap", "area", "hole")


def klayout_shape_check(KIT: PDK, rule, regs: dict[str, kdb.Region]) -> tuple[kdb.EdgePairs, kdb.Region]:
    """KLayout's own check for a shape-kind rule: (edge pairs, polygons)."""
    a = regs[rule.layer]
    b = regs[rule.other] if rule.other else None
    v = KIT.dbu(rule.value)
    area = round(rule.value / KIT.dbu_um**2)
    none_ep, none_reg = kdb.EdgePairs(), kdb.Region()
    if rule.kind == "notch":
        return a.notch_check(v), none_reg
    if rule.kind == "extension":
        return a.edges().enclosing_check(b.edges().inside_part(a), v), none_reg
    if rule.kind == "overlap":
        return a.overlap_check(b, v), none_reg
    if rule.kind == "must_overlap":
        return none_ep, a.not_overlapping(b)
    if rule.kind == "not_overlap":
        return none_ep, a & b
    if rule.kind == "area":
        return none_ep, a.with_area(None, area, False)
    if rule.kind == "hole":
        return none_ep, a.holes().with_area(None, area, False)
    raise AssertionError(rule.kind)


def kit_two_copies(regs: dict[str, kdb.Region], dc: DeviceCell, horizontal: bool, mirror: bool, HALO: int) -> dict[str, kdb.Region]:
    """The cell plus a copy one halo beyond its bbox (right or above), the
    copy optionally mirrored so that equal sides face each other."""
    if horizontal:
        t = kdb.Trans(kdb.Trans.M90, 2 * dc.width + HALO, 0) if mirror else kdb.Trans(dc.width + HALO, 0)
    else:
        t = kdb.Trans(kdb.Trans.M0, 0, 2 * dc.height + HALO) if mirror else kdb.Trans(0, dc.height + HALO)
    return {k: (r + r.transformed(t)).merged() for k, r in regs.items()}


