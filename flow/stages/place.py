"""Stage ``place``: devices inside the core, pads fixed on the ring."""

from __future__ import annotations

from dataclasses import replace

from flow.design import Design, Placement
from flow.place import NetPins, Obj, check_legal, place
from flow.errors import StageError
from flow.geometry.layout import device_cells
from flow.stages.base import Context, Stage
from flow.stages.floorplan import device_spacing


def _pin_centre(dc, terminal: str) -> tuple[int, int]:
    pins = dc.pins_of(terminal)
    if not pins:
        return ((dc.bbox[0] + dc.bbox[2]) // 2, (dc.bbox[1] + dc.bbox[3]) // 2)
    r = pins[0].rect
    return ((r[0] + r[2]) // 2, (r[1] + r[3]) // 2)


class PlaceStage(Stage):
    id = "place"
    requires = ("netlist", "floorplan")
    provides = ("placement",)

    def run(self, design: Design, ctx: Context) -> Design:
        kit = ctx.kit
        fp = design.floorplan
        cells = device_cells(design, kit)
        insts = design.all_instances()
        index = {inst.name: k for k, inst in enumerate(insts)}
        objs = []
        for inst in insts:
            dc = cells[inst.name]
            fixed = fp.pad_positions.get(inst.name)
            objs.append(Obj(inst.name, dc.width, dc.height, fixed=fixed))
        pins: dict[str, list[tuple[int, int, int]]] = {}
        for inst in insts:
            dc = cells[inst.name]
            for term, net in inst.pins.items():
                dx, dy = _pin_centre(dc, term)
                pins.setdefault(net, []).append((index[inst.name], dx, dy))
        nets = [NetPins(n, tuple(p)) for n, p in sorted(pins.items()) if len(p) > 1]
        spacing = device_spacing(kit, design.config.spacing)
        grid = kit.dbu(1.0)
        res = place(objs, nets, fp.core, spacing=spacing, grid=grid, progress=lambda phase, f: ctx.progress(f"place/{phase}", f))
        problems = check_legal(objs, res.positions, fp.core, spacing=spacing, grid=grid)
        if problems:
            raise StageError(f"placement is not legal: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        positions = {inst.name: tuple(res.positions[k]) for k, inst in enumerate(insts)}
        return replace(design, placement=Placement(positions, res.hpwl))
