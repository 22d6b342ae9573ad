"""Building blocks for device generators.

A generator is a plain function ``gen(kit, *, param=default, ...) ->
DeviceCell``; it draws with a :class:`CellBuilder`, which takes layer *names*
and coordinates in microns, snaps everything to the kit's database grid and
records named pins.  :func:`generate` validates parameters against the kit's
ranges and caches cells, so equal parameters give the very same cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gdstk

from flow.errors import InputError
from pdk.schema import PDK

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in database units


@dataclass(frozen=True)
class Pin:
    """A terminal's access shape: ``rect`` (dbu, cell coordinates) on ``layer``."""

    terminal: str
    layer: str
    rect: Rect


@dataclass(frozen=True)
class DeviceCell:
    """A generated device: its gdstk cell, pins, and bounding box (dbu).

    ``conductors`` lists every rectangle drawn with a ``terminal=`` tag
    (pins included): the shapes electrically tied to that terminal, which the
    router treats as the terminal's own metal rather than as foreign obstacles.
    """

    model: str
    params: Mapping[str, Any]
    cell: gdstk.Cell
    pins: tuple[Pin, ...]
    bbox: Rect
    conductors: tuple[Pin, ...] = ()
    #: Orientation (see :data:`ORIENTATIONS`); "R0" for a generated cell.
    orient: str = "R0"
    #: For an oriented cell (:func:`oriented`): the generated cell it mirrors
    #: or rotates, and the GDS reference transform ``(dx, dy, rotation
    #: radians, x_reflection)`` (dbu) that maps the master onto ``cell``.
    master: gdstk.Cell | None = None
    transform: tuple[int, int, float, bool] = (0, 0, 0.0, False)
    #: Current rating of each terminal (:class:`pdk.rating.Rating`), from
    #: the metal the generator drew; terminals without one are not rated.
    ratings: tuple = ()

    def pins_of(self, terminal: str) -> list[Pin]:
        return [p for p in self.pins if p.terminal == terminal]

    def rating(self, terminal: str):
        """The :class:`pdk.rating.Rating` of ``terminal``, or ``None``."""
        return next((r for r in self.ratings if r.terminal == terminal), None)

    @property
    def width(self) -> int:
        return self.bbox[2] - self.bbox[0]

    @property
    def height(self) -> int:
        return self.bbox[3] - self.bbox[1]


class CellBuilder:
    """Draws rectangles and pins on named layers of ``kit``, in microns."""

    def __init__(self, kit: PDK, name: str):
        self.kit = kit
        self.cell = gdstk.Cell(name)
        self.pins: list[Pin] = []
        self.conductors: list[Pin] = []

    def _snap(self, v: float) -> int:
        return self.kit.dbu(v)

    def rect(
        self, layer: str, x0: float, y0: float, x1: float, y1: float, *, terminal: str | None = None
    ) -> Rect:
        """Draw a rectangle; returns it in dbu (sorted corners).

        ``terminal`` tags the shape as metal of that terminal (see
        :attr:`DeviceCell.conductors`); tag every routing-metal shape.
        """
        lay = self.kit.layer(layer)
        a, b = sorted((self._snap(x0), self._snap(x1)))
        c, d = sorted((self._snap(y0), self._snap(y1)))
        if a == b or c == d:
            raise ValueError(f"degenerate rectangle on {layer}: ({x0}, {y0}) - ({x1}, {y1})")
        u = self.kit.dbu_um
        self.cell.add(gdstk.rectangle((a * u, c * u), (b * u, d * u), layer=lay.gds[0], datatype=lay.gds[1]))
        if terminal is not None:
            self.conductors.append(Pin(terminal, layer, (a, c, b, d)))
        return (a, c, b, d)

    def pin(self, terminal: str, layer: str, x0: float, y0: float, x1: float, y1: float) -> Rect:
        """Draw ``layer`` and declare it an access shape of ``terminal``.

        The shape is also drawn on the layer's pin datatype when the kit
        defines one.  Terminal names are not written as text: net-name labels
        belong to the assembled layout, and device-level labels would clash
        with them in connectivity tracing.
        """
        r = self.rect(layer, x0, y0, x1, y1, terminal=terminal)
        lay = self.kit.layer(layer)
        u = self.kit.dbu_um
        if lay.pin is not None:
            self.cell.add(gdstk.rectangle((r[0] * u, r[1] * u), (r[2] * u, r[3] * u), layer=lay.pin[0], datatype=lay.pin[1]))
        self.pins.append(Pin(terminal, layer, r))
        return r

    def build(self, model: str, params: Mapping[str, Any]) -> DeviceCell:
        (x0, y0), (x1, y1) = self.cell.bounding_box()
        u = self.kit.dbu_um
        bbox = (round(x0 / u), round(y0 / u), round(x1 / u), round(y1 / u))
        return DeviceCell(model, dict(params), self.cell, tuple(self.pins), bbox, tuple(self.conductors))


