"""The cell instances under a top cell: where each placed cell lies.

Flattening forgets which cell a shape came from; reports want it back (a
DRC marker inside an inverter is shown in the inverter's context, as
KLayout's marker browser does).  :func:`instance_table` walks the
references (and arrays) under a top cell once and keeps, per placed
instance, the cell name, the transformation into the top cell and the
bounding box in the top cell (dbu); :meth:`Instances.locate` finds the
deepest instance holding a box.

>>> import gdstk
>>> lib = gdstk.Library(unit=1e-6, precision=1e-9)
>>> inv = lib.new_cell("INV")
>>> _ = inv.add(gdstk.rectangle((0, 0), (2, 3)))
>>> top = lib.new_cell("TOP")
>>> _ = top.add(gdstk.Reference(inv, (10, 0), columns=2, rows=1, spacing=(5, 0)))
>>> t = instance_table(top, 1000.0)
>>> [t.names[c] for c in t.cell], t.box.tolist()
(['INV', 'INV'], [[10000, 0, 12000, 3000], [15000, 0, 17000, 3000]])
>>> t.locate(np.array([[15500, 100, 15600, 200], [13000, 0, 13100, 10]])).tolist()
[1, -1]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gdstk
import numpy as np

#: Instances kept at most; deeper levels are left out beyond it (their
#: markers are then shown in the nearest kept parent, or the top cell).
MAX_INSTANCES = 500_000


@dataclass(frozen=True)
class Instances:
    """Placed cell instances under one top cell (all levels).

    ``names``: cell names; per instance: ``cell`` (index into ``names``),
    ``depth`` (1: placed in the top cell), ``matrix`` (n, 2, 2) and
    ``offset`` (n, 2, dbu) of the transformation from the cell's
    coordinates to the top cell's, ``box`` (n, 4) int64 bounding box in the
    top cell (dbu).
    """

    names: tuple[str, ...]
    cell: np.ndarray
    depth: np.ndarray
    matrix: np.ndarray
    offset: np.ndarray
    box: np.ndarray

    def __len__(self) -> int:
        return len(self.cell)

    def locate(self, boxes: np.ndarray) -> np.ndarray:
        """For each box ``(x0, y0, x1, y1)`` (dbu), the deepest instance whose
        bounding box holds it (the smallest one among equals), or -1."""
        from flow.drc.edges import box_pairs

        out = np.full(len(boxes), -1, np.int64)
        if len(boxes) == 0 or len(self) == 0:
            return out
        i, j = box_pairs(boxes.astype(np.float64), self.box.astype(np.float64))
        b, c = boxes[i], self.box[j]
        inside = (c[:, 0] <= b[:, 0]) & (c[:, 1] <= b[:, 1]) & (b[:, 2] <= c[:, 2]) & (b[:, 3] <= c[:, 3])
        i, j = i[inside], j[inside]
        if len(i) == 0:
            return out
        area = (self.box[j, 2] - self.box[j, 0]).astype(np.float64) * (self.box[j, 3] - self.box[j, 1])
        order = np.lexsort((j, area, -self.depth[j], i))
        i, j = i[order], j[order]
        first = np.r_[True, i[1:] != i[:-1]]
        out[i[first]] = j[first]
        return out

    def trans(self, k: int) -> tuple[float, float, bool]:
        """``(rotation degrees, magnification, mirrored)`` of instance ``k``
        (KLayout's convention: mirror at the x axis first, then rotate)."""
        m = self.matrix[k]
        det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
        rot = math.degrees(math.atan2(m[1, 0], m[0, 0])) % 360.0
        return round(rot, 9) % 360.0, math.sqrt(abs(det)), bool(det < 0)

    def to_local(self, k: int, xy: np.ndarray) -> np.ndarray:
        """Top-cell points ``xy`` (n, 2, dbu) in instance ``k``'s coordinates."""
        inv = np.linalg.inv(self.matrix[k])
        return (np.asarray(xy, np.float64) - self.offset[k]) @ inv.T


def _ref_matrix(ref: gdstk.Reference) -> np.ndarray:
    c, s = math.cos(ref.rotation), math.sin(ref.rotation)
    m = ref.magnification * np.array([[c, -s], [s, c]])
    if ref.x_reflection:
        m = m @ np.array([[1.0, 0.0], [0.0, -1.0]])
    return m


def instance_table(top: gdstk.Cell, scale: float) -> Instances:
    """Every placed instance under ``top`` (breadth first, at most
    :data:`MAX_INSTANCES`); ``scale`` turns the library's user units into dbu."""
    names: dict[str, int] = {}
    bbox: dict[str, tuple | None] = {}
    cells, depths, mats, offs, boxes = [], [], [], [], []
    # one entry per (cell, transformation matrix): the offsets of all its placements
    level = [(top, np.eye(2), np.zeros((1, 2)), 0)]
    total = 0
    while level and total < MAX_INSTANCES:
        nxt = []
        for cell, m0, t0, depth in level:
            for ref in cell.references:
                child = ref.cell
                if not isinstance(child, gdstk.Cell):
                    continue
                if child.name not in bbox:
                    bbox[child.name] = child.bounding_box()
                bb = bbox[child.name]
                if bb is None:
                    continue
                rep = ref.repetition
                offsets = np.asarray(rep.get_offsets(), np.float64).reshape(-1, 2) if rep is not None and rep.size > 0 else np.zeros((1, 2))
                m = m0 @ _ref_matrix(ref)
                org = (np.asarray(ref.origin, np.float64) + offsets) * scale  # dbu, in the parent
                t = (t0[:, None, :] + (org @ m0.T)[None, :, :]).reshape(-1, 2)
                if total + len(t) > MAX_INSTANCES:
                    t = t[: max(0, MAX_INSTANCES - total)]
                if len(t) == 0:
                    continue
                (x0, y0), (x1, y1) = bb
                corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) * scale @ m.T  # (4, 2)
                lo, hi = corners.min(axis=0), corners.max(axis=0)
                b = np.hstack([np.floor(t + lo), np.ceil(t + hi)]).astype(np.int64)
                ci = names.setdefault(child.name, len(names))
                cells.append(np.full(len(t), ci, np.int64))
                depths.append(np.full(len(t), depth + 1, np.int64))
                mats.append(np.broadcast_to(m, (len(t), 2, 2)))
                offs.append(t)
                boxes.append(b)
                total += len(t)
                if child.references:
                    nxt.append((child, m, t, depth + 1))
        level = nxt
    if not cells:
        z = np.zeros(0, np.int64)
        return Instances((), z, z, np.zeros((0, 2, 2)), np.zeros((0, 2)), np.zeros((0, 4), np.int64))
    return Instances(
        names=tuple(names),
        cell=np.concatenate(cells),
        depth=np.concatenate(depths),
        matrix=np.concatenate(mats),
        offset=np.concatenate(offs),
        box=np.concatenate(boxes),
    )
