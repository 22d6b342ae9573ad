"""Stage ``floorplan``: die and core size, and a pad for every top-level port.

The die is ``[floorplan] die`` from design.toml, or sized so the devices
(each with its spacing) fill ``utilization`` of a square core.  Pads sit in a
ring ``edge`` from the die edge, on the side (or at the position) design.toml
gives, the rest spread over the sides with fewest pads.

With ``[floorplan] seal_ring = true`` the kit's seal ring (its device of kind
``sealring``) goes around everything: from the die edge inwards, the scribe
lane (``scribe`` um, half the saw street, kept empty), the ring's band, then
the pad ring as above.  A given ``die`` is the whole die, scribe included;
pin positions are in the die's coordinates.
"""

from __future__ import annotations

import math
from dataclasses import replace

from flow.config import SIDES, display_path
from flow.design import Design, Floorplan
from flow.errors import InputError
from flow.netlist.model import Instance
from flow.stages.base import Context, Stage
from pdk.base import generate, resolve_params
from pdk.schema import PDK


def routing_pitch(kit: PDK) -> int:
    """Track pitch (dbu) of the kit's routing grid (see :func:`flow.route.make_grid`)."""
    from flow.route import make_grid

    probe = kit.dbu(1000.0)
    return make_grid(kit, (0, 0, probe, probe)).pitch


def device_spacing(kit: PDK, requested_um: float | None) -> int:
    """Gap between devices (dbu): the requested one, or the largest spacing
    rule of the kit plus two routing tracks; never below the largest rule."""
    largest = max((kit.dbu(r.value) for r in kit.rules if r.kind == "spacing"), default=0)
    if requested_um is not None:
        return max(kit.dbu(requested_um), largest)
    return largest + 2 * routing_pitch(kit)


def seal_ring_model(kit: PDK, cfg) -> str:
    """The kit's seal-ring device (kind ``sealring``) for ``[floorplan] seal_ring``."""
    found = [m for m, d in kit.devices.items() if d.kind == "sealring"]
    if not found:
        raise InputError(
            f"{display_path(cfg.source)}: floorplan.seal_ring: PDK {kit.name} has no seal ring device (kind = \"sealring\")"
        )
    return found[0]


def _footprint_area(kit: PDK, cfg, instances, sizes) -> float:
    """Total heat-spreading footprint area (dbu^2) of the devices that give a
    power in ``[place.devices]`` (0 without ``max_power_density``)."""
    mpd = cfg.place.max_power_density
    if not mpd:
        return 0.0
    total = 0.0
    for inst, (w, h) in zip(instances, sizes):
        p = cfg.place.device(inst.name).power or 0.0
        if p > 0:
            total += max(float(w) * h, p / mpd / (kit.dbu_um * 1e-3) ** 2)
    return total


def _snap(v: float, grid: int) -> int:
    return int(math.ceil(v / grid)) * grid


def wide_nets(kit: PDK, cfg, nl) -> dict[str, tuple[int, int, int]]:
    """Nets the router draws wider than a routing track: net -> (width, clearance,
    need), dbu.

    ``width``: the narrowest width the router draws the net at (the metal
    its current needs least of, slots included: :func:`flow.route.router.planned_width`),
    only when wider than two routing tracks; ``clearance``: the most the
    net's metal keeps from another net (its voltage against every other
    class's, the widest ``wide_spacing`` row); ``need``: the width the
    current alone needs on that metal.
    """
    from flow.route.netclass import clearance, limits, net_rules
    from flow.route.router import planned_width

    classes = {}
    for net in nl.nets:
        nc = cfg.net_class(net)
        if nc is not None and nc.current:
            classes[net] = (nc.voltage, nc.current)
    if not classes:
        return {}
    rules = net_rules(kit, classes, limits(kit, getattr(cfg, "temperature_c", None)))
    volts = {nc.voltage for nc in cfg.net_classes if nc.voltage is not None}
    pitch = routing_pitch(kit)
    out: dict[str, tuple[int, int, int]] = {}
    for net, rule in rules.items():
        plan = planned_width(kit, rule)
        if plan is None or plan[0] <= 2 * pitch:
            continue
        w, metal = plan
        c = max([clearance(kit, metal, rule.voltage, v) for v in volts] + [kit.dbu(kit.min_spacing(metal))])
        c = max([c] + [kit.dbu(sp) for r in kit.rules_of("wide_spacing", metal) for _, sp in r.table])
        out[net] = (w, c, kit.dbu(rule.need.get(metal, 0.0)))
    return out


