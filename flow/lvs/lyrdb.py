"""Write an LVS result as a KLayout marker database (``lvs.lyrdb``).

Open it in KLayout (Tools > Marker Browser) next to the GDS: one category
per kind of finding (opens, shorts, missing devices ...), one item per
finding, and clicking an item zooms to it.  Geometry in microns: a device's
bounding box, the gap of an open (the overlap of the pieces' closest shapes),
a short's path through the layout as a chain of edges, a small box around a
point otherwise; each item also carries its report line as text.
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import escape

from flow.drc.lyrdb import _path_word, _text_value
from flow.fileio import atomic_write_text
from flow.lvs.compare import LvsResult
from flow.lvs.report import _TITLES, finding_lines

#: Half size (um) of the box drawn around a finding that is a point.
POINT_BOX_UM = 1.0


def _box(b) -> str:
    x0, y0, x1, y1 = b
    if x0 == x1 and y0 == y1:
        return _point(x0, y0)
    return f"box: ({x0:.12g},{y0:.12g};{x1:.12g},{y1:.12g})"


def _point(x: float, y: float) -> str:
    h = POINT_BOX_UM
    return f"box: ({x - h:.12g},{y - h:.12g};{x + h:.12g},{y + h:.12g})"


def _edge(p, q) -> str:
    return f"edge: ({p[0]:.12g},{p[1]:.12g};{q[0]:.12g},{q[1]:.12g})"


def _values(cat: str, f: dict) -> list[str]:
    out: list[str] = []
    if cat == "opens":
        for g in f.get("gaps", ()):
            if "box" in g:
                out.append(_box(g["box"]))
            elif g.get("location"):
                out.append(_point(*g["location"]))
    elif cat == "shorts":
        for p in f.get("paths", ()):
            pts = [(q[1], q[2]) for q in p.get("points", ())]
            out += [_edge(a, b) for a, b in zip(pts, pts[1:]) if a != b]
            if len(pts) == 1:
                out.append(_point(*pts[0]))
    elif f.get("bbox"):
        out.append(_box(f["bbox"]))
    if not out and f.get("location"):
        out.append(_point(*f["location"]))
    return out


def write_lvs_lyrdb(res: LvsResult, path: str | os.PathLike[str], top_cell: str, *, description: str = "pilotflow LVS") -> int:
    """Write ``res`` to ``path`` atomically; returns the number of items."""
    lines_by_cat: dict[str, list[str]] = {}
    for cat, line in finding_lines(res):
        lines_by_cat.setdefault(cat, []).append(line)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<report-database>",
        f" <description>{escape(description)}</description>",
        " <original-file/>",
        " <generator>pilotflow</generator>",
        f" <top-cell>{escape(top_cell)}</top-cell>",
        " <tags/>",
        " <categories>",
    ]
    for cat, title in _TITLES.items():
        out += ["  <category>", f"   <name>{escape(cat)}</name>", f"   <description>{escape(title)}</description>", "   <categories/>", "  </category>"]
    out += [
        " </categories>", " <cells>", "  <cell>", f"   <name>{escape(top_cell)}</name>", "   <variant/>", "   <references/>", "  </cell>", " </cells>", " <items>",
    ]
    n = 0
    for cat in _TITLES:
        for f, line in zip(getattr(res, cat), lines_by_cat.get(cat, [])):
            values = _values(cat, f) + [_text_value(line)]
            out += [
                "  <item>", "   <tags/>", f"   <category>{escape(_path_word(cat))}</category>",
                f"   <cell>{escape(_path_word(top_cell))}</cell>", "   <visited>false</visited>",
                "   <multiplicity>1</multiplicity>", "   <values>",
                *[f"    <value>{escape(v)}</value>" for v in values],
                "   </values>", "  </item>",
            ]
            n += 1
    out += [" </items>", "</report-database>", ""]
    atomic_write_text(Path(path), "\n".join(out))
    return n
