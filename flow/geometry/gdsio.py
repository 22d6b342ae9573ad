"""Reading layouts (GDSII / OASIS) into flat, per-layer integer shapes.

The DRC and LVS engines never see gdstk objects: they get a
:class:`LayoutShapes`, i.e. the flattened polygons of one top cell, grouped by
PDK layer name, as ``(n, 2)`` int64 arrays in database units (dbu, the kit's
``dbu_um``), plus the text labels of each layer's label datatype.

Example
-------
>>> import gdstk, pdk
>>> kit = pdk.load("gan650")
>>> lib = gdstk.Library(unit=1e-6, precision=1e-9)
>>> top = lib.new_cell("TOP")
>>> _ = top.add(gdstk.rectangle((0, 0), (2, 1), layer=10, datatype=0))
>>> shapes = shapes_from_library(lib, kit)
>>> shapes.polygons["MET1"][0].tolist()
[[0, 0], [2000, 0], [2000, 1000], [0, 1000]]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import gdstk
import numpy as np

from flow.errors import InputError, where
from flow.geometry.hierarchy import Instances, instance_table
from pdk.schema import PDK

#: gdstk user unit used when reading files: coordinates come back in microns.
_UM = 1e-6


@dataclass(frozen=True)
class LayoutShapes:
    """Flattened shapes of one top cell, by PDK layer name.

    Attributes
    ----------
    polygons
        layer name -> list of ``(n, 2)`` int64 arrays (dbu), one per polygon,
        without a closing vertex.  Only the drawing datatype (``Layer.gds``).
        Every kit layer has an entry (possibly empty).
    labels
        layer name -> list of ``(text, x, y)`` with x, y in dbu, read from the
        layer's label datatype (``Layer.label``); layers without one: empty.
    top
        Name of the flattened top cell.
    unknown_layers
        Sorted ``(layer, datatype)`` pairs present under ``top`` that the kit
        does not define (neither drawing, pin nor label datatype): ignored.
    unknown_shapes
        Number of polygons (and paths) on those unknown layers.
    instances
        The placed cell instances under ``top`` (cell, transformation,
        bounding box in dbu; :mod:`flow.geometry.hierarchy`), so reports can
        name the cell a marker lies in; ``None`` when not known.
    """

    polygons: Mapping[str, list[np.ndarray]]
    labels: Mapping[str, list[tuple[str, int, int]]]
    top: str
    unknown_layers: tuple[tuple[int, int], ...] = ()
    unknown_shapes: int = 0
    dbu_um: float = field(default=0.001, compare=False)
    instances: Instances | None = field(default=None, compare=False, repr=False)
    #: layer name -> the polygons of the layer drawn inside *device cells*
    #: (cells named after a device model of the kit, ``<model>`` or
    #: ``<model>_<params>`` as :func:`pdk.base.cell_name` makes them), in
    #: the top cell's coordinates (dbu); layers without any: absent.  The
    #: current-density check leaves device-internal metal to the device's
    #: terminal ratings (:mod:`flow.drc.kinds.nets`, :mod:`pdk.rating`).
    device_polygons: Mapping[str, list[np.ndarray]] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )

    def edge_count(self, layer: str) -> int:
        """Number of polygon edges on ``layer`` (before merging)."""
        return int(sum(len(p) for p in self.polygons.get(layer, ())))


def _pick_top(lib: gdstk.Library, top: str | None, source: str) -> gdstk.Cell:
    if top is not None:
        for cell in lib.cells:
            if cell.name == top:
                if not isinstance(cell, gdstk.Cell):
                    raise InputError(f"{where(source)}cell '{top}' is a raw cell and cannot be read")
                return cell
        names = sorted(c.name for c in lib.top_level())
        raise InputError(f"{where(source)}no cell named '{top}'; top cells are {', '.join(names) or '(none)'}")
    tops = [c for c in lib.top_level() if isinstance(c, gdstk.Cell)]
    if not tops:
        raise InputError(f"{where(source)}the layout has no cells")
    if len(tops) > 1:
        names = ", ".join(sorted(c.name for c in tops))
        raise InputError(f"{where(source)}several top cells ({names}); choose one with --top")
    return tops[0]


def _layers_under(cell: gdstk.Cell) -> dict[tuple[int, int], int]:
    """(layer, datatype) -> number of polygons/paths drawn under ``cell`` (unflattened)."""
    seen: dict[tuple[int, int], int] = {}
    for c in [cell, *cell.dependencies(True)]:
        if not isinstance(c, gdstk.Cell):
            continue
        for p in c.polygons:
            key = (p.layer, p.datatype)
            seen[key] = seen.get(key, 0) + 1
        for path in c.paths:
            for key in zip(path.layers, path.datatypes):
                seen[key] = seen.get(key, 0) + 1
    return seen


def is_device_cell(name: str, kit: PDK) -> bool:
    """True when cell ``name`` is a device of ``kit``: ``<model>`` or
    ``<model>_<params>`` (:func:`pdk.base.cell_name`).

    >>> import pdk
    >>> kit = pdk.load("gan650")
    >>> is_device_cell("hemte_l1_nf4_w100", kit), is_device_cell("hemtex", kit), is_device_cell("TOP", kit)
    (True, False, False)
    """
    return any(name == m or name.startswith(m + "_") for m in kit.devices)


def _snap_all(got: list, f: float) -> list[np.ndarray]:
    """gdstk polygons -> int64 dbu arrays: snapped, without repeated vertices
    (nor a closing one), those with >= 3 vertices left."""
    if not got:
        return []
    pts = np.rint(np.vstack([p.points for p in got]) * f).astype(np.int64)
    lens = np.fromiter((len(p.points) for p in got), np.int64, len(got))
    starts = np.cumsum(lens) - lens
    prev = np.arange(-1, len(pts) - 1)
    prev[starts] = starts + lens - 1
    keep = np.any(pts != pts[prev], axis=1)
    kept = np.add.reduceat(keep.astype(np.int64), starts)
    bounds = np.cumsum(kept)
    flat = pts[keep]
    return [q for q in np.split(flat, bounds[:-1]) if len(q) >= 3]


def _device_only(cell: gdstk.Cell, kit: PDK, memo: dict[str, gdstk.Cell | None]) -> gdstk.Cell | None:
    """A shadow of ``cell`` holding only its references that lead to device
    cells (device cells themselves as they are); ``None`` when there are none."""
    if is_device_cell(cell.name, kit):
        return cell
    if cell.name in memo:
        return memo[cell.name]
    memo[cell.name] = None  # guards against reference cycles
    shadow = gdstk.Cell(cell.name + "$devices")
    for r in cell.references:
        if not isinstance(r.cell, gdstk.Cell):
            continue
        t = _device_only(r.cell, kit, memo)
        if t is None:
            continue
        nr = gdstk.Reference(t, r.origin, r.rotation, r.magnification, r.x_reflection)
        nr.repetition = r.repetition
        shadow.add(nr)
    memo[cell.name] = shadow if shadow.references else None
    return memo[cell.name]


def _device_polygons(cell: gdstk.Cell, kit: PDK, f: float) -> dict[str, list[np.ndarray]]:
    """Per conducting layer, the polygons drawn inside device cells under ``cell``."""
    if not kit.devices or is_device_cell(cell.name, kit):
        return {}
    shadow = _device_only(cell, kit, {})
    if shadow is None:
        return {}
    out: dict[str, list[np.ndarray]] = {}
    for name, lay in kit.layers.items():
        if lay.purpose not in ("routing", "cut", "pad"):
            continue
        polys = _snap_all(shadow.get_polygons(layer=lay.gds[0], datatype=lay.gds[1]), f)
        if polys:
            out[name] = polys
    return out


def _extract(cell: gdstk.Cell, kit: PDK, scale_um: float) -> LayoutShapes:
    """Flatten ``cell``; ``scale_um`` converts its user units to microns."""
    f = scale_um / kit.dbu_um  # user units -> dbu
    polygons: dict[str, list[np.ndarray]] = {}
    labels: dict[str, list[tuple[str, int, int]]] = {}
    known: set[tuple[int, int]] = set()
    for name, lay in kit.layers.items():
        known.update(x for x in (lay.gds, lay.pin, lay.label) if x is not None)
        polys: list[np.ndarray] = []
        got = cell.get_polygons(layer=lay.gds[0], datatype=lay.gds[1])
        if got:
            # all polygons at once: snap to dbu, drop repeated vertices created
            # by snapping (and a closing vertex), keep those with >= 3 left
            pts = np.rint(np.vstack([p.points for p in got]) * f).astype(np.int64)
            lens = np.fromiter((len(p.points) for p in got), np.int64, len(got))
            starts = np.cumsum(lens) - lens
            prev = np.arange(-1, len(pts) - 1)
            prev[starts] = starts + lens - 1
            keep = np.any(pts != pts[prev], axis=1)
            kept = np.add.reduceat(keep.astype(np.int64), starts)
            bounds = np.cumsum(kept)
            flat = pts[keep]
            polys = [q for q in np.split(flat, bounds[:-1]) if len(q) >= 3]
        polygons[name] = polys
        labs: list[tuple[str, int, int]] = []
        if lay.label is not None:
            for lab in cell.get_labels(layer=lay.label[0], texttype=lay.label[1]):
                x, y = lab.origin
                labs.append((str(lab.text), int(round(x * f)), int(round(y * f))))
        labels[name] = labs
    counts = _layers_under(cell)
    inst = instance_table(cell, f)
    unknown = tuple(sorted(k for k in counts if k not in known))
    return LayoutShapes(
        polygons=MappingProxyType(polygons),
        labels=MappingProxyType(labels),
        top=cell.name,
        unknown_layers=unknown,
        unknown_shapes=sum(counts[k] for k in unknown),
        dbu_um=kit.dbu_um,
        instances=inst,
        device_polygons=MappingProxyType(_device_polygons(cell, kit, f)),
    )


def shapes_from_library(lib: gdstk.Library, kit: PDK, top: str | None = None) -> LayoutShapes:
    """Flatten cell ``top`` (or the only top cell) of an in-memory library.

    Parameters
    ----------
    lib
        A gdstk library in any user unit (``lib.unit`` metres per unit).
    kit
        The PDK giving layer names, GDS numbers and ``dbu_um``.
    top
        Cell to flatten; ``None`` picks the single top-level cell.

    Raises
    ------
    InputError
        No cells, several top cells and no ``top``, or ``top`` not found.
    """
    cell = _pick_top(lib, top, lib.name or "library")
    return _extract(cell, kit, lib.unit / _UM)


def read_gds(path: str | os.PathLike[str], kit: PDK, top: str | None = None) -> LayoutShapes:
    """Read a GDSII (or OASIS, by ``.oas`` extension) file and flatten ``top``.

    Coordinates are read in microns and snapped to the kit's grid:
    ``round(coord_um / kit.dbu_um)``.

    Raises
    ------
    InputError
        ``path: not a readable GDS file (...)`` for a missing, unreadable or
        corrupt file; and the errors of :func:`shapes_from_library`.
    """
    p = Path(path)
    kind = "OASIS" if p.suffix.lower() in (".oas", ".oasis") else "GDS"
    if not p.is_file():
        raise InputError(f"{p}: not a readable {kind} file (no such file)")
    try:
        lib = gdstk.read_oas(str(p), unit=_UM) if kind == "OASIS" else gdstk.read_gds(str(p), unit=_UM)
    except (OSError, RuntimeError, ValueError) as e:
        raise InputError(f"{p}: not a readable {kind} file ({e})") from None
    cell = _pick_top(lib, top, str(p))
    return _extract(cell, kit, 1.0)
