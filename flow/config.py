"""``design.toml``: what a designer declares about a design.

::

    [design]
    name = "gan_halfbridge"     # defaults to the folder name
    top = "halfbridge"          # top subcircuit of the netlist
    pdk = "gan650"
    netlist = "netlist.sp"      # relative to the design folder, never outside it

    [floorplan]
    die = [1800.0, 1500.0]      # um; or leave it out and give utilization
    utilization = 0.25          # device area / core area when die is absent
    spacing = 20.0              # um between devices (>= the PDK's largest spacing)
    seal_ring = true            # the kit's seal ring around the die (default false)
    scribe = 40.0               # um of scribe lane between the ring and the die edge

    [pins]                      # one pad per top-level port
    VBUS = { side = "north" }   # north | south | east | west
    SW = { position = [900.0, 0.0] }   # pad centre in um (on the die edge)

    [[net_class]]
    name = "hv"
    nets = ["VBUS", "SW*"]      # names or fnmatch patterns
    voltage = 650.0             # V (may be negative)
    current = 10.0              # A (not negative)

The ``[design]`` table may also give ``temperature_c``, the operating
temperature (deg C) for current-density derating in DRC.

    [route]
    size_for_current = true     # wire widths / via arrays from currents (false: minimum widths, density reported)

    [drc]
    waivers = "waivers.toml"    # reviewed DRC markers (see flow.drc.waivers); inside the folder

    [place]                     # placement constraints (see PlaceSpec)
    max_power_density = 1.0     # W/mm^2: power devices spread so none exceeds it
    voltage_keepout = true      # devices keep the PDK's voltage_spacing apart (default)
    global = "auto"             # global placer: quadratic | eplace | auto (both, keep the better)
    keepouts = [[0.0, 0.0, 200.0, 100.0]]   # um, die coordinates: no device there
    [place.devices]             # by instance name or fnmatch pattern
    XQH = { power = 2.5 }       # W dissipated
    "XH/*" = { region = [100.0, 100.0, 700.0, 900.0] }  # fence, um
    XQL = { fixed = [600.0, 150.0] }                   # lower-left, um
    XQ2 = { orient = "MY" }     # R0 (as generated) | MX | MY | R180 (mirrored / turned in place)
    XQ3 = { halo = 20.0 }       # um kept clear around it beyond the spacing (default: the PDK device's halo)
    [[place.group]]             # side by side, in order: row (bottoms aligned) | column
    devices = ["XH/XPU", "XH/XPD"]
    arrange = "row"
    pitch = 60.0                # optional, um: equal origin-to-origin pitch (parallel fingers)
    [[place.symmetry]]          # mirror symmetry about one axis shared by the group
    axis = "vertical"           # vertical (left-right mirror, default) | horizontal
    pairs = [["XA", "XB"]]      # XB is XA mirrored about the axis (same device)
    self = ["XT"]               # self-symmetric devices centred on the axis

Every problem in a design.toml is reported at once with its key path.
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from flow.errors import InputError

SIDES = ("north", "south", "east", "west")


@dataclass(frozen=True)
class PinSpec:
    """Where a top-level port's pad goes: a side, or a position (um)."""

    port: str
    side: str | None = None
    position: tuple[float, float] | None = None


@dataclass(frozen=True)
class NetClass:
    name: str
    patterns: tuple[str, ...]
    voltage: float | None = None
    current: float | None = None

    def matches(self, net: str) -> bool:
        return any(fnmatch.fnmatchcase(net, p) for p in self.patterns)


class ClassValues(Mapping[str, float]):
    """net name -> the ``voltage`` or ``current`` of the first net class
    matching it that gives one (patterns resolved on look-up), for
    :class:`flow.drc.core.CheckContext`.  Iterates over the plain (pattern
    free) names the classes list."""

    def __init__(self, classes: tuple[NetClass, ...], attr: str):
        self._classes = tuple(c for c in classes if getattr(c, attr) is not None)
        self._attr = attr

    def __getitem__(self, net: str) -> float:
        for c in self._classes:
            if c.matches(net):
                return float(getattr(c, self._attr))
        raise KeyError(net)

    def __contains__(self, net: object) -> bool:
        return isinstance(net, str) and any(c.matches(net) for c in self._classes)

    def __iter__(self):
        plain = [p for c in self._classes for p in c.patterns if not any(ch in p for ch in "*?[")]
        return iter(dict.fromkeys(n for n in plain if n in self))

    def __len__(self) -> int:
        return sum(1 for _ in self)


