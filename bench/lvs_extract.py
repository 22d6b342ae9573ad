"""Benchmark: LVS extraction and parasitics on the sample designs, with
KLayout's LayoutToNetlist tracing the same nets in the same run.

For each design in designs/ the flow runs once (or reads an existing run
folder given with --runs, holding ``<design>/<top>.gds``); then, best of
``--repeat`` timings:

- pilotflow ``flow.lvs.extract.extract`` (read + flatten + nets + devices),
- KLayout ``LayoutToNetlist`` (read + flatten + the same connectivity,
  derived layers and net-tie cuts; nets only, no devices),
- pilotflow ``flow.lvs.parasitics.parasitics`` on the extraction,

and prints a table (seconds, polygons, devices, nets, resistors,
capacitors).  The nets of both tools are compared in the test suite
(``tests/lvs/test_extract.py::test_net_tracing_agrees_with_klayout``).

    python bench/lvs_extract.py [--runs DIR] [--repeat 3] [--json out.json]
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
sys.path.insert(0, str(ROOT / "tests" / "lvs"))

import pdk  # noqa: E402
from flow.config import load_design  # noqa: E402
from flow.flow import run  # noqa: E402
from flow.lvs.extract import extract  # noqa: E402
from flow.lvs.parasitics import parasitics  # noqa: E402


def best(fn, repeat: int):
    out, t = None, float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return out, t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, help="folder with <design>/<top>.gds from earlier runs")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from test_extract import _klayout_nets  # the KLayout deck of the tests

    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="lvs-bench-"))
    for d in sorted(p for p in (ROOT / "designs").iterdir() if (p / "design.toml").is_file()):
        cfg = load_design(d)
        kit = pdk.load(cfg.pdk)
        gds = (args.runs / d.name / f"{cfg.top}.gds") if args.runs else None
        if gds is None or not gds.is_file():
            res = run(d, tmp / d.name)
            gds = tmp / d.name / res.design.outputs["gds"]
        ex, t_ex = best(lambda: extract(gds, kit), args.repeat)
        layers = list(ex.nets.layers)
        _, t_kl = best(lambda: _klayout_nets(gds, kit, layers), args.repeat)
        par, t_par = best(lambda: parasitics(ex), args.repeat)
        rows.append(
            {
                "design": d.name,
                "polygons": sum(len(v) for v in ex.shapes.polygons.values()),
                "devices": len(ex.netlist.instances),
                "nets": len(ex.nets.names),
                "extract_s": round(t_ex, 3),
                "klayout_nets_s": round(t_kl, 3),
                "parasitics_s": round(t_par, 3),
                "resistors": len(par.resistors),
                "capacitors": len(par.capacitors),
            }
        )
    cols = list(rows[0])
    print(" | ".join(f"{c:>14s}" for c in cols))
    for r in rows:
        print(" | ".join(f"{str(r[c]):>14s}" for c in cols))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
