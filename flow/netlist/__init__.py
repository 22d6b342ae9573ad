"""Netlist readers and the flat :class:`Netlist` model."""

from flow.netlist.model import Instance, Netlist, Source

__all__ = ["Instance", "Netlist", "Source"]
