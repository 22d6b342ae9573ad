"""A GDSII file streamed into a compact on-disk store of flat, per-layer polygons.

:func:`flow.geometry.gdsio.read_gds` reads a whole file with gdstk and keeps
every flattened polygon as a numpy array: about 1.3 KB per polygon (half of
it gdstk's library).  A tiled DRC run only needs one tile's shapes at a time,
so :func:`build_store` instead streams the file once, record by record in
chunks of :data:`CHUNK_BYTES`, and writes, per PDK layer, the flattened
polygons of the top cell to a binary file (``int32`` x, y pairs in dbu).  In
memory stay, per polygon, its first vertex and its bounding box (24 bytes),
plus the hierarchy (cell references) and the text labels.  A tile's polygons
are then read back by a bounding-box query (:meth:`ShapeStore.fetch`), so a
tiled run's peak memory depends on the tile size, not the layout size.

Hierarchical input is flattened instance group by instance group (one cell
under one transformation, all its placements at once), at most
:data:`FLATTEN_VERTICES` vertices at a time.

Coordinates, vertex clean-up (repeated vertices dropped, polygons with fewer
than three kept vertices dropped) and paths (``PATH``, pathtypes 0, 2 and 4,
made into polygons by gdstk) are the same as :func:`read_gds` gives.  Input
the stream reader does not handle (OASIS, round-ended paths, ``BOX``
elements in kit layers...) raises :class:`Unsupported`; callers then fall
back to :func:`read_gds`.

>>> import gdstk, pdk, tempfile, os
>>> kit = pdk.load("gan650")
>>> lib = gdstk.Library(unit=1e-6, precision=1e-9)
>>> top = lib.new_cell("TOP")
>>> _ = top.add(gdstk.rectangle((0, 0), (2, 1), layer=10))
>>> d = tempfile.mkdtemp(); lib.write_gds(os.path.join(d, "a.gds"))
>>> st = build_store(os.path.join(d, "a.gds"), kit, None, d)
>>> st.count("MET1"), st.fetch("MET1", np.array([0]))[0].tolist()
(1, [[0, 0], [2000, 0], [2000, 1000], [0, 1000]])
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from flow.errors import InputError, where
from flow.geometry.gdsio import LayoutShapes
from flow.geometry.hierarchy import MAX_INSTANCES, Instances
from pdk.schema import PDK

#: Bytes of the GDS file read at a time.
CHUNK_BYTES = 4 << 20
#: Vertices transformed at a time when flattening references.
FLATTEN_VERTICES = 1 << 21


class Unsupported(Exception):
    """The stream reader does not handle this input (use ``read_gds``)."""


def _real8(b: bytes) -> float:
    """A GDSII 8-byte real (excess-64 base-16 exponent)."""
    if not any(b):
        return 0.0
    sign = -1.0 if b[0] & 0x80 else 1.0
    exp = (b[0] & 0x7F) - 64
    mant = int.from_bytes(b[1:8], "big") / float(1 << 56)
    return sign * mant * 16.0**exp


# ---------------------------------------------------------------------------
# Pass 1: the file into per-cell raw polygons (on disk) and references
# ---------------------------------------------------------------------------


@dataclass
class _Cell:
    name: str
    #: layer name -> (first, last + 1) polygon ids in the raw layer store
    ranges: dict[str, list[int]] = field(default_factory=dict)
    #: (child name, matrix (2, 2), offsets (k, 2)) in file db units
    refs: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)
    #: (layer name, text, x, y) in file db units
    labels: list[tuple[str, str, float, float]] = field(default_factory=list)
    #: (gds layer, datatype) -> polygons and paths drawn in this cell (before flattening)
    keys: dict[tuple[int, int], int] = field(default_factory=dict)


class _LayerFile:
    """Append-only polygons of one layer: vertices on disk, starts and boxes in memory."""

    def __init__(self, path: Path):
        self.path = path
        self.fh = open(path, "wb")
        self.nverts = 0
        self.n = 0
        self.starts: list[np.ndarray] = []
        self.boxes: list[np.ndarray] = []

    def append(self, pts: np.ndarray, lens: np.ndarray) -> None:
        """Polygons given as concatenated vertices ``pts`` (m, 2) and their lengths."""
        if len(lens) == 0:
            return
        if pts.size and (pts.max() > np.iinfo(np.int32).max or pts.min() < np.iinfo(np.int32).min):
            raise Unsupported("coordinates beyond 32 bits")
        at = np.cumsum(lens) - lens
        self.starts.append(at + self.nverts)
        self.boxes.append(np.hstack([np.minimum.reduceat(pts, at, axis=0), np.maximum.reduceat(pts, at, axis=0)]).astype(np.int32))
        self.fh.write(np.ascontiguousarray(pts, dtype="<i4").tobytes())
        self.nverts += len(pts)
        self.n += len(lens)

    def count(self) -> int:
        return self.n

    def close(self) -> tuple[np.ndarray, np.ndarray]:
        self.fh.close()
        starts = np.concatenate(self.starts + [np.array([self.nverts], np.int64)]).astype(np.int64)
        boxes = np.concatenate(self.boxes) if self.boxes else np.zeros((0, 4), np.int32)
        self.starts, self.boxes = [], []
        return starts, boxes


def _clean(pts: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated vertices (incl. the closing one) and polygons left with < 3."""
    if len(lens) == 0:
        return pts, lens
    starts = np.cumsum(lens) - lens
    prev = np.arange(-1, len(pts) - 1)
    prev[starts] = starts + lens - 1
    keep = np.any(pts != pts[prev], axis=1)
    kept = np.add.reduceat(keep.astype(np.int64), starts)
    pts = pts[keep]
    ok = kept >= 3
    if not ok.all():
        owner = np.repeat(np.arange(len(kept)), kept)
        pts = pts[ok[owner]]
        kept = kept[ok]
    return pts, kept


