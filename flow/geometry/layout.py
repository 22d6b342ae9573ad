"""Assemble a design's physical layout as a gdstk library.

The only place (with :mod:`flow.geometry.gdsio`) where flow data turns into
gdstk objects.  Devices are referenced (hierarchy kept), wires are drawn on
the top cell, and every net's name is written as a text label on the label
datatype of each routing layer it uses, so any tool can trace connectivity.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import gdstk

import flow
from flow.design import Design, Rect
from pdk.base import DeviceCell, generate, oriented
from pdk.schema import PDK

#: Fixed GDS timestamp: the same inputs give byte-identical files.
GDS_TIMESTAMP = datetime.datetime(2000, 1, 1, 0, 0, 0)


def orientation_of(design: Design, inst: str) -> str:
    """Orientation of ``inst``: the placement's once placed, before that the
    one design.toml asks for (symmetry pairs, ``[place.devices]`` orient)."""
    if design.placement is not None:
        return design.placement.orient(inst)
    if design.floorplan is not None and inst in design.floorplan.pad_positions:
        return "R0"  # pads keep the floorplan's ring
    place = getattr(design.config, "place", None)
    return place.orient(inst) if place is not None else "R0"


def device_cells(design: Design, kit: PDK) -> dict[str, DeviceCell]:
    """instance name -> its generated cell (circuit devices and pads), turned
    to the instance's orientation (:func:`orientation_of`, see
    :func:`pdk.base.oriented`): pins, conductors and ``cell`` polygons are
    where the placed instance has them, relative to its lower-left."""
    out: dict[str, DeviceCell] = {}
    for inst in design.all_instances():
        params = design.device_params.get(inst.name, {})
        where = f"{inst.source}: " if inst.source else ""
        dc = generate(kit, inst.model, params, where=where)
        o = orientation_of(design, inst.name)
        out[inst.name] = dc if o == "R0" else oriented(dc, o, kit.dbu_um)
    return out


def seal_ring_cell(design: Design, kit: PDK) -> tuple[DeviceCell, tuple[int, int]] | None:
    """The floorplan's seal ring cell and its lower-left corner (dbu), if any."""
    fp = design.floorplan
    if fp is None or fp.seal_ring is None or fp.seal_ring_at is None:
        return None
    ring = fp.seal_ring
    return generate(kit, ring.model, design.device_params.get(ring.name, {}), where="floorplan.seal_ring: "), fp.seal_ring_at


def placed_rect(rect: Rect, at: tuple[int, int]) -> Rect:
    return (rect[0] + at[0], rect[1] + at[1], rect[2] + at[0], rect[3] + at[1])


def net_pins(design: Design, kit: PDK, cells: dict[str, DeviceCell]) -> Iterator[tuple[str, str, str, str, Rect]]:
    """(net, instance, terminal, layer, rect) for every placed pin shape."""
    pos = design.placement.positions if design.placement else {}
    for inst in design.all_instances():
        if inst.name not in pos:
            continue
        dc = cells[inst.name]
        for pin in dc.pins:
            net = inst.pins.get(pin.terminal)
            if net is not None:
                yield net, inst.name, pin.terminal, pin.layer, placed_rect(pin.rect, pos[inst.name])


def assemble(design: Design, kit: PDK) -> gdstk.Library:
    """The design's layout: device references, wires, net labels, boundary."""
    u = kit.dbu_um
    lib = gdstk.Library(
        name=f"pilotflow-{flow.__version__} {kit.name}-{kit.version}",
        unit=1e-6,
        precision=kit.dbu_um * 1e-6,
    )
    top = gdstk.Cell(design.top)
    lib.add(top)
    cells = device_cells(design, kit)
    pos = design.placement.positions if design.placement else {}
    added: set[str] = set()
    for inst in design.all_instances():
        if inst.name not in pos:
            continue
        dc = cells[inst.name]
        # an oriented device: its generated cell with an instance transform
        master = dc.master if dc.master is not None else dc.cell
        if master.name not in added:
            lib.add(master)
            added.add(master.name)
        x, y = pos[inst.name]
        dx, dy, rot, refl = dc.transform
        top.add(gdstk.Reference(master, ((x + dx) * u, (y + dy) * u), rotation=rot, x_reflection=refl))
    ring = seal_ring_cell(design, kit)
    if ring is not None:
        dc, (x, y) = ring
        if dc.cell.name not in added:
            lib.add(dc.cell)
            added.add(dc.cell.name)
        top.add(gdstk.Reference(dc.cell, (x * u, y * u)))

    labelled: set[tuple[str, str]] = set()

    def label(net: str, layer: str, r: Rect) -> None:
        lay = kit.layers[layer]
        if lay.label is None or (net, layer) in labelled:
            return
        labelled.add((net, layer))
        top.add(gdstk.Label(net, ((r[0] + r[2]) / 2 * u, (r[1] + r[3]) / 2 * u), layer=lay.label[0], texttype=lay.label[1]))

    if design.routing is not None:
        for net in sorted(design.routing.wires):
            for w in design.routing.wires[net]:
                lay = kit.layers[w.layer]
                r = w.rect
                top.add(gdstk.rectangle((r[0] * u, r[1] * u), (r[2] * u, r[3] * u), layer=lay.gds[0], datatype=lay.gds[1]))
                if lay.purpose == "routing":
                    label(net, w.layer, r)
    # Nets without wires on a layer still get a name on their pins.
    for net, _inst, _term, layer, r in net_pins(design, kit, cells):
        if not any(n == net for n, _ in labelled):
            label(net, layer, r)

    boundary = [lay for lay in kit.layers.values() if lay.purpose == "boundary"]
    if design.floorplan is not None and boundary:
        d = design.floorplan.die
        b = boundary[0]
        top.add(gdstk.rectangle((d[0] * u, d[1] * u), (d[2] * u, d[3] * u), layer=b.gds[0], datatype=b.gds[1]))
    return lib


def write_gds(lib: gdstk.Library, path) -> None:
    """Write ``lib`` deterministically (fixed timestamp) to ``path``."""
    lib.write_gds(str(path), max_points=8190, timestamp=GDS_TIMESTAMP)
