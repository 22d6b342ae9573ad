"""``current_density`` on a net drawn only inside device cells (a seal ring:
a device cell whose terminal no net class reaches).

Such a net has no routed metal to check at a net current; its metal is the
device's own, like the device-internal metal of every net.  It is noted as
left to the devices, not as "not checked" (which makes tapeout refuse the
run: gan_ringosc with its seal ring).  A routed wire without a current is
still noted as not checked.
"""

from __future__ import annotations

from types import MappingProxyType

import gdstk

import pdk as pdks
from flow.drc.core import CheckContext
from flow.drc.engine import run_drc
from flow.geometry.gdsio import shapes_from_library
from pdk.base import generate


def _layout(kit, with_stray_wire: bool):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    ring = generate(kit, "sealring", {"w": 300.0, "h": 300.0})
    lib.add(ring.cell)
    top.add(gdstk.Reference(ring.cell, (0, 0)))
    m1 = kit.layer("MET1")
    # a routed net with its current: a 20 um wide MET1 bar inside the ring
    top.add(gdstk.rectangle((100, 100), (200, 120), layer=m1.gds[0], datatype=m1.gds[1]))
    top.add(gdstk.Label("A", (150, 110), layer=m1.label[0], texttype=m1.label[1]))
    if with_stray_wire:
        top.add(gdstk.rectangle((100, 150), (200, 155), layer=m1.gds[0], datatype=m1.gds[1]))
    return shapes_from_library(lib, kit, "TOP")


def _notes(res, rule_id):
    return [n for n in res.notes if n.startswith(rule_id + ":")]


def test_seal_ring_left_to_the_device_stray_wire_not_checked():
    kit = pdks.load("gan650")
    rules = [r for r in kit.rules if r.kind == "current_density" and r.layer in ("MET1", "MET2", "VIA1")]
    assert {r.layer for r in rules} == {"MET1", "MET2", "VIA1"}
    ctx = CheckContext(MappingProxyType({}), MappingProxyType({"A": 0.05}), None)
    res = run_drc(_layout(kit, False), kit, rules=rules, ctx=ctx)
    assert res.violations == [] or all(v.net == "A" for v in res.violations)
    assert res.counts() == {}
    for r in rules:
        notes = _notes(res, r.id)
        assert not any(": not checked" in n for n in notes), notes
        (left,) = [n for n in notes if "only inside device cells" in n]
        assert left.startswith(f"{r.id}: 1 net(s) without a current drawn on {r.layer} only inside device cells")
    # a wire of no net class outside the devices is still not checked, and said so
    res = run_drc(_layout(kit, True), kit, rules=rules, ctx=ctx)
    (nc,) = [n for n in _notes(res, "MET1.J.1") if ": not checked" in n]
    assert "not checked for 1 net(s) on MET1 without a current" in nc
    assert any("only inside device cells" in n for n in _notes(res, "MET1.J.1"))
    # the bar carrying too much current is still flagged
    hot = CheckContext(MappingProxyType({}), MappingProxyType({"A": 0.5}), None)
    res = run_drc(_layout(kit, False), kit, rules=rules, ctx=hot)
    assert res.counts().get("MET1.J.1", 0) >= 1 and {v.net for v in res.violations} == {"A"}
