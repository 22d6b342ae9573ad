"""Benchmark: what `current_density` rules flag on the sample designs of gan650 and ganrf025.

Not a test: prints a table (and writes JSON with --json FILE).

gan650 and ganrf025 carry current-density limits in their metal stacks and,
since 0.5.0 / 0.6.0, `current_density` rules (before, the router's
junctions left too many markers; see their CHANGELOGs).  This script runs
the flow on each sample design of a kit (default: every design of gan650
and ganrf025) into a temporary folder, then checks the GDS with the kit's
`current_density` rules (for a kit without any: one per routing metal and
cut layer of the kit that has a limit), with the design's net classes and
temperature, exactly as the DRC stage does.  Per design: markers per rule,
markers per net, and how many markers lie where a wire meets device metal
(one of the marker's points in metal drawn inside a device cell): the pin
junctions the router's junction fills (flow/route/junctions.py) did not
land across the net's full width.  Column `strict`: the markers without
the check's exemption of narrow parts no narrower than the device conductor
they join (a device finger leaving a bus the wire covers), i.e. what the
router's landings alone leave.

    python bench/em_junctions.py [DESIGN ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pdk  # noqa: E402
from flow.config import ClassValues, load_design  # noqa: E402
from flow.drc.core import CheckContext, Layers  # noqa: E402
from flow.drc.engine import run_drc  # noqa: E402
from flow.drc.kinds.nets import _DeviceMetal  # noqa: E402
from flow.geometry.gdsio import read_gds  # noqa: E402
from pdk.schema import Rule  # noqa: E402


def em_rules(kit) -> list[Rule]:
    """The kit's current_density rules, or one per layer with a limit."""
    own = [r for r in kit.rules if r.kind == "current_density"]
    if own:
        return own
    return [
        Rule(f"{n}.J.bench", "current_density", n, 0.0, doc="bench")
        for n, lay in kit.layers.items()
        if (lay.purpose == "routing" and lay.jmax_ma_per_um) or (lay.purpose == "cut" and lay.imax_ma_per_cut)
    ]


def check(design: Path, rundir: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "flow.cli", "-q", "run", str(design), "-o", str(rundir)],
                          cwd=ROOT, capture_output=True, text=True)
    cfg = load_design(design)
    kit = pdk.load(cfg.pdk)
    gds = next(rundir.glob("*.gds"), None)
    if gds is None:
        return {"design": design.name, "error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    shapes = read_gds(gds, kit)
    classes = tuple(cfg.net_classes)
    ctx = CheckContext(ClassValues(classes, "voltage"), ClassValues(classes, "current"), cfg.temperature_c)
    rules = em_rules(kit)
    res = run_drc(shapes, kit, rules=rules, ctx=ctx)
    # the same without leaving to the devices the narrow parts no narrower
    # than the device conductor they join (what the router alone achieves)
    keep = _DeviceMetal.narrower
    try:
        _DeviceMetal.narrower = lambda self, quad: False
        strict = len(run_drc(shapes, kit, rules=rules, ctx=ctx).violations)
    finally:
        _DeviceMetal.narrower = keep
    layers = Layers(shapes)
    at_device = 0
    for v in res.violations:
        dev = _DeviceMetal(layers, v.layer)
        at_device += any(dev.points([p]) for p in v.marker)
    metrics = json.loads((rundir / "metrics.json").read_text())
    return {
        "design": design.name,
        "pdk": f"{kit.name} {kit.version}",
        "flow_drc_violations": metrics.get("drc_violations"),
        "rules": [r.id for r in rules],
        "markers": len(res.violations),
        "strict": strict,
        "at_device_metal": at_device,
        "per_rule": dict(collections.Counter(v.rule_id for v in res.violations)),
        "per_net": dict(collections.Counter(v.net for v in res.violations).most_common()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("designs", nargs="*", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    designs = args.designs or sorted(
        d for d in (ROOT / "designs").iterdir()
        if (d / "design.toml").is_file() and load_design(d).pdk in ("gan650", "ganrf025")
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in designs:
            rows.append(check(d.resolve(), Path(tmp) / d.name))
    print(f"{'design':<16} {'pdk':<15} {'flow DRC':>8} {'EM markers':>10} {'at device':>9} {'strict':>6}  per net")
    for r in rows:
        if "error" in r:
            print(f"{r['design']:<16} error: {r['error']}")
            continue
        nets = ", ".join(f"{n} {c}" for n, c in r["per_net"].items())
        print(f"{r['design']:<16} {r['pdk']:<15} {r['flow_drc_violations']!s:>8} {r['markers']:>10} {r['at_device_metal']:>9} {r['strict']:>6}  {nets}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
