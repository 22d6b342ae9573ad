"""``pilotflow reticle``: several tapeout bundles on one multi-project reticle.

Layout, from the reticle edge inwards:

* a frame ``margin`` wide holding an alignment mark (a cross per routing
  metal, :func:`pdk.pcm.alignment_mark`) in each corner, and the reticle
  outline on the kit's boundary layer;
* die *slots*, packed in rows (first fit by decreasing height, so rows and
  the dies in a row can be sawn apart with straight cuts).  A slot is the
  die *footprint* -- the die itself when the design has its own seal ring
  and scribe (``[floorplan] seal_ring``), else the die wrapped in the kit's
  seal ring :func:`pdk.pcm.seal_ring` and a half scribe lane -- with the die
  label (:func:`pdk.pcm.text_label`, polygons on the top routing metal)
  underneath.  Slots keep the kit clearance (:func:`pdk.pcm.clearance`)
  from one another, so the saw street between two dies is the two half
  scribe lanes plus that clearance;
* process-control monitors (:func:`pdk.pcm.kit_pcms`) in the free space
  left in the rows and above them (guillotine free rectangles, largest
  first); monitors that do not fit are reported, not drawn.

The reticle is then checked with the kit's full DRC.  Cells are named
``DIE_<design>`` (die footprint), ``LABEL_<design>``, ``PCM_*``, ``ALIGN_*``;
each die's own cells are prefixed ``<design>__`` so two designs never clash.
The output is deterministic (fixed GDS timestamp, sorted cells, integer
micron placement).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gdstk

import flow
from flow.errors import InputError
from flow.handoff.tapeout import read_bundle
from pdk.pcm import PcmCell, alignment_mark, clearance, kit_pcms, seal_ring, text_label

Rect = tuple[int, int, int, int]

#: Half scribe lane (um) around a die that has no seal ring of its own.
DEFAULT_HALF_SCRIBE_UM = 40.0


def parse_size(text: str) -> tuple[float, float]:
    """``"WxH"`` with an optional unit (``mm`` default, or ``um``) -> (w, h) in um.

    >>> parse_size("20x15"), parse_size("4.5x3mm"), parse_size("3000x2500um")
    ((20000.0, 15000.0), (4500.0, 3000.0), (3000.0, 2500.0))
    """
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*[xX*]\s*([0-9]*\.?[0-9]+)\s*(mm|um)?\s*", text, re.IGNORECASE)
    if not m:
        raise InputError(f"--size: '{text}' is not WxH (e.g. 20x20mm or 5000x4000um; bare numbers are mm)")
    scale = 1.0 if (m.group(3) or "").lower() == "um" else 1000.0
    w, h = float(m.group(1)) * scale, float(m.group(2)) * scale
    if w <= 0 or h <= 0:
        raise InputError(f"--size: '{text}' must be positive")
    if abs(w - round(w)) > 1e-6 or abs(h - round(h)) > 1e-6:
        raise InputError(f"--size: '{text}' must be whole microns")
    return float(round(w)), float(round(h))


@dataclass
class Placed:
    kind: str  # die | label | pcm | mark | title
    name: str
    cell: gdstk.Cell
    at: tuple[int, int]  # where the cell's origin goes (dbu)
    rect: Rect  # the item's extent on the reticle (dbu)
    doc: str = ""


@dataclass
class ReticleResult:
    lib: gdstk.Library
    top: str
    kit: Any
    size_um: tuple[float, float]
    placed: list[Placed]
    pcms_skipped: list[str] = field(default_factory=list)
    drc: Any = None

    def of(self, kind: str) -> list[Placed]:
        return [p for p in self.placed if p.kind == kind]

    def to_json(self) -> dict[str, Any]:
        um = self.kit.um
        out: dict[str, Any] = {
            "format": "pilotflow-reticle",
            "format_version": 1,
            "pilotflow_version": flow.__version__,
            "pdk": self.kit.name,
            "pdk_version": self.kit.version,
            "top": self.top,
            "size_um": list(self.size_um),
            "items": [
                {"kind": p.kind, "name": p.name, "cell": p.cell.name, "rect_um": [um(v) for v in p.rect], "doc": p.doc}
                for p in self.placed
            ],
            "pcms_not_placed": self.pcms_skipped,
        }
        if self.drc is not None:
            d = self.drc
            out["drc"] = {
                "clean": d.clean,
                "violations": len(d.violations),
                "counts": dict(sorted(d.counts().items())),
                "rules_checked": len(d.rules_checked),
                "not_checked": list(d.not_checked),
                "partly_not_checked": [n for n in d.notes if ": not checked" in n],
            }
        return out


@dataclass
class _Die:
    name: str
    meta: dict[str, Any]
    cell: gdstk.Cell  # footprint cell DIE_<name>
    fp: tuple[int, int]  # footprint size (dbu); the cell's origin is its lower-left corner
    label: PcmCell


def _load_dies(bundles: list[Path], kit, half_scribe: int, c: int) -> tuple[list[_Die], list[gdstk.Cell]]:
    dies: list[_Die] = []
    cells: list[gdstk.Cell] = []
    names: dict[str, int] = {}
    by_sha: dict[str, _Die] = {}
    u = kit.dbu_um
    for b in bundles:
        meta = read_bundle(b)
        if meta["gds_sha256"] in by_sha:  # the same die again: same cells, its own label
            first = by_sha[meta["gds_sha256"]]
            k = sum(1 for d in dies if d.cell is first.cell) + 1
            if k == 2:  # the first copy becomes -1
                first.label = text_label(kit, f"{meta['design']}-1", f"LABEL_{first.name}_1")
            dies.append(_Die(first.name, meta, first.cell, first.fp, text_label(kit, f"{meta['design']}-{k}", f"LABEL_{first.name}_{k}")))
            continue
        base = re.sub(r"[^A-Za-z0-9_]", "_", meta["design"])
        names[base] = names.get(base, 0) + 1
        name = base if names[base] == 1 else f"{base}_{names[base]}"
        try:
            lib = gdstk.read_gds(str(b / meta["gds"]))
        except Exception as e:  # noqa: BLE001
            raise InputError(f"{b / meta['gds']}: not a readable GDS file ({e})") from None
        tops = {t.name: t for t in lib.top_level()}
        if meta["top"] not in tops:
            raise InputError(f"{b / meta['gds']}: no top cell {meta['top']}")
        top = tops[meta["top"]]
        for cell in [top, *top.dependencies(True)]:
            cell.name = f"{name}__{cell.name}"
            cells.append(cell)
        x0, y0, x1, y1 = (kit.dbu(v) for v in meta["die_um"])
        fp_cell = gdstk.Cell(f"DIE_{name}")
        if meta.get("seal_ring"):
            fp_cell.add(gdstk.Reference(top, (-x0 * u, -y0 * u)))
            fp = (x1 - x0, y1 - y0)
        else:
            band = _band(kit)
            gap = c
            off = half_scribe + band + gap
            ring = seal_ring(kit, kit.um(x1 - x0 + 2 * (gap + band)), kit.um(y1 - y0 + 2 * (gap + band)))
            fp_cell.add(gdstk.Reference(ring.cell, ((half_scribe - ring.bbox[0]) * u, (half_scribe - ring.bbox[1]) * u)))
            fp_cell.add(gdstk.Reference(top, ((off - x0) * u, (off - y0) * u)))
            cells.extend([ring.cell, *ring.cell.dependencies(True)])
            fp = (x1 - x0 + 2 * off, y1 - y0 + 2 * off)
        label = text_label(kit, meta["design"], f"LABEL_{name}")
        die = _Die(name, meta, fp_cell, fp, label)
        by_sha[meta["gds_sha256"]] = die
        dies.append(die)
    return dies, cells


def _band(kit) -> int:
    """Band width (dbu) of the seal rings :func:`seal_ring` draws by default."""
    devs = [d for d in kit.devices.values() if d.kind == "sealring"]
    if devs and "width" in devs[0].params:
        return kit.dbu(devs[0].params["width"].default)
    return kit.dbu(20.0)


def _um_up(kit, v: int) -> int:
    """Round ``v`` (dbu) up to whole microns (placement stays on a 1 um grid)."""
    step = kit.dbu(1.0)
    return -(-v // step) * step


def _shelf(sizes: list[tuple[int, int]], width: int, gap: int) -> tuple[list[tuple[int, int]], int] | None:
    """First-fit decreasing-height rows: positions (x, y) relative to the
    area's lower-left corner and the total height, or None when an item is
    wider than ``width``.  ``sizes`` must already be sorted."""
    rows: list[list[int]] = []  # [y, height, x_next]
    pos: list[tuple[int, int]] = []
    y_next = 0
    for w, h in sizes:
        if w > width:
            return None
        for row in rows:
            if row[2] + w <= width and h <= row[1]:
                pos.append((row[2], row[0]))
                row[2] += w + gap
                break
        else:
            rows.append([y_next, h, w + gap])
            pos.append((0, y_next))
            y_next += h + gap
    return pos, max(0, y_next - gap)


def build_reticle(
    bundles: list[str | Path],
    size_um: tuple[float, float],
    *,
    top: str = "RETICLE",
    half_scribe_um: float = DEFAULT_HALF_SCRIBE_UM,
    check: bool = True,
    progress=None,
) -> ReticleResult:
    """Assemble the reticle (see the module docstring) and check its DRC.

    Raises
    ------
    InputError
        A bundle is missing or modified, the bundles use different PDKs, or
        the dies do not fit (the message gives the size they need).
    """
    import pdk as pdks

    if not bundles:
        raise InputError("no bundle given")
    paths = [Path(b) for b in bundles]
    metas = [(p, read_bundle(p)) for p in paths]
    kits = {(m["pdk"], m["pdk_version"]) for _, m in metas}
    if len(kits) > 1:
        listed = ", ".join(f"{p} ({m['pdk']} {m['pdk_version']})" for p, m in metas)
        raise InputError(f"the bundles must share one PDK (name and version): {listed}")
    (kit_name, kit_version), = kits
    kit = pdks.load(kit_name)
    if kit.version != kit_version:
        raise InputError(f"the bundles use {kit_name} {kit_version}; the installed kit is {kit.version}")
    c = clearance(kit)
    W, H = kit.dbu(size_um[0]), kit.dbu(size_um[1])
    dies, die_cells = _load_dies(paths, kit, kit.dbu(half_scribe_um), c)

    mark = alignment_mark(kit)
    margin = _um_up(kit, mark.height + 2 * c)  # marks sit in the bottom and top bands
    area_w, area_h = W - 2 * margin, H - 2 * margin

    # die slots: footprint with its label underneath
    slots = []
    for i, d in enumerate(dies):
        w = _um_up(kit, max(d.fp[0], d.label.width))
        h = _um_up(kit, d.fp[1] + d.label.height + c)
        slots.append((i, w, h))
    order = sorted(slots, key=lambda s: (-s[2], -s[1], dies[s[0]].name, s[0]))
    packed = _shelf([(w, h) for _, w, h in order], area_w, c)
    if packed is None or packed[1] > area_h:
        need = _needed_size(kit, [(w, h) for _, w, h in order], c, margin, W, H)
        raise InputError(
            f"--size: a {kit.um(W) / 1000:g} x {kit.um(H) / 1000:g} mm reticle is too small for {len(dies)} dies; "
            f"they need at least {need[0]:g} x {need[1]:g} mm"
        )
    positions, used_h = packed
    placed: list[Placed] = []
    taken: list[Rect] = []
    for (i, w, h), (x, y) in zip(order, positions):
        d = dies[i]
        x0, y0 = margin + x, margin + y
        fy = y0 + d.label.height + c
        placed.append(Placed("die", d.name, d.cell, (x0, fy), (x0, fy, x0 + d.fp[0], fy + d.fp[1]), f"{d.meta['design']} ({d.meta['top']})"))
        lx, ly = x0 - d.label.bbox[0], y0 - d.label.bbox[1]
        placed.append(Placed("label", d.name, d.label.cell, (lx, ly), (x0, y0, x0 + d.label.width, y0 + d.label.height), d.label.doc))
        taken.append((x0, y0, x0 + w, y0 + h))

    # free rectangles: above each slot up to its row's top, each row's end,
    # and the space above the last row
    free: list[Rect] = []
    rows: dict[int, list[Rect]] = {}
    for r in taken:
        rows.setdefault(r[1], []).append(r)
    for y0, rs in sorted(rows.items()):
        top_y = max(r[3] for r in rs)
        for r in sorted(rs):
            if r[3] + c < top_y:
                free.append((r[0], r[3] + c, r[2], top_y))
        x_end = max(r[2] for r in rs) + c
        if x_end < margin + area_w:
            free.append((x_end, y0, margin + area_w, top_y))
    y_top = margin + used_h + c if taken else margin
    if y_top < margin + area_h:
        free.append((margin, y_top, margin + area_w, margin + area_h))

    skipped: list[str] = []
    pcms = kit_pcms(kit, skipped)
    for pc in sorted(pcms, key=lambda p: (-p.width * p.height, p.cell.name)):
        w, h = _um_up(kit, pc.width), _um_up(kit, pc.height)
        for k, (fx0, fy0, fx1, fy1) in enumerate(free):
            if fx1 - fx0 >= w and fy1 - fy0 >= h:
                placed.append(Placed("pcm", pc.cell.name, pc.cell, (fx0 - pc.bbox[0], fy0 - pc.bbox[1]), (fx0, fy0, fx0 + w, fy0 + h), pc.doc))
                # guillotine split: right of the item (its height), above it (full width)
                rest = [(fx0 + w + c, fy0, fx1, fy0 + h), (fx0, fy0 + h + c, fx1, fy1)]
                free[k : k + 1] = [r for r in rest if r[2] > r[0] and r[3] > r[1]]
                break
        else:
            skipped.append(f"{pc.cell.name} ({kit.um(w):g} x {kit.um(h):g} um): no free space left")

    mw, mh = _um_up(kit, mark.width), _um_up(kit, mark.height)
    for k, (mx, my) in enumerate(((c, c), (W - c - mw, c), (c, H - c - mh), (W - c - mw, H - c - mh))):
        placed.append(Placed("mark", f"{mark.cell.name}_{k}", mark.cell, (mx - mark.bbox[0], my - mark.bbox[1]), (mx, my, mx + mark.width, my + mark.height), mark.doc))

    # the reticle's name and kit in the bottom band between the marks, if it fits
    title = text_label(kit, f"{top} {kit.name} {kit.version}", f"TITLE_{re.sub(r'[^A-Za-z0-9_]', '_', top)}")
    room = W - 2 * (2 * c + mw)
    if title.width <= room and title.height <= margin - 2 * c:
        tx = _um_up(kit, (W - title.width) // 2)
        placed.append(Placed("title", title.cell.name, title.cell, (tx - title.bbox[0], c - title.bbox[1]), (tx, c, tx + title.width, c + title.height), title.doc))
    lib = _assemble(kit, top, W, H, placed, die_cells)
    res = ReticleResult(lib, top, kit, (kit.um(W), kit.um(H)), placed, skipped)
    if check:
        from flow.drc.engine import run_drc
        from flow.geometry.gdsio import shapes_from_library

        if progress is not None:
            progress.stage("reticle drc")
        res.drc = run_drc(shapes_from_library(lib, kit, top), kit, progress=progress)
        if progress is not None:
            progress.done(f"{len(res.drc.rules_checked)} rules checked")
    return res


def _needed_size(kit, sizes: list[tuple[int, int]], gap: int, margin: int, W: int, H: int) -> tuple[float, float]:
    """Smallest reticle (mm, 0.1 mm steps, same aspect ratio) the slots fit."""
    f = 1.0
    for _ in range(400):
        w, h = W * f, H * f
        p = _shelf(sizes, int(w) - 2 * margin, gap)
        if p is not None and p[1] <= h - 2 * margin:
            break
        f *= 1.02
    mm = lambda v: -(-round(kit.um(v) / 100.0 * 1e6) // 1_000_000) / 10  # noqa: E731 - ceil to 0.1 mm
    return mm(W * f), mm(H * f)


def _assemble(kit, top: str, W: int, H: int, placed: list[Placed], die_cells: list[gdstk.Cell]) -> gdstk.Library:
    u = kit.dbu_um
    lib = gdstk.Library(name=f"pilotflow-{flow.__version__} {kit.name}-{kit.version}", unit=1e-6, precision=u * 1e-6)
    cell = gdstk.Cell(top)
    boundary = [lay for lay in kit.layers.values() if lay.purpose == "boundary"]
    if boundary:
        b = boundary[0]
        cell.add(gdstk.rectangle((0, 0), (W * u, H * u), layer=b.gds[0], datatype=b.gds[1]))
    kids: dict[str, gdstk.Cell] = {}
    for p in placed:
        cell.add(gdstk.Reference(p.cell, (p.at[0] * u, p.at[1] * u)))
        for c in (p.cell, *p.cell.dependencies(True)):
            kids.setdefault(c.name, c)
    for c in die_cells:
        kids.setdefault(c.name, c)
    lib.add(cell)
    for name in sorted(kids):
        lib.add(kids[name])
    return lib


def write_reticle(res: ReticleResult, out: str | Path) -> Path:
    """Write the GDS (deterministic) and, beside it, ``<out>.json``: the
    placement map and the DRC summary.  Both atomically."""
    import os

    from flow.fileio import atomic_write_text, temp_path_for
    from flow.geometry.layout import write_gds

    out = Path(out)
    tmp = temp_path_for(out)
    try:
        write_gds(res.lib, tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    side = out.with_suffix(".json")
    atomic_write_text(side, json.dumps(res.to_json(), indent=2) + "\n")
    return side
