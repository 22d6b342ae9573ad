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

``--notch`` adds notch rules on li1 and met1, ``--nets`` net_spacing rules
on li1, met1 and li1 to met1 (nets traced through li1 - mcon - met1): both
need connectivity over the whole layout, computed in a first streamed pass
over the tiles (:mod:`flow.drc.labels`); each is measured as an extra rule
set at every layout size and tile size, so the table shows whether memory
still follows the tile size with them.

    python bench/drc_memory.py [--sizes 250000,500000,1000000] [--tile 50] [--tiles 25,50,100,200] [--tiles-at N] [--notch] [--nets] [--json out.json]
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


NOTCH_RULES = """
[[rules]]
id = "li.notch"
kind = "notch"
layer = "li1"
value = 0.5
[[rules]]
id = "m1.notch"
kind = "notch"
layer = "met1"
value = 0.3
"""

NET_RULES = """
[[rules]]
id = "li.ns"
kind = "net_spacing"
layer = "li1"
value = 0.3
[[rules]]
id = "m1.ns"
kind = "net_spacing"
layer = "met1"
value = 0.3
[[rules]]
id = "li.m1.ns"
kind = "net_spacing"
layer = "li1"
other = "met1"
value = 0.2
[pdk.connectivity]
connect = [["li1", "mcon", "met1"]]
"""


def _extra_counts(r: dict) -> str:
    c = r.get("counts", {})
    return "markers " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if k.endswith(("notch", ".ns"))) if c else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="250000,500000,1000000")
    ap.add_argument("--tile", type=float, default=50.0)
    ap.add_argument("--tiles", default="25,50,100,200")
    ap.add_argument("--tiles-at", type=int, default=0, help="layout size of the tile-size sweep [default: the largest of --sizes]")
    ap.add_argument("--notch", action="store_true", help="also measure the rule set plus notch rules on li1 and met1")
    ap.add_argument("--nets", action="store_true", help="also measure the rule set plus net_spacing rules (li1, met1, li1-met1)")
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
        extra: dict[str, Path] = {}
        if args.notch:
            extra["notch"] = Path(tmp) / "rules_notch.toml"
            extra["notch"].write_text(B.RULES_TOML + NOTCH_RULES)
        if args.nets:
            extra["nets"] = Path(tmp) / "rules_nets.toml"
            extra["nets"].write_text(B.RULES_TOML + NET_RULES)
        print(f"peak memory vs layout size (flat input, tile {args.tile:g} um, one process)")
        for size in sizes:
            gds = Path(tmp) / f"arr_{size}.gds"
            n = B.build(size, gds, True)
            row = {"polygons": n, "gds_mib": gds.stat().st_size / 2**20}
            for which in (f"pilotflow-tiled:{args.tile:g}", "klayout-flat", "klayout-tiled"):
                row[which] = B.measure(which, gds, rules)
            for name, path in extra.items():
                row[name] = B.measure(f"pilotflow-tiled:{args.tile:g}", gds, path)
                print(f"{n:>9} polygons | pilotflow tiled, rules + {name:5} {_fmt(row[name])} | {_extra_counts(row[name])}", flush=True)
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
                    for name, path in extra.items():
                        r2 = B.measure(f"pilotflow-tiled:{t:g}", gds, path)
                        out["by_tile"].append({"tile_um": t, "polygons": n, "rules": name, "result": r2})
                        print(f"tile {t:6g} um | pilotflow tiled, rules + {name:5} {_fmt(r2)} | {_extra_counts(r2)}", flush=True)
                print(f"(continuing: peak memory vs layout size, tile {args.tile:g} um)")
            gds.unlink()
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
