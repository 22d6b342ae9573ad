"""Stage ``import``: read the netlist, map devices to the PDK, check parameters."""

from __future__ import annotations

from dataclasses import replace

from flow.config import display_path
from flow.design import Design
from flow.errors import InputError
from flow.stages.base import Context, Stage
from pdk.base import resolve_params
from pdk.schema import PDK

#: Netlist values are SI; a parameter's unit in the PDK says how to scale it.
_SCALE = {"um": 1e6, "ohm": 1.0, "F": 1.0, "": 1.0, "A": 1.0, "V": 1.0}


def to_kit_units(kit: PDK, model: str, params: dict[str, float]) -> dict[str, float]:
    """Convert SI netlist values to the units the kit's parameters use."""
    dev = kit.device(model)
    out = {}
    for k, v in params.items():
        spec = dev.params.get(k)
        out[k] = v * _SCALE[spec.unit] if spec is not None else v
    return out


def read_netlist(design: Design, kit: PDK):
    cfg = design.config
    suffix = cfg.netlist.suffix.lower()
    if suffix in (".sp", ".spi", ".spice", ".cir", ".cdl", ".net", ".ckt"):
        from flow.netlist.spice import read_spice

        return read_spice(cfg.netlist, root=cfg.folder, kit=kit, top=cfg.top)
    raise InputError(
        f"{display_path(cfg.netlist)}: unsupported netlist format '{suffix}'; "
        "SPICE files end in .sp, .spi, .spice, .cir, .cdl, .net or .ckt"
    )


class ImportStage(Stage):
    id = "import"
    provides = ("netlist",)

    def run(self, design: Design, ctx: Context) -> Design:
        kit = ctx.kit
        netlist = read_netlist(design, kit)
        if not netlist.instances:
            raise InputError(f"{display_path(design.config.netlist)}: the netlist has no devices")
        params = {}
        for inst in netlist.instances:
            where = f"{inst.source}: " if inst.source else ""
            params[inst.name] = resolve_params(kit, inst.model, to_kit_units(kit, inst.model, dict(inst.params)), where)
        unknown = sorted(set(design.config.pins) - set(netlist.ports))
        if unknown:
            raise InputError(
                f"{display_path(design.config.source)}: pins: {', '.join(unknown)} "
                f"{'is not a port' if len(unknown) == 1 else 'are not ports'} of '{netlist.top}'; "
                f"ports are {', '.join(netlist.ports) or '(none)'}"
            )
        return replace(design, netlist=netlist, device_params=params)
