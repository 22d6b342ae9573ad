"""Benchmark: pilotflow's global router on the ISPD'08-format ``test_benchmark`` cases.

Not a test: prints a table (and writes JSON with --json FILE).

Every ``test_benchmark_N.gr`` under the bench folder (default
``../shared/bench/gr``) is routed by :func:`flow.route.globalroute.global_route`;
the solution is written and scored by the contest's own ``eval2008.pl``,
and so is the A* reference solution ``test_benchmark_N.grAstar_solution``
beside it, in the same run.  Columns: total overflow (``Tot OF`` of
eval2008.pl) and wirelength (tile edges + one per via layer) of ours and of
the reference, our wirelength over the reference's, our routing time (wall clock, and CPU
time of this process, which the shared machine's load disturbs less).  A net
whose pins eval2008.pl finds not attached, or an eval2008.pl error, is shown
in the ``check`` column (``ok`` when none).

    python bench/route_gr.py [--bench DIR] [--keep DIR] [--json out.json]
    python bench/route_gr.py --synthetic 64:2000:6 --synthetic 128:8000:6

``--synthetic N:NETS:CAP`` routes a generated ISPD'08-like case instead
(N x N tiles, 6 layers alternating horizontal/vertical, CAP tracks per edge
and layer, nets of 2-8 pins drawn in windows of 3-15 tiles, seed 1): no
reference exists, so the table shows overflow, wirelength, vias, rip-up
rounds and time, for scaling.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gr import read_gr, write_solution  # noqa: E402

from flow.progress import Progress  # noqa: E402
from flow.route.globalroute import GridGraph, GRNet, global_route  # noqa: E402


def synthetic(n: int, count: int, cap: int, seed: int = 1) -> tuple[GridGraph, list[GRNet]]:
    """An ISPD'08-like random case: see the module docstring."""
    rng = random.Random(seed)
    grid = GridGraph.uniform(n, n, [cap, 0] * 3, [0, cap] * 3)
    nets = []
    for i in range(count):
        k = rng.choice([2, 2, 2, 3, 3, 4, 5, 8])
        cx, cy, r = rng.randrange(n), rng.randrange(n), rng.choice([3, 5, 8, 15])
        pins = tuple((rng.randint(max(0, cx - r), min(n - 1, cx + r)), rng.randint(max(0, cy - r), min(n - 1, cy + r)), 0) for _ in range(k))
        nets.append(GRNet(f"n{i}", pins))
    return grid, nets


def run_synthetic(specs: list[str], quiet: bool, json_path: Path | None) -> None:
    progress = Progress(quiet=quiet)
    rows = []
    for spec in specs:
        try:
            n, count, cap = (int(v) for v in spec.split(":"))
        except ValueError:
            sys.exit(f"--synthetic {spec}: expected N:NETS:CAP")
        grid, nets = synthetic(n, count, cap)
        progress.stage(f"{n}x{n}x6, {count} nets")
        t, c = time.perf_counter(), time.process_time()
        res = global_route(grid, nets, progress=progress)
        secs, cpu = time.perf_counter() - t, time.process_time() - c
        progress.done(f"overflow {res.overflow_total}, {secs:.1f} s")
        rows.append({"grid": f"{n}x{n}x6", "nets": count, "cap": cap, "overflow": res.overflow_total, "wirelength": res.wirelength, "vias": res.vias, "rr_rounds": res.iterations, "seconds": secs, "cpu_seconds": cpu})
    print(f"{'grid':>10} {'nets':>6} {'cap':>4} {'OF':>5} {'WL':>8} {'vias':>7} {'rounds':>6} {'time s':>8} {'cpu s':>8}")
    for r in rows:
        print(f"{r['grid']:>10} {r['nets']:>6} {r['cap']:>4} {r['overflow']:>5} {r['wirelength']:>8} {r['vias']:>7} {r['rr_rounds']:>6} {r['seconds']:>8.1f} {r['cpu_seconds']:>8.1f}")
    print("(synthetic cases, no reference router; OF and WL from the engine's own evaluate())")
    if json_path:
        json_path.write_text(json.dumps(rows, indent=2) + "\n")


