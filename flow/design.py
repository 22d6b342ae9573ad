"""``Design``: the immutable value passed from stage to stage.

Each stage returns ``dataclasses.replace(design, <field>=...)``; nothing is
mutated in place.  Every field serialises to JSON so a run can resume from
any stage's ``state.json``.  Coordinates are integer database units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from flow.config import DesignConfig
from flow.netlist.model import Instance, Netlist

Rect = tuple[int, int, int, int]


def _frozen(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Floorplan:
    """Die and core rectangles, and the pad instances added for the ports."""

    die: Rect
    core: Rect
    pads: tuple[Instance, ...]
    pad_positions: Mapping[str, tuple[int, int]]  # pad instance -> lower-left
    #: The kit's seal ring ([floorplan] seal_ring), fixed at ``seal_ring_at``
    #: (lower-left); not placed or routed, an obstacle for routing.
    seal_ring: Instance | None = None
    seal_ring_at: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pad_positions", _frozen(self.pad_positions))

    def to_json(self) -> dict[str, Any]:
        out = {
            "die": list(self.die),
            "core": list(self.core),
            "pads": [p.to_json() for p in self.pads],
            "pad_positions": {k: list(v) for k, v in self.pad_positions.items()},
        }
        if self.seal_ring is not None and self.seal_ring_at is not None:
            out["seal_ring"] = self.seal_ring.to_json()
            out["seal_ring_at"] = list(self.seal_ring_at)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Floorplan:
        return cls(
            tuple(d["die"]),
            tuple(d["core"]),
            tuple(Instance.from_json(p) for p in d["pads"]),
            {k: tuple(v) for k, v in d["pad_positions"].items()},
            Instance.from_json(d["seal_ring"]) if d.get("seal_ring") else None,
            tuple(d["seal_ring_at"]) if d.get("seal_ring_at") else None,
        )


@dataclass(frozen=True)
class Placement:
    """Lower-left position (dbu) of every instance, pads included, and the
    orientation of every instance not placed as generated ("R0")."""

    positions: Mapping[str, tuple[int, int]]
    hpwl: int
    #: instance -> "MX" | "MY" | "R180" (pdk.base.ORIENTATIONS); absent = "R0"
    orientations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", _frozen(self.positions))
        object.__setattr__(self, "orientations", _frozen({k: v for k, v in self.orientations.items() if v != "R0"}))

    def orient(self, inst: str) -> str:
        return self.orientations.get(inst, "R0")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"positions": {k: list(v) for k, v in self.positions.items()}, "hpwl": self.hpwl}
        if self.orientations:
            out["orientations"] = dict(sorted(self.orientations.items()))
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Placement:
        return cls({k: tuple(v) for k, v in d["positions"].items()}, d["hpwl"], dict(d.get("orientations", {})))


@dataclass(frozen=True)
class Wire:
    """One routed rectangle on a layer, owned by a net."""

    layer: str
    rect: Rect


@dataclass(frozen=True)
class Routing:
    """Routed geometry per net, with totals and the nets left unrouted."""

    wires: Mapping[str, tuple[Wire, ...]]
    wirelength: int
    vias: int
    unrouted: Mapping[str, str]
    nets_to_route: int
    #: The route report (JSON-ready): EM limits used and, per net with a
    #: class, widths drawn and needed, cuts, current density vs limit.
    report: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "wires", _frozen(self.wires))
        object.__setattr__(self, "unrouted", _frozen(self.unrouted))
        object.__setattr__(self, "report", _frozen(self.report))

    def to_json(self) -> dict[str, Any]:
        return {
            "wires": {n: [[w.layer, *w.rect] for w in ws] for n, ws in self.wires.items()},
            "wirelength": self.wirelength,
            "vias": self.vias,
            "unrouted": dict(self.unrouted),
            "nets_to_route": self.nets_to_route,
            "report": dict(self.report),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Routing:
        wires = {n: tuple(Wire(w[0], tuple(w[1:])) for w in ws) for n, ws in d["wires"].items()}
        return cls(wires, d["wirelength"], d["vias"], d["unrouted"], d["nets_to_route"], d.get("report", {}))

    def current_density_worst(self) -> dict[str, Any]:
        """Net -> its worst wire current density (mA/um) against the limit, from the report.

        Also ``via_ratio``: the worst via array's current per cut over the
        per-cut limit (None without a layer change) and ``vias`` per cut layer.
        """
        out: dict[str, Any] = {}
        for net, r in self.report.get("nets", {}).items():
            cd = r.get("current_density", {})
            if cd.get("ratio") is not None:
                out[net] = {k: cd[k] for k in ("layer", "ma_per_um", "limit_ma_per_um", "ratio")}
                vias = dict(cd.get("vias") or {})
                out[net]["via_ratio"] = max((v["ratio"] for v in vias.values()), default=None)
                out[net]["vias"] = vias
        return out

    def current_density_over(self) -> dict[str, dict[str, float]]:
        """Net -> metal or cut layer -> ratio (density over limit, or current
        per cut over the per-cut limit) for every layer where the routed
        metal is over its limit: each is a violation, like a DRC marker."""
        out: dict[str, dict[str, float]] = {}
        for net, r in self.report.get("nets", {}).items():
            cd = r.get("current_density", {})
            over = {k: v["ratio"] for part in ("layers", "vias") for k, v in (cd.get(part) or {}).items()
                    if v.get("ratio") is not None and v["ratio"] > 1}
            if over:
                out[net] = dict(sorted(over.items()))
        return dict(sorted(out.items()))


@dataclass(frozen=True)
class DrcSummary:
    """What the DRC stage found (details are in drc.json / drc.lyrdb)."""

    violations: int
    counts: Mapping[str, int]
    rules_checked: tuple[str, ...]
    not_checked: tuple[str, ...]
    notes: tuple[str, ...] = ()
    #: markers accepted by the design's waivers (not in ``violations``)
    waived: int = 0
    waivers_unused: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", _frozen(self.counts))

    def to_json(self) -> dict[str, Any]:
        return {
            "violations": self.violations,
            "counts": dict(self.counts),
            "rules_checked": list(self.rules_checked),
            "not_checked": list(self.not_checked),
            "notes": list(self.notes),
            "waived": self.waived,
            "waivers_unused": list(self.waivers_unused),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> DrcSummary:
        return cls(
            d["violations"],
            d["counts"],
            tuple(d["rules_checked"]),
            tuple(d["not_checked"]),
            tuple(d.get("notes", ())),
            int(d.get("waived", 0)),
            tuple(d.get("waivers_unused", ())),
        )


@dataclass(frozen=True)
class LvsSummary:
    """What the LVS stage found (details are in lvs.json / lvs.txt).

    ``status``: ``match``, ``mismatch`` or ``incomplete`` (no difference
    found, but ``not_compared`` lists what could not be compared)."""

    status: str
    counts: Mapping[str, int]
    not_compared: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", _frozen(self.counts))

    @property
    def clean(self) -> bool:
        return self.status == "match"

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "counts": dict(self.counts), "not_compared": list(self.not_compared), "notes": list(self.notes)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> LvsSummary:
        return cls(d["status"], d["counts"], tuple(d.get("not_compared", ())), tuple(d.get("notes", ())))


@dataclass(frozen=True)
class Design:
    """Everything known about a design at one point of the flow."""

    config: DesignConfig
    pdk_name: str
    pdk_version: str
    netlist: Netlist | None = None
    device_params: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    floorplan: Floorplan | None = None
    placement: Placement | None = None
    routing: Routing | None = None
    drc: DrcSummary | None = None
    lvs: LvsSummary | None = None
    outputs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "device_params", _frozen({k: _frozen(v) for k, v in self.device_params.items()}))
        object.__setattr__(self, "outputs", _frozen(self.outputs))

    @property
    def top(self) -> str:
        if self.netlist is not None:
            return self.netlist.top
        return self.config.top or self.config.name

    def all_instances(self) -> tuple[Instance, ...]:
        """Circuit instances plus the pads the floorplan added."""
        insts = self.netlist.instances if self.netlist else ()
        pads = self.floorplan.pads if self.floorplan else ()
        return tuple(insts) + tuple(pads)

    # -- serialisation ---------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        def opt(x: Any) -> Any:
            return None if x is None else x.to_json()

        return {
            "design": self.config.name,
            "pdk": self.pdk_name,
            "pdk_version": self.pdk_version,
            "netlist": opt(self.netlist),
            "device_params": {k: dict(v) for k, v in self.device_params.items()},
            "floorplan": opt(self.floorplan),
            "placement": opt(self.placement),
            "routing": opt(self.routing),
            "drc": opt(self.drc),
            "lvs": opt(self.lvs),
            "outputs": dict(self.outputs),
        }

    @classmethod
    def from_json(cls, config: DesignConfig, d: Mapping[str, Any]) -> Design:
        def opt(kind: Any, x: Any) -> Any:
            return None if x is None else kind.from_json(x)

        return cls(
            config=config,
            pdk_name=d["pdk"],
            pdk_version=d["pdk_version"],
            netlist=opt(Netlist, d.get("netlist")),
            device_params=d.get("device_params", {}),
            floorplan=opt(Floorplan, d.get("floorplan")),
            placement=opt(Placement, d.get("placement")),
            routing=opt(Routing, d.get("routing")),
            drc=opt(DrcSummary, d.get("drc")),
            lvs=opt(LvsSummary, d.get("lvs")),
            outputs=d.get("outputs", {}),
        )
