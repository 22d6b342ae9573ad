"""Every sample design with every device turned: routed, DRC- and LVS-clean?

Not a test (it runs the whole flow 21 times): for each orientation MY, MX and
R180 and each folder in designs/ (or the ones named), copy the design, give
every device that orientation (``"*" = { orient = ... }`` in
``[place.devices]``), run the flow and print unrouted nets, DRC violations
and the LVS result; ``--json F`` writes the rows.  Shows that orientation
travels through placement, routing pins, the GDS instance transforms and
LVS extraction on every kit.

    python bench/place_orient.py [DESIGN ...] [--orients MY,MX,R180] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flow.flow import run  # noqa: E402


def turned(src: Path, dst: Path, orient: str) -> None:
    """Copy design folder ``src`` to ``dst`` with every device in ``orient``."""
    shutil.copytree(src, dst)
    toml = dst / "design.toml"
    text = toml.read_text()
    data = tomllib.loads(text)
    line = f'"*" = {{ orient = "{orient}" }}\n'
    if "devices" in data.get("place", {}):
        text = text.replace("[place.devices]\n", "[place.devices]\n" + line, 1)
    else:
        text += "\n[place.devices]\n" + line
    toml.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("designs", nargs="*")
    ap.add_argument("--orients", default="MY,MX,R180")
    ap.add_argument("--json")
    args = ap.parse_args()
    folders = [ROOT / "designs" / d for d in args.designs] or sorted(p.parent for p in (ROOT / "designs").glob("*/design.toml"))
    rows = []
    print(f"{'orient':6} {'design':18} {'turned':>6} {'unrouted':>8} {'drc':>5} {'lvs':6} {'s':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for o in args.orients.split(","):
            for f in folders:
                d = Path(tmp) / o / f.name
                turned(f, d, o)
                t = time.perf_counter()
                res = run(d, Path(tmp) / o / f"{f.name}.run")
                m = json.loads((res.rundir / "metrics.json").read_text())
                place = json.loads((res.rundir / "02-place" / "place.json").read_text())
                row = {"orient": o, "design": f.name, "turned": len(place["orientations"]),
                       "nets_unrouted": m["nets_unrouted"], "drc_violations": m["drc_violations"],
                       "lvs_clean": m["lvs_clean"], "seconds": round(time.perf_counter() - t, 1)}
                rows.append(row)
                print(f"{o:6} {f.name:18} {row['turned']:6} {row['nets_unrouted']:8} {row['drc_violations']:5} "
                      f"{str(row['lvs_clean']):6} {row['seconds']:6.1f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
