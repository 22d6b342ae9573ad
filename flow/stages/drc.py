"""Stage ``drc``: check the assembled layout against every rule of the PDK."""

from __future__ import annotations

from dataclasses import replace

from flow.config import ClassValues, NetClass
from flow.design import Design, DrcSummary
from flow.drc.core import CheckContext
from flow.drc.engine import run_drc
from flow.drc.lyrdb import write_lyrdb
from flow.drc.waivers import load_waivers
from flow.fileio import atomic_write_json
from flow.geometry.gdsio import shapes_from_library
from flow.geometry.layout import assemble
from flow.stages.base import Context, Stage


def design_context(classes: tuple[NetClass, ...], temperature_c: float | None) -> CheckContext:
    """Net voltages, currents (by name or pattern) and temperature for the
    net-aware rule kinds, from a design's net classes."""
    return CheckContext(
        voltages=ClassValues(tuple(classes), "voltage"),
        currents=ClassValues(tuple(classes), "current"),
        temperature_c=temperature_c,
    )


class DrcStage(Stage):
    id = "drc"
    requires = ("netlist", "floorplan", "placement", "routing")
    provides = ("drc",)

    def run(self, design: Design, ctx: Context) -> Design:
        kit = ctx.kit
        lib = assemble(design, kit)
        shapes = shapes_from_library(lib, kit, design.top)
        cfg = design.config
        waivers = ()
        if cfg.waivers is not None:
            waivers = load_waivers(cfg.waivers, f"{cfg.folder.name}/{cfg.waivers.relative_to(cfg.folder)}")
        dctx = design_context(cfg.net_classes, cfg.temperature_c)
        result = run_drc(shapes, kit, ctx=dctx, waivers=waivers)
        # the smallest clearance found between nearby nets vs what the
        # voltage_spacing rules require (the report's power-net summary)
        from flow.drc.kinds.nets import voltage_clearances

        atomic_write_json(ctx.rundir / "drc.json", {**result.to_json(kit), "voltage_clearance": voltage_clearances(shapes, kit, dctx)})
        write_lyrdb(result, kit, ctx.rundir / "drc.lyrdb", design.top, shapes.instances)
        summary = DrcSummary(
            violations=len(result.violations),
            counts=result.counts(),
            rules_checked=tuple(result.rules_checked),
            not_checked=tuple(result.not_checked),
            notes=tuple(result.notes),
            waived=len(result.waived),
            waivers_unused=tuple(result.waivers_unused),
        )
        return replace(design, drc=summary, outputs={**design.outputs, "drc_json": "drc.json", "drc_lyrdb": "drc.lyrdb"})
