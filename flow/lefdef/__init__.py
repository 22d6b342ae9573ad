"""Readers and writers for other flows' designs: LEF, DEF, structural Verilog.

Subsets that cover what a placer needs from OpenROAD / yosys / qflow files
(see ``docs/formats.md``):

* :func:`read_lef` -- units, layers (name, type, direction, pitch, width),
  sites, macros (class, size, origin, site, symmetry, pins with their port
  rectangles, obstructions);
* :func:`read_def` / :func:`write_def` -- units, die area, rows, components
  with placement status, I/O pins, nets; every other section (VIAS, TRACKS,
  SPECIALNETS, ...) is kept as text and written back unchanged;
* :func:`read_verilog` -- one gate-level module: ports, wires, cell instances
  with named port connections; ``assign`` of a constant is skipped with a note,
  ``assign a = b`` joins the two nets.

Every syntax error is an :class:`~flow.errors.InputError` whose message starts
with ``file:line:``.
"""

from flow.lefdef.def_ import Component, Def, DefNet, DefPin, Row, read_def, write_def
from flow.lefdef.lef import Layer, Library, Macro, MacroPin, Site, read_lef
from flow.lefdef.verilog import Instance, Module, read_verilog

__all__ = [
    "Component",
    "Def",
    "DefNet",
    "DefPin",
    "Instance",
    "Layer",
    "Library",
    "Macro",
    "MacroPin",
    "Module",
    "Row",
    "Site",
    "read_def",
    "read_lef",
    "read_verilog",
    "write_def",
]
