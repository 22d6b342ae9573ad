"""ISPD'08 global-routing files: the ``.gr`` problem and the routed solution.

The problem format (ISPD 2008 Global Routing Contest)::

    grid X Y L
    vertical capacity c1 .. cL
    horizontal capacity c1 .. cL
    minimum width w1 .. wL
    minimum spacing s1 .. sL
    via spacing v1 .. vL
    LLX LLY TILE_W TILE_H
    num net N
    NAME ID NPINS MINWIDTH          (N times, each followed by NPINS lines)
    X Y LAYER                       (pin coordinates; layers from 1)
    NADJ                            (capacity adjustments, optional)
    X1 Y1 L1 X2 Y2 L2 CAP           (tile indices: the edge's new capacity)

The solution format (what ``eval2008.pl`` reads), per net::

    NAME ID NSEGMENTS
    (x1,y1,l1)-(x2,y2,l2)           (coordinates; straight along one axis)
    !

:func:`read_gr` gives a :class:`GRDesign` (a :class:`~flow.route.globalroute.GridGraph`
and :class:`~flow.route.globalroute.GRNet` s in tiles, plus the raw numbers
for writing it back); :func:`write_solution` writes routes with each tile
at its centre.  Bad input raises :class:`flow.errors.InputError` with the
file and line.  Files ending in ``.gz`` are read through gzip (as the
contest distributed them).
"""

from __future__ import annotations

import gzip
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flow.errors import InputError, where  # noqa: E402
from flow.fileio import atomic_write_text  # noqa: E402
from flow.route.globalroute import GridGraph, GRNet, Segment  # noqa: E402

Adjustment = tuple[int, int, int, int, int, int, int]


