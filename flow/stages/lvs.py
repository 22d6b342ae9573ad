"""Stage ``lvs``: extract the assembled layout from its GDS alone and compare
it with the source netlist; writes ``lvs.json``, ``lvs.txt``,
``lvs.lyrdb`` (KLayout marker database), ``<top>.extracted.sp`` (the circuit
extracted from the GDS) and ``<top>.post.sp`` (post-layout netlist: devices
plus the wiring's estimated resistance and capacitance)."""

from __future__ import annotations

from dataclasses import replace

from flow.design import Design, LvsSummary
from flow.fileio import atomic_write_text, temp_path_for
from flow.geometry.layout import assemble, write_gds
from flow.stages.base import Context, Stage


class LvsStage(Stage):
    id = "lvs"
    requires = ("netlist", "floorplan", "placement", "routing")
    provides = ("lvs",)

    def run(self, design: Design, ctx: Context) -> Design:
        from flow.lvs.check import run_lvs
        from flow.lvs.report import text_report, to_json
        from flow.fileio import atomic_write_json

        kit = ctx.kit
        # The layout goes through a GDS file, as any other tool would read
        # it: the extraction sees nothing of the flow's own data.
        gds = temp_path_for(ctx.rundir / f".{design.top}.lvs.gds")
        try:
            write_gds(assemble(design, kit), gds)
            run = run_lvs(gds, design.netlist, kit, design.top)
        finally:
            if gds.exists():
                gds.unlink()
        res = run.result
        layout = f"{design.top}.gds"
        netlist = design.config.netlist.name
        atomic_write_json(ctx.rundir / "lvs.json", to_json(res, kit=kit, layout=layout, netlist=netlist, layout_notes=run.extraction.notes))
        atomic_write_text(ctx.rundir / "lvs.txt", "\n".join(text_report(res, kit=kit, layout=layout, netlist=netlist)) + "\n")
        from flow.lvs.lyrdb import write_lvs_lyrdb

        write_lvs_lyrdb(res, ctx.rundir / "lvs.lyrdb", design.top, description=f"pilotflow LVS, {kit.name} {kit.version}")
        # The circuit as extracted, and with the wiring's estimated parasitics
        # (flow.lvs.parasitics): a post-layout netlist for ngspice.
        from flow.lvs.extract import write_spice
        from flow.lvs.parasitics import write_postlayout_spice

        write_spice(run.extraction, ctx.rundir / f"{design.top}.extracted.sp")
        write_postlayout_spice(run.extraction, ctx.rundir / f"{design.top}.post.sp")
        summary = LvsSummary(res.status, res.counts(), tuple(res.not_compared), tuple(res.notes) + tuple(run.extraction.notes))
        return replace(design, lvs=summary, outputs={**design.outputs, "lvs_json": "lvs.json", "lvs_txt": "lvs.txt", "lvs_lyrdb": "lvs.lyrdb",
                     "extracted_spice": f"{design.top}.extracted.sp", "postlayout_spice": f"{design.top}.post.sp"})