class FloorplanStage(Stage):
    id = "floorplan"
    requires = ("netlist",)
    provides = ("floorplan",)

    def run(self, design: Design, ctx: Context) -> Design:
        kit = ctx.kit
        cfg = design.config
        nl = design.netlist
        grid = kit.dbu(1.0)
        spacing = device_spacing(kit, cfg.spacing)
        seal = seal_ring_model(kit, cfg) if getattr(cfg, "seal_ring", False) else None
        # the seal ring and scribe lane: offset of the pad-ring floorplan
        # inside the die (0 without a ring)
        scribe = kit.dbu(cfg.scribe) if seal else 0
        band = kit.dbu(kit.device(seal).params["width"].default) if seal else 0
        off = _snap(scribe + band, grid) if seal else 0
        sizes = []
        for inst in nl.instances:
            where = f"{inst.source}: " if inst.source else ""
            dc = generate(kit, inst.model, design.device_params[inst.name], where=where)
            sizes.append((dc.width, dc.height))

        ports = list(nl.ports)
        pads: list[Instance] = []
        pad_params = {}
        pad_w = pad_h = 0
        if ports and kit.pad_model:
            pad_dev = kit.device(kit.pad_model)
            pp = resolve_params(kit, kit.pad_model, {})
            pdc = generate(kit, kit.pad_model, pp)
            pad_w, pad_h = pdc.width, pdc.height
            term = pad_dev.terminals[0]
            for port in ports:
                name = f"PAD_{port}"
                pads.append(Instance(name, kit.pad_model, {term: port}))
                pad_params[name] = pp
        pad = max(pad_w, pad_h)
        edge = spacing  # pad ring to die edge
        ring = (edge + pad + spacing) if pads else spacing

        # Pads per side.
        side_of: dict[str, str] = {}
        along: dict[str, float] = {}
        for port in ports:
            spec = cfg.pins.get(port)
            if spec is not None and spec.side:
                side_of[port] = spec.side
        count = {s: sum(1 for v in side_of.values() if v == s) for s in SIDES}
        order = ("west", "east", "north", "south")
        for port in ports:
            spec = cfg.pins.get(port)
            if port in side_of or (spec is not None and spec.position is not None):
                continue
            side = min(order, key=lambda s: (count[s], order.index(s)))
            side_of[port] = side
            count[side] += 1

        wide = wide_nets(kit, cfg, nl)
        # Core and die size.
        if cfg.die is not None:
            die_w, die_h = kit.dbu(cfg.die[0]) - 2 * off, kit.dbu(cfg.die[1]) - 2 * off
        else:
            area = sum((w + spacing) * (h + spacing) for w, h in sizes)
            side = math.sqrt(area / cfg.utilization)
            # wide nets (sized for their current): each needs a corridor of
            # its width plus clearance, about half the core side long; the
            # room routing leaves beside the devices must hold them twice
            corridors = sum((w + c) * side * 3 / 4 for w, c, _ in wide.values())
            side = max(side, math.sqrt(area + 2 * corridors))
            # the router tries a net at full width when a metal carries it
            # within a quarter of the die's shorter side
            side = max(side, max((4 * n for _, _, n in wide.values()), default=0) - 2 * ring)
            # power devices' heat-spreading footprints (place.max_power_density)
            # must fit side by side: at most 70 % of the core
            feet = _footprint_area(kit, cfg, nl.instances, sizes)
            side = max(side, math.sqrt(feet / 0.7))
            core_w = max(side, max(w for w, _ in sizes) + 2 * spacing)
            core_h = max(side, max(h for _, h in sizes) + 2 * spacing)
            die_w = core_w + 2 * ring
            die_h = core_h + 2 * ring
            # Room for the pads along each side.
            for port in ports:
                spec = cfg.pins.get(port)
                if spec is not None and spec.position is not None:
                    side_of.setdefault(port, self._nearest_side(kit.dbu(spec.position[0]) - off, kit.dbu(spec.position[1]) - off, die_w, die_h))
            for s in SIDES:
                # a wide net's wire reaches its pad across its whole width
                need = 2 * ring + sum(
                    max(pad, wide[p][0] if p in wide else 0) + (wide[p][1] if p in wide else spacing)
                    for p, v in side_of.items() if v == s
                )
                if s in ("north", "south"):
                    die_w = max(die_w, need)
                else:
                    die_h = max(die_h, need)
            die_w, die_h = _snap(die_w, grid), _snap(die_h, grid)
        die = (0, 0, die_w, die_h)
        core = (ring, ring, die_w - ring, die_h - ring)
        if core[2] - core[0] <= 0 or core[3] - core[1] <= 0:
            around = f" and the seal ring + scribe lane ({kit.um(off)} um)" if seal else ""
            raise InputError(
                f"{display_path(cfg.source)}: floorplan.die: {kit.um(die_w + 2 * off)} x {kit.um(die_h + 2 * off)} um leaves no core "
                f"inside the pad ring ({kit.um(ring)} um deep){around}"
            )
        for port in ports:
            spec = cfg.pins.get(port)
            if spec is not None and spec.position is not None:
                x, y = kit.dbu(spec.position[0]) - off, kit.dbu(spec.position[1]) - off
                side_of[port] = self._nearest_side(x, y, die_w, die_h)
                along[port] = x if side_of[port] in ("north", "south") else y

        positions: dict[str, tuple[int, int]] = {}
        if pads:
            for s in SIDES:
                members = [p for p in ports if side_of.get(p) == s]
                if not members:
                    continue
                length = die_w if s in ("north", "south") else die_h
                lo, hi = ring, length - ring
                free = [p for p in members if p not in along]
                slots = iter((lo + (hi - lo) * (k + 0.5) / len(free)) for k in range(len(free)))
                centres = sorted(((along[p] if p in along else next(slots)), p) for p in members)
                # Keep pads apart and inside the side's span.
                placed: list[tuple[int, str]] = []
                prev = -math.inf
                for c, p in centres:
                    c = max(c, prev + pad + spacing, pad / 2 + edge + ring - pad)
                    c = min(c, length - edge - pad / 2)
                    prev = c
                    placed.append((int(round(c / grid)) * grid, p))
                for c, p in placed:
                    ll = c - pad // 2
                    if s == "south":
                        xy = (ll, edge)
                    elif s == "north":
                        xy = (ll, die_h - edge - pad_h)
                    elif s == "west":
                        xy = (edge, ll)
                    else:
                        xy = (die_w - edge - pad_w, ll)
                    positions[f"PAD_{p}"] = xy
            self._check_pads(kit, cfg, positions, pad_w, pad_h, spacing, die)
        ring_inst = None
        ring_at = None
        if seal:
            # everything moves in by the ring and the scribe lane
            die = (0, 0, die_w + 2 * off, die_h + 2 * off)
            core = (core[0] + off, core[1] + off, core[2] + off, core[3] + off)
            positions = {k: (x + off, y + off) for k, (x, y) in positions.items()}
            ring_inst = Instance("SEALRING", seal, {})
            ring_at = (scribe, scribe)
            where = f"{display_path(cfg.source)}: floorplan.seal_ring: "
            rp = {"w": kit.um(die[2] - 2 * scribe), "h": kit.um(die[3] - 2 * scribe), "width": kit.um(band)}
            params = resolve_params(kit, seal, rp, where=where)
            generate(kit, seal, params, where=where)
            pad_params[ring_inst.name] = params
        fp = Floorplan(die=die, core=core, pads=tuple(pads), pad_positions=positions, seal_ring=ring_inst, seal_ring_at=ring_at)
        return replace(design, floorplan=fp, device_params={**design.device_params, **pad_params})

    @staticmethod
    def _nearest_side(x: int, y: int, w: int, h: int) -> str:
        d = {"west": x, "east": w - x, "south": y, "north": h - y}
        return min(d, key=d.get)

    @staticmethod
    def _check_pads(kit, cfg, positions, pad_w, pad_h, spacing, die) -> None:
        items = sorted(positions.items())
        for i, (a, (ax, ay)) in enumerate(items):
            if ax < die[0] or ay < die[1] or ax + pad_w > die[2] or ay + pad_h > die[3]:
                raise InputError(f"{display_path(cfg.source)}: pins: pad {a} does not fit on the die")
            for b, (bx, by) in items[i + 1 :]:
                if ax < bx + pad_w + spacing and bx < ax + pad_w + spacing and ay < by + pad_h + spacing and by < ay + pad_h + spacing:
                    raise InputError(
                        f"{display_path(cfg.source)}: pins: pads {a} and {b} overlap or are closer than "
                        f"{kit.um(spacing)} um; enlarge floorplan.die or move the pins"
                    )
