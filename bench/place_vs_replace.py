"""Benchmark: pilotflow's legal standard-cell placement vs. RePlAce/OpenROAD.

Not a test: prints a table (and writes JSON with --json FILE).

* ``simple01``: the gcd netlist of OpenROAD's ``gpl`` test (Nangate45,
  ``simple01.def``) placed by ``pilotflow place``, against RePlAce's global
  placement of the same netlist (``simple01.defok``, written by
  ``global_placement -init_density_penalty 0.01 -skip_initial_place``).
* ``gcd_preroute``: the same design from OpenROAD's full flow
  (``gcd_nangate45_preroute.def``, detailed-placed, fillers and tap cells in),
  re-placed by pilotflow (movable fillers dropped, fixed tap cells kept).

HPWL is computed for both placements the same way, as OpenROAD's
``report_hpwl.tcl``: per net, the bounding box of its instances' *boxes*
and its I/O pins' boxes ("box" column); the pin-to-pin HPWL is also shown.
RePlAce's runtime is not measured here (no OpenROAD binary on this machine;
its result file comes from OpenROAD's test suite).

    python bench/place_vs_replace.py [--bench DIR] [--seed N] [--density D] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flow.lefdef import read_def, read_lef  # noqa: E402
from flow.lefdef.placer import check_def_placement, def_hpwl, def_pin_hpwl, place_def  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=ROOT.parent / "shared" / "bench" / "lefdef", help="folder with nangate45/ and gcd/")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--density", type=float, default=0.9, help="pilotflow's target density")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    b = args.bench
    if not (b / "nangate45" / "Nangate45.lef").is_file():
        sys.exit(f"benchmark files not found under {b}")
    lib = read_lef(b / "nangate45" / "Nangate45.lef")
    cases = [("simple01", b / "gcd" / "simple01.def", b / "gcd" / "simple01.defok", "RePlAce global placement"),
             ("gcd_preroute", b / "gcd" / "gcd_nangate45_preroute.def", b / "gcd" / "gcd_nangate45_preroute.def", "OpenROAD detailed placement")]
    rows = []
    for name, src, ref_file, ref_kind in cases:
        d = read_def(src)
        ref = read_def(ref_file)
        t = time.perf_counter()
        out, rep = place_def(d, lib, seed=args.seed, target_density=args.density)
        secs = time.perf_counter() - t
        legal = not check_def_placement(out, lib)
        ref_legal = not check_def_placement(ref, lib)
        box, ref_box = def_hpwl(out, lib), def_hpwl(ref, lib)
        pin, ref_pin = def_pin_hpwl(out, lib), def_pin_hpwl(ref, lib)
        um = float(d.dbu)
        rows.append({
            "design": name, "cells": rep.cells, "reference": ref_kind,
            "ref_box_um": ref_box / um, "ref_pin_um": ref_pin / um, "ref_legal": ref_legal,
            "box_um": box / um, "pin_um": pin / um, "legal": legal,
            "ratio_box": box / ref_box, "ratio_pin": pin / ref_pin, "seconds": secs,
            "hpwl_global_um": rep.hpwl_global / um, "hpwl_legal_um": rep.hpwl_legal / um,
        })
    head = ["design", "cells", "reference", "ref HPWL box um", "ref legal", "pilotflow HPWL box um", "legal",
            "ratio box", "ref pin um", "pilotflow pin um", "ratio pin", "pilotflow s"]
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        print(" | ".join([r["design"], str(r["cells"]), r["reference"], f"{r['ref_box_um']:.1f}", "yes" if r["ref_legal"] else "no",
                          f"{r['box_um']:.1f}", "yes" if r["legal"] else "NO", f"{r['ratio_box']:.3f}",
                          f"{r['ref_pin_um']:.1f}", f"{r['pin_um']:.1f}", f"{r['ratio_pin']:.3f}", f"{r['seconds']:.2f}"]))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
