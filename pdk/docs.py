"""``pilotflow pdk docs``: a kit's rule manual, in Markdown or HTML.

The manual is rendered from the jinja2 templates ``pdk/templates/manual.md.j2``
and ``manual.html.j2`` (package data) and written to a folder::

    DIR/manual.md          (or manual.html; HTML is self-contained, works offline)
    DIR/devices/MODEL.svg  a picture of every device at its default parameters

It holds the kit's name, version and description; the layer table (GDS
layer/datatype, pin and label datatypes, purpose, colour, description); the
metal stack (thickness, sheet resistance, current-density limits and their
derating) where the kit gives it; the connectivity and routing stack; the
rules grouped by layer (id, kind, layers, value with its unit, description,
and every further field a rule kind has, e.g. ``table``, ``window``, ``max``:
fields are found on :class:`pdk.schema.Rule`, not listed here, so kinds added
later show theirs); and the devices (generator, terminals, parameter ranges
and defaults, fixed arguments, picture).

Pictures are drawn by :meth:`gdstk.Cell.write_svg` with the kit's layer
colours (``color`` in ``pdk.toml``; layers without one take a fixed palette),
layers stacked in the kit's layer order.  Nothing depends on the clock, so the
same kit gives the same files.

Example
-------
>>> import pdk, tempfile
>>> res = write_manual(pdk.load("gan650"), tempfile.mkdtemp(), fmt="md")
>>> res.manual.name, sorted(p.name for p in res.pictures)
('manual.md', ['hemtd.svg', 'hemte.svg', 'pad.svg', 'r2deg.svg'])
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gdstk
import jinja2

import flow
from flow.errors import InputError, PDKError
from pdk.schema import PDK, RULE_KINDS, Rule
from pdk.style import PALETTE, layer_colours

#: Output formats and the manual's file name for each.
FORMATS = {"md": "manual.md", "html": "manual.html"}

#: Colours of layers without ``color``: :mod:`pdk.style`, shared with the
#: KLayout export and the run report, so pictures and KLayout agree.

#: Largest edge of a device picture, in SVG pixels.
PICTURE_PX = 640

#: Unit of a rule's ``value`` by the kind's value type (:class:`pdk.schema.KindSpec`).
_VALUE_UNITS = {"length": "um", "length0": "um", "area": "um^2", "fraction": "", "angle": "deg"}

#: Layer fields of the metal stack table: (field, heading).
STACK_FIELDS = (
    ("thickness_um", "thickness (um)"),
    ("sheet_ohm", "sheet resistance (ohm/sq)"),
    ("jmax_ma_per_um", "current density (mA/um)"),
    ("imax_ma_per_cut", "current per cut (mA)"),
    ("jmax_ref_c", "limits at (deg C)"),
    ("em_ea_ev", "EM derating Ea (eV)"),
)

#: Rule fields shown in their own columns; every other field of
#: :class:`pdk.schema.Rule` that differs from its default is listed as an
#: extra (``table``, ``max``, ``window``, ``step``, ``metric``, ...).
_RULE_COLUMNS = ("id", "kind", "layer", "other", "value", "doc")


@dataclass(frozen=True)
class Manual:
    """What :func:`write_manual` wrote: the manual and one SVG per device."""

    manual: Path
    pictures: tuple[Path, ...]


def _md(text: Any) -> str:
    """Text safe in a Markdown table cell: one line, ``|`` and HTML specials escaped."""
    s = " ".join(str(text).split())
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _num(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.9g}"
    if isinstance(v, tuple):
        return "[" + ", ".join(_num(x) for x in v) + "]"
    return str(v)


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("pdk", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["md"] = _md
_ENV.filters["num"] = _num




def rule_extras(rule: Rule) -> list[tuple[str, str]]:
    """``(field, text)`` of every field of ``rule`` beyond the fixed columns
    whose value differs from the field's default, in declaration order."""
    out = []
    for f in dataclasses.fields(rule):
        if f.name in _RULE_COLUMNS:
            continue
        v = getattr(rule, f.name)
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = object()
        if v == default:
            continue
        out.append((f.name, _num(v)))
    return out


