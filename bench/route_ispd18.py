"""Benchmark: pilotflow's LEF/DEF router on the ISPD'18 sample against TritonRoute's result.

Not a test: prints a table (and writes JSON with --json FILE).

pilotflow routes ``ispd18_sample.input.def`` with ``ispd18_sample.input.lef``
(its own global routing; the contest's ``.input.guide`` is not used);
``ispd18_sample.defok`` is TritonRoute's routed result of the same input.
Both DEFs get the same KLayout check as ``bench/route_vs_qrouter.py``
(:func:`flow.lefdef.klcheck.check_routed_def`): nets routed, wirelength,
vias, DRC markers the routing adds (width, spacing, spacing table, minimum
area, end-of-line spacing, cut spacing, enclosure and minimum via overhang),
opens, shorts.  Time is ours only (TritonRoute's run is not repeated here).

    python bench/route_ispd18.py [--keep DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from route_vs_qrouter import common_table, print_details, row, run_pilotflow, table  # noqa: E402

CASE = ROOT.parent / "shared" / "bench" / "lefdef" / "ispd18_sample"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", type=Path, default=CASE)
    ap.add_argument("--top-layer", default="Metal9")
    ap.add_argument("--keep", type=Path)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    lef = a.case / "ispd18_sample.input.lef"
    src = a.case / "ispd18_sample.input.def"
    ok = a.case / "ispd18_sample.defok"
    if not src.exists():
        sys.exit(f"benchmark data not found: {src}")
    work = a.keep or Path(tempfile.mkdtemp(prefix="route_ispd18."))
    work.mkdir(parents=True, exist_ok=True)
    ours = work / "ispd18_sample_pilotflow.def"
    rows = [row("pilotflow", [lef], ours, run_pilotflow([lef], src, ours, a.top_layer)),
            row("TritonRoute (.defok)", [lef], ok, {"rc": None, "wall": None, "cpu": None})]
    print(f"{src.name}: DRC by KLayout on each result (markers the routing adds)")
    print(table(rows))
    print(common_table(rows))
    print_details(rows)
    if a.json:
        a.json.write_text(json.dumps([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows], indent=1))
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