#: Default width (um) of the scribe lane kept outside the seal ring: half of
#: an 80 um saw street, the die edge being the street's centre line.
DEFAULT_SCRIBE_UM = 40.0


def parse_net_classes(ncs: Any, bad) -> list[NetClass]:
    """``[[net_class]]`` tables -> NetClass list; problems go to ``bad(key, msg)``."""
    classes: list[NetClass] = []
    if not isinstance(ncs, list):
        bad("net_class", "must be an array of tables ([[net_class]])")
        return classes
    for i, nc in enumerate(ncs):
        key = f"net_class[{i}]"
        if not isinstance(nc, dict):
            bad(key, "must be a table")
            continue
        for k in nc:
            if k not in {"name", "nets", "voltage", "current"}:
                bad(f"{key}.{k}", "unknown key; allowed keys are current, name, nets, voltage")
        nets = nc.get("nets")
        if not isinstance(nets, list) or not nets or not all(isinstance(n, str) and n for n in nets):
            bad(f"{key}.nets", "must be a non-empty list of net names or patterns")
            continue
        vals: dict[str, float | None] = {}
        for k in ("voltage", "current"):
            v = nc.get(k)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or (k == "current" and v < 0)):
                what = "a number" if k == "voltage" else "a non-negative number"
                bad(f"{key}.{k}", f"must be {what}, got {v!r}")
                v = None
            vals[k] = None if v is None else float(v)
        classes.append(NetClass(str(nc.get("name", f"class{i}")), tuple(nets), vals["voltage"], vals["current"]))
    return classes


def parse_temperature(value: Any, key: str, bad) -> float | None:
    """An operating temperature in deg C (above absolute zero), or None."""
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= -273.15:
        bad(key, f"must be a temperature in deg C above -273.15, got {value!r}")
        return None
    return float(value)


def load_net_classes(path: str | Path) -> tuple[tuple[NetClass, ...], float | None]:
    """A net-class file (``pilotflow drc --net-classes``): ``[[net_class]]``
    tables as in design.toml and an optional top-level ``temperature_c``.

    Raises :class:`InputError` listing every problem."""
    path = Path(path)
    shown = display_path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{shown}: file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{shown}: cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{shown}: not valid TOML: {e}") from None
    problems: list[str] = []

    def bad(key: str, msg: str) -> None:
        problems.append(f"{key}: {msg}")

    for k in data:
        if k not in ("net_class", "temperature_c"):
            bad(k, "unknown key; allowed keys are net_class, temperature_c")
    classes = parse_net_classes(data.get("net_class", []), bad)
    temp = parse_temperature(data.get("temperature_c"), "temperature_c", bad)
    if problems:
        raise InputError(f"{shown}: " + ("; ".join(problems) if len(problems) == 1 else f"{len(problems)} problems: " + "; ".join(problems)))
    return tuple(classes), temp


@dataclass(frozen=True)
class DeviceSpec:
    """``[place.devices]`` entry: what the placer must do with matching instances."""

    pattern: str
    power: float | None = None  # W
    fixed: tuple[float, float] | None = None  # lower-left, um
    region: tuple[float, float, float, float] | None = None  # um
    orient: str | None = None  # R0 | MX | MY | R180
    halo: float | None = None  # um, clearance beyond the spacing (default: the PDK device's halo)

    def matches(self, inst: str) -> bool:
        return fnmatch.fnmatchcase(inst, self.pattern)


