"""The router's public entry point: shapes in, wires out (all dbu).

:func:`route` builds the routing grid from the kit's rules
(:func:`flow.route.grid.make_grid`), marks obstacles on it, negotiates
congestion between nets (:class:`flow.route.search.Negotiator`) and turns
the grid paths into rectangles: one per straight run of wire, a cut square
and two landing squares per via.  The result is DRC-clean by construction for
the kit's width, spacing and enclosure rules on the routing layers, provided
the obstacles themselves are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from flow.errors import InputError
from flow.route.grid import Fabric, RouteGrid, make_grid
from flow.route.search import NetJob, Negotiator
from pdk.schema import PDK

Rect = tuple[int, int, int, int]


@dataclass(frozen=True)
class Shape:
    """A rectangle on a PDK layer, dbu, owned by ``net`` (None: foreign to every net)."""

    layer: str
    rect: Rect
    net: str | None


@dataclass(frozen=True)
class RouteResult:
    """What :func:`route` produced.

    Attributes
    ----------
    shapes : Mapping[str, tuple[Shape, ...]]
        Routed net -> its new wires, via cuts and landing pads.  Only nets
        routed completely appear; nets in ``unrouted`` get no geometry.
    wirelength : int
        Sum of centre-line lengths of wire segments, dbu.
    vias : int
        Number of via cuts.
    unrouted : Mapping[str, str]
        Net -> why it was not routed, with a location in microns.
    grid : RouteGrid
        The routing grid used (pitch, origin, size).
    iterations : int
        Negotiation iterations run.
    """

    shapes: Mapping[str, tuple[Shape, ...]]
    wirelength: int
    vias: int
    unrouted: Mapping[str, str]
    grid: RouteGrid
    iterations: int


def _rect(value: object, what: str) -> Rect:
    try:
        x0, y0, x1, y1 = (int(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InputError(f"route: {what}: rect must be (x0, y0, x1, y1) integers in dbu, got {value!r}") from None
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"route: {what}: rect {(x0, y0, x1, y1)} is empty (need x0 < x1 and y0 < y1)")
    return (x0, y0, x1, y1)


def _check_inputs(
    kit: PDK, obstacles: Sequence[Shape], terminals: Mapping[str, Sequence[Sequence[Shape]]]
) -> None:
    metals = kit.routing_metals
    for n, s in enumerate(obstacles):
        if s.layer not in kit.layers:
            raise InputError(
                f"route: obstacle {n}: '{s.layer}' is not a layer of {kit.name}; layers are {', '.join(kit.layers)}"
            )
        _rect(s.rect, f"obstacle {n} on {s.layer}")
    for net, terms in terminals.items():
        for t, pins in enumerate(terms):
            if len(pins) == 0:
                raise InputError(f"route: net '{net}' terminal {t} has no access shapes")
            for p in pins:
                what = f"net '{net}' terminal {t}"
                if p.layer not in metals:
                    raise InputError(
                        f"route: {what}: pin on '{p.layer}' is not on a routing metal; routing metals are {', '.join(metals)}"
                    )
                if p.net != net:
                    raise InputError(f"route: {what}: pin on {p.layer} at {p.rect} belongs to net {p.net!r}, not '{net}'")
                _rect(p.rect, what)


def _centre(rect: Rect) -> tuple[float, float]:
    return ((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2)


def _contains(a: Rect, b: Rect) -> bool:
    """True when ``b`` lies inside ``a``."""
    return a[0] <= b[0] and a[1] <= b[1] and b[2] <= a[2] and b[3] <= a[3]


def _geometry(
    grid: RouteGrid, net: str, job: NetJob, patches: Mapping[int, Shape]
) -> tuple[list[Shape], int, int]:
    """Rectangles of a routed tree: merged straight runs, vias, pads, access patches."""
    nx, ny = grid.nx, grid.ny
    nxy = nx * ny
    p = grid.pitch
    runs_h: dict[tuple[int, int], list[int]] = {}
    runs_v: dict[tuple[int, int], list[int]] = {}
    vias: list[int] = []
    wired: set[int] = set()
    for a, b in sorted(job.edges):
        d = b - a
        l, i, j = grid.unflat(a)
        if d == nxy:
            vias.append(a)
        elif d == 1:
            runs_h.setdefault((l, j), []).append(i)
            wired.update((a, b))
        else:
            runs_v.setdefault((l, i), []).append(j)
            wired.update((a, b))
    shapes: list[Shape] = []
    wire_edges = 0

    def runs(idx: list[int]) -> list[tuple[int, int]]:
        """Maximal runs of consecutive edge indices, as (first point, last point)."""
        idx = sorted(idx)
        out = []
        start = prev = idx[0]
        for k in idx[1:]:
            if k != prev + 1:
                out.append((start, prev + 1))
                start = k
            prev = k
        out.append((start, prev + 1))
        return out

    for (l, j), idx in sorted(runs_h.items()):
        h = grid.half[l]
        wire_edges += len(idx)
        for a, b in runs(idx):
            (xa, y), (xb, _) = grid.centre(a, j), grid.centre(b, j)
            shapes.append(Shape(grid.metals[l], (xa - h, y - h, xb + h, y + h), net))
    for (l, i), idx in sorted(runs_v.items()):
        h = grid.half[l]
        wire_edges += len(idx)
        for a, b in runs(idx):
            (x, ya), (_, yb) = grid.centre(i, a), grid.centre(i, b)
            shapes.append(Shape(grid.metals[l], (x - h, ya - h, x + h, yb + h), net))
    for v in sorted(vias):
        l, i, j = grid.unflat(v)
        shapes.append(Shape(grid.cuts[l], grid.cut(l, i, j), net))
        for w in (v, v + nxy):
            layer, sq = grid.square(w)
            shapes.append(Shape(layer, sq, net))
    via_points = {v for v in vias} | {v + nxy for v in vias}
    for v in sorted(job.nodes - wired - via_points):
        layer, sq = grid.square(v)
        shapes.append(Shape(layer, sq, net))
    shapes.extend(patches[v] for v in sorted(job.nodes) if v in patches)
    order = {name: n for n, name in enumerate(grid.metals + grid.cuts)}
    shapes.sort(key=lambda s: (order[s.layer], s.rect))
    return shapes, wire_edges * p, len(vias)


def route(
    kit: PDK,
    region: Sequence[int],
    obstacles: Sequence[Shape],
    terminals: Mapping[str, Sequence[Sequence[Shape]]],
    *,
    max_iterations: int = 30,
    progress: Callable[[str, float], object] | None = None,
) -> RouteResult:
    """Route every net with two or more terminals on the kit's metal stack.

    Parameters
    ----------
    kit : PDK
        Supplies the routing stack (``kit.routing``) and its width, spacing
        and enclosure rules.
    region : (x0, y0, x1, y1)
        Routing area, dbu; every new shape lies inside it.
    obstacles : sequence of Shape
        Every existing shape on the routing metals and cuts (pins included),
        tagged with its net or None.  Shapes on other layers are ignored.
    terminals : mapping net -> terminals
        Each terminal is a list of alternative access shapes (pins) on routing
        metals carrying the net; reaching any one of them connects the
        terminal.  Pins are also treated as obstacles of their net.
    max_iterations : int
        Negotiation iterations before leftover sharing is settled by dropping nets.
    progress : callable(message, fraction), optional
        Called after every iteration.

    Returns
    -------
    RouteResult

    Raises
    ------
    InputError
        Malformed shapes, pins off the routing metals or of another net, an
        empty or oversized region.

    Notes
    -----
    A pin is reachable only where a grid square (pitch ``grid.pitch``)
    overlaps it with positive area and keeps the spacing to foreign metal;
    pins smaller than the gap between squares may get no access point.
    """
    if max_iterations < 1:
        raise InputError(f"route: max_iterations must be at least 1, got {max_iterations}")
    _check_inputs(kit, obstacles, terminals)
    grid = make_grid(kit, region)
    region_rect = _rect(region, "region")

    names = sorted({s.net for s in obstacles if s.net is not None} | set(terminals))
    index = {n: k for k, n in enumerate(names)}
    seen: set[tuple[str, Rect, int]] = set()
    marked: list[tuple[str, Rect, int]] = []
    for s in obstacles:
        key = (s.layer, _rect(s.rect, s.layer), -1 if s.net is None else index[s.net])
        if key not in seen:
            seen.add(key)
            marked.append(key)
    for net, terms in sorted(terminals.items()):
        for pins in terms:
            for p in pins:
                key = (p.layer, _rect(p.rect, p.layer), index[net])
                if key not in seen:
                    seen.add(key)
                    marked.append(key)
    fabric = Fabric(grid, marked)
    metal_index = {m: l for l, m in enumerate(grid.metals)}
    u = grid.dbu_um

    def pin_text(layer: str, rect: Rect) -> str:
        return f"pin at {grid.um(*_centre(rect))} um on {layer}"

    unrouted: dict[str, str] = {}
    nets = [n for n in sorted(terminals, key=lambda n: (_span(terminals[n]), n)) if len(terminals[n]) >= 2]
    owner_flat = fabric.node.ravel()

    def access_points(k: int, pins: Sequence[Shape], ring: Mapping[int, object]) -> set[int]:
        pts: set[int] = set()
        for p in pins:
            ids = fabric.overlapping(metal_index[p.layer], _rect(p.rect, p.layer))
            pts.update(v for v in ids.tolist() if owner_flat[v] in (-1, k) and v not in ring)
        return pts

    # Pass 1: terminals no grid square reaches cleanly get an off-grid patch,
    # marked as the net's metal before any net's access is final.
    patches: dict[str, dict[int, Shape]] = {}
    for net in nets:
        k = index[net]
        ring = fabric.self_blocked(k)[0]
        for pins in terminals[net]:
            if access_points(k, pins, ring):
                continue
            for p in pins:
                l = metal_index[p.layer]
                found = fabric.find_patch(l, _rect(p.rect, p.layer), k, region_rect)
                if found is not None:
                    v, patch = found
                    fabric.add_metal(l, patch, k)
                    patches.setdefault(net, {})[v] = Shape(p.layer, patch, net)
                    break
    # Pass 2: access points of every terminal.
    jobs: list[NetJob] = []
    for net in nets:
        k = index[net]
        ring = fabric.self_blocked(k)
        access: list[list[int]] = []
        missing: tuple[str, Rect] | None = None
        own_patches = patches.get(net, {})
        for pins in terminals[net]:
            pts = access_points(k, pins, ring[0])
            for v, ps in own_patches.items():
                if owner_flat[v] == k and any(_contains(ps.rect, _rect(p.rect, p.layer)) and p.layer == ps.layer for p in pins):
                    pts.add(v)
            if not pts:
                missing = (pins[0].layer, _rect(pins[0].rect, pins[0].layer))
                break
            access.append(sorted(pts))
        if missing is not None:
            unrouted[net] = (
                f"{pin_text(*missing)} has no legal access point on the {round(grid.pitch * u, 3):g} um routing grid "
                f"(off the grid or too close to other metal)"
            )
            continue
        jobs.append(NetJob(net, k, access, [(ps[0].layer, _rect(ps[0].rect, ps[0].layer)) for ps in terminals[net]], ring))

    negotiator = Negotiator(grid, fabric)
    iterations = negotiator.negotiate(jobs, max_iterations, progress) if jobs else 0
    congested = negotiator.resolve(jobs)
    shapes: dict[str, tuple[Shape, ...]] = {}
    wirelength = 0
    vias = 0
    for job in jobs:
        if job.failed is not None:
            t = job.failed_terminal
            text = f"no path from {pin_text(*job.pins[t])} to the rest of the net"
            if job.failed == "blocked":
                start = job.pins[0] if t != 0 else job.pins[1]
                text += f" (from {pin_text(*start)}): every way is blocked by other metal or the region edge"
            else:
                text += (
                    f" after {iterations} iterations (congested near {grid.point_um(congested.get(job.name, 0))} um)"
                )
            unrouted[job.name] = text
            continue
        geo, wl, nv = _geometry(grid, job.name, job, patches.get(job.name, {}))
        shapes[job.name] = tuple(geo)
        wirelength += wl
        vias += nv
    return RouteResult(
        shapes=MappingProxyType(dict(sorted(shapes.items()))),
        wirelength=wirelength,
        vias=vias,
        unrouted=MappingProxyType(dict(sorted(unrouted.items()))),
        grid=grid,
        iterations=iterations,
    )


def _span(terms: Sequence[Sequence[Shape]]) -> int:
    """Half-perimeter of the bounding box of a net's pins, dbu (routing order key)."""
    rects = [p.rect for pins in terms for p in pins]
    if not rects:
        return 0
    return max(r[2] for r in rects) - min(r[0] for r in rects) + max(r[3] for r in rects) - min(r[1] for r in rects)
