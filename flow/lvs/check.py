"""One call for the CLI and the flow stage: extract a layout, compare it with
the source netlist, and attach geometric short paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flow.lvs.compare import LvsResult, compare
from flow.lvs.extract import Extraction, extract
from flow.lvs.paths import LayoutGeometry
from flow.netlist.model import Netlist
from pdk.schema import PDK


@dataclass(frozen=True)
class LvsRun:
    result: LvsResult
    extraction: Extraction


def run_lvs(layout, source: Netlist, kit: PDK, top: str | None = None, extraction: Extraction | None = None) -> LvsRun:
    """Extract ``layout`` (a GDS path or a gdstk library; or take the given
    ``extraction`` of it) and compare it with ``source`` (flat netlist, SI
    parameters)."""
    from flow.geometry.gdsio import read_gds, shapes_from_library

    ext = extraction if extraction is not None else extract(layout, kit, top)
    if isinstance(layout, (str, Path)):
        shapes = read_gds(layout, kit, ext.netlist.top)
    else:
        shapes = shapes_from_library(layout, kit, ext.netlist.top)
    res = compare(source, ext, kit, geometry=LayoutGeometry(shapes, kit))
    return LvsRun(res, ext)
