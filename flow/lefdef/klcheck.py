"""Independent check of a routed DEF with KLayout (``klayout.db``).

KLayout's own LEF/DEF reader turns LEF + DEF into a layout (macro pins and
obstructions from the LEF, NETS and SPECIALNETS wiring and vias from the
DEF); then, from the LEF rules:

* per routing layer (all shapes merged: wires, vias, pins, obstructions,
  special wiring): minimum **width**, minimum **spacing** (Euclidean) and
  the width-dependent spacing of a ``SPACINGTABLE PARALLELRUNLENGTH``
  (shapes at least that wide, parallel run at least that long), minimum
  **area** where the LEF gives ``AREA``;
* per cut layer: cut **spacing**, and **enclosure**: every cut lies inside
  the metal below and above it;
* **connectivity** on the flattened layout (``LayoutToNetlist``, metal and
  cut layers joined as the LEF stacks them, obstructions not conducting):
  a net whose pins fall in more than one piece is **open**; two DEF nets
  (signal or special) in one piece are a **short**.

Only violations that touch a routed (NETS) shape are counted as the
router's: the check of the placed input gives the library's own findings
(e.g. notches inside cells), reported apart as ``baseline``.  End-of-line
spacing is not checked (said in ``not_checked``).

Needs the ``klayout`` Python package (a test dependency of pilotflow).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flow.lefdef.def_ import read_def
from flow.lefdef.lef import read_lef


@dataclass
class CheckReport:
    nets: int  # signal nets with two or more pins
    routed: int  # of those, nets with routing in the DEF
    wirelength_um: float
    vias: int
    violations: dict[str, int] = field(default_factory=dict)  # rule -> count (touching routed shapes)
    baseline: dict[str, int] = field(default_factory=dict)  # rule -> count not touching routed shapes
    opens: list[str] = field(default_factory=list)
    shorts: list[tuple[str, str]] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    markers: list[tuple[str, tuple[float, float]]] = field(default_factory=list)  # first few, (rule, (x, y) um)

    @property
    def drc_total(self) -> int:
        return sum(self.violations.values())


def _read(lefs: list[str], def_path: str, dbu_per_um: int):
    import klayout.db as kdb

    ly = kdb.Layout()
    opt = kdb.LoadLayoutOptions()
    c = opt.lefdef_config
    c.dbu = 1.0 / dbu_per_um
    c.lef_files = [str(Path(f).resolve()) for f in lefs]
    c.read_lef_with_def = False
    c.macro_resolution_mode = 1  # LEF geometry for every macro
    c.produce_pins = True
    c.produce_lef_pins = True
    c.produce_obstructions = True
    c.produce_special_routing = True
    c.produce_routing = True
    c.produce_via_geometry = True
    c.produce_labels = False
    c.produce_lef_labels = False
    ly.read(str(def_path), opt)
    return ly


def _layer_regions(ly, name: str, conducting_only: bool):
    import klayout.db as kdb

    top = ly.top_cell()
    r = kdb.Region()
    routed = kdb.Region()
    for li in ly.layer_indexes():
        info = ly.get_info(li)
        base, _, purpose = info.name.partition(".")
        if base != name or purpose in ("LABEL", "LEFLABEL"):
            continue
        if conducting_only and purpose in ("OBS", "BLK", "BLOCKAGE"):
            continue
        part = kdb.Region(top.begin_shapes_rec(li))
        r += part
        if purpose == "":
            routed += part
    return r.merged(), routed


def check_routed_def(lefs: list[str], def_path: str, *, max_markers: int = 20) -> CheckReport:
    """Check ``def_path`` (with its LEF files) as described in the module docstring."""
    import klayout.db as kdb

    lib = None
    for f in lefs:
        lib = read_lef(f, lib)
    d = read_def(def_path)
    dbu = d.dbu
    ly = _read(lefs, def_path, dbu)
    top = ly.top_cell()
    top.flatten(True)
    layers = list(lib.layers.values())
    routing = [lay for lay in layers if lay.type == "ROUTING"]
    cuts = [lay for lay in layers if lay.type == "CUT"]

    # routed (NETS) shapes: the DEF reader's plain routing layers hold NETS and SPECIALNETS wiring;
    # take the NETS wiring from our own reading of the DEF to tell them apart
    net_shapes = _net_routing(d, lib)
    rep = CheckReport(nets=0, routed=0, wirelength_um=0.0, vias=0)
    sig = [n for n in d.nets if n.use not in ("POWER", "GROUND") and len(n.conns) >= 2]
    rep.nets = len(sig)
    rep.routed = sum(1 for n in sig if n.raw and "ROUTED" in n.raw.split())
    wl, nv = _wire_stats(d)
    rep.wirelength_um, rep.vias = wl / dbu, nv
    um = 1.0 / dbu

    def count(rule: str, ep, routed_region) -> None:
        n_r = n_b = 0
        for e in ep.each():
            poly = e.to_simple_polygon(1) if hasattr(e, "to_simple_polygon") else None
            box = e.bbox().enlarged(1, 1)
            hit = not routed_region.is_empty() and not routed_region.interacting(kdb.Region(box)).is_empty()
            del poly
            if hit:
                n_r += 1
                if len(rep.markers) < max_markers:
                    c = box.center()
                    rep.markers.append((rule, (c.x * um, c.y * um)))
            else:
                n_b += 1
        if n_r:
            rep.violations[rule] = rep.violations.get(rule, 0) + n_r
        if n_b:
            rep.baseline[rule] = rep.baseline.get(rule, 0) + n_b

    for lay in routing:
        allr, _ = _layer_regions(ly, lay.name, conducting_only=False)
        mine = net_shapes.get(lay.name, kdb.Region())
        if allr.is_empty():
            continue
        w = int(round(lay.width * dbu))
        s = int(round(lay.spacing * dbu))
        if w > 0:
            count(f"{lay.name}.width", allr.width_check(w), mine)
        if s > 0:
            count(f"{lay.name}.spacing", allr.space_check(s), mine)
        if lay.spacing_table is not None:
            prl, rows = lay.spacing_table
            for wmin, vals in rows:
                if wmin <= lay.width + 1e-9:
                    continue
                half = int(round(wmin * dbu / 2)) - 1
                wide = allr.sized(-half).sized(half) & allr
                if wide.is_empty():
                    continue
                for p, v in zip(prl, vals):
                    sv = int(round(v * dbu))
                    if sv <= s:
                        continue
                    ep = wide.separation_check(allr - wide.sized(1), sv, False, kdb.Metrics.Euclidian, None, int(round(p * dbu)) if p > 0 else None)
                    count(f"{lay.name}.spacing_table", ep, mine)
        if lay.area > 0:
            amin = lay.area * dbu * dbu
            small = [p for p in allr.each() if p.area() < amin]
            reg = kdb.Region()
            for p in small:
                reg.insert(p)
            n_r = 0 if mine.is_empty() else reg.interacting(mine).count()
            if n_r:
                rep.violations[f"{lay.name}.area"] = n_r
            if reg.count() - n_r:
                rep.baseline[f"{lay.name}.area"] = reg.count() - n_r
        if lay.eol:
            if f"end-of-line spacing ({lay.name})" not in rep.not_checked:
                rep.not_checked.append(f"end-of-line spacing ({lay.name})")
    # cuts: spacing and enclosure by the metal below and above
    order = [lay.name for lay in layers]
    for cut in cuts:
        k = order.index(cut.name)
        below = next((lay for lay in reversed(layers[:k]) if lay.type == "ROUTING"), None)
        above = next((lay for lay in layers[k + 1 :] if lay.type == "ROUTING"), None)
        cr, _ = _layer_regions(ly, cut.name, conducting_only=True)
        if cr.is_empty():
            continue
        mine = net_shapes.get(cut.name, kdb.Region())
        sp = int(round(cut.spacing * dbu))
        if sp > 0:
            count(f"{cut.name}.spacing", cr.space_check(sp), mine)
        for m in (below, above):
            if m is None:
                continue
            mr, _ = _layer_regions(ly, m.name, conducting_only=False)
            bad = cr.not_inside(mr)
            n_r = 0 if mine.is_empty() else bad.interacting(mine).count()
            if n_r:
                rep.violations[f"{cut.name}.enclosure({m.name})"] = n_r
            if bad.count() - n_r:
                rep.baseline[f"{cut.name}.enclosure({m.name})"] = bad.count() - n_r
    rep.opens, rep.shorts = _connectivity(ly, d, lib, layers)
    rep.not_checked.append("minimum step, notch and antenna rules")
    return rep


def _net_routing(d, lib) -> dict:
    """Regions of the NETS wiring per layer, from the DEF text (wires with half-width extension, via shapes)."""
    import klayout.db as kdb

    from flow.lefdef.routedb import _via_shapes, _def_vias

    dv = _def_vias(d, lib)
    out: dict[str, kdb.Region] = {}
    widths = {name: int(round(lay.width * d.dbu)) for name, lay in lib.layers.items()}
    for n in d.nets:
        if not n.raw or "ROUTED" not in n.raw.split():
            continue
        toks = n.raw.replace(";", " ").split()
        k = toks.index("ROUTED") + 1
        layer = None
        last = None
        expect_layer = True
        while k < len(toks):
            t = toks[k]
            if expect_layer:
                layer = t
                last = None
                expect_layer = False
                k += 1
                continue
            if t == "NEW":
                expect_layer = True
                k += 1
                continue
            if t == "+":
                break
            if t == "(":
                close = toks.index(")", k)
                vals = toks[k + 1 : close]
                x = last[0] if vals[0] == "*" else int(vals[0])
                y = last[1] if vals[1] == "*" else int(vals[1])
                if last is not None:
                    h = widths.get(layer, 0) // 2
                    box = kdb.Box(min(last[0], x) - h, min(last[1], y) - h, max(last[0], x) + h, max(last[1], y) + h)
                    out.setdefault(layer, kdb.Region()).insert(box)
                last = (x, y)
                k = close + 1
                continue
            shapes = _via_shapes(t, dv, lib, d.dbu)
            if shapes is not None and last is not None:
                for lay, (a, b, c, e) in shapes:
                    out.setdefault(lay, kdb.Region()).insert(kdb.Box(last[0] + a, last[1] + b, last[0] + c, last[1] + e))
            k += 1
    return out


def _wire_stats(d) -> tuple[int, int]:
    wl = nv = 0
    for n in d.nets:
        if not n.raw or "ROUTED" not in n.raw.split():
            continue
        toks = n.raw.replace(";", " ").split()
        k = toks.index("ROUTED") + 1
        last = None
        prev_kw = True
        while k < len(toks):
            t = toks[k]
            if prev_kw:
                prev_kw = False
                last = None
                k += 1
                continue
            if t == "NEW":
                prev_kw = True
            elif t == "+":
                break
            elif t == "(":
                close = toks.index(")", k)
                vals = toks[k + 1 : close]
                x = last[0] if vals[0] == "*" else int(vals[0])
                y = last[1] if vals[1] == "*" else int(vals[1])
                if last is not None:
                    wl += abs(x - last[0]) + abs(y - last[1])
                last = (x, y)
                k = close
            else:
                nv += 1
            k += 1
    return wl, nv


def _connectivity(ly, d, lib, layers) -> tuple[list[str], list[tuple[str, str]]]:
    """Opens (nets whose pins lie in several pieces) and shorts (pieces holding two nets)."""
    import klayout.db as kdb

    from flow.lefdef.routedb import build

    top = ly.top_cell()
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, top, []))
    regs = {}
    for lay in layers:
        if lay.type not in ("ROUTING", "CUT"):
            continue
        idx = [li for li in ly.layer_indexes() if ly.get_info(li).name.partition(".")[0] == lay.name
               and ly.get_info(li).name.partition(".")[2] not in ("OBS", "LABEL", "LEFLABEL", "BLK")]
        if not idx:
            continue
        parts = [l2n.make_layer(li, f"{lay.name}_{n}") for n, li in enumerate(idx)]
        for p in parts:
            l2n.connect(p)
        for a, b in zip(parts, parts[1:]):
            l2n.connect(a, b)
        regs[lay.name] = parts
    seq = [lay.name for lay in layers if lay.name in regs]
    for a, b in zip(seq, seq[1:]):
        for pa in regs[a]:
            for pb in regs[b]:
                l2n.connect(pa, pb)
    l2n.extract_netlist()
    db = build(lib, d, allow_routed=True)

    def probe(layer: str, rect) -> object | None:
        if layer not in regs:
            return None
        x = (rect[0] + rect[2]) / 2 * ly.dbu
        y = (rect[1] + rect[3]) / 2 * ly.dbu
        for p in regs[layer]:
            net = l2n.probe_net(p, kdb.DPoint(x, y))
            if net is not None:
                return net.cluster_id
        return None

    opens: list[str] = []
    owner: dict[object, str] = {}
    shorts: list[tuple[str, str]] = []
    for name, terms in db.nets.items():
        ids = []
        for t in terms:
            found = None
            for layer, rect in t.shapes:
                found = probe(layer, rect)
                if found is not None:
                    break
            ids.append(found)
        if len(set(ids)) > 1 or None in ids:
            opens.append(name)
        for cid in set(ids):
            if cid is None:
                continue
            if cid in owner and owner[cid] != name:
                shorts.append((owner[cid], name))
            owner.setdefault(cid, name)
    # special nets: a signal piece that reaches a power rail is a short
    for s in db.obstacles:
        if s.net and s.net not in db.nets and not s.net.startswith("<"):
            cid = probe(s.layer, s.rect)
            if cid is not None and cid in owner and owner[cid] != s.net:
                pair = (owner[cid], s.net)
                if pair not in shorts:
                    shorts.append(pair)
    return opens, shorts
