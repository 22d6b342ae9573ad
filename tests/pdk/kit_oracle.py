"""KLayout as the geometry oracle for device generators of any kit.

``kit_regions`` turns a generated cell into merged KLayout regions per layer
(asserting rectangles on the dbu grid), ``kit_drc`` checks every rule of the
kit on them, ``kit_two_copies`` places a second copy one halo away.  The
harness the kits' device tests share: ``kit_cell_basics`` (bbox, pins,
terminal tags every cell must have), ``kit_clusters`` (KLayout connectivity
of each terminal's pins), ``kit_polys`` and ``kit_full``.
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


def kit_polys(region: kdb.Region) -> list[kdb.Box]:
    """Boxes of a region's polygons, left to right, then bottom up."""
    return sorted((p.bbox() for p in region.each()), key=lambda b: (b.left, b.bottom))


def kit_full(KIT: PDK, model: str, params: dict) -> dict:
    """``params`` completed with the device's defaults."""
    return {n: p.default for n, p in KIT.device(model).params.items()} | params


def kit_cell_basics(KIT: PDK, model: str, dc: DeviceCell, regs: dict[str, kdb.Region], pin_min: int) -> None:
    """What every generated cell of every kit must satisfy: its bbox at the
    origin and equal to the cell's real bbox; pins for exactly the device's
    terminals, each at least ``pin_min`` dbu on a side and covered by its
    layer's metal; every routing-metal polygon tagged as a conductor of one
    of the device's terminals."""
    dbu = KIT.dbu_um
    assert dc.bbox[:2] == (0, 0)
    (x0, y0), (x1, y1) = dc.cell.bounding_box()
    assert (round(x0 / dbu), round(y0 / dbu), round(x1 / dbu), round(y1 / dbu)) == dc.bbox
    d = KIT.device(model)
    assert {p.terminal for p in dc.pins} == set(d.terminals)
    for p in dc.pins:
        assert p.rect[2] - p.rect[0] >= pin_min and p.rect[3] - p.rect[1] >= pin_min, p
        assert (kdb.Region(kdb.Box(*p.rect)) - regs[p.layer]).is_empty(), p
    tagged = {(c.layer, c.rect) for c in dc.conductors}
    assert {c.terminal for c in dc.conductors} <= set(d.terminals)
    for layer in KIT.routing_metals:
        gds = KIT.layers[layer].gds
        for poly in dc.cell.get_polygons(layer=gds[0], datatype=gds[1]):
            (a, b), (c, e) = poly.bounding_box()
            rect = (round(a / dbu), round(b / dbu), round(c / dbu), round(e / dbu))
            assert (layer, rect) in tagged, f"untagged {layer} {rect}"


def kit_clusters(
    KIT: PDK, regs: dict[str, kdb.Region], dc: DeviceCell, connect=None, pin_layers=None
) -> dict[str, set[int]]:
    """Terminal -> KLayout connectivity clusters its pins sit on, through
    ``connect`` (default: the kit's connectivity); only pins on
    ``pin_layers`` (default: all) are probed."""
    dbu = KIT.dbu_um
    ly = kdb.Layout()
    ly.dbu = dbu
    top = ly.create_cell("T")
    idx = {}
    for name, lay in KIT.layers.items():
        idx[name] = ly.layer(*lay.gds)
        top.shapes(idx[name]).insert(regs[name])
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, top, []))
    layers = {n: l2n.make_layer(i, n) for n, i in idx.items()}
    for group in KIT.connect if connect is None else connect:
        for n in group:
            l2n.connect(layers[n])
        for a, b in zip(group, group[1:]):
            l2n.connect(layers[a], layers[b])
    l2n.extract_netlist()
    out: dict[str, set[int]] = {}
    for p in dc.pins:
        if pin_layers is not None and p.layer not in pin_layers:
            continue
        pt = kdb.DPoint((p.rect[0] + p.rect[2]) / 2 * dbu, (p.rect[1] + p.rect[3]) / 2 * dbu)
        net = l2n.probe_net(layers[p.layer], pt)
        assert net is not None, f"no metal at pin {p}"
        out.setdefault(p.terminal, set()).add(net.cluster_id)
    return out


def kit_drc(KIT: PDK, regs: dict[str, kdb.Region]) -> list[str]:
    """Every rule of the kit, checked with KLayout; returns the violations."""
    bad: list[str] = []
    for rule in KIT.rules:
        if rule.kind in ("net_spacing", "voltage_spacing", "current_density"):
            # net-aware: need the nets' voltages / currents of a design; a
            # device alone has none (tests/drc/test_kinds_nets.py checks them)
            continue
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
        elif rule.kind == "density":
            continue  # chip-level: not applied to a device alone (as pdk check)
        elif rule.kind in TABLE_KINDS:
            ep, extra = table_kind_markers(KIT, rule, regs)
        elif rule.kind in SHAPE_KINDS:
            ep, extra = shape_kind_markers(KIT, rule, regs)
        else:  # pragma: no cover - a new rule kind needs a check here
            raise AssertionError(f"unchecked rule kind {rule.kind}")
        if not ep.is_empty() or not extra.is_empty():
            where = ep.bbox() if not ep.is_empty() else extra.bbox()
            bad.append(f"{rule.id}: {ep.count()} edge pairs, {extra.count()} polygons near {where}")
    return bad


#: Kinds of flow/drc/kinds/tables.py, checked by :func:`table_kind_markers`.
TABLE_KINDS = ("max_width", "wide_spacing", "density", "grid", "angle")


