"""Bookshelf (UCLA / ISPD placement contest) reader, and placement with pilotflow.

A benchmark is named by its ``.aux`` file (``RowBasedPlacement : a.nodes
a.nets a.wts a.pl a.scl``); the files are:

* ``.nodes``: ``name width height [terminal | terminal_NI]``;
* ``.nets``: ``NetDegree : k [name]`` then ``k`` lines ``node I|O|B [: dx dy]``,
  the pin offset from the node's *centre*;
* ``.pl``: ``name x y : orient [/FIXED | /FIXED_NI]``, lower-left corners;
* ``.scl``: ``CoreRow Horizontal`` blocks with ``Coordinate`` (y),
  ``Height``, ``Sitewidth``, ``Sitespacing``, ``Siteorient``,
  ``Sitesymmetry``, ``SubrowOrigin : x NumSites : n``, ``End``.

``.wts`` and other files are ignored.  Bad input raises
:class:`flow.errors.InputError` as ``file:line: problem``.

:func:`place_bookshelf` places the movable nodes with pilotflow's standard-cell
placer (:func:`flow.lefdef.placer.place_arrays`: electrostatic global
placement, row legalisation, multi-row cells on stacks of rows, detailed
placement, legality check); :func:`hpwl` is the benchmark's HPWL (pin to pin,
offsets from the node centres, as the contests' evaluators compute it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flow.errors import InputError
from flow.lefdef.placer import PlaceReport, place_arrays
from flow.place.model import NetPins, pin_arrays
from flow.place.rows import RowSpec


@dataclass
class BookshelfRow:
    """One (sub)row: lower-left ``(x, y)``, ``num_sites`` sites every ``spacing``."""

    y: float
    height: float
    site_width: float
    spacing: float
    x: float
    num_sites: int
    orient: str = "1"
    symmetry: str = "1"


@dataclass
class Bookshelf:
    """A Bookshelf benchmark: node arrays in file order, nets, rows."""

    name: str
    nodes: list[str]
    w: np.ndarray  # float
    h: np.ndarray
    terminal: np.ndarray  # bool: fixed (terminal or terminal_NI)
    non_image: np.ndarray  # bool: terminal_NI (may overlap, e.g. I/O pins)
    x: np.ndarray  # lower-left from the .pl (0 when absent)
    y: np.ndarray
    nets: list[tuple[str, list[tuple[int, str, float, float]]]]  # (name, [(node, dir, dx, dy) from centre])
    rows: list[BookshelfRow] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def _lines(path: Path):
    """(line number, words) of the non-empty, non-comment lines after the header."""
    try:
        text = path.read_text()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    for k, line in enumerate(text.splitlines(), 1):
        s = line.split("#", 1)[0].strip()
        if not s or (k == 1 and s.upper().startswith("UCLA")):
            continue
        yield k, s.replace(":", " : ").split()


def _num(path: Path, k: int, tok: str, what: str) -> float:
    try:
        v = float(tok)
    except ValueError:
        raise InputError(f"{path}:{k}: {what} '{tok}' is not a number") from None
    if not math.isfinite(v):
        raise InputError(f"{path}:{k}: {what} '{tok}' is not finite")
    return v


def read_bookshelf(aux: str | Path) -> Bookshelf:
    """Read the benchmark named by ``aux`` (its ``.nodes``, ``.nets``, ``.pl``, ``.scl``)."""
    aux = Path(aux)
    files: dict[str, Path] = {}
    for k, words in _lines(aux):
        if ":" not in words:
            raise InputError(f"{aux}:{k}: expected 'RowBasedPlacement : files...'")
        for f in words[words.index(":") + 1 :]:
            files[Path(f).suffix.lstrip(".")] = aux.parent / f
    for need in ("nodes", "nets", "pl", "scl"):
        if need not in files:
            raise InputError(f"{aux}: no .{need} file listed")
        if not files[need].is_file():
            raise InputError(f"{aux}: .{need} file {files[need]} not found")
    # nodes
    names: list[str] = []
    ws: list[float] = []
    hs: list[float] = []
    term: list[bool] = []
    ni: list[bool] = []
    p = files["nodes"]
    for k, words in _lines(p):
        if words[0] in ("NumNodes", "NumTerminals"):
            continue
        if len(words) < 3:
            raise InputError(f"{p}:{k}: expected 'name width height [terminal]'")
        kind = words[3] if len(words) > 3 else ""
        if kind not in ("", "terminal", "terminal_NI"):
            raise InputError(f"{p}:{k}: unknown node kind '{kind}' (terminal or terminal_NI)")
        w, h = _num(p, k, words[1], "width"), _num(p, k, words[2], "height")
        if w < 0 or h < 0:
            raise InputError(f"{p}:{k}: node '{words[0]}' has a negative size")
        names.append(words[0])
        ws.append(w)
        hs.append(h)
        term.append(kind != "")
        ni.append(kind == "terminal_NI")
    index = {n: i for i, n in enumerate(names)}
    if len(index) != len(names):
        raise InputError(f"{p}: a node name appears twice")
    # nets
    nets: list[tuple[str, list[tuple[int, str, float, float]]]] = []
    p = files["nets"]
    cur: list[tuple[int, str, float, float]] | None = None
    want = 0
    for k, words in _lines(p):
        if words[0] in ("NumNets", "NumPins"):
            continue
        if words[0] == "NetDegree":
            if cur is not None and len(cur) != want:
                raise InputError(f"{p}:{k}: net '{nets[-1][0]}' has {len(cur)} pins, NetDegree said {want}")
            if len(words) < 3 or words[1] != ":":
                raise InputError(f"{p}:{k}: expected 'NetDegree : k [name]'")
            want = int(_num(p, k, words[2], "net degree"))
            cur = []
            nets.append((words[3] if len(words) > 3 else f"net{len(nets)}", cur))
            continue
        if cur is None:
            raise InputError(f"{p}:{k}: pin line before any 'NetDegree'")
        node = index.get(words[0])
        if node is None:
            raise InputError(f"{p}:{k}: node '{words[0]}' is not in {files['nodes'].name}")
        direction = words[1] if len(words) > 1 and words[1] != ":" else "B"
        dx = dy = 0.0
        if ":" in words:
            c = words.index(":")
            if len(words) < c + 3:
                raise InputError(f"{p}:{k}: expected 'node dir : dx dy'")
            dx, dy = _num(p, k, words[c + 1], "pin offset"), _num(p, k, words[c + 2], "pin offset")
        cur.append((node, direction, dx, dy))
    if cur is not None and len(cur) != want:
        raise InputError(f"{p}: net '{nets[-1][0]}' has {len(cur)} pins, NetDegree said {want}")
    # placement
    x = np.zeros(len(names))
    y = np.zeros(len(names))
    p = files["pl"]
    for k, words in _lines(p):
        i = index.get(words[0])
        if i is None:
            raise InputError(f"{p}:{k}: node '{words[0]}' is not in {files['nodes'].name}")
        if len(words) < 3:
            raise InputError(f"{p}:{k}: expected 'name x y : orient'")
        x[i], y[i] = _num(p, k, words[1], "x"), _num(p, k, words[2], "y")
    # rows
    rows: list[BookshelfRow] = []
    p = files["scl"]
    row: dict[str, float | str] | None = None
    for k, words in _lines(p):
        key = words[0]
        if key == "NumRows":
            continue
        if key == "CoreRow":
            row = {}
            continue
        if row is None:
            raise InputError(f"{p}:{k}: '{key}' outside a CoreRow block")
        if key == "End":
            for need in ("Coordinate", "Height", "SubrowOrigin", "NumSites"):
                if need not in row:
                    raise InputError(f"{p}:{k}: row without {need}")
            sw = float(row.get("Sitewidth", 1.0))
            rows.append(BookshelfRow(float(row["Coordinate"]), float(row["Height"]), sw, float(row.get("Sitespacing", sw)),
                                     float(row["SubrowOrigin"]), int(row["NumSites"]), str(row.get("Siteorient", "1")),
                                     str(row.get("Sitesymmetry", "1"))))
            row = None
            continue
        # "Key : value" pairs, possibly two on a line (SubrowOrigin : x NumSites : n)
        t = 0
        while t < len(words):
            if t + 2 >= len(words) or words[t + 1] != ":":
                raise InputError(f"{p}:{k}: expected 'Key : value'")
            name, val = words[t], words[t + 2]
            row[name] = val if name in ("Siteorient", "Sitesymmetry") else _num(p, k, val, name)
            t += 3
    if row is not None:
        raise InputError(f"{p}: CoreRow block not closed with End")
    if not rows:
        raise InputError(f"{p}: no CoreRow")
    return Bookshelf(aux.stem, names, np.array(ws), np.array(hs), np.array(term, dtype=bool), np.array(ni, dtype=bool),
                     x, y, nets, rows, files)


def hpwl(bs: Bookshelf, x: np.ndarray, y: np.ndarray) -> float:
    """Total pin-to-pin HPWL with lower-left corners ``x, y`` (pins at centre + offset)."""
    total = 0.0
    cx = x + bs.w / 2
    cy = y + bs.h / 2
    for _, pins in bs.nets:
        if len(pins) < 2:
            continue
        xs = [cx[i] + dx for i, _, dx, _ in pins]
        ys = [cy[i] + dy for i, _, _, dy in pins]
        total += max(xs) - min(xs) + max(ys) - min(ys)
    return total


def place_bookshelf(bs: Bookshelf, *, scale: float = 1.0, seed: int = 1, target_density: float = 0.9,
                    detail_passes: int = 3) -> tuple[np.ndarray, np.ndarray, PlaceReport]:
    """Place the movable nodes; returns lower-left (x, y) of every node (file units) and the report.

    Coordinates are multiplied by ``scale`` and rounded to integer database
    units for the placer (choose it so that sites and sizes become whole
    numbers).  Terminals stay where the ``.pl`` puts them; those that are not
    ``terminal_NI`` block the rows they overlap.  All rows must share one site
    pitch.
    """
    def q(v):
        return np.round(np.asarray(v, dtype=float) * scale).astype(np.int64)

    mov = np.flatnonzero(~bs.terminal)
    fix = np.flatnonzero(bs.terminal)
    order = np.concatenate([mov, fix])
    slot = np.empty(len(order), dtype=np.int64)
    slot[order] = np.arange(len(order))
    w, h = q(bs.w[order]), q(bs.h[order])
    pos = np.column_stack([q(bs.x[order]), q(bs.y[order])])
    specs = [RowSpec(int(q(r.x)), int(q(r.y)), r.num_sites, int(q(r.spacing)), int(q(r.height))) for r in bs.rows]
    if len({s.site_w for s in specs}) > 1:
        raise InputError(f"{bs.files['scl']}: rows with different site pitches are not supported")
    nets = []
    for name, pins in bs.nets:
        pp = tuple((int(slot[i]), int(round((dx + bs.w[i] / 2) * scale)), int(round((dy + bs.h[i] / 2) * scale))) for i, _, dx, dy in pins)
        if len({p[0] for p in pp}) >= 2:
            nets.append(NetPins(name, pp))
    n_mov = len(mov)
    blockages = [(int(pos[j, 0]), int(pos[j, 1]), int(pos[j, 0] + w[j]), int(pos[j, 1] + h[j]))
                 for j in range(n_mov, len(order)) if not bs.non_image[order[j]] and w[j] > 0 and h[j] > 0]
    rep = PlaceReport(cells=n_mov, fixed=len(fix), nets=len(nets), rows=len(specs))
    if n_mov:
        out, _ = place_arrays(w, h, pos, n_mov, pin_arrays(nets), specs, blockages, rep,
                              names=[bs.nodes[i] for i in mov], seed=seed, target_density=target_density, detail_passes=detail_passes)
    else:
        out = pos
    x = bs.x.copy()
    y = bs.y.copy()
    x[mov] = out[:n_mov, 0] / scale
    y[mov] = out[:n_mov, 1] / scale
    return x, y, rep
