"""Stage ``place``: devices inside the core, pads fixed on the ring.

The constraints of design.toml's ``[place]`` table and net classes become
engine inputs here (:func:`build_problem`):

* **voltage keep-out**: every device gets the range of the known voltages of
  its terminals' nets (net classes); two devices whose ranges differ by
  ``dV = max(|vmax_a - vmin_b|, |vmax_b - vmin_a|)`` keep the largest
  ``voltage_spacing`` row of the PDK for ``dV`` (over all its metal layers)
  between their boxes;
* **thermal spreading**: a device with ``power`` P (W) gets a heat-spreading
  footprint of area ``P / max_power_density`` (its box grown evenly on every
  side, never smaller than the box); footprints of two power devices must
  not overlap;
* **fixed** devices, **fences** (``region``) and **keepouts**.

After placing, the stage re-checks the result with the legality checker and
writes ``place.json`` (figures, rules, every violation, what was not checked)
and ``density.svg`` (density map) into its run folder.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from flow.config import display_path
from flow.design import Design, Placement
from flow.errors import InputError, StageError
from flow.fileio import atomic_write_json
from flow.geometry.layout import device_cells, orientation_of
from flow.place import NetPins, Obj, check_legal, place
from flow.place.check import check_pairs
from flow.place.model import PairRules, Rect
from flow.stages.base import Context, Stage
from flow.stages.floorplan import device_spacing
from pdk.schema import PDK


def _pin_centre(dc, terminal: str) -> tuple[int, int]:
    pins = dc.pins_of(terminal)
    if not pins:
        return ((dc.bbox[0] + dc.bbox[2]) // 2, (dc.bbox[1] + dc.bbox[3]) // 2)
    r = pins[0].rect
    return ((r[0] + r[2]) // 2, (r[1] + r[3]) // 2)


def voltage_gap_um(kit: PDK, dv: float) -> float:
    """Largest ``voltage_spacing`` row (um) of any layer of ``kit`` for a
    voltage difference ``dv`` (0 when the kit has none or ``dv`` is small)."""
    return max((r.spacing_for(dv) for r in kit.rules_of("voltage_spacing")), default=0.0)


def thermal_margin(w: int, h: int, power_w: float, max_density: float, dbu_um: float) -> int:
    """Margin t (dbu) such that the box grown by t on every side has the area
    ``power_w / max_density`` (mm^2); 0 when the box alone is large enough.

    Examples
    --------
    >>> thermal_margin(1000, 1000, 4.0, 1.0, 0.001)   # 1 x 1 um box, 4 W at 1 W/mm^2 -> 2 x 2 mm
    999500
    """
    if power_w <= 0:
        return 0
    area = power_w / max_density / (dbu_um * 1e-3) ** 2  # dbu^2
    if w * h >= area:
        return 0
    # (w + 2t)(h + 2t) = area
    t = (-(w + h) + math.sqrt((w + h) ** 2 - 4 * (w * h - area))) / 4
    return int(math.ceil(t))


@dataclass(frozen=True)
class Problem:
    """The engine's view of a design: objects, nets, region and rules."""

    names: tuple[str, ...]
    objs: list[Obj]
    nets: list[NetPins]
    region: Rect
    spacing: int
    grid: int
    keepouts: list[Rect]
    rules: PairRules
    #: per object: (vmin, vmax) of its known terminal voltages, or None
    volts: tuple[tuple[float, float] | None, ...]
    unknown_voltage: tuple[str, ...]  # devices with a terminal of unknown voltage
    not_checked: tuple[str, ...]
    #: [[place.group]]: (member object indices in order, "row" | "column", voltage class of the block)
    groups: tuple[tuple[tuple[int, ...], str, int], ...] = ()
    #: [[place.group]] pitch (dbu, origin to origin) or None, per group
    group_pitch: tuple[int | None, ...] = ()
    #: [[place.symmetry]]: (pairs of object indices, self-symmetric indices, axis, voltage class of the block)
    symmetry: tuple[tuple[tuple[tuple[int, int], ...], tuple[int, ...], str, int], ...] = ()
    #: orientation of every object (pdk.base.ORIENTATIONS)
    orients: tuple[str, ...] = ()
    #: design.toml as shown in messages
    source: str = "design.toml"

    def symmetric_members(self) -> set[int]:
        """Objects in a symmetry group (placed off the grid where the axis needs it)."""
        return {k for pairs, selfs, _, _ in self.symmetry for k in [*(i for p in pairs for i in p), *selfs]}

    def check_symmetry(self, positions) -> list[str]:
        from flow.place.check import check_symmetry

        return check_symmetry(
            self.names, [(o.w, o.h) for o in self.objs], positions, self.orients or ("R0",) * len(self.objs),
            [(pairs, selfs, axis) for pairs, selfs, axis, _ in self.symmetry],
        )