@dataclass(frozen=True)
class GroupSpec:
    """``[[place.group]]``: devices placed side by side as one block."""

    devices: tuple[str, ...]
    arrange: str = "row"  # row: left to right, bottoms aligned; column: bottom to top, left edges aligned
    pitch: float | None = None  # um, origin to origin along the arrangement (None: as tight as the rules allow)


@dataclass(frozen=True)
class SymmetrySpec:
    """``[[place.symmetry]]``: pairs mirrored about one axis, self-symmetric
    devices centred on it."""

    pairs: tuple[tuple[str, str], ...]
    selfsym: tuple[str, ...] = ()
    axis: str = "vertical"  # vertical: left-right mirror images; horizontal: upside-down images

    def devices(self) -> tuple[str, ...]:
        return tuple(d for p in self.pairs for d in p) + self.selfsym


@dataclass(frozen=True)
class PlaceSpec:
    """``[place]``: placement constraints beyond the spacing."""

    max_power_density: float | None = None  # W/mm^2
    voltage_keepout: bool = True
    keepouts: tuple[tuple[float, float, float, float], ...] = ()  # um
    devices: tuple[DeviceSpec, ...] = ()
    global_placer: str = "auto"  # quadratic | eplace | auto
    groups: tuple[GroupSpec, ...] = ()
    symmetry: tuple[SymmetrySpec, ...] = ()

    def device(self, inst: str) -> DeviceSpec:
        """The merged spec of ``inst``: the first matching entry that gives
        each field (entries are tried in file order)."""
        out: dict[str, Any] = {}
        for d in self.devices:
            if d.matches(inst):
                for k in ("power", "fixed", "region", "orient", "halo"):
                    if k not in out and getattr(d, k) is not None:
                        out[k] = getattr(d, k)
        return DeviceSpec(inst, **out)

    def orient(self, inst: str) -> str:
        """Orientation ``inst`` is placed in: the second device of a symmetry
        pair is the mirror image of the first; otherwise ``orient`` of
        ``[place.devices]`` (default "R0")."""
        from pdk.base import MIRROR_X, MIRROR_Y

        for s in self.symmetry:
            for a, b in s.pairs:
                if inst == b:
                    return (MIRROR_Y if s.axis == "vertical" else MIRROR_X)[self.device(a).orient or "R0"]
        return self.device(inst).orient or "R0"


def _um_rect(v: Any) -> tuple[float, float, float, float] | None:
    if (
        isinstance(v, list)
        and len(v) == 4
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)
        and v[0] < v[2]
        and v[1] < v[3]
    ):
        return (float(v[0]), float(v[1]), float(v[2]), float(v[3]))
    return None


