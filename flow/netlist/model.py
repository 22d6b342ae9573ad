"""The flat netlist every stage works on.

A :class:`Netlist` is immutable: instances of PDK devices (already mapped by
model name), each terminal tied to a net, plus the top-level ports.  Readers
(SPICE, later Verilog and DEF) produce it; :meth:`Netlist.graph` gives a
frozen bipartite networkx view (instance nodes and net nodes, edges labelled
with the terminal) for connectivity work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import networkx as nx


@dataclass(frozen=True)
class Source:
    """Where something was defined: file (as given to the user) and line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Instance:
    """One device instance.

    ``pins`` maps terminal name -> net name, in the device's terminal order.
    ``params`` holds values in SI units as written in the netlist (metres,
    ohms, farads); the import stage converts them to the PDK's units.
    """

    name: str
    model: str
    pins: Mapping[str, str]
    params: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    source: Source | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pins", MappingProxyType(dict(self.pins)))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "model": self.model, "pins": dict(self.pins), "params": dict(self.params)}
        if self.source:
            d["source"] = [self.source.file, self.source.line]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Instance:
        src = d.get("source")
        return cls(d["name"], d["model"], d["pins"], d.get("params", {}), Source(*src) if src else None)


@dataclass(frozen=True)
class Netlist:
    """A flat circuit: ``instances``, ``ports`` (top-level pins, in order)."""

    top: str
    instances: tuple[Instance, ...]
    ports: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [i.name for i in self.instances]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"duplicate instance names: {', '.join(dup)}")

    @cached_property
    def nets(self) -> tuple[str, ...]:
        """Every net: ports first (in order), then the others sorted."""
        seen = dict.fromkeys(self.ports)
        rest = sorted({n for i in self.instances for n in i.pins.values()} - set(seen))
        return tuple(seen) + tuple(rest)

    @cached_property
    def by_name(self) -> Mapping[str, Instance]:
        return MappingProxyType({i.name: i for i in self.instances})

    @cached_property
    def net_pins(self) -> Mapping[str, tuple[tuple[str, str], ...]]:
        """net -> ((instance, terminal), ...) in instance order."""
        out: dict[str, list[tuple[str, str]]] = {n: [] for n in self.nets}
        for inst in self.instances:
            for term, net in inst.pins.items():
                out[net].append((inst.name, term))
        return MappingProxyType({k: tuple(v) for k, v in out.items()})

    def graph(self) -> nx.MultiGraph:
        """Frozen bipartite graph: nodes ``('inst', name)`` and ``('net', name)``.

        Instance nodes carry ``model`` and ``params``; each edge carries the
        ``terminal``.  Ports are net nodes with ``port=True``.
        """
        g = nx.MultiGraph()
        for n in self.nets:
            g.add_node(("net", n), port=n in self.ports)
        for inst in self.instances:
            g.add_node(("inst", inst.name), model=inst.model, params=dict(inst.params))
            for term, net in inst.pins.items():
                g.add_edge(("inst", inst.name), ("net", net), terminal=term)
        return nx.freeze(g)

    def to_json(self) -> dict[str, Any]:
        return {"top": self.top, "ports": list(self.ports), "instances": [i.to_json() for i in self.instances]}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Netlist:
        return cls(d["top"], tuple(Instance.from_json(i) for i in d["instances"]), tuple(d.get("ports", ())))
