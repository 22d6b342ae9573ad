"""Stage ``gds``: write ``<top>.gds`` with the PDK layer map, atomically."""

from __future__ import annotations

import os
from dataclasses import replace

from flow.design import Design
from flow.fileio import temp_path_for
from flow.geometry.layout import assemble, write_gds
from flow.stages.base import Context, Stage


class GdsStage(Stage):
    id = "gds"
    requires = ("netlist", "floorplan", "placement", "routing")
    provides = ()

    def run(self, design: Design, ctx: Context) -> Design:
        lib = assemble(design, ctx.kit)
        final = ctx.rundir / f"{design.top}.gds"
        tmp = temp_path_for(final)
        try:
            write_gds(lib, tmp)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        return replace(design, outputs={**design.outputs, "gds": final.name})
