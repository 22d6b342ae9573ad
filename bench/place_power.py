"""Global placers on the power-IC sample designs: quadratic vs. ePlace vs. auto.

For every folder in designs/ (or the ones named), import and floorplan the
design, then place it with each global placement method of
:func:`flow.place.place`, all with the design's constraints (voltage
keep-out, thermal spreading, fences, keepouts), in the same run.  Prints HPWL
after global placement, after legalisation and final (um), displacement,
time, and whether the legality checker passes; ``--json F`` writes the rows.

    python bench/place_power.py [DESIGN ...] [--json out.json] [--no-rules]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pdk as pdks  # noqa: E402
from flow.config import load_design  # noqa: E402
from flow.design import Design  # noqa: E402
from flow.place import check_legal, place  # noqa: E402
from flow.place.model import PairRules  # noqa: E402
from flow.stages.base import Context  # noqa: E402
from flow.stages.floorplan import FloorplanStage  # noqa: E402
from flow.stages.importer import ImportStage  # noqa: E402
from flow.stages.place import build_problem  # noqa: E402

METHODS = ("quadratic", "eplace", "auto")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("designs", nargs="*")
    ap.add_argument("--json")
    ap.add_argument("--no-rules", action="store_true", help="leave voltage keep-out and thermal rules out")
    args = ap.parse_args()
    folders = [ROOT / "designs" / d for d in args.designs] or sorted(p.parent for p in (ROOT / "designs").glob("*/design.toml"))
    rows = []
    print(f"{'design':18} {'method':10} {'global um':>10} {'legal um':>10} {'final um':>10} {'disp mean':>9} {'s':>6} legal")
    for folder in folders:
        cfg = load_design(folder)
        kit = pdks.load(cfg.pdk)
        design = Design(config=cfg, pdk_name=kit.name, pdk_version=kit.version)
        ctx = Context(kit=kit, rundir=Path("/nonexistent"))
        design = FloorplanStage().run(ImportStage().run(design, ctx), ctx)
        prob = build_problem(design, kit)
        rules = prob.rules
        if args.no_rules:
            rules = PairRules(vclass=tuple(-1 for _ in prob.objs))
        for method in METHODS:
            t = time.perf_counter()
            try:
                r = place(prob.objs, prob.nets, prob.region, spacing=prob.spacing, grid=prob.grid,
                          keepouts=prob.keepouts, rules=rules, method=method)
            except Exception as e:  # noqa: BLE001 - a bench reports every outcome
                print(f"{cfg.name:18} {method:10} failed: {e}")
                rows.append({"design": cfg.name, "method": method, "error": str(e)})
                continue
            secs = time.perf_counter() - t
            ok = not check_legal(prob.objs, r.positions, prob.region, spacing=prob.spacing, grid=prob.grid,
                                 keepouts=prob.keepouts, rules=rules)
            st = r.stats
            row = {
                "design": cfg.name, "method": method, "chosen": st.get("global_method"),
                "hpwl_global_um": kit.um(st["hpwl_global"]), "hpwl_legal_um": kit.um(st["hpwl_legal"]),
                "hpwl_um": kit.um(r.hpwl), "displacement_mean_um": kit.um(st["displacement_mean"]),
                "seconds": round(secs, 3), "legal": ok,
            }
            rows.append(row)
            label = method if method != "auto" else f"auto:{st.get('global_method', '?')[:1]}"
            print(f"{cfg.name:18} {label:10} {row['hpwl_global_um']:10.1f} {row['hpwl_legal_um']:10.1f} "
                  f"{row['hpwl_um']:10.1f} {row['displacement_mean_um']:9.1f} {secs:6.2f} {ok}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
