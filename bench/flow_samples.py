"""Benchmark: run every sample design and print stage times and quality figures.

Not a test: it prints a table (and writes JSON with --json FILE) so changes
to the engines can be compared run to run.

    python bench/flow_samples.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flow.flow import run  # noqa: E402

COLUMNS = ("instances", "nets", "die_area_um2", "hpwl_um", "wirelength_um", "vias", "nets_unrouted", "drc_violations")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in sorted((ROOT / "designs").iterdir()):
            if (d / "design.toml").is_file():
                res = run(d, Path(tmp) / d.name)
                rows.append(res.metrics)
    head = ["design", *COLUMNS, "total_s"]
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for m in rows:
        total = sum(m["stage_seconds"].values())
        print(" | ".join([m["design"], *(str(m[c]) for c in COLUMNS), f"{total:.2f}"]))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
