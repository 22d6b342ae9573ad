"""Benchmark: pilotflow's DRC against KLayout on arrays of real sky130 cells.

Builds layouts from 10 thousand to over 1 million polygons by arraying the
sky130 standard cells in ../shared/bench/drc/sky130/cells (flattened, and
hierarchical with references), runs the same rule set (li1 and met1 width and
spacing, mcon enclosure by met1, and three stricter variants that find
markers) with

- pilotflow (``flow.drc.engine.run_drc``): untiled in one process; in tiles
  of ``--tile`` um (default 50) in one process (memory bounded by the tile
  size); and ``jobs=0`` (all cores, tiled automatically from 200k polygons),
- KLayout flat, one thread (``klayout.db.Region`` checks on merged layers),
- KLayout tiled, all threads (``klayout.db.TilingProcessor``, 200 um tiles;
  its counts can exceed the flat ones: a marker crossing a tile border is
  reported by both tiles, outputs are not clipped),

each in its own process so peak memory (max RSS, of the process and of its
largest worker) is its own, and prints a table of seconds, peak MiB,
violation counts and the time ratio.

    python bench/drc_vs_klayout.py [--sizes 10000,100000,1000000] [--tile 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELLS = ROOT.parent / "shared" / "bench" / "drc" / "sky130" / "cells"

RULES_TOML = """
[pdk]
name = "sky130_subset"
version = "0.0.1"
dbu_um = 0.001
[layers.li1]
gds = [67, 20]
purpose = "routing"
[layers.mcon]
gds = [67, 44]
purpose = "cut"
[layers.met1]
gds = [68, 20]
purpose = "routing"
[[rules]]
id = "li.1"
kind = "width"
layer = "li1"
value = 0.17
[[rules]]
id = "li.3"
kind = "spacing"
layer = "li1"
value = 0.17
[[rules]]
id = "m1.1"
kind = "width"
layer = "met1"
value = 0.14
[[rules]]
id = "m1.2"
kind = "spacing"
layer = "met1"
value = 0.14
[[rules]]
id = "m1.4"
kind = "enclosure"
layer = "met1"
other = "mcon"
value = 0.03
# three rules stricter than sky130's, so that markers are found (thousands
# per 10k polygons) and their counts compared
[[rules]]
id = "li.3w"
kind = "spacing"
layer = "li1"
value = 0.3
[[rules]]
id = "m1.1w"
kind = "width"
layer = "met1"
value = 0.3
[[rules]]
id = "m1.4w"
kind = "enclosure"
layer = "met1"
other = "mcon"
value = 0.06
"""
# (rule id, kind, layer, other, value in dbu) for the KLayout side
KL_RULES = [("li.1", "width", (67, 20), None, 170), ("li.3", "space", (67, 20), None, 170),
            ("m1.1", "width", (68, 20), None, 140), ("m1.2", "space", (68, 20), None, 140),
            ("m1.4", "enclosing", (68, 20), (67, 44), 30), ("li.3w", "space", (67, 20), None, 300),
            ("m1.1w", "width", (68, 20), None, 300), ("m1.4w", "enclosing", (68, 20), (67, 44), 60)]


def build(n_target: int, path: Path, flat: bool) -> int:
    """Array the cells side by side in rows until about n_target polygons."""
    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cells = []
    for f in sorted(CELLS.glob("*.gds")):
        src = gdstk.read_gds(str(f))
        for c in src.top_level():
            if c.name not in {x.name for x in lib.cells}:
                for dep in [c, *c.dependencies(True)]:
                    if dep.name not in {x.name for x in lib.cells}:
                        lib.add(dep)
            cells.append(c)
    row = gdstk.Cell("ROW")
    x = 0.0
    per_row = 0
    for c in cells:
        (x0, _), (x1, _) = c.bounding_box()
        row.add(gdstk.Reference(c, (x - x0, 0)))
        x += x1 - x0 + 0.5
        per_row += len(c.get_polygons())
    lib.add(row)
    top = gdstk.Cell("TOP")
    rows = max(1, round(n_target / per_row))
    cols = max(1, int(rows ** 0.5 / 3) or 1)
    nrows = -(-rows // cols)
    top.add(gdstk.Reference(row, (0, 0), columns=cols, rows=nrows, spacing=(x + 1.0, 3.5)))
    lib.add(top)
    if flat:
        top.flatten()
        lib = gdstk.Library(unit=1e-6, precision=1e-9)
        lib.add(top)
    lib.write_gds(str(path))
    return per_row * cols * nrows


def _pilotflow(gds: str, rules: str, jobs: int = 1, tile_um: float | None = 0.0) -> dict:
    from flow.drc.engine import run_drc
    from flow.geometry.gdsio import read_gds
    from pdk.schema import load_rules_file

    from flow.geometry.store import open_layout

    kit = load_rules_file(rules)
    t0 = time.perf_counter()
    # untiled: read whole (gdstk); tiled: streamed to an on-disk store, one tile in memory at a time
    shapes = read_gds(gds, kit, "TOP") if tile_um == 0 else open_layout(gds, kit, "TOP")
    res = run_drc(shapes, kit, jobs=jobs, tile_um=tile_um)
    return {"seconds": time.perf_counter() - t0, "counts": res.counts()}


def _klayout(gds: str, tiled: bool) -> dict:
    import klayout.db as db

    t0 = time.perf_counter()
    ly = db.Layout()
    ly.read(gds)
    top = ly.cell("TOP")
    counts = {}
    if not tiled:
        regions = {}
        for _, _, layer, other, _ in KL_RULES:
            for g in (layer, other):
                if g and g not in regions:
                    r = db.Region(top.begin_shapes_rec(ly.layer(*g)))
                    r.merge()
                    regions[g] = r
        for rid, kind, layer, other, v in KL_RULES:
            a = regions[layer]
            ep = a.width_check(v) if kind == "width" else a.space_check(v) if kind == "space" else a.enclosing_check(regions[other], v)
            counts[rid] = ep.count()
    else:
        for rid, kind, layer, other, v in KL_RULES:
            tp = db.TilingProcessor()
            tp.tile_size(200.0, 200.0)
            tp.tile_border(1.0, 1.0)
            tp.threads = os.cpu_count() or 1
            tp.input("a", ly, top.cell_index(), ly.layer(*layer))
            if other:
                tp.input("b", ly, top.cell_index(), ly.layer(*other))
            out = db.EdgePairs()
            tp.output("o", out)
            expr = {"width": f"a.width_check({v})", "space": f"a.space_check({v})", "enclosing": f"a.enclosing_check(b, {v})"}[kind]
            tp.queue(f"_output(o, {expr}, false)")
            tp.execute(rid)
            counts[rid] = out.count()
    return {"seconds": time.perf_counter() - t0, "counts": {k: v for k, v in counts.items() if v}}


def _child(which: str, gds: str, rules: str) -> None:
    if which == "pilotflow":
        out = _pilotflow(gds, rules, 1, 0.0)
    elif which == "pilotflow-jobs":
        out = _pilotflow(gds, rules, 0, None)
    elif which.startswith("pilotflow-tiled"):
        out = _pilotflow(gds, rules, 1, float(which.split(":")[1]))
    else:
        out = _klayout(gds, which == "klayout-tiled")
    out["max_rss_mib"] = max(_own_peak_kib(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps(out))


def _own_peak_kib() -> int:
    """This process's peak RSS (KiB) since it started its program.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries the parent's
    resident size at fork over exec into it, so every child of a bench
    driver holding a big layout would report at least the driver's size.
    ``VmHWM`` is the high-water mark of this program's own memory map.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(which: str, gds: Path, rules: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, __file__, "--child", which, str(gds), str(rules)], capture_output=True, text=True, env=env)
    if p.returncode:
        return {"error": p.stderr.strip().splitlines()[-1] if p.stderr else f"exit {p.returncode}"}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--tile", type=float, default=50.0, help="tile size (um) of the tiled pilotflow column")
    ap.add_argument("--inputs", default="flat,hierarchical", help="which inputs: flat, hierarchical or both")
    ap.add_argument("--columns", default="pilotflow,tiled,jobs,klayout-flat,klayout-tiled",
                    help="runs to make (a subset of the default; absent ones print as nan)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    if not CELLS.is_dir():
        sys.exit(f"benchmark data not found at {CELLS} (the ../shared/bench folder is absent)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.toml"
        rules.write_text(RULES_TOML)
        cols = set(args.columns.split(","))
        for size in (int(s) for s in args.sizes.split(",")):
            for flat in [f for f in (True, False) if ("flat" if f else "hierarchical") in args.inputs.split(",")]:
                gds = Path(tmp) / f"arr_{size}_{'flat' if flat else 'hier'}.gds"
                n = build(size, gds, flat)
                row = {"polygons": n, "input": "flat" if flat else "hierarchical"}
                tiled = f"pilotflow-tiled:{args.tile:g}"
                for col, which in (("pilotflow", "pilotflow"), ("tiled", tiled), ("jobs", "pilotflow-jobs"),
                                   ("klayout-flat", "klayout-flat"), ("klayout-tiled", "klayout-tiled")):
                    row[which] = measure(which, gds, rules) if col in cols else {"error": "not run"}
                rows.append(row)
                pf, pj, kf, kt = row["pilotflow"], row["pilotflow-jobs"], row["klayout-flat"], row["klayout-tiled"]
                pt = row[tiled]
                ratio = pf["seconds"] / kf["seconds"] if "seconds" in pf and "seconds" in kf else float("nan")
                ratio_j = pj["seconds"] / kf["seconds"] if "seconds" in pj and "seconds" in kf else float("nan")
                ratio_t = pt["seconds"] / kf["seconds"] if "seconds" in pt and "seconds" in kf else float("nan")
                # KLayout tiled is left out: it reports a marker crossing one of its
                # tile borders once per tile (outputs not clipped), so it can count more
                ran = [r for r in (pf, pt, pj, kf) if r.get("error") != "not run"]
                same = all(r.get("counts") == ran[0].get("counts") for r in ran)
                print(
                    f"{n:>9} {row['input']:>12} | pilotflow {pf.get('seconds', float('nan')):7.2f} s {pf.get('max_rss_mib', 0):7.0f} MiB"
                    f" | pilotflow tiled {args.tile:g} um {pt.get('seconds', float('nan')):7.2f} s {pt.get('max_rss_mib', 0):7.0f} MiB"
                    f" | pilotflow all cores {pj.get('seconds', float('nan')):7.2f} s {pj.get('max_rss_mib', 0):7.0f} MiB"
                    f" | klayout flat {kf.get('seconds', float('nan')):7.2f} s {kf.get('max_rss_mib', 0):7.0f} MiB"
                    f" | klayout tiled {kt.get('seconds', float('nan')):7.2f} s {kt.get('max_rss_mib', 0):7.0f} MiB"
                    f" | ratio pf/kl-flat {ratio:5.2f} (tiled {ratio_t:5.2f}, all cores {ratio_j:5.2f}) | counts equal (pilotflow runs, klayout flat): {same}",
                    flush=True,
                )
                if not same:
                    for name, r in (("pilotflow", pf), ("pilotflow tiled", pt), ("pilotflow all cores", pj), ("klayout flat", kf), ("klayout tiled", kt)):
                        print(f"    {name:20} {r.get('counts', r.get('error'))}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
