"""Flow defects LVS found on netlist variants of the sample designs.

The sample netlists route clean; variants that connect other nets to a
device's terminals move the wires elsewhere, over the layers of other
devices.  ganrf025_pa with the gate and drain of both HEMTs swapped was routed
with MET1 over the thin-film gate resistors (shorting g2 to d1 and VG2, and
shortening R1) and under MIM top plates (two extra capacitors): the router
now keeps device-forming layers (``flow.stages.route.forming_layers``) as
obstacles.  The run is checked by the flow's own LVS, which extracts the GDS
alone and compares it with the variant's netlist.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from flow.flow import run

DESIGNS = Path(__file__).resolve().parents[2] / "designs"


def _variant(tmp_path: Path, design: str, netlist: str, swaps: dict[str, str]) -> Path:
    """Copy of a sample design with netlist lines replaced (``old line start -> new``)."""
    d = tmp_path / design
    shutil.copytree(DESIGNS / design, d)
    text = (d / netlist).read_text()
    for old, new in swaps.items():
        assert old in text, old
        text = text.replace(old, new)
    (d / netlist).write_text(text)
    return d


def test_pa_with_swapped_hemt_terminals_routes_clean_and_matches(tmp_path):
    d = _variant(tmp_path, "ganrf025_pa", "pa2.sp", {"XQ1 d1 g1 s1": "XQ1 g1 d1 s1", "XQ2 d2 g2 s2": "XQ2 g2 d2 s2"})
    # swapped, the drain supplies feed the HEMT gates, whose pads are rated
    # 60 mA (current_density checks device terminal ratings): the variant's
    # drain supply class carries 50 mA instead of 0.3 A
    toml = d / "design.toml"
    old = 'nets = ["VD1", "VD2", "d1", "d2"]\nvoltage = 28.0\ncurrent = 0.3\n'
    assert old in toml.read_text()
    toml.write_text(toml.read_text().replace(old, old.replace("current = 0.3", "current = 0.05")))
    res = run(d, tmp_path / "run")
    m = json.loads((res.rundir / "metrics.json").read_text())
    assert m["nets_unrouted"] == 0, m["unrouted"]
    assert m["nets_routed"] == 13
    assert m["drc_violations"] == 0, m["drc_counts"]
    lvs = json.loads((res.rundir / "lvs.json").read_text())
    assert lvs["status"] == "match", (tmp_path / "run" / "lvs.txt").read_text()
    # the devices of the variant's netlist, no extra capacitor, no shortened resistor
    assert lvs["summary"]["devices"]["matched"] == lvs["summary"]["devices"]["source"] == m["instances"]
    assert res.exit_code == 0
