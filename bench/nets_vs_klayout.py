"""Benchmark: net extraction and net-aware spacing, pilotflow vs KLayout.

Builds an array of strapped MET1 bar pairs (MET1 / VIA1 / MET2, one text
label per cell), from about 10 thousand polygons upwards, and times, in the
same process:

* pilotflow: a one-layer ``net_spacing`` rule (:func:`flow.drc.engine.run_drc`,
  one job), which extracts the nets (:func:`flow.drc.nets.extract_nets`) first;
* KLayout (``klayout.db``, flat, one thread): ``LayoutToNetlist`` with the
  same connectivity and labels, plus one plain ``space_check`` of all MET1
  (not net-aware: a lower bound of what a net-aware deck costs).

Measured on the shared 2-core test machine (2026-11-29):

==========  ======  =======  ===========  =========  =====
polygons    nets    markers  pilotflow s  klayout s  ratio
==========  ======  =======  ===========  =========  =====
9,600       3,200   1,600    0.48         0.30       1.57
38,400      12,800  6,400    2.01         1.09       1.85
153,600     51,200  25,600   11.65        6.70       1.74
==========  ======  =======  ===========  =========  =====

Prints one row per size (polygons, nets, seconds each, ratio) and, with
``--json FILE``, writes the table.  Not a test: no assertion on time.

    python bench/nets_vs_klayout.py --sizes 40 80 160
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import gdstk

KIT = """
[pdk]
name = "benchnets"
dbu_um = 0.001
[pdk.connectivity]
connect = [["MET1", "VIA1", "MET2"]]
[layers.MET1]
gds = [10, 0]
label = [10, 10]
purpose = "routing"
[layers.VIA1]
gds = [11, 0]
purpose = "cut"
[layers.MET2]
gds = [12, 0]
purpose = "routing"
[[rules]]
id = "M1.NS"
kind = "net_spacing"
layer = "MET1"
value = 2.0
doc = "MET1 spacing between different nets"
"""


def build(n: int, path: Path) -> int:
    """An n x n array of cells (two strapped bars + a neighbour bar); returns the polygon count."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    count = 0
    for i in range(n):
        for j in range(n):
            x, y = i * 20.0, j * 8.0
            shapes = [
                gdstk.rectangle((x, y), (x + 4, y + 1), layer=10),
                gdstk.rectangle((x + 8, y), (x + 12, y + 1), layer=10),
                gdstk.rectangle((x + 13.5, y), (x + 16, y + 1), layer=10),  # 1.5 um: a different net
                gdstk.rectangle((x + 3, y), (x + 9, y + 1), layer=12),
                gdstk.rectangle((x + 3.2, y + 0.2), (x + 3.8, y + 0.8), layer=11),
                gdstk.rectangle((x + 8.2, y + 0.2), (x + 8.8, y + 0.8), layer=11),
            ]
            top.add(*shapes, gdstk.Label(f"N{i}_{j}", (x + 1, y + 0.5), layer=10, texttype=10))
            count += len(shapes)
    lib.write_gds(str(path))
    return count


def pilotflow_time(gds: Path, kit_path: Path) -> tuple[float, int, int]:
    from flow.drc.engine import run_drc
    from flow.drc.nets import extract_nets
    from flow.geometry.gdsio import read_gds
    from pdk.schema import load_rules_file

    kit = load_rules_file(kit_path)
    shapes = read_gds(gds, kit)
    t = time.perf_counter()
    res = run_drc(shapes, kit)  # extracts the nets, then checks M1.NS
    elapsed = time.perf_counter() - t
    return elapsed, len(extract_nets(shapes, kit).names), res.counts().get("M1.NS", 0)


def klayout_time(gds: Path) -> tuple[float, int]:
    import klayout.db as kdb

    ly = kdb.Layout()
    ly.read(str(gds))
    t = time.perf_counter()
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, ly.top_cell(), []))
    m1 = l2n.make_layer(ly.layer(10, 0), "m1")
    v1 = l2n.make_layer(ly.layer(11, 0), "v1")
    m2 = l2n.make_layer(ly.layer(12, 0), "m2")
    lab = l2n.make_text_layer(ly.layer(10, 10), "lab")
    for x in (m1, v1, m2):
        l2n.connect(x)
    l2n.connect(m1, v1)
    l2n.connect(v1, m2)
    l2n.connect(m1, lab)
    l2n.extract_netlist()
    nets = l2n.netlist().top_circuit_count() and sum(1 for _ in l2n.netlist().circuit_by_name("TOP").each_net())
    kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(10, 0))).merged().space_check(2000)
    return time.perf_counter() - t, nets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[40, 80, 160], help="array sides (polygons = 6 * side^2)")
    ap.add_argument("--json", type=Path, help="write the table as JSON")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        kit = Path(tmp) / "kit.toml"
        kit.write_text(KIT)
        print(f"{'polygons':>10} {'nets':>8} {'markers':>8} {'pilotflow s':>12} {'klayout s':>10} {'ratio':>6}")
        for n in args.sizes:
            gds = Path(tmp) / f"a{n}.gds"
            polys = build(n, gds)
            tp, nets, markers = pilotflow_time(gds, kit)
            tk, knets = klayout_time(gds)
            rows.append({"polygons": polys, "nets": nets, "klayout_nets": knets, "markers": markers, "pilotflow_s": round(tp, 3), "klayout_s": round(tk, 3)})
            print(f"{polys:>10} {nets:>8} {markers:>8} {tp:>12.2f} {tk:>10.2f} {tp / tk:>6.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
