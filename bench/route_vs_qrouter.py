"""Benchmark: pilotflow's LEF/DEF router against Debian's ``qrouter`` on the same placed DEF.

Not a test: prints a table (and writes JSON with --json FILE).

Both tools route ``gcd_nangate45_preroute.def`` (OpenROAD's gcd, placed, with
power stripes) with Nangate45 on the same layers (metal1..--top-layer; metal1
only for pin access in pilotflow, wired by qrouter too).  qrouter runs its
standard stages from a Tcl script (the DEF written after each; a time limit,
default 30 min, stops it and the last finished stage is checked).  qrouter 1.4 reads an
older DEF dialect, so its input is the same design with the DEF ``VIAS``
given by their rectangles instead of VIARULE parameters, ``+ PORT`` lines
dropped, one TRACKS statement per layer (its preferred direction) and each
net's closing ``;`` on a line of its own (qrouter's writer adds wiring only
to such entries); its
configuration file is written from the LEF (``lef``, ``num_layers``).

Every result is then checked the same way by KLayout
(:func:`flow.lefdef.klcheck.check_routed_def`: KLayout's LEF/DEF reader,
width / spacing / spacing-table / area / end-of-line spacing per metal
layer, cut spacing, enclosure and minimum via overhang, opens and shorts
traced on the flattened layout).  Columns: nets
routed (signal nets with two or more pins that carry wiring), wirelength
(centre lines, um), vias, DRC violations touching routed shapes, opens,
shorts, wall time (and CPU time of the router's process).  A second table
gives wirelength and vias on the nets every tool routed completely (wiring
present, not open, not in a short): the fair comparison when a tool leaves
nets unrouted.

    python bench/route_vs_qrouter.py [--top-layer metal6] [--keep DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flow.lefdef import read_def, read_lef  # noqa: E402
from flow.lefdef.klcheck import _wire_stats, check_routed_def  # noqa: E402
from flow.lefdef.routedb import _def_vias  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench" / "lefdef"


def qrouter_def(src: Path, dst: Path, lib) -> None:
    """``src`` rewritten in the DEF dialect qrouter 1.4 reads (see the module docstring)."""
    d = read_def(src)
    vias = _def_vias(d, lib)
    text = src.read_text()
    # VIAS by rectangles
    m = re.search(r"^VIAS \d+ ;.*?^END VIAS\s*$", text, re.S | re.M)
    if m:
        lines = [f"VIAS {len(vias)} ;"]
        for name, shapes in vias.items():
            rects = " ".join(f"+ RECT {lay} ( {r[0]} {r[1]} ) ( {r[2]} {r[3]} )" for lay, r in shapes)
            lines.append(f"    - {name} {rects} ;")
        lines.append("END VIAS")
        text = text[: m.start()] + "\n".join(lines) + text[m.end() :]
    text = re.sub(r"^\s*\+ PORT\s*$\n", "", text, flags=re.M)
    # qrouter's DEF writer adds wiring only to net entries whose ';' is on a line of its own
    a, b = text.find("\nNETS "), text.find("\nEND NETS")
    if 0 <= a < b:
        text = text[:a] + re.sub(r"^(\s*- .*\S)\s*;\s*$", r"\1\n ;", text[a:b], flags=re.M) + text[b:]
    out = []
    for line in text.splitlines():
        t = re.match(r"TRACKS ([XY]) .* LAYER (\S+) ;", line)
        if t:
            lay = lib.layers.get(t.group(2))
            want = "Y" if lay is not None and lay.direction == "HORIZONTAL" else "X"
            if t.group(1) != want:
                continue
        out.append(line)
    dst.write_text("\n".join(out) + "\n")


def run_pilotflow(lefs: list[Path], def_in: Path, out: Path, top: str) -> dict:
    cmd = [sys.executable, "-m", "flow.cli", "--quiet", "route", *sum((["--lef", str(f)] for f in lefs), []), "--def", str(def_in), "-o", str(out), "--top-layer", top]
    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"rc": p.returncode, "wall": time.perf_counter() - t0, "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
            "log": (p.stdout + p.stderr)[-2000:]}


def run_qrouter(lefs: list[Path], def_in: Path, work: Path, top: str, lib, timeout: float) -> dict:
    """qrouter's standard stages in a Tcl script (stage1; stage2 and stage3 at
    effort 10), the DEF written after each stage: when the time limit stops
    it, the last stage it finished is what gets checked (said in the log)."""
    names = [lay.name for lay in lib.layers.values() if lay.type == "ROUTING"]
    n = names.index(top) + 1
    base = def_in.stem
    qrouter_def(def_in, work / f"{base}.def", lib)
    script = work / f"{base}.tcl"
    lines = [f"read_lef {f}" for f in lefs] + [f"layers {n}", f"read_def {base}.def"]
    for k, stage in enumerate(["stage1", "stage2 effort 10", "stage3 effort 10"], start=1):
        lines += [stage, f"write_def {base}_stage{k}.def"]
    lines.append("quit")
    script.write_text("\n".join(lines) + "\n")
    exe = shutil.which("qrouter")
    if exe is None:
        return {"rc": None, "wall": None, "cpu": None, "log": "qrouter not installed (apt-get install qrouter)"}
    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    note = ""
    try:
        p = subprocess.run([exe, "-nog", "-s", script.name], cwd=work, capture_output=True, text=True, timeout=timeout)
        rc, log = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc = None
        log = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        note = f"stopped after {timeout:.0f} s"
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = [k for k in (3, 2, 1) if (work / f"{base}_stage{k}.def").exists()]
    out = work / f"{base}_stage{done[0]}.def" if done else None
    if done and done[0] < 3:
        note += f"; result of stage {done[0]}"
    elif not done:
        note += "; no stage finished, no DEF"
    return {"rc": rc, "wall": time.perf_counter() - t0, "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
            "out": str(out) if out else None, "log": log[-3000:], "note": note.strip("; ")}


def row(tool: str, lefs: list[Path], routed_def: Path | None, run: dict) -> dict:
    r = {"tool": tool, "rc": run.get("rc"), "wall_s": run.get("wall"), "cpu_s": run.get("cpu")}
    if routed_def is None or not Path(routed_def).exists():
        r["error"] = "no output DEF"
        return r
    rep = check_routed_def([str(f) for f in lefs], str(routed_def))
    r["_per_net"] = per_net_stats(Path(routed_def))
    r["_bad"] = sorted(set(rep.opens) | {n for pair in rep.shorts for n in pair})
    r.update(nets=rep.nets, routed=rep.routed, wirelength_um=round(rep.wirelength_um, 1), vias=rep.vias,
             drc=rep.drc_total, drc_by_rule=rep.violations, baseline=rep.baseline, opens=len(rep.opens),
             shorts=len(rep.shorts), not_checked=rep.not_checked, open_nets=rep.opens[:10], short_pairs=rep.shorts[:10])
    return r


def per_net_stats(routed_def: Path) -> tuple[dict[str, tuple[int, int]], int]:
    """(net -> (wirelength in DEF units, vias), DEF units per micron) of the net's NETS wiring (nets without wiring left out),
    counted as :func:`flow.lefdef.klcheck.check_routed_def` counts the totals."""
    import copy

    d = read_def(routed_def)
    out = {}
    for n in d.nets:
        if not n.raw or "ROUTED" not in n.raw.split():
            continue
        one = copy.copy(d)
        one.nets = [n]
        out[n.name] = _wire_stats(one)
    return out, d.dbu


def common_table(rows: list[dict]) -> str:
    """Wirelength and vias of every tool on the nets all tools routed completely:
    the net carries wiring in each result, and no result has it open or in a short."""
    ok = [r for r in rows if "_per_net" in r]
    if len(ok) < 2:
        return ""
    names = set.intersection(*(set(r["_per_net"][0]) for r in ok)) - set().union(*(set(r["_bad"]) for r in ok))
    head = f"{'tool':<22} {'nets':>9} {'WL um':>9} {'vias':>6}"
    out = [f"on the {len(names)} nets every tool routed (wiring present, not open, not shorted):", head, "-" * len(head)]
    for r in ok:
        per, dbu = r["_per_net"]
        wl = sum(per[n][0] for n in names) / dbu
        nv = sum(per[n][1] for n in names)
        r["common"] = {"nets": len(names), "wirelength_um": round(wl, 1), "vias": nv}
        out.append(f"{r['tool']:<22} {len(names):>9} {wl:>9.1f} {nv:>6}")
    return "\n".join(out)


def table(rows: list[dict]) -> str:
    head = f"{'tool':<22} {'routed':>9} {'WL um':>9} {'vias':>6} {'DRC':>5} {'opens':>6} {'shorts':>6} {'wall s':>7} {'CPU s':>7}"
    out = [head, "-" * len(head)]
    for r in rows:
        if "error" in r:
            out.append(f"{r['tool']:<22} {r['error']}")
            continue
        wall = f"{r['wall_s']:.1f}" if r["wall_s"] is not None else "-"
        cpu = f"{r['cpu_s']:.1f}" if r["cpu_s"] is not None else "-"
        out.append(f"{r['tool']:<22} {str(r['routed']) + '/' + str(r['nets']):>9} {r['wirelength_um']:>9.1f} {r['vias']:>6} {r['drc']:>5} {r['opens']:>6} {r['shorts']:>6} {wall:>7} {cpu:>7}")
    return "\n".join(out)


def print_details(rows: list[dict]) -> None:
    """The lines under the table: DRC by rule, what the unrouted design
    already had, notes, open nets, what was not checked, a failed run's log."""
    for r in rows:
        if r.get("drc_by_rule"):
            print(f"  {r['tool']} DRC by rule: {r['drc_by_rule']}")
        if r.get("baseline"):
            print(f"  {r['tool']} already in the unrouted design (not counted): {r['baseline']}")
        if r.get("note"):
            print(f"  {r['tool']}: {r['note']}")
        if r.get("open_nets"):
            print(f"  {r['tool']} open nets (first 10): {', '.join(r['open_nets'])}")
        if r.get("not_checked"):
            print(f"  {r['tool']} not checked: {', '.join(r['not_checked'])}")
        if r.get("log"):
            print(f"  {r['tool']} log tail: {r['log'][-600:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--def", dest="def_in", type=Path, default=BENCH / "gcd" / "gcd_nangate45_preroute.def")
    ap.add_argument("--lef", dest="lefs", type=Path, action="append", default=None)
    ap.add_argument("--top-layer", default="metal6")
    ap.add_argument("--keep", type=Path, help="Keep the routed DEFs in this folder.")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--skip-qrouter", action="store_true")
    ap.add_argument("--qrouter-timeout", type=float, default=1800, help="Seconds before qrouter is stopped [1800].")
    a = ap.parse_args()
    lefs = a.lefs or [BENCH / "nangate45" / "Nangate45.lef"]
    if not a.def_in.exists():
        sys.exit(f"benchmark data not found: {a.def_in}")
    lib = None
    for f in lefs:
        lib = read_lef(f, lib)
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="route_vs_qrouter."))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    ours = work / f"{a.def_in.stem}_pilotflow.def"
    run = run_pilotflow(lefs, a.def_in, ours, a.top_layer)
    rows.append(row("pilotflow", lefs, ours, run))
    if not a.skip_qrouter:
        run = run_qrouter(lefs, a.def_in, work, a.top_layer, lib, a.qrouter_timeout)
        rows.append(row("qrouter", lefs, run.get("out"), run))
        rows[-1]["note"] = run.get("note", "")
        if run.get("out") is None:
            rows[-1]["log"] = run["log"]
    print(f"{a.def_in.name}, layers up to {a.top_layer}; DRC by KLayout on each result (violations touching routed shapes)")
    print(table(rows))
    print(common_table(rows))
    print_details(rows)
    if a.json:
        a.json.write_text(json.dumps([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows], indent=1))
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
