"""Benchmark: pilotflow's placer vs. Debian's graywolf (TimberWolfSC, qflow's placer).

Not a test: prints a table (and writes JSON with --json FILE).

graywolf reads a ``.cel`` netlist (cells with their box and pin offsets from
the cell centre, I/O pins as ``pad`` objects) and a ``.par`` technology file,
chooses its own rows (it packs the cells into rows with no white space but
feed-throughs) and puts the I/O pins around them, and writes the placement
as ``.pl1`` (cells and pins: lower-left, upper-right, orientation, row) and
the rows as ``.pl2``.  This script writes those inputs from the LEF/DEF model
(the gcd netlist ``simple01.def`` on Nangate45, as qflow's ``blif2cel.tcl``
would from a BLIF netlist), runs ``graywolf -n``, reads its placement back
into a DEF (rows, cells, I/O pins, in the DEF's database units) and checks it
with :func:`check_def_placement`.

Then pilotflow places the same netlist on **graywolf's own floorplan**: the
same rows and the same I/O pin positions (a DEF with graywolf's rows and pins
and every cell unplaced), so the two results differ only by where the cells
go.  HPWL is computed the same way for both (OpenROAD's ``report_hpwl``
method, :func:`def_hpwl`: per net, the bounding box of its instances' boxes
and I/O pin boxes; the pin-to-pin HPWL too).  Times are wall clock and CPU
(graywolf's from its child processes); the machine is shared, so CPU time is
the fairer figure.

    python bench/place_vs_graywolf.py [--bench DIR] [--graywolf PATH] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flow.lefdef import read_def, read_lef  # noqa: E402
from flow.lefdef.def_ import Component, Def, DefPin, Row  # noqa: E402
from flow.lefdef.lef import Library  # noqa: E402
from flow.lefdef.placer import check_def_placement, core_site, def_hpwl, def_pin_hpwl, place_def  # noqa: E402

_POWER = ("POWER", "GROUND")
#: graywolf orientation codes (as qflow's place2def.tcl reads them).
_GW_ORIENT = {0: "N", 1: "FS", 2: "FN", 3: "S", 4: "FE", 5: "FW", 6: "W", 7: "E"}


def _dbu(v: float, dbu: int) -> int:
    return int(round(v * dbu))


def write_graywolf_inputs(d: Def, lib: Library, folder: Path, name: str, *, pad_half: int, aspect: float = 1.0, fill_sites: int = 0) -> None:
    """``name.cel`` and ``name.par`` for graywolf, in the DEF's database units.

    Cells: box centred on the origin (``left right bottom top``), each signal
    pin at its LEF port centre relative to the cell centre (on layer 1, as
    blif2cel does for metal1 pins).  I/O pins: ``pad`` objects of
    ``2 * pad_half`` square with one pin at their centre.  Power and ground
    pins and unconnected pins are left out.  graywolf packs its rows with no
    white space, so ``fill_sites`` one-site filler cells without pins
    (``twfill_*``) are added to reach a chosen density, as qflow's
    ``decongest.tcl`` adds fill cells.
    """
    dbu = d.dbu
    net_of: dict[tuple[str, str], str] = {}
    for n in d.nets:
        if n.use in _POWER:
            continue
        for inst, pin in n.conns:
            net_of[(inst, pin)] = n.name
    out: list[str] = []
    for i, c in enumerate(d.components, 1):
        m = lib.macros[c.macro]
        w, h = _dbu(m.w, dbu), _dbu(m.h, dbu)
        left, bottom = -(w // 2), -(h // 2)
        out.append(f"cell {i} {c.name}")
        out.append(f"left {left} right {left + w} bottom {bottom} top {bottom + h}")
        for pn, p in m.pins.items():
            net = net_of.get((c.name, pn))
            cen = p.centre()
            if net is None or p.use in _POWER or cen is None:
                continue
            out.append(f"pin name {pn} signal {net} layer 1 {_dbu(cen[0], dbu) + left} {_dbu(cen[1], dbu) + bottom}")
    site = core_site(lib)
    sw, sh = _dbu(site.w, dbu), _dbu(site.h, dbu)
    for j in range(fill_sites):
        out.append(f"cell {len(d.components) + j + 1} twfill_{j}")
        out.append(f"left {-(sw // 2)} right {sw - sw // 2} bottom {-(sh // 2)} top {sh - sh // 2}")
    k = 0
    for p in d.pins:
        net = net_of.get(("PIN", p.name))
        if net is None:
            continue
        k += 1
        s = pad_half
        out.append(f"pad {k} name twpin_{p.name}")
        out.append(f"corners 4 {-s} {-s} {-s} {s} {s} {s} {s} {-s}")
        out.append(f"pin name {p.name} signal {net} layer 1 0 0")
        out.append("")
    (folder / f"{name}.cel").write_text("\n".join(out) + "\n")
    routing = [lay for lay in lib.layers.values() if lay.type == "ROUTING"][:4]
    rules = ["RULES"]
    for lay in routing:
        rules.append(f"    layer {lay.name} 0.07 0.03 {lay.direction.lower() or 'horizontal'}")
    for a, b in zip(routing, routing[1:]):
        rules.append(f"    via via_{a.name} {a.name} {b.name}")
    for lay in routing:
        wd = _dbu(lay.width, dbu)
        rules.append(f"    width {lay.name} {wd}")
        rules.append(f"    spacing {lay.name} {lay.name} {max(1, _dbu(lay.pitch, dbu) - wd)}")
    for a, b in zip(routing, routing[1:]):
        rules.append(f"    width via_{a.name} {_dbu(a.width, dbu)}")
    rules.append("ENDRULES")
    par = rules + [
        "",
        "*vertical_wire_weight : 1.0",
        "*vertical_path_weight : 1.0",
        "*padspacing : variable",
        "*rowSep : 0.0 0",
        f"*track.pitch : {sw}",
        f"*minimum_pad_space : {2 * pad_half}",
        f"*gridX : {sw}",
        f"*gridY : {sh}",
        "*gridOffsetX : 0",
        "*gridOffsetY : 0",
        "*graphics.wait : off",
        "*last_chance.wait : off",
        "*random.seed : 12345",
        "",
        f"TWMC*chip.aspect.ratio : {aspect}",
        "",
        f"TWSC*feedThruWidth : {sw} layer 1",
        "TWSC*do.global.route : on",
        "TWSC*ignore_feeds : true",
        "TWSC*call_row_evener : true",
        "TWSC*even_rows_maximally : true",
        "",
        "GENR*row_to_tile_spacing: 1",
        "GENR*flip_alternate_rows : 1",
    ]
    (folder / f"{name}.par").write_text("\n".join(par) + "\n")


def _read_boxes(path: Path) -> list[list[str]]:
    return [ln.split() for ln in path.read_text().splitlines() if ln.strip()]


def read_graywolf_result(d: Def, lib: Library, folder: Path, name: str, *, pad_half: int) -> Def:
    """graywolf's ``.pl1`` / ``.pl2`` as a placed DEF (same netlist as ``d``).

    Coordinates are shifted so that the lower-left of everything (rows and
    pins) is (0, 0).  Each row gets the orientation of its cells (N or FS;
    a mirrored FN / S cell counts as its row's orientation when the macro is
    Y-symmetric, as the legality check allows).  Filler cells
    (``twfill_*``) are dropped: their room becomes white space.
    """
    pl1 = _read_boxes(folder / f"{name}.pl1")
    pl2 = [r for r in _read_boxes(folder / f"{name}.pl2") if not r[0].startswith("twpin_")]
    site = core_site(lib)
    sw = _dbu(site.w, d.dbu)
    xs = [int(r[1]) for r in pl1] + [int(r[1]) for r in pl2]
    ys = [int(r[2]) for r in pl1] + [int(r[2]) for r in pl2]
    x1s = [int(r[3]) for r in pl1] + [int(r[3]) for r in pl2]
    y1s = [int(r[4]) for r in pl1] + [int(r[4]) for r in pl2]
    ox, oy = min(xs), min(ys)
    die = (0, 0, max(x1s) - ox, max(y1s) - oy)
    comps = {c.name: c for c in d.components}
    placed: dict[str, tuple[int, int, str, int]] = {}
    pins: dict[str, tuple[int, int]] = {}
    for r in pl1:
        nm, x0, y0, x1, y1, orient, row = r[0], int(r[1]) - ox, int(r[2]) - oy, int(r[3]) - ox, int(r[4]) - oy, int(r[5]), int(r[6])
        if nm.startswith("twfill_"):
            continue
        if nm.startswith("twpin_"):
            pins[nm[len("twpin_"):]] = ((x0 + x1) // 2, (y0 + y1) // 2)
        else:
            placed[nm] = (x0, y0, _GW_ORIENT[orient], row)
    row_orient: dict[int, str] = {}
    for nm, (_, _, o, row) in placed.items():
        row_orient.setdefault(row, {"N": "N", "FN": "N", "FS": "FS", "S": "FS"}.get(o, "N"))
    rows = []
    for r in pl2:
        k, x0, y0, x1 = int(r[0]), int(r[1]) - ox, int(r[2]) - oy, int(r[3]) - ox
        rows.append(Row(f"GW_ROW_{k}", site.name, x0, y0, row_orient.get(k, "N"), (x1 - x0) // sw, 1, sw, 0))
    new_comps = []
    for c in d.components:
        if c.name not in placed:
            raise RuntimeError(f"graywolf did not place '{c.name}'")
        x, y, o, _ = placed[c.name]
        new_comps.append(replace(c, status="PLACED", x=x, y=y, orient=o))
    new_pins = []
    for p in d.pins:
        if p.name in pins:
            x, y = pins[p.name]
            new_pins.append(replace(p, rect=(-pad_half // 2, -pad_half // 2, pad_half // 2, pad_half // 2), status="FIXED", x=x, y=y, orient="N", raw=None))
        else:
            new_pins.append(p)
    items = [("DESIGN", ""), ("UNITS", ""), ("DIEAREA", ""), ("ROW", ""), ("COMPONENTS", ""), ("PINS", ""), ("NETS", "")]
    assert all(c.name in comps for c in new_comps)
    return Def(d.design, d.dbu, die, rows, new_comps, new_pins, list(d.nets), items=items)


def run_graywolf(exe: str, folder: Path, name: str) -> tuple[float, float]:
    """Run ``graywolf -n name`` in ``folder``; (wall s, CPU s of its processes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run([exe, "-n", name], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0 or not (folder / f"{name}.pl1").is_file():
        tail = "\n".join(r.stdout.splitlines()[-15:])
        raise RuntimeError(f"graywolf failed (exit {r.returncode}):\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=ROOT.parent / "shared" / "bench" / "lefdef", help="folder with nangate45/ and gcd/")
    ap.add_argument("--graywolf", default=shutil.which("graywolf") or "/usr/bin/graywolf")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--density", type=float, help="row density for both (default: the input DEF's cell sites / row sites)")
    ap.add_argument("--keep", type=Path, help="keep graywolf's files in this folder")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    b = args.bench
    if not (b / "nangate45" / "Nangate45.lef").is_file():
        sys.exit(f"benchmark files not found under {b}")
    if not os.access(args.graywolf, os.X_OK):
        sys.exit(f"graywolf not found ({args.graywolf}); apt-get install graywolf")
    lib = read_lef(b / "nangate45" / "Nangate45.lef")
    d = read_def(b / "gcd" / "simple01.def")
    pad_half = _dbu(0.07, d.dbu)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="gw_"))
    folder.mkdir(parents=True, exist_ok=True)
    name = d.design or "design"
    # graywolf's rows get the input design's density through filler cells
    dbu = d.dbu
    site = core_site(lib)
    sw = _dbu(site.w, dbu)
    cell_sites = sum(-(-_dbu(lib.macros[c.macro].w, dbu) // sw) for c in d.components)
    row_sites = sum(r.nx * r.ny for r in d.rows)
    density = args.density or cell_sites / row_sites
    fill = max(0, int(round(cell_sites / density)) - cell_sites)
    write_graywolf_inputs(d, lib, folder, name, pad_half=pad_half, fill_sites=fill)
    gw_wall, gw_cpu = run_graywolf(args.graywolf, folder, name)
    gw = read_graywolf_result(d, lib, folder, name, pad_half=pad_half)
    gw_problems = check_def_placement(gw, lib)
    # pilotflow on graywolf's floorplan: same rows, same pins, cells unplaced
    start = replace(gw, components=[replace(c, status="UNPLACED", x=0, y=0, orient="N") for c in gw.components])
    c0 = time.process_time()
    t = time.perf_counter()
    pf, rep = place_def(start, lib, seed=args.seed)
    pf_wall = time.perf_counter() - t
    pf_cpu = time.process_time() - c0
    pf_problems = check_def_placement(pf, lib)
    um = float(d.dbu)
    row = {
        "design": f"{name} ({len(d.components)} cells, {len(gw.rows)} graywolf rows)",
        "utilisation": rep.utilisation,
        "graywolf_box_um": def_hpwl(gw, lib) / um, "graywolf_pin_um": def_pin_hpwl(gw, lib) / um,
        "graywolf_legal": not gw_problems, "graywolf_problems": gw_problems[:5],
        "graywolf_wall_s": gw_wall, "graywolf_cpu_s": gw_cpu,
        "pilotflow_box_um": def_hpwl(pf, lib) / um, "pilotflow_pin_um": def_pin_hpwl(pf, lib) / um,
        "pilotflow_legal": not pf_problems, "pilotflow_wall_s": pf_wall, "pilotflow_cpu_s": pf_cpu,
    }
    row["ratio_box"] = row["pilotflow_box_um"] / row["graywolf_box_um"]
    row["ratio_pin"] = row["pilotflow_pin_um"] / row["graywolf_pin_um"]
    row["ratio_cpu"] = pf_cpu / gw_cpu if gw_cpu > 0 else float("inf")
    row["ratio_wall"] = pf_wall / gw_wall
    head = ["design", "util", "graywolf HPWL box um", "legal", "pilotflow HPWL box um", "legal", "ratio box",
            "graywolf pin um", "pilotflow pin um", "ratio pin", "graywolf s wall/CPU", "pilotflow s wall/CPU", "ratio CPU"]
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    print(" | ".join([row["design"], f"{row['utilisation']:.2f}", f"{row['graywolf_box_um']:.1f}", "yes" if row["graywolf_legal"] else "NO",
                      f"{row['pilotflow_box_um']:.1f}", "yes" if row["pilotflow_legal"] else "NO", f"{row['ratio_box']:.3f}",
                      f"{row['graywolf_pin_um']:.1f}", f"{row['pilotflow_pin_um']:.1f}", f"{row['ratio_pin']:.3f}",
                      f"{gw_wall:.2f} / {gw_cpu:.2f}", f"{pf_wall:.2f} / {pf_cpu:.2f}", f"{row['ratio_cpu']:.2f}"]))
    if gw_problems:
        print(f"graywolf placement problems ({len(gw_problems)}): " + "; ".join(gw_problems[:3]))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