def kl_wide(r: kdb.Region, w: int) -> kdb.Region:
    """Parts of merged ``r`` wider than ``w`` dbu: shrink by w/2, grow back
    (on doubled coordinates, so odd ``w`` stays exact), merged."""
    if w <= 0:
        return r.merged()
    return r.transformed(kdb.ICplxTrans(2.0)).sized(-w).sized(w).transformed(kdb.ICplxTrans(0.5)).merged()


def kl_wide_spacing(r: kdb.Region, rows: list[tuple[int, int]]) -> kdb.EdgePairs:
    """Space-check pairs closer than a row's spacing with an edge along a part
    wider than the row's width, each judged by the widest such row."""
    e = r.edges()
    along = [e & kl_wide(r, w).edges() for w, _ in rows]

    def hit(ep: kdb.EdgePair, es: kdb.Edges) -> bool:
        return not (kdb.Edges(ep.first) & es).is_empty() or not (kdb.Edges(ep.second) & es).is_empty()

    out = kdb.EdgePairs()
    for k, (_w, s) in enumerate(rows):
        for ep in r.space_check(s).each():
            if hit(ep, along[k]) and not any(hit(ep, a) for a in along[k + 1 :]):
                out.insert(ep)
    return out


def kl_density(KIT: PDK, rule, regs: dict[str, kdb.Region]) -> kdb.Region:
    """Windows (boxes) of ``rule`` whose density is out of bounds; extent: the
    boundary layers' bbox, else every layer's."""
    ext = kdb.Box()
    for n, lay in KIT.layers.items():
        if lay.purpose == "boundary":
            ext += regs[n].bbox()
    if ext.empty():
        for r in regs.values():
            ext += r.bbox()
    out = kdb.Region()
    if ext.empty():
        return out
    win, step = KIT.dbu(rule.window), KIT.dbu(rule.step)
    nx = 1 + max(0, -((win - ext.width()) // step))
    ny = 1 + max(0, -((win - ext.height()) // step))
    for j in range(ny):
        for i in range(nx):
            x0, y0 = ext.left + i * step, ext.bottom + j * step
            b = kdb.Box(x0, y0, min(x0 + win, ext.right), min(y0 + win, ext.top))
            a, wa = (regs[rule.layer] & kdb.Region(b)).area(), b.width() * b.height()
            if a < rule.value * wa - 0.5 or (rule.max is not None and a > rule.max * wa + 0.5):
                out.insert(b)
    return out


def table_kind_markers(KIT: PDK, rule, regs: dict[str, kdb.Region]):
    """KLayout's markers of a max_width / wide_spacing / density / grid /
    angle rule on merged regions: ``(edge pairs, polygons or edges)``."""
    a = regs[rule.layer]
    if rule.kind == "max_width":
        return kdb.EdgePairs(), kl_wide(a, KIT.dbu(rule.value))
    if rule.kind == "wide_spacing":
        return kl_wide_spacing(a, [(KIT.dbu(w), KIT.dbu(s)) for w, s in rule.table]), kdb.Region()
    if rule.kind == "density":
        return kdb.EdgePairs(), kl_density(KIT, rule, regs)
    if rule.kind == "grid":
        g = KIT.dbu(rule.value)
        return a.grid_check(g, g), kdb.Region()
    if rule.kind == "angle":
        kind = kdb.Edges.OrthoDiagonalEdges if rule.value == 45 else kdb.Edges.OrthoEdges
        return kdb.EdgePairs(), a.edges().with_angle(kind, True)
    raise AssertionError(f"not a table kind: {rule.kind}")


def kit_two_copies(regs: dict[str, kdb.Region], dc: DeviceCell, horizontal: bool, mirror: bool, HALO: int) -> dict[str, kdb.Region]:
    """The cell plus a copy one halo beyond its bbox (right or above), the
    copy optionally mirrored so that equal sides face each other."""
    if horizontal:
        t = kdb.Trans(kdb.Trans.M90, 2 * dc.width + HALO, 0) if mirror else kdb.Trans(dc.width + HALO, 0)
    else:
        t = kdb.Trans(kdb.Trans.M0, 0, 2 * dc.height + HALO) if mirror else kdb.Trans(0, dc.height + HALO)
    return {k: (r + r.transformed(t)).merged() for k, r in regs.items()}




#: Kinds of flow/drc/kinds/shapes.py, checked by :func:`shape_kind_markers`.
SHAPE_KINDS = ("notch", "extension", "overlap", "must_overlap", "not_overlap", "area", "hole")


def shape_kind_markers(KIT: PDK, rule, regs: dict[str, kdb.Region]):
    """KLayout's markers of a notch / extension / overlap / must_overlap /
    not_overlap / area / hole rule on merged regions: ``(edge pairs,
    polygons)`` (areas in dbu^2: exactly ``value`` passes)."""
    a = regs[rule.layer]
    b = regs[rule.other] if rule.other else None
    if rule.kind == "notch":
        return a.notch_check(KIT.dbu(rule.value)), kdb.Region()
    if rule.kind == "extension":
        return a.edges().enclosing_check(b.edges().inside_part(a), KIT.dbu(rule.value)), kdb.Region()
    if rule.kind == "overlap":
        return a.overlap_check(b, KIT.dbu(rule.value)), kdb.Region()
    if rule.kind == "must_overlap":
        return kdb.EdgePairs(), a.not_overlapping(b)
    if rule.kind == "not_overlap":
        return kdb.EdgePairs(), a & b
    area = round(rule.value / KIT.dbu_um**2)
    if rule.kind == "area":
        return kdb.EdgePairs(), a.with_area(None, area, False)
    if rule.kind == "hole":
        return kdb.EdgePairs(), a.holes().with_area(None, area, False)
    raise AssertionError(f"not a shape kind: {rule.kind}")
