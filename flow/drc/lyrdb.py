"""Write a :class:`~flow.drc.engine.DrcResult` as a KLayout marker database.

The ``.lyrdb`` file opens in KLayout's marker browser (Tools > Marker
Browser): one category per rule (description: the rule's doc), one cell (the
top cell), one item per marker, values in microns::

    edge-pair: (x0,y0;x1,y1)/(x0,y0;x1,y1)
    edge: (x0,y0;x1,y1)        (a marker that is one edge, e.g. of an ``angle`` rule)
    polygon: (x,y;x,y;...)
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import escape

from flow.drc.engine import DrcResult, Violation
from pdk.schema import PDK


def _fmt(kit: PDK, v: float) -> str:
    return f"{kit.um(v):.12g}"


def marker_value(v: Violation, kit: PDK) -> str:
    """KLayout RDB value string of ``v``'s marker (microns)."""
    if v.is_edge_pair:
        e1, e2 = v.marker
        f = lambda e: f"({_fmt(kit, e[0])},{_fmt(kit, e[1])};{_fmt(kit, e[2])},{_fmt(kit, e[3])})"  # noqa: E731
        if e1 == e2 and tuple(e1[:2]) != tuple(e1[2:]):  # one edge (e.g. an off-angle edge)
            return f"edge: {f(e1)}"
        return f"edge-pair: {f(e1)}/{f(e2)}"
    pts = ";".join(f"{_fmt(kit, x)},{_fmt(kit, y)}" for x, y in v.marker)  # type: ignore[misc]
    return f"polygon: ({pts})"


def _path_word(name: str) -> str:
    """A category/cell reference: quoted when not a plain word (KLayout
    reads ``.`` in an unquoted category path as a sub-category)."""
    if name and all(c.isalnum() or c == "_" for c in name):
        return name
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _text_value(text: str) -> str:
    """A KLayout RDB text value (single-quoted, backslash escapes)."""
    return "text: '" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _net_values(v: Violation) -> list[str]:
    """Extra RDB values of a net-aware marker: the net(s), the measured figure."""
    out = []
    if v.net is not None:
        out.append(f"    <value>{escape(_text_value(f'net: {v.net}'))}</value>")
    if v.net is not None and not v.is_edge_pair and v.measured_um is not None:
        out.append(f"    <value>{escape(_text_value(f'measured: {v.measured_um:g}'))}</value>")
    return out


def write_lyrdb(result: DrcResult, kit: PDK, path: str | os.PathLike[str], top_cell: str) -> None:
    """Write ``result`` to ``path`` atomically (``path.tmp``, then rename).

    Every checked rule becomes a category (also rules without markers);
    coordinates are in microns.  Waived markers are items tagged ``waived``
    (KLayout's marker browser shows them as waived) with the waiver's reason,
    author and source as a text value.
    """
    path = Path(path)
    docs = {r.id: r.doc for r in result.rules}
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<report-database>",
        f" <description>{escape(f'pilotflow DRC, {kit.name} {kit.version}')}</description>",
        " <original-file/>",
        " <generator>pilotflow</generator>",
        f" <top-cell>{escape(top_cell)}</top-cell>",
    ]
    if result.waived:
        lines += [" <tags>", "  <tag>", "   <name>waived</name>", "   <description>Waived by a pilotflow waiver file</description>", "  </tag>", " </tags>"]
    else:
        lines += [" <tags/>"]
    lines += [
        " <categories>",
    ]
    for rid in result.rules_checked:
        lines += [
            "  <category>",
            f"   <name>{escape(rid)}</name>",
            f"   <description>{escape(docs.get(rid, '') or rid)}</description>",
            "   <categories/>",
            "  </category>",
        ]
    lines += [
        " </categories>",
        " <cells>",
        "  <cell>",
        f"   <name>{escape(top_cell)}</name>",
        "   <variant/>",
        "   <references/>",
        "  </cell>",
        " </cells>",
        " <items>",
    ]
    for v in result.violations:
        lines += [
            "  <item>",
            "   <tags/>",
            f"   <category>{escape(_path_word(v.rule_id))}</category>",
            f"   <cell>{escape(_path_word(top_cell))}</cell>",
            "   <visited>false</visited>",
            "   <multiplicity>1</multiplicity>",
            "   <values>",
            f"    <value>{escape(marker_value(v, kit))}</value>",
            *_net_values(v),
            "   </values>",
            "  </item>",
        ]
    for v, w in result.waived:
        note = f"waived: {w.reason} ({w.author}; {w.source})"
        lines += [
            "  <item>",
            "   <tags>waived</tags>",
            f"   <category>{escape(_path_word(v.rule_id))}</category>",
            f"   <cell>{escape(_path_word(top_cell))}</cell>",
            "   <visited>false</visited>",
            "   <multiplicity>1</multiplicity>",
            "   <values>",
            f"    <value>{escape(marker_value(v, kit))}</value>",
            *_net_values(v),
            f"    <value>{escape(_text_value(note))}</value>",
            "   </values>",
            "  </item>",
        ]
    lines += [" </items>", "</report-database>", ""]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)