def parse_place(tab: Any, bad) -> PlaceSpec:
    """``[place]`` table -> PlaceSpec; problems go to ``bad(key, msg)``."""
    if not isinstance(tab, dict):
        bad("place", "must be a table")
        return PlaceSpec()
    for k in tab:
        if k not in ("max_power_density", "voltage_keepout", "keepouts", "devices", "global", "group", "symmetry"):
            bad(f"place.{k}", "unknown key; allowed keys are devices, global, group, keepouts, max_power_density, symmetry, voltage_keepout")
    gp = tab.get("global", "auto")
    if gp not in ("quadratic", "eplace", "auto"):
        bad("place.global", f"must be \"quadratic\", \"eplace\" or \"auto\", got {gp!r}")
        gp = "auto"
    mpd = tab.get("max_power_density")
    if mpd is not None and (not isinstance(mpd, (int, float)) or isinstance(mpd, bool) or not math.isfinite(mpd) or mpd <= 0):
        bad("place.max_power_density", f"must be a positive number of W/mm^2, got {mpd!r}")
        mpd = None
    vk = tab.get("voltage_keepout", True)
    if not isinstance(vk, bool):
        bad("place.voltage_keepout", f"must be true or false, got {vk!r}")
        vk = True
    keepouts = []
    kos = tab.get("keepouts", [])
    if not isinstance(kos, list):
        bad("place.keepouts", "must be a list of [x0, y0, x1, y1] rectangles in um")
        kos = []
    for i, k in enumerate(kos):
        r = _um_rect(k)
        if r is None:
            bad(f"place.keepouts[{i}]", f"must be [x0, y0, x1, y1] in um with x0 < x1 and y0 < y1, got {k!r}")
        else:
            keepouts.append(r)
    devices = []
    dtab = tab.get("devices", {})
    if not isinstance(dtab, dict):
        bad("place.devices", "must be a table of instance = { power = ..., fixed = ..., region = ... } entries")
        dtab = {}
    any_power = False
    for pat, spec in dtab.items():
        key = f"place.devices.{pat}"
        if not isinstance(spec, dict):
            bad(key, "must be a table like { power = 2.0 } (W), { fixed = [x, y] } or { region = [x0, y0, x1, y1] } (um)")
            continue
        for k in spec:
            if k not in ("power", "fixed", "region", "orient", "halo"):
                bad(f"{key}.{k}", "unknown key; allowed keys are fixed, halo, orient, power, region")
        halo = spec.get("halo")
        if halo is not None and (not isinstance(halo, (int, float)) or isinstance(halo, bool) or not math.isfinite(halo) or halo < 0):
            bad(f"{key}.halo", f"must be a number of um >= 0, got {halo!r}")
            halo = None
        orient = spec.get("orient")
        if orient is not None and orient not in ("R0", "MX", "MY", "R180"):
            bad(f"{key}.orient", f"must be \"R0\", \"MX\", \"MY\" or \"R180\", got {orient!r}")
            orient = None
        power = spec.get("power")
        if power is not None and (not isinstance(power, (int, float)) or isinstance(power, bool) or not math.isfinite(power) or power < 0):
            bad(f"{key}.power", f"must be a non-negative number of W, got {power!r}")
            power = None
        fixed = spec.get("fixed")
        if fixed is not None:
            if isinstance(fixed, list) and len(fixed) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in fixed):
                fixed = (float(fixed[0]), float(fixed[1]))
            else:
                bad(f"{key}.fixed", f"must be [x, y] (lower-left corner, um), got {fixed!r}")
                fixed = None
        region = spec.get("region")
        if region is not None:
            r = _um_rect(region)
            if r is None:
                bad(f"{key}.region", f"must be [x0, y0, x1, y1] in um with x0 < x1 and y0 < y1, got {region!r}")
            region = r
        if fixed is not None and region is not None:
            bad(key, "give fixed or region, not both")
        any_power = any_power or bool(power)
        devices.append(DeviceSpec(
            str(pat), None if power is None else float(power), fixed, region, orient, None if halo is None else float(halo)
        ))
    if any_power and mpd is None:
        bad("place.max_power_density", "missing: devices give a power, so the limit (W/mm^2) is needed")
    groups: list[GroupSpec] = []
    gtab = tab.get("group", [])
    if not isinstance(gtab, list):
        bad("place.group", "must be an array of tables ([[place.group]])")
        gtab = []
    seen: dict[str, int] = {}
    for i, g in enumerate(gtab):
        key = f"place.group[{i}]"
        if not isinstance(g, dict):
            bad(key, "must be a table with devices = [...] and arrange = \"row\" or \"column\"")
            continue
        for k in g:
            if k not in ("devices", "arrange", "pitch"):
                bad(f"{key}.{k}", "unknown key; allowed keys are arrange, devices, pitch")
        pitch = g.get("pitch")
        if pitch is not None and (not isinstance(pitch, (int, float)) or isinstance(pitch, bool) or not math.isfinite(pitch) or pitch <= 0):
            bad(f"{key}.pitch", f"must be a positive number of um, got {pitch!r}")
            continue
        devs = g.get("devices")
        if not isinstance(devs, list) or len(devs) < 2 or not all(isinstance(d, str) and d for d in devs):
            bad(f"{key}.devices", "must list two or more device (instance) names")
            continue
        if len(set(devs)) != len(devs):
            bad(f"{key}.devices", "lists a device twice")
            continue
        arrange = g.get("arrange", "row")
        if arrange not in ("row", "column"):
            bad(f"{key}.arrange", f"must be \"row\" or \"column\", got {arrange!r}")
            continue
        for d in devs:
            if d in seen:
                bad(f"{key}.devices", f"'{d}' is already in place.group[{seen[d]}]")
            seen[d] = i
        groups.append(GroupSpec(tuple(devs), arrange, None if pitch is None else float(pitch)))
    symmetry: list[SymmetrySpec] = []
    stab = tab.get("symmetry", [])
    if not isinstance(stab, list):
        bad("place.symmetry", "must be an array of tables ([[place.symmetry]])")
        stab = []
    where = {d: f"place.group[{i}]" for d, i in seen.items()}
    for i, g in enumerate(stab):
        key = f"place.symmetry[{i}]"
        if not isinstance(g, dict):
            bad(key, "must be a table with pairs = [[a, b], ...], self = [...] and axis = \"vertical\" or \"horizontal\"")
            continue
        for k in g:
            if k not in ("pairs", "self", "axis"):
                bad(f"{key}.{k}", "unknown key; allowed keys are axis, pairs, self")
        axis = g.get("axis", "vertical")
        if axis not in ("vertical", "horizontal"):
            bad(f"{key}.axis", f"must be \"vertical\" or \"horizontal\", got {axis!r}")
            continue
        pairs = g.get("pairs", [])
        selfs = g.get("self", [])
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(d, str) and d for d in p) for p in pairs
        ):
            bad(f"{key}.pairs", "must be a list of [device, device] pairs")
            continue
        if not isinstance(selfs, list) or not all(isinstance(d, str) and d for d in selfs):
            bad(f"{key}.self", "must be a list of device (instance) names")
            continue
        if not pairs and len(selfs) < 2:
            bad(key, "needs a pair, or two or more self-symmetric devices")
            continue
        devs = [d for p in pairs for d in p] + list(selfs)
        dup = sorted({d for d in devs if devs.count(d) > 1})
        if dup:
            bad(key, f"lists '{dup[0]}' twice")
            continue
        clash = False
        for d in devs:
            if d in where:
                bad(key, f"'{d}' is already in {where[d]}")
                clash = True
            where[d] = key
        if not clash:
            symmetry.append(SymmetrySpec(tuple((str(a), str(b)) for a, b in pairs), tuple(selfs), axis))
    return PlaceSpec(
        None if mpd is None else float(mpd), vk, tuple(keepouts), tuple(devices), gp, tuple(groups), tuple(symmetry)
    )