#: Orientations of a placed device (DEF names in brackets): R0 (N) as
#: generated, MX (FS) mirrored about the x axis (upside down), MY (FN)
#: mirrored about the y axis (left-right), R180 (S) turned half a turn.
#: Each keeps the bounding box (same width and height, same lower-left).
ORIENTATIONS = ("R0", "MX", "MY", "R180")

#: The orientation a device takes when ``o`` is mirrored left-right (about a
#: vertical axis) or upside down (about a horizontal axis).
MIRROR_Y = {"R0": "MY", "MY": "R0", "MX": "R180", "R180": "MX"}
MIRROR_X = {"R0": "MX", "MX": "R0", "MY": "R180", "R180": "MY"}


def orient_rect(r: Rect, bbox: Rect, o: str) -> Rect:
    """``r`` (cell coordinates, dbu) after orienting the cell by ``o`` inside
    its own bounding box ``bbox``.

    Examples
    --------
    >>> orient_rect((0, 0, 2, 1), (0, 0, 10, 5), "MY")
    (8, 0, 10, 1)
    >>> orient_rect((0, 0, 2, 1), (0, 0, 10, 5), "R180")
    (8, 4, 10, 5)
    """
    x0, y0, x1, y1 = r
    sx, sy = bbox[0] + bbox[2], bbox[1] + bbox[3]
    if o in ("MY", "R180"):
        x0, x1 = sx - x1, sx - x0
    if o in ("MX", "R180"):
        y0, y1 = sy - y1, sy - y0
    return (x0, y0, x1, y1)


def _transform(bbox: Rect, o: str) -> tuple[int, int, float, bool]:
    """GDS reference transform (dbu offset, rotation, x_reflection) of ``o``:
    gdstk (like GDSII) reflects about the x axis first, then rotates, then
    translates."""
    sx, sy = bbox[0] + bbox[2], bbox[1] + bbox[3]
    return {
        "R0": (0, 0, 0.0, False),
        "MX": (0, sy, 0.0, True),  # (x, y) -> (x, sy - y)
        "MY": (sx, 0, math.pi, True),  # (x, -y) turned half a turn -> (-x, y) -> (sx - x, y)
        "R180": (sx, sy, math.pi, False),
    }[o]


_ORIENTED: dict[tuple[int, str, float], tuple[DeviceCell, DeviceCell]] = {}


