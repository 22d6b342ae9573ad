"""Benchmark: peak memory of tiled DRC against tile size and layout size.

A tiled run (``flow.drc.engine.run_drc`` on a :class:`flow.geometry.store.ShapeStore`)
streams the GDS to an on-disk per-layer store and reads one tile at a time,
so its peak memory should follow the tile size, not the layout size.  This
script measures it on the flattened sky130 cell arrays of
``bench/drc_vs_klayout.py`` (same rule set), each run in its own process
(max RSS), side by side with KLayout flat (one thread) and KLayout tiled
(``TilingProcessor``, all threads) in the same script run:

- layout size: ``--sizes`` (default 250k, 500k, 1M polygons) at ``--tile`` um;
- tile size: ``--tiles`` (default 25, 50, 100, 200 um) at ``--tiles-at``
  polygons (default the largest size).

    python bench/drc_memory.py [--sizes 250000,500000,1000000] [--tile 50] [--tiles 25,50,100,200] [--tiles-at N] [--notch] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drc_vs_klayout as B  # noqa: E402


def _fmt(r: dict) -> str:
    if "seconds" not in r:
        return f"error: {r.get('error')}"
    return f"{r['seconds']:7.1f} s {r['max_rss_mib']:7.0f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="250000,500000,1000000")
    ap.add_argument("--tile", type=float, default=50.0)
    ap.add_argument("--tiles", default="25,50,100,200")
    ap.add_argument("--tiles-at", type=int, default=0, help="layout size of the tile-size sweep [default: the largest of --sizes]")
    ap.add_argument("--notch", action="store_true",
                    help="add a notch rule on met1 (run on the whole layer even when tiled) and show what it costs")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not B.CELLS.is_dir():
        sys.exit(f"benchmark data not found at {B.CELLS} (the ../shared/bench folder is absent)")
    sizes = [int(s) for s in args.sizes.split(",")]
    tiles = [float(t) for t in args.tiles.split(",")]
    out: dict = {"by_size": [], "by_tile": []}
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.toml"
        rules.write_text(B.RULES_TOML)
        notch_rules = Path(tmp) / "rules_notch.toml"
        notch_rules.write_text(B.RULES_TOML + '[[rules]]\nid = "m1.notch"\nkind = "notch"\nlayer = "met1"\nvalue = 0.3\n')
        print(f"peak memory vs layout size (flat input, tile {args.tile:g} um, one process)")
        for size in sizes:
            gds = Path(tmp) / f"arr_{size}.gds"
            n = B.build(size, gds, True)
            row = {"polygons": n, "gds_mib": gds.stat().st_size / 2**20}
            for which in (f"pilotflow-tiled:{args.tile:g}", "klayout-flat", "klayout-tiled"):
                row[which] = B.measure(which, gds, rules)
            if args.notch:
                row["notch"] = B.measure(f"pilotflow-tiled:{args.tile:g}", gds, notch_rules)
                print(f"{n:>9} polygons | pilotflow tiled + notch on met1 (whole layer) {_fmt(row['notch'])}"
                      f" | m1.notch markers {row['notch'].get('counts', {}).get('m1.notch', 0)}", flush=True)
            out["by_size"].append(row)
            pt, kf, kt = row[f"pilotflow-tiled:{args.tile:g}"], row["klayout-flat"], row["klayout-tiled"]
            # the reference is KLayout flat: KLayout tiled reports a marker crossing
            # one of its tile borders once per tile (outputs are not clipped)
            same = pt.get("counts") == kf.get("counts")
            print(f"{n:>9} polygons ({row['gds_mib']:5.0f} MiB GDS) | pilotflow tiled {_fmt(pt)} | klayout flat {_fmt(kf)}"
                  f" | klayout tiled {_fmt(kt)} | pilotflow counts = klayout flat: {same}", flush=True)
            if not same:
                for name, r in (("pilotflow tiled", pt), ("klayout flat", kf), ("klayout tiled", kt)):
                    print(f"    {name:16} {r.get('counts', r.get('error'))}", flush=True)
            at = args.tiles_at or sizes[-1]
            if size == at:
                print(f"peak memory vs tile size ({n} polygons, flat input, one process)")
                for t in tiles:
                    r = B.measure(f"pilotflow-tiled:{t:g}", gds, rules)
                    out["by_tile"].append({"tile_um": t, "polygons": n, "result": r})
                    print(f"tile {t:6g} um | pilotflow tiled {_fmt(r)} | counts equal to klayout flat: {r.get('counts') == kf.get('counts')}", flush=True)
                print(f"(continuing: peak memory vs layout size, tile {args.tile:g} um)")
            gds.unlink()
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