def eval2008(script: Path, gr: Path, solution: Path) -> dict[str, object]:
    """Run eval2008.pl (in a scratch folder: it appends to ./report.txt).

    Returns ``overflow`` (total), ``max_overflow``, ``wirelength`` (None when
    the script gave no score) and ``problems`` (unattached pins, errors).
    """
    with tempfile.TemporaryDirectory() as td:
        p = subprocess.run(["perl", str(script.resolve()), str(gr.resolve()), str(solution.resolve())], cwd=td, capture_output=True, text=True)
    problems = [line for line in p.stdout.splitlines() if "not attached" in line]
    problems += [line for line in p.stderr.splitlines() if "ERROR" in line]
    if p.returncode != 0 and not problems:
        problems.append(f"eval2008.pl exit code {p.returncode}")
    score = None
    for line in p.stdout.splitlines():
        m = re.search(r"\s(\d+)\s+(\d+)\s+(\d+)\s*$", line)
        if m and "Tot OF" not in line:
            score = tuple(int(v) for v in m.groups())
    return {
        "overflow": score[0] if score else None,
        "max_overflow": score[1] if score else None,
        "wirelength": score[2] if score else None,
        "problems": problems,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=ROOT.parent / "shared" / "bench" / "gr", help="folder with test_benchmark_*.gr and eval2008.pl")
    ap.add_argument("--keep", type=Path, help="write our solutions into this folder")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    ap.add_argument("--quiet", action="store_true", help="no progress on the terminal")
    ap.add_argument("--synthetic", action="append", metavar="N:NETS:CAP", help="route a generated case instead (repeatable)")
    args = ap.parse_args()
    if args.synthetic:
        run_synthetic(args.synthetic, args.quiet, args.json)
        return
    script = args.bench / "eval2008.pl"
    cases = sorted(args.bench.glob("test_benchmark_*.gr"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
    if not cases or not script.is_file():
        sys.exit(f"benchmark files (test_benchmark_*.gr, eval2008.pl) not found under {args.bench}")
    if shutil.which("perl") is None:
        sys.exit("perl is not installed: eval2008.pl cannot run")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    progress = Progress(quiet=args.quiet)
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for gr in cases:
            d = read_gr(gr)
            progress.stage(gr.stem)
            t, c = time.perf_counter(), time.process_time()
            res = global_route(d.grid, d.nets, progress=progress)
            secs, cpu = time.perf_counter() - t, time.process_time() - c
            progress.done(f"overflow {res.overflow_total}, wirelength {res.wirelength}, {secs:.2f} s")
            out = (args.keep or Path(td)) / (gr.stem + ".pilotflow_solution")
            write_solution(out, d, res.routes)
            ours = eval2008(script, gr, out)
            ref_file = gr.with_name(gr.name + "Astar_solution")
            ref = eval2008(script, gr, ref_file) if ref_file.is_file() else {"overflow": None, "wirelength": None, "problems": ["no reference"]}
            ratio = ours["wirelength"] / ref["wirelength"] if ours["wirelength"] and ref["wirelength"] else None
            rows.append(
                {
                    "case": gr.stem,
                    "nets": len(d.nets),
                    "grid": f"{d.grid.nx}x{d.grid.ny}x{d.grid.nl}",
                    "overflow": ours["overflow"],
                    "max_overflow": ours["max_overflow"],
                    "wirelength": ours["wirelength"],
                    "engine_overflow": res.overflow_total,
                    "engine_wirelength": res.wirelength,
                    "vias": res.vias,
                    "rr_rounds": res.iterations,
                    "astar_overflow": ref["overflow"],
                    "astar_wirelength": ref["wirelength"],
                    "wl_ratio": ratio,
                    "seconds": secs,
                    "cpu_seconds": cpu,
                    "check": "; ".join(ours["problems"]) or "ok",
                    "astar_check": "; ".join(ref["problems"]) or "ok",
                }
            )
    head = f"{'case':<18} {'grid':>8} {'nets':>5} {'OF':>4} {'WL':>6} {'A* OF':>6} {'A* WL':>6} {'WL/A*':>6} {'time s':>7} {'cpu s':>6}  check"
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = f"{r['wl_ratio']:.3f}" if r["wl_ratio"] else "-"
        print(
            f"{r['case']:<18} {r['grid']:>8} {r['nets']:>5} {r['overflow']!s:>4} {r['wirelength']!s:>6} "
            f"{r['astar_overflow']!s:>6} {r['astar_wirelength']!s:>6} {ratio:>6} {r['seconds']:>7.2f} {r['cpu_seconds']:>6.2f}  {r['check']}"
        )
    tot = sum(r["wirelength"] or 0 for r in rows)
    ref_tot = sum(r["astar_wirelength"] or 0 for r in rows)
    zero = sum(1 for r in rows if r["overflow"] == 0)
    ref_zero = sum(1 for r in rows if r["astar_overflow"] == 0)
    print("-" * len(head))
    print(f"zero overflow: ours {zero}/{len(rows)}, A* {ref_zero}/{len(rows)};  total WL ours {tot}, A* {ref_tot} (ratio {tot / ref_tot:.3f})" if ref_tot else f"total WL ours {tot}")
    print("(OF, WL: eval2008.pl's total overflow and wirelength, wire tile edges + 1 per via layer)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
