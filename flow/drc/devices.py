"""Device terminals against their current ratings (part of ``current_density``).

The routing is checked against each net's current wire by wire; the metal
inside a device cell is left to the device (:class:`flow.drc.kinds.nets._DeviceMetal`)
and checked here instead, through the rating each generator reports per
terminal (:mod:`pdk.rating`, computed from the metal the generator drew and
the kit's limits).

A device in a layout is a cell named after a device model of the kit and its
parameters (:func:`pdk.base.cell_name`, e.g. ``hemtek_l1_lgd15_nf20_w6000``,
with an orientation suffix ``_MX`` / ``_MY`` / ``_R180`` for a flattened
oriented copy).  :func:`parse_cell_name` reads the parameters back; the
generator then gives the pins (to find each terminal's net in the layout)
and the ratings.  A cell whose name cannot be read, or whose generated cell
has another size than the one placed (another kit version), is not rated
and the run's notes say so.

A terminal is checked by the ``current_density`` rule of the layer of its
first pin (its main access: a HEMT's MET1 bus, a pad's top metal), once.  A
terminal whose net carries more than the terminal's rating at the operating
temperature is a polygon marker over that pin, ``measured`` being the net
current in mA, with a message naming the device, terminal, rating and
current.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from flow.errors import InputError
from flow.geometry.gdsio import is_device_cell
from pdk.schema import PDK

_ORIENT = re.compile(r"_(MX|MY|R180)$")
_NUM = re.compile(r"m?\d+(?:p\d+)?(?:e[m]?\d+)?$")


def _num(text: str) -> float | None:
    """A number as :func:`pdk.base.cell_name` writes it (``p`` for the
    point, ``m`` for minus)."""
    if not _NUM.fullmatch(text):
        return None
    try:
        return float(text.replace("p", ".").replace("m", "-"))
    except ValueError:
        return None


def parse_cell_name(name: str, kit: PDK) -> tuple[str, dict[str, float]] | None:
    """``(model, params)`` of a device cell named by :func:`pdk.base.cell_name`
    (an orientation suffix is dropped); ``None`` when the name is not one.

    >>> import pdk
    >>> kit = pdk.load("gan650")
    >>> parse_cell_name("hemtek_l1_lgd15_nf20_w6000_MY", kit)
    ('hemtek', {'l': 1.0, 'lgd': 15.0, 'nf': 20.0, 'w': 6000.0})
    >>> parse_cell_name("hemte_l1_nf4_zz3", kit), parse_cell_name("TOP", kit)
    (None, None)
    """
    base = _ORIENT.sub("", name)
    for model in sorted(kit.devices, key=len, reverse=True):
        if base != model and not base.startswith(model + "_"):
            continue
        params: dict[str, float] = {}
        names = sorted(kit.device(model).params, key=len, reverse=True)
        rest = base[len(model) + 1:]
        for tok in rest.split("_") if rest else []:
            for p in names:
                if tok.startswith(p) and p not in params and (v := _num(tok[len(p):])) is not None:
                    params[p] = v
                    break
            else:
                return None
        return model, params
    return None


@dataclass(frozen=True)
class Terminal:
    """One rated terminal of one placed device (top-cell coordinates, dbu)."""

    cell: str
    model: str
    terminal: str
    layer: str
    pin: tuple[int, int, int, int]
    rating: object  # pdk.rating.Rating


def placed_terminals(shapes, kit: PDK) -> tuple[list[Terminal], list[str]]:
    """Every rated terminal of every device cell placed under the layout's
    top cell, and notes on the device cells that could not be rated."""
    from pdk.base import generate, orient_rect

    inst = getattr(shapes, "instances", None)
    out: list[Terminal] = []
    notes: list[str] = []
    if inst is None and kit.devices:
        notes.append("device terminal ratings not checked: the layout's cell instances are not known "
                     "(device cells are found by their placements)")
        return out, notes
    if inst is None or not len(inst) or not kit.devices:
        return out, notes
    skipped: dict[str, str] = {}
    cache: dict[str, object] = {}
    for k in range(len(inst)):
        cname = inst.names[inst.cell[k]]
        if not is_device_cell(cname, kit):
            continue
        if cname not in cache:
            got = parse_cell_name(cname, kit)
            dc = None
            if got is None:
                skipped[cname] = "its parameters cannot be read from its name"
            else:
                try:
                    dc = generate(kit, got[0], got[1])
                except InputError as e:
                    skipped[cname] = f"the generator refuses its parameters ({e})"
            cache[cname] = (got, dc)
        got, dc = cache[cname]  # type: ignore[misc]
        if dc is None:
            continue
        orient = _ORIENT.search(cname)
        o = orient.group(1) if orient else "R0"
        # the placed cell's size must be the generated one's
        box = inst.box[k]
        placed = sorted((int(box[2] - box[0]), int(box[3] - box[1])))
        if any(abs(a - b) > 2 for a, b in zip(placed, sorted((dc.width, dc.height)))):  # 2 dbu: the box's rounding
            skipped[cname] = (f"the placed cell ({int(box[2] - box[0])} x {int(box[3] - box[1])} dbu) is not what "
                              f"{kit.name} {kit.version} generates ({dc.width} x {dc.height} dbu)")
            continue
        m, off = inst.matrix[k], inst.offset[k]
        for r in dc.ratings:
            pins = dc.pins_of(r.terminal)
            if not pins:
                continue
            p = pins[0]
            x0, y0, x1, y1 = orient_rect(p.rect, dc.bbox, o)
            pts = np.array([[x0, y0], [x1, y1]], np.float64) @ m.T + off
            lo, hi = np.rint(pts.min(axis=0)).astype(int), np.rint(pts.max(axis=0)).astype(int)
            out.append(Terminal(cname, got[0], r.terminal, p.layer, (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])), r))
    for cname, why in sorted(skipped.items()):
        notes.append(f"device cell {cname}: terminal ratings not checked: {why}")
    return out, notes


def fmt_amps(a: float) -> str:
    """``0.05`` -> ``'50 mA'``, ``2`` -> ``'2 A'``."""
    if math.isnan(a):
        return "unknown"
    return f"{a * 1000:.3g} mA" if abs(a) < 1 else f"{a:.3g} A"
