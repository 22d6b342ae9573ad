"""``report.html``: a self-contained run report (jinja2, autoescaped).

One HTML file that works offline, opened from disk: no external URL,
script or font; pictures are inline SVG (the layout, the routing-usage map)
or ``data:`` images (the place stage's ``density.svg``).  A
Content-Security-Policy ``<meta>`` forbids scripts and every fetch, so
even a name that slipped past escaping could not run.

Sections (each says "not run" when its stage has not run, never "clean"):
design and PDK, status, metrics, stage times, the layout picture with the
DRC markers (:mod:`flow.report.pictures`), DRC by rule (with waivers and
what was not checked), LVS (counts, findings, what was not compared),
placement density, routing usage, and the power nets (current density per
layer and via against the limits; voltage clearance required against the
smallest found).

Everything the report shows is read from the run: the :class:`Design`, the
metrics, and the stage reports in the run folder (``drc.json``,
``lvs.json``, ``route.json``, ``NN-place/place.json`` and ``density.svg``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jinja2

from flow.design import Design
from flow.fileio import atomic_write_text

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("flow.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: LVS finding lists of lvs.json, in the order the report shows them.
LVS_FINDINGS = ("opens", "shorts", "missing_devices", "extra_devices", "parameter_mismatches",
                "swapped_connections", "wrong_connections", "ports", "label_conflicts")
#: Findings listed per category before "and N more".
MAX_FINDINGS = 50
#: DRC markers listed under a rule (the picture draws up to its own cap).
MAX_MARKER_ROWS = 20


def _finding(item: Any) -> str:
    """One LVS finding as a line of text (``key: value; ...``)."""
    if not isinstance(item, dict):
        return str(item)
    parts = []
    for k, v in item.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}={b}" for a, b in v.items())
        elif isinstance(v, list):
            v = ", ".join(str(x) for x in v)
        parts.append(f"{k}: {v}")
    return "; ".join(parts)


_ENV.filters["finding"] = _finding


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def _stage_dir(rundir: Path, stage_id: str) -> Path:
    from flow.stages import STAGE_IDS

    return rundir / f"{STAGE_IDS.index(stage_id):02d}-{stage_id}"


def _layout_section(design: Design, kit, rundir: Path, drc: dict | None, progress) -> dict[str, Any] | None:
    """The layout picture (from the written GDS, else the flow's own
    assembly), DRC markers on it."""
    if design.placement is None or design.floorplan is None:
        return None
    from flow.geometry.gdsio import read_gds, shapes_from_library
    from flow.report.pictures import layout_picture

    gds = design.outputs.get("gds")
    if gds and (rundir / gds).is_file():
        shapes = read_gds(rundir / gds, kit, design.top)
        source = f"{gds} (the GDS written by this run)"
    else:
        from flow.geometry.layout import assemble

        shapes = shapes_from_library(assemble(design, kit), kit, design.top)
        source = "the flow's layout (no GDS written: stage gds has not run)"
    markers = []
    if drc is not None:
        for r in drc.get("rules", []):
            for waived, key in ((False, "markers"), (True, "waived")):
                for mk in r.get(key, []):
                    what = f"{r['id']}: {r.get('doc') or r.get('kind', '')}"
                    if mk.get("measured_um") is not None:
                        what += f" (measured {mk['measured_um']:g})"
                    if mk.get("net"):
                        what += f" [{mk['net']}]"
                    if mk.get("message"):
                        what += f": {mk['message']}"
                    if waived:
                        what += f" WAIVED: {mk.get('reason', '')}"
                    markers.append({**mk, "rule": r["id"], "waived": waived, "title": what})
    if progress is not None:
        progress.update("layout picture")
    pic = layout_picture(shapes, kit, design.floorplan.die, markers)
    return {"picture": pic, "source": source, "routed": design.routing is not None}


def _drc_section(design: Design, drc: dict | None) -> dict[str, Any] | None:
    if design.drc is None or drc is None:
        return None
    rows = []
    for r in drc.get("rules", []):
        reasons = sorted({f"{w.get('reason', '')} ({w.get('author', '')}, {w.get('waiver', '')})" for w in r.get("waived", [])})
        rows.append({
            "id": r["id"], "kind": r.get("kind"), "layer": r.get("layer"), "other": r.get("other"),
            "value_um": r.get("value_um"), "doc": r.get("doc") or "", "count": r.get("count", 0),
            "waived_count": r.get("waived_count", 0), "reasons": reasons,
            "markers": [_marker_text(m) for m in r.get("markers", [])[:MAX_MARKER_ROWS]],
        })
    flagged = [x for x in rows if x["count"] or x["waived_count"]]
    clean = [x for x in rows if not (x["count"] or x["waived_count"])]
    # checks a rule ran only in part (e.g. net pairs of unknown voltage)
    partial = [n for n in drc.get("notes", []) if "not checked" in n]
    return {"flagged": flagged, "clean": clean, "json": drc, "not_checked": drc.get("not_checked", []), "partial": partial,
            "notes": drc.get("notes", []), "waivers_unused": drc.get("waivers_unused", []),
            "layers_ignored": drc.get("layers_ignored", [])}


def _marker_text(m: dict) -> str:
    if "edge_pair" in m:
        (a, b) = m["edge_pair"]
        where = f"edges ({a[0]:g}, {a[1]:g})–({a[2]:g}, {a[3]:g}) / ({b[0]:g}, {b[1]:g})–({b[2]:g}, {b[3]:g}) µm"
    else:
        xs = [p[0] for p in m.get("polygon", [])] or [0]
        ys = [p[1] for p in m.get("polygon", [])] or [0]
        where = f"box ({min(xs):g}, {min(ys):g})–({max(xs):g}, {max(ys):g}) µm"
    if m.get("measured_um") is not None:
        where += f", measured {m['measured_um']:g}"
    if m.get("net"):
        where += f", {m['net']}"
    return where


def _lvs_section(design: Design, lvs: dict | None) -> dict[str, Any] | None:
    if design.lvs is None or lvs is None:
        return None
    findings = []
    for cat in LVS_FINDINGS:
        items = lvs.get(cat) or []
        if items:
            findings.append({"name": cat.replace("_", " "), "count": len(items), "items": items[:MAX_FINDINGS],
                             "more": max(0, len(items) - MAX_FINDINGS)})
    return {"json": lvs, "summary": lvs.get("summary", {}), "findings": findings,
            "not_compared": lvs.get("not_compared", []), "notes": lvs.get("notes", [])}


def _density_section(design: Design, rundir: Path) -> dict[str, Any] | None:
    if design.placement is None:
        return None
    folder = _stage_dir(rundir, "place")
    place = _read_json(folder / "place.json")
    svg = folder / "density.svg"
    uri = None
    if svg.is_file():
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg.read_bytes()).decode("ascii")
    return {"place": place, "uri": uri}


def _congestion_section(design: Design, kit) -> dict[str, Any] | None:
    if design.routing is None or design.floorplan is None:
        return None
    import numpy as np

    from flow.place.report import default_bins
    from flow.report.pictures import heat_map, routing_usage

    die = design.floorplan.die
    bins = default_bins(die, 256)  # about 32 bins on a side
    metals = list(kit.routing_metals)
    usage, xe, ye = routing_usage(design.routing.wires, metals, die, bins)
    if not usage:
        return {"svg": None, "metals": []}
    stack = np.stack([usage[m] for m in metals])
    busiest = stack.max(axis=0)
    which = stack.argmax(axis=0)
    labels = np.empty(busiest.shape, dtype=object)
    for i in range(busiest.shape[0]):
        for j in range(busiest.shape[1]):
            labels[i, j] = ", ".join(f"{m} {100 * usage[m][i, j]:.0f}%" for m in metals)
    svg = heat_map(busiest, xe, ye, die, dbu_um=kit.dbu_um, title="routing usage (busiest metal per bin)", labels=labels)
    rows = [{"metal": m, "peak": float(usage[m].max()), "mean": float(usage[m].mean()),
             "busiest_bins": int(((which == k) & (busiest > 0)).sum())} for k, m in enumerate(metals)]
    bw = (die[2] - die[0]) / bins[0] * kit.dbu_um
    bh = (die[3] - die[1]) / bins[1] * kit.dbu_um
    return {"svg": svg, "metals": rows, "bins": bins, "bin_um": (round(bw, 2), round(bh, 2))}


def _power_section(design: Design, drc: dict | None) -> dict[str, Any] | None:
    """Per classed net: current density per layer and via vs the limits (route
    report), and voltage clearance required vs found (drc.json)."""
    cfg = design.config
    classed = [nc for nc in cfg.net_classes if nc.voltage is not None or nc.current is not None]
    if not classed:
        return {"nets": [], "limits": None, "routed": design.routing is not None, "drc": drc is not None, "no_classes": True}
    report = dict(design.routing.report) if design.routing is not None else {}
    rnets = report.get("nets", {})
    nets: dict[str, dict[str, Any]] = {}
    names = sorted(design.netlist.nets) if design.netlist is not None else sorted(rnets)
    for n in names:
        nc = cfg.net_class(n)
        if nc is None or (nc.voltage is None and nc.current is None):
            continue
        r = rnets.get(n)
        cd = (r or {}).get("current_density") or {}
        nets[n] = {"name": n, "class": nc.name, "voltage": nc.voltage, "current": nc.current, "route": r,
                   "layers": cd.get("layers") or ({cd["layer"]: cd} if cd.get("layer") else {}),
                   "vias": cd.get("vias") or {}, "worst_ratio": cd.get("ratio"),
                   "unrouted": (design.routing.unrouted.get(n) if design.routing is not None else None),
                   "clearance": None, "clearance_unknown": []}
    vc = None if drc is None else drc.get("voltage_clearance")
    if vc is not None:
        for row in vc:
            for k, n in enumerate(row["nets"]):
                if n not in nets:
                    continue
                other = row["nets"][1 - k]
                if row["required_um"] is None:
                    nets[n]["clearance_unknown"].append(other)
                    continue
                margin = row["found_um"] - row["required_um"]
                cur = nets[n]["clearance"]
                if cur is None or margin < cur["margin"]:
                    nets[n]["clearance"] = {"other": other, "rule": row["rule"], "layer": row["layer"], "dv": row["dv_v"],
                                            "required": row["required_um"], "found": row["found_um"], "margin": margin}
    return {"nets": list(nets.values()), "limits": report.get("limits"), "routed": design.routing is not None,
            "drc": drc is not None, "clearance_known": vc is not None, "no_classes": False}


def report_context(design: Design, kit, metrics: dict[str, Any], rundir: Path | None = None, progress=None) -> dict[str, Any]:
    """Everything the template renders (plain values and escaped SVG)."""
    from flow.stages import STAGE_IDS

    rules = {r.id: r for r in kit.rules}
    drc = lvs = None
    if rundir is not None:
        rundir = Path(rundir)
        if design.drc is not None:
            drc = _read_json(rundir / "drc.json")
        if design.lvs is not None:
            lvs = _read_json(rundir / "lvs.json")
    secs = metrics.get("stage_seconds") or {}
    stages = [{"id": s, "seconds": secs.get(s)} for s in STAGE_IDS]
    ctx: dict[str, Any] = {
        "design": design, "kit": kit, "m": metrics, "rules": rules, "stages": stages,
        "layout": None, "drc": _drc_section(design, drc), "lvs": _lvs_section(design, lvs),
        "density": None, "congestion": None, "power": _power_section(design, drc),
    }
    if rundir is not None:
        ctx["layout"] = _layout_section(design, kit, rundir, drc, progress)
        ctx["density"] = _density_section(design, rundir)
    if progress is not None:
        progress.update("routing usage")
    ctx["congestion"] = _congestion_section(design, kit)
    return ctx


def render_report(design: Design, kit, metrics: dict[str, Any], rundir: Path | None = None, progress=None) -> str:
    """The report's HTML text.  Without ``rundir`` only what the design and
    metrics hold is shown (no layout picture, no stage reports)."""
    return _ENV.get_template("report.html.j2").render(**report_context(design, kit, metrics, rundir, progress))


def write_report(design: Design, kit, metrics: dict[str, Any], rundir: Path, progress=None) -> None:
    """Write ``rundir/report.html`` atomically."""
    atomic_write_text(Path(rundir) / "report.html", render_report(design, kit, metrics, rundir, progress))
