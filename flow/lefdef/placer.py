"""Place a LEF/DEF (or LEF + Verilog) standard-cell design with pilotflow's engine.

Glue between the file formats and the algorithms: components become boxes
(LEF sizes in the DEF's units), I/O pins and FIXED/COVER components (and
placed blocks) become fixed objects, nets become pin lists (LEF pin centres,
power and ground pins left out), rows come from the DEF or are generated from
the die.  Then: quadratic global placement (:mod:`flow.place.global_`),
Abacus row legalisation and HPWL-lowering detailed placement
(:mod:`flow.place.rows`), an independent legality check
(:func:`check_def_placement`), and the components written back as ``PLACED``
in their row's orientation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from flow.errors import InputError, StageError, where
from flow.lefdef.def_ import Component, Def, DefNet, DefPin, Row, orient_point
from flow.lefdef.lef import Library, Macro, Site
from flow.lefdef.verilog import Module
from flow.place.eplace import eplace
from flow.place.global_ import build_quadratic, global_place, solve
from flow.place.model import NetPins, net_hpwl, pin_arrays
from flow.place.rows import RowSpec, check_rows, improve_rows, legalize_rows, place_tall, segments

_POWER = ("POWER", "GROUND")


@dataclass
class PlaceReport:
    """Figures of one run (lengths in the DEF's dbu)."""

    cells: int = 0
    fixed: int = 0
    io_pins: int = 0
    nets: int = 0
    rows: int = 0
    utilisation: float = 0.0
    hpwl_global: int = 0  # pin-to-pin HPWL of the global placement (unlegalised)
    hpwl_legal: int = 0  # after legalisation
    hpwl_detailed: int = 0  # after detailed placement (the result)
    hpwl_box: int = 0  # OpenROAD report_hpwl method on the result
    displacement_mean: float = 0.0  # legalisation, dbu
    displacement_max: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _dbu(v: float, dbu: int) -> int:
    return int(round(v * dbu))


def _macro_of(c: Component, lib: Library, d: Def) -> Macro:
    m = lib.macros.get(c.macro)
    if m is None:
        raise InputError(f"{where(d.path or None, c.line or None)}component '{c.name}': macro '{c.macro}' is not in the LEF files")
    return m


def _box_size(m: Macro, orient: str, dbu: int) -> tuple[int, int]:
    w, h = _dbu(m.w, dbu), _dbu(m.h, dbu)
    return (h, w) if orient in ("E", "W", "FE", "FW") else (w, h)


def _pin_offset(m: Macro, pin: str, orient: str, dbu: int) -> tuple[int, int] | None:
    """Pin centre offset from the placed box's lower-left (dbu), or None if the pin has no shapes."""
    key = (id(m), pin, orient, dbu)
    hit = _OFFSETS.get(key)
    if hit is None or hit[0] is not m:
        hit = (m, _pin_offset_calc(m, pin, orient, dbu))
        if len(_OFFSETS) > 100_000:
            _OFFSETS.clear()
        _OFFSETS[key] = hit
    return hit[1]


#: (id(macro), pin, orient, dbu) -> (macro, offset); the macro is kept to make the id safe.
_OFFSETS: dict[tuple[int, str, str, int], tuple[Macro, tuple[int, int] | None]] = {}


def _pin_offset_calc(m: Macro, pin: str, orient: str, dbu: int) -> tuple[int, int] | None:
    p = m.pins.get(pin)
    if p is None:
        return None
    c = p.centre()
    if c is None:
        c = (m.w / 2, m.h / 2)
    w, h = _dbu(m.w, dbu), _dbu(m.h, dbu)
    px, py = _dbu(c[0] - m.origin[0], dbu) if False else _dbu(c[0], dbu), _dbu(c[1], dbu)
    # rotate the macro box about its origin, then shift it back to (0, 0)
    corners = [orient_point(orient, x, y) for x, y in ((0, 0), (w, h))]
    ox = min(p_[0] for p_ in corners)
    oy = min(p_[1] for p_ in corners)
    qx, qy = orient_point(orient, px, py)
    return qx - ox, qy - oy


def core_site(lib: Library) -> Site:
    """The CORE site most standard cells of the library use."""
    counts: dict[str, int] = {}
    for m in lib.macros.values():
        if m.site and m.site in lib.sites and m.cls == "CORE":
            counts[m.site] = counts.get(m.site, 0) + 1
    names = sorted(counts, key=lambda s: -counts[s]) or [s.name for s in lib.sites.values() if s.cls == "CORE"]
    if not names:
        raise InputError(f"{', '.join(lib.files) or 'LEF'}: no CORE SITE defined; cannot make rows")
    return lib.sites[names[0]]


def make_rows(die: tuple[int, int, int, int], site: Site, dbu: int) -> list[Row]:
    """Rows of ``site`` filling ``die``, bottom up, alternating FS / N (as OpenROAD does)."""
    sw, sh = _dbu(site.w, dbu), _dbu(site.h, dbu)
    x0, y0, x1, y1 = die
    nx = (x1 - x0) // sw
    ny = (y1 - y0) // sh
    if nx < 1 or ny < 1:
        raise InputError(f"the die {die} is smaller than one site ({sw} x {sh} dbu)")
    return [Row(f"ROW_{k}", site.name, x0, y0 + k * sh, "FS" if k % 2 == 0 else "N", nx, 1, sw, 0) for k in range(ny)]


def def_hpwl(d: Def, lib: Library) -> int:
    """Total HPWL (dbu) as OpenROAD's ``report_hpwl.tcl`` computes it.

    Per net: the bounding box of the *boxes* of its instances (not their pins)
    and of its I/O pins' boxes; nets with no placed terminal count 0.  Power
    and ground nets (``USE POWER/GROUND``) are included as in the script (they
    rarely appear in NETS).
    """
    comp = {c.name: c for c in d.components}
    pins = {p.name: p for p in d.pins}
    total = 0
    for n in d.nets:
        x0 = y0 = math.inf
        x1 = y1 = -math.inf
        for inst, pin in n.conns:
            if inst == "PIN":
                p = pins.get(pin)
                b = p.bbox() if p is not None else None
                if b is None:
                    continue
            else:
                c = comp.get(inst)
                if c is None or c.status == "UNPLACED":
                    continue
                m = lib.macros.get(c.macro)
                if m is None:
                    continue
                w, h = _box_size(m, c.orient, d.dbu)
                b = (c.x, c.y, c.x + w, c.y + h)
            x0, y0, x1, y1 = min(x0, b[0]), min(y0, b[1]), max(x1, b[2]), max(y1, b[3])
        if x0 != math.inf:
            total += int(x1 - x0 + y1 - y0)
    return total


def def_pin_hpwl(d: Def, lib: Library) -> int:
    """Total pin-to-pin HPWL (dbu): per net, the bounding box of its cell pins'
    centres (LEF port shapes, in each instance's orientation) and its I/O pins'
    box centres; power and ground pins and nets left out."""
    comp = {c.name: c for c in d.components}
    pins = {p.name: p for p in d.pins}
    total = 0
    for n in d.nets:
        if n.use in _POWER:
            continue
        xs: list[float] = []
        ys: list[float] = []
        for inst, pin in n.conns:
            if inst == "PIN":
                p = pins.get(pin)
                b = p.bbox() if p is not None else None
                if b is not None:
                    xs.append((b[0] + b[2]) / 2)
                    ys.append((b[1] + b[3]) / 2)
                continue
            c = comp.get(inst)
            m = lib.macros.get(c.macro) if c is not None else None
            if c is None or m is None or c.status == "UNPLACED" or pin not in m.pins or m.pins[pin].use in _POWER:
                continue
            off = _pin_offset(m, pin, c.orient, d.dbu)
            assert off is not None
            xs.append(c.x + off[0])
            ys.append(c.y + off[1])
        if len(xs) >= 2:
            total += int(round(max(xs) - min(xs) + max(ys) - min(ys)))
    return total


def density_map(d: Def, lib: Library, *, draw_max: int = 5000) -> tuple[float, str]:
    """Density overflow of a placed DEF's standard cells and its density-map
    SVG (bins shaded by cell area over free area; fixed components are
    blockages; cell outlines drawn up to ``draw_max`` cells).

    The overflow is :func:`flow.place.report.overflow` over the die (0: no
    bin over-full)."""
    from flow.place.report import default_bins, density_grid, density_svg, overflow

    die = d.die
    if die is None:
        xs = [r.x for r in d.rows] or [0]
        ys = [r.y for r in d.rows] or [0]
        die = (min(xs), min(ys), max(xs) + 1, max(ys) + 1)
    cells, fixed = [], []
    for c in d.components:
        m = lib.macros.get(c.macro)
        if m is None or c.status == "UNPLACED":
            continue
        w, h = _box_size(m, c.orient, d.dbu)
        box = (c.x, c.y, c.x + w, c.y + h)
        (cells if m.cls == "CORE" and c.status == "PLACED" else fixed).append((c.name, box))
    pos = np.array([[b[0], b[1]] for _, b in cells], dtype=np.int64).reshape(-1, 2)
    w = np.array([b[2] - b[0] for _, b in cells], dtype=np.int64)
    h = np.array([b[3] - b[1] for _, b in cells], dtype=np.int64)
    blockers = [b for _, b in fixed]
    bins = default_bins(die, len(cells))
    use, cap, xe, ye = density_grid(die, pos, w, h, blockers, bins)
    ovf = overflow(die, pos, w, h, blockers, bins)
    boxes = [(n, b, "#555") for n, b in fixed]
    if len(cells) <= draw_max:
        boxes += [(n, b, "#1f4e9c") for n, b in cells]
    svg = density_svg(
        die, die, boxes, use, cap, xe, ye, dbu_um=1.0 / d.dbu,
        title=f"{d.design}: {len(cells)} cells, density overflow {ovf:.3f}"
        + ("" if len(cells) <= draw_max else f" (cell outlines not drawn above {draw_max} cells)"),
    )
    return ovf, svg


def check_def_placement(d: Def, lib: Library) -> list[str]:
    """Every legality problem of a placed DEF; ``[]`` when legal.

    Checked: every component placed; standard cells (CORE class) on a row's y
    and site grid, within the row, in the row's orientation (or its mirror
    about y, when the cell's SYMMETRY allows it); every component inside the
    die; no two components overlapping (touching is fine); blocks and pads
    only against the others' boxes.
    """
    problems: list[str] = []
    if not d.rows:
        problems.append("the design has no ROW")
    site_w: dict[str, int] = {}
    for r in d.rows:
        s = lib.sites.get(r.site)
        if s is None:
            problems.append(f"row '{r.name}' uses site '{r.site}', not in the LEF files")
            continue
        site_w[r.name] = r.step_x or _dbu(s.w, d.dbu)
    specs = []
    row_orient: dict[int, set[str]] = {}
    for r in d.rows:
        if r.name not in site_w:
            continue
        s = lib.sites[r.site]
        for j in range(r.ny):
            y = r.y + j * r.step_y
            specs.append(RowSpec(r.x, y, r.nx, site_w[r.name], _dbu(s.h, d.dbu), r.orient))
            row_orient.setdefault(y, set()).add(r.orient)
    cells: list[int] = []
    boxes: list[tuple[int, int, int, int]] = []
    for k, c in enumerate(d.components):
        m = lib.macros.get(c.macro)
        if m is None:
            problems.append(f"component '{c.name}': macro '{c.macro}' is not in the LEF files")
            boxes.append((0, 0, 0, 0))
            continue
        if c.status == "UNPLACED":
            problems.append(f"component '{c.name}' is not placed")
        w, h = _box_size(m, c.orient, d.dbu)
        boxes.append((c.x, c.y, c.x + w, c.y + h))
        if d.die is not None and c.status != "UNPLACED":
            x0, y0, x1, y1 = d.die
            if c.x < x0 or c.y < y0 or c.x + w > x1 or c.y + h > y1:
                problems.append(f"component '{c.name}' at ({c.x}, {c.y})-({c.x + w}, {c.y + h}) is outside the die {d.die}")
        if m.cls == "CORE" and c.status in ("PLACED", "FIXED"):
            cells.append(k)
            allowed = set(row_orient.get(c.y, ()))
            if "Y" in m.symmetry:
                allowed |= {{"N": "FN", "FS": "S", "FN": "N", "S": "FS"}.get(o, o) for o in allowed}
            if allowed and c.orient not in allowed:
                problems.append(f"component '{c.name}' has orientation {c.orient}; its row allows {', '.join(sorted(allowed))}")
    if cells:
        pos = np.array([[boxes[k][0], boxes[k][1]] for k in cells], dtype=np.int64)
        w = np.array([boxes[k][2] - boxes[k][0] for k in cells], dtype=np.int64)
        h = np.array([boxes[k][3] - boxes[k][1] for k in cells], dtype=np.int64)
        cell_set = set(cells)
        others = [boxes[k] for k in range(len(d.components)) if k not in cell_set and d.components[k].status != "UNPLACED"]
        problems += check_rows(pos, w, h, specs, others, names=[d.components[k].name for k in cells])
    # blocks against blocks
    cs = set(cells)
    big = [k for k in range(len(d.components)) if k not in cs and d.components[k].status != "UNPLACED"]
    for a_i, a in enumerate(big):
        for b in big[a_i + 1 :]:
            A, B = boxes[a], boxes[b]
            if A[0] < B[2] and B[0] < A[2] and A[1] < B[3] and B[1] < A[3]:
                problems.append(f"components '{d.components[a].name}' and '{d.components[b].name}' overlap")
    return problems


def def_from_verilog(
    module: Module,
    lib: Library,
    *,
    die_um: tuple[float, float] | None = None,
    utilization: float | None = None,
    path: str = "",
) -> Def:
    """A DEF with rows, unplaced components, I/O pins around the die edge and nets.

    Give the die size (microns, lower-left at the origin) or a target
    utilisation (cell area / core area, 0 < U <= 1; the die is then a square
    of whole rows and sites).  Pins are spread evenly around the die edge in
    name order (inputs first), on the lowest horizontal (left/right edges)
    and vertical (top/bottom) routing layers above the first.
    """
    if lib.dbu is None:
        raise InputError(f"{', '.join(lib.files) or 'LEF'}: no UNITS DATABASE MICRONS; cannot choose DEF units")
    dbu = lib.dbu
    site = core_site(lib)
    comps: list[Component] = []
    cell_area = 0.0
    for inst in module.instances:
        m = lib.macros.get(inst.cell)
        if m is None:
            raise InputError(f"{where(path or None, inst.line)}instance '{inst.name}': cell '{inst.cell}' is not in the LEF files")
        for port in inst.conns:
            if port not in m.pins:
                raise InputError(f"{where(path or None, inst.line)}instance '{inst.name}': cell '{inst.cell}' has no pin '{port}'")
        comps.append(Component(inst.name, inst.cell, line=inst.line))
        cell_area += m.w * m.h
    if (die_um is None) == (utilization is None):
        raise InputError("give exactly one of the die size or the utilisation")
    sw, sh = _dbu(site.w, dbu), _dbu(site.h, dbu)
    if die_um is not None:
        if die_um[0] <= 0 or die_um[1] <= 0:
            raise InputError(f"die size {die_um[0]} x {die_um[1]} um must be positive")
        die = (0, 0, _dbu(die_um[0], dbu), _dbu(die_um[1], dbu))
    else:
        assert utilization is not None
        if not 0 < utilization <= 1:
            raise InputError(f"utilisation {utilization} must be in (0, 1]")
        side = math.sqrt(cell_area / utilization)
        nrows = max(1, math.ceil(side / site.h))
        nsites = max(1, math.ceil(cell_area / utilization / (nrows * site.h) / site.w))
        die = (0, 0, nsites * sw, nrows * sh)
    rows = make_rows(die, site, dbu)
    # pins
    routing = [lay for lay in lib.layers.values() if lay.type == "ROUTING"]
    hor = [lay for lay in routing[1:] if lay.direction == "HORIZONTAL"] or routing
    ver = [lay for lay in routing[1:] if lay.direction == "VERTICAL"] or routing
    ports = sorted(module.ports.items(), key=lambda kv: (kv[1] != "input", kv[0]))
    pins: list[DefPin] = []
    x0, y0, x1, y1 = die
    perim = 2 * ((x1 - x0) + (y1 - y0))
    for k, (name, direction) in enumerate(ports):
        s = int((k + 0.5) * perim / max(1, len(ports)))
        if s < x1 - x0:  # bottom, left to right
            x, y, orient, lay = x0 + s, y0, "N", ver
        elif s < (x1 - x0) + (y1 - y0):  # right, bottom up
            x, y, orient, lay = x1, y0 + s - (x1 - x0), "W", hor
        elif s < 2 * (x1 - x0) + (y1 - y0):  # top, right to left
            x, y, orient, lay = x1 - (s - (x1 - x0) - (y1 - y0)), y1, "S", ver
        else:  # left, top down
            x, y, orient, lay = x0, y1 - (s - 2 * (x1 - x0) - (y1 - y0)), "E", hor
        layer = lay[0].name if lay else "metal1"
        half = max(1, _dbu((lay[0].width if lay else 0.1) / 2, dbu))
        pins.append(DefPin(name, _def_name(name), direction.upper(), "SIGNAL", layer, (-half, 0, half, 2 * half), "PLACED", x, y, orient))
    # nets
    conns: dict[str, list[tuple[str, str]]] = {}
    for name in module.ports:
        conns.setdefault(name, []).append(("PIN", name))
    for inst in module.instances:
        m = lib.macros[inst.cell]
        for port, net in inst.conns.items():
            if net and m.pins[port].use not in _POWER:
                conns.setdefault(net, []).append((inst.name, port))
    nets = [DefNet(_def_name(n), c) for n, c in conns.items()]
    items = [("raw", "VERSION 5.8 ;"), ("raw", 'DIVIDERCHAR "/" ;'), ("raw", 'BUSBITCHARS "[]" ;'), ("DESIGN", ""),
             ("UNITS", ""), ("DIEAREA", ""), ("ROW", ""), ("COMPONENTS", ""), ("PINS", ""), ("NETS", "")]
    return Def(module.name, dbu, die, rows, comps, pins, nets, items=items, path=path)


def _def_name(name: str) -> str:
    """Escape bus brackets of a net name as DEF writers do (``a[3]`` -> ``a\\[3\\]``)."""
    return name.replace("[", "\\[").replace("]", "\\]")


def place_def(
    d: Def,
    lib: Library,
    *,
    seed: int = 1,
    target_density: float = 0.9,
    detail_passes: int = 3,
    method: str = "eplace",
    target_overflow: float = 0.1,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[Def, PlaceReport]:
    """Place the movable standard cells of ``d``; returns a new Def and a report.

    Movable: CORE-class components that are UNPLACED or PLACED (their old
    location is ignored), of one row or several (multi-row cells, e.g.
    double-height flip-flops), and UNPLACED blocks at least a row tall;
    multi-row objects are legalised first on stacks of abutting rows, the
    single-row cells around them.  Fixed: FIXED/COVER components, placed blocks and
    pads, and every placed I/O pin.  ``target_density`` is the local density
    (cell area / free area) global placement spreads the cells to; 1.0 packs
    as tight as the rows allow.  ``method`` is ``"eplace"`` (electrostatic,
    :mod:`flow.place.eplace`, the default) or ``"quadratic"`` (the SimPL-style
    placer the GaN/SiC flow uses, :mod:`flow.place.global_`).

    Raises :class:`InputError` for designs it cannot read this way (unknown
    macros or pins, unplaced pads or blocks lower than a row, no rows and
    no site) and
    :class:`StageError` when the rows are too full.
    """
    report_fn = progress or (lambda phase, f: None)
    rep = PlaceReport()
    t0 = time.perf_counter()
    dbu = d.dbu
    if d.die is None and not d.rows:
        raise InputError(f"{d.path}: no DIEAREA and no ROW; nothing to place in")
    rows = list(d.rows)
    if not rows:
        rows = make_rows(d.die, core_site(lib), dbu)  # type: ignore[arg-type]
        rep.notes.append(f"no ROW in the DEF: generated {len(rows)} rows of site {rows[0].site} from the die")
    specs: list[RowSpec] = []
    row_h = None
    for r in rows:
        s = lib.sites.get(r.site)
        if s is None:
            raise InputError(f"{d.path}: row '{r.name}' uses site '{r.site}', which is not in the LEF files")
        if r.orient not in ("N", "FS", "FN", "S"):
            raise InputError(f"{d.path}: row '{r.name}' has orientation {r.orient}; only N, FS, FN, S rows are supported")
        h = _dbu(s.h, dbu)
        sw = r.step_x or _dbu(s.w, dbu)
        if row_h is None:
            row_h = h
        for j in range(r.ny):
            specs.append(RowSpec(r.x, r.y + j * r.step_y, r.nx, sw, h, r.orient))
    site_ws = {s.site_w for s in specs}
    if len(site_ws) > 1:
        raise InputError(f"{d.path}: rows with different site widths {sorted(site_ws)} are not supported")
    # objects: movable cells first, then fixed things.  Movable fillers
    # (CORE SPACER) only fill gaps: they are removed, to be re-inserted later.
    fillers = [c for c in d.components if c.status in ("PLACED", "UNPLACED") and (m := lib.macros.get(c.macro)) is not None and m.cls == "CORE" and m.subclass == "SPACER"]
    if fillers:
        keep = {id(c) for c in fillers}
        d = replace(d, components=[c for c in d.components if id(c) not in keep])
        rep.notes.append(f"{len(fillers)} movable filler cells (CLASS CORE SPACER) removed; insert fillers after placement")
    comps = d.components
    movable: list[int] = []
    fixed: list[int] = []
    macros = [_macro_of(c, lib, d) for c in comps]
    for k, (c, m) in enumerate(zip(comps, macros)):
        h = _dbu(m.h, dbu)
        if c.status in ("FIXED", "COVER"):
            fixed.append(k)
        elif m.cls == "CORE" or (m.cls == "BLOCK" and c.status == "UNPLACED" and h >= (row_h or h)):
            # standard cells of one or more rows, and unplaced blocks at least
            # a row tall: blocks and cells taller than a row are legalised
            # first, on stacks of abutting rows (place_tall)
            movable.append(k)
        elif c.status == "PLACED":
            fixed.append(k)
            rep.notes.append(f"'{c.name}' ({m.cls}, {m.w} x {m.h} um) kept where it is")
        else:
            raise InputError(
                f"{where(d.path or None, c.line or None)}component '{c.name}' ({c.macro}, class {m.cls}, "
                f"{m.w} x {m.h} um) is unplaced and neither a standard cell nor a block a row or more tall; "
                "place it (FIXED) first"
            )
    io = [p for p in d.pins if p.bbox() is not None]
    n_mov = len(movable)
    n = n_mov + len(fixed) + len(io)
    w = np.zeros(n, dtype=np.int64)
    h = np.zeros(n, dtype=np.int64)
    pos = np.zeros((n, 2), dtype=np.int64)
    idx_of: dict[str, int] = {}
    for j, k in enumerate(movable + fixed):
        c = comps[k]
        orient = c.orient if j >= n_mov else "N"
        w[j], h[j] = _box_size(macros[k], orient, dbu)
        if j >= n_mov:
            pos[j] = (c.x, c.y)
        idx_of[c.name] = j
    pin_idx: dict[str, int] = {}
    for t, p in enumerate(io):
        j = n_mov + len(fixed) + t
        b = p.bbox()
        assert b is not None
        pos[j] = (b[0], b[1])
        w[j], h[j] = max(1, b[2] - b[0]), max(1, b[3] - b[1])
        pin_idx[p.name] = j
    unplaced_pins = [p.name for p in d.pins if p.bbox() is None]
    if unplaced_pins:
        rep.notes.append(f"{len(unplaced_pins)} I/O pins are unplaced and left out of the wirelength (e.g. '{unplaced_pins[0]}')")
    orient_of = ["N"] * n_mov + [comps[k].orient for k in fixed]
    blockages = [(int(pos[j, 0]), int(pos[j, 1]), int(pos[j, 0] + w[j]), int(pos[j, 1] + h[j])) for j in range(n_mov, n_mov + len(fixed))]
    nets: list[NetPins] = []
    for net in d.nets:
        if net.use in _POWER:
            continue
        pins: list[tuple[int, int, int]] = []
        for inst, pin in net.conns:
            if inst == "PIN":
                j = pin_idx.get(pin)
                if j is None:
                    if pin not in {p.name for p in d.pins}:
                        raise InputError(f"{where(d.path or None, net.line or None)}net '{net.name}' connects I/O pin '{pin}', which is not in PINS")
                    continue
                pins.append((j, int(w[j]) // 2, int(h[j]) // 2))
                continue
            j = idx_of.get(inst)
            if j is None:
                if inst == "*":
                    continue
                raise InputError(f"{where(d.path or None, net.line or None)}net '{net.name}' connects component '{inst}', which is not in COMPONENTS")
            m = macros[movable[j] if j < n_mov else fixed[j - n_mov]]
            mp = m.pins.get(pin)
            if mp is None:
                raise InputError(f"{where(d.path or None, net.line or None)}net '{net.name}': macro '{m.name}' of '{inst}' has no pin '{pin}'")
            if mp.use in _POWER:
                continue
            off = _pin_offset(m, pin, orient_of[j], dbu)
            assert off is not None
            pins.append((j, off[0], off[1]))
        if len({p[0] for p in pins}) >= 2:
            nets.append(NetPins(net.name, tuple(pins)))
    rep.cells, rep.fixed, rep.io_pins, rep.nets, rep.rows = n_mov, len(fixed), len(io), len(nets), len(specs)
    if n_mov == 0:
        rep.notes.append("no movable standard cells")
        return d, rep
    pos, orients = place_arrays(
        w, h, pos, n_mov, pin_arrays(nets), specs, blockages, rep, names=[comps[k].name for k in movable], seed=seed,
        target_density=target_density, detail_passes=detail_passes, method=method, target_overflow=target_overflow, progress=report_fn,
    )
    new_comps = list(comps)
    for j, k in enumerate(movable):
        # a block keeps its drawn orientation; standard cells take their row's
        o = "N" if macros[k].cls == "BLOCK" else orients[j]
        new_comps[k] = replace(comps[k], status="PLACED", x=int(pos[j, 0]), y=int(pos[j, 1]), orient=o)
    out = replace(d, components=new_comps, rows=rows)
    if not d.rows:
        items = list(out.items)
        if not any(k == "ROW" for k, _ in items):
            at = next((i + 1 for i, (k, _) in enumerate(items) if k == "DIEAREA"), len(items))
            items.insert(at, ("ROW", ""))
        out = replace(out, items=items)
    rep.hpwl_box = def_hpwl(out, lib)
    rep.seconds["total"] = time.perf_counter() - t0
    return out, rep


def place_arrays(
    w: np.ndarray,
    h: np.ndarray,
    pos: np.ndarray,
    n_mov: int,
    pa,
    specs: list[RowSpec],
    blockages: list[tuple[int, int, int, int]],
    rep: PlaceReport,
    *,
    names: list[str] | None = None,
    seed: int = 1,
    target_density: float = 0.9,
    detail_passes: int = 3,
    method: str = "eplace",
    target_overflow: float = 0.1,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Global placement, row legalisation, detailed placement and check, on arrays.

    Objects ``0 .. n_mov - 1`` are movable standard cells, the rest fixed
    (``pos`` their lower-left corners, dbu); ``pa`` the nets, pin offsets
    from each object's lower-left in orientation N; ``blockages`` the fixed
    boxes rows must avoid.  Cells taller than the lowest row span several
    rows: they are legalised first (nearest free stack of rows,
    :func:`~flow.place.rows.place_tall`) and then stay put while the
    single-row cells are legalised (Abacus) and improved around them.
    Fills ``rep`` (HPWL at each step, displacement, utilisation, seconds);
    returns the legal lower-left corners of all objects and the orientation
    of each movable cell.  Raises :class:`StageError` when the cells do not
    fit or (an internal error) the result is not legal.
    """
    report_fn = progress or (lambda phase, f: None)
    pos = pos.copy()
    n = len(w)
    if not specs:
        raise StageError("placement: the design has no row to place standard cells in")
    row_h = min(sp.h for sp in specs)
    segs = segments(specs, blockages)
    cap = sum((s.s1 - s.s0) * s.site_w for s in segs) * (row_h or 1)
    sw = specs[0].site_w if specs else 1
    wsite = -(-w[:n_mov] // sw) * sw
    cell_area = float((wsite * h[:n_mov]).sum())
    rep.utilisation = cell_area / cap if cap else math.inf
    if rep.utilisation > 1:
        raise StageError(f"placement: the cells need {rep.utilisation:.0%} of the free row area; they do not fit")
    # -- global --------------------------------------------------------------
    var_of = np.full(n, -1, dtype=np.int64)
    var_of[:n_mov] = np.arange(n_mov)
    region = (min(s.x for s in specs), min(s.y for s in specs), max(s.x + s.n * s.site_w for s in specs), max(s.y + s.h for s in specs))
    report_fn("global", 0.0)
    t = time.perf_counter()
    if method == "quadratic":
        inflated = wsite.astype(float) * h[:n_mov].astype(float)
        dens = min(1.0, max(rep.utilisation, target_density))
        targets, iters = global_place(
            wsite.astype(float), h[:n_mov].astype(float), var_of, pos.astype(float), pa, region, blockages, inflated, seed,
            target_density=dens, progress=lambda f: report_fn("global", f),
        )
    elif method == "eplace":
        targets, iters = _eplace(pa, var_of, pos, wsite, w, h, n_mov, region, blockages, target_density, target_overflow, seed, report_fn)
    else:
        raise InputError(f"global placement method {method!r} is not 'eplace' or 'quadratic'")
    rep.seconds["global"] = time.perf_counter() - t
    gpos = pos.astype(float).copy()
    gpos[:n_mov] = targets
    rep.hpwl_global = int(net_hpwl(pa, np.round(gpos).astype(np.int64)).sum())
    # -- legalise --------------------------------------------------------------
    t = time.perf_counter()
    report_fn("legalize", 0.0)
    tall = h[:n_mov] > row_h
    single = np.flatnonzero(~tall)
    lpos = np.zeros((n_mov, 2), dtype=np.int64)
    seg_of = np.full(n_mov, -1, dtype=np.int64)
    bottom_orient: dict[int, str] = {}
    if tall.any():
        ti = np.flatnonzero(tall)
        tpos, torient = place_tall(specs, blockages, wsite[ti], h[ti], targets[ti])
        lpos[ti] = tpos
        bottom_orient = {int(j): o for j, o in zip(ti, torient)}
        boxes = [(int(x), int(y), int(x + wi), int(y + hi)) for (x, y), wi, hi in zip(tpos, wsite[ti], h[ti])]
        segs = segments(specs, list(blockages) + boxes)
    if len(single):
        spos, sseg = legalize_rows(segs, w[single], targets[single], progress=lambda f: report_fn("legalize", f))
        lpos[single] = spos
        seg_of[single] = sseg
    disp = np.abs(lpos - targets).sum(axis=1)
    rep.displacement_mean, rep.displacement_max = float(disp.mean()), float(disp.max())
    pos[:n_mov] = lpos
    rep.seconds["legalize"] = time.perf_counter() - t
    mov_mask = np.zeros(n, dtype=bool)
    mov_mask[single] = True
    seg_all = np.full(n, -1, dtype=np.int64)
    seg_all[:n_mov] = seg_of
    rep.hpwl_legal = _row_hpwl(pa, pos, seg_all, segs, w, h)
    # -- detailed ----------------------------------------------------------------
    t = time.perf_counter()
    report_fn("detail", 0.0)
    if detail_passes > 0:
        pos, seg_all = improve_rows(segs, pos, seg_all, mov_mask, w, h, pa, passes=detail_passes, progress=lambda f: report_fn("detail", f))
    rep.seconds["detail"] = time.perf_counter() - t
    rep.hpwl_detailed = _row_hpwl(pa, pos, seg_all, segs, w, h)
    problems = check_rows(pos[:n_mov], w[:n_mov], h[:n_mov], specs, blockages, names=names)
    if problems:
        raise StageError(f"placement: internal error, result is not legal ({len(problems)} problems): {problems[0]}")
    seg_orient = [segs[int(k)].orient if k >= 0 else "N" for k in seg_all[:n_mov]]
    for j in np.flatnonzero(tall):
        seg_orient[j] = bottom_orient[int(j)]
    return pos, seg_orient


def _eplace(pa, var_of, pos, wsite, w, h, n_mov, region, blockages, target_density, target_overflow, seed, report_fn):
    """Quadratic start, then electrostatic global placement; lower-left targets."""
    n = len(w)
    m = n_mov
    model = build_quadratic(pa, var_of, pos.astype(float))
    diag = model.A.diagonal()[:m]
    scale = float(diag[diag > 0].mean()) if (diag > 0).any() else 1.0
    rx0, ry0, rx1, ry1 = region
    rng = np.random.default_rng(seed)
    span = min(rx1 - rx0, ry1 - ry0)
    ax = 0.5 * (rx0 + rx1) + (rng.random(m) - 0.5) * 1e-2 * span - wsite / 2
    ay = 0.5 * (ry0 + ry1) + (rng.random(m) - 0.5) * 1e-2 * span - h[:m] / 2
    if model.n_vars <= _DIRECT_MAX:
        x, y = solve(model, np.full(m, 1e-3 * scale), ax, ay)
    else:
        x, y = _solve_cg(model, np.full(m, 1e-3 * scale), ax, ay)
    wf = np.concatenate([wsite, w[m:]]).astype(float)
    hf = h.astype(float)
    cpa = type(pa)(pa.obj, pa.dx - (wf[pa.obj] / 2).round().astype(np.int64), pa.dy - (hf[pa.obj] / 2).round().astype(np.int64), pa.net, pa.start, pa.weight)
    fixed_c = np.column_stack([pos[m:, 0] + wf[m:] / 2, pos[m:, 1] + hf[m:] / 2]) if n > m else np.zeros((0, 2))
    res = eplace(
        wsite.astype(float), hf[:m], x + wsite / 2, y + hf[:m] / 2, fixed_c, cpa, region, blockages,
        target_density=target_density, target_overflow=target_overflow, seed=seed, progress=lambda f: report_fn("global", f),
    )
    targets = np.column_stack([res.cx - wsite / 2, res.cy - hf[:m] / 2])
    return targets, res.iterations


#: Largest quadratic system solved by sparse LU; bigger ones use conjugate gradients.
_DIRECT_MAX = 30_000


def _solve_cg(model, anchor_w, anchor_x, anchor_y):
    """:func:`flow.place.global_.solve` by Jacobi-preconditioned conjugate gradients.

    Sparse LU fill-in grows fast with the netlist; the starting point of
    electrostatic placement needs no exact solution, so CG to a relative
    residual of 1e-5 is enough, in O(nnz) memory and time per iteration.
    """
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    n, m = model.n_vars, model.n_movable
    d = np.zeros(n)
    ax = np.zeros(n)
    ay = np.zeros(n)
    d[:m] = anchor_w
    ax[:m] = anchor_x
    ay[:m] = anchor_y
    if n > m:
        d[m:] = 1e-9 * (float(anchor_w.mean()) if m else 1.0)
        ax[m:] = float(anchor_x.mean()) if m else 0.0
        ay[m:] = float(anchor_y.mean()) if m else 0.0
    A = (model.A + sp.diags(d)).tocsr()
    inv = 1.0 / np.maximum(A.diagonal(), 1e-30)
    pre = spla.LinearOperator(A.shape, matvec=lambda v: inv * v, dtype=float)
    x, _ = spla.cg(A, model.bx + d * ax, x0=ax.copy(), rtol=1e-5, maxiter=2000, M=pre)
    y, _ = spla.cg(A, model.by + d * ay, x0=ay.copy(), rtol=1e-5, maxiter=2000, M=pre)
    return x[:m], y[:m]


def _row_hpwl(pa, pos, seg_of, segs, w, h) -> int:
    """Pin HPWL with each cell's pin offsets in its row's orientation."""
    if len(pa.obj) == 0:
        return 0
    from flow.place.rows import ROW_ORIENTS

    seg_oi = np.array([ROW_ORIENTS.index(s.orient) for s in segs] + [0], dtype=np.int64)
    oi = seg_oi[np.where(seg_of >= 0, seg_of, len(segs))][pa.obj]
    wo, ho = w[pa.obj], h[pa.obj]
    # N, FS, FN, S: FS and S mirror y, FN and S mirror x (see rows.pin_offsets)
    dx = np.where((oi == 2) | (oi == 3), wo - pa.dx, pa.dx)
    dy = np.where((oi == 1) | (oi == 3), ho - pa.dy, pa.dy)
    pa2 = type(pa)(pa.obj, dx, dy, pa.net, pa.start, pa.weight)
    return int(net_hpwl(pa2, pos).sum())
