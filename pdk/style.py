"""How a kit's layers look: one source for every picture of a layout.

The KLayout layer properties (``pilotflow pdk export-klayout``), the rule
manual's device pictures (``pilotflow pdk docs``) and the run report's
layout picture (``report.html``) all take their colours and stacking order
from here, so a layer looks the same in KLayout and in pilotflow's pictures.

>>> import pdk
>>> kit = pdk.load("gan650")
>>> layer_colours(kit)["MET1"]
'#3070e0'
>>> order = stack_order(kit)
>>> order.index("MESA") < order.index("MET1") < order.index("VIA1") < order.index("MET2") < order.index("PASS")
True
"""

from __future__ import annotations

import re

from pdk.schema import PDK

#: Colours of layers without ``color`` (cycled in layer order).
PALETTE = ("#ff8000", "#0080ff", "#00c000", "#c000c0", "#c0c000", "#00c0c0", "#ff4040", "#8080ff")

#: Drawing order by layer purpose, bottom first: the die boundary, implants
#: and device layers under the metal stack (routing and cut layers keep the
#: kit's order among themselves, so MET1 < VIA1 < MET2), pad openings over
#: it, marker layers on top.  Unknown purposes go with the markers.
PURPOSE_RANK = {"boundary": 0, "implant": 1, "device": 2, "routing": 3, "cut": 3, "pad": 4, "marker": 5}


def layer_colours(kit: PDK) -> dict[str, str]:
    """layer name -> ``#rrggbb``: the kit's ``color``, else the palette (by the
    layer's position in the kit)."""
    out = {}
    for i, (name, lay) in enumerate(kit.layers.items()):
        c = lay.color
        out[name] = c.lower() if c and re.fullmatch(r"#[0-9a-fA-F]{6}", c) else PALETTE[i % len(PALETTE)]
    return out


def stack_order(kit: PDK) -> list[str]:
    """Layer names in drawing order, bottom first (:data:`PURPOSE_RANK`, then
    the kit's layer order)."""
    names = list(kit.layers)
    return sorted(names, key=lambda n: (PURPOSE_RANK.get(kit.layers[n].purpose, 5), names.index(n)))


__all__ = ["PALETTE", "PURPOSE_RANK", "layer_colours", "stack_order"]
