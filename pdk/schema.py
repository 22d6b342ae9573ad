"""Process design kits as validated, frozen data.

A PDK is a ``pdk.toml`` (layers, connectivity, routing stack, rules, devices)
next to a ``devices.py`` holding the device generators.  :func:`load_pdk_file`
reads it strictly: unknown keys, misspelt layer names, negative or off-grid
values are all collected and reported together as one :class:`PDKError`, each
problem prefixed with the file and key path::

    pdk/gan650/pdk.toml: rules[3].layer: 'MET3' is not a layer; layers are MET1, MET2, VIA1

A standalone rule file (``pilotflow drc --rules FILE.toml``) uses the same
``[layers]`` and ``[[rules]]`` tables and is read by :func:`load_rules_file`.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from flow.errors import PDKError

#: Layer purposes a PDK may declare.
PURPOSES = ("device", "implant", "routing", "cut", "pad", "marker", "boundary")

@dataclass(frozen=True)
class KindSpec:
    """What a rule kind takes in ``pdk.toml``.

    ``other``: whether a second layer is ``"never"``, ``"optional"`` or
    ``"required"``.  ``value``: what ``value`` means and how it is checked:
    ``"length"`` (um, positive, on grid), ``"length0"`` (um, >= 0, on grid),
    ``"area"`` (um^2, positive), ``"fraction"`` (0..1), ``"angle"`` (degrees,
    45 or 90) or ``"none"`` (no value).  ``table``: the kind needs ``table``,
    rows ``[a, b]`` with ``a`` strictly increasing.  ``extra``: further keys.
    """

    other: str
    value: str
    doc: str
    table: str = ""
    extra: frozenset[str] = frozenset()


_METRIC = frozenset({"metric"})

#: Every rule kind a PDK may use.  The DRC engine implements them in
#: :mod:`flow.drc.kinds`; a kind it lacks is reported as not checked.
RULE_KINDS: Mapping[str, KindSpec] = MappingProxyType(
    {
        "width": KindSpec("never", "length", "every part of `layer` at least `value` wide", extra=_METRIC),
        "spacing": KindSpec(
            "optional", "length",
            "shapes of `layer` (or `layer` to `other`) at least `value` apart", extra=_METRIC,
        ),
        "notch": KindSpec("never", "length", "a polygon of `layer` at least `value` from itself across outside", extra=_METRIC),
        "enclosure": KindSpec("required", "length0", "`layer` covers `other` with at least `value` margin", extra=_METRIC),
        "extension": KindSpec(
            "required", "length0",
            "where `layer` crosses an edge of `other`, it extends at least `value` beyond it", extra=_METRIC,
        ),
        "overlap": KindSpec("required", "length", "where `layer` and `other` overlap, the overlap is at least `value` wide", extra=_METRIC),
        "must_overlap": KindSpec("required", "none", "every polygon of `layer` overlaps `other`"),
        "not_overlap": KindSpec("required", "none", "`layer` and `other` never overlap"),
        "area": KindSpec("never", "area", "every polygon of `layer` has at least `value` um^2"),
        "hole": KindSpec("never", "area", "every hole enclosed by `layer` has at least `value` um^2"),
        "max_width": KindSpec("never", "length", "no part of `layer` wider than `value` (slot wide metal)"),
        "wide_spacing": KindSpec(
            "never", "none",
            "shapes of `layer` wider than `table[i][0]` um keep `table[i][1]` um to other shapes of `layer`",
            table="[[width_um, spacing_um], ...]",
        ),
        "density": KindSpec(
            "never", "fraction",
            "`layer` covers at least `value` (and at most `max`) of every `window` x `window` um window, stepped by `step`",
            extra=frozenset({"max", "window", "step"}),
        ),
        "grid": KindSpec("never", "length", "every vertex of `layer` on the `value` um grid"),
        "angle": KindSpec("never", "angle", "every edge of `layer` at a multiple of `value` degrees"),
        "net_spacing": KindSpec(
            "optional", "length",
            "shapes of `layer` (or `layer` to `other`) on different nets at least `value` apart", extra=_METRIC,
        ),
        "voltage_spacing": KindSpec(
            "optional", "none",
            "shapes on nets whose voltages differ by more than `table[i][0]` V keep `table[i][1]` um apart",
            table="[[volts, spacing_um], ...]",
        ),
        "current_density": KindSpec(
            "never", "none",
            "wires of `layer` carry each net's current within the layer's derated current-density limit "
            "(cut layers: current per cut)",
        ),
    }
)

#: Distance metrics of edge checks (KLayout's ``euclidian`` and ``projection``).
METRICS = ("euclidean", "projection")

PARAM_UNITS = ("um", "ohm", "F", "", "A", "V")


#: Boltzmann constant, eV/K.
K_B_EV = 8.617333262e-5
#: Black's current-density exponent ``n`` used for temperature derating.
BLACK_N = 2.0


def em_derating(temperature_c: float, ref_c: float, ea_ev: float, n: float = BLACK_N) -> float:
    """Factor turning a current-density limit that holds at ``ref_c`` into
    the limit at ``temperature_c`` (deg C), at the same lifetime.

    Black's equation gives the median time to failure of a wire carrying
    current density ``J`` at temperature ``T`` (kelvin) as
    ``MTTF = A * J**-n * exp(Ea / (k T))``.  Keeping the lifetime of the
    limit ``J_ref`` at ``T_ref``, ``J**-n exp(Ea / kT) = J_ref**-n
    exp(Ea / kT_ref)``, so

    ``J(T) / J_ref = exp(Ea / (n k) * (1/T - 1/T_ref))``

    (with ``n = 2``, the usual exponent of current-crowding-free wires and
    vias: ``exp(Ea / (2k) ...)``, not ``exp(Ea / k ...)``, which would square
    the factor).  Above the reference the factor is below 1; below it, above
    1 (callers decide whether to take that credit).

    >>> round(em_derating(125.0, 105.0, 0.9), 3)   # 20 K hotter, Ea 0.9 eV
    0.5
    >>> em_derating(105.0, 105.0, 0.9)
    1.0
    """
    t, t0 = temperature_c + 273.15, ref_c + 273.15
    return math.exp(ea_ev / (n * K_B_EV) * (1.0 / t - 1.0 / t0))


@dataclass(frozen=True)
class Layer:
    """A drawn layer: ``gds`` is (layer, datatype) of the drawing purpose."""

    name: str
    gds: tuple[int, int]
    purpose: str
    doc: str = ""
    pin: tuple[int, int] | None = None
    label: tuple[int, int] | None = None
    color: str | None = None
    thickness_um: float | None = None
    sheet_ohm: float | None = None
    #: Current-density limit of a wire (mA per um of width) at ``jmax_ref_c``.
    jmax_ma_per_um: float | None = None
    #: Current limit of one cut (cut layers), mA, at ``jmax_ref_c``.
    imax_ma_per_cut: float | None = None
    #: Temperature (deg C) at which the limits above hold.
    jmax_ref_c: float | None = None
    #: Electromigration activation energy (eV) for Black's-law derating
    #: of the limits to other temperatures.
    em_ea_ev: float | None = None
    #: Marker layers only: a net tie.  Where this marker covers the named
    #: conductor, the conductor is part of a device that joins two of its
    #: terminals on purpose; net tracing (LVS, connectivity checks) removes
    #: the conductor under the marker, so the terminals stay two nets.
    net_tie: str | None = None
    #: Parasitic capacitance estimates (conductors): to the substrate per
    #: area (fF/um^2) and per edge length (fringe, fF/um), and the
    #: sidewall coupling constant (fF) between two shapes of different
    #: nets on this layer: ``C = cap_coupling_ff * facing_length / spacing``.
    cap_area_ff_um2: float | None = None
    cap_fringe_ff_um: float | None = None
    cap_coupling_ff: float | None = None


@dataclass(frozen=True)
class Rule:
    """One design rule; ``value`` in microns (lengths)."""

    id: str
    kind: str
    layer: str
    value: float
    other: str | None = None
    doc: str = ""
    #: ``wide_spacing`` / ``voltage_spacing``: rows ``(a, b)``, ``a`` increasing.
    table: tuple[tuple[float, float], ...] = ()
    #: ``density``: upper bound (fraction); ``value`` is the lower bound.
    max: float | None = None
    #: ``density``: window size and step (um).
    window: float | None = None
    step: float | None = None
    #: Edge checks: ``"euclidean"`` (KLayout's default) or ``"projection"``.
    metric: str = "euclidean"

    def spacing_for(self, a: float) -> float:
        """``table`` lookup: ``b`` of the last row with ``row.a < a`` (0 if none).

        For ``voltage_spacing`` ``a`` is the voltage difference, for
        ``wide_spacing`` the width of the wider shape.
        """
        out = 0.0
        for lo, b in self.table:
            if a > lo:
                out = b
        return out


@dataclass(frozen=True)
class Param:
    """A device parameter: default and allowed range, in ``unit``."""

    name: str
    default: float
    min: float
    max: float
    unit: str = ""
    integer: bool = False
    doc: str = ""


#: LVS recognition methods and the terminal roles / parameter measures each
#: takes (see docs/pdk-authoring.md, "LVS: recognising devices").
LVS_METHODS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = MappingProxyType(
    {
        "fet": (
            frozenset({"gate", "source", "drain", "tie"}),
            frozenset({"width", "finger_width", "length", "fingers", "gap", "reach", "present", "count", "ring", "rings"}),
        ),
        "diode": (frozenset({"anode", "cathode"}), frozenset({"width", "length", "fingers", "gap"})),
        "resistor": (frozenset({"end"}), frozenset({"value", "width", "length"})),
        "capacitor": (frozenset({"top", "bottom"}), frozenset({"value"})),
        "pad": (frozenset({"pad"}), frozenset({"size"})),
        "gsg": (frozenset({"signal", "ground"}), frozenset({"size", "pitch"})),
        "via": (frozenset({"net"}), frozenset({"count"})),
        "inductor": (frozenset({"outer", "inner"}), frozenset({"turns", "width", "spacing", "inner"})),
        "none": (frozenset(), frozenset()),
    }
)
#: Measures that name a layer after a colon (``gap:OHMIC``, ``reach:GFP:GHEAD``).
LVS_LAYER_MEASURES = ("gap", "reach", "present", "count", "ring", "rings")


@dataclass(frozen=True)
class DeviceLvs:
    """How LVS recognises one device model in a layout (``[devices.X.lvs]``).

    Layer fields hold a layer name or a layer expression (``"GATE & MESA -
    PGAN"``: ``&`` and, ``|`` or, ``-`` not, left to right, parentheses)
    over the kit's layers and its ``[pdk.lvs] derived`` layers.
    """

    method: str
    recognize: str = ""
    terminals: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    group: str | None = None
    gate: str | None = None
    contacts: str | None = None
    backside: str | None = None
    contact_net: str | None = None
    top: str | None = None
    bottom: str | None = None
    net: str | None = None
    tie: str | None = None
    ground: str | None = None
    sheet: str | None = None
    per_um2: float | None = None
    corner_squares: float = 0.56
    cluster_um: float = 0.0
    absorb: str | None = None
    absorb_um: float = 0.0
    priority: int = 0
    swap: tuple[tuple[str, ...], ...] = ()
    measure: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    tolerance: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    #: Layout-only parameters LVS does not compare (e.g. a strap width that
    #: changes no terminal and no electrical figure LVS checks).
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class LvsSpec:
    """Kit-wide LVS extraction data (``[pdk.lvs]``): derived layers (name ->
    expression) and connections, in the ``connect`` form, added to
    ``[pdk.connectivity]`` for extraction only."""

    derived: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    connect: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Device:
    """A device a netlist can instantiate by ``model`` name."""

    model: str
    generator: str
    kind: str
    terminals: tuple[str, ...]
    params: Mapping[str, Param]
    fixed: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    doc: str = ""
    lvs: DeviceLvs | None = None
    #: Clearance (um) the placer keeps around this device beyond the device
    #: spacing (between two devices the larger halo counts); 0: none.
    halo: float = 0.0
    #: The most current the device conducts per mm of width (mA/mm; a
    #: transistor's channel at full gate drive, a 2DEG resistor's saturated
    #: body): its generator bounds the current through its channel terminals
    #: by it when their ratings are checked (:mod:`pdk.rating`); ``None``:
    #: unbounded (the whole net current).
    isat_ma_per_mm: float | None = None


@dataclass(frozen=True)
class PDK:
    """A loaded, validated process design kit (or standalone rule set)."""

    name: str
    version: str
    dbu_um: float
    layers: Mapping[str, Layer]
    rules: tuple[Rule, ...]
    connect: tuple[tuple[str, ...], ...] = ()
    routing: tuple[str, ...] = ()
    devices: Mapping[str, Device] = field(default_factory=lambda: MappingProxyType({}))
    pad_model: str | None = None
    doc: str = ""
    path: Path | None = None
    lvs: LvsSpec | None = None

    # -- units ---------------------------------------------------------------
    def dbu(self, um: float) -> int:
        """Microns to integer database units (rounded to the grid)."""
        return int(round(um / self.dbu_um))

    def um(self, dbu: float) -> float:
        """Database units to microns."""
        return round(dbu * self.dbu_um, 9)

    # -- lookups -------------------------------------------------------------
    def layer(self, name: str) -> Layer:
        try:
            return self.layers[name]
        except KeyError:
            raise PDKError(
                [f"{self.name}: '{name}' is not a layer; layers are {', '.join(self.layers)}"]
            ) from None

    def device(self, model: str) -> Device:
        try:
            return self.devices[model]
        except KeyError:
            raise PDKError(
                [f"{self.name}: unknown device model '{model}'; models are {', '.join(self.devices)}"]
            ) from None

    def rules_of(self, kind: str, layer: str | None = None, other: str | None = None) -> list[Rule]:
        return [
            r
            for r in self.rules
            if r.kind == kind
            and (layer is None or r.layer == layer)
            and (other is None or r.other == other)
        ]

    def _max_value(self, kind: str, layer: str, other: str | None = None) -> float:
        values = [
            r.value
            for r in self.rules_of(kind, layer)
            if (r.other == other) or (other is None and r.other in (None, layer))
        ]
        return max(values) if values else 0.0

    def min_width(self, layer: str) -> float:
        """Largest ``width`` rule on ``layer`` (um), 0 when there is none."""
        return self._max_value("width", layer)

    def min_spacing(self, layer: str, other: str | None = None) -> float:
        """Largest ``spacing`` rule on ``layer`` (to ``other``), 0 if none."""
        return self._max_value("spacing", layer, other)

    def enclosure(self, outer: str, inner: str) -> float:
        """Largest ``enclosure`` of ``inner`` by ``outer`` (um), 0 if none."""
        return self._max_value("enclosure", outer, inner)

    @property
    def routing_metals(self) -> tuple[str, ...]:
        """Routing metals of the stack, bottom up."""
        return tuple(n for n in self.routing if self.layers[n].purpose == "routing")

    @property
    def routing_cuts(self) -> tuple[str, ...]:
        """Cut layers of the routing stack, bottom up (cuts[i] joins metals i, i+1)."""
        return tuple(n for n in self.routing if self.layers[n].purpose == "cut")


# ---------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------


class _Problems:
    """Collects problems with a common file prefix."""

    def __init__(self, source: str):
        self.source = source
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{self.source}: {key}: {message}" if key else f"{self.source}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise PDKError(self.items)


def _check_keys(p: _Problems, key: str, table: Mapping[str, Any], allowed: set[str], required: set[str]) -> None:
    for k in table:
        if k not in allowed:
            p.add(f"{key}.{k}" if key else k, f"unknown key; allowed keys are {', '.join(sorted(allowed))}")
    for k in sorted(required - set(table)):
        p.add(f"{key}.{k}" if key else k, "missing required key")


def _number(p: _Problems, key: str, value: Any, *, positive: bool = False, nonneg: bool = False) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        p.add(key, f"must be a number, got {value!r}")
        return None
    if positive and value <= 0:
        p.add(key, f"must be positive, got {value}")
        return None
    if nonneg and value < 0:
        p.add(key, f"must not be negative, got {value}")
        return None
    return float(value)


def _gds_pair(p: _Problems, key: str, value: Any) -> tuple[int, int] | None:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 65535 for v in value)
    ):
        p.add(key, f"must be [layer, datatype] with integers 0..65535, got {value!r}")
        return None
    return (value[0], value[1])


def _on_grid(value: float, dbu_um: float) -> bool:
    steps = value / dbu_um
    return abs(steps - round(steps)) < 1e-6


_LIMIT_KEYS = (
    "thickness_um", "sheet_ohm", "jmax_ma_per_um", "imax_ma_per_cut", "jmax_ref_c", "em_ea_ev",
    "cap_area_ff_um2", "cap_fringe_ff_um", "cap_coupling_ff",
)
_LAYER_KEYS = {"gds", "purpose", "doc", "pin", "label", "color", "net_tie", *_LIMIT_KEYS}
_RULE_KEYS = {"id", "kind", "layer", "other", "value", "doc", "table", "max", "window", "step", "metric"}


def _load_layers(p: _Problems, table: Any) -> dict[str, Layer]:
    layers: dict[str, Layer] = {}
    if not isinstance(table, dict) or not table:
        p.add("layers", "must be a table with at least one layer")
        return layers
    seen_gds: dict[tuple[int, int], str] = {}
    for name, spec in table.items():
        key = f"layers.{name}"
        if not isinstance(spec, dict):
            p.add(key, "must be a table")
            continue
        _check_keys(p, key, spec, _LAYER_KEYS, {"gds", "purpose"})
        gds = _gds_pair(p, f"{key}.gds", spec.get("gds")) if "gds" in spec else None
        purpose = spec.get("purpose", "")
        if "purpose" in spec and purpose not in PURPOSES:
            p.add(f"{key}.purpose", f"'{purpose}' is not a purpose; purposes are {', '.join(PURPOSES)}")
        pin = _gds_pair(p, f"{key}.pin", spec["pin"]) if "pin" in spec else None
        label = _gds_pair(p, f"{key}.label", spec["label"]) if "label" in spec else None
        for k, pair in (("gds", gds), ("pin", pin), ("label", label)):
            if pair is None:
                continue
            if pair in seen_gds and seen_gds[pair] != f"{name}.{k}":
                p.add(f"{key}.{k}", f"GDS {list(pair)} is already used by {seen_gds[pair]}")
            seen_gds[pair] = f"{name}.{k}"
        extra: dict[str, float | None] = {}
        for k in _LIMIT_KEYS:
            if k in spec:
                extra[k] = _number(p, f"{key}.{k}", spec[k], positive=k != "jmax_ref_c")
        tie = spec.get("net_tie")
        if tie is not None:
            if not isinstance(tie, str) or tie not in table:
                p.add(f"{key}.net_tie", f"{tie!r} is not a layer; layers are {', '.join(table)}")
                tie = None
            elif purpose != "marker":
                p.add(f"{key}.net_tie", f"only a 'marker' layer can be a net tie, not a '{purpose}' layer")
                tie = None
        if gds is None:
            continue
        layers[name] = Layer(
            name=name,
            gds=gds,
            purpose=purpose,
            doc=str(spec.get("doc", "")),
            pin=pin,
            label=label,
            color=spec.get("color"),
            net_tie=tie,
            **extra,
        )
    return layers


def _layer_ref(p: _Problems, key: str, name: Any, layer_names: list[str]) -> bool:
    if name not in layer_names:
        p.add(key, f"'{name}' is not a layer; layers are {', '.join(layer_names)}")
        return False
    return True


def _rule_value(p: _Problems, key: str, spec: Mapping[str, Any], ks: KindSpec, dbu_um: float) -> float | None:
    """The checked ``value`` of a rule of kind spec ``ks`` (0.0 for ``"none"``)."""
    if ks.value == "none":
        if "value" in spec:
            p.add(f"{key}.value", "this rule kind takes no value")
            return None
        return 0.0
    if "value" not in spec:
        p.add(f"{key}.value", "missing required key")
        return None
    v = _number(p, f"{key}.value", spec["value"], positive=ks.value in ("length", "area", "angle"), nonneg=True)
    if v is None:
        return None
    if ks.value in ("length", "length0") and not _on_grid(v, dbu_um):
        p.add(f"{key}.value", f"{v} is not on the {dbu_um} um grid")
        return None
    if ks.value == "fraction" and v > 1:
        p.add(f"{key}.value", f"must be a fraction 0..1, got {v}")
        return None
    if ks.value == "angle" and v not in (45, 90):
        p.add(f"{key}.value", f"must be 45 or 90 (degrees), got {v}")
        return None
    return v


def _rule_table(p: _Problems, key: str, spec: Mapping[str, Any], ks: KindSpec, dbu_um: float) -> tuple | None:
    if not ks.table:
        if "table" in spec:
            p.add(f"{key}.table", "this rule kind takes no table")
            return None
        return ()
    t = spec.get("table")
    if t is None:
        p.add(f"{key}.table", f"missing required key; expected {ks.table}")
        return None
    if not isinstance(t, list) or not t or not all(isinstance(r, list) and len(r) == 2 for r in t):
        p.add(f"{key}.table", f"must be a non-empty list of rows {ks.table}")
        return None
    rows = []
    for j, (a, b) in enumerate(t):
        na = _number(p, f"{key}.table[{j}][0]", a, nonneg=True)
        nb = _number(p, f"{key}.table[{j}][1]", b, positive=True)
        if na is None or nb is None:
            return None
        if not _on_grid(nb, dbu_um):
            p.add(f"{key}.table[{j}][1]", f"{nb} is not on the {dbu_um} um grid")
            return None
        if rows and na <= rows[-1][0]:
            p.add(f"{key}.table[{j}][0]", f"must be greater than the row before ({rows[-1][0]})")
            return None
        rows.append((na, nb))
    return tuple(rows)


def _load_rules(p: _Problems, items: Any, layer_names: list[str], dbu_um: float) -> list[Rule]:
    rules: list[Rule] = []
    if items is None:
        return rules
    if not isinstance(items, list):
        p.add("rules", "must be an array of tables ([[rules]])")
        return rules
    seen: set[str] = set()
    for i, spec in enumerate(items):
        key = f"rules[{i}]"
        if not isinstance(spec, dict):
            p.add(key, "must be a table")
            continue
        _check_keys(p, key, spec, _RULE_KEYS, {"id", "kind", "layer"})
        rid = spec.get("id")
        if rid is not None:
            if not isinstance(rid, str) or not rid:
                p.add(f"{key}.id", "must be a non-empty string")
            elif rid in seen:
                p.add(f"{key}.id", f"duplicate rule id '{rid}'")
            seen.add(str(rid))
        kind = spec.get("kind")
        ok = True
        if "kind" in spec and kind not in RULE_KINDS:
            p.add(f"{key}.kind", f"'{kind}' is not a rule kind; kinds are {', '.join(RULE_KINDS)}")
            ok = False
        if "layer" in spec:
            ok = _layer_ref(p, f"{key}.layer", spec["layer"], layer_names) and ok
        if kind not in RULE_KINDS:
            continue
        ks = RULE_KINDS[kind]
        for k in ("max", "window", "step", "metric"):
            if k in spec and k not in ks.extra:
                p.add(f"{key}.{k}", f"a {kind} rule takes no '{k}'")
                ok = False
        other = spec.get("other")
        if other is not None:
            if ks.other == "never":
                p.add(f"{key}.other", f"a {kind} rule takes no second layer")
                ok = False
            else:
                ok = _layer_ref(p, f"{key}.other", other, layer_names) and ok
        elif ks.other == "required":
            p.add(f"{key}.other", f"a {kind} rule needs a second layer 'other'")
            ok = False
        value = _rule_value(p, key, spec, ks, dbu_um)
        table = _rule_table(p, key, spec, ks, dbu_um)
        metric = spec.get("metric", "euclidean")
        if metric not in METRICS:
            p.add(f"{key}.metric", f"'{metric}' is not a metric; metrics are {', '.join(METRICS)}")
            ok = False
        extra: dict[str, float | None] = {}
        if kind == "density":
            extra["max"] = _number(p, f"{key}.max", spec["max"], nonneg=True) if "max" in spec else None
            for k in ("window", "step"):
                if k not in spec:
                    p.add(f"{key}.{k}", "missing required key")
                    ok = False
                else:
                    extra[k] = _number(p, f"{key}.{k}", spec[k], positive=True)
                    ok = ok and extra[k] is not None
            mx = extra.get("max")
            if mx is not None and (mx > 1 or (value is not None and mx < value)):
                p.add(f"{key}.max", f"must be a fraction between value ({value}) and 1, got {mx}")
                ok = False
            if "max" in spec and mx is None:
                ok = False
        if ok and value is not None and table is not None and rid:
            rules.append(
                Rule(
                    id=rid, kind=kind, layer=spec["layer"], value=value, other=other,
                    doc=str(spec.get("doc", "")), table=table, metric=metric, **extra,
                )
            )
    return rules


def _load_devices(p: _Problems, table: Any, layer_names: list[str]) -> dict[str, Device]:
    devices: dict[str, Device] = {}
    if table is None:
        return devices
    if not isinstance(table, dict):
        p.add("devices", "must be a table of device tables")
        return devices
    for model, spec in table.items():
        key = f"devices.{model}"
        if not isinstance(spec, dict):
            p.add(key, "must be a table")
            continue
        _check_keys(p, key, spec, {"generator", "kind", "terminals", "params", "fixed", "doc", "lvs", "halo", "isat_ma_per_mm"}, {"generator", "kind", "terminals"})
        halo = 0.0
        if "halo" in spec:
            halo = _number(p, f"{key}.halo", spec["halo"], nonneg=True) or 0.0
        isat = None
        if "isat_ma_per_mm" in spec:
            isat = _number(p, f"{key}.isat_ma_per_mm", spec["isat_ma_per_mm"], positive=True)
        terms = spec.get("terminals", [])
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) for t in terms):
            p.add(f"{key}.terminals", "must be a non-empty list of terminal names")
            terms = []
        params: dict[str, Param] = {}
        for pname, pspec in (spec.get("params") or {}).items():
            pkey = f"{key}.params.{pname}"
            if not isinstance(pspec, dict):
                p.add(pkey, "must be a table {default, min, max, unit}")
                continue
            _check_keys(p, pkey, pspec, {"default", "min", "max", "unit", "integer", "doc"}, {"default", "min", "max"})
            nums = {k: _number(p, f"{pkey}.{k}", pspec[k]) for k in ("default", "min", "max") if k in pspec}
            unit = pspec.get("unit", "")
            if unit not in PARAM_UNITS:
                p.add(f"{pkey}.unit", f"'{unit}' is not a unit; units are {', '.join(repr(u) for u in PARAM_UNITS)}")
            if len(nums) == 3 and None not in nums.values():
                lo, hi, d = nums["min"], nums["max"], nums["default"]
                if not lo <= d <= hi:
                    p.add(pkey, f"default {d} is outside [{lo}, {hi}]")
                    continue
                params[pname] = Param(pname, d, lo, hi, unit, bool(pspec.get("integer", False)), str(pspec.get("doc", "")))
        lvs = _load_device_lvs(p, f"{key}.lvs", spec["lvs"], terms, set(params), layer_names) if "lvs" in spec else None
        if "generator" in spec and "kind" in spec and terms:
            devices[model] = Device(
                model=model,
                generator=str(spec["generator"]),
                kind=str(spec["kind"]),
                terminals=tuple(terms),
                params=MappingProxyType(params),
                fixed=MappingProxyType(dict(spec.get("fixed") or {})),
                doc=str(spec.get("doc", "")),
                lvs=lvs,
                halo=halo,
                isat_ma_per_mm=isat,
            )
    return devices


_EXPR_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|[&|()\-])")


def expression_layers(expr: str) -> list[str] | None:
    """Layer names of a layer expression, or ``None`` if it is malformed.

    >>> expression_layers("GATE & (MESA - PGAN)")
    ['GATE', 'MESA', 'PGAN']
    >>> expression_layers("GATE &") is None
    True
    """
    tokens: list[str] = []
    pos = 0
    text = expr.rstrip()
    while pos < len(text):
        m = _EXPR_TOKEN.match(text, pos)
        if not m:
            return None
        tokens.append(m.group(1))
        pos = m.end()
    # grammar: expr := term (op term)*; term := NAME | '(' expr ')'
    names: list[str] = []
    k = 0

    def term() -> bool:
        nonlocal k
        if k < len(tokens) and tokens[k] == "(":
            k += 1
            if not expr_() or k >= len(tokens) or tokens[k] != ")":
                return False
            k += 1
            return True
        if k < len(tokens) and tokens[k] not in "&|()-":
            names.append(tokens[k])
            k += 1
            return True
        return False

    def expr_() -> bool:
        nonlocal k
        if not term():
            return False
        while k < len(tokens) and tokens[k] in ("&", "|", "-"):
            k += 1
            if not term():
                return False
        return True

    if not tokens or not expr_() or k != len(tokens):
        return None
    return names


_DEV_LVS_KEYS = {
    "method", "recognize", "terminals", "group", "gate", "contacts", "contact_net", "backside", "top", "bottom", "net",
    "tie", "ground", "sheet", "per_um2", "corner_squares", "cluster_um", "absorb", "absorb_um", "priority",
    "swap", "measure", "tolerance", "ignore",
}
_DEV_LVS_LAYERS = ("recognize", "group", "gate", "contacts", "contact_net", "backside", "top", "bottom", "net", "tie", "ground", "sheet", "absorb")


def _load_device_lvs(
    p: _Problems, key: str, spec: Any, terms: list[str], params: set[str], layer_names: list[str]
) -> DeviceLvs | None:
    """``[devices.X.lvs]``; layer names are checked later against the kit's
    layers plus ``[pdk.lvs] derived`` (:func:`_check_lvs_layers`)."""
    if not isinstance(spec, dict):
        p.add(key, "must be a table")
        return None
    _check_keys(p, key, spec, _DEV_LVS_KEYS, {"method"})
    method = spec.get("method")
    if method not in LVS_METHODS:
        p.add(f"{key}.method", f"{method!r} is not an LVS method; methods are {', '.join(LVS_METHODS)}")
        return None
    roles, measures = LVS_METHODS[method]
    if method != "none" and not isinstance(spec.get("recognize"), str):
        p.add(f"{key}.recognize", "missing required key (a layer expression)")
    for k in _DEV_LVS_LAYERS:
        if k in spec and not isinstance(spec[k], str):
            p.add(f"{key}.{k}", f"must be a layer name or expression, got {spec[k]!r}")
    tmap = spec.get("terminals", {})
    if not isinstance(tmap, dict):
        p.add(f"{key}.terminals", "must be a table terminal = role")
        tmap = {}
    for t, role in tmap.items():
        if t not in terms:
            p.add(f"{key}.terminals.{t}", f"'{t}' is not a terminal; terminals are {', '.join(terms)}")
        if role not in roles:
            p.add(f"{key}.terminals.{t}", f"{role!r} is not a terminal role of method '{method}'; roles are {', '.join(sorted(roles)) or '(none)'}")
    if method != "none":
        for t in terms:
            if t not in tmap:
                p.add(f"{key}.terminals.{t}", "missing: every terminal needs a role")
    meas = spec.get("measure", {})
    if not isinstance(meas, dict):
        p.add(f"{key}.measure", "must be a table parameter = measure")
        meas = {}
    for prm, m in meas.items():
        if prm not in params:
            p.add(f"{key}.measure.{prm}", f"'{prm}' is not a parameter; parameters are {', '.join(sorted(params)) or '(none)'}")
        parts = str(m).split(":")
        if not isinstance(m, str) or parts[0] not in measures:
            p.add(f"{key}.measure.{prm}", f"{m!r} is not a measure of method '{method}'; measures are {', '.join(sorted(measures)) or '(none)'}")
        elif method == "fet" and parts[0] in LVS_LAYER_MEASURES and not (2 <= len(parts) <= 3):
            p.add(f"{key}.measure.{prm}", f"'{parts[0]}' names a layer: '{parts[0]}:LAYER'")
        elif parts[0] == "fingers" and len(parts) > 1 and not (len(parts) == 2 and parts[1].isdigit() and int(parts[1]) > 0):
            p.add(f"{key}.measure.{prm}", "'fingers' takes an optional positive divisor: 'fingers:2'")
        elif parts[0] not in LVS_LAYER_MEASURES and parts[0] != "fingers" and len(parts) > 1:
            p.add(f"{key}.measure.{prm}", f"'{parts[0]}' takes no argument")
    tol = spec.get("tolerance", {})
    if not isinstance(tol, dict):
        p.add(f"{key}.tolerance", "must be a table parameter = relative tolerance")
        tol = {}
    tols: dict[str, float] = {}
    for prm, v in tol.items():
        if prm not in meas:
            p.add(f"{key}.tolerance.{prm}", f"'{prm}' is not measured (see measure)")
        x = _number(p, f"{key}.tolerance.{prm}", v, nonneg=True)
        if x is not None:
            tols[prm] = x
    ign = spec.get("ignore", [])
    if not isinstance(ign, list) or not all(isinstance(x, str) for x in ign):
        p.add(f"{key}.ignore", "must be a list of parameter names")
        ign = []
    for prm in ign:
        if prm not in params:
            p.add(f"{key}.ignore", f"'{prm}' is not a parameter; parameters are {', '.join(sorted(params)) or '(none)'}")
        elif prm in meas:
            p.add(f"{key}.ignore", f"'{prm}' is measured (see measure): it cannot be ignored too")
    swap = spec.get("swap", [])
    groups: list[tuple[str, ...]] = []
    if not isinstance(swap, list) or not all(isinstance(g, list) and len(g) >= 2 for g in swap):
        p.add(f"{key}.swap", "must be a list of lists of interchangeable terminals")
    else:
        for g in swap:
            bad = [t for t in g if t not in terms]
            if bad:
                p.add(f"{key}.swap", f"{', '.join(map(repr, bad))} not terminals; terminals are {', '.join(terms)}")
            groups.append(tuple(g))
    nums: dict[str, Any] = {}
    for k in ("per_um2", "corner_squares", "cluster_um", "absorb_um"):
        if k in spec:
            nums[k] = _number(p, f"{key}.{k}", spec[k], nonneg=True)
    if "priority" in spec and (not isinstance(spec["priority"], int) or isinstance(spec["priority"], bool)):
        p.add(f"{key}.priority", "must be an integer")
    if method == "capacitor" and "value" in meas.values() and "per_um2" not in spec:
        p.add(f"{key}.per_um2", "a capacitor measured by 'value' needs per_um2 (parameter unit per um^2)")
    if method == "resistor" and "value" in meas.values() and "sheet" not in spec:
        p.add(f"{key}.sheet", "a resistor measured by 'value' needs sheet (the layer whose sheet_ohm applies)")
    try:
        return DeviceLvs(
            method=method,
            recognize=str(spec.get("recognize", "")),
            terminals=MappingProxyType({str(k): str(v) for k, v in tmap.items()}),
            swap=tuple(groups),
            measure=MappingProxyType({str(k): str(v) for k, v in meas.items()}),
            tolerance=MappingProxyType(tols),
            ignore=tuple(str(x) for x in ign),
            priority=int(spec.get("priority", 0)) if isinstance(spec.get("priority", 0), int) else 0,
            **{k: spec[k] for k in _DEV_LVS_LAYERS if k != "recognize" and isinstance(spec.get(k), str)},
            **{k: v for k, v in nums.items() if v is not None},
        )
    except TypeError as e:  # pragma: no cover - keys are checked above
        p.add(key, str(e))
        return None


def _lvs_layer_refs(lv: DeviceLvs) -> list[tuple[str, str]]:
    """(key, expression) of every layer field of a device's LVS table, and the
    layers named by its measures."""
    out = [(k, getattr(lv, k)) for k in _DEV_LVS_LAYERS if getattr(lv, k)]
    for prm, m in lv.measure.items():
        parts = m.split(":")
        if parts[0] not in LVS_LAYER_MEASURES:
            continue
        for name in parts[1:]:
            out.append((f"measure.{prm}", name))
    return out


def _load_pdk_lvs(p: _Problems, spec: Any, layers: Mapping[str, Layer]) -> LvsSpec | None:
    if not isinstance(spec, dict):
        p.add("pdk.lvs", "must be a table")
        return None
    _check_keys(p, "pdk.lvs", spec, {"derived", "connect"}, set())
    derived: dict[str, str] = {}
    d = spec.get("derived", {})
    if not isinstance(d, dict):
        p.add("pdk.lvs.derived", "must be a table name = layer expression")
        d = {}
    for name, expr in d.items():
        key = f"pdk.lvs.derived.{name}"
        if name in layers:
            p.add(key, f"'{name}' is already a layer")
            continue
        names = expression_layers(expr) if isinstance(expr, str) else None
        if names is None:
            p.add(key, f"{expr!r} is not a layer expression (names, &, |, -, parentheses)")
            continue
        known = list(layers) + list(derived)
        for n in names:
            if n not in known:
                p.add(key, f"'{n}' is not a layer; layers are {', '.join(known)}")
        derived[name] = expr
    connect: list[tuple[str, ...]] = []
    allnames = list(layers) + list(derived)
    for i, group in enumerate(spec.get("connect", []) or []):
        key = f"pdk.lvs.connect[{i}]"
        if not isinstance(group, list) or len(group) not in (2, 3):
            p.add(key, "must be [a, b] or [lower, cut, upper]")
            continue
        if all(_layer_ref(p, key, g, allnames) for g in group):
            connect.append(tuple(group))
    return LvsSpec(derived=MappingProxyType(derived), connect=tuple(connect))


def _check_lvs_layers(p: _Problems, devices: Mapping[str, Device], layers: Mapping[str, Layer], lvs: LvsSpec | None) -> None:
    known = list(layers) + list(lvs.derived if lvs else ())
    for model, dev in devices.items():
        if dev.lvs is None:
            continue
        for k, expr in _lvs_layer_refs(dev.lvs):
            names = expression_layers(expr)
            if names is None:
                p.add(f"devices.{model}.lvs.{k}", f"{expr!r} is not a layer expression")
                continue
            for n in names:
                if n not in known:
                    p.add(f"devices.{model}.lvs.{k}", f"'{n}' is not a layer; layers are {', '.join(known)}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise PDKError([f"{path}: file not found"]) from None
    except OSError as e:
        raise PDKError([f"{path}: cannot read: {e.strerror}"]) from None
    except tomllib.TOMLDecodeError as e:
        raise PDKError([f"{path}: not valid TOML: {e}"]) from None


def _parse(path: Path, data: dict[str, Any], *, standalone: bool) -> PDK:
    p = _Problems(str(path))
    top_keys = {"pdk", "layers", "rules", "devices"}
    _check_keys(p, "", data, top_keys, {"layers"} if standalone else {"pdk", "layers"})
    head = data.get("pdk", {})
    if not isinstance(head, dict):
        p.add("pdk", "must be a table")
        head = {}
    _check_keys(
        p, "pdk", head, {"name", "version", "dbu_um", "doc", "connectivity", "routing", "pad", "lvs"},
        set() if standalone else {"name", "version", "dbu_um"},
    )
    name = str(head.get("name", path.stem))
    version = str(head.get("version", "0.0.0"))
    parts = version.split(".")
    if len(parts) != 3 or not all(x.isdigit() for x in parts):
        p.add("pdk.version", f"'{version}' is not a semantic version MAJOR.MINOR.PATCH")
    dbu_um = _number(p, "pdk.dbu_um", head.get("dbu_um", 0.001), positive=True) or 0.001
    layers = _load_layers(p, data.get("layers"))
    names = list(layers)
    rules = _load_rules(p, data.get("rules"), names, dbu_um)

    conn = head.get("connectivity", {}) or {}
    connect: list[tuple[str, ...]] = []
    if not isinstance(conn, dict):
        p.add("pdk.connectivity", "must be a table")
        conn = {}
    _check_keys(p, "pdk.connectivity", conn, {"connect"}, set())
    for i, group in enumerate(conn.get("connect", [])):
        key = f"pdk.connectivity.connect[{i}]"
        if not isinstance(group, list) or len(group) not in (2, 3):
            p.add(key, "must be [a, b] or [lower, cut, upper]")
            continue
        if all(_layer_ref(p, key, g, names) for g in group):
            if len(group) == 3 and layers[group[1]].purpose != "cut":
                p.add(key, f"middle layer '{group[1]}' of a [lower, cut, upper] entry must have purpose 'cut'")
            connect.append(tuple(group))

    routing: tuple[str, ...] = ()
    rt = head.get("routing", [])
    if rt:
        if not isinstance(rt, list) or not all(isinstance(x, str) for x in rt):
            p.add("pdk.routing", "must be a list of layer names, bottom up: [metal, cut, metal, ...]")
        elif all(_layer_ref(p, "pdk.routing", x, names) for x in rt):
            want = ["routing" if i % 2 == 0 else "cut" for i in range(len(rt))]
            got = [layers[x].purpose for x in rt]
            if len(rt) % 2 == 0 or got != want:
                p.add("pdk.routing", "must alternate routing metal and cut layers, starting and ending with a metal")
            else:
                routing = tuple(rt)
                for m in routing[::2]:
                    if layers[m].label is None:
                        p.add(f"layers.{m}.label", "a routing metal needs a label datatype for net names")

    devices = _load_devices(p, data.get("devices"), names)
    lvs = _load_pdk_lvs(p, head["lvs"], layers) if "lvs" in head else None
    _check_lvs_layers(p, devices, layers, lvs)
    pad_model = head.get("pad")
    if pad_model is not None and pad_model not in devices:
        p.add("pdk.pad", f"'{pad_model}' is not a device; devices are {', '.join(devices) or '(none)'}")
    p.raise_if_any()
    return PDK(
        name=name,
        version=version,
        dbu_um=dbu_um,
        layers=MappingProxyType(layers),
        rules=tuple(rules),
        connect=tuple(connect),
        routing=routing,
        devices=MappingProxyType(devices),
        pad_model=pad_model,
        doc=str(head.get("doc", "")),
        path=path,
        lvs=lvs,
    )


def load_pdk_file(path: str | Path) -> PDK:
    """Load and validate a full PDK from its ``pdk.toml``."""
    path = Path(path)
    return _parse(path, _read_toml(path), standalone=False)


def load_rules_file(path: str | Path) -> PDK:
    """Load a standalone rule file (``[layers]`` and ``[[rules]]``) as a PDK."""
    path = Path(path)
    return _parse(path, _read_toml(path), standalone=True)
