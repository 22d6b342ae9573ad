"""Route stage: layers that would form or change a device under a routed wire are obstacles."""

from __future__ import annotations

import pdk as pdks
from flow.stages.route import _subtract, forming_layers


def test_forming_layers_of_the_kits():
    # ganrf025: MIM capacitor = MIMTOP & MET1; thin-film resistor TFR contacted by MET1
    assert forming_layers(pdks.load("ganrf025")) == {"MET1": {"MIMTOP", "TFR"}}
    # gan650: MIM capacitor = MIM & MET2 & MET1 (its resistors use their own contact layers)
    assert forming_layers(pdks.load("gan650")) == {"MET1": {"MIM"}, "MET2": {"MIM"}}
    # sic1200: no device recognised from a routing metal
    assert forming_layers(pdks.load("sic1200")) == {}


def test_subtract_keeps_everything_but_the_holes():
    body = (0, 0, 100, 10)
    pins = [(-5, 0, 10, 10), (90, -2, 105, 12)]  # contacts at both ends
    assert _subtract(body, pins) == [(10, 0, 90, 10)]
    pieces = _subtract((0, 0, 10, 10), [(4, 4, 6, 6)])
    assert sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in pieces) == 100 - 4
    for a in pieces:  # disjoint, none over the hole
        assert not (a[0] < 6 and a[2] > 4 and a[1] < 6 and a[3] > 4)
        for b in pieces:
            if a != b:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    assert _subtract((0, 0, 10, 10), [(20, 20, 30, 30)]) == [(0, 0, 10, 10)]
