"""A terminal pinned only off the routing stack (the backside drain of
sic1200's vmos) is never silently dropped: on a net with front-side pins it
makes the net unrouted, with a reason; on a net of its own it is fine."""

from __future__ import annotations

import json

from flow.flow import run

DESIGN = """
[design]
name = "bs"
top = "top"
pdk = "sic1200"
netlist = "top.sp"

[floorplan]
utilization = 0.3
"""


def _design(tmp_path, netlist: str):
    d = tmp_path / "bs"
    d.mkdir()
    (d / "design.toml").write_text(DESIGN)
    (d / "top.sp").write_text(netlist)
    return d


def test_backside_drain_on_a_front_side_net_is_unrouted(tmp_path):
    # D is a port: its pad is on MET1/MET2, the vmos drain on BACKMET
    d = _design(tmp_path, ".subckt top D G S\nXQ D G S vmos ncell=2 lcell=40u\n.ends top\n")
    res = run(d, tmp_path / "run")
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["nets_unrouted"] == 1 and res.exit_code == 1
    why = m["unrouted"]["D"]
    assert "XQ.d on BACKMET" in why and "off the routing stack" in why
    assert m["nets_routed"] == 2  # G and S reach their pads


def test_backside_drain_on_its_own_net_is_fine(tmp_path):
    # the drain net has no front-side pin: nothing to route, nothing dropped
    d = _design(tmp_path, ".subckt top G S\nXQ sub G S vmos ncell=2 lcell=40u\n.ends top\n")
    res = run(d, tmp_path / "run")
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["nets_unrouted"] == 0 and m["drc_violations"] == 0 and res.exit_code == 0
    assert m["nets_routed"] == 2