@dataclass(frozen=True)
class GRDesign:
    """An ISPD'08 global-routing problem.

    ``grid`` and ``nets`` (tiles, layers from 0) feed the router; the rest
    keeps the file's own numbers: ``origin`` and ``tile`` map coordinates
    to tiles, ``ids`` and ``pin_xy`` (coordinates, layers from 1) are the
    nets' as written, ``vcap``/``hcap`` the default capacities per layer and
    ``adjustments`` the capacity lines (tile indices, layers from 1).
    """

    grid: GridGraph
    nets: tuple[GRNet, ...]
    ids: tuple[str, ...]
    pin_xy: tuple[tuple[tuple[int, int, int], ...], ...]
    origin: tuple[int, int]
    tile: tuple[int, int]
    vcap: tuple[int, ...]
    hcap: tuple[int, ...]
    via_spacing: tuple[int, ...]
    adjustments: tuple[Adjustment, ...]

    def centre(self, x: int, y: int) -> tuple[int, int]:
        """Coordinates of the centre of tile ``(x, y)``."""
        return (self.origin[0] + x * self.tile[0] + self.tile[0] // 2, self.origin[1] + y * self.tile[1] + self.tile[1] // 2)


class _Lines:
    def __init__(self, path: Path):
        self.path = path
        try:
            text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
        except (OSError, EOFError) as e:  # includes gzip.BadGzipFile
            raise InputError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from e
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a text file") from None
        self.lines = text.splitlines()
        self.i = 0

    def error(self, msg: str, line: int | None = None) -> InputError:
        return InputError(f"{where(self.path, line if line is not None else self.i)}{msg}")

    def next(self, what: str) -> list[str]:
        """The next non-blank line's words (``self.i`` is its 1-based number)."""
        while self.i < len(self.lines):
            self.i += 1
            words = self.lines[self.i - 1].split()
            if words:
                return words
        raise InputError(f"{where(self.path, len(self.lines))}file ends before {what}")

    def more(self) -> bool:
        return any(line.strip() for line in self.lines[self.i :])

    def ints(self, words: Sequence[str], what: str) -> list[int]:
        try:
            return [int(w) for w in words]
        except ValueError:
            raise self.error(f"{what}: expected integers, got '{' '.join(words)}'") from None

    def keyed(self, key: Sequence[str], count: int, what: str) -> list[int]:
        words = self.next(what)
        if [w.lower() for w in words[: len(key)]] != list(key):
            raise self.error(f"expected '{' '.join(key)}', got '{' '.join(words[: len(key) + 1])}'")
        vals = self.ints(words[len(key) :], what)
        if len(vals) != count:
            raise self.error(f"{what}: expected {count} values, got {len(vals)}")
        return vals


def read_gr(path: str | os.PathLike[str]) -> GRDesign:
    """Read an ISPD'08 ``.gr`` file (see the module docstring)."""
    f = _Lines(Path(path))
    nx, ny, nl = f.keyed(["grid"], 3, "grid size")
    if nx < 1 or ny < 1 or nl < 1:
        raise f.error(f"grid {nx} x {ny} x {nl}: every dimension must be at least 1")
    vcap = f.keyed(["vertical", "capacity"], nl, "vertical capacity")
    hcap = f.keyed(["horizontal", "capacity"], nl, "horizontal capacity")
    minw = f.keyed(["minimum", "width"], nl, "minimum width")
    if min(minw) < 1:
        raise f.error("minimum width must be at least 1")
    mins = f.keyed(["minimum", "spacing"], nl, "minimum spacing")
    vias = f.keyed(["via", "spacing"], nl, "via spacing")
    if min(vcap + hcap + mins + vias) < 0:
        raise f.error("capacities and spacings must not be negative", f.i)
    vals = f.ints(f.next("origin and tile size"), "origin and tile size")
    if len(vals) != 4:
        raise f.error(f"expected 'LLX LLY TILE_WIDTH TILE_HEIGHT', got {len(vals)} numbers")
    llx, lly, tw, th = vals
    if tw < 1 or th < 1:
        raise f.error(f"tile size {tw} x {th} must be positive")
    (n_nets,) = f.keyed(["num", "net"], 1, "net count")
    nets: list[GRNet] = []
    ids: list[str] = []
    pin_xy: list[tuple[tuple[int, int, int], ...]] = []
    names: set[str] = set()
    for _ in range(n_nets):
        words = f.next("a net")
        if len(words) != 4:
            raise f.error(f"expected 'NAME ID NPINS MINWIDTH', got '{' '.join(words)}'")
        name = words[0]
        _, npin, width = f.ints(words[1:], f"net {name}")
        nid = words[1]
        if npin < 1:
            raise f.error(f"net {name}: {npin} pins")
        if name in names:
            raise f.error(f"net {name} is defined twice")
        names.add(name)
        raw, tiles = [], []
        for _ in range(npin):
            words = f.next(f"pin of net {name}")
            if len(words) != 3:
                raise f.error(f"net {name}: expected a pin 'X Y LAYER', got '{' '.join(words)}'")
            x, y, l = f.ints(words, f"pin of net {name}")
            tx, ty = (x - llx) // tw, (y - lly) // th
            if not (0 <= tx < nx and 0 <= ty < ny and 1 <= l <= nl):
                raise f.error(f"net {name}: pin ({x}, {y}, layer {l}) is outside the {nx} x {ny} x {nl} grid")
            raw.append((x, y, l))
            tiles.append((tx, ty, l - 1))
        nets.append(GRNet(name, tuple(tiles), width))
        ids.append(nid)
        pin_xy.append(tuple(raw))
    h = np.broadcast_to(np.asarray(hcap, dtype=np.int64)[:, None, None], (nl, ny, nx - 1)).copy()
    v = np.broadcast_to(np.asarray(vcap, dtype=np.int64)[:, None, None], (nl, ny - 1, nx)).copy()
    adjustments: list[Adjustment] = []
    if f.more():
        words = f.next("capacity adjustments")
        (n_adj,) = f.ints(words, "adjustment count")
        if len(words) != 1 or n_adj < 0:
            raise f.error(f"expected the number of capacity adjustments, got '{' '.join(words)}'")
        for _ in range(n_adj):
            words = f.next("a capacity adjustment")
            vals = f.ints(words, "capacity adjustment")
            if len(vals) != 7:
                raise f.error(f"expected 'X1 Y1 L1 X2 Y2 L2 CAP', got '{' '.join(words)}'")
            x1, y1, l1, x2, y2, l2, c = vals
            if l1 != l2 or not (1 <= l1 <= nl) or c < 0:
                raise f.error(f"adjustment {' '.join(words)}: layers must match and lie in 1..{nl}, capacity >= 0")
            if y1 == y2 and abs(x1 - x2) == 1 and 0 <= min(x1, x2) and max(x1, x2) < nx and 0 <= y1 < ny:
                h[l1 - 1, y1, min(x1, x2)] = c
            elif x1 == x2 and abs(y1 - y2) == 1 and 0 <= min(y1, y2) and max(y1, y2) < ny and 0 <= x1 < nx:
                v[l1 - 1, min(y1, y2), x1] = c
            else:
                raise f.error(f"adjustment {' '.join(words)}: not an edge between adjacent tiles of the grid")
            adjustments.append((x1, y1, l1, x2, y2, l2, c))
        if f.more():
            f.next("")
            raise f.error("unexpected text after the capacity adjustments")
    return GRDesign(
        grid=GridGraph(h, v, tuple(minw), tuple(mins)),
        nets=tuple(nets),
        ids=tuple(ids),
        pin_xy=tuple(pin_xy),
        origin=(llx, lly),
        tile=(tw, th),
        vcap=tuple(vcap),
        hcap=tuple(hcap),
        via_spacing=tuple(vias),
        adjustments=tuple(adjustments),
    )


def format_gr(d: GRDesign) -> str:
    """The ``.gr`` text of ``d`` (what :func:`read_gr` reads back)."""
    g = d.grid

    def row(vals: Iterable[int]) -> str:
        return " ".join(str(v) for v in vals)

    out = [
        f"grid {g.nx} {g.ny} {g.nl}",
        f"vertical capacity {row(d.vcap)}",
        f"horizontal capacity {row(d.hcap)}",
        f"minimum width {row(g.min_width)}",
        f"minimum spacing {row(g.spacing)}",
        f"via spacing {row(d.via_spacing)}",
        f"{d.origin[0]} {d.origin[1]} {d.tile[0]} {d.tile[1]}",
        f"num net {len(d.nets)}",
    ]
    for net, nid, pins in zip(d.nets, d.ids, d.pin_xy, strict=True):
        out.append(f"{net.name} {nid} {len(pins)} {net.width}")
        out.extend(f"{x} {y} {l}" for x, y, l in pins)
    if d.adjustments:
        out.append(str(len(d.adjustments)))
        out.extend(row(a) for a in d.adjustments)
    return "\n".join(out) + "\n"


def write_gr(path: str | os.PathLike[str], d: GRDesign) -> None:
    atomic_write_text(path, format_gr(d))


def format_solution(d: GRDesign, routes: Sequence[Sequence[Segment]]) -> str:
    """Routes (tiles, layers from 0) as eval2008.pl's solution text, tiles at their centres."""
    out = []
    for net, nid, segs in zip(d.nets, d.ids, routes, strict=True):
        out.append(f"{net.name} {nid} {len(segs)}")
        for (x1, y1, l1), (x2, y2, l2) in segs:
            a, b = d.centre(x1, y1), d.centre(x2, y2)
            out.append(f"({a[0]},{a[1]},{l1 + 1})-({b[0]},{b[1]},{l2 + 1})")
        out.append("!")
    return "\n".join(out) + "\n"


def write_solution(path: str | os.PathLike[str], d: GRDesign, routes: Sequence[Sequence[Segment]]) -> None:
    atomic_write_text(path, format_solution(d, routes))


def read_solution(path: str | os.PathLike[str], d: GRDesign) -> dict[str, list[Segment]]:
    """A solution file's segments per net name, in tiles (layers from 0)."""
    f = _Lines(Path(path))
    known = {n.name for n in d.nets}
    out: dict[str, list[Segment]] = {}
    while f.more():
        words = f.next("a net")
        if len(words) not in (2, 3):
            raise f.error(f"expected 'NAME ID [NSEGMENTS]', got '{' '.join(words)}'")
        name = words[0]
        if name not in known:
            raise f.error(f"net {name} is not in the design")
        segs = out.setdefault(name, [])
        while True:
            words = f.next(f"'!' closing net {name}")
            text = "".join(words)
            if text == "!":
                break
            try:
                a, b = text.split(")-(")
                p = [int(v) for v in a.lstrip("(").split(",")]
                q = [int(v) for v in b.rstrip(")").split(",")]
                if len(p) != 3 or len(q) != 3:
                    raise ValueError
            except ValueError:
                raise f.error(f"net {name}: expected '(x,y,l)-(x,y,l)', got '{text}'") from None
            ta = ((p[0] - d.origin[0]) // d.tile[0], (p[1] - d.origin[1]) // d.tile[1], p[2] - 1)
            tb = ((q[0] - d.origin[0]) // d.tile[0], (q[1] - d.origin[1]) // d.tile[1], q[2] - 1)
            segs.append((ta, tb))
    return out
