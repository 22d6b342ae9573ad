"""The floorplan grows for nets the router draws wide for their current:
room for their corridors, a die whose shorter side lets the router try
them at full width, and pads spaced by the wire that reaches them."""

from __future__ import annotations

import pdk
from flow.flow import run
from flow.route.netclass import limits, net_rules
from flow.route.router import planned_width
from flow.stages.floorplan import wide_nets

DESIGN = """
[design]
name = "w"
top = "top"
pdk = "gan650"
netlist = "top.sp"

[floorplan]
utilization = 0.4

[pins]
D = {{ side = "north" }}
S = {{ side = "north" }}
G = {{ side = "west" }}

[[net_class]]
name = "power"
nets = ["D", "S"]
voltage = 0.0
current = {amps}
"""

NETLIST = ".subckt top D G S\nXQ D G S hemte w=2000u l=1u nf=20 lgd=3u\n.ends top\n"


def _floorplan(tmp_path, amps: float):
    d = tmp_path / f"w{amps:g}"
    d.mkdir()
    (d / "design.toml").write_text(DESIGN.format(amps=amps))
    (d / "top.sp").write_text(NETLIST)
    return run(d, tmp_path / f"run{amps:g}", to_stage="floorplan").design


def test_die_grows_for_wide_nets(tmp_path):
    kit = pdk.load("gan650")
    small = _floorplan(tmp_path, 0.01).floorplan
    big = _floorplan(tmp_path, 6.0).floorplan
    assert small.die[2] < big.die[2]
    rules = net_rules(kit, {"D": (0.0, 6.0)}, limits(kit))
    w, metal = planned_width(kit, rules["D"])
    assert metal == "MET2" and w > kit.dbu(300.0)  # 300 um needed, slotted wider
    # the router tries a net at full width when it needs at most a quarter
    # of the die's shorter side
    assert min(big.die[2], big.die[3]) >= 4 * kit.dbu(rules["D"].need["MET2"])
    # the two north pads of wide nets are a wire width apart (plus clearance)
    (xd, _), (xs, _) = big.pad_positions["PAD_D"], big.pad_positions["PAD_S"]
    assert abs(xd - xs) >= w


def test_wide_nets_lists_only_nets_wider_than_two_tracks(tmp_path):
    kit = pdk.load("gan650")
    d = _floorplan(tmp_path, 6.0)
    wide = wide_nets(kit, d.config, d.netlist)
    assert set(wide) == {"D", "S"}
    w, c, need = wide["D"]
    assert need == kit.dbu(300.0) and c >= kit.dbu(kit.min_spacing("MET2")) and w > need
    d = _floorplan(tmp_path, 0.01)
    assert wide_nets(kit, d.config, d.netlist) == {}