@dataclass(frozen=True)
class DesignConfig:
    """A validated ``design.toml``; paths are absolute."""

    name: str
    top: str | None
    pdk: str
    netlist: Path
    folder: Path
    die: tuple[float, float] | None = None
    utilization: float = 0.25
    spacing: float | None = None
    pins: Mapping[str, PinSpec] = field(default_factory=lambda: MappingProxyType({}))
    net_classes: tuple[NetClass, ...] = ()
    source: Path | None = None
    waivers: Path | None = None
    #: [route] size_for_current: widths and via arrays from net currents (default);
    #: false routes minimum widths (voltage clearances kept) and only reports the density
    size_for_current: bool = True
    #: Operating temperature (deg C) for current-density derating.
    temperature_c: float | None = None
    #: [floorplan] seal_ring: the kit's seal ring (device kind "sealring")
    #: around the die, ``scribe`` um (half the saw street) inside the die edge.
    seal_ring: bool = False
    scribe: float = 40.0
    #: [place]: placement constraints (voltage keep-out, thermal, fences, ...)
    place: PlaceSpec = field(default_factory=PlaceSpec)

    def net_class(self, net: str) -> NetClass | None:
        """The first class whose patterns match ``net``."""
        for nc in self.net_classes:
            if nc.matches(net):
                return nc
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "top": self.top,
            "pdk": self.pdk,
            "netlist": str(self.netlist),
            "folder": str(self.folder),
            "die": list(self.die) if self.die else None,
            "utilization": self.utilization,
            "spacing": self.spacing,
            "seal_ring": self.seal_ring,
            "scribe": self.scribe,
        }


