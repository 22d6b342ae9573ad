"""Scenes and KLayout oracles for the router tests.

Everything is in dbu (1 nm for gan650); ``um(x)`` converts microns.  The
oracles never use router code: DRC with ``klayout.db.Region`` checks, and
connectivity with ``klayout.db.LayoutToNetlist``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import klayout.db as kdb
import numpy as np

from flow.route import RouteResult, Shape

UM = 1000
LAYERS = ("MET1", "VIA1", "MET2")


def um(x: float) -> int:
    return int(round(x * UM))


def rect_um(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    return (um(x0), um(y0), um(x1), um(y1))


def pin(net: str, layer: str, x0: float, y0: float, x1: float, y1: float) -> Shape:
    return Shape(layer, rect_um(x0, y0, x1, y1), net)


def scene(
    pins: Mapping[str, Sequence[Shape | Sequence[Shape]]], extra: Sequence[Shape] = ()
) -> tuple[list[Shape], dict[str, list[list[Shape]]]]:
    """Obstacles (pins + ``extra``) and terminals; a bare Shape is a one-pin terminal."""
    terminals: dict[str, list[list[Shape]]] = {}
    obstacles: list[Shape] = list(extra)
    for net, terms in pins.items():
        tl = []
        for t in terms:
            alts = [t] if isinstance(t, Shape) else list(t)
            tl.append(alts)
            obstacles.extend(alts)
        terminals[net] = tl
    return obstacles, terminals


def all_shapes(obstacles: Sequence[Shape], result: RouteResult) -> list[Shape]:
    out = list(obstacles)
    for shapes in result.shapes.values():
        out.extend(shapes)
    return out


def regions(shapes: Sequence[Shape]) -> dict[str, kdb.Region]:
    regs = {name: kdb.Region() for name in LAYERS}
    for s in shapes:
        if s.layer in regs:
            regs[s.layer].insert(kdb.Box(*s.rect))
    for r in regs.values():
        r.merge()
    return regs


def drc_violations(kit, shapes: Sequence[Shape]) -> list[str]:
    """Every MET1/VIA1/MET2 width, spacing and enclosure violation (KLayout)."""
    regs = regions(shapes)
    d = kit.dbu
    found: list[str] = []
    for layer in LAYERS:
        for rule in kit.rules_of("width", layer):
            n = regs[layer].width_check(d(rule.value)).count()
            if n:
                found.append(f"{rule.id}: {n}")
        for rule in kit.rules_of("spacing", layer):
            if rule.other not in (None, layer):
                continue
            n = regs[layer].space_check(d(rule.value)).count()
            if n:
                found.append(f"{rule.id}: {n}")
    for outer in ("MET1", "MET2"):
        for rule in kit.rules_of("enclosure", outer, "VIA1"):
            n = regs[outer].enclosing_check(regs["VIA1"], d(rule.value)).count()
            if n:
                found.append(f"{rule.id}: {n}")
        outside = (regs["VIA1"] - regs[outer]).count()
        if outside:
            found.append(f"VIA1 outside {outer}: {outside}")
    return found


class Connectivity:
    """Nets extracted by KLayout from a set of shapes; probe by shape."""

    def __init__(self, kit, shapes: Sequence[Shape]):
        self.layout = kdb.Layout()
        self.layout.dbu = kit.dbu_um
        top = self.layout.create_cell("TOP")
        idx = {}
        for name in LAYERS:
            gds = kit.layers[name].gds
            idx[name] = self.layout.layer(gds[0], gds[1])
        for s in shapes:
            if s.layer in idx:
                top.shapes(idx[s.layer]).insert(kdb.Box(*s.rect))
        self.l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(self.layout, top, []))
        self.reg = {name: self.l2n.make_layer(idx[name], name) for name in LAYERS}
        for name in LAYERS:
            self.l2n.connect(self.reg[name])
        self.l2n.connect(self.reg["MET1"], self.reg["VIA1"])
        self.l2n.connect(self.reg["VIA1"], self.reg["MET2"])
        self.l2n.extract_netlist()

    def cluster(self, s: Shape) -> int:
        x = (s.rect[0] + s.rect[2]) // 2
        y = (s.rect[1] + s.rect[3]) // 2
        net = self.l2n.probe_net(self.reg[s.layer], kdb.Point(x, y))
        assert net is not None, f"no net under {s}"
        return net.cluster_id


def connectivity_problems(
    kit, obstacles: Sequence[Shape], terminals: Mapping[str, Sequence[Sequence[Shape]]], result: RouteResult
) -> list[str]:
    """Open and short problems of the routed layout, found by KLayout extraction.

    Every routed net must be one piece touching a pin of each terminal; no
    extracted piece may hold shapes of two nets (or a foreign shape and a net).
    """
    conn = Connectivity(kit, all_shapes(obstacles, result))
    problems: list[str] = []
    owner: dict[int, set[str]] = {}
    for n, s in enumerate(obstacles):
        owner.setdefault(conn.cluster(s), set()).add(s.net if s.net is not None else "<foreign>")
    for net, shapes in result.shapes.items():
        clusters = {conn.cluster(s) for s in shapes}
        if len(clusters) != 1:
            problems.append(f"{net}: routed shapes form {len(clusters)} pieces")
            continue
        (c,) = clusters
        owner.setdefault(c, set()).add(net)
        for t, pins in enumerate(terminals[net]):
            if not any(conn.cluster(p) == c for p in pins):
                problems.append(f"{net}: terminal {t} not connected")
    for c, nets in owner.items():
        if len(nets) > 1:
            problems.append(f"short between {', '.join(sorted(nets))}")
    return problems


def random_scene(seed: int, cells: int = 12, nets: int = 10, cell_um: float = 36.0):
    """A legal scene on a ``cells x cells`` lattice of ``cell_um`` squares.

    Each lattice cell holds at most one thing: a pin (4-10 um, MET1 or MET2),
    a foreign block on MET1 or MET2, or a foreign via stack (VIA1 with MET1 and
    MET2 pads).  Things keep >= 3 um from their cell's edges, so any two are
    >= 6 um apart, above every spacing rule of the routing layers.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(cells * cells)
    pins: dict[str, list[Shape]] = {}
    extra: list[Shape] = []
    k = 0
    for n in range(nets):
        name = f"n{n:02d}"
        for _ in range(int(rng.integers(2, 5))):
            ci, cj = divmod(int(order[k]), cells)
            k += 1
            w, h = rng.uniform(4, 10, size=2)
            x = ci * cell_um + rng.uniform(3, cell_um - 3 - w)
            y = cj * cell_um + rng.uniform(3, cell_um - 3 - h)
            layer = "MET1" if rng.random() < 0.6 else "MET2"
            pins.setdefault(name, []).append(pin(name, layer, round(x, 1), round(y, 1), round(x + w, 1), round(y + h, 1)))
    for c in order[k : k + cells * cells // 5]:
        ci, cj = divmod(int(c), cells)
        x, y = ci * cell_um + 3, cj * cell_um + 3
        kind = rng.integers(0, 3)
        if kind == 0:
            extra.append(Shape("MET1", rect_um(x, y, x + cell_um - 6, y + 8), None))
        elif kind == 1:
            extra.append(Shape("MET2", rect_um(x + 4, y, x + 12, y + cell_um - 6), None))
        else:
            extra.append(Shape("MET1", rect_um(x, y, x + 4, y + 4), None))
            extra.append(Shape("VIA1", rect_um(x + 1, y + 1, x + 3, y + 3), None))
            extra.append(Shape("MET2", rect_um(x, y, x + 4, y + 4), None))
    return scene(pins, extra), rect_um(0, 0, cells * cell_um, cells * cell_um)