def rule_value(rule: Rule) -> str:
    """``value`` with its unit (``2 um``), or ``-`` for kinds without a value."""
    spec = RULE_KINDS.get(rule.kind)
    if spec is not None and spec.value == "none":
        return "-"
    unit = _VALUE_UNITS.get(spec.value, "") if spec is not None else ""
    return f"{rule.value:.9g}" + (f" {unit}" if unit else "")


def _rule_groups(kit: PDK) -> list[dict[str, Any]]:
    """Rules grouped by their first layer, in layer order (rule order within)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in kit.rules:
        groups.setdefault(r.layer, []).append(
            {"id": r.id, "kind": r.kind, "layers": r.layer + (f" / {r.other}" if r.other else ""), "value": rule_value(r), "extras": rule_extras(r), "doc": r.doc}
        )
    order = [n for n in kit.layers if n in groups] + [n for n in groups if n not in kit.layers]
    return [{"layer": n, "rules": groups[n]} for n in order]


def _stack(kit: PDK) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """Columns present and one row per layer with any stack figure."""
    cols = [(f, h) for f, h in STACK_FIELDS if any(getattr(lay, f) is not None for lay in kit.layers.values())]
    rows = []
    for name, lay in kit.layers.items():
        vals = {f: getattr(lay, f) for f, _ in cols}
        if any(v is not None for v in vals.values()):
            rows.append({"name": name, "purpose": lay.purpose, "values": [("-" if vals[f] is None else _num(vals[f])) for f, _ in cols]})
    return cols, rows


def _sort_key(kit: PDK):
    """Polygon stacking order: the kit's layer order, drawing under pin."""
    rank: dict[tuple[int, int], int] = {}
    for i, lay in enumerate(kit.layers.values()):
        rank[lay.gds] = 3 * i
        if lay.pin is not None:
            rank[lay.pin] = 3 * i + 1
        if lay.label is not None:
            rank[lay.label] = 3 * i + 2

    def below(p1: gdstk.Polygon, p2: gdstk.Polygon) -> bool:
        return rank.get((p1.layer, p1.datatype), 10**6) < rank.get((p2.layer, p2.datatype), 10**6)

    return below


def _styles(kit: PDK) -> dict[tuple[int, int], dict[str, str]]:
    colours = layer_colours(kit)
    style: dict[tuple[int, int], dict[str, str]] = {}
    for name, lay in kit.layers.items():
        c = colours[name]
        opacity = "0.25" if lay.purpose in ("marker", "boundary", "implant") else "0.55"
        style[lay.gds] = {"fill": c, "fill-opacity": opacity, "stroke": c, "stroke-width": "1", "vector-effect": "non-scaling-stroke"}
        if lay.pin is not None:
            style[lay.pin] = {"fill": "none", "stroke": c, "stroke-width": "2", "stroke-dasharray": "6,3", "vector-effect": "non-scaling-stroke"}
        if lay.label is not None:
            style[lay.label] = {"fill": "none", "stroke": c, "stroke-width": "1", "vector-effect": "non-scaling-stroke"}
    return style


def _device_cells(kit: PDK, standalone: bool) -> dict[str, tuple[gdstk.Cell, dict[str, Any]]]:
    """model -> (cell at default parameters, the parameter values)."""
    if not kit.devices:
        return {}
    from pdk.base import cell_name, resolve_params
    from pdk.check import _generator_module

    try:
        mod = _generator_module(kit)
    except PDKError:
        raise
    except Exception as e:  # noqa: BLE001 - a kit's own code failing to import
        raise PDKError([f"{kit.path}: cannot load the device generators of '{kit.name}': {type(e).__name__}: {e}"]) from None
    out = {}
    for model, dev in kit.devices.items():
        values = resolve_params(kit, model, {})
        gen = getattr(mod, dev.generator, None)
        if gen is None:
            raise PDKError([f"{kit.path}: device '{model}' names generator '{dev.generator}', which devices.py lacks"])
        try:
            dc = gen(kit, name=cell_name(model, values), **dict(dev.fixed), **values)
        except Exception as e:  # noqa: BLE001
            raise PDKError([f"{kit.path}: device '{model}' does not generate at its default parameters: {type(e).__name__}: {e}"]) from None
        out[model] = (dc.cell, values)
    return out


