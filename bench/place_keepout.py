"""Voltage keep-out in global placement: legalisation displacement with and
without the pair-aware end of global placement, in the same run.

gan_halfbridge (or the designs named) is imported and floorplanned, then
placed by each global placer with ``pair_aware`` off (the keep-out left to
legalisation) and on (:func:`flow.place.engine.separate_pairs` pushes apart
the targets that break a voltage keep-out or thermal spacing).  gan650's own
voltage_spacing table stays below its device spacing, so by default the
bench also runs with a strict table (650 V -> 90 um, as the tests use) where
the keep-out shapes the placement.  Prints displacement (mean, max, total,
um), HPWL after global placement, legalisation and detailed placement (um)
and the time; ``--json F`` writes the rows.

    python bench/place_keepout.py [DESIGN ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import dataclasses
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
from flow.stages.base import Context  # noqa: E402
from flow.stages.floorplan import FloorplanStage  # noqa: E402
from flow.stages.importer import ImportStage  # noqa: E402
from flow.stages.place import build_problem  # noqa: E402
from pdk.schema import Rule  # noqa: E402

#: (dV in V, gap in um): the strict table of tests/place/test_place_stage.py
STRICT = ((50.0, 10.0), (200.0, 30.0), (400.0, 60.0), (600.0, 90.0))


def strict(kit):
    r = Rule(id="MET1.VS.BENCH", kind="voltage_spacing", layer="MET1", value=0.0, table=STRICT, doc="bench table")
    return dataclasses.replace(kit, rules=tuple(x for x in kit.rules if x.kind != "voltage_spacing") + (r,))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("designs", nargs="*", default=["gan_halfbridge"])
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = []
    print(f"{'design':15} {'table':6} {'method':9} {'aware':5} {'disp mean':>9} {'max':>7} {'total':>7} "
          f"{'global':>8} {'legal':>8} {'final':>8} {'s':>5} legal")
    for name in args.designs:
        cfg = load_design(ROOT / "designs" / name)
        for table in ("kit", "strict"):
            kit = pdks.load(cfg.pdk)
            if table == "strict":
                kit = strict(kit)
            design = Design(config=cfg, pdk_name=kit.name, pdk_version=kit.version)
            ctx = Context(kit=kit, rundir=Path("/nonexistent"))
            design = FloorplanStage().run(ImportStage().run(design, ctx), ctx)
            prob = build_problem(design, kit)
            for method in ("quadratic", "eplace"):
                for aware in (False, True):
                    t = time.perf_counter()
                    r = place(prob.objs, prob.nets, prob.region, spacing=prob.spacing, grid=prob.grid,
                              keepouts=prob.keepouts, rules=prob.rules, method=method, pair_aware=aware)
                    secs = time.perf_counter() - t
                    ok = not check_legal(prob.objs, r.positions, prob.region, spacing=prob.spacing, grid=prob.grid,
                                         keepouts=prob.keepouts, rules=prob.rules)
                    st = r.stats
                    um = kit.um
                    row = {
                        "design": name, "table": table, "method": method, "pair_aware": aware,
                        "displacement_mean_um": um(st["displacement_mean"]), "displacement_max_um": um(st["displacement_max"]),
                        "displacement_total_um": um(st["displacement_total"]), "hpwl_global_um": um(st["hpwl_global"]),
                        "hpwl_legal_um": um(st["hpwl_legal"]), "hpwl_um": um(r.hpwl), "seconds": round(secs, 3), "legal": ok,
                    }
                    rows.append(row)
                    print(f"{name:15} {table:6} {method:9} {str(aware):5} {row['displacement_mean_um']:9.1f} "
                          f"{row['displacement_max_um']:7.1f} {row['displacement_total_um']:7.0f} {row['hpwl_global_um']:8.0f} "
                          f"{row['hpwl_legal_um']:8.0f} {row['hpwl_um']:8.0f} {secs:5.1f} {ok}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
