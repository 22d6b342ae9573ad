"""Stage ``route``: connect every net on the PDK's metal stack."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from flow.design import Design, Routing, Wire
from flow.fileio import atomic_write_json
from flow.geometry.layout import device_cells, placed_rect, seal_ring_cell
from flow.route import Shape, route
from flow.route.netclass import density, limits, net_rules
from flow.stages.base import Context, Stage


def _cell_shapes(dc, kit, layers):
    """(layer, rect) of every polygon of a device cell on ``layers`` (bbox)."""
    by_gds = {kit.layers[n].gds: n for n in layers}
    out = []
    for poly in dc.cell.polygons:
        name = by_gds.get((poly.layer, poly.datatype))
        if name is None:
            continue
        pts = np.round(poly.points / kit.dbu_um).astype(np.int64)
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        out.append((name, (int(x0), int(y0), int(x1), int(y1))))
    return out


class RouteStage(Stage):
    id = "route"
    requires = ("netlist", "floorplan", "placement")
    provides = ("routing",)

    def run(self, design: Design, ctx: Context) -> Design:
        kit = ctx.kit
        cells = device_cells(design, kit)
        pos = design.placement.positions
        stack = set(kit.routing)
        obstacles: list[Shape] = []
        terminals: dict[str, list[list[Shape]]] = {}
        offstack: dict[str, list[str]] = {}  # net -> terminals pinned only off the routing stack
        for inst in design.all_instances():
            dc = cells[inst.name]
            at = pos[inst.name]
            owned = {(c.layer, c.rect): inst.pins.get(c.terminal) for c in dc.conductors}
            for layer, rect in _cell_shapes(dc, kit, stack):
                obstacles.append(Shape(layer, placed_rect(rect, at), owned.get((layer, rect))))
            for term, net in inst.pins.items():
                access = [Shape(p.layer, placed_rect(p.rect, at), net) for p in dc.pins_of(term) if p.layer in stack]
                if access:
                    terminals.setdefault(net, []).append(access)
                elif dc.pins_of(term):
                    layers = sorted({p.layer for p in dc.pins_of(term)})
                    offstack.setdefault(net, []).append(f"{inst.name}.{term} on {'/'.join(layers)}")
        ring = seal_ring_cell(design, kit)
        if ring is not None:  # the seal ring: an obstacle of no net
            dc, at = ring
            obstacles += [Shape(layer, placed_rect(rect, at), None) for layer, rect in _cell_shapes(dc, kit, stack)]
        cfg = design.config
        lim = limits(kit, getattr(cfg, "temperature_c", None))
        classes: dict[str, tuple[float | None, float | None]] = {}
        for net in sorted(terminals):
            nc = cfg.net_class(net)
            if nc is not None and (nc.voltage is not None or nc.current is not None):
                classes[net] = (nc.voltage, nc.current)
        rules = net_rules(kit, classes, lim)
        route_rules = rules
        if not getattr(cfg, "size_for_current", True):
            # [route] size_for_current = false: minimum widths, voltage clearances
            # kept; the report still measures the currents against the limits
            route_rules = net_rules(kit, {n: (v, None) for n, (v, _) in classes.items()}, lim)
        res = route(kit, design.floorplan.die, obstacles, terminals, progress=ctx.progress, rules=route_rules)
        wires = {net: tuple(Wire(s.layer, s.rect) for s in shapes) for net, shapes in res.shapes.items()}
        unrouted = dict(res.unrouted)
        # A terminal pinned only off the routing stack (e.g. a backside drain)
        # cannot be joined to the net's front-side pins by routing: say so.
        mixed = sorted(n for n in offstack if n in terminals)
        for net in mixed:
            why = f"{', '.join(offstack[net])}: pin off the routing stack ({' / '.join(kit.routing)}), which front-side routing cannot reach"
            unrouted[net] = why if net not in unrouted else f"{unrouted[net]}; {why}"
            wires.pop(net, None)
        to_route = sum(1 for n, t in terminals.items() if len(t) > 1 or n in offstack)
        report = route_report(kit, rules, lim, res)
        atomic_write_json(ctx.rundir / "route.json", report)
        routing = Routing(wires, res.wirelength, res.vias, unrouted, to_route, report)
        return replace(design, routing=routing)


def route_report(kit, rules, lim, res) -> dict:
    """Per routed net with a class: widths drawn and needed, cuts, current density vs limit."""
    nets: dict[str, dict] = {}
    for net, d in res.drawn.items():
        r = rules.get(net)
        if r is None:
            continue
        drawn = {m: kit.dbu(w) for m, w in d["width_um"].items()}
        dens = density(kit, r, lim, drawn, d["cuts"])
        nets[net] = {
            "voltage_v": r.voltage,
            "current_a": r.current,
            "width_um": dict(d["width_um"]),
            "need_width_um": {m: round(v, 3) for m, v in r.need.items()},
            "cuts": dict(d["cuts"]),
            "need_cuts": dict(r.cuts),
            "wide": d["wide"],
            "current_density": {k: v for k, v in dens.items() if k not in ("current_a", "voltage_v")},
        }
    return {
        "limits": {
            "temperature_c": lim.temperature_c,
            "jmax_ma_per_um": {m: round(v, 4) for m, v in lim.jmax.items()},
            "imax_ma_per_cut": {c: round(v, 4) for c, v in lim.imax.items()},
            "assumed": list(lim.notes),
        },
        "nets": nets,
    }