_POLY_ID = re.compile(r' id="0x[0-9a-fA-F]+"')


def _svg(kit: PDK, cell: gdstk.Cell, path: Path) -> None:
    """Write ``cell`` as SVG to ``path`` atomically (about PICTURE_PX wide)."""
    bb = cell.bounding_box()
    if bb is None:
        raise PDKError([f"{kit.path}: device cell '{cell.name}' is empty"])
    (x0, y0), (x1, y1) = bb
    scaling = PICTURE_PX / max(x1 - x0, y1 - y0, kit.dbu_um)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        cell.write_svg(tmp, scaling=scaling, shape_style=_styles(kit), background="#ffffff", pad="4%", sort_function=_sort_key(kit))
        # gdstk names each polygon by its memory address: drop those ids so
        # the same kit gives byte-identical pictures
        tmp.write_text(_POLY_ID.sub("", tmp.read_text(encoding="utf-8")), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def context(kit: PDK, pictures: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything the templates render (plain values, no markup)."""
    colours = layer_colours(kit)
    layers = [
        {
            "name": n,
            "gds": f"{lay.gds[0]}/{lay.gds[1]}",
            "pin": "-" if lay.pin is None else f"{lay.pin[0]}/{lay.pin[1]}",
            "label": "-" if lay.label is None else f"{lay.label[0]}/{lay.label[1]}",
            "purpose": lay.purpose,
            "color": colours[n],
            "doc": lay.doc,
        }
        for n, lay in kit.layers.items()
    ]
    stack_cols, stack_rows = _stack(kit)
    fields = {f for f, _ in stack_cols}
    stack_note = ""
    if fields & {"jmax_ma_per_um", "imax_ma_per_cut"}:
        stack_note = (
            "Current limits (mA per um of wire width; mA per cut for cut layers) hold at the layer's reference "
            "temperature (" + ("the 'limits at' column; " if "jmax_ref_c" in fields else "") + "25 C where none is given); "
            "above it the router and the current_density rules derate them with Black's law using the layer's "
            "activation energy" + (" (the 'EM derating Ea' column; " if "em_ea_ev" in fields else " (") + "a default where none is given)."
        )
    connect = [
        {"layers": " / ".join(g), "meaning": (f"{g[1]} joins {g[0]} and {g[2]} where it overlaps both" if len(g) == 3 else f"{g[0]} and {g[1]} conduct where they overlap")}
        for g in kit.connect
    ]
    kinds = sorted({r.kind for r in kit.rules})
    kind_docs = [{"kind": k, "doc": RULE_KINDS[k].doc if k in RULE_KINDS else "(kind unknown to this pilotflow)"} for k in kinds]
    devices = []
    for model, dev in kit.devices.items():
        ratings = _ratings(kit, model)
        devices.append(
            {
                "model": model,
                "generator": dev.generator,
                "kind": dev.kind,
                "terminals": ", ".join(dev.terminals),
                "fixed": ", ".join(f"{k} = {_num(v)}" for k, v in dev.fixed.items()),
                "doc": dev.doc,
                "params": [
                    {
                        "name": p.name,
                        "default": _num(p.default),
                        "min": _num(p.min),
                        "max": _num(p.max),
                        "unit": p.unit,
                        "integer": p.integer,
                        "doc": p.doc,
                    }
                    for p in dev.params.values()
                ],
                "picture": (pictures or {}).get(model),
                "pad": model == kit.pad_model,
                "ratings": ratings,
                "isat": "" if dev.isat_ma_per_mm is None else _num(dev.isat_ma_per_mm),
            }
        )
    return {
        "kit": kit,
        "title": f"{kit.name} {kit.version}",
        "layers": layers,
        "stack_cols": [h for _, h in stack_cols],
        "stack_rows": stack_rows,
        "stack_note": stack_note,
        "connect": connect,
        "routing": " / ".join(kit.routing),
        "groups": _rule_groups(kit),
        "kind_docs": kind_docs,
        "devices": devices,
        "version": flow.__version__,
    }


def _ratings(kit: PDK, model: str) -> list[dict[str, str]]:
    """Terminal current ratings of ``model`` at its default parameters (at
    the layers' reference temperatures): terminal, rating, the cross-section
    that sets it, the most the device itself passes; empty when the device
    does not generate or reports none."""
    from flow.drc.devices import fmt_amps
    from pdk.base import generate

    try:
        dc = generate(kit, model, {})
    except Exception:  # noqa: BLE001 - write_manual reports a generator failure itself
        return []
    out = []
    for r in dc.ratings:
        amps, cap = r.limiting(kit)
        out.append({
            "terminal": r.terminal,
            "rating": fmt_amps(amps),
            "by": cap.what,
            "max": "-" if r.max_ma is None else ("no DC" if r.max_ma == 0 else fmt_amps(r.max_ma / 1000.0)),
        })
    return out


def render(kit: PDK, fmt: str = "md", pictures: dict[str, str] | None = None) -> str:
    """The manual's text in ``fmt`` (``md`` or ``html``); ``pictures`` maps
    device models to picture paths relative to the manual."""
    if fmt not in FORMATS:
        raise InputError(f"--format: unknown format '{fmt}'; formats are {', '.join(FORMATS)}")
    return _ENV.get_template(f"manual.{fmt}.j2").render(**context(kit, pictures))


def write_manual(kit: PDK, folder: str | os.PathLike[str], *, fmt: str = "md", standalone: bool = False) -> Manual:
    """Write ``kit``'s manual and device pictures into ``folder``.

    Parameters
    ----------
    kit
        A loaded kit (or standalone rule set: no devices).
    folder
        Output folder, created if needed.
    fmt
        ``"md"`` (default) or ``"html"``.
    standalone
        ``kit`` is a standalone rule file.

    Returns
    -------
    Manual
        The manual's path and the pictures' paths.

    Raises
    ------
    PDKError
        A device does not generate at its default parameters (nothing is
        written then).
    InputError
        Unknown format, or the folder cannot be created.

    Notes
    -----
    Every device is generated before anything is written, and each file is
    written to a temporary name and renamed, so a failure leaves no
    half-written manual.
    """
    if fmt not in FORMATS:
        raise InputError(f"--format: unknown format '{fmt}'; formats are {', '.join(FORMATS)}")
    cells = _device_cells(kit, standalone)
    out = Path(folder)
    try:
        (out / "devices").mkdir(parents=True, exist_ok=True) if cells else out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{out}: cannot create the output folder ({e.strerror})") from None
    pictures: dict[str, str] = {}
    paths = []
    used: set[str] = set()
    for model, (cell, _values) in cells.items():
        stem = base = re.sub(r"[^A-Za-z0-9_.-]", "_", model).lstrip(".") or "device"
        k = 2
        while stem.lower() in used:  # case-insensitive file systems
            stem, k = f"{base}_{k}", k + 1
        used.add(stem.lower())
        path = out / "devices" / f"{stem}.svg"
        _svg(kit, cell, path)
        pictures[model] = f"devices/{stem}.svg"
        paths.append(path)
    text = render(kit, fmt, pictures)
    manual = out / FORMATS[fmt]
    tmp = manual.with_name(f".{manual.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, manual)
    return Manual(manual, tuple(paths))


__all__ = ["FORMATS", "Manual", "PALETTE", "context", "layer_colours", "render", "rule_extras", "rule_value", "write_manual"]
