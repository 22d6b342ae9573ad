"""LVS comparison speed and diagnosis: pilotflow vs netgen, same netlists, same run.

Synthetic gan650 circuits: a chain of N DCFL inverters (2 HEMTs each)
between ports IN and OUT, supplies VDD/GND.  The "layout" netlist is the
same circuit with devices renamed and shuffled and, in the ``ports`` mode,
every internal net renamed (only the ports keep their names, as in a GDS
labelled at the pads only); in the ``all`` mode every net keeps its name (a
pilotflow GDS labels every net).  Each case is also run with one fault: the
middle inverter's driver has gate and drain swapped.

pilotflow: :func:`flow.lvs.compare.compare` on the two Netlists (no
extraction).  netgen: ``netgen-lvs -batch lvs`` on the two SPICE files
written by pilotflow (netgen parses them itself; its time includes that).
Prints a table; ``--json F`` writes it.

    python bench/lvs_compare.py [--sizes 100,1000,5000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pdk  # noqa: E402
from flow.lvs.compare import LayoutView, compare  # noqa: E402
from flow.netlist.model import Instance, Netlist  # noqa: E402
from flow.netlist.spice import write_spice  # noqa: E402


def chain(n: int) -> Netlist:
    insts = []
    nets = ["IN"] + [f"a{k}" for k in range(1, n)] + ["OUT"]
    for k in range(n):
        i, o = nets[k], nets[k + 1]
        insts.append(Instance(f"X{k}/XL", "hemtd", {"d": "VDD", "g": o, "s": o}, {"w": 10e-6, "l": 1e-6, "nf": 1, "lgd": 3e-6}))
        insts.append(Instance(f"X{k}/XD", "hemte", {"d": o, "g": i, "s": "GND"}, {"w": 20e-6, "l": 1e-6, "nf": 1, "lgd": 3e-6, "lfp": 0.0, "lgfp": 0.0}))
    return Netlist("chain", tuple(insts), ("IN", "OUT", "VDD", "GND"))


def layout_of(src: Netlist, mode: str, fault: bool, seed: int = 7) -> Netlist:
    n = len(src.instances) // 2
    insts = list(src.instances)
    if fault:
        k = 2 * (n // 2) + 1  # middle driver
        i = insts[k]
        p = dict(i.pins)
        p["g"], p["d"] = p["d"], p["g"]
        insts[k] = Instance(i.name, i.model, p, i.params)
    keep = set(src.ports) if mode == "ports" else set(src.nets)
    rng = random.Random(seed)
    rename = {net: (net if net in keep else f"$N{k}") for k, net in enumerate(rng.sample(list(src.nets), len(src.nets)))}
    rng.shuffle(insts)
    out = tuple(Instance(f"D{k}", i.model, {t: rename[x] for t, x in i.pins.items()}, i.params) for k, i in enumerate(insts))
    return Netlist("chain", out, src.ports)


def run_netgen(a: Path, b: Path, work: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(
        ["netgen-lvs", "-batch", "lvs", f"{a} chain", f"{b} chain", "/dev/null", str(work / "out.txt")],
        capture_output=True, text=True, timeout=3600,
    )
    dt = time.perf_counter() - t0
    text = r.stdout + (work / "out.txt").read_text(errors="replace") if (work / "out.txt").exists() else r.stdout
    if "Circuits match uniquely" in text:
        verdict = "match"
    elif "Netlists do not match" in text or "Circuits do not match" in text or "mismatch" in text.lower():
        verdict = "mismatch"
    else:
        verdict = "?"
    return dt, verdict


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,5000")
    ap.add_argument("--json")
    args = ap.parse_args()
    kit = pdk.load("gan650")
    have_netgen = shutil.which("netgen-lvs") is not None
    rows = []
    work = Path(tempfile.mkdtemp(prefix="lvsbench"))
    compare(chain(3), LayoutView(layout_of(chain(3), "ports", True)), kit)  # warm up imports
    for n in [int(x) for x in args.sizes.split(",")]:
        src = chain(n)
        for mode in ("all", "ports"):
            for fault in (False, True):
                lay = layout_of(src, mode, fault)
                labels = {x: (("MET1", 0.0, 0.0),) for x in lay.nets if not x.startswith("$")}
                t0 = time.perf_counter()
                res = compare(src, LayoutView(lay, {}, {}, labels), kit)
                ours = time.perf_counter() - t0
                found = {k: v for k, v in res.counts().items() if v}
                row = {
                    "devices": 2 * n, "labels": mode, "fault": "g/d swap" if fault else "none",
                    "pilotflow_s": round(ours, 3), "pilotflow": res.status if not fault else ", ".join(f"{v} {k}" for k, v in found.items()),
                }
                if have_netgen:
                    a, b = work / "a.sp", work / "b.sp"
                    a.write_text(write_spice(src, kit))
                    b.write_text(write_spice(lay, kit))
                    dt, verdict = run_netgen(a, b, work)
                    row["netgen_s"] = round(dt, 3)
                    row["netgen"] = verdict
                rows.append(row)
                print(json.dumps(row), flush=True)
    cols = ["devices", "labels", "fault", "pilotflow_s", "pilotflow", "netgen_s", "netgen"]
    print()
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
