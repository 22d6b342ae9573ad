"""Benchmark: time and memory of ``pilotflow place`` on synthetic netlists.

Not a test: prints a table (and writes JSON with --json FILE).  Each netlist
has N cells of four sizes laid out on a hidden square grid; every cell
drives a 2-4 pin net to cells a few grid steps away (plus a few long nets),
and 64 I/O pins sit on the die edge, so a good placement exists.  The
local nets' HPWL per cell should stay flat as N grows; the 2 % of sinks
picked at random anywhere make nets about as long as the die side, which
grows like sqrt(N), so the total HPWL per cell grows too.  Rows are made
for 60 % utilisation.  Each size runs in a child process: its peak RSS is
that size's memory; CPU time is reported besides wall time because the
machine is shared.

    python bench/place_scaling.py [--sizes 1000,5000,20000,50000,100000,200000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flow.lefdef import read_lef  # noqa: E402
from flow.lefdef.def_ import Component, Def, DefNet, DefPin  # noqa: E402
from flow.lefdef.placer import check_def_placement, make_rows, place_def  # noqa: E402

LEF = """UNITS DATABASE MICRONS 1000 ; END UNITS
LAYER M1 TYPE ROUTING ; DIRECTION HORIZONTAL ; WIDTH 0.1 ; END M1
LAYER M2 TYPE ROUTING ; DIRECTION VERTICAL ; WIDTH 0.1 ; END M2
SITE core CLASS CORE ; SIZE 0.2 BY 1.4 ; END core
""" + "".join(
    f"MACRO C{k} CLASS CORE ; SIZE {0.2 * k:.1f} BY 1.4 ; SITE core ;\n"
    f"  PIN A PORT LAYER M1 ; RECT 0.05 0.6 0.1 0.8 ; END END A\n"
    f"  PIN B PORT LAYER M1 ; RECT {0.2 * k - 0.15:.2f} 0.6 {0.2 * k - 0.1:.2f} 0.8 ; END END B\n"
    f"  PIN Y PORT LAYER M1 ; RECT {0.1 * k:.2f} 0.3 {0.1 * k + 0.05:.2f} 0.5 ; END END Y\nEND C{k}\n"
    for k in (2, 3, 4, 6)
) + "END LIBRARY\n"


def synthetic(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    lib = read_lef("synthetic.lef", text=LEF)
    kinds = rng.choice([2, 3, 4, 6], size=n, p=[0.4, 0.3, 0.2, 0.1])
    area = float((kinds * 0.2 * 1.4).sum())
    side = math.sqrt(area / 0.6)
    die = (0, 0, int(side * 1000) // 200 * 200, int(side * 1000) // 1400 * 1400)
    g = int(math.ceil(math.sqrt(n)))
    comps = [Component(f"u{i}", f"C{kinds[i]}") for i in range(n)]
    nets = []
    ins = {i: ["A", "B"] for i in range(n)}
    for i in range(n):
        gx, gy = i % g, i // g
        fan = int(rng.integers(1, 4))
        conns = [(f"u{i}", "Y")]
        for _ in range(fan):
            if rng.random() < 0.02:
                j = int(rng.integers(0, n))
            else:
                jx = min(g - 1, max(0, gx + int(rng.integers(-3, 4))))
                jy = min(g - 1, max(0, gy + int(rng.integers(-3, 4))))
                j = min(n - 1, jy * g + jx)
            if j != i and ins[j]:
                conns.append((f"u{j}", ins[j].pop()))
        if len(conns) >= 2:
            nets.append(DefNet(f"n{i}", conns))
    pins = []
    x1, y1 = die[2], die[3]
    for k in range(64):
        s = k / 64 * 2 * (x1 + y1)
        if s < x1:
            x, y, o = int(s), 0, "N"
        elif s < x1 + y1:
            x, y, o = x1, int(s - x1), "W"
        elif s < 2 * x1 + y1:
            x, y, o = int(x1 - (s - x1 - y1)), y1, "S"
        else:
            x, y, o = 0, int(y1 - (s - 2 * x1 - y1)), "E"
        # the pin drives the cells at the matching place of the hidden grid
        fx, fy = min(x / x1, 0.999), min(y / y1, 0.999)
        j = min(n - 1, int(fy * g) * g + int(fx * g))
        pins.append(DefPin(f"p{k}", f"io{k}", "INPUT", "SIGNAL", "M2", (-50, 0, 50, 100), "FIXED", x, y, o))
        if ins[j]:
            nets.append(DefNet(f"io{k}", [("PIN", f"p{k}"), (f"u{j}", ins[j].pop())]))
    rows = make_rows(die, lib.sites["core"], 1000)
    items = [("DESIGN", ""), ("UNITS", ""), ("DIEAREA", ""), ("ROW", ""), ("COMPONENTS", ""), ("PINS", ""), ("NETS", "")]
    return lib, Def(f"synth{n}", 1000, die, rows, comps, pins, nets, items=items)


def run_one(n: int) -> dict:
    """Place the n-cell netlist in this process; figures as a dict."""
    lib, d = synthetic(n)
    c = time.process_time()
    t = time.perf_counter()
    placed, rep = place_def(d, lib)
    secs = time.perf_counter() - t
    cpu = time.process_time() - c
    t2 = time.perf_counter()
    problems = check_def_placement(placed, lib)
    check_s = time.perf_counter() - t2
    return {"cells": n, "seconds": secs, "cpu_s": cpu, **{f"{k}_s": v for k, v in rep.seconds.items() if k != "total"},
            "check_s": check_s, "legal": not problems, "problems": problems[:3], "hpwl_um": rep.hpwl_box / 1000,
            "hpwl_um_per_cell": rep.hpwl_box / 1000 / n, "utilisation": rep.utilisation}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,5000,20000,50000,100000,200000")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: place one size, print JSON
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    out = []
    for n in (int(v) for v in args.sizes.split(",")):
        # each size in its own process: its peak RSS is that size's memory
        t = time.perf_counter()
        r = subprocess.run([sys.executable, __file__, "--one", str(n)], stdout=subprocess.PIPE, text=True)
        if r.returncode != 0:
            out.append({"cells": n, "error": f"exit {r.returncode}", "seconds": time.perf_counter() - t})
            print(out[-1], flush=True)
            continue
        row = json.loads(r.stdout.strip().splitlines()[-1])
        row["max_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out.append(row)
        print(row, flush=True)
    head = ["cells", "total s (wall)", "CPU s", "global s", "legalize s", "detail s", "check s", "legal", "HPWL um", "HPWL/cell um", "peak RSS MB"]
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in out:
        if "error" in r:
            print(f"{r['cells']} | failed ({r['error']}) after {r['seconds']:.0f} s")
            continue
        print(" | ".join([str(r["cells"]), f"{r['seconds']:.1f}", f"{r['cpu_s']:.1f}", f"{r.get('global_s', 0):.1f}", f"{r.get('legalize_s', 0):.1f}",
                          f"{r.get('detail_s', 0):.1f}", f"{r['check_s']:.1f}", "yes" if r["legal"] else "NO",
                          f"{r['hpwl_um']:.0f}", f"{r['hpwl_um_per_cell']:.2f}", f"{r['max_rss_mb']:.0f}"]))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
