"""Benchmark: current-sized routing of a power design, per net, and the route stage's time.

Not a test: prints tables (and writes JSON with --json FILE).

Runs the flow on DESIGN (default ``designs/gan_halfbridge``) with this tree's
pilotflow and, with ``--ref TREE`` (a pilotflow source tree, e.g. an older
commit unpacked by ``git archive REV | tar -x -C TREE``), with that tree's
too, one after the other in the same invocation (machine load hits both
alike).  ``--ref-design DIR`` gives the reference its own design folder (a
design edited since, with that tree's design.toml).

Table 1, per net with a current (from ``route.json``): current, the metals
drawn with the width carrying the current, the drawn width of a slotted
wire, the width the current needs on each metal, the fewest cuts at one
layer change and the cuts needed, the worst current density against its
limit, and (from ``drc.json``'s ``voltage_clearance``, what the DRC
measured) the closest other net on any metal with the gap found and the
clearance its voltage difference needs.  Table 2: nets routed and unrouted,
DRC violations, the route stage's wall time (``metrics.json``) and the whole
run's CPU time.

    python bench/route_power.py [DESIGN] [--ref TREE [--ref-design DIR]] [--json out.json]

``bench/halfbridge_10a`` is gan_halfbridge with 60 mm power HEMTs and its
power nets at 10 A (the design.toml gives the physics): it routes with every
net within its current density and voltage clearance, but is no clean
sample -- the device terminal ratings flag its unstrapped HEMT buses and its
80 um pads (gan650's largest pad, 200 um, is rated 5 A).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_flow(tree: Path, design: Path, rundir: Path) -> dict:
    """``pilotflow run`` from ``tree``; metrics, route report and times."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "flow.cli", "-q", "run", str(design), "-o", str(rundir)],
        cwd=tree, capture_output=True, text=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    metrics = json.loads((rundir / "metrics.json").read_text()) if (rundir / "metrics.json").is_file() else {}
    report = json.loads((rundir / "route.json").read_text()) if (rundir / "route.json").is_file() else {}
    drc = json.loads((rundir / "drc.json").read_text()) if (rundir / "drc.json").is_file() else {}
    return {
        "tree": str(tree),
        "design": str(design),
        "exit_code": proc.returncode,
        "stderr": proc.stderr.strip().splitlines()[-3:],
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "route_s": (metrics.get("stage_seconds") or {}).get("route"),
        "nets_routed": metrics.get("nets_routed"),
        "nets_unrouted": metrics.get("nets_unrouted"),
        "drc_violations": metrics.get("drc_violations"),
        "nets": report.get("nets", {}),
        "clearance": drc.get("voltage_clearance", []),
    }


def closest(res: dict, net: str) -> str:
    """The other net closest to ``net`` relative to the clearance needed: 'NET dV V: found / required um (layer)'."""
    pairs = [c for c in res.get("clearance", []) if net in c["nets"] and c["found_um"] is not None and c["dv_v"]]
    if not pairs:
        return "-"
    c = min(pairs, key=lambda c: (c["found_um"] - c["required_um"], -c["dv_v"]))
    other = [n for n in c["nets"] if n != net][0]
    return f"{other} {c['dv_v']:g} V: {c['found_um']:g} / {c['required_um']:g} ({c['layer']})"


def hv_gap(res: dict, net: str) -> str:
    """The smallest gap to a net 500 V or more away, against its clearance."""
    pairs = [c for c in res.get("clearance", []) if net in c["nets"] and c["found_um"] is not None and c["dv_v"] >= 500]
    if not pairs:
        return "-"
    c = min(pairs, key=lambda c: c["found_um"])
    other = [n for n in c["nets"] if n != net][0]
    return f"{other}: {c['found_um']:g} / {c['required_um']:g} ({c['layer']})"


def net_table(res: dict) -> list[str]:
    rows = [
        f"{'net':10} {'I (A)':>6}  {'layer':5} {'width':>7} {'drawn':>7} {'need':>7}  {'cuts':>5} {'need':>5}  "
        f"{'J/Jmax':>7}  {'closest net: gap / needed um':36} {'>= 500 V away: gap / needed um'}"
    ]
    for net, r in sorted(res["nets"].items(), key=lambda kv: (-(kv[1]["current_a"] or 0), kv[0])):
        if not r["current_a"]:
            continue
        cuts = ",".join(str(v) for v in r["cuts"].values()) or "-"
        need_cuts = ",".join(str(v) for v in r["need_cuts"].values())
        ratio = r["current_density"]["ratio"]
        for n, (layer, w) in enumerate(sorted(r["width_um"].items())):
            drawn = r.get("slotted", {}).get(layer, {}).get("drawn_um", w)
            head = f"{net:10} {r['current_a']:>6g}" if n == 0 else f"{'':10} {'':>6}"
            tail = f"  {cuts:>5} {need_cuts:>5}  {ratio:>7.3f}  {closest(res, net):36} {hv_gap(res, net)}" if n == 0 else ""
            rows.append(f"{head}  {layer:5} {w:>7g} {drawn:>7g} {r['need_width_um'][layer]:>7g}{tail}")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("design", nargs="?", default=str(ROOT / "designs" / "gan_halfbridge"))
    ap.add_argument("--ref", type=Path, help="another pilotflow source tree to run in the same invocation")
    ap.add_argument("--ref-design", type=Path, help="the reference's design folder (default: DESIGN)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    design = Path(args.design).resolve()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.ref is not None:
            ref_design = (args.ref_design or design).resolve()
            runs.append(("reference", run_flow(args.ref.resolve(), ref_design, Path(tmp) / "ref")))
        runs.append(("this tree", run_flow(ROOT, design, Path(tmp) / "ours")))
    for name, res in runs:
        print(f"\n{name}: {res['tree']} on {res['design']}")
        print("\n".join(net_table(res)))
    print()
    print(f"{'run':10} {'routed':>6} {'unrouted':>8} {'DRC':>4} {'route s':>8} {'run wall s':>10} {'run CPU s':>9}")
    for name, res in runs:
        print(
            f"{name:10} {res['nets_routed']!s:>6} {res['nets_unrouted']!s:>8} {res['drc_violations']!s:>4} "
            f"{res['route_s']!s:>8} {res['wall_s']:>10} {res['cpu_s']:>9}"
        )
        if res["exit_code"] not in (0, 1):
            print(f"  exit {res['exit_code']}: {' | '.join(res['stderr'])}")
    if args.json:
        args.json.write_text(json.dumps({name: res for name, res in runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
