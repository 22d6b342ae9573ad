"""Benchmark: tapeout bundles and a multi-project reticle from the sample designs,
with the reticle's DRC cross-checked by KLayout's exported deck.

For a kit (default gan650) it runs the flow on the kit's sample designs,
writes a tapeout bundle of each signed-off run (twice, into two folders, to
confirm identical manifests), assembles a reticle of all bundles at the
smallest size (0.1 mm steps) the dies need plus a margin, and checks it with

- pilotflow's DRC (the check ``pilotflow reticle`` runs), and
- KLayout in batch mode with the deck ``pilotflow pdk export-klayout`` writes
  (``klayout -b -r KIT.lydrc``; each in the same script run),

printing seconds and marker counts per step.

    python bench/handoff.py [--kit gan650] [--margin-mm 0.2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def lyrdb_counts(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in ET.parse(path).getroot().iter("item"):
        cat = (item.findtext("category") or "").strip().strip("'")
        out[cat] = out.get(cat, 0) + 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kit", default="gan650")
    ap.add_argument("--margin-mm", type=float, default=0.2, help="added to the smallest reticle side the dies need")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    import pdk
    from flow.errors import InputError
    from flow.flow import run
    from flow.handoff.reticle import build_reticle, write_reticle
    from flow.handoff.tapeout import TapeoutRefused, write_bundle
    from pdk.export import export_klayout

    kit = pdk.load(args.kit)
    designs = sorted(d for d in (ROOT / "designs").iterdir() if (d / "design.toml").is_file() and d.name.startswith(args.kit[:3]))
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        bundles = []
        for d in designs:
            cfg_pdk = next((ln.split("=")[1].strip().strip('"') for ln in (d / "design.toml").read_text().splitlines() if ln.strip().startswith("pdk")), None)
            if cfg_pdk != args.kit:
                continue
            t0 = time.perf_counter()
            res = run(d, t / "runs" / d.name)
            t_run = time.perf_counter() - t0
            row = {"design": d.name, "flow_s": round(t_run, 2), "flow_exit": res.exit_code}
            try:
                t0 = time.perf_counter()
                b = write_bundle(t / "runs" / d.name, t / "bundles" / d.name)
                row["tapeout_s"] = round(time.perf_counter() - t0, 3)
                b2 = write_bundle(t / "runs" / d.name, t / "again" / d.name)
                row["manifest_identical"] = (b.path / "manifest.sha256").read_bytes() == (b2.path / "manifest.sha256").read_bytes()
                row["gds_sha256"] = b.gds_sha256[:16]
                bundles.append(b.path)
            except (TapeoutRefused, InputError) as e:
                row["tapeout"] = f"refused: {str(e)[:120]}"
            rows.append(row)
        print(f"{'design':18s} {'flow s':>7s} {'tapeout s':>9s}  identical  result")
        for r in rows:
            print(f"{r['design']:18s} {r['flow_s']:7.2f} {r.get('tapeout_s', float('nan')):9.3f}  {str(r.get('manifest_identical', '-')):9s}  {r.get('tapeout', 'bundle ' + r.get('gds_sha256', ''))}")
        if not bundles:
            print("no bundle: nothing to place")
            return
        # smallest square reticle the dies need, plus the margin
        try:
            build_reticle(bundles, (1000.0, 1000.0), check=False)
            need = 1.0
        except InputError as e:
            need = float(str(e).split("at least ")[1].split(" x ")[0])
        side = round(need + args.margin_mm, 1)
        t0 = time.perf_counter()
        ret = build_reticle(bundles, (side * 1000, side * 1000), check=False)
        t_build = time.perf_counter() - t0
        out = t / "reticle.gds"
        write_reticle(ret, out)
        from flow.drc.engine import run_drc
        from flow.geometry.gdsio import shapes_from_library

        t0 = time.perf_counter()
        drc = run_drc(shapes_from_library(ret.lib, kit, ret.top), kit)
        t_pf = time.perf_counter() - t0
        export_klayout(kit, t / "kl")
        deck = t / "kl" / f"{kit.name}.lydrc"
        report = t / "kl.lyrdb"
        kl = shutil.which("klayout")
        kl_counts: dict[str, int] | None = None
        t_kl = float("nan")
        if kl:
            t0 = time.perf_counter()
            p = subprocess.run([kl, "-b", "-r", str(deck), "-rd", f"input={out}", "-rd", f"report={report}"], capture_output=True, text=True)
            t_kl = time.perf_counter() - t0
            kl_counts = lyrdb_counts(report) if p.returncode == 0 and report.exists() else None
            if kl_counts is None:
                print("klayout failed:", p.stderr[-400:])
        print()
        print(f"reticle {side:g} x {side:g} mm ({args.kit}): {len(ret.of('die'))} dies, {len(ret.of('pcm'))} PCMs, "
              f"{len(ret.of('mark'))} marks, {len(ret.pcms_skipped)} PCMs not placed; assembled in {t_build:.2f} s")
        print(f"{'checker':28s} {'seconds':>8s} {'markers':>8s}")
        print(f"{'pilotflow DRC':28s} {t_pf:8.2f} {len(drc.violations):8d}")
        print(f"{'KLayout (exported deck)':28s} {t_kl:8.2f} {sum(kl_counts.values()) if kl_counts is not None else 'n/a':>8}")
        if kl_counts:
            print("  KLayout markers by rule:", kl_counts)
        summary = {
            "kit": args.kit, "designs": rows, "reticle_mm": side, "assemble_s": round(t_build, 3),
            "pilotflow_drc_s": round(t_pf, 3), "pilotflow_markers": len(drc.violations),
            "klayout_s": round(t_kl, 3), "klayout_markers": kl_counts,
        }
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