def oriented(dc: DeviceCell, o: str, dbu_um: float) -> DeviceCell:
    """``dc`` turned to orientation ``o`` (one of :data:`ORIENTATIONS`) in
    place: same bounding box, pins and conductors moved with the geometry.
    Its ``cell`` is a flat transformed copy named ``<cell>_<o>`` (for the
    router and checks); a layout references ``master`` with ``transform``
    instead, so the GDS keeps one cell per device and an instance transform.

    Examples
    --------
    >>> import pdk
    >>> dc = generate(pdk.load("gan650"), "hemte", {"w": 100, "nf": 2})
    >>> m = oriented(dc, "MY", 0.001)
    >>> m.bbox == dc.bbox and m.cell.name.endswith("_MY")
    True
    >>> p, q = dc.pins[0], m.pins[0]
    >>> q.rect[0] == dc.bbox[0] + dc.bbox[2] - p.rect[2]
    True
    """
    if o not in ORIENTATIONS:
        raise InputError(f"orientation {o!r} is not one of {', '.join(ORIENTATIONS)}")
    if o == dc.orient:
        return dc
    if dc.master is not None:
        raise ValueError("orient a generated cell, not an oriented one")
    key = (id(dc), o, dbu_um)
    hit = _ORIENTED.get(key)
    if hit is not None and hit[0] is dc:
        return hit[1]
    t = _transform(dc.bbox, o)
    u = dbu_um
    cell = gdstk.Cell(f"{dc.cell.name}_{o}")
    cell.add(gdstk.Reference(dc.cell, (t[0] * u, t[1] * u), rotation=t[2], x_reflection=t[3]))
    cell.flatten()
    out = DeviceCell(
        dc.model, dc.params, cell,
        tuple(Pin(p.terminal, p.layer, orient_rect(p.rect, dc.bbox, o)) for p in dc.pins),
        dc.bbox,
        tuple(Pin(p.terminal, p.layer, orient_rect(p.rect, dc.bbox, o)) for p in dc.conductors),
        orient=o, master=dc.cell, transform=t, ratings=dc.ratings,
    )
    _ORIENTED[key] = (dc, out)  # holding dc keeps its id from being reused
    return out


def cell_name(model: str, params: Mapping[str, Any]) -> str:
    """Deterministic cell name from model and parameters: ``hemte_w100_l1_nf4``."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            s = f"{v:.6g}"
            return s.replace(".", "p").replace("-", "m").replace("+", "")
        return str(v)

    return "_".join([model] + [f"{k}{fmt(v)}" for k, v in sorted(params.items())])


def resolve_params(kit: PDK, model: str, given: Mapping[str, float], where: str = "") -> dict[str, Any]:
    """Fill defaults, check ranges and integrality; values in the params' units."""
    dev = kit.device(model)
    unknown = sorted(set(given) - set(dev.params))
    if unknown:
        raise InputError(
            f"{where}device '{model}' has no parameter {', '.join(repr(u) for u in unknown)}; "
            f"parameters are {', '.join(dev.params) or '(none)'}"
        )
    out: dict[str, Any] = {}
    for name, spec in dev.params.items():
        v = float(given.get(name, spec.default))
        if not math.isfinite(v) or not spec.min * (1 - 1e-9) <= v <= spec.max * (1 + 1e-9):
            raise InputError(
                f"{where}device '{model}' parameter {name}={v:g}{spec.unit} is outside [{spec.min:g}, {spec.max:g}]{spec.unit}"
            )
        if spec.integer:
            if abs(v - round(v)) > 1e-9:
                raise InputError(f"{where}device '{model}' parameter {name}={v:g} must be an integer")
            out[name] = int(round(v))
        else:
            out[name] = float(f"{v:.9g}")  # 9 significant digits: stable cache keys, farads survive
    return out


_CACHE: dict[tuple[str, str, str, tuple], DeviceCell] = {}


def generate(kit: PDK, model: str, params: Mapping[str, Any] | None = None, where: str = "") -> DeviceCell:
    """Generate (or fetch from cache) the cell of ``model`` with ``params``."""
    from pdk import generators

    values = resolve_params(kit, model, params or {}, where)
    key = (kit.name, kit.version, model, tuple(sorted(values.items())))
    if key not in _CACHE:
        dev = kit.device(model)
        gen = getattr(generators(kit), dev.generator, None)
        if gen is None:
            raise InputError(f"{where}PDK {kit.name}: device '{model}' names generator '{dev.generator}', which devices.py lacks")
        try:
            cell = gen(kit, name=cell_name(model, values), **dict(dev.fixed), **values)
        except InputError as e:
            raise InputError(f"{where}{e}") from None
        _CACHE[key] = cell
    return _CACHE[key]