def display_path(path: Path, base: Path | None = None) -> str:
    """``path`` relative to ``base`` (default: the working directory) if inside it."""
    base = (base or Path.cwd()).resolve()
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:
        return str(path)


def inside(path: Path, folder: Path) -> bool:
    """True when ``path`` (resolved, symlinks followed) lies within ``folder``."""
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> list[str]:
    """Set dotted keys (``"place.global"``) of a parsed design.toml in place;
    returns the problems (a key under a value that is not a table)."""
    problems = []
    for dotted, value in overrides.items():
        *path, last = dotted.split(".")
        tab: Any = data
        for i, part in enumerate(path):
            tab = tab.setdefault(part, {})
            if not isinstance(tab, dict):
                problems.append(f"{'.'.join(path[: i + 1])}: is not a table, cannot set {dotted}")
                break
        else:
            tab[last] = value
    return problems


def load_design(folder: str | Path, overrides: Mapping[str, Any] | None = None) -> DesignConfig:
    """Read ``folder/design.toml``; raise one :class:`InputError` listing every problem.

    ``overrides`` (dotted key -> value, e.g. ``{"place.global": "eplace"}``)
    replace keys of the file before it is checked (``pilotflow sweep``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a design folder (directory not found)")
    path = folder / "design.toml"
    shown = display_path(path)
    if not path.is_file():
        raise InputError(f"{shown}: file not found (a design folder needs a design.toml)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{shown}: cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{shown}: not valid TOML: {e}") from None

    problems: list[str] = apply_overrides(data, overrides) if overrides else []

    def bad(key: str, msg: str) -> None:
        problems.append(f"{key}: {msg}")

    def keys(key: str, table: Mapping[str, Any], allowed: set[str]) -> None:
        for k in table:
            if k not in allowed:
                bad(f"{key}.{k}" if key else k, f"unknown key; allowed keys are {', '.join(sorted(allowed))}")

    keys("", data, {"design", "floorplan", "pins", "net_class", "drc", "route", "place"})
    d = data.get("design")
    if not isinstance(d, dict):
        bad("design", "missing [design] table")
        d = {}
    keys("design", d, {"name", "top", "pdk", "netlist", "temperature_c"})
    temperature = parse_temperature(d.get("temperature_c"), "design.temperature_c", bad)
    for k in ("pdk", "netlist"):
        if k not in d:
            bad(f"design.{k}", "missing required key")
        elif not isinstance(d[k], str) or not d[k]:
            bad(f"design.{k}", "must be a non-empty string")
    name = d.get("name", folder.resolve().name)
    top = d.get("top")
    if top is not None and not isinstance(top, str):
        bad("design.top", "must be a string")
    netlist = folder / str(d.get("netlist", ""))
    if isinstance(d.get("netlist"), str) and d["netlist"]:
        if Path(d["netlist"]).is_absolute() or not inside(netlist, folder):
            bad("design.netlist", f"'{d['netlist']}' is outside the design folder")
        elif not netlist.is_file():
            bad("design.netlist", f"'{d['netlist']}' not found in {display_path(folder)}")

    fp = data.get("floorplan", {})
    if not isinstance(fp, dict):
        bad("floorplan", "must be a table")
        fp = {}
    keys("floorplan", fp, {"die", "utilization", "spacing", "seal_ring", "scribe"})
    die = None
    if "die" in fp:
        v = fp["die"]
        if (
            isinstance(v, list)
            and len(v) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in v)
        ):
            die = (float(v[0]), float(v[1]))
        else:
            bad("floorplan.die", f"must be [width, height] in um, both positive, got {v!r}")
    util = fp.get("utilization", 0.25)
    if not isinstance(util, (int, float)) or isinstance(util, bool) or not 0 < util <= 0.9:
        bad("floorplan.utilization", f"must be a number in (0, 0.9], got {util!r}")
        util = 0.25
    spacing = fp.get("spacing")
    if spacing is not None and (not isinstance(spacing, (int, float)) or isinstance(spacing, bool) or spacing <= 0):
        bad("floorplan.spacing", f"must be a positive number of um, got {spacing!r}")
        spacing = None
    seal_ring = fp.get("seal_ring", False)
    if not isinstance(seal_ring, bool):
        bad("floorplan.seal_ring", f"must be true or false, got {seal_ring!r}")
        seal_ring = False
    scribe = fp.get("scribe", DEFAULT_SCRIBE_UM)
    if not isinstance(scribe, (int, float)) or isinstance(scribe, bool) or not math.isfinite(scribe) or scribe < 0:
        bad("floorplan.scribe", f"must be a number of um, 0 or more, got {scribe!r}")
        scribe = DEFAULT_SCRIBE_UM
    elif "scribe" in fp and not seal_ring:
        bad("floorplan.scribe", "is the lane outside the seal ring: set seal_ring = true too")

    pins: dict[str, PinSpec] = {}
    ptab = data.get("pins", {})
    if not isinstance(ptab, dict):
        bad("pins", "must be a table of port = { side = ... } entries")
        ptab = {}
    for port, spec in ptab.items():
        key = f"pins.{port}"
        if not isinstance(spec, dict):
            bad(key, "must be a table like { side = \"north\" } or { position = [x, y] }")
            continue
        keys(key, spec, {"side", "position"})
        side = spec.get("side")
        pos = spec.get("position")
        if (side is None) == (pos is None):
            bad(key, "give exactly one of side or position")
            continue
        if side is not None and side not in SIDES:
            bad(f"{key}.side", f"'{side}' is not a side; sides are {', '.join(SIDES)}")
            continue
        if pos is not None:
            if not (isinstance(pos, list) and len(pos) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in pos)):
                bad(f"{key}.position", f"must be [x, y] in um, got {pos!r}")
                continue
            pos = (float(pos[0]), float(pos[1]))
        pins[port] = PinSpec(port, side, pos)

    classes = parse_net_classes(data.get("net_class", []), bad)
    place_spec = parse_place(data.get("place", {}), bad)

    size_for_current = True
    route_tab = data.get("route", {})
    if not isinstance(route_tab, dict):
        bad("route", "must be a table")
        route_tab = {}
    keys("route", route_tab, {"size_for_current"})
    if "size_for_current" in route_tab:
        if not isinstance(route_tab["size_for_current"], bool):
            bad("route.size_for_current", f"must be true or false, got {route_tab['size_for_current']!r}")
        else:
            size_for_current = route_tab["size_for_current"]

    waivers = None
    drc_tab = data.get("drc", {})
    if not isinstance(drc_tab, dict):
        bad("drc", "must be a table")
        drc_tab = {}
    keys("drc", drc_tab, {"waivers"})
    if "waivers" in drc_tab:
        wv = drc_tab["waivers"]
        if not isinstance(wv, str) or not wv:
            bad("drc.waivers", "must be a non-empty string (a file in the design folder)")
        elif Path(wv).is_absolute() or not inside(folder / wv, folder):
            bad("drc.waivers", f"'{wv}' is outside the design folder")
        elif not (folder / wv).is_file():
            bad("drc.waivers", f"'{wv}' not found in {display_path(folder)}")
        else:
            waivers = (folder / wv).resolve()

    if problems:
        if len(problems) == 1:
            raise InputError(f"{shown}: {problems[0]}")
        raise InputError(f"{shown}: {len(problems)} problems: " + "; ".join(problems))
    return DesignConfig(
        name=str(name),
        top=top,
        pdk=d["pdk"],
        netlist=netlist.resolve(),
        folder=folder.resolve(),
        die=die,
        utilization=float(util),
        spacing=None if spacing is None else float(spacing),
        pins=MappingProxyType(pins),
        net_classes=tuple(classes),
        source=path.resolve(),
        waivers=waivers,
        size_for_current=size_for_current,
        temperature_c=temperature,
        seal_ring=seal_ring,
        scribe=float(scribe),
        place=place_spec,
    )