def build_problem(design: Design, kit: PDK) -> Problem:
    """Objects, nets and rules of ``design`` (netlist and floorplan done)."""
    cfg = design.config
    spec = cfg.place
    where = display_path(cfg.source) if cfg.source else "design.toml"
    fp = design.floorplan
    cells = device_cells(design, kit)
    insts = design.all_instances()
    index = {inst.name: k for k, inst in enumerate(insts)}
    pads = set(fp.pad_positions)

    for d in spec.devices:
        if not any(d.matches(i.name) for i in insts if i.name not in pads):
            names = ", ".join(i.name for i in insts if i.name not in pads)
            raise InputError(f"{where}: place.devices.{d.pattern}: matches no device; devices are {names}")

    objs: list[Obj] = []
    power: list[float] = []
    for inst in insts:
        dc = cells[inst.name]
        fixed = fp.pad_positions.get(inst.name)
        region = None
        p = 0.0
        if inst.name not in pads:
            ds = spec.device(inst.name)
            p = ds.power or 0.0
            if ds.fixed is not None:
                fixed = (kit.dbu(ds.fixed[0]), kit.dbu(ds.fixed[1]))
                cx0, cy0, cx1, cy1 = fp.core
                if not (cx0 <= fixed[0] and cy0 <= fixed[1] and fixed[0] + dc.width <= cx1 and fixed[1] + dc.height <= cy1):
                    raise InputError(
                        f"{where}: place.devices: '{inst.name}' fixed at {list(ds.fixed)} um "
                        f"({kit.um(dc.width):g} x {kit.um(dc.height):g} um) does not lie inside the core "
                        f"{[kit.um(v) for v in fp.core]} um"
                    )
            if ds.region is not None:
                region = tuple(kit.dbu(v) for v in ds.region)
                if dc.width > region[2] - region[0] or dc.height > region[3] - region[1]:
                    raise InputError(
                        f"{where}: place.devices: '{inst.name}' ({kit.um(dc.width):g} x {kit.um(dc.height):g} um) "
                        f"does not fit its region {list(ds.region)} um"
                    )
        halo = 0
        if inst.name not in pads:
            hu = spec.device(inst.name).halo
            if hu is None:
                dev = kit.devices.get(inst.model)
                hu = dev.halo if dev is not None else 0.0
            halo = kit.dbu(hu)
        objs.append(Obj(inst.name, dc.width, dc.height, fixed=fixed, region=region, halo=halo))
        power.append(p)

    pins: dict[str, list[tuple[int, int, int]]] = {}
    for inst in insts:
        dc = cells[inst.name]
        for term, net in inst.pins.items():
            dx, dy = _pin_centre(dc, term)
            pins.setdefault(net, []).append((index[inst.name], dx, dy))
    nets = [NetPins(n, tuple(p)) for n, p in sorted(pins.items()) if len(p) > 1]

    # -- voltage classes ---------------------------------------------------------
    from flow.config import ClassValues

    volt_of = ClassValues(cfg.net_classes, "voltage")
    volts: list[tuple[float, float] | None] = []
    unknown: list[str] = []
    for inst in insts:
        vs = [volt_of[n] for n in inst.pins.values() if n in volt_of]
        if any(n not in volt_of for n in inst.pins.values()) and inst.name not in pads:
            unknown.append(inst.name)
        volts.append((min(vs), max(vs)) if vs else None)
    not_checked: list[str] = []
    has_vs = any(True for _ in kit.rules_of("voltage_spacing"))
    use_v = spec.voltage_keepout and has_vs
    if not spec.voltage_keepout:
        not_checked.append("voltage keep-out: switched off in design.toml (place.voltage_keepout = false)")
    elif not has_vs:
        not_checked.append(f"voltage keep-out: PDK {kit.name} {kit.version} has no voltage_spacing rule")
    def member(name: str, key: str) -> int:
        k = index.get(name)
        if k is None or name in pads:
            raise InputError(f"{where}: {key}: '{name}' is not a device of the design")
        ds = spec.device(name)
        if ds.fixed is not None or ds.region is not None:
            raise InputError(f"{where}: {key}: '{name}' is fixed or fenced; a grouped device cannot be")
        return k

    def merged_volts(idx) -> tuple[float, float] | None:
        rng = [volts[k] for k in idx if volts[k] is not None]
        return (min(r[0] for r in rng), max(r[1] for r in rng)) if rng else None

    groups: list[tuple[tuple[int, ...], str, tuple[float, float] | None]] = []
    for gi, g in enumerate(spec.groups):
        idx = [member(name, f"place.group[{gi}].devices") for name in g.devices]
        groups.append((tuple(idx), g.arrange, merged_volts(idx)))
    symmetry: list[tuple[tuple[tuple[int, int], ...], tuple[int, ...], str, tuple[float, float] | None]] = []
    for si, sg in enumerate(spec.symmetry):
        key = f"place.symmetry[{si}]"
        pairs = tuple((member(a, f"{key}.pairs"), member(b, f"{key}.pairs")) for a, b in sg.pairs)
        selfs = tuple(member(t, f"{key}.self") for t in sg.selfsym)
        for a, b in pairs:
            ca, cb = cells[insts[a].name], cells[insts[b].name]
            if (ca.master or ca.cell).name != (cb.master or cb.cell).name:
                raise InputError(
                    f"{where}: {key}.pairs: '{insts[a].name}' ({insts[a].model}) and '{insts[b].name}' ({insts[b].model}) "
                    "are not the same device (model and parameters); a mirrored pair must be"
                )
        idx = [i for p in pairs for i in p] + list(selfs)
        symmetry.append((pairs, selfs, sg.axis, merged_volts(idx)))
    keys = sorted(
        {v for v in volts if v is not None} | {g[2] for g in groups if g[2] is not None}
        | {g[3] for g in symmetry if g[3] is not None}
    ) if use_v else []
    kidx = {k: i for i, k in enumerate(keys)}
    dv = [[max(abs(a[1] - b[0]), abs(b[1] - a[0])) for b in keys] for a in keys]
    spacing = device_spacing(kit, cfg.spacing)
    vgap = [[kit.dbu(voltage_gap_um(kit, d)) for d in row] for row in dv]
    # a gap the basic spacing already gives is no extra rule
    vgap = [[g if g > spacing else 0 for g in row] for row in vgap]
    labels = [f"{a:g} V" if a == b else f"{a:g}..{b:g} V" for a, b in keys]
    vclass = tuple(kidx[v] if (use_v and v is not None) else -1 for v in volts)

    # -- thermal ------------------------------------------------------------------
    thermal = [0] * len(objs)
    if spec.max_power_density:
        thermal = [
            thermal_margin(o.w, o.h, p, spec.max_power_density, kit.dbu_um) if p > 0 else 0
            for o, p in zip(objs, power)
        ]
    rules = PairRules(
        vclass=vclass,
        vgap=tuple(tuple(r) for r in vgap),
        dv=tuple(tuple(r) for r in dv),
        labels=tuple(labels),
        thermal=tuple(thermal),
        power=tuple(power),
    )
    keepouts = [tuple(kit.dbu(v) for v in k) for k in spec.keepouts]
    return Problem(
        tuple(i.name for i in insts), objs, nets, fp.core, spacing, kit.dbu(1.0), keepouts, rules,
        tuple(volts), tuple(unknown), tuple(not_checked),
        tuple((idx, arr, kidx[m] if (use_v and m is not None) else -1) for idx, arr, m in groups),
        tuple(None if g.pitch is None else kit.dbu(g.pitch) for g in spec.groups),
        tuple((pairs, selfs, axis, kidx[m] if (use_v and m is not None) else -1) for pairs, selfs, axis, m in symmetry),
        tuple(orientation_of(design, i.name) for i in insts),
        where,
    )


