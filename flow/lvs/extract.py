"""Circuit extraction from a layout alone (the GDS, never the flow's data).

Interface (stable; the comparison and the reports build on it)::

    extract(library_or_path, kit, top=None) -> Extraction
    write_spice(extraction, path)

Devices are recognised from the LVS description of each device in the kit's
``pdk.toml`` (``[devices.<model>.lvs]``), their parameters measured from the
geometry, their terminals attached to the nets traced through the kit's
conducting layers and cuts (:func:`flow.drc.nets.extract_nets`); net names
come from text labels.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from flow.netlist.model import Netlist
from pdk.schema import PDK


@dataclass(frozen=True)
class Extraction:
    """The circuit found in a layout.

    Attributes
    ----------
    netlist
        Devices as :class:`~flow.netlist.model.Instance`: ``model`` is the
        PDK device model, ``pins`` terminal -> net name, ``params`` measured
        values in SI units as the SPICE reader gives them (metres, ohms,
        farads, counts; a kit whose parameter is in another unit, e.g.
        ganrf025's ``mim`` ``c`` in pF, keeps the unit the netlist uses).
        ``ports`` are the labelled nets that reach a pad.
    net_locations
        net -> ``(layer, x_um, y_um)`` points on its conductors (label
        points first, then one vertex per conductor shape group), for reports.
    device_locations
        instance -> bounding box ``(x0, y0, x1, y1)`` in um of its
        recognition shapes.
    labels
        label text -> ``(layer, x_um, y_um)`` places where it was found.
    unlabelled_nets
        Nets with a generated name (``$LAYER(x,y)``, see
        :func:`flow.drc.nets.generated_name`): no text label reached them.
    measured
        model -> names of the parameters the extractor measured (others are
        not checked, never guessed).
    tolerances
        model -> parameter -> relative tolerance from the PDK.
    swappable
        model -> groups of interchangeable terminals (e.g. ``(("p", "n"),)``).
    notes
        Problems met (label on no shape, shapes of no device ...), one line each.
    """

    netlist: Netlist
    net_locations: Mapping[str, tuple[tuple[str, float, float], ...]]
    device_locations: Mapping[str, tuple[float, float, float, float]]
    labels: Mapping[str, tuple[tuple[str, float, float], ...]]
    unlabelled_nets: frozenset[str] = frozenset()
    measured: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    tolerances: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: MappingProxyType({}))
    swappable: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=lambda: MappingProxyType({}))
    notes: tuple[str, ...] = ()


def extract(library_or_path, kit: PDK, top: str | None = None) -> Extraction:
    """Extract the circuit of cell ``top`` (or the only top cell).

    ``library_or_path``: a ``gdstk.Library`` or a GDS/OASIS file path.
    """
    raise NotImplementedError("extraction is being written on branch lvs")


def write_spice(extraction: Extraction, path: str | os.PathLike[str]) -> None:
    """Write the extracted netlist as SPICE that :func:`flow.netlist.spice.read_spice` reads back."""
    raise NotImplementedError("extraction is being written on branch lvs")
