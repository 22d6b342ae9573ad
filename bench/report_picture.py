"""Benchmark: the run report's layout picture on large layouts, against
KLayout's own renderer.

Builds gan650 layouts of N rectangles (random MET1/MET2 wires of 3-40 um
and VIA1 cuts of 2 um on a die growing with N, so the density stays
alike), writes them as GDS, then in the same run

- pilotflow: ``read_gds`` + :func:`flow.report.pictures.layout_picture`
  (900 px, the report's default bounds): seconds, SVG size, outlines
  drawn, what was simplified;
- KLayout (``klayout.lay.LayoutView``, the pip module): load the GDS and the
  kit's ``.lyp`` from ``pdk export-klayout``, save a 900 x 900 PNG: seconds,
  PNG size;

and prints a table (optionally JSON).  Each tool runs in its own process so
imports and memory are its own; time includes reading the GDS.

    python bench/report_picture.py [--sizes 10000,100000,300000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_OURS = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import pdk
from flow.geometry.gdsio import read_gds
from flow.report.pictures import layout_picture
kit = pdk.load("gan650")
t = time.perf_counter()
shapes = read_gds({gds!r}, kit)
pic = layout_picture(shapes, kit, None)
svg = str(pic.svg)
dt = time.perf_counter() - t
import re
pts = sum(d.count("M") for d in re.findall(r' d="([^"]+)"', svg))
print(json.dumps({{"seconds": dt, "bytes": len(svg.encode()), "outlines": pts, "notes": pic.notes,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

_KLAYOUT = r"""
import json, resource, time
import klayout.lay as lay
t = time.perf_counter()
view = lay.LayoutView()
view.load_layout({gds!r}, True)
view.load_layer_props({lyp!r})
view.max_hier()
view.zoom_fit()
view.save_image({png!r}, 900, 900)
dt = time.perf_counter() - t
import os
print(json.dumps({{"seconds": dt, "bytes": os.path.getsize({png!r}),
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def make_gds(n: int, path: Path) -> None:
    import gdstk
    import numpy as np

    sys.path.insert(0, str(ROOT))
    import pdk

    kit = pdk.load("gan650")
    rng = np.random.default_rng(1)
    side = int(200 * np.sqrt(n))  # um: about 40 000 um^2 per shape
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("top")
    m1, m2, v1 = kit.layers["MET1"].gds, kit.layers["MET2"].gds, kit.layers["VIA1"].gds
    kinds = rng.integers(0, 3, n)
    x = rng.uniform(0, side, n)
    y = rng.uniform(0, side, n)
    length = rng.uniform(3, 40, n)
    width = rng.uniform(3, 8, n)
    for k, xx, yy, ll, ww in zip(kinds.tolist(), x.tolist(), y.tolist(), length.tolist(), width.tolist()):
        if k == 0:
            cell.add(gdstk.rectangle((xx, yy), (xx + ll, yy + ww), layer=m1[0], datatype=m1[1]))
        elif k == 1:
            cell.add(gdstk.rectangle((xx, yy), (xx + ww, yy + ll), layer=m2[0], datatype=m2[1]))
        else:
            cell.add(gdstk.rectangle((xx, yy), (xx + 2, yy + 2), layer=v1[0], datatype=v1[1]))
    lib.write_gds(str(path))


def run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,300000")
    ap.add_argument("--json")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import pdk
    from pdk.export import export_klayout

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lyp = export_klayout(pdk.load("gan650"), tmp / "kl").lyp
        for n in [int(s) for s in args.sizes.split(",")]:
            gds = tmp / f"top_{n}.gds"
            make_gds(n, gds)
            ours = run(_OURS.format(root=str(ROOT), gds=str(gds)))
            kl = run(_KLAYOUT.format(gds=str(gds), lyp=str(lyp), png=str(tmp / f"top_{n}.png")))
            rows.append({"shapes": n, "pilotflow": ours, "klayout": kl})
            print(f"{n:>8} shapes | pilotflow {ours.get('seconds', float('nan')):7.2f} s "
                  f"{ours.get('bytes', 0) / 1024:8.0f} KiB SVG {ours.get('outlines', 0):>7} outlines "
                  f"{ours.get('rss_mib', 0):6.0f} MiB | KLayout {kl.get('seconds', float('nan')):7.2f} s "
                  f"{kl.get('bytes', 0) / 1024:6.0f} KiB PNG {kl.get('rss_mib', 0):6.0f} MiB"
                  + (f" | {kl['error']}" if "error" in kl else "") + (f" | {ours['error']}" if "error" in ours else ""))
            for note in ours.get("notes", []):
                print(f"{'':>8}          simplified: {note}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
