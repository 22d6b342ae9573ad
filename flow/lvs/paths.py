"""Shortest path between two labels of one layout net, through its shapes.

When LVS finds two source nets joined in one layout net (a short), the
designer needs to know *where* they touch.  :class:`ShortPaths` traces the
layout's nets (:func:`flow.drc.nets.extract_nets`: the kit's conducting
layers and cuts), takes the polygons of the shorted net, and finds the
shortest route from a label of one net to a label of the other through
those polygons: the bridge lies on it.

The route runs through *junction points*: the middle of the overlap of two
touching or connected polygons, and the label points.  Inside one polygon
the distance between two of its points is the straight line (exact for
rectangles and convex shapes, an underestimate around the bends of others);
polygons with many junctions (a pad over a via array) join each point to its
nearest neighbours only, which keeps the graph linear in size.  Dijkstra's
algorithm (networkx) gives the path; its length is in microns.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from flow.drc.nets import box_pairs
from flow.geometry.gdsio import LayoutShapes
from pdk.schema import PDK


class LayoutGeometry:
    """The layout's shapes and nets, for locating LVS findings:
    :meth:`short_path` (a short's route between its labels), :meth:`gap`
    (where two pieces of an open come closest) and :meth:`split_names` (a
    label carried by several unconnected nets)."""

    def __init__(self, shapes: LayoutShapes, kit: PDK):
        self.shapes = shapes
        self.kit = kit
        self._nets = None
        self._connect = kit.connect

    @property
    def nets(self):
        """The layout's nets, traced exactly as the extraction traces them
        (net ties cut, the kit's ``[pdk.lvs]`` derived layers and extra
        connections), so a piece here is a net there."""
        if self._nets is None:
            from flow.lvs.extract import trace_layout

            self._nets, self._connect = trace_layout(self.shapes, self.kit)
        return self._nets

    def _label_nodes(self, text: str) -> list[tuple[str, int, float, float, int]]:
        """(layer, polygon, x, y, net) of every place of label ``text`` on a shape."""
        out = []
        nets = self.nets
        for layer, labs in self.shapes.labels.items():
            pts = [(x, y) for t, x, y in labs if t == text]
            if not pts or layer not in nets.comp:
                continue
            hit = nets.locate(layer, np.asarray(pts, float))
            for (x, y), h in zip(pts, hit.tolist()):
                if h >= 0:
                    out.append((layer, h, float(x), float(y), int(nets.comp[layer][h])))
        return out

    # -- opens ---------------------------------------------------------------
    def split_names(self) -> dict[str, list[int]]:
        """label -> the net indices carrying it, for labels on several
        unconnected nets."""
        out: dict[str, list[int]] = defaultdict(list)
        for k, al in enumerate(self.nets.aliases):
            for a in al:
                out[a].append(k)
        return {a: ks for a, ks in out.items() if len(ks) > 1}

    def net_of(self, points) -> int | None:
        """Net index under the first of ``(layer, x_um, y_um)`` points that
        lies on a traced shape."""
        nets = self.nets
        u = self.kit.dbu_um
        for layer, x, y in points:
            if layer not in nets.comp:
                continue
            h = int(nets.locate(layer, np.asarray([[x / u, y / u]], float))[0])
            if h >= 0:
                return int(nets.comp[layer][h])
        return None

    def gap(self, net_a: int, net_b: int) -> dict[str, Any] | None:
        """Where nets ``net_a`` and ``net_b`` come closest: same-layer shapes,
        or shapes of two layers a cut joins (a missing via shows as a lower
        and an upper shape overlapping with no cut between them)."""
        nets = self.nets
        u = self.kit.dbu_um
        pairs = {(n, n) for n in nets.layers}
        for group in self._connect:
            if len(group) == 3:
                pairs.add((group[0], group[2]))
                pairs.add((group[2], group[0]))
        best = None
        for la, lb in sorted(pairs):
            lay_a, lay_b = self.kit.layers.get(la), self.kit.layers.get(lb)
            if la not in nets.comp or lb not in nets.comp or lay_a is None or lay_b is None or "cut" in (lay_a.purpose, lay_b.purpose):
                continue
            ia = np.nonzero(nets.comp[la] == net_a)[0]
            ib = np.nonzero(nets.comp[lb] == net_b)[0]
            if not len(ia) or not len(ib):
                continue
            A = nets.boxes[la][ia].astype(float)
            B = nets.boxes[lb][ib].astype(float)
            dx = np.maximum(0, np.maximum(A[:, None, 0] - B[None, :, 2], B[None, :, 0] - A[:, None, 2]))
            dy = np.maximum(0, np.maximum(A[:, None, 1] - B[None, :, 3], B[None, :, 1] - A[:, None, 3]))
            d = np.hypot(dx, dy)
            k = np.unravel_index(int(np.argmin(d)), d.shape)
            dist = float(d[k])
            if best is None or dist < best[0] - 1e-9 or (abs(dist - best[0]) <= 1e-9 and la != lb and best[1] == best[2]):
                a, b = A[k[0]], B[k[1]]
                x0, x1 = sorted((max(a[0], b[0]), min(a[2], b[2])))
                y0, y1 = sorted((max(a[1], b[1]), min(a[3], b[3])))
                best = (dist, la, lb, [round(x0 * u, 3), round(y0 * u, 3), round(x1 * u, 3), round(y1 * u, 3)])
        if best is None:
            return None
        dist, la, lb, box = best
        return {
            "layers": [la, lb], "distance_um": round(dist * u, 3), "box": box,
            "location": [round((box[0] + box[2]) / 2, 3), round((box[1] + box[3]) / 2, 3)],
        }

    def label_places(self, text: str, net: int) -> list[list]:
        u = self.kit.dbu_um
        return [[lay, round(x * u, 3), round(y * u, 3)] for lay, _h, x, y, n in self._label_nodes(text) if n == net]

    # -- shorts --------------------------------------------------------------
    def short_path(self, layout_net: str, label_a: str, label_b: str) -> dict[str, Any] | None:
        import networkx as nx

        nets = self.nets
        a = self._label_nodes(label_a)
        b = self._label_nodes(label_b)
        common = {n for *_, n in a} & {n for *_, n in b}
        if not common:
            return None
        net = min(common)
        a = [p for p in a if p[4] == net]
        b = [p for p in b if p[4] == net]
        u = self.kit.dbu_um
        # polygons of the net
        members: dict[tuple[str, int], list[int]] = defaultdict(list)  # polygon -> point ids
        pts: list[tuple[str, float, float]] = []

        def add_point(layer: str, x: float, y: float, polys: list[tuple[str, int]]) -> int:
            k = len(pts)
            pts.append((layer, x, y))
            for p in polys:
                members[p].append(k)
            return k

        sel = {layer: np.nonzero(nets.comp[layer] == net)[0] for layer in nets.layers}
        for layer, idx in sel.items():
            if len(idx) < 2:
                continue
            boxes = nets.boxes[layer][idx]
            i, j = box_pairs(boxes, closed=True)
            for p, q in zip(idx[i].tolist(), idx[j].tolist()):
                if p >= q or nets.local[layer][p] != nets.local[layer][q]:
                    continue
                x, y = _junction(nets.boxes[layer][p], nets.boxes[layer][q])
                add_point(layer, x, y, [(layer, p), (layer, q)])
        for (la, lb), (i, j) in nets.links.items():
            if len(i) == 0:
                continue
            keep = nets.comp[la][i] == net
            for p, q in zip(i[keep].tolist(), j[keep].tolist()):
                x, y = _junction(nets.boxes[la][p], nets.boxes[lb][q])
                add_point(lb if nets.layers.index(lb) > nets.layers.index(la) else la, x, y, [(la, p), (lb, q)])
        starts = [add_point(layer, x, y, [(layer, h)]) for layer, h, x, y, _ in a]
        ends = [add_point(layer, x, y, [(layer, h)]) for layer, h, x, y, _ in b]
        g = nx.Graph()
        xy = np.asarray([(x, y) for _, x, y in pts], float)
        for _poly, ks in members.items():
            ks = sorted(set(ks))
            if len(ks) < 2:
                continue
            if len(ks) <= 12:
                pairs = [(ks[m], ks[n]) for m in range(len(ks)) for n in range(m + 1, len(ks))]
            else:
                from scipy.spatial import cKDTree

                sub = xy[ks]
                _, nn = cKDTree(sub).query(sub, k=min(7, len(ks)))
                pairs = [(ks[m], ks[n]) for m in range(len(ks)) for n in nn[m][1:]]
                order = sorted(range(len(ks)), key=lambda m: (sub[m, 0], sub[m, 1]))
                pairs += [(ks[order[m]], ks[order[m + 1]]) for m in range(len(order) - 1)]
            for p, q in pairs:
                d = float(np.hypot(*(xy[p] - xy[q])))
                if not g.has_edge(p, q) or g[p][q]["weight"] > d:
                    g.add_edge(p, q, weight=d)
        src, dst = ("a",), ("b",)
        for k in starts:
            g.add_edge(src, k, weight=0.0)
        for k in ends:
            g.add_edge(k, dst, weight=0.0)
        try:
            length, path = nx.single_source_dijkstra(g, src, dst, weight="weight")
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return None
        chain = [pts[k] for k in path[1:-1]]
        points = [[lay, round(x * u, 3), round(y * u, 3)] for lay, x, y in chain]
        # the middle of the path (by length) as the place to look first
        mid = points[0][1:]
        run = 0.0
        for p, q in zip(points, points[1:]):
            d = float(np.hypot(q[1] - p[1], q[2] - p[2]))
            if run + d >= length * u / 2:
                t = (length * u / 2 - run) / d if d else 0.0
                mid = [round(p[1] + t * (q[1] - p[1]), 3), round(p[2] + t * (q[2] - p[2]), 3)]
                break
            run += d
        return {
            "from": points[0], "to": points[-1], "length_um": round(length * u, 3), "points": points,
            "location": mid, "method": "shortest path through the net's shapes",
        }


def _junction(p: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """Middle of the overlap of two boxes (of their closest parts if they
    only touch at a corner)."""
    x0, y0 = max(p[0], q[0]), max(p[1], q[1])
    x1, y1 = min(p[2], q[2]), min(p[3], q[3])
    return (x0 + x1) / 2.0, (y0 + y1) / 2.0