class _Reader:
    """Streams one GDSII file into raw per-layer files and cells."""

    def __init__(self, path: Path, kit: PDK, workdir: Path):
        self.path = path
        self.kit = kit
        self.by_key: dict[tuple[int, int], str] = {}
        self.label_key: dict[tuple[int, int], str] = {}
        self.known: set[tuple[int, int]] = set()
        for name, lay in kit.layers.items():
            self.by_key.setdefault(tuple(lay.gds), name)
            if lay.label is not None:
                self.label_key.setdefault(tuple(lay.label), name)
            self.known.update(tuple(x) for x in (lay.gds, lay.pin, lay.label) if x is not None)
        self.raw = {name: _LayerFile(workdir / f"raw_{i}.bin") for i, name in enumerate(kit.layers)}
        self.cells: dict[str, _Cell] = {}
        self.db_m = 1e-9  # file database unit (m)
        # pending BOUNDARY elements of the current chunk
        self._pend: list[tuple[int, int, str]] = []  # (xy data offset in chunk, points, layer)
        # polygons of other elements (paths ...) of the current cell, not yet written
        self._extra: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}

    def f(self) -> float:
        """File db units -> kit dbu."""
        return self.db_m / (self.kit.dbu_um * 1e-6)

    def run(self) -> None:
        R = struct.Struct(">HBB")
        with open(self.path, "rb") as fh:
            buf = b""
            cell: _Cell | None = None
            el: dict | None = None  # the element being read (other than fast BOUNDARYs)
            eof = False
            while not eof:
                more = fh.read(CHUNK_BYTES)
                eof = not more
                buf = buf + more if buf else more
                n = len(buf)
                pos = 0
                self._pend = []
                by_key = self.by_key
                pend = self._pend
                while pos + 4 <= n:
                    ln, rt, _dt = R.unpack_from(buf, pos)
                    if ln < 4:
                        raise InputError(f"{self.path}: not a readable GDS file (record of length {ln} at byte {pos})")
                    if pos + ln > n:
                        break
                    # fast path: BOUNDARY LAYER DATATYPE XY ENDEL
                    if rt == 0x08 and el is None and pos + 20 <= n and buf[pos + 6] == 0x0D and buf[pos + 12] == 0x0E and buf[pos + 18] == 0x10:
                        lxy = (buf[pos + 16] << 8) | buf[pos + 17]
                        end = pos + 16 + lxy
                        if end + 4 <= n and buf[end + 2] == 0x11:
                            layer = (buf[pos + 8] << 8) | buf[pos + 9]
                            dtype = (buf[pos + 14] << 8) | buf[pos + 15]
                            key = (layer, dtype)
                            if cell is None:
                                raise InputError(f"{self.path}: not a readable GDS file (element outside a cell)")
                            cell.keys[key] = cell.keys.get(key, 0) + 1
                            name = by_key.get(key)
                            if name is not None:
                                pend.append((pos + 20, (lxy - 4) // 8, name))
                            pos = end + 4
                            continue
                        if end + 4 > n:
                            break
                    body = buf[pos + 4 : pos + ln]
                    pos += ln
                    if rt == 0x03:  # UNITS
                        self.db_m = _real8(body[8:16])
                    elif rt == 0x05:  # BGNSTR
                        cell = None
                    elif rt == 0x06:  # STRNAME
                        nm = body.rstrip(b"\0").decode("ascii", "replace")
                        self._flush(buf, cell)
                        pend = self._pend = []
                        cell = self.cells.setdefault(nm, _Cell(nm))
                    elif rt == 0x07:  # ENDSTR
                        self._flush(buf, cell)
                        pend = self._pend = []
                        cell = None
                    elif rt in (0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x2D, 0x15):  # element start
                        el = {"type": rt}
                    elif rt == 0x11:  # ENDEL
                        if el is not None and cell is not None:
                            self._element(cell, el)
                        el = None
                    elif el is not None:
                        if rt in (0x0D, 0x0E, 0x16, 0x21, 0x2E):  # LAYER DATATYPE TEXTTYPE PATHTYPE BOXTYPE
                            el[rt] = struct.unpack(">h", body[:2])[0]
                        elif rt == 0x0F or rt in (0x30, 0x31):  # WIDTH BGNEXTN ENDEXTN
                            el[rt] = struct.unpack(">i", body[:4])[0]
                        elif rt == 0x10:  # XY
                            el[rt] = np.frombuffer(body, ">i4").astype(np.int64).reshape(-1, 2)
                        elif rt in (0x12, 0x19):  # SNAME STRING
                            el[rt] = body.rstrip(b"\0").decode("latin-1")
                        elif rt == 0x1A:  # STRANS
                            el[rt] = (body[0] << 8) | body[1]
                        elif rt in (0x1B, 0x1C):  # MAG ANGLE
                            el[rt] = _real8(body[:8])
                        elif rt == 0x13:  # COLROW
                            el[rt] = struct.unpack(">hh", body[:4])
                    elif rt == 0x04:  # ENDLIB
                        eof = True
                        break
                self._flush(buf, cell)
                buf = buf[pos:]
            if cell is not None:
                raise InputError(f"{self.path}: not a readable GDS file (truncated inside cell {cell.name})")

    def _flush(self, buf: bytes, cell: _Cell | None) -> None:
        """Write the pending BOUNDARYs (all in ``cell``) of this chunk."""
        pend = self._pend
        if cell is None:
            return
        extra, self._extra = self._extra, {}
        if not pend:
            for nm, parts in extra.items():
                self._add(cell, nm, np.vstack([p for p, _ in parts]), np.concatenate([q for _, q in parts]))
            return
        n4 = len(buf) // 4
        v0 = np.frombuffer(buf, ">i4", count=n4)
        v2 = np.frombuffer(buf, ">i4", count=(len(buf) - 2) // 4, offset=2)
        both = np.concatenate([v0, v2])
        offs = np.fromiter((p[0] for p in pend), np.int64, len(pend))
        npts = np.fromiter((p[1] for p in pend), np.int64, len(pend))
        names = [p[2] for p in pend]
        base = np.where(offs % 4 == 0, offs // 4, n4 + (offs - 2) // 4)
        nv = 2 * npts
        idx = np.repeat(base - (np.cumsum(nv) - nv), nv) + np.arange(int(nv.sum()))
        vals = both[idx].astype(np.int64).reshape(-1, 2)
        f = self.f()
        if f != 1.0:
            vals = np.rint(vals * f).astype(np.int64)
        ends = np.cumsum(npts)
        starts = ends - npts
        uniq = dict.fromkeys(names)
        lay = np.array([list(uniq).index(nm) for nm in names]) if len(uniq) > 1 else np.zeros(len(names), np.int64)
        for li, nm in enumerate(uniq):
            sel = np.nonzero(lay == li)[0]
            if len(sel) == len(names):
                pts, lens = vals, npts
            else:
                vi = np.repeat(starts[sel] - (np.cumsum(npts[sel]) - npts[sel]), npts[sel]) + np.arange(int(npts[sel].sum()))
                pts, lens = vals[vi], npts[sel]
            pts, lens = _clean(pts, lens)
            parts = extra.pop(nm, [])
            if parts:
                pts = np.vstack([pts] + [p for p, _ in parts])
                lens = np.concatenate([lens] + [q for _, q in parts])
            self._add(cell, nm, pts, lens)
        for nm, parts in extra.items():
            self._add(cell, nm, np.vstack([p for p, _ in parts]), np.concatenate([q for _, q in parts]))
        self._pend.clear()

    def _add(self, cell: _Cell, name: str, pts: np.ndarray, lens: np.ndarray) -> None:
        if len(lens) == 0:
            return
        lf = self.raw[name]
        first = lf.count()
        r = cell.ranges.get(name)
        if r is not None and r[1] != first:
            raise Unsupported(f"cell {cell.name} defined in pieces")
        lf.append(pts, lens)
        if r is None:
            cell.ranges[name] = [first, first + len(lens)]
        else:
            r[1] = first + len(lens)

    def _element(self, cell: _Cell, el: dict) -> None:
        t = el["type"]
        if t in (0x08, 0x09, 0x2D):
            key = (el.get(0x0D, 0), el.get(0x0E, el.get(0x2E, 0)))
            cell.keys[key] = cell.keys.get(key, 0) + 1
            name = self.by_key.get(key)
            if name is None:
                return
            if t == 0x2D:
                raise Unsupported("BOX element on a kit layer")
            xy = el.get(0x10)
            if xy is None:
                return
            if t == 0x08:
                pts, lens = _clean(self._scaled(xy), np.array([len(xy)]))
                if len(lens):
                    self._extra.setdefault(name, []).append((pts, lens))
                return
            self._path(cell, name, el)
        elif t == 0x0C:
            key = (el.get(0x0D, 0), el.get(0x16, 0))
            name = self.label_key.get(key)
            xy = el.get(0x10)
            if name is not None and xy is not None and len(xy):
                cell.labels.append((name, el.get(0x19, ""), float(xy[0, 0]), float(xy[0, 1])))
        elif t in (0x0A, 0x0B):
            strans = el.get(0x1A, 0)
            if strans & 0x0006:
                raise Unsupported("absolute magnification or angle in a reference")
            mag = el.get(0x1B, 1.0)
            ang = math.radians(el.get(0x1C, 0.0))
            c, s = math.cos(ang), math.sin(ang)
            if abs(c) < 1e-12:
                c = 0.0
            if abs(s) < 1e-12:
                s = 0.0
            m = mag * np.array([[c, -s], [s, c]])
            if strans & 0x8000:
                m = m @ np.array([[1.0, 0.0], [0.0, -1.0]])
            xy = el.get(0x10)
            if xy is None or 0x12 not in el:
                return
            xy = xy.astype(np.float64)
            if t == 0x0A:
                offs = xy[:1]
            else:
                cols, rows = el.get(0x13, (1, 1))
                if cols <= 0 or rows <= 0 or len(xy) < 3:
                    return
                dc = (xy[1] - xy[0]) / cols
                dr = (xy[2] - xy[0]) / rows
                i, j = np.meshgrid(np.arange(cols), np.arange(rows), indexing="xy")
                offs = xy[0] + i.reshape(-1, 1) * dc + j.reshape(-1, 1) * dr
            cell.refs.append((el[0x12], m, offs))

    def _scaled(self, xy: np.ndarray) -> np.ndarray:
        f = self.f()
        return xy if f == 1.0 else np.rint(xy * f).astype(np.int64)

    def _path(self, cell: _Cell, name: str, el: dict) -> None:
        import gdstk

        ptype = el.get(0x21, 0)
        if ptype not in (0, 2, 4):
            raise Unsupported(f"path type {ptype}")
        xy = el[0x10].astype(np.float64)
        w = float(el.get(0x0F, 0))
        scale_width = w >= 0
        w = abs(w)
        if len(xy) < 2 or w == 0:
            return
        ends = {0: "flush", 2: "extended"}.get(ptype, (float(el.get(0x30, 0)), float(el.get(0x31, 0))))
        fp = gdstk.FlexPath(xy, w, ends=ends, simple_path=True, scale_width=scale_width)
        polys = fp.to_polygons()
        if not polys:
            return
        f = self.f()
        pts = np.vstack([np.rint(p.points * f) for p in polys]).astype(np.int64)
        lens = np.array([len(p.points) for p in polys], np.int64)
        pts, lens = _clean(pts, lens)
        if len(lens):
            self._extra.setdefault(name, []).append((pts, lens))


# ---------------------------------------------------------------------------
# Pass 2: flatten the top cell into the flat store
# ---------------------------------------------------------------------------


@dataclass
class ShapeStore:
    """Flat per-layer polygons of one top cell on disk (see the module notes).

    Per layer: ``files[name]`` (int32 vertex pairs, dbu), ``starts[name]``
    (first vertex of each polygon, plus the total), ``boxes[name]`` (int32
    ``x0, y0, x1, y1``).  ``labels``: layer -> ``(text, x, y)``.
    """

    top: str
    dbu_um: float
    files: dict[str, Path]
    starts: dict[str, np.ndarray]
    boxes: dict[str, np.ndarray]
    labels: dict[str, list[tuple[str, int, int]]]
    unknown_layers: tuple[tuple[int, int], ...] = ()
    unknown_shapes: int = 0
    #: the GDS file and top cell the store was made from, and the kit (see :meth:`full`)
    source: tuple[str, str] | None = None
    kit: PDK | None = field(default=None, repr=False)
    #: placed cell instances (for the cell context of markers), see
    #: :mod:`flow.geometry.hierarchy`
    instances: Instances | None = field(default=None, repr=False)
    #: keeps the temporary folder alive (removed when the store goes)
    _tmp: object = field(default=None, repr=False)

    def count(self, name: str) -> int:
        return len(self.boxes.get(name, ()))

    def __getstate__(self):  # workers get paths, not the temporary folder's owner
        d = dict(self.__dict__)
        d["_tmp"] = None
        return d

    def fetch(self, name: str, ids: np.ndarray) -> list[np.ndarray]:
        """Polygons ``ids`` (any order; returned in ascending id order) of layer ``name``."""
        ids = np.unique(np.asarray(ids, np.int64))
        if len(ids) == 0:
            return []
        st = self.starts[name]
        a, b = st[ids], st[ids + 1]
        # read runs of consecutive polygons at once
        brk = np.flatnonzero(ids[1:] != ids[:-1] + 1) + 1
        r0 = np.r_[0, brk]
        r1 = np.r_[brk, len(ids)]
        out: list[np.ndarray] = []
        with open(self.files[name], "rb") as fh:
            for i0, i1 in zip(r0.tolist(), r1.tolist()):
                v0, v1 = int(a[i0]), int(b[i1 - 1])
                fh.seek(v0 * 8)
                pts = np.fromfile(fh, "<i4", count=2 * (v1 - v0)).reshape(-1, 2).astype(np.int64)
                cuts = (a[i0 + 1 : i1] - v0).tolist()
                out.extend(np.split(pts, cuts))
        return out

    def fetch_box(self, name: str, box: tuple[int, int, int, int]) -> tuple[np.ndarray, list[np.ndarray]]:
        """(ids, polygons) of layer ``name`` whose bounding box meets ``box`` (closed)."""
        b = self.boxes.get(name)
        if b is None or len(b) == 0:
            return np.zeros(0, np.int64), []
        ids = np.flatnonzero((b[:, 0] <= box[2]) & (b[:, 2] >= box[0]) & (b[:, 1] <= box[3]) & (b[:, 3] >= box[1]))
        return ids, self.fetch(name, ids)

    def full(self) -> LayoutShapes:
        """The whole layout read by :func:`flow.geometry.gdsio.read_gds` from
        the source file (everything it gives, e.g. the polygons drawn in
        device cells that current-density checks leave out)."""
        from flow.geometry.gdsio import read_gds

        if self.source is None or self.kit is None:
            return self.shapes()
        return read_gds(self.source[0], self.kit, self.source[1])

    def shapes(self, names: Sequence[str] | None = None) -> LayoutShapes:
        """The whole layout (``names`` only, others empty) as :class:`LayoutShapes`."""
        polys = {}
        for n in self.files:
            polys[n] = self.fetch(n, np.arange(self.count(n))) if (names is None or n in names) else []
        return LayoutShapes(
            polygons=MappingProxyType(polys),
            labels=MappingProxyType(dict(self.labels)),
            top=self.top,
            unknown_layers=self.unknown_layers,
            unknown_shapes=self.unknown_shapes,
            dbu_um=self.dbu_um,
            instances=self.instances,
        )


def _pick(cells: dict[str, _Cell], top: str | None, source: str) -> _Cell:
    if top is not None:
        if top in cells:
            return cells[top]
        used = {r[0] for c in cells.values() for r in c.refs}
        names = sorted(n for n in cells if n not in used)
        raise InputError(f"{where(source)}no cell named '{top}'; top cells are {', '.join(names) or '(none)'}")
    used = {r[0] for c in cells.values() for r in c.refs}
    tops = [n for n in cells if n not in used]
    if not tops:
        raise InputError(f"{where(source)}the layout has no cells")
    if len(tops) > 1:
        raise InputError(f"{where(source)}several top cells ({', '.join(sorted(tops))}); choose one with --top")
    return cells[tops[0]]


def build_store(path: str | os.PathLike[str], kit: PDK, top: str | None, workdir: str | os.PathLike[str] | None = None) -> ShapeStore:
    """Stream GDS ``path`` into a :class:`ShapeStore` of cell ``top`` (or the
    only top cell), files under ``workdir`` (default: a temporary folder
    removed with the store).

    Raises
    ------
    InputError
        Unreadable file, no such cell, several top cells.
    Unsupported
        Input the stream reader does not handle (use :func:`read_gds`).
    """
    p = Path(path)
    if p.suffix.lower() in (".oas", ".oasis"):
        raise Unsupported("OASIS input")
    if not p.is_file():
        raise InputError(f"{p}: not a readable GDS file (no such file)")
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="pilotflow-drc-")
        workdir = tmp.name
    wd = Path(workdir)
    rd = _Reader(p, kit, wd)
    try:
        try:
            rd.run()
        except (struct.error, ValueError, IndexError) as e:
            raise InputError(f"{p}: not a readable GDS file ({e})") from None
        cell = _pick(rd.cells, top, str(p))
        raw = {n: lf.close() for n, lf in rd.raw.items()}
        return _flatten(rd, cell, raw, wd, tmp, kit)
    finally:
        for lf in rd.raw.values():
            if not lf.fh.closed:
                lf.fh.close()


def _flatten(rd: _Reader, top: _Cell, raw: dict[str, tuple[np.ndarray, np.ndarray]], wd: Path, tmp, kit: PDK) -> ShapeStore:
    cells = rd.cells
    f = rd.f()
    # every placement of every cell under top, grouped by (cell, matrix)
    groups: list[tuple[_Cell, np.ndarray, np.ndarray]] = [(top, np.eye(2), np.zeros((1, 2)))]
    depth = [0]
    level = [groups[0]]
    under: set[str] = {top.name}
    d = 0
    while level:
        nxt = []
        d += 1
        for c, m0, t0 in level:
            for child, m, offs in c.refs:
                if child not in cells:
                    raise InputError(f"{rd.path}: not a readable GDS file (cell {c.name} references missing cell {child})")
                if len(under) > 100_000:
                    raise Unsupported("too many cells")
                under.add(child)
                mm = m0 @ m
                t = (t0[:, None, :] + (offs @ m0.T)[None, :, :]).reshape(-1, 2)
                g = (cells[child], mm, t)
                groups.append(g)
                depth.append(d)
                if cells[child].refs:
                    nxt.append(g)
        level = nxt
    keys: dict[tuple[int, int], int] = {}
    for nm in under:
        for k, v in cells[nm].keys.items():
            keys[k] = keys.get(k, 0) + v
    unknown = tuple(sorted(k for k in keys if k not in rd.known))
    files: dict[str, Path] = {}
    starts: dict[str, np.ndarray] = {}
    boxes: dict[str, np.ndarray] = {}
    flat_top = not top.refs
    for li, name in enumerate(kit.layers):
        st, bx = raw[name]
        if flat_top:
            r = top.ranges.get(name, [0, 0])
            if r == [0, len(bx)]:  # the raw file is the top cell's: use it as is
                files[name], starts[name], boxes[name] = rd.raw[name].path, st, bx
                continue
        out = _LayerFile(wd / f"flat_{li}.bin")
        with open(rd.raw[name].path, "rb") as src:
            for c, m, t in groups:
                r = c.ranges.get(name)
                if r is None or r[0] == r[1]:
                    continue
                v0, v1 = int(st[r[0]]), int(st[r[1]])
                src.seek(v0 * 8)
                pts = np.fromfile(src, "<i4", count=2 * (v1 - v0)).reshape(-1, 2).astype(np.float64)
                lens = np.diff(st[r[0] : r[1] + 1])
                ident = np.array_equal(m, np.eye(2))
                tt = t * f
                per = max(1, FLATTEN_VERTICES // max(1, len(pts)))
                for k0 in range(0, len(tt), per):
                    tk = tt[k0 : k0 + per]
                    q = pts if ident else pts @ m.T
                    allp = np.rint(q[None, :, :] + tk[:, None, :]).astype(np.int64).reshape(-1, 2)
                    L = np.tile(lens, len(tk))
                    if ident and np.all(tk == np.rint(tk)):
                        out.append(allp, L)
                    else:
                        out.append(*_clean(allp, L))
        files[name] = out.path
        starts[name], boxes[name] = out.close()
    labels: dict[str, list[tuple[str, int, int]]] = {n: [] for n in kit.layers}
    for c, m, t in groups:
        for lname, text, x, y in c.labels:
            q = (np.array([x, y]) @ m.T)[None, :] + t
            for px, py in np.rint(q * f).astype(np.int64).tolist():
                labels[lname].append((text, int(px), int(py)))
    return ShapeStore(
        instances=_instances(cells, groups, depth, raw, f),
        source=(str(rd.path), top.name),
        kit=kit,
        top=top.name,
        dbu_um=kit.dbu_um,
        files=files,
        starts=starts,
        boxes=boxes,
        labels=labels,
        unknown_layers=unknown,
        unknown_shapes=sum(keys[k] for k in unknown),
        _tmp=tmp,
    )


def _instances(cells: dict[str, _Cell], groups, depth: list[int], raw, f: float) -> Instances:
    """The placed instances (all but the top group), as :func:`instance_table` gives them,
    with cell boxes from the kit layers' shapes."""
    bbox: dict[str, np.ndarray | None] = {}

    def box_of(name: str, stack: tuple = ()) -> np.ndarray | None:
        if name in bbox:
            return bbox[name]
        c = cells[name]
        lo, hi = [], []
        for lname, (a, b) in c.ranges.items():
            if b > a:
                bx = raw[lname][1][a:b]
                lo.append(bx[:, :2].min(axis=0))
                hi.append(bx[:, 2:].max(axis=0))
        for child, m, offs in c.refs:
            if child in stack or child not in cells:
                continue
            cb = box_of(child, stack + (name,))
            if cb is None:
                continue
            x0, y0, x1, y1 = cb
            corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64) @ m.T
            q = (corners[None, :, :] + (offs * f)[:, None, :]).reshape(-1, 2)
            lo.append(q.min(axis=0))
            hi.append(q.max(axis=0))
        bbox[name] = None if not lo else np.r_[np.min(lo, axis=0), np.max(hi, axis=0)].astype(np.float64)
        return bbox[name]

    names: dict[str, int] = {}
    cl, dl, ml, ol, bl = [], [], [], [], []
    total = 0
    for (c, m, t), dep in zip(groups[1:], depth[1:]):
        if total >= MAX_INSTANCES:
            break
        b = box_of(c.name)
        if b is None:
            continue
        t = t[: MAX_INSTANCES - total] * f
        x0, y0, x1, y1 = b
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) @ m.T
        lo, hi = corners.min(axis=0), corners.max(axis=0)
        ci = names.setdefault(c.name, len(names))
        cl.append(np.full(len(t), ci, np.int64))
        dl.append(np.full(len(t), dep, np.int64))
        ml.append(np.broadcast_to(m, (len(t), 2, 2)))
        ol.append(t)
        bl.append(np.hstack([np.floor(t + lo), np.ceil(t + hi)]).astype(np.int64))
        total += len(t)
    if not cl:
        z = np.zeros(0, np.int64)
        return Instances((), z, z, np.zeros((0, 2, 2)), np.zeros((0, 2)), np.zeros((0, 4), np.int64))
    return Instances(tuple(names), np.concatenate(cl), np.concatenate(dl), np.concatenate(ml), np.concatenate(ol), np.concatenate(bl))


def open_layout(path: str | os.PathLike[str], kit: PDK, top: str | None = None) -> ShapeStore | LayoutShapes:
    """A GDS streamed into a :class:`ShapeStore`, or, for input the stream
    reader does not handle (:class:`Unsupported`), read whole by
    :func:`flow.geometry.gdsio.read_gds`."""
    from flow.geometry.gdsio import read_gds

    try:
        return build_store(path, kit, top)
    except Unsupported:
        return read_gds(path, kit, top)