@dataclass(frozen=True)
class Composed:
    """A :class:`Problem` with each group turned into one block object."""

    objs: list[Obj]
    nets: list[NetPins]
    rules: PairRules
    #: per problem object: (block object index, dx, dy) inside the block
    where: tuple[tuple[int, int, int], ...]

    def expand(self, positions) -> list[tuple[int, int]]:
        """Member lower-left corners from the block positions."""
        return [(positions[b][0] + dx, positions[b][1] + dy) for b, dx, dy in self.where]


def compose(prob: Problem) -> Composed:
    """Blocks for ``[[place.group]]``: members side by side in the listed
    order (row: left to right, bottoms aligned; column: bottom to top, left
    edges aligned), each as close to all earlier ones as the spacing, halos,
    voltage keep-out and thermal margins allow.  A block takes the widest
    voltage range of its members, their largest thermal margin and their
    summed power, so every rule between a member and any other object holds
    when it holds for the block's box."""
    rules = prob.rules
    n = len(prob.objs)
    where: list[tuple[int, int, int] | None] = [None] * n
    objs: list[Obj] = []
    vclass: list[int] = []
    thermal: list[int] = []
    power: list[float] = []
    grouped = {k: g for g, (idx, _, _) in enumerate(prob.groups) for k in idx}
    for k, o in enumerate(prob.objs):
        if k in grouped:
            continue
        where[k] = (len(objs), 0, 0)
        objs.append(o)
        vclass.append(rules.vclass[k])
        thermal.append(rules.thermal[k] if rules.thermal else 0)
        power.append(rules.power[k] if rules.power else 0.0)
    def need(j: int, k: int) -> int:
        return max(prob.spacing + max(prob.objs[j].halo, prob.objs[k].halo), rules.need(j, k)[0])

    for g, (idx, arrange, vc) in enumerate(prob.groups):
        b = len(objs)
        pitch = prob.group_pitch[g] if g < len(prob.group_pitch) else None
        if pitch is not None and pitch % prob.grid:
            raise InputError(f"{prob.source}: place.group[{g}].pitch: {pitch / prob.grid:g} um is not a whole number of um (the placement grid)")
        off: list[int] = []
        for a, k in enumerate(idx):
            o = prob.objs[k]
            at = 0
            for j, pk in zip(idx[:a], off):
                p = prob.objs[j]
                at = max(at, pk + (p.w if arrange == "row" else p.h) + need(j, k))
            at = -(-at // prob.grid) * prob.grid  # members stay on the placement grid
            if pitch is not None:
                if a and pitch * a < at:
                    um = 1.0 / prob.grid  # the placement grid is 1 um
                    raise InputError(
                        f"{prob.source}: place.group[{g}].pitch: '{prob.names[k]}' needs to be {at * um:g} um from "
                        f"'{prob.names[idx[0]]}' (sizes, spacing, keep-outs), the pitch of {pitch * um:g} um "
                        f"puts it at {pitch * a * um:g} um"
                    )
                at = pitch * a
            off.append(at)
            where[k] = (b, at, 0) if arrange == "row" else (b, 0, at)
        members = [prob.objs[k] for k in idx]
        if arrange == "row":
            w = max(x + o.w for x, o in zip(off, members))
            h = max(o.h for o in members)
        else:
            w = max(o.w for o in members)
            h = max(y + o.h for y, o in zip(off, members))
        objs.append(Obj(f"group[{g}]", w, h, halo=max(o.halo for o in members)))
        vclass.append(vc)
        thermal.append(max((rules.thermal[k] for k in idx), default=0) if rules.thermal else 0)
        power.append(sum(rules.power[k] for k in idx) if rules.power else 0.0)
    for g, (pairs, selfs, axis, vc) in enumerate(prob.symmetry):
        b = len(objs)
        w, h, offs = symmetry_block(prob, pairs, selfs, axis, need, f"place.symmetry[{g}]")
        for k, (dx, dy) in offs.items():
            where[k] = (b, dx, dy)
        idx = list(offs)
        objs.append(Obj(f"symmetry[{g}]", w, h, halo=max(prob.objs[k].halo for k in idx)))
        vclass.append(vc)
        thermal.append(max((rules.thermal[k] for k in idx), default=0) if rules.thermal else 0)
        power.append(sum(rules.power[k] for k in idx) if rules.power else 0.0)
    nets = [NetPins(net.name, tuple((where[o][0], dx + where[o][1], dy + where[o][2]) for o, dx, dy in net.pins), net.weight) for net in prob.nets]
    nets = [net for net in nets if len({p[0] for p in net.pins}) > 1 or len(net.pins) > 1]
    crules = PairRules(
        vclass=tuple(vclass), vgap=rules.vgap, dv=rules.dv, labels=rules.labels,
        thermal=tuple(thermal), power=tuple(power),
    )
    return Composed(objs, nets, crules, tuple(where))  # type: ignore[arg-type]


def symmetry_block(prob: Problem, pairs, selfs, axis: str, need, key: str) -> tuple[int, int, dict[int, tuple[int, int]]]:
    """Width, height and member offsets (lower-left, dbu) of one mirror-
    symmetry block.

    For a vertical axis the pairs come first, one row each from the bottom
    up (``a`` left of the axis, ``b`` its mirror image right of it), then
    the self-symmetric devices, one row each, centred on the axis; every
    row as low as the spacing, halos and pair rules to all rows below allow
    (rounded up to the grid), and each pair's inner gap as small as they
    allow.  A horizontal axis swaps x and y (pairs side by side from left
    to right, ``a`` below the axis).  The axis sits where most members land
    on the placement grid; members are placed exactly symmetric either way.
    """
    G = prob.grid
    mi = 0 if axis == "vertical" else 1  # mirrored coordinate
    size = [(o.w, o.h) for o in prob.objs]
    m = {k: size[k][mi] for p in pairs for k in p} | {k: size[k][mi] for k in selfs}
    par = {m[k] % 2 for k in selfs}
    if len(par) > 1:
        odd = next(prob.names[k] for k in selfs if m[k] % 2)
        even = next(prob.names[k] for k in selfs if not m[k] % 2)
        raise InputError(
            f"{prob.source}: {key}.self: '{odd}' and '{even}' differ in {'width' if mi == 0 else 'height'} by an odd number of dbu; "
            "they cannot be centred on one axis"
        )
    gmin = {a: need(a, b) for a, b in pairs}
    lo = max([gmin[a] + 2 * m[a] for a, _ in pairs] + [m[k] for k in selfs])

    def layout(D: int) -> tuple[int, dict[int, int]]:
        """members on the grid, offsets along the mirrored coordinate, for a
        doubled axis coordinate ``D`` (the block spans [0, D])."""
        off: dict[int, int] = {}
        for a, b in pairs:
            g0 = gmin[a] + ((D - gmin[a]) % 2)  # (D - g) even: integer offsets
            g = g0 + ((D - 2 * m[a] - g0) % (2 * G))  # a on the grid
            if g > D - 2 * m[a]:
                g = g0
            off[a] = (D - g) // 2 - m[a]
            off[b] = (D + g) // 2
        for k in selfs:
            off[k] = (D - m[k]) // 2
        return sum(1 for v in off.values() if v % G == 0), off

    best = None
    start = lo + ((lo - (m[selfs[0]] if selfs else lo)) % 2)
    for D in range(start, start + 4 * G, 2 if selfs else 1):
        score, off = layout(D)
        if best is None or score > best[0]:
            best = (score, D, off)
        if score == len(off):
            break
    _, D, moff = best
    # stacking coordinate: rows bottom up (pairs, then self-symmetric devices)
    rows = [list(p) for p in pairs] + [[k] for k in selfs]
    soff: dict[int, int] = {}
    placed: list[int] = []
    for row in rows:
        at = 0
        for k in row:
            for j in placed:
                at = max(at, soff[j] + size[j][1 - mi] + need(j, k))
        at = -(-at // G) * G
        for k in row:
            soff[k] = at
        placed += row
    extent = max(soff[k] + size[k][1 - mi] for k in placed)
    offs = {k: ((moff[k], soff[k]) if mi == 0 else (soff[k], moff[k])) for k in placed}
    return (D, extent, offs) if mi == 0 else (extent, D, offs)


def check_groups(prob: Problem, positions) -> list[str]:
    """Problems of ``[[place.group]]`` blocks: members not aligned, or out of
    the listed order (spacing between them is :func:`check_legal`'s job)."""
    out: list[str] = []
    for g, (idx, arrange, _) in enumerate(prob.groups):
        a = 1 if arrange == "row" else 0  # the aligned coordinate
        s = 1 - a  # the ordered one
        first = prob.names[idx[0]]
        for j, k in zip(idx, idx[1:]):
            if positions[k][a] != positions[idx[0]][a]:
                out.append(
                    f"group[{g}] ({arrange}): '{prob.names[k]}' at {'y' if a else 'x'} = {positions[k][a]} is not aligned "
                    f"with '{first}' at {positions[idx[0]][a]}"
                )
            if positions[k][s] <= positions[j][s]:
                out.append(f"group[{g}] ({arrange}): '{prob.names[k]}' is not after '{prob.names[j]}'")
            pitch = prob.group_pitch[g] if g < len(prob.group_pitch) else None
            if pitch is not None and positions[k][s] - positions[j][s] != pitch:
                out.append(
                    f"group[{g}] ({arrange}): '{prob.names[k]}' is {positions[k][s] - positions[j][s]} dbu from "
                    f"'{prob.names[j]}', the pitch is {pitch} dbu"
                )
    return out + prob.check_symmetry(positions)


def check_placement(design: Design, kit: PDK) -> list[str]:
    """Every legality problem of ``design.placement`` (``[]`` when legal):
    overlaps, spacing, core, grid, fences, keepouts, voltage keep-outs and
    thermal spacing, as :func:`flow.place.check_legal` words them."""
    prob = build_problem(design, kit)
    pos = [tuple(design.placement.positions[n]) for n in prob.names]
    return check_legal(
        prob.objs, pos, prob.region, spacing=prob.spacing, grid=prob.grid, keepouts=prob.keepouts, rules=prob.rules,
        off_grid=prob.symmetric_members(),
    ) + check_groups(prob, pos)


class PlaceStage(Stage):
    id = "place"
    requires = ("netlist", "floorplan")
    provides = ("placement",)

    def run(self, design: Design, ctx: Context) -> Design:
        kit = ctx.kit
        prob = build_problem(design, kit)
        comp = compose(prob)
        res = place(
            comp.objs, comp.nets, prob.region, spacing=prob.spacing, grid=prob.grid, keepouts=prob.keepouts,
            rules=comp.rules, method=design.config.place.global_placer,
            progress=lambda phase, f: ctx.progress(f"place/{phase}", f),
        )
        if prob.groups or prob.symmetry:
            g = res.global_positions
            res = dataclasses.replace(
                res, positions=tuple(comp.expand(res.positions)),
                global_positions=None if g is None else tuple(comp.expand(g)),
            )
        problems = check_legal(
            prob.objs, res.positions, prob.region, spacing=prob.spacing, grid=prob.grid,
            keepouts=prob.keepouts, rules=prob.rules, off_grid=prob.symmetric_members(),
        ) + check_groups(prob, res.positions)
        if problems:
            raise StageError(f"placement is not legal: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        positions = {name: tuple(res.positions[k]) for k, name in enumerate(prob.names)}
        pads = design.floorplan.pad_positions
        orients = {n: o for n, o in zip(prob.names, prob.orients) if n not in pads and o != "R0"}
        out = replace(design, placement=Placement(positions, res.hpwl, orients))
        from flow.stages import STAGE_IDS

        folder = ctx.stage_dir(STAGE_IDS.index(self.id), self.id)
        write_reports(folder, out, kit, prob, res)
        return out


def _axis_um(prob: Problem, pairs, selfs, axis: str, positions, um) -> float:
    """Where a symmetry group's axis lies (x for vertical, y for horizontal, um)."""
    c = 0 if axis == "vertical" else 1
    k = pairs[0][0] if pairs else selfs[0]
    size = (prob.objs[k].w, prob.objs[k].h)[c]
    d = positions[k][c] + positions[pairs[0][1]][c] + size if pairs else 2 * positions[k][c] + size
    return um(d / 2)


def write_reports(folder: Path, design: Design, kit: PDK, prob: Problem, res) -> None:
    """``place.json`` and ``density.svg`` in ``folder`` (atomically)."""
    from flow.fileio import atomic_write_text
    from flow.place.report import default_bins, density_grid, density_svg, overflow

    um = kit.um
    fp = design.floorplan
    n = len(prob.objs)
    pos = np.array(res.positions, dtype=np.int64).reshape(n, 2)
    w = np.array([o.w for o in prob.objs], dtype=np.int64)
    h = np.array([o.h for o in prob.objs], dtype=np.int64)
    mov = np.array([o.fixed is None for o in prob.objs], dtype=bool)
    fixed_rects = [(int(pos[i, 0]), int(pos[i, 1]), int(pos[i, 0] + w[i]), int(pos[i, 1] + h[i])) for i in np.flatnonzero(~mov)]
    blockers = fixed_rects + list(prob.keepouts)
    bins = default_bins(prob.region, int(mov.sum()))
    use, cap, xe, ye = density_grid(prob.region, pos[mov], w[mov], h[mov], blockers, bins)
    ovf = overflow(prob.region, pos[mov], w[mov], h[mov], blockers, bins)
    rules = prob.rules
    th = np.array(rules.thermal, dtype=np.int64)
    pw = np.array(rules.power, dtype=float)
    powered = np.flatnonzero(pw > 0)
    feet = [
        (int(pos[i, 0] - th[i]), int(pos[i, 1] - th[i]), int(pos[i, 0] + w[i] + th[i]), int(pos[i, 1] + h[i] + th[i]))
        for i in powered
    ]
    spec = design.config.place
    power_grid = None
    if len(powered) and spec.max_power_density:
        fpos = np.array([[f[0], f[1]] for f in feet], dtype=float)
        fw = np.array([f[2] - f[0] for f in feet], dtype=float)
        fh = np.array([f[3] - f[1] for f in feet], dtype=float)
        power_grid, _, _, _ = density_grid(prob.region, fpos, fw, fh, (), (len(xe) - 1, len(ye) - 1), weight=pw[powered])
    viol = check_pairs(prob.objs, res.positions, rules)
    vclass_of = {prob.names[i]: rules.labels[c] for i, c in enumerate(rules.vclass) if c >= 0}
    st = res.stats
    report = {
        "hpwl_um": um(res.hpwl),
        "hpwl_global_um": um(st.get("hpwl_global", res.hpwl)),
        "hpwl_legal_um": um(st.get("hpwl_legal", res.hpwl)),
        "overflow_global": st.get("overflow_global"),
        "overflow": round(ovf, 6),
        "displacement_um": {
            "mean": um(st.get("displacement_mean", 0.0)),
            "max": um(st.get("displacement_max", 0.0)),
            "total": um(st.get("displacement_total", 0.0)),
        },
        "iterations": res.iterations,
        "global_placer": design.config.place.global_placer,
        "global_placer_used": st.get("global_method"),
        "spacing_um": um(prob.spacing),
        "keepouts_um": [[um(v) for v in k] for k in prob.keepouts],
        "voltage_classes": [
            {"label": lab, "devices": sorted(n for n, c in vclass_of.items() if c == lab),
             "keepout_um": {rules.labels[j]: um(g) for j, g in enumerate(rules.vgap[i]) if g > 0}}
            for i, lab in enumerate(rules.labels)
        ],
        "thermal": {
            "max_power_density_w_mm2": spec.max_power_density,
            "devices": [
                {"name": prob.names[i], "power_w": float(pw[i]), "margin_um": um(int(th[i])),
                 "footprint_um": [um(v) for v in f]}
                for i, f in zip(powered, feet)
            ],
            "peak_bin_w_mm2": None if power_grid is None else float(
                (power_grid / (np.outer(np.diff(xe), np.diff(ye)) * (kit.dbu_um * 1e-3) ** 2)).max()
            ),
        },
        "groups": [
            {"devices": [prob.names[k] for k in idx], "arrange": arr}
            | ({"pitch_um": um(prob.group_pitch[g])} if g < len(prob.group_pitch) and prob.group_pitch[g] is not None else {})
            for g, (idx, arr, _) in enumerate(prob.groups)
        ],
        "symmetry": [
            {
                "axis": axis,
                "axis_um": _axis_um(prob, pairs, selfs, axis, res.positions, um),
                "pairs": [[prob.names[a], prob.names[b]] for a, b in pairs],
                "self": [prob.names[k] for k in selfs],
            }
            for pairs, selfs, axis, _ in prob.symmetry
        ],
        "orientations": {n: o for n, o in zip(prob.names, prob.orients) if o != "R0"},
        "violations": [v.to_json(1 / kit.dbu_um) | {"message": v.message(1 / kit.dbu_um, "um")} for v in viol],
        "voltage_unknown_devices": list(prob.unknown_voltage),
        "not_checked": list(prob.not_checked),
        "density_map": "density.svg",
    }
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "place.json", report)
    colours = ["#1f4e9c", "#c0392b", "#2c8a3c", "#8e44ad", "#d35400", "#16a085", "#7f8c8d"]
    boxes = []
    for i, o in enumerate(prob.objs):
        c = rules.vclass[i]
        col = "#555" if not mov[i] else (colours[c % len(colours)] if c >= 0 else "#000")
        boxes.append((f"{o.name} {vclass_of.get(o.name, '')}".strip(), (int(pos[i, 0]), int(pos[i, 1]), int(pos[i, 0] + w[i]), int(pos[i, 1] + h[i])), col))
    svg = density_svg(
        fp.die, prob.region, boxes, use, cap, xe, ye,
        title=f"{design.config.name} placement, HPWL {um(res.hpwl):g} um, overflow {ovf:.3f}",
        footprints=feet, power=power_grid, power_limit=spec.max_power_density, dbu_um=kit.dbu_um,
    )
    atomic_write_text(folder / "density.svg", svg)
