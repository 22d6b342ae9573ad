"""Grid router: multi-layer, negotiated congestion, DRC-clean by construction.

Pure algorithm and geometry (no file I/O): :func:`route` takes the kit, the
routing region, the obstacles and each net's terminals (integer dbu) and
returns the new wires, vias and landing pads per net.
"""

from flow.route.grid import RouteGrid, make_grid
from flow.route.router import RouteResult, Shape, route

__all__ = ["RouteGrid", "RouteResult", "Shape", "make_grid", "route"]
