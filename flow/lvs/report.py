"""LVS reports: ``lvs.json`` (machine-readable, schema in docs/formats.md),
a plain-text form for terminals and logs, and an HTML page (jinja2,
autoescaped).  Every finding carries a location in microns (``[x, y]``, and
a ``bbox`` for devices) that a designer can type into KLayout's
"Pan/Zoom to position" box."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flow
from flow.fileio import atomic_write_json, atomic_write_text
from flow.lvs.compare import LvsResult

#: Version of the lvs.json layout; bump on incompatible changes.
FORMAT_VERSION = 1

_TITLES = {
    "opens": "Opens (a source net split into several layout nets)",
    "shorts": "Shorts (several source nets joined in one layout net)",
    "missing_devices": "Missing devices (in the netlist, not in the layout)",
    "extra_devices": "Extra devices (in the layout, not in the netlist)",
    "parameter_mismatches": "Parameter mismatches",
    "swapped_connections": "Swapped connections",
    "wrong_connections": "Wrong connections",
    "ports": "Ports",
    "label_conflicts": "Label conflicts (a label names another source net)",
}


def to_json(res: LvsResult, *, kit, layout: str | None, netlist: str | None, layout_notes=()) -> dict[str, Any]:
    """The ``lvs.json`` body."""
    return {
        "format": "pilotflow-lvs",
        "format_version": FORMAT_VERSION,
        "pilotflow_version": flow.__version__,
        "pdk": kit.name,
        "pdk_version": kit.version,
        "layout": layout,
        "netlist": netlist,
        "source_top": res.source_top,
        "layout_top": res.layout_top,
        "status": res.status,
        "match": res.match,
        "clean": res.clean,
        "summary": {"devices": res.devices, "nets": res.nets, "counts": res.counts()},
        "not_compared": list(res.not_compared),
        "notes": list(res.notes) + [f"extraction: {n}" for n in layout_notes],
        **{c: getattr(res, c) for c in LvsResult.CATEGORIES},
        "infrastructure": res.infrastructure,
        "device_map": dict(sorted(res.device_map.items())),
        "net_map": dict(sorted(res.net_map.items())),
    }


def _xy(p) -> str:
    if not p:
        return "(location unknown)"
    if isinstance(p[0], str):
        return f"({p[1]:g}, {p[2]:g}) um on {p[0]}"
    return f"({p[0]:g}, {p[1]:g}) um"


def _box(b) -> str:
    return f"box ({b[0]:g}, {b[1]:g})-({b[2]:g}, {b[3]:g}) um" if b else "(location unknown)"


def _pins(pins: dict) -> str:
    return " ".join(f"{t}={n}" for t, n in pins.items())


def _v(x: float, unit: str) -> str:
    return f"{x:.6g}{(' ' + unit) if unit else ''}"


def finding_lines(res: LvsResult) -> list[tuple[str, str]]:
    """``(category, one line)`` per finding, in report order."""
    out: list[tuple[str, str]] = []
    for o in res.opens:
        pieces = ", ".join(f"{p} ({len(o['pins'].get(p, []))} pins)" for p in o["layout_nets"])
        gap = ""
        if o["gaps"]:
            g = o["gaps"][0]
            how = f"on {' and '.join(dict.fromkeys(g['layers']))}" if "layers" in g else f"between {_xy(g['from'])} and {_xy(g['to'])}"
            gap = f"; pieces closest ({g['distance_um']:g} um apart {how}) at {_xy(g['location'])}"
        if o.get("note"):
            pieces = o["note"]
        cause = f"; likely cause: {o['likely_cause']}" if o.get("likely_cause") else ""
        out.append(("opens", f"open: net {o['net']} is split into {len(o['layout_nets'])} layout nets: {pieces}{gap}{cause}"))
    for s in res.shorts:
        line = f"short: nets {', '.join(s['nets'])} are joined in layout net {s['layout_net']}"
        for p in s["paths"]:
            line += f"; path {p['length_um']:g} um from label {p['nets'][0]} {_xy(p['from'])} to label {p['nets'][1]} {_xy(p['to'])}"
        if s.get("location"):
            line += f"; look at {_xy(s['location'])}"
        out.append(("shorts", line))
    for m in res.missing_devices:
        src = f" ({m['source']})" if m.get("source") else ""
        out.append(("missing_devices", f"missing device: {m['device']}{src} {m['model']} {_pins(m['pins'])}; expected near {_xy(m['location'])}"))
    for e in res.extra_devices:
        why = f" ({e['problem']})" if e.get("problem") else ""
        out.append(("extra_devices", f"extra device: {e['device']} {e['model']} {_pins(e['pins'])}{why} at {_box(e['bbox'])}"))
    for p in res.parameter_mismatches:
        out.append((
            "parameter_mismatches",
            f"parameter: {p['device']} ({p['model']}) {p['param']}: netlist {_v(p['source'], p['unit'])}, layout {_v(p['layout'], p['unit'])} at {_box(p['bbox'])}",
        ))
    for s in res.swapped_connections:
        t1, t2 = s["terminals"]
        out.append((
            "swapped_connections",
            f"swapped: {s['device']} ({s['model']}) terminals {t1} and {t2} exchanged: netlist {t1}={s['source'][t1]} {t2}={s['source'][t2]}, "
            f"layout {t1} on the net of {s['source'][t2]}, {t2} on the net of {s['source'][t1]} at {_box(s['bbox'])}"
            + "".join(f"; {t} at {_xy(p)}" for t, p in (s.get("terminal_points") or {}).items() if p),
        ))
    for w in res.wrong_connections:
        if w.get("layout_net") is None:
            out.append(("wrong_connections", f"wrong connection: {w['device']} ({w['model']}) terminal {w['terminal']}: {w.get('problem')}"))
            continue
        is_ = f" (the layout net of {w['layout_net_matches']})" if w.get("layout_net_matches") else ""
        out.append((
            "wrong_connections",
            f"wrong connection: {w['device']} ({w['model']}) terminal {w['terminal']}: netlist {w['source_net']}, layout {w['layout_net']}{is_} at {_box(w['bbox'])}",
        ))
    for p in res.ports:
        out.append(("ports", f"port {p['port']}: {p['problem']}" + (f" (layout net {p['layout_net']})" if p.get("layout_net") else "")))
    for c in res.label_conflicts:
        out.append(("label_conflicts", f"label: layout net {c['layout_net']} matches netlist net {c['matches']} but carries label {c['label']} at {_xy(c['location'])}"))
    return out


def text_report(res: LvsResult, *, kit, layout: str | None, netlist: str | None, limit: int | None = None) -> list[str]:
    """The readable report, one finding per line (``limit``: at most that
    many finding lines, then a count of the rest)."""
    word = {"match": "MATCH", "mismatch": "MISMATCH", "incomplete": "MATCH (INCOMPLETE)"}[res.status]
    lines = [f"LVS {word}: layout {layout or '?'} (cell {res.layout_top}) vs netlist {netlist or '?'} ({res.source_top}), PDK {kit.name} {kit.version}"]
    d, n = res.devices, res.nets
    infra = f", {d.get('infrastructure', 0)} pads/seal rings not in the netlist" if d.get("infrastructure") else ""
    lines.append(f"  devices: {d['source']} in the netlist, {d['layout']} in the layout, {d['matched']} matched{infra}")
    lines.append(f"  nets: {n['source']} in the netlist, {n['layout']} in the layout, {n['matched']} matched")
    counts = {k: v for k, v in res.counts().items() if v}
    if counts:
        lines.append("  found: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
    found = finding_lines(res)
    shown = found if limit is None else found[:limit]
    lines += [f"  {line}" for _, line in shown]
    if len(shown) < len(found):
        lines.append(f"  ... and {len(found) - len(shown)} more (see the JSON report)")
    for item in res.not_compared:
        lines.append(f"  not compared: {item}")
    for item in res.notes:
        lines.append(f"  note: {item}")
    return lines


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LVS {{ res.status }}: {{ res.layout_top }}</title>
<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}
table{border-collapse:collapse}.match{color:#070}.mismatch{color:#b00}.incomplete{color:#a60}code{background:#f4f4f4}</style></head>
<body>
<h1>LVS <span class="{{ res.status }}">{{ res.status | upper }}</span></h1>
<p>Layout <code>{{ layout }}</code> (cell {{ res.layout_top }}) against netlist <code>{{ netlist }}</code> ({{ res.source_top }}),
PDK {{ kit.name }} {{ kit.version }}. Locations are in microns (KLayout: View, Zoom to position).</p>
<table><tr><th></th><th>netlist</th><th>layout</th><th>matched</th></tr>
<tr><td>devices</td><td>{{ res.devices.source }}</td><td>{{ res.devices.layout }}</td><td>{{ res.devices.matched }}</td></tr>
<tr><td>nets</td><td>{{ res.nets.source }}</td><td>{{ res.nets.layout }}</td><td>{{ res.nets.matched }}</td></tr></table>
{% for cat, title in titles.items() %}{% set items = groups.get(cat, []) %}{% if items %}
<h2>{{ title }} ({{ items | length }})</h2><ul>{% for line in items %}<li>{{ line }}</li>{% endfor %}</ul>
{% endif %}{% endfor %}
{% if res.not_compared %}<h2>Not compared</h2><ul>{% for x in res.not_compared %}<li>{{ x }}</li>{% endfor %}</ul>{% endif %}
{% if res.notes %}<h2>Notes</h2><ul>{% for x in res.notes %}<li>{{ x }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""


def html_report(res: LvsResult, *, kit, layout: str | None, netlist: str | None) -> str:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    groups: dict[str, list[str]] = {}
    for cat, line in finding_lines(res):
        groups.setdefault(cat, []).append(line)
    return env.from_string(_HTML).render(res=res, kit=kit, layout=layout, netlist=netlist, titles=_TITLES, groups=groups)


def write_reports(res: LvsResult, folder_or_json: Path, *, kit, layout: str | None, netlist: str | None, layout_notes=(), text: Path | None = None, html: Path | None = None) -> None:
    """Write lvs.json (and optionally the text and HTML forms), atomically."""
    atomic_write_json(folder_or_json, to_json(res, kit=kit, layout=layout, netlist=netlist, layout_notes=layout_notes))
    if text is not None:
        atomic_write_text(text, "\n".join(text_report(res, kit=kit, layout=layout, netlist=netlist)) + "\n")
    if html is not None:
        atomic_write_text(html, html_report(res, kit=kit, layout=layout, netlist=netlist))
