"""Benchmark: the detailed router with and without the global router's guides.

Not a test: prints a table (and writes JSON with --json FILE).

For each sample design (or the design folders given), the flow runs to
``place``; then the detailed router (:func:`flow.route.route`) routes the
stage's own inputs (:func:`flow.stages.route.route_inputs`) once without
guides and once with the guides of :func:`flow.route.globalroute.kit_guides`
(the global route's time counted), in the same process, one after the
other.  Reported: nets routed / unrouted, wirelength (um), via cuts,
negotiation iterations and CPU seconds.

    python bench/route_guides.py [DESIGN_DIR ...] [--penalty 1.0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pdk as pdks  # noqa: E402
from flow.flow import run  # noqa: E402
from flow.route import route  # noqa: E402
from flow.route import search  # noqa: E402
from flow.route.globalroute import kit_guides  # noqa: E402
from flow.stages.route import route_inputs  # noqa: E402


def one(design_dir: Path, penalty: float) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        res = run(design_dir, Path(tmp) / "run", to_stage="place")
    design = res.design
    kit = pdks.load(design.pdk_name)
    obstacles, terminals, _, _, _, rules = route_inputs(design, kit)
    die = design.floorplan.die
    rows = []
    for mode in ("plain", "guided"):
        t0 = time.process_time()
        guides = None
        if mode == "guided":
            _, _, guides = kit_guides(kit, die, obstacles, terminals)
            search.GUIDE_OUT = penalty
        r = route(kit, die, obstacles, terminals, rules=rules, guides=guides)
        cpu = time.process_time() - t0
        rows.append({
            "design": design_dir.name, "mode": mode, "routed": len(r.shapes), "unrouted": len(r.unrouted),
            "wirelength_um": round(r.wirelength * kit.dbu_um, 1), "vias": r.vias,
            "iterations": r.iterations, "cpu_s": round(cpu, 2),
        })
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("designs", nargs="*", type=Path)
    ap.add_argument("--penalty", type=float, default=1.0, help="extra cost factor of a step outside the guide")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    dirs = a.designs or sorted(p for p in (ROOT / "designs").iterdir() if (p / "design.toml").is_file())
    rows = [row for d in dirs for row in one(d, a.penalty)]
    cols = ("design", "mode", "routed", "unrouted", "wirelength_um", "vias", "iterations", "cpu_s")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in cols) + " |")
    if a.json:
        a.json.write_text(json.dumps({"penalty": a.penalty, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
