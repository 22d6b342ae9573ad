"""Write a :class:`~flow.drc.engine.DrcResult` as a KLayout marker database.

The ``.lyrdb`` file opens in KLayout's marker browser (Tools > Marker
Browser): one category per rule (description: the rule's doc), one item per
marker, values in microns.  Each marker is filed under its *cell*: the
deepest placed cell instance (see :mod:`flow.geometry.hierarchy`) whose
bounding box holds the whole marker, else the top cell.  A cell placed more
than once gets one variant per placement holding markers (``INV:1``,
``INV:2``, ...), each with a reference giving its transformation into the
top cell; the marker's coordinates are then the cell's own, so KLayout shows
it in the cell and in context.  Values::

    edge-pair: (x0,y0;x1,y1)/(x0,y0;x1,y1)
    edge: (x0,y0;x1,y1)        (a marker that is one edge, e.g. of an ``angle`` rule)
    polygon: (x,y;x,y;...)
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from flow.drc.engine import DrcResult, Violation
from flow.geometry.hierarchy import Instances
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
    if v.message is not None:
        out.append(f"    <value>{escape(_text_value(v.message))}</value>")
    return out


def _bbox(v: Violation) -> tuple[int, int, int, int]:
    if v.is_edge_pair:
        (a, b) = v.marker  # type: ignore[misc]
        xs, ys = (a[0], a[2], b[0], b[2]), (a[1], a[3], b[1], b[3])
    else:
        xs = tuple(p[0] for p in v.marker)  # type: ignore[index]
        ys = tuple(p[1] for p in v.marker)  # type: ignore[index]
    return min(xs), min(ys), max(xs), max(ys)


def _local(v: Violation, inst: Instances, k: int) -> Violation:
    """``v`` with its marker in instance ``k``'s coordinates (rounded to dbu
    when the transformation keeps the grid, as placements normally do)."""
    if v.is_edge_pair:
        pts = np.array([p for e in v.marker for p in (e[:2], e[2:])], np.float64)  # type: ignore[index]
    else:
        pts = np.array(v.marker, np.float64)
    loc = inst.to_local(k, pts)
    r = np.rint(loc)
    loc = np.where(np.abs(loc - r) < 1e-6, r, loc)
    if v.is_edge_pair:
        q = [float(x) for x in loc.ravel()]
        marker = (tuple(q[0:4]), tuple(q[4:8]))
    else:
        marker = tuple((float(x), float(y)) for x, y in loc.tolist())
    return dataclasses.replace(v, marker=marker)  # type: ignore[arg-type]


def _trans(inst: Instances, k: int, kit: PDK) -> str:
    """KLayout's string of instance ``k``'s transformation (microns)."""
    rot, mag, mirror = inst.trans(k)
    x, y = (kit.um(float(c)) for c in inst.offset[k])
    head = f"m{rot / 2:.12g}" if mirror else f"r{rot:.12g}"
    return f"{head} *{mag:.12g} {x:.12g},{y:.12g}"


def write_lyrdb(
    result: DrcResult, kit: PDK, path: str | os.PathLike[str], top_cell: str, instances: Instances | None = None
) -> None:
    """Write ``result`` to ``path`` atomically (``path.tmp``, then rename).

    Every checked rule becomes a category (also rules without markers);
    coordinates are in microns.  Waived markers are items tagged ``waived``
    (KLayout's marker browser shows them as waived) with the waiver's reason,
    author and source as a text value.  ``instances``: the layout's placed
    cells (:attr:`flow.geometry.gdsio.LayoutShapes.instances`); each marker
    goes to the cell holding it (module notes); ``None``: all in the top cell.
    """
    path = Path(path)
    every = list(result.violations) + [v for v, _ in result.waived]
    where = np.full(len(every), -1, np.int64)
    if instances is not None and len(instances) and every:
        where = instances.locate(np.array([_bbox(v) for v in every], np.int64))
    used = sorted(set(where.tolist()) - {-1})
    per_name: dict[str, list[int]] = {}
    for k in used:
        per_name.setdefault(instances.names[instances.cell[k]], []).append(k)  # type: ignore[union-attr]
    cell_ref: dict[int, str] = {-1: _path_word(top_cell)}
    cell_xml: list[str] = []
    for name, ks in per_name.items():
        for n, k in enumerate(ks, 1):
            variant = str(n) if len(ks) > 1 else ""
            cell_ref[k] = _path_word(name) + (f":{variant}" if variant else "")
            cell_xml += [
                "  <cell>",
                f"   <name>{escape(name)}</name>",
                f"   <variant>{variant}</variant>" if variant else "   <variant/>",
                "   <references>",
                "    <ref>",
                f"     <parent>{escape(_path_word(top_cell))}</parent>",
                f"     <trans>{_trans(instances, k, kit)}</trans>",  # type: ignore[arg-type]
                "    </ref>",
                "   </references>",
                "  </cell>",
            ]

    def placed(n: int, v: Violation) -> tuple[str, Violation]:
        k = int(where[n])
        return cell_ref[k], (v if k < 0 else _local(v, instances, k))  # type: ignore[arg-type]

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
        *cell_xml,
        " </cells>",
        " <items>",
    ]
    nv = len(result.violations)
    for n, v in enumerate(result.violations):
        cell, v = placed(n, v)
        lines += [
            "  <item>",
            "   <tags/>",
            f"   <category>{escape(_path_word(v.rule_id))}</category>",
            f"   <cell>{escape(cell)}</cell>",
            "   <visited>false</visited>",
            "   <multiplicity>1</multiplicity>",
            "   <values>",
            f"    <value>{escape(marker_value(v, kit))}</value>",
            *_net_values(v),
            "   </values>",
            "  </item>",
        ]
    for n, (v, w) in enumerate(result.waived, nv):
        cell, v = placed(n, v)
        note = f"waived: {w.reason} ({w.author}; {w.source})"
        lines += [
            "  <item>",
            "   <tags>waived</tags>",
            f"   <category>{escape(_path_word(v.rule_id))}</category>",
            f"   <cell>{escape(cell)}</cell>",
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
