"""Device generators of tinykit: a film resistor and a pad.

Each generator is ``gen(kit, *, name, **params) -> DeviceCell`` (named by
``generator`` in pdk.toml); pilotflow checks the parameters against the
ranges in pdk.toml, names the cell and caches it.  Units: um and ohm.
"""

from __future__ import annotations

from flow.errors import InputError
from pdk.base import CellBuilder, DeviceCell
from pdk.schema import PDK

#: Edge of a resistor's MET1 terminal pads (um): room for the router's grid.
PIN_UM = 14.0
#: RES overlap under each MET1 terminal (um).
OVERLAP_UM = 2.0


def resistor(kit: PDK, *, name: str, r: float = 1000.0, w: float = 4.0) -> DeviceCell:
    """Straight RES body of ``r`` ohm and width ``w`` um between two MET1 pins::

        +------+                 +------+
        |  p   |=====RES=========|  n   |    (MET1 pins PIN_UM square)
        +------+                 +------+
    """
    length = r / kit.layer("RES").sheet_ohm * w
    if length < kit.min_spacing("MET1"):
        raise InputError(f"res: body length {length:g} um (r={r:g}, w={w:g}) is below the MET1 spacing")
    b = CellBuilder(kit, name)
    y0 = (PIN_UM - w) / 2
    b.pin("p", "MET1", 0, 0, PIN_UM, PIN_UM)
    b.pin("n", "MET1", PIN_UM + length, 0, 2 * PIN_UM + length, PIN_UM)
    b.rect("RES", PIN_UM - OVERLAP_UM, y0, PIN_UM + length + OVERLAP_UM, y0 + w)
    return b.build("res", {"r": r, "w": w})


def pad(kit: PDK, *, name: str, size: float = 60.0) -> DeviceCell:
    """Square pad: MET1 and MET2 of edge ``size`` um joined by a VIA1 array,
    with a PASS opening kept MET2.EN.PASS inside."""
    v, s = kit.min_width("VIA1"), kit.min_spacing("VIA1")
    en = max(kit.enclosure("MET1", "VIA1"), kit.enclosure("MET2", "VIA1"))
    m = kit.enclosure("MET2", "PASS")
    b = CellBuilder(kit, name)
    b.pin("p", "MET2", 0, 0, size, size)
    b.pin("p", "MET1", 0, 0, size, size)
    n = int((size - 2 * en + s) // (v + s))
    x0 = (size - (n * v + (n - 1) * s)) / 2
    for i in range(n):
        for j in range(n):
            b.rect("VIA1", x0 + i * (v + s), x0 + j * (v + s), x0 + i * (v + s) + v, x0 + j * (v + s) + v)
    b.rect("PASS", m, m, size - m, size - m)
    return b.build("pad", {"size": size})
