"""Stage ``route``: connect every net on the PDK's metal stack."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from flow.design import Design, Routing, Wire
from flow.fileio import atomic_write_json
from flow.geometry.layout import device_cells, placed_rect, seal_ring_cell
from flow.route import Shape, route
from flow.route.router import _subtract
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


def forming_layers(kit) -> dict[str, set[str]]:
    """Routing metal -> layers whose overlap with it forms a device (LVS).

    From each device's ``lvs.recognize`` expression made of ``&`` only
    (e.g. ganrf025's MIM capacitor ``MIMTOP & MET1``, gan650's ``MIM & MET2 &
    MET1``) and the metal it takes contacts or plates from (a thin-film
    resistor ``TFR`` contacted by ``MET1``): a routed wire of such a metal
    over the other layers' shapes would be recognised as an extra device or
    change one, so those shapes are obstacles of no net on that metal.
    """
    metals = set(kit.routing_metals)
    out: dict[str, set[str]] = {}
    for dev in kit.devices.values():
        expr = dev.lvs.recognize if dev.lvs is not None else ""
        if not expr or any(ch in expr for ch in "|-()"):
            continue
        names = [t.strip() for t in expr.split("&")]
        others = [n for n in names if n not in metals and n in kit.layers]
        if len(others) != len([n for n in names if n not in metals]):
            continue  # a derived layer: not handled
        # the metals in the expression, and a metal the device takes its
        # contacts or plates from (e.g. a thin-film resistor's MET1 contacts:
        # a wire over the body would shorten it)
        mets = {n for n in names if n in metals}
        mets |= {getattr(dev.lvs, f) for f in ("contacts", "top", "bottom") if getattr(dev.lvs, f) in metals}
        if mets and others:
            for m in mets:
                out.setdefault(m, set()).update(others)
    return out


def route_inputs(design: Design, kit):
    """What the router takes for a placed design: obstacles, terminals, pins off
    the stack (net -> descriptions), the EM limits, the net rules (for the
    report) and the rules to route with (``[route] size_for_current``)."""
    cells = device_cells(design, kit)
    pos = design.placement.positions
    stack = set(kit.routing)
    obstacles: list[Shape] = []
    terminals: dict[str, list[list[Shape]]] = {}
    offstack: dict[str, list[str]] = {}  # net -> terminals pinned only off the routing stack
    forming = forming_layers(kit)
    ties = {n for n, lay in kit.layers.items() if lay.net_tie in stack}
    forming_by_layer: dict[str, list[str]] = {}
    for m, others in forming.items():
        for x in others:
            forming_by_layer.setdefault(x, []).append(m)
    for inst in design.all_instances():
        dc = cells[inst.name]
        at = pos[inst.name]
        owned = {(c.layer, c.rect): inst.pins.get(c.terminal) for c in dc.conductors}
        for layer, rect in _cell_shapes(dc, kit, stack):
            obstacles.append(Shape(layer, placed_rect(rect, at), owned.get((layer, rect))))
        # net-tie markers (the metal under them is cut out of the nets): the
        # router keeps its wires off them
        obstacles += [Shape(layer, placed_rect(rect, at), None) for layer, rect in _cell_shapes(dc, kit, ties)]
        # no routed wire over a device-forming layer (it would add a
        # device or change one), except where the device's own pins are
        for layer, rect in _cell_shapes(dc, kit, set(forming_by_layer)):
            for m in forming_by_layer[layer]:
                pins = [p.rect for p in dc.pins if p.layer == m]
                for piece in _subtract(rect, pins):
                    obstacles.append(Shape(m, placed_rect(piece, at), None))
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
    return obstacles, terminals, offstack, lim, rules, route_rules


class RouteStage(Stage):
    id = "route"
    requires = ("netlist", "floorplan", "placement")
    provides = ("routing",)

    def run(self, design: Design, ctx: Context) -> Design:
        kit = ctx.kit
        obstacles, terminals, offstack, lim, rules, route_rules = route_inputs(design, kit)
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
            "slotted": dict(d.get("slotted", {})),
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
