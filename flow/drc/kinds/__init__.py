"""Rule-kind implementations; importing this package registers them all.

One module per family of kinds; each registers :class:`flow.drc.core.KindImpl`
objects.  Add a module here when you add kinds (see docs/pdk-authoring.md).
"""

from flow.drc.kinds import basic  # noqa: F401  (width, spacing, enclosure)
from flow.drc.kinds import tables  # noqa: F401  (max_width, wide_spacing, density, grid, angle)
from flow.drc.kinds import shapes  # noqa: F401  (notch, extension, overlap, must/not_overlap, area, hole)
from flow.drc.kinds import nets  # noqa: F401  (net_spacing, voltage_spacing, current_density)
